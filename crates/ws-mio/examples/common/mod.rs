//! What the example servers share: `[ADDR] [--threads N] [--tls-cert FILE
//! --tls-key FILE]` on the command line, a server of N loops (default:
//! one per core), `wss://` with a PEM certificate chain and key, and
//! SIGINT/SIGTERM closing every connection with 1001 before the process
//! exits.

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use ws_mio::{Handler, Server};

/// Serve `new_handler()` on every loop, with the address and loop count
/// from the command line; exits the process on a usage or socket error.
pub fn serve_from_args<H, F>(name: &str, default_addr: &str, new_handler: F)
where
    H: Handler,
    F: Fn() -> H + Send + Sync + 'static,
{
    let Args { addr, threads, tls } = match parse_args(name, default_addr, std::env::args().skip(1))
    {
        Ok(args) => args,
        Err(usage) => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    };
    let server = match Server::bind(addr.as_str()) {
        Ok(server) => server,
        Err(err) => {
            eprintln!("{name}: cannot listen on {addr}: {err}");
            std::process::exit(1);
        }
    };
    let server = match threads {
        Some(n) => server.threads(n),
        None => server,
    };
    let (server, scheme) = match tls {
        Some((cert, key)) => (with_tls(name, server, &cert, &key), "wss"),
        None => (server, "ws"),
    };
    let shutdown = server.shutdown_handle();
    match Signals::new([SIGINT, SIGTERM]) {
        Ok(mut signals) => {
            std::thread::spawn(move || {
                if signals.forever().next().is_some() {
                    shutdown.shutdown();
                }
            });
        }
        Err(err) => eprintln!("{name}: no signal handling ({err}); stop it with SIGKILL"),
    }
    println!("listening on {scheme}://{}", server.local_addr());
    if let Err(err) = server.run(new_handler) {
        eprintln!("{name}: {err}");
        std::process::exit(1);
    }
}

/// Serve `wss://` with the certificate chain and key in these PEM files;
/// exits the process if they cannot be read or used.
#[cfg(feature = "tls")]
fn with_tls(name: &str, server: Server, cert: &str, key: &str) -> Server {
    let read = |path: &str| {
        std::fs::read(path).unwrap_or_else(|err| {
            eprintln!("{name}: cannot read {path}: {err}");
            std::process::exit(1);
        })
    };
    match ws_mio::tls::server_config(&read(cert), &read(key)) {
        Ok(tls) => server.tls(tls),
        Err(err) => {
            eprintln!("{name}: {cert}, {key}: {err}");
            std::process::exit(1);
        }
    }
}

#[cfg(not(feature = "tls"))]
fn with_tls(name: &str, _: Server, _: &str, _: &str) -> Server {
    eprintln!("{name}: built without ws-mio's feature tls");
    std::process::exit(1);
}

/// The command line.
struct Args {
    addr: String,
    threads: Option<usize>,
    /// A PEM certificate chain and its key: serve `wss://`.
    tls: Option<(String, String)>,
}

fn parse_args(
    name: &str,
    default_addr: &str,
    args: impl Iterator<Item = String>,
) -> Result<Args, String> {
    let usage = format!(
        "usage: {name} [ADDR] [--threads N] [--tls-cert FILE --tls-key FILE]   \
         (ADDR defaults to {default_addr})"
    );
    let mut addr = default_addr.to_owned();
    let mut threads = None;
    let (mut cert, mut key) = (None, None);
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => {
                let n = args.next().and_then(|n| n.parse().ok());
                threads = Some(n.ok_or_else(|| usage.clone())?);
            }
            "--tls-cert" => cert = Some(args.next().ok_or_else(|| usage.clone())?),
            "--tls-key" => key = Some(args.next().ok_or_else(|| usage.clone())?),
            "-h" | "--help" => return Err(usage),
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}\n{usage}")),
            _ => addr = arg,
        }
    }
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => return Err(format!("--tls-cert and --tls-key go together\n{usage}")),
    };
    Ok(Args { addr, threads, tls })
}
