//! Chat rooms: push through the hub, with current state on (re)connect.
//!
//! - **Joining**: the page opens `GET /chat/{room}/live`, which returns
//!   [`Hub::join_room`]. The hub's **room loader** ([`room_loader`]) sends the room's last 50
//!   messages first, so a tab that connects, or reconnects after a restart or a network
//!   blip, starts from current state without needing the messages it missed.
//! - **Sending**: `POST /chat/{room}/messages` reads the `message` signal, stores the message,
//!   sends it to the room as a patch in **append** mode (`#messages`), and answers the sender
//!   with a patch of the `message` signal to `''`, which clears the input.
//! - **Presence**: a task per room ([`spawn_presence`]) waits on
//!   [`presence_changes`](livestar::hub::Room::presence_changes) and sends the room its new
//!   count. Counts are per process: with several processes each one counts its own tabs.
//!
//! The stream is opened with `openWhenHidden`: a chat tab in the background still receives
//! messages and still counts as present. Each message element has an `id`, so a message
//! both loaded and sent while a tab connects morphs into itself instead of showing twice.

use std::future::Future;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use futures::StreamExt;
use livestar::compress::AcceptEncoding;
use livestar::hub::Hub;
use livestar::live::Action;
use livestar::prelude::*;
use livestar::response::Events;
use serde::Deserialize;
use serde_json::json;

use super::session::{CurrentUser, sign_in_first};
use super::store::{Message, SharedStore};
use super::{App, AppError, layout};

/// The rooms of the demo.
pub const ROOMS: [&str; 3] = ["general", "rust", "random"];

fn known(room: &str) -> Option<&'static str> {
    ROOMS.into_iter().find(|known| *known == room)
}

/// One message, as appended to `#messages`.
pub fn message_view(message: &Message) -> Html {
    html! {
        <div id={format!("msg-{}", message.id)} class="message">
            <strong>{&message.author}</strong> " "
            <span class="text">{&message.text}</span>
            <time>{layout::clock(message.at)}</time>
        </div>
    }
}

/// The whole message list, as the room loader sends it.
pub fn messages_view(messages: &[Message]) -> Html {
    html! {
        <div id="messages" class="messages">
            @for message in messages {
                {message_view(message)}
            }
        </div>
    }
}

/// The hub's room loader: the last 50 messages of the room, sent first to every tab that
/// joins. A store failure is logged and the tab gets what arrives from then on.
pub fn room_loader(
    store: SharedStore,
) -> impl Fn(String) -> std::pin::Pin<Box<dyn Future<Output = Vec<Event>> + Send>> + Send + Sync + 'static
{
    move |room: String| {
        let store = store.clone();
        Box::pin(async move {
            match store.messages(&room).await {
                Ok(messages) => vec![Event::patch_elements(messages_view(&messages)).into()],
                Err(error) => {
                    tracing::error!(%error, room, "demo: cannot load the chat history");
                    Vec::new()
                }
            }
        })
    }
}

/// Sends each room its presence count whenever a tab joins or leaves it.
pub fn spawn_presence(hub: Hub) {
    for room in ROOMS {
        let hub = hub.clone();
        tokio::spawn(async move {
            let mut changes = hub.room(room).presence_changes();
            while changes.next().await.is_some() {
                let count = hub.room(room).presence();
                let badge = html! {
                    <span id="presence" class="pill">{count} " online"</span>
                };
                if let Err(error) = hub.room(room).send(Event::patch_elements(badge)) {
                    tracing::error!(%error, room, "demo: presence not sent");
                }
            }
        });
    }
}

async fn page(
    State(app): State<App>,
    user: Option<CurrentUser>,
    Path(room): Path<String>,
) -> Response {
    let Some(room) = known(&room) else {
        return (StatusCode::NOT_FOUND, "no such room").into_response();
    };
    let Some(user) = user else {
        return sign_in_first(&format!("/chat/{room}"));
    };
    let live = Action::get(format!("/chat/{room}/live")).open_when_hidden(true);
    let body = html! {
        <section class="card" data-signals="{message: ''}">
            <h1>"# " {room} " " <span id="presence" class="pill">"…"</span></h1>
            <p class="rooms">
                @for other in ROOMS {
                    <a href={format!("/chat/{other}")} class={(other == room).then_some("current")}>"#" {other}</a>
                }
            </p>
            <div data-init={live}>
                <div id="messages" class="messages"><p class="muted">"Connecting…"</p></div>
            </div>
            <form class="row" data-on:submit__prevent={send::post(room)}>
                <input id="message" data-bind:message placeholder="Say something" maxlength="500" autocomplete="off">
                <button id="send" type="submit">"Send"</button>
            </form>
        </section>
    };
    layout::page(&format!("#{room}"), Some(&user), &app.assets, body).into_response()
}

async fn live(
    State(app): State<App>,
    _user: CurrentUser,
    Path(room): Path<String>,
    accept: AcceptEncoding,
) -> Response {
    match known(&room) {
        Some(room) => app.hub.join_room(room).compress(&accept).into_response(),
        None => (StatusCode::NOT_FOUND, "no such room").into_response(),
    }
}

/// The signals the message form sends.
#[derive(Deserialize)]
struct Draft {
    message: String,
}

#[action(post, "/chat/{room}/messages")]
async fn send(
    State(app): State<App>,
    user: CurrentUser,
    Path(room): Path<String>,
    ReadSignals(draft): ReadSignals<Draft>,
) -> Result<Response, AppError> {
    let Some(room) = known(&room) else {
        return Ok((StatusCode::NOT_FOUND, "no such room").into_response());
    };
    let text = draft.message.trim();
    if text.is_empty() || text.chars().count() > 500 {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            "a message is 1 to 500 characters",
        )
            .into_response());
    }
    let message = app.store.add_message(room, &user.0, text).await?;
    let append = Event::patch_elements(message_view(&message))
        .selector("#messages")
        .mode(Mode::Append);
    if let Err(error) = app.hub.room(room).send(append) {
        tracing::error!(%error, room, "demo: a chat message was stored but not sent");
    }
    Ok(Events::new()
        .with(Event::patch_signals(json!({ "message": "" })))
        .into_response())
}

/// `/chat/{room}` (the page), its live stream and the send action.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/chat", get(|| async { Redirect::to("/chat/general") }))
        .route("/chat/{room}", get(page))
        .route("/chat/{room}/live", get(live))
        .merge(send::route())
}
