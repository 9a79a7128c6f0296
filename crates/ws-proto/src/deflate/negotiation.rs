//! permessage-deflate's negotiation (RFC 7692 section 7): the offer a
//! client sends, the server's choice and response, and the client's check
//! of that response, on the generic parser of [`crate::extension`]. No
//! allocation and no feature: header values are written into a fixed
//! [`HeaderValue`]. The module docs of [`crate::deflate`] say how a
//! transport uses it.

use core::fmt;

use crate::extension::{parse_extensions, Malformed, ParamValue, Params};
use crate::Role;

/// The registered name of the extension.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// The capacity of a [`HeaderValue`]: enough for `permessage-deflate` with
/// all four of its parameters.
pub const HEADER_CAPACITY: usize = 128;

/// A `Sec-WebSocket-Extensions` value written by [`offer_header`] or
/// [`response_header`].
pub type HeaderValue = heapless::String<HEADER_CAPACITY>;

/// The smallest LZ77 window RFC 7692 allows, as a power of two.
pub const MIN_WINDOW_BITS: u8 = 8;

/// The largest LZ77 window RFC 7692 allows (32 KiB): "no limit".
pub const MAX_WINDOW_BITS: u8 = 15;

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

// The longest value `write_header` produces fits the buffer.
const _: () = assert!(
    PERMESSAGE_DEFLATE.len()
        + 2 * (2 + SERVER_NO_CONTEXT_TAKEOVER.len())
        + 2 * (2 + SERVER_MAX_WINDOW_BITS.len() + 3)
        <= HEADER_CAPACITY
);

/// What one side wants from permessage-deflate: a server's policy for
/// [`negotiate`], or what a client offers with [`offer_header`].
///
/// Window sizes are powers of two in `8..=15`; 15 (32 KiB) means "no limit".
/// Values outside that range are clamped into it.
///
/// `#[non_exhaustive]`: build it with [`new`](Self::new) or [`Default`]
/// and the `const` setters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// The server drops its compression context after every message.
    /// A client that sets it requires it; a server that sets it does it
    /// whatever the offer said.
    pub server_no_context_takeover: bool,
    /// The client drops its compression context after every message.
    /// A client that sets it promises it; a server that sets it demands it.
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with. A client below 15
    /// asks the server for at most this; a server below 15 limits itself.
    pub server_max_window_bits: u8,
    /// The largest window the client compresses with. A client below 15
    /// promises at most this (and lets the server lower it further); a
    /// server below 15 asks the client for at most this, which it can only
    /// do when the offer carries `client_max_window_bits`.
    pub client_max_window_bits: u8,
}

impl Default for DeflateConfig {
    /// [`DeflateConfig::new`].
    fn default() -> Self {
        DeflateConfig::new()
    }
}

impl DeflateConfig {
    /// Context takeover on both sides and 32 KiB windows: plain
    /// `permessage-deflate`.
    pub const fn new() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
        }
    }

    crate::__setters! {
        /// Sets [`server_no_context_takeover`](Self::server_no_context_takeover).
        server_no_context_takeover: bool = server_no_context_takeover;
        /// Sets [`client_no_context_takeover`](Self::client_no_context_takeover).
        client_no_context_takeover: bool = client_no_context_takeover;
        /// Sets [`server_max_window_bits`](Self::server_max_window_bits)
        /// (`8..=15`; others are clamped when used).
        server_max_window_bits: u8 = server_max_window_bits;
        /// Sets [`client_max_window_bits`](Self::client_max_window_bits)
        /// (`8..=15`; others are clamped when used).
        client_max_window_bits: u8 = client_max_window_bits;
    }

    fn clamped(&self) -> Self {
        DeflateConfig {
            server_max_window_bits: clamp_bits(self.server_max_window_bits),
            client_max_window_bits: clamp_bits(self.client_max_window_bits),
            ..*self
        }
    }
}

/// The parameters both sides agreed on, from [`negotiate`] (server) or
/// [`accept_response`] (client).
///
/// A window of 8 bits is reported as such: zlib cannot produce raw deflate
/// for a 256-byte window, so a compressor given 8 is expected to send stored
/// blocks, which are valid for any window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeflateParams {
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// The window the server compresses with (and the client must be able
    /// to decompress), `8..=15`.
    pub server_max_window_bits: u8,
    /// The window the client compresses with (and the server must be able
    /// to decompress), `8..=15`.
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    /// What a bare `permessage-deflate` response means: context takeover
    /// and 32 KiB windows on both sides.
    fn default() -> Self {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
        }
    }
}

