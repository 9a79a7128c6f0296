//! Chat fan-out across the loops of a server: how many messages per second
//! a ws-mio chat server delivers to its receivers, with one loop or two.
//!
//! ```text
//! cargo run --release -p ws-mio --example fanout -- --seconds 5
//! ```
//! Options: `--scenario fanout1000|many100|all` (default all),
//! `--loops 1|2|both` (default both), `--seconds S` (measured time, default
//! 5, after 1 s of warm-up), `--window N` (messages each sender keeps in
//! flight; default 64 for fanout1000, 16 for many100), `--repeat N` (runs
//! every configuration N times, interleaved, and ends with medians).
//!
//! The server is the chat of the `chat` example without the join and leave
//! notices: `Server::bind("127.0.0.1:0")` with `--loops` loops, whose
//! `on_message` does `ctx.broadcast_except(id, message)`. The clients are
//! ws-mio client connections on one client `EventLoop`, driven by this
//! process's main thread; the server's loops have threads of their own.
//!
//! - `fanout1000`: 1 sender, 1,000 receivers. Each message reaches the
//!   1,000 receivers.
//! - `many100`: 100 senders, 100 receivers. Each message reaches the 100
//!   receivers and the 99 other senders (the chat sends to everyone but
//!   the author); the senders read and drop those copies, which are not
//!   counted.
//!
//! **Delivered** is what the receiver connections got: messages received
//! by receivers during the measured time, divided by that time. Messages
//! are 32-byte text frames (sender number and sequence number),
//! permessage-deflate is off on both sides, and receivers never send.
//!
//! Each sender keeps at most `--window` messages in flight, counted by the
//! receivers: a sender may send message `n` once all but `window - 1` of
//! its earlier messages have reached every receiver (by the receivers'
//! total count of its messages). Senders refill from the receivers'
//! `on_message` (the first windows from the `on_open` of the last
//! connection), so what they send leaves at the end of the client loop's
//! turn, in one write per sender. That keeps the server busy while its
//! queues stay far below `Config::max_outgoing` (1 MiB) and
//! `Config::max_mailbox` (16 MiB): with the default windows a connection
//! has at most 64 (fanout1000) or 1,600 (many100) 34-byte frames queued.
//! The larger the window, the more frames each of the server's writes
//! carries, and the higher the rate: compare figures at one window only.
//!
//! Nothing is dropped silently. The server counts (1) the copies a
//! broadcast did not place at the sending loop (a full connection queue,
//! or a full mailbox of another loop: `broadcast_except` returns how many
//! accepted, and the shortfall against the open connections is counted)
//! and (2) `Error::Undelivered` in `on_error` (the other loop took the
//! mail but the connection's queue was full); both count copies to any
//! recipient (in many100, the senders' copies too). The receivers check
//! every sender's sequence numbers (a gap or a repeat is counted), and
//! after the measured time the senders stop and the run waits for what is
//! in flight: what never arrived is counted as lost. Any of these is
//! printed.
//!
//! The run also prints the CPU time of the server's loops and of the
//! client loop over the measured time (from `/proc`, Linux only) as a
//! share of one core, and the deliveries per second of server CPU time.
//! Server and client share the machine's cores: with two server loops and
//! the client loop there are three busy threads, and on two cores the
//! client loop takes most of one of them.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ws_mio::{
    CloseCode, Config, ConnectionId, Context, Error, EventLoop, Handler, MessageRef, Opening,
    Refusal, Server,
};

/// Bytes of every message: "SSSS NNN…N", sender and sequence number.
const MESSAGE_LEN: usize = 32;
/// Connections opened at once while setting up (the listen backlog is
/// 1,024 per loop).
const CONNECT_BATCH: usize = 100;
const WARM_UP: Duration = Duration::from_secs(1);
/// How long to wait, after the senders stop, for what is in flight.
const DRAIN: Duration = Duration::from_secs(3);
/// The client loop's poll timeout.
const TICK: Duration = Duration::from_millis(10);
/// The name of the thread running the server's first loop (its other
/// loops are named "ws-mio" by the server).
const SERVER_THREAD: &str = "fanout-server";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Fanout1000,
    Many100,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Fanout1000 => "fanout1000",
            Scenario::Many100 => "many100",
        }
    }

    /// Senders and receivers.
    fn shape(self) -> (usize, usize) {
        match self {
            Scenario::Fanout1000 => (1, 1000),
            Scenario::Many100 => (100, 100),
        }
    }

    fn default_window(self) -> u64 {
        match self {
            Scenario::Fanout1000 => 64,
            Scenario::Many100 => 16,
        }
    }
}

