//! Presence across processes: each hub on a backplane publishes the local count of every room
//! whose count changed (at most once per presence interval), and every room it has clients
//! in again every third of its expiry ([`HubBuilder::presence_expiry`]); a room's presence is
//! its local count plus the latest count heard from each other process, until that process
//! has been silent for the expiry (it stopped, or lost its broker), when its count stops
//! counting.
//!
//! [`HubBuilder::presence_expiry`]: super::HubBuilder::presence_expiry
//!
//! Peers on the broker are authenticated, not trusted: what they can claim is bounded
//! ([`MAX_REMOTE`] counts kept in all, new ones refused past it until old ones expire; none
//! above [`MAX_COUNT`]), and a count that does not parse is dropped.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::{HubInner, lock};
use crate::backplane::{Scope, message};

/// The most counts of other processes kept, over all rooms: a peer that invents process ids
/// cannot grow this past it.
pub(super) const MAX_REMOTE: usize = 65_536;
/// The largest count believed from one process for one room.
pub(super) const MAX_COUNT: usize = 1 << 24;

/// This hub's share of the cluster's presence.
pub(super) struct ClusterPresence {
    /// Names this hub in its messages: random per hub.
    instance: String,
    /// How long another process's count stands after it was last heard.
    expiry: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Rooms whose local count changed since it was last published.
    dirty: HashSet<String>,
    /// Rooms whose count this hub publishes asking the others for theirs (it just started to
    /// receive the room's messages).
    asking: HashSet<String>,
    /// Rooms another process asked about: answered when there are clients here.
    asked: HashSet<String>,
    /// The counts of other processes: room -> process -> (count, when it was heard).
    remote: HashMap<String, HashMap<String, (usize, Instant)>>,
    /// The number of entries in `remote`.
    entries: usize,
}

impl ClusterPresence {
    pub(super) fn new(expiry: Duration) -> Self {
        ClusterPresence {
            instance: format!("{:016x}", fastrand::u64(..)),
            expiry,
            state: Mutex::default(),
        }
    }

    /// The local count of `room` changed.
    pub(super) fn changed(&self, room: &str) {
        let mut state = lock(&self.state);
        if !state.dirty.contains(room) {
            state.dirty.insert(room.to_owned());
        }
    }

    /// This hub just started to receive `room`'s counts (its route was confirmed): its next
    /// count asks every other process with clients there for theirs.
    pub(super) fn ask(&self, room: &str) {
        let mut state = lock(&self.state);
        state.dirty.insert(room.to_owned());
        state.asking.insert(room.to_owned());
    }

    /// The clients of `room` in other processes, as last heard and not expired.
    pub(super) fn remote(&self, room: &str) -> usize {
        let now = Instant::now();
        lock(&self.state).remote.get(room).map_or(0, |counts| {
            counts
                .values()
                .filter(|(_, heard)| now.duration_since(*heard) < self.expiry)
                .map(|(count, _)| count)
                .sum()
        })
    }

    /// The body of a message saying `room` has `count` clients here (and, with `ask`, asking
    /// for the others' counts).
    pub(super) fn message(&self, room: &str, count: usize, ask: bool) -> Bytes {
        let question = if ask { " ?" } else { "" };
        message::encode_addressed(
            room,
            format!("{} {count}{question}", self.instance).as_bytes(),
        )
    }

    /// A count heard from another process; the room whose presence changed, if it did.
    pub(super) fn heard(&self, body: &Bytes) -> Result<Option<String>, &'static str> {
        let (room, rest) = message::decode_addressed(body).map_err(|garbage| garbage.0)?;
        let rest = std::str::from_utf8(&rest).map_err(|_| "a count that is not text")?;
        let (instance, count) = rest.split_once(' ').ok_or("a count without a process")?;
        let (count, asks) = match count.strip_suffix(" ?") {
            Some(count) => (count, true),
            None => (count, false),
        };
        let count: usize = count.parse().map_err(|_| "a count that is not a number")?;
        if instance.is_empty() || instance.len() > 64 || count > MAX_COUNT {
            return Err("a count out of bounds");
        }
        if instance == self.instance {
            return Ok(None);
        }
        let now = Instant::now();
        let mut state = lock(&self.state);
        let state = &mut *state;
        if asks && state.asked.len() < MAX_REMOTE {
            state.asked.insert(room.clone());
        }
        let full = state.entries >= MAX_REMOTE;
        let counts = state.remote.entry(room.clone()).or_default();
        let before = counts.get(instance).map(|(count, _)| *count);
        if before.is_none() && count > 0 && full {
            if counts.is_empty() {
                state.remote.remove(&room);
            }
            return Err("more counts from other processes than kept");
        }
        if count == 0 {
            if counts.remove(instance).is_some() {
                state.entries -= 1;
            }
            if counts.is_empty() {
                state.remote.remove(&room);
            }
        } else {
            if before.is_none() {
                state.entries += 1;
            }
            counts.insert(instance.to_owned(), (count, now));
        }
        Ok((before.unwrap_or(0) != count).then_some(room))
    }

    /// What to publish since the last call: the rooms whose count changed (each with whether
    /// it asks for the others' counts), and the rooms others asked about.
    pub(super) fn take_dirty(&self) -> (Vec<(String, bool)>, Vec<String>) {
        let mut state = lock(&self.state);
        let state = &mut *state;
        let asking = std::mem::take(&mut state.asking);
        let dirty = state
            .dirty
            .drain()
            .map(|room| {
                let ask = asking.contains(&room);
                (room, ask)
            })
            .collect();
        (dirty, state.asked.drain().collect())
    }

    /// Forgets the counts of processes not heard for the expiry; the rooms whose presence
    /// changed.
    pub(super) fn expire(&self) -> Vec<String> {
        let now = Instant::now();
        let mut state = lock(&self.state);
        let state = &mut *state;
        let mut changed = Vec::new();
        state.remote.retain(|room, counts| {
            let before = counts.len();
            counts.retain(|_, (_, heard)| now.duration_since(*heard) < self.expiry);
            if counts.len() != before {
                state.entries -= before - counts.len();
                changed.push(room.clone());
            }
            !counts.is_empty()
        });
        changed
    }
}

