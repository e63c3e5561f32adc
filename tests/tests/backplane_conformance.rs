//! One conformance suite, run against every transport: the in-memory broker, Redis, NATS and
//! Postgres. Each pair of backplanes on one channel stands for two processes.

mod support_services;

use futures::{FutureExt, StreamExt};
use livestar::event::Event;
use livestar::hub::Hub;
use livestar::invalidate::Notifier;
use support_services::{Broker, Rig, within};

/// The first frame of a hub client, as text.
async fn next_frame(frames: &mut (impl futures::Stream<Item = bytes::Bytes> + Unpin)) -> String {
    let frame = within("a frame", frames.next())
        .await
        .expect("stream is open");
    String::from_utf8(frame.to_vec()).expect("UTF-8 frame")
}

async fn a_notification_in_one_process_wakes_subscribers_in_another(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let on_a: Notifier<u64> = Notifier::with_backplane(&rig.a, "todos");
    let on_b: Notifier<u64> = Notifier::with_backplane(&rig.b, "todos");
    let mut view = on_b.subscribe(&42);
    rig.b.settled().await;
    on_a.notify(&42);
    within("the wake-up on b", view.next()).await;
}

async fn a_notification_wakes_only_its_key(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let on_a: Notifier<u64> = Notifier::with_backplane(&rig.a, "todos");
    let on_b: Notifier<u64> = Notifier::with_backplane(&rig.b, "todos");
    let mut other = on_b.subscribe(&1);
    let mut target = on_b.subscribe(&2);
    rig.b.settled().await;
    // Confirming a key's route wakes its subscriptions once (see `routed` in the docs).
    let _ = (other.next().now_or_never(), target.next().now_or_never());
    on_a.notify(&2);
    within("the wake-up of key 2", target.next()).await;
    assert!(
        !other.is_pending(),
        "key 1 was woken by a notification of key 2"
    );
}

async fn notifiers_with_different_names_do_not_share_keys(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let todos_a: Notifier<u64> = Notifier::with_backplane(&rig.a, "todos");
    let users_a: Notifier<u64> = Notifier::with_backplane(&rig.a, "users");
    let todos_b: Notifier<u64> = Notifier::with_backplane(&rig.b, "todos");
    let users_b: Notifier<u64> = Notifier::with_backplane(&rig.b, "users");
    let mut todo = todos_b.subscribe(&7);
    let mut user = users_b.subscribe(&7);
    rig.b.settled().await;
    let _ = (todo.next().now_or_never(), user.next().now_or_never());
    users_a.notify(&7);
    within("the users wake-up", user.next()).await;
    assert!(!todo.is_pending());
    drop(todos_a);
}

async fn a_dropped_subscription_is_forgotten_everywhere(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let on_a: Notifier<u64> = Notifier::with_backplane(&rig.a, "todos");
    let on_b: Notifier<u64> = Notifier::with_backplane(&rig.b, "todos");
    drop(on_b.subscribe(&1));
    let mut marker = on_b.subscribe(&2);
    rig.b.settled().await;
    on_a.notify(&1);
    on_a.notify(&2);
    // Messages on one channel arrive in order: once 2 is in, 1 has been handled.
    within("the marker wake-up", marker.next()).await;
    assert_eq!(on_b.subscriptions(), 1);
    assert_eq!(on_b.keys(), 1, "a notification recreated a dropped key");
}

async fn a_thousand_subscribers_in_another_process_all_wake(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let on_a: Notifier<String> = Notifier::with_backplane(&rig.a, "rooms");
    let on_b: Notifier<String> = Notifier::with_backplane(&rig.b, "rooms");
    let key = "lobby".to_owned();
    let views: Vec<_> = (0..1000).map(|_| on_b.subscribe(&key)).collect();
    rig.b.settled().await;
    on_a.notify(&key);
    let woken = within(
        "1000 wake-ups",
        futures::future::join_all(views.into_iter().map(|mut v| async move { v.next().await })),
    )
    .await;
    assert_eq!(woken.iter().filter(|w| w.is_some()).count(), 1000);
}

async fn notify_all_wakes_every_key_in_every_process(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let on_a: Notifier<u64> = Notifier::with_backplane(&rig.a, "todos");
    let on_b: Notifier<u64> = Notifier::with_backplane(&rig.b, "todos");
    let (mut one, mut two) = (on_b.subscribe(&1), on_b.subscribe(&2));
    rig.b.settled().await;
    on_a.notify_all();
    within("key 1", one.next()).await;
    within("key 2", two.next()).await;
}

