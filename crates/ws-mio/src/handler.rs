//! What the user writes: a [`Handler`] with callbacks, given a
//! [`Context`] to act on any connection of the loop.

use std::net::SocketAddr;
use std::time::Duration;
use ws_proto::handshake::Refusal;

use ws_proto::handshake::client::Response;
use ws_proto::handshake::server::Request;
use ws_proto::message::MessageRef;
use ws_proto::CloseCode;

use crate::core::Core;
use crate::error::{Error, SendError};
use crate::id::ConnectionId;

/// How a connection was opened: the client's request (server side) or
/// the server's response (client side), and the agreed subprotocol.
///
/// It is `#[non_exhaustive]`: a way of opening may be added (a TLS
/// handshake's details, say), so a `match` on it needs a `_` arm; the
/// methods answer for every kind.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Opening<'a> {
    /// We accepted this upgrade request.
    Request(&'a Request<'a>, Option<&'a str>),
    /// Our connection was accepted with this response.
    Response(&'a Response<'a>),
}

impl<'a> Opening<'a> {
    /// The request target (path and query); empty on the client side.
    pub fn path(&self) -> &'a str {
        match self {
            Opening::Request(request, _) => request.path(),
            Opening::Response(_) => "",
        }
    }

    /// The first header of that name (case-insensitive), of the request or
    /// the response.
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        match self {
            Opening::Request(request, _) => request.header(name),
            Opening::Response(response) => response.header(name),
        }
    }

    /// The subprotocol agreed, if any.
    pub fn subprotocol(&self) -> Option<&'a str> {
        match self {
            Opening::Request(_, chosen) => *chosen,
            Opening::Response(response) => response.subprotocol(),
        }
    }
}

/// The callbacks of an event loop. Every callback gets a [`Context`] that
/// can send to and close any connection of the server (whichever loop
/// serves it), and look up the connections of its own loop.
///
/// Only [`on_open`](Self::on_open) (which makes each connection's data,
/// or refuses it) and [`on_message`](Self::on_message) must be written;
/// the rest have defaults. Each connection that was opened sees exactly one
/// [`on_close`](Self::on_close); each client connection asked for with
/// `connect` that never opens sees exactly one
/// [`on_error`](Self::on_error) instead.
pub trait Handler {
    /// Data kept per connection, returned by [`on_open`](Self::on_open)
    /// and reachable through [`Context::data`].
    type Data;

    /// A connection is open (server side: before the 101 response is
    /// sent, so the handler can still refuse it). Sends made here go out
    /// right after the 101.
    ///
    /// A server's `Err(Refusal)` is sent as the HTTP answer (status,
    /// headers, body; one that cannot be sent as given, see
    /// [`Refusal::write`], becomes a bare 500) and the connection closed;
    /// on a client connection it only closes the connection.
    fn on_open(
        &mut self,
        ctx: &mut Context<'_, Self::Data>,
        id: ConnectionId,
        opening: &Opening<'_>,
    ) -> Result<Self::Data, Refusal>;

    /// A whole text or binary message arrived; it borrows the loop's
    /// buffers, so copy what must outlive the call.
    fn on_message(
        &mut self,
        ctx: &mut Context<'_, Self::Data>,
        id: ConnectionId,
        message: MessageRef<'_>,
    );

    /// A ping arrived (a pong is already queued unless auto-pong is off).
    fn on_ping(&mut self, ctx: &mut Context<'_, Self::Data>, id: ConnectionId, payload: &[u8]) {
        let _ = (ctx, id, payload);
    }

    /// A pong arrived.
    fn on_pong(&mut self, ctx: &mut Context<'_, Self::Data>, id: ConnectionId, payload: &[u8]) {
        let _ = (ctx, id, payload);
    }

    /// A send to `id` was refused with
    /// [`SendError::QueueFull`](crate::SendError::QueueFull) (its queue
    /// held [`Config::max_outgoing`](crate::Config::max_outgoing) bytes),
    /// and the queue has since drained to half of that: send again. Called
    /// once per refusal (however many sends were refused before it), only
    /// while the connection is open; a queue full of mail from other loops
    /// or of a broadcast counts too. Default: nothing.
    fn on_writable(&mut self, ctx: &mut Context<'_, Self::Data>, id: ConnectionId) {
        let _ = (ctx, id);
    }

