//! Same-origin requests: a page on another site must not be able to act as the user.
//!
//! A browser attaches the user's cookies to requests that other sites' pages make: a hidden
//! form (`enctype="text/plain"` posts a body that parses as JSON signals) or a `fetch`. livestar
//! refuses such requests with `403 Forbidden` before the handler runs:
//!
//! - [`ReadSignals`](crate::signals::ReadSignals) on any method but `GET` and `HEAD` requires
//!   the `Datastar-Request: true` header the Datastar client sends (a form cannot send a custom
//!   header, and a cross-site `fetch` cannot without a CORS preflight the app never answers),
//!   and refuses a cross-site request even with it;
//! - a live view refuses a stream opened cross-site;
//! - [`same_origin`], an axum middleware, does the same for every route it wraps: handlers that
//!   read no signals, hub and hand-written streams.
//!
//! A request is **cross-site** when the browser says so (`Sec-Fetch-Site: cross-site`, which
//! pages cannot forge), or, from a browser that sends no `Sec-Fetch-Site`, when its `Origin`
//! is `null` or names another host than the request's `Host`. Top-level navigations (`GET` with
//! `Sec-Fetch-Mode: navigate`: a link from another site) pass; a request with neither header
//! (curl, a server) is not a browser acting for a user and passes too. Origins of your own
//! that live elsewhere (an admin app on another domain) are allowed with an
//! [`AllowedOrigins`] extension.
//!
//! ```
//! use axum::{Extension, Router, middleware, routing::post};
//! use livestar::origin::{AllowedOrigins, same_origin};
//!
//! async fn archive() -> &'static str {
//!     "archived"
//! }
//!
//! let app: Router = Router::new()
//!     .route("/archive", post(archive))
//!     .layer(middleware::from_fn(same_origin))
//!     .layer(Extension(AllowedOrigins::new(["https://admin.example.com"])));
//! ```
//!
//! Behind a proxy that rewrites `Host`, browsers without `Sec-Fetch-Site` (before 2023) are
//! compared against the rewritten host: pass the original `Host` on, or list your public
//! origin in [`AllowedOrigins`].

use std::fmt;
use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, Uri, header};

use crate::signals::REQUEST_HEADER;

/// Origins besides the request's own whose pages may act on this app, as an axum
/// `Extension`: `scheme://host[:port]`, compared exactly (ASCII case aside).
///
/// ```
/// use livestar::origin::AllowedOrigins;
///
/// let allowed = AllowedOrigins::new(["https://admin.example.com"]);
/// assert!(allowed.allows("https://ADMIN.example.com"));
/// assert!(!allowed.allows("https://evil.example"));
/// ```
#[derive(Clone, Debug, Default)]
pub struct AllowedOrigins(Arc<[String]>);

impl AllowedOrigins {
    /// Allows the pages of `origins`.
    pub fn new<I, S>(origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        AllowedOrigins(
            origins
                .into_iter()
                .map(|origin| origin.into().trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        )
    }

    /// Whether `origin` (an `Origin` header's value) is listed.
    pub fn allows(&self, origin: &str) -> bool {
        self.0
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(origin))
    }
}

/// Why a request was refused as not same-origin; answers `403 Forbidden` with the reason.
///
/// ```
/// use axum::response::IntoResponse;
/// use livestar::origin::OriginRejection;
///
/// assert_eq!(OriginRejection::CrossSite.into_response().status(), 403);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginRejection {
    /// A page on another site made the request.
    CrossSite,
    /// A state-changing request reading signals without the `Datastar-Request: true` header
    /// the Datastar client sends.
    NotFromDatastar,
}

impl fmt::Display for OriginRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginRejection::CrossSite => {
                f.write_str("refused: this request was made by a page on another site")
            }
            OriginRejection::NotFromDatastar => f.write_str(
                "refused: a request that changes state must come from the Datastar client \
                 (the `Datastar-Request: true` header is missing)",
            ),
        }
    }
}

