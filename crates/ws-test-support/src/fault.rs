//! Fault injection for byte streams: [`FaultyStream`] wraps any
//! `Read + Write` and, driven by a [`FaultPlan`] (a seed and rates, which
//! a proptest can generate), makes reads and writes short and fails some
//! of them with `WouldBlock` or `Interrupted`, as a real socket may. The
//! in-memory [`duplex`] pipe gives two threads a connection to run it
//! over without a socket.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The message of every error a [`FaultyStream`] makes up.
pub const INJECTED: &str = "injected by FaultyStream";

/// Whether `err` was made up by a [`FaultyStream`] (rather than returned
/// by the stream it wraps).
pub fn is_injected(err: &io::Error) -> bool {
    err.get_ref()
        .is_some_and(|inner| inner.to_string() == INJECTED)
}

/// What a [`FaultyStream`] does to the calls it passes on. Every choice
/// comes from a generator seeded with `seed`, so one plan over the same
/// sequence of calls fails the same calls the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultPlan {
    /// The seed of the generator.
    pub seed: u64,
    /// The most bytes one read passes on: each read takes between 1 and
    /// this many (and at most what the caller asked for), at random; 0
    /// passes every read on whole.
    pub max_read: usize,
    /// The most bytes one write passes on, likewise (0: whole).
    pub max_write: usize,
    /// One call in this many (reads and writes) fails with `Interrupted`
    /// before it reaches the stream; 0 for never.
    pub interrupted_one_in: u32,
    /// One call in this many fails with `WouldBlock` before it reaches the
    /// stream, where that is switched on (see
    /// [`FaultyStream::set_would_block`]); 0 for never.
    pub would_block_one_in: u32,
}

impl FaultPlan {
    /// A plan that passes every call on whole: a perfect stream.
    pub fn none() -> FaultPlan {
        FaultPlan {
            seed: 0,
            max_read: 0,
            max_write: 0,
            interrupted_one_in: 0,
            would_block_one_in: 0,
        }
    }
}

/// How many faults a [`FaultyStream`] has injected so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Injected {
    /// Reads cut shorter than the caller's buffer.
    pub short_reads: u64,
    /// Writes cut shorter than the caller's buffer.
    pub short_writes: u64,
    /// Calls failed with `Interrupted`.
    pub interrupted: u64,
    /// Calls failed with `WouldBlock`.
    pub would_block: u64,
}

/// A `Read + Write` wrapper that injects the faults of a [`FaultPlan`]:
/// short reads and writes, `Interrupted`, and `WouldBlock` (off until
/// [`set_would_block`](Self::set_would_block) turns it on for reads,
/// writes or both, since a blocking stream that returns it is timing out).
/// Flushes are passed on untouched.
#[derive(Debug)]
pub struct FaultyStream<S> {
    inner: S,
    plan: FaultPlan,
    state: u64,
    would_block_reads: bool,
    would_block_writes: bool,
    injected: Injected,
}

impl<S> FaultyStream<S> {
    /// Wrap `inner`, with `WouldBlock` off.
    pub fn new(inner: S, plan: FaultPlan) -> FaultyStream<S> {
        FaultyStream {
            inner,
            plan,
            state: plan.seed,
            would_block_reads: false,
            would_block_writes: false,
            injected: Injected::default(),
        }
    }

    /// Let the plan's `WouldBlock` faults hit reads, writes, or both.
    pub fn set_would_block(&mut self, reads: bool, writes: bool) {
        self.would_block_reads = reads;
        self.would_block_writes = writes;
    }

    /// The faults injected so far.
    pub fn injected(&self) -> Injected {
        self.injected
    }

    /// The plan.
    pub fn plan(&self) -> FaultPlan {
        self.plan
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped stream, mutably (for its settings: reading or writing
    /// it directly bypasses the faults).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped stream back.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The next number of the generator (SplitMix64).
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// True one time in `one_in` (never for 0).
    fn one_in(&mut self, one_in: u32) -> bool {
        one_in != 0 && self.next().is_multiple_of(u64::from(one_in))
    }

    /// The fault to inject before a call, if any.
    fn fault(&mut self, would_block: bool) -> Option<io::Error> {
        if self.one_in(self.plan.interrupted_one_in) {
            self.injected.interrupted += 1;
            return Some(io::Error::new(io::ErrorKind::Interrupted, INJECTED));
        }
        if would_block && self.one_in(self.plan.would_block_one_in) {
            self.injected.would_block += 1;
            return Some(io::Error::new(io::ErrorKind::WouldBlock, INJECTED));
        }
        None
    }

    /// How much of `len` bytes one call passes on: 1 to `max` (and at
    /// most `len`), at random; all of it for a `max` of 0.
    fn cut(&mut self, len: usize, max: usize) -> usize {
        if max == 0 || len <= 1 {
            return len;
        }
        let most = max.min(len);
        1 + (self.next() % most as u64) as usize
    }
}

impl<S: Read> Read for FaultyStream<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(err) = self.fault(self.would_block_reads) {
            return Err(err);
        }
        let len = self.cut(buf.len(), self.plan.max_read);
        if len < buf.len() {
            self.injected.short_reads += 1;
        }
        self.inner.read(&mut buf[..len])
    }
}

impl<S: Write> Write for FaultyStream<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(err) = self.fault(self.would_block_writes) {
            return Err(err);
        }
        let len = self.cut(buf.len(), self.plan.max_write);
        if len < buf.len() {
            self.injected.short_writes += 1;
        }
        self.inner.write(&buf[..len])
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The state the two ends of a [`duplex`] pipe share.
#[derive(Debug, Default)]
struct Pipes {
    /// `bytes[i]`: written by end `i`, not yet read by the other.
    bytes: [VecDeque<u8>; 2],
    /// `shut[i]`: end `i` was shut down (or dropped).
    shut: [bool; 2],
}

