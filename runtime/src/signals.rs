//! Reading the signals a Datastar client sends with each request.
//!
//! The client sends every signal (but those starting with `_`) with each action: for `GET` and
//! `DELETE` as JSON in the `datastar` query parameter, for other methods as the JSON body.
//! [`ReadSignals`] reads them into any `Deserialize` type.
//!
//! ```
//! use axum::{Router, routing::post};
//! use livestar::signals::ReadSignals;
//!
//! #[derive(serde::Deserialize)]
//! struct Draft {
//!     message: String,
//! }
//!
//! async fn send(ReadSignals(draft): ReadSignals<Draft>) -> String {
//!     format!("got {}", draft.message)
//! }
//!
//! let app: Router = Router::new().route("/send", post(send));
//! ```
//!
//! # Bad input
//! A request that cannot be read answers, without reaching the handler:
//! - `400 Bad Request` naming what was wrong: a missing `datastar` parameter, an undecodable
//!   query string, JSON that does not parse (with serde's reason and position), or JSON of the
//!   wrong shape (with the path of the offending field and serde's reason);
//! - `413 Payload Too Large` for a body over the limit (1 MiB unless a [`SignalsLimit`]
//!   extension sets another), `414 URI Too Long` for a `datastar` parameter over it;
//! - `403 Forbidden` for a request a page on another site made, and for a state-changing one
//!   (any method but `GET` and `HEAD`) without the `Datastar-Request: true` header the client
//!   sends: a cross-site form cannot post signals as the user (see [`crate::origin`]).

use std::fmt;

use axum::extract::{FromRequest, OptionalFromRequest, Request};
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode};
use serde::de::DeserializeOwned;

use crate::origin::OriginRejection;

/// The query parameter that carries signals on `GET` and `DELETE`.
///
/// ```
/// assert_eq!(livestar::signals::QUERY_PARAMETER, "datastar"); // `/search?datastar={...}`
/// ```
pub const QUERY_PARAMETER: &str = "datastar";
/// The request header every Datastar action sends.
///
/// ```
/// // A plain page load lacks it, which is how `Option<ReadSignals<T>>` tells the two apart.
/// let from_action = |headers: &http::HeaderMap| headers.contains_key(livestar::signals::REQUEST_HEADER);
/// assert!(!from_action(&http::HeaderMap::new()));
/// ```
pub const REQUEST_HEADER: &str = "datastar-request";
/// The signals size limit unless a [`SignalsLimit`] extension sets another: 1 MiB.
///
/// ```
/// assert_eq!(livestar::signals::DEFAULT_LIMIT, 1 << 20);
/// ```
pub const DEFAULT_LIMIT: usize = 1024 * 1024;

/// Extracts the request's signals as `T`.
///
/// Put it last among a handler's arguments: on methods with a body it reads the body. Use
/// `Option<ReadSignals<T>>` for handlers that also serve requests that do not come from a
/// Datastar action (no `datastar-request` header): those get `None`.
///
/// ```
/// use livestar::signals::ReadSignals;
///
/// #[derive(serde::Deserialize)]
/// struct Filter {
///     query: String,
/// }
///
/// async fn search(signals: Option<ReadSignals<Filter>>) -> String {
///     match signals {
///         Some(ReadSignals(filter)) => format!("searching {}", filter.query),
///         None => "a plain page load".to_owned(),
///     }
/// }
/// # let _: axum::routing::MethodRouter = axum::routing::get(search);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadSignals<T>(pub T);

/// Sets the size limit of signals for the requests it is an extension of.
///
/// ```
/// use axum::{Extension, Router, routing::post};
/// use livestar::signals::{ReadSignals, SignalsLimit};
///
/// async fn upload(ReadSignals(v): ReadSignals<serde_json::Value>) {}
///
/// let app: Router = Router::new()
///     .route("/upload", post(upload))
///     .layer(Extension(SignalsLimit(8 * 1024 * 1024)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalsLimit(pub usize);

/// Why a request's signals could not be read; answers with a 4xx status and a message.
///
/// ```
/// use axum::response::IntoResponse;
/// use livestar::signals::SignalsRejection;
///
/// let response = SignalsRejection::MissingQuery.into_response();
/// assert_eq!(response.status(), 400);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum SignalsRejection {
    /// A `GET` or `DELETE` without the `datastar` query parameter.
    MissingQuery,
    /// The query string could not be decoded.
    InvalidQuery(String),
    /// The body could not be read (for example, the connection failed).
    UnreadableBody(String),
    /// The signals are larger than the limit.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
        /// Whether they came in the query string (else the body).
        in_query: bool,
    },
    /// The signals are not valid JSON.
    MalformedJson(String),
    /// The signals are JSON, but not of the expected shape.
    InvalidJson {
        /// The path of the offending value (`.` for the whole document).
        path: String,
        /// serde's reason.
        reason: String,
    },
    /// The request did not come from this app's pages (see [`crate::origin`]).
    NotSameOrigin(OriginRejection),
}

