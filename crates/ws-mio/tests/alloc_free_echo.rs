//! Once warm, the loop echoes without allocating: a counting global
//! allocator counts the allocations made on the loop's thread while a
//! ws-std client (on another thread, not counted) has messages echoed.
//!
//! Its own test binary, because the allocator is global. Set
//! `WS_MIO_ALLOC_TRACE=1` to print where the counted allocations happen.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::backtrace::Backtrace;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::thread;
use std::time::Instant;

use common::{client_config, config, join_within, JOIN_TIMEOUT};
use ws_mio::{
    CloseCode, ConnectionId, Context, Echo, Error, EventLoop, Handler, Message, MessageRef,
    Opening, Refusal,
};

/// Counts allocations (and frees) made by threads that turned counting on.
struct CountingAllocator;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static FREES: AtomicUsize = AtomicUsize::new(0);

/// Record a backtrace of every counted allocation (`WS_MIO_ALLOC_TRACE`).
static TRACE: AtomicBool = AtomicBool::new(false);
static TRACES: Mutex<Vec<(&'static str, usize, Backtrace)>> = Mutex::new(Vec::new());

fn counting() -> bool {
    COUNTING.try_with(Cell::get).unwrap_or(false)
}

fn count(counter: &AtomicUsize, what: &'static str, size: usize) {
    counter.fetch_add(1, Ordering::Relaxed);
    if TRACE.load(Ordering::Relaxed) {
        // Not counted: capturing allocates.
        COUNTING.with(|c| c.set(false));
        let backtrace = Backtrace::force_capture();
        TRACES
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((what, size, backtrace));
        COUNTING.with(|c| c.set(true));
    }
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counting() {
            count(&ALLOCATIONS, "alloc", layout.size());
        }
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if counting() {
            count(&ALLOCATIONS, "alloc_zeroed", layout.size());
        }
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counting() {
            count(&ALLOCATIONS, "realloc", new_size);
        }
        // SAFETY: as for `alloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counting() {
            count(&FREES, "free", layout.size());
        }
        // SAFETY: as for `alloc`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Print the traced allocations, grouped by the ws-mio and ws-proto frames
/// of their call stacks.
fn print_traces() {
    let traces = std::mem::take(&mut *TRACES.lock().unwrap_or_else(|p| p.into_inner()));
    let mut sites: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (what, size, backtrace) in traces {
        let text = backtrace.to_string();
        let frames: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|line| {
                let ours = line.contains("ws_mio::") || line.contains("ws_proto::");
                let our_file = line.starts_with("at ") && line.contains("crates/ws-");
                ours || our_file
            })
            .take(12)
            .collect();
        sites
            .entry(format!("{what}\n  {}", frames.join("\n  ")))
            .or_default()
            .push(size);
    }
    for (site, sizes) in sites {
        let shown = &sizes[..sizes.len().min(8)];
        eprintln!("--- {} x, sizes {shown:?}..: {site}", sizes.len());
    }
}

/// What the client asks of the loop's thread at its next message.
static REQUEST: AtomicU8 = AtomicU8::new(IDLE);
const IDLE: u8 = 0;
const START_COUNTING: u8 = 1;
const STOP_COUNTING: u8 = 2;

/// The [`Echo`] handler, turning counting on or off on the loop's thread
/// when the client asks for it, before the message is echoed.
struct CountedEcho;

impl Handler for CountedEcho {
    type Data = ();

    fn on_open(
        &mut self,
        ctx: &mut Context<'_, ()>,
        id: ConnectionId,
        opening: &Opening<'_>,
    ) -> Result<(), Refusal> {
        Echo.on_open(ctx, id, opening)
    }

    fn on_message(&mut self, ctx: &mut Context<'_, ()>, id: ConnectionId, message: MessageRef<'_>) {
        match REQUEST.swap(IDLE, Ordering::SeqCst) {
            START_COUNTING => COUNTING.with(|c| c.set(true)),
            STOP_COUNTING => COUNTING.with(|c| c.set(false)),
            _ => {}
        }
        Echo.on_message(ctx, id, message);
    }

    fn on_close(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, _: CloseCode, _: &str) {
        COUNTING.with(|c| c.set(false));
    }

    fn on_error(&mut self, _: &mut Context<'_, ()>, id: ConnectionId, error: &Error) {
        COUNTING.with(|c| c.set(false));
        panic!("{id}: {error}");
    }
}

/// Ask the loop's thread for `request`; it takes effect at the next
/// message, which this exchange is.
fn switch_counting(client: &mut ws_std::WebSocket<ws_std::MaybeTlsStream>, request: u8) {
    REQUEST.store(request, Ordering::SeqCst);
    echo_one(client, &[request; 64]);
    assert_eq!(REQUEST.load(Ordering::SeqCst), IDLE, "request not seen");
}

