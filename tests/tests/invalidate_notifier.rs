//! The in-memory `Notifier`: wake by key, lossy, forgotten on drop.

use std::time::Duration;

use futures::StreamExt;
use livestar::invalidate::{IntoInvalidation, Notifier};

async fn woken(source: &mut (impl futures::Stream<Item = ()> + Unpin)) -> bool {
    tokio::time::timeout(Duration::from_secs(5), source.next()).await == Ok(Some(()))
}

#[tokio::test]
async fn notify_wakes_every_subscription_of_the_key() {
    let changed = Notifier::<u64>::new();
    let (mut tab1, mut tab2) = (changed.subscribe(&1), changed.subscribe(&1));
    assert_eq!(changed.notify(&1), 2);
    assert!(woken(&mut tab1).await);
    assert!(woken(&mut tab2).await);
}

#[tokio::test]
async fn notify_leaves_other_keys_asleep() {
    let changed = Notifier::<u64>::new();
    let other = changed.subscribe(&2);
    let _target = changed.subscribe(&1);
    changed.notify(&1);
    assert!(!other.is_pending());
}

#[tokio::test]
async fn a_burst_of_1000_notifies_wakes_once() {
    let changed = Notifier::<u64>::new();
    let mut view = changed.subscribe(&1);
    for _ in 0..1000 {
        changed.notify(&1);
    }
    assert!(woken(&mut view).await);
    assert!(
        !view.is_pending(),
        "a second wake-up was left for the same burst"
    );
}

#[tokio::test]
async fn a_notification_after_a_wake_up_wakes_again() {
    let changed = Notifier::<u64>::new();
    let mut view = changed.subscribe(&1);
    changed.notify(&1);
    assert!(woken(&mut view).await);
    changed.notify(&1);
    assert!(woken(&mut view).await);
}

#[tokio::test]
async fn notify_all_wakes_every_key() {
    let changed = Notifier::<u64>::new();
    let (mut a, mut b) = (changed.subscribe(&1), changed.subscribe(&2));
    assert_eq!(changed.notify_all(), 2);
    assert!(woken(&mut a).await);
    assert!(woken(&mut b).await);
}

#[tokio::test]
async fn the_gauge_returns_to_zero_when_subscriptions_drop() {
    let changed = Notifier::<u64>::new();
    let views: Vec<_> = (0..100).map(|n| changed.subscribe(&(n % 10))).collect();
    assert_eq!(changed.subscriptions(), 100);
    assert_eq!(changed.keys(), 10);
    drop(views);
    assert_eq!(changed.subscriptions(), 0);
    assert_eq!(changed.keys(), 0);
    assert_eq!(changed.notify(&1), 0);
}

#[tokio::test]
async fn clones_share_subscriptions() {
    let changed = Notifier::<u64>::new();
    let in_state = changed.clone();
    let mut view = changed.subscribe(&1);
    in_state.notify(&1);
    assert!(woken(&mut view).await);
    assert_eq!(in_state.subscriptions(), 1);
}

#[tokio::test]
async fn a_thousand_subscribers_all_wake() {
    let changed = Notifier::<&'static str>::new();
    let views: Vec<_> = (0..1000).map(|_| changed.subscribe(&"room")).collect();
    assert_eq!(changed.notify(&"room"), 1000);
    for mut view in views {
        assert!(woken(&mut view).await);
    }
}

#[tokio::test]
async fn a_subscription_is_an_invalidation_source() {
    let changed = Notifier::<u64>::new();
    let mut wakeups = changed.subscribe(&1).into_invalidation();
    changed.notify(&1);
    assert!(woken(&mut wakeups).await);
    drop(wakeups);
    assert_eq!(changed.subscriptions(), 0);
}

#[tokio::test]
async fn a_waiting_task_is_woken_by_a_notify_from_another_task() {
    let changed = Notifier::<u64>::new();
    let mut view = changed.subscribe(&1);
    let waiter = tokio::spawn(async move { woken(&mut view).await });
    tokio::task::yield_now().await;
    let notifier = changed.clone();
    tokio::spawn(async move { notifier.notify(&1) });
    assert!(waiter.await.expect("waiter"));
}
