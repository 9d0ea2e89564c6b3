//! One journal record on disk: length, CRC32C, sequence, timestamp, payload, padded to 8 bytes.
//!
//! ```text
//! offset  size  field
//!      0     4  payload length (u32 LE); 0 = no frame here (zeroed space marks the end)
//!      4     4  CRC32C over length, sequence, timestamp, payload and padding
//!      8     8  sequence (u64 LE)
//!     16     8  timestamp in ns (u64 LE)
//!     24     n  payload, then zero padding to the next multiple of 8
//! ```
//! The writer stores the length last, with release ordering, so a reader that sees a
//! non-zero length sees the whole frame; a writer killed mid-copy leaves a zero length or a
//! frame whose CRC fails (a torn tail). The engine's writer leaves the CRC to the flusher: in
//! its staging copy (memory, which a killed process cannot tear) a frame is whole once its
//! length is stored, and the flusher seals each frame before it copies it to the segment file,
//! so every frame in a segment file carries its CRC.

use std::sync::atomic::{AtomicU32, Ordering};

/// Bytes before the payload.
pub const FRAME_HEADER_SIZE: usize = 24;
/// Frames start at multiples of this.
pub const FRAME_ALIGN: usize = 8;
/// Largest payload a frame may carry (fixed limit; the engine writes 128-byte commands).
pub const MAX_PAYLOAD: usize = 64 * 1024;

const LENGTH_AT: usize = 0;
const CRC_AT: usize = 4;
const SEQUENCE_AT: usize = 8;
const TIMESTAMP_AT: usize = 16;

/// One record read from the journal; the payload borrows the mapped segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The engine's sequence number of the record.
    pub sequence: u64,
    /// The engine's timestamp of the record in nanoseconds since the Unix epoch.
    pub timestamp_ns: u64,
    /// The opaque payload (the engine writes 128-byte commands).
    pub payload: &'a [u8],
}

/// Bytes a frame with `payload_len` bytes of payload takes, padding included.
pub const fn frame_size(payload_len: usize) -> usize {
    (FRAME_HEADER_SIZE + payload_len + FRAME_ALIGN - 1) & !(FRAME_ALIGN - 1)
}

/// CRC32C over the length, sequence, timestamp and payload (padding is zero and checked apart).
fn frame_crc(payload_len: u32, sequence: u64, timestamp_ns: u64, payload: &[u8]) -> u32 {
    let mut head = [0u8; 20];
    head[0..4].copy_from_slice(&payload_len.to_le_bytes());
    head[4..12].copy_from_slice(&sequence.to_le_bytes());
    head[12..20].copy_from_slice(&timestamp_ns.to_le_bytes());
    crc32c::crc32c_append(crc32c::crc32c(&head), payload)
}

/// Writes one frame at `dst` without its CRC (the field stays zero); the length goes in last,
/// with release ordering. The engine thread writes frames this way into its staging copy; the
/// flusher fills the CRCs in ([`seal_frames`]) before the frames leave for the segment file,
/// so the CRC32C is not on the engine's path.
///
/// # Safety
/// `dst` must be 8-aligned, valid for writes of `frame_size(payload.len())` bytes, zero-filled,
/// and written by no one else while this runs.
#[inline]
pub(crate) unsafe fn write_unsealed_frame(
    dst: *mut u8,
    sequence: u64,
    timestamp_ns: u64,
    payload: &[u8],
) {
    debug_assert!(payload.len() <= MAX_PAYLOAD);
    debug_assert_eq!(dst as usize % FRAME_ALIGN, 0);
    let length = payload.len() as u32;
    // SAFETY: the caller guarantees `dst..dst+frame_size` is writable and exclusively ours;
    // the fields sit at fixed offsets inside it, and the padding is already zero.
    unsafe {
        std::ptr::copy_nonoverlapping(payload.as_ptr(), dst.add(FRAME_HEADER_SIZE), payload.len());
        dst.add(SEQUENCE_AT).cast::<u64>().write(sequence.to_le());
        dst.add(TIMESTAMP_AT)
            .cast::<u64>()
            .write(timestamp_ns.to_le());
        // Last: a reader that sees this length sees every byte above.
        (*dst.add(LENGTH_AT).cast::<AtomicU32>()).store(length.to_le(), Ordering::Release);
    }
}

