//! The opening handshake over TCP on 127.0.0.1: what the application's
//! callback sees and answers, refusals as a raw client reads them, bad
//! requests, and the handshake deadline.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use ws_tokio::{accept_with, accept_with_config, Accept, Config, Error, Refusal};

const REQUEST: &str = "GET /chat?room=1 HTTP/1.1\r\nHost: example.com\r\n\
    Upgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\nAuthorization: Bearer wrong\r\n\r\n";

/// Send `request` as a raw client to a server running `serve` on the
/// accepted stream; what the server answered (all of it, up to its
/// shutdown) and what `serve` returned.
async fn exchange<T, F>(request: &str, serve: impl FnOnce(TcpStream) -> F) -> (String, T)
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut client = TcpStream::connect(addr).await.unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let server = tokio::spawn(serve(stream));
    client.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), client.read_to_end(&mut response))
        .await
        .expect("the server shuts the stream down")
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .unwrap()
        .unwrap();
    (String::from_utf8(response).unwrap(), outcome)
}

#[tokio::test]
async fn a_refusal_reaches_the_client_with_its_status_headers_and_body() {
    let (response, outcome) = exchange(REQUEST, |stream| async move {
        accept_with(stream, |request| {
            assert_eq!(request.path(), "/chat?room=1");
            assert_eq!(request.host(), "example.com");
            match request.header("Authorization") {
                Some(b"Bearer secret") => Ok(Accept::new()),
                _ => Err(Refusal::unauthorized("Bearer realm=\"chat\"")
                    .header("X-Reason", "bad token")
                    .body("token required\n")),
            }
        })
        .await
        .map(drop)
    })
    .await;
    assert!(
        response.starts_with("HTTP/1.1 401 Unauthorized\r\n"),
        "{response}"
    );
    assert!(response.contains("\r\nWWW-Authenticate: Bearer realm=\"chat\"\r\n"));
    assert!(response.contains("\r\nX-Reason: bad token\r\n"));
    assert!(response.ends_with("\r\n\r\ntoken required\n"), "{response}");
    assert!(
        matches!(outcome, Err(Error::Refused { status: 401 })),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn an_answer_that_cannot_be_written_is_a_bare_500() {
    let (response, outcome) = exchange(REQUEST, |stream| async move {
        accept_with(stream, |_| Ok(Accept::new().header("Upgrade", "h2c")))
            .await
            .map(drop)
    })
    .await;
    assert!(
        response.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
        "{response}"
    );
    assert!(matches!(outcome, Err(Error::Handshake(_))), "{outcome:?}");
}

#[tokio::test]
async fn a_request_of_another_version_gets_426() {
    let request = REQUEST.replace("Version: 13", "Version: 12");
    let (response, outcome) = exchange(&request, |stream| async move {
        accept_with(stream, |_| -> Result<Accept, Refusal> {
            panic!("the callback sees only valid requests")
        })
        .await
        .map(drop)
    })
    .await;
    assert!(response.starts_with("HTTP/1.1 426 "), "{response}");
    assert!(response.contains("Sec-WebSocket-Version: 13\r\n"));
    assert!(matches!(outcome, Err(Error::Handshake(_))), "{outcome:?}");
}

#[tokio::test]
async fn the_101_carries_the_chosen_subprotocol_and_headers() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/chat", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let config = Config::default().subprotocols(["superchat", "chat"]);
        let mut ws = accept_with_config(stream, &config, |request| {
            assert_eq!(request.subprotocols().collect::<Vec<_>>(), ["chat"]);
            Ok(Accept::new().header("X-Served-By", "ws-tokio"))
        })
        .await
        .unwrap();
        assert_eq!(ws.subprotocol(), Some("chat"));
        while let Some(message) = ws.recv().await {
            ws.send(message.unwrap()).await.unwrap();
        }
    });
    let client = tokio::task::spawn_blocking(move || {
        let config = ws_std::Config::default().subprotocols(["chat"]);
        let mut ws = ws_std::connect_with_config(&url, &config).unwrap();
        assert_eq!(ws.subprotocol(), Some("chat"));
        let opened = ws.opened_with().unwrap();
        assert_eq!(opened.header_str("X-Served-By"), Some("ws-tokio"));
        ws.send_text("hi").unwrap();
        assert_eq!(ws.recv().unwrap(), ws_std::Message::Text("hi".into()));
        ws.close().unwrap();
    });
    tokio::time::timeout(Duration::from_secs(10), client)
        .await
        .unwrap()
        .unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn a_ws_tokio_client_offers_its_subprotocols_and_sends_its_headers() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/x", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        accept_with(stream, |request| {
            assert_eq!(request.origin(), Some("http://example.com"));
            Ok(Accept::new().subprotocol("b"))
        })
        .await
        .unwrap()
    });
    let config = Config::default()
        .subprotocols(["a", "b"])
        .extra_headers([("Origin", "http://example.com")]);
    let ws = ws_tokio::connect_with_config(&url, &config).await.unwrap();
    assert_eq!(ws.subprotocol(), Some("b"));
    let _server_side = server.await.unwrap();
}

#[tokio::test]
async fn a_server_that_answers_with_another_status_is_an_http_status_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let _ = accept_with(stream, |_| Err(Refusal::forbidden())).await;
    });
    let err = ws_tokio::connect(&url).await.unwrap_err();
    assert!(matches!(err, Error::HttpStatus(403)), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_client_that_sends_nothing_times_the_handshake_out() {
    let (client, server) = tokio::io::duplex(1024);
    let config = Config::default().handshake_timeout(Some(Duration::from_secs(3)));
    let start = tokio::time::Instant::now();
    let outcome = accept_with_config(server, &config, |_| Ok(Accept::new())).await;
    assert!(
        matches!(outcome, Err(Error::TimedOut("opening"))),
        "{outcome:?}"
    );
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    drop(client);
}
