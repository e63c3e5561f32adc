//! The hub under load, over real TCP sockets: a join storm with presence on, a client that
//! stops reading among clients that read, a paused client that resumes. Every loop is bounded
//! in count and time.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use futures::StreamExt;
use livestar::event::{Event, Mode};
use livestar::hub::Hub;
use livestar::render::Html;
use livestar::stream::LiveStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::{Instant, timeout};

async fn join(State(hub): State<Hub>) -> LiveStream {
    hub.join_room("chat")
}

/// Serves `hub`'s room `chat` at `/chat` on a free local port.
async fn serve(hub: Hub) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let app = Router::new().route("/chat", get(join)).with_state(hub);
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

const REQUEST: &[u8] =
    b"GET /chat HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: text/event-stream\r\n\r\n";

/// Reads `stream` until every one of `markers` arrived, or the connection ends; the text read.
async fn read_until(mut stream: TcpStream, markers: &'static [&'static str]) -> String {
    let mut seen = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    let mut missing: Vec<&str> = markers.to_vec();
    while !missing.is_empty() {
        let start = seen.len();
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
        // Only the new bytes (and a marker's length before them) can hold a new marker.
        let window = &seen[start.saturating_sub(64)..];
        let window = String::from_utf8_lossy(window);
        missing.retain(|marker| !window.contains(marker));
    }
    String::from_utf8_lossy(&seen).into_owned()
}

async fn wait_for(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn presence_count(count: usize) -> Event {
    Event::patch_elements(Html::from_trusted(format!(
        "<span id=\"presence\">{count} online</span>"
    )))
    .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_1000_joins_with_presence_on_keeps_every_client() {
    let hub = Hub::new();
    let presence_sends = Arc::new(AtomicUsize::new(0));
    {
        let (hub, sends) = (hub.clone(), presence_sends.clone());
        let mut changes = hub.room("chat").presence_changes();
        tokio::spawn(async move {
            while changes.next().await.is_some() {
                let _ = hub
                    .room("chat")
                    .send(presence_count(hub.room("chat").presence()));
                sends.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let address = serve(hub.clone()).await;
    let started = Instant::now();
    let connects = (0..1000).map(|_| async move {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream.write_all(REQUEST).await.expect("request");
        stream
    });
    let streams = futures::future::join_all(connects).await;
    let connected_in = started.elapsed();
    let readers: Vec<_> = streams
        .into_iter()
        .map(|stream| tokio::spawn(read_until(stream, &["after the storm", "1000 online"])))
        .collect();
    wait_for("every join", || hub.room("chat").presence() == 1000).await;
    hub.room("chat")
        .send(Event::comment("after the storm"))
        .expect("sent");
    for reader in readers {
        let seen = timeout(Duration::from_secs(20), reader)
            .await
            .expect("every client gets the message and the final count")
            .expect("reader");
        assert!(
            seen.contains("after the storm"),
            "a client missed the message"
        );
        assert!(seen.contains("1000 online"), "a client missed the count");
    }
    assert_eq!(hub.slow_disconnects(), 0);
    // One count per presence interval, not one per join (1000 joins connected in
    // `connected_in`, a few hundred milliseconds here).
    let sends = presence_sends.load(Ordering::Relaxed);
    let intervals = (started.elapsed().as_millis() / 250 + 2) as usize;
    assert!(
        sends <= intervals,
        "{sends} presence sends for 1000 joins in {connected_in:?} (at most {intervals} expected)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_disconnected_while_readers_get_every_event() {
    let stall = Duration::from_millis(300);
    let hub = Hub::builder()
        .stall_timeout(stall)
        .queue_bytes(64 << 20)
        .build();
    let address = serve(hub.clone()).await;
    // A small receive window, so the kernel's buffers fill quickly for the client that
    // never reads.
    let socket = TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("buffer size");
    let mut stalled = socket.connect(address).await.expect("connect");
    stalled.write_all(REQUEST).await.expect("request");
    let mut readers = Vec::new();
    for _ in 0..100 {
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream.write_all(REQUEST).await.expect("request");
        readers.push(tokio::spawn(read_until(stream, &[": end\n"])));
    }
    wait_for("every join", || hub.room("chat").presence() == 101).await;
    let payload = "x".repeat(16 * 1024);
    let started = Instant::now();
    let mut sent = 0;
    while hub.slow_disconnects() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the client that stopped reading was never disconnected"
        );
        hub.room("chat")
            .send(Event::comment(&format!("{sent} {payload}")))
            .expect("sent");
        sent += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(hub.room("chat").presence(), 100);
    hub.room("chat").send(Event::comment("end")).expect("sent");
    for reader in readers {
        let seen = timeout(Duration::from_secs(20), reader)
            .await
            .expect("readers finish")
            .expect("reader");
        let received: Vec<usize> = seen
            .split("\n\n")
            .filter_map(|frame| frame.rsplit(": ").next()?.split(' ').next()?.parse().ok())
            .collect();
        assert_eq!(
            received,
            (0..sent).collect::<Vec<_>>(),
            "a reader missed events"
        );
    }
    assert_eq!(hub.slow_disconnects(), 1);
    drop(stalled);
}

#[tokio::test]
async fn a_paused_client_resumes_with_the_newest_view_not_a_backlog() {
    let hub = Hub::new();
    let mut paused = hub.join_room("chat").into_frames();
    let mut appended = 0;
    for n in 0..200 {
        let view = Html::from_trusted(format!("<p id=\"count\">{n}</p>"));
        hub.room("chat")
            .send(Event::patch_elements(view))
            .expect("sent");
        if n % 50 == 0 {
            let message = Html::from_trusted(format!("<li>message {n}</li>"));
            hub.room("chat")
                .send(
                    Event::patch_elements(message)
                        .selector("#log")
                        .mode(Mode::Append),
                )
                .expect("sent");
            appended += 1;
        }
    }
    let mut frames = Vec::new();
    while let Ok(Some(frame)) = timeout(Duration::from_millis(200), paused.next()).await {
        frames.push(String::from_utf8(frame.to_vec()).expect("UTF-8"));
    }
    let views: Vec<_> = frames
        .iter()
        .filter(|f| f.contains("id=\"count\""))
        .collect();
    assert_eq!(views.len(), 1, "{frames:?}");
    assert!(views[0].contains(">199</p>"));
    // Appends are never dropped, and stay in order.
    let messages: Vec<_> = frames
        .iter()
        .filter(|f| f.contains("mode append"))
        .collect();
    assert_eq!(messages.len(), appended);
    assert!(messages[0].contains("message 0") && messages[3].contains("message 150"));
}
