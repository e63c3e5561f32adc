//! `ReadSignals`: signals from the `datastar` query parameter (GET, DELETE) or the JSON body
//! (other methods), and a clear 4xx for every kind of bad input.

use axum::body::Body;
use axum::routing::get;
use axum::{Extension, Router};
use http::{Request, StatusCode};
use livestar::signals::{ReadSignals, SignalsLimit};
use serde::Deserialize;
use tower::ServiceExt;

#[derive(Debug, Deserialize)]
struct Draft {
    message: String,
    count: u32,
}

async fn echo(ReadSignals(draft): ReadSignals<Draft>) -> String {
    format!("{}:{}", draft.message, draft.count)
}

async fn maybe(signals: Option<ReadSignals<Draft>>) -> String {
    match signals {
        Some(ReadSignals(draft)) => format!("signals {}", draft.message),
        None => "no signals".to_owned(),
    }
}

fn app() -> Router {
    Router::new()
        .route(
            "/echo",
            get(echo).post(echo).delete(echo).put(echo).patch(echo),
        )
        .route("/maybe", get(maybe).post(maybe))
}

async fn call(router: Router, request: Request<Body>) -> (StatusCode, String) {
    let response = router.oneshot(request).await.expect("infallible");
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn get_with(query: &str) -> Request<Body> {
    Request::get(format!("/echo?{query}"))
        .header("datastar-request", "true")
        .body(Body::empty())
        .expect("request")
}

fn post_with(body: impl Into<Body>) -> Request<Body> {
    Request::post("/echo")
        .header("datastar-request", "true")
        .header("content-type", "application/json")
        .body(body.into())
        .expect("request")
}

fn encoded(json: &str) -> String {
    json.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn get_reads_the_datastar_query_parameter() {
    let query = format!("datastar={}", encoded(r#"{"message":"hi","count":2}"#));
    assert_eq!(
        call(app(), get_with(&query)).await,
        (StatusCode::OK, "hi:2".into())
    );
}

#[tokio::test]
async fn delete_reads_the_query_too() {
    let request = Request::delete(format!(
        "/echo?datastar={}",
        encoded(r#"{"message":"x","count":1}"#)
    ))
    .header("datastar-request", "true")
    .body(Body::empty())
    .expect("request");
    assert_eq!(call(app(), request).await, (StatusCode::OK, "x:1".into()));
}

#[tokio::test]
async fn post_put_and_patch_read_the_body() {
    for method in ["POST", "PUT", "PATCH"] {
        let request = Request::builder()
            .method(method)
            .uri("/echo")
            .header("datastar-request", "true")
            .body(Body::from(r#"{"message":"body","count":3}"#))
            .expect("request");
        assert_eq!(
            call(app(), request).await,
            (StatusCode::OK, "body:3".into()),
            "{method}"
        );
    }
}

#[tokio::test]
async fn missing_query_parameter_is_a_400_that_says_so() {
    let (status, body) = call(app(), get_with("other=1")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("missing the `datastar` query parameter"),
        "{body}"
    );
}

#[tokio::test]
async fn invalid_json_is_a_400_with_the_reason() {
    let (status, body) = call(app(), post_with("{not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.starts_with("the signals are not valid JSON: key must be a string at line 1 column 2"),
        "{body}"
    );
}

#[tokio::test]
async fn wrong_shape_is_a_400_naming_the_field() {
    let (status, body) = call(app(), post_with(r#"{"message":"hi","count":-1}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.starts_with("invalid signals at `count`: invalid value: integer `-1`"),
        "{body}"
    );
    let (status, body) = call(app(), post_with(r#"{"count":1}"#)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("missing field `message`"), "{body}");
}

#[tokio::test]
async fn undecodable_query_is_a_400() {
    let (status, body) = call(app(), get_with("datastar=%FF%FE")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn body_over_one_mebibyte_is_a_413() {
    let padding = "x".repeat(livestar::signals::DEFAULT_LIMIT);
    let body = format!(r#"{{"message":"{padding}","count":1}}"#);
    let (status, text) = call(app(), post_with(body)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        text.contains("larger than the limit of 1048576 bytes"),
        "{text}"
    );
}

#[tokio::test]
async fn body_just_under_the_limit_is_read() {
    let padding = "x".repeat(livestar::signals::DEFAULT_LIMIT - 64);
    let body = format!(r#"{{"message":"{padding}","count":1}}"#);
    let (status, _) = call(app(), post_with(body)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_signals_limit_extension_lowers_the_limit() {
    let router = app().layer(Extension(SignalsLimit(16)));
    let (status, _) = call(
        router,
        post_with(r#"{"message":"a little too long","count":1}"#),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn query_over_the_limit_is_a_414() {
    let router = app().layer(Extension(SignalsLimit(16)));
    let query = format!(
        "datastar={}",
        encoded(r#"{"message":"a little too long","count":1}"#)
    );
    let (status, _) = call(router, get_with(&query)).await;
    assert_eq!(status, StatusCode::URI_TOO_LONG);
}

#[tokio::test]
async fn optional_signals_are_none_without_the_datastar_header() {
    let request = Request::get("/maybe").body(Body::empty()).expect("request");
    assert_eq!(
        call(app(), request).await,
        (StatusCode::OK, "no signals".into())
    );
}

#[tokio::test]
async fn optional_signals_are_read_with_the_datastar_header() {
    let request = Request::post("/maybe")
        .header("datastar-request", "true")
        .body(Body::from(r#"{"message":"yes","count":0}"#))
        .expect("request");
    assert_eq!(
        call(app(), request).await,
        (StatusCode::OK, "signals yes".into())
    );
}

#[tokio::test]
async fn optional_signals_still_reject_bad_input() {
    let request = Request::post("/maybe")
        .header("datastar-request", "true")
        .body(Body::from("[]"))
        .expect("request");
    let (status, _) = call(app(), request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// The hidden form another site can put in front of a signed-in user: `text/plain` posts a
/// body that parses as JSON, with the user's cookies and no custom header.
fn cross_site_form(path: &str) -> Request<Body> {
    Request::post(path)
        .header("host", "app.example")
        .header("origin", "http://evil.example")
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-mode", "navigate")
        .header("content-type", "text/plain")
        .body(Body::from(r#"{"message":"forged","count":1}"#))
        .expect("request")
}

#[tokio::test]
async fn a_cross_site_form_post_is_refused_before_the_handler() {
    for path in ["/echo", "/maybe"] {
        let (status, body) = call(app(), cross_site_form(path)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert!(body.contains("another site"), "{path}: {body}");
    }
}

#[tokio::test]
async fn a_state_changing_request_without_the_datastar_header_is_refused() {
    let request = Request::post("/echo")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(r#"{"message":"x","count":1}"#))
        .expect("request");
    let (status, body) = call(app(), request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("Datastar-Request"), "{body}");
}

#[tokio::test]
async fn a_cross_site_script_sending_the_header_is_refused_too() {
    let request = Request::post("/echo")
        .header("datastar-request", "true")
        .header("sec-fetch-site", "cross-site")
        .header("sec-fetch-mode", "cors")
        .body(Body::from(r#"{"message":"x","count":1}"#))
        .expect("request");
    assert_eq!(call(app(), request).await.0, StatusCode::FORBIDDEN);
}
