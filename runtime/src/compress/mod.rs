//! Streaming compression of event streams: `br`, `zstd` or `gzip` negotiated from
//! `Accept-Encoding`, flushed after every event and heartbeat, within a memory budget.
//!
//! A live view sends its whole view again on every change, and Datastar morphs it in. One
//! compressor per connection whose window spans the events before makes each re-render cost
//! about what changed: the table of `compress-bench` (26 KB, three cells changed per event)
//! goes out at over 100:1 with brotli or zstd. Each event is compressed whole and the
//! compressor flushed, so the browser decodes it the moment it arrives.
//!
//! Live views negotiate by themselves (`#[live_view(.., compress = false)]` turns it off for
//! one route). A hand-written stream or a hub client negotiates with [`LiveStream::compress`]
//! and the [`AcceptEncoding`] extractor:
//!
//! ```
//! use livestar::compress::AcceptEncoding;
//! use livestar::event::Event;
//! use livestar::stream::LiveStream;
//!
//! async fn ticks(accept: AcceptEncoding) -> LiveStream {
//!     livestar::stream(futures::stream::iter([Event::comment("tick")])).compress(&accept)
//! }
//! # let _ = ticks;
//! ```
//!
//! # Memory
//! A compressor holds its window and match finder for as long as its stream is open. The
//! defaults, measured with `compress-bench` (the live heap of 200 open streams, each past a
//! 26 KB first event):
//!
//! | encoding | default | memory per stream | 26 KB table, 3 cells changed per event |
//! |---|---|---|---|
//! | `zstd` | level 1, 64 KiB window | 489 KiB | 104:1, 14 us per event |
//! | `br` | quality 4, 128 KiB window | 906 KiB | 123:1, 71 us per event |
//! | `gzip` | level 6 (32 KiB window) | 312 KiB | 61:1, 150 us per event |
//!
//! Smaller windows stop reaching the event before (zstd with a 32 KiB window: 257 KiB, but
//! 19:1), so a stream takes more than a quarter of a MiB with any encoding that pays off.
//! Two things keep the total bounded:
//! - **Shared compressors.** The connections of a shared live view that start together (the
//!   same first view, encoding and retry hint: a reconnect storm) share one compressor and its
//!   output until their histories would differ (see [`Compression::share`]); 10,000 tabs of
//!   one key hold a few dozen compressors, not 10,000.
//! - **A cap.** All of the process's compressors together stay under [`limit_memory`] (512 MiB
//!   unless set, by [`Compression::memory`]): past it, new streams are sent uncompressed and
//!   the ones already open keep their compressor. [`open_compressors`] counts the compressors
//!   alive; one is freed the moment its last client goes away.
//!
//! # Failure
//! A compressor that fails (it does not, short of running out of memory) ends its stream; the
//! client reconnects and negotiates again. A client whose `Accept-Encoding` is missing,
//! malformed or refuses everything gets the stream uncompressed. Every stream whose encoding
//! was negotiated says `Vary: Accept-Encoding`, so a cache never hands one client another's.
//!
//! [`LiveStream::compress`]: crate::stream::LiveStream::compress

mod accept;
mod budget;
mod encoder;

use std::fmt;
use std::sync::{Arc, RwLock};

pub use accept::AcceptEncoding;
pub(crate) use budget::Compressor;
pub use budget::{compressor_memory, limit_memory, memory_limit, open_compressors};
pub(crate) use encoder::empty_stream;

/// A content coding of a response body.
///
/// ```
/// use livestar::compress::Encoding;
///
/// assert_eq!(Encoding::Brotli.as_str(), "br");
/// assert_eq!(Encoding::Identity.to_string(), "identity");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Brotli (`br`), RFC 7932: the smallest output for HTML; every current browser.
    Brotli,
    /// Zstandard (`zstd`), RFC 8878: nearly brotli's ratio at less CPU; Chromium and Firefox.
    Zstd,
    /// Gzip (`gzip`), RFC 1952: every client; its 32 KiB window limits what it finds.
    Gzip,
    /// No compression.
    Identity,
}

