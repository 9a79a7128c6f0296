//! Sends between the loops of one [`Server`](crate::Server): each loop has
//! a mailbox that the others post to, and a waker that tells it mail
//! arrived.
//!
//! A send to a connection of another loop, and the other loops' share of
//! a broadcast, travel as [`Delivery`]s. Each mailbox is a FIFO, so what
//! one sender posts to a loop arrives there in the order it was sent.
//! Mailboxes are bounded in bytes ([`Config::max_mailbox`]); a post that
//! does not fit is refused at once, like a send to a full queue, and
//! nothing grows without bound.
//!
//! [`Config::max_mailbox`]: crate::Config::max_mailbox

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use mio::Waker;
use ws_proto::connection::MessageKind;
use ws_proto::message::MessageRef;
use ws_proto::CloseCode;

use crate::id::ConnectionId;

/// What each delivery costs a mailbox beyond its payload, so that a flood
/// of empty messages is bounded too.
const DELIVERY_OVERHEAD: usize = 64;

/// A message's bytes and kind, shared by every loop a broadcast reaches.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub(crate) kind: MessageKind,
    pub(crate) bytes: Arc<[u8]>,
}

impl Shared {
    /// Copy a message to send it to other loops.
    pub(crate) fn new(message: MessageRef<'_>) -> Self {
        Shared {
            kind: message.kind(),
            bytes: Arc::from(message.as_bytes()),
        }
    }
}

/// One piece of mail for a loop.
#[derive(Debug)]
pub(crate) enum Delivery {
    /// Queue a message for one connection of that loop.
    Send { to: ConnectionId, message: Shared },
    /// Queue a message for every open connection of that loop but
    /// `except`.
    Broadcast {
        except: Option<ConnectionId>,
        message: Shared,
    },
    /// Start the close handshake of one connection of that loop.
    Close {
        id: ConnectionId,
        code: CloseCode,
        reason: String,
    },
}

impl Delivery {
    /// What it counts against the mailbox's bound.
    fn cost(&self) -> usize {
        DELIVERY_OVERHEAD
            + match self {
                Delivery::Send { message, .. } | Delivery::Broadcast { message, .. } => {
                    message.bytes.len()
                }
                Delivery::Close { reason, .. } => reason.len(),
            }
    }
}

/// The mailboxes of every loop of a server, indexed by loop.
#[derive(Debug)]
pub(crate) struct PostOffice {
    mailboxes: Box<[Mailbox]>,
    /// Bound on the bytes waiting in each mailbox.
    limit: usize,
    /// Connections held by all the loops together (for
    /// `Config::max_server_connections`).
    connections: AtomicUsize,
}

#[derive(Debug, Default)]
struct Mailbox {
    queue: Mutex<VecDeque<Delivery>>,
    /// Bytes (with overhead) posted and not yet taken.
    held: AtomicUsize,
    /// Mail arrived since the loop last looked.
    pending: AtomicBool,
    /// Open connections of the loop (what a broadcast there reaches).
    open: AtomicUsize,
    /// Set once the loop runs.
    waker: OnceLock<Arc<Waker>>,
}

impl PostOffice {
    /// Mailboxes for `loops` loops, each holding at most `limit` bytes.
    pub(crate) fn new(loops: usize, limit: usize) -> Self {
        PostOffice {
            mailboxes: (0..loops).map(|_| Mailbox::default()).collect(),
            limit,
            connections: AtomicUsize::new(0),
        }
    }

