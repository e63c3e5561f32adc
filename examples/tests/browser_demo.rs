//! The demo app (`cargo run -p livestar-examples --bin demo`) in headless Chromium with the
//! real Datastar v1 client: each scenario starts the demo binary on a free port, drives tabs
//! as a user would, and asserts on the DOM the browser shows.
//!
//! Datastar closes the stream of a hidden tab (opening a tab hides the others) and reopens it
//! when the tab is shown; live views and hub rooms with a loader send current state on
//! reconnect, so the scenarios bring a tab to the front before asserting on it, as a user
//! looks at it.

mod support;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::network::EventResponseReceived;
use futures::StreamExt;
use support::browser::{self, Scenario, json};
use support::demo::{self, Demo, Service, add_todo};

/// Opens `path` in a new tab of `profile`, signing in as `user` through the login form.
async fn sign_in(
    scenario: &mut Scenario,
    demo: &Demo,
    profile: &str,
    user: &str,
    path: &str,
) -> Result<Page, String> {
    let label = format!(
        "{profile}-{}",
        path.trim_start_matches('/').replace('/', "-")
    );
    let page = scenario
        .open_in(profile, &label, &demo.url(&format!("/login?next={path}")))
        .await?;
    browser::type_into(&page, "#name", user).await?;
    browser::click(&page, "#sign-in").await?;
    browser::wait_until(
        &page,
        &format!("{user} is signed in on {path}"),
        &format!(
            "location.pathname === {} && document.querySelector('#user')?.textContent.includes({})",
            json(path),
            json(user)
        ),
    )
    .await?;
    Ok(page)
}

