//! Deadlines: the connections' (opening handshake, idle ping and pong,
//! close, stall, idle compressor) and the handler's
//! (`Context::set_timer`), in one min-heap.
//!
//! Why a heap with lazy invalidation rather than a timing wheel: the
//! deadlines span milliseconds (a handler's timer) to minutes (the idle
//! ping), and a heap orders them exactly with no tick to choose, in
//! O(log n) per deadline armed. Most deadlines only ever move *later*
//! (every byte received pushes the idle ping back), so a connection's
//! entry is left where it is when that happens: it comes due early, the
//! connection is looked at once, and its entry is pushed again for the
//! deadline it has then. Only a deadline that moves *earlier* (a close
//! sent, bytes left unwritten) pushes a new entry, and the old one turns
//! stale: it is recognised by the connection's `armed` stamp, which no
//! longer matches, and dropped when it surfaces. Stale entries are
//! bounded: once they outnumber the live ones twice over the heap is
//! rebuilt from the live ones. So an idle loop wakes only for the
//! earliest deadline, and a turn touches only the connections that are
//! due.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use slab::Slab;
use ws_proto::timer::{TimerConfig, TimerEvent};
use ws_proto::{CloseCode, OpCode};

use super::{Core, Event};
use crate::conn::{Conn, Phase};
use crate::error::Error;

/// Stale entries tolerated before the heap is rebuilt, beyond twice the
/// live ones (so a small heap is not rebuilt all the time).
const STALE_SLACK: usize = 64;

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Target {
    /// The connection at `index`, if it still has this `generation`.
    Conn { index: usize, generation: u32 },
    /// The handler's timer with this token.
    Handler(u64),
}

/// One deadline in the heap: due at `at`; `seq` orders those due at once
/// (in the order they were set) and stamps the entry, so that a
/// connection can tell its current entry from stale ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry {
    pub(crate) at: Instant,
    pub(crate) seq: u64,
    pub(crate) target: Target,
}

/// A min-heap of deadlines with lazy invalidation (see the module docs).
/// It counts its live entries; its owner says when one stops being live.
#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    heap: BinaryHeap<Reverse<Entry>>,
    /// Entries pushed so far (the next `seq`).
    pushed: u64,
    /// Entries in the heap that are not stale.
    live: usize,
}

impl Deadlines {
    /// Add a live deadline; returns its entry.
    pub(crate) fn push(&mut self, at: Instant, target: Target) -> Entry {
        self.pushed += 1;
        let entry = Entry {
            at,
            seq: self.pushed,
            target,
        };
        self.heap.push(Reverse(entry));
        self.live += 1;
        entry
    }

    /// One live entry went stale (superseded, or its connection gone):
    /// it stays in the heap until it surfaces or the heap is rebuilt.
    pub(crate) fn retire(&mut self) {
        self.live = self.live.saturating_sub(1);
    }

    /// The earliest entry, live or stale.
    pub(crate) fn peek(&self) -> Option<Entry> {
        self.heap.peek().map(|Reverse(entry)| *entry)
    }

    /// Take the earliest entry (the caller knows whether it was live).
    pub(crate) fn pop(&mut self) -> Option<Entry> {
        self.heap.pop().map(|Reverse(entry)| entry)
    }

    /// The `seq` of the last entry pushed: entries pushed after it (while
    /// handling those due) wait for the next round.
    pub(crate) fn last_seq(&self) -> u64 {
        self.pushed
    }

    /// Entries held, live and stale.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Rebuild the heap from the entries `is_live` keeps, if stale ones
    /// outnumber the live ones twice over: memory stays proportional to
    /// the live deadlines however often they are re-armed.
    pub(crate) fn compact(&mut self, mut is_live: impl FnMut(&Entry) -> bool) {
        if self.heap.len() <= 2 * self.live + STALE_SLACK {
            return;
        }
        self.heap.retain(|Reverse(entry)| is_live(entry));
        self.live = self.heap.len();
    }
}

