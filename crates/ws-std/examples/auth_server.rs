//! An echo server that checks every upgrade request before accepting it:
//! a request without the right token is refused with 401 and a
//! `WWW-Authenticate` challenge, one from a browser page of another origin
//! with 403; the others are accepted and echoed, a thread each.
//!
//! ```text
//! cargo run --release -p ws-std --example auth_server -- [ADDR] [TOKEN] [ORIGIN]
//! ```
//! ADDR defaults to 127.0.0.1:9003, TOKEN to `secret`, ORIGIN (the one web
//! origin whose pages may connect) to `http://localhost:8000`. The token
//! goes in an `Authorization: Bearer TOKEN` header or, for browsers, which
//! cannot set headers on a WebSocket, in the query: `ws://ADDR/?token=TOKEN`.
//! Requests without an `Origin` header (programs, not browser pages) are
//! not checked for one.

use ws_std::{Accept, Config, Error, MaybeTlsStream, Refusal, RequestView, WebSocket, WsServer};

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:9003".to_owned());
    let token = args.next().unwrap_or_else(|| "secret".to_owned());
    let origin = args
        .next()
        .unwrap_or_else(|| "http://localhost:8000".to_owned());
    let server = match WsServer::bind_with_config(addr.as_str(), Config::default()) {
        Ok(server) => server,
        Err(err) => {
            eprintln!("auth_server: cannot listen on {addr}: {err}");
            std::process::exit(1);
        }
    };
    let local = server.local_addr().map_or(addr, |a| a.to_string());
    println!("listening on ws://{local}/?token={token}");

    let check = |request: &RequestView<'_>| check(request, &token, &origin);
    for ws in server.incoming_with(check) {
        match ws {
            Ok(ws) => {
                std::thread::spawn(move || echo(ws));
            }
            Err(Error::Refused { status }) => eprintln!("refused with {status}"),
            Err(err) => eprintln!("handshake failed: {err}"),
        }
    }
}

/// Accept a request with the right token from an allowed origin (or from
/// no browser at all); refuse the others.
fn check(request: &RequestView<'_>, token: &str, origin: &str) -> Result<Accept, Refusal> {
    if request.origin().is_some_and(|sent| sent != origin) {
        return Err(Refusal::forbidden().body("this origin may not connect\n"));
    }
    let bearer = request
        .header_str("Authorization")
        .and_then(|value| value.trim().strip_prefix("Bearer "));
    let in_query = request
        .query()
        .into_iter()
        .flat_map(|query| query.split('&'))
        .find_map(|pair| pair.strip_prefix("token="));
    match bearer.or(in_query) {
        Some(sent) if same_secret(sent.as_bytes(), token.as_bytes()) => Ok(Accept::new()),
        _ => {
            Err(Refusal::unauthorized("Bearer realm=\"echo\"").body("a valid token is required\n"))
        }
    }
}

/// Compare secrets in a time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// Echo until the peer closes or fails.
fn echo(mut ws: WebSocket<MaybeTlsStream>) {
    let who = ws
        .opened_with()
        .and_then(|request| request.peer_addr())
        .map_or_else(|| "?".to_owned(), |addr| addr.to_string());
    println!("{who}: connected");
    loop {
        match ws.recv() {
            Ok(message) => {
                if ws.send(&message).is_err() {
                    break;
                }
            }
            Err(Error::Closed { .. }) => break,
            Err(err) => {
                eprintln!("{who}: {err}");
                break;
            }
        }
    }
    println!("{who}: gone");
}
