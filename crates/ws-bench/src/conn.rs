//! One benchmark connection: connect, upgrade, then keep up to K echo
//! messages in flight, checking what comes back; or sit idle (ws-conns).
//!
//! In raw mode (`ws-load --raw`, against a plain TCP echo server) there is
//! no handshake and no WebSocket parsing: the same pre-built masked frame
//! bytes go out, and a message counts as echoed each time that many bytes
//! have come back.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::time::Instant;

use mio::net::TcpStream;
use ws_proto::frame::MAX_CONTROL_FRAME_LEN;
use ws_proto::mask::OsMask;
use ws_proto::{CloseCode, Connection, DataChunk, Event, State};

use crate::net;
use crate::pool::Shared;
use crate::upgrade::ClientUpgrade;

/// Every this many echoes of a connection, one is compared byte for byte.
pub(crate) const SAMPLE_EVERY: u64 = 64;
/// Reads per readiness event before the connection yields to others.
const MAX_READS_PER_EVENT: usize = 64;
/// Frames handed to one vectored write.
const MAX_IOV: usize = 64;
/// Write calls per flush before yielding (the socket refills later).
const MAX_WRITES_PER_FLUSH: usize = 256;
/// Unconsumed bytes kept between reads: at most a partial header or a
/// control frame once open.
const MAX_CARRY: usize = 4 * MAX_CONTROL_FRAME_LEN;

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// TCP connect in progress.
    Connecting,
    /// Upgrade request being sent or response awaited.
    Upgrading,
    /// WebSocket open.
    Open,
    /// Our close frame is queued or sent; waiting for the server's.
    Closing,
}

/// Why a connection was given up.
#[derive(Debug)]
pub(crate) struct ConnError {
    /// An echo differed from what was sent.
    pub mismatch: bool,
    /// The OS error behind it, if any.
    pub os_error: Option<io::Error>,
    /// What happened.
    pub message: String,
}

impl ConnError {
    fn io(what: &str, err: io::Error) -> ConnError {
        ConnError {
            mismatch: false,
            message: format!("{what}: {err}"),
            os_error: Some(err),
        }
    }

    pub(crate) fn other(message: String) -> ConnError {
        ConnError {
            mismatch: false,
            os_error: None,
            message,
        }
    }

    fn mismatch(message: String) -> ConnError {
        ConnError {
            mismatch: true,
            os_error: None,
            message,
        }
    }
}

/// What an event left the connection wanting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Wait for the next readiness event.
    Idle,
    /// Data may be left unread: call again without waiting for an event.
    ReadAgain,
    /// The close handshake is over (or the server hung up after ours):
    /// drop the connection.
    Finished,
}

/// One connection of a benchmark.
pub(crate) struct BenchConn {
    pub(crate) stream: TcpStream,
    phase: Phase,
    upgrade: Option<Box<ClientUpgrade>>,
    ws: Connection<OsMask>,
    /// The one masked message this connection sends, header included.
    frame: Box<[u8]>,
    /// Received bytes not consumed yet (a partial frame header).
    carry: Vec<u8>,
    /// Control frames (pong, close) to write between data frames.
    ctrl: Vec<u8>,
    /// Copies of `frame` queued and not completely written.
    queued: usize,
    /// Bytes of the first queued frame already written.
    write_off: usize,
    /// When each message in flight was queued, oldest first; never more
    /// than the in-flight count.
    sent_at: VecDeque<Instant>,
    /// Payload bytes of the echo being received so far.
    rx_off: usize,
    /// The echo being received is compared byte for byte.
    rx_sample: bool,
    /// Echoes fully received.
    echoes: u64,
    /// Raw mode: no handshake; echoes are counted in frame-length bytes.
    raw: bool,
    /// An event signalled the end of stream or an error, which raises no
    /// new edge: read until `WouldBlock` or the end, even after a short
    /// read (see [`net::may_have_more`]).
    read_closed: bool,
}

impl BenchConn {
    /// A connection that upgrades with `upgrade`, or, given `None`, a raw
    /// one that sends frame bytes as soon as TCP is connected.
    pub(crate) fn new(
        stream: TcpStream,
        upgrade: Option<ClientUpgrade>,
        frame: Box<[u8]>,
    ) -> BenchConn {
        let raw = upgrade.is_none();
        BenchConn {
            stream,
            phase: Phase::Connecting,
            upgrade: upgrade.map(Box::new),
            ws: Connection::client(ws_proto::Config::default(), ws_proto::mask::os_mask()),
            frame,
            carry: Vec::new(),
            ctrl: Vec::new(),
            queued: 0,
            write_off: 0,
            sent_at: VecDeque::new(),
            rx_off: 0,
            rx_sample: false,
            echoes: 0,
            raw,
            read_closed: false,
        }
    }

