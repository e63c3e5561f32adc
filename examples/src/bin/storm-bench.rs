//! Fan-out under a reconnect storm: N clients of one room or one view, on real sockets, three
//! servers side by side in one run.
//!
//! - `axum`: the baseline, a bare axum SSE broadcast written here (a `tokio::sync::broadcast`
//!   of `Bytes`, each event encoded once, the current view sent first).
//! - `hub`: a [`Hub`] room with a loader for the current view and presence on (a task sends
//!   the room its count, as the demo's chat does).
//! - `live`: a shared-key live view (`#[live_view(.., shared = ())]`) woken by a `Notify`.
//! - `live-zstd`: the same live view, its clients sending `Accept-Encoding: zstd`: the
//!   connections that start together share a compressor (livestar's default).
//! - `live-zstd-own`: the same with a compressor per connection
//!   (`Compression::default().share(false)`), as every other SDK compresses.
//!
//! The clients of the two compressed servers take the chunked framing off and decode each
//! stream with zstd as a browser would, and time each change by its marker in the decoded
//! text.
//!
//! Every event is a ~1 KB `datastar-patch-elements` of the same view. For each server and each
//! N, a fresh server process is pinned to core 0 and a raw-TCP client process to core 1. The
//! client opens N connections within `--storm-ms` (as after a deploy, when every tab
//! reconnects at once) and waits for every initial render; then, once per round, it asks the
//! server for a change (`POST /trigger`) and times the change to the last client. It reads
//! the server's RSS (`GET /stats`) before the storm, with every connection open, and after
//! they all closed.
//!
//! ```text
//! cargo build --release -p livestar-examples --bin storm-bench
//! target/release/storm-bench                       # N = 1000, 10000, 19000; 3 runs
//! target/release/storm-bench --n 10000 --runs 5 --rounds 30 --only hub,live
//! ```
//!
//! The driver raises the open-file limit of both children with `ulimit -n` (the hard limit
//! on the machine the README's figures come from is 20,000, hence 19,000 rather than 20,000)
//! and pins them with `taskset` when it is installed. Sockets close with `SO_LINGER` 0, so
//! successive runs do not exhaust the ephemeral ports with `TIME_WAIT`. Both children
//! allocate with jemalloc with its background thread on, as the demo does: it returns the
//! memory of closed connections to the system within its decay time (10 s; the client waits
//! `--settle-s`, 12 s, before the last reading). With mimalloc the same server stayed at
//! 330 MB after 10,000 connections closed (it purges only when it next allocates), and glibc's
//! allocator keeps hundreds of MB of freed heap mapped.
//!
//! The table reports the median over runs of: the time from the first connect to the last
//! initial render; trigger to last client, p50/p99/max over the rounds of the run; server RSS
//! per open connection (RSS with N open minus RSS before, over N); RSS after every connection
//! closed; clients disconnected while they were reading (any is a failure); and, for the live
//! view, loads per wake-up.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use livestar::compress::Compression;
use livestar::event::Event;
use livestar::hub::Hub;
use livestar::prelude::*;
use livestar::stream::LiveStream;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, broadcast};

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The servers measured, in the order of the table.
const KINDS: [&str; 6] = [
    "axum",
    "stream",
    "hub",
    "live",
    "live-zstd",
    "live-zstd-own",
];
/// The longest a client waits for one round, or for the initial renders.
const ROUND_TIMEOUT: Duration = Duration::from_secs(20);
const STORM_TIMEOUT: Duration = Duration::from_secs(120);

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1..]),
        Some("client") => client(&args[1..]),
        _ => drive(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("storm-bench: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `--name value` from `args`, parsed, or `default`.
fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(at) => args
            .get(at + 1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{name} needs a value")),
    }
}

// ---------------------------------------------------------------------------------------
// The view every server sends.

/// The view at `round`: about 1 KB, with a marker the client finds without parsing HTML.
fn view_html(round: u64) -> String {
    let mut html = format!("<div id=\"view\"><h2>~r{round}~</h2><ul>");
    for n in 0..24 {
        html.push_str(&format!("<li id=\"item-{n}\">item {n} of the list</li>"));
    }
    html.push_str("</ul></div>");
    html
}

// ---------------------------------------------------------------------------------------
// Servers.

#[derive(Clone)]
struct App {
    round: Arc<AtomicU64>,
    loads: Arc<AtomicU64>,
    changed: Arc<Notify>,
    hub: Hub,
    broadcast: broadcast::Sender<Bytes>,
    current: Arc<std::sync::Mutex<Bytes>>,
    events: broadcast::Sender<Event>,
    current_event: Arc<std::sync::Mutex<Event>>,
}

fn view_event(round: u64) -> Event {
    Event::patch_elements(Html::from_trusted(view_html(round))).into()
}

/// The baseline's encoding of a view: one SSE event, by hand.
fn encode_by_hand(round: u64) -> Bytes {
    Bytes::from(format!(
        "event: datastar-patch-elements\ndata: elements {}\n\n",
        view_html(round)
    ))
}

#[derive(Serialize, Deserialize, Default, Clone, Copy)]
struct ServerStats {
    rss_kib: u64,
    /// CPU time of the whole process (user and system), in milliseconds.
    cpu_ms: u64,
    clients: usize,
    loads: u64,
    /// The compressors alive (`livestar::compress::open_compressors`).
    compressors: usize,
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// User and system time of the process, from `/proc/self/stat` (in clock ticks of 10 ms).
fn cpu_ms() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |at: usize| {
        fields
            .get(at)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) * 10
}

async fn stats(State((app, kind)): State<(App, &'static str)>) -> axum::Json<ServerStats> {
    let clients = match kind {
        "axum" => app.broadcast.receiver_count(),
        "stream" => app.events.receiver_count(),
        "hub" => app.hub.clients(),
        _ => livestar::live::open_views(),
    };
    axum::Json(ServerStats {
        rss_kib: rss_kib(),
        cpu_ms: cpu_ms(),
        clients,
        loads: app.loads.load(Ordering::Relaxed),
        compressors: livestar::compress::open_compressors(),
    })
}

async fn trigger(State((app, kind)): State<(App, &'static str)>) -> &'static str {
    let round = app.round.fetch_add(1, Ordering::SeqCst) + 1;
    match kind {
        "axum" => {
            let event = encode_by_hand(round);
            if let Ok(mut current) = app.current.lock() {
                *current = event.clone();
            }
            let _ = app.broadcast.send(event);
        }
        "stream" => {
            let event = view_event(round);
            if let Ok(mut current) = app.current_event.lock() {
                *current = event.clone();
            }
            let _ = app.events.send(event);
        }
        "hub" => {
            if app.hub.room("bench").send(view_event(round)).is_err() {
                return "not sent";
            }
        }
        _ => app.changed.notify_waiters(),
    }
    "ok"
}

async fn axum_live(State((app, _)): State<(App, &'static str)>) -> Response {
    let mut receiver = app.broadcast.subscribe();
    let first = app
        .current
        .lock()
        .map(|current| current.clone())
        .unwrap_or_default();
    let body = async_stream::stream! {
        yield Ok::<_, std::convert::Infallible>(first);
        loop {
            match receiver.recv().await {
                Ok(event) => yield Ok(event),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    };
    (
        [
            ("content-type", "text/event-stream"),
            ("cache-control", "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// The baseline's broadcast through a hand-written [`livestar::stream`]: what the runtime's
/// response (heartbeats, shutdown, the retry hint) adds to the bare broadcast.
async fn stream_live(State((app, _)): State<(App, &'static str)>) -> LiveStream {
    let mut receiver = app.events.subscribe();
    let first = app
        .current_event
        .lock()
        .map(|current| current.clone())
        .unwrap_or_else(|_| Event::comment("poisoned"));
    livestar::stream(async_stream::stream! {
        yield first;
        loop {
            match receiver.recv().await {
                Ok(event) => yield event,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    })
}

async fn hub_live(State((app, _)): State<(App, &'static str)>) -> LiveStream {
    app.hub.join_room("bench")
}

#[derive(Clone, PartialEq)]
struct Round(u64);

#[live_view("/live/view", shared = (), invalidate = [app.changed.clone()], view = round_view)]
async fn shared_live(State((app, _)): State<(App, &'static str)>) -> Round {
    app.loads.fetch_add(1, Ordering::Relaxed);
    Round(app.round.load(Ordering::SeqCst))
}

fn round_view(round: &Round) -> Html {
    Html::from_trusted(view_html(round.0))
}

fn serve(args: &[String]) -> Result<(), String> {
    let kind: &'static str = match flag(args, "--kind", String::new())?.as_str() {
        "axum" => "axum",
        "stream" => "stream",
        "hub" => "hub",
        "live" => "live",
        "live-zstd" => "live-zstd",
        "live-zstd-own" => "live-zstd-own",
        other => return Err(format!("--kind {other:?}: one of {}", KINDS.join(", "))),
    };
    if kind == "live-zstd-own" {
        livestar::compress::set_default(Compression::default().share(false));
    }
    // Every stream compressed, however many: the figures compare the compression's cost.
    livestar::compress::limit_memory(None);
    if let Err(error) = tikv_jemalloc_ctl::background_thread::write(true) {
        eprintln!("storm-bench: jemalloc's background thread is off: {error}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let round = Arc::new(AtomicU64::new(0));
        let hub = Hub::builder()
            .room_loader({
                let round = round.clone();
                move |_room: String| {
                    let html = view_html(round.load(Ordering::SeqCst));
                    async move { Event::patch_elements(Html::from_trusted(html)) }
                }
            })
            .build();
        let app = App {
            round,
            loads: Arc::new(AtomicU64::new(0)),
            changed: Arc::new(Notify::new()),
            hub: hub.clone(),
            broadcast: broadcast::channel(16).0,
            current: Arc::new(std::sync::Mutex::new(encode_by_hand(0))),
            events: broadcast::channel(16).0,
            current_event: Arc::new(std::sync::Mutex::new(view_event(0))),
        };
        if kind == "hub" {
            tokio::spawn(async move {
                let mut changes = hub.room("bench").presence_changes();
                while futures::StreamExt::next(&mut changes).await.is_some() {
                    let count = hub.room("bench").presence();
                    let badge =
                        Html::from_trusted(format!("<span id=\"presence\">{count} online</span>"));
                    let _ = hub.room("bench").send(Event::patch_elements(badge));
                }
            });
        }
        let router = Router::new()
            .route("/live", get(axum_live))
            .route("/stream/live", get(stream_live))
            .route("/hub/live", get(hub_live))
            .merge(shared_live::route())
            .route("/trigger", post(trigger))
            .route("/stats", get(stats))
            .with_state((app, kind));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        println!("listening {port}");
        axum::serve(listener, router)
            .await
            .map_err(|e| e.to_string())
    })
}

// ---------------------------------------------------------------------------------------
// The client.

/// What one connection has seen: the newest round plus one (0: nothing yet), and when
/// (nanoseconds since the start).
#[derive(Default)]
struct Slot {
    seen: AtomicU64,
    at: AtomicU64,
}

/// The bytes of one read searched again with the next, so that no marker is cut.
const CARRY: usize = 32;

/// What the connections and the rounds share. The client runs on one thread, so a round's
/// bookkeeping (between two awaits) never interleaves with a connection's.
struct Shared {
    start: Instant,
    slots: Vec<Slot>,
    /// Connections whose `seen` reached `target`.
    arrived: AtomicUsize,
    /// The round awaited, plus one.
    target: AtomicU64,
    /// Connections whose stream ended or failed.
    ended: AtomicUsize,
    connect_errors: AtomicUsize,
}

/// One client's report, printed as a line of JSON for the driver.
#[derive(Serialize, Deserialize, Default, Clone)]
struct Report {
    n: usize,
    initial_ms: f64,
    last_client_ms: Vec<f64>,
    /// Server CPU time per round (the trigger, the render, every client's write).
    cpu_per_round_ms: f64,
    rss_before_kib: u64,
    rss_open_kib: u64,
    rss_closed_kib: u64,
    clients_after_close: usize,
    /// The compressors alive with every connection open.
    compressors: usize,
    disconnects: usize,
    connect_errors: usize,
    loads_per_wakeup: f64,
}

/// `~r<digits>~` markers in `bytes`: the largest round found.
fn newest_round(bytes: &[u8]) -> Option<u64> {
    let mut newest = None;
    for at in memchr::memmem::find_iter(bytes, b"~r") {
        let digits = &bytes[at + 2..];
        let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
        if len > 0 && digits.get(len) == Some(&b'~') {
            let round = std::str::from_utf8(&digits[..len])
                .ok()
                .and_then(|s| s.parse().ok());
            newest = newest.max(round);
        }
    }
    newest
}

/// The body of a chunked HTTP/1.1 response, taken from the bytes off the socket.
#[derive(Default)]
struct Dechunk {
    pending: Vec<u8>,
    head_done: bool,
    /// Whether the response said `Content-Encoding: zstd`.
    zstd: bool,
    /// Bytes of the current chunk still to come.
    remaining: usize,
    /// Bytes of the `\r\n` after a chunk still to skip.
    trailer: usize,
}

impl Dechunk {
    /// Takes `bytes` off the socket and hands every piece of body in them to `body`, with
    /// whether the body is compressed.
    fn feed(&mut self, bytes: &[u8], mut body: impl FnMut(&[u8], bool)) {
        self.pending.extend_from_slice(bytes);
        let mut at = 0;
        loop {
            let rest = &self.pending[at..];
            if !self.head_done {
                match memchr::memmem::find(rest, b"\r\n\r\n") {
                    Some(end) => {
                        let head = String::from_utf8_lossy(&rest[..end]).to_ascii_lowercase();
                        self.zstd = head.contains("\r\ncontent-encoding: zstd");
                        at += end + 4;
                        self.head_done = true;
                    }
                    None => break,
                }
            } else if self.remaining > 0 {
                if rest.is_empty() {
                    break;
                }
                let take = self.remaining.min(rest.len());
                body(&rest[..take], self.zstd);
                at += take;
                self.remaining -= take;
                if self.remaining == 0 {
                    self.trailer = 2;
                }
            } else if self.trailer > 0 {
                let take = self.trailer.min(rest.len());
                if take == 0 {
                    break;
                }
                at += take;
                self.trailer -= take;
            } else {
                match memchr::memmem::find(rest, b"\r\n") {
                    Some(end) => {
                        let line = std::str::from_utf8(&rest[..end]).unwrap_or("0");
                        let size = line.split(';').next().unwrap_or("0").trim();
                        self.remaining = usize::from_str_radix(size, 16).unwrap_or(0);
                        at += end + 2;
                        if self.remaining == 0 {
                            self.trailer = 2;
                        }
                    }
                    None => break,
                }
            }
        }
        self.pending.drain(..at);
    }
}

/// What a connection reads its stream through: as it comes, or decoded from zstd.
enum Reader {
    Plain,
    Zstd(
        Box<Dechunk>,
        Box<zstd::stream::write::Decoder<'static, Vec<u8>>>,
    ),
}

async fn connection(
    addr: SocketAddr,
    request: Arc<[u8]>,
    shared: Arc<Shared>,
    index: usize,
    zstd: bool,
) {
    let mut reader = if zstd {
        match zstd::stream::write::Decoder::new(Vec::new()) {
            Ok(decoder) => Reader::Zstd(Box::default(), Box::new(decoder)),
            Err(_) => {
                shared.connect_errors.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    } else {
        Reader::Plain
    };
    let stream = match TcpStream::connect(addr).await {
        Ok(stream) => stream,
        Err(_) => {
            shared.connect_errors.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    // A zero linger resets the connection on close at once (it never blocks, the reason the
    // method is deprecated), and leaves no `TIME_WAIT` to exhaust the ports of later runs.
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
    let _ = stream.set_nodelay(true);
    let mut stream = stream;
    if stream.write_all(&request).await.is_err() {
        shared.connect_errors.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let slot = &shared.slots[index];
    // A marker may be cut by a read: the tail of the previous read is searched again.
    let mut buf = vec![0u8; 4096 + CARRY];
    let mut carry = 0;
    loop {
        match stream.read(&mut buf[carry..]).await {
            Ok(0) | Err(_) => break,
            Ok(read) => {
                let len = carry + read;
                let newest = match &mut reader {
                    Reader::Plain => newest_round(&buf[..len]),
                    Reader::Zstd(dechunk, decoder) => {
                        let mut failed = false;
                        dechunk.feed(&buf[carry..len], |body, zstd| {
                            if zstd {
                                failed |= std::io::Write::write_all(decoder.as_mut(), body)
                                    .is_err()
                                    || std::io::Write::flush(decoder.as_mut()).is_err();
                            } else {
                                decoder.get_mut().extend_from_slice(body);
                            }
                        });
                        if failed {
                            break;
                        }
                        let decoded = decoder.get_mut();
                        let newest = newest_round(decoded);
                        let keep = decoded.len().min(CARRY);
                        decoded.drain(..decoded.len() - keep);
                        newest
                    }
                };
                if let Some(round) = newest {
                    let seen = round + 1;
                    let before = slot.seen.load(Ordering::Relaxed);
                    if seen > before {
                        let at = shared.start.elapsed().as_nanos() as u64;
                        slot.at.store(at, Ordering::Relaxed);
                        slot.seen.store(seen, Ordering::Relaxed);
                        let target = shared.target.load(Ordering::Relaxed);
                        if seen >= target && before < target {
                            shared.arrived.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                if matches!(reader, Reader::Plain) {
                    carry = len.min(CARRY);
                    buf.copy_within(len - carry..len, 0);
                }
            }
        }
    }
    shared.ended.fetch_add(1, Ordering::Relaxed);
}

async fn request(addr: SocketAddr, method: &str, path: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    let response = String::from_utf8_lossy(&response).into_owned();
    match response.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_owned()),
        _ => Err(format!("{method} {path}: {response}")),
    }
}

async fn server_stats(addr: SocketAddr) -> Result<ServerStats, String> {
    let body = request(addr, "GET", "/stats").await?;
    serde_json::from_str(body.trim()).map_err(|e| format!("/stats: {e}: {body}"))
}

/// Waits until `arrived` reaches the connections still open, or `timeout`.
async fn all_arrived(shared: &Shared, n: usize, timeout: Duration) -> bool {
    let until = Instant::now() + timeout;
    loop {
        let open = n
            - shared.ended.load(Ordering::Relaxed)
            - shared.connect_errors.load(Ordering::Relaxed);
        if shared.arrived.load(Ordering::Relaxed) >= open {
            return true;
        }
        if Instant::now() > until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn client(args: &[String]) -> Result<(), String> {
    let port: u16 = flag(args, "--port", 0)?;
    let path: String = flag(args, "--path", String::from("/live"))?;
    let n: usize = flag(args, "--n", 1000)?;
    let rounds: usize = flag(args, "--rounds", 20)?;
    let storm = Duration::from_millis(flag(args, "--storm-ms", 1500)?);
    let settle = Duration::from_secs(flag(args, "--settle-s", 12)?);
    let accept: String = flag(args, "--accept", String::new())?;
    let zstd = accept == "zstd";
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let report = runtime.block_on(async move {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let before = server_stats(addr).await?;
        let shared = Arc::new(Shared {
            start: Instant::now(),
            slots: (0..n).map(|_| Slot::default()).collect(),
            arrived: AtomicUsize::new(0),
            target: AtomicU64::new(1),
            ended: AtomicUsize::new(0),
            connect_errors: AtomicUsize::new(0),
        });
        let accept_encoding = if zstd { "Accept-Encoding: zstd\r\n" } else { "" };
        let open_stream: Arc<[u8]> = format!(
            "GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n{accept_encoding}\r\n"
        )
        .into_bytes()
        .into();
        // The storm: connections opened at an even rate over `storm`.
        let mut tasks = Vec::with_capacity(n);
        for index in 0..n {
            let due = storm.mul_f64(index as f64 / n as f64);
            let elapsed = shared.start.elapsed();
            if due > elapsed {
                tokio::time::sleep(due - elapsed).await;
            }
            tasks.push(tokio::spawn(connection(
                addr,
                open_stream.clone(),
                shared.clone(),
                index,
                zstd,
            )));
        }
        if !all_arrived(&shared, n, STORM_TIMEOUT).await {
            return Err(format!(
                "initial renders: {} of {n} after {STORM_TIMEOUT:?}",
                shared.arrived.load(Ordering::Relaxed)
            ));
        }
        let initial = shared
            .slots
            .iter()
            .map(|slot| slot.at.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0);
        // Presence settles (its interval is 250 ms) before the rounds.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let open = server_stats(addr).await?;
        let loads_before = open.loads;
        let mut last_client_ms = Vec::with_capacity(rounds);
        for round in 1..=rounds as u64 {
            let target = round + 1;
            shared.target.store(target, Ordering::Relaxed);
            // A connection that saw the round before the target moved counts too.
            let early = shared
                .slots
                .iter()
                .filter(|slot| slot.seen.load(Ordering::Relaxed) >= target)
                .count();
            shared.arrived.store(early, Ordering::Relaxed);
            let sent = shared.start.elapsed().as_nanos() as u64;
            request(addr, "POST", "/trigger").await?;
            if !all_arrived(&shared, n, ROUND_TIMEOUT).await {
                return Err(format!(
                    "round {round}: {} of {n} after {ROUND_TIMEOUT:?}",
                    shared.arrived.load(Ordering::Relaxed)
                ));
            }
            let last = shared
                .slots
                .iter()
                .filter(|slot| slot.seen.load(Ordering::Relaxed) >= target)
                .map(|slot| slot.at.load(Ordering::Relaxed))
                .max()
                .unwrap_or(sent);
            last_client_ms.push(last.saturating_sub(sent) as f64 / 1e6);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let disconnects = shared.ended.load(Ordering::Relaxed);
        let after_rounds = server_stats(addr).await?;
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
        // The server notices the resets, drops its streams, and returns their memory.
        let until = Instant::now() + Duration::from_secs(30);
        let mut closed = server_stats(addr).await?;
        while closed.clients > 0 && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(100)).await;
            closed = server_stats(addr).await?;
        }
        // The allocator returns freed pages to the system after its decay time (jemalloc's
        // `dirty_decay_ms`, 10 s by default, on its background thread): the server answers a
        // request every 100 ms for `settle`, as a server in use would.
        let mut closed_after = closed;
        for _ in 0..settle.as_millis() / 100 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            closed_after = server_stats(addr).await?;
        }
        Ok::<_, String>(Report {
            n,
            initial_ms: initial as f64 / 1e6,
            last_client_ms,
            rss_before_kib: before.rss_kib,
            rss_open_kib: open.rss_kib,
            rss_closed_kib: closed_after.rss_kib,
            clients_after_close: closed.clients,
            compressors: open.compressors,
            disconnects,
            connect_errors: shared.connect_errors.load(Ordering::Relaxed),
            loads_per_wakeup: (after_rounds.loads - loads_before) as f64 / rounds as f64,
            cpu_per_round_ms: (after_rounds.cpu_ms - open.cpu_ms) as f64 / rounds as f64,
        })
    })?;
    println!(
        "{}",
        serde_json::to_string(&report).map_err(|e| e.to_string())?
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The driver.

/// A child of the driver with a raised open-file limit, pinned to `core` when `taskset` is
/// installed and the machine has two cores.
fn spawn_pinned(core: usize, args: &[&str]) -> Result<Child, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let pin = std::thread::available_parallelism().map_or(1, usize::from) >= 2
        && Command::new("taskset")
            .arg("-V")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    let script = if pin {
        format!("ulimit -n 20000 && exec taskset -c {core} \"$0\" \"$@\"")
    } else {
        String::from("ulimit -n 20000 && exec \"$0\" \"$@\"")
    };
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(exe)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())
}

fn run_once(kind: &str, n: usize, rounds: usize, storm_ms: u64) -> Result<Report, String> {
    let mut server = spawn_pinned(0, &["serve", "--kind", kind])?;
    let result = (|| {
        let stdout = server.stdout.take().ok_or("server: no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let port = line
            .trim()
            .strip_prefix("listening ")
            .ok_or_else(|| format!("server: {line:?}"))?
            .to_owned();
        let path = match kind {
            "axum" => "/live",
            "stream" => "/stream/live",
            "hub" => "/hub/live",
            _ => "/live/view",
        };
        let (n, rounds, storm_ms) = (n.to_string(), rounds.to_string(), storm_ms.to_string());
        let accept = if kind.contains("zstd") {
            "zstd"
        } else {
            "none"
        };
        let client = spawn_pinned(
            1,
            &[
                "client",
                "--port",
                &port,
                "--path",
                path,
                "--n",
                &n,
                "--rounds",
                &rounds,
                "--storm-ms",
                &storm_ms,
                "--accept",
                accept,
            ],
        )?;
        let output = client.wait_with_output().map_err(|e| e.to_string())?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!("client failed ({kind}, n = {n})"));
        }
        serde_json::from_str(stdout.trim()).map_err(|e| format!("client: {e}: {stdout}"))
    })();
    let _ = server.kill();
    let _ = server.wait();
    result
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        len if len % 2 == 1 => values[len / 2],
        len => (values[len / 2 - 1] + values[len / 2]) / 2.0,
    }
}

fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
        .get(((sorted.len().max(1) - 1) as f64 * q).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

fn drive(args: &[String]) -> Result<(), String> {
    let ns: String = flag(args, "--n", String::from("1000,10000,19000"))?;
    let ns: Vec<usize> = ns
        .split(',')
        .map(|n| n.trim().parse().map_err(|_| format!("--n: {n:?}")))
        .collect::<Result<_, _>>()?;
    let only: String = flag(args, "--only", KINDS.join(","))?;
    let kinds: Vec<&str> = KINDS
        .into_iter()
        .filter(|k| only.split(',').any(|o| o == *k))
        .collect();
    let runs: usize = flag(args, "--runs", 3)?;
    let rounds: usize = flag(args, "--rounds", 20)?;
    let storm_ms: u64 = flag(args, "--storm-ms", 1500)?;
    let mut reports: Vec<(usize, &str, Report)> = Vec::new();
    for run in 1..=runs {
        for &n in &ns {
            for &kind in &kinds {
                let report = run_once(kind, n, rounds, storm_ms)?;
                eprintln!(
                    "run {run} {kind:>4} n={n:>5}: initial {:8.1} ms, last client p50 {:7.1} ms, cpu/round {:6.1} ms, {:5.1} KiB/conn, closed {:6} KiB, {} disconnects, {} compressors",
                    report.initial_ms,
                    quantile(&report.last_client_ms, 0.5),
                    report.cpu_per_round_ms,
                    (report.rss_open_kib as f64 - report.rss_before_kib as f64) / n as f64,
                    report.rss_closed_kib,
                    report.disconnects,
                    report.compressors
                );
                reports.push((n, kind, report));
            }
        }
    }
    println!(
        "| N | server | all initial renders | trigger -> last client p50 / p99 / max | server CPU per round | RSS per connection | RSS before -> after close | disconnects | loads per wake-up | compressors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for &n in &ns {
        for &kind in &kinds {
            let of: Vec<&Report> = reports
                .iter()
                .filter(|(rn, rk, _)| *rn == n && *rk == kind)
                .map(|(_, _, r)| r)
                .collect();
            let med = |f: &dyn Fn(&Report) -> f64| {
                median(&mut of.iter().map(|r| f(r)).collect::<Vec<_>>())
            };
            let loads = if kind.starts_with("live") {
                format!("{:.2}", med(&|r| r.loads_per_wakeup))
            } else {
                String::from("-")
            };
            println!(
                "| {n} | {kind} | {:.0} ms | {:.1} / {:.1} / {:.1} ms | {:.1} ms | {:.1} KiB | {:.1} -> {:.1} MB | {} | {loads} | {:.0} |",
                med(&|r| r.initial_ms),
                med(&|r| quantile(&r.last_client_ms, 0.5)),
                med(&|r| quantile(&r.last_client_ms, 0.99)),
                med(&|r| quantile(&r.last_client_ms, 1.0)),
                med(&|r| r.cpu_per_round_ms),
                med(&|r| (r.rss_open_kib as f64 - r.rss_before_kib as f64) / r.n as f64),
                med(&|r| r.rss_before_kib as f64) / 1024.0,
                med(&|r| r.rss_closed_kib as f64) / 1024.0,
                of.iter()
                    .map(|r| r.disconnects + r.connect_errors)
                    .max()
                    .unwrap_or(0),
                med(&|r| r.compressors as f64),
            );
        }
    }
    Ok(())
}
