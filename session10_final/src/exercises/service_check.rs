//! Exercise 10.4: an end-to-end test as a function.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use std::time::Duration;

use super::ServiceCheck;

// ANCHOR: check_service
/// Exercise 10.4: checks, from the outside, that the image service at `base`
/// (`http://127.0.0.1:8080`, no trailing `/`) does its job: `Ok` only if a photo sent in
/// comes back processed, and otherwise an `Err` that says which step failed and what it
/// saw (a status, a header, a size).
///
/// The steps, as any client of the session's API takes them:
///
/// 1. **Submit.** `POST {base}/api/jobs` with a `multipart/form-data` body of three
///    fields: `file`, the bytes of `photo` (sent as a file: a `filename` in its
///    `Content-Disposition`), `pipeline`, [`CHECK_PIPELINE`](super::CHECK_PIPELINE), and
///    `format`, `png`. The answer must be `202 Accepted` with a `Location` header: the
///    job's path (`/api/jobs/{id}`), which is joined to `base` (a `Location` that is
///    already an absolute `http://` URL is used as it is). That URL is the job's.
/// 2. **Follow.** `GET` the job's URL: `200 OK` with a JSON object whose `state` is
///    `succeeded` ends this step; `failed` or `dead` is an error that gives the job's
///    `error`; any other state (`pending`, `running`, `retrying`) means waiting
///    [`CHECK_POLL`](super::CHECK_POLL) and reading it again. Another status, or a body
///    that is not such an object, is an error.
/// 3. **Fetch.** `GET {job}/result`: it must be `200 OK` with `Content-Type: image/png`
///    (parameters after a `;` aside), and its body must decode as a PNG of exactly
///    [`CHECK_SIZE`](super::CHECK_SIZE), width by height.
///
/// All of it within `deadline`, counted from the call: the function returns by then,
/// whatever the service does. A job that never finishes is an error once the deadline
/// has passed, and so is a service that accepts the connection and never answers (every
/// request's own timeout is the time left). On success, the [`ServiceCheck`] says what
/// was found.
pub fn check_service(base: &str, photo: &[u8], deadline: Duration) -> Result<ServiceCheck, String> {
    todo!("exercise 10.4: check_service")
}
// ANCHOR_END: check_service
