//! One configuration for a WebSocket endpoint, whatever its transport.
//!
//! [`SessionConfig`] holds every setting that is about the protocol and
//! the session rather than about I/O: the limits of the protocol core
//! ([`Config`]), the timers ([`TimerConfig`]), the cap on the upgrade
//! header, permessage-deflate ([`CompressionConfig`]) and, with the
//! feature `alloc`, the subprotocols and the memory budget. A transport's
//! own configuration embeds it as one field and adds only what is its own
//! (buffer sizes, threads, socket options), so the two transports share
//! these settings with the same names, types and defaults.
//!
//! Every configuration type of the crate is `#[non_exhaustive]` with
//! public fields to read and builder-style setters that take and return
//! the value (`const` where the value allows it), so settings can be added
//! without breaking code that builds them:
//!
//! ```
//! use core::time::Duration;
//! use ws_proto::SessionConfig;
//!
//! let config = SessionConfig::default()
//!     .max_message_size(1 << 20)
//!     .idle_ping(Some(Duration::from_secs(30)));
//! assert_eq!(config.protocol.max_message_size, 1 << 20);
//! assert_eq!(config.timers.idle_ping, Some(Duration::from_secs(30)));
//! ```
//!
//! A transport generates the same setters on its own configuration with
//! the hidden macro `ws_proto::session_config_setters!(field)`, which
//! forwards each to the embedded `SessionConfig`: the list of shared
//! settings is written once, here.

#[cfg(feature = "alloc")]
use alloc::{string::String, vec::Vec};

#[cfg(feature = "alloc")]
use crate::budget::MemoryBudget;
use crate::connection::Config;
use crate::constants::WS_HEADER_BUFFER;
use crate::deflate::CompressionConfig;
#[cfg(feature = "alloc")]
use crate::handshake::server::Request;
use crate::handshake::{ClientHandshake, HandshakeError, ServerHandshake};
use crate::timer::TimerConfig;