impl DeflateParams {
    /// The window bits `role` compresses its own messages with.
    pub fn compress_window_bits(&self, role: Role) -> u8 {
        match role {
            Role::Server => self.server_max_window_bits,
            Role::Client => self.client_max_window_bits,
        }
    }

    /// The window bits `role` needs to decompress the peer's messages: the
    /// peer's compression window.
    pub fn decompress_window_bits(&self, role: Role) -> u8 {
        self.compress_window_bits(peer(role))
    }

    /// Whether `role` must reset its compressor after every message.
    pub fn compress_no_context_takeover(&self, role: Role) -> bool {
        match role {
            Role::Server => self.server_no_context_takeover,
            Role::Client => self.client_no_context_takeover,
        }
    }

    /// Whether the peer of `role` resets its compressor after every
    /// message, so that `role` may reset its decompressor too.
    pub fn decompress_no_context_takeover(&self, role: Role) -> bool {
        self.compress_no_context_takeover(peer(role))
    }
}

fn peer(role: Role) -> Role {
    match role {
        Role::Server => Role::Client,
        Role::Client => Role::Server,
    }
}

fn clamp_bits(bits: u8) -> u8 {
    bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS)
}

/// Why a permessage-deflate offer or response in a
/// `Sec-WebSocket-Extensions` value was rejected.
///
/// `#[non_exhaustive]`: new reasons may be added, so a `match` needs a
/// wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The value does not follow the header's grammar.
    Malformed,
    /// A parameter permessage-deflate does not define.
    UnknownParameter,
    /// The same parameter twice in one element.
    DuplicateParameter,
    /// A value on a parameter that takes none.
    UnexpectedValue,
    /// No value on a parameter that needs one.
    MissingValue,
    /// A window size that is not an integer in `8..=15` written without
    /// sign or leading zeros.
    InvalidValue,
    /// The response names an extension the client did not offer.
    NotOffered,
    /// The response accepts permessage-deflate more than once.
    DuplicateExtension,
    /// The response grants a window larger than the offer allowed.
    WindowTooLarge,
    /// The offer asked for `server_no_context_takeover` and the response
    /// lacks it.
    MissingServerNoContextTakeover,
    /// The offer limited `server_max_window_bits` and the response lacks it.
    MissingServerMaxWindowBits,
}

impl NegotiationError {
    /// A short description of the error.
    pub fn reason(&self) -> &'static str {
        match self {
            NegotiationError::Malformed => "malformed extension header",
            NegotiationError::UnknownParameter => "unknown extension parameter",
            NegotiationError::DuplicateParameter => "duplicate extension parameter",
            NegotiationError::UnexpectedValue => "extension parameter takes no value",
            NegotiationError::MissingValue => "extension parameter needs a value",
            NegotiationError::InvalidValue => "invalid window bits",
            NegotiationError::NotOffered => "extension not offered",
            NegotiationError::DuplicateExtension => "extension accepted twice",
            NegotiationError::WindowTooLarge => "window bits larger than offered",
            NegotiationError::MissingServerNoContextTakeover => {
                "server_no_context_takeover offered but not accepted"
            }
            NegotiationError::MissingServerMaxWindowBits => {
                "server_max_window_bits offered but not accepted"
            }
        }
    }
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl core::error::Error for NegotiationError {}

impl From<Malformed> for NegotiationError {
    fn from(_: Malformed) -> Self {
        NegotiationError::Malformed
    }
}

/// The permessage-deflate parameters of one element, checked for syntax.
#[derive(Debug, Default)]
struct Element {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value (offers only).
    client_max_window_bits: Option<Option<u8>>,
}

