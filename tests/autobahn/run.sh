#!/usr/bin/env bash
# Run the Autobahn TestSuite (wstest) against one of the workspace's
# WebSocket implementations and judge the report with check.py.
#
# Usage: tests/autobahn/run.sh MODE [PKG] [--agent NAME]
#
#   MODE   server  wstest (fuzzingclient) tests PKG's echo server example
#                  (ws-std: examples/blocking_echo_server, ws-tokio:
#                  examples/async_echo_server, others: examples/echo_server;
#                  see SERVER_EXAMPLE)
#          client  wstest (fuzzingserver) is driven by PKG's client example
#                  (ws-std: examples/autobahn_client, ws-mio:
#                  examples/mio_autobahn_client, ws-tokio:
#                  examples/async_autobahn_client; see CLIENT_EXAMPLE)
#          all     server, then client; a mode whose example source file does
#                  not exist yet is skipped with a message
#   PKG    cargo package whose examples are tested (default: $SERVER_PKG, or ws-std)
#   --agent NAME   agent name in the report (default: PKG)
#
# Each package is one call: `run.sh server ws-std`, `run.sh server ws-mio`.
# Calls may run side by side if they differ in mode or agent and use
# different ports (AUTOBAHN_SERVER_PORT, AUTOBAHN_CLIENT_PORT): each agent
# has its own report directory, spec and logs.
#
# Contract with the examples:
#   SERVER_EXAMPLE ADDR       (echo_server or blocking_echo_server) listens on
#                             ADDR (e.g. 127.0.0.1:9001), prints a line
#                             containing `listening on ws://ADDR` once it
#                             accepts connections, echoes every message.
#   CLIENT_EXAMPLE URL AGENT  (autobahn_client or mio_autobahn_client) runs
#                             every case of the wstest fuzzing server at URL
#                             (getCaseCount, runCase?case=N&agent=AGENT,
#                             then updateReports?agent=AGENT) and exits 0.
#
# Environment (all optional):
#   SERVER_PKG             default PKG (ws-std)
#   SERVER_EXAMPLE         PKG's echo server example (default: blocking_echo_server
#                          for ws-std, async_echo_server for ws-tokio,
#                          echo_server for any other package; the
#                          names differ because cargo puts every example of the
#                          workspace in one directory)
#   CLIENT_EXAMPLE         PKG's client example (default: mio_autobahn_client
#                          for ws-mio, async_autobahn_client for ws-tokio,
#                          autobahn_client for any other package)
#   SERVER_CMD             command used instead of the built server example; the
#                          listen address is appended as its last argument
#   CLIENT_CMD             command used instead of the built client example;
#                          URL and AGENT are appended
#   AUTOBAHN_SERVER_PORT   port for our server under test (9001; 9007 for
#                          ws-tokio, so that it runs beside the others)
#   AUTOBAHN_CLIENT_PORT   port for wstest's fuzzing server (9011; 9017 for
#                          ws-tokio)
#   AUTOBAHN_CASES         comma-separated case patterns replacing the configs'
#                          "cases" (e.g. "1.*,2.*") for quick local runs
#   REQUIRE_COMPRESSION=1  pass --require-compression to check.py
#   READY_TIMEOUT          seconds to wait for a peer to be ready (30)
#   WSTEST_TIMEOUT         seconds allowed for the wstest fuzzingclient run (1500)
#   CLIENT_TIMEOUT         seconds allowed for the client example (1500)
#
# Reports go to tests/autobahn/reports/{servers,clients}/AGENT/ (gitignored),
# together with the generated spec and the logs of wstest and of our peer.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WSTEST="$HERE/.venv/bin/wstest"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac

READY_TIMEOUT="${READY_TIMEOUT:-30}"
WSTEST_TIMEOUT="${WSTEST_TIMEOUT:-1500}"
CLIENT_TIMEOUT="${CLIENT_TIMEOUT:-1500}"
export PYTHONDONTWRITEBYTECODE=1

log() { printf 'autobahn: %s\n' "$*"; }
err() { printf 'autobahn: ERROR: %s\n' "$*" >&2; }
usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

# ---- argument parsing -------------------------------------------------------
MODE=""
PKG=""
AGENT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --agent) [ $# -ge 2 ] || usage; AGENT="$2"; shift 2 ;;
    --agent=*) AGENT="${1#--agent=}"; shift ;;
    -h|--help) usage ;;
    -*) err "unknown option: $1"; usage ;;
    *)
      if [ -z "$MODE" ]; then MODE="$1"
      elif [ -z "$PKG" ]; then PKG="$1"
      else err "unexpected argument: $1"; usage
      fi
      shift ;;
  esac
