//! Arbitrary bytes as the server's answer to a client's upgrade request,
//! arriving in arbitrary reads, fed to `ResponseParser` as the growing
//! buffer after each read.
//!
//! Checks: no panic; linear work and at most one HTTP parse; the header
//! block ends exactly at the first empty line, and one longer than the cap
//! is refused with `HeaderTooLarge`, never accepted; the split does not
//! change the outcome; an accepted response really carries the expected
//! `Sec-WebSocket-Accept` on exactly one line, a subprotocol that was
//! offered (at most one, on at most one line) and only extensions that
//! were offered. The request itself, written with
//! `ClientRequest::write`, must pass the server's `RequestParser`.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws_proto::handshake::client::{ClientRequest, Response, ResponseParser};
use ws_proto::handshake::server::RequestParser;
use ws_proto::HandshakeError;
use ws_proto_fuzz::{check_head_scan, header_block_end, Chunks, HeadStep};

/// The header block cap: small, so that the fuzzer reaches it.
const CAP: usize = 512;

/// The key of RFC 6455 section 1.3: the answer must carry
/// `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`.
const KEY: [u8; 16] = *b"the sample nonce";

const PROTOCOLS: [&[&str]; 4] = [
    &[],
    &["chat"],
    &["chat", "superchat"],
    &["superchat", "mqtt", "v2.chat"],
];

const EXTENSIONS: [Option<&str>; 4] = [
    None,
    Some("permessage-deflate; client_max_window_bits"),
    Some("permessage-deflate, x-webkit-deflate-frame"),
    Some(""),
];

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// Bits 0-1: the subprotocols offered; bits 2-3: the extensions offered.
    flags: u8,
    /// How the response is cut into reads.
    chunks: Chunks,
    /// The bytes from the server.
    response: &'a [u8],
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Incomplete,
    Accepted {
        subprotocol: Option<String>,
        extensions: Vec<String>,
        consumed: usize,
    },
    Refused(HandshakeError),
}

fn outcome(result: Result<Option<Response<'_>>, HandshakeError>) -> Outcome {
    match result {
        Ok(None) => Outcome::Incomplete,
        Ok(Some(response)) => Outcome::Accepted {
            subprotocol: response.subprotocol().map(str::to_owned),
            extensions: response.extensions().map(str::to_owned).collect(),
            consumed: response.consumed(),
        },
        Err(err) => Outcome::Refused(err),
    }
}

/// The extension names in a `Sec-WebSocket-Extensions` value: each
/// element up to its first `;`, elements split at the commas that are not
/// inside a quoted string (a reference written apart from ws-proto's
/// parser, which is stricter: it also refuses malformed elements).
fn extension_names(value: &str) -> Vec<&str> {
    let mut elements = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (at, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                elements.push(&value[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    elements.push(&value[start..]);
    elements
        .into_iter()
        .map(|element| element.split(';').next().unwrap_or("").trim())
        .filter(|name| !name.is_empty())
        .collect()
}

/// The request this client sent must be one a server accepts.
fn check_request(request: &ClientRequest<'_>) {
    let mut out = [0u8; 1024];
    let len = request.write(&mut out).expect("the request is valid");
    let parsed = RequestParser::new()
        .parse(&out[..len])
        .expect("the server accepts the request")
        .expect("the request is a whole header block");
    assert_eq!(parsed.consumed(), len);
    assert_eq!(parsed.key(), request.encoded_key());
    assert_eq!(
        parsed.subprotocols().collect::<Vec<_>>(),
        request.subprotocols
    );
    assert_eq!(parsed.extensions().next(), request.extensions);
}

fn check_accepted(request: &ClientRequest<'_>, response: &Response<'_>, end: usize) {
    assert_eq!(response.consumed(), end);
    assert_eq!(response.status(), 101);
    let lines = |name: &str| {
        response
            .headers()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    };
    assert_eq!(lines("Sec-WebSocket-Accept"), 1);
    assert!(lines("Sec-WebSocket-Protocol") <= 1);
    let accept = response
        .header("Sec-WebSocket-Accept")
        .expect("accepted without Sec-WebSocket-Accept");
    assert_eq!(accept.trim_ascii(), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(&request.expected_accept(), b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    if let Some(chosen) = response.subprotocol() {
        assert!(
            request.subprotocols.contains(&chosen),
            "accepted subprotocol {chosen:?}, offered {:?}",
            request.subprotocols
        );
    }
    let offered = request.extensions.unwrap_or("");
    for value in response.extensions() {
        for name in extension_names(value) {
            assert!(
                extension_names(offered)
                    .iter()
                    .any(|o| o.eq_ignore_ascii_case(name)),
                "accepted extension {name:?}, offered {offered:?}"
            );
        }
    }
}

fuzz_target!(|input: Input<'_>| {
    let Input {
        flags,
        chunks,
        response,
    } = input;
    let request = ClientRequest {
        subprotocols: PROTOCOLS[usize::from(flags & 3)],
        extensions: EXTENSIONS[usize::from((flags >> 2) & 3)],
        origin: Some("http://example.com"),
        ..ClientRequest::new("server.example.com", "/chat", KEY)
    };
    check_request(&request);

    let end = header_block_end(response);
    let within_cap = end.filter(|&end| end <= CAP);

    let mut parser = ResponseParser::with_max_header_len(&request, CAP);
    let mut fed = 0;
    let mut last = Outcome::Incomplete;
    for read in chunks.split(response) {
        fed += read.len();
        let buf = &response[..fed];
        let result = parser.parse(buf);

        check_head_scan(
            buf,
            parser.bytes_scanned(),
            parser.parse_passes(),
            CAP,
            within_cap,
            HeadStep::of(&result, Response::consumed),
        );
        if let Ok(Some(accepted)) = &result {
            check_accepted(&request, accepted, within_cap.expect("checked above"));
        }
        last = outcome(result);
        if last != Outcome::Incomplete {
            break;
        }
    }

    // Any split gives the outcome of the whole input at once.
    let whole = outcome(ResponseParser::with_max_header_len(&request, CAP).parse(response));
    assert_eq!(last, whole, "the split into reads changed the outcome");
});
