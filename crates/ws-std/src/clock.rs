//! The clock: the one place ws-std reads the time, as the [`Duration`]
//! since an origin that `ws_proto::timer` takes. Every deadline (the
//! handshake's, the close handshake's, an echo connection's timers, a
//! write's) is a `ws_proto::timer` value on this time; ws-std only reads
//! the clock and sets socket timeouts from what a deadline has left.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Now, as the time since the process first read this clock: monotonic,
/// and the same origin for every connection, so that a deadline taken in
/// one place (the echo loop) can be checked in another (a read).
pub(crate) fn now() -> Duration {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_does_not_go_back() {
        let first = now();
        std::thread::sleep(Duration::from_millis(2));
        assert!(now() >= first + Duration::from_millis(2));
    }
}
