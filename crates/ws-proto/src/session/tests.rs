use std::vec;
use std::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::connection::{Config, Event};

fn client() -> Connection<impl FnMut() -> [u8; 4]> {
    let mut n = 0u8;
    Connection::client(Config::default(), move || {
        n = n.wrapping_add(1);
        [n, 0x5a, n.wrapping_mul(3), 0xa5]
    })
}

fn server() -> Connection {
    Connection::server(Config::default())
}

/// Hand `wire` to `take` in pieces cut at `cuts`, as reads would deliver
/// it: `take` gets the bytes not consumed yet and returns how many it
/// consumed.
fn in_pieces(
    wire: &[u8],
    cuts: &[usize],
    mut take: impl FnMut(&mut [u8]) -> Result<usize, Error>,
) -> Result<(), Error> {
    let mut buf: Vec<u8> = Vec::new();
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(wire.len())).collect();
    bounds.push(wire.len());
    bounds.sort_unstable();
    let mut from = 0;
    for to in bounds {
        buf.extend_from_slice(&wire[from..to]);
        from = to;
        let consumed = take(&mut buf)?;
        buf.drain(..consumed);
    }
    Ok(())
}

/// Feed `wire` to `conn` in pieces cut at `cuts`, collecting whole
/// messages; the first error ends it.
fn deliver<M: MaskSource>(
    conn: &mut Connection<M>,
    messages: &mut Messages,
    wire: &[u8],
    cuts: &[usize],
) -> Result<Vec<Message>, Error> {
    let mut received = Vec::new();
    in_pieces(wire, cuts, |buf| {
        let mut pos = 0;
        loop {
            let (consumed, event) = conn.receive(&mut buf[pos..])?;
            pos += consumed;
            match event {
                Some(Event::Data(chunk)) => {
                    if let Some(message) = messages.receive(&chunk)? {
                        received.push(message.into_owned());
                    }
                }
                Some(_) => {}
                None => return Ok(pos),
            }
        }
    })?;
    Ok(received)
}

