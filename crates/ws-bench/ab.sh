#!/usr/bin/env bash
# A/B of two builds of one echo server: runs them in turn (A, B, A, B, ...)
# under the same ws-load scenario and prints each run and the median of the
# paired B/A ratios. For "did this change cost anything": build the server
# example at the old commit (a git worktree with its own CARGO_TARGET_DIR)
# and at the new one, then
#
#   bash crates/ws-bench/ab.sh OLD_BINARY NEW_BINARY [--pairs N]
#        [--connections C] [--size S] [--in-flight K] [--duration D]
#
# Each binary is started as `BINARY 127.0.0.1:PORT --threads 1` (ws-mio's
# echo_server takes that), on CPU 1 with ws-load on CPU 0 when taskset is
# there. Defaults: 5 pairs, 16 connections x 16 KiB, 16 in flight, 4 s.
# Needs ws-load built: cargo build --release -p ws-bench --bin ws-load.

set -euo pipefail

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
}

PAIRS=5 CONNS=16 SIZE=16384 IN_FLIGHT=16 DURATION=4
POSITIONAL=()
while [ $# -gt 0 ]; do
    case "$1" in
        --pairs) PAIRS=$2; shift 2 ;;
        --connections) CONNS=$2; shift 2 ;;
        --size) SIZE=$2; shift 2 ;;
        --in-flight) IN_FLIGHT=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "ab.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) POSITIONAL+=("$1"); shift ;;
    esac
done
if [ ${#POSITIONAL[@]} -ne 2 ]; then
    usage >&2
    exit 2
fi
A=${POSITIONAL[0]} B=${POSITIONAL[1]}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOAD=${CARGO_TARGET_DIR:-$ROOT/target}/release/ws-load
[ -x "$LOAD" ] || { echo "ab.sh: $LOAD not built (cargo build --release -p ws-bench --bin ws-load)" >&2; exit 1; }
PIN_SERVER=() PIN_LOAD=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    PIN_SERVER=(taskset -c 1) PIN_LOAD=(taskset -c 0)
fi

# stop_server PID: ask the server to stop (SIGINT), and kill it if it has
# not gone within 5 s (a server that waits for its connections, or an old
# build without a signal handler, must not hang the comparison).
stop_server() {
    kill -INT "$1" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# run BINARY PORT: msg/s of one run.
run() {
    local pid rate
    "${PIN_SERVER[@]}" "$1" "127.0.0.1:$2" --threads 1 >/dev/null 2>&1 &
    pid=$!
    sleep 0.5
    rate=$("${PIN_LOAD[@]}" "$LOAD" --url "ws://127.0.0.1:$2" --connections "$CONNS" \
        --size "$SIZE" --in-flight "$IN_FLIGHT" --duration "$DURATION" --warmup 1 \
        | sed -n 's/.*throughput *\([0-9]*\) msg\/s.*/\1/p')
    stop_server "$pid"
    [ -n "$rate" ] || { echo "ab.sh: no throughput from a run of $1" >&2; exit 1; }
    echo "$rate"
}

port=${BASE_PORT:-19600}
ratios=()
for pair in $(seq 1 "$PAIRS"); do
    port=$((port + 2))
    a=$(run "$A" "$port")
    b=$(run "$B" "$((port + 1))")
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')
    ratios+=("$ratio")
    echo "pair $pair: A $a msg/s, B $b msg/s, B/A $ratio"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ r[NR] = $1 } END {
    m = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
    printf "median of paired B/A over %d pairs: %.3f\n", NR, m }'
