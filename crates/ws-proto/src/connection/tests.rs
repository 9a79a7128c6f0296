//! Unit tests of the connection state machine, one per rule.

use super::*;
use crate::constants::{MIN_RECV_BUFFER, WS_RECV_BUFFER};
use std::vec::Vec;

const KEY: [u8; 4] = [0x11, 0x22, 0x33, 0x44];

/// A frame as a client would put it on the wire (masked).
fn client_frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    wire(Frame::new(opcode, payload).with_fin(fin), Some(KEY))
}

fn wire(frame: Frame<'_>, mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = std::vec![0u8; frame.encoded_len(mask.is_some())];
    let n = frame.encode(&mut out, mask).unwrap();
    out.truncate(n);
    out
}

/// Everything `receive` makes of `input`, in one buffer, as owned values.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Chunk {
        kind: MessageKind,
        payload: Vec<u8>,
        start: bool,
        end: bool,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, std::string::String),
    Error(ProtocolError),
}

fn feed<M: MaskSource>(conn: &mut Connection<M>, input: &[u8]) -> Vec<Seen> {
    let mut buf = input.to_vec();
    let mut start = 0;
    let mut seen = Vec::new();
    loop {
        match conn.receive(&mut buf[start..]) {
            Err(err) => {
                seen.push(Seen::Error(err));
                return seen;
            }
            Ok((n, event)) => {
                start += n;
                match event {
                    None => return seen,
                    Some(Event::Data(c)) => seen.push(Seen::Chunk {
                        kind: c.kind,
                        payload: c.payload.to_vec(),
                        start: c.message_start,
                        end: c.message_end,
                    }),
                    Some(Event::Ping(p)) => seen.push(Seen::Ping(p.to_vec())),
                    Some(Event::Pong(p)) => seen.push(Seen::Pong(p.to_vec())),
                    Some(Event::Close(c)) => seen.push(Seen::Close(c.code.0, c.reason.into())),
                }
            }
        }
    }
}

fn transmitted<M: MaskSource>(conn: &mut Connection<M>) -> Vec<u8> {
    let mut out = [0u8; 512];
    let n = conn.poll_transmit(&mut out);
    out[..n].to_vec()
}

/// The close code of the close frame a server queued (unmasked on the wire).
fn queued_close_code<M: MaskSource>(conn: &mut Connection<M>) -> u16 {
    let bytes = transmitted(conn);
    let (header, len) = FrameHeader::decode(&bytes).unwrap().unwrap();
    assert_eq!(header.opcode, OpCode::Close);
    u16::from_be_bytes([bytes[len], bytes[len + 1]])
}

fn chunk(kind: MessageKind, payload: &[u8], start: bool, end: bool) -> Seen {
    Seen::Chunk {
        kind,
        payload: payload.to_vec(),
        start,
        end,
    }
}

fn assert_fails_with<M: MaskSource>(conn: &mut Connection<M>, input: &[u8], err: ProtocolError) {
    let seen = feed(conn, input);
    assert_eq!(seen.last(), Some(&Seen::Error(err)), "{seen:?}");
    assert_eq!(conn.state(), State::Closing);
    assert_eq!(queued_close_code(conn), err.close_code().0);
    assert_eq!(conn.state(), State::Closed);
    // A failed connection keeps failing.
    assert_eq!(
        feed(conn, &client_frame(OpCode::Text, true, b"x")),
        [Seen::Error(err)]
    );
}

#[test]
fn connection_state_fits_in_512_bytes() {
    let server = core::mem::size_of::<Connection<NoMask>>();
    let client = core::mem::size_of::<Connection<fn() -> [u8; 4]>>();
    std::println!("size_of Connection: server {server} bytes, client {client} bytes");
    assert!(server <= 512 && client <= 512);
}

#[test]
fn masked_text_frame_arrives_as_one_chunk() {
    let mut conn = Connection::server(Config::new());
    let seen = feed(&mut conn, &client_frame(OpCode::Text, true, b"Hello"));
    assert_eq!(seen, [chunk(MessageKind::Text, b"Hello", true, true)]);
}

#[test]
fn unmasked_frame_at_a_server_is_a_protocol_error() {
    let mut conn = Connection::server(Config::new());
    assert_fails_with(
        &mut conn,
        &wire(Frame::text("hi"), None),
        ProtocolError::UnmaskedFrame,
    );
}

