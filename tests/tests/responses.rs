//! One-shot responses for actions: events as a complete SSE response, and the client's
//! non-SSE forms with their `datastar-*` headers.

use axum::response::IntoResponse;
use livestar::event::{Event, Mode, Namespace};
use livestar::render::Html;
use livestar::response::{Events, Fragment, Script, SignalsJson};

async fn parts(response: axum::response::Response) -> (http::response::Parts, String) {
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.expect("body");
    (parts, String::from_utf8(body.to_vec()).expect("UTF-8"))
}

#[tokio::test]
async fn an_event_answers_as_a_complete_event_stream() {
    let (parts, body) =
        parts(Event::patch_signals(serde_json::json!({"message": ""})).into_response()).await;
    assert_eq!(parts.status, 200);
    assert_eq!(parts.headers["content-type"], "text/event-stream");
    assert_eq!(parts.headers["cache-control"], "no-cache");
    assert_eq!(
        body,
        "event: datastar-patch-signals\ndata: signals {\"message\":\"\"}\n\n"
    );
}

#[tokio::test]
async fn events_answer_in_order() {
    let events = Events::from([
        Event::patch_elements(Html::from_trusted("<p id=\"a\">a</p>".into())).into(),
        Event::comment("between"),
        Event::patch_signals_raw("{b: 1}").into(),
    ]);
    let (_, body) = parts(events.into_response()).await;
    assert_eq!(
        body,
        "event: datastar-patch-elements\ndata: elements <p id=\"a\">a</p>\n\n\
         : between\n\n\
         event: datastar-patch-signals\ndata: signals {b: 1}\n\n"
    );
}

#[tokio::test]
async fn builders_answer_directly() {
    let (_, body) = parts(Event::remove_elements("#gone").into_response()).await;
    assert_eq!(
        body,
        "event: datastar-patch-elements\ndata: selector #gone\ndata: mode remove\n\n"
    );
    let (_, body) = parts(Event::execute_script("go()").into_response()).await;
    assert!(body.contains("data: elements <script data-effect=\"el.remove()\">go()</script>\n"));
}

#[tokio::test]
async fn fragment_answers_as_html_with_its_options_in_headers() {
    let fragment = Fragment::from(
        Event::patch_elements(Html::from_trusted("<li>1</li>".into()))
            .selector("#list")
            .mode(Mode::Append)
            .namespace(Namespace::Svg)
            .use_view_transition(true),
    );
    let (parts, body) = parts(fragment.into_response()).await;
    assert_eq!(parts.headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(parts.headers["datastar-selector"], "#list");
    assert_eq!(parts.headers["datastar-mode"], "append");
    assert_eq!(parts.headers["datastar-namespace"], "svg");
    assert_eq!(parts.headers["datastar-use-view-transition"], "true");
    assert_eq!(body, "<li>1</li>");
}

#[tokio::test]
async fn fragment_defaults_send_no_option_headers() {
    let (parts, _) =
        parts(Fragment::new(Html::from_trusted("<p id=\"x\"></p>".into())).into_response()).await;
    assert!(
        parts
            .headers
            .keys()
            .all(|name| !name.as_str().starts_with("datastar-"))
    );
}

#[tokio::test]
async fn fragment_selector_with_line_breaks_cannot_add_headers() {
    let fragment = Fragment::from(Event::remove_elements("#a\r\nset-cookie: evil=1"));
    let (parts, _) = parts(fragment.into_response()).await;
    assert!(parts.headers.get("set-cookie").is_none());
    assert_eq!(parts.headers["datastar-selector"], "#a  set-cookie: evil=1");
}

#[tokio::test]
async fn signals_json_answers_as_json() {
    let (parts, body) = parts(
        SignalsJson::new(serde_json::json!({"n": 1}))
            .only_if_missing(true)
            .into_response(),
    )
    .await;
    assert_eq!(parts.headers["content-type"], "application/json");
    assert_eq!(parts.headers["datastar-only-if-missing"], "true");
    assert_eq!(body, r#"{"n":1}"#);
}

#[tokio::test]
async fn script_answers_as_javascript_with_its_attributes() {
    let (parts, body) = parts(
        Script::new("go()")
            .attribute("type", "module")
            .into_response(),
    )
    .await;
    assert_eq!(parts.headers["content-type"], "text/javascript");
    assert_eq!(
        parts.headers["datastar-script-attributes"],
        r#"{"type":"module"}"#
    );
    assert_eq!(body, "go()");
}
