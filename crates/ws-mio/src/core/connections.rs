//! The table of connections: slab indices, generations and ids, slots
//! under the connection caps, and the data the handler keeps per
//! connection.

use std::io;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Token};
use ws_proto::mask::os_mask;
use ws_proto::session::Messages;
use ws_proto::{Connection, Role};

use super::Core;
use crate::conn::{Conn, LoopMask, Phase};
use crate::id::ConnectionId;
use crate::tls::TlsLayer;

impl<D> Core<D> {
    pub(crate) fn id_of(&self, index: usize) -> ConnectionId {
        ConnectionId {
            home: self.home,
            index: index as u32,
            generation: self.conns[index].generation,
        }
    }

    /// The slab index of a live connection of this loop with this id.
    pub(crate) fn index_of(&self, id: ConnectionId) -> Option<usize> {
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
    pub(crate) fn insert_accepted(
        &mut self,
        stream: TcpStream,
        tls: Option<Box<TlsLayer>>,
        phase: Phase,
    ) -> io::Result<usize> {
        let inserted = self.insert(stream, tls, phase, Role::Server);
        if inserted.is_err() {
            self.give_back_slot();
        }
        inserted
    }

    /// A slot [`take_slot`](Self::take_slot) counted is not used after all.
    pub(crate) fn give_back_slot(&self) {
        if let Some(office) = &self.office {
            office.release_connection();
        }
    }

    /// Register a new socket, its handshake deadline armed; returns its
    /// index.
    pub(crate) fn insert(
        &mut self,
        mut stream: TcpStream,
        tls: Option<Box<TlsLayer>>,
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
        let proto = Connection::new(role, self.config.session.protocol, mask);
        let messages = Messages::new(self.config.session.max_message_len())
            .with_budget(&self.config.session.memory_budget);
        let now = Instant::now();
        let clock = now.saturating_duration_since(self.origin);
        let mut conn = Conn::new(
            stream,
            self.next_generation,
            phase,
            proto,
            messages,
            now,
            clock,
        );
        conn.tls = tls;
        entry.insert(conn);
        self.arm(index);
        Ok(index)
    }

    /// The data of a connection of this loop: a live one's, or a removed
    /// one's whose `on_close` is being delivered.
    pub(crate) fn data(&mut self, id: ConnectionId) -> Option<&mut D> {
        match self.index_of(id) {
            Some(index) => self.conns[index].data.as_mut(),
            None => self
                .departed
                .iter_mut()
                .find(|(gone, _)| *gone == id)
                .map(|(_, data)| data),
        }
    }

    /// Keep a removed connection's data until its queued events are
    /// delivered (see [`Event::Gone`](super::Event::Gone)).
    pub(crate) fn keep_departed(&mut self, id: ConnectionId, data: D) {
        self.departed.push((id, data));
        self.events.push_back(super::Event::Gone { id });
    }

    /// The last event of a removed connection was delivered: drop its data.
    pub(crate) fn forget(&mut self, id: ConnectionId) {
        if let Some(at) = self.departed.iter().position(|(gone, _)| *gone == id) {
            self.departed.swap_remove(at);
        }
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

    /// A connection was opened (`on_open` accepted it) or removed after
    /// opening: keep the count the other loops' broadcasts report.
    pub(crate) fn count_opened(&mut self, opened: bool) {
        if opened {
            self.opened += 1;
        } else {
            self.opened = self.opened.saturating_sub(1);
        }
        if let Some(office) = &self.office {
            office.set_open_count(usize::from(self.home), self.opened);
        }
    }

    /// Something arrived: the idle timer restarts and an idle ping is
    /// answered. (Its deadline only moves later: the armed one stays, and
    /// re-arms when it comes; see `timers`.)
    pub(crate) fn heard_from(&mut self, index: usize) {
        let heard = self.clock(self.turn_started);
        let conn = &mut self.conns[index];
        conn.last_read = self.turn_started;
        conn.timers.on_receive(heard);
    }
}
