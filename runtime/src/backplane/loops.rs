//! The tasks of a connected backplane: publishing the outbox, receiving (with reconnection),
//! and keeping the broker's routes in step with local interest.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::outbox::{Entry, Outbox};
use super::routes::{Batch, MAX_BATCH, Router};
use super::{BackplaneBuilder, Inbox, Incoming, Inner, Routes, Transport, chunks, message};

/// The most messages handed to the broker at once, and the bytes past the first of them.
const PUBLISH_BATCH: usize = 256;
const PUBLISH_BATCH_BYTES: usize = 1024 * 1024;

/// Publishes the outbox in order, in batches (one round trip for many messages where the
/// broker pipelines). A failed publish is retried with backoff (the outbox fills meanwhile,
/// and overflows into a heal); the backlog that went out late is followed by a heal.
pub(super) async fn publish_loop(
    transport: Arc<dyn Transport>,
    inner: Weak<Inner>,
    options: BackplaneBuilder,
    outbox: Arc<Outbox>,
    heal: Bytes,
    stop: CancellationToken,
) {
    let mut attempt: u32 = 0;
    loop {
        let batch = tokio::select! {
            _ = stop.cancelled() => return,
            next = outbox.next_batch(PUBLISH_BATCH, PUBLISH_BATCH_BYTES) => next,
        };
        let messages: Vec<(&str, &[Bytes])> = batch
            .iter()
            .map(|entry| match entry {
                Entry::Message(payloads) => (
                    payloads.route.as_deref().unwrap_or(&options.channel),
                    payloads.parts.as_slice(),
                ),
                Entry::Heal => (options.channel.as_str(), std::slice::from_ref(&heal)),
            })
            .collect();
        let sent = transport.publish_batch(&messages).await;
        let published = match &sent {
            Ok(()) => messages.len(),
            Err(failed) => failed.published.min(messages.len()),
        };
        if published > 0 {
            outbox.published(published);
            crate::metrics::backplane()
                .out_delivered
                .increment(published as u64);
        }
        match sent {
            Ok(()) => attempt = 0,
            Err(failed) => {
                let covered = outbox.failed();
                if covered > 0
                    && let Some(inner) = inner.upgrade()
                {
                    inner.dropped.fetch_add(covered, Ordering::Relaxed);
                    crate::metrics::backplane()
                        .out_dropped
                        .increment(covered as u64);
                }
                let error = failed.error;
                tracing::warn!(%error, attempt, "livestar backplane: publish failed; retrying (messages wait in the outbox, up to max_outbox)");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    () = tokio::time::sleep(backoff(&options, attempt)) => {}
                }
                attempt = attempt.saturating_add(1);
            }
        }
    }
}

/// The delay before reconnection attempt `attempt`: doubling from the smallest to the largest
/// backoff, jittered (50 to 100 % of it), so processes that lost the broker together do not
/// all come back in the same instant.
fn backoff(options: &BackplaneBuilder, attempt: u32) -> Duration {
    let ceiling = options
        .min_backoff
        .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(options.max_backoff);
    ceiling.mul_f64(0.5 + fastrand::f64() / 2.0)
}

