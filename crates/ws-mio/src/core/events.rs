//! What the core tells the handler, as values queued in order instead of
//! calls made from inside its operations.

use ws_proto::handshake::ServerHandshake;
use ws_proto::message::{Message, MessageRef};
use ws_proto::{CloseCode, MessageKind};

use crate::conn::ClientHandshake;
use crate::error::Error;
use crate::id::ConnectionId;

/// One thing the handler is to hear. Events of one connection are queued
/// in the order they happened, and the queue is drained in that order.
pub(crate) enum Event {
    /// An opening handshake completed; the handler's `on_open` decides.
    /// What it is shown waits in `Core::openings` under `opening`.
    Open {
        index: usize,
        id: ConnectionId,
        opening: usize,
    },
    /// A whole message.
    Message { id: ConnectionId, body: Body },
    /// A ping arrived (its pong is queued unless auto-pong is off).
    Ping { id: ConnectionId, payload: Payload },
    /// A pong arrived.
    Pong { id: ConnectionId, payload: Payload },
    /// The connection is closing or closed: `on_close`.
    Close {
        id: ConnectionId,
        code: CloseCode,
        reason: Payload,
    },
    /// Something failed: `on_error`.
    Error { id: ConnectionId, error: Error },
    /// A full queue drained after a refused send: `on_writable`.
    Writable { id: ConnectionId },
    /// A handler timer is due: `on_timer`.
    Timer { token: u64 },
    /// The connection was removed and this was its last event: its data
    /// (kept for the `on_close` before) is dropped.
    Gone { id: ConnectionId },
}

/// A completed handshake waiting for the handler's `on_open`: `head`
/// holds the request (or response) and, from `consumed` on, the frames
/// that came with it, handled only if the handler accepts. Kept apart
/// from [`Event`] so that events stay small (every message is one).
pub(crate) struct PendingOpen {
    pub(crate) head: Vec<u8>,
    pub(crate) consumed: usize,
    pub(crate) side: Side,
}

/// Which side completed its handshake, with what `on_open` is shown: the
/// handshake is fed its (complete) head again to borrow the request or
/// response from it, which keeps the queue free of borrows.
pub(crate) enum Side {
    /// We accepted a request; `chosen` is the subprotocol agreed.
    Server {
        handshake: ServerHandshake,
        chosen: Option<String>,
    },
    /// Our request was answered with a valid 101.
    Client(Box<ClientHandshake>),
}

/// A message's bytes.
pub(crate) enum Body {
    /// It arrived whole in one read: `buf[start..end]` of the loop's read
    /// buffer, which is not touched until the queue is drained (no copy
    /// on the echo path).
    InBuffer {
        kind: MessageKind,
        start: usize,
        end: usize,
    },
    /// Gathered or inflated into a pooled buffer, which goes back to the
    /// pool once the handler has seen it.
    Owned(Message),
}

impl Body {
    /// `message` as a range of the read buffer (at address and length
    /// `buffer`) if it lies in it, else a copy.
    pub(crate) fn in_buffer(message: MessageRef<'_>, buffer: (usize, usize)) -> Body {
        let (base, len) = buffer;
        let bytes = message.as_bytes();
        let start = (bytes.as_ptr() as usize).checked_sub(base);
        match start {
            Some(start) if start + bytes.len() <= len => Body::InBuffer {
                kind: message.kind(),
                start,
                end: start + bytes.len(),
            },
            // Not expected (the core hands out payloads in place), but a
            // copy is always right.
            _ => Body::Owned(message.to_owned()),
        }
    }
}

/// The longest control frame payload.
pub(crate) const MAX_PAYLOAD: usize = 125;

/// A control frame's payload (a ping's, a pong's, a close reason), kept
/// in the core's `control` bytes until the queue is drained: queuing it
/// allocates nothing once warm, and the event stays small.
#[derive(Clone, Copy)]
pub(crate) struct Payload {
    start: u32,
    len: u8,
}

impl Payload {
    /// Keep a copy of `bytes` (cut at 125 bytes: a control payload is
    /// never longer) at the end of `store`.
    pub(crate) fn keep(store: &mut Vec<u8>, bytes: &[u8]) -> Self {
        let len = bytes.len().min(MAX_PAYLOAD);
        let start = store.len() as u32;
        store.extend_from_slice(&bytes[..len]);
        Payload {
            start,
            len: len as u8,
        }
    }

    /// Copy it out of `store` into `into` (the handler gets a borrow of
    /// it while it may act on the core, which owns `store`).
    pub(crate) fn copy_out<'a>(&self, store: &[u8], into: &'a mut [u8; MAX_PAYLOAD]) -> &'a [u8] {
        let start = self.start as usize;
        let kept = store
            .get(start..start + usize::from(self.len))
            .unwrap_or(&[]);
        into[..kept.len()].copy_from_slice(kept);
        &into[..kept.len()]
    }
}
