//! Stopping event loops from any thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use mio::Waker;

/// Stops one or more event loops from any thread.
#[derive(Debug, Clone, Default)]
pub struct ShutdownHandle {
    inner: Arc<ShutdownInner>,
}

#[derive(Debug, Default)]
struct ShutdownInner {
    requested: AtomicBool,
    wakers: Mutex<Vec<Arc<Waker>>>,
}

impl ShutdownHandle {
    /// A handle not yet attached to a loop.
    pub fn new() -> Self {
        Self::default()
    }

    /// Ask every attached loop to shut down: each sends 1001 (going away)
    /// to its open connections, behind every message already queued for
    /// them (and the mail other loops posted to it), waits for them to
    /// close, and returns from `run`; see
    /// [Shutting down](crate::Config#shutting-down) for how long.
    pub fn shutdown(&self) {
        self.inner.requested.store(true, Ordering::SeqCst);
        let wakers = self
            .inner
            .wakers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for waker in wakers.iter() {
            // A loop that already exited has no one to wake.
            let _ = waker.wake();
        }
    }

    /// True once `shutdown` was called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.requested.load(Ordering::SeqCst)
    }

    pub(crate) fn attach(&self, waker: Arc<Waker>) {
        self.inner
            .wakers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(waker);
    }
}
