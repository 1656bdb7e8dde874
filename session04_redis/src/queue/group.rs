//! Calls in groups. The slots of a worker process reserve and acknowledge tasks all the
//! time, and each call sent alone costs Redis a whole function call. One task per process
//! and kind of call sends them instead: the requests that arrive while a call is under way
//! go together in the next, the way a database commits a group of transactions with one
//! write. A slot alone waits no longer than before; sixty-four slots share their calls.

use std::future::Future;
use std::sync::Mutex;

use tokio::sync::{mpsc, oneshot};

/// The most requests one call carries.
const MAX_GROUP: usize = 256;

/// A kind of call that takes many requests at once.
pub(super) trait Grouped: Send + Sync + 'static {
    /// What one caller asks.
    type Request: Send + 'static;
    /// What it gets back.
    type Answer: Send + 'static;

    /// One call for `requests`: exactly one answer for each, in the same order (a request
    /// left without one would be asked again alone).
    fn call(&self, requests: Vec<Self::Request>) -> impl Future<Output = Vec<Self::Answer>> + Send;

    /// Deals with an answer whose caller stopped waiting for it.
    fn unanswered(&self, answer: Self::Answer) -> impl Future<Output = ()> + Send;
}

type Waiting<G> = (
    <G as Grouped>::Request,
    oneshot::Sender<<G as Grouped>::Answer>,
);

/// The way to one kind of call's task, started on first use.
pub(super) struct Group<G: Grouped>(Mutex<Option<mpsc::Sender<Waiting<G>>>>);

impl<G: Grouped> Default for Group<G> {
    fn default() -> Self {
        Self(Mutex::default())
    }
}

impl<G: Grouped> std::fmt::Debug for Group<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Group")
    }
}

impl<G: Grouped> Group<G> {
    /// Sends `request` with the others waiting, the task made by `start` when none runs;
    /// its answer, or `None` when the task is gone (the runtime that ran it ended).
    pub(super) async fn ask(
        &self,
        request: G::Request,
        start: impl FnOnce() -> G,
    ) -> Option<G::Answer> {
        let (reply, answer) = oneshot::channel();
        let sender = {
            let mut sender = self.0.lock().unwrap_or_else(|p| p.into_inner());
            match sender.as_ref() {
                Some(running) if !running.is_closed() => running.clone(),
                _ => {
                    let (send, receive) = mpsc::channel(MAX_GROUP);
                    tokio::spawn(run(start(), receive));
                    *sender = Some(send.clone());
                    send
                }
            }
        };
        sender.send((request, reply)).await.ok()?;
        answer.await.ok()
    }
}

// ANCHOR: run
/// The task: takes every request waiting (up to [`MAX_GROUP`]), makes one call, answers
/// each, and starts over. It holds no clone of the queue, so it ends with the last one.
async fn run<G: Grouped>(grouped: G, mut waiting: mpsc::Receiver<Waiting<G>>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while waiting.recv_many(&mut group, MAX_GROUP).await > 0 {
        let (requests, replies): (Vec<_>, Vec<_>) = group.drain(..).unzip();
        for (reply, answer) in replies.into_iter().zip(grouped.call(requests).await) {
            if let Err(answer) = reply.send(answer) {
                grouped.unanswered(answer).await;
            }
        }
    }
}
// ANCHOR_END: run