async fn a_room_send_reaches_clients_of_that_room_in_another_process(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let hub_a = Hub::with_backplane(&rig.a);
    let hub_b = Hub::with_backplane(&rig.b);
    let mut other_room = hub_b.join_room("r2").into_frames();
    let mut client = hub_b.join_room("r1").into_frames();
    rig.b.settled().await;
    assert_eq!(hub_a.room("r1").send(Event::comment("to r1")), Ok(0));
    assert_eq!(hub_a.room("r2").send(Event::comment("to r2")), Ok(0));
    assert_eq!(next_frame(&mut client).await, ": to r1\n\n");
    assert_eq!(next_frame(&mut other_room).await, ": to r2\n\n");
}

async fn a_session_send_reaches_every_tab_in_every_process(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let hub_a = Hub::with_backplane(&rig.a);
    let hub_b = Hub::with_backplane(&rig.b);
    let mut tab_on_a = hub_a.join_session("user-7").into_frames();
    let mut tab_on_b = hub_b.join_session("user-7").into_frames();
    let batch = [
        Event::comment("badge"),
        Event::patch_signals(serde_json::json!({ "unreadCount": 3 })).into(),
    ];
    rig.b.settled().await;
    assert_eq!(hub_a.session("user-7").send(batch), Ok(1));
    let expected =
        ": badge\n\nevent: datastar-patch-signals\ndata: signals {\"unreadCount\":3}\n\n";
    assert_eq!(next_frame(&mut tab_on_a).await, expected);
    assert_eq!(next_frame(&mut tab_on_b).await, expected);
}

async fn garbage_on_the_channel_is_ignored(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let on_a: Notifier<u64> = Notifier::with_backplane(&rig.a, "todos");
    let on_b: Notifier<u64> = Notifier::with_backplane(&rig.b, "todos");
    let hub_b = Hub::with_backplane(&rig.b);
    let mut client = hub_b.join_room("r").into_frames();
    let mut view = on_b.subscribe(&1);
    for junk in [
        "hello",
        "ls1\nzz\nn:todos\nk\n1",
        "ls1\n0000000000000001\nn:todos\nk\nnot-a-number",
        "ls1\n0000000000000001\nh:hub\nr\n99:r",
        "ls1\n0000000000000001\nh:hub\nr\n1:rhalf a frame",
        "ls1c\n1\n1\n5\n2\nx",
    ] {
        rig.publish_raw(junk).await;
    }
    rig.b.settled().await;
    on_a.notify(&1);
    within("a wake-up after the garbage", view.next()).await;
    let hub_a = Hub::with_backplane(&rig.a);
    hub_a.room("r").send(Event::comment("ok")).expect("sent");
    assert_eq!(next_frame(&mut client).await, ": ok\n\n");
}

async fn a_send_larger_than_a_broker_payload_arrives_whole(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let hub_a = Hub::with_backplane(&rig.a);
    let hub_b = Hub::with_backplane(&rig.b);
    let mut client = hub_b.join_room("r").into_frames();
    // Over Postgres' 8000-byte NOTIFY limit, with multi-byte characters across chunk edges.
    let text = "é".repeat(15_000);
    rig.b.settled().await;
    hub_a.room("r").send(Event::comment(&text)).expect("sent");
    assert_eq!(next_frame(&mut client).await, format!(": {text}\n\n"));
}

async fn a_send_larger_than_the_backplane_limit_is_refused_and_delivered_nowhere(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let hub_a = Hub::with_backplane(&rig.a);
    let mut local = hub_a.join_room("r").into_frames();
    let too_large = "x".repeat(rig.a.max_message() + 1);
    rig.b.settled().await;
    let refused = hub_a.room("r").send(Event::comment(&too_large));
    assert!(
        matches!(refused, Err(livestar::hub::SendError::TooLarge { .. })),
        "{refused:?}"
    );
    hub_a.room("r").send(Event::comment("next")).expect("sent");
    assert_eq!(next_frame(&mut local).await, ": next\n\n");
}

async fn after_an_outage_every_view_is_invalidated_and_rooms_reload(rig: Option<Rig>) {
    let Some(mut rig) = rig else { return };
    let on_a: Notifier<u64> = Notifier::with_backplane(&rig.a, "todos");
    let on_b: Notifier<u64> = Notifier::with_backplane(&rig.b, "todos");
    let hub_b = Hub::builder()
        .backplane(&rig.b, "hub")
        .room_loader(|room: String| async move { Event::comment(&format!("state of {room}")) })
        .build();
    let mut client = hub_b.join_room("lobby").into_frames();
    assert_eq!(next_frame(&mut client).await, ": state of lobby\n\n");
    let mut view = on_b.subscribe(&1);
    let healed = rig.b.heals();

    rig.interrupt().await;

    within("b to heal", rig.b.healed_after(healed)).await;
    within("the view to be invalidated", view.next()).await;
    assert_eq!(next_frame(&mut client).await, ": state of lobby\n\n");
    // Delivery between processes works again (a may still be reconnecting: retry, bounded).
    let mut delivered = false;
    for _ in 0..50 {
        rig.b.settled().await;
        on_a.notify(&1);
        if tokio::time::timeout(std::time::Duration::from_millis(200), view.next())
            .await
            .is_ok()
        {
            delivered = true;
            break;
        }
    }
    assert!(delivered, "no delivery from a to b after the outage");
}

