//! Message authentication: every message carries an HMAC-SHA256 tag over the channel name and
//! its whole content, made with a secret every process of the app shares. Whoever can publish
//! on the broker but does not know the secret cannot get anything delivered.
//!
//! Two keys can be valid at once, so the secret rotates without downtime: messages are signed
//! with the current key and accepted with the current or the previous one.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The length of a tag on the wire: 32 bytes in lowercase hex.
pub(crate) const TAG_HEX_LEN: usize = 64;

/// The shortest secret a backplane accepts.
pub(crate) const MIN_SECRET_LEN: usize = 16;

/// A backplane secret, kept out of `Debug` output.
#[derive(Clone)]
pub(crate) struct Secret(Vec<u8>);

impl Secret {
    pub(crate) fn new(bytes: &[u8]) -> Secret {
        Secret(bytes.to_vec())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The keys of one backplane: the current one signs, both verify.
#[derive(Clone)]
pub(crate) struct Keys {
    current: HmacSha256,
    previous: Option<HmacSha256>,
}

impl Keys {
    /// Keys from the current and (during a rotation) the previous secret.
    ///
    /// # Errors
    /// A secret is shorter than [`MIN_SECRET_LEN`] bytes.
    pub(crate) fn new(current: &Secret, previous: Option<&Secret>) -> Result<Keys, String> {
        Ok(Keys {
            current: key(current)?,
            previous: previous.map(key).transpose()?,
        })
    }

    /// The tag of `content` sent on `channel`, in lowercase hex.
    pub(crate) fn sign(&self, channel: &str, content: &[u8]) -> [u8; TAG_HEX_LEN] {
        let tag = digest(&self.current, channel, content)
            .finalize()
            .into_bytes();
        let mut hex = [0u8; TAG_HEX_LEN];
        for (i, byte) in tag.iter().enumerate() {
            hex[2 * i] = HEX[usize::from(byte >> 4)];
            hex[2 * i + 1] = HEX[usize::from(byte & 0xf)];
        }
        hex
    }

    /// Whether `hex` is the tag of `content` on `channel` under the current or previous key
    /// (compared in constant time).
    pub(crate) fn verify(&self, channel: &str, content: &[u8], hex: &[u8]) -> bool {
        let Some(tag) = unhex(hex) else {
            return false;
        };
        let current = digest(&self.current, channel, content).verify_slice(&tag);
        current.is_ok()
            || self
                .previous
                .as_ref()
                .is_some_and(|key| digest(key, channel, content).verify_slice(&tag).is_ok())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn key(secret: &Secret) -> Result<HmacSha256, String> {
    if secret.0.len() < MIN_SECRET_LEN {
        return Err(format!(
            "the backplane secret is {} bytes long; use at least {MIN_SECRET_LEN} random bytes \
             (for example `openssl rand -hex 32`)",
            secret.0.len()
        ));
    }
    // HMAC takes keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(&secret.0).map_err(|e| e.to_string())
}

/// The channel is part of what is signed, so a message recorded on one environment's channel
/// is refused on another that happens to share the secret.
fn digest(key: &HmacSha256, channel: &str, content: &[u8]) -> HmacSha256 {
    let mut mac = key.clone();
    mac.update(&(channel.len() as u64).to_be_bytes());
    mac.update(channel.as_bytes());
    mac.update(content);
    mac
}

fn unhex(hex: &[u8]) -> Option<[u8; 32]> {
    if hex.len() != TAG_HEX_LEN {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut tag = [0u8; 32];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        tag[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(current: &str, previous: Option<&str>) -> Keys {
        let previous = previous.map(|p| Secret::new(p.as_bytes()));
        Keys::new(&Secret::new(current.as_bytes()), previous.as_ref()).unwrap()
    }

    #[test]
    fn a_tag_verifies_under_its_key_only() {
        let ours = keys("0123456789abcdef-ours", None);
        let theirs = keys("0123456789abcdef-theirs", None);
        let tag = ours.sign("shop", b"content");
        assert!(ours.verify("shop", b"content", &tag));
        assert!(!theirs.verify("shop", b"content", &tag));
    }

    #[test]
    fn changing_a_byte_of_content_channel_or_tag_fails_verification() {
        let keys = keys("0123456789abcdef", None);
        let tag = keys.sign("shop", b"content");
        assert!(!keys.verify("shop", b"Content", &tag));
        assert!(!keys.verify("shop-staging", b"content", &tag));
        let mut bad = tag;
        bad[0] = if bad[0] == b'0' { b'1' } else { b'0' };
        assert!(!keys.verify("shop", b"content", &bad));
        assert!(!keys.verify("shop", b"content", &tag[..63]));
        assert!(!keys.verify("shop", b"content", &tag.to_ascii_uppercase()));
    }

    #[test]
    fn the_previous_key_verifies_but_does_not_sign() {
        let old = keys("old-secret-0123456789", None);
        let rotating = keys("new-secret-0123456789", Some("old-secret-0123456789"));
        let new = keys("new-secret-0123456789", None);
        assert!(rotating.verify("c", b"x", &old.sign("c", b"x")));
        assert!(new.verify("c", b"x", &rotating.sign("c", b"x")));
        assert!(!old.verify("c", b"x", &rotating.sign("c", b"x")));
    }

    #[test]
    fn a_short_secret_is_refused_with_advice() {
        let error = Keys::new(&Secret::new(b"short"), None).err().unwrap();
        assert!(error.contains("at least 16"), "{error}");
        assert!(format!("{:?}", Secret::new(b"hunter2hunter2hunter2")).contains("redacted"));
    }
}
