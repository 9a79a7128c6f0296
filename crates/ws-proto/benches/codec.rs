//! Codec benchmarks: masking against a plain copy, the receive path for a
//! stream of small frames, and UTF-8 validation against `core::str`.
//!
//! Run with `cargo bench -p ws-proto`.

// criterion_group! generates undocumented functions.
#![allow(missing_docs)]

use criterion::{
    black_box, criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput,
};
use ws_proto::mask::apply_mask;
use ws_proto::{Config, Connection, Event, Frame, Utf8Validator};

const SIZES: [(usize, &str); 4] = [
    (16, "16B"),
    (1024, "1KiB"),
    (65536, "64KiB"),
    (1 << 20, "1MiB"),
];

fn masking(c: &mut Criterion) {
    let mut group = c.benchmark_group("unmask");
    for (size, name) in SIZES {
        group.throughput(Throughput::Bytes(size as u64));
        let mut data = vec![0x5au8; size];
        group.bench_function(BenchmarkId::new("apply_mask", name), |b| {
            b.iter(|| apply_mask(black_box(&mut data), black_box([1, 2, 3, 4]), 0))
        });
        let source = vec![0x5au8; size];
        let mut target = vec![0u8; size];
        group.bench_function(BenchmarkId::new("copy", name), |b| {
            b.iter(|| target.copy_from_slice(black_box(&source)))
        });
    }
    group.finish();
}

/// 1,000 masked 20-byte binary frames as one buffer.
fn small_frame_stream() -> Vec<u8> {
    let payload = [0x42u8; 20];
    let mut wire = Vec::new();
    let mut out = [0u8; 64];
    for i in 0..1000u32 {
        let n = Frame::binary(&payload)
            .encode(&mut out, Some(i.to_be_bytes()))
            .unwrap();
        wire.extend_from_slice(&out[..n]);
    }
    wire
}

fn receive_path(c: &mut Criterion) {
    let wire = small_frame_stream();
    let mut group = c.benchmark_group("receive");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("1000 masked 20B frames", |b| {
        b.iter_batched_ref(
            || wire.clone(),
            |buf| {
                let mut conn = Connection::server(Config::new());
                let mut start = 0;
                let mut bytes = 0;
                while let Ok((n, Some(Event::Data(chunk)))) = conn.receive(&mut buf[start..]) {
                    bytes += chunk.payload.len();
                    start += n;
                }
                assert_eq!(bytes, 20_000);
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn mixed_text(len: usize) -> String {
    let sample = "ASCII text, ünïcödé, ελληνικά, 日本語, emoji 🦀🚀; ";
    sample
        .chars()
        .cycle()
        .scan(0, |n, ch| {
            *n += ch.len_utf8();
            (*n <= len).then_some(ch)
        })
        .collect()
}

fn utf8(c: &mut Criterion) {
    let ascii = "a".repeat(65536);
    let mixed = mixed_text(65536);
    let mut group = c.benchmark_group("utf8");
    for (name, text) in [("ascii 64KiB", &ascii), ("mixed 64KiB", &mixed)] {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(BenchmarkId::new("Utf8Validator", name), |b| {
            b.iter(|| {
                let mut v = Utf8Validator::new();
                v.feed(black_box(text.as_bytes())).unwrap();
                v.finish().unwrap();
            })
        });
        group.bench_function(BenchmarkId::new("core::str::from_utf8", name), |b| {
            b.iter(|| {
                core::str::from_utf8(black_box(text.as_bytes()))
                    .unwrap()
                    .len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, masking, receive_path, utf8);
criterion_main!(benches);
