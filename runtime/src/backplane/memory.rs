//! An in-memory broker: several backplanes in one process behave like several processes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::{BackplaneError, Inbox, Incoming, Transport, lock};

/// A broker inside this process, for tests and examples: every [`Backplane`](super::Backplane)
/// connected to clones of one `MemoryBroker` acts as a separate process.
///
/// [`MemoryBroker::interrupt`] drops every subscription, like a broker restart, and
/// [`MemoryBroker::set_down`] makes it unreachable, so outage handling can be tested without a
/// server. A subscriber that falls more than 4096 messages behind misses the oldest (a slow
/// consumer on a real broker would be disconnected).
///
/// ```
/// use livestar::backplane::{Backplane, MemoryBroker};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let broker = MemoryBroker::new();
/// let backplane = Backplane::connect(broker.clone()).await?;
/// broker.interrupt();
/// assert_eq!(backplane.healed_after(0).await, 1);
/// # Ok::<_, livestar::backplane::BackplaneError>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Default)]
pub struct MemoryBroker {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    channels: Mutex<HashMap<String, broadcast::Sender<Bytes>>>,
    connections: Mutex<CancellationToken>,
    down: AtomicBool,
}

impl std::fmt::Debug for MemoryBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBroker").finish_non_exhaustive()
    }
}

impl MemoryBroker {
    /// A new broker with no channels.
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// // Clones share the broker: each backplane on it plays one process.
    /// let broker = MemoryBroker::new();
    /// let (a, b) = (Backplane::connect(broker.clone()).await?, Backplane::connect(broker).await?);
    /// assert!(a.is_connected() && b.is_connected());
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn new() -> Self {
        MemoryBroker::default()
    }

    /// Ends every current subscription, as if the broker restarted.
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let backplane = Backplane::connect(broker.clone()).await?;
    /// broker.interrupt();
    /// // The broker is still up, so the backplane subscribes again and heals.
    /// assert_eq!(backplane.healed_after(0).await, 1);
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn interrupt(&self) {
        let old = std::mem::take(&mut *lock(&self.shared.connections));
        old.cancel();
    }

    /// Makes the broker unreachable (`true`: subscribing and publishing fail, and current
    /// subscriptions end) or reachable again.
    ///
    /// ```
    /// use livestar::backplane::{Backplane, MemoryBroker};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let broker = MemoryBroker::new();
    /// let backplane = Backplane::connect(broker.clone()).await?;
    /// broker.set_down(true);
    /// assert!(Backplane::connect(broker.clone()).await.is_err());
    /// broker.set_down(false);
    /// assert_eq!(backplane.healed_after(0).await, 1);
    /// # Ok::<_, livestar::backplane::BackplaneError>(())
    /// # }).unwrap();
    /// ```
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
        if down {
            self.interrupt();
        }
    }

    fn sender(&self, channel: &str) -> broadcast::Sender<Bytes> {
        lock(&self.shared.channels)
            .entry(channel.to_owned())
            .or_insert_with(|| broadcast::channel(4096).0)
            .clone()
    }

    fn check_up(&self) -> Result<(), BackplaneError> {
        if self.shared.down.load(Ordering::SeqCst) {
            Err(BackplaneError::new("memory", "the broker is down"))
        } else {
            Ok(())
        }
    }
}

impl Transport for MemoryBroker {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn max_payload(&self) -> usize {
        usize::MAX
    }

    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Inbox, BackplaneError>> {
        Box::pin(async move {
            self.check_up()?;
            let rx = self.sender(channel).subscribe();
            let closed = lock(&self.shared.connections).clone();
            let messages = futures::stream::unfold(rx, |mut rx| async move {
                loop {
                    match rx.recv().await {
                        Ok(payload) => return Some((Incoming::Message(payload), rx)),
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::warn!(missed, "memory broker: a subscriber lagged");
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            });
            Ok(messages.take_until(closed.cancelled_owned()).boxed())
        })
    }

    fn publish<'a>(
        &'a self,
        channel: &'a str,
        payloads: &'a [Bytes],
    ) -> BoxFuture<'a, Result<(), BackplaneError>> {
        Box::pin(async move {
            self.check_up()?;
            let sender = self.sender(channel);
            for payload in payloads {
                // No subscriber is not an error: nobody was listening.
                let _ = sender.send(payload.clone());
            }
            Ok(())
        })
    }
}
