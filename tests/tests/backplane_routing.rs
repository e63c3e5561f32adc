//! Interest routing, against every transport: a process receives the messages of the keys,
//! rooms and sessions it has local subscribers for and no others (Redis, NATS, memory), its
//! routes follow interest as subscriptions come and go, a reconnection subscribes them again,
//! and nothing is missed between subscribing and the broker's confirmation. Postgres routes
//! nothing: every process receives everything, and says so.

mod support_services;

use std::time::Duration;

use futures::{FutureExt, StreamExt};
use livestar::event::Event;
use livestar::hub::Hub;
use livestar::invalidate::Notifier;
use support_services::{Broker, Rig, options, unique, within};

/// Waits (bounded) until `backplane` has received `count` payloads, then a little longer for
/// any that should not come.
async fn received_settles(backplane: &livestar::backplane::Backplane, count: u64) {
    within("the payloads", async {
        while backplane.received() < count {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
}

async fn each_process_receives_only_the_keys_it_has_subscribers_for(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let c = rig.connect_another(broker, options(&rig.channel)).await;
    let on_a: Notifier<u32> = Notifier::with_backplane(&rig.a, "todos");
    let on_b: Notifier<u32> = Notifier::with_backplane(&rig.b, "todos");
    let on_c: Notifier<u32> = Notifier::with_backplane(&c, "todos");
    // a: keys 0-9, b: keys 10-19; c only sends.
    let mut subs_a: Vec<_> = (0..10).map(|key| on_a.subscribe(&key)).collect();
    let mut subs_b: Vec<_> = (10..20).map(|key| on_b.subscribe(&key)).collect();
    rig.a.settled().await;
    rig.b.settled().await;
    for sub in subs_a.iter_mut().chain(subs_b.iter_mut()) {
        // Confirming a route wakes its key once.
        let _ = sub.next().now_or_never();
    }
    let (before_a, before_b, before_c) = (rig.a.received(), rig.b.received(), c.received());
    for key in 0..20 {
        on_c.notify(&key);
    }
    let routed = rig.a.routes_by_interest();
    assert_eq!(routed, !matches!(broker, Broker::Postgres));
    let expected = if routed { 10 } else { 20 };
    received_settles(&rig.a, before_a + expected).await;
    received_settles(&rig.b, before_b + expected).await;
    assert_eq!(
        rig.a.received() - before_a,
        expected,
        "payloads received by a"
    );
    assert_eq!(
        rig.b.received() - before_b,
        expected,
        "payloads received by b"
    );
    // The sender's own messages come back only where it has no say: on the channel.
    let own = c.received() - before_c;
    assert_eq!(
        own,
        if routed { 0 } else { 20 },
        "own payloads received by c"
    );
    if routed {
        assert_eq!(rig.a.routes(), 10);
        assert_eq!(c.routes(), 0);
    } else {
        assert_eq!(rig.a.routes(), 0);
    }
    for sub in subs_a.iter_mut().chain(subs_b.iter_mut()) {
        within("every key's wake-up", sub.next()).await;
    }
}

async fn routes_follow_interest_as_subscriptions_come_and_go(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    if !rig.b.routes_by_interest() {
        return;
    }
    let on_a: Notifier<u32> = Notifier::with_backplane(&rig.a, "todos");
    let on_b: Notifier<u32> = Notifier::with_backplane(&rig.b, "todos");
    let first = on_b.subscribe(&1);
    let second = on_b.subscribe(&1);
    let other = on_b.subscribe(&2);
    rig.b.settled().await;
    assert_eq!(rig.b.routes(), 2);
    drop(first);
    rig.b.settled().await;
    assert_eq!(rig.b.routes(), 2, "key 1 still has a subscription");
    drop(second);
    rig.b.settled().await;
    assert_eq!(rig.b.routes(), 1, "key 1 was let go");
    let before = rig.b.received();
    on_a.notify(&1);
    on_a.notify(&2);
    received_settles(&rig.b, before + 1).await;
    assert_eq!(rig.b.received() - before, 1, "only key 2 arrives");
    drop(other);
    rig.b.settled().await;
    assert_eq!(rig.b.routes(), 0);
}

async fn a_notification_sent_while_the_route_is_being_confirmed_is_not_missed(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let on_a: Notifier<String> = Notifier::with_backplane(&rig.a, "docs");
    let on_b: Notifier<String> = Notifier::with_backplane(&rig.b, "docs");
    for round in 0..20 {
        let key = format!("doc-{round}");
        let mut view = on_b.subscribe(&key);
        // At once, before b's route can be confirmed: the confirmation wakes the view.
        on_a.notify(&key);
        within("the wake-up", view.next()).await;
    }
}

async fn hub_rooms_and_sessions_reach_only_processes_with_clients(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let c = rig.connect_another(broker, options(&rig.channel)).await;
    // Presence counts go out only after a minute, so that only the sends are counted.
    let hub = |backplane| {
        Hub::builder()
            .backplane(backplane, "chat")
            .presence_interval(Duration::from_secs(60))
            .build()
    };
    let (hub_a, hub_b, hub_c) = (hub(&rig.a), hub(&rig.b), hub(&c));
    let mut in_a = hub_a.join_room("a-room").into_frames();
    let mut tab_b = hub_b.join_session("user-b").into_frames();
    rig.a.settled().await;
    rig.b.settled().await;
    let (before_a, before_b) = (rig.a.received(), rig.b.received());
    hub_c
        .room("a-room")
        .send(Event::comment("to a"))
        .expect("queued");
    hub_c
        .session("user-b")
        .send(Event::comment("to b"))
        .expect("queued");
    hub_c
        .room("nobody's")
        .send(Event::comment("to no one"))
        .expect("queued");
    assert_eq!(
        within("a's frame", in_a.next()).await.expect("open"),
        ": to a\n\n"
    );
    assert_eq!(
        within("b's frame", tab_b.next()).await.expect("open"),
        ": to b\n\n"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    if rig.a.routes_by_interest() {
        assert_eq!(rig.a.received() - before_a, 1, "a received only its room");
        assert_eq!(
            rig.b.received() - before_b,
            1,
            "b received only its session"
        );
    } else {
        assert_eq!(
            rig.a.received() - before_a,
            3,
            "without routing, everything"
        );
    }
    // A session ended from c reaches b's tab.
    assert_eq!(hub_c.session("user-b").end(), 0);
    assert_eq!(within("the end of b's tab", tab_b.next()).await, None);
}

async fn a_reconnection_subscribes_every_route_again(broker: Broker) {
    let Some(mut rig) = Rig::new(broker).await else {
        return;
    };
    let on_a: Notifier<u32> = Notifier::with_backplane(&rig.a, "todos");
    let on_b: Notifier<u32> = Notifier::with_backplane(&rig.b, "todos");
    let mut view = on_b.subscribe(&5);
    rig.b.settled().await;
    let routes = rig.b.routes();
    let healed = rig.b.heals();
    rig.interrupt().await;
    within("the heal", rig.b.healed_after(healed)).await;
    rig.b.settled().await;
    assert_eq!(rig.b.routes(), routes, "routes after reconnecting");
    // The heal woke the view; a notification after it arrives on the route again.
    within("the heal's wake-up", view.next()).await;
    on_a.notify(&5);
    within("the wake-up after reconnecting", view.next()).await;
}

async fn hostile_keys_route_safely(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let on_a: Notifier<String> = Notifier::with_backplane(&rig.a, "hostile");
    let on_b: Notifier<String> = Notifier::with_backplane(&rig.b, "hostile");
    let keys = [
        "*".to_owned(),
        ">".to_owned(),
        "a.b.*".to_owned(),
        "with space\r\nPUBLISH x y".to_owned(),
        "\u{0}".to_owned(),
        "é".repeat(4_000),
        unique("plain"),
    ];
    let mut views: Vec<_> = keys.iter().map(|key| on_b.subscribe(key)).collect();
    rig.b.settled().await;
    for view in &mut views {
        let _ = view.next().now_or_never();
    }
    for key in &keys {
        on_a.notify(key);
    }
    for view in &mut views {
        within("a hostile key's wake-up", view.next()).await;
    }
    // A wildcard-looking key wakes only itself.
    let mut plain = on_b.subscribe(&"plain".to_owned());
    rig.b.settled().await;
    let _ = plain.next().now_or_never();
    on_a.notify(&"*".to_owned());
    within("the * view", views[0].next()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!plain.is_pending(), "a key named * woke another key");
}

async fn a_burst_of_sends_arrives_whole_and_in_order(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let hub_a = Hub::with_backplane(&rig.a);
    let hub_b = Hub::with_backplane(&rig.b);
    let mut tab = hub_b.join_room("burst").into_frames();
    let on_a: Notifier<u32> = Notifier::with_backplane(&rig.a, "burst");
    let on_b: Notifier<u32> = Notifier::with_backplane(&rig.b, "burst");
    let mut view = on_b.subscribe(&999);
    rig.b.settled().await;
    let _ = view.next().now_or_never();
    // Published in batches: identical sends stay distinct (Postgres folds identical
    // notifications of one transaction into one), and every batch keeps its order.
    for round in 0..300 {
        let text = if round % 3 == 0 { "same" } else { "other" };
        hub_a
            .room("burst")
            .send(Event::comment(&format!("{text} {}", round / 3)))
            .expect("queued");
        hub_a
            .room("burst")
            .send(Event::comment("same"))
            .expect("queued");
        on_a.notify(&round);
    }
    on_a.notify(&999);
    for round in 0..300 {
        let text = if round % 3 == 0 { "same" } else { "other" };
        let expected = format!(": {text} {}\n\n", round / 3);
        assert_eq!(within("a frame", tab.next()).await.expect("open"), expected);
        assert_eq!(
            within("a frame", tab.next()).await.expect("open"),
            ": same\n\n"
        );
    }
    within("the last key's wake-up", view.next()).await;
}

macro_rules! routing {
    ($broker:ident, $module:ident) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn each_process_receives_only_the_keys_it_has_subscribers_for() {
                super::each_process_receives_only_the_keys_it_has_subscribers_for(Broker::$broker)
                    .await;
            }

            #[tokio::test]
            async fn routes_follow_interest_as_subscriptions_come_and_go() {
                super::routes_follow_interest_as_subscriptions_come_and_go(Broker::$broker).await;
            }

            #[tokio::test]
            async fn a_notification_sent_while_the_route_is_being_confirmed_is_not_missed() {
                super::a_notification_sent_while_the_route_is_being_confirmed_is_not_missed(
                    Broker::$broker,
                )
                .await;
            }

            #[tokio::test]
            async fn hub_rooms_and_sessions_reach_only_processes_with_clients() {
                super::hub_rooms_and_sessions_reach_only_processes_with_clients(Broker::$broker)
                    .await;
            }

            #[tokio::test]
            async fn a_burst_of_sends_arrives_whole_and_in_order() {
                super::a_burst_of_sends_arrives_whole_and_in_order(Broker::$broker).await;
            }

            #[tokio::test]
            async fn hostile_keys_route_safely() {
                super::hostile_keys_route_safely(Broker::$broker).await;
            }
        }
    };
}

routing!(Memory, memory);
routing!(Redis, redis);
routing!(Nats, nats);
routing!(Postgres, postgres);

#[tokio::test]
async fn memory_a_reconnection_subscribes_every_route_again() {
    a_reconnection_subscribes_every_route_again(Broker::Memory).await;
}

#[tokio::test]
async fn redis_a_reconnection_subscribes_every_route_again() {
    a_reconnection_subscribes_every_route_again(Broker::Redis).await;
}