    /// A timer set with [`Context::set_timer`] is due: `token` is the one
    /// it was set with. Default: nothing.
    fn on_timer(&mut self, ctx: &mut Context<'_, Self::Data>, token: u64) {
        let _ = (ctx, token);
    }

    /// The connection is closing or closed: the peer's close frame
    /// arrived, we failed it (the code we sent), or it was lost
    /// ([`CloseCode::ABNORMAL`]). Called once per opened connection; its
    /// data is still reachable here and dropped after.
    fn on_close(
        &mut self,
        ctx: &mut Context<'_, Self::Data>,
        id: ConnectionId,
        code: CloseCode,
        reason: &str,
    ) {
        let _ = (ctx, id, code, reason);
    }

    /// Something went wrong on a connection: a protocol error (before its
    /// `on_close`), a timeout, a failed outgoing connection or handshake.
    ///
    /// A client connection ([`Context::connect`],
    /// [`EventLoop::connect`](crate::EventLoop::connect)) that ends before
    /// its `on_open` is reported here exactly once, and nothing follows
    /// for it: the connect failed or was refused, or the connection was
    /// reset or ended ([`Error::Io`]); the server did not answer within
    /// `handshake_timeout` ([`Error::Timeout`]); its answer was not a
    /// valid 101 ([`Error::HttpStatus`], [`Error::Handshake`],
    /// [`Error::Extension`]); or the loop shut down first ([`Error::Io`]
    /// of kind `ConnectionAborted`). A client connection whose `on_open`
    /// refused it hears nothing more.
    fn on_error(&mut self, ctx: &mut Context<'_, Self::Data>, id: ConnectionId, error: &Error) {
        let _ = (ctx, id, error);
    }
}

/// The handler's access to the server's connections. The loop makes one
/// for each callback (the core never calls the handler itself).
///
/// # Connections of other loops
/// A [`Server`](crate::Server) with several loops gives each its own
/// connections. [`send`](Self::send), [`close`](Self::close) and the
/// broadcasts reach connections of every loop: what goes to another loop
/// is handed to it through a bounded mailbox
/// ([`Config::max_mailbox`](crate::Config::max_mailbox)) and the loop is
/// woken, so it leaves within that loop's next turn. What one callback
/// sends to a connection arrives in the order it was sent, and exactly
/// once. A full mailbox refuses the send with [`SendError::QueueFull`];
/// a message that reaches the other loop but not a full connection queue
/// there is reported to that loop's handler as
/// [`Error::Undelivered`](crate::Error::Undelivered) for that connection.
/// [`ping`](Self::ping), [`data`](Self::data), [`queued`](Self::queued)
/// and [`connections`](Self::connections) see only this loop's
/// connections.
pub struct Context<'a, D> {
    pub(crate) core: &'a mut Core<D>,
}

