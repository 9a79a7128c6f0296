//! Runs every case of a running Autobahn `wstest -m fuzzingserver` with the
//! ws-std client, then asks the suite to write its report.
//!
//! ```text
//! cargo run --release -p ws-std --example autobahn_client -- [URL] [AGENT]
//! ```
//! URL defaults to ws://127.0.0.1:9001, AGENT to `ws-std`.

use ws_std::{connect, Error, Message};

fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let agent = args.next().unwrap_or_else(|| "ws-std".to_owned());
    if let Err(err) = run(base.trim_end_matches('/'), &agent) {
        eprintln!("autobahn_client: {err}");
        std::process::exit(1);
    }
}

fn run(base: &str, agent: &str) -> ws_std::Result<()> {
    let count = case_count(base)?;
    println!("running {count} cases as agent {agent}");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(err) = echo_until_closed(&url) {
            // A failed case is the suite's to judge, not ours: carry on.
            println!("case {case}: {err}");
        }
    }
    let mut ws = connect(&format!("{base}/updateReports?agent={agent}"))?;
    // The suite closes once the report is written.
    while ws.recv().is_ok() {}
    println!("report updated");
    Ok(())
}

fn case_count(base: &str) -> ws_std::Result<u32> {
    let mut ws = connect(&format!("{base}/getCaseCount"))?;
    let count = match ws.recv()? {
        Message::Text(text) => text
            .trim()
            .parse()
            .map_err(|_| Error::Url(format!("bad case count {text:?}")))?,
        Message::Binary(_) => return Err(Error::Url("binary case count".into())),
    };
    let _ = ws.close();
    Ok(count)
}

fn echo_until_closed(url: &str) -> ws_std::Result<()> {
    let mut ws = connect(url)?;
    loop {
        match ws.recv() {
            Ok(message) => {
                ws.send(&message)?;
            }
            Err(Error::Closed { .. }) => return Ok(()),
            Err(err) => return Err(err),
        }
    }
}
