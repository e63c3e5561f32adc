//! A hostile flood on the broker (bogus chunk headers, garbage, oversized messages), against
//! every transport: the receiving process's memory stays bounded and it keeps delivering.

mod support_services;

use bytes::Bytes;
use futures::{FutureExt, StreamExt};
use livestar::event::Event;
use livestar::hub::Hub;
use livestar::invalidate::Notifier;
use livestar::stream::Heartbeat;
use support_services::{Broker, Rig, next_captured, next_frame, within};

/// The resident set of this test process, in bytes (Linux), for the report.
fn rss() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

async fn a_flood_of_bogus_chunks_garbage_and_oversized_messages_stays_bounded(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let mut wiretap = within("a raw subscription", rig.raw.subscribe(&rig.channel))
        .await
        .expect("raw subscription");
    // A genuine message on the channel, replayed after the flood on the same connection: once
    // it is delivered again, everything published before it has been handled. Taken before
    // the hubs exist, so that it is the only message on the channel.
    let marks_a: Notifier<u8> = Notifier::with_backplane(&rig.a, "marker");
    let marks_b: Notifier<u8> = Notifier::with_backplane(&rig.b, "marker");
    let mut marked = marks_b.subscribe(&0);
    rig.b.settled().await;
    // Confirming the key's route wakes it once.
    let _ = marked.next().now_or_never();
    marks_a.notify_all();
    let marker = next_captured(&mut wiretap).await;
    drop(wiretap);
    within("the marker", marked.next()).await;

    let hub_a = Hub::with_backplane(&rig.a);
    let hub_b = Hub::with_backplane(&rig.b);
    // No heartbeats: on a loaded machine the flood can outlast an interval, and nothing but
    // the sends of this test may arrive.
    let mut client = hub_b
        .join_room("r")
        .heartbeat(Heartbeat::off())
        .into_frames();
    rig.b.settled().await;
    hub_a
        .room("r")
        .send(Event::comment("before"))
        .expect("queued");
    assert_eq!(next_frame(&mut client).await, ": before\n\n");
    let rss_before = rss();

    // The issue's flood: 20,000 headers of 4096-chunk messages, one byte each.
    let mut flood: Vec<Bytes> = (0..20_000u32)
        .map(|id| Bytes::from(format!("ls1c\n{:x}\n{id:x}\n0\n4096\nx", id % 13)))
        .collect();
    // Garbage, and chunk headers that lie.
    for junk in [
        "hello",
        "ls1c\n",
        "ls1c\nzz\n1\n0\n2\nx",
        "ls1c\n1\n1\n9\n2\nx",
        "ls1c\n1\n1\n0\n99999999999999999999\nx",
        "ls1\nnot a tag\n",
    ] {
        flood.push(Bytes::from(junk));
    }
    // A chunked message growing past max_message (1 MiB) in chunks each under every broker's
    // payload limit.
    let part = "y".repeat(7_000);
    for index in 0..200 {
        flood.push(Bytes::from(format!("ls1c\n5\n5\n{index}\n200\n{part}")));
    }
    for batch in flood.chunks(500) {
        rig.publish_bytes(batch).await;
    }
    // A whole payload over max_message, where the broker takes one that large.
    if matches!(broker, Broker::Memory | Broker::Redis) {
        rig.publish_bytes(&[Bytes::from("z".repeat(rig.b.max_message() + 1))])
            .await;
    }
    rig.publish_bytes(&[marker]).await;
    within("the replayed marker", marked.next()).await;

    let pending = rig.b.pending_chunk_bytes();
    let bound = 2 * rig.b.max_message();
    let growth = match (rss_before, rss()) {
        (Some(before), Some(after)) => after.saturating_sub(before),
        _ => 0,
    };
    eprintln!(
        "{broker:?}: after the flood: pending chunk bytes {pending} (bound {bound}), refused {}, forged {}, RSS growth {} KiB",
        rig.b.refused(),
        rig.b.forged(),
        growth / 1024
    );
    assert!(pending <= bound, "{pending} pending chunk bytes");
    assert!(rig.b.refused() > 0, "nothing was refused");
    // Was 2.4 GB before the table was bounded; other tests run in this process too.
    assert!(growth < 64 * 1024 * 1024, "RSS grew by {growth} bytes");

    hub_a
        .room("r")
        .send(Event::comment("after"))
        .expect("queued");
    assert_eq!(next_frame(&mut client).await, ": after\n\n");
}

macro_rules! hostile {
    ($broker:ident, $module:ident) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn a_flood_of_bogus_chunks_garbage_and_oversized_messages_stays_bounded() {
                super::a_flood_of_bogus_chunks_garbage_and_oversized_messages_stays_bounded(
                    Broker::$broker,
                )
                .await;
            }
        }
    };
}

hostile!(Memory, memory);
hostile!(Redis, redis);
hostile!(Nats, nats);
hostile!(Postgres, postgres);
