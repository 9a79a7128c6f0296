//! The loop's state that handlers act on through a
//! [`Context`](crate::Context): connections, buffers, and the logic of
//! sending, receiving, closing and timers.
//!
//! The core never calls the handler. Each operation (a read, a flush, a
//! batch of timers or of mail) pushes what the handler must hear onto
//! [`Core::events`], in the order it happened, and the event loop hands
//! those to the handler once the operation is over (see
//! `crate::dispatch`). So an operation never finds, halfway through, that
//! a callback closed or replaced the connection it was working on.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::Registry;
use slab::Slab;

use crate::config::Config;
use crate::conn::Conn;
use crate::id::ConnectionId;
use crate::mailbox::{Delivery, PostOffice};
use crate::pool::BufferPool;

mod connections;
mod events;
mod handshake;
mod lifecycle;
mod mail;
mod receive;
mod send;
mod timers;
mod write;

pub(crate) use events::{Body, Event, Payload, PendingOpen, Side, MAX_PAYLOAD};
pub(crate) use handshake::pass_on_early_bytes;

/// Room at the front of the read buffer for the unconsumed start of a
/// frame from the previous read: a header or a control frame, at most.
pub(crate) const HEADROOM: usize = 256;

/// Connections and what the loop knows about them.
pub(crate) struct Core<D> {
    pub(crate) conns: Slab<Conn<D>>,
    pub(crate) pool: BufferPool,
    pub(crate) config: Config,
    registry: Registry,
    next_generation: u32,
    /// Connections with queued bytes to write at the end of this round.
    pub(crate) dirty: Vec<usize>,
    /// Connections to read from again (reading resumed, or cut short for
    /// fairness).
    pub(crate) again: Vec<usize>,
    pub(crate) stop_requested: bool,
    /// The shutdown began: 1001s are queued (set after `stop_requested`,
    /// at the start of the next turn).
    pub(crate) shutting_down: bool,
    /// The time this turn of the loop began (after its poll): the time of
    /// every read and write in it, for the idle and stall timers, which
    /// count in seconds. One clock read per turn instead of two per
    /// message.
    pub(crate) turn_started: Instant,
    /// The origin of the time the connections' timers run on.
    origin: Instant,
    /// The mailboxes of the server's loops, when it has more than one.
    office: Option<Arc<PostOffice>>,
    /// This loop's index among them (0 for a lone loop).
    home: u16,
    /// Connections whose `on_open` accepted them and that are not removed.
    opened: usize,
    /// Mail being delivered (kept for its capacity).
    mail: VecDeque<Delivery>,
    /// A connection was removed (its descriptor closed) since the event
    /// loop last looked: an accept owed for want of descriptors may
    /// succeed now.
    pub(crate) descriptor_freed: bool,
    /// What the handler is to hear, oldest first; the loop drains it
    /// after every operation. Popped from the front, so its capacity is
    /// kept and a warm loop queues events without allocating.
    pub(crate) events: VecDeque<Event>,
    /// The payloads of the queued pings, pongs and close reasons (see
    /// [`Payload`]); emptied whenever the queue is.
    pub(crate) control: Vec<u8>,
    /// Completed handshakes whose `on_open` is queued ([`Event::Open`]).
    pub(crate) openings: Slab<PendingOpen>,
    /// The data of removed connections whose last event (`on_close`) is
    /// still queued: the handler can reach it there, as the `Handler`
    /// docs promise. Dropped at the connection's [`Event::Gone`].
    departed: Vec<(ConnectionId, D)>,
    /// Every deadline of the loop: the connections' and the handler's.
    deadlines: timers::Deadlines,
    /// Connections whose timers were looked at (tests check that only due
    /// ones are).
    #[cfg(test)]
    pub(crate) visits: usize,
}

impl<D> Core<D> {
    pub(crate) fn new(config: Config, registry: Registry) -> Self {
        Core {
            conns: Slab::new(),
            pool: BufferPool::new(config.max_pooled_buffers, config.max_pooled_buffer),
            config,
            registry,
            next_generation: 0,
            dirty: Vec::new(),
            again: Vec::new(),
            stop_requested: false,
            shutting_down: false,
            turn_started: Instant::now(),
            origin: Instant::now(),
            office: None,
            home: 0,
            opened: 0,
            mail: VecDeque::new(),
            descriptor_freed: false,
            events: VecDeque::new(),
            control: Vec::new(),
            openings: Slab::new(),
            departed: Vec::new(),
            deadlines: timers::Deadlines::default(),
            #[cfg(test)]
            visits: 0,
        }
    }

    /// `at` on the time of the connections' timers (time since the loop
    /// started).
    pub(crate) fn clock(&self, at: Instant) -> Duration {
        at.saturating_duration_since(self.origin)
    }

    /// Be loop `home` of the server whose loops share `office`.
    pub(crate) fn join_office(&mut self, office: Arc<PostOffice>, home: u16) {
        self.office = Some(office);
        self.home = home;
    }
}