/// Reads the parameters of a permessage-deflate element. A response must
/// give `client_max_window_bits` a value; an offer need not.
fn parse_element(params: Params<'_>, response: bool) -> Result<Element, NegotiationError> {
    let mut e = Element::default();
    for param in params {
        let value = param.value();
        if param.is(SERVER_NO_CONTEXT_TAKEOVER) || param.is(CLIENT_NO_CONTEXT_TAKEOVER) {
            let flag = if param.is(SERVER_NO_CONTEXT_TAKEOVER) {
                &mut e.server_no_context_takeover
            } else {
                &mut e.client_no_context_takeover
            };
            if *flag {
                return Err(NegotiationError::DuplicateParameter);
            }
            if value.is_some() {
                return Err(NegotiationError::UnexpectedValue);
            }
            *flag = true;
        } else if param.is(SERVER_MAX_WINDOW_BITS) {
            if e.server_max_window_bits.is_some() {
                return Err(NegotiationError::DuplicateParameter);
            }
            let value = value.ok_or(NegotiationError::MissingValue)?;
            e.server_max_window_bits = Some(window_bits(value)?);
        } else if param.is(CLIENT_MAX_WINDOW_BITS) {
            if e.client_max_window_bits.is_some() {
                return Err(NegotiationError::DuplicateParameter);
            }
            let bits = match value {
                Some(value) => Some(window_bits(value)?),
                None if response => return Err(NegotiationError::MissingValue),
                None => None,
            };
            e.client_max_window_bits = Some(bits);
        } else {
            return Err(NegotiationError::UnknownParameter);
        }
    }
    Ok(e)
}

/// A window size: `1*DIGIT` without leading zeros, in `8..=15`, quoted or
/// not.
fn window_bits(value: ParamValue<'_>) -> Result<u8, NegotiationError> {
    let mut bits: u8 = 0;
    for (i, c) in value.chars().enumerate() {
        let digit = c.to_digit(10).ok_or(NegotiationError::InvalidValue)?;
        if i >= 2 || (i == 0 && digit == 0) {
            return Err(NegotiationError::InvalidValue);
        }
        // At most two digits: no overflow.
        bits = bits * 10 + digit as u8;
    }
    if (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits) {
        Ok(bits)
    } else {
        Err(NegotiationError::InvalidValue)
    }
}

/// Server side: picks the first acceptable permessage-deflate offer from
/// the request's `Sec-WebSocket-Extensions` values and returns the
/// parameters to answer with ([`response_header`]) and compress with.
/// `None` declines the extension: send no `Sec-WebSocket-Extensions`.
///
/// Offers are taken in order across all values; other extensions,
/// malformed elements, and offers with an unknown, duplicated or invalid
/// parameter are skipped. For the accepted offer:
/// - `server_no_context_takeover` if the offer or the policy has it;
///   `client_no_context_takeover` if the policy has it.
/// - The server window is the policy's, lowered to the offer's
///   `server_max_window_bits`. An offer of exactly
///   `server_max_window_bits=15` gets 14, because the response must then
///   name the parameter, and [`response_header`] only names windows
///   below 15.
/// - The client window is lowered to the policy's only if the offer has
///   `client_max_window_bits`; a value there caps it too. So it may exceed
///   the policy: the server's decompressor must be sized by the result.
pub fn negotiate<'a>(
    header_values: impl IntoIterator<Item = &'a str>,
    policy: &DeflateConfig,
) -> Option<DeflateParams> {
    let policy = policy.clamped();
    header_values
        .into_iter()
        .flat_map(parse_extensions)
        .filter_map(Result::ok)
        .filter(|ext| ext.is(PERMESSAGE_DEFLATE))
        .find_map(|ext| parse_element(ext.params(), false).ok())
        .map(|offer| accept_offer(&offer, &policy))
}

fn accept_offer(offer: &Element, policy: &DeflateConfig) -> DeflateParams {
    let server_max_window_bits = match offer.server_max_window_bits {
        Some(offered) => offered
            .min(policy.server_max_window_bits)
            .min(MAX_WINDOW_BITS - 1),
        None => policy.server_max_window_bits,
    };
    let client_max_window_bits = match offer.client_max_window_bits {
        Some(offered) => offered
            .unwrap_or(MAX_WINDOW_BITS)
            .min(policy.client_max_window_bits),
        None => MAX_WINDOW_BITS,
    };
    DeflateParams {
        server_no_context_takeover: offer.server_no_context_takeover
            || policy.server_no_context_takeover,
        client_no_context_takeover: policy.client_no_context_takeover,
        server_max_window_bits,
        client_max_window_bits,
    }
}

/// Server side: the `Sec-WebSocket-Extensions` value accepting `params`.
/// Windows of 15 are left out (that is the default); out-of-range windows
/// are clamped into `8..=15`.
pub fn response_header(params: &DeflateParams) -> HeaderValue {
    write_header(
        false,
        params.server_no_context_takeover,
        params.client_no_context_takeover,
        params.server_max_window_bits,
        params.client_max_window_bits,
    )
}