/// Waits until the todo list of `page` (brought to the front) shows exactly `titles`.
async fn wait_for_todos(page: &Page, titles: &[&str]) -> Result<(), String> {
    browser::front(page).await?;
    let expected = serde_json::to_string(titles).map_err(|e| e.to_string())?;
    browser::wait_until(
        page,
        &format!("the list shows {expected}"),
        &format!(
            "JSON.stringify([...document.querySelectorAll('#todo-list li .title')].map(e => e.textContent)) === {}",
            json(&expected)
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_todo_added_toggled_and_deleted_in_one_tab_changes_the_same_users_other_tab() {
    let Some(mut scenario) = Scenario::start("demo_todos_two_tabs").await else {
        return;
    };
    let demo = Demo::start(&[]);
    let result = async {
        let demo = demo.as_ref().map_err(Clone::clone)?;
        let first = sign_in(&mut scenario, demo, "alice", "alice", "/todos").await?;
        let second = scenario
            .open_in("alice", "alice-second", &demo.url("/todos"))
            .await?;
        browser::wait_until(
            &second,
            "the list loaded",
            "document.querySelector('#empty')",
        )
        .await?;

        add_todo(&first, "buy <milk> & eggs").await?;
        wait_for_todos(&first, &["buy <milk> & eggs"]).await?;
        wait_for_todos(&second, &["buy <milk> & eggs"]).await?;

        browser::click(&first, "#todo-list li .toggle").await?;
        browser::front(&second).await?;
        browser::wait_for_count(&second, "#todo-list li.done", 1).await?;

        browser::click(&first, "#todo-list li .delete").await?;
        browser::front(&second).await?;
        browser::wait_for_count(&second, "#todo-list li", 0).await?;
        browser::wait_until(
            &second,
            "the empty list",
            "document.querySelector('#empty')",
        )
        .await
    }
    .await;
    scenario.finish(result).await;
}

/// Reloads `page` and returns the `Content-Encoding` its live stream at `path` came with
/// (`identity` for none), as Chromium's network log shows it.
async fn live_stream_encoding(page: &Page, url: &str, path: &str) -> Result<String, String> {
    let mut responses = page
        .event_listener::<EventResponseReceived>()
        .await
        .map_err(|e| format!("listen to responses: {e}"))?;
    page.goto(url)
        .await
        .map_err(|e| format!("reload {url}: {e}"))?;
    let wait = std::time::Duration::from_secs(15);
    tokio::time::timeout(wait, async {
        while let Some(event) = responses.next().await {
            // Datastar sends a GET's signals in the query: compare the path.
            let url_path = event.response.url.split('?').next().unwrap_or_default();
            if url_path.ends_with(path) {
                let headers = event.response.headers.inner();
                let encoding = headers
                    .as_object()
                    .and_then(|headers| {
                        headers
                            .iter()
                            .find(|(name, _)| name.eq_ignore_ascii_case("content-encoding"))
                    })
                    .and_then(|(_, value)| value.as_str())
                    .unwrap_or("identity");
                return Ok(encoding.to_owned());
            }
        }
        Err(format!("the browser closed before {path} answered"))
    })
    .await
    .map_err(|_| format!("no response for {path} within {wait:?}"))?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_updates_arrive_compressed_with_each_encoding() {
    let Some(mut scenario) = Scenario::start("demo_compressed_streams").await else {
        return;
    };
    let result = async {
        for encoding in ["gzip", "br", "zstd"] {
            let demo = Demo::start(&["--compress", encoding])?;
            let profile = format!("user-{encoding}");
            let first = sign_in(&mut scenario, &demo, &profile, "alice", "/todos").await?;
            let got = live_stream_encoding(&first, &demo.url("/todos"), "/todos/live").await?;
            if got != encoding {
                return Err(format!("--compress {encoding}: /todos/live came as {got}"));
            }
            let second = scenario
                .open_in(&profile, &format!("{profile}-second"), &demo.url("/todos"))
                .await?;
            for n in 1..=3 {
                add_todo(&first, &format!("{encoding} todo {n}")).await?;
            }
            let titles: Vec<String> = (1..=3).map(|n| format!("{encoding} todo {n}")).collect();
            let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
            wait_for_todos(&second, &titles).await?;
            wait_for_todos(&first, &titles).await?;
        }
        Ok(())
    }
    .await;
    scenario.finish(result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_todo_added_by_one_user_never_shows_in_another_users_list() {
    let Some(mut scenario) = Scenario::start("demo_todos_two_users").await else {
        return;
    };
    let demo = Demo::start(&[]);
    let result = async {
        let demo = demo.as_ref().map_err(Clone::clone)?;
        let bob = sign_in(&mut scenario, demo, "bob", "bob", "/todos").await?;
        browser::wait_until(
            &bob,
            "bob's list loaded",
            "document.querySelector('#empty')",
        )
        .await?;
        let alice = sign_in(&mut scenario, demo, "alice", "alice", "/todos").await?;
        add_todo(&alice, "alice's secret").await?;
        wait_for_todos(&alice, &["alice's secret"]).await?;

        // Bob's view is live (his own todo shows) and shows his list only.
        add_todo(&bob, "bob's chore").await?;
        wait_for_todos(&bob, &["bob's chore"]).await?;
        wait_for_todos(&alice, &["alice's secret"]).await
    }
    .await;
    scenario.finish(result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_message_appears_in_every_tab_of_the_room_and_clears_the_senders_input() {
    let Some(mut scenario) = Scenario::start("demo_chat_message").await else {
        return;
    };
    let demo = Demo::start(&[]);
    let result = async {
        let demo = demo.as_ref().map_err(Clone::clone)?;
        let mut tabs = Vec::new();
        for user in ["alice", "bob", "carol"] {
            tabs.push(sign_in(&mut scenario, demo, user, user, "/chat/rust").await?);
        }
        for tab in &tabs {
            browser::front(tab).await?;
            browser::wait_for_text(tab, "#presence", "3 online").await?;
        }
        browser::type_into(&tabs[0], "#message", "hello <b>rust</b>").await?;
        browser::click(&tabs[0], "#send").await?;
        browser::wait_until(
            &tabs[0],
            "the input was cleared",
            "document.querySelector('#message').value === ''",
        )
        .await?;
        for tab in &tabs {
            browser::front(tab).await?;
            browser::wait_for_count(tab, "#messages .message", 1).await?;
            browser::wait_for_text(tab, "#messages .message .text", "hello <b>rust</b>").await?;
            browser::wait_for_text(tab, "#messages .message strong", "alice").await?;
        }
        Ok(())
    }
    .await;
    scenario.finish(result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_presence_count_follows_tabs_joining_and_leaving_a_room() {
    let Some(mut scenario) = Scenario::start("demo_chat_presence").await else {
        return;
    };
    let demo = Demo::start(&[]);
    let result = async {
        let demo = demo.as_ref().map_err(Clone::clone)?;
        let first = sign_in(&mut scenario, demo, "alice", "alice", "/chat/random").await?;
        browser::wait_for_text(&first, "#presence", "1 online").await?;
        let second = scenario
            .open_in("alice", "alice-second", &demo.url("/chat/random"))
            .await?;
        browser::wait_for_text(&second, "#presence", "2 online").await?;
        browser::front(&first).await?;
        browser::wait_for_text(&first, "#presence", "2 online").await?;
        second
            .close()
            .await
            .map_err(|e| format!("close the second tab: {e}"))?;
        browser::wait_for_text(&first, "#presence", "1 online").await
    }
    .await;
    scenario.finish(result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_messages_of_a_room_show_in_a_tab_that_joins_later() {
    let Some(mut scenario) = Scenario::start("demo_chat_history").await else {
        return;
    };
    let demo = Demo::start(&[]);
    let result = async {
        let demo = demo.as_ref().map_err(Clone::clone)?;
        let alice = sign_in(&mut scenario, demo, "alice", "alice", "/chat/general").await?;
        for text in ["one", "two"] {
            browser::type_into(&alice, "#message", text).await?;
            browser::click(&alice, "#send").await?;
            browser::wait_until(
                &alice,
                "the input was cleared",
                "document.querySelector('#message').value === ''",
            )
            .await?;
        }
        let bob = sign_in(&mut scenario, demo, "bob", "bob", "/chat/general").await?;
        browser::wait_until(
            &bob,
            "the history shows both messages in order",
            "[...document.querySelectorAll('#messages .message .text')].map(e => e.textContent).join() === 'one,two'",
        )
        .await
    }
    .await;
    scenario.finish(result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_shows_the_badge_with_the_unread_count() {
    let Some(mut scenario) = Scenario::start("demo_notifications").await else {
        return;
    };
    let demo = Demo::start(&[]);
    let result = async {
        let demo = demo.as_ref().map_err(Clone::clone)?;
        let alice = sign_in(&mut scenario, demo, "alice", "alice", "/notifications").await?;
        let hidden = "getComputedStyle(document.querySelector('#badge')).display === 'none'";
        browser::wait_until(&alice, "no badge while nothing is unread", hidden).await?;

        let bob = sign_in(&mut scenario, demo, "bob", "bob", "/notifications").await?;
        browser::type_into(&bob, "#to", "alice").await?;
        for text in ["ping", "pong"] {
            browser::type_into(&bob, "#note", text).await?;
            browser::click(&bob, "#notify").await?;
            browser::wait_until(
                &bob,
                "the note input was cleared",
                "document.querySelector('#note').value === ''",
            )
            .await?;
        }
        browser::front(&alice).await?;
        browser::wait_until(
            &alice,
            "the badge shows",
            "getComputedStyle(document.querySelector('#badge')).display !== 'none'",
        )
        .await?;
        browser::wait_for_text(&alice, "#badge", "2").await?;
        browser::wait_for_count(&alice, "#notification-list li", 2).await?;
        browser::wait_for_text(&alice, "#notification-list li .text", "pong").await?;
        // Bob's own badge stays hidden: the notifications went to alice's session only.
        browser::front(&bob).await?;
        browser::wait_until(&bob, "bob has no badge", hidden).await?;
        browser::wait_for_count(&bob, "#notification-list li", 0).await
    }
    .await;
    scenario.finish(result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marking_notifications_read_hides_the_badge() {
    let Some(mut scenario) = Scenario::start("demo_notifications_read").await else {
        return;
    };
    let demo = Demo::start(&[]);
    let result = async {
        let demo = demo.as_ref().map_err(Clone::clone)?;
        let alice = sign_in(&mut scenario, demo, "alice", "alice", "/notifications").await?;
        browser::type_into(&alice, "#note", "to myself").await?;
        browser::click(&alice, "#notify").await?;
        browser::wait_for_text(&alice, "#badge", "1").await?;
        browser::click(&alice, "#mark-read").await?;
        browser::wait_until(
            &alice,
            "the badge is hidden",
            "getComputedStyle(document.querySelector('#badge')).display === 'none'",
        )
        .await
    }
    .await;
    scenario.finish(result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_numbers_are_pushed_by_the_background_task() {
    let Some(mut scenario) = Scenario::start("demo_dashboard_push").await else {
        return;
    };
    let demo = Demo::start(&[]);
    let result = async {
        let demo = demo.as_ref().map_err(Clone::clone)?;
        let page = scenario.open("dashboard", &demo.url("/dashboard")).await?;
        browser::wait_until(&page, "the first sample", "document.querySelector('#tick')").await?;
        let first = browser::text(&page, "#tick").await?;
        browser::wait_until(
            &page,
            "a later sample was pushed",
            &format!(
                "Number(document.querySelector('#tick').textContent) > {}",
                first
                    .parse::<u64>()
                    .map_err(|e| format!("#tick {first:?}: {e}"))?
            ),
        )
        .await
    }
    .await;
    scenario.finish(result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_status_is_refreshed_by_polling() {
    let Some(mut scenario) = Scenario::start("demo_dashboard_poll").await else {
        return;
    };
    let demo = Demo::start(&[]);
    let result = async {
        let demo = demo.as_ref().map_err(Clone::clone)?;
        let page = scenario.open("dashboard", &demo.url("/dashboard")).await?;
        let check = "Number(document.querySelector('#status').dataset.check ?? 0)";
        browser::wait_until(&page, "the first status check", &format!("{check} >= 1")).await?;
        browser::wait_until(
            &page,
            "two more checks by polling",
            &format!("{check} >= 3"),
        )
        .await
    }
    .await;
    scenario.finish(result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_tab_shows_current_state_after_the_server_restarts() {
    let Some(mut scenario) = Scenario::start("demo_restart").await else {
        return;
    };
    let mut demo = Demo::start(&[]);
    let result = async {
        let demo = demo.as_mut().map_err(|e| e.clone())?;
        let alice = sign_in(&mut scenario, demo, "alice", "alice", "/todos").await?;
        add_todo(&alice, "before the restart").await?;
        wait_for_todos(&alice, &["before the restart"]).await?;

        // In memory, the restarted server's state is empty: the tab must show that.
        demo.restart()?;
        wait_for_todos(&alice, &[]).await?;
        browser::wait_until(&alice, "the empty list", "document.querySelector('#empty')").await?;
        // And it is live again: a change after the restart shows.
        add_todo(&alice, "after the restart").await?;
        wait_for_todos(&alice, &["after the restart"]).await
    }
    .await;
    scenario.finish(result).await;
}

/// Two demo processes on one broker and namespace: a todo added through A shows in a tab of
/// B (state and invalidation both shared), and a toggle through B shows on A.
async fn a_todo_added_through_process_a_shows_in_a_tab_of_process_b(name: &str, service: Service) {
    let Some(url) = demo::service_url(name, service).await else {
        return;
    };
    let Some(mut scenario) = Scenario::start(name).await else {
        return;
    };
    let namespace = demo::unique_namespace();
    let args = [
        service.flag(),
        url.as_str(),
        "--namespace",
        namespace.as_str(),
    ];
    let (a, b) = (Demo::start(&args), Demo::start(&args));
    let result = async {
        let a = a.as_ref().map_err(Clone::clone)?;
        let b = b.as_ref().map_err(Clone::clone)?;
        // Cookies are per host, not per port: signing in on A signs in on B too.
        let on_a = sign_in(&mut scenario, a, "alice", "alice", "/todos").await?;
        let on_b = scenario
            .open_in("alice", "alice-on-b", &b.url("/todos"))
            .await?;
        browser::wait_until(&on_b, "B's list loaded", "document.querySelector('#empty')").await?;
        add_todo(&on_a, "added through A").await?;
        wait_for_todos(&on_b, &["added through A"]).await?;
        browser::click(&on_b, "#todo-list li .toggle").await?;
        browser::front(&on_a).await?;
        browser::wait_for_count(&on_a, "#todo-list li.done", 1).await
    }
    .await;
    scenario.finish(result).await;
    drop((a, b));
    if let Err(error) = demo::drop_namespace(service, &url, &namespace).await {
        eprintln!("{name}: {error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_todo_added_through_process_a_shows_in_a_tab_of_process_b_sharing_redis() {
    a_todo_added_through_process_a_shows_in_a_tab_of_process_b(
        "demo_two_processes_redis",
        Service::Redis,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_todo_added_through_process_a_shows_in_a_tab_of_process_b_sharing_postgres() {
    a_todo_added_through_process_a_shows_in_a_tab_of_process_b(
        "demo_two_processes_postgres",
        Service::Postgres,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_todo_added_through_process_a_shows_in_a_tab_of_process_b_sharing_nats() {
    a_todo_added_through_process_a_shows_in_a_tab_of_process_b(
        "demo_two_processes_nats",
        Service::Nats,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_presence_count_of_a_room_covers_both_processes_sharing_redis() {
    let name = "demo_two_processes_presence";
    let Some(url) = demo::service_url(name, Service::Redis).await else {
        return;
    };
    let Some(mut scenario) = Scenario::start(name).await else {
        return;
    };
    let namespace = demo::unique_namespace();
    let args = [
        Service::Redis.flag(),
        url.as_str(),
        "--namespace",
        namespace.as_str(),
    ];
    let (a, b) = (Demo::start(&args), Demo::start(&args));
    let result = async {
        let a = a.as_ref().map_err(Clone::clone)?;
        let b = b.as_ref().map_err(Clone::clone)?;
        let on_a = sign_in(&mut scenario, a, "alice", "alice", "/chat/rust").await?;
        browser::wait_for_text(&on_a, "#presence", "1 online").await?;
        let on_b = sign_in(&mut scenario, b, "bob", "bob", "/chat/rust").await?;
        // Each process counts the other's tab.
        browser::wait_for_text(&on_b, "#presence", "2 online").await?;
        browser::front(&on_a).await?;
        browser::wait_for_text(&on_a, "#presence", "2 online").await?;
        on_b.close()
            .await
            .map_err(|e| format!("close bob's tab: {e}"))?;
        browser::wait_for_text(&on_a, "#presence", "1 online").await
    }
    .await;
    scenario.finish(result).await;
    drop((a, b));
    if let Err(error) = demo::drop_namespace(Service::Redis, &url, &namespace).await {
        eprintln!("{name}: {error}");
    }
}