impl Encoding {
    /// The token of `Content-Encoding` and `Accept-Encoding`.
    ///
    /// ```
    /// use livestar::compress::Encoding;
    ///
    /// assert_eq!(Encoding::Zstd.as_str(), "zstd");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Zstd => "zstd",
            Encoding::Gzip => "gzip",
            Encoding::Identity => "identity",
        }
    }

    /// The index of a compressed encoding in per-encoding tables.
    pub(crate) fn index(self) -> Option<usize> {
        match self {
            Encoding::Brotli => Some(0),
            Encoding::Zstd => Some(1),
            Encoding::Gzip => Some(2),
            Encoding::Identity => None,
        }
    }

    /// The encoding of an `Accept-Encoding` token (ASCII case-insensitive).
    fn from_token(token: &[u8]) -> Option<Encoding> {
        [
            Encoding::Brotli,
            Encoding::Zstd,
            Encoding::Gzip,
            Encoding::Identity,
        ]
        .into_iter()
        .find(|encoding| token.eq_ignore_ascii_case(encoding.as_str().as_bytes()))
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How event streams are compressed: the encodings offered, in the server's order of
/// preference, and each one's level and window.
///
/// The default offers `zstd` (nearly brotli's ratio at a fifth of its CPU and half its
/// memory), then `br` (Safari has no zstd), then `gzip`; [`set_default`] changes what live
/// views and [`LiveStream::compress`] use. The module's docs give each one's figures.
///
/// ```
/// use livestar::compress::{Compression, Encoding};
///
/// let default = Compression::default();
/// assert_eq!(default.preference(), [Encoding::Zstd, Encoding::Brotli, Encoding::Gzip]);
/// assert!(default.memory(Encoding::Zstd) < default.memory(Encoding::Brotli));
///
/// // zstd first, brotli at a higher quality, no gzip:
/// let custom = Compression::default()
///     .prefer([Encoding::Zstd, Encoding::Brotli])
///     .brotli(6, 16);
/// assert_eq!(custom.preference(), [Encoding::Zstd, Encoding::Brotli]);
/// ```
///
/// [`LiveStream::compress`]: crate::stream::LiveStream::compress
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compression {
    preference: Vec<Encoding>,
    settings: Settings,
    share: bool,
}

/// Each encoding's level and window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) brotli_quality: u8,
    pub(crate) brotli_window: u8,
    pub(crate) zstd_level: u8,
    pub(crate) zstd_window: u8,
    pub(crate) gzip_level: u8,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            brotli_quality: 4,
            brotli_window: 17,
            zstd_level: 1,
            zstd_window: 16,
            gzip_level: 6,
        }
    }
}

impl Default for Compression {
    fn default() -> Self {
        Compression {
            preference: vec![Encoding::Zstd, Encoding::Brotli, Encoding::Gzip],
            settings: Settings::default(),
            share: true,
        }
    }
}

impl Compression {
    /// No compression: every stream is sent as it is.
    ///
    /// ```
    /// use livestar::compress::{AcceptEncoding, Compression, Encoding};
    ///
    /// let accept = AcceptEncoding::parse("br, gzip");
    /// assert_eq!(accept.negotiate(&Compression::off()), Encoding::Identity);
    /// ```
    pub fn off() -> Self {
        Compression {
            preference: Vec::new(),
            settings: Settings::default(),
            share: true,
        }
    }

    /// Offers `encodings`, in this order of preference (the client's q-values come first; this
    /// order breaks ties). `Identity` and repeats are ignored: identity is always possible.
    ///
    /// ```
    /// use livestar::compress::{Compression, Encoding};
    ///
    /// let gzip_only = Compression::default().prefer([Encoding::Gzip, Encoding::Identity, Encoding::Gzip]);
    /// assert_eq!(gzip_only.preference(), [Encoding::Gzip]);
    /// ```
    pub fn prefer(mut self, encodings: impl IntoIterator<Item = Encoding>) -> Self {
        self.preference.clear();
        for encoding in encodings {
            if encoding != Encoding::Identity && !self.preference.contains(&encoding) {
                self.preference.push(encoding);
            }
        }
        self
    }

    /// Brotli's quality (2 to 11; raised to 2, since qualities 0 and 1 do not look back across
    /// events) and window (`lgwin`, 10 to 24 bits; from quality 5, at least 17, since smaller
    /// windows there pick a match finder of 32 MiB). The default is quality 4 with a 128 KiB
    /// window; a view larger than the window finds no matches in the event before.
    ///
    /// ```
    /// use livestar::compress::{Compression, Encoding};
    ///
    /// let bigger = Compression::default().brotli(5, 18);
    /// assert!(bigger.memory(Encoding::Brotli) > Compression::default().memory(Encoding::Brotli));
    /// ```
    pub fn brotli(mut self, quality: u8, window_log: u8) -> Self {
        let quality = quality.clamp(2, 11);
        // From quality 5 a window under 128 KiB picks brotli's forgetful-chain match finder,
        // whose tables take 32 MiB.
        let least_window = if quality >= 5 { 17 } else { 10 };
        self.settings.brotli_quality = quality;
        self.settings.brotli_window = window_log.clamp(least_window, 24);
        self
    }

