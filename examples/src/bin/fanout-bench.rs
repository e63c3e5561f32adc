//! Fan-out latency: from a notify (or a hub send) in one "process" to the wake-up (or event)
//! of each of 1000 subscribers in another, through each transport.
//!
//! ```text
//! cargo run --release -p livestar-examples --bin fanout-bench
//! ```
//!
//! Reads `LIVESTAR_REDIS_URL`, `LIVESTAR_NATS_URL`, `LIVESTAR_POSTGRES_URL` (local defaults);
//! an unreachable broker is reported and skipped.

use std::time::{Duration, Instant};

use futures::future::join_all;
use futures::{FutureExt, StreamExt};
use livestar::backplane::{
    Backplane, BackplaneError, MemoryBroker, Nats, Postgres, Redis, Transport,
};
use livestar::event::Event;
use livestar::hub::Hub;
use livestar::invalidate::Notifier;

const SUBSCRIBERS: usize = 1000;
const ROUNDS: usize = 30;

struct Stats {
    samples: Vec<Duration>,
}

impl Stats {
    fn report(mut self, name: &str) {
        self.samples.sort_unstable();
        let at = |q: f64| self.samples[((self.samples.len() - 1) as f64 * q) as usize];
        println!(
            "{name:<28} p50 {:>9.3} ms   p99 {:>9.3} ms   max {:>9.3} ms   ({} samples)",
            at(0.50).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
            at(1.0).as_secs_f64() * 1e3,
            self.samples.len()
        );
    }
}

/// Waits until `receiver`'s broker routes what the subscriptions made so far need.
async fn settle(receiver: Option<&Backplane>) {
    if let Some(backplane) = receiver {
        backplane.settled().await;
    }
}

async fn notifier_rounds(
    from: Notifier<u64>,
    to: Notifier<u64>,
    receiver: Option<&Backplane>,
) -> Stats {
    let mut subs: Vec<_> = (0..SUBSCRIBERS).map(|_| to.subscribe(&1)).collect();
    settle(receiver).await;
    // Confirming the key's route wakes it once: not what is measured.
    for sub in &mut subs {
        let _ = sub.next().now_or_never();
    }
    let mut samples = Vec::with_capacity(SUBSCRIBERS * ROUNDS);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        from.notify(&1);
        let woken = join_all(subs.iter_mut().map(|s| async move {
            let _ = tokio::time::timeout(Duration::from_secs(10), s.next()).await;
            start.elapsed()
        }))
        .await;
        samples.extend(woken);
    }
    Stats { samples }
}

async fn hub_rounds(from: Hub, to: Hub, receiver: Option<&Backplane>) -> Stats {
    let mut clients: Vec<_> = (0..SUBSCRIBERS)
        .map(|_| Box::pin(to.join_room("bench").into_frames()))
        .collect();
    settle(receiver).await;
    let mut samples = Vec::with_capacity(SUBSCRIBERS * ROUNDS);
    let event: Event = Event::comment("tick");
    for _ in 0..ROUNDS {
        let start = Instant::now();
        if let Err(error) = from.room("bench").send(event.clone()) {
            eprintln!("send failed: {error}");
        }
        let received = join_all(clients.iter_mut().map(|c| async move {
            let _ = tokio::time::timeout(Duration::from_secs(10), c.next()).await;
            start.elapsed()
        }))
        .await;
        samples.extend(received);
    }
    Stats { samples }
}

async fn pair<T: Transport>(
    make: impl Fn() -> Result<T, BackplaneError>,
) -> Result<(Backplane, Backplane), BackplaneError> {
    let channel = format!("livestar-bench-{:08x}", std::process::id());
    let a = Backplane::builder()
        .channel(&channel)
        .connect(make()?)
        .await?;
    let b = Backplane::builder()
        .channel(&channel)
        .connect(make()?)
        .await?;
    Ok((a, b))
}

async fn bench(name: &str, backplanes: Result<(Backplane, Backplane), BackplaneError>) {
    match backplanes {
        Ok((a, b)) => {
            notifier_rounds(
                Notifier::with_backplane(&a, "bench"),
                Notifier::with_backplane(&b, "bench"),
                Some(&b),
            )
            .await
            .report(&format!("{name} notify->wake"));
            hub_rounds(Hub::with_backplane(&a), Hub::with_backplane(&b), Some(&b))
                .await
                .report(&format!("{name} send->event"));
        }
        Err(error) => println!("{name:<28} skipped: {error}"),
    }
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() {
    println!("{SUBSCRIBERS} subscribers in process B, {ROUNDS} rounds, published from process A\n");
    let local = Notifier::new();
    notifier_rounds(local.clone(), local, None)
        .await
        .report("in-process notify->wake");
    let hub = Hub::new();
    hub_rounds(hub.clone(), hub, None)
        .await
        .report("in-process send->event");

    let memory = MemoryBroker::new();
    bench("memory", pair(|| Ok(memory.clone())).await).await;
    let redis = env("LIVESTAR_REDIS_URL", "redis://127.0.0.1:6379");
    bench("redis", pair(|| Redis::new(&redis)).await).await;
    let postgres = env(
        "LIVESTAR_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:5432/test",
    );
    bench("postgres", pair(|| Postgres::new(&postgres)).await).await;
    let nats = env("LIVESTAR_NATS_URL", "nats://127.0.0.1:4222");
    let nats_pair = async {
        let channel = format!("livestar-bench-{:08x}", std::process::id());
        let a = Backplane::builder()
            .channel(&channel)
            .connect(Nats::new(&nats).await?)
            .await?;
        let b = Backplane::builder()
            .channel(&channel)
            .connect(Nats::new(&nats).await?)
            .await?;
        Ok((a, b))
    };
    bench("nats", nats_pair.await).await;
}
