//! How connections end: the close handshake we start (by the handler, on
//! shutdown, on a protocol error), a connection lost, and its removal,
//! each queuing what the handler must hear about it.

use std::io;
use std::time::Instant;

use ws_proto::{CloseCode, ClosePayload, ProtocolError};

use super::{Core, Event, Payload};
use crate::conn::Phase;
use crate::error::{Error, SendError};
use crate::id::ConnectionId;
use crate::mailbox::Delivery;

impl<D> Core<D> {
    /// The handler's close: start the close handshake of a connection of
    /// this loop, or post it to the loop that serves it.
    pub(crate) fn close(
        &mut self,
        id: ConnectionId,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), SendError> {
        if id.home != self.home {
            // Checked here, so the caller learns of a bad code at once.
            ClosePayload::new(code, reason)
                .map_err(|err| SendError::Refused(ws_proto::SendError::InvalidClose(err)))?;
            let reason = reason.to_owned();
            return self.post(id.home, Delivery::Close { id, code, reason });
        }
        let index = self.index_of(id).ok_or(SendError::NotFound)?;
        self.start_close(index, code, reason)
    }

    /// Shutdown: queue our close behind whatever is queued, and start its
    /// close deadline only once all of it is written (see
    /// [`flush`](Self::flush)); until then the connection is bounded by
    /// write progress (the stall deadline, see `timers`).
    pub(crate) fn start_close_after_queue(
        &mut self,
        index: usize,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), SendError> {
        let now = self.turn_started.max(Instant::now());
        let conn = &mut self.conns[index];
        if conn.queued() == 0 {
            return self.start_close(index, code, reason);
        }
        if !matches!(conn.phase, Phase::Open) {
            return Err(SendError::Refused(ws_proto::SendError::Closed));
        }
        conn.proto.close(code, reason)?;
        conn.close_unwritten = true;
        // The write-progress clock starts now, not at the last write
        // before the shutdown.
        conn.last_write = now;
        self.mark_dirty(index);
        self.arm(index);
        Ok(())
    }

    /// Queue our close frame and start the close timer.
    pub(crate) fn start_close(
        &mut self,
        index: usize,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), SendError> {
        let now = self.clock(Instant::now());
        let conn = &mut self.conns[index];
        if !matches!(conn.phase, Phase::Open) {
            return Err(SendError::Refused(ws_proto::SendError::Closed));
        }
        conn.proto.close(code, reason)?;
        conn.timers.on_close_sent(now);
        self.mark_dirty(index);
        // The close deadline may come before the one armed.
        self.arm(index);
        Ok(())
    }

    /// The core found a protocol error: it queued the close frame; tell
    /// the handler, and write the close (the connection goes once it is
    /// out).
    pub(crate) fn fail(&mut self, index: usize, err: ProtocolError) {
        let id = self.id_of(index);
        let now = self.clock(Instant::now());
        let conn = &mut self.conns[index];
        if conn.proto.failure().is_none() {
            conn.proto.fail(err);
        }
        conn.timers.on_close_sent(now);
        let report_close = conn.opened && !conn.close_reported;
        conn.close_reported = true;
        let error = Error::Protocol(err);
        self.events.push_back(Event::Error { id, error });
        if report_close {
            let reason = Payload::keep(&mut self.control, err.reason().as_bytes());
            let code = err.close_code();
            self.events.push_back(Event::Close { id, code, reason });
        }
        self.mark_dirty(index);
        self.arm(index);
    }

    /// The connection broke (reset, end of stream, write error).
    pub(crate) fn lost(&mut self, index: usize, err: io::Error) {
        let conn = &self.conns[index];
        // A vanished peer is reported through on_close (1006); other
        // failures through on_error too; a failed outgoing connection
        // (refused, reset, ended during the handshake) through on_error.
        let open_and_broken =
            conn.opened && !conn.close_reported && err.kind() != io::ErrorKind::UnexpectedEof;
        if open_and_broken {
            let id = self.id_of(index);
            let error = Error::Io(err);
            self.events.push_back(Event::Error { id, error });
        } else {
            // A client's TLS failure (a certificate refused) says so.
            self.report_failed_connect(index, crate::tls::error_of(err));
        }
        self.remove(index);
    }

    /// A client connection that is still in its opening handshake ends:
    /// tell the handler why with `on_error`, once. Its `on_open` never
    /// ran, so no `on_close` follows: this is the only word it gets of a
    /// connection it asked for. Does nothing for other connections.
    pub(crate) fn report_failed_connect(&mut self, index: usize, error: Error) {
        let id = self.id_of(index);
        let Phase::ClientHandshake(state) = &mut self.conns[index].phase else {
            return;
        };
        if !state.reported {
            state.reported = true;
            self.events.push_back(Event::Error { id, error });
        }
    }

    /// Drop a connection: owed `on_close` (1006 when nothing was said),
    /// buffers back to the pool, socket closed. Its data stays reachable
    /// until its last event is delivered.
    pub(crate) fn remove(&mut self, index: usize) {
        let id = self.id_of(index);
        let conn = &mut self.conns[index];
        if conn.opened && !conn.close_reported {
            conn.close_reported = true;
            let reason = Payload::keep(&mut self.control, b"");
            let code = CloseCode::ABNORMAL;
            self.events.push_back(Event::Close { id, code, reason });
        }
        // Every path that drops a client in its handshake reports its own
        // reason first; this catches any that does not, so the handler is
        // never left waiting for an `on_open` that will not come. (The
        // error is made only then: closing a connection allocates nothing.)
        let unreported = matches!(
            &conn.phase,
            Phase::ClientHandshake(state) if !state.reported
        );
        if unreported {
            let dropped = io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "dropped before the opening handshake completed",
            );
            self.report_failed_connect(index, Error::Io(dropped));
        }
        let mut conn = self.conns.remove(index);
        if conn.armed.is_some() {
            self.deadlines.retire();
        }
        self.descriptor_freed = true;
        if let Some(office) = &self.office {
            office.release_connection();
        }
        if conn.opened {
            self.count_opened(false);
        }
        if let Some(tls) = &mut conn.tls {
            tls.close_notify(&mut conn.stream);
        }
        let _ = self.registry.deregister(&mut conn.stream);
        self.pool.give(std::mem::take(&mut conn.inbuf));
        self.pool.give(std::mem::take(&mut conn.out));
        self.pool.give(conn.messages.take_buffer());
        if let Some(data) = conn.data.take() {
            self.keep_departed(id, data);
        }
    }
}
