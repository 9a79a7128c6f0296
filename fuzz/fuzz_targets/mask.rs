//! Arbitrary payload, key, offset and chunking: `apply_mask` applied chunk
//! by chunk, carrying the offset it returns, must equal the byte-by-byte
//! definition (`mask::apply_mask_bytewise`) applied to the whole.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws_proto::mask::{apply_mask, apply_mask_bytewise};
use ws_proto_fuzz::Chunks;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    key: [u8; 4],
    /// Payload bytes already unmasked before this one.
    offset: u64,
    /// How the payload is cut into chunks.
    chunks: Chunks,
    payload: &'a [u8],
}

/// The largest offset fuzzed: all of them (only `offset % 4` matters; an
/// offset near `usize::MAX` once overflowed in `apply_mask`).
const MAX_OFFSET: u64 = u64::MAX;

fuzz_target!(|input: Input<'_>| {
    let Input {
        key,
        offset,
        chunks,
        payload,
    } = input;
    let offset = (offset & MAX_OFFSET) as usize;

    let mut expected = payload.to_vec();
    apply_mask_bytewise(&mut expected, key, offset % 4);

    let mut masked = payload.to_vec();
    let mut next = offset;
    let mut at = 0;
    for chunk in chunks.split(payload) {
        let end = at + chunk.len();
        next = apply_mask(&mut masked[at..end], key, next);
        assert!(next < 4, "returned offset {next}");
        at = end;
    }
    if !payload.is_empty() {
        assert_eq!(
            next,
            (offset % 4 + payload.len()) % 4,
            "offset after the payload"
        );
    }
    assert_eq!(masked, expected, "key {key:02x?}, offset {offset}");

    // Masking is its own inverse, and an empty buffer keeps the phase.
    assert_eq!(apply_mask(&mut [], key, offset), offset % 4);
    apply_mask(&mut masked, key, offset);
    assert_eq!(masked, payload);
});
