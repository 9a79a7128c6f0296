//! The tables of the side-by-side comparison (`compare.sh`), from the
//! `ws-load --json` lines of its runs.
//!
//! Input: one run per line, tab-separated: scenario, server, kind (`ours`,
//! `peer`, `raw` or `raw-blocking`), repetition, ws-load's exit status,
//! ws-load's JSON line (`{}` when it printed none). Output: per scenario a
//! markdown table of medians (with the min–max spread of msg/s) per server,
//! its ratio to the best peer and to raw TCP (the `raw` server: plain TCP
//! echo on one event-loop thread), and messages per server CPU second; then
//! a summary of msg/s medians, scenario × server; then, for our servers,
//! the ratios to the best peer and to raw TCP, plain and paired by
//! repetition, and, when the runs hold a `raw-blocking` server (plain TCP
//! echo, a thread per connection: the limit of that model), the ratios to
//! it as well.

use std::fmt::Write as _;

/// What a server is, for the ratios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One of this project's servers.
    Ours,
    /// Another project's server.
    Peer,
    /// The plain TCP echo (no WebSocket) on one event-loop thread: the
    /// base of the "vs raw TCP" ratios.
    Raw,
    /// The plain TCP echo (no WebSocket) with a blocking thread per
    /// connection: the limit of the thread-per-connection model.
    RawBlocking,
}

impl Kind {
    fn parse(text: &str) -> Option<Kind> {
        match text {
            "ours" => Some(Kind::Ours),
            "peer" => Some(Kind::Peer),
            "raw" => Some(Kind::Raw),
            "raw-blocking" => Some(Kind::RawBlocking),
            _ => None,
        }
    }
}

/// One run of ws-load.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Scenario label.
    pub scenario: String,
    /// Server label.
    pub server: String,
    /// What the server is.
    pub kind: Kind,
    /// Repetition label: runs of one repetition ran back to back, so
    /// their ratios share the machine's conditions.
    pub rep: String,
    /// ws-load's exit status (0 = clean).
    pub exit: i32,
    /// Echoes per second.
    pub msgs_per_s: Option<f64>,
    /// Payload MB per second.
    pub mb_per_s: Option<f64>,
    /// Median latency, µs.
    pub p50_us: Option<f64>,
    /// 99th percentile latency, µs.
    pub p99_us: Option<f64>,
    /// Server CPU seconds in the window.
    pub server_cpu_s: Option<f64>,
    /// Client CPU seconds in the window.
    pub client_cpu_s: Option<f64>,
    /// Measured window, seconds.
    pub duration_s: Option<f64>,
    /// Echoes per server CPU second.
    pub msgs_per_cpu_s: Option<f64>,
}

impl Run {
    /// Whether the run counts: clean exit and a throughput figure.
    pub fn ok(&self) -> bool {
        self.exit == 0 && self.msgs_per_s.is_some()
    }
}

/// The `key: raw value` pairs of a flat JSON object (numbers, `null`,
/// booleans and strings; strings are returned unescaped only as far as
/// `\"` and `\\` go, which is all ws-load writes in its keys).
pub fn flat_json(text: &str) -> Result<Vec<(String, String)>, String> {
    let bytes = text.trim().as_bytes();
    if bytes.first() != Some(&b'{') || bytes.last() != Some(&b'}') {
        return Err("not a JSON object".into());
    }
    let body = &bytes[1..bytes.len() - 1];
    let mut pairs = Vec::new();
    let mut at = 0;
    // Each pass consumes at least one pair or ends.
    while at < body.len() {
        at = skip_ws(body, at);
        if at >= body.len() {
            break;
        }
        let (key, next) = read_string(body, at)?;
        at = skip_ws(body, next);
        if body.get(at) != Some(&b':') {
            return Err(format!("expected ':' after {key:?}"));
        }
        at = skip_ws(body, at + 1);
        let (value, next) = if body.get(at) == Some(&b'"') {
            read_string(body, at)?
        } else {
            let end = body[at..]
                .iter()
                .position(|&b| b == b',')
                .map_or(body.len(), |p| at + p);
            let value = std::str::from_utf8(&body[at..end])
                .map_err(|_| "bad UTF-8".to_string())?
                .trim()
                .to_owned();
            (value, end)
        };
        pairs.push((key, value));
        at = skip_ws(body, next);
        match body.get(at) {
            None => break,
            Some(b',') => at += 1,
            Some(other) => return Err(format!("unexpected {:?}", *other as char)),
        }
    }
    Ok(pairs)
}

