//! Helpers shared by the ws-proto fuzz targets: how an input is cut into
//! network reads, and small reference implementations the targets compare
//! the library with.

use arbitrary::Arbitrary;

/// What one call of a handshake head parser returned, as far as the
/// scanning checks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadStep {
    /// `Ok(None)`: the head is not complete yet.
    Waiting,
    /// `Err(HeaderTooLarge)`.
    TooLarge,
    /// Anything else: parsed, or refused for another reason; `consumed` is
    /// the head's length when it was parsed.
    Done { consumed: Option<usize> },
}

impl HeadStep {
    /// The step of a parser's `result`; `consumed` gives a parsed head's
    /// length.
    pub fn of<T>(
        result: &Result<Option<T>, ws_proto::HandshakeError>,
        consumed: impl Fn(&T) -> usize,
    ) -> HeadStep {
        match result {
            Ok(None) => HeadStep::Waiting,
            Err(ws_proto::HandshakeError::HeaderTooLarge) => HeadStep::TooLarge,
            Ok(Some(parsed)) => HeadStep::Done {
                consumed: Some(consumed(parsed)),
            },
            Err(_) => HeadStep::Done { consumed: None },
        }
    }
}

/// The checks both head parsers (request and response) must pass after
/// each read: `fed` bytes given so far (`buf`), `scanned` and `passes`
/// what the parser reports, `cap` its header size limit and `within_cap`
/// where the reference finds the head's end if it is within the cap.
/// Scanning is linear (never more than what was fed, nor past the cap),
/// the head is parsed once, exactly when it is complete, and only a head
/// over the cap is refused as too large.
pub fn check_head_scan(
    buf: &[u8],
    scanned: usize,
    passes: usize,
    cap: usize,
    within_cap: Option<usize>,
    step: HeadStep,
) {
    let fed = buf.len();
    assert!(
        scanned <= fed.min(cap),
        "scanned {scanned} bytes of {fed} fed"
    );
    assert!(scanned <= 2 * fed + 16);
    match (step, within_cap) {
        (HeadStep::Waiting, _) => {
            assert_eq!(passes, 0);
            assert!(
                header_block_end(buf).is_none(),
                "the header block is complete but the parser waits"
            );
            assert!(
                fed <= cap,
                "{fed} bytes past the {cap}-byte cap and no refusal"
            );
        }
        (HeadStep::TooLarge, _) => {
            assert!(fed > cap, "HeaderTooLarge with {fed} bytes");
            assert_eq!(
                within_cap, None,
                "a block within the cap was refused as too large"
            );
            assert_eq!(passes, 0);
        }
        (HeadStep::Done { consumed }, None) => {
            panic!("a header block over the {cap}-byte cap was parsed (consumed {consumed:?})")
        }
        (HeadStep::Done { .. }, Some(end)) => {
            assert!(fed >= end);
            assert_eq!(passes, 1);
        }
    }
}

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

/// What [`inflate_messages`] made of one compressed message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inflated {
    /// The bytes the message inflated to (up to the cap).
    pub data: Vec<u8>,
    /// Decoding failed on a bit of this message: the data is not DEFLATE.
    pub invalid: bool,
    /// Decoding stopped in this message because its data reached the cap.
    pub over_cap: bool,
    /// The longest match distance this message used (0 if none).
    pub max_distance: usize,
}

/// A reference DEFLATE (RFC 1951) decoder for permessage-deflate (RFC
/// 7692): `messages` are the compressed messages as a receiver inflates
/// them, each with the `00 00 ff ff` tail already appended, in order.
///
/// The messages form one bit stream (context takeover) unless
/// `reset_between` (no context takeover: each message starts a new stream).
/// After a block with BFINAL set, a new stream starts at the next byte, with
/// an empty window, as a receiver that resets its inflater at the end of a
/// stream does.
///
/// A streaming inflater hands out every literal, match and stored byte as
/// soon as it has read the last bit that decides it, and finds every error
/// as soon as it has read the last bit that shows it. This decoder reads
/// one bit at a time and makes each decision when zlib does (after the same
/// bits), so each output byte and each error is placed in the message whose
/// bytes held that last bit. A message that ends inside a block simply
/// hands out what it decided so far; the next one goes on from there.
///
/// The window is 32 KiB: a distance is invalid only if it reaches back
/// past the start of the stream. Codes follow zlib's rules: the code length
/// code must be complete, or have no codes at all (zlib then reads each bit
/// as a length of 0, and finds no end-of-block code); the literal/length
/// and distance codes must be complete unless they hold a single code of
/// length 1; the distance code may have no codes at all; and using a code
/// that is not there fails after the fewest bits that show it.
///
/// Returns one entry per message decoded; decoding stops after the first
/// message that is invalid or whose data reaches `cap` bytes (`over_cap`).
pub fn inflate_messages(messages: &[&[u8]], reset_between: bool, cap: usize) -> Vec<Inflated> {
    let mut results = Vec::new();
    let mut streams: Vec<Vec<&[u8]>> = Vec::new();
    if reset_between {
        streams.extend(messages.iter().map(|message| vec![*message]));
    } else {
        streams.push(messages.to_vec());
    }
    for stream in streams {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for message in &stream {
            bytes.extend_from_slice(message);
            ends.push(bytes.len());
        }
        let mut decoder = Decoder {
            bytes: &bytes,
            ends: &ends,
            pos: 0,
            window: Vec::new(),
            produced: 0,
            results: Vec::new(),
            cap,
        };
        let stop = decoder.run();
        let mut found = decoder.results;
        let failed = stop != Stop::OutOfInput;
        if !failed {
            found.resize(ends.len(), Inflated::default());
        }
        results.extend(found);
        if failed {
            break;
        }
    }
    results
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Every bit was read: a normal end.
    OutOfInput,
    Invalid,
    OverCap,
}

