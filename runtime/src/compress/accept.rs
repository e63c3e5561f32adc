//! The `Accept-Encoding` request header, read with a bounded amount of work whatever it holds.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use http::HeaderMap;
use http::request::Parts;

use super::{Compression, Encoding};

/// At most this many bytes of `Accept-Encoding` headers are read; what follows is ignored.
const MAX_HEADER_BYTES: usize = 1024;
/// At most this many codings are read from them.
const MAX_CODINGS: usize = 32;

/// The encodings a client accepts, from its `Accept-Encoding` headers, with their q-values.
///
/// An axum extractor that never fails: a missing header accepts only `identity`, and a
/// malformed coding (a bad q-value, a stray parameter) is ignored while the rest of the header
/// still counts. At most the first 1 KiB and 32 codings are read, so a hostile header costs
/// what a normal one does.
///
/// ```
/// use livestar::compress::{AcceptEncoding, Compression, Encoding};
///
/// let accept = AcceptEncoding::parse("gzip, br;q=0.9, zstd;q=0");
/// assert_eq!(accept.quality(Encoding::Gzip), 1000);
/// assert_eq!(accept.quality(Encoding::Brotli), 900);
/// assert_eq!(accept.quality(Encoding::Zstd), 0);
/// // The client's preference first: gzip (q=1) over br (q=0.9).
/// assert_eq!(accept.negotiate(&Compression::default()), Encoding::Gzip);
///
/// // Garbage is ignored, never an error.
/// let hostile = AcceptEncoding::parse("br;q=2, zstd;q=abc,,,;;;, \u{7f}gzip");
/// assert_eq!(hostile.negotiate(&Compression::default()), Encoding::Identity);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AcceptEncoding {
    /// The q-value of each compressed encoding in thousandths, by [`Encoding::index`].
    quality: [u16; 3],
}

impl AcceptEncoding {
    /// The encodings of the `Accept-Encoding` headers in `headers` (all of them, in order, as
    /// if joined by commas).
    ///
    /// ```
    /// use http::{HeaderMap, HeaderValue};
    /// use livestar::compress::{AcceptEncoding, Encoding};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.append("accept-encoding", HeaderValue::from_static("gzip"));
    /// headers.append("accept-encoding", HeaderValue::from_static("zstd"));
    /// let accept = AcceptEncoding::from_headers(&headers);
    /// assert!(accept.accepts(Encoding::Gzip) && accept.accepts(Encoding::Zstd));
    /// assert!(!accept.accepts(Encoding::Brotli));
    /// ```
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut accept = AcceptEncoding::default();
        let mut budget = Budget {
            bytes: MAX_HEADER_BYTES,
            codings: MAX_CODINGS,
        };
        for value in headers.get_all(http::header::ACCEPT_ENCODING) {
            if !accept.read(value.as_bytes(), &mut budget) {
                break;
            }
        }
        accept
    }

    /// The encodings of one header value.
    ///
    /// ```
    /// use livestar::compress::{AcceptEncoding, Encoding};
    ///
    /// // `*` stands for every encoding not named.
    /// let accept = AcceptEncoding::parse("br;q=0, *;q=0.5");
    /// assert_eq!(accept.quality(Encoding::Brotli), 0);
    /// assert_eq!(accept.quality(Encoding::Zstd), 500);
    /// ```
    pub fn parse(value: &str) -> Self {
        let mut accept = AcceptEncoding::default();
        accept.read(
            value.as_bytes(),
            &mut Budget {
                bytes: MAX_HEADER_BYTES,
                codings: MAX_CODINGS,
            },
        );
        accept
    }

    /// The q-value the client gave `encoding`, in thousandths (0 to 1000); 0 when it did not
    /// accept it. `identity` is always acceptable here, at 1.
    ///
    /// ```
    /// use livestar::compress::{AcceptEncoding, Encoding};
    ///
    /// assert_eq!(AcceptEncoding::parse("").quality(Encoding::Identity), 1000);
    /// assert_eq!(AcceptEncoding::parse("").quality(Encoding::Gzip), 0);
    /// ```
    pub fn quality(&self, encoding: Encoding) -> u16 {
        match encoding.index() {
            Some(index) => self.quality[index],
            None => 1000,
        }
    }

    /// Whether the client accepts `encoding` (a q-value above 0).
    ///
    /// ```
    /// use livestar::compress::{AcceptEncoding, Encoding};
    ///
    /// assert!(AcceptEncoding::parse("gzip;q=0.001").accepts(Encoding::Gzip));
    /// ```
    pub fn accepts(&self, encoding: Encoding) -> bool {
        self.quality(encoding) > 0
    }

    /// The encoding to answer with: of the encodings `compression` enables and the client
    /// accepts, the one with the highest q-value, ties going to `compression`'s preference;
    /// [`Encoding::Identity`] when there is none. `identity` is always possible, even when
    /// the client says `identity;q=0`: an event stream has no other way to answer.
    ///
    /// ```
    /// use livestar::compress::{AcceptEncoding, Compression, Encoding};
    ///
    /// let accept = AcceptEncoding::parse("gzip, br, zstd");
    /// assert_eq!(accept.negotiate(&Compression::default()), Encoding::Zstd);
    /// let brotli_first = Compression::default().prefer([Encoding::Brotli, Encoding::Zstd]);
    /// assert_eq!(accept.negotiate(&brotli_first), Encoding::Brotli);
    /// // The client's q-values come before the server's order:
    /// assert_eq!(AcceptEncoding::parse("zstd;q=0.5, gzip").negotiate(&Compression::default()), Encoding::Gzip);
    /// assert_eq!(accept.negotiate(&Compression::off()), Encoding::Identity);
    /// ```
    pub fn negotiate(&self, compression: &Compression) -> Encoding {
        let mut best = (0, Encoding::Identity);
        for &encoding in compression.preference() {
            let quality = self.quality(encoding);
            if quality > best.0 {
                best = (quality, encoding);
            }
        }
        best.1
    }

    /// Reads one header value; `false` once the budget is spent.
    fn read(&mut self, value: &[u8], budget: &mut Budget) -> bool {
        let value = &value[..value.len().min(budget.bytes)];
        budget.bytes -= value.len();
        // `*`'s q-value applies to the encodings the header does not name.
        let mut named = [false; 3];
        let mut wildcard = None;
        for item in value.split(|&byte| byte == b',') {
            if budget.codings == 0 {
                return false;
            }
            let Some((coding, quality)) = coding(item) else {
                continue;
            };
            budget.codings -= 1;
            if coding == b"*" {
                wildcard = Some(quality);
            } else if let Some(index) = Encoding::from_token(coding).and_then(Encoding::index) {
                self.quality[index] = quality;
                named[index] = true;
            }
        }
        if let Some(quality) = wildcard {
            for (index, named) in named.iter().enumerate() {
                if !named {
                    self.quality[index] = quality;
                }
            }
        }
        budget.bytes > 0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AcceptEncoding {
    type Rejection = Infallible;

    /// Reads the request's `Accept-Encoding` headers; never fails.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(AcceptEncoding::from_headers(&parts.headers))
    }
}

