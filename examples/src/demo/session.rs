//! Who is using the demo: a name kept in a cookie, and [`CurrentUser`], an axum extractor.
//!
//! There is no password: the demo only needs to tell users apart, to show that one user's
//! todo list changes in all of their tabs and in nobody else's. The extractor is what a real
//! app would put its authentication behind: live views take it as an argument like any
//! handler, so an anonymous request is refused (401) before any stream opens.

use axum::Router;
use axum::extract::{FromRequestParts, OptionalFromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use livestar::prelude::*;
use serde::Deserialize;

use super::App;
use super::layout;

/// The cookie holding the user's name.
pub const COOKIE: &str = "livestar_demo_user";

/// The signed-in user, read from the cookie; a request without one is refused with 401.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentUser(pub String);

/// `name` lower-cased if it is a valid user name: 1 to 24 letters, digits, `-` or `_`.
///
/// ```
/// use livestar_examples::demo::session::valid_name;
/// assert_eq!(valid_name(" Ann "), Some("ann".to_owned()));
/// assert_eq!(valid_name("a b"), None);
/// ```
pub fn valid_name(name: &str) -> Option<String> {
    let name = name.trim().to_ascii_lowercase();
    let ok = (1..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(name)
}

fn from_cookie(parts: &Parts) -> Option<CurrentUser> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .and_then(|(_, value)| valid_name(value))
        .map(CurrentUser)
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        from_cookie(parts).ok_or((StatusCode::UNAUTHORIZED, "sign in first: /login"))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(from_cookie(parts))
    }
}

/// Sends anonymous visitors of `path` to the login page, which brings them back.
pub fn sign_in_first(path: &str) -> Response {
    Redirect::to(&format!("/login?next={}", query_value(local(Some(path))))).into_response()
}

/// `/login` (the form and its post) and `/logout`.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
    error: Option<String>,
}

/// A local path to go back to, never another site (`//evil.example`, `/\evil.example`) and
/// never anything that is not plain ASCII, so it is always a valid `Location` header.
fn local(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            path
        }
        _ => "/",
    }
}

/// `value` percent-encoded for a query string.
fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

async fn login_page(
    axum::extract::State(app): axum::extract::State<App>,
    user: Option<CurrentUser>,
    Query(query): Query<Next>,
) -> Html {
    let next = local(query.next.as_deref());
    let body = html! {
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <p class="muted">"No password: pick any name. Sign in as another name in a private window to see that lists are per user."</p>
            @if query.error.is_some() {
                <p class="error">"A name is 1 to 24 letters, digits, - or _."</p>
            }
            <form method="post" action="/login" class="row">
                <input type="hidden" name="next" value={next}>
                <input id="name" name="name" placeholder="your name, e.g. alice" autofocus required maxlength="24">
                <button id="sign-in" type="submit">"Sign in"</button>
            </form>
        </section>
    };
    layout::page("Sign in", user.as_ref(), &app.assets, body)
}

#[derive(Deserialize)]
struct Login {
    name: String,
    next: Option<String>,
}

async fn login(axum::Form(form): axum::Form<Login>) -> Response {
    let next = local(form.next.as_deref()).to_owned();
    match valid_name(&form.name) {
        Some(name) => (
            [(
                header::SET_COOKIE,
                format!("{COOKIE}={name}; Path=/; HttpOnly; SameSite=Lax"),
            )],
            Redirect::to(&next),
        )
            .into_response(),
        None => {
            Redirect::to(&format!("/login?error=name&next={}", query_value(&next))).into_response()
        }
    }
}

async fn logout() -> Response {
    (
        [(
            header::SET_COOKIE,
            format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
        )],
        Redirect::to("/"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local(Some("/chat/rust")), "/chat/rust");
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/a\nb",
            "/ä",
        ] {
            assert_eq!(local(Some(bad)), "/", "{bad:?}");
        }
    }

    #[test]
    fn the_path_to_return_to_is_percent_encoded_in_the_query() {
        assert_eq!(query_value("/a b&c=d"), "/a%20b%26c%3Dd");
    }
}
