//! ws-tokio against ws-std, both ways, over TCP on 127.0.0.1: text,
//! binary, fragmented and compressed messages come back whole.

use std::time::Duration;

use tokio::net::TcpListener;
use ws_tokio::{accept, connect, CloseCode, Message};

/// A JSON-like text that compresses well and is long enough to be
/// compressed (over the 256-byte threshold).
fn compressible(len: usize) -> String {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < len {
        text.push_str(&format!("{{\"id\":{i},\"name\":\"item\",\"ok\":true}},"));
        i += 1;
    }
    text.truncate(len);
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ws_std_client_gets_every_kind_of_message_back_from_a_ws_tokio_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = accept(stream).await.unwrap();
        assert!(
            ws.compression().is_some(),
            "ws-std offers permessage-deflate"
        );
        let mut echoed = 0;
        while let Some(message) = ws.recv().await {
            ws.send(message.unwrap()).await.unwrap();
            echoed += 1;
        }
        assert_eq!(ws.close_frame(), Some((CloseCode::NORMAL, "")));
        echoed
    });
    let big = compressible(100_000);
    let client = tokio::task::spawn_blocking(move || {
        let mut ws = ws_std::connect(&url).unwrap();
        ws.send_text("hello").unwrap();
        assert_eq!(ws.recv().unwrap(), ws_std::Message::Text("hello".into()));
        ws.send_binary(&[0, 1, 2, 255]).unwrap();
        assert_eq!(
            ws.recv().unwrap(),
            ws_std::Message::Binary(vec![0, 1, 2, 255])
        );
        ws.send_fragmented(
            ws_std::MessageKind::Text,
            &[b"frag", b"men", b"ted \xc3", b"\xa9"],
        )
        .unwrap();
        assert_eq!(
            ws.recv().unwrap(),
            ws_std::Message::Text("fragmented é".into())
        );
        ws.send_text(&big).unwrap();
        assert_eq!(ws.recv().unwrap(), ws_std::Message::Text(big.clone()));
        ws.send_binary(&[]).unwrap();
        assert_eq!(ws.recv().unwrap(), ws_std::Message::Binary(vec![]));
        ws.close().unwrap();
    });
    tokio::time::timeout(Duration::from_secs(30), client)
        .await
        .unwrap()
        .unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(echoed, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ws_tokio_client_gets_every_kind_of_message_back_from_a_ws_std_server() {
    let server = ws_std::WsServer::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", server.local_addr().unwrap());
    let stop = server.stop_handle();
    let serving = std::thread::spawn(move || server.run_echo());

    let run = async {
        let mut ws = connect(&url).await.unwrap();
        assert!(
            ws.compression().is_some(),
            "ws-std accepts permessage-deflate"
        );
        let big = compressible(200_000);
        let messages = [
            Message::Text("hello".into()),
            Message::Binary(vec![9; 10]),
            Message::Text(big.clone()),
            Message::Binary(big.into_bytes()),
            Message::Text(String::new()),
        ];
        for message in messages {
            ws.send(message.clone()).await.unwrap();
            assert_eq!(ws.recv().await.unwrap().unwrap(), message);
        }
        ws.close(CloseCode::NORMAL, "bye").await.unwrap();
        assert!(ws.recv().await.is_none());
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .unwrap();
    stop.stop();
    serving.join().unwrap().unwrap();
}

#[tokio::test]
async fn without_compression_both_ways_the_messages_still_arrive() {
    use futures_util::{SinkExt, StreamExt};

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let config = ws_tokio::Config::default().compression(None);
    let server_config = config.clone();
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws =
            ws_tokio::accept_with_config(stream, &server_config, |_| Ok(ws_tokio::Accept::new()))
                .await
                .unwrap();
        assert!(ws.compression().is_none());
        // As a Stream and a Sink: what comes in goes back out.
        while let Some(message) = ws.next().await {
            SinkExt::send(&mut ws, message.unwrap()).await.unwrap();
        }
    });
    let mut ws = ws_tokio::connect_with_config(&url, &config).await.unwrap();
    assert!(ws.compression().is_none());
    for i in 0..100u32 {
        ws.feed(Message::Binary(i.to_be_bytes().to_vec()))
            .await
            .unwrap();
    }
    ws.flush().await.unwrap();
    for i in 0..100u32 {
        let message = ws.next().await.unwrap().unwrap();
        assert_eq!(message, Message::Binary(i.to_be_bytes().to_vec()));
    }
    SinkExt::close(&mut ws).await.unwrap();
    assert!(ws.next().await.is_none());
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
}
