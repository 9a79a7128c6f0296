//! `compare-report FILE`: the markdown tables of `compare.sh` from its
//! tab-separated run log (see `ws_bench::report`). `-` reads stdin.

use std::io::Read;
use std::process::ExitCode;

use clap::Parser;
use ws_bench::report::{parse_line, render};

/// compare-report: the markdown tables of compare.sh from its run log
#[derive(Parser)]
#[command(name = "compare-report")]
struct Cli {
    /// compare.sh's tab-separated run log; - reads stdin
    #[arg(value_name = "RUNS.tsv")]
    path: String,
}

fn main() -> ExitCode {
    // Bad arguments exit with status 2, --help with 0.
    let Cli { path } = Cli::parse();
    let path = &path;
    let mut text = String::new();
    let read = if path == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    if let Err(err) = read {
        eprintln!("compare-report: {path}: {err}");
        return ExitCode::from(1);
    }
    let mut runs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        match parse_line(line) {
            Ok(Some(run)) => runs.push(run),
            Ok(None) => {}
            Err(err) => eprintln!("compare-report: {path}:{}: {err} (skipped)", n + 1),
        }
    }
    if runs.is_empty() {
        eprintln!("compare-report: {path}: no runs");
        return ExitCode::from(1);
    }
    print!("{}", render(&runs));
    ExitCode::SUCCESS
}
