//! Arbitrary bytes as a client's upgrade request, arriving in arbitrary
//! reads, fed to `RequestParser` as the growing buffer after each read.
//!
//! Checks: no panic; the work stays linear (`bytes_scanned` within the
//! bytes fed, at most one HTTP parse per request however it is split); the
//! header block ends exactly where the first empty line is, and a block
//! longer than the cap is refused with `HeaderTooLarge`, never accepted;
//! the split does not change the outcome; a refusal can be written; an
//! accepted request declares no body, carries each singleton header at
//! most once and has a path starting with `/` (also for an absolute-form
//! target); it can be answered with `write_response`, and that answer
//! passes the client's `ResponseParser` (which refuses it with
//! `ExtensionNotOffered` when the echoed extension offer breaks the header
//! grammar).

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws_proto::extension::parse_extensions;
use ws_proto::handshake::client::{ClientRequest, ResponseParser};
use ws_proto::handshake::server::{write_refusal, write_response, Request, RequestParser};
use ws_proto::HandshakeError;
use ws_proto_fuzz::{
    base64_decode_16, base64_encode_16, check_head_scan, header_block_end, is_field_value,
    is_token, Chunks, HeadStep,
};

/// The header block cap: small, so that the fuzzer reaches it.
const CAP: usize = 512;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// How the request is cut into reads.
    chunks: Chunks,
    /// The bytes from the client.
    request: &'a [u8],
}

/// The outcome of a parse, owned, to compare two runs.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Incomplete,
    Accepted {
        path: String,
        host: String,
        origin: Option<String>,
        key: Vec<u8>,
        consumed: usize,
    },
    Refused(HandshakeError),
}

fn outcome(result: Result<Option<Request<'_>>, HandshakeError>) -> Outcome {
    match result {
        Ok(None) => Outcome::Incomplete,
        Ok(Some(request)) => Outcome::Accepted {
            path: request.path().to_owned(),
            host: request.host().to_owned(),
            origin: request.origin().map(str::to_owned),
            key: request.key().to_vec(),
            consumed: request.consumed(),
        },
        Err(err) => Outcome::Refused(err),
    }
}

/// What an accepted request may not carry, counted apart from the parser:
/// a body (frames would follow it), a second copy of a singleton header,
/// or a path that is not one.
fn check_request_rules(request: &Request<'_>) {
    let lines = |name: &'static str| {
        request
            .headers()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    };
    assert_eq!(lines("Transfer-Encoding").count(), 0);
    assert!(lines("Content-Length").all(|v| v.trim_ascii() == b"0"));
    for name in [
        "Content-Length",
        "Host",
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
        "Origin",
    ] {
        assert!(lines(name).count() <= 1, "accepted a repeated {name}");
    }
    assert_eq!(lines("Host").count(), 1);
    assert!(
        request.path().starts_with('/'),
        "accepted the path {:?}",
        request.path()
    );
}

/// Answer an accepted request and check the answer as a client would.
fn check_answer(request: &Request<'_>, end: usize) {
    check_request_rules(request);
    assert_eq!(request.consumed(), end);
    assert_eq!(request.version(), 13);
    // The parser accepted the key: 24 characters of base64 for 16 bytes.
    let key = base64_decode_16(request.key()).unwrap_or_else(|| {
        panic!(
            "accepted a key that is not 16 bytes of base64: {:?}",
            request.key()
        )
    });
    let offered: Vec<&str> = request.subprotocols().collect();
    let chosen = offered.iter().copied().find(|p| is_token(p.as_bytes()));
    if let Some(chosen) = chosen {
        assert_eq!(
            request.choose_subprotocol(&["\u{0}never", chosen]),
            Some(chosen)
        );
    }
    let mut out = [0u8; 1024];
    // Echo the first extension offer, if it can stand as a header value:
    // the writer must refuse one with control characters, not write it.
    let mut extensions = request.extensions().next();
    if let Some(value) = extensions.filter(|v| !is_field_value(v.as_bytes())) {
        assert_eq!(
            write_response(request.key(), chosen, Some(value), &[], &mut out),
            Err(HandshakeError::InvalidHeaderValue)
        );
        extensions = None;
    }
    let len =
        write_response(request.key(), chosen, extensions, &[], &mut out).unwrap_or_else(|err| {
            panic!("cannot answer an accepted request: {err:?} (extensions {extensions:?})")
        });
    let answer = &out[..len];

    let client = ClientRequest {
        subprotocols: &offered,
        extensions,
        ..ClientRequest::new("fuzz.invalid", "/", key)
    };
    let mut parser = ResponseParser::new(&client);
    let result = parser.parse(answer);
    // An echoed offer that breaks the extension header's grammar cannot be
    // checked against the offer: the client refuses it.
    let well_formed = extensions.is_none_or(|v| parse_extensions(v).all(|e| e.is_ok()));
    if base64_encode_16(&key) == request.key() && !well_formed {
        assert_eq!(result.err(), Some(HandshakeError::ExtensionNotOffered));
    } else if base64_encode_16(&key) == request.key() {
        let response = result.unwrap_or_else(|err| {
            panic!(
                "client refuses the answer: {err:?}\n{}",
                String::from_utf8_lossy(answer)
            )
        });
        let response = response.expect("the answer is a whole header block");
        assert_eq!(response.consumed(), len);
        assert_eq!(response.subprotocol(), chosen);
        assert_eq!(
            response.extensions().next().map(str::trim),
            extensions.map(str::trim)
        );
    } else {
        // A key with stray bits in its last character: the server hashes
        // the text it got, which no client that sent 16 bytes would expect.
        assert_eq!(result.err(), Some(HandshakeError::AcceptMismatch));
    }
}

fuzz_target!(|input: Input<'_>| {
    let Input { chunks, request } = input;
    let end = header_block_end(request);
    let within_cap = end.filter(|&end| end <= CAP);

    let mut parser = RequestParser::with_max_header_len(CAP);
    let mut fed = 0;
    let mut last = Outcome::Incomplete;
    for read in chunks.split(request) {
        fed += read.len();
        let buf = &request[..fed];
        let result = parser.parse(buf);

        check_head_scan(
            buf,
            parser.bytes_scanned(),
            parser.parse_passes(),
            CAP,
            within_cap,
            HeadStep::of(&result, Request::consumed),
        );

        match &result {
            Ok(Some(accepted)) => check_answer(accepted, within_cap.expect("checked above")),
            Err(refused) => {
                let mut out = [0u8; 512];
                let len = write_refusal(refused, &mut out).expect("a refusal fits in 512 bytes");
                let status = refused.status_code();
                assert!(out[..len].starts_with(format!("HTTP/1.1 {status} ").as_bytes()));
            }
            Ok(None) => {}
        }
        last = outcome(result);
        if last != Outcome::Incomplete {
            break;
        }
    }

    // Any split gives the outcome of the whole input at once.
    let whole = outcome(RequestParser::with_max_header_len(CAP).parse(request));
    assert_eq!(last, whole, "the split into reads changed the outcome");
});
