//! The send path: frames and messages queued on a connection's bounded
//! outgoing queue (refused when full, see `Config::max_outgoing`), and
//! broadcasts to this loop's connections and the others'.

use std::time::Instant;

use ws_proto::constants::MAX_HEADER_LEN;
use ws_proto::frame::MAX_CONTROL_FRAME_LEN;
use ws_proto::mask::apply_mask;
use ws_proto::message::MessageRef;
use ws_proto::session;
use ws_proto::{MessageKind, OpCode};

use super::Core;
use crate::conn::{Conn, Phase};
use crate::error::SendError;
use crate::id::ConnectionId;
use crate::mailbox::{Delivery, Shared};

impl<D> Core<D> {
    /// Have the connection flushed at the end of this round (once, however
    /// much is queued for it meanwhile).
    pub(crate) fn mark_dirty(&mut self, index: usize) {
        if let Some(conn) = self.conns.get_mut(index) {
            if !conn.dirty {
                conn.dirty = true;
                self.dirty.push(index);
            }
        }
    }

    /// Queue one frame for a connection, header and payload, masked for a
    /// client connection.
    pub(crate) fn send_frame(
        &mut self,
        id: ConnectionId,
        opcode: OpCode,
        payload: &[u8],
    ) -> Result<(), SendError> {
        let index = self.index_of(id).ok_or(SendError::NotFound)?;
        self.queue_frame(index, opcode, payload)?;
        self.mark_dirty(index);
        Ok(())
    }

    /// Queue one frame on the connection at `index` if it is open and its
    /// queue is under `max_outgoing` (else a refusal, and `on_writable`
    /// is owed once it drains).
    pub(crate) fn queue_frame(
        &mut self,
        index: usize,
        opcode: OpCode,
        payload: &[u8],
    ) -> Result<(), SendError> {
        let conn = &mut self.conns[index];
        if !matches!(conn.phase, Phase::Open) {
            return Err(SendError::Refused(ws_proto::SendError::Closed));
        }
        if conn.queued() >= self.config.max_outgoing {
            conn.wants_writable = true;
            return Err(SendError::QueueFull);
        }
        if conn.out.capacity() == 0 {
            conn.out = self.pool.take();
        }
        match opcode {
            OpCode::Text => self.queue_message(index, MessageKind::Text, payload),
            OpCode::Binary => self.queue_message(index, MessageKind::Binary, payload),
            _ => queue_control(conn, opcode, payload),
        }
    }

    /// A text or binary message, compressed if permessage-deflate says so.
    fn queue_message(
        &mut self,
        index: usize,
        kind: MessageKind,
        payload: &[u8],
    ) -> Result<(), SendError> {
        let conn = &mut self.conns[index];
        let encoded = conn
            .messages
            .encode_message(&mut conn.proto, kind, payload, &mut conn.out);
        let Err(err) = encoded else {
            return Ok(());
        };
        if err.close_code().is_some() {
            // The compressor failed: the close (1011) it queued goes out,
            // and the close deadline runs.
            let now = self.clock(Instant::now());
            self.conns[index].timers.on_close_sent(now);
            self.mark_dirty(index);
            self.arm(index);
        }
        Err(refused(err))
    }

    /// Queue a message for a connection of this loop, or post it to the
    /// loop that serves it.
    pub(crate) fn send_message(
        &mut self,
        id: ConnectionId,
        message: MessageRef<'_>,
    ) -> Result<(), SendError> {
        if id.home != self.home {
            let message = Shared::new(message);
            return self.post(id.home, Delivery::Send { to: id, message });
        }
        self.send_frame(id, message.kind().opcode(), message.as_bytes())
    }

