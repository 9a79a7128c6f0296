//! A chat server: every message goes to every other connected client,
//! whichever loop serves it.
//!
//! ```text
//! cargo run --release -p ws-mio --example chat -- [ADDR] [--threads N]
//! ```
//! ADDR defaults to 127.0.0.1:9003, N to the number of cores (as for
//! `echo_server`). Every client is in the same room: a broadcast reaches
//! the connections of every loop. SIGINT or SIGTERM closes every
//! connection with 1001 and exits.

mod common;

use ws_mio::{CloseCode, ConnectionId, Context, Handler, MessageRef, Opening, Refusal};

struct Chat;

impl Handler for Chat {
    type Data = ();

    fn on_open(
        &mut self,
        ctx: &mut Context<'_, ()>,
        id: ConnectionId,
        _: &Opening<'_>,
    ) -> Result<(), Refusal> {
        let text = format!("{id} joined");
        ctx.broadcast_except(id, MessageRef::Text(&text));
        Ok(())
    }

    fn on_message(&mut self, ctx: &mut Context<'_, ()>, id: ConnectionId, message: MessageRef<'_>) {
        ctx.broadcast_except(id, message);
    }

    fn on_close(&mut self, ctx: &mut Context<'_, ()>, id: ConnectionId, _: CloseCode, _: &str) {
        let text = format!("{id} left");
        ctx.broadcast_except(id, MessageRef::Text(&text));
    }
}

fn main() {
    common::serve_from_args("chat", "127.0.0.1:9003", || Chat);
}