#[test]
fn masked_frame_at_a_client_is_a_protocol_error() {
    let mut conn = Connection::client(Config::new(), || KEY);
    let seen = feed(&mut conn, &client_frame(OpCode::Text, true, b"hi"));
    assert_eq!(seen, [Seen::Error(ProtocolError::MaskedFrame)]);
    assert!(conn.wants_transmit());
}

#[test]
fn reserved_bits_without_an_extension_are_rejected() {
    let mut frame = client_frame(OpCode::Binary, true, b"x");
    frame[0] |= 0x40; // RSV1
    assert_fails_with(
        &mut Connection::server(Config::new()),
        &frame,
        ProtocolError::ReservedBits,
    );
    let mut frame = client_frame(OpCode::Binary, true, b"x");
    frame[0] |= 0x10; // RSV3
    assert_fails_with(
        &mut Connection::server(Config::new()),
        &frame,
        ProtocolError::ReservedBits,
    );
}

#[test]
fn rsv1_marks_a_compressed_message_when_negotiated() {
    let config = Config {
        compression: true,
        ..Config::new()
    };
    let mut first = client_frame(OpCode::Binary, false, b"ab");
    first[0] |= 0x40;
    let mut conn = Connection::server(config);
    let mut buf = first.clone();
    let (_, event) = conn.receive(&mut buf).unwrap();
    match event {
        Some(Event::Data(c)) => assert!(c.compressed),
        other => panic!("{other:?}"),
    }
    // RSV1 on a continuation frame is still an error.
    let mut cont = client_frame(OpCode::Continuation, true, b"c");
    cont[0] |= 0x40;
    assert_fails_with(&mut conn, &cont, ProtocolError::ReservedBits);
    // ...and so is RSV1 on a control frame.
    let mut ping = client_frame(OpCode::Ping, true, b"");
    ping[0] |= 0x40;
    assert_fails_with(
        &mut Connection::server(config),
        &ping,
        ProtocolError::ReservedBits,
    );
}

#[test]
fn reserved_opcode_is_rejected() {
    let mut frame = client_frame(OpCode::Binary, true, b"x");
    frame[0] = 0x83;
    assert_fails_with(
        &mut Connection::server(Config::new()),
        &frame,
        ProtocolError::ReservedOpcode(3),
    );
    frame[0] = 0x8b;
    assert_fails_with(
        &mut Connection::server(Config::new()),
        &frame,
        ProtocolError::ReservedOpcode(11),
    );
}

#[test]
fn long_or_fragmented_control_frames_are_rejected() {
    let mut long_ping = std::vec![0x89, 0xFE, 0, 126];
    long_ping.extend_from_slice(&KEY);
    long_ping.extend_from_slice(&[0; 126]);
    assert_fails_with(
        &mut Connection::server(Config::new()),
        &long_ping,
        ProtocolError::ControlFrameTooLong,
    );
    let mut ping = client_frame(OpCode::Ping, true, b"");
    ping[0] &= 0x7f;
    assert_fails_with(
        &mut Connection::server(Config::new()),
        &ping,
        ProtocolError::FragmentedControlFrame,
    );
}

#[test]
fn length_with_the_top_bit_set_is_rejected() {
    let mut frame = std::vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0];
    frame.extend_from_slice(&KEY);
    assert_fails_with(
        &mut Connection::server(Config::new()),
        &frame,
        ProtocolError::LengthTopBitSet,
    );
}

#[test]
fn continuation_without_an_open_message_is_rejected() {
    let frame = client_frame(OpCode::Continuation, true, b"x");
    assert_fails_with(
        &mut Connection::server(Config::new()),
        &frame,
        ProtocolError::UnexpectedContinuation,
    );
}

#[test]
fn new_message_while_a_fragmented_one_is_open_is_rejected() {
    let mut input = client_frame(OpCode::Text, false, b"a");
    input.extend(client_frame(OpCode::Binary, true, b"b"));
    assert_fails_with(
        &mut Connection::server(Config::new()),
        &input,
        ProtocolError::ExpectedContinuation,
    );
}

#[test]
fn fragments_with_interleaved_control_frames_are_delivered_in_order() {
    let mut input = client_frame(OpCode::Text, false, b"Hel");
    input.extend(client_frame(OpCode::Ping, true, b"p"));
    input.extend(client_frame(OpCode::Continuation, false, b""));
    input.extend(client_frame(OpCode::Pong, true, b"q"));
    input.extend(client_frame(OpCode::Continuation, true, b"lo"));
    let mut conn = Connection::server(Config::new());
    let seen = feed(&mut conn, &input);
    assert_eq!(
        seen,
        [
            chunk(MessageKind::Text, b"Hel", true, false),
            Seen::Ping(b"p".to_vec()),
            chunk(MessageKind::Text, b"", false, false),
            Seen::Pong(b"q".to_vec()),
            chunk(MessageKind::Text, b"lo", false, true),
        ]
    );
}

