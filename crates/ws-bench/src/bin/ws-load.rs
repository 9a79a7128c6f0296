//! `ws-load`: WebSocket echo load generator. See `ws-load --help`.

use std::process::ExitCode;

use clap::Parser;
use ws_bench::args::LoadArgs;
use ws_bench::load::{self, EXIT_FAILURE};

fn main() -> ExitCode {
    // Bad arguments exit with status 2 (EXIT_USAGE), --help with 0.
    let args = LoadArgs::parse();
    match load::run(&args) {
        Ok(report) => {
            if args.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            exit(report.exit_code())
        }
        Err(err) => {
            eprintln!("ws-load: {err}");
            exit(EXIT_FAILURE)
        }
    }
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
