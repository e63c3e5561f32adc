//! Reassembly of chunked messages, bounded: chunk headers are not signed (the whole message
//! is, once reassembled), so anyone on the broker can send them, and what waits for the rest
//! of a message must not grow with what they send.
//!
//! Bounds: at most [`MAX_PENDING`] incomplete messages and twice the largest message in bytes
//! (oldest dropped first), no message over the backplane's `max_message`, and an incomplete
//! message is forgotten after [`TIMEOUT`]. Nothing is reserved from a header's claims: a chunk
//! costs what it carries.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};

use super::message::{CHUNK_MAGIC, Garbage};

/// How long the chunks of an incomplete message are kept.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);
/// The most incomplete messages kept at once.
pub(crate) const MAX_PENDING: usize = 16;
/// The most chunks one message may have.
const MAX_PARTS: usize = 4096;
/// What a chunk costs besides its bytes (its entry in the table), so that empty chunks are
/// bounded too.
const PART_OVERHEAD: usize = 64;

struct Partial {
    count: usize,
    parts: BTreeMap<usize, Bytes>,
    bytes: usize,
    started: Instant,
}

/// Chunks waiting for the rest of their message.
pub(crate) struct Reassembly {
    partial: HashMap<(u64, u64), Partial>,
    bytes: usize,
    max_message: usize,
    dropped: usize,
}

impl Reassembly {
    /// A table for messages of at most `max_message` bytes.
    pub(crate) fn new(max_message: usize) -> Reassembly {
        Reassembly {
            partial: HashMap::new(),
            bytes: 0,
            max_message,
            dropped: 0,
        }
    }

    /// The bytes held by incomplete messages (with the per-chunk overhead).
    pub(crate) fn pending_bytes(&self) -> usize {
        self.bytes
    }

    /// Incomplete messages dropped so far to keep within the bounds (or expired).
    pub(crate) fn dropped(&self) -> usize {
        self.dropped
    }

    /// The most bytes incomplete messages may hold.
    pub(crate) fn max_pending_bytes(&self) -> usize {
        self.max_message.saturating_mul(2)
    }

    /// The whole message if `payload` is not a chunk or completes one; `Ok(None)` while parts
    /// are missing.
    ///
    /// # Errors
    /// A bad chunk header, or a message that grows past `max_message` (its chunks are dropped).
    pub(crate) fn accept(&mut self, payload: Bytes) -> Result<Option<Bytes>, Garbage> {
        let Some(rest) = payload.strip_prefix(CHUNK_MAGIC.as_bytes()) else {
            return Ok(Some(payload));
        };
        let mut fields = rest.splitn(5, |&b| b == b'\n');
        let mut number = |radix: u32| -> Result<u64, Garbage> {
            fields
                .next()
                .and_then(|f| std::str::from_utf8(f).ok())
                .and_then(|f| u64::from_str_radix(f, radix).ok())
                .ok_or(Garbage("bad chunk header"))
        };
        let origin = number(16)?;
        let id = number(16)?;
        let index = usize::try_from(number(10)?).map_err(|_| Garbage("bad chunk numbering"))?;
        let count = usize::try_from(number(10)?).map_err(|_| Garbage("bad chunk numbering"))?;
        let part = fields.next().ok_or(Garbage("chunk has no part"))?;
        if !(2..=MAX_PARTS).contains(&count) || index >= count {
            return Err(Garbage("bad chunk numbering"));
        }
        let part = payload.slice(payload.len() - part.len()..);
        let cost = part.len() + PART_OVERHEAD;

        let now = Instant::now();
        self.expire(now);
        let key = (origin, id);
        if !self.partial.contains_key(&key) && self.partial.len() >= MAX_PENDING {
            self.drop_oldest();
        }
        let entry = self.partial.entry(key).or_insert_with(|| Partial {
            count,
            parts: BTreeMap::new(),
            bytes: 0,
            started: now,
        });
        if entry.count != count {
            return Err(Garbage("chunk count changed"));
        }
        if let Some(old) = entry.parts.insert(index, part) {
            entry.bytes -= old.len() + PART_OVERHEAD;
            self.bytes -= old.len() + PART_OVERHEAD;
        }
        entry.bytes += cost;
        self.bytes += cost;
        if entry.bytes > self.max_message.saturating_add(count * PART_OVERHEAD) {
            self.remove(key);
            self.dropped += 1;
            return Err(Garbage("a chunked message is larger than max_message"));
        }
        while self.bytes > self.max_pending_bytes() && self.partial.len() > 1 {
            self.drop_oldest_except(key);
        }
        let complete = self
            .partial
            .get(&key)
            .is_some_and(|p| p.parts.len() == p.count);
        if !complete {
            return Ok(None);
        }
        let Some(done) = self.remove(key) else {
            return Ok(None);
        };
        let mut whole = BytesMut::with_capacity(done.bytes);
        for part in done.parts.values() {
            whole.put_slice(part);
        }
        Ok(Some(whole.freeze()))
    }