/// Publishes this hub's counts and expires silent processes' until the hub is dropped.
pub(super) async fn run(hub: Weak<HubInner>, interval: Duration) {
    let tick = interval.max(Duration::from_millis(50));
    let Some(refresh) = hub
        .upgrade()
        .and_then(|hub| Some(hub.cluster.as_ref()?.expiry / 3))
    else {
        return;
    };
    let mut next_refresh = Instant::now() + refresh;
    loop {
        tokio::time::sleep(tick).await;
        let Some(hub) = hub.upgrade() else {
            return;
        };
        let (Some(cluster), Some(remote)) = (&hub.cluster, &hub.remote) else {
            return;
        };
        let (dirty, asked) = cluster.take_dirty();
        let refreshing = Instant::now() >= next_refresh;
        if refreshing {
            next_refresh = Instant::now() + refresh;
        }
        // Counted under one lock of the members, published after it.
        let counts: Vec<(String, usize, bool)> = {
            let members = lock(&hub.members);
            let count = |room: &str| members.rooms.get(room).map_or(0, |clients| clients.len());
            let mut rooms: HashMap<String, bool> = dirty.into_iter().collect();
            // Answered only where there are clients here: nothing to say otherwise.
            for room in asked {
                if count(&room) > 0 {
                    rooms.entry(room).or_insert(false);
                }
            }
            if refreshing {
                for room in members.rooms.keys() {
                    rooms.entry(room.clone()).or_insert(false);
                }
            }
            rooms
                .into_iter()
                .map(|(room, ask)| {
                    let count = count(&room);
                    (room, count, ask)
                })
                .collect()
        };
        for (room, count, ask) in counts {
            remote.backplane.publish(
                &remote.topic,
                Scope::Room(&room),
                message::Kind::Presence,
                cluster.message(&room, count, ask),
            );
        }
        for room in cluster.expire() {
            hub.presence.notify(&room);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(room: &str, instance: &str, count: usize) -> Bytes {
        message::encode_addressed(room, format!("{instance} {count}").as_bytes())
    }

    #[tokio::test]
    async fn counts_of_other_processes_add_up_and_expire() {
        let cluster = ClusterPresence::new(Duration::from_secs(30));
        assert_eq!(
            cluster.heard(&count("lobby", "a", 3)),
            Ok(Some("lobby".into()))
        );
        assert_eq!(
            cluster.heard(&count("lobby", "b", 2)),
            Ok(Some("lobby".into()))
        );
        assert_eq!(
            cluster.heard(&count("lobby", "b", 2)),
            Ok(None),
            "no change"
        );
        assert_eq!(cluster.remote("lobby"), 5);
        assert_eq!(
            cluster.heard(&count("lobby", "a", 0)),
            Ok(Some("lobby".into()))
        );
        assert_eq!(cluster.remote("lobby"), 2);
        // Its own messages (the backplane drops them first) change nothing.
        let own = cluster.message("lobby", 9, false);
        assert_eq!(cluster.heard(&own), Ok(None));
        assert_eq!(cluster.remote("lobby"), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_process_stops_counting() {
        let cluster = ClusterPresence::new(Duration::from_secs(30));
        cluster.heard(&count("lobby", "a", 3)).expect("a count");
        tokio::time::advance(Duration::from_secs(29)).await;
        assert_eq!(cluster.remote("lobby"), 3);
        assert!(cluster.expire().is_empty());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(cluster.remote("lobby"), 0);
        assert_eq!(cluster.expire(), ["lobby"]);
        assert_eq!(lock(&cluster.state).entries, 0);
    }

    #[tokio::test]
    async fn hostile_counts_are_refused_and_bounded() {
        let cluster = ClusterPresence::new(Duration::from_secs(30));
        for body in [
            Bytes::from_static(b"garbage"),
            count("lobby", "", 1),
            count("lobby", "a", MAX_COUNT + 1),
            count("lobby", &"x".repeat(65), 1),
            message::encode_addressed("lobby", b"a -1"),
            message::encode_addressed("lobby", b"a 1e9"),
            message::encode_addressed("lobby", b"a"),
            message::encode_addressed("lobby", b"a \xff"),
        ] {
            assert!(cluster.heard(&body).is_err(), "{body:?}");
        }
        assert_eq!(cluster.remote("lobby"), 0);
        // A peer that invents process ids fills the table, then is refused.
        for n in 0..MAX_REMOTE {
            cluster
                .heard(&count(&format!("room-{}", n % 100), &format!("p{n}"), 1))
                .expect("kept");
        }
        assert!(cluster.heard(&count("lobby", "one-too-many", 1)).is_err());
        assert_eq!(lock(&cluster.state).entries, MAX_REMOTE);
        assert!(!lock(&cluster.state).remote.contains_key("lobby"));
        // A process already known still updates its count.
        cluster.heard(&count("room-0", "p0", 7)).expect("an update");
        let others_in_room_0 = (1..MAX_REMOTE).filter(|n| n % 100 == 0).count();
        assert_eq!(cluster.remote("room-0"), 7 + others_in_room_0);
    }
}