/// A canonical Huffman code (as in zlib's `puff.c`).
struct Huffman {
    /// How many codes have each length (index 0: unused symbols).
    count: [u16; 16],
    /// How many codes are longer than each length.
    longer: [u16; 16],
    /// The symbols, ordered by code.
    symbol: Vec<u16>,
}

impl Huffman {
    /// The code for `lengths`, and what is left of the code space: 0 for
    /// a complete code, more for an incomplete one, less if oversubscribed.
    fn new(lengths: &[u8]) -> (Huffman, i32) {
        let mut count = [0u16; 16];
        for &len in lengths {
            count[usize::from(len)] += 1;
        }
        let mut longer = [0u16; 16];
        for len in (0..15).rev() {
            longer[len] = longer[len + 1] + count[len + 1];
        }
        let mut left = 1i32;
        for &n in &count[1..] {
            left <<= 1;
            left -= i32::from(n);
            if left < 0 {
                break;
            }
        }
        let mut offsets = [0u16; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + count[len];
        }
        let mut symbol = vec![0u16; lengths.len()];
        for (sym, &len) in lengths.iter().enumerate() {
            if len != 0 {
                symbol[usize::from(offsets[usize::from(len)])] = sym as u16;
                offsets[usize::from(len)] += 1;
            }
        }
        (
            Huffman {
                count,
                longer,
                symbol,
            },
            left,
        )
    }

    /// The longest code length in use (0 if none).
    fn max_len(&self) -> usize {
        (1..16).rev().find(|&len| self.count[len] != 0).unwrap_or(0)
    }
}

const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// The order code length code lengths are sent in.
const CL_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];
/// The DEFLATE window: the farthest a distance may reach.
const WINDOW: usize = 1 << 15;

struct Decoder<'a> {
    bytes: &'a [u8],
    /// Where each message ends in `bytes` (exclusive).
    ends: &'a [usize],
    /// Bits read so far.
    pos: usize,
    /// The latest output of the current stream (at least the last 32 KiB).
    window: Vec<u8>,
    /// Bytes output since the current stream started.
    produced: usize,
    results: Vec<Inflated>,
    cap: usize,
}

