//! The text format of backplane messages, and chunking for brokers with small payloads.
//!
//! A message is `ls1\n<tag>\n<origin>\n<topic>\n<kind>\n<body>`: the tag is the HMAC-SHA256 of
//! the channel and everything after the tag line, in hex (see [`super::auth`]); the origin is
//! the sending backplane's random id (a process ignores its own messages: it delivered them
//! locally already), the topic names the notifier or hub, the kind is one letter. Every part is
//! UTF-8, so the text fits Postgres `NOTIFY`.
//!
//! A message larger than the broker's payload limit is split into chunks
//! `ls1c\n<origin>\n<message id>\n<index>\n<count>\n<part>` published in order; receivers
//! reassemble them (see [`super::chunks`]).

use bytes::{BufMut, Bytes, BytesMut};

use super::auth::{Keys, TAG_HEX_LEN};

const MAGIC: &str = "ls1\n";
pub(crate) const CHUNK_MAGIC: &str = "ls1c\n";

/// What a message asks its receivers to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Wake the subscriptions of one key (the body).
    Key,
    /// Wake every subscription.
    All,
    /// Send events (the body: `<len>:<room id><frames>`) to a room.
    Room,
    /// Send events (the body: `<len>:<session key><frames>`) to a session.
    Session,
    /// Close every tab of a session (the body: `<len>:<session key>`).
    EndSession,
    /// A room's count of clients in the sending process (the body: `<len>:<room><process>
    /// <count>`), for presence across processes.
    Presence,
    /// The sender lost messages (its outbox overflowed, or a backlog was delayed): reload
    /// everything once. Handled by the backplane, never by a topic's listener.
    Heal,
}

impl Kind {
    fn letter(self) -> u8 {
        match self {
            Kind::Key => b'k',
            Kind::All => b'a',
            Kind::Room => b'r',
            Kind::Session => b's',
            Kind::EndSession => b'e',
            Kind::Presence => b'p',
            Kind::Heal => b'h',
        }
    }

    fn from_letter(letter: &str) -> Option<Kind> {
        match letter {
            "k" => Some(Kind::Key),
            "a" => Some(Kind::All),
            "r" => Some(Kind::Room),
            "s" => Some(Kind::Session),
            "e" => Some(Kind::EndSession),
            "p" => Some(Kind::Presence),
            "h" => Some(Kind::Heal),
            _ => None,
        }
    }
}

/// A decoded message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Message {
    pub(crate) origin: u64,
    pub(crate) topic: String,
    pub(crate) kind: Kind,
    pub(crate) body: Bytes,
}

/// The bytes a message of `body_len` bytes on `topic` takes on the wire (before chunking).
pub(crate) fn encoded_len(topic: &str, body_len: usize) -> usize {
    MAGIC.len() + TAG_HEX_LEN + 1 + 17 + topic.len() + 3 + body_len
}

/// A message signed with `keys` for `channel`.
pub(crate) fn encode(
    keys: &Keys,
    channel: &str,
    origin: u64,
    topic: &str,
    kind: Kind,
    body: &[u8],
) -> Bytes {
    let mut buf = BytesMut::with_capacity(encoded_len(topic, body.len()));
    buf.put_slice(MAGIC.as_bytes());
    buf.put_bytes(b'0', TAG_HEX_LEN);
    buf.put_u8(b'\n');
    let content = buf.len();
    buf.put_slice(format!("{origin:016x}\n").as_bytes());
    buf.put_slice(topic.as_bytes());
    buf.put_u8(b'\n');
    buf.put_u8(kind.letter());
    buf.put_u8(b'\n');
    buf.put_slice(body);
    let tag = keys.sign(channel, &buf[content..]);
    buf[MAGIC.len()..MAGIC.len() + TAG_HEX_LEN].copy_from_slice(&tag);
    buf.freeze()
}

/// Why a payload was not a message of ours.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Garbage(pub(crate) &'static str);

