//! A server of several loops behaves as one: broadcasts and sends reach
//! the connections of every loop exactly once and in order per sender,
//! and the mailboxes between loops are bounded.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use ws_mio::{
    Config, ConnectionId, Context, Error, Handler, MessageRef, Opening, Refusal, SendError,
};
use ws_proto::OpCode;

/// Relays every message to every other client (the chat case), and
/// notes which loops served a connection.
struct Relay {
    loops: Arc<Mutex<BTreeSet<usize>>>,
}

impl Handler for Relay {
    type Data = ();

    fn on_open(
        &mut self,
        _: &mut Context<'_, ()>,
        id: ConnectionId,
        _: &Opening<'_>,
    ) -> Result<(), Refusal> {
        lock_set(&self.loops).insert(id.loop_index());
        Ok(())
    }

    fn on_message(&mut self, ctx: &mut Context<'_, ()>, id: ConnectionId, message: MessageRef<'_>) {
        ctx.broadcast_except(id, message);
    }
}

fn lock_set(set: &Mutex<BTreeSet<usize>>) -> std::sync::MutexGuard<'_, BTreeSet<usize>> {
    set.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn four_loops_relay_every_message_to_the_49_others_exactly_once_in_order_per_sender() {
    const CLIENTS: usize = 50;
    const PER_SENDER: usize = 20;
    let loops = Arc::new(Mutex::new(BTreeSet::new()));
    let shared = Arc::clone(&loops);
    let server = Running::with_threads(config(), 4, move || Relay {
        loops: Arc::clone(&shared),
    });
    let url = server.url("/");
    let everyone_connected = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|me| {
            let url = url.clone();
            let everyone_connected = Arc::clone(&everyone_connected);
            thread::spawn(move || -> Result<(), String> {
                let mut client = ws_client(&url);
                // Nobody sends before everyone is open, so every message
                // has all 49 others to reach.
                everyone_connected.wait();
                for seq in 0..PER_SENDER {
                    client
                        .send_text(&format!("{me} {seq}"))
                        .map_err(|err| format!("client {me} sends: {err}"))?;
                }
                // Next sequence number expected from each sender.
                let mut next: HashMap<usize, usize> = HashMap::new();
                let deadline = Instant::now() + Duration::from_secs(20);
                for _ in 0..(CLIENTS - 1) * PER_SENDER {
                    if Instant::now() > deadline {
                        return Err(format!("client {me}: out of time, got {next:?}"));
                    }
                    let message = client
                        .recv()
                        .map_err(|err| format!("client {me} receives: {err}"))?;
                    let ws_std::Message::Text(text) = message else {
                        return Err(format!("client {me}: not text: {message:?}"));
                    };
                    let (from, seq) = text.split_once(' ').ok_or("no space")?;
                    let (from, seq): (usize, usize) = (
                        from.parse().map_err(|_| "sender")?,
                        seq.parse().map_err(|_| "seq")?,
                    );
                    if from == me {
                        return Err(format!("client {me} got its own message {seq}"));
                    }
                    let expected = next.entry(from).or_insert(0);
                    if seq != *expected {
                        return Err(format!(
                            "client {me}: from {from} got {seq}, expected {expected}"
                        ));
                    }
                    *expected += 1;
                }
                // Exactly once: nothing more comes.
                client
                    .set_read_timeout(Some(Duration::from_millis(200)))
                    .map_err(|err| err.to_string())?;
                match client.recv() {
                    Err(err) if err.is_timeout() => {}
                    other => return Err(format!("client {me}: one too many: {other:?}")),
                }
                client.close().map_err(|err| err.to_string())
            })
        })
        .collect();
    for client in clients {
        join_within(client, Duration::from_secs(30)).expect("a chat client");
    }
    let loops_used = lock_set(&loops).len();
    assert!(
        loops_used >= 2,
        "the kernel put all {CLIENTS} connections on one loop; nothing crossed"
    );
    server.stop_ok();
}

/// Sends across loops on command and records what its `on_error` sees:
/// `name` registers the connection, `big NAME N` sends N bytes to NAME,
/// `flood NAME K N` sends K messages of N bytes; every send's result is
/// sent back to the sender as `ok` or the error.
struct Courier {
    names: Arc<Mutex<HashMap<String, ConnectionId>>>,
    errors: Arc<Mutex<Vec<(ConnectionId, String)>>>,
}

