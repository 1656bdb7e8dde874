//! Exercise 6.4: a Dockerfile review.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use super::{DockerfileError, Finding};

// ANCHOR: read
/// Exercise 6.4: reviews a Dockerfile, stage by stage.
///
/// **Reading it.** Lines are numbered from 1.
///
/// - A blank line, and a line whose first non-blank character is `#` (a comment), are
///   skipped, also in the middle of an instruction continued over several lines.
/// - A line that ends with `\` (spaces or tabs may follow it) continues on the next line:
///   the instruction is its lines joined, a space in place of each `\`, and its line is
///   the one where it starts.
/// - An instruction is a word, in any case (`from`, `From`, `FROM`), then its arguments.
///   A word not in [`INSTRUCTIONS`](super::INSTRUCTIONS), an instruction with no
///   arguments, and any instruction but `ARG` before the first `FROM` are errors:
///   [`DockerfileError::Invalid`] at the instruction's line, naming it. No `FROM` at all
///   is [`DockerfileError::NoFrom`]. Heredocs (`RUN <<EOF`) are not supported.
/// - Each `FROM` starts a stage: `FROM [--platform=...] IMAGE [AS NAME]`. The last stage is
///   the final image; the others only build things for it. A stage that starts `FROM` an
///   earlier stage's name (in any case) starts with that stage's `USER`, `HEALTHCHECK`,
///   `ENTRYPOINT` and `CMD`, as Docker does; and as in Docker, an `ENTRYPOINT` unsets the
///   `CMD` its stage inherited (not one the stage set itself, above it).
/// - `ENTRYPOINT` and `CMD` are in exec form when their arguments are a JSON array of
///   strings (`["/bin/app", "worker"]`), in shell form otherwise, broken JSON included
///   (`['app']` runs as `/bin/sh -c "['app']"`).
// ANCHOR_END: read
// ANCHOR: findings
///
/// **The findings**, each a [`Finding`] at a line:
///
/// - `UnpinnedImage`, at every `FROM` of any stage whose image has no tag or the tag
///   `latest`. The tag follows the last `:` after the last `/` (`localhost:5000/app` has
///   none). `scratch`, an earlier stage's name, an image with a digest (`@sha256:...`) and
///   one that holds a `$` (set by an `ARG`) are not judged.
/// - `SourcesBeforeDependencies`, in any stage, at the first `COPY` or `ADD` of the whole
///   build context (a source `.` or `./`, and no `--from=` flag) that comes before the
///   stage's first `RUN` that builds: one whose words hold `cargo build` or
///   `cargo chef cook` in a row. A stage with no such `RUN` gets none (cargo-chef's
///   planner copies everything on purpose). The sources are all arguments but the last
///   (the destination), flags (`--chown=...`) left out, in either form (`COPY [".", "/app"]`).
/// - `RunsAsRoot`: the final image's user is root. At its last `USER` when that names
///   `root` or `0`, with or without a group (`root:root`, `0:0`); at the final stage's
///   `FROM` when it has no `USER` at all.
/// - `ShellForm`, at the instructions that set the final image's `ENTRYPOINT` and its `CMD`
///   (if it still has one), each when it is in shell form (`instruction` is `ENTRYPOINT` or
///   `CMD`).
/// - `NoHealthcheck`, at the final stage's `FROM`, when the final image has no
///   `HEALTHCHECK`, or its last one is `HEALTHCHECK NONE`.
///
/// Returns the findings sorted by line, and on one line in the order of
/// [`FindingKind`](super::FindingKind)'s variants (`Finding` derives `Ord` that way, so
/// `findings.sort()` does it).
pub fn review_dockerfile(text: &str) -> Result<Vec<Finding>, DockerfileError> {
    todo!("exercise 6.4: review_dockerfile")
}
// ANCHOR_END: findings