/// The settings every transport shares: protocol limits, timers, the
/// upgrade header cap, subprotocols, compression and the memory budget.
///
/// | setting | setter | default | when it is hit |
/// |---|---|---|---|
/// | `protocol.max_frame_size` | `max_frame_size` | 16 MiB | close 1009 |
/// | `protocol.max_message_size` | `max_message_size` | 16 MiB (the inflated size of a compressed message) | close 1009 |
/// | `protocol.auto_pong` | `auto_pong` | on | every ping gets its pong |
/// | `timers.handshake` | `handshake_timeout` | 10 s | the connection is dropped |
/// | `timers.idle_ping` | `idle_ping` | 60 s | a ping is sent |
/// | `timers.pong` | `pong_timeout` | 10 s after that ping | close 1001 |
/// | `timers.message` | `message_timeout` | none | close 1001 |
/// | `timers.close` | `close_timeout` | 5 s after our close | the socket is closed without the peer's close |
/// | `max_handshake_header` | `max_handshake_header` | 8192 bytes | HTTP 431 |
/// | `compression` | `compression` | permessage-deflate offered (client) or accepted (server), level 6, threshold 256 B | |
/// | `subprotocols` (`alloc`) | `subprotocols` | none | |
/// | `memory_budget` (`alloc`) | `memory_budget` | 256 MiB, shared by every clone of the configuration | close 1009 |
///
/// `None` turns a timer off. Which timers a transport runs, and when, is
/// for its documentation to say.
///
/// # What needs `alloc`, and why
/// The default build of this crate has no allocator, and this type is
/// there too (an embedded endpoint builds it in a `const`). The protocol
/// limits, the timers, the header cap and [`CompressionConfig`] are plain
/// numbers and exist in every build; compression is `Option<CompressionConfig>`
/// everywhere (the codec that uses it needs the feature `deflate`, its
/// negotiation needs nothing). The subprotocols are a `Vec<String>` and
/// the budget is shared through an `Arc`, so those two fields exist only
/// with the feature `alloc`: a borrowed `&'static [&'static str]` would
/// have done without an allocator, but would keep a server from taking
/// its subprotocols from its command line or a file, and without an
/// allocator there are no messages to budget. An allocation-free endpoint
/// passes its subprotocols to the handshake directly.
///
/// # `new` and `Default`
/// [`new`](Self::new) is `const`, so it cannot allocate the shared budget:
/// with `alloc`, its budget is `MemoryBudget::unlimited`.
/// [`Default::default`] is `new` plus, with `alloc`, a fresh budget of
/// `MemoryBudget::DEFAULT_LIMIT` (256 MiB), which is what the
/// transports' defaults hold. Without `alloc` the two are equal.
///
/// ```
/// use core::time::Duration;
/// use ws_proto::{Config, SessionConfig};
///
/// // A small device: 64 KiB limits, no compression, a ping every 20 s.
/// const DEVICE: SessionConfig = SessionConfig::embedded()
///     .idle_ping(Some(Duration::from_secs(20)))
///     .close_timeout(Some(Duration::from_secs(2)));
/// assert_eq!(DEVICE.protocol, Config::embedded());
/// assert_eq!(DEVICE.compression, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Frame and message limits and auto-pong: what each
    /// [`Connection`](crate::Connection) keeps. Its `compression` flag is
    /// the outcome of a handshake, set by the transport per connection;
    /// [`compression`](Self::compression) is the setting.
    pub protocol: Config,
    /// The handshake, idle ping, pong, between-messages and close
    /// deadlines.
    pub timers: TimerConfig,
    /// Cap on the HTTP upgrade header block, request or response
    /// (default [`WS_HEADER_BUFFER`], 8192 bytes); a bigger one is refused
    /// with HTTP 431.
    pub max_handshake_header: usize,
    /// permessage-deflate (RFC 7692): what a client offers or a server
    /// accepts, the level and the size under which messages go
    /// uncompressed. On by default; `None` turns it off. The message size
    /// limit applies to the inflated size.
    pub compression: Option<CompressionConfig>,
    /// Subprotocols (feature `alloc`): for a server, those it supports,
    /// in order of preference (the first the client also offers is
    /// chosen); for a client, those it offers. Default none.
    #[cfg(feature = "alloc")]
    pub subprotocols: Vec<String>,
    /// Memory that all connections made with this configuration (and its
    /// clones) may hold together for incoming messages that are not yet
    /// complete, or not yet inflated (feature `alloc`). A connection whose
    /// message would pass it is closed with 1009, like one over
    /// `protocol.max_message_size`. Give a server its own with
    /// `MemoryBudget::new`.
    #[cfg(feature = "alloc")]
    pub memory_budget: MemoryBudget,
}

/// The shared settings whose values are plain numbers, as
/// `setter: type = field path;` with their docs: the one list from which
/// [`SessionConfig`]'s `const` setters and the transports' forwarding
/// setters ([`session_config_setters!`]) are made.
#[doc(hidden)]
#[macro_export]
macro_rules! __session_settings {
    ($($mode:tt)*) => {
        $crate::__session_setters! {
            [$($mode)*]
            /// The protocol core's limits and switches, all at once.
            protocol: $crate::Config = protocol;
            /// The largest accepted frame payload (default 16 MiB); a
            /// bigger frame fails the connection with 1009.
            max_frame_size: u64 = protocol.max_frame_size;
            /// The largest accepted message, by its inflated size when
            /// compressed (default 16 MiB); past it the connection fails
            /// with 1009.
            max_message_size: u64 = protocol.max_message_size;
            /// Queue a pong for every ping (default on).
            auto_pong: bool = protocol.auto_pong;
            /// Every timer at once.
            timers: $crate::TimerConfig = timers;
            /// Time allowed for the opening handshake (default 10 s).
            handshake_timeout: ::core::option::Option<::core::time::Duration> = timers.handshake;
            /// Ping a peer from which nothing arrived for this long
            /// (default 60 s).
            idle_ping: ::core::option::Option<::core::time::Duration> = timers.idle_ping;
            /// After that ping, the time the peer has for anything to
            /// arrive before it is closed with 1001 (default 10 s).
            pong_timeout: ::core::option::Option<::core::time::Duration> = timers.pong;
            /// Close (1001) a peer that sent no message for this long
            /// (default none).
            message_timeout: ::core::option::Option<::core::time::Duration> = timers.message;
            /// The time the peer's close may take after ours (default 5 s).
            close_timeout: ::core::option::Option<::core::time::Duration> = timers.close;
            /// Cap on the HTTP upgrade header block (default 8192 bytes);
            /// a bigger one is refused with HTTP 431.
            max_handshake_header: usize = max_handshake_header;
            /// permessage-deflate: what to offer or accept, the level and
            /// the threshold (default on); `None` turns it off.
            compression: ::core::option::Option<$crate::deflate::CompressionConfig> = compression;
        }
    };
}

