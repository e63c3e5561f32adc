//! Todos: a per-user list kept live with `#[live_view]`.
//!
//! The pattern, in three parts:
//! 1. **A load function**, [`todo_list`], with axum's extractors: the app state and the
//!    signed-in user. It reads the current list from the store.
//! 2. **A view**, [`todo_view`], that renders what the load returned with `html!`.
//! 3. **An invalidation source**: `app.todos_changed.subscribe(&user.0)`, a [`Notifier`]
//!    key per user. Actions write to the store, then `notify` the user's key; every tab of
//!    that user (in every process, with a backplane) loads and renders again, and the page is
//!    patched when the HTML changed. Another user's key is not notified, so their list never
//!    moves.
//!
//! The list depends on the user only, so `shared = user.0` makes every tab of one user in a
//! process share one load and render per change (the signed-in user is checked by the
//! `CurrentUser` extractor of each connection before it joins its user's view).
//!
//! The actions answer with events too: adding clears the input by patching the `title`
//! signal. They do not send the new list themselves: the live view does, to every tab,
//! including the one that clicked.
//!
//! [`Notifier`]: livestar::invalidate::Notifier

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use livestar::prelude::*;
use livestar::response::Events;
use serde::Deserialize;
use serde_json::json;

use super::session::{CurrentUser, sign_in_first};
use super::store::Todo;
use super::{App, AppError, layout};

/// The current todo list of the signed-in user, kept live in every tab of theirs.
#[live_view(
    "/todos/live",
    shared = user.0,
    invalidate = [app.todos_changed.subscribe(&user.0)],
    view = todo_view,
)]
pub async fn todo_list(State(app): State<App>, user: CurrentUser) -> Result<Vec<Todo>, AppError> {
    Ok(app.store.todos(&user.0).await?)
}

/// The list, as patched into the page (matched by its `id`).
pub fn todo_view(todos: &[Todo]) -> Html {
    let open = todos.iter().filter(|todo| !todo.done).count();
    html! {
        <div id="todo-list">
            @if todos.is_empty() {
                <p id="empty" class="muted">"Nothing to do. Add something above."</p>
            } @else {
                <p class="muted"><span id="open-count">{open}</span> " open of " {todos.len()}</p>
            }
            <ul class="todos">
                @for todo in todos {
                    <li id={format!("todo-{}", todo.id)} class={if todo.done { "done" } else { "open" }}>
                        <button class="icon toggle" title="toggle"
                            data-on:click={toggle::post(todo.id)}>
                            {if todo.done { "☑" } else { "☐" }}
                        </button>
                        <span class="title">{&todo.title}</span>
                        <button class="icon delete" title="delete"
                            data-on:click={remove::delete(todo.id)}>"✕"</button>
                    </li>
                }
            </ul>
        </div>
    }
}

/// The page: a form posting the `title` signal, and the live list.
async fn page(State(app): State<App>, user: Option<CurrentUser>) -> Response {
    let Some(user) = user else {
        return sign_in_first("/todos");
    };
    let body = html! {
        <section class="card">
            <h1>"Todos of " {&user.0}</h1>
            <p class="muted">"Open this page in a second tab: both stay in sync. Another user's list never changes."</p>
            <form class="row" data-signals="{title: ''}" data-on:submit__prevent={add::post()}>
                <input id="new-todo" data-bind:title placeholder="What needs doing?" maxlength="200" autocomplete="off">
                <button id="add" type="submit">"Add"</button>
            </form>
            <div data-init={todo_list::get()}>
                <div id="todo-list"><p class="muted">"Loading…"</p></div>
            </div>
        </section>
    };
    layout::page("Todos", Some(&user), &app.assets, body).into_response()
}

/// The signals the add form sends.
#[derive(Deserialize)]
struct NewTodo {
    title: String,
}

#[action(post, "/todos")]
async fn add(
    State(app): State<App>,
    user: CurrentUser,
    ReadSignals(new): ReadSignals<NewTodo>,
) -> Result<Response, AppError> {
    let title = new.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            "a todo is 1 to 200 characters",
        )
            .into_response());
    }
    app.store.add_todo(&user.0, title).await?;
    app.todos_changed.notify(&user.0);
    Ok(Events::new()
        .with(Event::patch_signals(json!({ "title": "" })))
        .into_response())
}

#[action(post, "/todos/{id}/toggle")]
async fn toggle(
    State(app): State<App>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> Result<StatusCode, AppError> {
    if !app.store.toggle_todo(&user.0, id).await? {
        return Ok(StatusCode::NOT_FOUND);
    }
    app.todos_changed.notify(&user.0);
    Ok(StatusCode::NO_CONTENT)
}

#[action(delete, "/todos/{id}")]
async fn remove(
    State(app): State<App>,
    user: CurrentUser,
    Path(id): Path<u64>,
) -> Result<StatusCode, AppError> {
    if !app.store.delete_todo(&user.0, id).await? {
        return Ok(StatusCode::NOT_FOUND);
    }
    app.todos_changed.notify(&user.0);
    Ok(StatusCode::NO_CONTENT)
}

/// `/todos` (the page), the live view and the actions.
pub fn routes() -> Router<App> {
    Router::new()
        .route("/todos", get(page))
        .merge(add::route())
        .merge(toggle::route())
        .merge(remove::route())
        .merge(todo_list::route())
}
