//! zstd compression of snapshots ([`super::SnapshotFormat::V2Zstd`]).
//!
//! A v2 update keeps inserted text verbatim and its structure in columns of small integers;
//! both compress well. zstd rather than the deflate the server already uses for versions: on
//! the reference trace, at the level used, it is a little smaller than deflate at its best level
//! and decompresses in 0.73x the time (a cold load pays that every time).

use crate::codec::DecodeError;

use super::SnapshotError;

/// The zstd level snapshots are compressed at. On the reference trace's v2 snapshot (160 kB):
/// level 3 makes 0.69 bytes per character, 9 makes 0.65, 19 makes 0.61 but takes about 17 times
/// as long as 9 (docs/benchmarks.md). Compression runs in the room's writer, once per
/// compaction; decompression, on every cold load, costs about the same at every level.
pub const ZSTD_LEVEL: i32 = 9;

/// Largest decompressed snapshot a stored row may declare (1 GiB): the buffer is allocated
/// before decompressing, so a damaged row must not be able to ask for more.
pub const MAX_SNAPSHOT_BYTES: usize = 1 << 30;

/// `encoded` in one zstd frame that records its size and ends with a checksum of the content
/// (4 bytes): a damaged row fails to load instead of loading as another text.
pub(super) fn compress(encoded: &[u8]) -> Result<Vec<u8>, SnapshotError> {
    let compress = || {
        let mut compressor = zstd::bulk::Compressor::new(ZSTD_LEVEL)?;
        compressor.set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))?;
        compressor.compress(encoded)
    };
    compress().map_err(|e: std::io::Error| SnapshotError::Compress(e.to_string()))
}

/// The bytes of a stored zstd frame. The frame must record its decompressed size (every frame
/// [`compress`] makes does), at most [`MAX_SNAPSHOT_BYTES`]; exactly that much is allocated.
pub(crate) fn decompress(stored: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let refuse = |why: String| DecodeError::MalformedUpdate(format!("snapshot: {why}"));
    let size = match zstd::zstd_safe::get_frame_content_size(stored) {
        Ok(Some(size)) => size,
        Ok(None) => return Err(refuse("the zstd frame does not record its size".into())),
        Err(_) => return Err(refuse("not a zstd frame".into())),
    };
    let size = usize::try_from(size)
        .ok()
        .filter(|&size| size <= MAX_SNAPSHOT_BYTES)
        .ok_or_else(|| refuse(format!("declares {size} bytes, over the limit")))?;
    zstd::bulk::decompress(stored, size).map_err(|e| refuse(format!("does not decompress: {e}")))
}
