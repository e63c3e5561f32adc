//! What one connection of a live view is served with: the options of its attribute and what
//! it reads of the request.
#![allow(missing_docs)] // the hidden API of `#[live_view]` expansions (see `private`)

use std::time::Duration;

use axum::extract::FromRequestParts;
use http::request::Parts;

use super::Failure;
use crate::compress::AcceptEncoding;
use crate::event::Mode;
use crate::origin::OriginRejection;
use crate::render::Html;
use crate::stream::Heartbeat;

/// The options of one `#[live_view]`, as written in its attribute.
#[derive(Clone)]
pub struct Config {
    pub path: &'static str,
    pub heartbeat: Heartbeat,
    pub selector: Option<&'static str>,
    pub mode: Mode,
    pub retry: Duration,
    pub error_view: Option<fn(&Failure) -> Html>,
    /// Whether the stream is compressed when the client accepts it (`compress = false`).
    pub compress: bool,
}

impl Config {
    pub fn new(path: &'static str) -> Self {
        Config {
            path,
            heartbeat: Heartbeat::default(),
            selector: None,
            mode: Mode::Outer,
            retry: crate::event::DEFAULT_RETRY,
            error_view: None,
            compress: true,
        }
    }
}

/// What a live view reads of the request that opens it: the `Last-Event-ID` header (the id
/// of the last patch the client got) and the encodings it accepts. Extracting it refuses a
/// stream opened by a page on another site (see [`crate::origin`]).
pub struct Connect {
    pub last_event_id: Option<String>,
    pub accept: AcceptEncoding,
}

impl<S: Send + Sync> FromRequestParts<S> for Connect {
    type Rejection = OriginRejection;

    /// Refuses a stream opened by a page on another site (see [`crate::origin`]).
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, OriginRejection> {
        crate::origin::check(&parts.method, &parts.uri, &parts.headers, &parts.extensions)?;
        Ok(Connect {
            last_event_id: parts
                .headers
                .get("last-event-id")
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
            accept: AcceptEncoding::from_headers(&parts.headers),
        })
    }
}
