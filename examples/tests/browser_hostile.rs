//! Hostile values through every typed path, in headless Chromium with the real Datastar v1
//! client: typed actions' path parameters, `js!` expressions, `Event::execute_script`, patched
//! signals and `data-signals`. Each value must arrive intact where it was meant to go (the
//! handler, the DOM, the signal) and none may run as code (`window.pwned` stays undefined).
//!
//! And the cross-site form of the issue: a page on another site posting a `text/plain` body
//! that parses as JSON signals is refused with 403 and changes nothing, while the same action
//! from the app's own page, through the client, works.

mod support;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::middleware::{self, Next};
use axum::response::{Html as PageHtml, Response};
use axum::routing::get;
use chromiumoxide::Page;
use http::{StatusCode, header};
use livestar::event::Event;
use livestar::prelude::*;
use livestar::response::Events;
use serde_json::{Value, json};
use support::browser::{self, Scenario};
use tokio::sync::watch;

/// Values that end a JavaScript string, a line, a script element, an HTML comment, a template
/// literal or an attribute, or that the client rewrites before compiling an expression (`$`,
/// `@name(`, `/` and `;` it splits statements on), alone and together.
const HOSTILE: &[&str] = &[
    "');window.pwned=1;('",
    "\u{2028}",
    "\u{2029}",
    "</script>",
    "\"",
    "\\",
    "${}",
    "${window.pwned=1}",
    "`;window.pwned=1;`",
    "<!--<script>",
    "</script><img src=x onerror=\"window.pwned=1\">",
    "\"');window.pwned=1;//\u{2028}</script><!--<script>window.pwned=1</script>\\${window.pwned=1}`",
    "\\');window.pwned=1;('\u{2029}\\\"&amp;<b>",
    "@get('/pwn')",
    "}$count{",
    "a\\",
    "1 / 2; window.pwned=1; /",
];

/// What the handlers received, in order: which path and the value.
type Received = Vec<(String, String)>;

#[derive(Clone)]
struct App {
    datastar_js: Arc<String>,
    received: Arc<watch::Sender<Received>>,
    /// Method, path, status and `Origin` of every request, for the cross-site checks.
    requests: Arc<watch::Sender<Vec<Seen>>>,
}

#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    status: StatusCode,
    origin: Option<String>,
}

impl App {
    fn record(&self, path: &str, value: &str) {
        self.received
            .send_modify(|received| received.push((path.to_owned(), value.to_owned())));
    }
}

/// A value in a typed action's path, echoed into the DOM.
#[action(post, "/echo/{slot}/{value}")]
async fn echo(State(app): State<App>, Path((slot, value)): Path<(usize, String)>) -> Events {
    app.record("action", &value);
    Events::new().with(Event::patch_elements(
        html! { <output id={format!("action-{slot}")}>{value}</output> },
    ))
}

/// A script carrying the value; serde_json leaves `</script>` and `<!--` as they are, so the
/// runtime's escaping is what keeps the script element whole.
#[action(post, "/script/{slot}")]
async fn script(Path(slot): Path<usize>) -> Result<Events, StatusCode> {
    let value = HOSTILE.get(slot).ok_or(StatusCode::NOT_FOUND)?;
    let literal = serde_json::to_string(value).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    let code = [
        "window.scripted = ",
        literal.as_str(),
        "; document.getElementById('scripted').textContent = window.scripted;",
    ]
    .concat();
    Ok(Events::new().with(Event::execute_script(code)))
}

/// Patches the `patched` signal with the value.
#[action(post, "/patch/{slot}")]
async fn patch(Path(slot): Path<usize>) -> Result<Events, StatusCode> {
    let value = HOSTILE.get(slot).ok_or(StatusCode::NOT_FOUND)?;
    Ok(Events::new().with(Event::patch_signals(json!({ "patched": value }))))
}