fn skip_ws(body: &[u8], mut at: usize) -> usize {
    while body.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// A JSON string starting at `at` (the quote); returns it and the index
/// after the closing quote.
fn read_string(body: &[u8], at: usize) -> Result<(String, usize), String> {
    if body.get(at) != Some(&b'"') {
        return Err("expected a string".into());
    }
    let mut out = Vec::new();
    let mut i = at + 1;
    while i < body.len() {
        match body[i] {
            b'"' => {
                let text = String::from_utf8(out).map_err(|_| "bad UTF-8".to_string())?;
                return Ok((text, i + 1));
            }
            b'\\' if i + 1 < body.len() => {
                out.push(body[i + 1]);
                i += 2;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Err("unterminated string".into())
}

/// Parse one input line; `Ok(None)` for blank lines and `#` comments.
pub fn parse_line(line: &str) -> Result<Option<Run>, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let fields: Vec<&str> = line.splitn(6, '\t').collect();
    let [scenario, server, kind, rep, exit, json] = fields[..] else {
        return Err(format!("expected 6 tab-separated fields: {line:?}"));
    };
    let kind = Kind::parse(kind).ok_or_else(|| format!("unknown kind {kind:?}"))?;
    let exit = exit
        .trim()
        .parse()
        .map_err(|_| format!("bad exit status {exit:?}"))?;
    let pairs = flat_json(json)?;
    let number = |name: &str| -> Option<f64> {
        pairs
            .iter()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| value.parse::<f64>().ok())
            .filter(|v| v.is_finite())
    };
    Ok(Some(Run {
        scenario: scenario.to_owned(),
        server: server.to_owned(),
        kind,
        rep: rep.to_owned(),
        exit,
        msgs_per_s: number("msgs_per_s"),
        mb_per_s: number("mb_per_s"),
        p50_us: number("p50_us"),
        p99_us: number("p99_us"),
        server_cpu_s: number("server_cpu_s"),
        client_cpu_s: number("client_cpu_s"),
        duration_s: number("duration_s"),
        msgs_per_cpu_s: number("msgs_per_server_cpu_s"),
    }))
}

/// The median of some values (the mean of the middle two for an even
/// count); `None` for none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

/// Medians of one server in one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Server label.
    pub server: String,
    /// What the server is.
    pub kind: Kind,
    /// Runs in all.
    pub runs: usize,
    /// Clean runs (the medians are over these).
    pub ok: usize,
    /// Median msg/s.
    pub msgs: Option<f64>,
    /// Lowest and highest msg/s.
    pub spread: Option<(f64, f64)>,
    /// Median MB/s.
    pub mb: Option<f64>,
    /// Median p50, µs.
    pub p50: Option<f64>,
    /// Median p99, µs.
    pub p99: Option<f64>,
    /// Median server CPU, percent of one core.
    pub server_cpu_pct: Option<f64>,
    /// Median client CPU, percent of one core.
    pub client_cpu_pct: Option<f64>,
    /// Median msg per server CPU second.
    pub msgs_per_cpu: Option<f64>,
}

fn summarize(server: &str, runs: &[&Run]) -> Summary {
    let ok: Vec<&&Run> = runs.iter().filter(|r| r.ok()).collect();
    let take = |f: &dyn Fn(&Run) -> Option<f64>| -> Option<f64> {
        median(&ok.iter().filter_map(|r| f(r)).collect::<Vec<_>>())
    };
    let msgs: Vec<f64> = ok.iter().filter_map(|r| r.msgs_per_s).collect();
    let pct = |cpu: Option<f64>, window: Option<f64>| -> Option<f64> {
        Some(100.0 * cpu? / window.filter(|&w| w > 0.0)?)
    };
    Summary {
        server: server.to_owned(),
        kind: runs.first().map_or(Kind::Peer, |r| r.kind),
        runs: runs.len(),
        ok: ok.len(),
        msgs: median(&msgs),
        spread: msgs
            .iter()
            .copied()
            .fold(None, |acc: Option<(f64, f64)>, v| {
                Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
            }),
        mb: take(&|r| r.mb_per_s),
        p50: take(&|r| r.p50_us),
        p99: take(&|r| r.p99_us),
        server_cpu_pct: take(&|r| pct(r.server_cpu_s, r.duration_s)),
        client_cpu_pct: take(&|r| pct(r.client_cpu_s, r.duration_s)),
        msgs_per_cpu: take(&|r| r.msgs_per_cpu_s),
    }
}

/// Labels in order of first appearance.
fn ordered<'a>(runs: &'a [Run], label: impl Fn(&'a Run) -> &'a str) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for run in runs {
        let name = label(run);
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// The summaries of one scenario, servers in order of appearance.
pub fn scenario_summaries(runs: &[Run], scenario: &str) -> Vec<Summary> {
    ordered(runs, |r| r.server.as_str())
        .into_iter()
        .filter_map(|server| {
            let mine: Vec<&Run> = runs
                .iter()
                .filter(|r| r.scenario == scenario && r.server == server)
                .collect();
            (!mine.is_empty()).then(|| summarize(server, &mine))
        })
        .collect()
}

/// The median over repetitions of `server`'s msg/s divided by `base`'s in
/// the same repetition (clean runs only): robust to the machine's load
/// drifting between repetitions, which moves both alike.
pub fn paired_ratio(runs: &[Run], scenario: &str, server: &str, base: &str) -> Option<f64> {
    let clean = |name: &str, rep: &str| {
        runs.iter()
            .find(|r| r.scenario == scenario && r.server == name && r.rep == rep && r.ok())
            .and_then(|r| r.msgs_per_s)
    };
    let ratios: Vec<f64> = ordered(runs, |r| r.rep.as_str())
        .into_iter()
        .filter_map(|rep| {
            let b = clean(base, rep).filter(|&b| b > 0.0)?;
            Some(clean(server, rep)? / b)
        })
        .collect();
    median(&ratios)
}

/// The first server of a kind in a scenario (the base of a ratio).
pub fn first_of(summaries: &[Summary], kind: Kind) -> Option<&Summary> {
    summaries.iter().find(|s| s.kind == kind)
}

/// The best peer of a scenario by median msg/s.
pub fn best_peer(summaries: &[Summary]) -> Option<&Summary> {
    summaries
        .iter()
        .filter(|s| s.kind == Kind::Peer && s.msgs.is_some())
        .max_by(|a, b| a.msgs.unwrap_or(0.0).total_cmp(&b.msgs.unwrap_or(0.0)))
}

fn num(value: Option<f64>, decimals: usize) -> String {
    value.map_or("–".into(), |v| format!("{v:.decimals$}"))
}

/// A large count with thin-space-free thousands separators (`1,234,567`).
pub fn thousands(value: Option<f64>) -> String {
    let Some(v) = value else {
        return "–".into();
    };
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// Short form: `1.23 M`, `456 k`, `789`.
fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0} k", v / 1e3)
    } else if v >= 1e3 {
        format!("{:.1} k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

fn ratio(value: Option<f64>, base: Option<f64>) -> String {
    match (value, base) {
        (Some(v), Some(b)) if b > 0.0 => format!("{:.2}×", v / b),
        _ => "–".into(),
    }
}

/// The whole markdown report for these runs.
pub fn render(runs: &[Run]) -> String {
    let mut out = String::new();
    let scenarios = ordered(runs, |r| r.scenario.as_str());
    let servers = ordered(runs, |r| r.server.as_str());
    let mut all: Vec<(String, Vec<Summary>)> = Vec::new();
    for scenario in &scenarios {
        let summaries = scenario_summaries(runs, scenario);
        let best = best_peer(&summaries).map(|s| (s.server.clone(), s.msgs));
        let raw = first_of(&summaries, Kind::Raw).and_then(|s| s.msgs);
        let _ = writeln!(out, "### {scenario}\n");
        let _ = writeln!(
            out,
            "| server | msg/s (median) | min–max | MB/s | p50 µs | p99 µs | server CPU | client CPU | msg per server CPU-s | vs best peer | vs raw TCP | clean runs |"
        );
        let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        for s in &summaries {
            let name = match s.kind {
                Kind::Ours => format!("**{}**", s.server),
                _ => s.server.clone(),
            };
            let spread = s.spread.map_or("–".into(), |(lo, hi)| {
                format!("{}–{}", short(lo), short(hi))
            });
            let _ = writeln!(
                out,
                "| {name} | {} | {spread} | {} | {} | {} | {} | {} | {} | {} | {} | {}/{} |",
                thousands(s.msgs),
                num(s.mb, 1),
                num(s.p50, 1),
                num(s.p99, 1),
                s.server_cpu_pct.map_or("–".into(), |p| format!("{p:.0} %")),
                s.client_cpu_pct.map_or("–".into(), |p| format!("{p:.0} %")),
                thousands(s.msgs_per_cpu),
                ratio(s.msgs, best.as_ref().and_then(|b| b.1)),
                ratio(s.msgs, raw),
                s.ok,
                s.runs,
            );
        }
        if let Some((name, _)) = &best {
            let _ = writeln!(out, "\nBest peer: {name}.");
        }
        out.push('\n');
        all.push((scenario.to_string(), summaries));
    }

    let _ = writeln!(out, "### Summary: median msg/s\n");
    let _ = write!(out, "| scenario |");
    for server in &servers {
        let _ = write!(out, " {server} |");
    }
    let _ = write!(out, "\n|---|");
    for _ in &servers {
        let _ = write!(out, "--:|");
    }
    out.push('\n');
    for (scenario, summaries) in &all {
        let _ = write!(out, "| {scenario} |");
        for server in &servers {
            let cell = summaries
                .iter()
                .find(|s| s.server == *server)
                .and_then(|s| s.msgs)
                .map_or("–".into(), short);
            let _ = write!(out, " {cell} |");
        }
        out.push('\n');
    }

    let ours: Vec<&str> = servers
        .iter()
        .copied()
        .filter(|name| {
            runs.iter()
                .any(|r| r.server == *name && r.kind == Kind::Ours)
        })
        .collect();
    // Columns against the thread-per-connection limit only when some run
    // has one, so that older run logs render as they did.
    let blocking_columns = runs.iter().any(|r| r.kind == Kind::RawBlocking);
    if !ours.is_empty() {
        let _ = writeln!(
            out,
            "\n### Ours against the best peer and raw TCP\n\n\
             Ratios of median msg/s; *paired*: the median over repetitions of the \
             ratio within one repetition (runs of a repetition are back to back, so \
             a change in the machine's load moves both sides alike)."
        );
        if blocking_columns {
            let _ = writeln!(
                out,
                "*Raw TCP*: plain TCP echo on one event-loop thread; *raw TCP, thread \
                 per connection*: plain TCP echo with a blocking thread per connection, \
                 the limit of that model."
            );
        }
        out.push('\n');
        let _ = write!(out, "| scenario | best peer |");
        for name in &ours {
            let _ = write!(
                out,
                " {name} vs best peer | paired | {name} vs raw TCP | paired |"
            );
            if blocking_columns {
                let _ = write!(out, " {name} vs raw TCP, thread per connection | paired |");
            }
        }
        let _ = write!(out, "\n|---|---|");
        for _ in &ours {
            let _ = write!(out, "--:|--:|--:|--:|");
            if blocking_columns {
                let _ = write!(out, "--:|--:|");
            }
        }
        out.push('\n');
        for (scenario, summaries) in &all {
            let best = best_peer(summaries);
            let raw = first_of(summaries, Kind::Raw);
            let blocking = first_of(summaries, Kind::RawBlocking);
            let _ = write!(
                out,
                "| {scenario} | {} |",
                best.map_or("–".to_string(), |b| b.server.clone())
            );
            for name in &ours {
                let mine = summaries
                    .iter()
                    .find(|s| s.server == *name)
                    .and_then(|s| s.msgs);
                let paired = |base: Option<&str>| {
                    base.and_then(|b| paired_ratio(runs, scenario, name, b))
                        .map_or("–".into(), |r| format!("{r:.2}×"))
                };
                let _ = write!(
                    out,
                    " {} | {} | {} | {} |",
                    ratio(mine, best.and_then(|b| b.msgs)),
                    paired(best.map(|b| b.server.as_str())),
                    ratio(mine, raw.and_then(|r| r.msgs)),
                    paired(raw.map(|r| r.server.as_str()))
                );
                if blocking_columns {
                    let _ = write!(
                        out,
                        " {} | {} |",
                        ratio(mine, blocking.and_then(|b| b.msgs)),
                        paired(blocking.map(|b| b.server.as_str()))
                    );
                }
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(scenario: &str, server: &str, kind: &str, exit: i32, msgs: f64) -> String {
        line_rep(scenario, server, kind, 1, exit, msgs)
    }

    fn line_rep(
        scenario: &str,
        server: &str,
        kind: &str,
        rep: u32,
        exit: i32,
        msgs: f64,
    ) -> String {
        format!(
            "{scenario}\t{server}\t{kind}\t{rep}\t{exit}\t{{\"url\":\"ws://127.0.0.1:1/\",\"msgs_per_s\":{msgs:.1},\"mb_per_s\":1.5,\"p50_us\":10.0,\"p99_us\":null,\"duration_s\":2.000,\"server_cpu_s\":1.000,\"msgs_per_server_cpu_s\":{:.1},\"client_cpu_s\":0.5}}",
            msgs * 2.0
        )
    }

    #[test]
    fn json_pairs() {
        let pairs = flat_json(r#"{"a":1,"b":"x\"y","c":null, "d" : true}"#).unwrap();
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x\"y".into()),
                ("c".into(), "null".into()),
                ("d".into(), "true".into()),
            ]
        );
        assert_eq!(flat_json("{}").unwrap(), vec![]);
        assert!(flat_json("[1]").is_err());
        assert!(flat_json(r#"{"a" 1}"#).is_err());
        assert!(flat_json(r#"{"a":"unterminated}"#).is_err());
    }

    #[test]
    fn lines() {
        let run = parse_line(&line("s", "x", "peer", 0, 100.0))
            .unwrap()
            .unwrap();
        assert_eq!(run.msgs_per_s, Some(100.0));
        assert_eq!(run.p99_us, None);
        assert_eq!(run.msgs_per_cpu_s, Some(200.0));
        assert!(run.ok());
        assert_eq!(parse_line("# comment").unwrap(), None);
        assert_eq!(parse_line("").unwrap(), None);
        assert!(parse_line("a\tb").is_err());
        assert!(parse_line("a\tb\tweird\t1\t0\t{}").is_err());
        let failed = parse_line("a\tb\tours\t1\t3\t{}").unwrap().unwrap();
        assert!(!failed.ok());
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    /// Every run of a TSV text; panics on a malformed line.
    fn parse_all(text: &str) -> Vec<Run> {
        text.lines()
            .filter_map(|l| parse_line(l).unwrap())
            .collect()
    }

    #[test]
    fn numbers() {
        assert_eq!(thousands(Some(1_234_567.4)), "1,234,567");
        assert_eq!(thousands(Some(999.0)), "999");
        assert_eq!(thousands(None), "–");
        assert_eq!(short(1_500_000.0), "1.50 M");
        assert_eq!(short(45_600.0), "46 k");
        assert_eq!(short(1_234.0), "1.2 k");
    }

    #[test]
    fn report_ratios_and_failures() {
        let text = [
            line_rep("s1", "ws-mio", "ours", 1, 0, 90.0),
            line_rep("s1", "ws-mio", "ours", 2, 0, 110.0),
            line_rep("s1", "ws-mio", "ours", 3, 3, 1.0), // failed: left out
            line_rep("s1", "fast", "peer", 1, 0, 150.0),
            line_rep("s1", "fast", "peer", 2, 0, 250.0),
            line_rep("s1", "fast", "peer", 3, 0, 200.0),
            line_rep("s1", "slow", "peer", 1, 0, 50.0),
            line_rep("s1", "raw", "raw", 1, 0, 300.0),
            line_rep("s1", "raw", "raw", 2, 0, 500.0),
        ]
        .join("\n");
        let runs = parse_all(&text);
        let summaries = scenario_summaries(&runs, "s1");
        assert_eq!(summaries.len(), 4);
        let mio = &summaries[0];
        assert_eq!((mio.ok, mio.runs), (2, 3));
        assert_eq!(mio.msgs, Some(100.0));
        assert_eq!(mio.spread, Some((90.0, 110.0)));
        assert_eq!(mio.server_cpu_pct, Some(50.0));
        assert_eq!(best_peer(&summaries).unwrap().server, "fast");
        let md = render(&runs);
        assert!(md.contains("| **ws-mio** | 100 | 90–110 |"), "{md}");
        // Paired: 90/150 and 110/250 (rep 3 failed for ws-mio).
        let paired = paired_ratio(&runs, "s1", "ws-mio", "fast").unwrap();
        assert!((paired - 0.52).abs() < 1e-9, "{paired}");
        assert_eq!(paired_ratio(&runs, "s1", "ws-mio", "nobody"), None);
        assert!(md.contains("| 0.50× | 0.25× | 2/3 |"), "{md}");
        assert!(md.contains("Best peer: fast."));
        assert!(
            md.contains("| s1 | fast | 0.50× | 0.52× | 0.25× | 0.26× |"),
            "{md}"
        );
        // No raw-blocking run: no column for it.
        assert!(!md.contains("thread per connection"), "{md}");
        assert!(md.contains("|---|---|--:|--:|--:|--:|\n"), "{md}");
    }

    #[test]
    fn raw_blocking_kind() {
        let run = parse_line(&line("s", "threads", "raw-blocking", 0, 100.0))
            .unwrap()
            .unwrap();
        assert_eq!(run.kind, Kind::RawBlocking);
    }

    #[test]
    fn report_against_thread_per_connection() {
        let text = [
            line_rep("s1", "ws-mio", "ours", 1, 0, 90.0),
            line_rep("s1", "ws-mio", "ours", 2, 0, 110.0),
            line_rep("s1", "ws-std", "ours", 1, 0, 60.0),
            line_rep("s1", "ws-std", "ours", 2, 0, 100.0),
            line_rep("s1", "fast", "peer", 1, 0, 200.0),
            line_rep("s1", "fast", "peer", 2, 0, 200.0),
            line_rep("s1", "raw-tcp", "raw", 1, 0, 400.0),
            line_rep("s1", "raw-tcp", "raw", 2, 0, 400.0),
            line_rep("s1", "raw-tcp-threads", "raw-blocking", 1, 0, 300.0),
            line_rep("s1", "raw-tcp-threads", "raw-blocking", 2, 0, 100.0),
            // A scenario without the thread-per-connection server.
            line_rep("s2", "ws-mio", "ours", 1, 0, 50.0),
            line_rep("s2", "ws-std", "ours", 1, 0, 40.0),
            line_rep("s2", "fast", "peer", 1, 0, 100.0),
            line_rep("s2", "raw-tcp", "raw", 1, 0, 200.0),
        ]
        .join("\n");
        let runs = parse_all(&text);
        let summaries = scenario_summaries(&runs, "s1");
        let blocking = first_of(&summaries, Kind::RawBlocking).unwrap();
        assert_eq!(blocking.server, "raw-tcp-threads");
        assert_eq!(blocking.msgs, Some(200.0));
        // Not a peer: the best peer stays the best WebSocket peer.
        assert_eq!(best_peer(&summaries).unwrap().server, "fast");
        let md = render(&runs);
        // A row like raw TCP's, its "vs raw TCP" against the event-loop
        // raw server: 200 / 400.
        let row = md
            .lines()
            .find(|l| l.starts_with("| raw-tcp-threads |"))
            .unwrap();
        assert_eq!(
            row,
            "| raw-tcp-threads | 200 | 100–300 | 1.5 | 10.0 | – | 50 % | 25 % | 400 | 1.00× | 0.50× | 2/2 |"
        );
        // In the summary table too.
        assert!(md.contains("| scenario | ws-mio | ws-std | fast | raw-tcp | raw-tcp-threads |"));
        // Ours: vs best peer, vs raw TCP, vs raw TCP thread per connection.
        assert!(
            md.contains(
                "| scenario | best peer | ws-mio vs best peer | paired | ws-mio vs raw TCP | paired \
                 | ws-mio vs raw TCP, thread per connection | paired | ws-std vs best peer |"
            ),
            "{md}"
        );
        assert!(
            md.contains("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"),
            "{md}"
        );
        // ws-std: 80 / 200 = 0.40; paired 60/300 and 100/100 → median 0.60.
        // ws-mio: 100 / 200 = 0.50; paired 90/300 and 110/100 → 0.70.
        assert!(
            md.contains(
                "| s1 | fast | 0.50× | 0.50× | 0.25× | 0.25× | 0.50× | 0.70× \
                 | 0.40× | 0.40× | 0.20× | 0.20× | 0.40× | 0.60× |"
            ),
            "{md}"
        );
        assert!(
            (paired_ratio(&runs, "s1", "ws-std", "raw-tcp-threads").unwrap() - 0.6).abs() < 1e-9
        );
        // No thread-per-connection run in s2: its cells are empty.
        assert!(
            md.contains("| s2 | fast | 0.50× | 0.50× | 0.25× | 0.25× | – | – | 0.40× | 0.40× | 0.20× | 0.20× | – | – |"),
            "{md}"
        );
        assert!(
            md.contains("thread per connection*: plain TCP echo"),
            "{md}"
        );
    }
}
