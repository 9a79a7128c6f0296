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
    at(Instant::now())
}

/// `instant` on the same time as [`now`] (zero if it came before the
/// origin): for a moment noted as an `Instant` on a fast path and turned
/// into a deadline only when one is needed.
pub(crate) fn at(instant: Instant) -> Duration {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    instant.saturating_duration_since(*ORIGIN.get_or_init(|| instant))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_does_not_go_back() {
        let first = now();
        std::thread::sleep(Duration::from_millis(2));
        assert!(now() >= first + Duration::from_millis(2));
        assert!(at(Instant::now()) >= first + Duration::from_millis(2));
    }
}
