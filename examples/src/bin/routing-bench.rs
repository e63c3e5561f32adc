//! Interest routing across processes: 8 worker processes share 10,000 keys (each subscribes to
//! its eighth), a sender notifies every key once, and each worker counts the payloads it
//! received and when each of its keys woke. Run with routing off (every process receives
//! every message) and on (each receives the keys it has subscribers for), side by side.
//!
//! ```text
//! cargo run --release -p livestar-examples --bin routing-bench -- --broker redis
//! cargo run --release -p livestar-examples --bin routing-bench -- --broker nats --rounds 5
//! ```
//!
//! Options: `--broker redis|nats|postgres` (default redis), `--processes N` (8), `--keys N`
//! (10,000), `--rounds N` (3). Reads `LIVESTAR_REDIS_URL`, `LIVESTAR_NATS_URL`,
//! `LIVESTAR_POSTGRES_URL` (local defaults). Every wait is bounded; a worker that does not
//! finish in 60 s is killed and the round reported as failed.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use livestar::backplane::{Backplane, BackplaneBuilder, BackplaneError, Nats, Postgres, Redis};
use livestar::invalidate::Notifier;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const SECRET: &str = "routing-bench secret, not for production";
const DEADLINE: Duration = Duration::from_secs(60);

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn number(args: &[String], name: &str, default: usize) -> usize {
    arg(args, name).map_or(default, |v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} takes a number, not {v:?}"))
    })
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

async fn connect(broker: &str, channel: &str, routing: bool) -> Result<Backplane, BackplaneError> {
    let options: BackplaneBuilder = Backplane::builder()
        .channel(channel)
        .secret(SECRET)
        .route_by_interest(routing)
        // 10,000 notifies at once: room for all of them.
        .max_outbox(256 * 1024 * 1024);
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    match broker {
        "redis" => {
            options
                .connect(Redis::new(&env(
                    "LIVESTAR_REDIS_URL",
                    "redis://127.0.0.1:6379",
                ))?)
                .await
        }
        "nats" => {
            options
                .connect(Nats::new(&env("LIVESTAR_NATS_URL", "nats://127.0.0.1:4222")).await?)
                .await
        }
        "postgres" => {
            options
                .connect(Postgres::new(&env(
                    "LIVESTAR_POSTGRES_URL",
                    "postgres://postgres@127.0.0.1:5432/test",
                ))?)
                .await
        }
        other => panic!("--broker takes redis, nats or postgres, not {other:?}"),
    }
}

/// A worker process: subscribes to its keys, says `ready`, waits for `go` on stdin, then
/// reports each key's wake-up time and the payloads it received.
async fn worker(args: &[String]) {
    let broker = arg(args, "--broker").unwrap_or_default();
    let channel = arg(args, "--channel").unwrap_or_default();
    let routing = arg(args, "--routing").as_deref() == Some("on");
    let index = number(args, "--index", 0);
    let processes = number(args, "--processes", 8);
    let keys = number(args, "--keys", 10_000);
    let backplane = connect(&broker, &channel, routing)
        .await
        .expect("the worker's backplane");
    let notifier: Notifier<u32> = Notifier::with_backplane(&backplane, "bench");
    let mine: Vec<u32> = (0..keys as u32)
        .filter(|key| *key as usize % processes == index)
        .collect();
    let mut subs: Vec<_> = mine.iter().map(|key| notifier.subscribe(key)).collect();
    tokio::time::timeout(DEADLINE, backplane.settled())
        .await
        .expect("routes confirmed");
    // Confirming a route wakes its key once: not what is measured.
    tokio::time::sleep(Duration::from_millis(200)).await;
    for sub in &mut subs {
        let _ = sub.next().now_or_never();
    }
    let before = backplane.received();
    println!("ready");
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let _ = stdin.next_line().await;
    let mut waits: FuturesUnordered<_> = subs
        .iter_mut()
        .zip(&mine)
        .map(|(sub, key)| async move {
            sub.next().await;
            (*key, now_ns())
        })
        .collect();
    let mut woke = Vec::with_capacity(mine.len());
    let _ = tokio::time::timeout(DEADLINE, async {
        while let Some(wake) = waits.next().await {
            woke.push(wake);
        }
    })
    .await;
    drop(waits);
    // Late payloads (the keys of others, without routing) still count.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut out = String::new();
    for (key, at) in &woke {
        out.push_str(&format!("w {key} {at}\n"));
    }
    out.push_str(&format!("received {}\n", backplane.received() - before));
    print!("{out}");
}

struct Round {
    /// Payloads received by each worker.
    received: Vec<u64>,
    /// Notify to wake-up, per key.
    latencies: Vec<Duration>,
    /// First notify to the last wake-up.
    all_woken: Duration,
    missing: usize,
}

