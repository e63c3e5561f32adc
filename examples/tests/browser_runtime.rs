//! The runtime in a real browser: a hand-written live stream, an action reading signals, a
//! broadcast appended to every open tab, and the input cleared by a patch-signals answer, with
//! the real Datastar v1 client in headless Chromium.
//!
//! The stream here sends only new messages, not the current state, so it asks the client to
//! keep it open in hidden tabs (`openWhenHidden`); by default Datastar closes a hidden tab's
//! stream and reopens it when the tab is shown, which only a current-state stream survives.

mod support;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::Html as PageHtml;
use axum::routing::{get, post};
use livestar::event::{Event, Mode};
use livestar::render::{Html, escape_text};
use livestar::response::Events;
use livestar::signals::ReadSignals;
use support::browser::{self, Scenario};
use tokio::sync::broadcast;

#[derive(Clone)]
struct App {
    messages: broadcast::Sender<Event>,
    datastar_js: Arc<String>,
}

const PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>runtime</title>
<script type="module" src="/datastar.js"></script></head>
<body>
  <div id="status" data-init="@get('/live', {openWhenHidden: true})">connecting</div>
  <div data-signals="{message: ''}">
    <input id="message" data-bind:message>
    <button id="send" data-on:click="@post('/send')">Send</button>
  </div>
  <ul id="log"></ul>
</body></html>"#;

async fn live(State(app): State<App>) -> livestar::stream::LiveStream {
    let mut messages = app.messages.subscribe();
    livestar::stream(async_stream::stream! {
        yield Event::patch_elements(Html::from_trusted(r#"<div id="status">live</div>"#.into())).into();
        while let Ok(event) = messages.recv().await {
            yield event;
        }
    })
}

#[derive(serde::Deserialize)]
struct Draft {
    message: String,
}

async fn send(State(app): State<App>, ReadSignals(draft): ReadSignals<Draft>) -> Events {
    let mut item = String::from("<li>");
    escape_text(&draft.message, &mut item);
    item.push_str("</li>");
    let append = Event::patch_elements(Html::from_trusted(item))
        .selector("#log")
        .mode(Mode::Append);
    let _ = app.messages.send(append.into());
    Events::new().with(Event::patch_signals(serde_json::json!({ "message": "" })))
}

async fn serve(app: App) -> std::net::SocketAddr {
    let router = Router::new()
        .route("/", get(|| async { PageHtml(PAGE) }))
        .route(
            "/datastar.js",
            get(|State(app): State<App>| async move {
                (
                    [("content-type", "text/javascript")],
                    app.datastar_js.as_str().to_owned(),
                )
            }),
        )
        .route("/live", get(live))
        .route("/send", post(send))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_in_one_tab_appears_in_every_tab_and_clears_the_input() {
    let Some(mut scenario) = Scenario::start("runtime_broadcast").await else {
        return;
    };
    let js = browser::datastar_js().expect("checked by Scenario::start");
    let (messages, _) = broadcast::channel(16);
    let app = App {
        messages,
        datastar_js: Arc::new(std::fs::read_to_string(js).expect("datastar-core.js")),
    };
    let addr = serve(app).await;
    let url = format!("http://{addr}/");

    let result = async {
        let first = scenario.open("first", &url).await?;
        let second = scenario.open("second", &url).await?;
        for page in [&first, &second] {
            browser::wait_until(
                page,
                "the live stream patched the status",
                "document.querySelector('#status').textContent === 'live'",
            )
            .await?;
        }
        browser::type_into(&first, "#message", "<b>hello</b> & bye").await?;
        browser::click(&first, "#send").await?;
        for page in [&first, &second] {
            browser::wait_until(
                page,
                "the message was appended",
                "document.querySelectorAll('#log li').length === 1",
            )
            .await?;
            let text = browser::text(page, "#log li").await?;
            if text != "<b>hello</b> & bye" {
                return Err(format!("the message arrived as {text:?}, not as typed"));
            }
        }
        browser::wait_until(
            &first,
            "the input was cleared",
            "document.querySelector('#message').value === ''",
        )
        .await?;
        Ok(())
    }
    .await;
    scenario.finish(result).await;
}
