//! Reading from the loop's connections into its one read buffer, and
//! handing what was read to the core.

use std::io;

use super::EventLoop;
use crate::conn::Phase;
use crate::core::HEADROOM;
use crate::handler::Handler;

/// Reads from one connection per readiness event before the others get
/// their turn (the connection is queued to continue).
const READS_PER_TURN: usize = 16;

impl<H: Handler> EventLoop<H> {
    /// The socket is readable: read until it would block (or its turn is
    /// over), feeding the handshake or the protocol core.
    pub(super) fn read(&mut self, index: usize) {
        for _ in 0..READS_PER_TURN {
            let Some(conn) = self.core.conns.get_mut(index) else {
                return;
            };
            if conn.queued() >= self.core.config.high_water() {
                // Backpressure: resume when the queue drains.
                conn.read_paused = true;
                return;
            }
            let step = match conn.phase {
                Phase::ServerHandshake(_) | Phase::ClientHandshake(_) => self.read_handshake(index),
                Phase::Open => self.read_frames(index),
                Phase::Refused => self.discard(index),
            };
            // The handler hears of this read before the next one reuses
            // the read buffer its messages are in.
            self.dispatch();
            match step {
                Ok(more) => {
                    // Echoes of this read leave now, together (see
                    // `Core::flush_if_dirty`).
                    self.core.flush_if_dirty(index);
                    self.dispatch();
                    if !more {
                        return;
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => {
                    self.core.lost(index, err);
                    self.dispatch();
                    return;
                }
            }
        }
        // Turn over with data maybe left: continue after the others.
        self.core.again.push(index);
    }

    /// Read frames into the shared buffer after the unconsumed start of a
    /// frame kept from the last read. Ok(true): keep reading; Ok(false):
    /// the socket is drained (see [`may_have_more`]) or the connection is
    /// gone.
    fn read_frames(&mut self, index: usize) -> io::Result<bool> {
        let conn = &mut self.core.conns[index];
        let kept = conn.inbuf.len();
        if kept > HEADROOM {
            // Cannot happen: the core consumes all but a header or a
            // control frame. Treat it as a broken connection, not a panic.
            return Err(io::Error::other(
                "unconsumed input larger than a control frame",
            ));
        }
        let read = conn.read_socket(&mut self.rbuf[HEADROOM..])?;
        if read == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let start = HEADROOM - kept;
        self.rbuf[start..HEADROOM].copy_from_slice(&conn.inbuf);
        conn.inbuf.clear();
        let inbuf = std::mem::take(&mut conn.inbuf);
        self.core.pool.give(inbuf);
        // TLS may hold plaintext whatever the socket's queue: read on
        // until it says `WouldBlock`.
        let more = conn.read_closed
            || conn.tls.is_some()
            || may_have_more(read, self.rbuf.len() - HEADROOM);
        self.core.heard_from(index);
        let end = HEADROOM + read;
        let mut pos = start;
        while let Some(next) = self.core.process(&mut self.rbuf, index, pos, end) {
            // An event: delivered before the rest of the read is decoded
            // (see `Core::process`).
            self.dispatch();
            pos = next;
        }
        Ok(more)
    }

    /// Read handshake bytes; once the head is complete, open the
    /// connection and pass on any frames that came with it.
    fn read_handshake(&mut self, index: usize) -> io::Result<bool> {
        let read = self
            .core
            .read_handshake_bytes(index, &mut self.rbuf[HEADROOM..])?;
        if read == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.core.heard_from(index);
        // A complete head queues `on_open`, which handles the frames that
        // came with it (see `dispatch`).
        match self.core.conns[index].phase {
            Phase::ServerHandshake(_) => self.core.finish_server_handshake(index),
            _ => self.core.finish_client_handshake(index),
        }
        Ok(true)
    }

    /// After a refusal, read and drop whatever the client still sends.
    fn discard(&mut self, index: usize) -> io::Result<bool> {
        let read = self.core.conns[index].read_socket(&mut self.rbuf[HEADROOM..])?;
        Ok(read > 0)
    }
}

/// Whether a socket that gave `read` bytes to a read of `asked` bytes may
/// hold more data. On Linux a short read from a stream socket means its
/// receive queue was emptied, and data arriving later raises a new
/// edge-triggered event (epoll(7) says so for stream sockets), so the read
/// that would only return `WouldBlock` is skipped: one system call less
/// per message at one message in flight. An end of stream already
/// signalled raises no new event, so the caller keeps reading when the
/// event said so (`Conn::read_closed`). Elsewhere mio's rule holds: read
/// until `WouldBlock`.
fn may_have_more(read: usize, asked: usize) -> bool {
    !cfg!(target_os = "linux") || read == asked
}