done
case "$MODE" in server|client|all) ;; *) usage ;; esac
PKG="${PKG:-${SERVER_PKG:-ws-std}}"
AGENT="${AGENT:-$PKG}"
case "$PKG" in
  ws-std) SERVER_EXAMPLE="${SERVER_EXAMPLE:-blocking_echo_server}" ;;
  ws-tokio) SERVER_EXAMPLE="${SERVER_EXAMPLE:-async_echo_server}" ;;
  *) SERVER_EXAMPLE="${SERVER_EXAMPLE:-echo_server}" ;;
esac
case "$PKG" in
  ws-mio) CLIENT_EXAMPLE="${CLIENT_EXAMPLE:-mio_autobahn_client}" ;;
  ws-tokio) CLIENT_EXAMPLE="${CLIENT_EXAMPLE:-async_autobahn_client}" ;;
  *) CLIENT_EXAMPLE="${CLIENT_EXAMPLE:-autobahn_client}" ;;
esac
# Ports: ws-tokio has its own defaults, so that its suites can run beside
# those of ws-std (9001, 9011) and ws-mio (9005, 9013 in CI).
case "$PKG" in
  ws-tokio) SERVER_PORT="${AUTOBAHN_SERVER_PORT:-9007}"; CLIENT_PORT="${AUTOBAHN_CLIENT_PORT:-9017}" ;;
  *) SERVER_PORT="${AUTOBAHN_SERVER_PORT:-9001}"; CLIENT_PORT="${AUTOBAHN_CLIENT_PORT:-9011}" ;;
esac
case "$AGENT" in
  *[!A-Za-z0-9._-]*|"") err "agent name may only use letters, digits, '.', '_' and '-': '$AGENT'"; exit 2 ;;
esac

# ---- background processes: always cleaned up --------------------------------
BG_PIDS=()
stop_pid() {
  local pid="$1" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do            # at most 5 s
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
  local pid
  for pid in "${BG_PIDS[@]}"; do stop_pid "$pid"; done
  BG_PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# NOTE: run_server/run_client are called as `run_x || ...`, which turns off
# `set -e` inside them: every step there must check its own status.

# ---- helpers ------------------------------------------------------------------
# Succeeds if something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  python3 -c '
import socket, sys
s = socket.socket()
s.settimeout(0.5)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
' "$1"
}

ensure_port_free() {
  if port_open "$1"; then
    err "port $1 on 127.0.0.1 is already in use by another process; set $2 to a free port"
    return 1
  fi
}

show_tail() { # FILE WHAT
  if [ -s "$1" ]; then
    log "last lines of $2 ($1):"
    tail -n 25 "$1" | cut -c1-300 | sed 's/^/    /'
  fi
}

# Write a wstest spec: copy of the committed config with url, agent, outdir
# (and optionally cases) replaced.  make_spec TEMPLATE OUT OUTDIR URL [AGENT]
make_spec() {
  python3 - "$@" <<'PY'
import json, os, sys
template, out, outdir, url = sys.argv[1:5]
agent = sys.argv[5] if len(sys.argv) > 5 else None
with open(template) as f:
    spec = json.load(f)
spec["outdir"] = outdir
if agent is None:
    spec["url"] = url
else:
    servers = spec.get("servers") or [{}]
    server = dict(servers[0])
    server["agent"] = agent
    server["url"] = url
    spec["servers"] = [server]
cases = os.environ.get("AUTOBAHN_CASES", "").strip()
if cases:
    spec["cases"] = [c.strip() for c in cases.split(",") if c.strip()]
with open(out, "w") as f:
    json.dump(spec, f, indent=3)
    f.write("\n")
PY
}

ensure_wstest() {
  if ! bash "$HERE/install.sh" | sed 's/^/  /'; then
    err "installing wstest failed (tests/autobahn/install.sh)"
    return 1
  fi
  [ -x "$WSTEST" ] || { err "wstest missing after install"; return 1; }
}

# build_example EXAMPLE -> sets EXAMPLE_BIN
build_example() {
  local example="$1"
  log "building: cargo build --release -p $PKG --example $example"
  if ! (cd "$ROOT" && cargo build --release -p "$PKG" --example "$example"); then
    err "cargo build of $PKG example $example failed"
    return 1
  fi
  EXAMPLE_BIN="$TARGET_DIR/release/examples/$example"
  [ -x "$EXAMPLE_BIN" ] || { err "built binary not found at $EXAMPLE_BIN"; return 1; }
}

