//! A shutdown loses nothing: messages queued before it (up to a full
//! outgoing queue, to a peer that reads slowly) all go out ahead of the
//! 1001 close, even when writing them takes longer than the close timeout.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{config, read_frame, slow_client, Running, IO_TIMEOUT};
use ws_mio::{
    CloseCode, Config, ConnectionId, Context, Handler, MessageRef, Opening, Refusal, SendError,
};
use ws_proto::OpCode;

/// Size of each queued message (its first four bytes number it).
const MESSAGE: usize = 4000;

/// On the client's first message, queue numbered messages until the
/// queue is full; record how many, then shut down from the handler or
/// leave that to the test.
struct Filler {
    queued: Arc<AtomicUsize>,
    shutdown_here: bool,
}

impl Handler for Filler {
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
        let mut payload = vec![0u8; MESSAGE];
        // Bounded: the queue refuses after `max_outgoing` bytes.
        for n in 0u32..100_000 {
            payload[..4].copy_from_slice(&n.to_be_bytes());
            match ctx.send(id, MessageRef::Binary(&payload)) {
                Ok(()) => {}
                Err(SendError::QueueFull) => {
                    self.queued.store(n as usize, Ordering::SeqCst);
                    break;
                }
                Err(err) => panic!("send {n}: {err}"),
            }
        }
        if self.shutdown_here {
            ctx.shutdown();
        }
    }

    fn on_close(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, _: CloseCode, _: &str) {}
}

/// A close timeout far shorter than the time the client takes to read
/// the queue.
fn shutdown_config() -> Config {
    config()
        .max_outgoing(8 << 20)
        .close_timeout(Some(Duration::from_millis(300)))
        .stall_timeout(Duration::from_secs(5))
        .compression(None)
}

/// Read slowly (pausing well under the close timeout, taking several
/// close timeouts in all): every queued message arrives, in order, and
/// then the 1001.
fn reads_all_then_going_away(stream: &mut TcpStream, queued: &AtomicUsize) {
    assert!(common::wait_until(IO_TIMEOUT, || queued
        .load(Ordering::SeqCst)
        > 0));
    let started = Instant::now();
    let expected = queued.load(Ordering::SeqCst);
    assert!(expected > 100, "only {expected} messages filled the queue");
    for n in 0..expected {
        if n % 64 == 0 {
            thread::sleep(Duration::from_millis(40));
        }
        let frame = read_frame(stream).unwrap_or_else(|err| panic!("message {n}: {err}"));
        assert_eq!(frame.opcode, 0x2, "message {n} is not binary");
        assert_eq!(frame.payload.len(), MESSAGE);
        assert_eq!(frame.payload[..4], (n as u32).to_be_bytes(), "out of order");
    }
    let close = read_frame(stream).expect("the close after the messages");
    assert_eq!(close.opcode, 0x8, "a close follows the {expected} messages");
    assert_eq!(close.close_code(), 1001);
    assert!(
        started.elapsed() > 2 * shutdown_config().session.timers.close.unwrap(),
        "the client read faster than the test means it to"
    );
}

#[test]
fn context_shutdown_delivers_a_full_queue_before_1001() {
    let queued = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&queued);
    let server = Running::start(shutdown_config(), move || Filler {
        queued: Arc::clone(&counter),
        shutdown_here: true,
    });
    let mut stream = slow_client(server.addr);
    stream
        .write_all(&common::client_frame(OpCode::Binary, true, b"go"))
        .unwrap();
    reads_all_then_going_away(&mut stream, &queued);
    assert!(common::wait_until(IO_TIMEOUT, || server.is_finished()));
    server.stop_ok();
}

#[test]
fn handle_shutdown_delivers_a_full_queue_before_1001() {
    let queued = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&queued);
    let server = Running::start(shutdown_config(), move || Filler {
        queued: Arc::clone(&counter),
        shutdown_here: false,
    });
    let mut stream = slow_client(server.addr);
    stream
        .write_all(&common::client_frame(OpCode::Binary, true, b"go"))
        .unwrap();
    assert!(common::wait_until(IO_TIMEOUT, || queued
        .load(Ordering::SeqCst)
        > 0));
    server.shutdown_handle().shutdown();
    reads_all_then_going_away(&mut stream, &queued);
    server.stop_ok();
}

/// With no close timeout a shutdown has no deadline: the loop waits for a
/// peer that answers the 1001 late, long after `stall_timeout` plus the
/// default close timeout would have ended it, and returns once it did.
#[test]
fn without_a_close_timeout_a_shutdown_waits_for_the_peers_close() {
    let config = config()
        .close_timeout(None)
        .stall_timeout(Duration::from_millis(100));
    let server = Running::start(config, || ws_mio::Echo);
    let mut stream = common::raw_upgrade(server.addr, "/");
    server.shutdown_handle().shutdown();
    let close = read_frame(&mut stream).expect("the 1001");
    assert_eq!((close.opcode, close.close_code()), (0x8, 1001));
    // Longer than stall_timeout plus the 500 ms close timeout of
    // `config()`.
    thread::sleep(Duration::from_millis(800));
    assert!(!server.is_finished(), "the loop gave up on the peer");
    stream
        .write_all(&common::client_frame(
            OpCode::Close,
            true,
            &1001u16.to_be_bytes(),
        ))
        .unwrap();
    assert!(common::wait_until(IO_TIMEOUT, || server.is_finished()));
    server.stop_ok();
}
