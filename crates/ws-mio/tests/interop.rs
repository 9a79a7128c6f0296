//! ws-mio against ws-std, both ways: a ws-std client on a ws-mio server,
//! and a ws-mio client (`EventLoop::connect`) on a ws-std server.

mod common;

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::{
    client_config, config, join_within, lock, turn_until, Hello, Recorder, Running, JOIN_TIMEOUT,
};
use ws_mio::{
    CloseCode, ConnectionId, Context, Error, EventLoop, Handler, Message, MessageRef, Opening,
    Refusal,
};
use ws_std::MessageKind;

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn ws_std_client_on_ws_mio_server_echoes_text_binary_large_and_fragmented_messages() {
    let (recorder, log) = Recorder::factory();
    let server = Running::start(config().subprotocols(["chat.v2", "chat.v1"]), recorder);
    let mut client = ws_std::connect_with_config(
        &server.url("/interop"),
        &client_config().subprotocols(["chat.v1", "chat.v2"]),
    )
    .expect("connect");
    // The server's preference wins.
    assert_eq!(client.subprotocol(), Some("chat.v2"));

    client.send_text("héllo, wörld").unwrap();
    assert_eq!(client.recv().unwrap(), Message::Text("héllo, wörld".into()));
    client.send_binary(&[0, 1, 2, 0xfe, 0xff]).unwrap();
    assert_eq!(
        client.recv().unwrap(),
        Message::Binary(vec![0, 1, 2, 0xfe, 0xff])
    );
    client.send_text("").unwrap();
    assert_eq!(client.recv().unwrap(), Message::Text(String::new()));

    let big = pattern(1 << 20, 7);
    client.send_binary(&big).unwrap();
    match client.recv().unwrap() {
        Message::Binary(echo) => assert!(echo == big, "1 MiB echo differs"),
        other => panic!("expected binary, got {:?}", other.kind()),
    }

    client
        .send_fragmented(
            MessageKind::Text,
            &[b"frag", b"mented ", b"", "tëxt".as_bytes()],
        )
        .unwrap();
    assert_eq!(
        client.recv().unwrap(),
        Message::Text("fragmented tëxt".into())
    );
    let parts = [pattern(1000, 1), pattern(70_000, 2), pattern(3, 3)];
    let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    client
        .send_fragmented(MessageKind::Binary, &slices)
        .unwrap();
    assert_eq!(client.recv().unwrap(), Message::Binary(parts.concat()));

    // A close the server starts reaches the client with its code.
    client.send_text("close 4000 enough").unwrap();
    match client.recv() {
        Err(ws_std::Error::Closed { code, reason }) => {
            assert_eq!((code, reason.as_str()), (CloseCode(4000), "enough"));
        }
        other => panic!("expected the server's close, got {other:?}"),
    }
    assert!(common::wait_until(Duration::from_secs(2), || !lock(&log)
        .closes
        .is_empty()));
    {
        let log = lock(&log);
        assert_eq!(log.opens.len(), 1);
        assert_eq!(log.opens[0].path, "/interop");
        assert_eq!(log.opens[0].subprotocol.as_deref(), Some("chat.v2"));
        assert_eq!(log.closes.len(), 1);
        assert_eq!(
            log.closes[0].1,
            CloseCode(4000),
            "the client echoes the code"
        );
        assert!(log.errors.is_empty(), "{:?}", log.errors);
    }
    server.stop_ok();
}

/// The messages the ws-mio client sends, in order.
fn client_messages() -> Vec<Message> {
    vec![
        Message::Text("hi from mio".into()),
        Message::Binary(pattern(200, 9)),
        Message::Binary(pattern(100 * 1024, 4)),
        Message::Text("ünïcode".into()),
    ]
}

#[derive(Debug, Default)]
struct ClientLog {
    subprotocol: Option<Option<String>>,
    echoed: usize,
    wrong: Vec<String>,
    closes: Vec<(CloseCode, String)>,
    errors: Vec<String>,
}

/// A ws-mio client: on open, sends [`client_messages`] and checks the
/// echoes in order.
struct MioClient {
    expected: Vec<Message>,
    log: Arc<Mutex<ClientLog>>,
}

impl Handler for MioClient {
    type Data = ();

    fn on_open(
        &mut self,
        ctx: &mut Context<'_, ()>,
        id: ConnectionId,
        opening: &Opening<'_>,
    ) -> Result<(), Refusal> {
        self.log.lock().unwrap().subprotocol = Some(opening.subprotocol().map(str::to_owned));
        for message in &self.expected {
            ctx.send(id, message.as_ref()).expect("queue a message");
        }
        Ok(())
    }

    fn on_message(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, message: MessageRef<'_>) {
        let mut log = self.log.lock().unwrap();
        let n = log.echoed;
        if self.expected.get(n).map(Message::as_ref) == Some(message) {
            log.echoed += 1;
        } else {
            log.wrong.push(format!("echo {n}: {:?}", message.kind()));
        }
    }

    fn on_close(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, code: CloseCode, r: &str) {
        self.log.lock().unwrap().closes.push((code, r.to_owned()));
    }

