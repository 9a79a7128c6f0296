//! The connection: an `AsyncRead + AsyncWrite` stream driven by the
//! `ws-proto` session, its deadlines on tokio's timer.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use futures_sink::Sink;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};
use ws_proto::constants::{MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use ws_proto::deflate::DeflateParams;
use ws_proto::mask::{os_mask, OsMask};
use ws_proto::message::Message;
use ws_proto::session::{Incoming, Messages, RecvBuffer, Session};
use ws_proto::timer::{TimerEvent, Timers};
use ws_proto::{CloseCode, Connection, MessageKind, Role, SendError, State};

use crate::config::Config;
use crate::error::{Error, Result};

/// The longest control frame: a header and 125 bytes.
const MAX_CONTROL_FRAME: usize = MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD;

/// Encoded frames waiting for the stream: bytes `sent..` of `buf`.
#[derive(Debug, Default)]
struct Outbox {
    buf: Vec<u8>,
    sent: usize,
    /// Bytes were written since the stream was last flushed.
    unflushed: bool,
    /// Bytes written and flushes completed, ever: a half of a split
    /// connection that sees it move wakes the other, which may be waiting
    /// for room that this write made without the stream waking anyone.
    progress: u64,
}

impl Outbox {
    fn pending(&self) -> usize {
        self.buf.len() - self.sent
    }
}

/// Where the connection is, beyond what the session knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Messages flow (or the close handshake runs).
    Running,
    /// The stream has ended, failed or timed out, or the close handshake
    /// is over: what is queued is written, then the stream is shut down.
    ShuttingDown,
    /// The stream is shut down: receiving gives `None`, sending fails.
    Done,
}

/// A WebSocket connection over an async stream (a `TcpStream`, a TLS
/// stream, hyper's upgraded connection, a `tokio::io::duplex` pipe).
///
/// Obtain one from [`accept`](crate::accept) or
/// [`accept_with`](crate::accept_with) on a server,
/// [`connect`](crate::connect) or
/// [`client_handshake`](crate::client_handshake) on a client, or wrap a
/// stream whose handshake happened elsewhere with
/// [`from_upgraded`](Self::from_upgraded).
///
/// # Receiving
/// [`recv`](Self::recv) (or the [`Stream`] implementation, the same
/// thing) gives whole messages: fragments joined, compressed messages
/// inflated, text checked UTF-8. It returns `None` once the connection
/// is closed: after the close handshake (the peer's close frame is at
/// [`close_frame`](Self::close_frame)), after an error was returned, and
/// ever after.
///
/// While a receive waits, the connection does its own work: every ping is
/// answered with a pong, the peer's close is answered with ours, and the
/// timers of [`Config`] run (a ping after `idle_ping` of silence, a 1001
/// close when its pong does not come). A program that only reads needs
/// nothing else. A connection nobody polls to receive does none of this.
///
/// # Cancellation
/// [`recv`](Self::recv) is cancel-safe: everything it has read and
/// gathered lives in the `WebSocket`, not in the future, so a `recv`
/// dropped in a `tokio::select!` branch that lost loses nothing, and the
/// next `recv` goes on where it stopped. `send`, `flush` and `close` are
/// not: a cancelled `send` may or may not have queued its message (once
/// queued, it is written by the next `send`, `flush`, `recv` or `close`),
/// and a cancelled `close` leaves the close handshake to the next
/// `recv`.
///
/// # Sending and backpressure
/// [`send`](Self::send) encodes the message (compressed when
/// permessage-deflate was negotiated and the message is long enough) into
/// the write buffer and writes it out. As a [`Sink`], `start_send` only
/// queues, and `poll_ready` waits while more than
/// [`Config::write_buffer_limit`] bytes are queued: a peer that does not
/// read holds up the sender rather than growing memory.
pub struct WebSocket<S> {
    stream: S,
    session: Session<OsMask>,
    inbox: RecvBuffer,
    outbox: Outbox,
    config: Config,
    subprotocol: Option<String>,
    timers: Timers,
    /// The origin of the time the timers run on.
    origin: Instant,
    /// Sleeps until the timers' next deadline, `sleep_for` since `origin`.
    sleep: Pin<Box<Sleep>>,
    sleep_for: Option<Duration>,
    /// Our close frame has been handed to the write buffer (the close
    /// deadline runs from then).
    close_noted: bool,
    /// The peer's close frame: code and reason.
    peer_close: Option<(CloseCode, String)>,
    /// The stream said end of file.
    eof: bool,
    phase: Phase,
}

