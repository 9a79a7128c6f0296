//! permessage-deflate (RFC 7692): its negotiation, always available, and
//! its codec, with the feature `deflate`.
//!
//! # Negotiation (no feature, no allocation)
//!
//! Both sides agree on the extension in the `Sec-WebSocket-Extensions`
//! header, read with the generic parser of [`crate::extension`]. Header
//! values are written into a fixed [`HeaderValue`].
//!
//! - A server passes every `Sec-WebSocket-Extensions` value of the request
//!   to [`negotiate`] with its policy; if that returns parameters, it sends
//!   [`response_header`] of them back and compresses with them.
//! - A client sends [`offer_header`] of its configuration and checks the
//!   server's answer with [`accept_response`], failing the connection on an
//!   error ([`NegotiationError`]).
//! - [`DeflateParams`] tells each side which window to compress and
//!   decompress with, and which context to drop after every message.
//!
//! ```
//! use ws_proto::deflate::{accept_response, negotiate, offer_header, response_header};
//! use ws_proto::deflate::DeflateConfig;
//!
//! let client = DeflateConfig::new().client_max_window_bits(12);
//! let offer = offer_header(&client);
//! assert_eq!(offer, "permessage-deflate; client_max_window_bits=12");
//!
//! let policy = DeflateConfig::new().server_no_context_takeover(true);
//! let agreed = negotiate([offer.as_str()], &policy).unwrap();
//! let response = response_header(&agreed);
//! assert_eq!(
//!     response,
//!     "permessage-deflate; server_no_context_takeover; client_max_window_bits=12"
//! );
//! assert_eq!(accept_response([response.as_str()], &client), Ok(Some(agreed)));
//! ```
//!
//! # Codec (feature `deflate`)
//!
//! `PerMessageDeflate` is one connection's compressor and decompressor
//! under the negotiated [`DeflateParams`], on the pure-Rust `zlib-rs`,
//! and `compressed_frames` cuts a compressed message into frames. Written
//! once here, both transports use it. [`CompressionConfig`], a
//! transport's compression settings (what to negotiate, the level, the
//! size below which messages go uncompressed), needs no feature: it is
//! part of every [`SessionConfig`](crate::SessionConfig).

mod negotiation;
mod settings;

#[cfg(feature = "deflate")]
mod codec;

pub use negotiation::{
    accept_response, negotiate, offer_header, response_header, DeflateConfig, DeflateParams,
    HeaderValue, NegotiationError, HEADER_CAPACITY, MAX_WINDOW_BITS, MIN_WINDOW_BITS,
    PERMESSAGE_DEFLATE,
};

pub use settings::CompressionConfig;

#[cfg(feature = "deflate")]
pub use codec::{compressed_frames, CompressError, PerMessageDeflate, MAX_COMPRESSED_FRAME};
