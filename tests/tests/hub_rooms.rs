//! The hub in one process: rooms, sessions, loaders, presence, shared bytes, slow clients.

use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use livestar::event::{Event, Mode};
use livestar::hub::Hub;
use livestar::render::{Html, escape_text};

async fn next(frames: &mut (impl Stream<Item = Bytes> + Unpin)) -> Option<Bytes> {
    tokio::time::timeout(Duration::from_secs(5), frames.next())
        .await
        .expect("timed out waiting for a frame")
}

fn text(frame: Option<Bytes>) -> String {
    String::from_utf8(frame.expect("stream is open").to_vec()).expect("UTF-8")
}

fn chat_message(user: &str, said: &str) -> Event {
    let mut html = String::from("<div class=\"message\"><strong>");
    escape_text(user, &mut html);
    html.push_str("</strong> ");
    escape_text(said, &mut html);
    html.push_str("</div>");
    let html = Html::from_trusted(html);
    Event::patch_elements(html)
        .selector("#messages")
        .mode(Mode::Append)
        .into()
}

#[tokio::test]
async fn a_room_send_reaches_every_client_of_the_room() {
    let hub = Hub::new();
    let mut alice = hub.join_room("chat").into_frames();
    let mut bob = hub.join_room("chat").into_frames();
    assert_eq!(hub.room("chat").send(chat_message("eve", "<hi>")), Ok(2));
    let expected = "event: datastar-patch-elements\ndata: selector #messages\ndata: mode append\n\
                    data: elements <div class=\"message\"><strong>eve</strong> &lt;hi&gt;</div>\n\n";
    assert_eq!(text(next(&mut alice).await), expected);
    assert_eq!(text(next(&mut bob).await), expected);
}

#[tokio::test]
async fn a_room_send_does_not_reach_other_rooms() {
    let hub = Hub::new();
    let mut elsewhere = hub.join_room("news").into_frames();
    hub.room("chat")
        .send(Event::comment("chat only"))
        .expect("sent");
    hub.room("news").send(Event::comment("news")).expect("sent");
    assert_eq!(text(next(&mut elsewhere).await), ": news\n\n");
}

#[tokio::test]
async fn one_send_is_encoded_once_and_its_bytes_shared_by_all_clients() {
    let hub = Hub::new();
    let mut alice = hub.join_room("chat").into_frames();
    let mut bob = hub.join_room("chat").into_frames();
    hub.room("chat")
        .send([Event::comment("a"), Event::comment("b")])
        .expect("sent");
    let (a, b) = (
        next(&mut alice).await.unwrap(),
        next(&mut bob).await.unwrap(),
    );
    assert_eq!(a, ": a\n\n: b\n\n");
    assert_eq!(a.as_ptr(), b.as_ptr(), "each client got its own copy");
}

#[tokio::test]
async fn a_session_send_reaches_every_tab_of_the_user_only() {
    let hub = Hub::new();
    let mut tab1 = hub.join_session("alice").into_frames();
    let mut tab2 = hub
        .client()
        .room("chat")
        .session("alice")
        .connect()
        .into_frames();
    let mut bob = hub.join_session("bob").into_frames();
    let note = Html::from_trusted("<div id=\"notification-list\">New reply</div>".into());
    let badge = [
        Event::patch_elements(note).into(),
        Event::patch_signals(serde_json::json!({ "unreadCount": 1 })).into(),
    ] as [Event; 2];
    assert_eq!(hub.session("alice").send(badge), Ok(2));
    hub.session("bob")
        .send(Event::comment("bob's"))
        .expect("sent");
    let first = text(next(&mut tab1).await);
    assert!(first.contains("unreadCount"), "{first}");
    assert_eq!(text(next(&mut tab2).await), first);
    assert_eq!(text(next(&mut bob).await), ": bob's\n\n");
    assert_eq!(hub.session("alice").tabs(), 2);
}

#[tokio::test]
async fn a_joining_client_gets_the_loaded_state_first() {
    let hub = Hub::builder()
        .room_loader(
            |room: String| async move { vec![Event::comment(&format!("last 50 of {room}"))] },
        )
        .build();
    let mut client = hub.join_room("chat").into_frames();
    hub.room("chat").send(Event::comment("new")).expect("sent");
    assert_eq!(text(next(&mut client).await), ": last 50 of chat\n\n");
    assert_eq!(text(next(&mut client).await), ": new\n\n");
}

#[tokio::test]
async fn a_session_loader_sends_the_session_state_first() {
    let hub = Hub::builder()
        .session_loader(|user: String| async move {
            Event::patch_signals(serde_json::json!({ "unreadCount": user.len() }))
        })
        .build();
    let mut tab = hub.join_session("bob").into_frames();
    assert!(text(next(&mut tab).await).contains("{\"unreadCount\":3}"));
}

#[tokio::test]
async fn presence_counts_and_lists_the_clients_of_a_room() {
    let hub = Hub::new();
    let alice = hub.client().room("chat").session("alice").connect();
    let alice_again = hub.client().room("chat").session("alice").connect();
    let bob = hub.client().room("chat").session("bob").connect();
    let anonymous = hub.join_room("chat");
    assert_eq!(hub.room("chat").presence(), 4);
    assert_eq!(hub.room("chat").members(), ["alice", "bob"]);
    drop((alice, alice_again, anonymous));
    assert_eq!(hub.room("chat").presence(), 1);
    assert_eq!(hub.room("chat").members(), ["bob"]);
    drop(bob);
    assert_eq!(hub.room("chat").presence(), 0);
    assert_eq!(hub.clients(), 0);
}