    pub(crate) fn phase(&self) -> Phase {
        self.phase
    }

    /// Messages sent (or queued) whose echo has not come back.
    pub(crate) fn outstanding(&self) -> usize {
        self.sent_at.len()
    }

    /// Remember that an event signalled the end of stream or an error
    /// ([`net::end_signalled`]), for this and every later read.
    pub(crate) fn end_signalled(&mut self) {
        self.read_closed = true;
    }

    /// Handle a readiness event (or a retry after [`Status::ReadAgain`]).
    pub(crate) fn on_event(
        &mut self,
        readable: bool,
        writable: bool,
        rbuf: &mut [u8],
        shared: &mut Shared,
    ) -> Result<Status, ConnError> {
        if self.phase == Phase::Connecting {
            match net::connect_finished(&self.stream) {
                Ok(true) if self.raw => {
                    self.phase = Phase::Open;
                    shared.opened += 1;
                    if shared.sending {
                        self.top_up(Instant::now(), shared);
                    }
                }
                Ok(true) => self.phase = Phase::Upgrading,
                Ok(false) => return Ok(Status::Idle),
                Err(err) => return Err(ConnError::io("connect", err)),
            }
        }
        if let Some(upgrade) = self.upgrade.as_mut() {
            if !upgrade.request_sent() {
                upgrade
                    .write_request(&mut self.stream)
                    .map_err(|err| ConnError::io("sending the upgrade request", err))?;
            }
        }
        let mut status = Status::Idle;
        if readable || self.phase == Phase::Upgrading {
            status = self.read(rbuf, shared)?;
            if status == Status::Finished {
                return Ok(status);
            }
        }
        if writable || matches!(self.phase, Phase::Open | Phase::Closing) {
            self.flush()?;
        }
        Ok(status)
    }

    /// Read until the socket is drained (a short read on Linux, else
    /// `WouldBlock`; see [`net::may_have_more`]) or the per-event cap.
    fn read(&mut self, rbuf: &mut [u8], shared: &mut Shared) -> Result<Status, ConnError> {
        for _ in 0..MAX_READS_PER_EVENT {
            let carry = self.carry.len();
            rbuf[..carry].copy_from_slice(&self.carry);
            let asked = rbuf.len() - carry;
            let n = match self.stream.read(&mut rbuf[carry..]) {
                Ok(0) => return self.on_eof(),
                Ok(n) => n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(Status::Idle),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(ConnError::io("read", err)),
            };
            self.carry.clear();
            if self.consume(&mut rbuf[..carry + n], shared)? {
                return Ok(Status::Finished);
            }
            if !net::may_have_more(n, asked, self.read_closed) {
                return Ok(Status::Idle);
            }
        }
        Ok(Status::ReadAgain)
    }

    fn on_eof(&mut self) -> Result<Status, ConnError> {
        match self.phase {
            Phase::Closing => Ok(Status::Finished),
            Phase::Open => Err(ConnError::other(
                "the server closed the TCP connection without a close frame".into(),
            )),
            Phase::Connecting | Phase::Upgrading => Err(ConnError::other(
                "the server closed the TCP connection during the handshake".into(),
            )),
        }
    }

