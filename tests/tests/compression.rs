//! Compressed event streams: each encoding decoded incrementally the way a browser does, every
//! event and heartbeat readable before the next is sent, negotiation from hostile headers, the
//! memory cap, and no compressor left behind by a client that goes away.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::routing::get;
use futures::channel::mpsc;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use livestar::compress::{AcceptEncoding, Compression, Encoding};
use livestar::event::Event;
use livestar::invalidate::Notifier;
use livestar::prelude::*;
use livestar::stream::Heartbeat;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tower::ServiceExt;

const WAIT: Duration = Duration::from_secs(10);
const ENCODINGS: [Encoding; 3] = [Encoding::Brotli, Encoding::Zstd, Encoding::Gzip];

/// The compressor gauges and the memory cap are process-wide: the tests that read or set them
/// take turns.
static SERIAL: LazyLock<Mutex<()>> = LazyLock::new(|| Mutex::new(()));

/// Takes this test's turn once the compressors of the test before are gone: their streams end
/// as their tasks notice the clients went, a moment after that test returned.
async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    let turn = SERIAL.lock().await;
    settles("the compressors of the test before are freed", || {
        livestar::compress::open_compressors() == 0 && livestar::compress::compressor_memory() == 0
    })
    .await;
    turn
}

/// A decoder fed the body chunk by chunk, holding everything decoded so far.
enum Decoder {
    Brotli(Box<brotli::DecompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Decoder<'static, Vec<u8>>),
    Gzip(flate2::write::GzDecoder<Vec<u8>>),
    Identity(Vec<u8>),
}

impl Decoder {
    fn new(encoding: Encoding) -> Self {
        match encoding {
            Encoding::Brotli => {
                Decoder::Brotli(Box::new(brotli::DecompressorWriter::new(Vec::new(), 4096)))
            }
            Encoding::Zstd => {
                Decoder::Zstd(zstd::stream::write::Decoder::new(Vec::new()).expect("zstd decoder"))
            }
            Encoding::Gzip => Decoder::Gzip(flate2::write::GzDecoder::new(Vec::new())),
            Encoding::Identity => Decoder::Identity(Vec::new()),
        }
    }

    /// Decodes one chunk as it came off the wire, and flushes the decoder: what the chunk
    /// completes is readable now, as in a browser.
    fn feed(&mut self, chunk: &[u8]) {
        match self {
            Decoder::Brotli(decoder) => {
                decoder.write_all(chunk).expect("valid brotli");
                decoder.flush().expect("brotli flush");
            }
            Decoder::Zstd(decoder) => {
                decoder.write_all(chunk).expect("valid zstd");
                decoder.flush().expect("zstd flush");
            }
            Decoder::Gzip(decoder) => {
                decoder.write_all(chunk).expect("valid gzip");
                decoder.flush().expect("gzip flush");
            }
            Decoder::Identity(text) => text.extend_from_slice(chunk),
        }
    }

    fn text(&self) -> String {
        let bytes = match self {
            Decoder::Brotli(decoder) => decoder.get_ref(),
            Decoder::Zstd(decoder) => decoder.get_ref(),
            Decoder::Gzip(decoder) => decoder.get_ref(),
            Decoder::Identity(text) => text,
        };
        String::from_utf8(bytes.clone()).expect("the stream decodes to UTF-8")
    }
}

/// A response body read chunk by chunk through the decoder of its `Content-Encoding`.
struct Client {
    body: Body,
    decoder: Decoder,
    /// Bytes received on the wire, before decoding.
    wire: usize,
    raw: Vec<u8>,
    encoding: Encoding,
}

impl Client {
    fn new(response: Response<Body>) -> Self {
        let encoding = content_encoding(&response);
        Client {
            body: response.into_body(),
            decoder: Decoder::new(encoding),
            wire: 0,
            raw: Vec::new(),
            encoding,
        }
    }