#[test]
fn frame_over_the_limit_fails_with_1009_at_its_header() {
    let config = Config {
        max_frame_size: 1000,
        ..Config::new()
    };
    // Only the header: the payload is never needed to decide.
    let mut header = std::vec![0x82, 0xFE, 0x03, 0xE9];
    header.extend_from_slice(&KEY);
    assert_fails_with(
        &mut Connection::server(config),
        &header,
        ProtocolError::FrameTooLarge,
    );
}

#[test]
fn frame_announcing_2_pow_63_minus_1_bytes_fails_with_1009() {
    let mut header = std::vec![0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
    header.extend_from_slice(&KEY);
    assert_fails_with(
        &mut Connection::server(Config::new()),
        &header,
        ProtocolError::FrameTooLarge,
    );
}

#[test]
fn message_over_the_limit_fails_with_1009_at_the_frame_that_exceeds_it() {
    let config = Config {
        max_message_size: 10,
        ..Config::new()
    };
    let mut input = client_frame(OpCode::Binary, false, &[1; 6]);
    input.extend(client_frame(OpCode::Continuation, true, &[2; 6]));
    let mut conn = Connection::server(config);
    let seen = feed(&mut conn, &input);
    assert_eq!(seen[0], chunk(MessageKind::Binary, &[1; 6], true, false));
    assert_eq!(seen[1], Seen::Error(ProtocolError::MessageTooLarge));
    assert_eq!(queued_close_code(&mut conn), 1009);
}

#[test]
fn compressed_message_is_held_to_the_limit_by_its_inflated_size_not_its_wire_size() {
    let config = Config {
        max_message_size: 10,
        compression: true,
        ..Config::new()
    };
    // 12 bytes on the wire, past the limit: incompressible data grows a
    // little when deflated, and the codec judges the inflated size.
    let mut input = client_frame(OpCode::Binary, false, &[1; 6]);
    input[0] |= 0x40;
    input.extend(client_frame(OpCode::Continuation, true, &[2; 6]));
    let mut conn = Connection::server(config);
    let seen = feed(&mut conn, &input);
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        !seen.iter().any(|s| matches!(s, Seen::Error(_))),
        "{seen:?}"
    );
    // Uncompressed, the same frames pass the limit.
    let mut plain = client_frame(OpCode::Binary, false, &[1; 6]);
    plain.extend(client_frame(OpCode::Continuation, true, &[2; 6]));
    let seen = feed(&mut Connection::server(config), &plain);
    assert_eq!(seen[1], Seen::Error(ProtocolError::MessageTooLarge));
}

#[test]
fn invalid_utf8_fails_as_soon_as_the_bad_byte_arrives() {
    // A long text frame whose 3rd payload byte is invalid, fed byte by byte:
    // the error must come long before the frame ends.
    let mut payload = std::vec![b'a'; 100];
    payload[2] = 0xFF;
    let input = client_frame(OpCode::Text, true, &payload);
    let mut conn = Connection::server(Config::new());
    let header_len = 2 + 4;
    let mut fed = 0;
    let mut buf = Vec::new();
    let mut result = Ok(());
    for &byte in &input {
        buf.push(byte);
        fed += 1;
        match conn.receive(&mut buf) {
            Ok((n, _)) => drop(buf.drain(..n)),
            Err(err) => {
                result = Err(err);
                break;
            }
        }
    }
    assert_eq!(result, Err(ProtocolError::InvalidUtf8));
    assert_eq!(fed, header_len + 3);
    assert_eq!(queued_close_code(&mut conn), 1007);
}

#[test]
fn invalid_utf8_split_across_fragments_fails_with_1007() {
    let mut input = client_frame(OpCode::Text, false, &[b'a', 0xF4]);
    input.extend(client_frame(
        OpCode::Continuation,
        true,
        &[0x90, 0x80, 0x80],
    ));
    let mut conn = Connection::server(Config::new());
    let seen = feed(&mut conn, &input);
    assert_eq!(seen.last(), Some(&Seen::Error(ProtocolError::InvalidUtf8)));
}

