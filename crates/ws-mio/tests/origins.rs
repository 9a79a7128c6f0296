//! `Config::allowed_origins` (a request from another origin gets 403) and
//! `Config::max_server_connections` (a cap on all the loops together).

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{config, read_http_head, tcp, wait_until, Running, IO_TIMEOUT};
use ws_mio::{Config, Echo};
use ws_test_support::raw::upgrade_request;

/// Send an upgrade request with `extra` header lines; the answer's head
/// (empty if the server closed the connection without one).
fn upgrade_head(addr: SocketAddr, extra: &str) -> (TcpStream, String) {
    let mut stream = tcp(addr);
    stream
        .write_all(upgrade_request(addr, "/", "13", extra).as_bytes())
        .expect("write the upgrade request");
    let head = read_http_head(&mut stream).unwrap_or_default();
    (stream, head)
}

fn origins_config() -> Config {
    config().allowed_origins(["https://good.example", "http://localhost:8080"])
}

#[test]
fn a_listed_origin_is_upgraded() {
    let server = Running::start(origins_config(), || Echo);
    for origin in [
        "https://good.example",
        "HTTPS://GOOD.example",
        "http://localhost:8080",
    ] {
        let (_, head) = upgrade_head(server.addr, &format!("Origin: {origin}\r\n"));
        assert!(head.starts_with("HTTP/1.1 101 "), "{origin}: {head:?}");
    }
    server.stop_ok();
}

#[test]
fn an_origin_not_listed_or_none_gets_403() {
    let server = Running::start(origins_config(), || Echo);
    for extra in [
        "Origin: https://evil.example\r\n",
        "Origin: https://good.example.evil.example\r\n",
        "Origin: http://localhost:8081\r\n",
        "Origin: null\r\n",
        "",
    ] {
        let (_, head) = upgrade_head(server.addr, extra);
        assert!(head.starts_with("HTTP/1.1 403 "), "{extra:?}: {head:?}");
    }
    server.stop_ok();
}

#[test]
fn without_a_list_any_origin_is_upgraded() {
    let server = Running::start(config(), || Echo);
    for extra in ["Origin: https://anywhere.example\r\n", ""] {
        let (_, head) = upgrade_head(server.addr, extra);
        assert!(head.starts_with("HTTP/1.1 101 "), "{extra:?}: {head:?}");
    }
    server.stop_ok();
}

/// Hold `cap` connections on a server of `threads` loops: the next one is
/// closed without an answer; once one of them goes, a new one is served.
fn the_server_cap_holds(threads: usize) {
    const CAP: usize = 3;
    let server =
        Running::with_threads(config().max_server_connections(Some(CAP)), threads, || Echo);
    let mut held = Vec::new();
    for n in 0..CAP {
        let (stream, head) = upgrade_head(server.addr, "");
        assert!(
            head.starts_with("HTTP/1.1 101 "),
            "connection {n}: {head:?}"
        );
        held.push(stream);
    }
    // Several tries: with several loops each may accept some of them.
    for n in 0..4 {
        let (_, head) = upgrade_head(server.addr, "");
        assert!(
            head.is_empty(),
            "connection {} over the cap: {head:?}",
            CAP + n
        );
    }
    drop(held.pop());
    let served = wait_until(IO_TIMEOUT, || {
        let (stream, head) = upgrade_head(server.addr, "");
        let upgraded = head.starts_with("HTTP/1.1 101 ");
        if upgraded {
            held.push(stream);
        } else {
            std::thread::sleep(Duration::from_millis(10));
        }
        upgraded
    });
    assert!(served, "no room made by a closed connection");
    server.stop_ok();
}

#[test]
fn the_server_cap_holds_on_one_loop() {
    the_server_cap_holds(1);
}

#[test]
fn the_server_cap_holds_across_loops() {
    the_server_cap_holds(3);
}
