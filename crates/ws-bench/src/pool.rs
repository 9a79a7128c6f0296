//! The event loop: many benchmark connections on one `mio` poll,
//! edge-triggered, one thread. Connects are started a bounded number at a
//! time; each connection keeps at most K messages outstanding, so nothing
//! grows without bound whatever the server's speed.

use std::io;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use mio::{Events, Interest, Poll, Token};
use ws_proto::mask::{os_mask, MaskSource, OsMask};
use ws_proto::{Frame, MessageKind};

use crate::conn::{BenchConn, ConnError, Phase, Status};
use crate::net::{self, SourcePlan, Target};
use crate::upgrade::ClientUpgrade;

/// Largest latency the histogram tells apart, in nanoseconds (60 s);
/// longer ones are recorded as 60 s.
pub const LATENCY_MAX_NS: u64 = 60_000_000_000;
/// Significant decimal digits the histogram keeps (0.1 % precision).
const LATENCY_SIGFIG: u8 = 3;

/// An empty latency histogram in nanoseconds, 1 ns to
/// [`LATENCY_MAX_NS`] at 3 significant digits: about 200 KiB of counters,
/// fixed, whatever the length of the run.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_NS, LATENCY_SIGFIG)
        .expect("constant bounds are valid")
}

/// Events taken from the poll per turn.
const EVENTS: usize = 1024;
/// Size of the read buffer shared by all connections.
const READ_BUFFER: usize = 64 * 1024;
/// Longest sleep in the poll, so that deadlines are noticed.
const TICK: Duration = Duration::from_millis(50);
/// Upper bound on poll turns in any one wait (besides its deadline).
const MAX_TURNS: u64 = 100_000_000;
/// Errors printed as they happen; later ones are only counted.
const PRINTED_ERRORS: u64 = 5;

/// What a [`Pool`] is set up with.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// The server.
    pub target: Target,
    /// The payload of every message (unmasked); empty for idle connections.
    pub payload: Vec<u8>,
    /// Text or binary messages.
    pub kind: MessageKind,
    /// Messages in flight per connection; 0 for idle connections.
    pub in_flight: usize,
    /// Source addresses.
    pub sources: SourcePlan,
    /// Raw TCP: no opening handshake; the frame bytes are sent as soon as
    /// the connection is up and echoes are counted in frame-length bytes
    /// (for a plain TCP echo server, the physical limit).
    pub raw: bool,
}

/// State the connections share: what to send, counters, the histogram.
pub(crate) struct Shared {
    pub(crate) payload: Vec<u8>,
    pub(crate) kind: MessageKind,
    pub(crate) in_flight: usize,
    /// New messages are sent as echoes come back.
    pub(crate) sending: bool,
    /// Latencies go into the histogram.
    pub(crate) recording: bool,
    pub(crate) hist: Histogram<u64>,
    pub(crate) echoes: u64,
    pub(crate) echoed_bytes: u64,
    /// Connections whose handshake completed.
    pub(crate) opened: usize,
}

impl Shared {
    pub(crate) fn on_echo(&mut self, latency: Duration, bytes: usize) {
        self.echoes += 1;
        self.echoed_bytes += bytes as u64;
        if self.recording {
            let ns = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
            self.hist.saturating_record(ns);
        }
    }
}

/// Counts of what went wrong, and how connections ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connects attempted.
    pub launched: usize,
    /// Connections given up before or while open: refused, failed
    /// handshakes, timeouts, protocol errors, closes by the server,
    /// mismatched echoes.
    pub errors: u64,
    /// Of those, echoes that did not match what was sent.
    pub mismatches: u64,
    /// Of those, failures before the handshake completed.
    pub setup_failures: u64,
    /// Of those, connects or handshakes still unfinished at the deadline.
    pub timed_out: u64,
    /// Of those, connects refused here for lack of file descriptors.
    pub out_of_files: u64,
    /// Connections not attempted because the deadline passed or this
    /// process ran out of file descriptors.
    pub not_attempted: usize,
    /// Close handshakes completed.
    pub closed_cleanly: u64,
    /// Connections that failed while closing, or whose close was not
    /// answered in time.
    pub close_problems: u64,
}