impl std::error::Error for OriginRejection {}

impl IntoResponse for OriginRejection {
    fn into_response(self) -> Response {
        (StatusCode::FORBIDDEN, self.to_string()).into_response()
    }
}

/// Whether a page on another site made this request (see the [module docs](self)); `allowed`
/// names other origins of the app.
///
/// ```
/// use http::HeaderMap;
/// use livestar::origin::{AllowedOrigins, is_cross_site};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("host", "shop.example".parse().unwrap());
/// headers.insert("origin", "https://evil.example".parse().unwrap());
/// assert!(is_cross_site(&headers, &"/cart".parse().unwrap(), &AllowedOrigins::default()));
/// headers.insert("origin", "https://shop.example".parse().unwrap());
/// assert!(!is_cross_site(&headers, &"/cart".parse().unwrap(), &AllowedOrigins::default()));
/// ```
pub fn is_cross_site(headers: &HeaderMap, uri: &Uri, allowed: &AllowedOrigins) -> bool {
    let origin = headers
        .get(header::ORIGIN)
        .map(|value| value.to_str().unwrap_or("null"));
    if origin.is_some_and(|origin| allowed.allows(origin)) {
        return false;
    }
    match headers.get("sec-fetch-site").map(|value| value.as_bytes()) {
        Some(site) => site.eq_ignore_ascii_case(b"cross-site"),
        None => origin.is_some_and(|origin| !same_host(origin, headers, uri)),
    }
}

/// Whether `origin` names the host the request was sent to (`Host`, or the HTTP/2
/// authority).
fn same_host(origin: &str, headers: &HeaderMap, uri: &Uri) -> bool {
    let Some((_, origin_host)) = origin.split_once("://") else {
        // `null` (a sandboxed frame, a file) or something that is not an origin.
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| uri.authority().map(|authority| authority.as_str()));
    host.is_some_and(|host| host.eq_ignore_ascii_case(origin_host))
}

/// Whether `method` may change state (anything but `GET`, `HEAD` and `OPTIONS`).
fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the browser navigates to the page (a link followed), rather than a page's script
/// or form acting.
fn is_navigation(method: &Method, headers: &HeaderMap) -> bool {
    *method == Method::GET
        && headers
            .get("sec-fetch-mode")
            .is_some_and(|mode| mode.as_bytes().eq_ignore_ascii_case(b"navigate"))
}

/// The checks of [`same_origin`] on a request's parts.
pub(crate) fn check(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    extensions: &http::Extensions,
) -> Result<(), OriginRejection> {
    if is_navigation(method, headers) {
        return Ok(());
    }
    static NONE: std::sync::LazyLock<AllowedOrigins> =
        std::sync::LazyLock::new(AllowedOrigins::default);
    let allowed = extensions.get::<AllowedOrigins>().unwrap_or(&NONE);
    if is_cross_site(headers, uri, allowed) {
        return Err(OriginRejection::CrossSite);
    }
    Ok(())
}

/// The checks of a request that reads signals: [`check`], and for a method that changes state
/// the Datastar client's header.
pub(crate) fn check_signals(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    extensions: &http::Extensions,
) -> Result<(), OriginRejection> {
    check(method, uri, headers, extensions)?;
    let from_datastar = headers
        .get(REQUEST_HEADER)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"true"));
    if changes_state(method) && !from_datastar {
        return Err(OriginRejection::NotFromDatastar);
    }
    Ok(())
}

