#!/usr/bin/env bash
# Where each echo server's time goes under the comparison's load: for every
# server and scenario, a fresh server under ws-load (as in compare.sh), then
# `perf stat` (system calls, context switches, CPU time per echoed message)
# and `perf record` (share of the server's CPU samples in the kernel, in
# the server's own code, in libc; the hottest user-space symbols). Pinned,
# the samples are CPU 1's, which runs only the server (softirq work of
# the loopback included), idle time left out.
#
#   bash crates/ws-bench/profile.sh [--servers "ws-mio raw-tcp"]
#                                   [--scenarios "1 3"] [--seconds S]
#                                   [--no-build] [--no-pin]
#
# Defaults: every server of compare.sh, every scenario, 2 s of perf stat
# and perf record side by side per run, after 1.5 s of load. Needs `perf`
# (Debian: linux-perf) with access to the server's process (run as root or
# with kernel.perf_event_paranoid <= 1). Samples are taken with the
# cpu-clock software event, which works in VMs without hardware counters.
# Output: target/bench/profile-<date>.md (also on stdout), perf data and
# logs in profile-<date>.logs/.

set -euo pipefail

SECONDS_EACH=2
BUILD=1
PIN=1
ONLY_SERVERS=""
ONLY_SCENARIOS=""

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
    case "$1" in
        --servers) ONLY_SERVERS=$2; shift 2 ;;
        --scenarios) ONLY_SCENARIOS=$2; shift 2 ;;
        --seconds) SECONDS_EACH=$2; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --no-pin) PIN=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "profile.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$SECONDS_EACH" in ''|*[!0-9]*|0) echo "profile.sh: --seconds must be a whole number > 0" >&2; exit 2 ;; esac
command -v perf >/dev/null || { echo "profile.sh: perf not found (Debian: apt-get install linux-perf)" >&2; exit 1; }

SCRIPT=profile.sh
# shellcheck source=crates/ws-bench/bench-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
STAMP=$(date +%Y-%m-%d-%H%M%S)
OUT=$BENCH_DIR/profile-$STAMP.md
LOGS=$BENCH_DIR/profile-$STAMP.logs
mkdir -p "$LOGS"

[ "$BUILD" = 1 ] && build_binaries
[ -x "$BIN/ws-load" ] || { echo "profile.sh: $BIN/ws-load missing (run without --no-build)" >&2; exit 1; }
raise_nofile 500 || exit 1
setup_pinning

# count EVENT FILE: the value perf stat wrote for EVENT (CSV output).
count() {
    awk -F, -v ev="$1" '$3 == ev { gsub(/ /, "", $1); print $1; exit }' "$2"
}

# perf report lines, tab-separated: percent, comm, object[, symbol]. Only
# the server's samples count (with the kernel threads working for it on
# its CPU): not the idle task's, not perf's and its `sleep`.
# share FILE OBJECT-PATTERN: percent of the server's samples in objects
# matching the pattern.
share() {
    awk -F'\t' -v pat="$2" '
        { gsub(/ /, "", $1) }
        $1 ~ /%$/ {
            comm = $2; gsub(/^ +| +$/, "", comm)
            if (comm ~ /^(swapper|perf|perf-exec|sleep)$/) next
            v = $1; sub(/%/, "", v); total += v
            object = $3; gsub(/^ +| +$/, "", object)
            if (object ~ pat) s += v
        }
        END { if (total > 0) printf "%.1f", 100 * s / total; else print "–" }' "$1"
}

# hottest FILE: the four hottest user-space symbols, in percent of the
# server's samples.
hottest() {
    awk -F'\t' '
        { gsub(/ /, "", $1) }
        $1 ~ /%$/ {
            comm = $2; gsub(/^ +| +$/, "", comm)
            if (comm ~ /^(swapper|perf|perf-exec|sleep)$/) next
            v = $1; sub(/%/, "", v)
            if (FNR == NR) { total += v; next }
            if ($4 !~ /^\[\.\]/ || total == 0 || n == 4) next
            symbol = $4; sub(/^\[\.\] +/, "", symbol); sub(/ +$/, "", symbol)
            printf "%s%.2f%% %s", sep, 100 * v / total, symbol; sep = ", "; n++
        }' "$1" "$1"
}

{
    echo "## Where the time goes, $(date '+%Y-%m-%d %H:%M %Z')"
    echo
    echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), Linux $(uname -r)"
    echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg); $PINNING"
    echo "- commit $(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- per run: after 1.5 s of load, ${SECONDS_EACH} s of \`perf stat\` on the server and of \`perf record -e cpu-clock\` (on CPU 1 when pinned), side by side"
    echo
    echo "| scenario | server | msg/s | server CPU µs/msg | syscalls/msg | context switches/msg | kernel | own code | libc | hottest user-space symbols |"
    echo "|---|---|--:|--:|--:|--:|--:|--:|--:|---|"
} >"$OUT"

