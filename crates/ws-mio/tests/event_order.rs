//! The order in which a connection's events reach the handler, now that
//! the loop queues them and hands them over after each operation: the
//! request and the frames that came with it in one segment still give
//! `on_open` first, every message before `on_close`, and the
//! connection's data is reachable in `on_close`, however it ended.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{client_frame, config, tcp, upgrade_request, wait_until, Running};
use ws_mio::{CloseCode, ConnectionId, Context, Handler, MessageRef, Opening, Refusal};
use ws_proto::OpCode;
use ws_test_support::raw::read_until_closed;

/// Writes down every callback, with the messages counted per connection.
struct Order {
    log: Arc<Mutex<Vec<String>>>,
}

impl Order {
    fn note(&self, what: String) {
        self.log.lock().unwrap().push(what);
    }
}

impl Handler for Order {
    type Data = u32;

    fn on_open(
        &mut self,
        ctx: &mut Context<'_, u32>,
        id: ConnectionId,
        _: &Opening<'_>,
    ) -> Result<u32, Refusal> {
        // The connection's data does not exist yet.
        self.note(format!("open data={:?}", ctx.data(id)));
        Ok(0)
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<'_, u32>,
        id: ConnectionId,
        message: MessageRef<'_>,
    ) {
        let seen = ctx.data(id).expect("an open connection's data");
        *seen += 1;
        let text = String::from_utf8_lossy(message.as_bytes()).into_owned();
        self.note(format!("message {text}"));
    }

    fn on_close(&mut self, ctx: &mut Context<'_, u32>, id: ConnectionId, code: CloseCode, _: &str) {
        let seen = ctx.data(id).copied();
        self.note(format!("close {} data={seen:?}", code.0));
    }
}

/// Serve `Order`, send the upgrade request and `frames` in one write,
/// then either close (read until the server closes) or just go; return
/// what the handler heard once it heard `on_close`.
fn heard(frames: &[Vec<u8>], then_vanish: bool) -> Vec<String> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let shared = Arc::clone(&log);
    let server = Running::start(config(), move || Order {
        log: Arc::clone(&shared),
    });
    let mut stream = tcp(server.addr);
    let mut bytes = upgrade_request(server.addr, "/", "").into_bytes();
    for frame in frames {
        bytes.extend_from_slice(frame);
    }
    stream.write_all(&bytes).unwrap();
    if then_vanish {
        // Let the loop read it all before the connection goes.
        assert!(wait_until(Duration::from_secs(4), || {
            log.lock().unwrap().len() > frames.len()
        }));
        drop(stream);
    } else {
        read_until_closed(&mut stream);
    }
    let closed = wait_until(Duration::from_secs(4), || {
        log.lock()
            .unwrap()
            .iter()
            .any(|what| what.starts_with("close"))
    });
    assert!(closed, "no on_close: {:?}", log.lock().unwrap());
    server.stop_ok();
    let heard = log.lock().unwrap().clone();
    heard
}

fn text(payload: &str) -> Vec<u8> {
    client_frame(OpCode::Text, true, payload.as_bytes())
}

#[test]
fn frames_sent_with_the_request_come_after_on_open_and_before_on_close() {
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.extend_from_slice(b"bye");
    let frames = [
        text("one"),
        text("two"),
        text("three"),
        client_frame(OpCode::Close, true, &close),
    ];
    assert_eq!(
        heard(&frames, false),
        [
            "open data=None",
            "message one",
            "message two",
            "message three",
            "close 1000 data=Some(3)",
        ]
    );
}

#[test]
fn a_peer_that_vanishes_gets_on_close_after_its_messages_with_its_data_reachable() {
    let frames = [text("one"), text("two")];
    assert_eq!(
        heard(&frames, true),
        [
            "open data=None",
            "message one",
            "message two",
            "close 1006 data=Some(2)",
        ]
    );
}

#[test]
fn a_message_is_echoed_before_a_protocol_error_in_the_frame_after_it_fails_the_connection() {
    // Autobahn 3.2 and 4.1.3 in miniature: a valid message, then a bad
    // frame (here unmasked, which a server must refuse) in the same read.
    let server = Running::start(config(), || ws_mio::Echo);
    let mut stream = tcp(server.addr);
    let mut bytes = upgrade_request(server.addr, "/", "").into_bytes();
    bytes.extend_from_slice(&text("one"));
    bytes.extend_from_slice(&ws_test_support::frame(OpCode::Text, true, b"two", None));
    stream.write_all(&bytes).unwrap();
    let head = common::read_http_head(&mut stream).unwrap();
    assert!(head.starts_with("HTTP/1.1 101 "), "{head:?}");
    let echo = common::read_frame(&mut stream).unwrap();
    assert_eq!((echo.opcode, echo.payload.as_slice()), (1, &b"one"[..]));
    let close = common::read_frame(&mut stream).unwrap();
    assert_eq!((close.opcode, close.close_code()), (8, 1002));
    server.stop_ok();
}