fn echo_one(client: &mut ws_std::WebSocket<ws_std::MaybeTlsStream>, payload: &[u8]) {
    client.send_binary(payload).unwrap();
    match client.recv().unwrap() {
        Message::Binary(echo) => assert!(echo == payload, "echo differs"),
        other => panic!("expected binary, got {:?}", other.kind()),
    }
}

/// Echo `count` messages of `len` bytes, `depth` in flight at a time.
fn echo_many(
    client: &mut ws_std::WebSocket<ws_std::MaybeTlsStream>,
    count: usize,
    len: usize,
    depth: usize,
) {
    let mut payloads: Vec<Vec<u8>> = (0..depth).map(|_| vec![0u8; len]).collect();
    let mut sent = 0;
    while sent < count {
        let batch = depth.min(count - sent);
        for (k, payload) in payloads.iter_mut().take(batch).enumerate() {
            let seed = (sent + k) as u32;
            for (i, byte) in payload.iter_mut().enumerate() {
                *byte = (seed.wrapping_mul(2_654_435_761) >> 24) as u8 ^ i as u8;
            }
            client.send_binary(payload).unwrap();
        }
        for payload in payloads.iter().take(batch) {
            match client.recv().unwrap() {
                Message::Binary(echo) => assert!(echo == *payload, "echo {sent} differs"),
                other => panic!("expected binary, got {:?}", other.kind()),
            }
        }
        sent += batch;
    }
}

/// What a measurement counted on the loop's thread.
#[derive(Debug)]
struct Counted {
    small: usize,
    split: usize,
    frees: usize,
}

/// Warm a loop up, then count what it allocates echoing 10,000 64-byte
/// messages one at a time and `split_count` 16 KiB messages `depth` at a
/// time, read 4 KiB at a time.
fn measure(split_count: usize, depth: usize) -> Counted {
    // One loop at a time: the counters are global.
    let _serial = ws_test_support::serial();
    TRACE.store(
        std::env::var_os("WS_MIO_ALLOC_TRACE").is_some(),
        Ordering::SeqCst,
    );
    // The smallest read buffer: a 16 KiB message takes several reads, so
    // it goes through the assembler, and frame starts are cut.
    let config = config().read_buffer_size(4096);
    let (ready, started) = mpsc::channel();
    let serving = thread::spawn(move || {
        let mut event_loop = EventLoop::new(config, CountedEcho)?;
        let addr = event_loop.listen(([127, 0, 0, 1], 0).into())?;
        let _ = ready.send((addr, event_loop.shutdown_handle()));
        let result = event_loop.run();
        COUNTING.with(|c| c.set(false));
        result
    });
    let (addr, shutdown) = started.recv_timeout(JOIN_TIMEOUT).expect("loop started");
    let mut client =
        ws_std::connect_with_config(&format!("ws://{addr}/"), &client_config()).expect("connect");

    // Warm up both paths the way they are measured.
    let started = Instant::now();
    echo_many(&mut client, 1_000, 64, 1);
    echo_many(&mut client, 200, 16 * 1024, depth);

    switch_counting(&mut client, START_COUNTING);
    let allocations = || ALLOCATIONS.load(Ordering::SeqCst);
    let frees = FREES.load(Ordering::SeqCst);
    let before = allocations();
    echo_many(&mut client, 10_000, 64, 1);
    let small = allocations() - before;
    let before = allocations();
    echo_many(&mut client, split_count, 16 * 1024, depth);
    let split = allocations() - before;
    switch_counting(&mut client, STOP_COUNTING);
    let frees = FREES.load(Ordering::SeqCst) - frees;
    let counted = Counted {
        small,
        split,
        frees,
    };
    eprintln!(
        "loop thread: {small} allocations over 10,000 64-byte echoes, {split} over \
         {split_count} 16 KiB echoes ({depth} in flight), {frees} frees; {:?}",
        started.elapsed()
    );
    print_traces();

    client.close().unwrap();
    shutdown.shutdown();
    join_within(serving, JOIN_TIMEOUT).expect("the loop returns Ok");
    counted
}

#[test]
fn a_warm_loop_echoes_small_and_split_messages_without_allocating() {
    let counted = measure(500, 1);
    assert_eq!(counted.small, 0, "allocations echoing 64-byte messages");
    assert_eq!(
        counted.split, 0,
        "allocations echoing split 16 KiB messages"
    );
}

#[test]
fn a_warm_loop_echoes_pipelined_split_messages_without_allocating() {
    let counted = measure(1_000, 8);
    assert_eq!(counted.small, 0, "allocations echoing 64-byte messages");
    assert_eq!(
        (counted.split, counted.frees),
        (0, 0),
        "allocations and frees echoing split 16 KiB messages, 8 in flight"
    );
}