// ---------------------------------------------------------------- server

/// What the server's loops count, shared by all of them.
#[derive(Debug, Default)]
struct ServerStats {
    /// Open connections, all loops.
    open: AtomicUsize,
    /// Copies a broadcast did not place at the sending loop (a queue
    /// full, or another loop's mailbox full).
    refused: AtomicU64,
    /// `Error::Undelivered`: another loop took the mail, the queue there
    /// was full.
    undelivered: AtomicU64,
    /// Any other `on_error`.
    errors: AtomicU64,
}

/// The chat: every message to every other connection, of every loop.
struct Chat {
    stats: Arc<ServerStats>,
}

impl Handler for Chat {
    type Data = ();

    fn on_open(
        &mut self,
        _: &mut Context<'_, ()>,
        _: ConnectionId,
        _: &Opening<'_>,
    ) -> Result<(), Refusal> {
        self.stats.open.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn on_message(&mut self, ctx: &mut Context<'_, ()>, id: ConnectionId, message: MessageRef<'_>) {
        // Everyone but the author; `broadcast_except` says how many took
        // it, so a shortfall is a drop at this loop.
        let others = self.stats.open.load(Ordering::Relaxed).saturating_sub(1);
        let accepted = ctx.broadcast_except(id, message);
        if accepted < others {
            self.stats
                .refused
                .fetch_add((others - accepted) as u64, Ordering::Relaxed);
        }
    }

    fn on_close(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, _: CloseCode, _: &str) {
        self.stats.open.fetch_sub(1, Ordering::Relaxed);
    }

    fn on_error(&mut self, _: &mut Context<'_, ()>, _: ConnectionId, error: &Error) {
        let counter = match error {
            Error::Undelivered(_) => &self.stats.undelivered,
            _ => &self.stats.errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------- clients

#[derive(Debug, Clone, Copy)]
enum Kind {
    Sender,
    Receiver,
}

/// Per client connection: a sender (its number is its place in
/// `Clients::senders`), or a receiver with its next expected sequence
/// number from each sender.
enum Role {
    Sender,
    Receiver(Box<[u64]>),
}

/// Every client connection, senders and receivers, on one loop.
struct Clients {
    /// Roles of connections not yet open.
    pending: HashMap<ConnectionId, Kind>,
    senders: Vec<ConnectionId>,
    receivers: u64,
    total: usize,
    opened: usize,
    /// Messages each sender may have in flight.
    window: u64,
    /// False before every connection is open and once the run is over.
    sending: bool,
    /// Per sender: messages sent, and receipts of its messages by all
    /// receivers together.
    sent: Vec<u64>,
    receipts: Vec<u64>,
    /// Messages received by receivers (the figure).
    delivered: u64,
    /// A receiver saw a sequence number other than the next one.
    out_of_order: u64,
    malformed: u64,
    /// Client-side failures: a refused send, an error, a closed connection.
    send_failed: u64,
    errors: u64,
    closed: u64,
    text: String,
}

impl Clients {
    fn new(senders: usize, receivers: usize, window: u64) -> Self {
        Clients {
            pending: HashMap::new(),
            senders: Vec::with_capacity(senders),
            receivers: receivers as u64,
            total: senders + receivers,
            opened: 0,
            window,
            sending: false,
            sent: vec![0; senders],
            receipts: vec![0; senders],
            delivered: 0,
            out_of_order: 0,
            malformed: 0,
            send_failed: 0,
            errors: 0,
            closed: 0,
            text: String::with_capacity(MESSAGE_LEN),
        }
    }

    /// Send from sender `s` while its window has room.
    fn refill(&mut self, ctx: &mut Context<'_, Role>, s: usize) {
        let limit = self.receipts[s] + self.window * self.receivers;
        while self.sending && (self.sent[s] + 1) * self.receivers <= limit {
            self.text.clear();
            let _ = write!(self.text, "{s:04} {:027}", self.sent[s]);
            if ctx.send_text(self.senders[s], &self.text).is_err() {
                self.send_failed += 1;
                return;
            }
            self.sent[s] += 1;
        }
    }

    /// Deliveries still owed to the receivers.
    fn in_flight(&self) -> u64 {
        let owed: u64 = self.sent.iter().map(|sent| sent * self.receivers).sum();
        owed.saturating_sub(self.receipts.iter().sum())
    }
}

impl Handler for Clients {
    type Data = Role;

    fn on_open(
        &mut self,
        ctx: &mut Context<'_, Role>,
        id: ConnectionId,
        _: &Opening<'_>,
    ) -> Result<Role, Refusal> {
        let role = match self.pending.remove(&id) {
            Some(Kind::Sender) => Role::Sender,
            Some(Kind::Receiver) => Role::Receiver(vec![0; self.sent.len()].into()),
            // Every connection is made with a role; a client refusal
            // only drops the connection (the status goes nowhere).
            None => return Err(Refusal::new(500)),
        };
        self.opened += 1;
        if self.opened == self.total {
            // Everyone is in: the senders fill their windows.
            self.sending = true;
            for s in 0..self.senders.len() {
                self.refill(ctx, s);
            }
        }
        Ok(role)
    }

    fn on_message(
        &mut self,
        ctx: &mut Context<'_, Role>,
        id: ConnectionId,
        message: MessageRef<'_>,
    ) {
        let Some(Role::Receiver(next)) = ctx.data(id) else {
            // A sender's copy of another sender's message (many100): read
            // and dropped, not counted.
            return;
        };
        let bytes = message.as_bytes();
        let parsed = match message {
            MessageRef::Text(_) if bytes.len() == MESSAGE_LEN && bytes[4] == b' ' => {
                digits(&bytes[..4]).zip(digits(&bytes[5..]))
            }
            _ => None,
        };
        let Some((s, seq)) = parsed.filter(|&(s, _)| (s as usize) < next.len()) else {
            self.malformed += 1;
            return;
        };
        let s = s as usize;
        if seq != next[s] {
            self.out_of_order += 1;
        }
        next[s] = seq + 1;
        self.delivered += 1;
        self.receipts[s] += 1;
        self.refill(ctx, s);
    }

    fn on_close(&mut self, _: &mut Context<'_, Role>, _: ConnectionId, _: CloseCode, _: &str) {
        self.closed += 1;
    }

    fn on_error(&mut self, _: &mut Context<'_, Role>, _: ConnectionId, _: &Error) {
        self.errors += 1;
    }
}

/// The number written in ASCII digits, if it is one.
fn digits(bytes: &[u8]) -> Option<u64> {
    bytes.iter().try_fold(0u64, |n, &b| {
        let digit = b.is_ascii_digit().then(|| u64::from(b - b'0'))?;
        n.checked_mul(10)?.checked_add(digit)
    })
}

// ---------------------------------------------------------------- CPU time

/// CPU time (user + system, in clock ticks) of this process's threads
/// whose name passes `wanted`, from `/proc/self/task` (Linux only).
fn thread_ticks(wanted: impl Fn(&str) -> bool) -> Option<u64> {
    let mut ticks = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(stat) = std::fs::read_to_string(task.ok()?.path().join("stat")) else {
            continue; // exited meanwhile
        };
        let (name, t) = parse_stat(&stat)?;
        if wanted(name) {
            ticks += t;
        }
    }
    Some(ticks)
}

/// CPU ticks of the calling thread.
fn own_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    parse_stat(&stat).map(|(_, t)| t)
}

/// The thread name and utime + stime of a `/proc/.../stat` line.
fn parse_stat(stat: &str) -> Option<(&str, u64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = &stat[open + 1..close];
    // After the name: state is field 3, utime 14 and stime 15.
    let mut fields = stat[close + 1..].split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((name, utime + stime))
}

/// CPU ticks of the server's first loop and of its other loops.
fn server_ticks() -> Option<[u64; 2]> {
    Some([
        thread_ticks(|name| name == SERVER_THREAD)?,
        thread_ticks(|name| name == "ws-mio")?,
    ])
}

/// Clock ticks per second of `/proc`'s CPU times (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

// ---------------------------------------------------------------- a run

/// What one run measured.
#[derive(Debug, Clone, Default)]
struct Outcome {
    delivered_per_sec: f64,
    sent_per_sec: f64,
    /// Share of one core: the server's first loop, its other loops.
    server_loops: Option<[f64; 2]>,
    client_cpu: Option<f64>,
    /// Server: refused at the sending loop, undelivered at another loop,
    /// other errors.
    refused: u64,
    undelivered: u64,
    server_errors: u64,
    /// Client: deliveries never received, sequence irregularities,
    /// malformed messages, client-side failures.
    lost: u64,
    out_of_order: u64,
    malformed: u64,
    client_failures: u64,
}

impl Outcome {
    /// The server's CPU time, all loops, as a share of one core.
    fn server_cpu(&self) -> Option<f64> {
        self.server_loops.map(|[first, rest]| first + rest)
    }

    /// Messages delivered to receivers per second of server CPU time.
    fn per_server_cpu_second(&self) -> Option<f64> {
        self.server_cpu()
            .filter(|&cpu| cpu > 0.0)
            .map(|cpu| self.delivered_per_sec / cpu)
    }

    fn drops(&self) -> String {
        let counts = [
            (
                self.refused,
                "copies refused at the sending loop (queue or mailbox full)",
            ),
            (
                self.undelivered,
                "copies Error::Undelivered (queue full at the other loop)",
            ),
            (self.server_errors, "other server errors"),
            (self.lost, "lost (never reached a receiver)"),
            (self.out_of_order, "sequence gaps or repeats"),
            (self.malformed, "malformed"),
            (
                self.client_failures,
                "client send failures, errors or closes",
            ),
        ];
        let found: Vec<String> = counts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect();
        if found.is_empty() {
            "none".into()
        } else {
            found.join(", ")
        }
    }
}

fn run(scenario: Scenario, loops: usize, seconds: u64, window: u64) -> Result<Outcome, String> {
    let config = Config::default().compression(None);
    let stats = Arc::new(ServerStats::default());
    let server = Server::bind("127.0.0.1:0")
        .map_err(|err| format!("bind: {err}"))?
        .threads(loops)
        .config(config.clone());
    let url = format!("ws://{}/chat", server.local_addr());
    let shutdown = server.shutdown_handle();
    let server_stats = Arc::clone(&stats);
    let serving = std::thread::Builder::new()
        .name(SERVER_THREAD.into())
        .spawn(move || {
            server.run(move || Chat {
                stats: Arc::clone(&server_stats),
            })
        })
        .map_err(|err| format!("server thread: {err}"))?;

    let outcome = drive(scenario, seconds, window, config, &url, &stats);
    shutdown.shutdown();
    let served = serving.join();
    let outcome = outcome?;
    match served {
        Ok(Ok(())) => Ok(outcome),
        Ok(Err(err)) => Err(format!("server: {err}")),
        Err(_) => Err("server thread panicked".into()),
    }
}

/// The client side of a run: connect, warm up, measure, drain.
fn drive(
    scenario: Scenario,
    seconds: u64,
    window: u64,
    config: Config,
    url: &str,
    stats: &ServerStats,
) -> Result<Outcome, String> {
    let (senders, receivers) = scenario.shape();
    let mut client = EventLoop::new(config, Clients::new(senders, receivers, window))
        .map_err(|err| format!("client loop: {err}"))?;
    let turn = |client: &mut EventLoop<Clients>| {
        client
            .turn(Some(TICK))
            .map_err(|err| format!("client loop: {err}"))
    };

    // Receivers first, then senders, a batch at a time.
    let kinds: Vec<Kind> = (0..receivers)
        .map(|_| Kind::Receiver)
        .chain((0..senders).map(|_| Kind::Sender))
        .collect();
    let setup_deadline = Instant::now() + Duration::from_secs(60);
    for (batch, chunk) in kinds.chunks(CONNECT_BATCH).enumerate() {
        for &kind in chunk {
            let id = client
                .connect(url)
                .map_err(|err| format!("connect: {err}"))?;
            let clients = client.handler();
            if let Kind::Sender = kind {
                clients.senders.push(id);
            }
            clients.pending.insert(id, kind);
        }
        let want = (batch * CONNECT_BATCH + chunk.len()).min(kinds.len());
        while client.handler().opened < want {
            if Instant::now() > setup_deadline || client.handler().errors > 0 {
                return Err(format!(
                    "only {} of {} connections opened",
                    client.handler().opened,
                    kinds.len()
                ));
            }
            turn(&mut client)?;
        }
    }
    // The last on_open started the senders.

    let warm_until = Instant::now() + WARM_UP;
    while Instant::now() < warm_until {
        turn(&mut client)?;
    }

    let clients = client.handler();
    let (delivered0, sent0) = (clients.delivered, clients.sent.iter().sum::<u64>());
    let (server0, client0) = (server_ticks(), own_ticks());
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    while Instant::now() < end {
        turn(&mut client)?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (server1, client1) = (server_ticks(), own_ticks());
    let clients = client.handler();
    let delivered = clients.delivered - delivered0;
    let sent = clients.sent.iter().sum::<u64>() - sent0;

    // Stop sending and wait for what is in flight.
    clients.sending = false;
    let drain_until = Instant::now() + DRAIN;
    while client.handler().in_flight() > 0 && Instant::now() < drain_until {
        turn(&mut client)?;
    }

    let share =
        |before: u64, after: u64| after.saturating_sub(before) as f64 / TICKS_PER_SECOND / elapsed;
    let clients = client.handler();
    Ok(Outcome {
        delivered_per_sec: delivered as f64 / elapsed,
        sent_per_sec: sent as f64 / elapsed,
        server_loops: server0
            .zip(server1)
            .map(|(before, after)| [share(before[0], after[0]), share(before[1], after[1])]),
        client_cpu: client0
            .zip(client1)
            .map(|(before, after)| share(before, after)),
        refused: stats.refused.load(Ordering::Relaxed),
        undelivered: stats.undelivered.load(Ordering::Relaxed),
        server_errors: stats.errors.load(Ordering::Relaxed),
        lost: clients.in_flight(),
        out_of_order: clients.out_of_order,
        malformed: clients.malformed,
        client_failures: clients.send_failed + clients.errors + clients.closed,
    })
    // Dropping the client loop closes its sockets; the server sees them
    // go and its shutdown has nothing left to wait for.
}

// ---------------------------------------------------------------- main

struct Args {
    scenarios: Vec<Scenario>,
    loops: Vec<usize>,
    seconds: u64,
    window: Option<u64>,
    repeat: usize,
}

const USAGE: &str = "usage: fanout [--scenario fanout1000|many100|all] [--loops 1|2|both] \
                     [--seconds S] [--window N] [--repeat N]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        scenarios: vec![Scenario::Fanout1000, Scenario::Many100],
        loops: vec![1, 2],
        seconds: 5,
        window: None,
        repeat: 1,
    };
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--scenario" => {
                args.scenarios = match value()?.as_str() {
                    "fanout1000" => vec![Scenario::Fanout1000],
                    "many100" => vec![Scenario::Many100],
                    "all" => vec![Scenario::Fanout1000, Scenario::Many100],
                    other => return Err(format!("unknown scenario {other}")),
                }
            }
            "--loops" => {
                args.loops = match value()?.as_str() {
                    "1" => vec![1],
                    "2" => vec![2],
                    "both" => vec![1, 2],
                    other => return Err(format!("--loops takes 1, 2 or both, not {other}")),
                }
            }
            "--seconds" => args.seconds = number(&value()?)?,
            "--window" => args.window = Some(number(&value()?)?),
            "--repeat" => args.repeat = number(&value()?)? as usize,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(args)
}