    /// Zstandard's level (1 to 19) and window (10 to 24 bits). The default is level 1 with a
    /// 64 KiB window: higher levels cost CPU for little more on views that repeat themselves,
    /// and each doubling of the window doubles the memory (a 128 KiB window: 921 KiB per
    /// stream, 194:1 on the module's 26 KB table).
    ///
    /// ```
    /// use livestar::compress::{Compression, Encoding};
    ///
    /// let zstd = Compression::default().zstd(6, 17);
    /// assert!(zstd.memory(Encoding::Zstd) > Compression::default().memory(Encoding::Zstd));
    /// ```
    pub fn zstd(mut self, level: u8, window_log: u8) -> Self {
        self.settings.zstd_level = level.clamp(1, 19);
        self.settings.zstd_window = window_log.clamp(10, 24);
        self
    }

    /// Gzip's level (1 to 9; the default 6). Its window is always deflate's 32 KiB.
    ///
    /// ```
    /// let fast = livestar::compress::Compression::default().gzip(1);
    /// # drop(fast);
    /// ```
    pub fn gzip(mut self, level: u8) -> Self {
        self.settings.gzip_level = level.clamp(1, 9);
        self
    }

    /// Whether connections of a shared live view (`#[live_view(.., shared = key)]`) that
    /// start together share one compressor (the default): connections that open within a
    /// moment of each other with the same view, encoding and retry hint receive the same
    /// bytes, compressed once for all of them, until the view first changes. `false` gives
    /// every connection a compressor of its own.
    ///
    /// ```
    /// use livestar::compress::Compression;
    ///
    /// assert!(Compression::default().shares());
    /// assert!(!Compression::default().share(false).shares());
    /// ```
    pub fn share(mut self, share: bool) -> Self {
        self.share = share;
        self
    }

    /// Whether connections that send the same bytes share a compressor (see [`share`]).
    ///
    /// [`share`]: Compression::share
    ///
    /// ```
    /// assert!(livestar::compress::Compression::default().shares());
    /// ```
    pub fn shares(&self) -> bool {
        self.share
    }

    /// The encodings offered, most preferred first.
    ///
    /// ```
    /// assert!(livestar::compress::Compression::off().preference().is_empty());
    /// ```
    pub fn preference(&self) -> &[Encoding] {
        &self.preference
    }

    /// The memory one connection's compressor for `encoding` holds with these settings, in
    /// bytes: the window, the match finder's tables and the encoder's state, as measured by
    /// `compress-bench` with a counting allocator (and 0 for identity). This is what
    /// [`limit_memory`] counts.
    ///
    /// ```
    /// use livestar::compress::{Compression, Encoding};
    ///
    /// let default = Compression::default();
    /// assert_eq!(default.memory(Encoding::Zstd), 488 * 1024);
    /// assert_eq!(default.memory(Encoding::Gzip), 312 * 1024);
    /// assert_eq!(default.memory(Encoding::Identity), 0);
    /// ```
    pub fn memory(&self, encoding: Encoding) -> usize {
        budget::estimate(encoding, &self.settings)
    }

    pub(crate) fn settings(&self) -> Settings {
        self.settings
    }
}

static DEFAULT: RwLock<Option<Arc<Compression>>> = RwLock::new(None);

/// Sets the compression live views and [`LiveStream::compress`] use in this process (by
/// default [`Compression::default`]). Call it at start-up; streams already open keep theirs.
///
/// ```
/// use livestar::compress::{Compression, Encoding};
///
/// livestar::compress::set_default(Compression::default().prefer([Encoding::Zstd, Encoding::Gzip]));
/// assert_eq!(livestar::compress::default().preference(), [Encoding::Zstd, Encoding::Gzip]);
/// # livestar::compress::set_default(Compression::default());
/// ```
///
/// [`LiveStream::compress`]: crate::stream::LiveStream::compress
pub fn set_default(compression: Compression) {
    let mut default = DEFAULT
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    *default = Some(Arc::new(compression));
}

/// The compression set by [`set_default`].
///
/// ```
/// assert!(!livestar::compress::default().preference().is_empty());
/// ```
pub fn default() -> Arc<Compression> {
    let default = DEFAULT
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match &*default {
        Some(compression) => compression.clone(),
        None => {
            drop(default);
            let mut default = DEFAULT
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            default
                .get_or_insert_with(|| Arc::new(Compression::default()))
                .clone()
        }
    }
}
