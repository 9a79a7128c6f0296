//! A chat server: every message goes to every other connected client.
//!
//! ```text
//! cargo run --release -p ws-mio --example chat -- [ADDR]
//! ```
//! ADDR defaults to 127.0.0.1:9003. One loop, so every client is in the
//! same room.

use ws_mio::{CloseCode, ConnectionId, Context, Handler, MessageRef, Opening, Refusal, Server};

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

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9003".to_owned());
    let server = Server::bind(addr.as_str())?.threads(1);
    println!("chat on ws://{}", server.local_addr());
    server.run(|| Chat)
}
