//! One connection's compressor: each frame goes in whole and comes out flushed, so the client
//! can decode every event the moment it arrives, while the window still spans the events
//! before it (a re-render costs about what changed).

use std::io::{self, Write};
use std::sync::OnceLock;

use bytes::Bytes;
use flate2::{Compress, Crc, FlushCompress, Status};
use zstd::zstd_safe::{self, CCtx, CParameter, InBuffer, OutBuffer};

use super::{Encoding, Settings};

/// The gzip member header: deflate, no name or time, unknown OS (RFC 1952).
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// A streaming compressor for one response body.
pub(crate) enum FrameEncoder {
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
    Zstd(Box<CCtx<'static>>),
    Gzip(Box<Gzip>),
}

/// Raw deflate with the gzip header and trailer written here: `flate2`'s `GzEncoder` keeps a
/// 32 KiB buffer of its own on top of the compressor's.
pub(crate) struct Gzip {
    deflate: Compress,
    crc: Crc,
    header_sent: bool,
}

impl FrameEncoder {
    /// A compressor for `encoding`; `None` for identity (or a compressor that could not be
    /// made, which then sends that stream uncompressed).
    pub(crate) fn new(encoding: Encoding, settings: &Settings) -> Option<FrameEncoder> {
        match encoding {
            Encoding::Identity => None,
            Encoding::Brotli => Some(FrameEncoder::Brotli(Box::new(
                brotli::CompressorWriter::new(
                    Vec::new(),
                    4096,
                    u32::from(settings.brotli_quality),
                    u32::from(settings.brotli_window),
                ),
            ))),
            Encoding::Zstd => {
                let mut cctx = CCtx::try_create()?;
                for parameter in [
                    CParameter::CompressionLevel(i32::from(settings.zstd_level)),
                    CParameter::WindowLog(u32::from(settings.zstd_window)),
                    // Tables an eighth and a quarter of the window: a view repeats itself
                    // from one event to the next, so larger tables find little more.
                    CParameter::HashLog(u32::from(settings.zstd_window) - 3),
                    CParameter::ChainLog(u32::from(settings.zstd_window) - 2),
                    CParameter::ChecksumFlag(false),
                    CParameter::ContentSizeFlag(false),
                ] {
                    cctx.set_parameter(parameter).ok()?;
                }
                Some(FrameEncoder::Zstd(Box::new(cctx)))
            }
            Encoding::Gzip => Some(FrameEncoder::Gzip(Box::new(Gzip {
                deflate: Compress::new(
                    flate2::Compression::new(u32::from(settings.gzip_level)),
                    false,
                ),
                crc: Crc::new(),
                header_sent: false,
            }))),
        }
    }

    /// `frame` compressed and flushed: everything the client needs to decode it, and every
    /// frame before it.
    pub(crate) fn frame(&mut self, frame: &[u8]) -> io::Result<Bytes> {
        match self {
            FrameEncoder::Brotli(writer) => {
                writer.write_all(frame)?;
                writer.flush()?;
                Ok(Bytes::from(std::mem::take(writer.get_mut())))
            }
            FrameEncoder::Zstd(cctx) => zstd_run(
                cctx,
                frame,
                zstd_safe::zstd_sys::ZSTD_EndDirective::ZSTD_e_flush,
            ),
            FrameEncoder::Gzip(gzip) => gzip.frame(frame),
        }
    }

