//! A connection split into a reader and a writer half in two tasks.

mod peer;

use std::time::Duration;

use peer::{pair, Seen};
use ws_proto::MessageKind;
use ws_tokio::{CloseCode, Config, Message};

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_halves_work_from_two_tasks_and_the_reader_answers_pings() {
    const SENT: u8 = 50;
    const PINGS: usize = 20;
    // A small pipe and write buffer: the writer waits for room while the
    // reader writes pongs through the same stream.
    let config = Config::default().write_buffer_limit(1000).compression(None);
    let (ws, mut peer) = pair(config, 64);
    let (mut reader, mut writer) = ws.split();
    let writing = tokio::spawn(async move {
        for i in 0..SENT {
            writer.send(Message::Binary(vec![i; 300])).await.unwrap();
        }
        writer.close(CloseCode::NORMAL, "done").await.unwrap();
        writer
    });
    let reading = tokio::spawn(async move {
        let mut received = Vec::new();
        while let Some(message) = reader.recv().await {
            received.push(message.unwrap());
        }
        (reader, received)
    });

    let mut wire = Vec::new();
    for i in 0..PINGS {
        wire.extend(peer.ping(&[i as u8]));
        if i % 7 == 0 {
            wire.extend(peer.encode(MessageKind::Text, format!("text {i}").as_bytes(), 3));
        }
    }
    peer.write(&wire).await;
    let (mut messages, mut pongs) = (0u8, 0);
    loop {
        match peer.next(10 * SECOND).await.expect("the server stalled") {
            Seen::Message(payload) => {
                assert_eq!(payload, vec![messages; 300]);
                messages += 1;
            }
            Seen::Pong(payload) => {
                assert_eq!(payload, [pongs as u8]);
                pongs += 1;
            }
            Seen::Close(code, reason) => {
                assert_eq!((code, reason.as_str()), (1000, "done"));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((messages, pongs), (SENT, PINGS));
    // The client's core made the close reply (echoing 1000).
    let reply = std::mem::take(&mut peer.answers);
    assert!(!reply.is_empty());
    peer.write(&reply).await;

    let writer = tokio::time::timeout(10 * SECOND, writing)
        .await
        .unwrap()
        .unwrap();
    let (reader, received) = tokio::time::timeout(10 * SECOND, reading)
        .await
        .unwrap()
        .unwrap();
    let texts: Vec<_> = (0..PINGS)
        .filter(|i| i % 7 == 0)
        .map(|i| Message::Text(format!("text {i}")))
        .collect();
    assert_eq!(received, texts);
    assert_eq!(
        reader.close_frame(),
        Some((CloseCode::NORMAL, String::new()))
    );
    let ws = reader
        .reunite(writer)
        .expect("two halves of one connection");
    assert_eq!(ws.state(), ws_tokio::State::Closed);
}

#[tokio::test]
async fn halves_of_two_connections_do_not_reunite() {
    let (one, _peer_one) = pair(Config::default(), 64);
    let (two, _peer_two) = pair(Config::default(), 64);
    let (reader, _writer) = one.split();
    let (_reader, writer) = two.split();
    assert!(reader.reunite(writer).is_err());
}
