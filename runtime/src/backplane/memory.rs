//! An in-memory broker: several backplanes in one process behave like several processes.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::{BackplaneError, Inbox, Incoming, RoutedInbox, Routes, Transport, lock};

/// The messages a connection's queue holds before it misses the oldest.
const QUEUE: usize = 4096;

/// The messages waiting for one connection.
#[derive(Default)]
struct Queue {
    payloads: Mutex<VecDeque<Bytes>>,
    ready: Notify,
}

impl Queue {
    fn push(&self, payload: Bytes) {
        let mut payloads = lock(&self.payloads);
        payloads.push_back(payload);
        if payloads.len() > QUEUE {
            payloads.pop_front();
            tracing::warn!("memory broker: a subscriber lagged and missed a message");
        }
        drop(payloads);
        self.ready.notify_one();
    }

    async fn pop(&self) -> Bytes {
        loop {
            let ready = self.ready.notified();
            if let Some(payload) = lock(&self.payloads).pop_front() {
                return payload;
            }
            ready.await;
        }
    }
}

/// A broker inside this process, for tests and examples: every [`Backplane`](super::Backplane)
/// connected to clones of one `MemoryBroker` acts as a separate process.
///
/// [`MemoryBroker::interrupt`] drops every subscription, like a broker restart, and
/// [`MemoryBroker::set_down`] makes it unreachable, so outage handling can be tested without a
/// server. A connection that falls more than 4096 messages behind misses the oldest (a slow
/// consumer on a real broker would be disconnected). It routes like Redis and NATS do (see
/// [`Transport::subscribe_routed`]): a connection receives the channels it subscribed to,
/// in the order they were published.
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
    registry: Mutex<Registry>,
    connections: Mutex<CancellationToken>,
    down: AtomicBool,
}

/// Who receives what: each connection has one queue, fed by every channel it subscribed to,
/// so that it receives the messages of all its channels in the order they were published
/// (as a real broker's connection does).
#[derive(Default)]
struct Registry {
    channels: HashMap<String, HashMap<u64, Arc<Queue>>>,
    connections: HashMap<u64, (Arc<Queue>, HashSet<String>)>,
    next_connection: u64,
}

impl Registry {
    fn join(&mut self, connection: u64, channel: &str) {
        if let Some((queue, channels)) = self.connections.get_mut(&connection)
            && channels.insert(channel.to_owned())
        {
            self.channels
                .entry(channel.to_owned())
                .or_default()
                .insert(connection, queue.clone());
        }
    }

    fn leave(&mut self, connection: u64, channel: &str) {
        if let Some((_, channels)) = self.connections.get_mut(&connection) {
            channels.remove(channel);
        }
        self.unsubscribe(connection, channel);
    }

    fn close(&mut self, connection: u64) {
        if let Some((_, channels)) = self.connections.remove(&connection) {
            for channel in channels {
                self.unsubscribe(connection, &channel);
            }
        }
    }

    /// Takes `connection` off `channel`'s subscribers; a channel left without any goes.
    fn unsubscribe(&mut self, connection: u64, channel: &str) {
        if let Some(subscribers) = self.channels.get_mut(channel) {
            subscribers.remove(&connection);
            if subscribers.is_empty() {
                self.channels.remove(channel);
            }
        }
    }
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

    fn check_up(&self) -> Result<(), BackplaneError> {
        if self.shared.down.load(Ordering::SeqCst) {
            Err(BackplaneError::new("memory", "the broker is down"))
        } else {
            Ok(())
        }
    }
}

/// Closes a connection's subscriptions when its inbox is dropped.
struct Connection {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for Connection {
    fn drop(&mut self) {
        lock(&self.shared.registry).close(self.id);
    }
}

/// The routes of one memory broker connection.
struct MemoryRoutes {
    broker: MemoryBroker,
    id: u64,
    closed: CancellationToken,
}

impl MemoryRoutes {
    fn check_open(&self) -> Result<(), BackplaneError> {
        self.broker.check_up()?;
        if self.closed.is_cancelled() {
            return Err(BackplaneError::new("memory", "the connection was closed"));
        }
        Ok(())
    }
}

impl Routes for MemoryRoutes {
    fn add<'a>(&'a self, routes: &'a [String]) -> BoxFuture<'a, Result<(), BackplaneError>> {
        Box::pin(async move {
            self.check_open()?;
            let mut registry = lock(&self.broker.shared.registry);
            for route in routes {
                registry.join(self.id, route);
            }
            Ok(())
        })
    }

    fn remove<'a>(&'a self, routes: &'a [String]) -> BoxFuture<'a, Result<(), BackplaneError>> {
        Box::pin(async move {
            self.check_open()?;
            let mut registry = lock(&self.broker.shared.registry);
            for route in routes {
                registry.leave(self.id, route);
            }
            Ok(())
        })
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
        Box::pin(async move { Ok(self.subscribe_routed(channel).await?.0) })
    }

    fn subscribe_routed<'a>(
        &'a self,
        channel: &'a str,
    ) -> BoxFuture<'a, Result<RoutedInbox, BackplaneError>> {
        Box::pin(async move {
            self.check_up()?;
            let queue = Arc::new(Queue::default());
            let id = {
                let mut registry = lock(&self.shared.registry);
                let id = registry.next_connection;
                registry.next_connection += 1;
                registry
                    .connections
                    .insert(id, (queue.clone(), HashSet::new()));
                registry.join(id, channel);
                id
            };
            let connection = Connection {
                shared: self.shared.clone(),
                id,
            };
            let closed = lock(&self.shared.connections).clone();
            let messages =
                futures::stream::unfold((queue, connection), |(queue, connection)| async move {
                    let payload = queue.pop().await;
                    Some((Incoming::Message(payload), (queue, connection)))
                });
            let inbox = messages
                .take_until(closed.clone().cancelled_owned())
                .boxed();
            let routes = MemoryRoutes {
                broker: self.clone(),
                id,
                closed,
            };
            Ok((inbox, Some(Box::new(routes) as Box<dyn Routes>)))
        })
    }

    fn publish<'a>(
        &'a self,
        channel: &'a str,
        payloads: &'a [Bytes],
    ) -> BoxFuture<'a, Result<(), BackplaneError>> {
        Box::pin(async move {
            self.check_up()?;
            let registry = lock(&self.shared.registry);
            // No subscriber is not an error: nobody was listening.
            let Some(subscribers) = registry.channels.get(channel) else {
                return Ok(());
            };
            for payload in payloads {
                for queue in subscribers.values() {
                    queue.push(payload.clone());
                }
            }
            Ok(())
        })
    }
}