    /// The bytes that end the compressed stream right after the last frame, leaving the
    /// encoder as it is: every frame is flushed to a byte boundary, where a last empty block
    /// (and gzip's trailer, of the frames so far) closes the stream. A stream shared by
    /// several bodies ends one of them with it, while the others go on.
    pub(crate) fn end_marker(&self) -> Bytes {
        match self {
            // ISLAST and ISLASTEMPTY set (RFC 7932, section 9.2).
            FrameEncoder::Brotli(_) => Bytes::from_static(&[0x03]),
            // A raw block of no bytes with Last_Block set; no checksum was asked for
            // (RFC 8878, section 3.1.1.2).
            FrameEncoder::Zstd(_) => Bytes::from_static(&[0x01, 0x00, 0x00]),
            FrameEncoder::Gzip(gzip) => {
                let mut end = Vec::with_capacity(10);
                // A final fixed-Huffman block holding only its end code (RFC 1951, 3.2.6).
                end.extend_from_slice(&[0x03, 0x00]);
                end.extend_from_slice(&gzip.crc.sum().to_le_bytes());
                end.extend_from_slice(&gzip.crc.amount().to_le_bytes());
                Bytes::from(end)
            }
        }
    }

    /// The end of the compressed stream (a trailer, a last empty block), for a body that ends.
    pub(crate) fn finish(self) -> io::Result<Bytes> {
        match self {
            FrameEncoder::Brotli(writer) => Ok(Bytes::from(writer.into_inner())),
            FrameEncoder::Zstd(mut cctx) => zstd_run(
                &mut cctx,
                &[],
                zstd_safe::zstd_sys::ZSTD_EndDirective::ZSTD_e_end,
            ),
            FrameEncoder::Gzip(mut gzip) => gzip.finish(),
        }
    }
}

/// A whole compressed stream of no bytes in `encoding` (empty for identity): what a body that
/// must end before it sent anything sends.
pub(crate) fn empty_stream(encoding: Encoding) -> Bytes {
    static EMPTY: OnceLock<[Bytes; 3]> = OnceLock::new();
    let Some(index) = encoding.index() else {
        return Bytes::new();
    };
    EMPTY.get_or_init(|| {
        [Encoding::Brotli, Encoding::Zstd, Encoding::Gzip].map(|encoding| {
            FrameEncoder::new(encoding, &Settings::default())
                .and_then(|encoder| encoder.finish().ok())
                .unwrap_or_default()
        })
    })[index]
        .clone()
}

/// Runs zstd over `input` until it is consumed and `directive` is complete.
fn zstd_run(
    cctx: &mut CCtx<'static>,
    input: &[u8],
    directive: zstd_safe::zstd_sys::ZSTD_EndDirective,
) -> io::Result<Bytes> {
    let mut out = Vec::with_capacity(input.len() / 8 + 64);
    let mut input = InBuffer::around(input);
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(256));
        }
        // Written from the end of what is there; `out`'s length follows what zstd writes.
        let position = out.len();
        let mut buffer = OutBuffer::around_pos(&mut out, position);
        let remaining = cctx
            .compress_stream2(&mut buffer, &mut input, directive)
            .map_err(|code| io::Error::other(zstd_safe::get_error_name(code)))?;
        if remaining == 0 && input.pos() == input.src.len() {
            return Ok(Bytes::from(out));
        }
    }
}

impl Gzip {
    fn frame(&mut self, frame: &[u8]) -> io::Result<Bytes> {
        let mut out = Vec::with_capacity(frame.len() / 8 + 64);
        if !self.header_sent {
            out.extend_from_slice(&GZIP_HEADER);
            self.header_sent = true;
        }
        self.crc.update(frame);
        self.deflate(frame, &mut out, FlushCompress::Sync)?;
        Ok(Bytes::from(out))
    }

    fn finish(&mut self) -> io::Result<Bytes> {
        let mut out = Vec::with_capacity(32);
        if !self.header_sent {
            out.extend_from_slice(&GZIP_HEADER);
            self.header_sent = true;
        }
        self.deflate(&[], &mut out, FlushCompress::Finish)?;
        out.extend_from_slice(&self.crc.sum().to_le_bytes());
        out.extend_from_slice(&self.crc.amount().to_le_bytes());
        Ok(Bytes::from(out))
    }

