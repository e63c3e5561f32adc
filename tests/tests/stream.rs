//! Live-stream responses: headers, heartbeats, the retry hint, flushing, and everything a
//! stream owns being dropped when its client goes away.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use futures::StreamExt;
use livestar::event::Event;
use livestar::render::Html;
use livestar::stream::Heartbeat;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};

fn patch(text: &str) -> Event {
    Event::patch_elements(Html::from_trusted(format!("<p id=\"p\">{text}</p>"))).into()
}

/// Serves `router` on an ephemeral 127.0.0.1 port for the rest of the test.
async fn serve(router: Router) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// Opens a GET over a real socket and reads until the response head is complete.
async fn open(addr: std::net::SocketAddr, path: &str) -> (TcpStream, String) {
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\n\r\n");
    socket
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut byte))
            .await
            .expect("response head within 5 s")
            .expect("read");
        assert_eq!(read, 1, "connection closed before the response head");
        head.push(byte[0]);
    }
    (socket, String::from_utf8(head).expect("ASCII head"))
}

/// Reads from the socket until `needle` has arrived (chunked framing and all).
async fn read_until(socket: &mut TcpStream, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let read = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut chunk))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{needle:?} within 5 s; got {:?}",
                    String::from_utf8_lossy(&seen)
                )
            })
            .expect("read");
        assert!(read > 0, "connection closed before {needle:?}");
        seen.extend_from_slice(&chunk[..read]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "{what} within 1 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn response_has_event_stream_headers() {
    let router = Router::new().route(
        "/s",
        get(|| async { livestar::stream(futures::stream::pending::<Event>()) }),
    );
    let addr = serve(router).await;
    let (_socket, head) = open(addr, "/s").await;
    let head = head.to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    for header in [
        "content-type: text/event-stream",
        "cache-control: no-cache",
        "x-accel-buffering: no",
        "connection: keep-alive",
    ] {
        assert!(head.contains(header), "missing {header} in {head}");
    }
}

#[tokio::test]
async fn each_event_is_flushed_as_it_is_produced() {
    let (tx, addr) = serve_channel().await;
    let (mut socket, _) = open(addr, "/s").await;
    tx.send(patch("one")).expect("stream open");
    read_until(&mut socket, "one</p>").await;
    // The second event exists only after the first was read: nothing waits for a buffer.
    tx.send(patch("two")).expect("stream open");
    read_until(&mut socket, "two</p>").await;
}

/// Serves `/s`: one connection streaming whatever is sent on the returned channel.
async fn serve_channel() -> (mpsc::UnboundedSender<Event>, std::net::SocketAddr) {
    let (tx, rx) = mpsc::unbounded_channel::<Event>();
    let rx = std::sync::Arc::new(std::sync::Mutex::new(Some(rx)));
    let router = Router::new().route(
        "/s",
        get(move || {
            let rx = rx.lock().expect("lock").take().expect("one connection");
            async move { livestar::stream(tokio_stream_from(rx)) }
        }),
    );
    (tx, serve(router).await)
}

fn tokio_stream_from(mut rx: mpsc::UnboundedReceiver<Event>) -> impl futures::Stream<Item = Event> {
    async_stream::stream! {
        while let Some(event) = rx.recv().await {
            yield event;
        }
    }
}

#[tokio::test]
async fn disconnect_drops_what_the_stream_owns_within_a_second() {
    let (tx, _) = broadcast::channel::<()>(1);
    let subscriber = tx.clone();
    let router = Router::new().route(
        "/s",
        get(move || {
            let subscription = subscriber.subscribe();
            async move { livestar::stream(futures::stream::pending::<Event>()).owning(subscription) }
        }),
    );
    let addr = serve(router).await;
    let (socket, _) = open(addr, "/s").await;
    eventually("the subscription is held", || tx.receiver_count() == 1).await;
    drop(socket);
    eventually("the subscription is dropped", || tx.receiver_count() == 0).await;
}

#[tokio::test]
async fn disconnect_cancels_the_streams_token() {
    let (token_tx, mut token_rx) = mpsc::unbounded_channel();
    let router = Router::new().route(
        "/s",
        get(move || {
            let token_tx = token_tx.clone();
            async move {
                let mut live = livestar::stream(futures::stream::pending::<Event>());
                token_tx.send(live.cancellation()).expect("test alive");
                live
            }
        }),
    );
    let addr = serve(router).await;
    let (socket, _) = open(addr, "/s").await;
    let token = token_rx.recv().await.expect("token");
    assert!(!token.is_cancelled());
    drop(socket);
    tokio::time::timeout(Duration::from_secs(1), token.cancelled())
        .await
        .expect("cancelled within 1 s of the disconnect");
}

