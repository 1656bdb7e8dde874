//! The session's graded exercises: four pieces of an HTTP service built by hand, beside
//! the API that the session's server runs.
//!
//! The chapter's API refuses bad input with the right status, follows a job as it runs,
//! stops a body that is too large and is tested from the outside. These exercises go
//! through each on a small service of their own, where nothing is done for you: a handler
//! that validates its query and its body and says in JSON what is wrong, a stream of
//! Server-Sent Events that follows a job's progress in Redis, a middleware that counts a
//! body's bytes as they arrive, and an end-to-end check of a running service, written as
//! a function that a test (or a deployment) calls.
//!
//! Each exercise has its own file and starts as a `todo!`, specified by its doc comment;
//! replace the `todo!`s with your code and run `cargo xtask grade 10`. The types the
//! exercises use are declared here, once; your files hold the functions.
//!
//! | exercise | file | item | what it is for |
//! |---|---|---|---|
//! | 10.1 | `thumbnail.rs` | [`thumbnail_app`] | `POST /thumbnail?width=&height=`: every bad parameter and body refused with its status and a JSON reason |
//! | 10.2 | `progress.rs` | [`progress_app`] | `GET /progress/{id}`: a job's progress in a Redis hash, as Server-Sent Events until it is done |
//! | 10.3 | `body_limit.rs` | [`body_limit`] | a middleware that refuses a body over N bytes, counted as it streams, chunked or not |
//! | 10.4 | `service_check.rs` | [`check_service`] | upload, follow the job, download and check the result: an end-to-end test as a function |

use std::time::Duration;

use serde::{Deserialize, Serialize};

// ---- 10.1, 10.2 and 10.3

// ANCHOR: refusal
/// The JSON body of every refusal of the exercises' services, as the session's API
/// answers: `{"error": "Bad Request", "reason": "width is missing"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The status's canonical reason phrase: `Bad Request` for 400, `Payload Too Large` for
    /// 413 (`StatusCode::canonical_reason`).
    pub error: String,
    /// What is wrong, in a sentence a client can show.
    pub reason: String,
}
// ANCHOR_END: refusal

// ---- 10.1

// ANCHOR: thumbnail
/// What `POST /thumbnail` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThumbnailLimits {
    /// The largest `width` or `height` a request may ask for; the smallest is 1.
    pub max_side: u32,
    /// The most bytes an image body may have.
    pub max_body_bytes: usize,
}

/// The first bytes of every PNG file.
pub const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
/// The first bytes of every JPEG file.
pub const JPEG_MAGIC: &[u8] = b"\xff\xd8\xff";
// ANCHOR_END: thumbnail

// ---- 10.2

// ANCHOR: progress
/// A job's progress: `done` steps of `total`. In Redis, the hash at
/// [`progress_key`]`(id)` with the fields `done` and `total`, whole numbers written as
/// text (`HSET ex10:progress:42 done 3 total 10`); on the stream, the JSON
/// `{"done":3,"total":10}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Steps done.
    pub done: u64,
    /// Steps in all.
    pub total: u64,
}

/// The Redis key of job `id`'s progress: `ex10:progress:{id}`.
pub fn progress_key(id: &str) -> String {
    format!("ex10:progress:{id}")
}
// ANCHOR_END: progress

// ---- 10.4

// ANCHOR: service_check
/// The pipeline the check asks for: a size no photo has by chance.
pub const CHECK_PIPELINE: &str = "resize:width=48,height=32,mode=exact";
/// The result's size that pipeline gives, width by height.
pub const CHECK_SIZE: (u32, u32) = (48, 32);
/// How long the check waits between two readings of the job.
pub const CHECK_POLL: Duration = Duration::from_millis(50);

/// What a check that passed found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCheck {
    /// The job's URL: the `Location` of the answer, joined to the service's base URL.
    pub job: String,
    /// How many times the job was read before it had succeeded, the last reading included.
    pub polls: u32,
    /// The size of the result, in bytes.
    pub bytes: usize,
    /// How long the whole check took.
    pub took: Duration,
}
// ANCHOR_END: service_check

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/thumbnail.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/thumbnail.rs")]
mod thumbnail;
pub use thumbnail::thumbnail_app;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/progress.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/progress.rs")]
mod progress;
pub use progress::progress_app;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/body_limit.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/body_limit.rs")]
mod body_limit;
pub use body_limit::body_limit;

#[cfg_attr(
    all(feature = "solutions", not(feature = "shortcuts")),
    path = "../../solutions/service_check.rs"
)]
#[cfg_attr(feature = "shortcuts", path = "../../shortcuts/service_check.rs")]
mod service_check;
pub use service_check::check_service;