impl SignalsRejection {
    /// The HTTP status this rejection answers with.
    ///
    /// ```
    /// use livestar::signals::SignalsRejection;
    ///
    /// let too_large = SignalsRejection::TooLarge { limit: 10, in_query: false };
    /// assert_eq!(too_large.status(), 413);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            SignalsRejection::TooLarge { in_query: true, .. } => StatusCode::URI_TOO_LONG,
            SignalsRejection::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            SignalsRejection::NotSameOrigin(_) => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl fmt::Display for SignalsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalsRejection::MissingQuery => write!(
                f,
                "missing the `{QUERY_PARAMETER}` query parameter that carries the signals of a GET or DELETE"
            ),
            SignalsRejection::InvalidQuery(reason) => {
                write!(f, "the query string could not be decoded: {reason}")
            }
            SignalsRejection::UnreadableBody(reason) => {
                write!(f, "the request body could not be read: {reason}")
            }
            SignalsRejection::TooLarge { limit, in_query } => write!(
                f,
                "the signals in the {} are larger than the limit of {limit} bytes",
                if *in_query { "query string" } else { "body" }
            ),
            SignalsRejection::MalformedJson(reason) => {
                write!(f, "the signals are not valid JSON: {reason}")
            }
            SignalsRejection::InvalidJson { path, reason } => {
                write!(f, "invalid signals at `{path}`: {reason}")
            }
            SignalsRejection::NotSameOrigin(rejection) => rejection.fmt(f),
        }
    }
}

impl std::error::Error for SignalsRejection {}

impl IntoResponse for SignalsRejection {
    fn into_response(self) -> Response {
        (self.status(), self.to_string()).into_response()
    }
}

impl<T, S> FromRequest<S> for ReadSignals<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = SignalsRejection;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let limit = request
            .extensions()
            .get::<SignalsLimit>()
            .map_or(DEFAULT_LIMIT, |l| l.0);
        crate::origin::check_signals(
            request.method(),
            request.uri(),
            request.headers(),
            request.extensions(),
        )
        .map_err(SignalsRejection::NotSameOrigin)?;
        if request.method() == Method::GET || request.method() == Method::DELETE {
            let query = request.uri().query().unwrap_or_default();
            let json = signals_in_query(query, limit)?;
            parse(json.as_bytes()).map(ReadSignals)
        } else {
            let body = axum::body::to_bytes(request.into_body(), limit)
                .await
                .map_err(|error| body_error(error, limit))?;
            parse(&body).map(ReadSignals)
        }
    }
}

impl<T, S> OptionalFromRequest<S> for ReadSignals<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = SignalsRejection;

    async fn from_request(request: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        if !request.headers().contains_key(REQUEST_HEADER) {
            // Not from an action; but a cross-site page may not post as the user either way.
            crate::origin::check(
                request.method(),
                request.uri(),
                request.headers(),
                request.extensions(),
            )
            .map_err(SignalsRejection::NotSameOrigin)?;
            return Ok(None);
        }
        <Self as FromRequest<S>>::from_request(request, state)
            .await
            .map(Some)
    }
}

/// Finds the `datastar` parameter in a query string.
fn signals_in_query(query: &str, limit: usize) -> Result<String, SignalsRejection> {
    // Percent-encoding at most triples a value, so a query this long cannot be within the limit.
    if query.len()
        > limit
            .saturating_mul(3)
            .saturating_add(QUERY_PARAMETER.len() + 1)
    {
        return Err(SignalsRejection::TooLarge {
            limit,
            in_query: true,
        });
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|error| SignalsRejection::InvalidQuery(error.to_string()))?;
    let json = pairs
        .into_iter()
        .find_map(|(name, value)| (name == QUERY_PARAMETER).then_some(value))
        .ok_or(SignalsRejection::MissingQuery)?;
    if json.len() > limit {
        return Err(SignalsRejection::TooLarge {
            limit,
            in_query: true,
        });
    }
    Ok(json)
}

fn body_error(error: axum::Error, limit: usize) -> SignalsRejection {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = source {
        if current.is::<http_body_util::LengthLimitError>() {
            return SignalsRejection::TooLarge {
                limit,
                in_query: false,
            };
        }
        source = current.source();
    }
    SignalsRejection::UnreadableBody(error.to_string())
}

fn parse<T: DeserializeOwned>(json: &[u8]) -> Result<T, SignalsRejection> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let error = error.into_inner();
        if error.is_syntax() || error.is_eof() {
            SignalsRejection::MalformedJson(error.to_string())
        } else {
            SignalsRejection::InvalidJson {
                path,
                reason: error.to_string(),
            }
        }
    })?;
    deserializer
        .end()
        .map_err(|error| SignalsRejection::MalformedJson(error.to_string()))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_without_the_parameter_is_missing() {
        assert!(matches!(
            signals_in_query("a=1", DEFAULT_LIMIT),
            Err(SignalsRejection::MissingQuery)
        ));
    }

    #[test]
    fn wrong_shape_names_the_path_and_reason() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Signals {
            user: User,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct User {
            age: u8,
        }
        let error = parse::<Signals>(br#"{"user":{"age":"old"}}"#).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid signals at `user.age`: invalid type: string \"old\", expected u8 at line 1 column 20"
        );
    }

    #[test]
    fn trailing_garbage_is_invalid_json() {
        let error = parse::<serde_json::Value>(b"{} x").unwrap_err();
        assert!(matches!(error, SignalsRejection::MalformedJson(_)));
    }
}