impl Handler for Courier {
    type Data = ();

    fn on_open(
        &mut self,
        _: &mut Context<'_, ()>,
        id: ConnectionId,
        opening: &Opening<'_>,
    ) -> Result<(), Refusal> {
        let name = opening.path().trim_start_matches('/').to_owned();
        self.names.lock().unwrap().insert(name, id);
        Ok(())
    }

    fn on_message(&mut self, ctx: &mut Context<'_, ()>, id: ConnectionId, message: MessageRef<'_>) {
        let MessageRef::Text(text) = message else {
            return;
        };
        let words: Vec<&str> = text.split(' ').collect();
        let to = self.names.lock().unwrap()[words[1]];
        let (count, len) = match words[..] {
            ["big", _, len] => (1, len.parse().unwrap()),
            ["flood", _, count, len] => (count.parse().unwrap(), len.parse().unwrap()),
            _ => panic!("unknown command {text:?}"),
        };
        let payload = vec![7u8; len];
        let results: Vec<Result<(), SendError>> =
            (0..count).map(|_| ctx.send_binary(to, &payload)).collect();
        let first_error = results.iter().find_map(|r| r.err());
        let answer = first_error.map_or("ok".to_owned(), |err| format!("{err}"));
        ctx.send_text(id, &answer).unwrap();
    }

    fn on_error(&mut self, _: &mut Context<'_, ()>, id: ConnectionId, error: &Error) {
        self.errors.lock().unwrap().push((id, error.to_string()));
    }
}

type CourierLog = (
    Arc<Mutex<HashMap<String, ConnectionId>>>,
    Arc<Mutex<Vec<(ConnectionId, String)>>>,
);

/// A server of two loops with [`Courier`], a client `a` and a client `b`
/// served by the other loop.
fn courier_pair(config: Config) -> (Running, TcpStream, TcpStream, CourierLog) {
    let log: CourierLog = Default::default();
    let (names, errors) = log.clone();
    let server = Running::with_threads(config, 2, move || Courier {
        names: Arc::clone(&names),
        errors: Arc::clone(&errors),
    });
    let a = raw_upgrade(server.addr, "/a");
    let loop_of = |name: &str| log.0.lock().unwrap()[name].loop_index();
    for n in 0..64 {
        let name = format!("b{n}");
        let b = raw_upgrade(server.addr, &format!("/{name}"));
        if loop_of(&name) != loop_of("a") {
            let id = log.0.lock().unwrap()[&name];
            log.0.lock().unwrap().insert("b".to_owned(), id);
            return (server, a, b, log);
        }
    }
    panic!("64 connections, all on the loop of the first");
}

fn command(stream: &mut TcpStream, text: &str) -> String {
    stream
        .write_all(&client_frame(OpCode::Text, true, text.as_bytes()))
        .unwrap();
    let answer = read_frame(stream).expect("the answer");
    String::from_utf8(answer.payload).unwrap()
}

#[test]
fn a_send_that_does_not_fit_the_other_loops_mailbox_is_refused_with_queue_full() {
    let config = config().max_mailbox(1024);
    let (server, mut a, mut b, _) = courier_pair(config);
    assert_eq!(command(&mut a, "big b 100"), "ok");
    let frame = read_frame(&mut b).expect("the message that fits");
    assert_eq!(frame.payload.len(), 100);
    assert_eq!(
        command(&mut a, "big b 2000"),
        SendError::QueueFull.to_string()
    );
    drop((a, b));
    server.stop_ok();
}

#[test]
fn mail_that_finds_a_full_queue_on_the_other_loop_is_reported_there_as_undelivered() {
    // b never reads: its queue (64 KiB) and socket buffers fill, and what
    // comes from a's loop after that cannot be queued.
    let config = config().max_outgoing(64 * 1024).max_mailbox(64 << 20);
    let (server, mut a, b, (names, errors)) = courier_pair(config);
    let b_id = names.lock().unwrap()["b"];
    let reported = wait_until(Duration::from_secs(10), || {
        assert_eq!(command(&mut a, "flood b 16 262144"), "ok");
        errors
            .lock()
            .unwrap()
            .iter()
            .any(|(id, error)| *id == b_id && error.contains("dropped"))
    });
    assert!(
        reported,
        "no Undelivered error: {:?}",
        errors.lock().unwrap()
    );
    drop((a, b));
    server.stop_ok();
}