#[test]
fn code_point_split_across_fragments_is_valid() {
    let euro = "€".as_bytes();
    let mut input = client_frame(OpCode::Text, false, &euro[..2]);
    input.extend(client_frame(OpCode::Continuation, true, &euro[2..]));
    let seen = feed(&mut Connection::server(Config::new()), &input);
    assert_eq!(seen.len(), 2);
    assert!(matches!(seen[1], Seen::Chunk { end: true, .. }));
}

#[test]
fn text_ending_inside_a_code_point_fails_with_1007() {
    let input = client_frame(OpCode::Text, true, &"€".as_bytes()[..2]);
    assert_fails_with(
        &mut Connection::server(Config::new()),
        &input,
        ProtocolError::InvalidUtf8,
    );
}

#[test]
fn ping_queues_a_pong_with_the_same_payload() {
    let mut conn = Connection::server(Config::new());
    assert_eq!(
        feed(&mut conn, &client_frame(OpCode::Ping, true, b"abc")),
        [Seen::Ping(b"abc".to_vec())]
    );
    assert!(conn.wants_transmit());
    assert_eq!(transmitted(&mut conn), b"\x8a\x03abc");
    assert!(!conn.wants_transmit());
}

#[test]
fn every_ping_of_a_burst_gets_its_own_pong_in_order() {
    let mut conn = Connection::server(Config::new());
    let mut input = client_frame(OpCode::Ping, true, b"1");
    input.extend(client_frame(OpCode::Ping, true, b"2"));
    input.extend(client_frame(OpCode::Text, true, b"after"));
    // The second ping waits in front of the reader until the first pong
    // is transmitted.
    let second = client_frame(OpCode::Ping, true, b"1").len();
    assert_eq!(feed(&mut conn, &input), [Seen::Ping(b"1".to_vec())]);
    let mut rest = input[second..].to_vec();
    assert_eq!(conn.receive(&mut rest), Ok((0, None)));
    assert!(conn.wants_transmit());
    assert_eq!(transmitted(&mut conn), b"\x8a\x011");
    assert_eq!(
        feed(&mut conn, &rest),
        [
            Seen::Ping(b"2".to_vec()),
            chunk(MessageKind::Text, b"after", true, true)
        ]
    );
    assert_eq!(transmitted(&mut conn), b"\x8a\x012");
}

#[test]
fn without_auto_pong_pings_never_wait() {
    let mut conn = Connection::server(Config {
        auto_pong: false,
        ..Config::new()
    });
    let mut input = client_frame(OpCode::Ping, true, b"1");
    input.extend(client_frame(OpCode::Ping, true, b"2"));
    assert_eq!(
        feed(&mut conn, &input),
        [Seen::Ping(b"1".to_vec()), Seen::Ping(b"2".to_vec())]
    );
}

#[test]
fn a_ping_after_our_close_does_not_wait_for_a_pong() {
    let mut conn = Connection::server(Config::new());
    feed(&mut conn, &client_frame(OpCode::Ping, true, b"1"));
    conn.close(CloseCode::NORMAL, "").unwrap();
    // The close dropped the unsent pong; nothing holds the next ping.
    let seen = feed(&mut conn, &client_frame(OpCode::Ping, true, b"2"));
    assert_eq!(seen, [Seen::Ping(b"2".to_vec())]);
}

#[test]
fn auto_pong_can_be_switched_off() {
    let mut conn = Connection::server(Config {
        auto_pong: false,
        ..Config::new()
    });
    feed(&mut conn, &client_frame(OpCode::Ping, true, b"abc"));
    assert!(!conn.wants_transmit());
}

#[test]
fn queued_pong_survives_until_there_is_room_to_send_it() {
    let mut conn = Connection::server(Config::new());
    feed(&mut conn, &client_frame(OpCode::Ping, true, &[7; 125]));
    let mut small = [0u8; 100];
    assert_eq!(conn.poll_transmit(&mut small), 0);
    // Data keeps flowing meanwhile.
    feed(&mut conn, &client_frame(OpCode::Binary, true, b"data"));
    assert_eq!(transmitted(&mut conn).len(), 127);
}

#[test]
fn client_pong_is_masked_with_a_fresh_key() {
    let mut conn = Connection::client(Config::new(), || KEY);
    feed(&mut conn, &wire(Frame::new(OpCode::Ping, b"Hello"), None));
    assert_eq!(
        transmitted(&mut conn),
        wire(Frame::new(OpCode::Pong, b"Hello"), Some(KEY))
    );
}

