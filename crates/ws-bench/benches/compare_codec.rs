//! Codec benchmarks against other Rust WebSocket crates, in memory (no
//! sockets):
//!
//! - `unmask/*`: XOR-unmasking 16 B, 1 KiB, 64 KiB and 1 MiB in place with
//!   `ws_proto::mask::apply_mask` and, with `--features peers`,
//!   `fastwebsockets::unmask`. tungstenite's and tokio-websockets' masking
//!   functions are private (`mod mask`), so they are not measured alone;
//!   their cost is inside the receive path below.
//! - `receive/*`: one masked binary message of those sizes, as wire bytes
//!   in memory, to the message handed out by a server-role connection:
//!   - `ws-proto`: the wire bytes are copied into a receive buffer (what a
//!     socket read does; the copy is inside the timing, because the others
//!     pay one too), then `Connection::server` receives the message in
//!     place (`DataChunk`s until `message_end`).
//!   - `ws-proto-64KiB-reads` (64 KiB and 1 MiB): what ws-mio does, the
//!     wire bytes copied in 64 KiB reads into one 64 KiB buffer, each
//!     received in place as it comes (payload streamed as chunks, never
//!     assembled), so each piece is unmasked while it is still in cache.
//!   - `tungstenite`: `WebSocket::from_raw_socket` over a
//!     `std::io::Cursor` of the wire bytes, rewound before each read
//!     (the rewind is a store), then `read()`.
//!   - `fastwebsockets` (`WebSocket::after_handshake(.., Role::Server)`,
//!     `read_frame`) and `tokio-websockets` (`ServerBuilder::serve`,
//!     `StreamExt::next`): over an in-memory tokio `AsyncRead` of the wire
//!     bytes, rewound before each read, each future polled once with a
//!     no-op waker (in-memory I/O is always ready, so no runtime is
//!     needed and none is measured).
//!   - tokio-tungstenite is tungstenite's codec behind tokio I/O: not
//!     measured separately.
//!
//! Each connection is built once and reused, so set-up costs (buffers)
//! are not in the timing. Run with
//! `cargo bench -p ws-bench --features peers --bench compare_codec`.

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;
use ws_proto::mask::apply_mask;
use ws_proto::{Config, Connection, Event, Frame};

const SIZES: [(usize, &str); 4] = [
    (16, "16B"),
    (1024, "1KiB"),
    (65536, "64KiB"),
    (1 << 20, "1MiB"),
];

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The payload of every message: a fixed pseudo-random pattern.
fn payload(size: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// One masked binary frame (FIN set) carrying `payload`.
fn masked_frame(payload: &[u8]) -> Vec<u8> {
    let frame = Frame::binary(payload);
    let mut out = vec![0u8; frame.encoded_len(true)];
    let n = frame
        .encode(&mut out, Some(KEY))
        .expect("the buffer has the encoded length");
    out.truncate(n);
    out
}

fn unmask(c: &mut Criterion) {
    let mut group = c.benchmark_group("unmask");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (size, name) in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        let mut data = payload(size);
        group.bench_function(BenchmarkId::new("ws-proto", name), |b| {
            b.iter(|| apply_mask(black_box(&mut data), black_box(KEY), 0))
        });
        #[cfg(feature = "peers")]
        group.bench_function(BenchmarkId::new("fastwebsockets", name), |b| {
            b.iter(|| fastwebsockets::unmask(black_box(&mut data), black_box(KEY)))
        });
    }
    group.finish();
}

fn receive(c: &mut Criterion) {
    let mut group = c.benchmark_group("receive");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (size, name) in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        let data = payload(size);
        let wire = masked_frame(&data);

        let mut buf = vec![0u8; wire.len()];
        // The floor of every column: the one copy of the wire bytes that
        // stands for the read, with no WebSocket work at all.
        group.bench_function(BenchmarkId::new("copy-only", name), |b| {
            b.iter(|| buf.copy_from_slice(black_box(&wire)))
        });
        let mut conn = Connection::server(Config::new());
        group.bench_function(BenchmarkId::new("ws-proto", name), |b| {
            b.iter(|| {
                buf.copy_from_slice(black_box(&wire));
                black_box(receive_ours(&mut conn, &mut buf))
            })
        });
        assert_eq!(receive_ours(&mut conn, &mut { wire.clone() }), size);

        if size >= READ_CHUNK {
            let mut rbuf = vec![0u8; READ_CHUNK];
            group.bench_function(BenchmarkId::new("ws-proto-64KiB-reads", name), |b| {
                b.iter(|| black_box(receive_streaming(&mut conn, black_box(&wire), &mut rbuf)))
            });
            assert_eq!(receive_streaming(&mut conn, &wire, &mut rbuf), size);
        }

        #[cfg(feature = "peers")]
        peers::receive(&mut group, name, size, &wire);
    }
    group.finish();
}

/// The read size of the streaming variant: ws-mio's read buffer.
const READ_CHUNK: usize = 64 * 1024;

