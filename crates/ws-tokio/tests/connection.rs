//! A ws-tokio server connection against a scripted peer over an in-memory
//! pipe: cancel-safety, pongs and close replies while only reading, hostile
//! input, the timers on tokio's paused clock, and the bounded write buffer.

mod peer;

use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use futures_sink::Sink;
use peer::{pair, Seen};
use tokio::time::Instant;
use ws_proto::MessageKind;
use ws_tokio::{CloseCode, Config, Error, Message, State};

const SECOND: Duration = Duration::from_secs(1);

/// The text of the `i`th message of a stream: its number, then padding of
/// a length that varies with it.
fn text_of(i: usize) -> String {
    format!("message {i} {}", "x".repeat(i % 97))
}

/// Receive `count` messages, each `expected(i)`, with every `recv` raced
/// in a `select!` against a fresh `race()`: how many receives it cancelled.
async fn receive_racing<F: std::future::Future<Output = ()>>(
    ws: &mut ws_tokio::WebSocket<tokio::io::DuplexStream>,
    count: usize,
    expected: impl Fn(usize) -> Message,
    mut race: impl FnMut() -> F,
) -> usize {
    let (mut received, mut cancelled) = (0, 0);
    let deadline = Instant::now() + 60 * SECOND;
    while received < count {
        assert!(Instant::now() < deadline, "{received} messages in 60 s");
        tokio::select! {
            message = ws.recv() => {
                let message = message.expect("the stream ended").expect("an error");
                assert_eq!(message, expected(received), "message {received}");
                received += 1;
            }
            () = race() => cancelled += 1,
        }
    }
    cancelled
}

#[tokio::test]
async fn a_recv_cancelled_thousands_of_times_loses_nothing() {
    const MESSAGES: usize = 400;
    let (mut ws, mut peer) = pair(Config::default(), 1024);
    // Messages in frames of at most 7 bytes, a ping before every tenth:
    // written 5 bytes at a time, so most receives end mid-message.
    let mut wire = Vec::new();
    for i in 0..MESSAGES {
        if i % 10 == 0 {
            wire.extend(peer.ping(b"p"));
        }
        wire.extend(peer.encode(MessageKind::Text, text_of(i).as_bytes(), 7));
    }
    let writer = tokio::spawn(async move {
        for chunk in wire.chunks(5) {
            peer.write(chunk).await;
            tokio::task::yield_now().await;
        }
        peer
    });
    // The shortest of timers: ready on its second poll, so it wins against
    // a receive that is waiting for bytes, which is dropped.
    let expected = |i| Message::Text(text_of(i));
    let cancelled = receive_racing(&mut ws, MESSAGES, expected, tokio::task::yield_now).await;
    assert!(
        cancelled >= 1000,
        "only {cancelled} receives were cancelled"
    );
    let mut peer = writer.await.unwrap();
    // Every ping got its pong, once.
    for _ in 0..MESSAGES / 10 {
        assert_eq!(peer.next(5 * SECOND).await, Some(Seen::Pong(b"p".to_vec())));
    }
    assert_eq!(peer.next(Duration::from_millis(50)).await, None);
}