/// Middleware that refuses with `403` every request a page on another site made, but top-level
/// navigations (see the [module docs](self)). Use it with `axum::middleware::from_fn`.
///
/// ```
/// use axum::{Router, body::Body, middleware, routing::post};
/// use http::Request;
/// use tower::ServiceExt;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let app: Router = Router::new()
///     .route("/logout", post(|| async { "bye" }))
///     .layer(middleware::from_fn(livestar::origin::same_origin));
/// let forged = Request::post("/logout")
///     .header("sec-fetch-site", "cross-site")
///     .body(Body::empty())
///     .unwrap();
/// assert_eq!(app.oneshot(forged).await.unwrap().status(), 403);
/// # });
/// ```
pub async fn same_origin(request: Request, next: Next) -> Response {
    match check(
        request.method(),
        request.uri(),
        request.headers(),
        request.extensions(),
    ) {
        Ok(()) => next.run(request).await,
        Err(rejection) => rejection.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    http::HeaderName::from_static(name),
                    http::HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    fn checked(
        method: Method,
        pairs: &[(&'static str, &'static str)],
    ) -> Result<(), OriginRejection> {
        check_signals(
            &method,
            &Uri::from_static("/todos"),
            &headers(pairs),
            &http::Extensions::new(),
        )
    }

    #[test]
    fn a_cross_site_form_post_is_refused() {
        let form = [
            ("host", "app.example"),
            ("origin", "http://evil.example"),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-mode", "navigate"),
        ];
        assert_eq!(
            checked(Method::POST, &form),
            Err(OriginRejection::CrossSite)
        );
    }

    #[test]
    fn a_post_without_the_datastar_header_is_refused() {
        let plain = [("host", "app.example"), ("sec-fetch-site", "same-origin")];
        assert_eq!(
            checked(Method::POST, &plain),
            Err(OriginRejection::NotFromDatastar)
        );
    }

    #[test]
    fn the_datastar_client_on_the_same_origin_passes() {
        let action = [
            ("host", "app.example"),
            ("origin", "https://app.example"),
            ("sec-fetch-site", "same-origin"),
            ("datastar-request", "true"),
        ];
        assert_eq!(checked(Method::POST, &action), Ok(()));
        assert_eq!(checked(Method::DELETE, &action), Ok(()));
    }

    #[test]
    fn without_fetch_metadata_the_origin_is_compared_with_the_host() {
        let other = [
            ("host", "app.example:3000"),
            ("origin", "http://evil.example:3000"),
            ("datastar-request", "true"),
        ];
        assert_eq!(
            checked(Method::POST, &other),
            Err(OriginRejection::CrossSite)
        );
        let null = [
            ("host", "app.example"),
            ("origin", "null"),
            ("datastar-request", "true"),
        ];
        assert_eq!(
            checked(Method::POST, &null),
            Err(OriginRejection::CrossSite)
        );
        let same = [
            ("host", "APP.example:3000"),
            ("origin", "http://app.example:3000"),
            ("datastar-request", "true"),
        ];
        assert_eq!(checked(Method::POST, &same), Ok(()));
    }

    #[test]
    fn a_link_from_another_site_is_followed_but_its_scripts_cannot_read_streams() {
        let link = [
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-mode", "navigate"),
        ];
        assert_eq!(checked(Method::GET, &link), Ok(()));
        let fetch = [("sec-fetch-site", "cross-site"), ("sec-fetch-mode", "cors")];
        assert_eq!(
            checked(Method::GET, &fetch),
            Err(OriginRejection::CrossSite)
        );
    }

    #[test]
    fn listed_origins_are_allowed() {
        let mut extensions = http::Extensions::new();
        extensions.insert(AllowedOrigins::new(["https://admin.example/"]));
        let request = headers(&[
            ("origin", "https://admin.example"),
            ("sec-fetch-site", "cross-site"),
            ("datastar-request", "true"),
        ]);
        assert_eq!(
            check_signals(
                &Method::POST,
                &Uri::from_static("/x"),
                &request,
                &extensions
            ),
            Ok(())
        );
    }

    #[test]
    fn a_non_browser_client_without_either_header_passes_the_origin_check() {
        assert_eq!(
            checked(Method::POST, &[("datastar-request", "true")]),
            Ok(())
        );
    }
}