/// Builder-style setters, `const`: for each `name: type = field.path;`
/// (with its docs), `pub const fn name(self, value: type) -> Self` that
/// sets `self.field.path`. Every configuration type of this crate has its
/// setters made by it, and a transport may use it for its own.
#[doc(hidden)]
#[macro_export]
macro_rules! __setters {
    ($($(#[doc = $doc:expr])* $name:ident: $ty:ty = $($path:ident).+;)*) => {
        $(
            $(#[doc = $doc])*
            #[must_use]
            pub const fn $name(mut self, value: $ty) -> Self {
                self.$($path).+ = value;
                self
            }
        )*
    };
}

/// A builder-style setter for a field of `(name, value)` header pairs
/// (`Vec<(String, String)>`, named as the setter): it takes any iterator
/// of pairs of string-likes. For the transports, which have `std`.
#[doc(hidden)]
#[macro_export]
macro_rules! __headers_setter {
    ($(#[doc = $doc:expr])* $name:ident) => {
        $(#[doc = $doc])*
        #[must_use]
        pub fn $name<I, N, V>(mut self, headers: I) -> Self
        where
            I: ::core::iter::IntoIterator<Item = (N, V)>,
            N: ::core::convert::Into<::std::string::String>,
            V: ::core::convert::Into<::std::string::String>,
        {
            self.$name = headers
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect();
            self
        }
    };
}

/// Expands the list of [`__session_settings!`] into setters: `[own]` on
/// [`SessionConfig`] itself, `[forward field]` on a type that holds one in
/// `field`.
#[doc(hidden)]
#[macro_export]
macro_rules! __session_setters {
    ([own] $($(#[doc = $doc:expr])* $name:ident: $ty:ty = $($path:ident).+;)*) => {
        $crate::__setters! {
            $(
                $(#[doc = $doc])*
                #[doc = concat!("\n\nSets `", stringify!($($path).+), "`.")]
                $name: $ty = $($path).+;
            )*
        }
    };
    ([forward $field:ident] $($(#[doc = $doc:expr])* $name:ident: $ty:ty = $($path:ident).+;)*) => {
        $crate::__setters! {
            $(
                $(#[doc = $doc])*
                #[doc = concat!(
                    "\n\nSets `", stringify!($field), ".", stringify!($($path).+),
                    "` ([`SessionConfig::", stringify!($name), "`](",
                    "ws_proto::SessionConfig::", stringify!($name), "))."
                )]
                $name: $ty = $field.$($path).+;
            )*
        }
    };
}

/// Generates, inside an `impl` block of a transport's configuration, the
/// setters of every shared setting, forwarding to the
/// [`SessionConfig`] it holds in the field named by the argument; and a
/// setter of that name for the whole `SessionConfig`. The transport's
/// users then write `Config::default().max_message_size(1 << 20)` rather
/// than going through the field. Needs the feature `alloc` of this crate
/// (for the subprotocols and budget setters).
///
/// ```
/// # #[cfg(feature = "alloc")] {
/// use ws_proto::SessionConfig;
///
/// /// A transport's settings.
/// #[derive(Default)]
/// #[non_exhaustive]
/// pub struct Config {
///     /// What every transport shares.
///     pub session: SessionConfig,
///     /// The transport's own.
///     pub read_buffer_size: usize,
/// }
///
/// impl Config {
///     ws_proto::session_config_setters!(session);
/// }
///
/// let config = Config::default().max_frame_size(1 << 16).subprotocols(["chat"]);
/// assert_eq!(config.session.protocol.max_frame_size, 1 << 16);
/// assert_eq!(config.session.subprotocols, ["chat"]);
/// # }
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! session_config_setters {
    ($field:ident) => {
        $crate::__session_settings!(forward $field);

        /// The settings shared with every transport, all at once (see
        /// `ws_proto::SessionConfig`).
        #[must_use]
        pub fn $field(mut self, session: $crate::SessionConfig) -> Self {
            self.$field = session;
            self
        }

        /// Subprotocols: for a server, those it supports in order of
        /// preference; for a client, those it offers (default none).
        #[doc = concat!("\n\nSets `", stringify!($field), ".subprotocols`.")]
        #[must_use]
        pub fn subprotocols<I, S>(mut self, subprotocols: I) -> Self
        where
            I: ::core::iter::IntoIterator<Item = S>,
            S: ::core::convert::Into<$crate::__private::String>,
        {
            self.$field = self.$field.subprotocols(subprotocols);
            self
        }

        /// The memory that all connections made with this configuration
        /// (and its clones) may hold together for unfinished incoming
        /// messages (default 256 MiB).
        #[doc = concat!("\n\nSets `", stringify!($field), ".memory_budget`.")]
        #[must_use]
        pub fn memory_budget(mut self, budget: $crate::budget::MemoryBudget) -> Self {
            self.$field.memory_budget = budget;
            self
        }
    };
}

impl SessionConfig {
    /// The defaults of the table above, in a `const`. With `alloc`, the
    /// memory budget is `MemoryBudget::unlimited` (a `const` cannot
    /// allocate the shared counter); [`Default::default`] has the 256 MiB
    /// one.
    pub const fn new() -> Self {
        SessionConfig {
            protocol: Config::new(),
            timers: TimerConfig::new(),
            max_handshake_header: WS_HEADER_BUFFER,
            compression: Some(CompressionConfig::new()),
            #[cfg(feature = "alloc")]
            subprotocols: Vec::new(),
            #[cfg(feature = "alloc")]
            memory_budget: MemoryBudget::unlimited(),
        }
    }

    /// [`new`](Self::new) for small devices: the limits of
    /// [`Config::embedded`] (64 KiB frames and messages) and no
    /// compression (the codec needs `std`).
    pub const fn embedded() -> Self {
        SessionConfig::new()
            .protocol(Config::embedded())
            .compression(None)
    }

    crate::__session_settings!(own);

    /// Sets `subprotocols` (feature `alloc`): for a server, those it
    /// supports in order of preference; for a client, those it offers.
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn subprotocols<I, S>(mut self, subprotocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.subprotocols = subprotocols.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `memory_budget` (feature `alloc`), shared by every connection
    /// made with this configuration and its clones.
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn memory_budget(mut self, budget: MemoryBudget) -> Self {
        self.memory_budget = budget;
        self
    }

    /// The server side of an opening handshake under these settings:
    /// header blocks capped at [`max_handshake_header`](Self::max_handshake_header),
    /// permessage-deflate accepted when [`compression`](Self::compression)
    /// is on. Every transport starts its server handshakes here, so a
    /// setting added to the handshake is applied once for all of them.
    pub fn server_handshake(&self) -> ServerHandshake {
        let mut handshake = ServerHandshake::with_max_header_len(self.max_handshake_header);
        if let Some(compression) = self.compression {
            handshake.negotiate_deflate(compression.negotiation);
        }
        handshake
    }

    /// The client side of an opening handshake for `target` on `host`
    /// (see [`ClientHandshake::new`]; `key` is 16 fresh random bytes)
    /// under these settings: the `subprotocols` offered in order
    /// (feature `alloc`), permessage-deflate offered when
    /// [`compression`](Self::compression) is on, and the response's
    /// header block capped at [`max_handshake_header`](Self::max_handshake_header).
    ///
    /// Fails as [`ClientHandshake::new`] and
    /// [`ClientHandshake::offer_subprotocol`] do: a host or target that
    /// is too long or invalid, a subprotocol that is not a token or one
    /// too many.
    ///
    /// ```
    /// use ws_proto::SessionConfig;
    ///
    /// let handshake = SessionConfig::new().client_handshake("example.com", "/chat", [7; 16])?;
    /// assert_eq!(handshake.target(), "/chat");
    /// # Ok::<(), ws_proto::HandshakeError>(())
    /// ```
    pub fn client_handshake(
        &self,
        host: &str,
        target: &str,
        key: [u8; 16],
    ) -> Result<ClientHandshake, HandshakeError> {
        let mut handshake = ClientHandshake::new(host, target, key)?;
        #[cfg(feature = "alloc")]
        for subprotocol in &self.subprotocols {
            handshake.offer_subprotocol(subprotocol)?;
        }
        if let Some(compression) = self.compression {
            handshake.offer_deflate(compression.negotiation);
        }
        handshake.set_max_header_len(self.max_handshake_header);
        Ok(handshake)
    }

    /// The subprotocol a server answers `request` with (feature
    /// `alloc`): the first of [`subprotocols`](Self::subprotocols), in
    /// the server's order of preference, that the client offered; `None`
    /// when they have none in common (the connection opens without one,
    /// as RFC 6455 section 4.2.2 allows).
    #[cfg(feature = "alloc")]
    pub fn choose_subprotocol(&self, request: &Request<'_>) -> Option<&str> {
        request.first_offered(self.subprotocols.iter().map(String::as_str))
    }

    /// [`protocol.max_message_size`](Config::max_message_size) as a
    /// `usize`, for buffers (saturated on targets where it does not fit).
    pub const fn max_message_len(&self) -> usize {
        if self.protocol.max_message_size > usize::MAX as u64 {
            usize::MAX
        } else {
            self.protocol.max_message_size as usize
        }
    }
}

impl Default for SessionConfig {
    /// [`SessionConfig::new`], with a fresh budget of
    /// `MemoryBudget::DEFAULT_LIMIT` under the feature `alloc`.
    fn default() -> Self {
        let config = SessionConfig::new();
        #[cfg(feature = "alloc")]
        let config = config.memory_budget(MemoryBudget::new(MemoryBudget::DEFAULT_LIMIT));
        config
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use super::*;

    #[test]
    fn defaults_are_those_of_the_parts() {
        let config = SessionConfig::default();
        assert_eq!(config.protocol, Config::new());
        assert_eq!(config.timers, TimerConfig::new());
        assert_eq!(config.max_handshake_header, 8192);
        assert_eq!(config.compression, Some(CompressionConfig::new()));
        #[cfg(feature = "alloc")]
        {
            assert!(config.subprotocols.is_empty());
            assert_eq!(config.memory_budget.limit(), 256 << 20);
            assert_eq!(SessionConfig::new().memory_budget.limit(), usize::MAX);
        }
        assert_eq!(config.max_message_len(), 16 << 20);
    }

    #[test]
    fn every_setter_sets_its_field() {
        let secs = Duration::from_secs;
        let config = SessionConfig::new()
            .max_frame_size(1)
            .max_message_size(2)
            .auto_pong(false)
            .handshake_timeout(Some(secs(3)))
            .idle_ping(None)
            .pong_timeout(Some(secs(4)))
            .message_timeout(Some(secs(5)))
            .close_timeout(Some(secs(6)))
            .max_handshake_header(7)
            .compression(None);
        assert_eq!(
            config.protocol,
            Config::new()
                .max_frame_size(1)
                .max_message_size(2)
                .auto_pong(false)
        );
        assert_eq!(
            config.timers,
            TimerConfig::off()
                .handshake(Some(secs(3)))
                .pong(Some(secs(4)))
                .message(Some(secs(5)))
                .close(Some(secs(6)))
        );
        assert_eq!(config.max_handshake_header, 7);
        assert_eq!(config.compression, None);

        let whole = SessionConfig::new()
            .protocol(Config::embedded())
            .timers(TimerConfig::off());
        assert_eq!(whole.protocol, Config::embedded());
        assert_eq!(whole.timers, TimerConfig::off());
    }

    #[test]
    fn embedded_is_small_and_uncompressed() {
        const DEVICE: SessionConfig = SessionConfig::embedded();
        assert_eq!(DEVICE.protocol.max_frame_size, 65536);
        assert_eq!(DEVICE.protocol.max_message_size, 65536);
        assert_eq!(DEVICE.compression, None);
        assert_eq!(DEVICE.timers, TimerConfig::new());
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn allocating_setters() {
        let budget = MemoryBudget::new(10);
        let config = SessionConfig::new()
            .subprotocols(["chat", "superchat"])
            .memory_budget(budget.clone());
        assert_eq!(config.subprotocols, ["chat", "superchat"]);
        assert_eq!(config.memory_budget, budget);
    }

    #[test]
    fn server_handshake_caps_the_header_and_negotiates_deflate() {
        let request = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
        let mut on = SessionConfig::new().server_handshake();
        let incoming = on.feed(request).unwrap().complete().unwrap();
        assert!(incoming.deflate().is_some());
        let mut off = SessionConfig::new().compression(None).server_handshake();
        let incoming = off.feed(request).unwrap().complete().unwrap();
        assert!(incoming.deflate().is_none());
        let mut small = SessionConfig::new()
            .max_handshake_header(16)
            .server_handshake();
        assert_eq!(small.feed(request), Err(HandshakeError::HeaderTooLarge));
    }

    #[test]
    fn client_handshake_offers_what_is_configured() {
        let mut request = [0u8; 1024];
        let config = SessionConfig::new();
        #[cfg(feature = "alloc")]
        let config = config.subprotocols(["chat", "superchat"]);
        let handshake = config
            .client_handshake("example.com", "/chat", [1; 16])
            .unwrap();
        let len = handshake.write_request(&[], &mut request).unwrap();
        let text = core::str::from_utf8(&request[..len]).unwrap();
        assert!(text.contains("Sec-WebSocket-Extensions: permessage-deflate"));
        #[cfg(feature = "alloc")]
        assert!(text.contains("Sec-WebSocket-Protocol: chat, superchat"));

        let handshake = config
            .compression(None)
            .client_handshake("example.com", "/", [1; 16])
            .unwrap();
        let len = handshake.write_request(&[], &mut request).unwrap();
        let text = core::str::from_utf8(&request[..len]).unwrap();
        assert!(!text.contains("Sec-WebSocket-Extensions"));
        assert_eq!(
            SessionConfig::new()
                .client_handshake("example.com", "no slash", [1; 16])
                .err(),
            Some(HandshakeError::InvalidPath)
        );
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn choose_subprotocol_follows_the_configured_preference() {
        let request = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
            Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, superchat\r\n\r\n";
        let mut handshake = SessionConfig::new().server_handshake();
        let incoming = handshake.feed(request).unwrap().complete().unwrap();
        let request = incoming.request();
        let config = SessionConfig::new().subprotocols(["mqtt", "superchat", "chat"]);
        assert_eq!(config.choose_subprotocol(request), Some("superchat"));
        let config = SessionConfig::new().subprotocols(["mqtt"]);
        assert_eq!(config.choose_subprotocol(request), None);
        assert_eq!(SessionConfig::new().choose_subprotocol(request), None);
    }

    /// The forwarding setters a transport generates.
    #[cfg(feature = "alloc")]
    #[test]
    fn forwarding_setters_reach_the_embedded_config() {
        #[derive(Default)]
        struct Transport {
            session: SessionConfig,
            own: usize,
        }
        // Only some of the generated setters are called here.
        #[allow(dead_code)]
        impl Transport {
            crate::session_config_setters!(session);
        }
        let transport = Transport::default()
            .max_message_size(9)
            .idle_ping(None)
            .subprotocols(["a"])
            .memory_budget(MemoryBudget::unlimited());
        assert_eq!(transport.own, 0);
        assert_eq!(transport.session.protocol.max_message_size, 9);
        assert_eq!(transport.session.timers.idle_ping, None);
        assert_eq!(transport.session.subprotocols, ["a"]);
        assert_eq!(transport.session.memory_budget.limit(), usize::MAX);
        let replaced = transport.session(SessionConfig::embedded());
        assert_eq!(replaced.session, SessionConfig::embedded());
    }
}
