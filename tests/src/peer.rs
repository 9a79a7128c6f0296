//! Foreign peers (Python's `websockets`, Node's `ws`) run as child
//! processes, with bounded waits everywhere: a peer that hangs fails the
//! test instead of blocking it, and a peer is killed when its handle drops.
//!
//! The tests that need a peer are `#[ignore = "needs ..."]`, so that
//! `cargo test --workspace` shows them as not run; CI's `interop` stage
//! installs the peers and runs them with `-- --ignored`. A test run that
//! way on a machine without its peer fails with [`require_python`] or
//! [`require_node`]'s message, which says what to install.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The version of Python's `websockets` the interop tests are written for
/// (CI's `interop-deps` stage installs it).
pub const PYTHON_WEBSOCKETS: &str = "15.0.1";

/// `tests/interop`: the peer scripts.
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// `tests/interop/node`: the Node peer and its `package.json`.
pub fn node_dir() -> PathBuf {
    interop_dir().join("node")
}

/// Panic, saying what to install, unless `python3` can import
/// `websockets` at [`PYTHON_WEBSOCKETS`]'s major version.
pub fn require_python() {
    let major = PYTHON_WEBSOCKETS.split('.').next().unwrap_or_default();
    let check = format!(
        "import sys, websockets; sys.exit(websockets.__version__.split('.')[0] != '{major}')"
    );
    assert!(
        succeeds(Command::new("python3").args(["-c", &check])),
        "this test needs python3 with websockets {PYTHON_WEBSOCKETS}: run \
         `python3 -m pip install websockets=={PYTHON_WEBSOCKETS}` (CI's interop stage does)"
    );
}

/// Panic, saying what to install, unless `node` runs and the `ws` package
/// is installed in [`node_dir`].
pub fn require_node() {
    let dir = node_dir();
    assert!(
        succeeds(
            Command::new("node")
                .args(["-e", "require('ws')"])
                .current_dir(&dir)
        ),
        "this test needs Node.js with the ws package: run `npm ci --no-audit --no-fund` in {} \
         (CI's interop stage does)",
        dir.display()
    );
}

/// Whether `command` starts and exits successfully (output discarded).
fn succeeds(command: &mut Command) -> bool {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A `python3` command running `tests/interop/<script>` with `args`.
pub fn python(script: &str, args: &[&str]) -> Command {
    let mut command = Command::new("python3");
    command.arg(interop_dir().join(script)).args(args);
    command
}

/// A `node` command running `tests/interop/node/<script>` with `args`.
pub fn node(script: &str, args: &[&str]) -> Command {
    let mut command = Command::new("node");
    command
        .arg(node_dir().join(script))
        .args(args)
        .current_dir(node_dir());
    command
}

/// What a peer left behind once it exited.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// The lines it printed on stdout that were not read with
    /// [`Peer::line_within`].
    pub stdout: String,
    /// Everything it printed on stderr.
    pub stderr: String,
}

/// A running peer process: its stdout is read line by line, its stderr
/// kept for error messages. Killed and reaped on drop.
#[derive(Debug)]
pub struct Peer {
    name: String,
    child: Child,
    lines: Receiver<String>,
    stderr: Option<JoinHandle<String>>,
}

impl Peer {
    /// Start `command` (stdin closed, stdout and stderr captured); `name`
    /// identifies it in failure messages.
    pub fn spawn(name: &str, command: &mut Command) -> Peer {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {name} ({command:?}): {err}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (send, lines) = mpsc::channel();
        // Both readers end when the child exits (or is killed): its pipes close.
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Peer {
            name: name.to_owned(),
            child,
            lines,
            stderr: Some(stderr),
        }
    }

    /// The next line the peer prints on stdout, waiting at most `limit`;
    /// panics (with the peer's stderr) if none comes.
    pub fn line_within(&mut self, limit: Duration) -> String {
        match self.lines.recv_timeout(limit) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                let finished = self.reap();
                panic!(
                    "{} printed no line within {limit:?}; stderr:\n{}",
                    self.name, finished.stderr
                )
            }
            Err(RecvTimeoutError::Disconnected) => {
                let finished = self.reap();
                panic!(
                    "{} exited ({}) before printing the expected line; stderr:\n{}",
                    self.name, finished.status, finished.stderr
                )
            }
        }
    }

    /// Wait at most `limit` for the peer to exit; kill it and panic if it
    /// is still running then.
    pub fn finish_within(mut self, limit: Duration) -> Finished {
        let deadline = Instant::now() + limit;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return self.reap(),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                Ok(None) => {
                    let _ = self.child.kill();
                    let finished = self.reap();
                    panic!(
                        "{} still running after {limit:?}; killed. stdout:\n{}\nstderr:\n{}",
                        self.name, finished.stdout, finished.stderr
                    );
                }
                Err(err) => panic!("waiting for {}: {err}", self.name),
            }
        }
    }

    /// Wait for the (exited or killed) child and collect its output.
    fn reap(&mut self) -> Finished {
        let status = self.child.wait().expect("wait for the peer");
        // The pipes are closed now, so the readers finish.
        let stderr = self
            .stderr
            .take()
            .map(|reader| reader.join().unwrap_or_default())
            .unwrap_or_default();
        let stdout = self.lines.iter().collect::<Vec<_>>().join("\n");
        Finished {
            status,
            stdout,
            stderr,
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if self.stderr.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Run a peer to completion within `limit`; its stdout if it succeeded,
/// a panic with its output if it failed or hung.
pub fn run_within(name: &str, command: &mut Command, limit: Duration) -> String {
    let finished = Peer::spawn(name, command).finish_within(limit);
    assert!(
        finished.status.success(),
        "{name} failed ({}); stdout:\n{}\nstderr:\n{}",
        finished.status,
        finished.stdout,
        finished.stderr
    );
    finished.stdout
}