    /// Reads chunks until the decoded text contains `needle`; panics after `WAIT`.
    async fn until(&mut self, needle: &str) -> String {
        tokio::time::timeout(WAIT, async {
            loop {
                let text = self.decoder.text();
                if text.contains(needle) {
                    return text;
                }
                match self.body.frame().await {
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            self.wire += data.len();
                            self.raw.extend_from_slice(&data);
                            self.decoder.feed(&data);
                        }
                    }
                    Some(Err(error)) => panic!("body failed: {error}"),
                    None => panic!("the stream ended before {needle:?}; decoded: {text}"),
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no {needle:?} within {WAIT:?}: {}", self.decoder.text()))
    }
}

fn content_encoding(response: &Response<Body>) -> Encoding {
    match response.headers().get("content-encoding") {
        None => Encoding::Identity,
        Some(value) => match value.to_str().expect("ASCII") {
            "br" => Encoding::Brotli,
            "zstd" => Encoding::Zstd,
            "gzip" => Encoding::Gzip,
            other => panic!("unexpected content-encoding {other}"),
        },
    }
}

fn get_request(path: &str, accept_encoding: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path).header("accept", "text/event-stream");
    if let Some(accept) = accept_encoding {
        request = request.header("accept-encoding", accept);
    }
    request.body(Body::empty()).expect("request")
}

/// A stream route whose events the test sends one at a time.
fn channel_route(compression: Compression) -> (Router, mpsc::UnboundedSender<Event>) {
    let (tx, rx) = mpsc::unbounded();
    let route_slot = Arc::new(std::sync::Mutex::new(Some(rx)));
    let router = Router::new().route(
        "/events",
        get(move |accept: AcceptEncoding| {
            let rx = route_slot.lock().expect("slot").take().expect("one stream");
            let compression = compression.clone();
            async move {
                livestar::stream(rx)
                    .heartbeat(Heartbeat::off())
                    .compress_with(&accept, &compression)
            }
        }),
    );
    (router, tx)
}

/// A view that grows by a row per event and changes a counter, the way a live list does.
fn table(rows: usize) -> Html {
    html! {
        <table id="rows">
            @for row in 0..rows {
                <tr id={format!("row-{row}")}><td>"row number "{row}</td><td>"done: "{row % 3 == 0}</td></tr>
            }
        </table>
    }
}

fn event_with(rows: usize) -> Event {
    Event::patch_elements(table(rows)).into()
}

#[tokio::test]
async fn every_event_decodes_before_the_next_is_sent() {
    let _serial = serial().await;
    for encoding in ENCODINGS {
        let (router, tx) = channel_route(Compression::default());
        let response = router
            .oneshot(get_request("/events", Some(encoding.as_str())))
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(content_encoding(&response), encoding, "{encoding}");
        assert_eq!(response.headers()["vary"], "accept-encoding");
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let mut client = Client::new(response);
        let mut plain = 0;
        for rows in 1..=40 {
            let event = event_with(rows);
            plain += event.as_bytes().len();
            tx.unbounded_send(event).expect("stream open");
            // The event must be readable now: the next one is not sent until it is.
            let text = client.until(&format!("row number {}", rows - 1)).await;
            assert!(text.ends_with("\n\n"), "{encoding}: a whole event, flushed");
            assert_eq!(text.matches("event: datastar-patch-elements").count(), rows);
        }
        assert!(
            client.wire * 4 < plain,
            "{encoding}: {} bytes on the wire for {plain} of events",
            client.wire
        );
        drop(tx);
    }
}

#[tokio::test]
async fn each_heartbeat_decodes_on_its_own() {
    let _serial = serial().await;
    for encoding in ENCODINGS {
        let router = Router::new().route(
            "/quiet",
            get(|accept: AcceptEncoding| async move {
                livestar::stream(futures::stream::pending::<Event>())
                    .heartbeat(
                        Heartbeat::every(Duration::from_millis(20))
                            .initial_delay(Duration::ZERO)
                            .comment("still here"),
                    )
                    .compress(&accept)
            }),
        );
        let response = router
            .oneshot(get_request("/quiet", Some(encoding.as_str())))
            .await
            .expect("response");
        assert_eq!(content_encoding(&response), encoding);
        let mut client = Client::new(response);
        let text = client
            .until(": still here\n\n: still here\n\n: still here\n\n")
            .await;
        assert!(
            text.starts_with("retry: ") || text.starts_with(": still here"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_client_without_accept_encoding_gets_plain_text() {
    let _serial = serial().await;
    for accept in [None, Some(""), Some("identity"), Some("deflate, compress")] {
        let (router, tx) = channel_route(Compression::default());
        let response = router
            .oneshot(get_request("/events", accept))
            .await
            .expect("response");
        assert!(
            response.headers().get("content-encoding").is_none(),
            "{accept:?}"
        );
        assert_eq!(response.headers()["vary"], "accept-encoding", "{accept:?}");
        tx.unbounded_send(event_with(2)).expect("open");
        let mut client = Client::new(response);
        let text = client.until("row number 1").await;
        assert!(text.contains("event: datastar-patch-elements\n"), "{text}");
    }
}

#[tokio::test]
async fn the_client_q_values_and_the_server_preference_decide() {
    let _serial = serial().await;
    let cases = [
        (
            "gzip, deflate, br, zstd",
            Compression::default(),
            Some("zstd"),
        ),
        ("gzip;q=1, br;q=0.5", Compression::default(), Some("gzip")),
        (
            "br;q=0, zstd;q=0, gzip",
            Compression::default(),
            Some("gzip"),
        ),
        ("*", Compression::default(), Some("zstd")),
        ("*;q=0", Compression::default(), None),
        ("identity;q=0, *;q=0", Compression::default(), None),
        ("BR", Compression::default(), Some("br")),
        (
            "br, zstd, gzip",
            Compression::default().prefer([Encoding::Gzip]),
            Some("gzip"),
        ),
        ("br, zstd, gzip", Compression::off(), None),
    ];
    for (accept, compression, expected) in cases {
        let (router, tx) = channel_route(compression);
        let response = router
            .oneshot(get_request("/events", Some(accept)))
            .await
            .expect("response");
        let got = response
            .headers()
            .get("content-encoding")
            .map(|value| value.to_str().expect("ASCII").to_owned());
        assert_eq!(got.as_deref(), expected, "Accept-Encoding: {accept}");
        tx.unbounded_send(event_with(3)).expect("open");
        Client::new(response).until("row number 2").await;
    }
}

#[tokio::test]
async fn hostile_accept_encoding_headers_are_answered() {
    let _serial = serial().await;
    let huge_list = "gzip;q=0.5, ".repeat(10_000);
    let long_token = format!("{}, br", "x".repeat(60_000));
    let deep_params = format!("br{}", ";q=1".repeat(5_000));
    let hostile: Vec<&str> = vec![
        &huge_list,
        &long_token,
        &deep_params,
        "br;q=abc",
        "br;q=2",
        "br;q=-1",
        "br;q=0.00001",
        "br;q=1.0000001",
        "br;q=",
        ";;;,,,;=;",
        "br;;q=1;;",
        "zstd;level=22;q=0.9",
        "gzip\t;\tq=1",
        "\"br\"",
        "br q=1",
        "*;q=0.5, br;q=0",
    ];
    for accept in hostile {
        let shown: String = accept.chars().take(40).collect();
        let (router, tx) = channel_route(Compression::default());
        let response = router
            .oneshot(get_request("/events", Some(accept)))
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::OK, "{shown}");
        assert_eq!(response.headers()["vary"], "accept-encoding", "{shown}");
        tx.unbounded_send(event_with(3)).expect("open");
        let mut client = Client::new(response);
        client.until("row number 2").await;
    }
    // Bytes that are not UTF-8 are not a header string at all.
    let accept = http::HeaderValue::from_bytes(b"br\xff\xfe, gzip").expect("opaque header");
    let (router, tx) = channel_route(Compression::default());
    let mut request = get_request("/events", None);
    request.headers_mut().insert("accept-encoding", accept);
    let response = router.oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    tx.unbounded_send(event_with(1)).expect("open");
    Client::new(response).until("row number 0").await;
}

#[tokio::test]
async fn past_the_memory_cap_new_streams_go_out_uncompressed() {
    let _serial = serial().await;
    let before = livestar::compress::memory_limit();
    let (router, tx) = channel_route(Compression::default());
    let first = router
        .oneshot(get_request("/events", Some("zstd")))
        .await
        .expect("response");
    assert_eq!(content_encoding(&first), Encoding::Zstd);
    let held = livestar::compress::compressor_memory();
    assert!(held >= Compression::default().memory(Encoding::Zstd));

    // No room for one more compressor: the next stream is plain, the open one goes on.
    livestar::compress::limit_memory(Some(held));
    let (router, second_tx) = channel_route(Compression::default());
    let second = router
        .oneshot(get_request("/events", Some("zstd, br, gzip")))
        .await
        .expect("response");
    assert!(second.headers().get("content-encoding").is_none());
    assert_eq!(second.headers()["vary"], "accept-encoding");
    livestar::compress::limit_memory(before);

    second_tx.unbounded_send(event_with(2)).expect("open");
    tx.unbounded_send(event_with(2)).expect("open");
    Client::new(second).until("row number 1").await;
    Client::new(first).until("row number 1").await;
}

#[tokio::test]
async fn a_client_that_goes_away_leaves_no_compressor_behind() {
    let _serial = serial().await;
    let baseline = livestar::compress::open_compressors();
    let baseline_memory = livestar::compress::compressor_memory();
    let router = Router::new().route(
        "/ticks",
        get(|accept: AcceptEncoding| async move {
            let ticks = futures::stream::unfold(0u32, |tick| async move {
                tokio::time::sleep(Duration::from_millis(5)).await;
                Some((event_with(tick as usize % 7 + 1), tick + 1))
            });
            livestar::stream(ticks).compress(&accept)
        }),
    );
    let addr = serve(router).await;
    let mut sockets = Vec::new();
    for encoding in ENCODINGS.iter().cycle().take(30) {
        let mut socket = open(addr, "/ticks", encoding.as_str()).await;
        let mut chunk = [0u8; 1024];
        let read = socket.read(&mut chunk).await.expect("read");
        assert!(read > 0);
        sockets.push(socket);
    }
    assert_eq!(livestar::compress::open_compressors(), baseline + 30);
    drop(sockets);
    settles("compressors freed", || {
        livestar::compress::open_compressors() == baseline
            && livestar::compress::compressor_memory() == baseline_memory
    })
    .await;
}

/// Serves `router` on an ephemeral 127.0.0.1 port for the rest of the test.
async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// Opens a GET with `Accept-Encoding: accept` over a real socket, past the response head.
async fn open(addr: SocketAddr, path: &str, accept: &str) -> TcpStream {
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\naccept: text/event-stream\r\naccept-encoding: {accept}\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = tokio::time::timeout(WAIT, socket.read(&mut byte))
            .await
            .expect("head in time")
            .expect("read");
        assert_eq!(read, 1, "closed before the head");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).expect("ASCII head");
    assert!(
        head.contains(&format!("content-encoding: {accept}\r\n")),
        "{head}"
    );
    socket
}

async fn settles(what: &str, done: impl Fn() -> bool) {
    tokio::time::timeout(WAIT, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: not within {WAIT:?}"));
}

#[derive(Clone, Default)]
struct Counter {
    value: Arc<AtomicU32>,
    changed: Notifier<()>,
}

struct Count {
    value: u32,
}

fn count_view(count: &Count) -> Html {
    html! {
        <div id="counter">
            <p>"count: "{count.value}</p>
            @for row in 0..50 { <p>"a line that repeats in every render "{row}</p> }
        </div>
    }
}

#[live_view("/counter/live", invalidate = [counter.changed.subscribe(&())], view = count_view)]
async fn counter(State(counter): State<Counter>) -> Count {
    Count {
        value: counter.value.load(Ordering::SeqCst),
    }
}

#[live_view(
    "/counter/plain",
    invalidate = [counter.changed.subscribe(&())],
    view = count_view,
    compress = false
)]
async fn counter_plain(State(counter): State<Counter>) -> Count {
    Count {
        value: counter.value.load(Ordering::SeqCst),
    }
}

#[live_view(
    "/counter/shared",
    shared = (),
    invalidate = [counter.changed.subscribe(&())],
    view = count_view
)]
async fn counter_shared(State(counter): State<Counter>) -> Count {
    Count {
        value: counter.value.load(Ordering::SeqCst),
    }
}

fn counter_app() -> (Router, Counter) {
    let state = Counter::default();
    let router = Router::new()
        .merge(counter::route())
        .merge(counter_plain::route())
        .merge(counter_shared::route())
        .merge(counter_chatty::route())
        .with_state(state.clone());
    (router, state)
}

#[tokio::test]
async fn live_views_compress_each_patch_and_can_opt_out() {
    let _serial = serial().await;
    let (router, state) = counter_app();
    for (path, encoding) in [
        ("/counter/live", Encoding::Brotli),
        ("/counter/live", Encoding::Zstd),
        ("/counter/live", Encoding::Gzip),
        ("/counter/shared", Encoding::Brotli),
        ("/counter/shared", Encoding::Zstd),
        ("/counter/shared", Encoding::Gzip),
    ] {
        // A shared key's view lives on while it has connections: start from what it shows.
        let start = state.value.load(Ordering::SeqCst);
        let response = router
            .clone()
            .oneshot(get_request(path, Some(encoding.as_str())))
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(content_encoding(&response), encoding, "{path}");
        assert_eq!(response.headers()["vary"], "accept-encoding");
        let mut client = Client::new(response);
        client.until(&format!("count: {start}<")).await;
        for value in start + 1..=start + 5 {
            state.value.store(value, Ordering::SeqCst);
            state.changed.notify(&());
            client.until(&format!("count: {value}<")).await;
        }
    }

    let response = router
        .oneshot(get_request("/counter/plain", Some("br, zstd, gzip")))
        .await
        .expect("response");
    assert!(response.headers().get("content-encoding").is_none());
    assert!(response.headers().get("vary").is_none());
    Client::new(response).until("count: ").await;
}

#[derive(Clone)]
struct Rooms {
    hub: Hub,
}

async fn join(State(rooms): State<Rooms>, accept: AcceptEncoding) -> LiveStream {
    rooms.hub.client().room("lobby").connect().compress(&accept)
}

#[tokio::test]
async fn hub_streams_compress_every_send() {
    let _serial = serial().await;
    let hub = Hub::new();
    let router = Router::new()
        .route("/lobby", get(join))
        .with_state(Rooms { hub: hub.clone() });
    for encoding in ENCODINGS {
        let response = router
            .clone()
            .oneshot(get_request("/lobby", Some(encoding.as_str())))
            .await
            .expect("response");
        assert_eq!(content_encoding(&response), encoding);
        let mut client = Client::new(response);
        for n in 0..5 {
            settles("joined", || hub.room("lobby").presence() == 1).await;
            hub.room("lobby").send(event_with(n + 1)).expect("sent");
            client.until(&format!("row number {n}<")).await;
        }
        drop(client);
        settles("left", || hub.room("lobby").presence() == 0).await;
    }
}

#[live_view(
    "/counter/chatty",
    shared = (),
    invalidate = [counter.changed.subscribe(&())],
    view = count_view,
    heartbeat = 5ms
)]
async fn counter_chatty(State(counter): State<Counter>) -> Count {
    Count {
        value: counter.value.load(Ordering::SeqCst),
    }
}

