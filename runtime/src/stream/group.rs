//! Streams that send the same bytes, compressed once for all of them.
//!
//! The connections of a shared live view receive the same events, but a compressor per
//! connection would compress each event once per client: with 10,000 clients of one key,
//! 10,000 compressions of one patch. Connections that also *start* the same way (the same
//! encoding and settings, the same retry hint, the same first view) would send the same
//! bytes from their first to their last, so they join one [`Group`]: one compressor whose
//! output every member sends.
//!
//! - **Joining.** A group takes new members while it has sent no more than its start (the
//!   retry hint and the first view); a member that joins late is sent what the group has sent
//!   so far, then what follows. Once the group sends anything after its start, a connection
//!   with the same start forms a new group: its history would differ.
//! - **Heartbeats** are the group's: every member sends them when the group does.
//! - **A member that falls behind** (its client stopped reading while the group sent more than
//!   [`QUEUE`] chunks) cannot skip ahead, since the chunks it missed are part of what its
//!   client's decoder needs. It ends its stream cleanly, and its client reconnects to the
//!   current view.
//! - **Ending.** Every chunk comes with the bytes that end the compressed stream right after
//!   it ([`Frames::end_marker`]), so a member ends whenever it must (a shutdown, falling
//!   behind) with a stream its client decodes to the end, while the others go on. The group's
//!   task, and its compressor, end when the last member goes.

use std::any::Any;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::sync::broadcast;

use super::frames::Frames;
use super::limit::OpenStream;
use super::{LiveStream, set_encoding_headers, set_stream_headers};
use crate::compress::{self, Compression, Compressor, Encoding, Settings};
use crate::lifecycle::ShutdownWatch;

/// The chunks a member may fall behind its group before it ends.
pub(crate) const QUEUE: usize = 64;

/// The groups of the connections of one shared key.
#[derive(Default)]
pub(crate) struct Groups {
    groups: Arc<Mutex<Vec<Arc<Group>>>>,
}

/// How a live view's stream starts: the content id of its first view, and whether that view
/// is sent (a page that reconnects may have it already).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Start {
    first_view: u64,
    sent: bool,
}

impl Start {
    /// The start of a stream whose first view has the content id `first_view`, and is
    /// skipped when `page_has_it`.
    pub(crate) fn of(first_view: u64, page_has_it: bool) -> Start {
        Start {
            first_view,
            sent: !page_has_it,
        }
    }

    /// The chunks of the start: the retry hint, and the first view if it is sent.
    fn chunks(self) -> usize {
        1 + usize::from(self.sent)
    }
}

/// What makes the bytes of two streams the same from their start.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Key {
    encoding: Encoding,
    settings: Settings,
    retry: Duration,
    start: Start,
}

/// One compressor and the members that send its output.
struct Group {
    key: Key,
    state: Mutex<GroupState>,
    tx: broadcast::Sender<Arc<Chunk>>,
}

struct GroupState {
    /// Everything sent so far, while the group takes members; `None` once it sent more than
    /// its start.
    sent: Option<Vec<Arc<Chunk>>>,
}

/// Compressed bytes, and the bytes that end the stream right after them.
struct Chunk {
    bytes: Bytes,
    end: Bytes,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Groups {
    /// The response of one connection whose events are those of `make`'s stream (given
    /// `retry` here, not by `make`): every stream `make` would give for the same `start`
    /// must yield the same events.
    ///
    /// `encoding` is the one negotiated with the client, at `compression`'s settings. When
    /// the stream goes out compressed it joins a group of the same start or forms one;
    /// otherwise (identity, the compressors' memory cap) it is a stream of its own. `owned`
    /// lives as long as this connection's body.
    pub(crate) fn respond(
        &self,
        encoding: Encoding,
        compression: &Compression,
        retry: Duration,
        start: Start,
        make: impl FnOnce() -> LiveStream,
        owned: impl Any + Send,
    ) -> Response {
        let key = Key {
            encoding,
            settings: compression.settings(),
            retry,
            start,
        };
        let mut groups = lock(&self.groups);
        let joinable = groups
            .iter()
            .find(|group| group.key == key && lock(&group.state).sent.is_some());
        if let Some(group) = joinable {
            let member = Member::join(group);
            drop(groups);
            return member.into_response(encoding, owned);
        }
        let compressor = match Compressor::start(encoding, &key.settings) {
            Some(compressor) => compressor,
            None => {
                drop(groups);
                // Identity, or no room for a compressor: a stream of its own.
                return make()
                    .retry(retry)
                    .owning(owned)
                    .encoded(encoding, compression)
                    .into_response();
            }
        };
        let frames = Frames::detached(make().retry(retry), Some(compressor));
        let group = Arc::new(Group {
            key,
            state: Mutex::new(GroupState {
                sent: Some(Vec::with_capacity(start.chunks())),
            }),
            tx: broadcast::channel(QUEUE).0,
        });
        let member = Member::join(&group);
        groups.push(group.clone());
        drop(groups);
        tokio::spawn(run(self.groups.clone(), group, frames));
        member.into_response(encoding, owned)
    }

    /// The groups alive (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.groups).len()
    }
}

/// Compresses the group's frames once and hands every chunk to its members, until the
/// frames end or the last member has gone.
async fn run(groups: Arc<Mutex<Vec<Arc<Group>>>>, group: Arc<Group>, mut frames: Frames) {
    loop {
        tokio::select! {
            bytes = frames.next() => match bytes {
                Some(bytes) => group.publish(bytes, frames.end_marker()),
                None => break,
            },
            () = group.tx.closed() => {}
        }
        if group.tx.receiver_count() == 0 {
            // Checked again under the lock members join under.
            let mut groups = lock(&groups);
            if group.tx.receiver_count() == 0 {
                groups.retain(|held| !Arc::ptr_eq(held, &group));
                return;
            }
        }
    }
    lock(&groups).retain(|held| !Arc::ptr_eq(held, &group));
}

