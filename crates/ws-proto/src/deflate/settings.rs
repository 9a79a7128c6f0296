//! What a transport does about permessage-deflate: a plain value, with no
//! feature, so that [`SessionConfig`](crate::SessionConfig) holds it in
//! every build.

use super::negotiation::DeflateConfig;

/// Compression settings of a transport: what to negotiate, the level, and
/// the size under which messages go uncompressed.
///
/// It needs no feature and no allocator (it is three numbers and a
/// [`DeflateConfig`]), so a configuration can carry it in every build; the
/// codec that uses the level and the threshold,
/// `deflate::PerMessageDeflate`, needs the feature `deflate`. It is
/// `#[non_exhaustive]`: build it with [`new`](Self::new) or [`Default`]
/// and the `const` setters.
///
/// ```
/// use ws_proto::deflate::{CompressionConfig, DeflateConfig};
///
/// const SMALL: CompressionConfig = CompressionConfig::new()
///     .level(1)
///     .negotiation(DeflateConfig::new().server_no_context_takeover(true));
/// assert_eq!(SMALL.threshold, 256);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompressionConfig {
    /// What to offer (client) or accept (server).
    pub negotiation: DeflateConfig,
    /// zlib compression level, 0 (store) to 9 (smallest); default 6.
    pub level: u8,
    /// Messages shorter than this go uncompressed (default 256 bytes):
    /// below it, compression costs more than it saves.
    pub threshold: usize,
}

impl CompressionConfig {
    /// The defaults: plain `permessage-deflate` ([`DeflateConfig::new`]),
    /// level 6, threshold 256 bytes.
    pub const fn new() -> Self {
        CompressionConfig {
            negotiation: DeflateConfig::new(),
            level: 6,
            threshold: 256,
        }
    }

    crate::__setters! {
        /// Sets [`negotiation`](Self::negotiation), what to offer or accept.
        negotiation: DeflateConfig = negotiation;
        /// Sets [`level`](Self::level), the zlib level (0 to 9).
        level: u8 = level;
        /// Sets [`threshold`](Self::threshold): shorter messages go
        /// uncompressed.
        threshold: usize = threshold;
    }
}

impl Default for CompressionConfig {
    /// [`CompressionConfig::new`].
    fn default() -> Self {
        CompressionConfig::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_setters() {
        let default = CompressionConfig::default();
        assert_eq!(default, CompressionConfig::new());
        assert_eq!(default.negotiation, DeflateConfig::default());
        assert_eq!((default.level, default.threshold), (6, 256));

        let negotiation = DeflateConfig::new().client_max_window_bits(10);
        let set = CompressionConfig::new()
            .negotiation(negotiation)
            .level(9)
            .threshold(0);
        assert_eq!(set.negotiation, negotiation);
        assert_eq!((set.level, set.threshold), (9, 0));
    }
}