    /// Deflates all of `input` into `out` and completes `flush`.
    fn deflate(&mut self, input: &[u8], out: &mut Vec<u8>, flush: FlushCompress) -> io::Result<()> {
        let start = self.deflate.total_in();
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(256));
            }
            let consumed = usize::try_from(self.deflate.total_in() - start).unwrap_or(input.len());
            let before = out.len();
            let status = self
                .deflate
                .compress_vec(&input[consumed..], out, flush)
                .map_err(io::Error::other)?;
            let consumed = usize::try_from(self.deflate.total_in() - start).unwrap_or(input.len());
            let room_left = out.capacity() > out.len();
            match status {
                Status::StreamEnd => return Ok(()),
                // Done when all input is in and the flush did not fill the buffer.
                Status::Ok | Status::BufError
                    if consumed == input.len()
                        && room_left
                        && !matches!(flush, FlushCompress::Finish) =>
                {
                    return Ok(());
                }
                Status::BufError if out.len() == before && room_left => {
                    return Err(io::Error::other("deflate made no progress"));
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    const ENCODINGS: [Encoding; 3] = [Encoding::Brotli, Encoding::Zstd, Encoding::Gzip];

    fn frames() -> Vec<String> {
        (0..50)
            .map(|n| {
                format!("event: e\ndata: <p id=\"row\">row {n} of a view that repeats</p>\n\n")
            })
            .collect()
    }

    /// Decodes a whole stream, failing on a stream that is truncated or corrupt.
    fn decode(encoding: Encoding, bytes: &[u8]) -> io::Result<String> {
        let mut text = String::new();
        match encoding {
            Encoding::Brotli => brotli::Decompressor::new(bytes, 4096).read_to_string(&mut text)?,
            Encoding::Zstd => zstd::stream::read::Decoder::new(bytes)?.read_to_string(&mut text)?,
            Encoding::Gzip => flate2::read::GzDecoder::new(bytes).read_to_string(&mut text)?,
            Encoding::Identity => unreachable!(),
        };
        Ok(text)
    }

    #[test]
    fn a_stream_ended_by_its_marker_or_its_finish_decodes_whole() {
        for encoding in ENCODINGS {
            let mut encoder = FrameEncoder::new(encoding, &Settings::default()).expect("encoder");
            let mut wire = Vec::new();
            let mut plain = String::new();
            for (n, frame) in frames().iter().enumerate() {
                wire.extend_from_slice(&encoder.frame(frame.as_bytes()).expect("frame"));
                plain.push_str(frame);
                // Ended here, the stream holds exactly the frames so far.
                let mut ended = wire.clone();
                ended.extend_from_slice(&encoder.end_marker());
                let decoded = decode(encoding, &ended)
                    .unwrap_or_else(|error| panic!("{encoding} after frame {n}: {error}"));
                assert_eq!(decoded, plain, "{encoding} after frame {n}");
            }
            wire.extend_from_slice(&encoder.finish().expect("finish"));
            assert_eq!(
                decode(encoding, &wire).expect("finished"),
                plain,
                "{encoding}"
            );
        }
    }

    #[test]
    fn the_empty_stream_of_each_encoding_decodes_to_nothing() {
        for encoding in ENCODINGS {
            let empty = empty_stream(encoding);
            assert!(
                !empty.is_empty() && empty.len() < 32,
                "{encoding}: {empty:?}"
            );
            assert_eq!(decode(encoding, &empty).expect("whole"), "", "{encoding}");
        }
        assert!(empty_stream(Encoding::Identity).is_empty());
    }

    #[test]
    fn a_truncated_stream_is_not_mistaken_for_a_whole_one() {
        for encoding in ENCODINGS {
            let mut encoder = FrameEncoder::new(encoding, &Settings::default()).expect("encoder");
            let mut wire = Vec::new();
            for frame in frames() {
                wire.extend_from_slice(&encoder.frame(frame.as_bytes()).expect("frame"));
            }
            // Without its end the stream is incomplete: the marker above is what completes it.
            assert!(decode(encoding, &wire).is_err(), "{encoding}");
        }
    }
}