impl Group {
    fn publish(&self, bytes: Bytes, end: Bytes) {
        let chunk = Arc::new(Chunk { bytes, end });
        let mut state = lock(&self.state);
        if let Some(sent) = &mut state.sent {
            if sent.len() < self.key.start.chunks() {
                sent.push(chunk.clone());
            } else {
                // Past its start: a newcomer's history would differ from the members'.
                state.sent = None;
            }
        }
        // Sent under the lock, so a member that joins gets each chunk once: in what was sent,
        // or from its receiver.
        let _ = self.tx.send(chunk);
    }
}

/// One connection of a group.
struct Member {
    sent: Vec<Arc<Chunk>>,
    end: Bytes,
    rx: broadcast::Receiver<Arc<Chunk>>,
}

impl Member {
    fn join(group: &Group) -> Member {
        let state = lock(&group.state);
        Member {
            sent: state.sent.clone().unwrap_or_default(),
            // Until it sends a chunk, a member ends with a whole stream of nothing.
            end: compress::empty_stream(group.key.encoding),
            rx: group.tx.subscribe(),
        }
    }

    fn into_response(self, encoding: Encoding, owned: impl Any + Send) -> Response {
        let bytes = crate::metrics::sse_bytes(encoding);
        let body = self
            .body(owned)
            .inspect(move |chunk| bytes.increment(chunk.len() as u64))
            .map(Ok::<_, std::convert::Infallible>);
        let mut response = Response::new(Body::from_stream(body));
        let headers = response.headers_mut();
        set_stream_headers(headers);
        set_encoding_headers(headers, encoding);
        response
    }

    /// What the group sent before this member joined, then every chunk after, until the
    /// group ends, this member falls behind, or the process shuts down: then the bytes that
    /// end the compressed stream after the last chunk sent.
    fn body(self, owned: impl Any + Send) -> impl Stream<Item = Bytes> + Send + 'static {
        let Member {
            sent,
            mut end,
            mut rx,
        } = self;
        async_stream::stream! {
            let _open = OpenStream::new();
            let _owned = owned;
            let mut shutdown = ShutdownWatch::new();
            for chunk in sent {
                end = chunk.end.clone();
                yield chunk.bytes.clone();
            }
            loop {
                tokio::select! {
                    biased;
                    received = rx.recv() => match received {
                        Ok(chunk) => {
                            end = chunk.end.clone();
                            yield chunk.bytes.clone();
                        }
                        // Behind by more than the queue: the chunks missed cannot be skipped.
                        Err(broadcast::error::RecvError::Lagged(_)) => break,
                        Err(broadcast::error::RecvError::Closed) => break,
                    },
                    () = poll_fn(|cx| shutdown.poll_end(cx)) => break,
                }
            }
            if !end.is_empty() {
                yield end;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use futures::StreamExt;
    use http_body_util::BodyExt;

    use super::*;
    use crate::event::Event;
    use crate::stream::Heartbeat;

    fn events(from: usize) -> impl Stream<Item = Event> + Send + 'static {
        futures::stream::iter(from..).then(|n| async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            Event::comment(&format!("event {n}"))
        })
    }

    async fn read(body: &mut Body, chunks: usize) -> Vec<Bytes> {
        let mut read = Vec::new();
        while read.len() < chunks {
            match body.frame().await {
                Some(Ok(frame)) => read.extend(frame.into_data().ok()),
                _ => break,
            }
        }
        read
    }

    #[tokio::test]
    async fn members_of_one_start_share_a_compressor_until_it_sends_more() {
        let groups = Groups::default();
        let compression = Compression::default();
        let respond = |events_from: usize| {
            groups.respond(
                Encoding::Zstd,
                &compression,
                Duration::from_secs(1),
                Start::of(7, false),
                move || crate::stream(events(events_from)).heartbeat(Heartbeat::off()),
                (),
            )
        };
        let before = crate::compress::open_compressors();
        let mut first = respond(0).into_body();
        let mut second = respond(100).into_body();
        assert_eq!(groups.len(), 1);
        assert_eq!(crate::compress::open_compressors(), before + 1);
        let (a, b) = tokio::join!(read(&mut first, 10), read(&mut second, 9));
        // The second member was sent what the group had sent, then the same chunks.
        assert_eq!(a[..9], b[..]);
        let mut wire = b.concat();
        wire.extend_from_slice(&b"\x01\x00\x00"[..]);
        let mut decoded = String::new();
        zstd::stream::read::Decoder::new(&wire[..])
            .expect("decoder")
            .read_to_string(&mut decoded)
            .expect("the member's stream decodes");
        assert!(
            decoded.starts_with("retry: 1000\n\n: event 0\n\n: event 1\n\n"),
            "{decoded}"
        );

        // Past its start the group takes no one: a third connection forms its own.
        let third = respond(0).into_body();
        assert_eq!(groups.len(), 2);
        assert_eq!(crate::compress::open_compressors(), before + 2);
        drop((first, second, third));
        tokio::time::timeout(Duration::from_secs(5), async {
            while groups.len() > 0 || crate::compress::open_compressors() != before {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the groups and their compressors end with their members");
    }
}