#[tokio::test]
async fn a_recv_raced_against_a_short_sleep_loses_nothing() {
    const MESSAGES: usize = 50;
    let (mut ws, mut peer) = pair(Config::default(), 1024);
    let mut wire = Vec::new();
    for i in 0..MESSAGES {
        wire.extend(peer.encode(MessageKind::Binary, text_of(i).as_bytes(), 3));
    }
    let writer = tokio::spawn(async move {
        for (n, chunk) in wire.chunks(4).enumerate() {
            peer.write(chunk).await;
            if n % 8 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        peer
    });
    let expected = |i| Message::Binary(text_of(i).into_bytes());
    let short_sleep = || tokio::time::sleep(Duration::from_millis(1));
    let cancelled = receive_racing(&mut ws, MESSAGES, expected, short_sleep).await;
    assert!(cancelled > 0);
    writer.await.unwrap();
}

#[tokio::test]
async fn a_ping_is_answered_while_the_program_only_reads() {
    let (mut ws, mut peer) = pair(Config::default(), 4096);
    let reader = tokio::spawn(async move {
        let message = ws.recv().await;
        (ws, message)
    });
    let ping = peer.ping(b"are you there");
    peer.write(&ping).await;
    assert_eq!(
        peer.next(5 * SECOND).await,
        Some(Seen::Pong(b"are you there".to_vec()))
    );
    let hello = peer.encode(MessageKind::Text, b"hello", usize::MAX);
    peer.write(&hello).await;
    let (_ws, message) = reader.await.unwrap();
    assert_eq!(message.unwrap().unwrap(), Message::Text("hello".into()));
}

#[tokio::test]
async fn the_peers_close_is_answered_and_ends_the_stream() {
    let (mut ws, mut peer) = pair(Config::default(), 4096);
    let mut close = vec![0; 64];
    let len = peer
        .session
        .connection_mut()
        .encode_frame(
            &ws_proto::Frame::close_with_reason(CloseCode::NORMAL, "bye").unwrap(),
            &mut close,
        )
        .unwrap();
    peer.write(&close[..len]).await;
    assert!(ws.recv().await.is_none());
    assert_eq!(ws.close_frame(), Some((CloseCode::NORMAL, "bye")));
    assert_eq!(ws.state(), State::Closed);
    assert_eq!(peer.close_code(5 * SECOND).await, Some(1000));
    // The stream was shut down after the reply.
    assert_eq!(peer.next(5 * SECOND).await, None);
    assert!(ws.recv().await.is_none());
    assert!(matches!(
        ws.send(Message::Text("late".into())).await,
        Err(Error::Send(_))
    ));
}

#[tokio::test]
async fn close_ends_when_the_peers_reply_arrives_though_the_stream_stays_open() {
    // A close timeout far beyond the test's bound: only the reply ends it.
    let config = Config::default().close_timeout(Some(3600 * SECOND));
    let (mut ws, mut peer) = pair(config, 4096);
    let closing = tokio::spawn(async move {
        let closed = ws.close(CloseCode::GOING_AWAY, "bye").await;
        (ws, closed)
    });
    assert_eq!(
        peer.next(5 * SECOND).await,
        Some(Seen::Close(1001, "bye".into()))
    );
    let reply = std::mem::take(&mut peer.answers);
    peer.write(&reply).await;
    let (ws, closed) = tokio::time::timeout(10 * SECOND, closing)
        .await
        .expect("close waited past the peer's reply")
        .unwrap();
    closed.unwrap();
    assert_eq!(ws.state(), State::Closed);
    assert_eq!(ws.close_frame(), Some((CloseCode::GOING_AWAY, "")));
}

/// Feed `wire` to a fresh server with `config`: the error its receive
/// returns, and the close code the peer then reads.
async fn failure(config: Config, wire: impl FnOnce(&mut peer::Peer) -> Vec<u8>) -> (Error, u16) {
    let (mut ws, mut peer) = pair(config, 1 << 16);
    let wire = wire(&mut peer);
    peer.write(&wire).await;
    let err = ws.recv().await.expect("an error").expect_err("an error");
    assert!(ws.recv().await.is_none(), "the error ends the stream");
    let code = peer.close_code(5 * SECOND).await.expect("a close frame");
    (err, code)
}

#[tokio::test]
async fn an_oversized_frame_closes_with_1009() {
    let config = Config::default().max_frame_size(1024);
    let (err, code) = failure(config, |peer| {
        peer.encode(MessageKind::Binary, &[7; 2000], usize::MAX)
    })
    .await;
    assert_eq!(err.close_code(), Some(CloseCode::TOO_LARGE), "{err}");
    assert_eq!(code, 1009);
}

#[tokio::test]
async fn an_oversized_message_in_small_frames_closes_with_1009() {
    let config = Config::default().max_message_size(1000);
    let (err, code) = failure(config, |peer| {
        peer.encode(MessageKind::Binary, &[7; 5000], 100)
    })
    .await;
    assert_eq!(err.close_code(), Some(CloseCode::TOO_LARGE), "{err}");
    assert_eq!(code, 1009);
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007() {
    let (err, code) = failure(Config::default(), |peer| {
        peer.encode(MessageKind::Text, b"ok \xce\xba\xff and more", 4)
    })
    .await;
    assert_eq!(err.close_code(), Some(CloseCode::INVALID_DATA), "{err}");
    assert_eq!(code, 1007);
}

#[tokio::test]
async fn an_unmasked_client_frame_closes_with_1002() {
    let (err, code) = failure(Config::default(), |_| b"\x81\x02hi".to_vec()).await;
    assert_eq!(err.close_code(), Some(CloseCode::PROTOCOL_ERROR), "{err}");
    assert_eq!(code, 1002);
}

#[tokio::test(start_paused = true)]
async fn an_idle_peer_is_pinged_then_closed_when_nothing_comes_back() {
    let config = Config::default()
        .idle_ping(Some(10 * SECOND))
        .pong_timeout(Some(5 * SECOND))
        .close_timeout(Some(2 * SECOND));
    let (mut ws, mut peer) = pair(config, 4096);
    let start = Instant::now();
    let reader = tokio::spawn(async move {
        let first = ws.recv().await;
        let second = ws.recv().await;
        (first, second, start.elapsed())
    });
    assert_eq!(peer.next(60 * SECOND).await, Some(Seen::Ping(Vec::new())));
    assert_eq!(start.elapsed(), 10 * SECOND);
    assert_eq!(
        peer.next(60 * SECOND).await,
        Some(Seen::Close(1001, "pong timeout".into()))
    );
    assert_eq!(start.elapsed(), 15 * SECOND);
    let (first, second, ended) = reader.await.unwrap();
    assert!(
        matches!(first, Some(Err(Error::TimedOut("close")))),
        "{first:?}"
    );
    assert!(second.is_none());
    assert_eq!(ended, 17 * SECOND);
    // The stream is shut down.
    assert_eq!(peer.next(60 * SECOND).await, None);
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_answers_the_ping_stays() {
    let config = Config::default()
        .idle_ping(Some(10 * SECOND))
        .pong_timeout(Some(5 * SECOND));
    let (mut ws, mut peer) = pair(config, 4096);
    let start = Instant::now();
    let reader = tokio::spawn(async move { ws.recv().await.map(|m| m.map_err(|e| e.to_string())) });
    for round in 1..=3u32 {
        let seen = peer.next(60 * SECOND).await;
        assert_eq!(
            seen,
            Some(Seen::Ping(Vec::new())),
            "round {round} at {:?}",
            start.elapsed()
        );
        assert_eq!(start.elapsed(), round * 12 * SECOND - 2 * SECOND);
        // The pong comes 2 s later: the next ping is due 10 s after it.
        tokio::time::sleep(2 * SECOND).await;
        let mut pong = vec![0; 16];
        let len = peer
            .session
            .connection_mut()
            .encode_pong(b"", &mut pong)
            .unwrap();
        peer.write(&pong[..len]).await;
    }
    let hello = peer.encode(MessageKind::Text, b"still here", usize::MAX);
    peer.write(&hello).await;
    let message = reader.await.unwrap();
    assert_eq!(message, Some(Ok(Message::Text("still here".into()))));
}

#[tokio::test]
async fn poll_ready_waits_while_the_write_buffer_is_full() {
    let config = Config::default().write_buffer_limit(1000).compression(None);
    // A pipe of 64 bytes that nobody reads yet.
    let (mut ws, mut peer) = pair(config, 64);
    let mut queued = 0;
    for _ in 0..100 {
        let ready = poll_fn(|cx| Pin::new(&mut ws).poll_ready(cx));
        match tokio::time::timeout(Duration::from_millis(50), ready).await {
            Ok(result) => result.unwrap(),
            Err(_) => break,
        }
        Pin::new(&mut ws)
            .start_send(Message::Binary(vec![1; 300]))
            .unwrap();
        queued += 1;
    }
    // Over the limit after the fourth message (4 x 304 bytes): the fifth
    // waits. The pipe took 64 bytes.
    assert_eq!(queued, 4);
    assert!(ws.buffered() <= 1000 + 304, "{}", ws.buffered());
    // The peer reads: the messages arrive and there is room again.
    let reading = tokio::spawn(async move {
        for _ in 0..4 {
            assert_eq!(
                peer.next(5 * SECOND).await,
                Some(Seen::Message(vec![1; 300]))
            );
        }
        peer
    });
    tokio::time::timeout(5 * SECOND, poll_fn(|cx| Pin::new(&mut ws).poll_ready(cx)))
        .await
        .unwrap()
        .unwrap();
    tokio::time::timeout(5 * SECOND, poll_fn(|cx| Pin::new(&mut ws).poll_flush(cx)))
        .await
        .unwrap()
        .unwrap();
    reading.await.unwrap();
    assert_eq!(ws.buffered(), 0);
}