#[test]
fn peer_close_is_reported_and_echoed() {
    let mut conn = Connection::server(Config::new());
    let close = wire(
        Frame::close_with_reason(CloseCode::GOING_AWAY, "bye").unwrap(),
        Some(KEY),
    );
    assert_eq!(feed(&mut conn, &close), [Seen::Close(1001, "bye".into())]);
    assert_eq!(conn.state(), State::Closing);
    assert_eq!(conn.peer_close_code(), Some(CloseCode::GOING_AWAY));
    assert_eq!(transmitted(&mut conn), b"\x88\x02\x03\xe9");
    assert_eq!(conn.state(), State::Closed);
    // Nothing may be sent after the close.
    let mut out = [0u8; 64];
    assert_eq!(conn.encode_text("late", &mut out), Err(SendError::Closed));
}

#[test]
fn empty_peer_close_is_answered_with_an_empty_close() {
    let mut conn = Connection::server(Config::new());
    let seen = feed(&mut conn, &client_frame(OpCode::Close, true, b""));
    assert_eq!(seen, [Seen::Close(1005, "".into())]);
    assert_eq!(transmitted(&mut conn), b"\x88\x00");
}

#[test]
fn close_we_start_completes_when_the_peer_answers() {
    let mut conn = Connection::server(Config::new());
    conn.close(CloseCode::NORMAL, "done").unwrap();
    assert_eq!(conn.state(), State::Closing);
    assert_eq!(transmitted(&mut conn), b"\x88\x06\x03\xe8done");
    // Data the peer sent before it saw our close still arrives.
    assert_eq!(
        feed(&mut conn, &client_frame(OpCode::Binary, true, b"x")).len(),
        1
    );
    let reply = wire(Frame::close(CloseCode::NORMAL).unwrap(), Some(KEY));
    assert_eq!(feed(&mut conn, &reply), [Seen::Close(1000, "".into())]);
    assert_eq!(conn.state(), State::Closed);
    assert!(!conn.wants_transmit());
}

#[test]
fn bytes_after_the_peer_close_are_discarded() {
    let mut conn = Connection::server(Config::new());
    let mut input = client_frame(OpCode::Close, true, b"");
    input.extend(client_frame(OpCode::Text, true, b"after"));
    assert_eq!(feed(&mut conn, &input), [Seen::Close(1005, "".into())]);
}

#[test]
fn one_byte_close_payload_is_a_protocol_error() {
    let input = client_frame(OpCode::Close, true, &[3]);
    let err = ProtocolError::InvalidClosePayload(crate::close::ClosePayloadError::Truncated);
    assert_fails_with(&mut Connection::server(Config::new()), &input, err);
}

#[test]
fn close_code_forbidden_on_the_wire_is_a_protocol_error() {
    let input = client_frame(OpCode::Close, true, &1006u16.to_be_bytes());
    let err =
        ProtocolError::InvalidClosePayload(crate::close::ClosePayloadError::InvalidCode(1006));
    assert_fails_with(&mut Connection::server(Config::new()), &input, err);
}

#[test]
fn close_reason_that_is_not_utf8_fails_with_1007() {
    let input = client_frame(OpCode::Close, true, &[0x03, 0xE8, 0xFF]);
    let err = ProtocolError::InvalidClosePayload(crate::close::ClosePayloadError::InvalidReason);
    assert_fails_with(&mut Connection::server(Config::new()), &input, err);
}

#[test]
fn sending_follows_the_fragmentation_rules() {
    let mut conn = Connection::server(Config::new());
    let mut out = [0u8; 64];
    let cont = Frame::new(OpCode::Continuation, b"x");
    assert_eq!(
        conn.encode_frame(&cont, &mut out),
        Err(SendError::NoMessageToContinue)
    );
    conn.encode_frame(&Frame::text("a").with_fin(false), &mut out)
        .unwrap();
    assert_eq!(
        conn.encode_text("b", &mut out),
        Err(SendError::MessageUnfinished)
    );
    // Control frames may interleave.
    conn.encode_ping(b"", &mut out).unwrap();
    conn.encode_frame(&cont, &mut out).unwrap();
    assert_eq!(
        conn.encode_frame(&cont, &mut out),
        Err(SendError::NoMessageToContinue)
    );
    conn.encode_text("c", &mut out).unwrap();
}

