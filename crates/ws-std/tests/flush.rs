//! `WebSocket::flush` over a stream whose flush is interrupted by a
//! signal (`io::ErrorKind::Interrupted`), which, as for reads and writes,
//! means "call again", not a failure.

use std::io::{self, Read, Write};

use ws_std::{Frame, Role, WebSocket};

/// A stream that keeps what is written and fails its first `interrupts`
/// flushes with `Interrupted`.
struct InterruptedFlush {
    written: Vec<u8>,
    interrupts: usize,
    flushes: usize,
}

impl Read for InterruptedFlush {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
}

impl Write for InterruptedFlush {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flushes += 1;
        if self.flushes <= self.interrupts {
            return Err(io::ErrorKind::Interrupted.into());
        }
        Ok(())
    }
}

impl ws_std::Stream for InterruptedFlush {}

#[test]
fn a_flush_interrupted_by_a_signal_is_retried() {
    let stream = InterruptedFlush {
        written: Vec::new(),
        interrupts: 2,
        flushes: 0,
    };
    let config = ws_std::Config::default().compression(None);
    let mut ws = WebSocket::from_parts(stream, Role::Server, config, &[], None);
    ws.feed(&Frame::text("one")).unwrap();
    ws.feed(&Frame::text("two")).unwrap();
    ws.flush().expect("an interrupted flush is called again");
    assert!(ws.is_open());
    let stream = ws.get_ref();
    assert_eq!(stream.flushes, 3);
    assert_eq!(stream.written, b"\x81\x03one\x81\x03two");
    // The connection goes on.
    ws.send_text("three").unwrap();
    assert!(ws.get_ref().written.ends_with(b"\x81\x05three"));
}