    fn remove(&mut self, key: (u64, u64)) -> Option<Partial> {
        let partial = self.partial.remove(&key)?;
        self.bytes -= partial.bytes;
        Some(partial)
    }

    fn expire(&mut self, now: Instant) {
        let expired: Vec<_> = self
            .partial
            .iter()
            .filter(|(_, p)| now.duration_since(p.started) >= TIMEOUT)
            .map(|(key, _)| *key)
            .collect();
        for key in expired {
            self.remove(key);
            self.dropped += 1;
        }
    }

    fn drop_oldest(&mut self) {
        self.drop_oldest_except((u64::MAX, u64::MAX));
    }

    fn drop_oldest_except(&mut self, keep: (u64, u64)) {
        let oldest = self
            .partial
            .iter()
            .filter(|(key, _)| **key != keep)
            .min_by_key(|(_, p)| p.started)
            .map(|(key, _)| *key);
        if let Some(key) = oldest {
            self.remove(key);
            self.dropped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backplane::auth::{Keys, Secret};
    use crate::backplane::message::{Kind, encode, split};

    fn keys() -> Keys {
        Keys::new(&Secret::new(b"0123456789abcdef"), None).unwrap()
    }

    #[test]
    fn a_large_message_is_chunked_and_reassembled() {
        let body = "é".repeat(20_000);
        let message = encode(&keys(), "c", 1, "h:hub", Kind::Room, body.as_bytes());
        let chunks = split(1, 9, message.clone(), 8000);
        assert!(chunks.len() > 1);
        assert!(chunks.iter().all(|c| c.len() <= 8000));
        let mut reassembly = Reassembly::new(1024 * 1024);
        let mut whole = None;
        for chunk in chunks {
            assert!(std::str::from_utf8(&chunk).is_ok());
            whole = reassembly.accept(chunk).unwrap();
        }
        assert_eq!(whole, Some(message));
        assert_eq!(reassembly.pending_bytes(), 0);
    }

    #[test]
    fn bad_chunk_headers_are_rejected_not_panicking() {
        let mut chunks = Reassembly::new(1024);
        for junk in [
            "ls1c\n",
            "ls1c\n1\n2\n3\n1\nx",
            "ls1c\n1\n2\n0\n0\nx",
            "ls1c\n1\n2\n0\n1\nx",
            "ls1c\n1\n2\n0\n99999999999999999999\nx",
            "ls1c\n1\n2\n0\n5000\nx",
        ] {
            assert!(chunks.accept(Bytes::from(junk)).is_err(), "{junk:?}");
        }
        assert_eq!(chunks.pending_bytes(), 0);
    }

    #[test]
    fn twenty_thousand_bogus_headers_keep_at_most_sixteen_small_entries() {
        let mut chunks = Reassembly::new(1024 * 1024);
        for id in 0..20_000u64 {
            let header = format!("ls1c\n{:x}\n{id:x}\n0\n4096\nx", id % 7);
            assert_eq!(chunks.accept(Bytes::from(header)), Ok(None));
        }
        assert_eq!(chunks.partial.len(), MAX_PENDING);
        assert_eq!(chunks.pending_bytes(), MAX_PENDING * (1 + PART_OVERHEAD));
        assert_eq!(chunks.dropped(), 20_000 - MAX_PENDING);
    }

    #[test]
    fn a_chunked_message_over_max_message_is_refused_and_forgotten() {
        let mut chunks = Reassembly::new(10_000);
        let part = "y".repeat(4000);
        let mut refused = false;
        for index in 0..10 {
            let chunk = format!("ls1c\n1\n1\n{index}\n10\n{part}");
            if chunks.accept(Bytes::from(chunk)).is_err() {
                refused = true;
                break;
            }
        }
        assert!(refused);
        assert_eq!(chunks.pending_bytes(), 0);
    }

    #[test]
    fn pending_bytes_stay_within_twice_max_message_oldest_dropped_first() {
        let mut chunks = Reassembly::new(10_000);
        let part = "z".repeat(9_000);
        for id in 0..10u64 {
            let chunk = format!("ls1c\n1\n{id:x}\n0\n2\n{part}");
            assert_eq!(chunks.accept(Bytes::from(chunk)), Ok(None));
            assert!(chunks.pending_bytes() <= chunks.max_pending_bytes());
        }
        // The newest survives: its second half completes it.
        let last = chunks.accept(Bytes::from("ls1c\n1\n9\n1\n2\n!"));
        assert_eq!(last.unwrap().map(|m| m.len()), Some(9_001));
        // The oldest is gone: its second half starts a new, incomplete message.
        assert_eq!(chunks.accept(Bytes::from("ls1c\n1\n0\n1\n2\n!")), Ok(None));
    }
}
