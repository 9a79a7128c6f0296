//! Messages handed out in place: `recv_ref` lends a message from the
//! connection's buffers (the receive buffer for one that arrived as one
//! frame, a kept buffer for one gathered from fragments or inflated), and
//! `run_echo` sends messages back from where they were read. Both must give
//! exactly what `recv` gives, whatever the mix of sizes, fragments and
//! compression, over real sockets on 127.0.0.1.

#[allow(dead_code)]
mod common;

use common::*;
use ws_std::{
    connect_with_config, Config, Frame, Message, MessageKind, MessageRef, OpCode, WsServer,
};
use ws_test_support::pattern_seeded;

/// One message of every shape the echo path tells apart: empty, small
/// (batched), just over the batch cut-off, bigger than the receive
/// buffer, text with multi-byte characters, and fragmented ones (gathered,
/// then echoed from the kept buffer), twice, the second bigger, so the kept
/// buffer is reused and grown.
fn mixed_messages() -> Vec<(Message, Option<usize>)> {
    let text = "héllo wörld €𝄞 ".repeat(100);
    vec![
        (Message::Binary(Vec::new()), None),
        (Message::Text("hi".into()), None),
        (Message::Binary(pattern_seeded(1, 20)), None),
        (Message::Binary(pattern_seeded(2, 1024)), None),
        (Message::Binary(pattern_seeded(3, 1025)), None),
        (Message::Text(text.clone()), None),
        (Message::Binary(pattern_seeded(4, 3000)), Some(3)),
        (Message::Binary(pattern_seeded(5, 100 * 1024)), None),
        (Message::Text(text.repeat(10)), Some(7)),
        (Message::Binary(pattern_seeded(6, 20)), None),
        (Message::Binary(pattern_seeded(7, 200 * 1024)), Some(5)),
    ]
}

/// Send `message` whole, or cut into `fragments` frames.
fn send(
    ws: &mut ws_std::WebSocket<ws_std::MaybeTlsStream>,
    message: &Message,
    fragments: Option<usize>,
) {
    let Some(count) = fragments else {
        ws.send(message).expect("send");
        return;
    };
    let bytes = message.as_bytes();
    let step = bytes.len().div_ceil(count).max(1);
    let parts: Vec<&[u8]> = bytes.chunks(step).collect();
    ws.send_fragmented(message.kind(), &parts)
        .expect("send fragmented");
}

/// Every message of [`mixed_messages`] sent at once, then every echo read
/// (alternately with `recv_ref` and `recv`): same messages, same order.
fn echoes_come_back_whole(config: Config) {
    let server =
        EchoServer::start(WsServer::bind_with_config("127.0.0.1:0", config.clone()).expect("bind"));
    let mut ws = connect_with_config(&server.url, &config).expect("connect");
    let messages = mixed_messages();
    for (message, fragments) in &messages {
        send(&mut ws, message, *fragments);
    }
    for (i, (sent, _)) in messages.iter().enumerate() {
        let echoed = match i % 2 {
            0 => ws.recv_ref().expect("recv_ref").to_owned(),
            _ => ws.recv().expect("recv"),
        };
        assert_eq!(echoed.kind(), sent.kind(), "message {i}");
        assert!(echoed == *sent, "message {i}: the echo differs");
    }
    ws.close().expect("close");
    server.stop_and_join().expect("server");
}

#[test]
fn run_echo_sends_back_every_shape_of_message_unchanged() {
    echoes_come_back_whole(config().compression(None));
}

#[test]
fn run_echo_sends_back_every_shape_of_message_unchanged_when_compressing() {
    let config = config();
    assert!(
        config.session.compression.is_some(),
        "compression is on by default"
    );
    echoes_come_back_whole(config);
}

#[test]
fn recv_ref_lends_a_whole_frame_from_the_receive_buffer_and_a_gathered_one_from_its_own() {
    let server = with_connection(config(), |mut ws| {
        ws.send_text("one frame").expect("send");
        ws.send_fragmented(MessageKind::Binary, &[b"two ", b"frames"])
            .expect("send");
        // A bigger gathered message after a smaller one reuses (and grows)
        // the kept buffer.
        let big = pattern_seeded(9, 50_000);
        ws.send_fragmented(MessageKind::Binary, &[&big[..10], &big[10..]])
            .expect("send");
        ws.send_frame(&Frame::new(OpCode::Ping, b"between"))
            .expect("ping");
        ws.send_binary(b"after the ping").expect("send");
        ws.close()
    });
    let mut ws = client(&server.url());
    assert_eq!(ws.recv_ref().expect("first"), MessageRef::Text("one frame"));
    assert_eq!(
        ws.recv_ref().expect("second"),
        MessageRef::Binary(b"two frames")
    );
    let big = pattern_seeded(9, 50_000);
    assert!(ws.recv_ref().expect("third") == MessageRef::Binary(&big));
    // The ping was answered and skipped, as `recv` does.
    assert_eq!(
        ws.recv_ref().expect("fourth"),
        MessageRef::Binary(b"after the ping")
    );
    match ws.recv_ref() {
        Err(ws_std::Error::Closed { code, .. }) => assert_eq!(code, ws_std::CloseCode::NORMAL),
        other => panic!("expected the server's close, got {other:?}"),
    }
    server.join().expect("server close");
}

#[test]
fn recv_ref_fails_invalid_utf8_text_with_1007() {
    let server = with_connection(config(), |mut ws| {
        ws.send_frame(&Frame::new(OpCode::Text, &[0x66, 0xff, 0x6f]))
            .expect("send");
        ws.recv()
    });
    let mut ws = client(&server.url());
    match ws.recv_ref() {
        Err(ws_std::Error::Protocol(err)) => {
            assert_eq!(err.close_code(), ws_std::CloseCode::INVALID_DATA)
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
    match server.join() {
        Err(ws_std::Error::Closed { code, .. }) => {
            assert_eq!(code, ws_std::CloseCode::INVALID_DATA)
        }
        other => panic!("the server should see 1007, got {other:?}"),
    }
}