port=${BASE_PORT:-19400}
for si in "${!SCENARIOS[@]}"; do
    pick "$ONLY_SCENARIOS" "$((si + 1))" "" || continue
    IFS='|' read -r label conns size inflight <<<"${SCENARIOS[$si]}"
    for vi in "${!SERVERS[@]}"; do
        IFS='|' read -r name kind command <<<"${SERVERS[$vi]}"
        pick "$ONLY_SERVERS" "$((vi + 1))" "$name" || continue
        port=$((port + 1))
        log="$LOGS/$((si + 1))-$name"
        extra=()
        case "$kind" in raw|raw-blocking) extra+=(--raw) ;; esac
        printf '%s | %s ... ' "$label" "$name" >&2
        start_server "$command" "$port" "$log" || continue
        # Attaching to hundreds of threads takes perf stat a while: the
        # load runs well past both measurements, which run side by side.
        duration=$((SECONDS_EACH + 6))
        "${CLIENT_PIN[@]}" "$BIN/ws-load" --url "ws://127.0.0.1:$port/" --connections "$conns" \
            --size "$size" --in-flight "$inflight" --duration "$duration" --warmup 1 \
            --server-pid "$SERVER_PID" --json "${extra[@]}" >"$log.json" 2>"$log.load.err" &
        load_pid=$!
        sleep 1.5
        # Pinned, the server is all that runs on CPU 1: sample the CPU
        # (attaching to hundreds of threads one by one runs out of perf's
        # locked memory); not pinned, sample the process.
        if [ "$PIN" = 1 ]; then
            target=(-C 1)
        else
            target=(-p "$SERVER_PID")
        fi
        perf record -q -e cpu-clock -F 4000 "${target[@]}" -o "$log.perf" \
            -- sleep "$SECONDS_EACH" >/dev/null 2>&1 &
        record_pid=$!
        perf stat -x, -e cpu-clock,context-switches,raw_syscalls:sys_enter -p "$SERVER_PID" \
            -o "$log.stat" -- sleep "$SECONDS_EACH" >/dev/null 2>&1 || true
        wait "$record_pid" || true
        wait "$load_pid" || true
        stop_server
        msgs=$(sed -n 's/.*"msgs_per_s":\([0-9.]*\).*/\1/p' "$log.json" | tail -n 1)
        if [ -z "$msgs" ] || [ ! -s "$log.stat" ]; then
            echo "FAILED (see $log.load.err)" >&2
            continue
        fi
        report=(perf report -i "$log.perf" --no-children --stdio --field-separator=$'\t')
        "${report[@]}" --sort comm,dso 2>/dev/null >"$log.dso" || true
        "${report[@]}" --sort comm,dso,sym 2>/dev/null >"$log.sym" || true
        # CPU time per message over ws-load's whole measured window (from
        # /proc, robust); system calls and context switches per message as
        # perf stat's counts per CPU second times that, so the windows of
        # perf stat and ws-load need not coincide.
        per_cpu_s=$(sed -n 's/.*"msgs_per_server_cpu_s":\([0-9.]*\).*/\1/p' "$log.json" | tail -n 1)
        cpu_ms=$(count cpu-clock "$log.stat")
        switches=$(count context-switches "$log.stat")
        syscalls=$(count raw_syscalls:sys_enter "$log.stat")
        us_per_msg=$(awk -v r="${per_cpu_s:-0}" 'BEGIN { if (r > 0) printf "%.2f", 1e6 / r; else print "–" }')
        per_msg() {
            awk -v x="${1:-0}" -v ms="${cpu_ms:-0}" -v r="${per_cpu_s:-0}" \
                'BEGIN { if (ms > 0 && r > 0) printf "%.2f", x / (ms / 1000) / r; else print "–" }'
        }
        binary=$(basename "${command%% *}")
        top=$(hottest "$log.sym")
        printf '| %s | %s | %.0f | %s | %s | %s | %s %% | %s %% | %s %% | %s |\n' \
            "$label" "$name" "$msgs" "$us_per_msg" "$(per_msg "$syscalls")" \
            "$(per_msg "$switches")" "$(share "$log.dso" kernel)" "$(share "$log.dso" "^$binary\$")" \
            "$(share "$log.dso" '^libc')" "${top:-–}" >>"$OUT"
        echo "$msgs msg/s" >&2
        sleep 0.3
    done
done

cat "$OUT"
echo >&2
echo "== written: $OUT (perf data and reports in $LOGS) ==" >&2