impl Decoder<'_> {
    fn run(&mut self) -> Stop {
        match self.blocks() {
            Ok(()) => Stop::OutOfInput,
            Err(Stop::Invalid) => {
                self.current().invalid = true;
                Stop::Invalid
            }
            Err(stop) => stop,
        }
    }

    /// The result of the message that holds the last bit read.
    fn current(&mut self) -> &mut Inflated {
        let byte = self.pos.saturating_sub(1) / 8;
        let mut index = self.results.len().saturating_sub(1);
        while index + 1 < self.ends.len() && byte >= self.ends[index] {
            index += 1;
        }
        if self.results.len() <= index {
            self.results.resize(index + 1, Inflated::default());
        }
        &mut self.results[index]
    }

    fn bit(&mut self) -> Result<u32, Stop> {
        let byte = *self.bytes.get(self.pos / 8).ok_or(Stop::OutOfInput)?;
        let bit = (byte >> (self.pos % 8)) & 1;
        self.pos += 1;
        Ok(u32::from(bit))
    }

    fn bits(&mut self, count: u8) -> Result<u32, Stop> {
        let mut value = 0;
        for i in 0..count {
            value |= self.bit()? << i;
        }
        Ok(value)
    }

    /// Output `bytes`, all decided by the last bit read, up to the cap.
    fn emit(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        let cap = self.cap;
        let current = self.current();
        let take = bytes.len().min(cap - current.data.len());
        current.data.extend_from_slice(&bytes[..take]);
        let over = current.data.len() >= cap;
        current.over_cap = over;
        self.window.extend_from_slice(&bytes[..take]);
        self.produced += take;
        if self.window.len() >= 4 * WINDOW {
            self.window.drain(..self.window.len() - WINDOW);
        }
        if over {
            Err(Stop::OverCap)
        } else {
            Ok(())
        }
    }

    /// Block after block, until the bits run out (`Ok`) or an error.
    fn blocks(&mut self) -> Result<(), Stop> {
        loop {
            let last = self.bit();
            if last == Err(Stop::OutOfInput) {
                return Ok(());
            }
            let last = last?;
            let kind = match self.bits(2) {
                Err(Stop::OutOfInput) => return Ok(()),
                other => other?,
            };
            let result = match kind {
                0 => self.stored(),
                1 => self.fixed(),
                2 => self.dynamic(),
                _ => Err(Stop::Invalid),
            };
            match result {
                Err(Stop::OutOfInput) => return Ok(()),
                other => other?,
            }
            if last == 1 {
                // The end of the stream: a new one starts at the next byte.
                self.pos = self.pos.div_ceil(8) * 8;
                self.window.clear();
                self.produced = 0;
            }
        }
    }

    fn stored(&mut self) -> Result<(), Stop> {
        self.pos = self.pos.div_ceil(8) * 8;
        let len = self.bits(16)?;
        let nlen = self.bits(16)?;
        if len != !nlen & 0xffff {
            return Err(Stop::Invalid);
        }
        // Byte-aligned now: the bytes that are there, message by message.
        let bytes = self.bytes;
        let mut left = len as usize;
        while left > 0 {
            let at = self.pos / 8;
            let end = self
                .ends
                .iter()
                .copied()
                .find(|&end| end > at)
                .unwrap_or(at);
            let take = left.min(end - at);
            if take == 0 {
                return Err(Stop::OutOfInput);
            }
            self.pos += 8 * take;
            self.emit(&bytes[at..at + take])?;
            left -= take;
        }
        Ok(())
    }

    fn fixed(&mut self) -> Result<(), Stop> {
        let mut lengths = [0u8; 288];
        lengths[..144].fill(8);
        lengths[144..256].fill(9);
        lengths[256..280].fill(7);
        lengths[280..].fill(8);
        let (lencode, _) = Huffman::new(&lengths);
        let (distcode, _) = Huffman::new(&[5; 32]);
        self.codes(&lencode, &distcode)
    }

    fn dynamic(&mut self) -> Result<(), Stop> {
        let nlen = self.bits(5)? as usize + 257;
        let ndist = self.bits(5)? as usize + 1;
        let ncode = self.bits(4)? as usize + 4;
        if nlen > 286 || ndist > 30 {
            return Err(Stop::Invalid);
        }
        let mut cl_lengths = [0u8; 19];
        for &index in &CL_ORDER[..ncode] {
            cl_lengths[index] = self.bits(3)? as u8;
        }
        let (clcode, left) = Huffman::new(&cl_lengths);
        if clcode.max_len() != 0 && left != 0 {
            return Err(Stop::Invalid);
        }
        let mut lengths = vec![0u8; nlen + ndist];
        let mut have = 0;
        while have < nlen + ndist {
            // zlib reads a code length code without codes as one bit per
            // length 0 (and then finds no end-of-block code).
            let symbol = if clcode.max_len() == 0 {
                self.bit()?;
                0
            } else {
                self.decode(&clcode)?
            };
            let (len, copy) = match symbol {
                0..=15 => (symbol as u8, 1),
                16 => {
                    let copy = 3 + self.bits(2)? as usize;
                    if have == 0 {
                        return Err(Stop::Invalid);
                    }
                    (lengths[have - 1], copy)
                }
                17 => (0, 3 + self.bits(3)? as usize),
                _ => (0, 11 + self.bits(7)? as usize),
            };
            if have + copy > nlen + ndist {
                return Err(Stop::Invalid);
            }
            lengths[have..have + copy].fill(len);
            have += copy;
        }
        if lengths[256] == 0 {
            return Err(Stop::Invalid);
        }
        let (lencode, left) = Huffman::new(&lengths[..nlen]);
        if left < 0 || (left > 0 && lencode.max_len() != 1) {
            return Err(Stop::Invalid);
        }
        let (distcode, left) = Huffman::new(&lengths[nlen..]);
        if left < 0 || (left > 0 && distcode.max_len() > 1) {
            return Err(Stop::Invalid);
        }
        self.codes(&lencode, &distcode)
    }

    /// One symbol; fails as soon as no code can match the bits read.
    fn decode(&mut self, code: &Huffman) -> Result<u16, Stop> {
        let (mut bits, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            bits |= self.bit()? as i32;
            let count = i32::from(code.count[len]);
            if bits - count < first {
                return Ok(code.symbol[(index + bits - first) as usize]);
            }
            index += count;
            first = (first + count) << 1;
            bits <<= 1;
            if code.longer[len] == 0 {
                break;
            }
        }
        Err(Stop::Invalid)
    }

    fn codes(&mut self, lencode: &Huffman, distcode: &Huffman) -> Result<(), Stop> {
        loop {
            let symbol = usize::from(self.decode(lencode)?);
            if symbol < 256 {
                self.emit(&[symbol as u8])?;
                continue;
            }
            if symbol == 256 {
                return Ok(());
            }
            let symbol = symbol - 257;
            if symbol >= 29 {
                return Err(Stop::Invalid);
            }
            let len = usize::from(LENGTH_BASE[symbol]) + self.bits(LENGTH_EXTRA[symbol])? as usize;
            let symbol = usize::from(self.decode(distcode)?);
            if symbol >= 30 {
                return Err(Stop::Invalid);
            }
            let dist = usize::from(DIST_BASE[symbol]) + self.bits(DIST_EXTRA[symbol])? as usize;
            if dist > self.produced {
                return Err(Stop::Invalid);
            }
            let current = self.current();
            current.max_distance = current.max_distance.max(dist);
            // The match: `dist` bytes back, repeating when it overlaps.
            let mut copy = [0u8; 258];
            let start = self.window.len() - dist;
            let first = len.min(dist);
            copy[..first].copy_from_slice(&self.window[start..start + first]);
            let mut filled = first;
            while filled < len {
                let more = filled.min(len - filled);
                copy.copy_within(..more, filled);
                filled += more;
            }
            self.emit(&copy[..len])?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7692 section 7.2.3: its examples, tail appended.
    fn tailed(bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        out.extend_from_slice(&[0, 0, 0xff, 0xff]);
        out
    }

    #[test]
    fn reference_inflate_decodes_the_rfc_7692_examples() {
        let hello = tailed(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]);
        let again = tailed(&[0xf2, 0x00, 0x11, 0x00, 0x01, 0x00]);
        let stored = tailed(&[
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ]);
        let bfinal = tailed(&[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00]);
        let two_blocks = tailed(&[
            0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
        ]);
        let messages: [&[u8]; 5] = [&hello, &again, &stored, &bfinal, &two_blocks];
        let found = inflate_messages(&messages, false, usize::MAX);
        assert_eq!(found.len(), 5);
        for message in &found {
            assert_eq!(message.data, b"Hello", "{found:?}");
            assert!(!message.invalid && !message.over_cap);
        }
        assert_eq!(found[1].max_distance, 5);
        // Without context takeover the second message refers to nothing.
        let found = inflate_messages(&messages, true, usize::MAX);
        assert_eq!(found.len(), 2);
        assert!(found[1].invalid);
        // The cap stops decoding in the message that reaches it.
        let found = inflate_messages(&messages, false, 6);
        assert_eq!(found.len(), 5);
        let found = inflate_messages(&messages, false, 3);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].data, b"Hel");
        assert!(found[0].over_cap);
    }

    #[test]
    fn reference_inflate_places_output_and_errors_by_message() {
        // "Hello" cut after its first literal: the rest comes with the
        // next message.
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0, 0, 0xff, 0xff];
        let found = inflate_messages(&[&hello[..1], &hello[1..]], false, usize::MAX);
        assert_eq!(found[0].data, b"");
        assert_eq!(found[1].data, b"Hello");
        let found = inflate_messages(&[&hello[..2], &hello[2..]], false, usize::MAX);
        assert_eq!(found[0].data, b"H");
        assert_eq!(found[1].data, b"ello");
        // Without its last byte (the next block's header), the stored
        // block's message leaves the tail to be read as a block header
        // whose length check takes the next message's first byte: invalid.
        let stored = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0, 0, 0xff, 0xff,
        ];
        let found = inflate_messages(&[&stored, &hello], false, usize::MAX);
        assert_eq!(found[0].data, b"Hello");
        assert!(!found[0].invalid && found[1].invalid);
        // Block type 3, then bytes that are never read.
        let found = inflate_messages(&[b"", &[0x07, 0x00]], false, usize::MAX);
        assert_eq!(found.len(), 2);
        assert!(!found[0].invalid && found[1].invalid);
        // A stored block whose length check fails.
        let found = inflate_messages(&[&[0x00, 0x05, 0x00, 0xfb, 0xff]], false, usize::MAX);
        assert!(found[0].invalid);
        // An empty message, and a bare tail.
        let found = inflate_messages(&[&[0x00], &[0, 0, 0xff, 0xff]], false, usize::MAX);
        assert_eq!(found, vec![Inflated::default(); 2]);
    }

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
