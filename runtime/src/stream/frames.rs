//! The body of a stream response: the retry hint, then events interleaved with heartbeats,
//! each frame compressed when the stream is.

use std::any::Any;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use metrics::Counter;
use tokio::time::{Instant, Sleep};

use super::limit::OpenStream;
use super::{CancelOnDrop, LiveStream};
use crate::compress::{Compressor, Encoding};
use crate::event::Event;
use crate::lifecycle::ShutdownWatch;

/// The response body: the retry hint, then events interleaved with heartbeats.
pub(super) struct Frames {
    events: Pin<Box<dyn Stream<Item = Event> + Send>>,
    first: Option<Event>,
    heartbeat: Option<Ticker>,
    /// `None` for the frames of a group of streams, each of whose members watches for
    /// itself (see [`super::group`]).
    shutdown: Option<ShutdownWatch>,
    done: bool,
    /// Counts the body in [`super::open_streams`]; `None` for a group's frames, whose members
    /// are the streams counted.
    _open: Option<OpenStream>,
    /// Compresses every frame before it is sent, when the stream is compressed.
    compressor: Option<Compressor>,
    /// Counts the bytes sent in `livestar_sse_bytes_total`; `None` for a group's frames,
    /// whose members count what they send.
    bytes: Option<Counter>,
    // Dropped with the body: the user's resources and the cancellation of their tasks.
    _owned: Vec<Box<dyn Any + Send>>,
    _cancel_on_drop: Option<CancelOnDrop>,
}

/// The heartbeat timer. The `Sleep` is made on the first poll, so building a response needs no
/// runtime. A frame sent only moves `due`: the timer, once it fires, is set again for the new
/// due time, so a stream that sends often touches the timer once per interval, not per frame.
struct Ticker {
    /// When the next heartbeat is due: one interval of silence after the last frame.
    due: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    /// The waker the timer holds: while the task's waker is the same and the timer has not
    /// fired, a poll need not touch the timer.
    registered: Option<Waker>,
    interval: Duration,
    comment: Event,
}

impl Ticker {
    /// A frame was sent: the next heartbeat is due one interval from now.
    fn postpone(&mut self) {
        self.due = Instant::now() + self.interval;
    }

    /// Whether a heartbeat is due; registers for the due time when not.
    fn poll_due(&mut self, cx: &mut Context<'_>) -> bool {
        let due = self.due;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
        if !sleep.is_elapsed()
            && self
                .registered
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            return false;
        }
        loop {
            if sleep.as_mut().poll(cx).is_pending() {
                self.registered = Some(cx.waker().clone());
                return false;
            }
            if sleep.deadline() >= self.due {
                self.due = Instant::now() + self.interval;
                sleep.as_mut().reset(self.due);
                // Registered again on the next poll.
                self.registered = None;
                return true;
            }
            // Frames were sent since the timer was set: wait for the silence after them.
            sleep.as_mut().reset(self.due);
        }
    }
}

impl Frames {
    /// The body of one response, sent with `encoding` (the compressor's, if there is one).
    pub(super) fn new(
        live: LiveStream,
        compressor: Option<Compressor>,
        encoding: Encoding,
    ) -> Self {
        let mut frames = Frames::detached(live, compressor);
        frames.shutdown = Some(ShutdownWatch::new());
        frames._open = Some(OpenStream::new());
        frames.bytes = Some(crate::metrics::sse_bytes(encoding));
        frames
    }

    /// The frames a group of bodies sends, compressed once for all of them: not counted as a
    /// stream and deaf to the shutdown, which each member body watches for itself.
    pub(super) fn detached(live: LiveStream, compressor: Option<Compressor>) -> Self {
        let heartbeat = live.heartbeat.settings.map(|settings| Ticker {
            due: Instant::now() + settings.initial_delay,
            sleep: None,
            registered: None,
            interval: settings.interval,
            comment: Event::comment(&settings.comment),
        });
        Frames {
            events: live.events,
            first: live.retry.map(Event::retry),
            heartbeat,
            shutdown: None,
            done: false,
            _open: None,
            compressor,
            bytes: None,
            _owned: live.owned,
            _cancel_on_drop: live.cancellation,
        }
    }
}

impl Frames {
    /// `bytes`, counted as sent.
    fn sent(&self, bytes: Bytes) -> Poll<Option<Bytes>> {
        if let Some(counter) = &self.bytes {
            counter.increment(bytes.len() as u64);
        }
        Poll::Ready(Some(bytes))
    }

    /// Ends the body and releases what the stream owned now, not when hyper drops the body.
    /// A compressed body sends the end of its compressed stream first.
    fn end(&mut self) -> Poll<Option<Bytes>> {
        self.done = true;
        self._owned.clear();
        self._cancel_on_drop = None;
        match self
            .compressor
            .take()
            .map(|mut compressor| compressor.finish())
        {
            Some(Ok(last)) if !last.is_empty() => self.sent(last),
            Some(Err(error)) => {
                tracing::error!(%error, "compressing an event stream failed at its end");
                Poll::Ready(None)
            }
            _ => Poll::Ready(None),
        }
    }

    /// The bytes that end the compressed stream after the frames sent so far, while the
    /// stream goes on (see [`Compressor::end_marker`]); empty when it is not compressed or
    /// has ended.
    pub(super) fn end_marker(&self) -> Bytes {
        self.compressor
            .as_ref()
            .map_or_else(Bytes::new, Compressor::end_marker)
    }

    /// `frame` as it goes on the wire: compressed and flushed when the stream is compressed.
    fn send(&mut self, frame: Bytes) -> Poll<Option<Bytes>> {
        let Some(compressor) = &mut self.compressor else {
            return self.sent(frame);
        };
        match compressor.frame(&frame) {
            Ok(compressed) => self.sent(compressed),
            Err(error) => {
                // The client cannot decode what follows a gap: end, and let it reconnect.
                tracing::error!(%error, "compressing an event stream failed; ending it");
                self.compressor = None;
                self.done = true;
                self._owned.clear();
                self._cancel_on_drop = None;
                Poll::Ready(None)
            }
        }
    }
}

impl Stream for Frames {
    type Item = Bytes;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Some(first) = self.first.take() {
            return self.send(first.into_bytes());
        }
        match self.events.as_mut().poll_next(cx) {
            Poll::Ready(Some(event)) => {
                if let Some(ticker) = &mut self.heartbeat {
                    ticker.postpone();
                }
                return self.send(event.into_bytes());
            }
            Poll::Ready(None) => return self.end(),
            Poll::Pending => {}
        }
        // Checked after the events, so a stream opened during shutdown still sends what it
        // has ready (a live view's current state) before it ends.
        if let Some(shutdown) = &mut self.shutdown
            && shutdown.poll_end(cx).is_ready()
        {
            return self.end();
        }
        if let Some(ticker) = &mut self.heartbeat
            && ticker.poll_due(cx)
        {
            let comment = ticker.comment.as_bytes().clone();
            return self.send(comment);
        }
        Poll::Pending
    }
}
