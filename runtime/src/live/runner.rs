//! The per-connection loop of a live view: load, render, skip what the client has, repeat on
//! wake-ups, survive failures.

use std::any::Any;
use std::fmt;
use std::future::{Future, poll_fn};
use std::hash::{BuildHasher, Hasher};
use std::panic::AssertUnwindSafe;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use futures::{FutureExt, Stream, StreamExt, stream};
use http::StatusCode;

use super::private::Config;
use super::{Gauge, OPEN_VIEWS};
use crate::event::{Event, PatchElements, hex_digits};
use crate::invalidate::Invalidation;

/// At most this many wake-ups that are ready at once are folded into one reload; a source that
/// is always ready cannot keep the loop from rendering.
const MAX_COALESCED: usize = 65_536;

/// Why a reload after the first one produced no view. Passed to an `error_view`.
///
/// ```
/// use livestar::live::Failure;
/// use livestar::render::{Html, escape_text};
///
/// fn sorry(failure: &Failure) -> Html {
///     let mut text = String::new();
///     escape_text(&failure.to_string(), &mut text);
///     Html::from_trusted(format!("<ul id=\"todos\"><li class=\"error\">{text}</li></ul>"))
/// }
/// # let _ = sorry;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The load function returned `Err`; `status` is the status of that error as a response.
    Load {
        /// The status the error would have answered a request with.
        status: StatusCode,
    },
    /// The load function or the view panicked.
    Panic {
        /// The panic's message, when it was a string.
        message: String,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Load { status } => write!(f, "the load function failed ({status})"),
            Failure::Panic { message } => write!(f, "the live view panicked: {message}"),
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(a panic without a message)".to_owned()
    }
}

/// The content hash of a render: its event id, and what "identical" means for skipping.
pub(crate) fn content_id(html: &str) -> u64 {
    // XXH3 is specified and unseeded: the same HTML gets the same id in every process, so a
    // tab that reconnects to another instance skips an unchanged view.
    twox_hash::XxHash3_64::oneshot(html.as_bytes())
}

/// Whether a client's `Last-Event-ID` is the content id `id` (as [`hex_digits`] writes it).
fn is_content_id(last_event_id: &str, id: u64) -> bool {
    last_event_id.as_bytes() == hex_digits(id)
}

/// `base` plus up to `base` again, so that tabs dropped together reconnect spread out.
pub(crate) fn jittered(base: Duration) -> Duration {
    // RandomState is seeded per instance from the OS: enough randomness for spreading
    // reconnects, without a dependency.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let base_ms = u64::try_from(base.as_millis()).unwrap_or(u64::MAX / 2);
    let extra = if base_ms == 0 {
        0
    } else {
        random % (base_ms + 1)
    };
    Duration::from_millis(base_ms.saturating_add(extra))
}

/// One connection's live view.
pub(crate) struct Runner<L, V> {
    load: L,
    view: V,
    config: Config,
    /// The content id and length of the last patch sent.
    last: Option<(u64, usize)>,
}

