//! What a process sees after an outage of the broker: the current state, never an old backlog,
//! and heals that come calmly, at most one per window however often the broker flaps.

mod support_services;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use livestar::backplane::{Backplane, BackplaneError, Inbox, MemoryBroker, Transport};
use livestar::event::Event;
use livestar::hub::Hub;
use support_services::{next_frame, options, unique, within};

fn patch(n: u64) -> Event {
    Event::patch_signals(serde_json::json!({ "n": n })).into()
}

/// Waits (bounded) until `backplane` has noticed the broker is gone.
async fn disconnected(backplane: &Backplane) {
    within("the backplane to notice the outage", async {
        while backplane.is_connected() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

/// A memory broker whose publishing side can be cut, the subscription staying up: the other
/// processes do not heal on their own, so only what this one sends decides what they show.
struct CutPublisher {
    broker: MemoryBroker,
    cut: Arc<std::sync::atomic::AtomicBool>,
}

impl Transport for CutPublisher {
    fn name(&self) -> &'static str {
        "cut-publisher"
    }
    fn max_payload(&self) -> usize {
        self.broker.max_payload()
    }
    fn subscribe<'a>(&'a self, channel: &'a str) -> BoxFuture<'a, Result<Inbox, BackplaneError>> {
        self.broker.subscribe(channel)
    }
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        payloads: &'a [Bytes],
    ) -> BoxFuture<'a, Result<(), BackplaneError>> {
        if self.cut.load(Ordering::SeqCst) {
            return Box::pin(async { Err(BackplaneError::new("cut-publisher", "unreachable")) });
        }
        self.broker.publish(channel, payloads)
    }
}

