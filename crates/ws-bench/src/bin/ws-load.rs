//! `ws-load`: WebSocket echo load generator. See `ws-load --help`.

use std::process::ExitCode;

use ws_bench::args::{LoadArgs, Parsed, LOAD_HELP};
use ws_bench::load::{self, EXIT_FAILURE, EXIT_USAGE};

fn main() -> ExitCode {
    let args = match LoadArgs::parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => {
            print!("{LOAD_HELP}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("ws-load: {err}");
            return exit(EXIT_USAGE);
        }
    };
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
