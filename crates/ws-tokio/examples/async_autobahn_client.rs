//! Runs every case of a running Autobahn `wstest -m fuzzingserver` with the
//! ws-tokio client, one case after the other, then asks the suite to write
//! its report.
//!
//! ```text
//! cargo run --release -p ws-tokio --example async_autobahn_client -- [URL] [AGENT]
//! ```
//! URL defaults to ws://127.0.0.1:9001, AGENT to `ws-tokio`. The client
//! offers permessage-deflate (on in `Config::default()`), so the
//! compression cases 12.* and 13.* run too.

use ws_tokio::{connect, Error, Message};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let agent = args.next().unwrap_or_else(|| "ws-tokio".to_owned());
    if let Err(err) = run(base.trim_end_matches('/'), &agent).await {
        eprintln!("async_autobahn_client: {err}");
        std::process::exit(1);
    }
}

async fn run(base: &str, agent: &str) -> ws_tokio::Result<()> {
    let count = case_count(base).await?;
    println!("running {count} cases as agent {agent}");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(err) = echo_until_closed(&url).await {
            // A failed case is the suite's to judge, not ours: carry on.
            println!("case {case}: {err}");
        }
    }
    let mut ws = connect(&format!("{base}/updateReports?agent={agent}")).await?;
    // The suite closes once the report is written.
    while let Some(Ok(_)) = ws.recv().await {}
    println!("report updated");
    Ok(())
}

async fn case_count(base: &str) -> ws_tokio::Result<u32> {
    let mut ws = connect(&format!("{base}/getCaseCount")).await?;
    let count = match ws.recv().await {
        Some(Ok(Message::Text(text))) => text
            .trim()
            .parse()
            .map_err(|_| Error::Url(format!("bad case count {text:?}")))?,
        Some(Ok(Message::Binary(_))) => return Err(Error::Url("binary case count".into())),
        Some(Err(err)) => return Err(err),
        None => return Err(Error::Url("no case count".into())),
    };
    let _ = ws.close(ws_tokio::CloseCode::NORMAL, "").await;
    Ok(count)
}

async fn echo_until_closed(url: &str) -> ws_tokio::Result<()> {
    let mut ws = connect(url).await?;
    while let Some(message) = ws.recv().await {
        ws.send(message?).await?;
    }
    Ok(())
}
