//! Accepting connections from the loop's listeners, and what happens
//! when an accept fails for want of descriptors.

use std::io;
use std::time::{Duration, Instant};

use mio::net::TcpListener;

use super::EventLoop;
use crate::conn::Phase;
use crate::handler::Handler;
use crate::tls::ServerTls;

/// How soon an accept that failed for want of descriptors or memory is
/// tried again if no connection of this loop closes first (see
/// [`EventLoop::accept_all`]).
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// Accepts that may fail (other than for want of resources) in one round
/// of a listener before it waits for [`ACCEPT_RETRY`]: an error that is
/// not transient after all must not spin the loop.
const ACCEPT_ERRORS_PER_TURN: usize = 64;

/// A listening socket of the loop.
pub(super) struct Listener {
    pub(super) socket: TcpListener,
    /// Connections may be waiting that the last accept could not take
    /// (see [`EventLoop::accept_all`]): accept again when a connection of
    /// this loop closes, or at `EventLoop::accept_retry_at`.
    pub(super) owed: bool,
    /// `wss://`: every connection accepted gets a TLS layer with this
    /// configuration.
    pub(super) tls: Option<ServerTls>,
}

impl<H: Handler> EventLoop<H> {
    /// Accept every connection waiting on `listener`, until it would
    /// block.
    ///
    /// The listener is edge-triggered: its readiness is reported once for
    /// the connections waiting, and again only when another connects. So
    /// an accept that fails must not end the round with connections still
    /// waiting and nothing to come back for them:
    /// - Out of descriptors (`EMFILE`, `ENFILE`) or kernel memory
    ///   (`ENOBUFS`, `ENOMEM`): the waiting connections stay in the
    ///   kernel's backlog, and the listener is owed an accept. It is tried
    ///   again at the end of any turn in which a connection of this loop
    ///   closed (its descriptor is free now), and after [`ACCEPT_RETRY`]
    ///   in any case (a descriptor freed elsewhere in the process, by
    ///   another loop for one). They are not accepted only to be closed,
    ///   as a reserve descriptor would allow: they are served as soon as a
    ///   descriptor frees up, and the backlog bounds how many wait.
    /// - A connection that failed before it was accepted (`ECONNABORTED`,
    ///   `EPROTO`, `EPERM` and the network errors Linux passes on from
    ///   accept), or a signal (`EINTR`): only that attempt failed; accept
    ///   the next one at once.
    /// - More such failures in one round than [`ACCEPT_ERRORS_PER_TURN`]:
    ///   maybe an error that does not go away; the listener is owed an
    ///   accept, retried as above, rather than spinning the loop.
    pub(super) fn accept_all(&mut self, listener: usize) {
        self.listeners[listener].owed = false;
        let mut failures = 0;
        loop {
            let stream = match self.listeners[listener].socket.accept() {
                Ok((stream, _)) => stream,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return,
                Err(err) if out_of_resources(&err) => return self.owe_accept(listener),
                Err(_) if failures < ACCEPT_ERRORS_PER_TURN => {
                    failures += 1;
                    continue;
                }
                Err(_) => return self.owe_accept(listener),
            };
            if self.core.stop_requested || !self.core.take_slot() {
                drop(stream);
                continue;
            }
            let tls = match &self.listeners[listener].tls {
                None => None,
                Some(config) => match crate::tls::accepted(config) {
                    Ok(layer) => Some(layer),
                    Err(_) => {
                        // rustls refused to start a connection: closed,
                        // and its slot given back.
                        self.core.give_back_slot();
                        continue;
                    }
                },
            };
            let handshake = self.core.config.session.server_handshake();
            // A socket that cannot be registered is dropped (closed).
            let _ = self
                .core
                .insert_accepted(stream, tls, Phase::ServerHandshake(handshake));
        }
    }

    /// Remember that `listener` has connections waiting that it could not
    /// accept, and when to try again at the latest.
    fn owe_accept(&mut self, listener: usize) {
        self.listeners[listener].owed = true;
        let retry_at = Instant::now() + ACCEPT_RETRY;
        self.accept_retry_at = Some(self.accept_retry_at.map_or(retry_at, |at| at.min(retry_at)));
    }

    /// Accept again on the listeners that are owed an accept, if a
    /// connection of this loop closed this turn or the retry time came.
    pub(super) fn retry_owed_accepts(&mut self) {
        let freed = std::mem::take(&mut self.core.descriptor_freed);
        let Some(retry_at) = self.accept_retry_at else {
            return;
        };
        if !freed && Instant::now() < retry_at {
            return;
        }
        self.accept_retry_at = None;
        for listener in 0..self.listeners.len() {
            if self.listeners[listener].owed {
                self.accept_all(listener);
            }
        }
    }
}

/// Whether an accept failed for want of descriptors or kernel memory:
/// waiting helps, retrying at once does not.
#[cfg(unix)]
fn out_of_resources(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Whether an accept failed for want of descriptors or kernel memory
/// (elsewhere, other such errors take the [`ACCEPT_ERRORS_PER_TURN`] path).
#[cfg(not(unix))]
fn out_of_resources(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::OutOfMemory
}
