//! Where to connect and how: URL resolution (loopback only), non-blocking
//! connects with an optional source address, and the spread of many
//! connections over several loopback source addresses.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};

use mio::net::TcpStream;
use socket2::{Domain, Protocol, Socket, Type};
use ws_proto::url::WsUrl;

/// The server under test: its address and what the upgrade request says.
#[derive(Debug, Clone)]
pub struct Target {
    /// The resolved loopback address.
    pub addr: SocketAddr,
    /// The `Host` header value. Leaked once per run so that the handshake
    /// parsers of every connection can borrow it for `'static`.
    pub host_header: &'static str,
    /// The request target (path and query).
    pub path: &'static str,
    /// The URL as given.
    pub url: String,
}

impl Target {
    /// Parse a `ws://` URL and resolve its host to a loopback address;
    /// anything else is refused: these tools only load this machine.
    pub fn from_url(url: &str) -> Result<Target, String> {
        let parsed = WsUrl::parse(url).map_err(|e| e.to_string())?;
        if parsed.secure {
            return Err(format!("{url}: wss:// is not supported here; use ws://"));
        }
        let addrs: Vec<SocketAddr> = (parsed.host.as_str(), parsed.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", parsed.host))?
            .collect();
        let addr = addrs
            .iter()
            .find(|a| a.is_ipv4() && a.ip().is_loopback())
            .or_else(|| addrs.iter().find(|a| a.ip().is_loopback()))
            .copied()
            .ok_or_else(|| {
                format!(
                    "{url}: {} is not a loopback address; ws-bench only loads this machine",
                    parsed.host
                )
            })?;
        Ok(Target {
            addr,
            host_header: Box::leak(parsed.host_header().into_boxed_str()),
            path: Box::leak(parsed.path.into_boxed_str()),
            url: url.to_owned(),
        })
    }
}

/// Start a non-blocking TCP connect to `addr`, from `source` (port chosen
/// by the kernel) if given, with TCP_NODELAY set. The connection is
/// established once [`connect_finished`] says so.
pub fn connect(addr: SocketAddr, source: Option<IpAddr>) -> io::Result<TcpStream> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    socket.set_tcp_nodelay(true)?;
    if let Some(ip) = source {
        socket.bind(&SocketAddr::new(ip, 0).into())?;
    }
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(err) => return Err(err),
    }
    Ok(TcpStream::from_std(socket.into()))
}

/// Whether a connect started by [`connect`] has completed: `Ok(false)`
/// while it is in progress, the error if it failed.
pub fn connect_finished(stream: &TcpStream) -> io::Result<bool> {
    if let Some(err) = stream.take_error()? {
        return Err(err);
    }
    match stream.peer_addr() {
        Ok(_) => Ok(true),
        Err(err) if err.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(err) if err.raw_os_error() == Some(libc::EINPROGRESS) => Ok(false),
        Err(err) => Err(err),
    }
}

/// Which loopback source address each connection binds to.
///
/// Without a bind the kernel picks a port per (source, destination) pair,
/// so one source address reaches about as many connections to one server
/// as the ephemeral port range has ports. Past 90 % of that, connections
/// are spread over 127.0.0.1, 127.0.0.2, … with that many on each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePlan {
    per_source: usize,
    sources: usize,
}

impl SourcePlan {
    /// Most loopback source addresses used (127.0.0.1 to 127.0.0.254).
    pub const MAX_SOURCES: usize = 254;

    /// The plan for `connections` connections to `target` when the
    /// ephemeral port range holds `ports` ports.
    pub fn new(connections: usize, target: SocketAddr, ports: usize) -> Result<SourcePlan, String> {
        let per_source = (ports * 9 / 10).max(1);
        if connections <= per_source {
            return Ok(SourcePlan {
                per_source,
                sources: 0,
            });
        }
        if !(target.is_ipv4() && target.ip().is_loopback()) {
            return Err(format!(
                "{connections} connections need several source addresses, \
                 which only works for an IPv4 loopback target"
            ));
        }
        let sources = connections.div_ceil(per_source);
        if sources > Self::MAX_SOURCES {
            return Err(format!(
                "{connections} connections need {sources} source addresses of \
                 {per_source} connections each; at most {} are used",
                Self::MAX_SOURCES
            ));
        }
        Ok(SourcePlan {
            per_source,
            sources,
        })
    }

