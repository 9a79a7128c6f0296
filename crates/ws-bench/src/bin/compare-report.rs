//! `compare-report FILE`: the markdown tables of `compare.sh` from its
//! tab-separated run log (see `ws_bench::report`). `-` reads stdin.

use std::io::Read;
use std::process::ExitCode;

use ws_bench::report::{parse_line, render};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path] = &args[..] else {
        eprintln!("usage: compare-report RUNS.tsv   (- for stdin)");
        return ExitCode::from(2);
    };
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
