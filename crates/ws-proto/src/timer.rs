//! The deadlines of a WebSocket endpoint, without a clock.
//!
//! [`Timers`] keeps the deadlines an endpoint watches for, on the time its
//! caller passes in: the opening handshake's, the idle ping, the pong
//! deadline after that ping, an optional limit on the time between
//! messages, and the close handshake's. It never reads a clock, sleeps or
//! allocates, and it is a separate value that a transport holds next to
//! its [`Connection`](crate::Connection) (which does not grow).
//!
//! The shape is that of a sans-IO timer: ask [`Timers::poll_timeout`] when
//! the next deadline is, sleep (or wait for I/O) until then at most, and
//! call [`Timers::handle_timeout`] with the time it is; it says what fired
//! ([`TimerEvent`]) and what to do about it. Between the two, tell it what
//! happened with its hooks: [`on_open`](Timers::on_open),
//! [`on_receive`](Timers::on_receive), [`on_message`](Timers::on_message),
//! [`on_close_sent`](Timers::on_close_sent),
//! [`on_closed`](Timers::on_closed). An event loop with one configuration
//! for many connections keeps a [`TimerState`] per connection instead,
//! which takes the [`TimerConfig`] as an argument.
//! A transport that blocks in one wait at a time (a read with a socket
//! timeout) takes the next deadline as a [`Deadline`]
//! ([`Timers::deadline`]) and sets its socket timeout to what that has
//! [`remaining`](Deadline::remaining).
//!
//! # Time
//! Time is a [`Duration`] since an origin the caller chooses and keeps
//! (the moment its program, or the connection, started), and it should not
//! go backwards: a report of receipt earlier than one already made moves
//! nothing, and a deadline is due only once `now` reaches it. `Duration` is in `core`, so it works without `std` and
//! without an allocator; a `std` caller converts its monotonic `Instant`
//! exactly (`now - origin`) and back (`origin + deadline`), and a device
//! with a tick counter converts its ticks (`Duration::from_millis(ticks)`).
//! A bare integer (milliseconds in a `u64`) would take 8 bytes a time
//! instead of 16, but leave the unit to every caller to get right and
//! round the deadlines a `std` transport turns into socket timeouts.
//!
//! # What the events ask of the caller
//! | event | when | what to do |
//! |---|---|---|
//! | [`HandshakeTimedOut`](TimerEvent::HandshakeTimedOut) | the opening handshake did not end within `handshake` | drop the socket |
//! | [`SendPing`](TimerEvent::SendPing) | nothing arrived for `idle_ping` | send a ping |
//! | [`PeerSilent`](TimerEvent::PeerSilent) | nothing arrived within `pong` of that ping | close with 1001 (going away), then [`on_close_sent`](Timers::on_close_sent) |
//! | [`MessageTimedOut`](TimerEvent::MessageTimedOut) | no message arrived for `message` | close with 1001 (going away), then [`on_close_sent`](Timers::on_close_sent) |
//! | [`CloseTimedOut`](TimerEvent::CloseTimedOut) | the peer's close did not arrive within `close` of ours | drop the socket |
//!
//! A peer that stops answering is closed with 1001 (going away), the code
//! RFC 6455 gives an endpoint that is going away, which is what a server
//! does with a peer it gives up on; [`TimerEvent::close_code`] and
//! [`TimerEvent::reason`] give the code and a reason to send. Once it is
//! sent the close deadline runs: a peer that vanished costs
//! `idle_ping + pong + close` after its last byte.
//!
//! ```
//! use core::time::Duration;
//! use ws_proto::timer::{TimerConfig, TimerEvent, Timers};
//!
//! let secs = Duration::from_secs;
//! // Defaults: idle ping after 60 s, 10 s for the pong, 5 s for a close.
//! let mut timers = Timers::new_open(TimerConfig::default(), secs(0));
//! assert_eq!(timers.poll_timeout(), Some(secs(60)));
//!
//! // Something arrived at 30 s: the ping moves to 90 s.
//! timers.on_receive(secs(30));
//! assert_eq!(timers.handle_timeout(secs(60)), None);
//! assert_eq!(timers.poll_timeout(), Some(secs(90)));
//!
//! // Nothing since: ping at 90 s, give up at 100 s.
//! assert_eq!(timers.handle_timeout(secs(90)), Some(TimerEvent::SendPing));
//! assert_eq!(timers.poll_timeout(), Some(secs(100)));
//! assert_eq!(timers.handle_timeout(secs(100)), Some(TimerEvent::PeerSilent));
//!
//! // We sent the 1001 close: 5 s for the peer's.
//! timers.on_close_sent(secs(100));
//! assert_eq!(timers.poll_timeout(), Some(secs(105)));
//! assert_eq!(timers.handle_timeout(secs(105)), Some(TimerEvent::CloseTimedOut));
//! assert_eq!(timers.poll_timeout(), None);
//! ```