impl<D> Context<'_, D> {
    /// Queue a message to a connection. Bytes go out when the callback
    /// returns (all sends of one round of events leave in one write per
    /// connection); to a connection of another loop, in that loop's next
    /// turn (see [Connections of other loops](Self#connections-of-other-loops)).
    pub fn send(&mut self, id: ConnectionId, message: MessageRef<'_>) -> Result<(), SendError> {
        self.core.send_message(id, message)
    }

    /// Queue a text message.
    pub fn send_text(&mut self, id: ConnectionId, text: &str) -> Result<(), SendError> {
        self.send(id, MessageRef::Text(text))
    }

    /// Queue a binary message.
    pub fn send_binary(&mut self, id: ConnectionId, data: &[u8]) -> Result<(), SendError> {
        self.send(id, MessageRef::Binary(data))
    }

    /// Queue a ping (payload at most 125 bytes) to a connection of this
    /// loop.
    pub fn ping(&mut self, id: ConnectionId, payload: &[u8]) -> Result<(), SendError> {
        self.core.send_frame(id, ws_proto::OpCode::Ping, payload)
    }

    /// Start the close handshake with `code` and `reason`; the connection
    /// is dropped when the peer answers or after the close timeout. A
    /// connection of another loop is closed in that loop's next turn.
    pub fn close(
        &mut self,
        id: ConnectionId,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), SendError> {
        self.core.close(id, code, reason)
    }

    /// Send to every open connection of every loop. Returns how many
    /// accepted it: the connections of this loop whose queue took it, plus
    /// the open connections of each other loop whose mailbox took it
    /// (there, a full queue is reported as
    /// [`Error::Undelivered`](crate::Error::Undelivered)).
    pub fn broadcast(&mut self, message: MessageRef<'_>) -> usize {
        self.core.broadcast(message, None)
    }

    /// Send to every open connection of every loop but `except` (the usual
    /// chat case); counted as [`broadcast`](Self::broadcast) counts.
    pub fn broadcast_except(&mut self, except: ConnectionId, message: MessageRef<'_>) -> usize {
        self.core.broadcast(message, Some(except))
    }

    /// Send to each of `ids`, of any loop; returns how many accepted it.
    pub fn broadcast_to(&mut self, ids: &[ConnectionId], message: MessageRef<'_>) -> usize {
        self.core.broadcast_to(ids, message)
    }

    /// The data of a connection of this loop (`None` during its
    /// `on_open`, or if it is gone or on another loop).
    pub fn data(&mut self, id: ConnectionId) -> Option<&mut D> {
        self.core.data(id)
    }

    /// Ids of this loop's open connections.
    pub fn connections(&self) -> impl Iterator<Item = ConnectionId> + '_ {
        self.core.open_ids()
    }

    /// Bytes queued for a connection of this loop and not yet written.
    pub fn queued(&self, id: ConnectionId) -> Option<usize> {
        self.core.queued(id)
    }

    /// Have [`Handler::on_timer`] called with `token` on this loop once
    /// `after` has passed (at the first turn of the loop after that; a
    /// timer set from `on_timer` runs at a later turn, never in the same
    /// one). Timers are not tied to a connection and cannot be cancelled:
    /// use the token to tell whether one still matters. They end with the
    /// loop.
    pub fn set_timer(&mut self, after: Duration, token: u64) {
        self.core.set_timer(after, token);
    }

    /// Open a client connection to a `ws://` URL from this loop; its
    /// `on_open` follows when the handshake succeeds, or exactly one
    /// `on_error` if it does not (see [`Handler::on_error`]). An error
    /// returned here (bad URL, no address, a connect that fails at once)
    /// is the only report of that attempt.
    ///
    /// A URL with an IP address (`ws://127.0.0.1:9002/`) never makes the
    /// loop wait. A host name is resolved here, on the loop's thread,
    /// which blocks every connection of the loop until the resolver
    /// answers: resolve it elsewhere (another thread, a cache) and call
    /// [`connect_to`](Self::connect_to) with the address.
    pub fn connect(&mut self, url: &str) -> Result<ConnectionId, Error> {
        self.core.connect(url)
    }

    /// Open a client connection to `addr` for the `ws://` URL `url`,
    /// whose host is not resolved, only sent (in the `Host` header) with
    /// its path: the connect that never waits for a resolver. Reported
    /// like [`connect`](Self::connect).
    pub fn connect_to(&mut self, addr: SocketAddr, url: &str) -> Result<ConnectionId, Error> {
        self.core.connect_to(addr, url)
    }

    /// Stop the loop, and every other loop of its [`Server`](crate::Server)
    /// (or of its [`ShutdownHandle`](crate::ShutdownHandle)): every open
    /// connection is sent 1001 (going away) at the end of this turn,
    /// behind everything already queued for it (sends made here
    /// included), and each loop returns when its connections are closed;
    /// see [Shutting down](crate::Config#shutting-down) for how long
    /// that may take.
    pub fn shutdown(&mut self) {
        self.core.stop_requested = true;
    }
}