/// Client side: the `Sec-WebSocket-Extensions` value offering `config`.
/// A server window of 15 is not mentioned; `client_max_window_bits` always
/// is (bare when 15), which tells the server it may lower our window.
/// Out-of-range windows are clamped into `8..=15`.
pub fn offer_header(config: &DeflateConfig) -> HeaderValue {
    write_header(
        true,
        config.server_no_context_takeover,
        config.client_no_context_takeover,
        config.server_max_window_bits,
        config.client_max_window_bits,
    )
}

fn write_header(
    offer: bool,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
) -> HeaderValue {
    let mut out = HeaderValue::new();
    // Cannot fail: the longest value fits (see the assertion at the top).
    let _ = write_parts(
        &mut out,
        offer,
        server_no_context_takeover,
        client_no_context_takeover,
        clamp_bits(server_max_window_bits),
        clamp_bits(client_max_window_bits),
    );
    out
}

fn write_parts(
    out: &mut HeaderValue,
    offer: bool,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: u8,
    client_max_window_bits: u8,
) -> Result<(), ()> {
    // Pieces pushed one by one, without `core::fmt`: this runs in every
    // handshake that offers or accepts the extension.
    out.push_str(PERMESSAGE_DEFLATE)?;
    if server_no_context_takeover {
        push_param(out, SERVER_NO_CONTEXT_TAKEOVER, None)?;
    }
    if client_no_context_takeover {
        push_param(out, CLIENT_NO_CONTEXT_TAKEOVER, None)?;
    }
    if server_max_window_bits < MAX_WINDOW_BITS {
        push_param(out, SERVER_MAX_WINDOW_BITS, Some(server_max_window_bits))?;
    }
    if client_max_window_bits < MAX_WINDOW_BITS {
        push_param(out, CLIENT_MAX_WINDOW_BITS, Some(client_max_window_bits))?;
    } else if offer {
        // Offered bare, it tells the server it may limit our window.
        push_param(out, CLIENT_MAX_WINDOW_BITS, None)?;
    }
    Ok(())
}

/// Appends `; name` or `; name=bits` (bits below 100).
fn push_param(out: &mut HeaderValue, name: &str, bits: Option<u8>) -> Result<(), ()> {
    out.push_str("; ")?;
    out.push_str(name)?;
    if let Some(bits) = bits {
        out.push('=').map_err(drop)?;
        if bits >= 10 {
            out.push(char::from(b'0' + bits / 10)).map_err(drop)?;
        }
        out.push(char::from(b'0' + bits % 10)).map_err(drop)?;
    }
    Ok(())
}

/// Client side: checks the server's `Sec-WebSocket-Extensions` values
/// against what was offered with [`offer_header`]`(offered)`. `Ok(None)`:
/// the server accepted no extension (no header, or only empty values).
///
/// Any error means the client must fail the connection. The response must
/// hold exactly one element, `permessage-deflate`, with valid parameters
/// (`client_max_window_bits` needs a value); it must echo
/// `server_no_context_takeover` and `server_max_window_bits` if they were
/// offered, with a window no larger than offered; it may carry
/// `client_max_window_bits` only if that was offered, again no larger.
/// Without it the client window stays at the offered value.
pub fn accept_response<'a>(
    header_values: impl IntoIterator<Item = &'a str>,
    offered: &DeflateConfig,
) -> Result<Option<DeflateParams>, NegotiationError> {
    let offered = offered.clamped();
    let mut accepted = None;
    for value in header_values {
        for ext in parse_extensions(value) {
            let ext = ext?;
            if !ext.is(PERMESSAGE_DEFLATE) {
                return Err(NegotiationError::NotOffered);
            }
            if accepted.is_some() {
                return Err(NegotiationError::DuplicateExtension);
            }
            let response = parse_element(ext.params(), true)?;
            accepted = Some(check_response(&response, &offered)?);
        }
    }
    Ok(accepted)
}