    /// Number of source addresses bound to; 0 when the kernel chooses.
    pub fn sources(&self) -> usize {
        self.sources
    }

    /// The source address of the `index`-th connection (0-based).
    pub fn source_for(&self, index: usize) -> Option<IpAddr> {
        if self.sources == 0 {
            return None;
        }
        let n = (index / self.per_source).min(self.sources - 1) as u8 + 1;
        Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)))
    }
}

/// Whether an error is "too many open files" (ours, EMFILE, or the
/// system's, ENFILE).
pub fn is_out_of_files(err: &io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Whether a readiness event signalled the peer's end of stream or a
/// socket error. Neither raises a new edge once signalled, so a connection
/// that saw one must read until `WouldBlock` or the end, short reads or
/// not (see [`may_have_more`]); the flag stays set for later retries.
pub(crate) fn end_signalled(event: &mio::event::Event) -> bool {
    event.is_read_closed() || event.is_error()
}

/// Whether a TCP stream that gave `read` bytes to a read of `asked` bytes
/// may hold more data, so that the caller reads again.
///
/// On Linux a short read from a stream socket means its receive queue was
/// emptied, and data arriving later raises a new edge-triggered event
/// (epoll(7) says so for stream sockets): the read that would only return
/// `WouldBlock` is skipped, one system call less per message. An end of
/// stream or error already signalled raises no new event: a connection
/// whose event said so ([`end_signalled`], sticky per connection) passes
/// `end_signalled` and reads on. Elsewhere mio's rule holds: read until
/// `WouldBlock`.
pub(crate) fn may_have_more(read: usize, asked: usize, end_signalled: bool) -> bool {
    end_signalled || !cfg!(target_os = "linux") || read == asked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn url_must_be_loopback() {
        let t = Target::from_url("ws://127.0.0.1:9001/echo?x=1").unwrap();
        assert_eq!(t.addr, v4(9001));
        assert_eq!(t.host_header, "127.0.0.1:9001");
        assert_eq!(t.path, "/echo?x=1");
        assert!(Target::from_url("ws://localhost:9001")
            .unwrap()
            .addr
            .ip()
            .is_loopback());
        assert!(Target::from_url("ws://[::1]:9001")
            .unwrap()
            .addr
            .ip()
            .is_loopback());
        assert!(Target::from_url("ws://10.0.0.1:9001").is_err());
        assert!(Target::from_url("ws://192.168.1.1").is_err());
        assert!(Target::from_url("http://127.0.0.1").is_err());
    }

    #[test]
    fn few_connections_need_no_bind() {
        let plan = SourcePlan::new(25_000, v4(1), 28_232).unwrap();
        assert_eq!(plan.sources(), 0);
        assert_eq!(plan.source_for(24_999), None);
    }

    #[test]
    fn many_connections_spread_over_sources() {
        let plan = SourcePlan::new(60_000, v4(1), 28_232).unwrap();
        // 25_408 per source: three sources.
        assert_eq!(plan.sources(), 3);
        let ip = |n| Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)));
        assert_eq!(plan.source_for(0), ip(1));
        assert_eq!(plan.source_for(25_407), ip(1));
        assert_eq!(plan.source_for(25_408), ip(2));
        assert_eq!(plan.source_for(59_999), ip(3));
    }

    #[test]
    fn connects_from_the_planned_source_address() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let stream = connect(listener.local_addr().unwrap(), Some(source)).unwrap();
        let (_accepted, peer) = listener.accept().unwrap();
        assert_eq!(peer.ip(), source);
        // The handshake is done once accept returned; the client sees it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !connect_finished(&stream).unwrap() {
            assert!(
                std::time::Instant::now() < deadline,
                "connect never finished"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(stream.local_addr().unwrap().ip(), source);
    }

    #[test]
    fn short_reads_end_reading_on_linux_unless_the_end_was_signalled() {
        assert!(may_have_more(10, 10, false));
        assert!(may_have_more(3, 10, true));
        assert_eq!(may_have_more(3, 10, false), !cfg!(target_os = "linux"));
    }

    #[test]
    fn impossible_plans_are_refused() {
        let v6 = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 1));
        assert!(SourcePlan::new(60_000, v6, 28_232).is_err());
        assert!(SourcePlan::new(10_000_000, v4(1), 28_232).is_err());
    }
}
