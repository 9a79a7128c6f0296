//! Handler timers: `Context::set_timer` and `Handler::on_timer`.

mod common;

use std::time::{Duration, Instant};

use common::{config, ws_client, Running};
use ws_mio::{ConnectionId, Context, Handler, MessageRef, Opening, Refusal};

/// Sets two timers when a connection opens, and re-arms the short one
/// three times; each firing sends its token to the connection.
struct Ticker {
    id: Option<ConnectionId>,
    short_fired: u32,
}

const SHORT: u64 = 3;
const LONG: u64 = 7;

impl Handler for Ticker {
    type Data = ();

    fn on_open(
        &mut self,
        ctx: &mut Context<'_, ()>,
        id: ConnectionId,
        _: &Opening<'_>,
    ) -> Result<(), Refusal> {
        self.id = Some(id);
        ctx.set_timer(Duration::from_millis(300), LONG);
        ctx.set_timer(Duration::from_millis(20), SHORT);
        Ok(())
    }

    fn on_message(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, _: MessageRef<'_>) {}

    fn on_timer(&mut self, ctx: &mut Context<'_, ()>, token: u64) {
        let Some(id) = self.id else {
            return;
        };
        if token == SHORT {
            self.short_fired += 1;
            if self.short_fired < 3 {
                ctx.set_timer(Duration::from_millis(20), SHORT);
            }
        }
        let _ = ctx.send_text(id, &format!("timer {token}"));
    }
}

#[test]
fn timers_fire_in_order_of_their_deadlines_and_can_be_set_again() {
    let server = Running::start(config(), || Ticker {
        id: None,
        short_fired: 0,
    });
    let opened = Instant::now();
    let mut client = ws_client(&server.url("/"));
    let mut seen = Vec::new();
    for _ in 0..4 {
        match client.recv().expect("a timer's message") {
            ws_std::Message::Text(text) => seen.push(text.to_string()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, ["timer 3", "timer 3", "timer 3", "timer 7"]);
    assert!(
        opened.elapsed() >= Duration::from_millis(300),
        "the long timer fired early"
    );
    client.close().expect("close");
    server.stop_ok();
}
