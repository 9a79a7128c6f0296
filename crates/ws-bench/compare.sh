#!/usr/bin/env bash
# Side-by-side echo benchmark: our servers (ws-mio with one thread, ws-std),
# echo servers on other Rust WebSocket crates (ws-bench's peer-* binaries,
# feature "peers") and two plain TCP echoes, the physical limits (raw-tcp on
# one mio thread; raw-tcp-threads with a thread per connection, ws-std's
# model), each driven by ws-load on loopback. Every run gets a fresh server
# process on its own port; repetitions are interleaved (round-robin over the
# servers, the starting server rotating each repetition); the tables hold
# medians.
#
#   bash crates/ws-bench/compare.sh [--reps R] [--duration S] [--warmup S]
#                                   [--servers "a b"] [--scenarios "1 2"]
#                                   [--no-build] [--no-pin]
#                                   [--also "NAME=COMMAND"]...
#
# --also adds a server of ours (repeatable; COMMAND with ADDR where its
# address goes), run interleaved with the others: a build of an older
# commit, say, for a before/after table in one run:
#   --also "ws-std@old=/tmp/old/blocking_echo_server ADDR"
#
# With two cores or more and taskset, the server runs on CPU 1 and ws-load
# on CPU 0 (--no-pin: wherever the scheduler puts them), so every server,
# thread-per-connection ones included, gets one core.
# Environment: REPS, DURATION, WARMUP, BASE_PORT (default 19200) do the
# same as the options. Output: target/bench/compare-<date>.md (and the raw
# runs as .tsv beside it, logs in compare-<date>.logs/), also on stdout.
#
# No side offers permessage-deflate here: ws-load does not ask for it, so
# every run is uncompressed, ours included.

set -euo pipefail

REPS=${REPS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
BASE_PORT=${BASE_PORT:-19200}
BUILD=1
PIN=1
ONLY_SERVERS=""
ONLY_SCENARIOS=""
ALSO=()

usage() {
    sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
        --reps) REPS=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --warmup) WARMUP=$2; shift 2 ;;
        --servers) ONLY_SERVERS=$2; shift 2 ;;
        --scenarios) ONLY_SCENARIOS=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --no-pin) PIN=0; shift ;;
        --also)
            case "$2" in
                *=*ADDR*) ALSO+=("${2%%=*}|ours|${2#*=}") ;;
                *) echo "compare.sh: --also wants NAME=COMMAND with ADDR in the command" >&2; exit 2 ;;
            esac
            shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "compare.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$REPS" in ''|*[!0-9]*|0) echo "compare.sh: --reps must be a whole number > 0" >&2; exit 2 ;; esac

SCRIPT=compare.sh
# shellcheck source=crates/ws-bench/bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
STAMP=$(date +%Y-%m-%d-%H%M%S)
OUT=$BENCH_DIR/compare-$STAMP.md
TSV=$BENCH_DIR/compare-$STAMP.tsv
LOGS=$BENCH_DIR/compare-$STAMP.logs
mkdir -p "$LOGS"

SELECTED_SERVERS=()
for i in "${!SERVERS[@]}"; do
    IFS='|' read -r name _ _ <<<"${SERVERS[$i]}"
    pick "$ONLY_SERVERS" "$((i + 1))" "$name" && SELECTED_SERVERS+=("${SERVERS[$i]}")
done
SELECTED_SERVERS+=("${ALSO[@]}")
SELECTED_SCENARIOS=()
for i in "${!SCENARIOS[@]}"; do
    pick "$ONLY_SCENARIOS" "$((i + 1))" "" && SELECTED_SCENARIOS+=("${SCENARIOS[$i]}")
