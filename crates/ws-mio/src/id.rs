//! Connection ids: what the handler names a connection by, and what the
//! loop checks it against (its slab index and that slot's generation).

use std::fmt;

/// Names a connection of a [`Server`](crate::Server) (any of its loops)
/// or of a lone [`EventLoop`](crate::EventLoop). Ids are not reused while
/// the loop runs: an id of a closed connection is simply not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId {
    /// The loop the connection lives on (0 for a lone `EventLoop`).
    pub(crate) home: u16,
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl ConnectionId {
    /// The loop of the server that serves this connection (0 to
    /// `threads - 1`; always 0 for a lone [`EventLoop`](crate::EventLoop)).
    pub fn loop_index(&self) -> usize {
        usize::from(self.home)
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}.{}", self.home, self.index, self.generation)
    }
}
