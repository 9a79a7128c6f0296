//! Figures for permessage-deflate: compression ratio and throughput on a
//! JSON-like payload and on random bytes, and the memory a connection's
//! codec holds with and without context takeover.
//!
//! ```text
//! cargo run --release -p ws-proto --features deflate --example deflate_figures
//! ```
//! Throughput is the median of 15 timed rounds; memory is the growth of
//! this process's resident set over 1,000 codecs (Linux only).

use std::time::Instant;

use ws_proto::deflate::{CompressionConfig, DeflateParams, PerMessageDeflate};
use ws_proto::{DataChunk, MessageKind, Role};

fn json_like(len: usize) -> Vec<u8> {
    let mut text = String::from("[");
    let mut i = 0;
    while text.len() < len {
        text.push_str(&format!(
            "{{\"id\":{i},\"user\":\"user{}\",\"price\":{}.{:02},\"tags\":[\"red\",\"blue\"],\"active\":{}}},",
            i % 97,
            i * 37 % 1000,
            i % 100,
            i % 3 == 0
        ));
        i += 1;
    }
    text.truncate(len);
    text.into_bytes()
}

fn random(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 32) as u8
        })
        .collect()
}

fn codec(role: Role, params: DeflateParams) -> PerMessageDeflate {
    let config = CompressionConfig::default().threshold(0);
    PerMessageDeflate::new(role, params, config, 64 << 20)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Ratio and compress/decompress throughput (MB/s of uncompressed data),
/// each round on its own: without context takeover, so a repeated message
/// cannot refer back to its previous copy.
fn measure(name: &str, payload: &[u8]) {
    let alone = DeflateParams {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..DeflateParams::default()
    };
    let mut sender = codec(Role::Server, alone);
    let mut receiver = codec(Role::Client, alone);
    let mut wire = Vec::new();
    let mut compress_rates = Vec::new();
    let mut inflate_rates = Vec::new();
    for _ in 0..15 {
        wire.clear();
        let start = Instant::now();
        sender.compress(payload, &mut wire).expect("compress");
        compress_rates.push(payload.len() as f64 / start.elapsed().as_secs_f64() / 1e6);
        let chunk = DataChunk {
            kind: MessageKind::Binary,
            payload: &wire,
            message_start: true,
            message_end: true,
            frame_start: true,
            frame_end: true,
            compressed: true,
        };
        let start = Instant::now();
        let message = receiver
            .receive_chunk(&chunk)
            .expect("inflate")
            .expect("whole message");
        inflate_rates.push(payload.len() as f64 / start.elapsed().as_secs_f64() / 1e6);
        assert_eq!(message.as_bytes(), payload);
    }
    println!(
        "{name:<22} {:>9} B -> {:>9} B  ratio {:>6.2}  compress {:>7.1} MB/s  inflate {:>7.1} MB/s",
        payload.len(),
        wire.len(),
        payload.len() as f64 / wire.len() as f64,
        median(compress_rates),
        median(inflate_rates)
    );
}

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<usize>()
                .ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// Resident memory per connection after each of 1,000 codec pairs
/// exchanged one message (both directions' state on this side).
fn memory(name: &str, params: DeflateParams) {
    let message = json_like(4096);
    let before = rss_bytes();
    let mut codecs = Vec::new();
    for _ in 0..1000 {
        let mut ours = codec(Role::Server, params);
        let mut peer = codec(Role::Client, params);
        let mut wire = Vec::new();
        ours.compress(&message, &mut wire).expect("compress");
        peer.compress(&message, &mut wire).expect("compress");
        let chunk = DataChunk {
            kind: MessageKind::Binary,
            payload: &wire[wire.len() / 2..],
            message_start: true,
            message_end: true,
            frame_start: true,
            frame_end: true,
            compressed: true,
        };
        // Garbage in half the buffer is fine: only the state size matters.
        let _ = ours.receive_chunk(&chunk);
        ours.release_idle();
        codecs.push(ours);
    }
    let per_connection = rss_bytes().saturating_sub(before) / codecs.len();
    println!("{name:<40} {:>8} B per connection", per_connection);
}

fn main() {
    println!("ratio and throughput (level 6, 32 KiB window, median of 15):");
    measure("JSON-like 16 KiB", &json_like(16 * 1024));
    measure("JSON-like 1 MiB", &json_like(1 << 20));
    measure("random 16 KiB", &random(16 * 1024));
    measure("random 1 MiB", &random(1 << 20));
    println!("memory after one message each way, idle codecs released where allowed:");
    memory("context takeover (default)", DeflateParams::default());
    memory(
        "no context takeover, both directions",
        DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..DeflateParams::default()
        },
    );
    memory(
        "context takeover, 9-bit windows",
        DeflateParams {
            server_max_window_bits: 9,
            client_max_window_bits: 9,
            ..DeflateParams::default()
        },
    );
}
