//! The receive buffer of a transport that reads a stream (feature
//! `alloc`).

use alloc::boxed::Box;
use alloc::vec;

/// A transport's receive buffer: a read appends at `end`, the session
/// takes frames from `start..end` ([`Session::receive`](super::Session::receive)
/// unmasks them in place), and [`compact`](Self::compact) makes room for
/// the next read by moving what is left (at most a frame header or a
/// control frame, when the buffer is at least
/// [`MIN_RECV_BUFFER`](crate::constants::MIN_RECV_BUFFER) long) to the
/// front. The fields are public so that a transport can lend out
/// payloads as ranges of `buf`.
///
/// ```
/// use ws_proto::session::RecvBuffer;
///
/// let mut inbox = RecvBuffer::new(8, b"\x81\x02");
/// assert_eq!(inbox.unread(), b"\x81\x02");
/// // A read appends.
/// inbox.spare()[..2].copy_from_slice(b"hi");
/// inbox.end += 2;
/// inbox.start += 4; // all taken
/// inbox.compact();
/// assert_eq!((inbox.start, inbox.end, inbox.spare().len()), (0, 0, 8));
/// ```
#[derive(Debug)]
pub struct RecvBuffer {
    /// The bytes, read or not.
    pub buf: Box<[u8]>,
    /// The first byte not yet taken.
    pub start: usize,
    /// The end of what was read.
    pub end: usize,
}

impl RecvBuffer {
    /// A buffer of `size` bytes (or more, to hold `already_read`) holding
    /// `already_read`: bytes read with the handshake, after its header
    /// block.
    pub fn new(size: usize, already_read: &[u8]) -> Self {
        let mut buf = vec![0; size.max(already_read.len())].into_boxed_slice();
        buf[..already_read.len()].copy_from_slice(already_read);
        RecvBuffer {
            buf,
            start: 0,
            end: already_read.len(),
        }
    }

    /// Whether every byte read has been taken.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// The bytes read and not yet taken, to hand to the session.
    pub fn unread(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.end]
    }

    /// The room after what was read, for the next read (call
    /// [`compact`](Self::compact) first to make it as large as it gets).
    pub fn spare(&mut self) -> &mut [u8] {
        &mut self.buf[self.end..]
    }

    /// Make room at the end, moving the bytes not yet taken to the front.
    pub fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_holds_what_the_handshake_read_even_past_its_size() {
        let mut inbox = RecvBuffer::new(2, b"abcd");
        assert_eq!(inbox.unread(), b"abcd");
        assert!(inbox.spare().is_empty());
        inbox.start = 3;
        inbox.compact();
        assert_eq!(inbox.unread(), b"d");
        assert_eq!(inbox.spare().len(), 3);
        inbox.start = 1;
        assert!(inbox.is_empty());
    }
}
