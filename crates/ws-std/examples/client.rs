//! Send one text message and print the echo.
//!
//! ```text
//! cargo run --release -p ws-std --example client -- [URL] [TEXT] [--ca FILE]
//! ```
//! URL defaults to ws://127.0.0.1:9002, where the README's main server
//! (ws-mio's `echo_server` example) listens; TEXT defaults to `hello`. For
//! ws-std's `blocking_echo_server` (on 127.0.0.1:9001), pass
//! `ws://127.0.0.1:9001`. A `wss://` URL is checked against the machine's
//! trusted certificates, or with `--ca FILE` against the CA certificates
//! in that PEM file only (the `tls_certs` example makes one).

use ws_std::{connect_with_config, Config, Message};

fn main() {
    let mut positional = Vec::new();
    let mut ca = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--ca" => ca = args.next(),
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let url = positional
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9002".to_owned());
    let text = positional.next().unwrap_or_else(|| "hello".to_owned());
    if let Err(err) = run(&url, &text, ca.as_deref()) {
        eprintln!("client: {err}");
        std::process::exit(1);
    }
}

fn run(url: &str, text: &str, ca: Option<&str>) -> Result<(), Box<dyn std::error::Error>> {
    let config = match ca {
        Some(path) => trusting(path)?,
        None => Config::default(),
    };
    let mut ws = connect_with_config(url, &config)?;
    ws.send_text(text)?;
    match ws.recv()? {
        Message::Text(echo) => println!("{echo}"),
        Message::Binary(data) => println!("{} bytes of binary", data.len()),
    }
    Ok(ws.close()?)
}

#[cfg(feature = "tls")]
fn trusting(ca: &str) -> Result<Config, Box<dyn std::error::Error>> {
    let pem = std::fs::read(ca).map_err(|err| format!("cannot read {ca}: {err}"))?;
    Ok(Config::default().tls(ws_std::tls::client_config_trusting(&pem)?))
}

#[cfg(not(feature = "tls"))]
fn trusting(_: &str) -> Result<Config, Box<dyn std::error::Error>> {
    Err("--ca needs ws-std's feature tls".into())
}
