//! The deadline heap alone, and the core's use of it: only due
//! connections are looked at.

use std::collections::HashMap;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use mio::Poll;

use super::{Deadlines, Entry, Target, STALE_SLACK};
use crate::config::Config;
use crate::conn::Phase;
use crate::core::Core;
use ws_proto::handshake::Refusal;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn conn(index: usize) -> Target {
    Target::Conn {
        index,
        generation: 1,
    }
}

/// Owners of deadlines as the core keeps them: each key's current stamp.
#[derive(Default)]
struct Armed(HashMap<usize, (Instant, u64)>);

impl Armed {
    /// Arm `index` at `at` if that is earlier than its current entry.
    fn arm(&mut self, heap: &mut Deadlines, index: usize, at: Instant) {
        if let Some(&(armed, _)) = self.0.get(&index) {
            if armed <= at {
                return;
            }
            heap.retire();
        }
        let entry = heap.push(at, conn(index));
        self.0.insert(index, (entry.at, entry.seq));
        let current = &self.0;
        heap.compact(|entry| live(current, entry));
    }

    /// Pop the due live entries, dropping stale ones; returns the keys.
    fn due(&mut self, heap: &mut Deadlines, now: Instant) -> Vec<usize> {
        let mut due = Vec::new();
        while let Some(entry) = heap.peek().filter(|entry| entry.at <= now) {
            heap.pop();
            if live(&self.0, &entry) {
                heap.retire();
                let Target::Conn { index, .. } = entry.target else {
                    continue;
                };
                self.0.remove(&index);
                due.push(index);
            }
        }
        due
    }
}

fn live(armed: &HashMap<usize, (Instant, u64)>, entry: &Entry) -> bool {
    match entry.target {
        Target::Conn { index, .. } => armed.get(&index) == Some(&(entry.at, entry.seq)),
        Target::Handler(_) => true,
    }
}

#[test]
fn deadlines_come_out_earliest_first_and_in_the_order_set_when_equal() {
    let start = Instant::now();
    let mut heap = Deadlines::default();
    heap.push(start + ms(30), Target::Handler(3));
    heap.push(start + ms(10), Target::Handler(1));
    heap.push(start + ms(20), Target::Handler(20));
    heap.push(start + ms(20), Target::Handler(21));
    let order: Vec<Target> = std::iter::from_fn(|| heap.pop().map(|entry| entry.target)).collect();
    assert_eq!(
        order,
        [1, 20, 21, 3].map(Target::Handler),
        "by deadline, then by the order they were set"
    );
}

#[test]
fn a_deadline_moved_earlier_fires_once_at_its_new_time_and_the_old_entry_is_dropped() {
    let start = Instant::now();
    let mut heap = Deadlines::default();
    let mut armed = Armed::default();
    armed.arm(&mut heap, 0, start + ms(100));
    armed.arm(&mut heap, 1, start + ms(50));
    // Moved later: the entry stays (it re-arms when it comes).
    armed.arm(&mut heap, 1, start + ms(80));
    // Moved earlier: a new entry, the old one is stale.
    armed.arm(&mut heap, 0, start + ms(10));
    assert_eq!(heap.len(), 3);
    assert_eq!(armed.due(&mut heap, start + ms(10)), [0]);
    assert_eq!(armed.due(&mut heap, start + ms(60)), [1]);
    // Key 0's old entry at 100 ms surfaces stale and is dropped.
    assert_eq!(armed.due(&mut heap, start + ms(200)), Vec::<usize>::new());
    assert_eq!(heap.len(), 0);
}

#[test]
fn constant_re_arming_keeps_the_heap_bounded_by_the_live_deadlines() {
    let start = Instant::now();
    let mut heap = Deadlines::default();
    let mut armed = Armed::default();
    for index in 0..100 {
        armed.arm(&mut heap, index, start + Duration::from_secs(60));
    }
    // One connection whose deadline keeps moving earlier: every move
    // leaves a stale entry behind.
    for step in 0..100_000u64 {
        let at = start + Duration::from_secs(50) - Duration::from_micros(step);
        armed.arm(&mut heap, 7, at);
        assert!(
            heap.len() <= 2 * 100 + STALE_SLACK + 1,
            "{} entries for 100 live deadlines after {step} re-arms",
            heap.len()
        );
    }
    let due = armed.due(&mut heap, start + Duration::from_secs(61));
    assert_eq!(due.len(), 100, "every live deadline fires once");
    assert_eq!(heap.len(), 0);
}

/// A core and `n` accepted sockets in their handshake. The other ends are
/// reset at once (linger 0: no port left in TIME_WAIT): the core never
/// polls, and the test needs only one descriptor per connection.
fn core_with(n: usize, config: Config) -> (Core<()>, Poll) {
    let poll = Poll::new().unwrap();
    let mut core = Core::new(config, poll.registry().try_clone().unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    for _ in 0..n {
        let client = std::net::TcpStream::connect(addr).unwrap();
        let (socket, _) = listener.accept().unwrap();
        socket2::SockRef::from(&client)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(client);
        socket.set_nonblocking(true).unwrap();
        let phase = Phase::ServerHandshake(Default::default());
        let stream = mio::net::TcpStream::from_std(socket);
        core.insert_accepted(stream, None, phase).unwrap();
    }
    (core, poll)
}

#[test]
fn only_connections_whose_deadline_is_due_are_visited() {
    let config = Config::default()
        .handshake_timeout(Some(Duration::from_secs(60)))
        .close_timeout(Some(ms(20)));
    // Every handshake deadline is 60 s after its connection came, so
    // after `start` however long making 10,000 connections takes.
    let start = Instant::now();
    let (mut core, _poll) = core_with(10_000, config);
    // An idle loop: nothing due, nobody looked at, and it sleeps until
    // the first handshake deadline.
    core.run_timers(Instant::now());
    assert_eq!(core.visits, 0);
    let next = core.next_deadline().expect("handshake deadlines");
    assert!(
        next > start + Duration::from_secs(59),
        "wakes for the handshakes"
    );

    // Three refused requests: their close deadline comes in 20 ms.
    for index in [3, 5_000, 9_999] {
        core.refuse(index, Err(Refusal::new(400)));
    }
    let next = core.next_deadline().expect("the refusals' deadline");
    assert!(next <= Instant::now() + ms(20));
    core.run_timers(next + ms(1));
    assert_eq!(core.visits, 3, "only the three due connections");
    assert_eq!(core.conns.len(), 9_997, "the refusals timed out");
    assert!(core.next_deadline().unwrap() > start + Duration::from_secs(59));
}