async fn round(broker: &str, routing: bool, processes: usize, keys: usize) -> Option<Round> {
    let channel = format!("routing-bench-{:08x}", fastrand::u32(..));
    let exe = std::env::current_exe().expect("this program");
    let mut workers = Vec::new();
    for index in 0..processes {
        let child = tokio::process::Command::new(&exe)
            .args([
                "--worker",
                "--broker",
                broker,
                "--channel",
                &channel,
                "--routing",
                if routing { "on" } else { "off" },
                "--index",
                &index.to_string(),
                "--processes",
                &processes.to_string(),
                "--keys",
                &keys.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("a worker process");
        workers.push(child);
    }
    let mut outputs = Vec::new();
    for worker in &mut workers {
        let stdout = worker.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        match tokio::time::timeout(DEADLINE, lines.next_line()).await {
            Ok(Ok(Some(line))) if line == "ready" => outputs.push(lines),
            other => {
                eprintln!("a worker did not get ready: {other:?}");
                return None;
            }
        }
    }
    let sender = connect(broker, &channel, routing)
        .await
        .expect("the sender");
    let notifier: Notifier<u32> = Notifier::with_backplane(&sender, "bench");
    for worker in &mut workers {
        let stdin = worker.stdin.as_mut().expect("piped stdin");
        stdin.write_all(b"go\n").await.expect("go");
        stdin.flush().await.expect("flush");
    }
    // Give the workers a moment to start waiting.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut sent = HashMap::with_capacity(keys);
    let first = now_ns();
    for key in 0..keys as u32 {
        sent.insert(key, now_ns());
        notifier.notify(&key);
    }
    let mut received = Vec::new();
    let mut latencies = Vec::with_capacity(keys);
    let mut last = first;
    let mut woken = 0;
    for mut lines in outputs {
        let read = tokio::time::timeout(DEADLINE + Duration::from_secs(5), async {
            while let Ok(Some(line)) = lines.next_line().await {
                let parts: Vec<&str> = line.split(' ').collect();
                match parts.as_slice() {
                    ["w", key, at] => {
                        let (key, at): (u32, u128) =
                            (key.parse().unwrap_or(0), at.parse().unwrap_or(0));
                        if let Some(sent) = sent.get(&key) {
                            latencies.push(Duration::from_nanos(at.saturating_sub(*sent) as u64));
                            last = last.max(at);
                            woken += 1;
                        }
                    }
                    ["received", count] => {
                        received.push(count.parse().unwrap_or(0));
                        return;
                    }
                    _ => {}
                }
            }
        })
        .await;
        if read.is_err() {
            eprintln!("a worker did not report in time");
            return None;
        }
    }
    for mut worker in workers {
        let _ = tokio::time::timeout(Duration::from_secs(5), worker.wait()).await;
        let _ = worker.kill().await;
    }
    latencies.sort_unstable();
    Some(Round {
        received,
        latencies,
        all_woken: Duration::from_nanos(last.saturating_sub(first) as u64),
        missing: keys - woken,
    })
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--worker") {
        worker(&args).await;
        return;
    }
    let broker = arg(&args, "--broker").unwrap_or_else(|| "redis".to_owned());
    let processes = number(&args, "--processes", 8);
    let keys = number(&args, "--keys", 10_000);
    let rounds = number(&args, "--rounds", 3);
    if let Err(error) = connect(&broker, "routing-bench-probe", false).await {
        println!("{broker}: unreachable, skipped ({error})");
        return;
    }
    println!(
        "{broker}: {processes} worker processes, {keys} keys spread over them, one notify per key; medians of {rounds} rounds"
    );
    println!(
        "{:<10} {:>22} {:>12} {:>12} {:>12} {:>16} {:>8}",
        "routing", "received per process", "of all", "p50", "p99", "all woken", "missed"
    );
    for routing in [false, true] {
        let (mut per_process, mut p50, mut p99, mut all, mut missed) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), 0);
        for _ in 0..rounds {
            let Some(round) = round(&broker, routing, processes, keys).await else {
                continue;
            };
            let mean =
                round.received.iter().sum::<u64>() as f64 / round.received.len().max(1) as f64;
            per_process.push(mean);
            if !round.latencies.is_empty() {
                let at =
                    |q: f64| round.latencies[((round.latencies.len() - 1) as f64 * q) as usize];
                p50.push(at(0.5).as_secs_f64() * 1e3);
                p99.push(at(0.99).as_secs_f64() * 1e3);
            }
            all.push(round.all_woken.as_secs_f64() * 1e3);
            missed += round.missing;
        }
        if per_process.is_empty() || p50.is_empty() {
            println!(
                "{:<10} every round failed",
                if routing { "on" } else { "off" }
            );
            continue;
        }
        let received = median(&mut per_process);
        println!(
            "{:<10} {:>22.0} {:>11.3}x {:>9.1} ms {:>9.1} ms {:>13.1} ms {:>8}",
            if routing { "on" } else { "off" },
            received,
            received / keys as f64,
            median(&mut p50),
            median(&mut p99),
            median(&mut all),
            missed
        );
    }
}