#[tokio::test]
async fn a_stream_that_ends_releases_what_it_owns() {
    let (tx, rx) = broadcast::channel::<()>(1);
    let frames: Vec<Bytes> = livestar::stream(futures::stream::iter([patch("last")]))
        .owning(rx)
        .into_frames()
        .collect()
        .await;
    assert_eq!(frames.len(), 1);
    assert_eq!(tx.receiver_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn default_heartbeat_is_a_comment_every_15_seconds_of_silence() {
    let mut frames = Box::pin(livestar::stream(futures::stream::pending::<Event>()).into_frames());
    let started = tokio::time::Instant::now();
    let first = frames.next().await.expect("heartbeat");
    assert_eq!(first, ": heartbeat\n\n");
    assert_eq!(started.elapsed(), Duration::from_secs(15));
    frames.next().await.expect("heartbeat");
    assert_eq!(started.elapsed(), Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn heartbeat_honours_interval_initial_delay_and_comment() {
    let live = livestar::stream(futures::stream::pending::<Event>()).heartbeat(
        Heartbeat::every(Duration::from_secs(5))
            .initial_delay(Duration::from_secs(1))
            .comment("todos"),
    );
    let mut frames = Box::pin(live.into_frames());
    let started = tokio::time::Instant::now();
    assert_eq!(frames.next().await.expect("heartbeat"), ": todos\n\n");
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    frames.next().await.expect("heartbeat");
    assert_eq!(started.elapsed(), Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn events_postpone_the_heartbeat() {
    let events = async_stream::stream! {
        tokio::time::sleep(Duration::from_secs(10)).await;
        yield patch("busy");
        futures::future::pending::<()>().await;
    };
    let mut frames = Box::pin(livestar::stream(events).into_frames());
    let started = tokio::time::Instant::now();
    assert!(frames.next().await.expect("event").starts_with(b"event: "));
    assert_eq!(frames.next().await.expect("heartbeat"), ": heartbeat\n\n");
    assert_eq!(started.elapsed(), Duration::from_secs(25));
}

#[tokio::test(start_paused = true)]
async fn heartbeat_off_sends_nothing() {
    let live = livestar::stream(futures::stream::pending::<Event>()).heartbeat(Heartbeat::off());
    let mut frames = Box::pin(live.into_frames());
    let waited = tokio::time::timeout(Duration::from_secs(3600), frames.next()).await;
    assert!(waited.is_err(), "no frame in an hour");
}

#[tokio::test]
async fn retry_hint_comes_before_the_first_event() {
    let live =
        livestar::stream(futures::stream::iter([patch("a")])).retry(Duration::from_millis(2500));
    let frames: Vec<Bytes> = live.into_frames().collect().await;
    assert_eq!(frames[0], "retry: 2500\n\n");
    assert!(frames[1].starts_with(b"event: datastar-patch-elements\n"));
}

#[tokio::test]
async fn streams_can_send_their_own_comments_and_any_event_builder() {
    let events = async_stream::stream! {
        yield Event::comment("loading");
        yield Event::patch_signals(serde_json::json!({ "ready": true })).into();
        yield Event::remove_elements("#spinner").into();
    };
    let frames: Vec<Bytes> = livestar::stream(events).into_frames().collect().await;
    assert_eq!(frames[0], ": loading\n\n");
    assert_eq!(
        frames[1],
        "event: datastar-patch-signals\ndata: signals {\"ready\":true}\n\n"
    );
    assert_eq!(
        frames[2],
        "event: datastar-patch-elements\ndata: selector #spinner\ndata: mode remove\n\n"
    );
}

#[tokio::test]
async fn one_encoded_event_is_shared_not_copied() {
    let event = patch("shared");
    let a: Vec<Bytes> = livestar::stream(futures::stream::iter([event.clone()]))
        .into_frames()
        .collect()
        .await;
    let b: Vec<Bytes> = livestar::stream(futures::stream::iter([event.clone()]))
        .into_frames()
        .collect()
        .await;
    assert_eq!(
        a[0].as_ptr(),
        b[0].as_ptr(),
        "both streams send the same buffer"
    );
    assert_eq!(a[0].as_ptr(), event.as_bytes().as_ptr());
}

#[tokio::test]
async fn over_http2_events_stream_without_connection_headers() {
    use http_body_util::BodyExt;

    let (tx, addr) = serve_channel().await;
    let socket = TcpStream::connect(addr).await.expect("connect");
    let (mut client, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(socket),
    )
    .await
    .expect("HTTP/2 prior-knowledge handshake");
    tokio::spawn(connection);
    let request = http::Request::get(format!("http://{addr}/s"))
        .body(http_body_util::Empty::<Bytes>::new())
        .expect("request");
    let response = client.send_request(request).await.expect("response");
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert!(response.headers().get("connection").is_none());
    let mut body = response.into_body();
    tx.send(patch("h2")).expect("stream open");
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("event within 5 s")
        .expect("a frame")
        .expect("no error");
    let data = frame.into_data().expect("data frame");
    assert!(String::from_utf8_lossy(&data).contains("h2</p>"));
}
