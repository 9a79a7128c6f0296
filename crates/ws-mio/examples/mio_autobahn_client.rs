//! Runs every case of a running Autobahn `wstest -m fuzzingserver` with a
//! ws-mio client loop, one case after the other, then asks the suite to
//! write its report.
//!
//! ```text
//! cargo run --release -p ws-mio --example mio_autobahn_client -- [URL] [AGENT]
//! ```
//! URL defaults to ws://127.0.0.1:9001, AGENT to `ws-mio`. The client
//! offers permessage-deflate (on in `Config::default()`), so the
//! compression cases 12.* and 13.* run too.

use ws_mio::{
    Config, ConnectionId, Context, Error, EventLoop, Handler, MessageRef, Opening, Refusal,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Echoes every message of a case back (text as text, binary as binary);
/// with `echo` off, keeps the last text message instead (the case count).
#[derive(Default)]
struct Suite {
    echo: bool,
    text: Option<String>,
    /// The last error reported on the current connection.
    error: Option<String>,
}

impl Handler for Suite {
    type Data = ();

    fn on_open(
        &mut self,
        _: &mut Context<'_, ()>,
        _: ConnectionId,
        _: &Opening<'_>,
    ) -> std::result::Result<(), Refusal> {
        Ok(())
    }

    fn on_message(&mut self, ctx: &mut Context<'_, ()>, id: ConnectionId, message: MessageRef<'_>) {
        if self.echo {
            let _ = ctx.send(id, message);
        } else if let MessageRef::Text(text) = message {
            self.text = Some(text.to_owned());
        }
    }

    fn on_error(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, error: &Error) {
        self.error = Some(error.to_string());
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let agent = args.next().unwrap_or_else(|| "ws-mio".to_owned());
    if let Err(err) = run(base.trim_end_matches('/'), &agent) {
        eprintln!("mio_autobahn_client: {err}");
        std::process::exit(1);
    }
}

fn run(base: &str, agent: &str) -> Result<()> {
    let mut client = EventLoop::new(Config::default(), Suite::default())?;

    visit(&mut client, &format!("{base}/getCaseCount"))?;
    let text = client.handler().text.take().ok_or("no case count")?;
    let count: u32 = text
        .trim()
        .parse()
        .map_err(|_| format!("bad case count {text:?}"))?;
    println!("running {count} cases as agent {agent}");

    client.handler().echo = true;
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(err) = visit(&mut client, &url) {
            // A failed case is the suite's to judge, not ours: carry on.
            println!("case {case}: {err}");
        }
    }
    client.handler().echo = false;

    // The suite closes once the report is written.
    visit(&mut client, &format!("{base}/updateReports?agent={agent}"))?;
    println!("report updated");
    Ok(())
}

/// Open a connection to `url` and turn the loop until it is gone: closed
/// by the suite, or failed (the error the handler heard, if any).
fn visit(client: &mut EventLoop<Suite>, url: &str) -> Result<()> {
    client.handler().error = None;
    client.connect(url)?;
    while client.connection_count() > 0 {
        client.turn(None)?;
    }
    match client.handler().error.take() {
        Some(err) => Err(err.into()),
        None => Ok(()),
    }
}