use core::time::Duration;

use crate::close::CloseCode;

/// The intervals of [`Timers`]; `None` turns a timer off.
///
/// The defaults are those of the transports (`ws-std`, `ws-mio`):
/// handshake 10 s, idle ping 60 s, pong 10 s, close 5 s, no limit between
/// messages. Build one with the setters, which take and return the value
/// and are `const`:
///
/// ```
/// use core::time::Duration;
/// use ws_proto::TimerConfig;
///
/// const TIMERS: TimerConfig = TimerConfig::new()
///     .idle_ping(Some(Duration::from_secs(30)))
///     .message(Some(Duration::from_secs(300)));
/// assert_eq!(TIMERS.pong, Some(Duration::from_secs(10)));
/// ```
///
/// It is `#[non_exhaustive]`: new timers may be added without breaking
/// code that builds it with [`new`](Self::new), [`off`](Self::off) or
/// [`Default`] and the setters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TimerConfig {
    /// Time allowed for the whole opening handshake (default 10 s).
    pub handshake: Option<Duration>,
    /// Send a ping when nothing (a message, a ping, a pong, any byte) has
    /// arrived for this long (default 60 s).
    pub idle_ping: Option<Duration>,
    /// After that ping, how long the peer has for anything to arrive
    /// before it counts as gone (default 10 s). `None`: it never does, and
    /// the ping is repeated every `idle_ping` while nothing arrives.
    pub pong: Option<Duration>,
    /// Give up on a peer that sent no message (text or binary; pings and
    /// pongs do not count) for this long (default `None`: no limit).
    pub message: Option<Duration>,
    /// After our close frame went out, how long the peer's close may take
    /// (default 5 s).
    pub close: Option<Duration>,
}

impl TimerConfig {
    /// The defaults: handshake 10 s, idle ping 60 s, pong 10 s, close
    /// 5 s, no limit between messages.
    pub const fn new() -> Self {
        TimerConfig {
            handshake: Some(Duration::from_secs(10)),
            idle_ping: Some(Duration::from_secs(60)),
            pong: Some(Duration::from_secs(10)),
            message: None,
            close: Some(Duration::from_secs(5)),
        }
    }

    /// Every timer off.
    pub const fn off() -> Self {
        TimerConfig {
            handshake: None,
            idle_ping: None,
            pong: None,
            message: None,
            close: None,
        }
    }

    crate::__setters! {
        /// Sets [`handshake`](Self::handshake), the time allowed for the
        /// opening handshake.
        handshake: Option<Duration> = handshake;
        /// Sets [`idle_ping`](Self::idle_ping), the silence after which a ping
        /// is sent.
        idle_ping: Option<Duration> = idle_ping;
        /// Sets [`pong`](Self::pong), the time the peer has after the idle
        /// ping.
        pong: Option<Duration> = pong;
        /// Sets [`message`](Self::message), the longest time between two
        /// messages from the peer.
        message: Option<Duration> = message;
        /// Sets [`close`](Self::close), the time the peer's close may take
        /// after ours.
        close: Option<Duration> = close;
    }
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig::new()
    }
}

/// What [`Timers::handle_timeout`] found due.
///
/// Exhaustive on purpose, like [`Event`](crate::Event): each event asks
/// the transport to act, and a new one must not be ignored by a wildcard
/// arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerEvent {
    /// The opening handshake took longer than [`TimerConfig::handshake`]:
    /// drop the socket. No timer runs any more.
    HandshakeTimedOut,
    /// Nothing arrived for [`TimerConfig::idle_ping`]: send a ping now.
    /// The pong deadline runs from this call.
    SendPing,
    /// Nothing arrived within [`TimerConfig::pong`] of the idle ping: close
    /// with [`close_code`](Self::close_code) (1001, going away) and call
    /// [`Timers::on_close_sent`] once the close went out.
    PeerSilent,
    /// No message arrived for [`TimerConfig::message`]: close as for
    /// [`PeerSilent`](Self::PeerSilent).
    MessageTimedOut,
    /// The peer's close did not arrive within [`TimerConfig::close`] of
    /// ours: drop the socket. No timer runs any more.
    CloseTimedOut,
}

