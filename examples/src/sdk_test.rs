//! The endpoint of the official Datastar SDK test suite, built only with livestar's public API.
//!
//! `GET /test?datastar={...}` and `POST /test` with the same JSON as body: the signals hold an
//! `events` array, and the endpoint answers with one SSE event per entry, then ends. The
//! official runner and this repository's conformance test both drive it.

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use livestar::event::{Event, Mode, Namespace};
use livestar::response::Events;
use livestar::signals::ReadSignals;
use serde::Deserialize;
use std::time::Duration;

/// The test suite's input: the events to send.
#[derive(Debug, Deserialize)]
pub struct TestCase {
    /// The events, in order.
    pub events: Vec<TestEvent>,
}

/// One event of a test case.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum TestEvent {
    /// A `datastar-patch-elements` event.
    #[serde(rename_all = "camelCase")]
    PatchElements {
        elements: Option<String>,
        selector: Option<String>,
        mode: Option<String>,
        namespace: Option<String>,
        use_view_transition: Option<bool>,
        event_id: Option<String>,
        retry_duration: Option<u64>,
    },
    /// A `datastar-patch-signals` event.
    #[serde(rename_all = "camelCase")]
    PatchSignals {
        signals: Option<serde_json::Value>,
        #[serde(rename = "signals-raw")]
        signals_raw: Option<String>,
        only_if_missing: Option<bool>,
        event_id: Option<String>,
        retry_duration: Option<u64>,
    },
    /// A script, sent as an appended `<script>` element.
    #[serde(rename_all = "camelCase")]
    ExecuteScript {
        script: String,
        auto_remove: Option<bool>,
        attributes: Option<serde_json::Map<String, serde_json::Value>>,
        event_id: Option<String>,
        retry_duration: Option<u64>,
    },
}

/// The router serving `/test`.
pub fn router() -> Router {
    Router::new().route("/test", get(test).post(test))
}

async fn test(ReadSignals(case): ReadSignals<TestCase>) -> Response {
    match case
        .events
        .into_iter()
        .map(TestEvent::into_event)
        .collect::<Result<Events, String>>()
    {
        Ok(events) => events.into_response(),
        Err(message) => (StatusCode::BAD_REQUEST, message).into_response(),
    }
}

impl TestEvent {
    /// The event this entry describes, or why it is invalid.
    pub fn into_event(self) -> Result<Event, String> {
        Ok(match self {
            TestEvent::PatchElements {
                elements,
                selector,
                mode,
                namespace,
                use_view_transition,
                event_id,
                retry_duration,
            } => {
                let mut patch =
                    livestar::event::PatchElements::from_html(elements.unwrap_or_default());
                if let Some(selector) = selector {
                    patch = patch.selector(selector);
                }
                if let Some(mode) = mode {
                    patch = patch.mode(mode.parse::<Mode>().map_err(|e| e.to_string())?);
                }
                if let Some(namespace) = namespace {
                    patch =
                        patch.namespace(namespace.parse::<Namespace>().map_err(|e| e.to_string())?);
                }
                patch = patch.use_view_transition(use_view_transition.unwrap_or(false));
                if let Some(id) = event_id {
                    patch = patch.id(id);
                }
                if let Some(retry) = retry_duration {
                    patch = patch.retry(Duration::from_millis(retry));
                }
                patch.into()
            }
            TestEvent::PatchSignals {
                signals,
                signals_raw,
                only_if_missing,
                event_id,
                retry_duration,
            } => {
                let mut patch = match (signals_raw, signals) {
                    (Some(raw), _) => Event::patch_signals_raw(raw),
                    (None, Some(signals)) => Event::patch_signals(signals),
                    (None, None) => {
                        return Err("patchSignals needs `signals` or `signals-raw`".into());
                    }
                };
                patch = patch.only_if_missing(only_if_missing.unwrap_or(false));
                if let Some(id) = event_id {
                    patch = patch.id(id);
                }
                if let Some(retry) = retry_duration {
                    patch = patch.retry(Duration::from_millis(retry));
                }
                patch.into()
            }
            TestEvent::ExecuteScript {
                script,
                auto_remove,
                attributes,
                event_id,
                retry_duration,
            } => {
                let mut run =
                    Event::execute_script(script).auto_remove(auto_remove.unwrap_or(true));
                for (name, value) in attributes.unwrap_or_default() {
                    let value = match value {
                        serde_json::Value::String(text) => text,
                        other => other.to_string(),
                    };
                    run = run.attribute(name, value);
                }
                if let Some(id) = event_id {
                    run = run.id(id);
                }
                if let Some(retry) = retry_duration {
                    run = run.retry(Duration::from_millis(retry));
                }
                run.into()
            }
        })
    }
}
