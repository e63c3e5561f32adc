//! The index page: one card per example, saying which pattern it shows.

use axum::extract::State;
use livestar::prelude::*;

use super::session::CurrentUser;
use super::{App, layout};

const EXAMPLES: [(&str, &str, &str); 4] = [
    (
        "/todos",
        "Todos",
        "A per-user list as a #[live_view]: actions write and notify, every tab of the user reloads.",
    ),
    (
        "/chat/general",
        "Chat rooms",
        "Hub rooms: the last 50 messages on connect, new ones appended, presence per room.",
    ),
    (
        "/notifications",
        "Notifications",
        "Hub sessions: an element and an unreadCount signal to every tab of one user.",
    ),
    (
        "/dashboard",
        "Dashboard",
        "Push from a background task next to polling with data-on-interval.",
    ),
];

/// `/`: links to every example.
pub async fn page(State(app): State<App>, user: Option<CurrentUser>) -> Html {
    let body = html! {
        <h1>"livestar demo"</h1>
        <p class="muted">"Live, server-rendered HTML with axum and Datastar. Each example is a module of examples/src/demo, written to be read."</p>
        <div class="grid">
            @for (href, title, what) in EXAMPLES {
                <a class="card" href={href}>
                    <h2>{title}</h2>
                    <p class="muted">{what}</p>
                </a>
            }
        </div>
    };
    layout::page("Examples", user.as_ref(), &app.assets, body)
}
