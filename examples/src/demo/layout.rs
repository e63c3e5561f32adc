//! The page around every example: the Datastar client, a small stylesheet, the navigation.
//!
//! Everything is written with `html!`, so every value is escaped for where it lands.

use livestar::prelude::*;

use super::Assets;
use super::session::CurrentUser;

const STYLE: &str = r#"
:root { --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --bg: #f6f7f9; --accent: #4f46e5; --ok: #12b76a; --warn: #f79009; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 1.25rem; padding: .75rem 1.5rem; background: #fff; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; color: var(--accent); text-decoration: none; }
header nav { display: flex; gap: 1rem; flex: 1; }
header nav a { color: var(--fg); text-decoration: none; }
header nav a:hover { color: var(--accent); }
header form { margin: 0; }
main { max-width: 52rem; margin: 2rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.5rem; margin: 0 0 .5rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: .75rem; padding: 1.25rem 1.5rem; margin-bottom: 1.25rem; }
.narrow { max-width: 28rem; }
.muted { color: var(--muted); }
.error { color: #b42318; }
.row { display: flex; gap: .5rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: 1rem; }
.grid a.card { display: block; color: inherit; text-decoration: none; margin: 0; }
.grid a.card:hover { border-color: var(--accent); }
.grid a.card h2 { margin-top: 0; }
#notification-list { list-style: none; padding: 0; margin: 0; }
.notification { padding: .4rem 0; border-bottom: 1px solid var(--line); }
input:not([type]), input[type=text] { flex: 1; padding: .5rem .75rem; border: 1px solid var(--line); border-radius: .5rem; font: inherit; }
button { padding: .5rem 1rem; border: 0; border-radius: .5rem; background: var(--accent); color: #fff; font: inherit; cursor: pointer; }
button.link { background: none; color: var(--muted); padding: 0; }
button.icon { background: none; color: var(--muted); padding: .25rem .5rem; }
ul.todos { list-style: none; padding: 0; margin: 1rem 0 0; }
ul.todos li { display: flex; align-items: center; gap: .5rem; padding: .4rem 0; border-bottom: 1px solid var(--line); }
ul.todos li .title { flex: 1; }
ul.todos li.done .title { text-decoration: line-through; color: var(--muted); }
.messages { height: 20rem; overflow-y: auto; border: 1px solid var(--line); border-radius: .5rem; padding: .5rem .75rem; margin-bottom: .75rem; }
.message { padding: .2rem 0; }
.message time, .notification time { color: var(--muted); font-size: .8rem; margin-left: .5rem; }
.pill { display: inline-block; padding: .1rem .6rem; border-radius: 999px; font-size: .85rem; background: var(--line); }
.badge { display: inline-block; min-width: 1.5rem; padding: .1rem .5rem; border-radius: 999px; background: #d92d20; color: #fff; text-align: center; font-weight: 600; }
.stats { display: grid; grid-template-columns: repeat(4, 1fr); gap: 1rem; }
.stat { background: var(--bg); border-radius: .5rem; padding: .75rem; }
.stat b { display: block; font-size: 1.5rem; }
.traffic { display: grid; grid-template-columns: repeat(3, 1fr); gap: 1rem; }
.sparkline { margin: 0; background: var(--bg); border-radius: .5rem; padding: .5rem; }
.sparkline svg { width: 100%; height: 48px; display: block; }
.status-ok { background: #d1fadf; color: #05603a; }
.status-degraded { background: #fef0c7; color: #93370d; }
.rooms a { margin-right: .75rem; }
.rooms a.current { font-weight: 700; }
"#;

/// A full page titled `title` around `body`, signed in as `user` if any.
pub fn page(title: &str, user: Option<&CurrentUser>, assets: &Assets, body: Html) -> Html {
    html! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8">
                <meta name="viewport" content="width=device-width, initial-scale=1">
                <title>{title} " · livestar demo"</title>
                <style>{Raw(STYLE)}</style>
                <script type="module" src={&assets.datastar_src}></script>
            </head>
            <body>
                <header>
                    <a class="brand" href="/">"livestar"</a>
                    <nav>
                        <a href="/todos">"Todos"</a>
                        <a href="/chat/general">"Chat"</a>
                        <a href="/notifications">"Notifications"</a>
                        <a href="/dashboard">"Dashboard"</a>
                    </nav>
                    @if let Some(CurrentUser(name)) = user {
                        <span id="user" class="muted">"signed in as " <b>{name}</b></span>
                        <form method="post" action="/logout"><button class="link">"Sign out"</button></form>
                    } @else {
                        <a href="/login">"Sign in"</a>
                    }
                </header>
                <main>{body}</main>
            </body>
        </html>
    }
}

/// `secs` since the Unix epoch as `HH:MM:SS` (UTC), for message times.
pub fn clock(secs: u64) -> String {
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}
