//! Arbitrary `Sec-WebSocket-Extensions` values through the permessage-deflate
//! negotiation, both sides.
//!
//! Checks: no panic; whatever a server accepts from any offer, its response
//! header is accepted by a client that made that offer, with the same
//! parameters; and a server's choice never grants windows larger than the
//! offer or its policy allow.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use ws_proto::deflate::{accept_response, negotiate, offer_header, response_header, DeflateConfig};
use ws_proto::extension::parse_extensions;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    /// The server's policy and a client's configuration.
    policy: (bool, bool, u8, u8),
    client: (bool, bool, u8, u8),
    /// Raw header values, as a peer might send them.
    values: Vec<&'a str>,
}

fn config(
    (server_nct, client_nct, server_bits, client_bits): (bool, bool, u8, u8),
) -> DeflateConfig {
    DeflateConfig::new()
        .server_no_context_takeover(server_nct)
        .client_no_context_takeover(client_nct)
        .server_max_window_bits(8 + server_bits % 8)
        .client_max_window_bits(8 + client_bits % 8)
}

fuzz_target!(|input: Input<'_>| {
    let policy = config(input.policy);
    let client = config(input.client);

    // The generic parser never panics, whatever it is given.
    for value in &input.values {
        for extension in parse_extensions(value).flatten() {
            for param in extension.params() {
                let _ = param.value().map(|value| value.chars().count());
            }
        }
    }

    // A server facing arbitrary offers: what it grants fits its policy.
    if let Some(params) = negotiate(input.values.iter().copied(), &policy) {
        assert!((8..=15).contains(&params.server_max_window_bits));
        assert!((8..=15).contains(&params.client_max_window_bits));
        assert!(params.server_max_window_bits <= policy.server_max_window_bits);
        if policy.server_no_context_takeover {
            assert!(params.server_no_context_takeover);
        }
        let _ = response_header(&params);
    }

    // A client facing an arbitrary response: no panic; what it accepts is
    // within what it offered.
    if let Ok(Some(params)) = accept_response(input.values.iter().copied(), &client) {
        assert!(params.client_max_window_bits <= client.client_max_window_bits);
        assert!(params.server_max_window_bits <= client.server_max_window_bits);
    }

    // Our own offer through a server, and its answer back through the
    // client: both sides agree.
    let offer = offer_header(&client);
    if let Some(agreed) = negotiate([offer.as_str()], &policy) {
        let response = response_header(&agreed);
        assert_eq!(
            accept_response([response.as_str()], &client),
            Ok(Some(agreed))
        );
    }
});