/// Fills in the CRC of each frame written by [`write_unsealed_frame`] in `bytes`, from the
/// start, up to the first zero length or anything that is not a whole frame of `bytes`.
/// Returns where it stopped. Sealing a sealed frame changes nothing.
pub(crate) fn seal_frames(bytes: &mut [u8]) -> usize {
    let mut pos = 0;
    while let Some(field) = bytes.get(pos + LENGTH_AT..pos + LENGTH_AT + 4) {
        let length = u32::from_le_bytes(field.try_into().expect("4 bytes")) as usize;
        if length == 0 || length > MAX_PAYLOAD || pos + frame_size(length) > bytes.len() {
            break;
        }
        let word = |at: usize| {
            u64::from_le_bytes(bytes[pos + at..pos + at + 8].try_into().expect("8 bytes"))
        };
        let payload = &bytes[pos + FRAME_HEADER_SIZE..pos + FRAME_HEADER_SIZE + length];
        let crc = frame_crc(
            length as u32,
            word(SEQUENCE_AT),
            word(TIMESTAMP_AT),
            payload,
        );
        bytes[pos + CRC_AT..pos + CRC_AT + 4].copy_from_slice(&crc.to_le_bytes());
        pos += frame_size(length);
    }
    pos
}

/// Writes one whole frame, CRC included, at the start of `bytes` (tests).
#[cfg(test)]
pub(crate) fn write_sealed_frame(
    bytes: &mut [u8],
    sequence: u64,
    timestamp_ns: u64,
    payload: &[u8],
) {
    let size = frame_size(payload.len());
    assert!(bytes.len() >= size && (bytes.as_ptr() as usize).is_multiple_of(FRAME_ALIGN));
    // SAFETY: checked above: in bounds and aligned; `bytes` is exclusively ours.
    unsafe { write_unsealed_frame(bytes.as_mut_ptr(), sequence, timestamp_ns, payload) };
    assert_eq!(seal_frames(&mut bytes[..size]), size);
}