check_report() { # REPORT_DIR LABEL WSTEST_LOG
  local args=("$1" "$AGENT" --label "$2" --wstest-log "$3")
  if [ "${REQUIRE_COMPRESSION:-0}" = 1 ]; then args+=(--require-compression); fi
  python3 "$HERE/check.py" "${args[@]}"
}

# ---- server mode: wstest fuzzingclient -> our echo server example -----------
run_server() {
  local outdir="$HERE/reports/servers/$AGENT"
  local spec="$outdir/fuzzingclient.spec.json"
  local server_log="$outdir/server.log"
  local wstest_log="$outdir/wstest.log"
  local cmd=() pid url line i rc=0 died=0 status what="$PKG $SERVER_EXAMPLE"

  log "== server mode: wstest tests the $PKG $SERVER_EXAMPLE (agent $AGENT)"
  if [ -n "${SERVER_CMD:-}" ]; then
    read -r -a cmd <<<"$SERVER_CMD"
    what="server (SERVER_CMD)"
    log "using SERVER_CMD: ${cmd[*]}"
  else
    build_example "$SERVER_EXAMPLE" || return 1
    cmd=("$EXAMPLE_BIN")
  fi
  ensure_wstest || return 1
  ensure_port_free "$SERVER_PORT" AUTOBAHN_SERVER_PORT || return 1

  rm -rf "$outdir"
  mkdir -p "$outdir" || return 1

  log "starting: ${cmd[*]} 127.0.0.1:$SERVER_PORT"
  "${cmd[@]}" "127.0.0.1:$SERVER_PORT" >"$server_log" 2>&1 </dev/null &
  pid=$!
  BG_PIDS+=("$pid")

  # Wait for the ready line, bounded in time and count.
  line=""
  for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
    line="$(grep -m1 -o 'listening on ws://[^[:space:]]*' "$server_log" || true)"
    [ -n "$line" ] && break
    if ! kill -0 "$pid" 2>/dev/null; then
      status=0; wait "$pid" || status=$?
      err "server exited (status $status) before printing 'listening on ws://ADDR'"
      show_tail "$server_log" "server output"
      return 1
    fi
    sleep 0.1
  done
  if [ -z "$line" ]; then
    err "server did not print 'listening on ws://ADDR' within ${READY_TIMEOUT}s"
    show_tail "$server_log" "server output"
    return 1
  fi
  url="${line#listening on }"
  log "server ready at $url (pid $pid)"

  make_spec "$HERE/fuzzingclient.json" "$spec" "$outdir" "$url" "$AGENT" || return 1
  log "running: wstest -m fuzzingclient (up to ${WSTEST_TIMEOUT}s; log $wstest_log)"
  local t0=$SECONDS
  (cd "$HERE" && PYTHONUNBUFFERED=1 timeout -k 10 "$WSTEST_TIMEOUT" \
      "$WSTEST" -u 0 -m fuzzingclient -s "$spec") >"$wstest_log" 2>&1 </dev/null || rc=$?
  log "wstest finished in $((SECONDS - t0))s (exit status $rc)"
  grep -m1 '^Ok, will run' "$wstest_log" | sed 's/^/  wstest: /' || true

  if ! kill -0 "$pid" 2>/dev/null; then
    died=1
    status=0; wait "$pid" || status=$?
    err "the $what process DIED during the test run (exit status $status); cases after the crash are missing from the report"
    show_tail "$server_log" "server output"
  fi
  stop_pid "$pid"

  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    err "wstest did not finish within ${WSTEST_TIMEOUT}s (the server probably hangs on a case)"
    show_tail "$wstest_log" "wstest output"
  elif [ "$rc" -ne 0 ]; then
    err "wstest exited with status $rc"
    show_tail "$wstest_log" "wstest output"
  fi

  local check_rc=0
  check_report "$outdir" server "$wstest_log" || check_rc=$?
  log "report: $outdir/index.html"
  [ "$rc" -eq 0 ] && [ "$died" -eq 0 ] && [ "$check_rc" -eq 0 ]
}

