//! Payload masking (RFC 6455 section 5.3).
//!
//! Masking XORs every payload byte with one byte of a 4-byte key, cycling
//! through the key. It is its own inverse, so the same function masks and
//! unmasks. This is the hot loop of every server: [`apply_mask`] works on
//! 64-byte blocks of 8-byte words in safe code, which the compiler turns
//! into vector instructions.

/// XOR `buf` in place with `key`, starting at position `offset` of the key
/// (only `offset % 4` matters).
///
/// The offset lets a payload be unmasked chunk by chunk as it arrives: pass
/// the number of payload bytes already unmasked, or keep the value this
/// function returns, which is the offset for the next chunk.
///
/// ```
/// use ws_proto::mask::apply_mask;
/// let key = [1, 2, 3, 4];
/// let mut data = *b"Hello, world";
/// // Unmask in two chunks of different sizes...
/// let next = apply_mask(&mut data[..5], key, 0);
/// apply_mask(&mut data[5..], key, next);
/// // ...and mask again in one go: the original comes back.
/// apply_mask(&mut data, key, 0);
/// assert_eq!(&data, b"Hello, world");
/// ```
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) -> usize {
    let key = rotate_key(key, offset);
    let word = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    // Whole blocks and words leave the key phase where it was.
    let len = buf.len();
    let rest = if len >= 64 {
        mask_blocks(buf, word)
    } else {
        buf
    };
    let mut words = rest.chunks_exact_mut(8);
    for chunk in &mut words {
        xor_word(chunk, word);
    }
    for (byte, k) in words.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
    (offset % 4 + len % 4) % 4
}

/// XOR the whole 64-byte blocks of `buf` with `word`; returns the rest
/// (under 64 bytes). Blocks with a fixed count of words each unroll into
/// vector instructions with no loop bookkeeping between words: 1.2x the
/// speed of a plain word loop from 1 KiB to 1 MiB on x86-64. Not inlined,
/// so that small payloads keep the short inlined word loop.
#[inline(never)]
fn mask_blocks(buf: &mut [u8], word: u64) -> &mut [u8] {
    let mut blocks = buf.chunks_exact_mut(64);
    for block in &mut blocks {
        // The length is known to be 64; the conversion cannot fail.
        let block: &mut [u8; 64] = block.try_into().unwrap_or_else(|_| unreachable!());
        xor_words(block, word);
    }
    blocks.into_remainder()
}

/// XOR every whole 8-byte word of `block` with `word`.
#[inline(always)]
fn xor_words(block: &mut [u8; 64], word: u64) {
    for chunk in block.chunks_exact_mut(8) {
        xor_word(chunk, word);
    }
}

/// XOR an 8-byte chunk with `word`.
#[inline(always)]
fn xor_word(chunk: &mut [u8], word: u64) {
    // Only called with chunks of `chunks_exact_mut(8)`: the conversion
    // cannot fail.
    let bytes: &mut [u8; 8] = chunk.try_into().unwrap_or_else(|_| unreachable!());
    *bytes = (u64::from_ne_bytes(*bytes) ^ word).to_ne_bytes();
}

/// The key as seen from position `offset`: byte `i` of the result masks the
/// payload byte at offset `offset + i`.
#[inline]
fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    let mut rotated = key;
    rotated.rotate_left(offset % 4);
    rotated
}

/// The byte-by-byte definition from RFC 6455: `j`-th byte XOR `key[j % 4]`.
/// Kept as the reference that tests and fuzzers compare [`apply_mask`] with.
pub fn apply_mask_bytewise(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, byte) in buf.iter_mut().enumerate() {
        *byte ^= key[(offset + i) % 4];
    }
}

/// A source of masking keys for frames a client sends.
///
/// RFC 6455 requires a fresh, unpredictable key per frame, taken from a
/// strong entropy source. The core has no random number generator, so the
/// caller supplies one. Any `FnMut() -> [u8; 4]` is a `MaskSource`; see
/// [`BufferedMaskSource`] for an adapter that draws entropy in bulk.
pub trait MaskSource {
    /// Return the next masking key.
    fn next_key(&mut self) -> [u8; 4];
}

impl<F: FnMut() -> [u8; 4]> MaskSource for F {
    fn next_key(&mut self) -> [u8; 4] {
        self()
    }
}

/// The mask source of a server-side connection, which never masks.
///
/// Calling it returns an all-zero key, which leaves a payload unchanged; a
/// server [`Connection`](crate::Connection) never asks it for one.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMask;

impl MaskSource for NoMask {
    fn next_key(&mut self) -> [u8; 4] {
        [0; 4]
    }
}

/// Draws entropy 256 bytes at a time from a fill function (for example
/// `getrandom::fill`) and hands it out as masking keys, so a client does not
/// make a system call per frame.
pub struct BufferedMaskSource<F> {
    fill: F,
    pool: [u8; 256],
    used: usize,
}

impl<F: FnMut(&mut [u8])> BufferedMaskSource<F> {
    /// Wrap `fill`, which must fill its argument with unpredictable bytes.
    pub fn new(fill: F) -> Self {
        BufferedMaskSource {
            fill,
            pool: [0; 256],
            used: 256,
        }
    }
}