    /// Send to every open connection of every loop but `except`; see
    /// `Context::broadcast` for what is counted.
    pub(crate) fn broadcast(
        &mut self,
        message: MessageRef<'_>,
        except: Option<ConnectionId>,
    ) -> usize {
        let (mut accepted, _) =
            self.broadcast_here(message.kind().opcode(), message.as_bytes(), except);
        let Some(office) = &self.office else {
            return accepted;
        };
        let mut shared = None;
        for other in (0..office.loops()).filter(|&other| other != usize::from(self.home)) {
            let message = shared.get_or_insert_with(|| Shared::new(message)).clone();
            if office
                .post(other, Delivery::Broadcast { except, message })
                .is_ok()
            {
                let excepted = except.is_some_and(|id| id.loop_index() == other);
                accepted += office
                    .open_count(other)
                    .saturating_sub(usize::from(excepted));
            }
        }
        accepted
    }

    /// Send to each of `ids`, of any loop; a message posted to other loops
    /// is copied once.
    pub(crate) fn broadcast_to(&mut self, ids: &[ConnectionId], message: MessageRef<'_>) -> usize {
        let mut shared = None;
        let mut accepted = 0;
        for &id in ids {
            let sent = if id.home == self.home {
                self.send_frame(id, message.kind().opcode(), message.as_bytes())
            } else {
                let message = shared.get_or_insert_with(|| Shared::new(message)).clone();
                self.post(id.home, Delivery::Send { to: id, message })
            };
            accepted += usize::from(sent.is_ok());
        }
        accepted
    }

    /// Queue a message for every open connection of this loop but
    /// `except`. Returns how many took it, and those whose queue was full.
    pub(crate) fn broadcast_here(
        &mut self,
        opcode: OpCode,
        payload: &[u8],
        except: Option<ConnectionId>,
    ) -> (usize, Vec<ConnectionId>) {
        let mut accepted = 0;
        let mut full = Vec::new();
        for index in 0..self.conns.capacity() {
            let Some(conn) = self.conns.get(index) else {
                continue;
            };
            let id = self.id_of(index);
            if Some(id) == except || !conn.is_open() {
                continue;
            }
            match self.queue_frame(index, opcode, payload) {
                Ok(()) => {
                    self.mark_dirty(index);
                    accepted += 1;
                }
                Err(SendError::QueueFull) => full.push(id),
                Err(_) => {}
            }
        }
        (accepted, full)
    }

    /// Move the control frames the protocol core queued (pongs, a close)
    /// to the connection's outgoing bytes, and mark it for flushing: every
    /// byte queued for a peer leaves in the turn that queued it.
    pub(crate) fn take_control_frames(&mut self, index: usize) {
        let conn = &mut self.conns[index];
        if conn.proto.wants_transmit() {
            queue_control_frames(conn);
            self.mark_dirty(index);
        }
    }
}

/// A control frame (ping, pong) as one frame, masked for a client.
fn queue_control<D>(conn: &mut Conn<D>, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
    let start = conn.out.len();
    conn.out.resize(start + MAX_HEADER_LEN, 0);
    let header =
        conn.proto
            .encode_header(opcode, true, payload.len() as u64, &mut conn.out[start..]);
    let header = match header {
        Ok(header) => header,
        Err(err) => {
            conn.out.truncate(start);
            return Err(err.into());
        }
    };
    conn.out.truncate(start + header.len);
    conn.out.extend_from_slice(payload);
    if let Some(key) = header.mask {
        apply_mask(&mut conn.out[start + header.len..], key, 0);
    }
    Ok(())
}

/// A refused send, as the handler sees it.
fn refused(err: session::Error) -> SendError {
    match err {
        session::Error::Send(err) => SendError::Refused(err),
        // Encoding fails only with a send error.
        _ => SendError::Refused(ws_proto::SendError::Closed),
    }
}

/// Move the control frames the protocol core has queued (pongs, close)
/// to the end of the connection's outgoing bytes.
pub(super) fn queue_control_frames<D>(conn: &mut Conn<D>) {
    while conn.proto.wants_transmit() {
        let start = conn.out.len();
        conn.out.resize(start + 2 * MAX_CONTROL_FRAME_LEN, 0);
        let written = conn.proto.poll_transmit(&mut conn.out[start..]);
        conn.out.truncate(start + written);
    }
}