/// What is left to read of a request's headers.
struct Budget {
    bytes: usize,
    codings: usize,
}

/// One `coding[;q=value]` item: its token (lowercased comparison is the caller's) and q-value
/// in thousandths; `None` for an empty or malformed item.
fn coding(item: &[u8]) -> Option<(&[u8], u16)> {
    let mut parts = item.split(|&byte| byte == b';');
    let token = trim(parts.next()?);
    if token.is_empty() || !token.iter().all(|&byte| is_token_byte(byte)) {
        return None;
    }
    let mut quality = 1000;
    for parameter in parts {
        let parameter = trim(parameter);
        let (name, value) = parameter.split_at(parameter.iter().position(|&b| b == b'=')?);
        if !trim(name).eq_ignore_ascii_case(b"q") {
            // Accept-Encoding has no other parameter.
            return None;
        }
        quality = q_value(trim(&value[1..]))?;
    }
    Some((token, quality))
}

/// An RFC 9110 `qvalue`: `0`, `0.d`, `0.dd`, `0.ddd`, `1`, `1.`, `1.0`, ... `1.000`.
fn q_value(text: &[u8]) -> Option<u16> {
    let (&first, rest) = text.split_first()?;
    let fraction = match rest {
        [] => &[][..],
        [b'.', digits @ ..] if digits.len() <= 3 => digits,
        _ => return None,
    };
    let mut thousandths = 0u16;
    for place in 0..3 {
        let digit = match fraction.get(place) {
            Some(digit) if digit.is_ascii_digit() => u16::from(digit - b'0'),
            Some(_) => return None,
            None => 0,
        };
        thousandths = thousandths * 10 + digit;
    }
    match first {
        b'0' => Some(thousandths),
        b'1' if thousandths == 0 => Some(1000),
        _ => None,
    }
}

fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |end| end + 1);
    &bytes[start..end.max(start)]
}

/// An RFC 9110 `tchar`.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_values_follow_the_grammar() {
        for (text, expected) in [
            ("0", Some(0)),
            ("1", Some(1000)),
            ("1.", Some(1000)),
            ("1.000", Some(1000)),
            ("0.5", Some(500)),
            ("0.25", Some(250)),
            ("0.125", Some(125)),
            ("1.001", None),
            ("0.1234", None),
            ("2", None),
            ("-1", None),
            (".5", None),
            ("0.5x", None),
            ("", None),
            ("NaN", None),
        ] {
            assert_eq!(q_value(text.as_bytes()), expected, "q={text:?}");
        }
    }

    #[test]
    fn codings_are_case_insensitive_and_spaced_freely() {
        let accept = AcceptEncoding::parse(" GZip ;Q=0.5 ,\tBR\t");
        assert_eq!(accept.quality(Encoding::Gzip), 500);
        assert_eq!(accept.quality(Encoding::Brotli), 1000);
    }

    #[test]
    fn a_later_mention_overrides_an_earlier_one() {
        assert_eq!(
            AcceptEncoding::parse("br, br;q=0").quality(Encoding::Brotli),
            0
        );
    }

    #[test]
    fn a_huge_header_reads_only_its_start() {
        let mut value = "x-nothing, ".repeat(100_000);
        value.push_str("br");
        let accept = AcceptEncoding::parse(&value);
        assert!(!accept.accepts(Encoding::Brotli));
        let accept = AcceptEncoding::parse(&format!("zstd,{value}"));
        assert!(accept.accepts(Encoding::Zstd));
    }

    #[test]
    fn many_headers_share_one_budget() {
        let mut headers = HeaderMap::new();
        for _ in 0..10_000 {
            headers.append(
                http::header::ACCEPT_ENCODING,
                http::HeaderValue::from_static("x-a, x-b, x-c, x-d"),
            );
        }
        headers.append(
            http::header::ACCEPT_ENCODING,
            http::HeaderValue::from_static("gzip"),
        );
        assert!(!AcceptEncoding::from_headers(&headers).accepts(Encoding::Gzip));
    }

    #[test]
    fn non_ascii_and_control_bytes_are_ignored() {
        let accept = AcceptEncoding::parse("gz\u{e9}ip, br\u{0}, zstd");
        assert!(!accept.accepts(Encoding::Gzip));
        assert!(!accept.accepts(Encoding::Brotli));
        assert!(accept.accepts(Encoding::Zstd));
    }
}
