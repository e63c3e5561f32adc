//! Many tabs of the demo in headless Chromium with the real Datastar client: over HTTP/2
//! (`--tls`, Chromium accepting the self-signed certificate) ten tabs of one user all stay
//! live; over HTTP/1.1 the browser's six connections per host are the limit, and a seventh
//! tab waits until one of the six closes.
//!
//! Datastar closes a hidden tab's stream and reopens it when the tab is shown, so a user who
//! looks at one tab at a time holds one stream. To hold one per tab, as a user with several
//! windows side by side does, [`KEEP_VISIBLE`] makes every tab report itself visible.

mod support;

use std::time::Duration;

use chromiumoxide::Page;
use support::browser::{self, Scenario, json};
use support::demo::{Demo, add_todo};

/// Chromium's flag for the demo's self-signed certificate, for the HTTPS scenarios only.
const ACCEPT_SELF_SIGNED: &[&str] = &["ignore-certificate-errors"];

/// Makes the page always visible to its scripts: `document.hidden` false and no
/// `visibilitychange` reaching Datastar, which would otherwise close the stream of a tab in
/// the background.
const KEEP_VISIBLE: &str = r#"
    Object.defineProperty(Document.prototype, 'hidden', { get: () => false, configurable: true });
    Object.defineProperty(Document.prototype, 'visibilityState', { get: () => 'visible', configurable: true });
    window.addEventListener('visibilitychange', (e) => e.stopImmediatePropagation(), true);
"#;

/// How long a tab is watched to show that its stream does not connect.
const STAYS_WAITING: Duration = Duration::from_secs(3);

/// True in a tab whose live list has arrived (the page shows "Loading…" until then).
const LIST_LOADED: &str = "document.querySelector('#empty, #open-count')";

/// Signs `user` in through the login form in a new tab of `profile`, which then shows
/// `/todos`. With `keep_visible` the tab keeps its stream open in the background.
async fn sign_in(
    scenario: &mut Scenario,
    demo: &Demo,
    profile: &str,
    user: &str,
    keep_visible: bool,
) -> Result<Page, String> {
    let page = blank_tab(scenario, profile, &format!("{profile}-1"), keep_visible).await?;
    let url = demo.url("/login?next=/todos");
    page.goto(url.as_str())
        .await
        .map_err(|e| format!("open {url}: {e}"))?;
    browser::type_into(&page, "#name", user).await?;
    browser::click(&page, "#sign-in").await?;
    browser::wait_until(
        &page,
        &format!("{user} is signed in on /todos"),
        &format!(
            "location.pathname === '/todos' && document.querySelector('#user')?.textContent.includes({})",
            json(user)
        ),
    )
    .await?;
    Ok(page)
}

/// A new empty tab of `profile`, kept visible to its scripts when `keep_visible`.
async fn blank_tab(
    scenario: &mut Scenario,
    profile: &str,
    label: &str,
    keep_visible: bool,
) -> Result<Page, String> {
    let page = scenario.open_in(profile, label, "about:blank").await?;
    if keep_visible {
        page.evaluate_on_new_document(KEEP_VISIBLE)
            .await
            .map_err(|e| format!("keep {label} visible: {e}"))?;
    }
    Ok(page)
}

/// Opens `/todos` in a new tab of `profile` and waits until its live list arrived.
async fn open_todos(
    scenario: &mut Scenario,
    demo: &Demo,
    profile: &str,
    label: &str,
    keep_visible: bool,
) -> Result<Page, String> {
    let page = blank_tab(scenario, profile, label, keep_visible).await?;
    let url = demo.url("/todos");
    page.goto(url.as_str())
        .await
        .map_err(|e| format!("open {url} in {label}: {e}"))?;
    browser::wait_until(&page, &format!("{label}'s list loaded"), LIST_LOADED).await?;
    Ok(page)
}

/// Waits until the todo list of `page` shows exactly `titles`.
async fn wait_for_todos(page: &Page, label: &str, titles: &[&str]) -> Result<(), String> {
    let expected = serde_json::to_string(titles).map_err(|e| e.to_string())?;
    browser::wait_until(
        page,
        &format!("{label} shows {expected}"),
        &format!(
            "JSON.stringify([...document.querySelectorAll('#todo-list li .title')].map(e => e.textContent)) === {}",
            json(&expected)
        ),
    )
    .await
}

