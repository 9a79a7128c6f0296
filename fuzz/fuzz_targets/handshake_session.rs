//! Arbitrary bytes, arriving in arbitrary reads, fed as the growing buffer
//! to the owned state machines of `ws_proto::handshake::session`: as a
//! request to a `ServerHandshake`, and as an answer to a
//! `ClientHandshake` (key of RFC 6455 section 1.3, with the subprotocols
//! and the permessage-deflate offer the flags pick).
//!
//! Checks: no panic; linear work and at most one HTTP parse; the split
//! does not change the outcome; a completed handshake consumed exactly the
//! header block; the client agrees only to a subprotocol it offered and to
//! deflate only when it offered it; an accepted request's 101 is what
//! `write_response` writes and carries deflate only if negotiated.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws_proto::deflate::{DeflateConfig, DeflateParams};
use ws_proto::handshake::{Accept, ClientHandshake, ServerHandshake, Status};
use ws_proto::HandshakeError;
use ws_proto_fuzz::{header_block_end, Chunks};

/// The header block cap: small, so that the fuzzer reaches it.
const CAP: usize = 512;

const KEY: [u8; 16] = *b"the sample nonce";

const PROTOCOLS: [&[&str]; 4] = [&[], &["chat"], &["chat", "superchat"], &["mqtt", "v2.chat"]];

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// Bits 0-1: the subprotocols offered; bit 2: offer deflate (client)
    /// or negotiate it (server).
    flags: u8,
    chunks: Chunks,
    bytes: &'a [u8],
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Partial,
    Done {
        consumed: usize,
        subprotocol: Option<String>,
        deflate: Option<DeflateParams>,
    },
    Failed(HandshakeError),
}

fn client(flags: u8) -> ClientHandshake {
    let mut client = ClientHandshake::new("server.example.com", "/chat", KEY).expect("fits");
    for name in PROTOCOLS[usize::from(flags & 3)] {
        client.offer_subprotocol(name).expect("a token");
    }
    if flags & 4 != 0 {
        client.offer_deflate(DeflateConfig::default());
    }
    client.set_max_header_len(CAP);
    client
}

fn server(flags: u8) -> ServerHandshake {
    let mut server = ServerHandshake::with_max_header_len(CAP);
    if flags & 4 != 0 {
        server.negotiate_deflate(DeflateConfig::default());
    }
    server
}

fn client_outcome(client: &mut ClientHandshake, buf: &[u8]) -> Outcome {
    match client.feed(buf) {
        Ok(Status::Partial) => Outcome::Partial,
        Ok(Status::Complete(done)) => Outcome::Done {
            consumed: done.consumed,
            subprotocol: done.subprotocol.map(str::to_owned),
            deflate: done.deflate,
        },
        Err(err) => Outcome::Failed(err),
    }
}

fn server_outcome(server: &mut ServerHandshake, buf: &[u8], flags: u8) -> Outcome {
    match server.feed(buf) {
        Ok(Status::Partial) => Outcome::Partial,
        Ok(Status::Complete(incoming)) => {
            let subprotocol = incoming
                .request()
                .choose_subprotocol(PROTOCOLS[usize::from(flags & 3)]);
            let mut out = [0u8; 1024];
            let accept = Accept {
                subprotocol,
                headers: &[],
            };
            let done = incoming.accept(&accept, &mut out).expect("room enough");
            let response = &out[..done.response_len];
            assert!(response.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
            let names_deflate = response
                .windows(b"permessage-deflate".len())
                .any(|w| w == b"permessage-deflate");
            assert_eq!(names_deflate, done.deflate.is_some());
            assert!(flags & 4 != 0 || done.deflate.is_none());
            Outcome::Done {
                consumed: done.consumed,
                subprotocol: done.subprotocol.map(str::to_owned),
                deflate: done.deflate,
            }
        }
        Err(err) => Outcome::Failed(err),
    }
}

fn check(last: &Outcome, whole: &Outcome, bytes: &[u8], flags: u8, client_side: bool) {
    assert_eq!(last, whole, "the split into reads changed the outcome");
    if let Outcome::Done {
        consumed,
        subprotocol,
        deflate,
    } = whole
    {
        assert_eq!(Some(*consumed), header_block_end(bytes));
        assert!(*consumed <= CAP);
        if let Some(chosen) = subprotocol {
            assert!(PROTOCOLS[usize::from(flags & 3)].contains(&chosen.as_str()));
        }
        if client_side {
            assert!(flags & 4 != 0 || deflate.is_none());
        }
    }
}

fuzz_target!(|input: Input<'_>| {
    let Input {
        flags,
        chunks,
        bytes,
    } = input;

    let mut machine = client(flags);
    let mut last = Outcome::Partial;
    let mut fed = 0;
    for read in chunks.split(bytes) {
        fed += read.len();
        last = client_outcome(&mut machine, &bytes[..fed]);
        assert!(machine.bytes_scanned() <= fed.min(CAP + 1));
        assert!(machine.parse_passes() <= 1);
        if last != Outcome::Partial {
            break;
        }
    }
    let whole = client_outcome(&mut client(flags), bytes);
    check(&last, &whole, bytes, flags, true);

    let mut machine = server(flags);
    let mut last = Outcome::Partial;
    let mut fed = 0;
    for read in chunks.split(bytes) {
        fed += read.len();
        last = server_outcome(&mut machine, &bytes[..fed], flags);
        assert!(machine.bytes_scanned() <= fed.min(CAP + 1));
        assert!(machine.parse_passes() <= 1);
        if last != Outcome::Partial {
            break;
        }
    }
    let whole = server_outcome(&mut server(flags), bytes, flags);
    check(&last, &whole, bytes, flags, false);
});