#[test]
fn a_message_in_one_chunk_is_borrowed_not_copied() {
    let mut messages = Messages::new(64);
    let payload = b"hello";
    let chunk = DataChunk {
        kind: MessageKind::Text,
        payload,
        message_start: true,
        message_end: true,
        frame_start: true,
        frame_end: true,
        compressed: false,
    };
    match messages.receive(&chunk) {
        Ok(Some(Received::Borrowed(MessageRef::Text(text)))) => {
            assert_eq!(text.as_ptr(), payload.as_ptr())
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn fragmented_client_messages_reach_the_server_whole() {
    let (mut tx, mut rx) = (client(), server());
    let (mut sender, mut receiver) = (Messages::new(1024), Messages::new(1024));
    let mut wire = Vec::new();
    let n = sender
        .encode_fragmented(&mut tx, MessageKind::Binary, b"0123456789", 3, &mut wire)
        .unwrap();
    assert_eq!(n, wire.len());
    // Four masked frames: 2 + 4 bytes of header each.
    assert_eq!(wire.len(), 10 + 4 * 6);
    assert_eq!(wire[0], 0x02);
    assert_eq!(wire[wire.len() - 7], 0x80);
    let got = deliver(&mut rx, &mut receiver, &wire, &[]).unwrap();
    assert_eq!(got, [Message::Binary(b"0123456789".to_vec())]);
}

#[test]
fn an_empty_message_is_one_frame() {
    let (mut tx, mut rx) = (server(), client());
    let (mut sender, mut receiver) = (Messages::new(16), Messages::new(16));
    let mut wire = Vec::new();
    sender
        .encode_fragmented(&mut tx, MessageKind::Text, b"", 4, &mut wire)
        .unwrap();
    assert_eq!(wire, [0x81, 0x00]);
    let got = deliver(&mut rx, &mut receiver, &wire, &[]).unwrap();
    assert_eq!(got, [Message::Text("".into())]);
}

#[test]
fn sending_after_close_appends_nothing() {
    let mut conn = server();
    let mut messages = Messages::new(16);
    conn.close(CloseCode::NORMAL, "").unwrap();
    let mut out = vec![7];
    let err = messages
        .encode_message(&mut conn, MessageKind::Binary, b"late", &mut out)
        .unwrap_err();
    assert_eq!(err, Error::Send(SendError::Closed));
    assert_eq!(err.close_code(), None);
    assert_eq!(out, [7]);
}

#[test]
fn a_compressed_chunk_without_deflate_fails_with_1002() {
    let mut messages = Messages::new(16);
    let chunk = DataChunk {
        kind: MessageKind::Binary,
        payload: b"x",
        message_start: true,
        message_end: true,
        frame_start: true,
        frame_end: true,
        compressed: true,
    };
    let err = messages.receive(&chunk).unwrap_err();
    assert_eq!(err, ProtocolError::ReservedBits);
    assert_eq!(
        Error::from(err).close_code(),
        Some(CloseCode::PROTOCOL_ERROR)
    );
}

#[test]
fn errors_carry_their_close_codes() {
    let too_large = Error::from(ProtocolError::MessageTooLarge);
    assert_eq!(too_large.close_code(), Some(CloseCode::TOO_LARGE));
    let failed = Error::from(SendError::CompressionFailed);
    assert_eq!(failed.close_code(), Some(CloseCode::UNEXPECTED));
}

#[test]
fn a_message_over_the_limit_fails_with_1009() {
    let (mut tx, mut rx) = (client(), server());
    let (mut sender, mut receiver) = (Messages::new(100), Messages::new(8));
    let mut wire = Vec::new();
    sender
        .encode_fragmented(&mut tx, MessageKind::Binary, &[1; 12], 4, &mut wire)
        .unwrap();
    let err = deliver(&mut rx, &mut receiver, &wire, &[]).unwrap_err();
    assert_eq!(err.close_code(), Some(CloseCode::TOO_LARGE));
}

#[test]
fn buffers_given_by_receive_with_are_used_and_handed_back() {
    let mut messages = Messages::new(64);
    let mut pool = Vec::with_capacity(64);
    pool.extend_from_slice(b"stale");
    let address = pool.as_ptr();
    let first = DataChunk {
        kind: MessageKind::Binary,
        payload: b"ab",
        message_start: true,
        message_end: false,
        frame_start: true,
        frame_end: true,
        compressed: false,
    };
    let last = DataChunk {
        payload: b"cd",
        message_start: false,
        message_end: true,
        ..first
    };
    let mut spare = Some(pool);
    assert_eq!(
        messages.receive_with(&first, || spare.take().unwrap()),
        Ok(None)
    );
    let message = messages.receive_with(&last, || unreachable!()).unwrap();
    let buffer = message.unwrap().into_buffer().unwrap();
    assert_eq!(buffer, b"abcd");
    assert_eq!(buffer.as_ptr(), address);
}

#[cfg(feature = "deflate")]
mod deflate {
    use super::*;
    use crate::deflate::DeflateConfig;

    fn params() -> DeflateParams {
        crate::deflate::negotiate(["permessage-deflate"], &DeflateConfig::default()).unwrap()
    }

    pub(super) fn enable<M: MaskSource>(conn: &mut Connection<M>, messages: &mut Messages) {
        let config = CompressionConfig {
            threshold: 16,
            ..CompressionConfig::default()
        };
        messages.enable_deflate(conn, params(), config);
    }

    #[test]
    fn long_messages_go_compressed_short_ones_not() {
        let (mut tx, mut rx) = (client(), server());
        let (mut sender, mut receiver) = (Messages::new(1 << 16), Messages::new(1 << 16));
        enable(&mut tx, &mut sender);
        enable(&mut rx, &mut receiver);
        assert!(sender.compression().is_some());
        let long = "compress me ".repeat(100);
        let mut wire = Vec::new();
        sender
            .encode_message(&mut tx, MessageKind::Text, long.as_bytes(), &mut wire)
            .unwrap();
        assert_eq!(wire[0], 0xc1, "FIN, RSV1, text");
        assert!(wire.len() < long.len() / 4);
        let short_at = wire.len();
        sender
            .encode_message(&mut tx, MessageKind::Binary, b"short", &mut wire)
            .unwrap();
        assert_eq!(wire[short_at], 0x82);
        let got = deliver(&mut rx, &mut receiver, &wire, &[1, 5, 40]).unwrap();
        assert_eq!(
            got,
            [Message::Text(long), Message::Binary(b"short".to_vec())]
        );
    }

    #[test]
    fn compressed_messages_are_fragmented_when_asked() {
        let (mut tx, mut rx) = (server(), client());
        let (mut sender, mut receiver) = (Messages::new(1 << 16), Messages::new(1 << 16));
        enable(&mut tx, &mut sender);
        enable(&mut rx, &mut receiver);
        let data: Vec<u8> = (0..4000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut wire = Vec::new();
        sender
            .encode_fragmented(&mut tx, MessageKind::Binary, &data, 100, &mut wire)
            .unwrap();
        assert_eq!(wire[0], 0x42, "RSV1, binary, not final");
        assert_eq!(wire[1], 100);
        assert_eq!(wire[102], 0x00, "a continuation without RSV1");
        let got = deliver(&mut rx, &mut receiver, &wire, &[]).unwrap();
        assert_eq!(got, [Message::Binary(data)]);
    }

    #[test]
    fn data_that_does_not_inflate_fails_with_1007() {
        let mut rx = server();
        let mut receiver = Messages::new(1024);
        enable(&mut rx, &mut receiver);
        let chunk = DataChunk {
            kind: MessageKind::Binary,
            payload: &[0xff, 0xff, 0xff, 0xff],
            message_start: true,
            message_end: true,
            frame_start: true,
            frame_end: true,
            compressed: true,
        };
        let err = receiver.receive(&chunk).unwrap_err();
        assert_eq!(err, ProtocolError::InvalidCompressedData);
        assert_eq!(Error::from(err).close_code(), Some(CloseCode::INVALID_DATA));
    }

    #[test]
    fn a_refused_compressed_message_leaves_the_context_alone() {
        let (mut tx, mut rx) = (server(), client());
        let (mut sender, mut receiver) = (Messages::new(1 << 16), Messages::new(1 << 16));
        enable(&mut tx, &mut sender);
        enable(&mut rx, &mut receiver);
        let mut wire = Vec::new();
        // A fragmented message is being sent frame by frame.
        let mut header = [0u8; MAX_HEADER_LEN];
        let encoded = tx
            .encode_header(OpCode::Binary, false, 1, &mut header)
            .unwrap();
        wire.extend_from_slice(&header[..encoded.len]);
        wire.push(1);
        let message = "refused then sent ".repeat(10);
        let err = sender
            .encode_message(&mut tx, MessageKind::Text, message.as_bytes(), &mut wire)
            .unwrap_err();
        assert_eq!(err, Error::Send(SendError::MessageUnfinished));
        let encoded = tx
            .encode_header(OpCode::Continuation, true, 1, &mut header)
            .unwrap();
        wire.extend_from_slice(&header[..encoded.len]);
        wire.push(2);
        sender
            .encode_message(&mut tx, MessageKind::Text, message.as_bytes(), &mut wire)
            .unwrap();
        let got = deliver(&mut rx, &mut receiver, &wire, &[]).unwrap();
        assert_eq!(got, [Message::Binary(vec![1, 2]), Message::Text(message)]);
    }
}

fn message_strategy() -> impl Strategy<Value = Message> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600).prop_map(Message::Binary),
        "[a-z €😀]{0,300}".prop_map(Message::Text),
        // Repetitive, so that compression has something to do.
        (0usize..2000).prop_map(|n| Message::Text("ab".repeat(n))),
    ]
}

fn round_trip<A: MaskSource, B: MaskSource>(
    tx: &mut Connection<A>,
    sender: &mut Messages,
    rx: &mut Connection<B>,
    receiver: &mut Messages,
    list: &[(Message, usize)],
    cuts: &[usize],
) -> Result<(), TestCaseError> {
    let mut wire = Vec::new();
    for (message, max_frame) in list {
        sender
            .encode_fragmented(
                tx,
                message.kind(),
                message.as_bytes(),
                *max_frame,
                &mut wire,
            )
            .unwrap();
    }
    let cuts: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    let got = deliver(rx, receiver, &wire, &cuts).unwrap();
    let sent: Vec<Message> = list.iter().map(|(m, _)| m.clone()).collect();
    prop_assert_eq!(got, sent);
    Ok(())
}

proptest! {
    #[test]
    fn message_lists_round_trip_both_ways(
        list in proptest::collection::vec((message_strategy(), 1usize..700), 0..8),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
        compressed in any::<bool>(),
    ) {
        let (mut client, mut server) = (client(), server());
        let mut client_messages = Messages::new(1 << 16);
        let mut server_messages = Messages::new(1 << 16);
        if compressed {
            #[cfg(feature = "deflate")]
            {
                deflate::enable(&mut client, &mut client_messages);
                deflate::enable(&mut server, &mut server_messages);
            }
        }
        round_trip(&mut client, &mut client_messages, &mut server, &mut server_messages, &list, &cuts)?;
        round_trip(&mut server, &mut server_messages, &mut client, &mut client_messages, &list, &cuts)?;
    }
}

/// Everything `session` receives from `wire` cut at `cuts`, as a transport
/// would feed it: whole messages, and the close.
fn session_deliver<M: MaskSource>(
    session: &mut Session<M>,
    wire: &[u8],
    cuts: &[usize],
) -> Result<(Vec<Message>, Option<CloseCode>), Error> {
    let mut received = Vec::new();
    let mut closed = None;
    in_pieces(wire, cuts, |buf| {
        let mut pos = 0;
        loop {
            let (consumed, incoming) = session.receive(&mut buf[pos..])?;
            pos += consumed;
            match incoming {
                Some(Incoming::Message(message)) => received.push(message.into_owned()),
                Some(Incoming::Close(close)) => closed = Some(close.code),
                Some(_) => {}
                None => return Ok(pos),
            }
        }
    })?;
    Ok((received, closed))
}

#[test]
fn a_session_answers_pings_and_closes() {
    let mut client = Session::client(Config::default(), || [9, 8, 7, 6], 1024);
    let mut server = Session::server(Config::default(), 1024);
    let mut wire = Vec::new();
    client
        .send_fragmented(MessageKind::Text, b"one two", 3, &mut wire)
        .unwrap();
    let mut ping = [0u8; 16];
    let len = client
        .connection_mut()
        .encode_ping(b"p", &mut ping)
        .unwrap();
    wire.extend_from_slice(&ping[..len]);
    let (got, closed) = session_deliver(&mut server, &wire, &[2, 9]).unwrap();
    assert_eq!(got, [Message::Text("one two".into())]);
    assert_eq!(closed, None);
    let mut control = [0u8; 256];
    let len = server.poll_transmit(&mut control);
    assert_eq!(&control[..len], [0x8a, 0x01, b'p']);

    client.close(CloseCode::NORMAL, "done").unwrap();
    let len = client.poll_transmit(&mut control);
    let (got, closed) = session_deliver(&mut server, &control[..len], &[1]).unwrap();
    assert!(got.is_empty());
    assert_eq!(closed, Some(CloseCode::NORMAL));
    let len = server.poll_transmit(&mut control);
    // The reply echoes the code.
    assert_eq!(&control[..len], [0x88, 0x02, 0x03, 0xe8]);
}

#[test]
fn a_session_fails_the_connection_on_a_message_over_the_limit() {
    let mut client = Session::client(Config::default(), || [1, 1, 1, 1], 1024);
    let mut server = Session::server(Config::default(), 4);
    let mut wire = Vec::new();
    client
        .send_fragmented(MessageKind::Binary, &[0; 8], 3, &mut wire)
        .unwrap();
    let err = session_deliver(&mut server, &wire, &[]).unwrap_err();
    assert_eq!(err, Error::Protocol(ProtocolError::MessageTooLarge));
    assert_eq!(
        server.connection().failure(),
        Some(ProtocolError::MessageTooLarge)
    );
    let mut control = [0u8; 256];
    let len = server.poll_transmit(&mut control);
    assert_eq!(&control[..4], [0x88, (len - 2) as u8, 0x03, 0xf1]);
}

proptest! {
    #[test]
    fn message_lists_round_trip_between_sessions(
        list in proptest::collection::vec((message_strategy(), 1usize..700), 0..8),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
        compressed in any::<bool>(),
    ) {
        let mut client = Session::client(Config::default(), || [3, 1, 4, 1], 1 << 16);
        let mut server = Session::server(Config::default(), 1 << 16);
        if compressed {
            #[cfg(feature = "deflate")]
            {
                let (mut conn, mut messages) = client.into_parts();
                deflate::enable(&mut conn, &mut messages);
                client = Session::new(conn, messages);
                let (mut conn, mut messages) = server.into_parts();
                deflate::enable(&mut conn, &mut messages);
                server = Session::new(conn, messages);
            }
        }
        let sent: Vec<Message> = list.iter().map(|(m, _)| m.clone()).collect();
        let mut wire = Vec::new();
        for (message, max_frame) in &list {
            client.send_fragmented(message.kind(), message.as_bytes(), *max_frame, &mut wire).unwrap();
        }
        let cut: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
        let (got, _) = session_deliver(&mut server, &wire, &cut).unwrap();
        prop_assert_eq!(&got, &sent);
        wire.clear();
        for (message, max_frame) in &list {
            server.send_fragmented(message.kind(), message.as_bytes(), *max_frame, &mut wire).unwrap();
        }
        let cut: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
        let (got, _) = session_deliver(&mut client, &wire, &cut).unwrap();
        prop_assert_eq!(&got, &sent);
    }
}
