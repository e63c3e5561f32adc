//! A room's presence across processes, against every transport: each process counts the
//! clients of the others, changes wake `presence_changes` everywhere, and the count of a
//! process that went silent expires.

mod support_services;

use std::time::Duration;

use futures::StreamExt;
use livestar::hub::Hub;
use support_services::{Broker, Rig, within};

/// Waits (bounded) until `hub` counts `expected` clients in `room`.
async fn presence_reaches(hub: &Hub, room: &str, expected: usize) {
    within(&format!("presence of {room} to reach {expected}"), async {
        while hub.room(room).presence() != expected {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
}

fn hub_on(backplane: &livestar::backplane::Backplane, expiry: Duration) -> Hub {
    Hub::builder()
        .backplane(backplane, "chat")
        .presence_interval(Duration::from_millis(50))
        .presence_expiry(expiry)
        .build()
}

async fn presence_counts_every_process(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let expiry = Duration::from_millis(900);
    let (a, b) = (hub_on(&rig.a, expiry), hub_on(&rig.b, expiry));
    let mut changes_at_a = a.room("lobby").presence_changes();
    // b keeps hearing the room's counts after its own clients left.
    let _watching_at_b = b.room("lobby").presence_changes();
    let here: Vec<_> = (0..2).map(|_| a.join_room("lobby")).collect();
    let there: Vec<_> = (0..3).map(|_| b.join_room("lobby")).collect();
    presence_reaches(&a, "lobby", 5).await;
    presence_reaches(&b, "lobby", 5).await;
    assert_eq!(a.room("lobby").local_presence(), 2);
    assert_eq!(b.room("lobby").local_presence(), 3);
    assert_eq!(a.room("elsewhere").presence(), 0);
    // Changes in the other process wake this one's subscribers.
    within("a presence change", changes_at_a.next()).await;
    drop(there);
    presence_reaches(&a, "lobby", 2).await;
    within("a presence change", changes_at_a.next()).await;
    // Counts are repeated while the clients stay, so they outlive the expiry.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(b.room("lobby").presence(), 2);
    drop(here);
    presence_reaches(&b, "lobby", 0).await;
}

async fn a_silent_process_stops_counting(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let expiry = Duration::from_secs(3);
    let a = hub_on(&rig.a, expiry);
    let b = hub_on(&rig.b, expiry);
    // a has no client in the room: a subscription to its changes makes it hear the counts.
    let _watching = a.room("lobby").presence_changes();
    let there: Vec<_> = (0..3).map(|_| b.join_room("lobby")).collect();
    presence_reaches(&a, "lobby", 3).await;
    // The process goes away without a word: its clients and hub vanish together, before it
    // could publish that they left.
    drop((there, b));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(a.room("lobby").presence(), 3, "counted until it expires");
    presence_reaches(&a, "lobby", 0).await;
}

macro_rules! cluster_presence {
    ($broker:ident, $module:ident) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn presence_counts_every_process() {
                super::presence_counts_every_process(Broker::$broker).await;
            }
            #[tokio::test]
            async fn a_silent_process_stops_counting() {
                super::a_silent_process_stops_counting(Broker::$broker).await;
            }
        }
    };
}

cluster_presence!(Memory, memory);
cluster_presence!(Redis, redis);
cluster_presence!(Nats, nats);
cluster_presence!(Postgres, postgres);