impl Client {
    /// Reads the body to its end and decodes all of it with a strict decoder: a stream cut
    /// short fails.
    async fn read_to_end(mut self) -> String {
        let rest = tokio::time::timeout(WAIT, self.body.collect())
            .await
            .expect("the stream ends in time")
            .expect("the body")
            .to_bytes();
        self.raw.extend_from_slice(&rest);
        let wire = &self.raw[..];
        let mut text = String::new();
        use std::io::Read;
        match self.encoding {
            Encoding::Brotli => brotli::Decompressor::new(wire, 4096)
                .read_to_string(&mut text)
                .expect("a whole brotli stream"),
            Encoding::Zstd => zstd::stream::read::Decoder::new(wire)
                .expect("decoder")
                .read_to_string(&mut text)
                .expect("a whole zstd stream"),
            Encoding::Gzip => flate2::read::GzDecoder::new(wire)
                .read_to_string(&mut text)
                .expect("a whole gzip stream with its trailer"),
            Encoding::Identity => {
                text = String::from_utf8(wire.to_vec()).expect("UTF-8");
                text.len()
            }
        };
        text
    }
}

#[tokio::test]
async fn connections_of_a_shared_view_that_start_together_share_compressors() {
    let _serial = serial().await;
    let (router, state) = counter_app();
    for encoding in ENCODINGS {
        let baseline = livestar::compress::open_compressors();
        let start = state.value.load(Ordering::SeqCst);
        let mut clients = Vec::new();
        for _ in 0..60 {
            let response = router
                .clone()
                .oneshot(get_request("/counter/shared", Some(encoding.as_str())))
                .await
                .expect("response");
            assert_eq!(content_encoding(&response), encoding);
            clients.push(Client::new(response));
        }
        // One compressor per retry step at most (17), not one per connection.
        let shared = livestar::compress::open_compressors() - baseline;
        assert!(
            (1..=17).contains(&shared),
            "{encoding}: {shared} compressors for 60"
        );
        for client in &mut clients {
            client.until(&format!("count: {start}<")).await;
        }
        for value in start + 1..=start + 3 {
            state.value.store(value, Ordering::SeqCst);
            state.changed.notify(&());
            for client in &mut clients {
                client.until(&format!("count: {value}<")).await;
            }
        }
        // The groups have sent more than their start: a newcomer forms a group of its own,
        // and decodes like the others.
        let before = livestar::compress::open_compressors();
        let late = router
            .clone()
            .oneshot(get_request("/counter/shared", Some(encoding.as_str())))
            .await
            .expect("response");
        assert_eq!(livestar::compress::open_compressors(), before + 1);
        let mut late = Client::new(late);
        late.until(&format!("count: {}<", start + 3)).await;
        state.value.store(start + 4, Ordering::SeqCst);
        state.changed.notify(&());
        late.until(&format!("count: {}<", start + 4)).await;
        for client in &mut clients {
            client.until(&format!("count: {}<", start + 4)).await;
        }
        drop((clients, late));
        settles("the groups end with their members", || {
            livestar::compress::open_compressors() == baseline
        })
        .await;
    }
}

#[tokio::test]
async fn a_member_that_falls_behind_its_group_ends_with_a_whole_stream() {
    let _serial = serial().await;
    let (router, state) = counter_app();
    for encoding in ENCODINGS {
        let value = state.value.load(Ordering::SeqCst);
        let mut stalled = Client::new(
            router
                .clone()
                .oneshot(get_request("/counter/chatty", Some(encoding.as_str())))
                .await
                .expect("response"),
        );
        stalled.until(&format!("count: {value}<")).await;
        let mut reading = Client::new(
            router
                .clone()
                .oneshot(get_request("/counter/chatty", Some(encoding.as_str())))
                .await
                .expect("response"),
        );
        // Heartbeats every 5 ms: well over the group's queue while `stalled` reads nothing.
        let heartbeats = ": heartbeat\n\n".repeat(150);
        reading.until(&heartbeats).await;
        let text = stalled.read_to_end().await;
        assert!(
            text.contains(&format!("count: {value}<")),
            "{encoding}: {text}"
        );
        assert!(
            text.ends_with("\n\n"),
            "{encoding}: ends after a whole event"
        );
        // The one still reading goes on.
        let more = ": heartbeat\n\n".repeat(160);
        reading.until(&more).await;
    }
}
