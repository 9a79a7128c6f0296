//! Echo throughput with permessage-deflate on and off: a ws-mio echo server
//! (one loop) and a ws-mio client loop in this process, 10 connections
//! each keeping one 1 KiB JSON-like message in flight.
//!
//! ```text
//! cargo run --release -p ws-mio --example deflate_echo -- [SECONDS] [SIZE]
//! ```
//! Prints messages per second for each setting (SECONDS defaults to 3,
//! SIZE to 1024 bytes). Both sides compress when it is on.

use std::time::{Duration, Instant};

use ws_mio::{
    Config, ConnectionId, Context, Echo, EventLoop, Handler, MessageRef, Opening, Refusal, Server,
};

const CONNECTIONS: usize = 10;

/// Sends the payload, and again each time its echo comes back intact.
struct Pinger {
    payload: String,
    echoed: u64,
    compressed: usize,
}

impl Handler for Pinger {
    type Data = ();

    fn on_open(
        &mut self,
        ctx: &mut Context<'_, ()>,
        id: ConnectionId,
        opening: &Opening<'_>,
    ) -> Result<(), Refusal> {
        let negotiated = opening
            .header("sec-websocket-extensions")
            .is_some_and(|value| value.starts_with(b"permessage-deflate"));
        self.compressed += usize::from(negotiated);
        let _ = ctx.send_text(id, &self.payload);
        Ok(())
    }

    fn on_message(&mut self, ctx: &mut Context<'_, ()>, id: ConnectionId, message: MessageRef<'_>) {
        assert_eq!(message, MessageRef::Text(&self.payload), "echo differs");
        self.echoed += 1;
        let _ = ctx.send_text(id, &self.payload);
    }
}

fn json_like(len: usize) -> String {
    let mut text = String::new();
    let mut i = 0;
    while text.len() < len {
        text.push_str(&format!(
            "{{\"id\":{i},\"user\":\"user{}\",\"active\":{}}},",
            i % 97,
            i % 3 == 0
        ));
        i += 1;
    }
    text.truncate(len);
    text
}

fn run(compression: bool, seconds: u64, size: usize) -> (f64, usize) {
    let mut config = Config::default();
    if !compression {
        config = config.compression(None);
    }
    let server = Server::bind("127.0.0.1:0")
        .expect("bind")
        .threads(1)
        .config(config.clone());
    let url = format!("ws://{}/", server.local_addr());
    let shutdown = server.shutdown_handle();
    let serving = std::thread::spawn(move || server.run(|| Echo));

    let pinger = Pinger {
        payload: json_like(size),
        echoed: 0,
        compressed: 0,
    };
    let mut client = EventLoop::new(config, pinger).expect("client loop");
    for _ in 0..CONNECTIONS {
        client.connect(&url).expect("connect");
    }
    // Warm up for a second, then count.
    let warm_until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < warm_until {
        client.turn(Some(Duration::from_millis(10))).expect("turn");
    }
    let start_count = client.handler().echoed;
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    while Instant::now() < end {
        client.turn(Some(Duration::from_millis(10))).expect("turn");
    }
    let rate = (client.handler().echoed - start_count) as f64 / start.elapsed().as_secs_f64();
    let compressed = client.handler().compressed;
    shutdown.shutdown();
    let _ = serving.join();
    (rate, compressed)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let size = args.next().and_then(|s| s.parse().ok()).unwrap_or(1024);
    for compression in [false, true] {
        let (rate, compressed) = run(compression, seconds, size);
        let label = if compression {
            "deflate on "
        } else {
            "deflate off"
        };
        println!("{label}: {rate:>9.0} msg/s ({CONNECTIONS} conns x {size} B, one in flight; {compressed} of {CONNECTIONS} negotiated)");
    }
}