fn check_response(
    response: &Element,
    offered: &DeflateConfig,
) -> Result<DeflateParams, NegotiationError> {
    if offered.server_no_context_takeover && !response.server_no_context_takeover {
        return Err(NegotiationError::MissingServerNoContextTakeover);
    }
    let server_max_window_bits = match response.server_max_window_bits {
        Some(bits) if bits > offered.server_max_window_bits => {
            return Err(NegotiationError::WindowTooLarge)
        }
        Some(bits) => bits,
        None if offered.server_max_window_bits < MAX_WINDOW_BITS => {
            return Err(NegotiationError::MissingServerMaxWindowBits)
        }
        None => MAX_WINDOW_BITS,
    };
    let client_max_window_bits = match response.client_max_window_bits {
        Some(bits) => {
            let bits = bits.ok_or(NegotiationError::MissingValue)?;
            if bits > offered.client_max_window_bits {
                return Err(NegotiationError::WindowTooLarge);
            }
            bits
        }
        None => offered.client_max_window_bits,
    };
    Ok(DeflateParams {
        server_no_context_takeover: response.server_no_context_takeover,
        client_no_context_takeover: response.client_no_context_takeover,
        server_max_window_bits,
        client_max_window_bits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn config(snct: bool, cnct: bool, server_bits: u8, client_bits: u8) -> DeflateConfig {
        DeflateConfig {
            server_no_context_takeover: snct,
            client_no_context_takeover: cnct,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits,
        }
    }

    fn params(snct: bool, cnct: bool, server_bits: u8, client_bits: u8) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: snct,
            client_no_context_takeover: cnct,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits,
        }
    }

    fn offer(value: &str) -> Option<DeflateParams> {
        negotiate([value], &DeflateConfig::default())
    }

    fn respond(
        value: &str,
        offered: &DeflateConfig,
    ) -> Result<Option<DeflateParams>, NegotiationError> {
        accept_response([value], offered)
    }

    // --- window values ------------------------------------------------------

    #[test]
    fn window_bits_must_be_plain_integers_from_8_to_15() {
        for good in ["8", "9", "10", "15", "\"10\"", "\"1\\0\""] {
            let value = std::format!("permessage-deflate; server_max_window_bits={good}");
            assert!(offer(&value).is_some(), "{good}");
        }
        for bad in [
            "7",
            "16",
            "0",
            "08",
            "010",
            "+9",
            "-9",
            "9a",
            "\"\"",
            "\" 9\"",
            "255",
            "99999999999",
        ] {
            let value = std::format!("permessage-deflate; server_max_window_bits={bad}");
            assert_eq!(offer(&value), None, "{bad}");
        }
    }

    // --- server -------------------------------------------------------------

    #[test]
    fn server_accepts_a_bare_offer_with_defaults() {
        assert_eq!(offer("permessage-deflate"), Some(DeflateParams::default()));
        assert_eq!(
            response_header(&DeflateParams::default()),
            "permessage-deflate"
        );
    }

    #[test]
    fn server_declines_when_nothing_is_offered() {
        assert_eq!(negotiate([], &DeflateConfig::default()), None);
        assert_eq!(offer(""), None);
        assert_eq!(offer("x-webkit-deflate-frame"), None);
    }

    #[test]
    fn server_takes_the_first_acceptable_offer() {
        let value = "permessage-deflate; bogus, permessage-deflate; server_max_window_bits=10, \
                     permessage-deflate; server_max_window_bits=9";
        assert_eq!(offer(value).unwrap().server_max_window_bits, 10);
    }

    #[test]
    fn server_takes_offers_across_header_values_in_order() {
        let values = [
            "x-foo",
            "permessage-deflate; client_max_window_bits=99",
            "permessage-deflate; server_max_window_bits=11",
            "permessage-deflate",
        ];
        let params = negotiate(values, &DeflateConfig::default()).unwrap();
        assert_eq!(params.server_max_window_bits, 11);
    }

    #[test]
    fn server_skips_malformed_offers() {
        for garbage in [
            "permessage-deflate;;",
            "; x",
            "permessage-deflate; x=\"unterminated",
        ] {
            assert_eq!(offer(garbage), None, "{garbage}");
        }
        let params = offer("permessage-deflate;;, permessage-deflate; server_max_window_bits=12");
        assert_eq!(params.unwrap().server_max_window_bits, 12);
    }

    #[test]
    fn server_declines_unknown_parameters() {
        assert_eq!(offer("permessage-deflate; foo"), None);
        assert_eq!(
            offer("permessage-deflate; server_no_context_takeover; foo=1"),
            None
        );
    }

    #[test]
    fn server_declines_duplicate_parameters() {
        for param in [
            "server_no_context_takeover",
            "client_no_context_takeover",
            "server_max_window_bits=10",
            "client_max_window_bits",
        ] {
            let value = std::format!("permessage-deflate; {param}; {param}");
            assert_eq!(offer(&value), None, "{param}");
        }
        assert_eq!(
            offer("permessage-deflate; client_max_window_bits; client_max_window_bits=10"),
            None
        );
    }

    #[test]
    fn server_declines_values_on_flags_and_missing_window_values() {
        assert_eq!(
            offer("permessage-deflate; server_no_context_takeover=1"),
            None
        );
        assert_eq!(
            offer("permessage-deflate; client_no_context_takeover=\"\""),
            None
        );
        assert_eq!(offer("permessage-deflate; server_max_window_bits"), None);
    }

    #[test]
    fn server_accepts_quoted_window_values() {
        let params = offer("permessage-deflate; client_max_window_bits=\"10\"").unwrap();
        assert_eq!(params.client_max_window_bits, 10);
    }

    #[test]
    fn server_window_never_exceeds_the_offered_one() {
        let params = offer("permessage-deflate; server_max_window_bits=10").unwrap();
        assert_eq!(params.server_max_window_bits, 10);
        assert_eq!(
            response_header(&params),
            "permessage-deflate; server_max_window_bits=10"
        );
        let policy = config(false, false, 9, 15);
        let params = negotiate(["permessage-deflate; server_max_window_bits=10"], &policy).unwrap();
        assert_eq!(params.server_max_window_bits, 9);
    }

    #[test]
    fn server_names_its_window_only_when_limited() {
        let params = negotiate(["permessage-deflate"], &config(false, false, 11, 15)).unwrap();
        assert_eq!(params.server_max_window_bits, 11);
        assert_eq!(
            response_header(&params),
            "permessage-deflate; server_max_window_bits=11"
        );
    }

    #[test]
    fn server_answers_an_offered_window_of_15_with_14() {
        let params = offer("permessage-deflate; server_max_window_bits=15").unwrap();
        assert_eq!(params.server_max_window_bits, 14);
        assert_eq!(
            response_header(&params),
            "permessage-deflate; server_max_window_bits=14"
        );
    }

    #[test]
    fn server_never_limits_a_client_that_did_not_offer_client_max_window_bits() {
        let policy = config(false, false, 15, 9);
        let params = negotiate(["permessage-deflate"], &policy).unwrap();
        assert_eq!(params.client_max_window_bits, 15);
        assert!(!response_header(&params).contains(CLIENT_MAX_WINDOW_BITS));
    }

    #[test]
    fn server_limits_a_client_that_offered_client_max_window_bits() {
        let policy = config(false, false, 15, 12);
        let params = negotiate(["permessage-deflate; client_max_window_bits"], &policy).unwrap();
        assert_eq!(params.client_max_window_bits, 12);
        assert_eq!(
            response_header(&params),
            "permessage-deflate; client_max_window_bits=12"
        );
        let params = negotiate(["permessage-deflate; client_max_window_bits=10"], &policy).unwrap();
        assert_eq!(params.client_max_window_bits, 10);
    }

    #[test]
    fn server_records_the_clients_own_window_limit() {
        let params = offer("permessage-deflate; client_max_window_bits=11").unwrap();
        assert_eq!(params.client_max_window_bits, 11);
        assert_eq!(
            response_header(&params),
            "permessage-deflate; client_max_window_bits=11"
        );
        let params = offer("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(params.client_max_window_bits, 15);
        assert_eq!(response_header(&params), "permessage-deflate");
    }

    #[test]
    fn server_echoes_server_no_context_takeover() {
        let params = offer("permessage-deflate; server_no_context_takeover").unwrap();
        assert!(params.server_no_context_takeover);
        assert_eq!(
            response_header(&params),
            "permessage-deflate; server_no_context_takeover"
        );
    }

    #[test]
    fn server_policy_adds_no_context_takeover_unasked() {
        let params = negotiate(["permessage-deflate"], &config(true, true, 15, 15)).unwrap();
        assert!(params.server_no_context_takeover && params.client_no_context_takeover);
        assert_eq!(
            response_header(&params),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
    }

    #[test]
    fn server_ignores_an_offered_client_no_context_takeover_it_does_not_want() {
        let params = offer("permessage-deflate; client_no_context_takeover").unwrap();
        assert!(!params.client_no_context_takeover);
    }

    #[test]
    fn server_accepts_and_reports_window_8() {
        let value = "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8";
        let params = offer(value).unwrap();
        assert_eq!(
            (params.server_max_window_bits, params.client_max_window_bits),
            (8, 8)
        );
        assert_eq!(response_header(&params), value);
        let policy = config(false, false, 8, 8);
        let params = negotiate(["permessage-deflate; client_max_window_bits"], &policy).unwrap();
        assert_eq!(
            (params.server_max_window_bits, params.client_max_window_bits),
            (8, 8)
        );
    }

    #[test]
    fn out_of_range_config_windows_are_clamped() {
        let policy = config(false, false, 3, 200);
        let agreed = negotiate(["permessage-deflate; client_max_window_bits"], &policy).unwrap();
        assert_eq!(
            (agreed.server_max_window_bits, agreed.client_max_window_bits),
            (8, 15)
        );
        assert_eq!(
            offer_header(&config(false, false, 0, 16)),
            "permessage-deflate; server_max_window_bits=8; client_max_window_bits"
        );
        assert_eq!(
            response_header(&params(false, false, 99, 1)),
            offer_header(&config(false, false, 15, 8))
        );
    }

    #[test]
    fn longest_header_fits() {
        let value = response_header(&params(true, true, 14, 14));
        assert_eq!(
            value,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=14; client_max_window_bits=14"
        );
    }

    // --- client -------------------------------------------------------------

    #[test]
    fn client_offer_names_only_what_it_limits() {
        assert_eq!(
            offer_header(&DeflateConfig::default()),
            "permessage-deflate; client_max_window_bits"
        );
        assert_eq!(
            offer_header(&config(true, false, 10, 9)),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; \
             client_max_window_bits=9"
        );
    }

    #[test]
    fn client_sees_no_extension_without_a_header() {
        assert_eq!(accept_response([], &DeflateConfig::default()), Ok(None));
        assert_eq!(respond("", &DeflateConfig::default()), Ok(None));
    }

    #[test]
    fn client_lets_the_server_limit_its_window() {
        // The default offer names client_max_window_bits without a value.
        let agreed = respond(
            "permessage-deflate; client_max_window_bits=10",
            &DeflateConfig::default(),
        );
        assert_eq!(
            agreed.map(|p| p.map(|p| p.client_max_window_bits)),
            Ok(Some(10))
        );
    }

    #[test]
    fn client_rejects_a_client_window_above_its_offer() {
        let offered = config(false, false, 15, 10);
        assert_eq!(
            respond("permessage-deflate; client_max_window_bits=11", &offered),
            Err(NegotiationError::WindowTooLarge)
        );
        assert_eq!(
            respond("permessage-deflate; client_max_window_bits=9", &offered),
            Ok(Some(params(false, false, 15, 9)))
        );
    }

    #[test]
    fn client_keeps_its_offered_window_when_the_response_omits_it() {
        let offered = config(false, false, 15, 10);
        assert_eq!(
            respond("permessage-deflate", &offered),
            Ok(Some(params(false, false, 15, 10)))
        );
    }

    #[test]
    fn client_rejects_client_max_window_bits_without_a_value() {
        assert_eq!(
            respond(
                "permessage-deflate; client_max_window_bits",
                &config(false, false, 15, 10)
            ),
            Err(NegotiationError::MissingValue)
        );
    }

    #[test]
    fn client_accepts_an_unasked_server_window_limit() {
        assert_eq!(
            respond(
                "permessage-deflate; server_max_window_bits=9",
                &DeflateConfig::default()
            ),
            Ok(Some(params(false, false, 9, 15)))
        );
    }

    #[test]
    fn client_rejects_a_server_window_above_its_offer() {
        let offered = config(false, false, 10, 15);
        assert_eq!(
            respond("permessage-deflate; server_max_window_bits=11", &offered),
            Err(NegotiationError::WindowTooLarge)
        );
    }

    #[test]
    fn client_rejects_a_response_ignoring_its_server_window_limit() {
        assert_eq!(
            respond("permessage-deflate", &config(false, false, 10, 15)),
            Err(NegotiationError::MissingServerMaxWindowBits)
        );
    }

    #[test]
    fn client_rejects_a_missing_server_no_context_takeover() {
        let offered = config(true, false, 15, 15);
        assert_eq!(
            respond("permessage-deflate", &offered),
            Err(NegotiationError::MissingServerNoContextTakeover)
        );
    }

    #[test]
    fn client_accepts_unasked_no_context_takeover_flags() {
        assert_eq!(
            respond(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
                &DeflateConfig::default()
            ),
            Ok(Some(params(true, true, 15, 15)))
        );
    }

    #[test]
    fn client_rejects_two_permessage_deflate_elements() {
        let offered = DeflateConfig::default();
        assert_eq!(
            respond("permessage-deflate, permessage-deflate", &offered),
            Err(NegotiationError::DuplicateExtension)
        );
        assert_eq!(
            accept_response(["permessage-deflate", "permessage-deflate"], &offered),
            Err(NegotiationError::DuplicateExtension)
        );
    }

    #[test]
    fn client_rejects_other_extensions() {
        assert_eq!(
            respond("x-foo", &DeflateConfig::default()),
            Err(NegotiationError::NotOffered)
        );
        assert_eq!(
            accept_response(["permessage-deflate", "x-foo"], &DeflateConfig::default()),
            Err(NegotiationError::NotOffered)
        );
    }

    #[test]
    fn client_rejects_invalid_responses() {
        let offered = config(false, false, 15, 12);
        for (value, error) in [
            ("permessage-deflate;;", NegotiationError::Malformed),
            (
                "permessage-deflate; foo",
                NegotiationError::UnknownParameter,
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                NegotiationError::DuplicateParameter,
            ),
            (
                "permessage-deflate; client_no_context_takeover=1",
                NegotiationError::UnexpectedValue,
            ),
            (
                "permessage-deflate; server_max_window_bits",
                NegotiationError::MissingValue,
            ),
            (
                "permessage-deflate; server_max_window_bits=16",
                NegotiationError::InvalidValue,
            ),
            (
                "permessage-deflate; client_max_window_bits=07",
                NegotiationError::InvalidValue,
            ),
        ] {
            assert_eq!(respond(value, &offered), Err(error), "{value}");
        }
    }

    #[test]
    fn client_accepts_quoted_values_and_odd_spacing() {
        let offered = config(false, false, 12, 12);
        assert_eq!(
            respond(
                " PerMessage-Deflate ;server_max_window_bits = \"11\";client_max_window_bits=\"1\\0\" ",
                &offered
            ),
            Ok(Some(params(false, false, 11, 10)))
        );
    }

    #[test]
    fn negotiation_round_trips_for_every_config_pair() {
        let flags = [false, true];
        let windows = [8, 9, 12, 15];
        let mut configs = Vec::new();
        for snct in flags {
            for cnct in flags {
                for server in windows {
                    for client in windows {
                        configs.push(config(snct, cnct, server, client));
                    }
                }
            }
        }
        for client in &configs {
            let offer = offer_header(client);
            for policy in &configs {
                let agreed = negotiate([offer.as_str()], policy)
                    .unwrap_or_else(|| panic!("{client:?} / {policy:?}"));
                let response = response_header(&agreed);
                assert_eq!(
                    accept_response([response.as_str()], client),
                    Ok(Some(agreed)),
                    "{client:?} / {policy:?}: {response}"
                );
                assert!(agreed.server_max_window_bits <= client.server_max_window_bits);
                assert!(agreed.server_max_window_bits <= policy.server_max_window_bits);
                assert!(agreed.client_max_window_bits <= client.client_max_window_bits);
                assert_eq!(
                    agreed.server_no_context_takeover,
                    client.server_no_context_takeover || policy.server_no_context_takeover
                );
                assert_eq!(
                    agreed.client_no_context_takeover,
                    policy.client_no_context_takeover
                );
            }
        }
    }

    // --- DeflateParams accessors ---------------------------------------------

    #[test]
    fn each_role_compresses_with_its_own_window_and_decompresses_the_peers() {
        let p = params(true, false, 9, 12);
        assert_eq!(p.compress_window_bits(Role::Server), 9);
        assert_eq!(p.compress_window_bits(Role::Client), 12);
        assert_eq!(p.decompress_window_bits(Role::Server), 12);
        assert_eq!(p.decompress_window_bits(Role::Client), 9);
    }

    #[test]
    fn each_role_resets_per_its_own_flag_and_sees_the_peers() {
        let p = params(true, false, 15, 15);
        assert!(p.compress_no_context_takeover(Role::Server));
        assert!(!p.compress_no_context_takeover(Role::Client));
        assert!(!p.decompress_no_context_takeover(Role::Server));
        assert!(p.decompress_no_context_takeover(Role::Client));
    }

    #[test]
    fn errors_display_their_reason() {
        assert_eq!(
            std::format!("{}", NegotiationError::NotOffered),
            "extension not offered"
        );
    }
}
