//! Shortcut for exercise 10.2: an event at every poll, whether the progress changed or
//! not: a client is sent the same `1/3` again and again while the job works.
//! `ex10_2_an_event_only_when_the_progress_changes` catches it.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::stream;
use redis::AsyncCommands as _;
use redis::aio::ConnectionManager;

use super::{Progress, Refusal, progress_key};

/// What every stream starts from.
#[derive(Clone)]
struct Origin {
    redis: ConnectionManager,
    poll: Duration,
}

/// Where one stream is: what it has still to send.
struct Watch {
    source: Origin,
    key: String,
    /// The reading taken before the stream started, used as its first.
    first: Option<Progress>,
    pending: VecDeque<Event>,
    finished: bool,
}

/// Shortcut for exercise 10.2.
pub fn progress_app(redis: ConnectionManager, poll: Duration) -> Router {
    Router::new()
        .route("/progress/{id}", get(progress))
        .with_state(Origin { redis, poll })
}

async fn progress(State(source): State<Origin>, Path(id): Path<String>) -> Response {
    let key = progress_key(&id);
    let mut redis = source.redis.clone();
    let first = match read(&mut redis, &key).await {
        Ok(Some(first)) => first,
        Ok(None) => return refuse(StatusCode::NOT_FOUND, format!("no job {id:?}")),
        Err(reason) => return refuse(StatusCode::SERVICE_UNAVAILABLE, reason),
    };
    let follow = Watch {
        source,
        key,
        first: Some(first),
        pending: VecDeque::new(),
        finished: false,
    };
    // The stream is polled only while the client reads: once it goes away, axum drops
    // the stream, and with it the polling.
    let events = stream::unfold(follow, next);
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The next event of the stream, reading Redis until there is one; `None` once it ended.
async fn next(mut follow: Watch) -> Option<(Result<Event, Infallible>, Watch)> {
    loop {
        if let Some(event) = follow.pending.pop_front() {
            return Some((Ok(event), follow));
        }
        if follow.finished {
            return None;
        }
        let reading = match follow.first.take() {
            Some(first) => Ok(Some(first)),
            None => {
                tokio::time::sleep(follow.source.poll).await;
                read(&mut follow.source.redis, &follow.key).await
            }
        };
        follow.look(reading);
    }
}

impl Watch {
    /// Queues the events a reading calls for.
    fn look(&mut self, reading: Result<Option<Progress>, String>) {
        match reading {
            Ok(Some(now)) => {
                self.pending.push_back(event("progress", now));
                if now.done >= now.total {
                    self.pending.push_back(event("done", now));
                    self.finished = true;
                }
            }
            Ok(None) => self.fail("the job's progress is gone".to_owned()),
            Err(reason) => self.fail(reason),
        }
    }

    fn fail(&mut self, reason: String) {
        self.pending
            .push_back(Event::default().event("error").data(reason));
        self.finished = true;
    }
}

fn event(name: &str, progress: Progress) -> Event {
    let json = serde_json::to_string(&progress).unwrap_or_default();
    Event::default().event(name).data(json)
}

/// The progress at `key`: `None` when the key does not exist, an error when it cannot be
/// read or does not hold two whole numbers.
async fn read(redis: &mut ConnectionManager, key: &str) -> Result<Option<Progress>, String> {
    let fields: HashMap<String, String> = redis
        .hgetall(key)
        .await
        .map_err(|e| format!("cannot read the progress: {e}"))?;
    if fields.is_empty() {
        return Ok(None);
    }
    let field = |name: &str| -> Result<u64, String> {
        let text = fields
            .get(name)
            .ok_or_else(|| format!("the progress has no {name}"))?;
        text.parse()
            .map_err(|_| format!("the progress's {name} {text:?} is not a whole number"))
    };
    Ok(Some(Progress {
        done: field("done")?,
        total: field("total")?,
    }))
}

fn refuse(status: StatusCode, reason: String) -> Response {
    let error = status.canonical_reason().unwrap_or("error").to_owned();
    (status, Json(Refusal { error, reason })).into_response()
}
