//! The loop's state that handlers act on through a
//! [`Context`](crate::Context): connections, buffers, and the logic of
//! sending, flushing, closing and timers.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, Read, Write};
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use slab::Slab;
use ws_proto::constants::MAX_HEADER_LEN;
use ws_proto::deflate;
use ws_proto::frame::MAX_CONTROL_FRAME_LEN;
use ws_proto::handshake::server::{write_refusal, write_rejection};
use ws_proto::handshake::{self, Accept, Status};
use ws_proto::mask::{apply_mask, os_entropy, os_mask};
use ws_proto::message::MessageRef;
use ws_proto::session::{self, Messages};
use ws_proto::timer::{TimerConfig, TimerEvent};
use ws_proto::url::WsUrl;
use ws_proto::{
    CloseCode, ClosePayload, Connection, Event, HandshakeError, MessageKind, OpCode, ProtocolError,
    Role,
};

use crate::config::Config;
use crate::conn::{ClientHandshake, Conn, LoopMask, Phase};
use crate::error::{Error, SendError};
use crate::handler::{ConnectionId, Context, Handler, Opening, Refusal};
use crate::mailbox::{Delivery, PostOffice, Shared};
use crate::pool::BufferPool;

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
    /// The handler's timers (`Context::set_timer`): when each is due, in
    /// the order they were set, and its token.
    handler_timers: BinaryHeap<Reverse<(Instant, u64, u64)>>,
    /// How many handler timers were ever set (orders timers due at once).
    timers_set: u64,
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
            handler_timers: BinaryHeap::new(),
            timers_set: 0,
        }
    }

    /// Have the handler's `on_timer` called with `token` once `after`
    /// has passed.
    pub(crate) fn set_timer(&mut self, after: Duration, token: u64) {
        let due = Instant::now() + after;
        self.timers_set += 1;
        self.handler_timers
            .push(Reverse((due, self.timers_set, token)));
    }

    /// When the earliest handler timer is due, if one is set.
    pub(crate) fn next_handler_timer(&self) -> Option<Instant> {
        self.handler_timers.peek().map(|Reverse((due, _, _))| *due)
    }

    /// Call `on_timer` for every handler timer due at `now`, earliest
    /// first; timers set by those calls wait for a later turn even if
    /// they are due already, so a timer of zero cannot starve the loop.
    pub(crate) fn run_handler_timers<H: Handler<Data = D>>(
        &mut self,
        handler: &mut H,
        now: Instant,
    ) {
        let last = self.timers_set;
        while let Some(&Reverse((due, set, token))) = self.handler_timers.peek() {
            if due > now || set > last {
                break;
            }
            self.handler_timers.pop();
            handler.on_timer(&mut Context { core: self }, token);
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

    pub(crate) fn id_of(&self, index: usize) -> ConnectionId {
        ConnectionId {
            home: self.home,
            index: index as u32,
            generation: self.conns[index].generation,
        }
    }

    /// The slab index of a live connection of this loop with this id.
    fn index_of(&self, id: ConnectionId) -> Option<usize> {
        let index = id.index as usize;
        self.conns
            .get(index)
            .filter(|conn| conn.generation == id.generation && id.home == self.home)
            .map(|_| index)
    }

    /// Whether one more accepted connection fits under the loop's
    /// `max_connections` and the server's `max_server_connections`; if it
    /// does, it is counted against the latter (given back by
    /// [`remove`](Self::remove), or by [`insert_accepted`](Self::insert_accepted) failing).
    pub(crate) fn take_slot(&self) -> bool {
        if self.conns.len() >= self.config.max_connections {
            return false;
        }
        let cap = self.config.max_server_connections.unwrap_or(usize::MAX);
        match &self.office {
            Some(office) => office.take_connection(cap),
            None => self.conns.len() < cap,
        }
    }

    /// Register an accepted socket that [`take_slot`](Self::take_slot)
    /// made room for; returns its index.
    pub(crate) fn insert_accepted(&mut self, stream: TcpStream, phase: Phase) -> io::Result<usize> {
        let inserted = self.insert(stream, phase, Role::Server);
        if inserted.is_err() {
            if let Some(office) = &self.office {
                office.release_connection();
            }
        }
        inserted
    }

    /// Register a new socket; returns its index.
    pub(crate) fn insert(
        &mut self,
        mut stream: TcpStream,
        phase: Phase,
        role: Role,
    ) -> io::Result<usize> {
        let entry = self.conns.vacant_entry();
        let index = entry.key();
        self.registry.register(
            &mut stream,
            Token(index),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        if self.config.nodelay {
            // Not fatal: the connection works without it.
            let _ = stream.set_nodelay(true);
        }
        self.next_generation = self.next_generation.wrapping_add(1);
        let mask = match role {
            Role::Server => LoopMask::Server,
            Role::Client => LoopMask::Client(Box::new(os_mask())),
        };
        let proto = Connection::new(role, self.config.protocol, mask);
        let messages =
            Messages::new(self.config.max_message_len()).with_budget(&self.config.memory_budget);
        let now = Instant::now();
        let clock = now.saturating_duration_since(self.origin);
        let conn = Conn::new(
            stream,
            self.next_generation,
            phase,
            proto,
            messages,
            now,
            clock,
        );
        entry.insert(conn);
        Ok(index)
    }

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

    fn queue_frame(
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
        let kind = match opcode {
            OpCode::Text => Some(MessageKind::Text),
            OpCode::Binary => Some(MessageKind::Binary),
            _ => None,
        };
        if let Some(kind) = kind {
            let encoded =
                conn.messages
                    .encode_message(&mut conn.proto, kind, payload, &mut conn.out);
            return match encoded {
                Ok(_) => Ok(()),
                Err(err) => {
                    if err.close_code().is_some() {
                        // The compressor failed: the close (1011) it
                        // queued goes out, and the close deadline runs.
                        let now = self.clock(Instant::now());
                        self.conns[index].timers.on_close_sent(now);
                        self.mark_dirty(index);
                    }
                    Err(refused(err))
                }
            };
        }
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
    fn broadcast_here(
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

    /// Hand a delivery to loop `home`'s mailbox.
    fn post(&self, home: u16, delivery: Delivery) -> Result<(), SendError> {
        let office = self.office.as_ref().ok_or(SendError::NotFound)?;
        let home = usize::from(home);
        if home >= office.loops() {
            return Err(SendError::NotFound);
        }
        office
            .post(home, delivery)
            .map_err(|_| SendError::QueueFull)
    }

    /// Whether other loops posted mail that this loop has not taken.
    pub(crate) fn has_mail(&self) -> bool {
        self.office
            .as_ref()
            .is_some_and(|office| office.has_mail(usize::from(self.home)))
    }

    /// Carry out what the other loops posted to this one, in the order
    /// they posted it.
    pub(crate) fn deliver_mail<H: Handler<Data = D>>(&mut self, handler: &mut H) {
        let Some(office) = &self.office else {
            return;
        };
        let home = usize::from(self.home);
        let mut mail = std::mem::take(&mut self.mail);
        if office.take(home, &mut mail) {
            let office = Arc::clone(office);
            for delivery in mail.drain(..) {
                self.deliver(handler, &delivery);
                office.delivered(home, &delivery);
            }
        }
        self.mail = mail;
    }

    fn deliver<H: Handler<Data = D>>(&mut self, handler: &mut H, delivery: &Delivery) {
        match delivery {
            Delivery::Send { to, message } => {
                let Some(index) = self.index_of(*to) else {
                    // Gone since it was sent: like a send a moment later.
                    return;
                };
                match self.queue_frame(index, message.kind.opcode(), &message.bytes) {
                    Ok(()) => self.mark_dirty(index),
                    Err(SendError::QueueFull) => self.undelivered(handler, &[*to]),
                    // Closing: nothing more goes to it.
                    Err(_) => {}
                }
            }
            Delivery::Broadcast { except, message } => {
                let (_, full) = self.broadcast_here(message.kind.opcode(), &message.bytes, *except);
                self.undelivered(handler, &full);
            }
            Delivery::Close { id, code, reason } => {
                if let Some(index) = self.index_of(*id) {
                    let _ = self.start_close(index, *code, reason);
                }
            }
        }
    }

    /// Tell the handler that mail for these connections found their
    /// queues full.
    fn undelivered<H: Handler<Data = D>>(&mut self, handler: &mut H, ids: &[ConnectionId]) {
        let error = Error::Undelivered(SendError::QueueFull);
        for &id in ids {
            handler.on_error(&mut Context { core: self }, id, &error);
        }
    }

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

    /// A connection was opened (`on_open` accepted it) or removed after
    /// opening: keep the count the other loops' broadcasts report.
    fn count_opened(&mut self, opened: bool) {
        if opened {
            self.opened += 1;
        } else {
            self.opened = self.opened.saturating_sub(1);
        }
        if let Some(office) = &self.office {
            office.set_open_count(usize::from(self.home), self.opened);
        }
    }

    /// Shutdown: queue our close behind whatever is queued, and start its
    /// close deadline only once all of it is written (see
    /// [`flush`](Self::flush)); until then the connection is bounded by
    /// write progress (see [`sweep`](Self::sweep)).
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
        Ok(())
    }

    pub(crate) fn data(&mut self, id: ConnectionId) -> Option<&mut D> {
        let index = self.index_of(id)?;
        self.conns[index].data.as_mut()
    }

    pub(crate) fn open_ids(&self) -> impl Iterator<Item = ConnectionId> + '_ {
        self.conns
            .iter()
            .filter(|(_, conn)| conn.is_open())
            .map(|(index, conn)| ConnectionId {
                home: self.home,
                index: index as u32,
                generation: conn.generation,
            })
    }

    pub(crate) fn queued(&self, id: ConnectionId) -> Option<usize> {
        self.index_of(id).map(|index| self.conns[index].queued())
    }

    /// Start a client connection: non-blocking connect, request queued.
    /// Name resolution blocks; give an IP address to avoid it.
    pub(crate) fn connect(&mut self, url: &str) -> Result<ConnectionId, Error> {
        let url = WsUrl::parse(url).map_err(|err| Error::Url(err.0))?;
        let addr = (url.host.as_str(), url.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| Error::Url(format!("{} resolves to no address", url.host)))?;
        let mut key = [0u8; 16];
        os_entropy(&mut key);
        let mut handshake = handshake::ClientHandshake::new(&url.host_header(), &url.path, key)
            .map_err(Error::Handshake)?;
        for subprotocol in &self.config.subprotocols {
            handshake
                .offer_subprotocol(subprotocol)
                .map_err(Error::Handshake)?;
        }
        if let Some(compression) = self.config.compression {
            handshake.offer_deflate(compression.negotiation);
        }
        handshake.set_max_header_len(self.config.max_handshake_header);
        let mut bytes = vec![0; handshake.request_capacity(&[])];
        let len = handshake
            .write_request(&[], &mut bytes)
            .map_err(Error::Handshake)?;
        bytes.truncate(len);
        let stream = TcpStream::connect(addr)?;
        let handshake = ClientHandshake {
            handshake,
            reported: false,
        };
        let phase = Phase::ClientHandshake(Box::new(handshake));
        let index = self.insert(stream, phase, Role::Client)?;
        if let Some(office) = &self.office {
            // Counted, not capped: the cap is on what the server accepts.
            office.add_connection();
        }
        self.conns[index].out = bytes;
        self.mark_dirty(index);
        Ok(self.id_of(index))
    }

    /// Move the control frames the protocol core queued (pongs, a close)
    /// to the connection's outgoing bytes, and mark it for flushing: every
    /// byte queued for a peer leaves in the turn that queued it.
    pub(crate) fn take_control_frames(&mut self, index: usize) {
        let Some(conn) = self.conns.get_mut(index) else {
            return;
        };
        if conn.proto.wants_transmit() {
            queue_control_frames(conn);
            self.mark_dirty(index);
        }
    }

    /// Write what is queued, until done or the socket would block. Removes
    /// the connection when it is finished with (closed, refused) or broken.
    pub(crate) fn flush<H: Handler<Data = D>>(&mut self, handler: &mut H, index: usize) {
        let Some(conn) = self.conns.get_mut(index) else {
            return;
        };
        conn.dirty = false;
        queue_control_frames(conn);
        while conn.out_pos < conn.out.len() {
            match conn.stream.write(&conn.out[conn.out_pos..]) {
                Ok(0) => return self.lost(handler, index, io::ErrorKind::WriteZero.into()),
                Ok(written) => {
                    conn.out_pos += written;
                    conn.last_write = self.turn_started;
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                // Not connected yet (client): the writable event will come.
                Err(err) if err.kind() == io::ErrorKind::NotConnected => break,
                Err(err) => return self.lost(handler, index, err),
            }
        }
        let drained = conn.out_pos == conn.out.len();
        if drained {
            conn.out_pos = 0;
            let out = std::mem::take(&mut conn.out);
            self.pool.give(out);
            if conn.close_unwritten {
                // The shutdown's close is out: the peer's answer is due
                // within the close timeout from now.
                conn.close_unwritten = false;
                let now = self.turn_started.saturating_duration_since(self.origin);
                self.conns[index].timers.on_close_sent(now);
            }
        }
        let conn = &mut self.conns[index];
        let finished = match conn.phase {
            Phase::Refused => drained,
            Phase::Open => drained && conn.proto.state() == ws_proto::State::Closed,
            _ => false,
        };
        if finished {
            return self.remove(handler, index);
        }
        if conn.read_paused && conn.queued() < self.config.high_water() {
            conn.read_paused = false;
            self.again.push(index);
        }
        if conn.wants_writable && conn.queued() <= self.config.low_water() {
            conn.wants_writable = false;
            if conn.is_open() {
                let id = self.id_of(index);
                handler.on_writable(&mut Context { core: self }, id);
            }
        }
    }

    /// Flush every connection that has something queued and was not
    /// flushed since (see [`flush_if_dirty`](Self::flush_if_dirty)).
    pub(crate) fn flush_dirty<H: Handler<Data = D>>(&mut self, handler: &mut H) {
        while let Some(index) = self.dirty.pop() {
            self.flush_if_dirty(handler, index);
        }
    }

    /// Flush one connection if something was queued for it since its last
    /// flush. Called right after a read's frames are handled, so an echo
    /// leaves while its bytes are still in cache, in one write per read
    /// (all the replies to that read together), instead of after every
    /// other ready connection has been read: with hundreds of connections
    /// ready at once, their queued 16 KiB replies no longer fit in cache by
    /// the end of the turn.
    pub(crate) fn flush_if_dirty<H: Handler<Data = D>>(&mut self, handler: &mut H, index: usize) {
        if self.conns.get(index).is_some_and(|conn| conn.dirty) {
            self.flush(handler, index);
        }
    }

    /// The peer's bytes (in `buf[pos..end]`, with headroom before `pos`)
    /// through the protocol core and into the handler. Returns false if
    /// the connection is gone.
    pub(crate) fn process<H: Handler<Data = D>>(
        &mut self,
        handler: &mut H,
        buf: &mut [u8],
        index: usize,
        mut pos: usize,
        end: usize,
    ) -> bool {
        let id = self.id_of(index);
        loop {
            let Some(conn) = self.conns.get_mut(index) else {
                return false;
            };
            let (consumed, event) = match conn.proto.receive(&mut buf[pos..end]) {
                Ok(step) => step,
                Err(err) => {
                    self.fail(handler, index, err);
                    return self.conns.contains(index);
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
            let Some(event) = event else {
                if replied {
                    continue;
                }
                break;
            };
            let mut ctx = Context { core: self };
            match event {
                Event::Data(chunk) => {
                    if let Err(err) = self.receive_chunk(handler, index, id, &chunk) {
                        self.fail(handler, index, err);
                        return self.conns.contains(index);
                    }
                }
                Event::Ping(payload) => handler.on_ping(&mut ctx, id, payload),
                Event::Pong(payload) => handler.on_pong(&mut ctx, id, payload),
                Event::Close(close) => {
                    if let Some(conn) = ctx.core.conns.get_mut(index) {
                        conn.close_reported = true;
                    }
                    handler.on_close(&mut ctx, id, close.code, close.reason);
                }
            }
        }
        let Some(conn) = self.conns.get_mut(index) else {
            return false;
        };
        if pos < end {
            if conn.inbuf.capacity() == 0 {
                conn.inbuf = self.pool.take();
            }
            conn.inbuf.extend_from_slice(&buf[pos..end]);
        }
        // Queued replies go out; a finished close handshake closes the
        // socket, which happens in `flush` too.
        if conn.proto.wants_transmit() || conn.proto.state() == ws_proto::State::Closed {
            self.mark_dirty(index);
        }
        true
    }

    /// A chunk of a message: hand the message over when it is complete
    /// (gathered in, or inflated into, a pooled buffer that goes back to
    /// the pool after the handler saw it).
    fn receive_chunk<H: Handler<Data = D>>(
        &mut self,
        handler: &mut H,
        index: usize,
        id: ConnectionId,
        chunk: &ws_proto::DataChunk<'_>,
    ) -> Result<(), ProtocolError> {
        let pool = &mut self.pool;
        let received = self.conns[index]
            .messages
            .receive_with(chunk, || pool.take())?;
        let Some(message) = received else {
            return Ok(());
        };
        handler.on_message(&mut Context { core: self }, id, message.as_ref());
        if let Some(buffer) = message.into_buffer() {
            self.pool.give(buffer);
        }
        Ok(())
    }

    /// The core found a protocol error: it queued the close frame; tell the
    /// handler, and write the close (the connection goes once it is out).
    pub(crate) fn fail<H: Handler<Data = D>>(
        &mut self,
        handler: &mut H,
        index: usize,
        err: ProtocolError,
    ) {
        let id = self.id_of(index);
        let now = self.clock(Instant::now());
        let conn = &mut self.conns[index];
        if conn.proto.failure().is_none() {
            conn.proto.fail(err);
        }
        conn.timers.on_close_sent(now);
        let report_close = conn.opened && !conn.close_reported;
        conn.close_reported = true;
        let mut ctx = Context { core: self };
        handler.on_error(&mut ctx, id, &Error::Protocol(err));
        if report_close {
            handler.on_close(&mut ctx, id, err.close_code(), err.reason());
        }
        self.mark_dirty(index);
    }

    /// The connection broke (reset, end of stream, write error).
    pub(crate) fn lost<H: Handler<Data = D>>(
        &mut self,
        handler: &mut H,
        index: usize,
        err: io::Error,
    ) {
        let conn = &self.conns[index];
        // A vanished peer is reported through on_close (1006); other
        // failures through on_error too; a failed outgoing connection
        // (refused, reset, ended during the handshake) through on_error.
        let open_and_broken =
            conn.opened && !conn.close_reported && err.kind() != io::ErrorKind::UnexpectedEof;
        if open_and_broken {
            let id = self.id_of(index);
            handler.on_error(&mut Context { core: self }, id, &Error::Io(err));
        } else {
            self.report_failed_connect(handler, index, &Error::Io(err));
        }
        self.remove(handler, index);
    }

    /// A client connection that is still in its opening handshake ends:
    /// tell the handler why with `on_error`, once. Its `on_open` never
    /// ran, so no `on_close` follows: this is the only word it gets of a
    /// connection it asked for. Does nothing for other connections.
    pub(crate) fn report_failed_connect<H: Handler<Data = D>>(
        &mut self,
        handler: &mut H,
        index: usize,
        error: &Error,
    ) {
        let Some(conn) = self.conns.get_mut(index) else {
            return;
        };
        let Phase::ClientHandshake(state) = &mut conn.phase else {
            return;
        };
        if state.reported {
            return;
        }
        state.reported = true;
        let id = self.id_of(index);
        handler.on_error(&mut Context { core: self }, id, error);
    }

    /// Drop a connection: owed `on_close` (1006 when nothing was said),
    /// buffers back to the pool, socket closed.
    pub(crate) fn remove<H: Handler<Data = D>>(&mut self, handler: &mut H, index: usize) {
        let Some(conn) = self.conns.get_mut(index) else {
            return;
        };
        if conn.opened && !conn.close_reported {
            conn.close_reported = true;
            let id = self.id_of(index);
            handler.on_close(&mut Context { core: self }, id, CloseCode::ABNORMAL, "");
        }
        // Every path that drops a client in its handshake reports its own
        // reason first; this catches any that does not, so the handler is
        // never left waiting for an `on_open` that will not come. (The
        // error is made only then: closing a connection allocates nothing.)
        let unreported = matches!(
            &self.conns[index].phase,
            Phase::ClientHandshake(state) if !state.reported
        );
        if unreported {
            let dropped = io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "dropped before the opening handshake completed",
            );
            self.report_failed_connect(handler, index, &Error::Io(dropped));
        }
        let mut conn = self.conns.remove(index);
        self.descriptor_freed = true;
        if let Some(office) = &self.office {
            office.release_connection();
        }
        if conn.opened {
            self.count_opened(false);
        }
        let _ = self.registry.deregister(&mut conn.stream);
        self.pool.give(std::mem::take(&mut conn.inbuf));
        self.pool.give(std::mem::take(&mut conn.out));
        self.pool.give(conn.messages.take_buffer());
    }

    /// Answer a bad upgrade request and close once the answer is out.
    pub(crate) fn refuse(&mut self, index: usize, status: Result<HandshakeError, Refusal>) {
        let now = self.clock(Instant::now());
        let conn = &mut self.conns[index];
        conn.phase = Phase::Refused;
        conn.out.clear();
        conn.out_pos = 0;
        conn.out.resize(512, 0);
        let written = match status {
            // A status outside 400 to 599 cannot be sent as a refusal.
            Err(refusal) => write_rejection(refusal.status, &[], b"", &mut conn.out)
                .or_else(|_| write_rejection(500, &[], b"", &mut conn.out))
                .unwrap_or(0),
            Ok(error) => write_refusal(&error, &mut conn.out).unwrap_or(0),
        };
        conn.out.truncate(written);
        // The refusal has the close timeout to go out.
        conn.timers.on_close_sent(now);
        self.mark_dirty(index);
    }

    /// Server side: the request in `inbuf` is complete and valid, or
    /// refused. On success the handler's `on_open` decides, the 101 goes
    /// out, and bytes after the request are passed on. Returns the range of
    /// those bytes, copied to `buf` after the headroom.
    pub(crate) fn finish_server_handshake<H: Handler<Data = D>>(
        &mut self,
        handler: &mut H,
        buf: &mut [u8],
        index: usize,
    ) -> Option<usize> {
        let conn = &mut self.conns[index];
        let bytes = std::mem::take(&mut conn.inbuf);
        let Phase::ServerHandshake(handshake) = &mut conn.phase else {
            return None;
        };
        let incoming = match handshake.feed(&bytes) {
            Ok(Status::Complete(incoming)) => incoming,
            Ok(Status::Partial) => {
                conn.inbuf = bytes;
                return None;
            }
            Err(error) => {
                self.pool.give(bytes);
                self.refuse(index, Ok(error));
                return None;
            }
        };
        let request = incoming.request();
        if let Some(allowed) = &self.config.allowed_origins {
            let listed = request
                .header("origin")
                .and_then(|origin| std::str::from_utf8(origin).ok())
                .is_some_and(|origin| {
                    let origin = origin.trim();
                    allowed.iter().any(|ok| ok.eq_ignore_ascii_case(origin))
                });
            if !listed {
                self.pool.give(bytes);
                self.refuse(index, Err(Refusal { status: 403 }));
                return None;
            }
        }
        let supported: Vec<&str> = self
            .config
            .subprotocols
            .iter()
            .map(String::as_str)
            .collect();
        let chosen = request.choose_subprotocol(&supported).map(str::to_owned);
        let chosen = chosen.as_deref();
        let answer = Accept {
            subprotocol: chosen,
            headers: &[],
        };
        conn.out.resize(
            384 + chosen.map_or(0, str::len) + deflate::HEADER_CAPACITY,
            0,
        );
        let written = incoming
            .accept(&answer, &mut conn.out)
            .map_or(0, |done| done.response_len);
        conn.out.truncate(written);
        if let (Some(params), Some(compression)) = (incoming.deflate(), self.config.compression) {
            self.enable_deflate(index, Role::Server, params, compression);
        }
        let heard = self.clock(self.conns[index].last_read);
        let conn = &mut self.conns[index];
        conn.phase = Phase::Open;
        conn.timers.on_open(heard);
        let id = self.id_of(index);
        let opened = handler.on_open(
            &mut Context { core: self },
            id,
            &Opening::Request(request, chosen),
        );
        let early = pass_on_early_bytes(buf, &bytes[incoming.consumed()..]);
        self.pool.give(bytes);
        let conn = self.conns.get_mut(index)?;
        match opened {
            Ok(data) => {
                conn.data = Some(data);
                conn.opened = true;
                self.count_opened(true);
                self.mark_dirty(index);
                Some(early)
            }
            Err(refusal) => {
                self.refuse(index, Err(refusal));
                None
            }
        }
    }

    /// Client side: feed `inbuf` to the connection's ws-proto
    /// `ClientHandshake`; once it has checked a complete response, open
    /// the connection.
    /// Returns the number of bytes after the response, copied to `buf`
    /// after the headroom.
    pub(crate) fn finish_client_handshake<H: Handler<Data = D>>(
        &mut self,
        handler: &mut H,
        buf: &mut [u8],
        index: usize,
    ) -> Option<usize> {
        let conn = &mut self.conns[index];
        let Phase::ClientHandshake(state) = &mut conn.phase else {
            return None;
        };
        let bytes = std::mem::take(&mut conn.inbuf);
        let done = match state.handshake.feed(&bytes) {
            Ok(Status::Complete(done)) => done,
            Ok(Status::Partial) => {
                self.conns[index].inbuf = bytes;
                return None;
            }
            Err(err) => {
                let error = match err {
                    HandshakeError::BadStatus(status) => Error::HttpStatus(status),
                    HandshakeError::Deflate(err) => Error::Extension(err),
                    err => Error::Handshake(err),
                };
                self.report_failed_connect(handler, index, &error);
                self.pool.give(bytes);
                self.remove(handler, index);
                return None;
            }
        };
        let id = self.id_of(index);
        let deflate = done.deflate.zip(self.config.compression);
        let heard = self.clock(self.conns[index].last_read);
        let conn = &mut self.conns[index];
        conn.phase = Phase::Open;
        conn.timers.on_open(heard);
        if let Some((params, c)) = deflate {
            self.enable_deflate(index, Role::Client, params, c);
        }
        let opened = handler.on_open(
            &mut Context { core: self },
            id,
            &Opening::Response(&done.response),
        );
        let early = pass_on_early_bytes(buf, &bytes[done.consumed..]);
        self.pool.give(bytes);
        let conn = self.conns.get_mut(index)?;
        match opened {
            Ok(data) => {
                conn.data = Some(data);
                conn.opened = true;
                self.count_opened(true);
                self.mark_dirty(index);
                Some(early)
            }
            Err(_) => {
                self.remove(handler, index);
                None
            }
        }
    }

    /// Turn on permessage-deflate for a connection whose handshake agreed it.
    fn enable_deflate(
        &mut self,
        index: usize,
        role: Role,
        params: ws_proto::deflate::DeflateParams,
        compression: ws_proto::deflate::CompressionConfig,
    ) {
        let conn = &mut self.conns[index];
        debug_assert_eq!(conn.proto.role(), role);
        conn.messages
            .enable_deflate(&mut conn.proto, params, compression);
    }

    /// Check every connection's timers.
    pub(crate) fn sweep<H: Handler<Data = D>>(
        &mut self,
        handler: &mut H,
        now: Instant,
        expired: &mut Vec<(usize, Timer)>,
    ) {
        expired.clear();
        let release_after = self.config.release_compressor_after;
        for (_, conn) in &mut self.conns {
            // Quiet both ways: give back zlib state that no context needs
            // (made again on the next message).
            let quiet = now
                .duration_since(conn.last_read)
                .min(now.duration_since(conn.last_write));
            if quiet >= release_after {
                conn.messages.release_idle();
            }
        }
        let timers = self.config.timers();
        // While shutting down, a connection still writing its queue (the
        // 1001 behind it) goes once it makes no progress for the close
        // timeout, if that is shorter than the stall timeout.
        let stall = if self.shutting_down {
            self.config.stall_timeout.min(self.config.close_timeout)
        } else {
            self.config.stall_timeout
        };
        let clock = self.clock(now);
        for (index, conn) in &mut self.conns {
            if let Some(timer) = due_timer(conn, &timers, stall, now, clock) {
                expired.push((index, timer));
            }
        }
        for &(index, timer) in expired.iter() {
            if !self.conns.contains(index) {
                continue;
            }
            match timer {
                Timer::Ping => {
                    let id = self.id_of(index);
                    let _ = self.send_frame(id, OpCode::Ping, b"");
                }
                Timer::PongMissing => {
                    let id = self.id_of(index);
                    handler.on_error(
                        &mut Context { core: self },
                        id,
                        &Error::Timeout("no answer to an idle ping"),
                    );
                    if self
                        .start_close(index, CloseCode::GOING_AWAY, "idle timeout")
                        .is_err()
                    {
                        self.remove(handler, index);
                    }
                }
                Timer::Expired(what) => {
                    let id = self.id_of(index);
                    if self.conns[index].opened {
                        handler.on_error(&mut Context { core: self }, id, &Error::Timeout(what));
                    } else {
                        // A client whose server never answered (or whose
                        // connect never completed) in `handshake_timeout`.
                        self.report_failed_connect(handler, index, &Error::Timeout(what));
                    }
                    self.remove(handler, index);
                }
            }
        }
    }

    /// Read what the socket has into `inbuf` during a handshake, never
    /// taking the block past the cap by more than one byte.
    pub(crate) fn read_handshake_bytes(
        &mut self,
        index: usize,
        chunk: &mut [u8],
    ) -> io::Result<usize> {
        let cap = self.config.max_handshake_header;
        let conn = &mut self.conns[index];
        if conn.inbuf.capacity() == 0 {
            conn.inbuf = self.pool.take();
        }
        let room = (cap + 1)
            .saturating_sub(conn.inbuf.len())
            .clamp(1, chunk.len());
        let read = conn.stream.read(&mut chunk[..room])?;
        conn.inbuf.extend_from_slice(&chunk[..read]);
        Ok(read)
    }
}

/// A refused send, as the handler sees it.
fn refused(err: session::Error) -> SendError {
    match err {
        session::Error::Send(err) => SendError::Refused(err),
        // Encoding fails only with a send error.
        _ => SendError::Refused(ws_proto::SendError::Closed),
    }
}

/// Copy the bytes that came after a handshake head (frames sent at once)
/// into `buf` after the headroom; returns how many.
fn pass_on_early_bytes(buf: &mut [u8], rest: &[u8]) -> usize {
    let early = rest.len().min(buf.len() - HEADROOM);
    buf[HEADROOM..HEADROOM + early].copy_from_slice(&rest[..early]);
    early
}

/// Move the control frames the protocol core has queued (pongs, close)
/// to the end of the connection's outgoing bytes.
fn queue_control_frames<D>(conn: &mut Conn<D>) {
    while conn.proto.wants_transmit() {
        let start = conn.out.len();
        conn.out.resize(start + 2 * MAX_CONTROL_FRAME_LEN, 0);
        let written = conn.proto.poll_transmit(&mut conn.out[start..]);
        conn.out.truncate(start + written);
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
        TimerEvent::PeerSilent => Some(Timer::PongMissing),
        // No message limit here, and the other two end phases that are
        // not open.
        _ => None,
    }
}

/// A timer that ran out.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Timer {
    Ping,
    PongMissing,
    Expired(&'static str),
}