/// What lies at a frame position.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FrameAt<'a> {
    /// A frame whose CRC and padding check out, and its size on disk.
    Valid(Frame<'a>, usize),
    /// Length zero: no frame written here (yet).
    Empty,
    /// Something is written here, but it is not a whole, intact frame.
    Invalid(&'static str),
}

/// Reads the length with acquire ordering (another process may be writing the segment).
fn load_length(bytes: &[u8], pos: usize) -> u32 {
    assert!(pos + 4 <= bytes.len() && (bytes.as_ptr() as usize + pos).is_multiple_of(4));
    // SAFETY: in bounds and 4-aligned (asserted); the memory is a live mapping that outlives
    // `bytes`, and an atomic load of plain memory written by another process is well defined on
    // every platform we build for.
    let length = unsafe { (*bytes.as_ptr().add(pos).cast::<AtomicU32>()).load(Ordering::Acquire) };
    u32::from_le(length)
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// Decodes and checks the frame at `pos` of a segment's bytes.
pub(crate) fn read_frame(bytes: &[u8], pos: usize) -> FrameAt<'_> {
    if pos + FRAME_HEADER_SIZE > bytes.len() {
        return FrameAt::Empty;
    }
    let length = load_length(bytes, pos);
    if length == 0 {
        return FrameAt::Empty;
    }
    let payload_len = length as usize;
    let size = frame_size(payload_len);
    if payload_len > MAX_PAYLOAD || pos + size > bytes.len() {
        return FrameAt::Invalid("length field out of range");
    }
    let sequence = read_u64(bytes, pos + SEQUENCE_AT);
    let timestamp_ns = read_u64(bytes, pos + TIMESTAMP_AT);
    let stored_crc = u32::from_le_bytes(
        bytes[pos + CRC_AT..pos + CRC_AT + 4]
            .try_into()
            .expect("4 bytes"),
    );
    let payload_at = pos + FRAME_HEADER_SIZE;
    let payload = &bytes[payload_at..payload_at + payload_len];
    if frame_crc(length, sequence, timestamp_ns, payload) != stored_crc {
        return FrameAt::Invalid("CRC32C mismatch");
    }
    if !all_zero(&bytes[payload_at + payload_len..pos + size]) {
        return FrameAt::Invalid("non-zero padding");
    }
    let frame = Frame {
        sequence,
        timestamp_ns,
        payload,
    };
    FrameAt::Valid(frame, size)
}

/// True if every byte is zero (vectorises: no early exit inside a 4 KiB block).
pub(crate) fn all_zero(bytes: &[u8]) -> bool {
    bytes
        .chunks(4096)
        .all(|block| block.iter().fold(0u8, |acc, byte| acc | byte) == 0)
}

/// Offset just past the last non-zero byte, or 0 if all are zero.
pub(crate) fn end_of_nonzero(bytes: &[u8]) -> usize {
    let mut end = bytes.len();
    while end > 0 {
        let start = end.saturating_sub(4096);
        if let Some(last) = bytes[start..end].iter().rposition(|byte| *byte != 0) {
            return start + last + 1;
        }
        end = start;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An 8-aligned zeroed buffer.
    fn buffer(len: usize) -> Vec<u64> {
        vec![0u64; len / 8]
    }

    fn bytes_mut(buf: &mut [u64]) -> &mut [u8] {
        let len = buf.len() * 8;
        // SAFETY: u64 has no invalid bit patterns as bytes; the slice covers exactly `buf`.
        unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), len) }
    }

    #[test]
    fn frame_round_trips_with_padding() {
        let mut buf = buffer(256);
        let bytes = bytes_mut(&mut buf);
        let payload = [7u8; 13];
        write_sealed_frame(bytes, 42, 99, &payload);
        let size = frame_size(13);
        assert_eq!(size, 40);
        match read_frame(bytes, 0) {
            FrameAt::Valid(frame, got_size) => {
                assert_eq!(
                    (frame.sequence, frame.timestamp_ns, frame.payload),
                    (42, 99, &payload[..])
                );
                assert_eq!(got_size, size);
            }
            other => panic!("expected a valid frame, got {other:?}"),
        }
        assert_eq!(read_frame(bytes, size), FrameAt::Empty);
    }

    #[test]
    fn an_unsealed_frame_reads_as_broken_until_sealed() {
        let mut buf = buffer(256);
        let bytes = bytes_mut(&mut buf);
        let size = frame_size(13);
        for (at, sequence) in [(0, 7), (size, 8)] {
            // SAFETY: the buffer is 8-aligned, zeroed and large enough for both frames.
            unsafe { write_unsealed_frame(bytes[at..].as_mut_ptr(), sequence, 1, &[3u8; 13]) };
        }
        assert!(matches!(read_frame(bytes, 0), FrameAt::Invalid(_)));
        // Seals both frames and stops at the zero length after them.
        assert_eq!(seal_frames(bytes), 2 * size);
        assert!(matches!(read_frame(bytes, 0), FrameAt::Valid(frame, _) if frame.sequence == 7));
        assert!(matches!(read_frame(bytes, size), FrameAt::Valid(frame, _) if frame.sequence == 8));
        let sealed = bytes.to_vec();
        assert_eq!(seal_frames(bytes), 2 * size);
        assert_eq!(bytes, &sealed[..], "sealing again changes nothing");
        // A range that ends inside a frame seals only the whole frames before it.
        assert_eq!(seal_frames(&mut bytes[..size + 8]), size);
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let mut buf = buffer(256);
        let bytes = bytes_mut(&mut buf);
        write_sealed_frame(bytes, 5, 6, &[1, 2, 3, 4, 5]);
        let size = frame_size(5);
        for bit in 0..size * 8 {
            bytes[bit / 8] ^= 1 << (bit % 8);
            assert!(
                !matches!(read_frame(bytes, 0), FrameAt::Valid(..)),
                "flip of bit {bit} went unnoticed"
            );
            bytes[bit / 8] ^= 1 << (bit % 8);
        }
    }

    #[test]
    fn zero_scans_find_the_last_written_byte() {
        let mut data = vec![0u8; 10_000];
        assert!(all_zero(&data));
        assert_eq!(end_of_nonzero(&data), 0);
        data[5000] = 1;
        assert!(!all_zero(&data));
        assert_eq!(end_of_nonzero(&data), 5001);
    }
}
