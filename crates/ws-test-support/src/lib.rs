//! Helpers shared by the integration tests of `ws-std`, `ws-mio` and
//! `ws-tests`, kept once here instead of in three `tests/common/mod.rs`
//! files.
//!
//! - [`threads`]: joining a test thread with a deadline, polling for a
//!   condition, running tests one at a time, and reading the threads of
//!   this process from `/proc`.
//! - [`raw`]: a raw TCP client that speaks the opening handshake and
//!   frames by hand, with bounded reads.
//! - [`memory`]: this process's memory figures from `/proc/self/status`,
//!   and a watch that samples them during a test.
//! - [`fault`]: a `Read + Write` wrapper that makes reads and writes short
//!   and fails some of them with `WouldBlock` or `Interrupted`, and an
//!   in-memory duplex pipe to run it over.
//! - [`pki`]: a CA and a server certificate made at test time, in memory
//!   or as PEM files for a peer in another process.
//!
//! It depends on `ws-proto` and std only: a dependency on a transport
//! would link a second copy of that transport into the transport's own
//! integration tests. What starts a `ws-std` or `ws-mio` server stays in
//! each crate's tests.
//!
//! This crate is a dev-dependency only and is not published.

use std::time::Duration;

pub mod fault;
pub mod memory;
pub mod pki;
pub mod raw;
pub mod threads;

pub use fault::{duplex, is_injected, FaultPlan, FaultyStream, Injected, PipeEnd, INJECTED};
pub use memory::{mib, rss_and_size, status_bytes, MemReport, MemWatch};
pub use pki::{PkiFiles, TestPki};
pub use raw::{
    accept_for_request, client_frame, frame, header, is_timeout, masked, one_client_server,
    raw_upgrade, read_close, read_frame, read_http_head, read_http_head_partial, read_until_closed,
    sees_end_of_stream, tcp, upgrade_request, RawFrame,
};
#[cfg(target_os = "linux")]
pub use threads::{context_switches, threads_named};
pub use threads::{join_named, join_within, serial, wait_until};

/// The longest a single blocking read or write of a test client waits.
pub const IO_TIMEOUT: Duration = Duration::from_secs(3);

/// The key of RFC 6455 section 1.3.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The `Sec-WebSocket-Accept` value [`KEY`] must produce (RFC 6455
/// section 1.3).
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The masking key of the raw clients.
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Bytes in a mebibyte, for readable figures.
pub const MIB: u64 = 1 << 20;

/// `len` bytes of a fixed pseudo-random pattern (xorshift; no period that
/// lines up with buffer or frame sizes, and nothing deflate can shrink).
pub fn pattern(len: usize) -> Vec<u8> {
    pattern_seeded(0x9e37_79b9, len)
}

/// [`pattern`] from another (non-zero) seed.
pub fn pattern_seeded(seed: u32, len: usize) -> Vec<u8> {
    let mut state = seed.max(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}
