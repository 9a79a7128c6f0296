//! Arbitrary bytes, cut into arbitrary chunks, through the streaming
//! `Utf8Validator`, compared with `core::str::from_utf8` on the whole.
//!
//! Checks: the verdict (every `feed` and `finish` ok) is `from_utf8`'s;
//! the validator fails on exactly the chunk holding the first byte after
//! which the text can no longer be the start of valid UTF-8 (never earlier,
//! never later: Autobahn's fail-fast cases); between chunks `is_complete`
//! says whether the bytes so far are whole UTF-8; and `finish` resets the
//! validator for the next text.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws_proto::Utf8Validator;
use ws_proto_fuzz::{first_non_utf8_prefix_byte, Chunks};

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// How the text is cut into chunks.
    chunks: Chunks,
    /// The text, as bytes.
    text: &'a [u8],
}

/// Feed `text` in the chunks given; return the byte range of the chunk
/// that failed, or the verdict of `finish` if none did.
fn validate(
    validator: &mut Utf8Validator,
    chunks: Chunks,
    text: &[u8],
) -> Result<bool, (usize, usize)> {
    let mut fed = 0;
    for chunk in chunks.split(text) {
        let start = fed;
        fed += chunk.len();
        if validator.feed(chunk).is_err() {
            return Err((start, fed));
        }
        assert_eq!(
            validator.is_complete(),
            core::str::from_utf8(&text[..fed]).is_ok(),
            "is_complete after {fed} bytes"
        );
    }
    let verdict = validator.finish().is_ok();
    assert!(
        validator.is_complete(),
        "finish did not reset the validator"
    );
    Ok(verdict)
}

fuzz_target!(|input: Input<'_>| {
    let Input { chunks, text } = input;
    let valid = core::str::from_utf8(text).is_ok();
    let first_bad = first_non_utf8_prefix_byte(text);

    let mut validator = Utf8Validator::new();
    match validate(&mut validator, chunks, text) {
        Ok(verdict) => {
            assert_eq!(verdict, valid, "verdict differs from core::str::from_utf8");
            assert_eq!(first_bad, None, "an invalid byte went through unnoticed");
            // `finish` reset it: the same text gets the same verdict again,
            // this time in one chunk.
            assert_eq!(validate(&mut validator, Chunks::default(), text), Ok(valid));
        }
        Err((start, end)) => {
            assert!(!valid);
            let bad = first_bad.expect("failed on text that is a valid UTF-8 prefix");
            assert!(
                (start..end).contains(&bad),
                "failed on the chunk {start}..{end}, first bad byte at {bad}"
            );
        }
    }
});