/// Many connections to one server on one `mio` poll.
pub struct Pool {
    poll: Poll,
    events: Option<Events>,
    conns: Vec<Option<BenchConn>>,
    rbuf: Vec<u8>,
    shared: Shared,
    again: Vec<usize>,
    target: Target,
    sources: SourcePlan,
    keys: OsMask,
    /// Raw TCP mode (see [`PoolConfig::raw`]).
    raw: bool,
    /// Connections connecting or upgrading.
    pending: usize,
    /// Connections present in `conns`.
    live: usize,
    stats: PoolStats,
    /// Errors reported so far.
    reported: u64,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("target", &self.target.url)
            .field("live", &self.live)
            .field("pending", &self.pending)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// A pool with no connection yet.
    pub fn new(config: PoolConfig) -> io::Result<Pool> {
        Ok(Pool {
            poll: Poll::new()?,
            events: Some(Events::with_capacity(EVENTS)),
            conns: Vec::new(),
            rbuf: vec![0; READ_BUFFER],
            shared: Shared {
                payload: config.payload,
                kind: config.kind,
                in_flight: config.in_flight,
                sending: false,
                recording: false,
                hist: latency_histogram(),
                echoes: 0,
                echoed_bytes: 0,
                opened: 0,
            },
            again: Vec::new(),
            target: config.target,
            sources: config.sources,
            keys: os_mask(),
            raw: config.raw,
            pending: 0,
            live: 0,
            stats: PoolStats::default(),
            reported: 0,
        })
    }

