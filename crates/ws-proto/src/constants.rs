//! The buffer constants of the Vais `std/websocket` API (the API reference
//! this project implements; a copy is `docs/vais-std-websocket.md` in the
//! repository), with its values.
//!
//! These are *defaults and sizing hints*, not hard limits of the core: every
//! limit the core enforces is a field of [`Config`](crate::Config) or of a
//! handshake parser, so a transport can accept the 16 MiB messages of the
//! Autobahn suite while an embedded device keeps to a few kilobytes.

/// Vais `WS_MAX_FRAME_SIZE`: 64 KiB, a frame payload size that comfortably
/// fits the Vais send buffer. [`Config::embedded`](crate::Config::embedded)
/// uses it as its frame limit.
pub const WS_MAX_FRAME_SIZE: usize = 65_536;

/// Vais `WS_HEADER_BUFFER`: the default cap on an HTTP upgrade header block
/// (request or response), in bytes.
pub const WS_HEADER_BUFFER: usize = 8_192;

/// Vais `WS_RECV_BUFFER`: a sensible size for one TCP read.
pub const WS_RECV_BUFFER: usize = 4_096;

/// Vais `WS_SEND_BUFFER`: one maximal Vais frame payload plus the largest
/// frame header (14 bytes).
pub const WS_SEND_BUFFER: usize = WS_MAX_FRAME_SIZE + MAX_HEADER_LEN;

/// The longest frame header on the wire: 2 bytes, 8 bytes of extended
/// length and a 4-byte masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload a control frame (close, ping, pong) may carry.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// The smallest receive buffer a [`Connection`](crate::Connection) can work
/// with: a control frame must be whole in the buffer before it is handed
/// out, and the largest is a 14-byte header plus 125 bytes of payload.
/// Data frames stream through any buffer of at least `MAX_HEADER_LEN` bytes.
pub const MIN_RECV_BUFFER: usize = MAX_HEADER_LEN + MAX_CONTROL_PAYLOAD;
