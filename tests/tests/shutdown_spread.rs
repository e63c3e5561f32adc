//! `shutdown_within` spreads the ends of the live streams over its spread, so the tabs of a
//! stopping server do not all reconnect to the next one in the same instant.
//! Its own test binary: shutdown is per process.

use std::time::Duration;

use futures::StreamExt;
use livestar::event::Event;
use livestar::stream::Heartbeat;
use tokio::time::Instant;

const STREAMS: usize = 40;

#[tokio::test(start_paused = true)]
async fn streams_end_at_their_own_moments_within_the_spread() {
    let spread = Duration::from_secs(2);
    let streams: Vec<_> = (0..STREAMS)
        .map(|_| {
            livestar::stream(futures::stream::pending::<Event>())
                .heartbeat(Heartbeat::off())
                .into_frames()
                .boxed()
        })
        .collect();
    let mut ends = Vec::with_capacity(STREAMS);
    let started = Instant::now();
    let waiting: Vec<_> = streams
        .into_iter()
        .map(|mut frames| {
            tokio::spawn(async move {
                while frames.next().await.is_some() {}
                Instant::now()
            })
        })
        .collect();
    // Every stream is waiting before the shutdown starts.
    tokio::task::yield_now().await;
    livestar::live::shutdown_within(spread);
    for task in waiting {
        ends.push(task.await.expect("the stream's task") - started);
    }
    let first = ends.iter().min().copied().unwrap_or_default();
    let last = ends.iter().max().copied().unwrap_or_default();
    assert!(
        last <= spread,
        "every stream ends within the spread: {last:?}"
    );
    assert!(
        last - first >= spread / 2,
        "the ends are spread, not together: from {first:?} to {last:?}"
    );
}
