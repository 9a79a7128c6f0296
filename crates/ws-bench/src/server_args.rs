//! What every echo server of the comparison shares: its command line
//! (`ADDR [--max-seconds S]`) and a watchdog that ends the process after
//! `S` seconds, so that a server left behind by an interrupted run stops by
//! itself.

use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser};

/// Address used when none is given.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9010";
/// Default lifetime of a comparison server.
pub const DEFAULT_MAX_SECONDS: u64 = 3600;
/// Connections a comparison server accepts before it stops accepting.
pub const MAX_ACCEPTS: usize = 1_000_000;

/// The command line of a comparison echo server.
#[derive(Debug, Clone, PartialEq, Eq, Parser)]
#[command(
    about = "Echo server for the side-by-side comparison: prints `listening on ws://ADDR` \
             when ready and exits by itself after --max-seconds",
    long_about = None
)]
pub struct ServerArgs {
    /// Where to listen; must be a loopback IP:PORT address.
    #[arg(value_name = "ADDR", default_value = DEFAULT_ADDR, value_parser = loopback_addr)]
    pub addr: String,
    /// Lifetime of the process, seconds.
    #[arg(long, value_name = "S", default_value_t = DEFAULT_MAX_SECONDS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_seconds: u64,
}

/// An `IP:PORT` address on loopback, kept as written.
fn loopback_addr(addr: &str) -> Result<String, String> {
    let parsed: std::net::SocketAddr = addr
        .parse()
        .map_err(|_| format!("{addr:?} is not an IP:PORT address"))?;
    if !parsed.ip().is_loopback() {
        return Err(format!(
            "{addr}: comparison servers listen on loopback only"
        ));
    }
    Ok(addr.to_owned())
}

impl ServerArgs {
    /// Parse `std::env::args()` for the server called `name`; on bad
    /// arguments print the error and usage and exit 2, on `--help` print
    /// the help and exit 0.
    pub fn from_env(name: &'static str) -> ServerArgs {
        let matches = ServerArgs::command().name(name).get_matches();
        ServerArgs::from_arg_matches(&matches).unwrap_or_else(|err| err.exit())
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
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<ServerArgs, clap::Error> {
        ServerArgs::try_parse_from(std::iter::once("server").chain(args.iter().copied()))
    }

    #[test]
    fn definition_is_consistent() {
        ServerArgs::command().debug_assert();
    }

    #[test]
    fn defaults_and_options() {
        assert_eq!(
            parse(&[]).unwrap(),
            ServerArgs {
                addr: DEFAULT_ADDR.into(),
                max_seconds: DEFAULT_MAX_SECONDS
            }
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
        let help = parse(&["--help"]).unwrap_err();
        assert_eq!(help.kind(), ErrorKind::DisplayHelp);
    }
}
