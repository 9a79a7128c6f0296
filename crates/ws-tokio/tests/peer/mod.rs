//! A scripted client peer over an in-memory pipe: it encodes frames with
//! the `ws-proto` session and reads back what the server under test sends.
//! Included by the test files that need it (`mod peer;`).

#![allow(dead_code)]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use ws_proto::mask::os_mask;
use ws_proto::session::{Incoming, Session};
use ws_proto::{Config, MessageKind};
use ws_tokio::{Role, WebSocket};

/// What the peer read from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// A whole message's payload.
    Message(Vec<u8>),
    /// A ping's payload.
    Ping(Vec<u8>),
    /// A pong's payload.
    Pong(Vec<u8>),
    /// A close frame's code and reason.
    Close(u16, String),
}

/// The client end of a pipe whose server end is a ws-tokio `WebSocket`.
pub struct Peer {
    /// The client's end of the pipe.
    pub io: DuplexStream,
    /// The client's session: encodes what it sends, decodes what it reads.
    pub session: Session<ws_proto::mask::OsMask>,
    /// The pongs and close reply the client's core made, not sent.
    pub answers: Vec<u8>,
    inbox: Vec<u8>,
}

/// A server `WebSocket` (made as a hyper user would, on an upgraded
/// stream) and the client peer at the other end of a pipe of `capacity`
/// bytes.
pub fn pair(config: ws_tokio::Config, capacity: usize) -> (WebSocket<DuplexStream>, Peer) {
    let (client, server) = tokio::io::duplex(capacity);
    let ws = WebSocket::from_upgraded(server, Role::Server, config);
    let peer = Peer {
        io: client,
        session: Session::client(Config::default(), os_mask(), 64 << 20),
        answers: Vec::new(),
        inbox: Vec::new(),
    };
    (ws, peer)
}

impl Peer {
    /// Encode a message in frames of at most `max_frame` bytes.
    pub fn encode(&mut self, kind: MessageKind, payload: &[u8], max_frame: usize) -> Vec<u8> {
        let mut wire = Vec::new();
        self.session
            .send_fragmented(kind, payload, max_frame, &mut wire)
            .unwrap();
        wire
    }

    /// Encode a ping.
    pub fn ping(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0; 200];
        let len = self
            .session
            .connection_mut()
            .encode_ping(payload, &mut out)
            .unwrap();
        out.truncate(len);
        out
    }

    /// Write bytes to the server.
    pub async fn write(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).await.unwrap();
    }

    /// The next thing the server sent, within `timeout` (of tokio's time).
    pub async fn next(&mut self, timeout: Duration) -> Option<Seen> {
        tokio::time::timeout(timeout, self.read_next())
            .await
            .ok()
            .flatten()
    }

    async fn read_next(&mut self) -> Option<Seen> {
        loop {
            if !self.inbox.is_empty() {
                let (consumed, seen) = match self.session.receive(&mut self.inbox) {
                    Ok((consumed, incoming)) => (
                        consumed,
                        match incoming {
                            Some(Incoming::Message(m)) => {
                                Some(Seen::Message(m.as_ref().as_bytes().to_vec()))
                            }
                            Some(Incoming::Ping(p)) => Some(Seen::Ping(p.to_vec())),
                            Some(Incoming::Pong(p)) => Some(Seen::Pong(p.to_vec())),
                            Some(Incoming::Close(c)) => {
                                Some(Seen::Close(c.code.0, c.reason.to_owned()))
                            }
                            _ => None,
                        },
                    ),
                    Err(err) => panic!("the server sent something invalid: {err}"),
                };
                self.inbox.drain(..consumed);
                // The core holds further input until its automatic answers
                // are taken: this peer keeps them aside, for a test to send
                // (`answers`) or not.
                let mut answer = [0u8; 256];
                loop {
                    let len = self.session.poll_transmit(&mut answer);
                    if len == 0 {
                        break;
                    }
                    self.answers.extend_from_slice(&answer[..len]);
                }
                if seen.is_some() {
                    return seen;
                }
                if consumed > 0 {
                    continue;
                }
            }
            let mut chunk = [0u8; 4096];
            let n = self.io.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            self.inbox.extend_from_slice(&chunk[..n]);
        }
    }

    /// Read until the server's close frame; its code.
    pub async fn close_code(&mut self, timeout: Duration) -> Option<u16> {
        for _ in 0..1000 {
            match self.next(timeout).await? {
                Seen::Close(code, _) => return Some(code),
                _ => continue,
            }
        }
        None
    }
}
