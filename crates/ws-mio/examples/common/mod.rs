//! What the example servers share: `[ADDR] [--threads N]` on the command
//! line, a server of N loops (default: one per core), and SIGINT/SIGTERM
//! closing every connection with 1001 before the process exits.

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
    let (addr, threads) = match parse_args(name, default_addr, std::env::args().skip(1)) {
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
    println!("listening on ws://{}", server.local_addr());
    if let Err(err) = server.run(new_handler) {
        eprintln!("{name}: {err}");
        std::process::exit(1);
    }
}

fn parse_args(
    name: &str,
    default_addr: &str,
    args: impl Iterator<Item = String>,
) -> Result<(String, Option<usize>), String> {
    let usage = format!("usage: {name} [ADDR] [--threads N]   (ADDR defaults to {default_addr})");
    let mut addr = default_addr.to_owned();
    let mut threads = None;
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => {
                let n = args.next().and_then(|n| n.parse().ok());
                threads = Some(n.ok_or_else(|| usage.clone())?);
            }
            "-h" | "--help" => return Err(usage),
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}\n{usage}")),
            _ => addr = arg,
        }
    }
    Ok((addr, threads))
}
