//! Two OS processes of `backplane-node` on one broker: a write through process A reaches a
//! live stream connected to process B over a real TCP connection.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use livestar_examples::backplane_node::Broker;

const PATIENCE: Duration = Duration::from_secs(10);

/// A child process killed (and reaped) when dropped, even if the test fails.
struct Node {
    child: Child,
    addr: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_node(broker: &str, url: &str, channel: &str) -> Node {
    let mut child = Command::new(env!("CARGO_BIN_EXE_backplane-node"))
        .args([broker, url, channel, "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("backplane-node starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut node = Node {
        child,
        addr: String::new(),
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(PATIENCE)
        .expect("the node prints its address");
    node.addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    node
}

async fn request(addr: &str, method: &str, path: &str) -> TcpStream {
    let mut socket = tokio::time::timeout(PATIENCE, TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect");
    let head = format!("{method} {path} HTTP/1.1\r\nHost: node\r\nContent-Length: 0\r\n\r\n");
    socket.write_all(head.as_bytes()).await.expect("request");
    socket
}

/// Reads from `socket` until the text received contains `needle`; bounded in time and size.
async fn read_until(socket: &mut TcpStream, needle: &str) -> String {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&received).contains(needle) {
        let n = tokio::time::timeout(PATIENCE, socket.read(&mut buf))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "timed out waiting for {needle:?}; got {:?}",
                    String::from_utf8_lossy(&received)
                )
            })
            .expect("read");
        assert!(n > 0, "connection closed before {needle:?}");
        received.extend_from_slice(&buf[..n]);
        assert!(received.len() < 1 << 20, "no {needle:?} in 1 MiB");
    }
    String::from_utf8_lossy(&received).into_owned()
}

fn required() -> bool {
    std::env::var("LIVESTAR_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

async fn reachable(broker: Broker, url: &str) -> bool {
    match broker.connect(url, "livestar-probe").await {
        Ok(_) => true,
        Err(error) if !required() => {
            eprintln!("SKIPPED: {broker:?} is unreachable ({error})");
            false
        }
        Err(error) => panic!("{broker:?} is required but unreachable: {error}"),
    }
}

async fn a_write_through_a_updates_a_live_stream_on_b(name: &str, broker: Broker, url: String) {
    if !reachable(broker, &url).await {
        return;
    }
    let channel = format!("lstest_mp_{:016x}", fastrand_u64());
    let a = start_node(name, &url, &channel);
    let b = start_node(name, &url, &channel);

    // Chat: a message posted to A appears in B's room stream.
    let mut room_on_b = request(&b.addr, "GET", "/rooms/chat/connect").await;
    // The head arrives once the handler returned, i.e. once the client is in the room.
    read_until(&mut room_on_b, "text/event-stream").await;
    let mut post = request(
        &a.addr,
        "POST",
        "/rooms/chat/messages?text=hello%20from%20A",
    )
    .await;
    read_until(&mut post, "sent").await;
    let received = read_until(&mut room_on_b, "hello from A").await;
    assert!(received.contains("data: mode append"), "{received}");

    // Invalidation: a notify through A wakes B's watcher.
    let mut watch_on_b = request(&b.addr, "GET", "/watch/doc-1").await;
    read_until(&mut watch_on_b, "text/event-stream").await;
    let mut post = request(&a.addr, "POST", "/notify/doc-1").await;
    read_until(&mut post, "notified").await;
    read_until(&mut watch_on_b, ": doc-1 changed").await;
}

fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

#[tokio::test]
async fn redis_a_write_through_a_updates_a_live_stream_on_b() {
    let url =
        std::env::var("LIVESTAR_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    a_write_through_a_updates_a_live_stream_on_b("redis", Broker::Redis, url).await;
}

#[tokio::test]
async fn nats_a_write_through_a_updates_a_live_stream_on_b() {
    let url = std::env::var("LIVESTAR_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    a_write_through_a_updates_a_live_stream_on_b("nats", Broker::Nats, url).await;
}

#[tokio::test]
async fn postgres_a_write_through_a_updates_a_live_stream_on_b() {
    let url = std::env::var("LIVESTAR_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    a_write_through_a_updates_a_live_stream_on_b("postgres", Broker::Postgres, url).await;
}