/// The protocol the page came over, as Chromium reports it (`h2`, `http/1.1`).
async fn protocol(page: &Page) -> Result<String, String> {
    let value = browser::eval(
        page,
        "performance.getEntriesByType('navigation')[0]?.nextHopProtocol ?? ''",
    )
    .await?;
    Ok(value.as_str().unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_tabs_over_http2_each_show_a_todo_added_in_the_first() {
    let Some(mut scenario) = Scenario::start_with("many_tabs_http2", ACCEPT_SELF_SIGNED).await
    else {
        return;
    };
    let demo = Demo::start(&["--tls"]);
    let result = async {
        let demo = demo.as_ref().map_err(Clone::clone)?;
        if demo.scheme != "https" {
            return Err(format!("--tls listens on {}", demo.url("")));
        }
        let mut tabs = vec![sign_in(&mut scenario, demo, "alice", "alice", false).await?];
        for n in 2..=10 {
            let label = format!("alice-{n}");
            tabs.push(open_todos(&mut scenario, demo, "alice", &label, false).await?);
        }
        for (n, tab) in tabs.iter().enumerate() {
            let got = protocol(tab).await?;
            if got != "h2" {
                return Err(format!("tab {} came over {got:?}, not h2", n + 1));
            }
        }
        add_todo(&tabs[0], "seen in every tab").await?;
        for (n, tab) in tabs.iter().enumerate() {
            browser::front(tab).await?;
            wait_for_todos(tab, &format!("tab {}", n + 1), &["seen in every tab"]).await?;
        }
        Ok(())
    }
    .await;
    scenario.finish(result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http2_ten_tabs_keep_their_live_streams_open_at_once() {
    let Some(mut scenario) = Scenario::start_with("many_tabs_http2_open", ACCEPT_SELF_SIGNED).await
    else {
        return;
    };
    let demo = Demo::start(&["--tls"]);
    let result = async {
        let demo = demo.as_ref().map_err(Clone::clone)?;
        let mut tabs = vec![sign_in(&mut scenario, demo, "alice", "alice", true).await?];
        for n in 2..=10 {
            let label = format!("alice-{n}");
            tabs.push(open_todos(&mut scenario, demo, "alice", &label, true).await?);
        }
        add_todo(&tabs[0], "pushed to ten streams").await?;
        // No tab is brought to the front: each shows the todo through its own open stream.
        for (n, tab) in tabs.iter().enumerate() {
            wait_for_todos(tab, &format!("tab {}", n + 1), &["pushed to ten streams"]).await?;
        }
        Ok(())
    }
    .await;
    scenario.finish(result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_http1_a_seventh_tab_waits_while_six_live_streams_are_open() {
    let Some(mut scenario) = Scenario::start("many_tabs_http1_limit").await else {
        return;
    };
    let demo = Demo::start(&[]);
    let result = async {
        let demo = demo.as_ref().map_err(Clone::clone)?;
        let mut tabs = vec![sign_in(&mut scenario, demo, "alice", "alice", true).await?];
        if protocol(&tabs[0]).await? != "http/1.1" {
            return Err("the plain demo is not HTTP/1.1".to_owned());
        }
        for n in 2..=6 {
            let label = format!("alice-{n}");
            tabs.push(open_todos(&mut scenario, demo, "alice", &label, true).await?);
        }
        // Six streams hold the six connections Chromium opens to one host: the seventh tab's
        // page cannot even be fetched. Navigate from script, since waiting for it would hang.
        let seventh = blank_tab(&mut scenario, "alice", "alice-7", true).await?;
        let url = demo.url("/todos");
        browser::eval(&seventh, &format!("location.href = {}; true", json(&url))).await?;
        let shown = tokio::time::timeout(
            STAYS_WAITING,
            browser::wait_until(&seventh, "the seventh tab's list", LIST_LOADED),
        )
        .await;
        if let Ok(Ok(())) = shown {
            return Err("the seventh tab connected while six streams were open".to_owned());
        }
        // Closing one tab ends its stream and frees its connection for the seventh.
        let first = tabs.remove(0);
        first
            .close()
            .await
            .map_err(|e| format!("close the first tab: {e}"))?;
        browser::wait_until(
            &seventh,
            "the seventh tab's list, once one closed",
            LIST_LOADED,
        )
        .await?;
        // Six streams are open again, so an action would wait too: close another tab for it.
        tabs.remove(0)
            .close()
            .await
            .map_err(|e| format!("close the second tab: {e}"))?;
        add_todo(&seventh, "after the wait").await?;
        tabs.push(seventh);
        for (n, tab) in tabs.iter().enumerate() {
            wait_for_todos(tab, &format!("tab {}", n + 3), &["after the wait"]).await?;
        }
        Ok(())
    }
    .await;
    scenario.finish(result).await;
}
