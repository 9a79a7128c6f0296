//! The client side of the opening handshake over a non-blocking socket:
//! the request goes out in as many writes as the socket wants, the
//! response is gathered until `ws-proto`'s [`ClientHandshake`] accepts it.

use std::io::{self, Write};

use ws_proto::handshake::{ClientHandshake, Status};
use ws_proto::mask::os_entropy;
use ws_proto::HandshakeError;

/// One connection's opening handshake in progress.
#[derive(Debug)]
pub struct ClientUpgrade {
    request: Vec<u8>,
    written: usize,
    handshake: ClientHandshake,
    received: Vec<u8>,
}

impl ClientUpgrade {
    /// A handshake for `path` on `host` with a fresh random key.
    pub fn new(host: &'static str, path: &'static str) -> Result<ClientUpgrade, HandshakeError> {
        let mut key = [0u8; 16];
        os_entropy(&mut key);
        Self::with_key(host, path, key)
    }

    /// A handshake with a given key (tests).
    pub fn with_key(
        host: &'static str,
        path: &'static str,
        key: [u8; 16],
    ) -> Result<ClientUpgrade, HandshakeError> {
        let handshake = ClientHandshake::new(host, path, key)?;
        let mut out = vec![0u8; handshake.request_capacity(&[])];
        let len = handshake.write_request(&[], &mut out)?;
        out.truncate(len);
        Ok(ClientUpgrade {
            request: out,
            written: 0,
            handshake,
            received: Vec::new(),
        })
    }

    /// The request bytes.
    pub fn request(&self) -> &[u8] {
        &self.request
    }

    /// Write what is left of the request. `Ok(true)` once all of it is
    /// out, `Ok(false)` if the socket would block first.
    pub fn write_request<W: Write>(&mut self, out: &mut W) -> io::Result<bool> {
        // Each successful write advances; at most one pass per byte.
        for _ in 0..=self.request.len() {
            if self.written == self.request.len() {
                return Ok(true);
            }
            match out.write(&self.request[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
        Ok(self.written == self.request.len())
    }

    /// Whether the whole request has been written.
    pub fn request_sent(&self) -> bool {
        self.written == self.request.len()
    }

    /// Add received bytes. `Ok(None)` while the response is incomplete;
    /// `Ok(Some(n))` once the server accepted the upgrade, where `n` is the
    /// number of bytes at the end of `bytes` that follow the response
    /// (the first WebSocket frames). The parser caps the response at
    /// 8 KiB, so this never grows without bound.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<usize>, HandshakeError> {
        self.received.extend_from_slice(bytes);
        match self.handshake.feed(&self.received)? {
            Status::Partial => Ok(None),
            Status::Complete(done) => {
                let after = self.received.len() - done.consumed;
                // The response ended in these bytes, or it would have been
                // found by an earlier call.
                Ok(Some(after.min(bytes.len())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ws_proto::handshake::{Accept, ServerHandshake};

    /// The server's answer to `request`, followed by `extra`.
    fn answer(request: &[u8], extra: &[u8]) -> Vec<u8> {
        let mut server = ServerHandshake::new();
        let incoming = server.feed(request).unwrap().complete().unwrap();
        assert_eq!(incoming.request().path(), "/echo");
        assert_eq!(incoming.request().host(), "127.0.0.1:9001");
        let mut out = vec![0u8; 512];
        let done = incoming.accept(&Accept::default(), &mut out).unwrap();
        out.truncate(done.response_len);
        out.extend_from_slice(extra);
        out
    }

    /// A writer that takes at most `chunk` bytes per call and then blocks.
    struct Trickle {
        taken: Vec<u8>,
        chunk: usize,
        calls_left: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.calls_left == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.calls_left -= 1;
            let n = buf.len().min(self.chunk);
            self.taken.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn request_goes_out_across_partial_writes() {
        let mut up = ClientUpgrade::new("127.0.0.1:9001", "/echo").unwrap();
        let mut sink = Trickle {
            taken: Vec::new(),
            chunk: 7,
            calls_left: 3,
        };
        assert!(!up.write_request(&mut sink).unwrap());
        assert_eq!(sink.taken.len(), 21);
        sink.calls_left = usize::MAX;
        assert!(up.write_request(&mut sink).unwrap());
        assert!(up.request_sent());
        assert_eq!(sink.taken, up.request());
    }

    #[test]
    fn response_split_anywhere_then_frames() {
        let up = ClientUpgrade::with_key("127.0.0.1:9001", "/echo", [3; 16]).unwrap();
        let frames = b"\x82\x03abc";
        let wire = answer(up.request(), frames);
        for split in 1..wire.len() {
            let mut up = ClientUpgrade::with_key("127.0.0.1:9001", "/echo", [3; 16]).unwrap();
            let (a, b) = wire.split_at(split);
            let first = up.feed(a).unwrap();
            let leftover = match first {
                Some(n) => {
                    // Response complete in the first piece.
                    let mut rest = a[a.len() - n..].to_vec();
                    rest.extend_from_slice(b);
                    rest
                }
                None => {
                    let n = up.feed(b).unwrap().expect("complete");
                    b[b.len() - n..].to_vec()
                }
            };
            assert_eq!(leftover, frames, "split at {split}");
        }
    }

    #[test]
    fn wrong_accept_is_refused() {
        let mut up = ClientUpgrade::with_key("127.0.0.1:9001", "/echo", [3; 16]).unwrap();
        let other = ClientUpgrade::with_key("127.0.0.1:9001", "/echo", [4; 16]).unwrap();
        let wire = answer(other.request(), b"");
        assert_eq!(up.feed(&wire), Err(HandshakeError::AcceptMismatch));
    }
}