impl TimerEvent {
    /// The close code to send for this event, when it asks for a close
    /// frame: 1001 (going away) for [`PeerSilent`](Self::PeerSilent) and
    /// [`MessageTimedOut`](Self::MessageTimedOut); `None` for the others.
    pub const fn close_code(self) -> Option<CloseCode> {
        match self {
            TimerEvent::PeerSilent | TimerEvent::MessageTimedOut => Some(CloseCode::GOING_AWAY),
            _ => None,
        }
    }

    /// A short reason for logs and close frames: "handshake timeout",
    /// "ping", "pong timeout", "idle timeout", "close timeout".
    pub const fn reason(self) -> &'static str {
        match self {
            TimerEvent::HandshakeTimedOut => "handshake timeout",
            TimerEvent::SendPing => "ping",
            TimerEvent::PeerSilent => "pong timeout",
            TimerEvent::MessageTimedOut => "idle timeout",
            TimerEvent::CloseTimedOut => "close timeout",
        }
    }
}

/// Where the endpoint is, for its timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The opening handshake is under way since `anchor`.
    Handshake,
    /// Open; the last byte arrived at `anchor`.
    Open,
    /// Open; the idle ping went out at `anchor` and nothing arrived since.
    Pinged,
    /// We gave up on the peer (a close is to be sent): nothing runs until
    /// [`Timers::on_close_sent`].
    GivingUp,
    /// Our close went out at `anchor`.
    Closing,
    /// Nothing runs any more.
    Done,
}

/// The deadlines of one endpoint, with their intervals; see the
/// [module docs](self). It is a [`TimerConfig`] and a [`TimerState`]; an
/// event loop with many connections and one configuration can keep just
/// the state per connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    config: TimerConfig,
    state: TimerState,
}

impl Timers {
    /// Timers for an endpoint whose opening handshake begins at `now`:
    /// only the handshake deadline runs until [`on_open`](Self::on_open).
    pub const fn new(config: TimerConfig, now: Duration) -> Self {
        Timers {
            config,
            state: TimerState::new(now),
        }
    }

    /// Timers for an endpoint whose opening handshake ended at `now` (the
    /// handshake deadline is not kept).
    pub const fn new_open(config: TimerConfig, now: Duration) -> Self {
        Timers {
            config,
            state: TimerState::new_open(now),
        }
    }

    /// The intervals.
    pub const fn config(&self) -> &TimerConfig {
        &self.config
    }

    /// Where the endpoint is, without the intervals.
    pub const fn state(&self) -> &TimerState {
        &self.state
    }

    /// See [`TimerState::on_open`].
    pub fn on_open(&mut self, now: Duration) {
        self.state.on_open(now);
    }

    /// See [`TimerState::on_receive`].
    pub fn on_receive(&mut self, now: Duration) {
        self.state.on_receive(now);
    }

    /// See [`TimerState::on_message`].
    pub fn on_message(&mut self, now: Duration) {
        self.state.on_message(now);
    }

    /// See [`TimerState::on_close_sent`].
    pub fn on_close_sent(&mut self, now: Duration) {
        self.state.on_close_sent(now);
    }

    /// See [`TimerState::on_closed`].
    pub fn on_closed(&mut self) {
        self.state.on_closed();
    }

    /// See [`TimerState::awaiting_pong`].
    pub fn awaiting_pong(&self) -> bool {
        self.state.awaiting_pong()
    }

    /// See [`TimerState::is_open`].
    pub fn is_open(&self) -> bool {
        self.state.is_open()
    }

    /// See [`TimerState::is_done`].
    pub fn is_done(&self) -> bool {
        self.state.is_done()
    }

    /// The earliest deadline, if any; see [`TimerState::poll_timeout`].
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.state.poll_timeout(&self.config)
    }

    /// What is due at `now`; see [`TimerState::handle_timeout`].
    pub fn handle_timeout(&mut self, now: Duration) -> Option<TimerEvent> {
        self.state.handle_timeout(&self.config, now)
    }

    /// The earliest deadline as a [`Deadline`] seen from `now`; see
    /// [`TimerState::deadline`].
    pub fn deadline(&self, now: Duration) -> Option<Deadline> {
        self.state.deadline(&self.config, now)
    }
}

