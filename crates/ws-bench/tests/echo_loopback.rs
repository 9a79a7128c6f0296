//! `ws-load` against a tiny in-process echo server built on `ws-proto`
//! alone: a clean run passes, and echoes that are altered, cut short or of
//! the wrong type are caught.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use ws_bench::args::LoadArgs;
use ws_bench::load::{self, EXIT_MISMATCH};
use ws_proto::handshake::server::{write_response, RequestParser};
use ws_proto::{Connection, Event, Frame, OpCode};

/// How the test server answers.
#[derive(Clone, Copy)]
enum Echo {
    Faithful,
    /// Flip one payload byte of every echo.
    Corrupt,
    /// Drop the last payload byte.
    Short,
    /// Answer text with binary and binary with text.
    WrongType,
    /// Send two pings in front of every echo, in the same write: the
    /// client's core holds the second until the first's pong is taken.
    PingsFirst,
}

/// Start a server for `connections` connections; returns its port.
fn serve(connections: usize, echo: Echo) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(stream) = stream else { continue };
            thread::spawn(move || {
                let _ = handle(stream, echo);
            });
        }
    });
    port
}

fn handle(mut stream: TcpStream, echo: Echo) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut have = 0;
    // Handshake: at most 8 KiB of request.
    let leftover = loop {
        let n = stream.read(&mut buf[have..8192])?;
        if n == 0 {
            return Ok(());
        }
        have += n;
        if let Some(request) = RequestParser::new().parse(&buf[..have]).unwrap() {
            let mut out = [0u8; 512];
            let len = write_response(request.key(), None, None, &[], &mut out).unwrap();
            stream.write_all(&out[..len])?;
            break request.consumed();
        }
    };
    buf.copy_within(leftover..have, 0);
    have -= leftover;

    let mut conn = Connection::server(ws_proto::Config::default());
    let mut message = Vec::new();
    let mut out = Vec::new();
    // Bounded by the read timeout and by the client closing.
    for _ in 0..10_000_000u64 {
        let mut start = 0;
        loop {
            let (used, event) = match conn.receive(&mut buf[start..have]) {
                Ok(result) => result,
                Err(_) => return Ok(()),
            };
            start += used;
            match event {
                None => break,
                Some(Event::Data(chunk)) => {
                    message.extend_from_slice(chunk.payload);
                    if chunk.message_end {
                        let mut opcode = chunk.kind.opcode();
                        match echo {
                            Echo::Faithful => {}
                            Echo::PingsFirst => {
                                for _ in 0..2 {
                                    let ping = Frame::new(OpCode::Ping, b"are you there");
                                    let at = out.len();
                                    out.resize(at + ping.encoded_len(false), 0);
                                    ping.encode(&mut out[at..], None).unwrap();
                                }
                            }
                            Echo::Corrupt => {
                                let middle = message.len() / 2;
                                message[middle] ^= 0x20;
                            }
                            Echo::Short => {
                                message.pop();
                            }
                            Echo::WrongType => {
                                opcode = match opcode {
                                    OpCode::Text => OpCode::Binary,
                                    _ => OpCode::Text,
                                }
                            }
                        }
                        let frame = Frame::new(opcode, &message);
                        let at = out.len();
                        out.resize(at + frame.encoded_len(false), 0);
                        frame.encode(&mut out[at..], None).unwrap();
                        message.clear();
                    }
                }
                Some(_) => {}
            }
        }
        buf.copy_within(start..have, 0);
        have -= start;
        let mut control = [0u8; 256];
        let n = conn.poll_transmit(&mut control);
        out.extend_from_slice(&control[..n]);
        stream.write_all(&out)?;
        out.clear();
        if conn.state() == ws_proto::State::Closed {
            return Ok(());
        }
        let n = stream.read(&mut buf[have..])?;
        if n == 0 {
            return Ok(());
        }
        have += n;
    }
    Ok(())
}

fn args(port: u16, connections: usize, size: usize, text: bool) -> LoadArgs {
    LoadArgs {
        url: format!("ws://127.0.0.1:{port}/"),
        connections,
        size,
        in_flight: 4,
        duration: Duration::from_millis(300),
        warmup: Duration::from_millis(100),
        text,
        raw: false,
        server_pid: Some(std::process::id()),
        json: false,
        connect_timeout: Duration::from_secs(5),
    }
}

#[test]
fn clean_run_against_a_faithful_echo() {
    let port = serve(3, Echo::Faithful);
    let report = load::run(&args(port, 3, 3000, false)).unwrap();
    assert_eq!(report.established, 3);
    assert!(report.messages > 0, "{report:?}");
    assert_eq!(report.payload_bytes, report.messages * 3000);
    assert_eq!(report.latency_samples, report.messages);
    assert!(report.p50_ns.is_some() && report.p99_ns >= report.p50_ns);
    assert!(report.server_cpu_s.is_some());
    assert_eq!(report.stats.errors, 0, "{report:?}");
    assert_eq!(report.stats.closed_cleanly, 3, "{report:?}");
    assert_eq!(report.exit_code(), 0);
    assert!(report.to_json().contains("\"mismatches\":0"));
}

#[test]
fn text_and_empty_messages_echo_cleanly() {
    let port = serve(2, Echo::Faithful);
    let report = load::run(&args(port, 2, 100, true)).unwrap();
    assert_eq!(report.exit_code(), 0, "{report:?}");
    let port = serve(1, Echo::Faithful);
    let report = load::run(&args(port, 1, 0, false)).unwrap();
    assert_eq!(report.exit_code(), 0, "{report:?}");
    assert!(report.messages > 0);
}

#[test]
fn echoes_behind_two_pings_are_received_without_waiting_for_more_data() {
    // Before the fix, the bytes after the second ping waited in the
    // client's carry buffer for the server's next write, which waited for
    // the client: the run ended with no echo after the first pings.
    let port = serve(2, Echo::PingsFirst);
    let report = load::run(&args(port, 2, 100, false)).unwrap();
    assert_eq!(report.stats.errors, 0, "{report:?}");
    assert!(report.messages > 100, "{report:?}");
    assert_eq!(report.exit_code(), 0, "{report:?}");
}

#[test]
fn altered_echoes_are_caught() {
    // Text for the wrong type: random binary echoed as text would fail
    // UTF-8 validation (a protocol error) before its type is looked at.
    for (echo, text, what) in [
        (Echo::Corrupt, false, "corrupt"),
        (Echo::Short, false, "short"),
        (Echo::WrongType, true, "wrong type"),
    ] {
        let port = serve(2, echo);
        let report = load::run(&args(port, 2, 200_000, text)).unwrap();
        assert_eq!(report.stats.mismatches, 2, "{what}: {report:?}");
        assert_eq!(report.exit_code(), EXIT_MISMATCH, "{what}");
    }
}

#[test]
fn nothing_listening_is_an_error() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    assert!(load::run(&args(port, 2, 10, false)).is_err());
}