pub(super) async fn receive_loop(
    transport: Arc<dyn Transport>,
    inner: Weak<Inner>,
    options: BackplaneBuilder,
    mut inbox: Inbox,
    stop: CancellationToken,
) {
    let mut chunks = chunks::Reassembly::new(options.max_message);
    loop {
        loop {
            let next = tokio::select! {
                _ = stop.cancelled() => return,
                next = inbox.next() => next,
            };
            let Some(inner) = inner.upgrade() else { return };
            match next {
                Some(Incoming::Message(payload)) => {
                    inner.received.fetch_add(1, Ordering::Relaxed);
                    let dropped = chunks.dropped();
                    let accepted = chunks.accept(payload);
                    let newly_dropped = chunks.dropped() - dropped;
                    inner
                        .pending_chunk_bytes
                        .store(chunks.pending_bytes(), Ordering::Relaxed);
                    if newly_dropped > 0 {
                        inner.refused.fetch_add(newly_dropped, Ordering::Relaxed);
                    }
                    match accepted {
                        Ok(Some(whole)) => inner.dispatch(whole),
                        Ok(None) => {}
                        Err(message::Garbage(why)) => {
                            inner.refused.fetch_add(1, Ordering::Relaxed);
                            if let Some(count) = inner.warnings.bad_chunks.due() {
                                tracing::warn!(
                                    why,
                                    count,
                                    "livestar backplane: ignored bad chunks"
                                );
                            }
                        }
                    }
                }
                Some(Incoming::Resubscribed) => {
                    inner.set_connected(true);
                    inner.request_heal();
                }
                None => {
                    inner.set_connected(false);
                    tracing::warn!(
                        broker = inner.broker,
                        "livestar backplane: lost the broker, reconnecting"
                    );
                    break;
                }
            }
        }
        if let Some(inner) = inner.upgrade() {
            // Nothing is routed to us any more; the route task waits for the next connection.
            *inner.router.control.lock().await = None;
            inner.router.lost(false);
        }
        let mut attempt: u32 = 0;
        inbox = loop {
            let delay = backoff(&options, attempt);
            tokio::select! {
                _ = stop.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            let Some(routing) = inner.upgrade().map(|inner| inner.routing) else {
                return;
            };
            let connected = if routing {
                match transport.subscribe_routed(&options.channel).await {
                    Ok((inbox, Some(routes))) => match inner.upgrade() {
                        Some(inner) => resubscribe(&inner.router, routes).await.map(|()| inbox),
                        None => return,
                    },
                    Ok((inbox, None)) => Ok(inbox),
                    Err(error) => Err(error),
                }
            } else {
                transport.subscribe(&options.channel).await
            };
            match connected {
                Ok(inbox) => break inbox,
                Err(error) => {
                    tracing::warn!(%error, attempt, "livestar backplane: reconnection failed");
                    attempt = attempt.saturating_add(1);
                }
            }
        };
        chunks = chunks::Reassembly::new(options.max_message);
        if let Some(inner) = inner.upgrade() {
            inner.pending_chunk_bytes.store(0, Ordering::Relaxed);
        }
        match inner.upgrade() {
            Some(inner) => {
                inner.set_connected(true);
                inner.request_heal();
            }
            None => return,
        }
    }
}

/// Subscribes a new connection to every route wanted now, then makes it the router's: the heal
/// that follows a reconnection reloads everything, so no listener is told of these routes.
async fn resubscribe(
    router: &Router,
    routes: Box<dyn Routes>,
) -> Result<(), super::BackplaneError> {
    let mut control = router.control.lock().await;
    let wanted = router.lost(true);
    for batch in wanted.chunks(MAX_BATCH) {
        routes.add(batch).await?;
        router.confirmed(batch);
    }
    *control = Some(routes);
    drop(control);
    router.finished();
    router.wake.notify_one();
    Ok(())
}

/// Applies changes of interest to the broker, a batch at a time: subscribes the routes newly
/// wanted (then tells their listeners, which reload what may have passed by), unsubscribes
/// those no longer wanted. A failed batch is tried again after a backoff; while the
/// connection is down the receive loop resubscribes everything instead.
pub(super) async fn route_loop(
    inner: Weak<Inner>,
    options: BackplaneBuilder,
    stop: CancellationToken,
) {
    let mut attempt: u32 = 0;
    loop {
        let Some(waiting) = inner.upgrade() else {
            return;
        };
        // Held while waiting: the stop token, cancelled with the backplane, ends the wait.
        tokio::select! {
            _ = stop.cancelled() => return,
            () = waiting.router.wake.notified() => {}
        }
        drop(waiting);
        loop {
            let Some(inner) = inner.upgrade() else {
                return;
            };
            let router = &inner.router;
            let control = router.control.lock().await;
            let Some(routes) = control.as_ref() else {
                break;
            };
            let batch = router.take_batch();
            if batch.is_empty() {
                drop(control);
                router.finished();
                break;
            }
            match apply(routes.as_ref(), router, &batch).await {
                Ok(confirmed) => {
                    drop(control);
                    attempt = 0;
                    // Told before `settled` returns, so that a test that waited for it sees
                    // the wake-ups.
                    inner.routed(&confirmed);
                    router.finished();
                }
                Err(error) => {
                    drop(control);
                    router.retry(&batch);
                    tracing::warn!(%error, attempt, "livestar backplane: changing routes failed; retrying");
                    let delay = backoff(&options, attempt);
                    attempt = attempt.saturating_add(1);
                    drop(inner);
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }
}

/// Applies one batch; returns the scopes of the routes newly confirmed.
async fn apply(
    routes: &dyn Routes,
    router: &Router,
    batch: &Batch,
) -> Result<Vec<(String, String)>, super::BackplaneError> {
    if !batch.unsubscribe.is_empty() {
        routes.remove(&batch.unsubscribe).await?;
        router.released(&batch.unsubscribe);
    }
    if batch.subscribe.is_empty() {
        return Ok(Vec::new());
    }
    routes.add(&batch.subscribe).await?;
    Ok(router.confirmed(&batch.subscribe))
}