/// One end of an in-memory duplex pipe made by [`duplex`]. Writes never
/// block (the pipe grows); a read blocks until bytes arrive, the other end
/// is shut down (the end of the stream once the bytes are read), or the
/// read timeout passes (`WouldBlock`, as a socket's does on Unix).
#[derive(Debug)]
pub struct PipeEnd {
    shared: Arc<(Mutex<Pipes>, Condvar)>,
    side: usize,
    read_timeout: Option<Duration>,
}

/// A connected pair of in-memory pipe ends: what one writes the other
/// reads.
pub fn duplex() -> (PipeEnd, PipeEnd) {
    let shared = Arc::new((Mutex::new(Pipes::default()), Condvar::new()));
    let end = |side| PipeEnd {
        shared: Arc::clone(&shared),
        side,
        read_timeout: None,
    };
    (end(0), end(1))
}

impl PipeEnd {
    fn lock(&self) -> MutexGuard<'_, Pipes> {
        self.shared
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Set how long a read waits for bytes (`None`: for ever).
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) {
        self.read_timeout = timeout;
    }

    /// Shut this end down in both directions: its reads and the other
    /// end's (once the bytes already written are read) see the end of the
    /// stream, and writes at either end fail with `BrokenPipe`.
    pub fn shutdown(&mut self) {
        self.lock().shut[self.side] = true;
        self.shared.1.notify_all();
    }
}

impl Read for PipeEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let deadline = self.read_timeout.map(|timeout| Instant::now() + timeout);
        let peer = 1 - self.side;
        let mut pipes = self.lock();
        loop {
            if pipes.shut[self.side] || buf.is_empty() {
                return Ok(0);
            }
            let incoming = &mut pipes.bytes[peer];
            if !incoming.is_empty() {
                let len = buf.len().min(incoming.len());
                for (slot, byte) in buf.iter_mut().zip(incoming.drain(..len)) {
                    *slot = byte;
                }
                return Ok(len);
            }
            if pipes.shut[peer] {
                return Ok(0);
            }
            pipes = match deadline {
                None => self
                    .shared
                    .1
                    .wait(pipes)
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
                Some(deadline) => {
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                        return Err(io::Error::new(
                            io::ErrorKind::WouldBlock,
                            "pipe read timed out",
                        ));
                    };
                    self.shared
                        .1
                        .wait_timeout(pipes, left)
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .0
                }
            };
        }
    }
}

impl Write for PipeEnd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut pipes = self.lock();
        if pipes.shut.contains(&true) {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        pipes.bytes[self.side].extend(buf);
        drop(pipes);
        self.shared.1.notify_all();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for PipeEnd {
    /// A dropped end is shut down, so the other end does not wait for it.
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(seed: u64) -> FaultPlan {
        FaultPlan {
            seed,
            max_read: 7,
            max_write: 5,
            interrupted_one_in: 3,
            would_block_one_in: 4,
        }
    }

    /// Push `data` through a faulty writer and a faulty reader, retrying
    /// every injected error as a caller must; returns what came out and
    /// the two ends' counts.
    fn through(data: &[u8], seed: u64) -> (Vec<u8>, Injected, Injected) {
        let (a, b) = duplex();
        let mut writer = FaultyStream::new(a, plan(seed));
        let mut reader = FaultyStream::new(b, plan(seed + 1));
        writer.set_would_block(false, true);
        reader.set_would_block(true, false);
        let mut rest = data;
        while !rest.is_empty() {
            match writer.write(rest) {
                Ok(n) => {
                    assert!((1..=5).contains(&n), "{n}");
                    rest = &rest[n..];
                }
                Err(err) => assert!(is_injected(&err), "{err}"),
            }
        }
        writer.get_mut().shutdown();
        let mut out = Vec::new();
        let mut chunk = [0u8; 64];
        loop {
            match reader.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    assert!(n <= 7, "{n}");
                    out.extend_from_slice(&chunk[..n]);
                }
                Err(err) => assert!(is_injected(&err), "{err}"),
            }
        }
        (out, writer.injected(), reader.injected())
    }

    #[test]
    fn faults_lose_and_reorder_nothing() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (out, written, read) = through(&data, 42);
        assert_eq!(out, data);
        assert!(written.short_writes > 0 && written.interrupted > 0 && written.would_block > 0);
        assert!(read.short_reads > 0 && read.interrupted > 0 && read.would_block > 0);
    }

    #[test]
    fn one_seed_makes_the_same_faults() {
        let data = vec![1u8; 1000];
        let (_, first_w, first_r) = through(&data, 9);
        let (_, again_w, again_r) = through(&data, 9);
        assert_eq!((first_w, first_r), (again_w, again_r));
    }

    #[test]
    fn no_plan_passes_calls_on_whole() {
        let (a, mut b) = duplex();
        let mut writer = FaultyStream::new(a, FaultPlan::none());
        writer.set_would_block(true, true);
        assert_eq!(writer.write(&[5; 1000]).unwrap(), 1000);
        let mut buf = [0u8; 2000];
        assert_eq!(b.read(&mut buf).unwrap(), 1000);
        assert_eq!(writer.injected(), Injected::default());
    }

    #[test]
    fn a_pipe_read_times_out_and_a_shut_end_reads_the_rest_then_the_end() {
        let (mut a, mut b) = duplex();
        b.set_read_timeout(Some(Duration::from_millis(10)));
        let err = b.read(&mut [0u8; 4]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert!(!is_injected(&err));
        a.write_all(b"abc").unwrap();
        drop(a);
        let mut rest = Vec::new();
        b.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"abc");
        assert_eq!(b.write(b"x").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }
}
