//! What every echo server of the comparison shares: its command line
//! (`ADDR [--max-seconds S]`) and a watchdog that ends the process after
//! `S` seconds, so that a server left behind by an interrupted run stops by
//! itself.

use std::time::Duration;

/// Address used when none is given.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9010";
/// Default lifetime of a comparison server.
pub const DEFAULT_MAX_SECONDS: u64 = 3600;
/// Connections a comparison server accepts before it stops accepting.
pub const MAX_ACCEPTS: usize = 1_000_000;

/// The command line of a comparison echo server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerArgs {
    /// Where to listen; must be a loopback address.
    pub addr: String,
    /// Lifetime of the process.
    pub max_seconds: u64,
}

/// Usage line for a server called `name`.
pub fn usage(name: &str) -> String {
    format!(
        "usage: {name} [ADDR] [--max-seconds S]\n\
         Echo server for the side-by-side comparison. ADDR (default {DEFAULT_ADDR}) must be \
         a loopback address; prints `listening on ws://ADDR` when ready and exits by itself \
         after S seconds (default {DEFAULT_MAX_SECONDS})."
    )
}

impl ServerArgs {
    /// Parse the arguments after the program name.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<ServerArgs, String> {
        let mut addr = None;
        let mut max_seconds = DEFAULT_MAX_SECONDS;
        let mut args = args.into_iter();
        // Each pass consumes at least one argument.
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--max-seconds" => {
                    let value = args.next().ok_or("--max-seconds needs a value")?;
                    max_seconds = value.parse().ok().filter(|&s| s > 0).ok_or_else(|| {
                        format!("--max-seconds: {value:?} is not a whole number > 0")
                    })?;
                }
                "-h" | "--help" => return Err(String::new()),
                other if other.starts_with('-') => return Err(format!("unknown option {other}")),
                other if addr.is_none() => addr = Some(other.to_owned()),
                other => return Err(format!("unexpected argument {other:?}")),
            }
        }
        let addr = addr.unwrap_or_else(|| DEFAULT_ADDR.to_owned());
        let parsed: std::net::SocketAddr = addr
            .parse()
            .map_err(|_| format!("{addr:?} is not an IP:PORT address"))?;
        if !parsed.ip().is_loopback() {
            return Err(format!(
                "{addr}: comparison servers listen on loopback only"
            ));
        }
        Ok(ServerArgs { addr, max_seconds })
    }

    /// Parse `std::env::args()`, or print the usage and exit 2.
    pub fn from_env(name: &str) -> ServerArgs {
        match ServerArgs::parse(std::env::args().skip(1)) {
            Ok(args) => args,
            Err(err) => {
                if !err.is_empty() {
                    eprintln!("{name}: {err}");
                }
                eprintln!("{}", usage(name));
                std::process::exit(2);
            }
        }
    }

    /// Start the watchdog thread that exits the process after
    /// `max_seconds`.
    pub fn start_watchdog(&self, name: &'static str) {
        let limit = Duration::from_secs(self.max_seconds);
        std::thread::spawn(move || {
            std::thread::sleep(limit);
            eprintln!("{name}: {} s are up, exiting", limit.as_secs());
            std::process::exit(0);
        });
    }

    /// Bind a blocking std listener on `addr` and print the `listening on`
    /// line compare.sh waits for; exit 1 if the address cannot be bound.
    pub fn bind_blocking(&self, name: &str) -> std::net::TcpListener {
        let listener = match std::net::TcpListener::bind(&self.addr) {
            Ok(listener) => listener,
            Err(err) => {
                eprintln!("{name}: cannot listen on {}: {err}", self.addr);
                std::process::exit(1);
            }
        };
        match listener.local_addr() {
            Ok(local) => println!("listening on ws://{local}"),
            Err(err) => eprintln!("{name}: {err}"),
        }
        listener
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ServerArgs, String> {
        ServerArgs::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_and_options() {
        assert_eq!(
            parse(&[]),
            Ok(ServerArgs {
                addr: DEFAULT_ADDR.into(),
                max_seconds: DEFAULT_MAX_SECONDS
            })
        );
        let args = parse(&["127.0.0.1:1234", "--max-seconds", "60"]).unwrap();
        assert_eq!(args.addr, "127.0.0.1:1234");
        assert_eq!(args.max_seconds, 60);
        assert_eq!(parse(&["[::1]:80"]).unwrap().addr, "[::1]:80");
    }

    #[test]
    fn refusals() {
        for bad in [
            &["10.0.0.1:80"][..],
            &["0.0.0.0:80"],
            &["localhost"],
            &["127.0.0.1:1", "127.0.0.1:2"],
            &["--max-seconds"],
            &["--max-seconds", "0"],
            &["--bogus"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse(&["--help"]), Err(String::new()));
    }
}
