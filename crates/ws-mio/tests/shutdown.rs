//! A shutdown loses nothing: messages queued before it (up to a full
//! outgoing queue, to a peer that reads slowly) all go out ahead of the
//! 1001 close, even when writing them takes longer than the close timeout.

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{
    config, read_frame, reads_all_then_going_away, shutdown_config, slow_client, Filler, Running,
    IO_TIMEOUT,
};
use ws_proto::OpCode;

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