impl<T, E, L, Fut, V> Runner<L, V>
where
    L: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    E: IntoResponse,
    T: Send + 'static,
    V: Fn(&T) -> String + Send + Sync + 'static,
{
    pub(crate) fn new(load: L, view: V, config: Config) -> Self {
        Runner {
            load,
            view,
            config,
            last: None,
        }
    }

    /// Runs the first load: its state, or the response that ends the request.
    async fn first_load(&mut self) -> Result<T, Response> {
        match AssertUnwindSafe((self.load)()).catch_unwind().await {
            Ok(Ok(state)) => Ok(state),
            Ok(Err(error)) => Err(error.into_response()),
            Err(panic) => {
                tracing::error!(
                    live_view = self.config.path,
                    panic = %panic_message(&*panic),
                    "live view load panicked on connect"
                );
                Err(StatusCode::INTERNAL_SERVER_ERROR.into_response())
            }
        }
    }

    /// Renders `state`; `Err` with the failure when the view panicked.
    fn render(&self, state: &T) -> Result<String, Failure> {
        std::panic::catch_unwind(AssertUnwindSafe(|| (self.view)(state))).map_err(|panic| {
            Failure::Panic {
                message: panic_message(&*panic),
            }
        })
    }

    /// The patch of `html`, unless it is what was sent last.
    fn patch(&mut self, html: String) -> Option<Event> {
        let id = content_id(&html);
        if self.last == Some((id, html.len())) {
            return None;
        }
        self.last = Some((id, html.len()));
        Some(self.encode(html, id))
    }

    fn encode(&self, html: String, id: u64) -> Event {
        let mut patch = PatchElements::from_html(html)
            .content_id(id)
            .mode(self.config.mode);
        if let Some(selector) = self.config.selector {
            patch = patch.selector(selector);
        }
        patch.encode()
    }

    /// Loads and renders after a wake-up: the patch to send, if any.
    async fn reload(&mut self) -> Option<Event> {
        let failure = match AssertUnwindSafe((self.load)()).catch_unwind().await {
            Ok(Ok(state)) => match self.render(&state) {
                Ok(html) => return self.patch(html),
                Err(failure) => failure,
            },
            Ok(Err(error)) => Failure::Load {
                status: error.into_response().status(),
            },
            Err(panic) => Failure::Panic {
                message: panic_message(&*panic),
            },
        };
        self.failed(failure)
    }

    /// Reports a failed reload and sends the error view, if there is one. Out of line: the
    /// loop that runs on every wake-up stays small.
    #[cold]
    #[inline(never)]
    fn failed(&mut self, failure: Failure) -> Option<Event> {
        tracing::error!(
            live_view = self.config.path,
            %failure,
            "live view reload failed; keeping the last view and retrying on the next wake-up"
        );
        let error_view = self.config.error_view?;
        match std::panic::catch_unwind(|| error_view(&failure)) {
            Ok(html) => self.patch(html.into_string()),
            Err(panic) => {
                tracing::error!(
                    live_view = self.config.path,
                    panic = %panic_message(&*panic),
                    "live view error_view panicked"
                );
                None
            }
        }
    }

    /// The whole response of one connection.
    pub(crate) async fn serve(
        mut self,
        last_event_id: Option<String>,
        wakeups: Invalidation,
    ) -> Response {
        let state = match self.first_load().await {
            Ok(state) => state,
            Err(response) => return response,
        };
        let html = match self.render(&state) {
            Ok(html) => html,
            Err(failure) => {
                tracing::error!(live_view = self.config.path, %failure, "live view failed on connect");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        };
        drop(state);
        let id = content_id(&html);
        self.last = Some((id, html.len()));
        let first = if last_event_id.is_some_and(|last| is_content_id(&last, id)) {
            None
        } else {
            Some(self.encode(html, id))
        };
        let heartbeat = self.config.heartbeat.clone();
        let retry = jittered(self.config.retry);
        let events = stream::iter(first).chain(self.updates(wakeups));
        crate::stream(events)
            .heartbeat(heartbeat)
            .retry(retry)
            .owning(Gauge::new(&OPEN_VIEWS))
            .into_response()
    }

    /// The patches after the first: one per coalesced burst of wake-ups. The response body
    /// ends it on shutdown or disconnect.
    fn updates(self, wakeups: Invalidation) -> impl Stream<Item = Event> + Send + 'static {
        let drain = wakeups.queues();
        // Fused: a source that ended is never polled again. The runner is boxed so that
        // handing the state from one update to the next moves a pointer.
        stream::unfold(
            (Box::new(self), wakeups.fuse()),
            move |(mut runner, mut wakeups)| async move {
                loop {
                    if poll_fn(|cx| next_burst(&mut wakeups, drain, cx))
                        .await
                        .is_none()
                    {
                        // Nothing can wake this view again: it stays open, with its heartbeats,
                        // until the client goes away or the server shuts down.
                        futures::future::pending::<()>().await;
                    }
                    if let Some(event) = runner.reload().await {
                        return Some((event, (runner, wakeups)));
                    }
                }
            },
        )
    }
}