/// The state of [`Timers`] without the intervals, which its
/// [`poll_timeout`](Self::poll_timeout) and
/// [`handle_timeout`](Self::handle_timeout) take as an argument: for an
/// event loop that keeps one [`TimerConfig`] for all its connections. Pass
/// the same configuration every time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerState {
    /// The start of the current phase's deadline (see [`Phase`]).
    anchor: Duration,
    /// When the last message arrived (or the connection opened).
    last_message: Duration,
    phase: Phase,
}

impl TimerState {
    /// An endpoint whose opening handshake begins at `now`: only the
    /// handshake deadline runs until [`on_open`](Self::on_open).
    pub const fn new(now: Duration) -> Self {
        TimerState {
            anchor: now,
            last_message: now,
            phase: Phase::Handshake,
        }
    }

    /// An endpoint whose opening handshake ended at `now` (the handshake
    /// deadline is not kept).
    pub const fn new_open(now: Duration) -> Self {
        TimerState {
            anchor: now,
            last_message: now,
            phase: Phase::Open,
        }
    }

    /// The opening handshake ended at `now`: the handshake deadline stops;
    /// the idle ping and the message limit count from `now`. Nothing
    /// happens after a close was sent or the timers stopped.
    pub fn on_open(&mut self, now: Duration) {
        if matches!(self.phase, Phase::Handshake) {
            self.phase = Phase::Open;
            self.anchor = now;
            self.last_message = now;
        }
    }

    /// Something (any byte) arrived by `now`: the peer is alive. The idle
    /// ping counts from `now`, and an unanswered ping counts as answered.
    /// It does not extend the handshake or the close deadline.
    pub fn on_receive(&mut self, now: Duration) {
        if matches!(self.phase, Phase::Open | Phase::Pinged) {
            self.phase = Phase::Open;
            self.anchor = self.anchor.max(now);
        }
    }

    /// A whole text or binary message arrived by `now`: as
    /// [`on_receive`](Self::on_receive), and the message limit counts from
    /// `now`.
    pub fn on_message(&mut self, now: Duration) {
        self.on_receive(now);
        if matches!(self.phase, Phase::Open) {
            self.last_message = self.last_message.max(now);
        }
    }

    /// Our close frame went out at `now` (or, for a transport that counts
    /// from then, was queued): every other deadline stops, the close
    /// deadline runs. A second call does not move it.
    pub fn on_close_sent(&mut self, now: Duration) {
        if !matches!(self.phase, Phase::Closing | Phase::Done) {
            self.phase = Phase::Closing;
            self.anchor = now;
        }
    }

    /// The connection is over (the close handshake completed, the socket
    /// was dropped): no timer runs any more.
    pub fn on_closed(&mut self) {
        self.phase = Phase::Done;
    }

    /// True after [`TimerEvent::SendPing`] until something arrives.
    pub fn awaiting_pong(&self) -> bool {
        matches!(self.phase, Phase::Pinged)
    }