/// Records the signal the page names, as the client sent it.
#[action(post, "/record/{signal}")]
async fn record(
    State(app): State<App>,
    Path(signal): Path<String>,
    ReadSignals(signals): ReadSignals<Value>,
) -> StatusCode {
    match &signals[signal.as_str()] {
        Value::String(value) => app.record(&signal, value),
        other => app.record(&signal, &other.to_string()),
    }
    StatusCode::NO_CONTENT
}

#[derive(serde::Deserialize)]
struct NewTodo {
    title: String,
}

/// The action the cross-site form aims at.
#[action(post, "/todos")]
async fn add(State(app): State<App>, ReadSignals(new): ReadSignals<NewTodo>) -> Events {
    app.record("todo", &new.title);
    Events::new().with(Event::patch_signals(json!({ "title": "" })))
}

fn page() -> Html {
    html! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8">
                <title>"hostile"</title>
                // Collects what the client reports, so a value that broke an expression fails
                // the test by name.
                <script>"window.reported = []; const report = console.error.bind(console); console.error = (...args) => { window.reported.push(args.map(String).join(' ')); report(...args); };"</script>
                <script type="module" src="/datastar.js"></script>
            </head>
            <body data-signals={json!({ "initial": HOSTILE, "picked": "", "patched": "", "title": "" })}>
                @for (slot, value) in HOSTILE.iter().copied().enumerate() {
                    <section>
                        <button id={format!("act-{slot}")} data-on:click={echo::post(slot, value)}>"action"</button>
                        <output id={format!("action-{slot}")}></output>
                        <button id={format!("pick-{slot}")} data-on:click={livestar::js!("$picked = {value}; @post('/record/picked')")}>"js"</button>
                        <button id={format!("script-{slot}")} data-on:click={script::post(slot)}>"script"</button>
                        <button id={format!("patch-{slot}")} data-on:click={patch::post(slot)}>"patch"</button>
                        <output id={format!("js-text-{slot}")} data-text={livestar::js!("{value}")}></output>
                        <output id={format!("js-template-{slot}")} data-text={livestar::js!("`[${{{value}}}]`")}></output>
                        <output id={format!("initial-{slot}")} data-text={livestar::js!("$initial[{slot}]")}></output>
                    </section>
                }
                <output id="picked" data-text="$picked"></output>
                <output id="patched" data-text="$patched"></output>
                <output id="scripted"></output>
                <button id="send-patched" data-on:click="@post('/record/patched')">"send patched"</button>
                <button id="send-initial" data-on:click="@post('/record/initial')">"send initial"</button>
                <input id="title" data-bind:title>
                <button id="add" data-on:click={add::post()}>"add"</button>
            </body>
        </html>
    }
}

/// Another site's page: a form posting JSON-shaped `text/plain` to the app's `/todos`.
fn evil_page(target: &str) -> Html {
    html! {
        <!DOCTYPE html>
        <html>
            <head><meta charset="utf-8"><title>"evil"</title></head>
            <body>
                <form id="f" method="post" action={target} enctype="text/plain">
                    <input type="hidden" name=r#"{"title":""# value=r#"pwned"}"#>
                </form>
            </body>
        </html>
    }
}

async fn log_requests(State(app): State<App>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|origin| origin.to_str().ok())
        .map(str::to_owned);
    let response = next.run(request).await;
    let status = response.status();
    app.requests.send_modify(|requests| {
        requests.push(Seen {
            method,
            path,
            status,
            origin,
        })
    });
    response
}