/// A connection timer that ran out.
#[derive(Debug, Clone, Copy)]
enum Timer {
    Ping,
    /// The peer is to be closed with 1001: the error the handler hears
    /// and the close reason.
    GoAway(&'static str, &'static str),
    Expired(&'static str),
}

impl<D> Core<D> {
    /// Have the handler's `on_timer` called with `token` once `after`
    /// has passed.
    pub(crate) fn set_timer(&mut self, after: Duration, token: u64) {
        let due = Instant::now() + after;
        self.deadlines.push(due, Target::Handler(token));
        self.compact_deadlines();
    }

    /// Whether `entry` is current (see [`is_current`]).
    fn is_live(&self, entry: &Entry) -> bool {
        is_current(&self.conns, entry)
    }

    fn compact_deadlines(&mut self) {
        let conns = &self.conns;
        self.deadlines.compact(|entry| is_current(conns, entry));
    }

    /// The earliest live deadline (stale entries on top are dropped): how
    /// long the loop may sleep.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(entry) = self.deadlines.peek() {
            if self.is_live(&entry) {
                return Some(entry.at);
            }
            self.deadlines.pop();
        }
        None
    }

    /// Make sure the connection's earliest deadline is in the heap: push
    /// it unless an entry at or before it is there already (which re-arms
    /// when it comes).
    pub(crate) fn arm(&mut self, index: usize) {
        let conn = &self.conns[index];
        let Some(at) = self.deadline_of(conn) else {
            return;
        };
        if conn.armed.is_some_and(|(armed, _)| armed <= at) {
            return;
        }
        if conn.armed.is_some() {
            self.deadlines.retire();
        }
        let generation = conn.generation;
        let entry = self.deadlines.push(at, Target::Conn { index, generation });
        self.conns[index].armed = Some((entry.at, entry.seq));
        self.compact_deadlines();
    }

    /// The earliest deadline of `conn`, if it has one.
    fn deadline_of(&self, conn: &Conn<D>) -> Option<Instant> {
        // The idle ping and pong run only while the connection is open
        // both ways (see `due_timer`).
        let proto = if conn.timers.is_open() && !conn.is_open() {
            None
        } else {
            let at = conn.timers.poll_timeout(&self.config.session.timers);
            at.and_then(|at| self.origin.checked_add(at))
        };
        let stall = (conn.queued() > 0).then(|| conn.last_write + self.stall_timeout());
        let release = self.compressor_deadline(conn);
        [proto, stall, release].into_iter().flatten().min()
    }

    /// When a connection quiet both ways gives back the zlib state no
    /// context needs: only once per quiet spell, and only with
    /// permessage-deflate.
    fn compressor_deadline(&self, conn: &Conn<D>) -> Option<Instant> {
        conn.messages.compression()?;
        let quiet_since = conn.last_read.max(conn.last_write);
        if conn.released_quiet == Some(quiet_since) {
            return None;
        }
        Some(quiet_since + self.config.release_compressor_after)
    }

    /// How long a queue may make no progress. While shutting down, a
    /// connection still writing its queue (the 1001 behind it) goes once
    /// it makes no progress for the close timeout, if that is shorter.
    fn stall_timeout(&self) -> Duration {
        match self.config.session.timers.close {
            Some(close) if self.shutting_down => self.config.stall_timeout.min(close),
            _ => self.config.stall_timeout,
        }
    }

    /// Handle every deadline due at `now`, earliest first: due handler
    /// timers are queued as events, due connections are looked at. What
    /// is armed meanwhile waits for a later round, so a timer of zero
    /// cannot starve the loop.
    pub(crate) fn run_timers(&mut self, now: Instant) {
        let last = self.deadlines.last_seq();
        while let Some(entry) = self.deadlines.peek() {
            if entry.at > now || entry.seq > last {
                break;
            }
            self.deadlines.pop();
            if !self.is_live(&entry) {
                continue;
            }
            self.deadlines.retire();
            match entry.target {
                Target::Handler(token) => self.events.push_back(Event::Timer { token }),
                Target::Conn { index, .. } => {
                    self.conns[index].armed = None;
                    self.visit(index, now);
                }
            }
        }
    }

    /// A connection's armed deadline came: do what is due, and arm the
    /// next one.
    fn visit(&mut self, index: usize, now: Instant) {
        #[cfg(test)]
        {
            self.visits += 1;
        }
        let quiet_since = {
            let conn = &self.conns[index];
            conn.last_read.max(conn.last_write)
        };
        if now.duration_since(quiet_since) >= self.config.release_compressor_after {
            // Quiet both ways: give back zlib state that no context needs
            // (made again on the next message).
            let conn = &mut self.conns[index];
            conn.messages.release_idle();
            conn.released_quiet = Some(quiet_since);
        }
        let (stall, clock) = (self.stall_timeout(), self.clock(now));
        let id = self.id_of(index);
        let timers = &self.config.session.timers;
        match due_timer(&mut self.conns[index], timers, stall, now, clock) {
            Some(Timer::Ping) => {
                let _ = self.send_frame(id, OpCode::Ping, b"");
            }
            Some(Timer::GoAway(what, reason)) => {
                let error = Error::Timeout(what);
                self.events.push_back(Event::Error { id, error });
                if self
                    .start_close(index, CloseCode::GOING_AWAY, reason)
                    .is_err()
                {
                    return self.remove(index);
                }
            }
            Some(Timer::Expired(what)) => {
                if self.conns[index].opened {
                    let error = Error::Timeout(what);
                    self.events.push_back(Event::Error { id, error });
                } else {
                    // A client whose server never answered (or whose
                    // connect never completed) in `handshake_timeout`.
                    self.report_failed_connect(index, Error::Timeout(what));
                }
                return self.remove(index);
            }
            None => {}
        }
        self.arm(index);
    }
}

