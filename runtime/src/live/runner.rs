//! The per-connection loop of a live view: load, render, skip what the client has, repeat on
//! wake-ups, survive failures.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use futures::{FutureExt, Stream, StreamExt, stream};
use http::StatusCode;

use super::private::Config;
use super::{Gauge, OPEN_VIEWS};
use crate::event::{Event, PatchElements};
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
    xxhash_rust::xxh3::xxh3_64(html.as_bytes())
}

fn hex_id(id: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(16);
    for nibble in (0..16).rev() {
        text.push(char::from(HEX[((id >> (nibble * 4)) & 15) as usize]));
    }
    text
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
            .id(hex_id(id))
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
        let first = if last_event_id.as_deref() == Some(hex_id(id).as_str()) {
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
        // Fused: a source that ended is never polled again.
        stream::unfold(
            (self, wakeups.fuse()),
            |(mut runner, mut wakeups)| async move {
                loop {
                    if wakeups.next().await.is_none() {
                        // Nothing can wake this view again: it stays open, with its heartbeats,
                        // until the client goes away or the server shuts down.
                        futures::future::pending::<()>().await;
                    }
                    // Latest wins: every wake-up already waiting is covered by this reload.
                    for _ in 0..MAX_COALESCED {
                        match wakeups.next().now_or_never() {
                            Some(Some(())) => {}
                            Some(None) | None => break,
                        }
                    }
                    if let Some(event) = runner.reload().await {
                        return Some((event, (runner, wakeups)));
                    }
                }
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_16_hex_digits_of_the_content() {
        let id = hex_id(content_id("<p id=\"a\">1</p>"));
        assert_eq!(id.len(), 16);
        assert_eq!(id, hex_id(content_id("<p id=\"a\">1</p>")));
        assert_ne!(id, hex_id(content_id("<p id=\"a\">2</p>")));
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
