//! Exercise 10.2: a job's progress from Redis, as Server-Sent Events.

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
struct Source {
    redis: ConnectionManager,
    poll: Duration,
}

/// Where one stream is: what it sent last, what it has still to send.
struct Follow {
    source: Source,
    key: String,
    /// The reading taken before the stream started, used as its first.
    first: Option<Progress>,
    last: Option<Progress>,
    pending: VecDeque<Event>,
    finished: bool,
}

/// Exercise 10.2: a job's progress in a Redis hash, streamed as Server-Sent Events.
pub fn progress_app(redis: ConnectionManager, poll: Duration) -> Router {
    Router::new()
        .route("/progress/{id}", get(progress))
        .with_state(Source { redis, poll })
}

async fn progress(State(source): State<Source>, Path(id): Path<String>) -> Response {
    let key = progress_key(&id);
    let mut redis = source.redis.clone();
    let first = match read(&mut redis, &key).await {
        Ok(Some(first)) => first,
        Ok(None) => return refuse(StatusCode::NOT_FOUND, format!("no job {id:?}")),
        Err(reason) => return refuse(StatusCode::SERVICE_UNAVAILABLE, reason),
    };
    let follow = Follow {
        source,
        key,
        first: Some(first),
        last: None,
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
async fn next(mut follow: Follow) -> Option<(Result<Event, Infallible>, Follow)> {
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

impl Follow {
    /// Queues the events a reading calls for.
    fn look(&mut self, reading: Result<Option<Progress>, String>) {
        match reading {
            Ok(Some(now)) => {
                if self.last != Some(now) {
                    self.last = Some(now);
                    self.pending.push_back(event("progress", now));
                }
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