impl<F: FnMut(&mut [u8])> MaskSource for BufferedMaskSource<F> {
    fn next_key(&mut self) -> [u8; 4] {
        if self.used + 4 > self.pool.len() {
            (self.fill)(&mut self.pool);
            self.used = 0;
        }
        let mut key = [0; 4];
        key.copy_from_slice(&self.pool[self.used..self.used + 4]);
        // Never hand out the same bytes twice.
        self.pool[self.used..self.used + 4].fill(0);
        self.used += 4;
        key
    }
}

impl<F> core::fmt::Debug for BufferedMaskSource<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The pool holds future keys: never print it.
        f.debug_struct("BufferedMaskSource")
            .field("remaining_keys", &((256 - self.used) / 4))
            .finish()
    }
}

/// Masking keys drawn from the operating system's entropy source, 256
/// bytes at a time (feature `getrandom`). What a client transport uses.
#[cfg(feature = "getrandom")]
pub type OsMask = BufferedMaskSource<fn(&mut [u8])>;

/// Fill `buf` from the operating system's entropy source (feature
/// `getrandom`), for masking keys and handshake keys.
///
/// # Panics
/// If the operating system has no working entropy source: a client
/// cannot mask safely without one (RFC 6455 section 10.3), and there is no
/// sensible fallback.
#[cfg(feature = "getrandom")]
pub fn os_entropy(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's entropy source failed");
}

/// A fresh [`OsMask`].
#[cfg(feature = "getrandom")]
pub fn os_mask() -> OsMask {
    BufferedMaskSource::new(os_entropy as fn(&mut [u8]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn masking_twice_restores_the_payload() {
        let mut data = *b"some payload that spans several words";
        apply_mask(&mut data, [0xde, 0xad, 0xbe, 0xef], 0);
        assert_ne!(&data, b"some payload that spans several words");
        apply_mask(&mut data, [0xde, 0xad, 0xbe, 0xef], 0);
        assert_eq!(&data, b"some payload that spans several words");
    }

    #[test]
    fn rfc_example_hello_masks_to_the_rfc_bytes() {
        // RFC 6455 section 5.7: "Hello" masked with 37 fa 21 3d.
        let mut data = *b"Hello";
        apply_mask(&mut data, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn returned_offset_continues_the_key_phase() {
        let key = [9, 8, 7, 6];
        let mut whole = [0x55u8; 23];
        let mut chunked = whole;
        apply_mask(&mut whole, key, 0);
        let mut offset = 0;
        for chunk in chunked.chunks_mut(3) {
            offset = apply_mask(chunk, key, offset);
        }
        assert_eq!(whole, chunked);
    }

    #[test]
    fn offset_near_usize_max_does_not_overflow() {
        // Found by the `mask` fuzz target: only offset % 4 matters.
        let mut data = [0x41u8; 3];
        let next = apply_mask(&mut data, [1, 2, 3, 4], usize::MAX);
        let mut reference = [0x41u8; 3];
        apply_mask_bytewise(&mut reference, [1, 2, 3, 4], 3);
        assert_eq!(data, reference);
        assert_eq!(next, (3 + 3) % 4);
    }

    #[test]
    fn buffered_source_refills_and_never_repeats_a_slot() {
        let mut counter = 0u8;
        let mut source = BufferedMaskSource::new(|buf: &mut [u8]| {
            for b in buf.iter_mut() {
                *b = counter;
                counter = counter.wrapping_add(1);
            }
        });
        let first = source.next_key();
        assert_eq!(first, [0, 1, 2, 3]);
        for _ in 0..63 {
            source.next_key();
        }
        // 64 keys used the 256-byte pool; the next one triggers a refill.
        assert_eq!(source.next_key(), [0, 1, 2, 3]);
    }

    #[test]
    fn word_masking_equals_the_bytewise_definition_for_every_length_and_offset() {
        let key = [0x12, 0x34, 0x56, 0x78];
        for len in 0..=300usize {
            let data: [u8; 300] = core::array::from_fn(|i| (i * 7 + 3) as u8);
            for offset in 0..4 {
                let mut fast = data;
                let mut reference = data;
                let next = apply_mask(&mut fast[..len], key, offset);
                apply_mask_bytewise(&mut reference[..len], key, offset);
                assert_eq!(fast, reference, "len {len} offset {offset}");
                assert_eq!(next, (offset + len) % 4);
            }
        }
    }

    proptest! {
        #[test]
        fn word_masking_equals_the_bytewise_definition(
            data in proptest::collection::vec(any::<u8>(), 0..=300),
            key in any::<[u8; 4]>(),
            offset in 0usize..8,
        ) {
            let mut fast = data.clone();
            let mut reference = data;
            let next = apply_mask(&mut fast, key, offset);
            apply_mask_bytewise(&mut reference, key, offset);
            prop_assert_eq!(next, (offset + fast.len()) % 4);
            prop_assert_eq!(fast, reference);
        }
    }
}
