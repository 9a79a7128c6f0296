//! Writing queued bytes to the sockets, and what follows from a queue
//! that drained (reading resumes, `on_writable`, the close handshake's
//! end) or did not (the stall deadline).

use std::io;

use super::send::queue_control_frames;
use super::{Core, Event};
use crate::conn::Phase;

impl<D> Core<D> {
    /// Write what is queued, until done or the socket would block. Removes
    /// the connection when it is finished with (closed, refused) or broken.
    pub(crate) fn flush(&mut self, index: usize) {
        let Some(conn) = self.conns.get_mut(index) else {
            // A writable event for a connection removed earlier in the turn.
            return;
        };
        conn.dirty = false;
        queue_control_frames(conn);
        while conn.out_pos < conn.out.len() {
            match conn.write_queued() {
                Ok(0) => return self.lost(index, io::ErrorKind::WriteZero.into()),
                Ok(written) => {
                    conn.out_pos += written;
                    conn.last_write = self.turn_started;
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                // Not connected yet (client): the writable event will come.
                Err(err) if err.kind() == io::ErrorKind::NotConnected => break,
                Err(err) => return self.lost(index, err),
            }
        }
        // Records TLS holds (a handshake's answer, the tail of what it
        // encrypted above) follow.
        let held = conn.queued();
        match conn.flush_tls() {
            Ok(()) => {}
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::Interrupted
                        | io::ErrorKind::NotConnected
                ) => {}
            Err(err) => return self.lost(index, err),
        }
        if conn.queued() < held {
            conn.last_write = self.turn_started;
        }
        if conn.out_pos == conn.out.len() {
            self.drained(index);
        }
        if self.conns[index].queued() > 0 {
            // Bytes wait for the peer: the stall deadline runs.
            self.arm(index);
        }
        let conn = &mut self.conns[index];
        let finished = match conn.phase {
            Phase::Refused => conn.queued() == 0,
            Phase::Open => conn.queued() == 0 && conn.proto.state() == ws_proto::State::Closed,
            _ => false,
        };
        if finished {
            return self.remove(index);
        }
        if conn.read_paused && conn.queued() < self.config.high_water() {
            conn.read_paused = false;
            self.again.push(index);
        }
        if conn.wants_writable && conn.queued() <= self.config.low_water() {
            conn.wants_writable = false;
            if conn.is_open() {
                let id = self.id_of(index);
                self.events.push_back(Event::Writable { id });
            }
        }
    }

    /// Everything queued is written: the buffer goes back to the pool,
    /// and a shutdown's close, now out, starts its close deadline.
    fn drained(&mut self, index: usize) {
        let now = self.clock(self.turn_started);
        let conn = &mut self.conns[index];
        conn.out_pos = 0;
        let out = std::mem::take(&mut conn.out);
        self.pool.give(out);
        if conn.close_unwritten {
            // The peer's answer is due within the close timeout from now.
            conn.close_unwritten = false;
            conn.timers.on_close_sent(now);
            self.arm(index);
        }
    }

    /// Flush every connection that has something queued and was not
    /// flushed since (see [`flush_if_dirty`](Self::flush_if_dirty)).
    pub(crate) fn flush_dirty(&mut self) {
        while let Some(index) = self.dirty.pop() {
            self.flush_if_dirty(index);
        }
    }

    /// Flush one connection if something was queued for it since its last
    /// flush. Called right after a read's frames are handled, so an echo
    /// leaves while its bytes are still in cache, in one write per read
    /// (all the replies to that read together), instead of after every
    /// other ready connection has been read: with hundreds of connections
    /// ready at once, their queued 16 KiB replies no longer fit in cache by
    /// the end of the turn.
    pub(crate) fn flush_if_dirty(&mut self, index: usize) {
        if self.conns.get(index).is_some_and(|conn| conn.dirty) {
            self.flush(index);
        }
    }
}