    /// Process freshly read bytes; `Ok(true)` when the close handshake is
    /// complete.
    fn consume(&mut self, data: &mut [u8], shared: &mut Shared) -> Result<bool, ConnError> {
        if self.raw {
            self.consume_raw(data, shared)?;
            return Ok(false);
        }
        let mut start = 0;
        if let Some(upgrade) = self.upgrade.as_mut() {
            let after = upgrade
                .feed(data)
                .map_err(|err| ConnError::other(format!("handshake refused: {err}")))?;
            let Some(after) = after else {
                return Ok(false);
            };
            start = data.len() - after;
            self.upgrade = None;
            self.phase = Phase::Open;
            shared.opened += 1;
            if shared.sending {
                self.top_up(Instant::now(), shared);
            }
        }
        let data = &mut data[start..];
        let now = Instant::now();
        let mut used = 0;
        let len = data.len();
        // Every event consumes at least one byte, and every pong taken
        // follows a ping of at least two, so this ends.
        for _ in 0..=len {
            let (n, event) = self.ws.receive(&mut data[used..]).map_err(|err| {
                ConnError::other(format!("protocol error from the server: {err}"))
            })?;
            used += n;
            match event {
                // A ping waits in the buffer for the last one's pong: take
                // the pong (written by the next flush) and go on, or the
                // bytes after it would sit in `carry` until the server
                // sends again, which it may be waiting to be asked to.
                None if self.ws.wants_transmit() && used < len => self.take_control(),
                None => break,
                Some(Event::Data(chunk)) => self.on_chunk(chunk, now, shared)?,
                Some(Event::Ping(_) | Event::Pong(_)) => {}
                Some(Event::Close(close)) => {
                    if self.phase != Phase::Closing {
                        return Err(ConnError::other(format!(
                            "the server closed the connection (code {})",
                            close.code
                        )));
                    }
                }
            }
        }
        let rest = &data[used..];
        if rest.len() > MAX_CARRY {
            return Err(ConnError::other(format!(
                "{} bytes that the protocol core could not consume",
                rest.len()
            )));
        }
        self.carry.extend_from_slice(rest);
        Ok(self.phase == Phase::Closing && self.ws.state() == State::Closed)
    }

    /// Raw mode: count echoed bytes; every frame length of them is one
    /// echo. Every 64th echo is compared byte for byte with the frame.
    fn consume_raw(&mut self, data: &[u8], shared: &mut Shared) -> Result<(), ConnError> {
        if self.phase != Phase::Open {
            return Ok(());
        }
        let len = self.frame.len();
        if len == 0 {
            return Err(ConnError::mismatch(
                "bytes came back on an idle connection".into(),
            ));
        }
        let now = Instant::now();
        let mut at = 0;
        // Each pass consumes at least one byte (len > 0).
        while at < data.len() {
            if self.rx_off == 0 {
                self.rx_sample = self.echoes.is_multiple_of(SAMPLE_EVERY);
            }
            let take = (len - self.rx_off).min(data.len() - at);
            let got = &data[at..at + take];
            let expected = &self.frame[self.rx_off..self.rx_off + take];
            if self.rx_sample && got != expected {
                let diff = got.iter().zip(expected).position(|(a, b)| a != b);
                return Err(ConnError::mismatch(format!(
                    "echo {} differs from what was sent at frame byte {}",
                    self.echoes,
                    self.rx_off + diff.unwrap_or(0)
                )));
            }
            at += take;
            self.rx_off += take;
            if self.rx_off < len {
                break;
            }
            self.rx_off = 0;
            let Some(sent) = self.sent_at.pop_front() else {
                return Err(ConnError::mismatch(format!(
                    "bytes came back that were never sent (after {} echoes)",
                    self.echoes
                )));
            };
            self.echoes += 1;
            shared.on_echo(now.saturating_duration_since(sent), shared.payload.len());
            if shared.sending {
                self.top_up(now, shared);
            }
        }
        Ok(())
    }

    fn on_chunk(
        &mut self,
        chunk: DataChunk<'_>,
        now: Instant,
        shared: &mut Shared,
    ) -> Result<(), ConnError> {
        if self.phase != Phase::Open {
            // Echoes still coming back after our close: not counted.
            return Ok(());
        }
        let size = shared.payload.len();
        if chunk.message_start {
            if chunk.kind != shared.kind {
                return Err(ConnError::mismatch(format!(
                    "echo {} came back as {:?}, sent as {:?}",
                    self.echoes, chunk.kind, shared.kind
                )));
            }
            self.rx_off = 0;
            self.rx_sample = self.echoes.is_multiple_of(SAMPLE_EVERY);
        }
        let end = self.rx_off + chunk.payload.len();
        if end > size {
            return Err(ConnError::mismatch(format!(
                "echo {} is longer than the {size} bytes sent",
                self.echoes
            )));
        }
        let expected = &shared.payload[self.rx_off..end];
        if self.rx_sample && chunk.payload != expected {
            let at = chunk
                .payload
                .iter()
                .zip(expected)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            return Err(ConnError::mismatch(format!(
                "echo {} differs from what was sent at byte {}",
                self.echoes,
                self.rx_off + at
            )));
        }
        self.rx_off = end;
        if !chunk.message_end {
            return Ok(());
        }
        if end != size {
            return Err(ConnError::mismatch(format!(
                "echo {} has {end} bytes, {size} were sent",
                self.echoes
            )));
        }
        let Some(sent) = self.sent_at.pop_front() else {
            return Err(ConnError::mismatch(format!(
                "a message came back that was never sent (after {} echoes)",
                self.echoes
            )));
        };
        self.echoes += 1;
        shared.on_echo(now.saturating_duration_since(sent), size);
        if shared.sending {
            self.top_up(now, shared);
        }
        Ok(())
    }