# ---- client mode: our client example -> wstest fuzzingserver ------------------
run_client() {
  local outdir="$HERE/reports/clients/$AGENT"
  local spec="$outdir/fuzzingserver.spec.json"
  local client_log="$outdir/client.log"
  local wstest_log="$outdir/wstest.log"
  local url="ws://127.0.0.1:$CLIENT_PORT"
  local cmd=() pid i ready=0 rc=0 status what="$PKG $CLIENT_EXAMPLE"

  log "== client mode: the $PKG $CLIENT_EXAMPLE runs against wstest (agent $AGENT)"
  if [ -n "${CLIENT_CMD:-}" ]; then
    read -r -a cmd <<<"$CLIENT_CMD"
    what="client (CLIENT_CMD)"
    log "using CLIENT_CMD: ${cmd[*]}"
  else
    build_example "$CLIENT_EXAMPLE" || return 1
    cmd=("$EXAMPLE_BIN")
  fi
  ensure_wstest || return 1
  ensure_port_free "$CLIENT_PORT" AUTOBAHN_CLIENT_PORT || return 1

  rm -rf "$outdir"
  mkdir -p "$outdir" || return 1
  make_spec "$HERE/fuzzingserver.json" "$spec" "$outdir" "$url" || return 1

  log "starting: wstest -m fuzzingserver on $url (log $wstest_log)"
  (cd "$HERE" && PYTHONUNBUFFERED=1 exec "$WSTEST" -u 0 -m fuzzingserver -s "$spec") \
    >"$wstest_log" 2>&1 </dev/null &
  pid=$!
  BG_PIDS+=("$pid")

  for ((i = 0; i < READY_TIMEOUT * 4; i++)); do   # port_open waits <= 0.5 s
    if ! kill -0 "$pid" 2>/dev/null; then
      status=0; wait "$pid" || status=$?
      err "wstest fuzzingserver exited (status $status) before accepting connections"
      show_tail "$wstest_log" "wstest output"
      return 1
    fi
    if port_open "$CLIENT_PORT"; then ready=1; break; fi
    sleep 0.25
  done
  if [ "$ready" -ne 1 ]; then
    err "wstest fuzzingserver did not accept connections on port $CLIENT_PORT within ~${READY_TIMEOUT}s"
    show_tail "$wstest_log" "wstest output"
    return 1
  fi
  log "wstest ready (pid $pid)"

  log "running: ${cmd[*]} $url $AGENT (up to ${CLIENT_TIMEOUT}s; log $client_log)"
  local t0=$SECONDS
  timeout -k 10 "$CLIENT_TIMEOUT" "${cmd[@]}" "$url" "$AGENT" >"$client_log" 2>&1 </dev/null || rc=$?
  log "client finished in $((SECONDS - t0))s (exit status $rc)"
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    err "the $what did not finish within ${CLIENT_TIMEOUT}s"
    show_tail "$client_log" "client output"
  elif [ "$rc" -ne 0 ]; then
    err "the $what exited with status $rc"
    show_tail "$client_log" "client output"
  fi

  if ! kill -0 "$pid" 2>/dev/null; then
    err "wstest fuzzingserver died during the run"
    show_tail "$wstest_log" "wstest output"
    rc=1
  fi
  stop_pid "$pid"
  grep -m1 '^Ok, will run' "$wstest_log" | sed 's/^/  wstest: /' || true

  local check_rc=0
  check_report "$outdir" client "$wstest_log" || check_rc=$?
  log "report: $outdir/index.html"
  [ "$rc" -eq 0 ] && [ "$check_rc" -eq 0 ]
}

# ---- main ------------------------------------------------------------------------
overall=0
case "$MODE" in
  server) run_server || overall=1 ;;
  client) run_client || overall=1 ;;
  all)
    ran=0
    if [ -n "${SERVER_CMD:-}" ] || [ -f "$ROOT/crates/$PKG/examples/$SERVER_EXAMPLE.rs" ]; then
      ran=1
      run_server || { overall=1; err "server mode failed for $PKG"; }
    else
      log "skipped server mode: crates/$PKG/examples/$SERVER_EXAMPLE.rs does not exist"
    fi
    if [ -n "${CLIENT_CMD:-}" ] || [ -f "$ROOT/crates/$PKG/examples/$CLIENT_EXAMPLE.rs" ]; then
      ran=1
      run_client || { overall=1; err "client mode failed for $PKG"; }
    else
      log "skipped client mode: crates/$PKG/examples/$CLIENT_EXAMPLE.rs does not exist"
    fi
    if [ "$ran" -eq 0 ]; then
      err "nothing to run for $PKG: neither examples/$SERVER_EXAMPLE.rs nor examples/$CLIENT_EXAMPLE.rs exists"
      overall=1
    fi
    ;;
esac

if [ "$overall" -eq 0 ]; then
  log "PASS ($MODE, $PKG, agent $AGENT)"
else
  log "FAIL ($MODE, $PKG, agent $AGENT): see the messages above"
fi
exit "$overall"