#[test]
fn invalid_control_frames_are_refused_when_sending() {
    let mut conn = Connection::server(Config::new());
    let mut out = [0u8; 256];
    assert_eq!(
        conn.encode_ping(&[0; 126], &mut out),
        Err(SendError::InvalidControlFrame)
    );
    let fragmented = Frame::new(OpCode::Ping, b"").with_fin(false);
    assert_eq!(
        conn.encode_frame(&fragmented, &mut out),
        Err(SendError::InvalidControlFrame)
    );
    assert_eq!(
        conn.close(CloseCode::ABNORMAL, ""),
        Err(SendError::InvalidClose(
            crate::close::ClosePayloadError::InvalidCode(1006)
        ))
    );
}

#[test]
fn short_output_buffer_reports_the_size_needed_and_changes_nothing() {
    let mut conn = Connection::server(Config::new());
    let mut out = [0u8; 4];
    assert_eq!(
        conn.encode_frame(&Frame::text("Hello").with_fin(false), &mut out),
        Err(SendError::BufferTooSmall { needed: 7 })
    );
    // The failed call did not open a fragmented message.
    let mut big = [0u8; 16];
    assert!(conn.encode_text("ok", &mut big).is_ok());
}

#[test]
fn client_header_carries_a_key_for_the_payload() {
    let mut conn = Connection::client(Config::new(), || KEY);
    let mut out = [0u8; 14];
    let header = conn
        .encode_header(OpCode::Binary, true, 70_000, &mut out)
        .unwrap();
    assert_eq!(header.len, 14);
    assert_eq!(header.mask, Some(KEY));
    let (decoded, _) = FrameHeader::decode(&out).unwrap().unwrap();
    assert_eq!(decoded.payload_len, 70_000);
}

#[test]
fn sent_close_frame_counts_as_our_close() {
    let mut conn = Connection::server(Config::new());
    let mut out = [0u8; 64];
    let close = Frame::close(CloseCode::NORMAL).unwrap();
    conn.encode_frame(&close, &mut out).unwrap();
    assert_eq!(conn.state(), State::Closing);
    assert!(conn.close_sent());
    assert_eq!(conn.encode_ping(b"", &mut out), Err(SendError::Closed));
}

#[test]
fn large_message_streams_through_a_small_buffer() {
    let payload: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    let input = client_frame(OpCode::Binary, true, &payload);
    let mut conn = Connection::server(Config::new());
    let mut received = Vec::new();
    let mut buf = Vec::with_capacity(WS_RECV_BUFFER);
    let mut rest = &input[..];
    let mut chunks = 0;
    while !rest.is_empty() || !buf.is_empty() {
        let take = (WS_RECV_BUFFER - buf.len()).min(rest.len());
        buf.extend_from_slice(&rest[..take]);
        rest = &rest[take..];
        let (n, event) = conn.receive(&mut buf).unwrap();
        if let Some(Event::Data(c)) = event {
            received.extend_from_slice(c.payload);
            chunks += 1;
        }
        buf.drain(..n);
    }
    assert_eq!(received, payload);
    assert!(chunks >= payload.len() / WS_RECV_BUFFER);
}

#[test]
fn control_frame_waits_until_it_is_whole() {
    let ping = client_frame(OpCode::Ping, true, &[1; 125]);
    assert!(ping.len() <= MIN_RECV_BUFFER);
    let mut conn = Connection::server(Config::new());
    let mut partial = ping[..100].to_vec();
    assert_eq!(conn.receive(&mut partial).unwrap(), (0, None));
    assert_eq!(feed(&mut conn, &ping), [Seen::Ping(std::vec![1; 125])]);
}

#[test]
fn compressed_header_sets_rsv1_only_when_negotiated() {
    let mut out = [0u8; 14];
    let mut plain = Connection::server(Config::new());
    assert_eq!(
        plain.encode_compressed_header(OpCode::Text, true, 5, &mut out),
        Err(SendError::CompressionNotNegotiated)
    );
    let mut conn = Connection::server(Config {
        compression: true,
        ..Config::new()
    });
    let header = conn
        .encode_compressed_header(OpCode::Text, true, 5, &mut out)
        .unwrap();
    let (decoded, _) = FrameHeader::decode(&out[..header.len]).unwrap().unwrap();
    assert_eq!(decoded.rsv, RSV1);
    assert_eq!(
        conn.encode_compressed_header(OpCode::Ping, true, 0, &mut out),
        Err(SendError::CompressionNotNegotiated)
    );
}