async fn local_delivery_keeps_working_while_the_broker_is_down(rig: Option<Rig>) {
    let Some(mut rig) = rig else { return };
    let on_a: Notifier<u64> = Notifier::with_backplane(&rig.a, "todos");
    let hub_a = Hub::with_backplane(&rig.a);
    let mut client = hub_a.join_room("r").into_frames();
    let mut view = on_a.subscribe(&1);

    rig.take_down().await;

    rig.b.settled().await;
    assert_eq!(on_a.notify(&1), 1);
    within("the local wake-up", view.next()).await;
    assert_eq!(hub_a.room("r").send(Event::comment("local")), Ok(1));
    assert_eq!(next_frame(&mut client).await, ": local\n\n");
}

macro_rules! conformance {
    ($broker:ident, $module:ident) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn a_notification_in_one_process_wakes_subscribers_in_another() {
                super::a_notification_in_one_process_wakes_subscribers_in_another(Broker::$broker)
                    .await;
            }
            #[tokio::test]
            async fn a_notification_wakes_only_its_key() {
                super::a_notification_wakes_only_its_key(Broker::$broker).await;
            }
            #[tokio::test]
            async fn notifiers_with_different_names_do_not_share_keys() {
                super::notifiers_with_different_names_do_not_share_keys(Broker::$broker).await;
            }
            #[tokio::test]
            async fn a_dropped_subscription_is_forgotten_everywhere() {
                super::a_dropped_subscription_is_forgotten_everywhere(Broker::$broker).await;
            }
            #[tokio::test]
            async fn a_thousand_subscribers_in_another_process_all_wake() {
                super::a_thousand_subscribers_in_another_process_all_wake(Broker::$broker).await;
            }
            #[tokio::test]
            async fn notify_all_wakes_every_key_in_every_process() {
                super::notify_all_wakes_every_key_in_every_process(Broker::$broker).await;
            }
            #[tokio::test]
            async fn a_room_send_reaches_clients_of_that_room_in_another_process() {
                super::a_room_send_reaches_clients_of_that_room_in_another_process(Broker::$broker)
                    .await;
            }
            #[tokio::test]
            async fn a_session_send_reaches_every_tab_in_every_process() {
                super::a_session_send_reaches_every_tab_in_every_process(Broker::$broker).await;
            }
            #[tokio::test]
            async fn a_send_larger_than_a_broker_payload_arrives_whole() {
                super::a_send_larger_than_a_broker_payload_arrives_whole(Broker::$broker).await;
            }
            #[tokio::test]
            async fn a_send_larger_than_the_backplane_limit_is_refused_and_delivered_nowhere() {
                super::a_send_larger_than_the_backplane_limit_is_refused_and_delivered_nowhere(
                    Broker::$broker,
                )
                .await;
            }
            #[tokio::test]
            async fn garbage_on_the_channel_is_ignored() {
                super::garbage_on_the_channel_is_ignored(Broker::$broker).await;
            }
        }
    };
}

conformance!(Memory, memory);
conformance!(Redis, redis);
conformance!(Nats, nats);
conformance!(Postgres, postgres);

mod heal {
    use super::*;

    #[tokio::test]
    async fn memory_local_delivery_keeps_working_while_the_broker_is_down() {
        local_delivery_keeps_working_while_the_broker_is_down(Rig::new(Broker::Memory).await).await;
    }

    #[tokio::test]
    async fn nats_local_delivery_keeps_working_while_the_server_is_down() {
        local_delivery_keeps_working_while_the_broker_is_down(Rig::nats_with_own_server().await)
            .await;
    }

    #[tokio::test]
    async fn memory_after_an_outage_every_view_is_invalidated_and_rooms_reload() {
        after_an_outage_every_view_is_invalidated_and_rooms_reload(Rig::new(Broker::Memory).await)
            .await;
    }

    #[tokio::test]
    async fn redis_after_client_kill_every_view_is_invalidated_and_rooms_reload() {
        after_an_outage_every_view_is_invalidated_and_rooms_reload(Rig::new(Broker::Redis).await)
            .await;
    }

    #[tokio::test]
    async fn postgres_after_terminate_backend_every_view_is_invalidated_and_rooms_reload() {
        after_an_outage_every_view_is_invalidated_and_rooms_reload(
            Rig::new(Broker::Postgres).await,
        )
        .await;
    }

    #[tokio::test]
    async fn nats_after_a_server_restart_every_view_is_invalidated_and_rooms_reload() {
        after_an_outage_every_view_is_invalidated_and_rooms_reload(
            Rig::nats_with_own_server().await,
        )
        .await;
    }
}