    /// Count one more connection if the loops hold fewer than `cap`
    /// together; false if they hold `cap` already.
    pub(crate) fn take_connection(&self, cap: usize) -> bool {
        self.connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held < cap).then_some(held + 1)
            })
            .is_ok()
    }

    /// Count one more connection, whatever the cap (a client connection).
    pub(crate) fn add_connection(&self) {
        self.connections.fetch_add(1, Ordering::AcqRel);
    }

    /// A connection counted by `take_connection` or `add_connection` is
    /// gone.
    pub(crate) fn release_connection(&self) {
        self.connections.fetch_sub(1, Ordering::AcqRel);
    }

    /// How many loops share it.
    pub(crate) fn loops(&self) -> usize {
        self.mailboxes.len()
    }

    /// Loop `index` runs: wake it through `waker` when mail comes.
    pub(crate) fn attach(&self, index: usize, waker: Arc<Waker>) {
        let _ = self.mailboxes[index].waker.set(waker);
    }

    /// Post to loop `to`. Returns the delivery back if its mailbox is full
    /// (or there is no such loop).
    pub(crate) fn post(&self, to: usize, delivery: Delivery) -> Result<(), Delivery> {
        let Some(mailbox) = self.mailboxes.get(to) else {
            return Err(delivery);
        };
        let cost = delivery.cost();
        let reserved = mailbox
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(cost).filter(|&after| after <= self.limit)
            });
        if reserved.is_err() {
            return Err(delivery);
        }
        lock(&mailbox.queue).push_back(delivery);
        // One wake per batch: the loop clears `pending` before it takes
        // the mail.
        if !mailbox.pending.swap(true, Ordering::AcqRel) {
            if let Some(waker) = mailbox.waker.get() {
                // A loop that already exited has no one to wake.
                let _ = waker.wake();
            }
        }
        Ok(())
    }

    /// Whether loop `index` has mail it has not taken.
    pub(crate) fn has_mail(&self, index: usize) -> bool {
        self.mailboxes[index].pending.load(Ordering::Acquire)
    }

    /// Take loop `index`'s mail, oldest first, into `into` (which must be
    /// empty), if any arrived. The bytes are released by
    /// [`delivered`](Self::delivered) once handled.
    pub(crate) fn take(&self, index: usize, into: &mut VecDeque<Delivery>) -> bool {
        let mailbox = &self.mailboxes[index];
        if !mailbox.pending.swap(false, Ordering::AcqRel) {
            return false;
        }
        std::mem::swap(&mut *lock(&mailbox.queue), into);
        true
    }

    /// Loop `index` handled this delivery: its bytes no longer count.
    pub(crate) fn delivered(&self, index: usize, delivery: &Delivery) {
        self.mailboxes[index]
            .held
            .fetch_sub(delivery.cost(), Ordering::AcqRel);
    }

    /// Open connections of loop `index`, as last counted.
    pub(crate) fn open_count(&self, index: usize) -> usize {
        self.mailboxes[index].open.load(Ordering::Relaxed)
    }

    /// Loop `index` now has `open` open connections.
    pub(crate) fn set_open_count(&self, index: usize, open: usize) {
        self.mailboxes[index].open.store(open, Ordering::Relaxed);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The queue is only pushed to and swapped: a panic elsewhere cannot
    // leave it half-changed.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(len: usize) -> Shared {
        Shared {
            kind: MessageKind::Binary,
            bytes: vec![0u8; len].into(),
        }
    }

    fn send(len: usize) -> Delivery {
        Delivery::Send {
            to: ConnectionId {
                index: 0,
                generation: 0,
                home: 1,
            },
            message: message(len),
        }
    }

    #[test]
    fn mail_is_taken_in_the_order_it_was_posted() {
        let office = PostOffice::new(2, 1 << 20);
        for len in 1..=3 {
            office.post(1, send(len)).unwrap();
        }
        let mut mail = VecDeque::new();
        assert!(office.take(1, &mut mail));
        let lens: Vec<usize> = mail
            .iter()
            .map(|d| match d {
                Delivery::Send { message, .. } => message.bytes.len(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(lens, [1, 2, 3]);
        assert!(!office.take(0, &mut VecDeque::new()), "loop 0 got nothing");
    }

    #[test]
    fn a_full_mailbox_refuses_until_its_mail_is_handled() {
        let office = PostOffice::new(2, 2 * (DELIVERY_OVERHEAD + 100));
        office.post(1, send(100)).unwrap();
        office.post(1, send(100)).unwrap();
        assert!(office.post(1, send(1)).is_err(), "over the bound");
        assert!(office.post(1, send(0)).is_err(), "empty mail costs too");
        let mut mail = VecDeque::new();
        assert!(office.take(1, &mut mail));
        for delivery in mail.drain(..) {
            office.delivered(1, &delivery);
        }
        office.post(1, send(100)).unwrap();
    }

    #[test]
    fn a_post_to_no_such_loop_is_refused() {
        let office = PostOffice::new(2, 1 << 20);
        assert!(office.post(2, send(1)).is_err());
    }

    #[test]
    fn nothing_is_pending_after_mail_is_taken() {
        let office = PostOffice::new(1, 1 << 20);
        office.post(0, send(1)).unwrap();
        let mut mail = VecDeque::new();
        assert!(office.take(0, &mut mail));
        assert!(!office.take(0, &mut VecDeque::new()));
    }
}
