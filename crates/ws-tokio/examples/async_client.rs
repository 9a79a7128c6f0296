//! Sends one text message and prints the echo.
//!
//! ```text
//! cargo run --release -p ws-tokio --example async_client -- [URL] [TEXT]
//! ```
//! URL defaults to ws://127.0.0.1:9004 (the `async_echo_server` example),
//! TEXT to `hello`.

use ws_tokio::{connect, CloseCode, Message};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9004".to_owned());
    let text = args.next().unwrap_or_else(|| "hello".to_owned());
    if let Err(err) = run(&url, text).await {
        eprintln!("async_client: {err}");
        std::process::exit(1);
    }
}

async fn run(url: &str, text: String) -> ws_tokio::Result<()> {
    let mut ws = connect(url).await?;
    ws.send(Message::Text(text)).await?;
    match ws.recv().await.transpose()? {
        Some(Message::Text(echo)) => println!("{echo}"),
        Some(Message::Binary(data)) => println!("{} bytes", data.len()),
        None => println!("closed by the server before an echo"),
    }
    ws.close(CloseCode::NORMAL, "").await
}