/// Receive one message the way ws-mio does: the wire bytes arrive in
/// reads of at most `rbuf.len()` bytes (each a copy into `rbuf`), and the
/// payload is handed out as chunks in place, never assembled. Returns the
/// payload length.
fn receive_streaming(conn: &mut Connection, wire: &[u8], rbuf: &mut [u8]) -> usize {
    let mut offset = 0;
    let mut len = 0;
    // One pass per read; each read takes at least one byte.
    for _ in 0..=wire.len() {
        let n = (wire.len() - offset).min(rbuf.len());
        assert!(n > 0, "the message did not end");
        rbuf[..n].copy_from_slice(&wire[offset..offset + n]);
        offset += n;
        let mut start = 0;
        // Every event consumes at least one byte, so this ends.
        for _ in 0..=n {
            match conn.receive(&mut rbuf[start..n]) {
                Ok((used, Some(Event::Data(chunk)))) => {
                    start += used;
                    len += chunk.payload.len();
                    if chunk.message_end {
                        return len;
                    }
                }
                Ok((_, None)) => break,
                other => panic!("unexpected {other:?}"),
            }
        }
        // A lone frame leaves no partial header behind.
        assert_eq!(start, n);
    }
    panic!("the message did not end")
}

/// Receive one whole message from `buf`; returns its length.
fn receive_ours(conn: &mut Connection, buf: &mut [u8]) -> usize {
    let mut start = 0;
    let mut len = 0;
    // Every event consumes at least one byte, so this ends.
    for _ in 0..=buf.len() {
        match conn.receive(&mut buf[start..]) {
            Ok((n, Some(Event::Data(chunk)))) => {
                start += n;
                len += chunk.payload.len();
                if chunk.message_end {
                    return len;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    panic!("the message did not end")
}

#[cfg(feature = "peers")]
mod peers {
    use std::cell::Cell;
    use std::future::Future;
    use std::io::{self, Cursor};
    use std::pin::{pin, Pin};
    use std::rc::Rc;
    use std::task::{Context, Poll, Waker};

    use criterion::measurement::WallTime;
    use criterion::{black_box, BenchmarkGroup, BenchmarkId};
    use futures_util::StreamExt;
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

    /// The wire bytes of one message as a tokio stream that can be
    /// rewound from outside; writes are accepted and dropped.
    struct MemIo {
        wire: Rc<[u8]>,
        pos: Rc<Cell<usize>>,
    }

    impl AsyncRead for MemIo {
        fn poll_read(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let pos = self.pos.get();
            let rest = &self.wire[pos..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            self.pos.set(pos + n);
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for MemIo {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Run a future over in-memory I/O: it completes in one poll.
    fn now<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(value) => value,
            Poll::Pending => panic!("in-memory I/O never waits"),
        }
    }

    fn mem_io(wire: &[u8]) -> (MemIo, Rc<Cell<usize>>) {
        let pos = Rc::new(Cell::new(0));
        let io = MemIo {
            wire: Rc::from(wire),
            pos: Rc::clone(&pos),
        };
        (io, pos)
    }

    pub(super) fn receive(
        group: &mut BenchmarkGroup<'_, WallTime>,
        name: &str,
        size: usize,
        wire: &[u8],
    ) {
        // tungstenite over a Cursor.
        let mut ws = tungstenite::WebSocket::from_raw_socket(
            Cursor::new(wire.to_vec()),
            tungstenite::protocol::Role::Server,
            None,
        );
        let read = |ws: &mut tungstenite::WebSocket<Cursor<Vec<u8>>>| {
            ws.get_mut().set_position(0);
            match ws.read() {
                Ok(tungstenite::Message::Binary(bytes)) => bytes.len(),
                other => panic!("tungstenite: {other:?}"),
            }
        };
        assert_eq!(read(&mut ws), size);
        group.bench_function(BenchmarkId::new("tungstenite", name), |b| {
            b.iter(|| black_box(read(&mut ws)))
        });

        // fastwebsockets over in-memory tokio I/O.
        let (io, pos) = mem_io(wire);
        let mut ws = fastwebsockets::WebSocket::after_handshake(io, fastwebsockets::Role::Server);
        let read = |ws: &mut fastwebsockets::WebSocket<MemIo>| {
            pos.set(0);
            match now(ws.read_frame()) {
                Ok(frame) if frame.opcode == fastwebsockets::OpCode::Binary && frame.fin => {
                    frame.payload.len()
                }
                Ok(frame) => panic!("fastwebsockets: {:?}", frame.opcode),
                Err(err) => panic!("fastwebsockets: {err}"),
            }
        };
        assert_eq!(read(&mut ws), size);
        group.bench_function(BenchmarkId::new("fastwebsockets", name), |b| {
            b.iter(|| black_box(read(&mut ws)))
        });

        // tokio-websockets over in-memory tokio I/O.
        let (io, pos) = mem_io(wire);
        let mut ws = tokio_websockets::ServerBuilder::new().serve(io);
        let read = |ws: &mut tokio_websockets::WebSocketStream<MemIo>| {
            pos.set(0);
            match now(ws.next()) {
                Some(Ok(message)) if message.is_binary() => message.as_payload().len(),
                other => panic!("tokio-websockets: {other:?}"),
            }
        };
        assert_eq!(read(&mut ws), size);
        group.bench_function(BenchmarkId::new("tokio-websockets", name), |b| {
            b.iter(|| black_box(read(&mut ws)))
        });
    }
}

criterion_group!(benches, unmask, receive);
criterion_main!(benches);