#[tokio::test]
async fn after_20000_patches_sent_during_an_outage_every_remote_tab_ends_on_the_last_state() {
    let broker = MemoryBroker::new();
    let channel = unique("heal");
    // 64 KiB of outbox: the 20,000 patches (about 1.5 MB on the wire) overflow it.
    let cut = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let connect = |transport| {
        options(&channel)
            .max_outbox(64 * 1024)
            .heal_window(Duration::from_millis(200))
            .connect(transport)
    };
    let a = connect(CutPublisher {
        broker: broker.clone(),
        cut: cut.clone(),
    })
    .await
    .expect("a");
    let b = connect(CutPublisher {
        broker: broker.clone(),
        cut: Arc::default(),
    })
    .await
    .expect("b");
    // The app's state, shared by both processes (a database in real life).
    let state = Arc::new(AtomicU64::new(0));
    let loaded = state.clone();
    let hub_a = Hub::with_backplane(&a);
    let hub_b = Hub::builder()
        .backplane(&b, "hub")
        .room_loader(move |_room: String| {
            let n = loaded.load(Ordering::SeqCst);
            async move { patch(n) }
        })
        .build();
    let mut tabs: Vec<_> = (0..3)
        .map(|_| hub_b.join_room("counter").into_frames())
        .collect();
    for tab in &mut tabs {
        assert!(next_frame(tab).await.contains(r#"{"n":0}"#));
    }

    cut.store(true, Ordering::SeqCst);
    for n in 1..=20_000 {
        state.store(n, Ordering::SeqCst);
        hub_a.room("counter").send(patch(n)).expect("sent locally");
    }
    let dropped = a.dropped();
    assert!(dropped > 19_000, "only {dropped} of 20,000 dropped");
    assert!(b.is_connected(), "b keeps its subscription");
    let heals_before = b.heals();
    cut.store(false, Ordering::SeqCst);

    for tab in &mut tabs {
        // Every frame after the outage is a reload of the current state: none of the backlog
        // (which would be an older n) arrives, before or after it.
        let mut frames = Vec::new();
        loop {
            let frame = next_frame(tab).await;
            let last = frame.contains(r#"{"n":20000}"#);
            frames.push(frame);
            if last {
                break;
            }
        }
        assert_eq!(frames.len(), 1, "frames after the outage: {frames:?}");
    }
    // b healed once, for a's heal message (its own subscription never dropped).
    assert_eq!(b.healed_after(heals_before).await, heals_before + 1);
    for tab in &mut tabs {
        while let Ok(Some(frame)) =
            tokio::time::timeout(Duration::from_millis(500), tab.next()).await
        {
            let frame = String::from_utf8_lossy(&frame).into_owned();
            assert!(frame.contains(r#"{"n":20000}"#), "a stale frame: {frame:?}");
        }
    }
}

#[tokio::test]
async fn a_backlog_that_waited_for_the_broker_is_followed_by_a_heal() {
    let broker = MemoryBroker::new();
    let channel = unique("heal");
    let connect = |broker: MemoryBroker| {
        options(&channel)
            .heal_window(Duration::ZERO)
            .connect(broker)
    };
    let a = connect(broker.clone()).await.expect("a");
    let b = connect(broker.clone()).await.expect("b");
    let hub_a = Hub::with_backplane(&a);
    let state = Arc::new(AtomicU64::new(0));
    let loaded = state.clone();
    let hub_b = Hub::builder()
        .backplane(&b, "hub")
        .room_loader(move |_room: String| {
            let n = loaded.load(Ordering::SeqCst);
            async move { patch(n) }
        })
        .build();
    let mut tab = hub_b.join_room("counter").into_frames();
    assert!(next_frame(&mut tab).await.contains(r#"{"n":0}"#));

    broker.set_down(true);
    disconnected(&a).await;
    for n in 1..=100 {
        state.store(n, Ordering::SeqCst);
        hub_a.room("counter").send(patch(n)).expect("sent locally");
    }
    assert_eq!(a.dropped(), 0, "100 patches fit the outbox");
    broker.set_down(false);
    // Whatever b's own heal and a's backlog interleave to, the last frame is the last state.
    let mut last = String::new();
    while let Ok(Some(frame)) = tokio::time::timeout(Duration::from_millis(500), tab.next()).await {
        last = String::from_utf8_lossy(&frame).into_owned();
    }
    assert!(last.contains(r#"{"n":100}"#), "ended on {last:?}");
}

/// Flaps the broker `flaps` times, `every` apart, with heals spread over `window`, then
/// waits three windows; returns when each heal started, from the first flap (paused time).
async fn heals_while_flapping(flaps: u32, every: Duration, window: Duration) -> Vec<Duration> {
    let broker = MemoryBroker::new();
    let backplane = options(&unique("flap"))
        .backoff(Duration::from_millis(1), Duration::from_millis(10))
        .heal_window(window)
        .connect(broker.clone())
        .await
        .expect("backplane");
    let start = tokio::time::Instant::now();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let watcher = {
        let (backplane, log) = (backplane.clone(), log.clone());
        tokio::spawn(async move {
            let mut seen = 0;
            loop {
                seen = backplane.healed_after(seen).await;
                log.lock().expect("log").push(start.elapsed());
            }
        })
    };
    for _ in 0..flaps {
        broker.interrupt();
        tokio::time::sleep(every).await;
    }
    tokio::time::sleep(window * 3).await;
    watcher.abort();
    let times = log.lock().expect("log").clone();
    assert_eq!(times.len() as u64, backplane.heals());
    times
}

fn assert_spaced(times: &[Duration], window: Duration) {
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= window,
            "heals {:?} and {:?} are closer than {window:?}: {times:?}",
            pair[0],
            pair[1]
        );
    }
}

#[tokio::test(start_paused = true)]
async fn ten_flaps_within_one_window_cause_one_heal_or_two_a_window_apart() {
    let window = Duration::from_secs(1);
    let times = heals_while_flapping(10, Duration::from_millis(90), window).await;
    // The first heal may start before the last flap; the flaps after it join the next one.
    assert!((1..=2).contains(&times.len()), "heals at {times:?}");
    assert_spaced(&times, window);
}

#[tokio::test(start_paused = true)]
async fn a_broker_that_flaps_ten_times_in_a_minute_heals_at_most_once_per_window() {
    let window = Duration::from_secs(10);
    let times = heals_while_flapping(10, Duration::from_secs(6), window).await;
    // 60 s of flapping plus 30 s of quiet: at most one heal per 10 s window.
    assert!((1..=9).contains(&times.len()), "heals at {times:?}");
    assert!(times.len() < 10, "one heal per flap: {times:?}");
    assert_spaced(&times, window);
}

#[tokio::test(start_paused = true)]
async fn heals_of_processes_that_reconnect_together_are_spread_over_the_window() {
    let broker = MemoryBroker::new();
    let channel = unique("spread");
    let window = Duration::from_secs(1);
    let mut backplanes = Vec::new();
    for _ in 0..20 {
        backplanes.push(
            options(&channel)
                .backoff(Duration::from_millis(1), Duration::from_millis(1))
                .heal_window(window)
                .connect(broker.clone())
                .await
                .expect("backplane"),
        );
    }
    let start = tokio::time::Instant::now();
    broker.interrupt();
    let times = futures::future::join_all(backplanes.iter().map(|b| async move {
        b.healed_after(0).await;
        start.elapsed()
    }))
    .await;
    let (first, last) = (
        times.iter().min().copied().unwrap_or_default(),
        times.iter().max().copied().unwrap_or_default(),
    );
    assert!(last <= window + Duration::from_millis(50), "{times:?}");
    // 20 uniform draws over 1 s all within 100 ms of each other: odds below 1e-17.
    assert!(last - first > Duration::from_millis(100), "{times:?}");
}
