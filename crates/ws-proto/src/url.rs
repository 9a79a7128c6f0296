//! `ws://` and `wss://` URLs (RFC 6455 section 3), feature `alloc`.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::String;

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlError(pub String);

impl core::fmt::Display for UrlError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "invalid URL: {}", self.0)
    }
}

impl core::error::Error for UrlError {}

/// A parsed `ws://` or `wss://` URL.
///
/// `#[non_exhaustive]`: made by [`parse`](Self::parse) only. A transport
/// that cannot speak TLS must refuse a URL whose [`secure`](Self::secure)
/// is set rather than connect in plain text to its port.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WsUrl {
    /// Host name or IP address (an IPv6 address without brackets).
    pub host: String,
    /// Port (80 for `ws://` and 443 for `wss://` when the URL gives none).
    pub port: u16,
    /// Request target: path and query, at least `/`.
    pub path: String,
    /// `wss://`: the WebSocket runs over TLS (RFC 6455 section 3).
    pub secure: bool,
}

impl WsUrl {
    /// Parse `ws://host[:port][/path][?query]`, or the same with `wss://`
    /// (the scheme in any case).
    pub fn parse(url: &str) -> Result<WsUrl, UrlError> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad(url, "no scheme"))?;
        let secure = if scheme.eq_ignore_ascii_case("ws") {
            false
        } else if scheme.eq_ignore_ascii_case("wss") {
            true
        } else {
            return Err(bad(url, "only ws:// and wss:// are supported"));
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err(bad(url, "user information is not supported"));
        }
        let (host, port) =
            split_host_port(authority).ok_or_else(|| bad(url, "bad host or port"))?;
        if host.is_empty() {
            return Err(bad(url, "no host"));
        }
        let target = target.split('#').next().unwrap_or("");
        let path = match target {
            "" => "/".to_owned(),
            query if query.starts_with('?') => format!("/{query}"),
            path => path.to_owned(),
        };
        if path.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(bad(url, "control characters or spaces in the path"));
        }
        Ok(WsUrl {
            host: host.to_owned(),
            port: port.unwrap_or(if secure { 443 } else { 80 }),
            path,
            secure,
        })
    }

    /// The port the scheme implies when the URL gives none: 443 for
    /// `wss://`, 80 for `ws://`.
    pub fn default_port(&self) -> u16 {
        if self.secure {
            443
        } else {
            80
        }
    }

    /// The `Host` header value: the host (bracketed if IPv6), with the port
    /// unless it is the scheme's default (RFC 6455 section 4.1).
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == self.default_port() {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Split `host[:port]` or `[v6]:port`; `None` if malformed.
fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            _ => Some((host, Some(after.strip_prefix(':')?.parse().ok()?))),
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port.parse().ok()?))),
        Some(_) => None,
        None => Some((authority, None)),
    }
}

fn bad(url: &str, why: &str) -> UrlError {
    UrlError(format!("{url:?}: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_port_is_80_and_path_is_slash() {
        let url = WsUrl::parse("ws://example.com").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.path.as_str()),
            ("example.com", 80, "/")
        );
        assert_eq!(url.host_header(), "example.com");
    }

    #[test]
    fn port_path_and_query_are_kept() {
        let url = WsUrl::parse("ws://127.0.0.1:9001/runCase?case=3&agent=x#frag").unwrap();
        assert_eq!(url.port, 9001);
        assert_eq!(url.path, "/runCase?case=3&agent=x");
        assert_eq!(url.host_header(), "127.0.0.1:9001");
    }

    #[test]
    fn query_without_path_gets_a_slash() {
        assert_eq!(WsUrl::parse("ws://h?x=1").unwrap().path, "/?x=1");
    }

    #[test]
    fn ipv6_literals_are_unbracketed_for_connecting() {
        let url = WsUrl::parse("ws://[::1]:9001/chat").unwrap();
        assert_eq!(url.host, "::1");
        assert_eq!(url.host_header(), "[::1]:9001");
        assert_eq!(WsUrl::parse("ws://[::1]").unwrap().port, 80);
    }

    #[test]
    fn wss_defaults_to_port_443_and_says_it_is_secure() {
        let url = WsUrl::parse("WSS://example.com/feed").unwrap();
        assert!(url.secure);
        assert_eq!((url.port, url.path.as_str()), (443, "/feed"));
        assert_eq!(url.host_header(), "example.com");
        let url = WsUrl::parse("wss://example.com:80/").unwrap();
        assert_eq!(url.host_header(), "example.com:80");
        assert!(!WsUrl::parse("ws://example.com:443/").unwrap().secure);
        assert_eq!(
            WsUrl::parse("ws://example.com:443/").unwrap().host_header(),
            "example.com:443"
        );
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in [
            "http://x",
            "wsx://x",
            "ws://",
            "ws://host:port",
            "ws://[::1",
            "ws://a:b:c",
            "ws://u@h",
            "ws://h/a b",
        ] {
            assert!(WsUrl::parse(url).is_err(), "{url}");
        }
    }
}