impl<S> WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Wrap a stream whose opening handshake is already done (by hyper,
    /// axum or another HTTP server that answered the upgrade): `role` is
    /// our side, and the connection sends and receives uncompressed
    /// messages, with no subprotocol. Bytes the HTTP server read past the
    /// request must not have been lost: hyper's upgraded connection keeps
    /// them.
    pub fn from_upgraded(stream: S, role: Role, config: Config) -> Self {
        Self::from_parts(stream, role, &config, (&[], None, None))
    }

    /// A connection whose handshake just completed, with what it agreed:
    /// the bytes received after the header block, the subprotocol and the
    /// permessage-deflate parameters.
    pub(crate) fn from_parts(
        stream: S,
        role: Role,
        config: &Config,
        (already_read, subprotocol, deflate): (&[u8], Option<&str>, Option<DeflateParams>),
    ) -> Self {
        let config = config.clone();
        let deflate = deflate.zip(config.session.compression);
        let subprotocol = subprotocol.map(str::to_owned);
        let max_message = config.session.max_message_len();
        let messages = Messages::new(max_message).with_budget(&config.session.memory_budget);
        let conn = Connection::new(role, config.session.protocol, os_mask());
        let mut session = Session::new(conn, messages);
        if let Some((params, compression)) = deflate {
            session.enable_deflate(params, compression);
        }
        let origin = Instant::now();
        WebSocket {
            stream,
            session,
            inbox: RecvBuffer::new(config.effective_read_buffer(), already_read),
            outbox: Outbox::default(),
            subprotocol,
            timers: Timers::new_open(config.session.timers, Duration::ZERO),
            origin,
            sleep: Box::pin(tokio::time::sleep_until(origin)),
            sleep_for: None,
            close_noted: false,
            peer_close: None,
            eof: false,
            phase: Phase::Running,
            config,
        }
    }

    /// Receive the next whole message; `None` once the connection is
    /// closed (see [Receiving](Self#receiving)). An error (the peer broke
    /// the protocol, the stream failed, the close handshake timed out) is
    /// returned once, and `None` follows.
    ///
    /// Cancel-safe: see [Cancellation](Self#cancellation).
    ///
    /// ```no_run
    /// # async fn run() -> ws_tokio::Result<()> {
    /// let mut ws = ws_tokio::connect("ws://127.0.0.1:9004/").await?;
    /// while let Some(message) = ws.recv().await {
    ///     println!("{:?}", message?);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn recv(&mut self) -> Option<Result<Message>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Send a whole message and write it out (with whatever was queued
    /// before it). Waits first while the write buffer is over its limit.
    pub async fn send(&mut self, message: Message) -> Result<()> {
        poll_fn(|cx| self.poll_ready_to_send(cx)).await?;
        self.queue_message(&message)?;
        poll_fn(|cx| self.poll_flush_all(cx)).await
    }

    /// Write out everything queued (messages given to the `Sink`, pongs).
    pub async fn flush(&mut self) -> Result<()> {
        poll_fn(|cx| self.poll_flush_all(cx)).await
    }

    /// Close gracefully: send our close frame with `code` and `reason`
    /// (unless a close was already sent), wait for the peer's (discarding
    /// messages that still arrive) up to the close timeout
    /// ([`Config::close_timeout`]), then shut the stream down.
    ///
    /// `Ok` when the close handshake completed, or the connection was
    /// already closed; [`Error::TimedOut`] when the peer did not answer in
    /// time; [`Error::Send`] for a code that may not be sent or a reason
    /// over 123 bytes (nothing is sent then).
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        self.queue_close(code, reason)?;
        loop {
            match self.recv().await {
                None => return Ok(()),
                Some(Ok(_)) => {}
                Some(Err(err)) => {
                    poll_fn(|cx| self.poll_shut_down(cx)).await;
                    return Err(err);
                }
            }
        }
    }

    /// Queue our close frame unless a close went either way.
    pub(crate) fn queue_close(&mut self, code: CloseCode, reason: &str) -> Result<()> {
        if self.phase == Phase::Running && self.session.connection().state() == State::Open {
            self.session.close(code, reason)?;
        }
        Ok(())
    }

    /// The peer's close frame, once it arrived: its code
    /// ([`CloseCode::NO_STATUS`] if it carried none) and reason.
    pub fn close_frame(&self) -> Option<(CloseCode, &str)> {
        self.peer_close
            .as_ref()
            .map(|(code, reason)| (*code, reason.as_str()))
    }

    /// Client or server.
    pub fn role(&self) -> Role {
        self.session.connection().role()
    }

    /// The connection state: `Open`, `Closing` once a close frame went
    /// either way, `Closed` when the close handshake is over or the stream
    /// is shut down.
    pub fn state(&self) -> State {
        if self.phase == Phase::Done {
            State::Closed
        } else {
            self.session.connection().state()
        }
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The permessage-deflate parameters in force, if it was negotiated.
    pub fn compression(&self) -> Option<&DeflateParams> {
        self.session.messages().compression()
    }

    /// The configuration the connection was made with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The stream.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream, mutably: for socket options. Reading or writing it
    /// directly corrupts the connection.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Bytes queued and not yet written to the stream.
    pub fn buffered(&self) -> usize {
        self.outbox.pending()
    }

    /// Now, on the timers' time.
    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.origin)
    }

    /// The receive behind [`recv`](Self::recv) and the `Stream`: every
    /// step's state is in `self`, so a poll that returns `Pending` (and is
    /// never polled again) loses nothing.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message>>> {
        loop {
            if self.phase != Phase::Running {
                return self.poll_shut_down(cx).map(|()| None);
            }
            self.queue_control();
            if let Poll::Ready(Err(err)) = self.poll_write_out(cx) {
                self.phase = Phase::ShuttingDown;
                return Poll::Ready(Some(Err(err.into())));
            }
            if self.session.connection().state() == State::Closed {
                // Both closes went (or the failure's close was queued):
                // nothing more to read.
                self.timers.on_closed();
                self.phase = Phase::ShuttingDown;
                continue;
            }
            match self.take_buffered() {
                Some(Ok(message)) => return Poll::Ready(Some(Ok(message))),
                Some(Err(err)) => {
                    // The close frame of the failure is queued: write it
                    // now, as far as the stream takes it.
                    self.queue_control();
                    let _ = self.poll_write_out(cx);
                    self.phase = Phase::ShuttingDown;
                    return Poll::Ready(Some(Err(err)));
                }
                // Pings, pongs or the peer's close were taken in: queue and
                // write their answers before waiting for more, or end when
                // the peer's close answered ours.
                None if self.session.connection().wants_transmit()
                    || self.session.connection().state() == State::Closed =>
                {
                    continue
                }
                None => {}
            }
            if let Poll::Ready(event) = self.poll_timers(cx) {
                match self.on_timer(event) {
                    Ok(()) => continue,
                    Err(err) => {
                        self.phase = Phase::ShuttingDown;
                        return Poll::Ready(Some(Err(err)));
                    }
                }
            }
            if self.outbox.pending() > self.config.write_buffer_limit {
                // The pongs and close replies more input would queue could
                // not leave: wait for the peer to read first.
                return Poll::Pending;
            }
            match self.poll_read_more(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(err)) => {
                    self.phase = Phase::ShuttingDown;
                    return Poll::Ready(Some(Err(err.into())));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Take what the receive buffer holds: a whole message, an error, or
    /// `None` when more bytes are needed. Pings, pongs, the peer's close
    /// and parts of messages are taken in on the way.
    fn take_buffered(&mut self) -> Option<Result<Message>> {
        loop {
            let inbox = &mut self.inbox;
            if inbox.start == inbox.end {
                return None;
            }
            let (consumed, incoming) =
                match self.session.receive(&mut inbox.buf[inbox.start..inbox.end]) {
                    Ok(received) => received,
                    Err(err) => return Some(Err(err.into())),
                };
            inbox.start += consumed;
            match incoming {
                None => return None,
                Some(Incoming::Message(message)) => {
                    let message = message.into_owned();
                    let now = self.now();
                    self.timers.on_message(now);
                    return Some(Ok(message));
                }
                Some(Incoming::Close(close)) => {
                    self.peer_close = Some((close.code, close.reason.to_owned()));
                }
                // Parts of messages, pings (their pong is queued), pongs.
                Some(_) => {}
            }
        }
    }

    /// Read what has arrived into the receive buffer; at the end of the
    /// stream, decide how the connection ends.
    fn poll_read_more(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.eof {
            self.phase = Phase::ShuttingDown;
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed the stream without the close handshake",
            )));
        }
        self.inbox.compact();
        let mut buf = ReadBuf::new(self.inbox.spare());
        match Pin::new(&mut self.stream).poll_read(cx, &mut buf) {
            Poll::Ready(Ok(())) => {
                let read = buf.filled().len();
                if read == 0 {
                    self.eof = true;
                } else {
                    self.inbox.end += read;
                    let now = self.now();
                    self.timers.on_receive(now);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// Move the control frames the session has queued (pongs, close
    /// replies, a failure's close) into the write buffer; start the close
    /// deadline when our close is among them.
    fn queue_control(&mut self) {
        while self.session.connection().wants_transmit() {
            let at = self.outbox.buf.len();
            self.outbox.buf.resize(at + MAX_CONTROL_FRAME, 0);
            let len = self.session.poll_transmit(&mut self.outbox.buf[at..]);
            self.outbox.buf.truncate(at + len);
            if len == 0 {
                break;
            }
        }
        if !self.close_noted && self.session.connection().close_sent() {
            self.close_noted = true;
            let now = self.now();
            self.timers.on_close_sent(now);
        }
    }

    /// Write the write buffer out and flush the stream.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let outbox = &mut self.outbox;
        while outbox.sent < outbox.buf.len() {
            match Pin::new(&mut self.stream).poll_write(cx, &outbox.buf[outbox.sent..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    outbox.sent += n;
                    outbox.unflushed = true;
                    outbox.progress += n as u64;
                }
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => return Poll::Pending,
            }
        }
        outbox.buf.clear();
        outbox.sent = 0;
        if outbox.unflushed {
            std::task::ready!(Pin::new(&mut self.stream).poll_flush(cx))?;
            self.outbox.unflushed = false;
            self.outbox.progress += 1;
        }
        Poll::Ready(Ok(()))
    }

    /// Write what is queued (best effort), then shut the stream down.
    fn poll_shut_down(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.phase == Phase::Done {
            return Poll::Ready(());
        }
        self.queue_control();
        match self.poll_write_out(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(_) => {}
        }
        // Errors do not matter any more: the connection is over.
        std::task::ready!(Pin::new(&mut self.stream).poll_shutdown(cx)).ok();
        self.phase = Phase::Done;
        self.timers.on_closed();
        Poll::Ready(())
    }

    /// Sleep until the timers' next deadline: `Ready` with what fired.
    fn poll_timers(&mut self, cx: &mut Context<'_>) -> Poll<TimerEvent> {
        loop {
            let Some(next) = self.timers.poll_timeout() else {
                self.sleep_for = None;
                return Poll::Pending;
            };
            if self.sleep_for != Some(next) {
                self.sleep.as_mut().reset(self.origin + next);
                self.sleep_for = Some(next);
            }
            std::task::ready!(self.sleep.as_mut().poll(cx));
            self.sleep_for = None;
            let now = self.now();
            if let Some(event) = self.timers.handle_timeout(now) {
                return Poll::Ready(event);
            }
        }
    }

    /// Do what a timer asks.
    fn on_timer(&mut self, event: TimerEvent) -> Result<()> {
        match event {
            TimerEvent::SendPing => {
                let at = self.outbox.buf.len();
                self.outbox.buf.resize(at + MAX_CONTROL_FRAME, 0);
                let encoded = self
                    .session
                    .connection_mut()
                    .encode_ping(b"", &mut self.outbox.buf[at..]);
                self.outbox.buf.truncate(at + encoded.unwrap_or(0));
                Ok(())
            }
            TimerEvent::PeerSilent | TimerEvent::MessageTimedOut => {
                let code = event.close_code().unwrap_or(CloseCode::GOING_AWAY);
                // Refused only when a close already went: then the close
                // deadline runs.
                let _ = self.session.close(code, event.reason());
                Ok(())
            }
            TimerEvent::HandshakeTimedOut => Err(Error::TimedOut("opening")),
            TimerEvent::CloseTimedOut => Err(Error::TimedOut("close")),
        }
    }

    /// `Ready` when the write buffer is under its limit (after writing
    /// what the stream takes).
    pub(crate) fn poll_ready_to_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if self.phase != Phase::Running {
            return Poll::Ready(Err(Error::Send(SendError::Closed)));
        }
        self.queue_control();
        if self.outbox.pending() > self.config.write_buffer_limit {
            if let Poll::Ready(Err(err)) = self.poll_write_out(cx) {
                self.phase = Phase::ShuttingDown;
                return Poll::Ready(Err(err.into()));
            }
            if self.outbox.pending() > self.config.write_buffer_limit {
                return Poll::Pending;
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Encode a message into the write buffer, after the control frames
    /// queued before it.
    pub(crate) fn queue_message(&mut self, message: &Message) -> Result<()> {
        if self.phase != Phase::Running {
            return Err(Error::Send(SendError::Closed));
        }
        self.queue_control();
        let (kind, payload) = match message {
            Message::Text(text) => (MessageKind::Text, text.as_bytes()),
            Message::Binary(data) => (MessageKind::Binary, data.as_slice()),
        };
        let result = self
            .session
            .send_message(kind, payload, &mut self.outbox.buf);
        // A compressor failure queued a 1011 close.
        self.queue_control();
        result.map(drop).map_err(Error::from)
    }

    /// Write everything queued and flush.
    pub(crate) fn poll_flush_all(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if self.phase == Phase::Done {
            return Poll::Ready(Err(Error::Send(SendError::Closed)));
        }
        self.queue_control();
        match std::task::ready!(self.poll_write_out(cx)) {
            Ok(()) => Poll::Ready(Ok(())),
            Err(err) => {
                self.phase = Phase::ShuttingDown;
                Poll::Ready(Err(err.into()))
            }
        }
    }
}

impl<S> Stream for WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Message>;

    /// [`WebSocket::recv`]: whole messages; the stream ends when the
    /// connection is closed.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<S> Sink<Message> for WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Error = Error;

    /// Ready while at most [`Config::write_buffer_limit`] bytes wait to be
    /// written; otherwise writes and waits until the peer takes enough.
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_ready_to_send(cx)
    }

    /// Encode the message into the write buffer (compressed if
    /// negotiated); it is written by `poll_flush`.
    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<()> {
        self.get_mut().queue_message(&message)
    }

    /// Write everything queued and flush the stream.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_flush_all(cx)
    }

    /// Queue our close frame (1000) if none went yet and write it out.
    /// The close handshake completes as the `Stream` (or `recv`) reads the
    /// peer's close, and ends with `None`; [`WebSocket::close`] does both.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let this = self.get_mut();
        this.queue_close(CloseCode::NORMAL, "")?;
        if this.phase == Phase::Done {
            return Poll::Ready(Ok(()));
        }
        this.poll_flush_all(cx)
    }
}

impl<S> WebSocket<S> {
    /// How far writing has got (see `Outbox::progress`).
    pub(crate) fn write_progress(&self) -> u64 {
        self.outbox.progress
    }
}

impl<S> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("role", &self.session.connection().role())
            .field("state", &self.session.connection().state())
            .field("subprotocol", &self.subprotocol)
            .field("buffered", &self.outbox.pending())
            .finish_non_exhaustive()
    }
}
