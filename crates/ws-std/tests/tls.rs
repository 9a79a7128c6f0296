//! `wss://` end to end on 127.0.0.1: a test CA and certificates made
//! here (rcgen; nothing secret in the repository), a TLS echo server on
//! `ws_std::tls::accept` + `ws_std::accept`, and `connect("wss://...")`.
//! A client refuses an untrusted, a misnamed and an expired certificate
//! with an error that says which; a server refuses what is not TLS.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use ws_std::tls::rustls::{self, CertificateError};
use ws_std::{connect_with_config, Config, Error, Message, MessageKind, WsServer};
use ws_test_support::{join_within, TestPki as Pki};

/// Bound on a server thread's life after its client is done.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A CA and a certificate for `names`, valid now (or, with `expired`,
/// only in the year 2000).
fn pki(names: &[&str], expired: bool) -> Pki {
    if expired {
        Pki::expired(names)
    } else {
        Pki::new(names)
    }
}

/// A TLS echo server for one connection: what it saw (the error, if the
/// TLS or WebSocket handshake failed).
fn serve_one(pki: &Pki) -> (SocketAddr, JoinHandle<ws_std::Result<()>>) {
    let tls = ws_std::tls::server_config(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes())
        .expect("server config");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = thread::spawn(move || {
        let (tcp, _) = listener.accept()?;
        tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
        let stream = ws_std::tls::accept(tcp, tls)?;
        let mut ws = ws_std::accept(stream, &Config::default())?;
        loop {
            match ws.recv() {
                Ok(message) => {
                    ws.send(&message)?;
                }
                Err(Error::Closed { .. }) => return Ok(()),
                Err(err) => return Err(err),
            }
        }
    });
    (addr, serving)
}

fn trusting(pki: &Pki) -> Config {
    Config::default().tls(ws_std::tls::client_config_trusting(pki.ca_pem.as_bytes()).unwrap())
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn wss_echoes_messages_from_one_byte_to_sixteen_mebibytes_with_compression() {
    let pki = pki(&["localhost"], false);
    let (addr, serving) = serve_one(&pki);
    let url = format!("wss://localhost:{}/echo", addr.port());
    let mut ws = connect_with_config(&url, &trusting(&pki)).expect("connect");
    let tls = ws.get_ref().tls().expect("a TLS stream");
    assert_eq!(tls.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert!(ws.compression().is_some(), "permessage-deflate negotiated");

    for len in [1, 125, 126, 65_535, 65_536, 1 << 20, 16 << 20] {
        let payload = pattern(len);
        ws.send_binary(&payload).unwrap();
        match ws.recv().unwrap() {
            Message::Binary(echo) => assert!(echo == payload, "{len} B echo differs"),
            other => panic!("{len} B: expected binary, got {:?}", other.kind()),
        }
    }
    ws.send_fragmented(MessageKind::Text, &[b"frag", b"men", b"ted"])
        .unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Text("fragmented".into()));
    ws.close().unwrap();
    join_within(serving, JOIN_TIMEOUT).expect("server");
}

#[test]
fn wss_to_an_ip_address_checks_the_certificates_address() {
    let pki = pki(&["127.0.0.1"], false);
    let (addr, serving) = serve_one(&pki);
    let mut ws = connect_with_config(&format!("wss://{addr}/"), &trusting(&pki)).expect("connect");
    ws.send_text("hi").unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Text("hi".into()));
    ws.close().unwrap();
    join_within(serving, JOIN_TIMEOUT).expect("server");
}

/// Connect and return the certificate error the client reported.
fn certificate_error(url_host: &str, pki: &Pki, config: &Config) -> CertificateError {
    let (addr, serving) = serve_one(pki);
    let url = format!("wss://{url_host}:{}/", addr.port());
    let err = connect_with_config(&url, config).expect_err("must be refused");
    // The server sees the client's alert.
    assert!(join_within(serving, JOIN_TIMEOUT).is_err());
    match err {
        Error::Tls(rustls::Error::InvalidCertificate(cert)) => {
            assert!(err_text(&cert).starts_with("TLS: invalid peer certificate"));
            cert
        }
        other => panic!("expected a certificate error, got {other}"),
    }
}

fn err_text(cert: &CertificateError) -> String {
    Error::Tls(rustls::Error::InvalidCertificate(cert.clone())).to_string()
}

#[test]
fn a_certificate_from_an_untrusted_ca_is_refused_as_unknown_issuer() {
    let pki = pki(&["localhost"], false);
    // Trusting another CA (the machine's roots would do the same, but the
    // machine may have none).
    let other = self::pki(&["localhost"], false);
    let cert = certificate_error("localhost", &pki, &trusting(&other));
    assert_eq!(cert, CertificateError::UnknownIssuer);
}

#[test]
fn a_certificate_for_another_name_is_refused_as_not_valid_for_the_name() {
    let pki = pki(&["elsewhere.test"], false);
    let cert = certificate_error("localhost", &pki, &trusting(&pki));
    assert!(
        matches!(
            cert,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        ),
        "{cert:?}"
    );
}

#[test]
fn an_expired_certificate_is_refused_as_expired() {
    let pki = pki(&["localhost"], true);
    let cert = certificate_error("localhost", &pki, &trusting(&pki));
    assert!(
        matches!(
            cert,
            CertificateError::Expired | CertificateError::ExpiredContext { .. }
        ),
        "{cert:?}"
    );
}

