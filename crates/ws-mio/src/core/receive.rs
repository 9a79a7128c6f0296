//! The receive path: the peer's bytes through the protocol core, into
//! queued events (messages, pings, pongs, the peer's close).

use std::io;

use ws_proto::session::Received;
use ws_proto::{DataChunk, Event as ProtoEvent, ProtocolError};

use super::{Body, Core, Event, Payload};
use crate::id::ConnectionId;

impl<D> Core<D> {
    /// The peer's bytes (in `buf[pos..end]`, with headroom before `pos`)
    /// through the protocol core. Events go on the queue; a message that
    /// arrived whole stays in `buf`, which the caller must leave alone
    /// until the queue is drained. Never removes the connection: a
    /// protocol error queues the close, which `flush` writes.
    ///
    /// Stops after each event and returns where to go on: the caller
    /// delivers it before the next frame is decoded, as if the handler
    /// were called at once. So the handler's answer is queued ahead of
    /// what a later frame causes (a protocol error there fails the
    /// connection only after the echo of the message before it, as RFC
    /// 6455 clients such as Autobahn expect), and a message's pooled
    /// buffer is back in the pool before the next message needs one (a
    /// warm loop needs no more buffers than before).
    #[must_use]
    pub(crate) fn process(
        &mut self,
        buf: &mut [u8],
        index: usize,
        mut pos: usize,
        end: usize,
    ) -> Option<usize> {
        let id = self.id_of(index);
        // Where the buffer is, to find a message in it again later.
        let (base, len) = (buf.as_ptr() as usize, buf.len());
        loop {
            let conn = &mut self.conns[index];
            let (consumed, event) = match conn.proto.receive(&mut buf[pos..end]) {
                Ok(step) => step,
                Err(err) => {
                    self.fail(index, err);
                    return None;
                }
            };
            pos += consumed;
            // A pong or a close reply the core queued goes out ahead of
            // whatever the handler sends in answer to the event, in this
            // turn; with it gone, a ping waiting for it can be read.
            let replied = conn.proto.wants_transmit();
            if replied {
                self.take_control_frames(index);
            }
            let event = match event {
                Some(event) => event,
                None if replied => continue,
                None => break,
            };
            let event = match self.event_of(index, id, event, (base, len)) {
                Ok(Some(event)) => event,
                Ok(None) => continue,
                Err(err) => {
                    self.fail(index, err);
                    return None;
                }
            };
            self.events.push_back(event);
            return Some(pos);
        }
        self.keep_unconsumed(index, &buf[pos..end]);
        None
    }

    /// What the handler is to hear of one event of the protocol core, if
    /// anything yet (a message's middle is not an event).
    fn event_of(
        &mut self,
        index: usize,
        id: ConnectionId,
        event: ProtoEvent<'_>,
        buffer: (usize, usize),
    ) -> Result<Option<Event>, ProtocolError> {
        let event = match event {
            ProtoEvent::Data(chunk) => match self.receive_chunk(index, &chunk, buffer)? {
                Some(body) => Event::Message { id, body },
                None => return Ok(None),
            },
            ProtoEvent::Ping(payload) => Event::Ping {
                id,
                payload: Payload::keep(&mut self.control, payload),
            },
            ProtoEvent::Pong(payload) => Event::Pong {
                id,
                payload: Payload::keep(&mut self.control, payload),
            },
            ProtoEvent::Close(close) => {
                self.conns[index].close_reported = true;
                let reason = Payload::keep(&mut self.control, close.reason.as_bytes());
                let code = close.code;
                Event::Close { id, code, reason }
            }
        };
        Ok(Some(event))
    }

    /// Keep the start of a frame that the read cut short, and mark the
    /// connection for flushing if replies are queued or the close
    /// handshake finished (which closes the socket, in `flush`).
    fn keep_unconsumed(&mut self, index: usize, rest: &[u8]) {
        let conn = &mut self.conns[index];
        if !rest.is_empty() {
            if conn.inbuf.capacity() == 0 {
                conn.inbuf = self.pool.take();
            }
            conn.inbuf.extend_from_slice(rest);
        }
        if conn.proto.wants_transmit() || conn.proto.state() == ws_proto::State::Closed {
            self.mark_dirty(index);
        }
    }

    /// A chunk of a message: the message when it is complete. One that
    /// arrived whole is left where it is, in the read buffer (`buffer` is
    /// its address and length); one gathered in, or inflated into, a
    /// pooled buffer goes back to the pool after the handler saw it.
    fn receive_chunk(
        &mut self,
        index: usize,
        chunk: &DataChunk<'_>,
        buffer: (usize, usize),
    ) -> Result<Option<Body>, ProtocolError> {
        let now = self.clock(self.turn_started);
        let pool = &mut self.pool;
        let conn = &mut self.conns[index];
        let received = conn.messages.receive_with(chunk, || pool.take())?;
        if received.is_some() {
            // A whole message: the message timeout starts again. (Its
            // deadline only moves later, like the idle ping's.)
            conn.timers.on_message(now);
        }
        Ok(received.map(|received| match received {
            Received::Borrowed(message) => Body::in_buffer(message, buffer),
            // Owned (gathered or inflated), or a kind added later.
            received => Body::Owned(received.into_owned()),
        }))
    }

    /// Read what the socket has into `inbuf` during a handshake, never
    /// taking the block past the cap by more than one byte.
    pub(crate) fn read_handshake_bytes(
        &mut self,
        index: usize,
        chunk: &mut [u8],
    ) -> io::Result<usize> {
        let cap = self.config.session.max_handshake_header;
        let conn = &mut self.conns[index];
        let room = (cap + 1)
            .saturating_sub(conn.inbuf.len())
            .clamp(1, chunk.len());
        let read = conn.read_socket(&mut chunk[..room])?;
        // A buffer only for bytes that came: a TLS handshake's records
        // make the socket readable without any.
        if conn.inbuf.capacity() == 0 && read > 0 {
            conn.inbuf = self.pool.take();
        }
        conn.inbuf.extend_from_slice(&chunk[..read]);
        Ok(read)
    }
}
