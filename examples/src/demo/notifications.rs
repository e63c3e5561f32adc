//! Notifications: push to one user's every tab through a hub **session**.
//!
//! - The page keeps an `unreadCount` signal; the badge is `data-show="$unreadCount > 0"`
//!   with `data-text="$unreadCount"`, so the server only ever patches a number.
//! - `GET /notifications/live` joins the user's session ([`Hub::join_session`]). The hub's
//!   **session loader** ([`session_loader`]) sends the current list and count first, so a
//!   reconnect is safe.
//! - Sending (`POST /notifications`, from anyone to any user) stores the notification, then
//!   `hub.session(user).send([...])` sends the recipient's tabs two events at once: the
//!   element, prepended to `#notification-list`, and a patch of `unreadCount`.
//! - "Mark all read" resets the count in the store and patches `unreadCount` to 0 in every
//!   tab of the user, which hides the badge.
//!
//! [`Hub::join_session`]: livestar::hub::Hub::join_session

use std::future::Future;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use livestar::compress::AcceptEncoding;
use livestar::live::Action;
use livestar::prelude::*;
use livestar::response::Events;
use serde::Deserialize;
use serde_json::json;

use super::session::{CurrentUser, sign_in_first, valid_name};
use super::store::{Notification, SharedStore};
use super::{App, AppError, layout};

/// One notification, as prepended to `#notification-list`.
pub fn notification_view(note: &Notification) -> Html {
    html! {
        <li id={format!("note-{}", note.id)} class="notification">
            <b>{&note.from}</b> ": " <span class="text">{&note.text}</span>
            <time>{layout::clock(note.at)}</time>
        </li>
    }
}

fn list_view(notes: &[Notification]) -> Html {
    html! {
        <ul id="notification-list">
            @for note in notes {
                {notification_view(note)}
            }
        </ul>
    }
}

/// The hub's session loader: the user's notifications and unread count, sent first to every
/// tab that joins the session.
pub fn session_loader(
    store: SharedStore,
) -> impl Fn(String) -> std::pin::Pin<Box<dyn Future<Output = Vec<Event>> + Send>> + Send + Sync + 'static
{
    move |user: String| {
        let store = store.clone();
        Box::pin(async move {
            match store.inbox(&user).await {
                Ok(inbox) => vec![
                    Event::patch_elements(list_view(&inbox.items)).into(),
                    Event::patch_signals(json!({ "unreadCount": inbox.unread })).into(),
                ],
                Err(error) => {
                    tracing::error!(%error, user, "demo: cannot load the notifications");
                    Vec::new()
                }
            }
        })
    }
}

async fn page(State(app): State<App>, user: Option<CurrentUser>) -> Response {
    let Some(user) = user else {
        return sign_in_first("/notifications");
    };
    let signals = json!({ "unreadCount": 0, "to": "", "note": "" });
    let body = html! {
        <section class="card" data-signals={&signals}>
            <h1>
                "Notifications "
                <span id="badge" class="badge" style="display: none"
                    data-show="$unreadCount > 0" data-text="$unreadCount"></span>
            </h1>
            <p class="muted">"Send one to yourself or to another user; every tab of theirs gets it at once."</p>
            <form class="row" data-on:submit__prevent={send::post()}>
                <input id="to" data-bind:to placeholder="to (empty: yourself)" maxlength="24">
                <input id="note" data-bind:note placeholder="message" maxlength="200" autocomplete="off">
                <button id="notify" type="submit">"Send"</button>
            </form>
            <p><button id="mark-read" class="link" data-on:click={mark_read::post()}>"Mark all read"</button></p>
            <div data-init={Action::get("/notifications/live").open_when_hidden(true)}>
                <ul id="notification-list"></ul>
            </div>
        </section>
    };
    layout::page("Notifications", Some(&user), &app.assets, body).into_response()
}

async fn live(State(app): State<App>, user: CurrentUser, accept: AcceptEncoding) -> LiveStream {
    app.hub.join_session(&user.0).compress(&accept)
}

/// The signals the send form sends.
#[derive(Deserialize)]
struct Outgoing {
    to: String,
    note: String,
}

#[action(post, "/notifications")]
async fn send(
    State(app): State<App>,
    user: CurrentUser,
    ReadSignals(out): ReadSignals<Outgoing>,
) -> Result<Response, AppError> {
    let to = if out.to.trim().is_empty() {
        Some(user.0.clone())
    } else {
        valid_name(&out.to)
    };
    let Some(to) = to else {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, "no such user name").into_response());
    };
    let text = out.note.trim();
    if text.is_empty() || text.chars().count() > 200 {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            "a notification is 1 to 200 characters",
        )
            .into_response());
    }
    let inbox = app.store.notify(&to, &user.0, text).await?;
    if let Some(note) = inbox.items.first() {
        let sent = app.hub.session(&to).send([
            Event::patch_elements(notification_view(note))
                .selector("#notification-list")
                .mode(Mode::Prepend)
                .into(),
            Event::patch_signals(json!({ "unreadCount": inbox.unread })).into(),
        ] as [Event; 2]);
        if let Err(error) = sent {
            tracing::error!(%error, to, "demo: a notification was stored but not sent");
        }
    }
    Ok(Events::new()
        .with(Event::patch_signals(json!({ "note": "" })))
        .into_response())
}

#[action(post, "/notifications/read")]
async fn mark_read(State(app): State<App>, user: CurrentUser) -> Result<StatusCode, AppError> {
    app.store.mark_read(&user.0).await?;
    if let Err(error) = app
        .hub
        .session(&user.0)
        .send(Event::patch_signals(json!({ "unreadCount": 0 })))
    {
        tracing::error!(%error, "demo: the read count was stored but not sent");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `/notifications` (the page), its live stream and the actions.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/notifications", get(page))
        .merge(send::route())
        .route("/notifications/live", get(live))
        .merge(mark_read::route())
}
