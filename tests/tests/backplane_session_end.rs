//! `Session::end` across processes, against every transport: ending a session in one process
//! closes its tabs in every process, and an end message without a valid signature closes
//! nothing.

mod support_services;

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use livestar::event::Event;
use livestar::hub::Hub;
use support_services::{Broker, Rig, forged_reaches, next_captured, next_frame, options, within};

/// Waits (bounded) until `hub` has no tab of `session` left.
async fn no_tabs_left(hub: &Hub, session: &str) {
    within("the session's tabs to close", async {
        while hub.session(session).tabs() > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

async fn ending_a_session_closes_its_tabs_in_every_process(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let hub_a = Hub::with_backplane(&rig.a);
    let hub_b = Hub::with_backplane(&rig.b);
    let mut here = hub_a.client().session("user-7").connect().into_frames();
    let mut there = hub_b
        .client()
        .room("lobby")
        .session("user-7")
        .connect()
        .into_frames();
    let mut there_too = hub_b.client().session("user-7").connect().into_frames();
    let mut someone_else = hub_b.client().session("user-8").connect().into_frames();
    rig.b.settled().await;

    assert_eq!(hub_a.session("user-7").end(), 1, "tabs closed locally");
    assert_eq!(within("the local tab to end", here.next()).await, None);
    assert_eq!(within("a remote tab to end", there.next()).await, None);
    assert_eq!(within("a remote tab to end", there_too.next()).await, None);
    no_tabs_left(&hub_b, "user-7").await;
    assert_eq!(hub_b.room("lobby").presence(), 0);

    // Another session on the same process is untouched.
    hub_a
        .session("user-8")
        .send(Event::comment("still here"))
        .expect("queued");
    assert_eq!(next_frame(&mut someone_else).await, ": still here\n\n");
    assert_eq!(hub_b.session("user-8").tabs(), 1);
}

async fn a_forged_session_end_closes_nothing(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let mut wiretap = within("a raw subscription", rig.raw.subscribe(&rig.channel))
        .await
        .expect("raw subscription");
    let hub_a = Hub::with_backplane(&rig.a);
    let hub_b = Hub::with_backplane(&rig.b);
    let mut tab = hub_b.client().session("user-7").connect().into_frames();
    rig.b.settled().await;

    // A genuine end of another session, captured and retargeted: the signature no longer
    // matches.
    assert_eq!(hub_a.session("decoy1").end(), 0);
    let captured = next_captured(&mut wiretap).await;
    let text = std::str::from_utf8(&captured).expect("UTF-8 message");
    assert!(text.ends_with("\ne\n6:decoy1"), "{text:?}");
    let retargeted = text.replace("6:decoy1", "6:user-7");
    // The same message with an invented signature.
    let tag_end = "ls1\n".len() + 64;
    let invented = format!("ls1\n{}{}", "0".repeat(64), &retargeted[tag_end..]);
    rig.publish_bytes(&[Bytes::from(retargeted), Bytes::from(invented)])
        .await;
    // And one signed with a secret that is not the app's.
    let stranger = rig
        .connect_another(
            broker,
            options(&rig.channel).secret("not-the-app-secret-0123"),
        )
        .await;
    assert_eq!(Hub::with_backplane(&stranger).session("user-7").end(), 0);
    forged_reaches(&rig.b, 3).await;

    assert_eq!(hub_b.session("user-7").tabs(), 1);
    hub_a
        .session("user-7")
        .send(Event::comment("still open"))
        .expect("queued");
    assert_eq!(next_frame(&mut tab).await, ": still open\n\n");

    // The genuine end, after all of them, does close it.
    hub_a.session("user-7").end();
    assert_eq!(within("the tab to end", tab.next()).await, None);
    no_tabs_left(&hub_b, "user-7").await;
}

async fn a_session_end_reaches_only_the_hub_of_its_name(broker: Broker) {
    let Some(rig) = Rig::new(broker).await else {
        return;
    };
    let chat_a = Hub::builder().backplane(&rig.a, "chat").build();
    let admin_b = Hub::builder().backplane(&rig.b, "admin").build();
    let chat_b = Hub::builder().backplane(&rig.b, "chat").build();
    let mut admin_tab = admin_b.client().session("user-7").connect().into_frames();
    let mut chat_tab = chat_b.client().session("user-7").connect().into_frames();

    chat_a.session("user-7").end();
    assert_eq!(within("the chat tab to end", chat_tab.next()).await, None);
    assert_eq!(admin_b.session("user-7").tabs(), 1);
    admin_b
        .session("user-7")
        .send(Event::comment("admin"))
        .expect("queued");
    assert_eq!(next_frame(&mut admin_tab).await, ": admin\n\n");
}

macro_rules! session_end {
    ($broker:ident, $module:ident) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn ending_a_session_closes_its_tabs_in_every_process() {
                super::ending_a_session_closes_its_tabs_in_every_process(Broker::$broker).await;
            }
            #[tokio::test]
            async fn a_forged_session_end_closes_nothing() {
                super::a_forged_session_end_closes_nothing(Broker::$broker).await;
            }
            #[tokio::test]
            async fn a_session_end_reaches_only_the_hub_of_its_name() {
                super::a_session_end_reaches_only_the_hub_of_its_name(Broker::$broker).await;
            }
        }
    };
}

session_end!(Memory, memory);
session_end!(Redis, redis);
session_end!(Nats, nats);
session_end!(Postgres, postgres);