#[tokio::test]
async fn presence_changes_wake_on_join_and_leave() {
    let hub = Hub::new();
    let mut changes = hub.room("chat").presence_changes();
    let client = hub.join_room("chat");
    tokio::time::timeout(Duration::from_secs(5), changes.next())
        .await
        .expect("woken on join");
    drop(client);
    tokio::time::timeout(Duration::from_secs(5), changes.next())
        .await
        .expect("woken on leave");
    assert_eq!(hub.room("chat").presence(), 0);
}

#[tokio::test]
async fn a_client_whose_queue_is_full_is_disconnected_without_delaying_others() {
    let hub = Hub::builder().queue_limit(10).build();
    let slow = hub.join_room("chat").into_frames(); // never read
    let mut fast = hub.join_room("chat").into_frames();
    for n in 0..10 {
        assert_eq!(hub.room("chat").send(Event::comment(&n.to_string())), Ok(2));
        assert_eq!(text(next(&mut fast).await), format!(": {n}\n\n"));
    }
    // The eleventh send finds the slow client's queue full.
    assert_eq!(hub.room("chat").send(Event::comment("10")), Ok(1));
    assert_eq!(hub.room("chat").presence(), 1);
    let mut slow = Box::pin(slow);
    // Its stream ends at once: queued events are dropped, the browser reconnects later.
    assert_eq!(next(&mut slow).await, None);
    assert_eq!(text(next(&mut fast).await), ": 10\n\n");
}

#[tokio::test(start_paused = true)]
async fn a_client_that_takes_nothing_for_the_stall_timeout_is_disconnected() {
    let hub = Hub::builder().stall_timeout(Duration::from_secs(5)).build();
    let stalled = hub.join_room("chat").into_frames();
    hub.room("chat").send(Event::comment("1")).expect("sent");
    tokio::time::advance(Duration::from_secs(4)).await;
    assert_eq!(
        hub.room("chat").send(Event::comment("2")),
        Ok(1),
        "disconnected too early"
    );
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(hub.room("chat").send(Event::comment("3")), Ok(0));
    assert_eq!(hub.room("chat").presence(), 0);
    drop(stalled);
}

#[tokio::test(start_paused = true)]
async fn an_idle_client_that_keeps_up_is_never_disconnected() {
    let hub = Hub::builder().stall_timeout(Duration::from_secs(5)).build();
    let mut client = hub.join_room("chat").into_frames();
    for n in 0..3 {
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(hub.room("chat").send(Event::comment(&n.to_string())), Ok(1));
        assert_eq!(hub.room("chat").send(Event::comment("again")), Ok(1));
        assert_eq!(text(next(&mut client).await), format!(": {n}\n\n"));
        assert_eq!(text(next(&mut client).await), ": again\n\n");
    }
}

#[tokio::test]
async fn a_disconnected_client_leaves_its_rooms_and_session() {
    let hub = Hub::new();
    let client = hub.client().room("a").room("b").session("u").connect();
    assert_eq!(hub.clients(), 1);
    drop(client);
    assert_eq!(hub.clients(), 0);
    assert_eq!(hub.room("a").send(Event::comment("x")), Ok(0));
    assert_eq!(hub.session("u").send(Event::comment("x")), Ok(0));
}

#[tokio::test]
async fn a_live_stream_over_http_receives_room_sends() {
    use axum::Router;
    use axum::extract::{Path, State};
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn connect(
        Path(room): Path<String>,
        State(hub): State<Hub>,
    ) -> livestar::stream::LiveStream {
        hub.join_room(&room)
    }
    let hub = Hub::new();
    let app = Router::new()
        .route("/rooms/{room}/connect", get(connect))
        .with_state(hub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
    socket
        .write_all(b"GET /rooms/chat/connect HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("request");
    // Wait until the hub has the client, bounded.
    let mut changes = hub.room("chat").presence_changes();
    while hub.room("chat").presence() == 0 {
        tokio::time::timeout(Duration::from_secs(5), changes.next())
            .await
            .expect("client joined");
    }
    hub.room("chat")
        .send(Event::comment("over tcp"))
        .expect("sent");
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&received).contains(": over tcp") {
        let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf))
            .await
            .expect("read timed out")
            .expect("read");
        assert!(n > 0, "connection closed");
        received.extend_from_slice(&buf[..n]);
        assert!(received.len() < 64 * 1024, "unexpected response");
    }
    assert!(String::from_utf8_lossy(&received).contains("text/event-stream"));
    server.abort();
}

#[tokio::test]
async fn ending_a_session_closes_its_tabs_now_and_no_one_elses() {
    let hub = Hub::new();
    let mut ada: Vec<_> = (0..2)
        .map(|_| {
            hub.client()
                .room("lobby")
                .session("ada")
                .connect()
                .into_frames()
        })
        .collect();
    let mut bob = hub
        .client()
        .room("lobby")
        .session("bob")
        .connect()
        .into_frames();
    assert_eq!(hub.room("lobby").presence(), 3);
    assert_eq!(hub.session("ada").end(), 2);
    for tab in &mut ada {
        let next = tokio::time::timeout(Duration::from_secs(5), tab.next()).await;
        assert_eq!(next.expect("at once"), None, "ada's tab is closed");
    }
    assert_eq!(hub.session("ada").tabs(), 0);
    assert_eq!(hub.room("lobby").presence(), 1);
    assert_eq!(hub.room("lobby").send(Event::comment("still here")), Ok(1));
    assert_eq!(bob.next().await.as_deref(), Some(&b": still here\n\n"[..]));
    assert_eq!(hub.session("nobody").end(), 0);
}
