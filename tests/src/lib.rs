//! Workspace-level tests of the WebSocket stack. The tests live in
//! `tests/tests/`; this library holds helpers they share.

pub mod peer;
pub mod servers;