#[test]
fn a_tls_server_refuses_plain_http_and_garbage_with_a_tls_error() {
    let pki = pki(&["localhost"], false);
    for junk in [
        &b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"[..],
        &[0xff; 64][..],
    ] {
        let (addr, serving) = serve_one(&pki);
        let mut tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        tcp.write_all(junk).unwrap();
        let result = join_within(serving, JOIN_TIMEOUT);
        assert!(
            matches!(result, Err(Error::Tls(_))),
            "{:?}",
            result.map_err(|err| err.to_string())
        );
        // The server closed (after its alert, if any).
        let mut rest = Vec::new();
        let _ = tcp.read_to_end(&mut rest);
    }
}

#[test]
fn a_server_that_never_answers_the_client_hello_times_out_the_handshake() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("wss://localhost:{}/", listener.local_addr().unwrap().port());
    let config =
        trusting(&pki(&["localhost"], false)).handshake_timeout(Some(Duration::from_millis(300)));
    let err = connect_with_config(&url, &config).expect_err("must time out");
    assert!(err.is_timeout(), "{err}");
    assert!(err.to_string().contains("TLS handshake"), "{err}");
    drop(listener);
}

/// A `WsServer` serving `wss://` with `pki`'s certificate, running
/// `run_echo` on its own thread until `stop`.
fn tls_echo_server(
    pki: &Pki,
    config: Config,
) -> (
    SocketAddr,
    ws_std::StopHandle,
    JoinHandle<std::io::Result<()>>,
) {
    let tls = ws_std::tls::server_config(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes()).unwrap();
    let server = WsServer::bind_with_config("127.0.0.1:0", config)
        .unwrap()
        .with_tls(tls);
    assert!(server.is_tls());
    let addr = server.local_addr().unwrap();
    let stop = server.stop_handle();
    (addr, stop, thread::spawn(move || server.run_echo()))
}

#[test]
fn a_wss_echo_server_serves_several_clients_and_stops() {
    let pki = pki(&["localhost"], false);
    let (addr, stop, serving) = tls_echo_server(&pki, Config::default());
    let url = format!("wss://localhost:{}/", addr.port());
    let mut clients: Vec<_> = (0..3)
        .map(|_| connect_with_config(&url, &trusting(&pki)).expect("connect"))
        .collect();
    for (i, ws) in clients.iter_mut().enumerate() {
        ws.send_text(&format!("client {i}")).unwrap();
    }
    for (i, ws) in clients.iter_mut().enumerate() {
        assert_eq!(ws.recv().unwrap(), Message::Text(format!("client {i}")));
    }
    stop.stop();
    // Each client hears the server's 1001 over TLS.
    for ws in &mut clients {
        match ws.recv() {
            Err(Error::Closed { code, .. }) => assert_eq!(code, ws_std::CloseCode::GOING_AWAY),
            other => panic!("expected the server's close, got {other:?}"),
        }
    }
    join_within(serving, JOIN_TIMEOUT).unwrap();
}

#[test]
fn a_wss_server_accept_returns_a_tls_websocket() {
    let pki = pki(&["localhost"], false);
    let tls = ws_std::tls::server_config(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes()).unwrap();
    let server = WsServer::bind("127.0.0.1:0").unwrap().with_tls(tls);
    let url = format!("wss://localhost:{}/", server.local_addr().unwrap().port());
    let serving = thread::spawn(move || {
        let mut ws = server.accept()?;
        assert!(ws.get_ref().is_tls());
        let message = ws.recv()?;
        ws.send(&message)?;
        Ok::<_, Error>(())
    });
    let mut ws = connect_with_config(&url, &trusting(&pki)).expect("connect");
    ws.send_binary(&[1, 2, 3]).unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Binary(vec![1, 2, 3]));
    join_within(serving, JOIN_TIMEOUT).unwrap();
}

/// Whether the server closes `tcp` within `limit` (reads end of stream
/// or a reset; TLS alerts before that are skipped).
fn closed_within(tcp: &mut TcpStream, limit: Duration) -> bool {
    let started = std::time::Instant::now();
    tcp.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 1024];
    while started.elapsed() < limit {
        match tcp.read(&mut buf) {
            Ok(0) | Err(_) => return started.elapsed() < limit,
            Ok(_) => continue,
        }
    }
    false
}

#[test]
fn a_wss_server_drops_a_stalled_tls_handshake_and_a_silent_client_within_the_handshake_timeout() {
    let pki = pki(&["localhost"], false);
    let config = Config::default().handshake_timeout(Some(Duration::from_millis(300)));
    let (addr, stop, serving) = tls_echo_server(&pki, config);

    // Connects and sends nothing: no ClientHello.
    let mut silent = TcpStream::connect(addr).unwrap();
    // Half a ClientHello.
    let mut stalled = TcpStream::connect(addr).unwrap();
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .unwrap();
    // TLS done, then no upgrade request: the same deadline covers both.
    let tls = ws_std::tls::client_config_trusting(pki.ca_pem.as_bytes()).unwrap();
    let mut no_upgrade =
        ws_std::tls::connect(TcpStream::connect(addr).unwrap(), "localhost", tls).unwrap();

    // Meanwhile a well-behaved client is served.
    let url = format!("wss://localhost:{}/", addr.port());
    let mut ws = connect_with_config(&url, &trusting(&pki)).expect("connect");
    ws.send_text("still served").unwrap();
    assert_eq!(ws.recv().unwrap(), Message::Text("still served".into()));

    let limit = Duration::from_secs(3);
    assert!(closed_within(&mut silent, limit), "silent client kept");
    assert!(closed_within(&mut stalled, limit), "stalled handshake kept");
    let mut rest = Vec::new();
    no_upgrade.sock.set_read_timeout(Some(limit)).unwrap();
    let started = std::time::Instant::now();
    let _ = no_upgrade.read_to_end(&mut rest);
    assert!(started.elapsed() < limit, "client without an upgrade kept");
    stop.stop();
    join_within(serving, JOIN_TIMEOUT).unwrap();
}
