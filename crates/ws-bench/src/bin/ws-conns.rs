//! `ws-conns`: server memory per WebSocket connection. See `ws-conns --help`.

use std::process::ExitCode;

use ws_bench::args::{ConnsArgs, Parsed, CONNS_HELP};
use ws_bench::conns;
use ws_bench::load::{EXIT_FAILURE, EXIT_USAGE};

fn main() -> ExitCode {
    let args = match ConnsArgs::parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => {
            print!("{CONNS_HELP}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("ws-conns: {err}");
            return exit(EXIT_USAGE);
        }
    };
    match conns::run(&args) {
        Ok(code) => exit(code),
        Err(err) => {
            eprintln!("ws-conns: {err}");
            exit(EXIT_FAILURE)
        }
    }
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
