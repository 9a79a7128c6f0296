//! Backpressure a handler can act on: a producer that stops at
//! `SendError::QueueFull` and refills on `Handler::on_writable` delivers
//! every message, in order, to a peer that reads slowly.

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{client_frame, config, read_frame, slow_client, Running};
use ws_mio::{Config, ConnectionId, Context, Handler, MessageRef, Opening, Refusal, SendError};
use ws_proto::OpCode;

/// Messages the producer sends in all.
const TOTAL: u32 = 3000;
/// Size of each (its first four bytes number it).
const MESSAGE: usize = 2000;

/// Sends `TOTAL` numbered messages to the connection that asks, as fast
/// as the queue takes them, going on from `on_writable`.
struct Producer {
    next: u32,
    refusals: Arc<AtomicUsize>,
    writable: Arc<AtomicUsize>,
}

impl Producer {
    fn fill(&mut self, ctx: &mut Context<'_, ()>, id: ConnectionId) {
        let mut payload = vec![0u8; MESSAGE];
        while self.next < TOTAL {
            payload[..4].copy_from_slice(&self.next.to_be_bytes());
            match ctx.send(id, MessageRef::Binary(&payload)) {
                Ok(()) => self.next += 1,
                Err(SendError::QueueFull) => {
                    self.refusals.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                Err(err) => panic!("send {}: {err}", self.next),
            }
        }
    }
}

impl Handler for Producer {
    type Data = ();

    fn on_open(
        &mut self,
        _: &mut Context<'_, ()>,
        _: ConnectionId,
        _: &Opening<'_>,
    ) -> Result<(), Refusal> {
        Ok(())
    }

    fn on_message(&mut self, ctx: &mut Context<'_, ()>, id: ConnectionId, _: MessageRef<'_>) {
        self.fill(ctx, id);
    }

    fn on_writable(&mut self, ctx: &mut Context<'_, ()>, id: ConnectionId) {
        self.writable.fetch_add(1, Ordering::SeqCst);
        assert!(
            ctx.queued(id).unwrap() <= ctx_low_water(),
            "on_writable above the low-water mark"
        );
        self.fill(ctx, id);
    }
}

fn backpressure_config() -> Config {
    config().max_outgoing(256 * 1024).compression(None)
}

fn ctx_low_water() -> usize {
    backpressure_config().max_outgoing / 2
}

#[test]
fn a_producer_that_refills_on_writable_delivers_everything_in_order() {
    let refusals = Arc::new(AtomicUsize::new(0));
    let writable = Arc::new(AtomicUsize::new(0));
    let (r, w) = (Arc::clone(&refusals), Arc::clone(&writable));
    let server = Running::start(backpressure_config(), move || Producer {
        next: 0,
        refusals: Arc::clone(&r),
        writable: Arc::clone(&w),
    });
    let mut stream = slow_client(server.addr);
    stream
        .write_all(&client_frame(OpCode::Binary, true, b"go"))
        .unwrap();
    for n in 0..TOTAL {
        if n % 100 == 0 {
            // A slow reader: the queue fills while it sleeps.
            thread::sleep(Duration::from_millis(10));
        }
        let frame = read_frame(&mut stream).unwrap_or_else(|err| panic!("message {n}: {err}"));
        assert_eq!(frame.opcode, 0x2, "message {n} is not binary");
        assert_eq!(frame.payload.len(), MESSAGE);
        assert_eq!(frame.payload[..4], n.to_be_bytes(), "out of order");
    }
    let refused = refusals.load(Ordering::SeqCst);
    assert!(
        refused > 0,
        "the queue never filled: the test proves nothing"
    );
    // Each refusal is answered by one on_writable (the last one included:
    // the producer finished from it).
    assert_eq!(writable.load(Ordering::SeqCst), refused);
    server.stop_ok();
}
