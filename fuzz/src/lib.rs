//! Helpers shared by the ws-proto fuzz targets: how an input is cut into
//! network reads, and small reference implementations the targets compare
//! the library with.

use arbitrary::Arbitrary;

/// How a byte stream is cut into reads: eight size codes, used in turn.
///
/// A code of 0 means "everything that is left", 1 to 127 a read of that
/// many bytes, and 128 to 255 a short read of 1 to 16 bytes (the low four
/// bits plus one), so that byte-at-a-time splits are common. An all-zero
/// pattern (what a short input gives) delivers the stream in one read.
#[derive(Arbitrary, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Chunks(pub [u8; 8]);

impl Chunks {
    /// The read size a code stands for (`usize::MAX` for "the rest").
    pub fn size(code: u8) -> usize {
        match code {
            0 => usize::MAX,
            1..=127 => usize::from(code),
            _ => usize::from(code & 0x0f) + 1,
        }
    }

    /// The non-empty pieces of `data`, in order; together they are `data`.
    pub fn split(self, data: &[u8]) -> Split<'_> {
        Split {
            codes: self.0,
            next: 0,
            rest: data,
        }
    }
}

/// Iterator returned by [`Chunks::split`].
pub struct Split<'a> {
    codes: [u8; 8],
    next: usize,
    rest: &'a [u8],
}

impl<'a> Iterator for Split<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let size = Chunks::size(self.codes[self.next % 8]).min(self.rest.len());
        self.next += 1;
        let (piece, rest) = self.rest.split_at(size);
        self.rest = rest;
        Some(piece)
    }
}

/// Whether `bytes` can start a valid UTF-8 text: valid, or cut short in
/// the middle of a code point that could still be completed.
pub fn is_utf8_prefix(bytes: &[u8]) -> bool {
    match core::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(err) => err.error_len().is_none(),
    }
}

/// The index of the first byte that stops `bytes` from being the start of
/// valid UTF-8 text, or `None` if every prefix of `bytes` could still be.
///
/// Derived from `core::str::from_utf8` alone: the bad byte lies within the
/// four bytes after `valid_up_to`, so at most four prefixes are checked.
pub fn first_non_utf8_prefix_byte(bytes: &[u8]) -> Option<usize> {
    let err = core::str::from_utf8(bytes).err()?;
    err.error_len()?;
    let start = err.valid_up_to();
    let found = (start..bytes.len().min(start + 4)).find(|&i| !is_utf8_prefix(&bytes[..=i]));
    assert!(
        found.is_some(),
        "from_utf8 reported an error it cannot place"
    );
    found
}

/// The end (exclusive) of the first HTTP header block in `bytes`, as the
/// handshake parsers define it: the first empty line, `\r\n\r\n` or a bare
/// `\n\n` (a `\n`, optionally a `\r`, then a `\n`).
pub fn header_block_end(bytes: &[u8]) -> Option<usize> {
    (1..bytes.len())
        .find(|&i| {
            bytes[i] == b'\n'
                && (bytes[i - 1] == b'\n'
                    || (i >= 2 && bytes[i - 1] == b'\r' && bytes[i - 2] == b'\n'))
        })
        .map(|i| i + 1)
}

/// Whether `bytes` is an HTTP token (RFC 9110 `tchar`s, non-empty).
pub fn is_token(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether `bytes` may be written as a header value: no control
/// characters but tab (so no CR or LF that would end the line).
pub fn is_field_value(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// Decode padded standard base64 (`A-Z a-z 0-9 + /`, `=` padding) that
/// holds exactly 16 bytes, as a `Sec-WebSocket-Key` must. Non-zero bits in
/// the unused part of the last character are ignored here; compare the
/// result's re-encoding with the input to know whether it was canonical.
pub fn base64_decode_16(text: &[u8]) -> Option<[u8; 16]> {
    if text.len() != 24 || &text[22..] != b"==" {
        return None;
    }
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut out = [0u8; 16];
    let mut len = 0;
    for &c in &text[..22] {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            if len < 16 {
                out[len] = (bits >> nbits) as u8;
            }
            len += 1;
            bits &= (1 << nbits) - 1;
        }
    }
    (len == 16).then_some(out)
}

/// Encode 16 bytes as padded standard base64 (24 characters).
pub fn base64_encode_16(bytes: &[u8; 16]) -> [u8; 24] {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = [b'='; 24];
    let mut at = 0;
    for group in bytes.chunks(3) {
        let mut word = [0u8; 3];
        word[..group.len()].copy_from_slice(group);
        let n = (u32::from(word[0]) << 16) | (u32::from(word[1]) << 8) | u32::from(word[2]);
        for k in 0..=group.len() {
            out[at + k] = ALPHABET[((n >> (18 - 6 * k)) & 0x3f) as usize];
        }
        at += 4;
    }
    out
}

/// The longest prefix of `text` of at most `max` bytes that ends on a
/// character boundary (how a close reason is cut to fit a control frame).
pub fn truncate_at_char_boundary(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_the_rfc_key() {
        let key = b"the sample nonce";
        assert_eq!(&base64_encode_16(key), b"dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(base64_decode_16(b"dGhlIHNhbXBsZSBub25jZQ=="), Some(*key));
    }

    #[test]
    fn first_bad_byte_is_placed_exactly() {
        assert_eq!(first_non_utf8_prefix_byte(b"ab\xff"), Some(2));
        assert_eq!(first_non_utf8_prefix_byte(b"a\xe2\x82A"), Some(3));
        assert_eq!(first_non_utf8_prefix_byte(b"\xed\xa0\x80"), Some(1));
        assert_eq!(first_non_utf8_prefix_byte(b"a\xe2\x82"), None);
    }
}