fn number(text: &str) -> Result<u64, String> {
    text.parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{text} is not a positive number"))
}

/// 1234567.8 as "1,234,568".
fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Median, minimum and maximum; `None` if there are no values or one is
/// missing.
fn median(values: impl Iterator<Item = Option<f64>>) -> Option<(f64, f64, f64)> {
    let mut values: Vec<f64> = values.collect::<Option<_>>()?;
    values.sort_by(f64::total_cmp);
    let (first, last) = (*values.first()?, *values.last()?);
    Some((values[values.len() / 2], first, last))
}

fn percent(share: Option<f64>) -> String {
    share.map_or("n/a".into(), |share| format!("{:.0} %", share * 100.0))
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(why) => {
            eprintln!("fanout: {why}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "# delivered/s: messages received by the receiver connections per second \
         ({} s measured after 1 s warm-up); 32-byte text, no compression; \
         server loops and one client loop in this process, {cores} cores",
        args.seconds
    );
    let configs: Vec<(Scenario, usize)> = args
        .scenarios
        .iter()
        .flat_map(|&s| args.loops.iter().map(move |&l| (s, l)))
        .collect();
    // Per configuration, per repetition (None: the run failed).
    let mut results: Vec<Vec<Option<Outcome>>> = vec![Vec::new(); configs.len()];
    let mut failed = false;
    for rep in 0..args.repeat {
        // Interleaved: each repetition runs every configuration, starting
        // one further along, so a drift in the machine's load is shared.
        for k in 0..configs.len() {
            let i = (k + rep) % configs.len();
            let (scenario, loops) = configs[i];
            let (senders, receivers) = scenario.shape();
            let window = args.window.unwrap_or(scenario.default_window());
            match run(scenario, loops, args.seconds, window) {
                Ok(outcome) => {
                    let split = match outcome.server_loops {
                        Some([first, rest]) if loops > 1 => format!(
                            " (first loop {}, other {})",
                            percent(Some(first)),
                            percent(Some(rest))
                        ),
                        _ => String::new(),
                    };
                    println!(
                        "{:<10} loops={loops}: {:>10} delivered/s  ({senders} sender(s) -> \
                         {receivers} receivers, {} sent/s, window {window}/sender; \
                         CPU: server {}{split}, client {}; {} delivered per server CPU-s; \
                         drops: {})",
                        scenario.name(),
                        grouped(outcome.delivered_per_sec),
                        grouped(outcome.sent_per_sec),
                        percent(outcome.server_cpu()),
                        percent(outcome.client_cpu),
                        outcome
                            .per_server_cpu_second()
                            .map_or("n/a".into(), grouped),
                        outcome.drops(),
                    );
                    results[i].push(Some(outcome));
                }
                Err(err) => {
                    failed = true;
                    results[i].push(None);
                    println!("{:<10} loops={loops}: failed: {err}", scenario.name());
                }
            }
        }
    }
    if args.repeat > 1 {
        summarize(&args, &configs, &results);
    }
    if failed {
        std::process::exit(1);
    }
}

/// Medians over the repetitions, and loops=2 against loops=1 paired by
/// repetition.
fn summarize(args: &Args, configs: &[(Scenario, usize)], results: &[Vec<Option<Outcome>>]) {
    println!("# medians over {} runs (min - max)", args.repeat);
    for ((scenario, loops), outcomes) in configs.iter().zip(results) {
        let outcomes: Vec<&Outcome> = outcomes.iter().flatten().collect();
        let Some((rate, low, high)) = median(outcomes.iter().map(|o| Some(o.delivered_per_sec)))
        else {
            continue;
        };
        let server = median(outcomes.iter().map(|o| o.server_cpu()));
        let client = median(outcomes.iter().map(|o| o.client_cpu));
        let efficiency = median(outcomes.iter().map(|o| o.per_server_cpu_second()));
        let clean = outcomes.iter().filter(|o| o.drops() == "none").count();
        println!(
            "{:<10} loops={loops}: {:>10} delivered/s  ({} - {}; CPU: server {}, client {}; \
             {} delivered per server CPU-s; {clean}/{} runs without drops)",
            scenario.name(),
            grouped(rate),
            grouped(low),
            grouped(high),
            percent(server.map(|m| m.0)),
            percent(client.map(|m| m.0)),
            efficiency.map_or("n/a".into(), |m| grouped(m.0)),
            outcomes.len(),
        );
    }
    for &scenario in &args.scenarios {
        let find = |loops| configs.iter().position(|&c| c == (scenario, loops));
        let (Some(one), Some(two)) = (find(1), find(2)) else {
            continue;
        };
        // The runs of one repetition are close together in time, so a
        // change in the machine's load moves both alike.
        let ratios = results[one].iter().zip(&results[two]).filter_map(|(a, b)| {
            Some(b.as_ref()?.delivered_per_sec / a.as_ref()?.delivered_per_sec)
        });
        if let Some((ratio, low, high)) = median(ratios.map(Some)) {
            println!(
                "{:<10} loops=2 / loops=1, paired by repetition: {ratio:.2}x ({low:.2} - {high:.2})",
                scenario.name()
            );
        }
    }
}
