//! The hub's side of a backplane: sends, session ends and presence counts from other
//! processes, and healing after a reconnection.

#[allow(clippy::wildcard_imports)]
use super::*;

/// Sends from other processes reach local clients; a reconnection resends current state.
pub(super) struct HubListener {
    pub(super) hub: Weak<HubInner>,
}

impl Listener for HubListener {
    fn deliver(&self, kind: Kind, body: &Bytes) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        let target = match kind {
            Kind::Room => Target::Room,
            Kind::Session => Target::Session,
            Kind::EndSession => {
                match message::decode_addressed(body) {
                    Ok((id, rest)) if rest.is_empty() => {
                        hub.end_session(&id);
                    }
                    Ok(_) => tracing::warn!(
                        "livestar backplane: ignored a session end with more than a session id"
                    ),
                    Err(message::Garbage(why)) => {
                        tracing::warn!(why, "livestar backplane: ignored a bad session end")
                    }
                }
                return;
            }
            Kind::Presence => {
                if let Some(cluster) = &hub.cluster {
                    match cluster.heard(body) {
                        Ok(Some(room)) => {
                            hub.presence.notify(&room);
                        }
                        Ok(None) => {}
                        Err(why) => {
                            tracing::debug!(why, "livestar backplane: ignored a presence count")
                        }
                    }
                }
                return;
            }
            other => {
                tracing::warn!(
                    ?other,
                    "livestar backplane: ignored a notifier message sent to a hub"
                );
                return;
            }
        };
        match message::decode_addressed(body) {
            Ok((id, frames)) if frames.is_empty() || frames.ends_with(b"\n\n") => {
                hub.deliver(target, &id, &Event::from_encoded(frames));
            }
            Ok(_) => {
                tracing::warn!("livestar backplane: ignored a hub send whose events are cut short")
            }
            Err(message::Garbage(why)) => {
                tracing::warn!(why, "livestar backplane: ignored a bad hub send")
            }
        }
    }

    fn healed(&self) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        // The other processes may have missed counts: every room's is published again.
        if let Some(cluster) = &hub.cluster {
            for room in lock(&hub.members).rooms.keys() {
                cluster.changed(room);
            }
        }
        for target in [Target::Room, Target::Session] {
            if hub.loader(target).is_none() {
                continue;
            }
            let ids: Vec<String> = lock(&hub.members).of(target).keys().cloned().collect();
            for id in ids {
                hub.reload(target, id);
            }
        }
    }

    fn routed(&self, scope_key: &str) {
        let Some(hub) = self.hub.upgrade() else {
            return;
        };
        let (target, id) = match scope_key.split_once(':') {
            Some(("r", room)) => (Target::Room, room),
            Some(("s", session)) => (Target::Session, session),
            _ => return,
        };
        // Counts heard before the route passed us by: ask the others for theirs.
        if let (Target::Room, Some(cluster)) = (target, &hub.cluster) {
            cluster.ask(id);
        }
        // Sends before it did too: a room or session with a loader and clients here sends its
        // current state.
        if lock(&hub.members).of(target).contains_key(id) {
            hub.reload(target, id.to_owned());
        }
    }
}