done
[ ${#SELECTED_SERVERS[@]} -gt 0 ] || { echo "compare.sh: no server selected" >&2; exit 2; }
[ ${#SELECTED_SCENARIOS[@]} -gt 0 ] || { echo "compare.sh: no scenario selected" >&2; exit 2; }

# --- build once -------------------------------------------------------------
if [ "$BUILD" = 1 ]; then
    build_binaries
fi
for b in ws-load compare-report; do
    [ -x "$BIN/$b" ] || { echo "compare.sh: $BIN/$b missing (run without --no-build)" >&2; exit 1; }
done

# --- open-file limit: servers inherit it ------------------------------------
max_conns=0
for s in "${SELECTED_SCENARIOS[@]}"; do
    IFS='|' read -r _ conns _ _ <<<"$s"
    [ "$conns" -gt "$max_conns" ] && max_conns=$conns
done
raise_nofile "$max_conns" || exit 1

setup_pinning

# --- header -----------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
commit=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
if [ -n "$(cd "$ROOT" && git status --porcelain 2>/dev/null)" ]; then
    dirty=" (with uncommitted changes)"
fi
{
    echo "## Side-by-side echo comparison, $(date '+%Y-%m-%d %H:%M %Z')"
    echo
    echo "- machine: $(nproc) cores, ${cpu:-unknown CPU}, Linux $(uname -r)"
    echo "- load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)" \
        "$( [ -r /proc/pressure/cpu ] && head -n1 /proc/pressure/cpu | sed 's/^some /(CPU pressure: /; s/ total=[0-9]*//; s/$/)/')"
    echo "- $PINNING"
    echo "- commit $commit$dirty; $(rustc --version 2>/dev/null || echo rustc unknown)"
    echo "- $REPS repetitions interleaved, ${DURATION} s measured after ${WARMUP} s warm-up per run;" \
        "medians (msg/s spread min–max); no permessage-deflate on any side"
    echo "- ws-load: one mio thread, N connections each keeping K messages in flight" \
        "(K = 1: send, wait for the echo, send again); raw-tcp and raw-tcp-threads with \`ws-load --raw\`"
} >"$OUT.head"
: >"$TSV"

# --- runs -------------------------------------------------------------------
n_servers=${#SELECTED_SERVERS[@]}
total=$(( ${#SELECTED_SCENARIOS[@]} * REPS * n_servers ))
run=0
for scenario in "${SELECTED_SCENARIOS[@]}"; do
    IFS='|' read -r label conns size inflight <<<"$scenario"
    for rep in $(seq "$REPS"); do
        for k in $(seq 0 $((n_servers - 1))); do
            # Rotate the starting server each repetition.
            idx=$(( (k + rep - 1) % n_servers ))
            IFS='|' read -r name kind command <<<"${SELECTED_SERVERS[$idx]}"
            run=$((run + 1))
            port=$((BASE_PORT + run % 1000))
            log="$LOGS/$run-$name"
            extra=()
            case "$kind" in raw|raw-blocking) extra+=(--raw) ;; esac
            printf '[%d/%d] %s | %s | rep %d ... ' "$run" "$total" "$label" "$name" "$rep" >&2
            json="{}"
            rc=99
            if start_server "$command" "$port" "$log"; then
                set +e
                "${CLIENT_PIN[@]}" "$BIN/ws-load" --url "ws://127.0.0.1:$port/" --connections "$conns" \
                    --size "$size" --in-flight "$inflight" --duration "$DURATION" \
                    --warmup "$WARMUP" --server-pid "$SERVER_PID" --json "${extra[@]}" \
                    >"$log.json" 2>"$log.load.err"
                rc=$?
                set -e
                stop_server
                line=$(tail -n 1 "$log.json")
                [ -n "$line" ] && json=$line
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$name" "$kind" "$rep" "$rc" "$json" >>"$TSV"
            msgs=$(printf '%s' "$json" | sed -n 's/.*"msgs_per_s":\([0-9.]*\).*/\1/p')
            if [ "$rc" = 0 ]; then
                echo "${msgs:-?} msg/s" >&2
            else
                echo "FAILED (exit $rc; $log.load.err)" >&2
                tail -n 3 "$log.load.err" 2>/dev/null | sed 's/^/    /' >&2 || true
            fi
            sleep 0.3
        done
    done
done

{
    cat "$OUT.head"
    echo "- load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    "$BIN/compare-report" "$TSV"
} >"$OUT"
rm -f "$OUT.head"
cat "$OUT"
echo >&2
echo "== written: $OUT (runs: $TSV) ==" >&2
