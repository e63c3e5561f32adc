//! The process's compressors: how many are alive, the memory they hold, and the cap past
//! which new streams go out uncompressed.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;

use super::encoder::FrameEncoder;
use super::{Encoding, Settings};

/// The default of [`limit_memory`]: 512 MiB.
const DEFAULT_LIMIT: usize = 512 * 1024 * 1024;

static OPEN: AtomicUsize = AtomicUsize::new(0);
static MEMORY: AtomicUsize = AtomicUsize::new(0);
/// The cap in bytes; `usize::MAX` for none.
static LIMIT: AtomicUsize = AtomicUsize::new(DEFAULT_LIMIT);

/// Caps the memory all compressors of the process hold together, by
/// [`Compression::memory`](super::Compression::memory) (`None`: no cap; 512 MiB unless set). A stream that would pass it is
/// sent uncompressed; streams already compressed keep their compressor.
///
/// ```
/// // Sized so that compression never takes more than 1 GiB:
/// livestar::compress::limit_memory(Some(1 << 30));
/// assert_eq!(livestar::compress::memory_limit(), Some(1 << 30));
/// # livestar::compress::limit_memory(Some(512 << 20));
/// ```
pub fn limit_memory(limit: Option<usize>) {
    LIMIT.store(limit.unwrap_or(usize::MAX), Ordering::Relaxed);
}

/// The cap set by [`limit_memory`].
///
/// ```
/// assert_eq!(livestar::compress::memory_limit(), Some(512 * 1024 * 1024));
/// ```
pub fn memory_limit() -> Option<usize> {
    match LIMIT.load(Ordering::Relaxed) {
        usize::MAX => None,
        limit => Some(limit),
    }
}

/// The compressors alive in this process: one per compressed stream whose client is still
/// connected (and one per group of streams that share one).
///
/// ```
/// use livestar::compress::AcceptEncoding;
/// use livestar::event::Event;
///
/// let before = livestar::compress::open_compressors();
/// let live = livestar::stream(futures::stream::pending::<Event>())
///     .compress(&AcceptEncoding::parse("gzip"));
/// let response = axum::response::IntoResponse::into_response(live);
/// assert_eq!(livestar::compress::open_compressors(), before + 1);
/// drop(response); // the client went away
/// assert_eq!(livestar::compress::open_compressors(), before);
/// ```
pub fn open_compressors() -> usize {
    OPEN.load(Ordering::Relaxed)
}

/// The memory the compressors alive hold, by [`Compression::memory`](super::Compression::memory), in bytes.
///
/// ```
/// assert_eq!(livestar::compress::compressor_memory() % 1, 0);
/// ```
pub fn compressor_memory() -> usize {
    MEMORY.load(Ordering::Relaxed)
}

/// A compressor and its share of the budget, returned when it is dropped.
pub(crate) struct Compressor {
    encoder: Option<FrameEncoder>,
    reserved: usize,
}

impl Compressor {
    /// A compressor for `encoding`, or `None` when it is identity, or the budget has no room
    /// for another one.
    pub(crate) fn start(encoding: Encoding, settings: &Settings) -> Option<Compressor> {
        let reserved = estimate(encoding, settings);
        if reserved == 0 {
            return None;
        }
        let limit = LIMIT.load(Ordering::Relaxed);
        MEMORY
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(reserved).filter(|&total| total <= limit)
            })
            .ok()?;
        OPEN.fetch_add(1, Ordering::Relaxed);
        crate::metrics::compressors().increment(1.0);
        // Made first, so that the reservation is returned if the encoder cannot be.
        let mut compressor = Compressor {
            encoder: None,
            reserved,
        };
        compressor.encoder = Some(FrameEncoder::new(encoding, settings)?);
        Some(compressor)
    }

    /// `frame`, compressed and flushed.
    pub(crate) fn frame(&mut self, frame: &[u8]) -> io::Result<Bytes> {
        match &mut self.encoder {
            Some(encoder) => encoder.frame(frame),
            None => Err(io::Error::other("the compressed stream has ended")),
        }
    }

    /// The bytes that end the compressed stream after the frames so far, leaving it open.
    pub(crate) fn end_marker(&self) -> Bytes {
        self.encoder
            .as_ref()
            .map_or_else(Bytes::new, FrameEncoder::end_marker)
    }

    /// The end of the compressed stream.
    pub(crate) fn finish(&mut self) -> io::Result<Bytes> {
        match self.encoder.take() {
            Some(encoder) => encoder.finish(),
            None => Ok(Bytes::new()),
        }
    }
}

impl Drop for Compressor {
    fn drop(&mut self) {
        MEMORY.fetch_sub(self.reserved, Ordering::Relaxed);
        OPEN.fetch_sub(1, Ordering::Relaxed);
        crate::metrics::compressors().decrement(1.0);
    }
}

/// The memory of one compressor with `settings`, in bytes, as measured by `compress-bench`
/// (`mallinfo2` around 200 open streams, each past a 26 KB first event).
pub(super) fn estimate(encoding: Encoding, settings: &Settings) -> usize {
    match encoding {
        Encoding::Identity => 0,
        Encoding::Brotli => {
            let window = 1usize << settings.brotli_window;
            // The ring buffer, the match finder's tables, and the command and literal
            // buffers of a metablock (about 12 bytes per byte of a 26 KB event).
            window + (window >> 1) + brotli_hasher(settings) + 320 * 1024
        }
        Encoding::Zstd => {
            let window = 1usize << settings.zstd_window;
            // The window, its input and output blocks and the sequence store come to about
            // seven windows; then the hash table and the encoder's state, and the chain table
            // from level 3.
            let chain = if settings.zstd_level >= 3 { window } else { 0 };
            7 * window + (window * 5 / 8) + chain
        }
        // miniz_oxide's deflate state: the 32 KiB window, its hash chains and the LZ buffer.
        Encoding::Gzip => 312 * 1024,
    }
}

/// The bytes of brotli's match finder with `settings` (the Rust port's tables).
fn brotli_hasher(settings: &Settings) -> usize {
    match settings.brotli_quality {
        0..=3 => 256 * 1024,
        4 => 512 * 1024,
        // Bucket tables of 2^14 buckets, 2^(quality - 1) entries each.
        quality => (16usize << 10) * (1usize << (quality - 1)) * 4,
    }
}