async fn serve(router: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

async fn start_app() -> (App, std::net::SocketAddr) {
    let js = browser::datastar_js().expect("checked by Scenario::start");
    let app = App {
        datastar_js: Arc::new(std::fs::read_to_string(js).expect("datastar-core.js")),
        received: Arc::new(watch::channel(Vec::new()).0),
        requests: Arc::new(watch::channel(Vec::new()).0),
    };
    let router = Router::new()
        .route("/", get(|| async { page() }))
        .route(
            "/datastar.js",
            get(|State(app): State<App>| async move {
                (
                    [("content-type", "text/javascript")],
                    app.datastar_js.as_str().to_owned(),
                )
            }),
        )
        .merge(echo::route())
        .merge(script::route())
        .merge(patch::route())
        .merge(record::route())
        .merge(add::route())
        .layer(middleware::from_fn_with_state(app.clone(), log_requests))
        .with_state(app.clone());
    let addr = serve(router).await;
    (app, addr)
}

/// Waits until the handlers received `count` values on `path`; returns the last.
async fn received(app: &App, path: &str, count: usize) -> Result<String, String> {
    let mut rx = app.received.subscribe();
    let matching = |received: &Received| {
        received
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    let waited = tokio::time::timeout(
        browser::PATIENCE,
        rx.wait_for(|received| matching(received).len() >= count),
    )
    .await;
    match waited {
        Ok(Ok(received)) => Ok(matching(&received)
            .get(count - 1)
            .cloned()
            .unwrap_or_default()),
        _ => Err(format!(
            "{path}: {count} values were not received within {:?} (got {:?})",
            browser::PATIENCE,
            matching(&app.received.borrow())
        )),
    }
}

fn same(what: &str, got: &str, expected: &str) -> Result<(), String> {
    if got == expected {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, expected {expected:?}"))
    }
}

/// Waits until the `textContent` of `#id` is exactly `expected` (no trimming: U+2028 is
/// whitespace to `trim`).
async fn wait_for_exact_text(page: &Page, id: &str, expected: &str) -> Result<(), String> {
    browser::wait_until(
        page,
        &format!("#{id} reads {expected:?}"),
        &format!(
            "document.getElementById({})?.textContent === {}",
            browser::json(id),
            browser::json(expected)
        ),
    )
    .await
}

/// `window.pwned` is undefined, and the client reported no error.
async fn not_pwned(page: &Page) -> Result<(), String> {
    match browser::eval(page, "typeof window.pwned").await? {
        Value::String(kind) if kind == "undefined" => {}
        other => return Err(format!("window.pwned was set: typeof is {other}")),
    }
    match browser::eval(page, "window.reported ?? []").await? {
        Value::Array(reported) if reported.is_empty() => Ok(()),
        reported => Err(format!("the client reported errors: {reported}")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_arrive_intact_through_every_typed_path() {
    let Some(mut scenario) = Scenario::start("hostile_values").await else {
        return;
    };
    let (app, addr) = start_app().await;
    let url = format!("http://{addr}/");

    let result = async {
        let page = scenario.open("page", &url).await?;
        // The last expression of the page has run: every one before it was compiled.
        let last = HOSTILE.len() - 1;
        wait_for_exact_text(&page, &format!("initial-{last}"), HOSTILE[last]).await?;
        not_pwned(&page).await?;
        for (slot, value) in HOSTILE.iter().copied().enumerate() {
            let n = slot.to_string();
            // Written into the page at render time: js! values and data-signals.
            wait_for_exact_text(&page, &format!("js-text-{n}"), value).await?;
            wait_for_exact_text(&page, &format!("js-template-{n}"), &format!("[{value}]")).await?;
            wait_for_exact_text(&page, &format!("initial-{n}"), value).await?;

            browser::click(&page, &format!("#act-{n}")).await?;
            same(
                "action path",
                &received(&app, "action", slot + 1).await?,
                value,
            )?;
            wait_for_exact_text(&page, &format!("action-{n}"), value).await?;

            browser::click(&page, &format!("#pick-{n}")).await?;
            same(
                "js! signal",
                &received(&app, "picked", slot + 1).await?,
                value,
            )?;
            wait_for_exact_text(&page, "picked", value).await?;

            browser::click(&page, &format!("#script-{n}")).await?;
            wait_for_exact_text(&page, "scripted", value).await?;
            let scripted = browser::eval(&page, "window.scripted").await?;
            same(
                "execute_script",
                scripted.as_str().unwrap_or_default(),
                value,
            )?;

            browser::click(&page, &format!("#patch-{n}")).await?;
            wait_for_exact_text(&page, "patched", value).await?;
            browser::click(&page, "#send-patched").await?;
            same(
                "patched signal",
                &received(&app, "patched", slot + 1).await?,
                value,
            )?;

            not_pwned(&page).await?;
        }
        browser::click(&page, "#send-initial").await?;
        let initial = received(&app, "initial", 1).await?;
        let expected = serde_json::to_string(HOSTILE).map_err(|e| e.to_string())?;
        same("data-signals sent back", &initial, &expected)?;
        // The hostile scripts and images had every chance to run by now.
        not_pwned(&page).await?;
        let scripts = browser::eval(&page, "document.scripts.length").await?;
        if scripts != json!(2) {
            return Err(format!("the page has {scripts} script elements, not 2"));
        }
        Ok(())
    }
    .await;
    scenario.finish(result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_form_post_is_refused_and_the_page_itself_succeeds() {
    let Some(mut scenario) = Scenario::start("hostile_cross_site_form").await else {
        return;
    };
    let (app, addr) = start_app().await;
    let target = format!("http://{addr}/todos");
    let evil = serve(Router::new().route(
        "/",
        get(move || {
            let target = target.clone();
            async move { PageHtml(evil_page(&target).into_string()) }
        }),
    ))
    .await;
    // `localhost` and `127.0.0.1` are different sites to the browser.
    let evil_origin = format!("http://localhost:{}", evil.port());

    let result = async {
        let attacker = scenario
            .open("attacker", &format!("{evil_origin}/"))
            .await?;
        browser::wait_until(
            &attacker,
            "the form is there",
            "document.getElementById('f') !== null",
        )
        .await?;
        browser::eval(&attacker, "document.getElementById('f').submit(), true").await?;
        let mut requests = app.requests.subscribe();
        let refused = tokio::time::timeout(
            browser::PATIENCE,
            requests.wait_for(|seen| {
                seen.iter()
                    .any(|r| r.method == "POST" && r.path == "/todos")
            }),
        )
        .await
        .map_err(|_| "the cross-site form post did not reach the app".to_owned())?
        .map_err(|e| e.to_string())?
        .iter()
        .find(|r| r.method == "POST" && r.path == "/todos")
        .cloned()
        .ok_or("no form post")?;
        if refused.status != StatusCode::FORBIDDEN
            || refused.origin.as_deref() != Some(evil_origin.as_str())
        {
            return Err(format!("the cross-site form post was answered {refused:?}"));
        }
        browser::wait_until(
            &attacker,
            "the attacker's tab shows the refusal",
            "performance.getEntriesByType('navigation')[0]?.responseStatus === 403",
        )
        .await?;
        if app.received.borrow().iter().any(|(path, _)| path == "todo") {
            return Err("the handler ran for the cross-site post".to_owned());
        }

        let page = scenario.open("page", &format!("http://{addr}/")).await?;
        let title = "');window.pwned=1;('";
        browser::type_into(&page, "#title", title).await?;
        browser::click(&page, "#add").await?;
        same(
            "todo from the page",
            &received(&app, "todo", 1).await?,
            title,
        )?;
        browser::wait_until(
            &page,
            "the input was cleared",
            "document.getElementById('title').value === ''",
        )
        .await?;
        let posts: Vec<Seen> = app
            .requests
            .borrow()
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/todos")
            .cloned()
            .collect();
        let own_origin = format!("http://{addr}");
        match posts.as_slice() {
            [refused, accepted]
                if refused.status == StatusCode::FORBIDDEN
                    && accepted.status == StatusCode::OK
                    && accepted.origin.as_deref() == Some(own_origin.as_str()) => {}
            other => return Err(format!("the posts to /todos were {other:?}")),
        }
        if app
            .received
            .borrow()
            .iter()
            .filter(|(path, _)| path == "todo")
            .count()
            != 1
        {
            return Err("the todo was added more than once".to_owned());
        }
        not_pwned(&page).await?;
        not_pwned(&attacker).await?;
        Ok(())
    }
    .await;
    scenario.finish(result).await;
}