    /// Open `n` connections, at most `concurrency` connecting or upgrading
    /// at a time, and wait until each is open or failed, or `timeout` has
    /// passed (the rest then count as timed out). Returns the time taken.
    pub fn connect(
        &mut self,
        n: usize,
        concurrency: usize,
        timeout: Duration,
    ) -> io::Result<Duration> {
        let start = Instant::now();
        let deadline = start + timeout;
        let mut launching = true;
        for _ in 0..MAX_TURNS {
            while launching && self.stats.launched < n && self.pending < concurrency.max(1) {
                launching = self.launch();
            }
            if (!launching || self.stats.launched >= n) && self.pending == 0 {
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            self.turn((deadline - now).min(TICK))?;
        }
        for idx in 0..self.conns.len() {
            let pending = self.conns[idx]
                .as_ref()
                .is_some_and(|c| matches!(c.phase(), Phase::Connecting | Phase::Upgrading));
            if pending {
                self.stats.timed_out += 1;
                let message = format!("no handshake within {:.1} s", timeout.as_secs_f64());
                self.fail(idx, ConnError::other(message));
            }
        }
        self.stats.not_attempted = n - self.stats.launched;
        Ok(start.elapsed())
    }

    /// Start one connect; false if this process is out of file descriptors.
    fn launch(&mut self) -> bool {
        let idx = self.conns.len();
        self.stats.launched += 1;
        let source = self.sources.source_for(idx);
        let started = net::connect(self.target.addr, source).and_then(|mut stream| {
            let interest = Interest::READABLE | Interest::WRITABLE;
            self.poll
                .registry()
                .register(&mut stream, Token(idx), interest)?;
            Ok(stream)
        });
        let upgrade = if self.raw {
            Ok(None)
        } else {
            ClientUpgrade::new(self.target.host_header, self.target.path).map(Some)
        };
        match (started, upgrade) {
            (Ok(stream), Ok(upgrade)) => {
                let frame = self.build_frame();
                self.conns
                    .push(Some(BenchConn::new(stream, upgrade, frame)));
                self.pending += 1;
                self.live += 1;
                true
            }
            (Err(err), _) => {
                self.conns.push(None);
                let out_of_files = net::is_out_of_files(&err);
                self.stats.errors += 1;
                self.stats.setup_failures += 1;
                if out_of_files {
                    self.stats.out_of_files += 1;
                }
                let from = source.map(|ip| format!(" from {ip}")).unwrap_or_default();
                self.report_error(format!("connection {idx}: connect{from}: {err}"));
                !out_of_files
            }
            (Ok(_), Err(err)) => {
                self.conns.push(None);
                self.stats.errors += 1;
                self.stats.setup_failures += 1;
                self.report_error(format!("connection {idx}: upgrade request: {err}"));
                false
            }
        }
    }

    /// The masked frame a new connection sends, with its own key; empty
    /// for idle connections.
    fn build_frame(&mut self) -> Box<[u8]> {
        if self.shared.in_flight == 0 {
            return Box::new([]);
        }
        let frame = Frame::new(self.shared.kind.opcode(), &self.shared.payload);
        let mut out = vec![0u8; frame.encoded_len(true)];
        let key = self.keys.next_key();
        let len = frame.encode(&mut out, Some(key)).unwrap_or(out.len());
        out.truncate(len);
        out.into_boxed_slice()
    }

    /// Wait up to `max_wait` for readiness and handle what is ready.
    pub fn turn(&mut self, max_wait: Duration) -> io::Result<()> {
        let mut events = self
            .events
            .take()
            .unwrap_or_else(|| Events::with_capacity(EVENTS));
        let wait = if self.again.is_empty() {
            max_wait
        } else {
            Duration::ZERO
        };
        if let Err(err) = self.poll.poll(&mut events, Some(wait)) {
            self.events = Some(events);
            return match err.kind() {
                io::ErrorKind::Interrupted => Ok(()),
                _ => Err(err),
            };
        }
        for idx in std::mem::take(&mut self.again) {
            self.dispatch(idx, true, false, false);
        }
        for event in events.iter() {
            let ended = net::end_signalled(event);
            let readable = event.is_readable() || ended;
            let writable = event.is_writable() || event.is_write_closed() || event.is_error();
            self.dispatch(event.token().0, readable, writable, ended);
        }
        self.events = Some(events);
        Ok(())
    }

    /// Serve connection `idx`; `ended`: its event said end of stream or
    /// error, so it reads to the end from now on.
    fn dispatch(&mut self, idx: usize, readable: bool, writable: bool, ended: bool) {
        let Some(conn) = self.conns.get_mut(idx).and_then(Option::as_mut) else {
            return;
        };
        if ended {
            conn.end_signalled();
        }
        let was_pending = matches!(conn.phase(), Phase::Connecting | Phase::Upgrading);
        let result = conn.on_event(readable, writable, &mut self.rbuf, &mut self.shared);
        if was_pending && !matches!(conn.phase(), Phase::Connecting | Phase::Upgrading) {
            self.pending -= 1;
        }
        match result {
            Ok(Status::Idle) => {}
            Ok(Status::ReadAgain) => self.again.push(idx),
            Ok(Status::Finished) => self.remove(idx),
            Err(err) => self.fail(idx, err),
        }
    }

    /// Take a connection out of the loop (its socket closes when dropped)
    /// and return the phase it was in.
    fn discard(&mut self, idx: usize) -> Option<Phase> {
        let mut conn = self.conns[idx].take()?;
        let _ = self.poll.registry().deregister(&mut conn.stream);
        self.live -= 1;
        let phase = conn.phase();
        if matches!(phase, Phase::Connecting | Phase::Upgrading) {
            self.pending -= 1;
        }
        Some(phase)
    }

    /// Drop a connection that ended as it should.
    fn remove(&mut self, idx: usize) {
        if self.discard(idx) == Some(Phase::Closing) {
            self.stats.closed_cleanly += 1;
        }
    }

    /// Give a connection up and count why.
    fn fail(&mut self, idx: usize, err: ConnError) {
        match self.discard(idx) {
            None => return,
            Some(Phase::Closing) => {
                self.stats.close_problems += 1;
                return;
            }
            Some(Phase::Connecting | Phase::Upgrading) => self.stats.setup_failures += 1,
            Some(Phase::Open) => {}
        }
        self.stats.errors += 1;
        if err.mismatch {
            self.stats.mismatches += 1;
        }
        if err.os_error.as_ref().is_some_and(net::is_out_of_files) {
            self.stats.out_of_files += 1;
        }
        self.report_error(format!("connection {idx}: {}", err.message));
    }

    fn report_error(&mut self, message: String) {
        self.reported += 1;
        if self.reported <= PRINTED_ERRORS {
            eprintln!("ws-bench: {message}");
        } else if self.reported == PRINTED_ERRORS + 1 {
            eprintln!("ws-bench: further errors are counted, not printed");
        }
    }

    /// Run the loop until `deadline`, or until no connection is left.
    pub fn run_until(&mut self, deadline: Instant) -> io::Result<()> {
        self.run_while(deadline, |_| true)
    }

    /// Run the loop until `deadline`, or while `keep_going` holds and some
    /// connection is left.
    pub fn run_while(
        &mut self,
        deadline: Instant,
        keep_going: impl Fn(&Pool) -> bool,
    ) -> io::Result<()> {
        for _ in 0..MAX_TURNS {
            let now = Instant::now();
            if now >= deadline || self.live == 0 || !keep_going(self) {
                break;
            }
            self.turn((deadline - now).min(TICK))?;
        }
        Ok(())
    }

    /// Start the load: every open connection gets K messages in flight,
    /// and each echo sends the next.
    pub fn start_sending(&mut self) {
        self.shared.sending = true;
        let now = Instant::now();
        for idx in 0..self.conns.len() {
            let Some(conn) = self.conns[idx].as_mut() else {
                continue;
            };
            conn.top_up(now, &self.shared);
            if let Err(err) = conn.flush() {
                self.fail(idx, err);
            }
        }
    }

    /// Stop sending new messages; those in flight still come back.
    pub fn stop_sending(&mut self) {
        self.shared.sending = false;
    }

    /// Record latencies into the histogram (or stop).
    pub fn set_recording(&mut self, on: bool) {
        self.shared.recording = on;
    }

    /// Close every connection (close frames, then the sockets once the
    /// server answered) and wait up to `timeout`; the rest are dropped.
    pub fn close_all(&mut self, timeout: Duration) -> io::Result<()> {
        self.shared.sending = false;
        for idx in 0..self.conns.len() {
            let Some(conn) = self.conns[idx].as_mut() else {
                continue;
            };
            match conn.begin_close() {
                Ok(Status::Finished) => self.remove(idx),
                Ok(_) => {}
                Err(err) => self.fail(idx, err),
            }
        }
        self.run_until(Instant::now() + timeout)?;
        for idx in 0..self.conns.len() {
            if self.discard(idx).is_some() {
                self.stats.close_problems += 1;
            }
        }
        Ok(())
    }

    /// Connections whose handshake completed, ever.
    pub fn established(&self) -> usize {
        self.shared.opened
    }

    /// Connections open now.
    pub fn open_now(&self) -> usize {
        self.conns
            .iter()
            .flatten()
            .filter(|c| c.phase() == Phase::Open)
            .count()
    }

    /// Messages sent whose echo has not come back, over all connections.
    pub fn outstanding(&self) -> usize {
        self.conns
            .iter()
            .flatten()
            .map(BenchConn::outstanding)
            .sum()
    }

    /// Echoes received so far.
    pub fn echoes(&self) -> u64 {
        self.shared.echoes
    }

    /// Payload bytes echoed so far.
    pub fn echoed_bytes(&self) -> u64 {
        self.shared.echoed_bytes
    }

    /// Latencies recorded while recording was on, in nanoseconds.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.shared.hist
    }

