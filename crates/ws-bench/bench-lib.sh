# shellcheck shell=bash disable=SC2034 # the arrays and pins are the callers'
# Shared by compare.sh and profile.sh (sourced, not run): where the
# binaries live, the servers and scenarios of the comparison, the release
# build, CPU pinning and the server's lifecycle. Expects `set -euo
# pipefail` and SCRIPT (the caller's name, for messages).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
BENCH_DIR=$TARGET_DIR/bench
BIN=$BENCH_DIR/bin
mkdir -p "$BIN"

# --- servers: name, kind (ours/peer/raw/raw-blocking), command (ADDR
# substituted); the raw kinds are driven with `ws-load --raw` ---------------
SERVERS=(
    "ws-mio|ours|$BIN/ws-mio-echo ADDR --threads 1"
    "ws-std|ours|$BIN/ws-std-echo ADDR"
    "tungstenite|peer|$BIN/peer-tungstenite ADDR"
    "tokio-tungstenite|peer|$BIN/peer-tokio-tungstenite ADDR"
    "fastwebsockets|peer|$BIN/peer-fastwebsockets ADDR"
    "tokio-websockets|peer|$BIN/peer-tokio-websockets ADDR"
    "raw-tcp|raw|$BIN/raw-tcp-echo ADDR"
    "raw-tcp-threads|raw-blocking|$BIN/raw-tcp-threads ADDR"
)

# --- scenarios: label, connections, size, in flight ------------------------
SCENARIOS=(
    "100 conns × 20 B|100|20|1"
    "10 conns × 1 KiB|10|1024|1"
    "10 conns × 16 KiB|10|16384|1"
    "200 conns × 16 KiB|200|16384|1"
    "500 conns × 16 KiB|500|16384|1"
    "10 conns × 20 B, 16 in flight|10|20|16"
)

# pick LIST INDEX NAME: whether the server or scenario numbered INDEX
# (from 1) or called NAME is chosen by LIST (empty: all are).
pick() {
    [ -z "$1" ] && return 0
    local item
    for item in $1; do
        [ "$item" = "$2" ] || [ "$item" = "$3" ] && return 0
    done
    return 1
}

# build_binaries: build everything in release once and copy it to $BIN.
build_binaries() {
    echo "== building (release) ==" >&2
    (
        cd "$ROOT" || exit 1
        cargo build --release -p ws-bench --features peers --bins
        for b in ws-load raw-tcp-echo raw-tcp-threads compare-report peer-tungstenite \
            peer-tokio-tungstenite peer-fastwebsockets peer-tokio-websockets; do
            cp "$TARGET_DIR/release/$b" "$BIN/$b"
        done
        cargo build --release -p ws-mio --example echo_server
        cp "$TARGET_DIR/release/examples/echo_server" "$BIN/ws-mio-echo"
        cargo build --release -p ws-std --example blocking_echo_server
        cp "$TARGET_DIR/release/examples/blocking_echo_server" "$BIN/ws-std-echo"
    ) >&2
}

# raise_nofile CONNS: open-file limit for CONNS connections (servers
# inherit it); fails if the hard limit is lower.
raise_nofile() {
    local need=$(($1 + 256))
    local soft hard
    soft=$(ulimit -Sn)
    hard=$(ulimit -Hn)
    if [ "$soft" != unlimited ] && [ "$soft" -lt "$need" ]; then
        if [ "$hard" = unlimited ] || [ "$hard" -ge "$need" ]; then
            ulimit -n "$need"
        else
            echo "$SCRIPT: open-file limit: $need needed for $1 connections, hard limit is $hard" >&2
            return 1
        fi
    fi
    echo "== open-file limit $(ulimit -Sn) (>= $need needed for $1 connections) ==" >&2
}

# setup_pinning: with two cores or more and taskset (and PIN=1), the
# server runs on CPU 1 and ws-load on CPU 0. Sets SERVER_PIN, CLIENT_PIN,
# PINNING.
setup_pinning() {
    SERVER_PIN=()
    CLIENT_PIN=()
    if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
        SERVER_PIN=(taskset -c 1)
        CLIENT_PIN=(taskset -c 0)
        PINNING="server pinned to CPU 1, ws-load to CPU 0 (taskset)"
    else
        PIN=0
        PINNING="not pinned: server and ws-load share all cores"
    fi
    echo "== $PINNING ==" >&2
}

# --- server lifecycle -------------------------------------------------------
SERVER_PID=""

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    # Bounded: 5 s for a graceful exit, then SIGKILL.
    for _ in $(seq 50); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

cleanup() {
    stop_server
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# start_server COMMAND PORT LOG: sets SERVER_PID; fails if the server does
# not say it is listening within 10 s.
start_server() {
    local command=${1//ADDR/127.0.0.1:$2}
    # shellcheck disable=SC2086 # the command is split into words on purpose
    # taskset execs the server: $! is the server's own pid.
    "${SERVER_PIN[@]}" $command >"$3.out" 2>"$3.err" &
    SERVER_PID=$!
    for _ in $(seq 200); do
        if grep -q "listening on" "$3.out" 2>/dev/null; then
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "$SCRIPT: server did not start: $command (see $3.err)" >&2
    stop_server
    return 1
}

