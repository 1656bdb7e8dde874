//! A job's progress as Server-Sent Events: the browser's `EventSource` keeps one HTTP
//! response open and reads `event:`/`data:` lines as they come.
//!
//! The stream sends the job's view at once, then again each time its state or attempts
//! change, and ends after the final state. It polls the queue's record: cheap in memory,
//! one Redis read in the distributed mode.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::stream;
use session03_workers::TaskState;

use crate::app::App;
use crate::error::ApiError;
use crate::jobs::{JobView, job_id};

/// How often the stream looks at the job.
pub const POLL: Duration = Duration::from_millis(50);

/// Where the stream is.
struct Follow {
    app: Arc<App>,
    id: session03_workers::TaskId,
    last: Option<(TaskState, u32)>,
    done: bool,
}

// ANCHOR: events
/// `GET /api/jobs/{id}/events`: `event: state` with the job's view, at each change; the
/// last one has a final state. 404 before the stream starts for an unknown job.
#[utoipa::path(get, path = "/api/jobs/{id}/events", tag = "jobs", params(("id" = String, Path, description = "The job's id, a UUID")),
    responses(
        (status = 200, description = "`event: state` lines with the job's view, until a final state", content_type = "text/event-stream"),
        (status = 404, description = "No such job", body = Object)))]
pub async fn events(
    State(app): State<Arc<App>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = job_id(id)?;
    app.job(id).await?;
    let follow = Follow {
        app,
        id,
        last: None,
        done: false,
    };
    let changes = stream::unfold(follow, |mut follow| async move {
        if follow.done {
            return None;
        }
        loop {
            let event = match follow.app.job(follow.id).await {
                Ok(record) => {
                    let now = (record.state, record.attempts);
                    if follow.last == Some(now) {
                        tokio::time::sleep(POLL).await;
                        continue;
                    }
                    follow.last = Some(now);
                    follow.done = record.state.is_final();
                    let context = follow.app.context(&record).await.unwrap_or_default();
                    let view = JobView::of(&record, context);
                    Event::default().event("state").json_data(&view).ok()?
                }
                // The record is gone (forgotten) or unreadable: say so, and end.
                Err(error) => {
                    follow.done = true;
                    Event::default().event("error").data(error.to_string())
                }
            };
            return Some((Ok(event), follow));
        }
    });
    Ok(Sse::new(changes).keep_alive(KeepAlive::default()))
}
// ANCHOR_END: events