/// Waits for a wake-up and, when wake-ups can queue (`drain`), takes every one already
/// waiting with it: latest wins, so one reload covers the burst. A source whose wake-ups
/// collapse into a flag has nothing more to take. `None` once the source has ended without
/// waking.
fn next_burst(
    wakeups: &mut (impl Stream<Item = ()> + Unpin),
    drain: bool,
    cx: &mut Context<'_>,
) -> Poll<Option<()>> {
    if !drain {
        return wakeups.poll_next_unpin(cx);
    }
    let mut woke = false;
    // Bounded, so that a source that is always ready cannot keep the view from rendering.
    for _ in 0..MAX_COALESCED {
        match wakeups.poll_next_unpin(cx) {
            Poll::Ready(Some(())) => woke = true,
            Poll::Ready(None) => return Poll::Ready(woke.then_some(())),
            Poll::Pending => break,
        }
    }
    if woke {
        Poll::Ready(Some(()))
    } else {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ids_are_xxh3_of_the_html() {
        // The reference values of XXH3-64 (seed 0), as xxhsum and the Python binding give
        // them: every process and every version of livestar agrees on a view's id.
        assert_eq!(content_id(""), 0x2d06_8005_38d3_94c2);
        assert_eq!(content_id("<p id=\"a\">1</p>"), 0x8039_3d06_4091_595c);
        // Long enough for the SIMD path.
        assert_eq!(content_id(&"<li>x</li>".repeat(500)), 0x3831_5eea_e515_8605);
    }

    #[test]
    fn content_ids_are_sent_as_16_hex_digits() {
        let id = content_id("<p id=\"a\">1</p>");
        let event = PatchElements::from_html("<p id=\"a\">1</p>".into())
            .content_id(id)
            .encode();
        assert!(
            event.as_str().contains("\nid: 80393d064091595c\n"),
            "{event:?}"
        );
        assert!(is_content_id("80393d064091595c", id));
        assert!(!is_content_id("80393d064091595d", id));
        assert!(!is_content_id("80393D064091595C", id));
        assert!(!is_content_id("", id));
        assert_eq!(&hex_digits(0x0123_4567_89ab_cdef), b"0123456789abcdef");
    }

    #[test]
    fn hex_digits_match_format_for_every_nibble_in_every_place() {
        let mut values = vec![0, u64::MAX, 0xfedc_ba98_7654_3210];
        for place in 0..16 {
            for nibble in 0..16u64 {
                values.push(nibble << (place * 4));
                values.push(!(nibble << (place * 4)));
            }
        }
        // And a spread of arbitrary ids.
        values.extend((0..1000u64).map(|n| n.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        for id in values {
            assert_eq!(hex_digits(id), format!("{id:016x}").as_bytes(), "{id:x}");
        }
    }

    fn burst(wakeups: &mut (impl Stream<Item = ()> + Unpin)) -> Poll<Option<()>> {
        next_burst(
            wakeups,
            true,
            &mut Context::from_waker(futures::task::noop_waker_ref()),
        )
    }

    #[test]
    fn a_flag_source_is_polled_once_per_wakeup() {
        let mut polls = 0;
        let mut wakeups = stream::poll_fn(|_| {
            polls += 1;
            Poll::Ready(Some(()))
        });
        let mut cx = Context::from_waker(futures::task::noop_waker_ref());
        assert_eq!(
            next_burst(&mut wakeups, false, &mut cx),
            Poll::Ready(Some(()))
        );
        drop(wakeups);
        assert_eq!(polls, 1);
    }

    #[test]
    fn a_burst_takes_every_waiting_wakeup() {
        let mut wakeups = stream::iter([(), (), ()]).chain(stream::pending());
        assert_eq!(burst(&mut wakeups), Poll::Ready(Some(())));
        assert_eq!(burst(&mut wakeups), Poll::Pending);
    }

    #[test]
    fn a_source_that_ends_after_waking_reloads_once_then_ends() {
        let mut wakeups = stream::iter([(), ()]).fuse();
        assert_eq!(burst(&mut wakeups), Poll::Ready(Some(())));
        assert_eq!(burst(&mut wakeups), Poll::Ready(None));
    }

    #[test]
    fn a_source_that_is_always_ready_still_lets_the_view_render() {
        let mut wakeups = stream::repeat(());
        assert_eq!(burst(&mut wakeups), Poll::Ready(Some(())));
    }

    #[test]
    fn jitter_stays_between_one_and_two_bases() {
        for _ in 0..100 {
            let retry = jittered(Duration::from_millis(1000));
            assert!(retry >= Duration::from_millis(1000) && retry <= Duration::from_millis(2000));
        }
    }

    #[test]
    fn jitter_spreads_reconnects() {
        let delays: std::collections::HashSet<_> =
            (0..20).map(|_| jittered(Duration::from_secs(1))).collect();
        assert!(delays.len() > 1);
    }
}