    fn on_error(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, error: &Error) {
        self.log.lock().unwrap().errors.push(error.to_string());
    }
}

#[test]
fn ws_mio_client_on_ws_std_server_echoes_negotiates_and_sees_the_servers_close() {
    let server = ws_std::WsServer::bind_with_config(
        "127.0.0.1:0",
        client_config().subprotocols(["chat.v1"]),
    )
    .expect("bind");
    let url = format!("ws://{}/echo", server.local_addr().unwrap());
    let stop = server.stop_handle();
    let serving = thread::spawn(move || server.run_echo());

    let log = Arc::new(Mutex::new(ClientLog::default()));
    let mut client = EventLoop::new(
        config().subprotocols(["other", "chat.v1"]),
        MioClient {
            expected: client_messages(),
            log: Arc::clone(&log),
        },
    )
    .expect("client loop");
    client.connect(&url).expect("connect");
    let count = client_messages().len();
    let echoed = turn_until(&mut client, Duration::from_secs(5), |_| {
        let log = log.lock().unwrap();
        log.echoed == count || !log.wrong.is_empty() || !log.errors.is_empty()
    });
    {
        let log = log.lock().unwrap();
        assert!(echoed, "{log:?}");
        assert_eq!(log.echoed, count, "{log:?}");
        assert_eq!(log.subprotocol, Some(Some("chat.v1".into())));
    }

    // The ws-std server closes its connections with 1001 when stopped.
    stop.stop();
    let closed = turn_until(&mut client, Duration::from_secs(5), |event_loop| {
        !log.lock().unwrap().closes.is_empty() && event_loop.connection_count() == 0
    });
    {
        let log = log.lock().unwrap();
        assert!(closed, "{log:?}");
        assert_eq!(
            log.closes,
            [(CloseCode::GOING_AWAY, "server shutting down".to_owned())]
        );
        assert!(log.errors.is_empty(), "{:?}", log.errors);
        assert!(log.wrong.is_empty(), "{:?}", log.wrong);
    }
    join_within(serving, JOIN_TIMEOUT).expect("run_echo returns Ok");
}

#[test]
fn connect_to_dials_the_given_address_and_sends_the_urls_host_and_path_unresolved() {
    let server = ws_std::WsServer::bind_with_config("127.0.0.1:0", client_config()).expect("bind");
    let addr = server.local_addr().unwrap();
    let serving = thread::spawn(move || {
        let mut seen = None;
        let mut ws = server.accept_with(|request| {
            seen = Some((request.host().to_owned(), request.path().to_owned()));
            Ok(ws_std::Accept::new())
        })?;
        let message = ws.recv()?;
        ws.send(&message)?;
        let _ = ws.recv();
        Ok::<_, ws_std::Error>(seen)
    });

    let mut client = EventLoop::new(config(), Hello::default()).expect("client loop");
    // `.invalid` never resolves (RFC 6761): the host goes only into the
    // request.
    client
        .connect_to(addr, "ws://no-such-host.invalid:4321/chat?room=1")
        .expect("connect_to");
    let echoed = turn_until(&mut client, Duration::from_secs(5), |event_loop| {
        let hello = event_loop.handler();
        hello.echo.is_some() || !hello.errors.is_empty()
    });
    assert!(echoed, "no echo: {:?}", client.handler().errors);
    assert_eq!(client.handler().echo.as_deref(), Some("hello"));
    assert!(
        client.handler().errors.is_empty(),
        "{:?}",
        client.handler().errors
    );
    drop(client);
    let seen = join_within(serving, JOIN_TIMEOUT).expect("server");
    assert_eq!(
        seen,
        Some((
            "no-such-host.invalid:4321".to_owned(),
            "/chat?room=1".to_owned()
        ))
    );
}

#[test]
fn connect_to_refuses_a_url_that_is_not_ws_without_dialing() {
    let mut client = EventLoop::new(config(), Hello::default()).expect("client loop");
    let addr = "127.0.0.1:9".parse().unwrap();
    let err = client.connect_to(addr, "http://example.com/").unwrap_err();
    assert!(matches!(err, Error::Url(_)), "{err}");
    assert_eq!(client.connection_count(), 0);
}

/// Without TLS, `wss://` is refused (with it: `tests/tls.rs`).
#[cfg(not(feature = "tls"))]
#[test]
fn a_wss_url_is_refused_rather_than_dialled_in_plain_text() {
    let mut client = EventLoop::new(config(), Hello::default()).expect("client loop");
    for url in ["wss://127.0.0.1:9/", "wss://localhost/"] {
        let err = client.connect(url).unwrap_err();
        assert!(
            matches!(&err, Error::Url(why) if why.contains("wss://")),
            "{err}"
        );
    }
    let addr = "127.0.0.1:9".parse().unwrap();
    let err = client.connect_to(addr, "wss://example.com/").unwrap_err();
    assert!(matches!(err, Error::Url(_)), "{err}");
    assert_eq!(client.connection_count(), 0);
}
