//! One connected client: its bounded queue, the slow-client check and its event stream.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;

use crate::event::Event;

/// What happened when an event was offered to a client.
pub(crate) enum Offer {
    Queued,
    /// The client could not keep up and must be disconnected.
    TooSlow,
    /// The client is gone already.
    Gone,
}

pub(crate) struct Client {
    pub(crate) id: u64,
    pub(crate) rooms: Vec<String>,
    pub(crate) session: Option<String>,
    tx: mpsc::Sender<Event>,
    /// Milliseconds since `epoch` (plus one) at which events started waiting without the
    /// client taking any; 0 while it keeps up.
    waiting_since: AtomicU64,
    epoch: Instant,
    stall: Duration,
    pub(crate) disconnect: CancellationToken,
}

impl Client {
    pub(crate) fn new(
        id: u64,
        rooms: Vec<String>,
        session: Option<String>,
        queue: usize,
        stall: Duration,
        epoch: Instant,
    ) -> (Arc<Client>, mpsc::Receiver<Event>) {
        let (tx, rx) = mpsc::channel(queue.max(1));
        let client = Arc::new(Client {
            id,
            rooms,
            session,
            tx,
            waiting_since: AtomicU64::new(0),
            epoch,
            stall,
            disconnect: CancellationToken::new(),
        });
        (client, rx)
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    pub(crate) fn offer(&self, event: &Event) -> Offer {
        if self.disconnect.is_cancelled() {
            return Offer::Gone;
        }
        let now = self.now();
        let since = self.waiting_since.load(Ordering::Acquire);
        if since != 0 && now.saturating_sub(since) > self.stall.as_millis() as u64 {
            return Offer::TooSlow;
        }
        match self.tx.try_send(event.clone()) {
            Ok(()) => {
                let _ = self.waiting_since.compare_exchange(
                    0,
                    now,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                );
                Offer::Queued
            }
            Err(TrySendError::Full(_)) => Offer::TooSlow,
            Err(TrySendError::Closed(_)) => Offer::Gone,
        }
    }

    /// The queued events, recording progress each time the client takes one; ends when the
    /// client is disconnected (events still queued are dropped).
    pub(crate) fn events(
        self: &Arc<Self>,
        rx: mpsc::Receiver<Event>,
    ) -> impl Stream<Item = Event> + Send + 'static {
        let client = self.clone();
        let stop = self.disconnect.clone().cancelled_owned();
        futures::stream::unfold((rx, client), |(mut rx, client)| async move {
            let event = rx.recv().await?;
            let mark = if rx.is_empty() { 0 } else { client.now() };
            client.waiting_since.store(mark, Ordering::Release);
            Some((event, (rx, client)))
        })
        .take_until(stop)
    }
}
