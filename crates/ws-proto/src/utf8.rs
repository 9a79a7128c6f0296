//! Streaming UTF-8 validation for text messages.
//!
//! A text message reaches the core in pieces: frames, and chunks of frames
//! as they arrive from the network. [`Utf8Validator`] checks each piece as
//! it comes, carries an unfinished code point (at most 3 bytes) over to the
//! next piece, and reports an error on the very chunk whose bytes make the
//! text invalid, which is what Autobahn's "fail fast" cases (6.4.x) demand.
//! The transports reuse it on decompressed text.

use simdutf8::compat::from_utf8;

/// The text is not valid UTF-8 (close code 1007).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

impl core::fmt::Display for InvalidUtf8 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("text is not valid UTF-8")
    }
}

/// Incremental UTF-8 validator: feed it chunks with [`feed`](Self::feed),
/// then call [`finish`](Self::finish) at the end of the message.
///
/// ```
/// use ws_proto::utf8::Utf8Validator;
/// let mut v = Utf8Validator::new();
/// // "é" is 0xC3 0xA9: split across two chunks, it is still valid.
/// assert!(v.feed(b"caf\xC3").is_ok());
/// assert!(v.feed(b"\xA9").is_ok());
/// assert!(v.finish().is_ok());
/// // A byte that can never start or continue a code point fails at once.
/// assert!(Utf8Validator::new().feed(b"ok\xFF").is_err());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Utf8Validator {
    /// Leading bytes of a code point that the previous chunk cut short.
    pending: [u8; 4],
    pending_len: u8,
}

impl Utf8Validator {
    /// A validator at the start of a text.
    pub const fn new() -> Self {
        Utf8Validator {
            pending: [0; 4],
            pending_len: 0,
        }
    }

    /// True when no code point is cut short: the bytes fed so far are a
    /// complete, valid text.
    pub fn is_complete(&self) -> bool {
        self.pending_len == 0
    }

    /// Validate the next chunk of the text.
    ///
    /// Fails as soon as the bytes fed so far cannot be the start of any
    /// valid UTF-8 text. A code point that the chunk leaves unfinished is
    /// remembered and checked when the next chunk arrives.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), InvalidUtf8> {
        let rest = self.complete_pending(chunk)?;
        match from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(err) => match err.error_len() {
                // Invalid bytes inside the chunk.
                Some(_) => Err(InvalidUtf8),
                // A valid prefix of a code point at the end: keep it.
                None => {
                    let tail = &rest[err.valid_up_to()..];
                    self.pending[..tail.len()].copy_from_slice(tail);
                    self.pending_len = tail.len() as u8;
                    Ok(())
                }
            },
        }
    }

    /// Declare the end of the text: fails if it stops inside a code point.
    /// The validator is reset for the next text either way.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.is_complete();
        *self = Self::new();
        if complete {
            Ok(())
        } else {
            Err(InvalidUtf8)
        }
    }

    /// Finish the code point left over from the previous chunk with bytes
    /// from the start of `chunk`; return the part of `chunk` not used.
    fn complete_pending<'c>(&mut self, chunk: &'c [u8]) -> Result<&'c [u8], InvalidUtf8> {
        if self.pending_len == 0 {
            return Ok(chunk);
        }
        let have = usize::from(self.pending_len);
        let need = sequence_len(self.pending[0]) - have;
        let take = need.min(chunk.len());
        let mut code_point = self.pending;
        code_point[have..have + take].copy_from_slice(&chunk[..take]);
        let candidate = &code_point[..have + take];
        match from_utf8(candidate) {
            Ok(_) => {
                self.pending_len = 0;
                Ok(&chunk[take..])
            }
            Err(err) if err.error_len().is_none() => {
                // Still a valid prefix, and the chunk is used up.
                self.pending = code_point;
                self.pending_len = candidate.len() as u8;
                Ok(&chunk[take..])
            }
            Err(_) => Err(InvalidUtf8),
        }
    }
}

/// The length of the sequence a valid leading byte starts. Only called on
/// bytes that the validator already accepted as the start of a sequence.
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn validate_in_chunks(text: &[u8], sizes: &[usize]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::new();
        let mut rest = text;
        let mut sizes = sizes.iter().cycle();
        while !rest.is_empty() {
            let n = (*sizes.next().unwrap_or(&1)).clamp(1, rest.len());
            v.feed(&rest[..n])?;
            rest = &rest[n..];
        }
        v.finish()
    }

    #[test]
    fn code_point_split_over_three_chunks_is_valid() {
        let text = "𝄞".as_bytes(); // 4 bytes
        assert_eq!(validate_in_chunks(text, &[1, 2, 1]), Ok(()));
    }

    #[test]
    fn invalid_byte_fails_on_the_chunk_that_contains_it() {
        let mut v = Utf8Validator::new();
        assert!(v.feed("κόσμε".as_bytes()).is_ok());
        assert_eq!(v.feed(&[0xCE, 0xBA, 0xF4, 0x90]), Err(InvalidUtf8));
    }

    #[test]
    fn code_point_above_u10ffff_fails_at_its_second_byte() {
        // 0xF4 0x90 can only continue into U+110000 and above.
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[0xF4]).is_ok());
        assert_eq!(v.feed(&[0x90]), Err(InvalidUtf8));
    }

    #[test]
    fn surrogate_fails_before_its_last_byte() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[0xED]).is_ok());
        assert_eq!(v.feed(&[0xA0]), Err(InvalidUtf8));
    }

    #[test]
    fn text_ending_inside_a_code_point_fails_at_finish() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[b'a', 0xE2, 0x82]).is_ok());
        assert!(!v.is_complete());
        assert_eq!(v.finish(), Err(InvalidUtf8));
        // ...and the validator is ready for the next text.
        assert!(v.is_complete());
    }

    #[test]
    fn overlong_encoding_is_rejected() {
        assert_eq!(validate_in_chunks(&[0xC0, 0xAF], &[1]), Err(InvalidUtf8));
        assert_eq!(
            validate_in_chunks(&[0xE0, 0x80, 0xAF], &[1]),
            Err(InvalidUtf8)
        );
    }

    proptest! {
        #[test]
        fn chunked_validation_agrees_with_core(
            bytes in proptest::collection::vec(
                prop_oneof![any::<u8>(), Just(0xE2u8), Just(0x82u8), Just(0xACu8), Just(b'a')],
                0..64,
            ),
            sizes in proptest::collection::vec(1usize..6, 1..8),
        ) {
            let expected = core::str::from_utf8(&bytes).is_ok();
            prop_assert_eq!(validate_in_chunks(&bytes, &sizes).is_ok(), expected);
        }

        #[test]
        fn valid_strings_pass_in_any_chunking(
            text in "\\PC*",
            sizes in proptest::collection::vec(1usize..6, 1..8),
        ) {
            prop_assert_eq!(validate_in_chunks(text.as_bytes(), &sizes), Ok(()));
        }

        #[test]
        fn failure_is_reported_no_later_than_the_first_bad_byte(
            prefix in "\\PC{0,8}",
            bad in prop_oneof![Just(0xFFu8), Just(0xC0u8), Just(0xF5u8)],
        ) {
            let mut v = Utf8Validator::new();
            for &b in prefix.as_bytes() {
                prop_assert!(v.feed(&[b]).is_ok());
            }
            prop_assert_eq!(v.feed(&[bad]), Err(InvalidUtf8));
        }
    }
}