    /// What went wrong so far.
    pub fn stats(&self) -> &PoolStats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A server that echoes and closes at once is seen to close: the echo
    /// and the end of stream are both queued before the client polls, so
    /// one event says readable and read-closed, and only that event makes
    /// the client read on after the short read of the echo (no new edge
    /// comes for the end).
    #[test]
    fn sees_the_close_that_came_with_the_echo() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut pool = Pool::new(PoolConfig {
            target: Target::from_url(&format!("ws://{addr}/")).unwrap(),
            payload: vec![7; 100],
            kind: MessageKind::Binary,
            in_flight: 1,
            sources: SourcePlan::new(1, addr, 28_232).unwrap(),
            raw: true,
        })
        .unwrap();
        pool.connect(1, 1, Duration::from_secs(5)).unwrap();
        assert_eq!(pool.established(), 1);
        let (mut server, _) = listener.accept().unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        // One frame goes out; its echo sends no other (the server would
        // answer that with a reset, which raises an event of its own).
        pool.start_sending();
        pool.stop_sending();
        let mut frame = [0u8; 2 + 4 + 100];
        server.read_exact(&mut frame).unwrap();
        server.write_all(&frame).unwrap();
        drop(server);
        let start = Instant::now();
        pool.run_until(start + Duration::from_secs(5)).unwrap();
        assert!(start.elapsed() < Duration::from_secs(4), "close not seen");
        assert_eq!(pool.echoes(), 1);
        assert_eq!(pool.stats().errors, 1, "{:?}", pool.stats());
        assert_eq!(pool.open_now(), 0);
    }

    /// The histogram's percentiles are those of the exact nearest-rank
    /// definition within its 3 significant digits, on a skewed sample
    /// (mostly ~50 µs, a tail to ~20 ms).
    #[test]
    fn latency_histogram_matches_exact_percentiles_within_precision() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut values = Vec::new();
        let mut h = latency_histogram();
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let v = if state.is_multiple_of(100) {
                1_000_000 + state % 19_000_000
            } else {
                40_000 + state % 20_000
            };
            values.push(v);
            h.record(v).unwrap();
        }
        values.sort_unstable();
        for p in [1.0, 50.0, 90.0, 99.0, 99.9, 100.0] {
            let rank = ((p / 100.0 * values.len() as f64).ceil() as usize).max(1);
            let exact = values[rank - 1] as f64;
            let approx = h.value_at_percentile(p) as f64;
            assert!(
                (approx - exact).abs() <= exact / 1000.0,
                "p{p}: {approx} vs {exact}"
            );
        }
        let max = *values.last().unwrap() as f64;
        assert!((h.max() as f64 - max).abs() <= max / 1000.0);
        assert_eq!(h.len(), 20_000);
    }

    /// Small values are exact; an absurd latency is kept as the 60 s
    /// bound, and memory stays bounded.
    #[test]
    fn latency_histogram_small_huge_and_bounded() {
        let mut h = latency_histogram();
        assert!(h.is_empty());
        for v in 0..100u64 {
            h.record(v).unwrap();
        }
        assert_eq!(h.value_at_percentile(50.0), 49);
        assert_eq!(h.value_at_percentile(99.0), 98);
        assert_eq!(h.max(), 99);
        h.saturating_record(u64::MAX);
        assert_eq!(h.max(), h.highest_equivalent(LATENCY_MAX_NS));
        assert!(h.distinct_values() * 8 < 256 * 1024);
    }
}
