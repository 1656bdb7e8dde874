//! Exercise 10.1: a handler with validation.
// The stub stops at `todo!` without using its arguments, on purpose: the workspace builds
// and every test outside the exercises passes before you start.
#![allow(clippy::todo, unused_variables)]

use axum::Router;

use super::ThumbnailLimits;

// ANCHOR: thumbnail_app
/// Exercise 10.1: an HTTP service that makes thumbnails, and refuses every bad request
/// with the status that names the problem and a JSON [`Refusal`](super::Refusal).
///
/// One route, `POST /thumbnail?width=W&height=H`, whose body is the image itself (any
/// `Content-Type`, or none: the service never trusts it). The request is checked in this
/// order, and the first problem found is the answer:
///
/// 1. **The query**, `width` first, then `height`: a parameter that is missing, that is
///    not a whole number (`abc`, `1.5`, `-3`, an empty value), or that is outside
///    `1..=limits.max_side`, is `400 Bad Request`, and the refusal's `reason` names the
///    parameter at fault (`width` or `height`), and never the other one. Other
///    parameters are ignored.
/// 2. **The body's size**: more than `limits.max_body_bytes` bytes is
///    `413 Payload Too Large`. Exactly `max_body_bytes` is allowed.
/// 3. **The format, by the body's first bytes**: a body that starts with neither
///    [`PNG_MAGIC`](super::PNG_MAGIC) nor [`JPEG_MAGIC`](super::JPEG_MAGIC) (a GIF, a
///    WebP, an empty body, whatever its `Content-Type` says) is
///    `415 Unsupported Media Type`.
/// 4. **The image**: a body that starts like a PNG or a JPEG but does not decode as one
///    (a file cut short, bytes after a valid header that are not an image) is
///    `422 Unprocessable Entity`.
///
/// Every refusal is the status with a JSON body, `Content-Type: application/json`:
/// `{"error": <the status's canonical reason>, "reason": <what is wrong>}`. Note that
/// axum's own extractors refuse in plain text, before your handler runs: the handler must
/// see every request itself.
///
/// A request that passes is `200 OK`, `Content-Type: image/png`, and its body is the
/// thumbnail, encoded as PNG: the image scaled to fit inside `width` x `height` with its
/// aspect ratio kept, exactly as `image::DynamicImage::thumbnail(width, height)` makes it.
pub fn thumbnail_app(limits: ThumbnailLimits) -> Router {
    todo!("exercise 10.1: thumbnail_app")
}
// ANCHOR_END: thumbnail_app
