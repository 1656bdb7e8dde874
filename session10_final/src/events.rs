//! A job's progress as Server-Sent Events: the browser's `EventSource` keeps one HTTP
//! response open and reads `event:`/`data:` lines as they come.
//!
//! The stream sends the job's view at once, then again each time its state, its attempts
//! or a tiled job's tiles done change, and ends after the final state. It reads the job
//! again when the backend says something changed (the embedded mode's
//! [`Watched`](crate::watched) queue), and every [`POLL`] anyway: a few Redis reads each
//! time in the distributed mode.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use futures_util::stream;
use session03_workers::TaskState;
use tokio::sync::watch;

use crate::app::App;
use session07_k8s::error::ApiError as StatusError;

use crate::error::ApiError;
use crate::jobs::{JobView, job_id};

/// How often the stream looks at the job when the backend cannot say it changed (the
/// distributed mode), and at most how long it waits for a change when it can.
pub const POLL: Duration = Duration::from_millis(100);
/// How long the stream rides out a queue that does not answer (Redis restarting) before it
/// gives up and says so.
pub const OUTAGE: Duration = Duration::from_secs(30);

/// Where the stream is.
struct Follow {
    app: Arc<App>,
    id: session03_workers::TaskId,
    /// The state, attempts and tiles done last sent.
    last: Option<(TaskState, u32, u64)>,
    done: bool,
    /// Since when the queue has not answered, if it has not.
    failing_since: Option<Instant>,
    /// The backend's change counter, when it has one.
    changes: Option<watch::Receiver<u64>>,
}

impl Follow {
    /// Waits for the next change, or [`POLL`] at most.
    async fn pause(&mut self) {
        match &mut self.changes {
            Some(changes) => {
                // Changes come from every job: a wake-up only means "look again".
                let _ = tokio::time::timeout(POLL, changes.changed()).await;
            }
            None => tokio::time::sleep(POLL).await,
        }
    }
}

// ANCHOR: events
/// `GET /api/jobs/{id}/events`: `event: state` with the job's view, at each change; the
/// last one has a final state. 404 before the stream starts for an unknown job; `event:
/// gone` with the reason if the job cannot be followed any more.
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
        changes: app.backend().changes(),
        app,
        id,
        last: None,
        done: false,
        failing_since: None,
    };
    let changes = stream::unfold(follow, |mut follow| async move {
        if follow.done {
            return None;
        }
        loop {
            // Seen before reading: a change from now on wakes the next pause.
            if let Some(changes) = &mut follow.changes {
                changes.borrow_and_update();
            }
            let event = match follow.app.job(follow.id).await {
                Ok(job) => {
                    follow.failing_since = None;
                    let record = &job.record;
                    let done = job.tiles.map_or(0, |tiles| tiles.done);
                    let now = (record.state, record.attempts, done);
                    if follow.last == Some(now) {
                        follow.pause().await;
                        continue;
                    }
                    follow.last = Some(now);
                    follow.done = record.state.is_final();
                    let context = follow.app.context(record).await.unwrap_or_default();
                    let view = JobView::of(&job, context);
                    Event::default().event("state").json_data(&view).ok()?
                }
                // An outage may pass: keep looking, up to a limit.
                Err(ApiError::Status(StatusError::Unavailable(_)))
                    if follow
                        .failing_since
                        .get_or_insert_with(Instant::now)
                        .elapsed()
                        < OUTAGE =>
                {
                    follow.pause().await;
                    continue;
                }
                // The record is gone (forgotten), unreadable, or the outage lasted: say
                // why, and end.
                Err(error) => {
                    follow.done = true;
                    Event::default().event("gone").data(error.to_string())
                }
            };
            return Some((Ok(event), follow));
        }
    });
    Ok(Sse::new(changes).keep_alive(KeepAlive::default()))
}
// ANCHOR_END: events