    /// Queue messages until K are in flight.
    pub(crate) fn top_up(&mut self, now: Instant, shared: &Shared) {
        if self.phase != Phase::Open || self.frame.is_empty() {
            return;
        }
        // At most K iterations: the FIFO never holds more than K.
        while self.sent_at.len() < shared.in_flight {
            self.sent_at.push_back(now);
            self.queued += 1;
        }
    }

    /// Move the control frames the core queued (pongs, a close) to the
    /// control buffer. It holds at most a pong per ping of one read.
    fn take_control(&mut self) {
        if self.ws.wants_transmit() {
            let mut out = [0u8; 2 * MAX_CONTROL_FRAME_LEN];
            let n = self.ws.poll_transmit(&mut out);
            self.ctrl.extend_from_slice(&out[..n]);
        }
    }

    /// Write control frames and queued messages until done or blocked.
    pub(crate) fn flush(&mut self) -> Result<(), ConnError> {
        if !matches!(self.phase, Phase::Open | Phase::Closing) {
            return Ok(());
        }
        for _ in 0..MAX_WRITES_PER_FLUSH {
            if self.write_off == 0 {
                // Between frames: control frames may go now. The core keeps
                // at most one pong and one close until they are taken, so
                // take them only once the previous ones are written.
                if self.ctrl.is_empty() {
                    self.take_control();
                }
                if !self.ctrl.is_empty() {
                    match self.stream.write(&self.ctrl) {
                        Ok(0) => {
                            return Err(ConnError::io("write", io::ErrorKind::WriteZero.into()))
                        }
                        Ok(n) => {
                            self.ctrl.drain(..n);
                            continue;
                        }
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                        Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                        Err(err) => return Err(ConnError::io("write", err)),
                    }
                }
            }
            if self.queued == 0 {
                return Ok(());
            }
            let frames = self.queued.min(MAX_IOV);
            let mut iov = [IoSlice::new(&[]); MAX_IOV];
            iov[0] = IoSlice::new(&self.frame[self.write_off..]);
            for slot in iov.iter_mut().take(frames).skip(1) {
                *slot = IoSlice::new(&self.frame);
            }
            match self.stream.write_vectored(&iov[..frames]) {
                Ok(0) => return Err(ConnError::io("write", io::ErrorKind::WriteZero.into())),
                Ok(n) => self.advance(n),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(ConnError::io("write", err)),
            }
        }
        Ok(())
    }

    /// Account for `written` bytes of queued frames.
    fn advance(&mut self, mut written: usize) {
        let len = self.frame.len();
        // Each pass completes a frame or uses up `written`.
        while written > 0 && self.queued > 0 {
            let rest = len - self.write_off;
            if written >= rest {
                written -= rest;
                self.write_off = 0;
                self.queued -= 1;
            } else {
                self.write_off += written;
                written = 0;
            }
        }
    }

    /// Start the close handshake: messages not yet on the wire are
    /// dropped (a partly written one is finished first), a close frame is
    /// queued. `Ok(Status::Finished)` if there is nothing to close.
    pub(crate) fn begin_close(&mut self) -> Result<Status, ConnError> {
        match self.phase {
            Phase::Connecting | Phase::Upgrading => return Ok(Status::Finished),
            Phase::Closing => return Ok(Status::Idle),
            Phase::Open if self.raw => return Ok(Status::Finished),
            Phase::Open => {}
        }
        self.queued = usize::from(self.write_off > 0);
        self.sent_at.clear();
        self.phase = Phase::Closing;
        if self.ws.close(CloseCode::NORMAL, "benchmark done").is_err() {
            // Already closing on the protocol's side: nothing more to send.
            return Ok(Status::Finished);
        }
        self.flush()?;
        Ok(Status::Idle)
    }
}