    /// True while the open connection's deadlines run (idle ping, pong,
    /// message limit): from [`on_open`](Self::on_open) (or
    /// [`new_open`](Self::new_open)) until a close is sent or the peer is
    /// given up on.
    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open | Phase::Pinged)
    }

    /// True once the timers stopped for good: after
    /// [`HandshakeTimedOut`](TimerEvent::HandshakeTimedOut),
    /// [`CloseTimedOut`](TimerEvent::CloseTimedOut) or
    /// [`on_closed`](Self::on_closed).
    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// The earliest deadline under `config`, if any: call
    /// [`handle_timeout`](Self::handle_timeout) when it has come. It
    /// changes only through the hooks and `handle_timeout`; a deadline out
    /// of the range of `Duration` counts as none.
    pub fn poll_timeout(&self, config: &TimerConfig) -> Option<Duration> {
        let after = |interval: Option<Duration>| self.anchor.checked_add(interval?);
        match self.phase {
            Phase::Handshake => after(config.handshake),
            Phase::Open => earliest(after(config.idle_ping), self.message_deadline(config)),
            Phase::Pinged => earliest(after(config.pong), self.message_deadline(config)),
            Phase::Closing => after(config.close),
            Phase::GivingUp | Phase::Done => None,
        }
    }

    /// The earliest deadline under `config` ([`poll_timeout`](Self::poll_timeout))
    /// as a [`Deadline`] made at `now`, whose [`remaining`](Deadline::remaining)
    /// a blocking transport makes its socket timeout; `None` when no
    /// deadline runs. Its [`allowed`](Deadline::allowed) is the time from
    /// `now` to it: the whole interval when `now` is when the phase began
    /// (as for the handshake deadline at [`new`](Self::new), or the close
    /// deadline at [`on_close_sent`](Self::on_close_sent)).
    pub fn deadline(&self, config: &TimerConfig, now: Duration) -> Option<Deadline> {
        let at = self.poll_timeout(config)?;
        Some(Deadline {
            at,
            allowed: at.saturating_sub(now),
        })
    }

    /// What is due at `now` under `config`, at most one event a call (when
    /// two are due, the one of the earlier deadline); `None` before the
    /// next deadline. A caller woken for a deadline calls it until it
    /// returns `None`, doing what each event asks (see the
    /// [module docs](self)), then sleeps until the new
    /// [`poll_timeout`](Self::poll_timeout).
    pub fn handle_timeout(&mut self, config: &TimerConfig, now: Duration) -> Option<TimerEvent> {
        let due = |deadline: Option<Duration>| deadline.is_some_and(|at| now >= at);
        let after = |interval: Option<Duration>| self.anchor.checked_add(interval?);
        let event = match self.phase {
            Phase::Handshake if due(after(config.handshake)) => TimerEvent::HandshakeTimedOut,
            Phase::Open | Phase::Pinged => {
                let keepalive = if self.phase == Phase::Open {
                    after(config.idle_ping)
                } else {
                    after(config.pong)
                };
                let message = self.message_deadline(config);
                if due(message) && message <= keepalive.or(message) {
                    TimerEvent::MessageTimedOut
                } else if !due(keepalive) {
                    return None;
                } else if self.phase == Phase::Pinged {
                    TimerEvent::PeerSilent
                } else {
                    TimerEvent::SendPing
                }
            }
            Phase::Closing if due(after(config.close)) => TimerEvent::CloseTimedOut,
            _ => return None,
        };
        match event {
            TimerEvent::SendPing => {
                self.anchor = now;
                // Without a pong deadline the peer is never given up on:
                // the next ping follows `idle_ping` after this one.
                if config.pong.is_some() {
                    self.phase = Phase::Pinged;
                }
            }
            TimerEvent::PeerSilent | TimerEvent::MessageTimedOut => self.phase = Phase::GivingUp,
            TimerEvent::HandshakeTimedOut | TimerEvent::CloseTimedOut => self.phase = Phase::Done,
        }
        Some(event)
    }

    fn message_deadline(&self, config: &TimerConfig) -> Option<Duration> {
        self.last_message.checked_add(config.message?)
    }
}

/// One deadline on its own, on the caller's clock (see [Time](self#time)):
/// for a transport that bounds a single wait with it, such as a blocking
/// socket whose read or write timeout is set to
/// [`remaining`](Self::remaining) before each call.
///
/// [`Timers::deadline`] gives the earliest deadline of an endpoint's timers
/// as one (the opening handshake's, the close handshake's, the next of an
/// open connection's); [`new`](Self::new) makes one from an interval, such
/// as a transport's own write timeout. Like the rest of this module it
/// reads no clock: it is two [`Duration`]s.
///
/// ```
/// use core::time::Duration;
/// use ws_proto::timer::Deadline;
///
/// let ms = Duration::from_millis;
/// let deadline = Deadline::new(ms(1000), ms(300));
/// assert_eq!(deadline.at(), ms(1300));
/// assert_eq!(deadline.remaining(ms(1100)), Some(ms(200)));
/// assert_eq!(deadline.used(ms(1100)), ms(100));
/// // Due once `now` reaches it: nothing is left.
/// assert!(deadline.is_due(ms(1300)));
/// assert_eq!(deadline.remaining(ms(1300)), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Deadline {
    at: Duration,
    allowed: Duration,
}

impl Deadline {
    /// A deadline `allowed` after `now` (one beyond the range of
    /// `Duration` is at [`Duration::MAX`], which no clock reaches, and
    /// allows the time until then).
    pub const fn new(now: Duration, allowed: Duration) -> Self {
        let at = now.saturating_add(allowed);
        Deadline {
            at,
            allowed: at.saturating_sub(now),
        }
    }

