//! Hostile peers on the broker, against every transport: what anyone who can publish on the
//! channel (but does not know the secret) gets delivered: nothing.

mod support_services;

use bytes::Bytes;
use livestar::event::Event;
use livestar::hub::Hub;
use livestar::invalidate::Notifier;
use support_services::{Broker, Rig, forged_reaches, next_captured, next_frame, options, within};

const OLD: &str = "rotation-old-secret-0123456789";
const NEW: &str = "rotation-new-secret-0123456789";

async fn unsigned_or_foreign_signed_messages_are_dropped_and_counted(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let hub_b = Hub::with_backplane(&rig.b);
    let mut client = hub_b.join_room("r").into_frames();
    rig.b.settled().await;
    // The attack of the issue: the pre-authentication format, a script in a patch.
    let forged = "ls1\n0000000000000001\nh:hub\nr\n1:revent: datastar-patch-elements\n\
                  data: elements <script>alert(1)</script>\n\n";
    rig.publish_bytes(&[Bytes::from(forged)]).await;
    let stranger = rig
        .connect_another(
            broker,
            options(&rig.channel).secret("not-the-app-secret-0123"),
        )
        .await;
    let hub_stranger = Hub::with_backplane(&stranger);
    hub_stranger
        .room("r")
        .send(Event::comment("from a stranger"))
        .expect("queued");
    forged_reaches(&rig.b, 2).await;

    Hub::with_backplane(&rig.a)
        .room("r")
        .send(Event::comment("genuine"))
        .expect("queued");
    assert_eq!(next_frame(&mut client).await, ": genuine\n\n");
    assert_eq!(rig.b.forged(), 2);
}

async fn a_genuine_message_altered_on_the_way_is_dropped_and_counted(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let mut wiretap = within("a raw subscription", rig.raw.subscribe(&rig.channel))
        .await
        .expect("raw subscription");
    // A genuine message on the channel (taken before the hubs exist, so that it is the only
    // one there): a notifier named "original" wakes everything.
    let original: Notifier<u8> = Notifier::with_backplane(&rig.a, "original");
    original.notify_all();
    let captured = next_captured(&mut wiretap).await;
    let text = std::str::from_utf8(&captured).expect("UTF-8 message");
    assert!(text.contains("original"), "{text:?}");
    // Same length, same framing: only the signature can tell.
    let tampered = text.replace("original", "tampered");
    rig.publish_bytes(&[Bytes::from(tampered)]).await;
    // And replayed verbatim on another channel: refused there too (the channel is signed).
    let elsewhere = rig
        .connect_another(broker, options(&format!("{}x", rig.channel)))
        .await;
    within(
        "a replay on another channel",
        rig.raw.publish(
            &format!("{}x", rig.channel),
            std::slice::from_ref(&captured),
        ),
    )
    .await
    .expect("raw publish");
    forged_reaches(&rig.b, 1).await;
    forged_reaches(&elsewhere, 1).await;

    let hub_a = Hub::with_backplane(&rig.a);
    let hub_b = Hub::with_backplane(&rig.b);
    let mut client = hub_b.join_room("r").into_frames();
    rig.b.settled().await;
    hub_a
        .room("r")
        .send(Event::comment("after"))
        .expect("queued");
    assert_eq!(next_frame(&mut client).await, ": after\n\n");
}

async fn during_a_rotation_old_and_new_secrets_both_deliver(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let channel = &rig.channel;
    // Halfway through a rotation: one process still signs with the old secret, one already
    // with the new; a third has only the new one (the old one is being retired).
    let signs_old = rig
        .connect_another(broker, options(channel).secret(OLD).previous_secret(NEW))
        .await;
    let signs_new = rig
        .connect_another(broker, options(channel).secret(NEW).previous_secret(OLD))
        .await;
    let new_only = rig
        .connect_another(broker, options(channel).secret(NEW))
        .await;
    let (hub_old, hub_new, hub_new_only) = (
        Hub::with_backplane(&signs_old),
        Hub::with_backplane(&signs_new),
        Hub::with_backplane(&new_only),
    );
    let mut on_old = hub_old.join_room("r").into_frames();
    let mut on_new = hub_new.join_room("r").into_frames();
    let mut on_new_only = hub_new_only.join_room("r").into_frames();
    for backplane in [&signs_old, &signs_new, &new_only] {
        backplane.settled().await;
    }

    hub_old
        .room("r")
        .send(Event::comment("old"))
        .expect("queued");
    assert_eq!(next_frame(&mut on_old).await, ": old\n\n", "local delivery");
    assert_eq!(next_frame(&mut on_new).await, ": old\n\n");
    forged_reaches(&new_only, 1).await;
    hub_new
        .room("r")
        .send(Event::comment("new"))
        .expect("queued");
    assert_eq!(next_frame(&mut on_old).await, ": new\n\n");
    assert_eq!(next_frame(&mut on_new).await, ": new\n\n", "local delivery");
    // The old message never reached this process: its first frame is the new one.
    assert_eq!(next_frame(&mut on_new_only).await, ": new\n\n");
    assert_eq!(signs_old.forged(), 0);
    assert_eq!(signs_new.forged(), 0);
}

macro_rules! trust {
    ($broker:ident, $module:ident) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn unsigned_or_foreign_signed_messages_are_dropped_and_counted() {
                super::unsigned_or_foreign_signed_messages_are_dropped_and_counted(Broker::$broker)
                    .await;
            }
            #[tokio::test]
            async fn a_genuine_message_altered_on_the_way_is_dropped_and_counted() {
                super::a_genuine_message_altered_on_the_way_is_dropped_and_counted(Broker::$broker)
                    .await;
            }
            #[tokio::test]
            async fn during_a_rotation_old_and_new_secrets_both_deliver() {
                super::during_a_rotation_old_and_new_secrets_both_deliver(Broker::$broker).await;
            }
        }
    };
}

trust!(Memory, memory);
trust!(Redis, redis);
trust!(Nats, nats);
trust!(Postgres, postgres);