/// Why a payload was not delivered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No valid tag: not signed with our secret for this channel (or altered on the way).
    Forged(&'static str),
    /// Signed by us but malformed (a bug or a version mismatch).
    Garbage(&'static str),
}

/// The message in `payload` if it carries a valid tag for `channel` under `keys`.
pub(crate) fn decode(keys: &Keys, channel: &str, payload: &Bytes) -> Result<Message, Refused> {
    let rest = payload
        .strip_prefix(MAGIC.as_bytes())
        .ok_or(Refused::Forged("not a livestar message"))?;
    if rest.len() <= TAG_HEX_LEN || rest[TAG_HEX_LEN] != b'\n' {
        return Err(Refused::Forged("no tag"));
    }
    let (tag, content) = (&rest[..TAG_HEX_LEN], &rest[TAG_HEX_LEN + 1..]);
    if !keys.verify(channel, content, tag) {
        return Err(Refused::Forged("the tag does not match"));
    }
    let mut parts = content.splitn(4, |&b| b == b'\n');
    let origin = parts.next().ok_or(Refused::Garbage("no origin"))?;
    let topic = parts.next().ok_or(Refused::Garbage("no topic"))?;
    let kind = parts.next().ok_or(Refused::Garbage("no kind"))?;
    let body = parts.next().ok_or(Refused::Garbage("no body"))?;
    let origin = std::str::from_utf8(origin)
        .ok()
        .and_then(|o| u64::from_str_radix(o, 16).ok())
        .ok_or(Refused::Garbage("bad origin"))?;
    let topic = std::str::from_utf8(topic).map_err(|_| Refused::Garbage("topic is not UTF-8"))?;
    let kind = std::str::from_utf8(kind)
        .ok()
        .and_then(Kind::from_letter)
        .ok_or(Refused::Garbage("unknown kind"))?;
    let start = payload.len() - body.len();
    Ok(Message {
        origin,
        topic: topic.to_owned(),
        kind,
        body: payload.slice(start..),
    })
}

/// `<len>:<id><rest>`, the body of room and session sends.
pub(crate) fn encode_addressed(id: &str, frames: &[u8]) -> Bytes {
    let mut buf = BytesMut::with_capacity(id.len() + frames.len() + 12);
    buf.put_slice(format!("{}:", id.len()).as_bytes());
    buf.put_slice(id.as_bytes());
    buf.put_slice(frames);
    buf.freeze()
}

pub(crate) fn decode_addressed(body: &Bytes) -> Result<(String, Bytes), Garbage> {
    let colon = body
        .iter()
        .position(|&b| b == b':')
        .ok_or(Garbage("no id length"))?;
    let len: usize = std::str::from_utf8(&body[..colon])
        .ok()
        .and_then(|n| n.parse().ok())
        .ok_or(Garbage("bad id length"))?;
    let start = colon + 1;
    let end = start.checked_add(len).ok_or(Garbage("bad id length"))?;
    let id = body.get(start..end).ok_or(Garbage("id is cut short"))?;
    let id = std::str::from_utf8(id).map_err(|_| Garbage("id is not UTF-8"))?;
    let frames = body.slice(end..);
    std::str::from_utf8(&frames).map_err(|_| Garbage("events are not UTF-8"))?;
    Ok((id.to_owned(), frames))
}

/// Splits `message` into payloads of at most `limit` bytes each (chunks only if needed), cut
/// at UTF-8 character boundaries.
pub(crate) fn split(origin: u64, id: u64, message: Bytes, limit: usize) -> Vec<Bytes> {
    if message.len() <= limit {
        return vec![message];
    }
    // Room for the header: magic, origin, id, index and count.
    let room = limit
        .saturating_sub(CHUNK_MAGIC.len() + 17 + 17 + 11 + 11)
        .max(64);
    let text = std::str::from_utf8(&message).unwrap_or_default();
    let mut parts = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut end = (start + room).min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        parts.push(&text[start..end]);
        start = end;
    }
    let count = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(index, part)| {
            Bytes::from(format!(
                "{CHUNK_MAGIC}{origin:016x}\n{id:x}\n{index}\n{count}\n{part}"
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backplane::auth::Secret;

    fn keys() -> Keys {
        Keys::new(&Secret::new(b"0123456789abcdef"), None).unwrap()
    }

    #[test]
    fn a_message_survives_encoding() {
        let bytes = encode(&keys(), "c", 7, "n:todos", Kind::Key, b"user\n42");
        assert_eq!(bytes.len(), encoded_len("n:todos", 7));
        let message = decode(&keys(), "c", &bytes).unwrap();
        assert_eq!(message.origin, 7);
        assert_eq!(message.topic, "n:todos");
        assert_eq!(message.kind, Kind::Key);
        assert_eq!(message.body, "user\n42");
    }

    #[test]
    fn an_end_session_message_survives_encoding() {
        let body = encode_addressed("user-7", b"");
        let bytes = encode(&keys(), "c", 7, "h:hub", Kind::EndSession, &body);
        let message = decode(&keys(), "c", &bytes).unwrap();
        assert_eq!(message.kind, Kind::EndSession);
        let (id, rest) = decode_addressed(&message.body).unwrap();
        assert_eq!((id.as_str(), rest.is_empty()), ("user-7", true));
    }

    #[test]
    fn garbage_is_rejected_not_panicking() {
        for junk in ["", "hello", "ls1\n", "ls1\nzz\nt\nk\n", "ls1\n01\nt\nq\nx"] {
            assert!(
                matches!(
                    decode(&keys(), "c", &Bytes::from(junk)),
                    Err(Refused::Forged(_))
                ),
                "{junk:?}"
            );
        }
        for junk in ["x", "1", "5:ab", "99999999999999999999999:a"] {
            assert!(decode_addressed(&Bytes::from(junk)).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn a_message_altered_anywhere_is_forged() {
        let bytes = encode(&keys(), "c", 7, "h:hub", Kind::Room, b"6:random: hi\n\n");
        for at in 0..bytes.len() {
            let mut altered = bytes.to_vec();
            altered[at] ^= 0x01;
            assert!(
                decode(&keys(), "c", &Bytes::from(altered)).is_err(),
                "byte {at} altered"
            );
        }
        assert!(matches!(
            decode(&keys(), "other", &bytes),
            Err(Refused::Forged(_))
        ));
        let other = Keys::new(&Secret::new(b"fedcba9876543210"), None).unwrap();
        assert!(matches!(
            decode(&other, "c", &bytes),
            Err(Refused::Forged(_))
        ));
    }
}