    /// When it is due.
    pub const fn at(&self) -> Duration {
        self.at
    }

    /// The time it allowed when it was made: for messages such as
    /// "timed out after 10 s".
    pub const fn allowed(&self) -> Duration {
        self.allowed
    }

    /// True once `now` has reached it.
    pub fn is_due(&self, now: Duration) -> bool {
        now >= self.at
    }

    /// The time left at `now`, never zero: `None` once it is due. A
    /// blocking transport sets its socket timeout to this (a zero timeout
    /// would mean "for ever" to some, and is refused by others).
    pub fn remaining(&self, now: Duration) -> Option<Duration> {
        self.at.checked_sub(now).filter(|left| !left.is_zero())
    }

    /// How much of [`allowed`](Self::allowed) was used by `now` (all of it
    /// once due; none before it was made).
    pub fn used(&self, now: Duration) -> Duration {
        self.allowed.saturating_sub(self.at.saturating_sub(now))
    }
}

/// The earlier of two optional deadlines.
fn earliest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn config(idle_ping: Option<u64>, pong: Option<u64>, message: Option<u64>) -> TimerConfig {
        TimerConfig {
            idle_ping: idle_ping.map(secs),
            pong: pong.map(secs),
            message: message.map(secs),
            ..TimerConfig::new()
        }
    }

    #[test]
    fn defaults_are_the_transports() {
        let config = TimerConfig::default();
        assert_eq!(config.handshake, Some(secs(10)));
        assert_eq!(config.idle_ping, Some(secs(60)));
        assert_eq!(config.pong, Some(secs(10)));
        assert_eq!(config.close, Some(secs(5)));
        assert_eq!(config.message, None);
    }

    #[test]
    fn the_state_is_small() {
        // Two times and the phase; with five optional intervals.
        assert!(core::mem::size_of::<TimerState>() <= 40);
        assert!(core::mem::size_of::<Timers>() <= 120);
    }

    #[test]
    fn pings_once_after_the_idle_time_then_gives_up_after_the_pong_deadline() {
        let mut timers = Timers::new_open(config(Some(10), Some(3), None), secs(0));
        assert_eq!(timers.handle_timeout(secs(9)), None);
        assert_eq!(timers.handle_timeout(secs(10)), Some(TimerEvent::SendPing));
        assert!(timers.awaiting_pong());
        assert_eq!(timers.poll_timeout(), Some(secs(13)));
        assert_eq!(timers.handle_timeout(secs(12)), None);
        assert_eq!(
            timers.handle_timeout(secs(13)),
            Some(TimerEvent::PeerSilent)
        );
        // Nothing more until the close is sent.
        assert_eq!(timers.poll_timeout(), None);
        assert_eq!(timers.handle_timeout(secs(1000)), None);
    }

    #[test]
    fn anything_received_answers_the_ping_and_restarts_the_idle_time() {
        let mut timers = Timers::new_open(config(Some(10), Some(3), None), secs(0));
        assert_eq!(timers.handle_timeout(secs(10)), Some(TimerEvent::SendPing));
        timers.on_receive(secs(11));
        assert!(!timers.awaiting_pong());
        assert_eq!(timers.poll_timeout(), Some(secs(21)));
        assert_eq!(timers.handle_timeout(secs(20)), None);
        assert_eq!(timers.handle_timeout(secs(21)), Some(TimerEvent::SendPing));
    }

    #[test]
    fn a_late_report_of_receipt_does_not_move_the_idle_time_back() {
        let mut timers = Timers::new_open(config(Some(10), Some(3), None), secs(0));
        timers.on_receive(secs(8));
        // Told at 9 that something came by 4: it changes nothing.
        timers.on_receive(secs(4));
        assert_eq!(timers.poll_timeout(), Some(secs(18)));
        // Time does not go back either.
        assert_eq!(timers.handle_timeout(secs(20)), Some(TimerEvent::SendPing));
        assert_eq!(timers.handle_timeout(secs(5)), None);
        assert_eq!(timers.poll_timeout(), Some(secs(23)));
    }

    #[test]
    fn all_off_never_fires() {
        let mut timers = Timers::new(TimerConfig::off(), secs(0));
        assert_eq!(timers.poll_timeout(), None);
        timers.on_open(secs(1));
        assert_eq!(timers.poll_timeout(), None);
        for n in [60, 3600, 86_400] {
            assert_eq!(timers.handle_timeout(secs(n)), None);
        }
        timers.on_close_sent(secs(86_400));
        assert_eq!(timers.poll_timeout(), None);
    }

    #[test]
    fn without_a_pong_deadline_pings_repeat_and_nobody_is_given_up() {
        let mut timers = Timers::new_open(config(Some(10), None, None), secs(0));
        assert_eq!(timers.handle_timeout(secs(10)), Some(TimerEvent::SendPing));
        assert!(!timers.awaiting_pong());
        assert_eq!(timers.poll_timeout(), Some(secs(20)));
        assert_eq!(timers.handle_timeout(secs(20)), Some(TimerEvent::SendPing));
    }

    #[test]
    fn the_handshake_deadline_runs_until_open() {
        let mut timers = Timers::new(TimerConfig::new(), secs(0));
        assert_eq!(timers.poll_timeout(), Some(secs(10)));
        // Bytes of the handshake do not extend it.
        timers.on_receive(secs(5));
        assert_eq!(timers.poll_timeout(), Some(secs(10)));
        assert_eq!(
            timers.handle_timeout(secs(10)),
            Some(TimerEvent::HandshakeTimedOut)
        );
        assert!(timers.is_done());
        assert_eq!(timers.poll_timeout(), None);

        let mut timers = Timers::new(TimerConfig::new(), secs(0));
        timers.on_open(secs(2));
        assert_eq!(timers.poll_timeout(), Some(secs(62)));
        assert_eq!(timers.handle_timeout(secs(10)), None);
    }

    #[test]
    fn the_message_limit_counts_from_the_last_message_and_wins_when_earlier() {
        let mut timers = Timers::new_open(config(Some(60), Some(10), Some(30)), secs(0));
        assert_eq!(timers.poll_timeout(), Some(secs(30)));
        timers.on_message(secs(20));
        assert_eq!(timers.poll_timeout(), Some(secs(50)));
        // Pongs are life, not messages.
        timers.on_receive(secs(45));
        assert_eq!(timers.poll_timeout(), Some(secs(50)));
        assert_eq!(
            timers.handle_timeout(secs(50)),
            Some(TimerEvent::MessageTimedOut)
        );
        assert_eq!(timers.poll_timeout(), None);
    }

    #[test]
    fn the_message_limit_also_runs_while_a_ping_is_unanswered() {
        let mut timers = Timers::new_open(config(Some(10), Some(10), Some(15)), secs(0));
        assert_eq!(timers.handle_timeout(secs(10)), Some(TimerEvent::SendPing));
        assert_eq!(timers.poll_timeout(), Some(secs(15)));
        assert_eq!(
            timers.handle_timeout(secs(15)),
            Some(TimerEvent::MessageTimedOut)
        );
    }

    #[test]
    fn two_due_deadlines_fire_one_at_a_time_earliest_first() {
        let mut timers = Timers::new_open(config(Some(10), Some(3), Some(12)), secs(0));
        // Woken late, at 100: the ping (due at 10) first.
        assert_eq!(timers.handle_timeout(secs(100)), Some(TimerEvent::SendPing));
        assert_eq!(
            timers.handle_timeout(secs(100)),
            Some(TimerEvent::MessageTimedOut)
        );
        assert_eq!(timers.handle_timeout(secs(100)), None);
    }

    #[test]
    fn the_close_deadline_replaces_the_others_and_is_not_extended() {
        let mut timers = Timers::new_open(config(Some(10), Some(3), Some(12)), secs(0));
        timers.on_close_sent(secs(4));
        assert_eq!(timers.poll_timeout(), Some(secs(9)));
        timers.on_receive(secs(6));
        timers.on_message(secs(7));
        timers.on_close_sent(secs(8));
        assert_eq!(timers.poll_timeout(), Some(secs(9)));
        assert_eq!(timers.handle_timeout(secs(8)), None);
        assert_eq!(
            timers.handle_timeout(secs(9)),
            Some(TimerEvent::CloseTimedOut)
        );
        assert!(timers.is_done());
    }

    #[test]
    fn a_completed_close_stops_everything() {
        let mut timers = Timers::new_open(TimerConfig::new(), secs(0));
        timers.on_close_sent(secs(1));
        timers.on_closed();
        assert_eq!(timers.poll_timeout(), None);
        assert_eq!(timers.handle_timeout(secs(1000)), None);
    }

    #[test]
    fn deadlines_beyond_duration_count_as_none() {
        let config = TimerConfig {
            idle_ping: Some(Duration::MAX),
            ..TimerConfig::new()
        };
        let mut timers = Timers::new_open(config, secs(1));
        assert_eq!(timers.poll_timeout(), None);
        assert_eq!(timers.handle_timeout(Duration::MAX), None);
    }

    #[test]
    fn a_state_kept_apart_from_its_config_runs_the_same_deadlines() {
        let config = config(Some(10), Some(3), None);
        let mut state = TimerState::new(secs(0));
        assert_eq!(state.poll_timeout(&config), Some(secs(10)));
        state.on_open(secs(1));
        assert_eq!(state.poll_timeout(&config), Some(secs(11)));
        assert_eq!(
            state.handle_timeout(&config, secs(11)),
            Some(TimerEvent::SendPing)
        );
        assert!(state.awaiting_pong() && state.is_open());
        assert_eq!(
            state.handle_timeout(&config, secs(14)),
            Some(TimerEvent::PeerSilent)
        );
        assert!(!state.is_open());
        let timers = Timers::new_open(config, secs(1));
        assert_eq!(timers.state(), &TimerState::new_open(secs(1)));
    }

    #[test]
    fn a_deadline_has_time_left_until_it_is_due_and_none_after() {
        let deadline = Deadline::new(secs(10), secs(5));
        assert_eq!(deadline.at(), secs(15));
        assert_eq!(deadline.allowed(), secs(5));
        assert_eq!(deadline.remaining(secs(10)), Some(secs(5)));
        assert_eq!(deadline.remaining(secs(14)), Some(secs(1)));
        assert!(!deadline.is_due(secs(14)));
        assert_eq!(deadline.remaining(secs(15)), None);
        assert!(deadline.is_due(secs(15)));
        assert_eq!(deadline.remaining(secs(99)), None);
        // Asked before it was made (a clock read earlier): all of it left.
        assert_eq!(deadline.remaining(secs(9)), Some(secs(6)));
        assert_eq!(deadline.used(secs(9)), Duration::ZERO);
        assert_eq!(deadline.used(secs(12)), secs(2));
        assert_eq!(deadline.used(secs(99)), secs(5));
    }

    #[test]
    fn a_deadline_beyond_duration_is_never_due() {
        let deadline = Deadline::new(secs(1), Duration::MAX);
        assert_eq!(deadline.at(), Duration::MAX);
        assert!(!deadline.is_due(secs(86_400 * 365)));
        assert!(deadline.remaining(secs(86_400)).is_some());
        assert_eq!(deadline.used(secs(1)), Duration::ZERO);
    }

    #[test]
    fn the_timers_deadline_is_their_earliest_seen_from_now() {
        let mut timers = Timers::new(TimerConfig::new(), secs(100));
        let handshake = timers.deadline(secs(100)).unwrap();
        assert_eq!(handshake, Deadline::new(secs(100), secs(10)));
        // Later, less is allowed from then, to the same instant.
        assert_eq!(timers.deadline(secs(104)).unwrap().at(), secs(110));
        assert_eq!(timers.deadline(secs(104)).unwrap().allowed(), secs(6));
        timers.on_open(secs(101));
        timers.on_close_sent(secs(102));
        assert_eq!(
            timers.deadline(secs(102)),
            Some(Deadline::new(secs(102), secs(5)))
        );
        timers.on_closed();
        assert_eq!(timers.deadline(secs(103)), None);
    }

    #[test]
    fn events_say_how_to_close() {
        assert_eq!(
            TimerEvent::PeerSilent.close_code(),
            Some(CloseCode::GOING_AWAY)
        );
        assert_eq!(
            TimerEvent::MessageTimedOut.close_code(),
            Some(CloseCode::GOING_AWAY)
        );
        assert_eq!(TimerEvent::SendPing.close_code(), None);
        assert_eq!(TimerEvent::CloseTimedOut.close_code(), None);
        assert_eq!(TimerEvent::HandshakeTimedOut.close_code(), None);
        assert_eq!(TimerEvent::PeerSilent.reason(), "pong timeout");
    }
}