/// Whether `entry` is current: a handler timer, or the entry its
/// connection is armed with (not one it was re-armed from, nor one of a
/// connection since removed, whose slot may hold another).
fn is_current<D>(conns: &Slab<Conn<D>>, entry: &Entry) -> bool {
    match entry.target {
        Target::Handler(_) => true,
        Target::Conn { index, generation } => conns.get(index).is_some_and(|conn| {
            conn.generation == generation && conn.armed == Some((entry.at, entry.seq))
        }),
    }
}

/// The timer of `conn` due at `now` (`clock` on the timers' time), if any:
/// its handshake or close deadline, the stall timeout, then its idle ping
/// and pong deadline, which run only while it is open. Firing the idle
/// ping marks the ping sent.
fn due_timer<D>(
    conn: &mut Conn<D>,
    timers: &TimerConfig,
    stall: Duration,
    now: Instant,
    clock: Duration,
) -> Option<Timer> {
    let keepalive = conn.timers.is_open();
    if !keepalive && conn.timers.handle_timeout(timers, clock).is_some() {
        return Some(Timer::Expired(match conn.phase {
            Phase::Open => "close handshake",
            Phase::Refused => "writing the refusal",
            _ => "opening handshake",
        }));
    }
    if conn.queued() > 0 && now.duration_since(conn.last_write) >= stall {
        return Some(Timer::Expired("the peer does not read"));
    }
    if !keepalive || !conn.is_open() {
        return None;
    }
    match conn.timers.handle_timeout(timers, clock)? {
        TimerEvent::SendPing => Some(Timer::Ping),
        TimerEvent::PeerSilent => Some(Timer::GoAway("no answer to an idle ping", "idle timeout")),
        TimerEvent::MessageTimedOut => Some(Timer::GoAway(
            "no message within the message timeout",
            "message timeout",
        )),
        // The other two end phases that are not open.
        _ => None,
    }
}

#[cfg(test)]
mod tests;
