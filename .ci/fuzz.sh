#!/usr/bin/env bash
# Fuzz ws-proto: build every cargo-fuzz target in fuzz/ and run each one for
# SECONDS (default 60), starting from the committed seeds.
#
#   bash .ci/fuzz.sh [SECONDS]
#
# Installs what it needs if missing: the nightly toolchain (cargo-fuzz's
# sanitizer flags need it; `cargo +nightly` overrides rust-toolchain.toml)
# and cargo-fuzz. Prints, per target, the executions (libFuzzer's final
# stats) and the time taken. If a target crashes, times out on an input
# (-timeout=10) or runs out of memory, it prints the input in hex and the
# command that reproduces it, and exits non-zero once every target has run.
#
# New corpus entries go to fuzz/target/ci-corpus/TARGET (ignored by git; on
# a developer's machine they carry over to the next run). To keep an
# interesting input as a seed, copy it to fuzz/corpus/TARGET/seed-NAME.
set -euo pipefail

RUN_SECONDS="${1:-60}"
case "$RUN_SECONDS" in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]  (a whole number of seconds per target)" >&2; exit 2 ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TERM_COLOR=never

START=$(date +%s)

# --- tools ----------------------------------------------------------------
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "== installing the nightly toolchain"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
echo "== $(rustc +nightly --version); $(cargo fuzz --version)"

# --- build ----------------------------------------------------------------
echo "== cargo +nightly fuzz build"
t0=$(date +%s)
if ! cargo +nightly fuzz build; then
  echo "FUZZ FAILED: the fuzz targets do not build (cd fuzz && cargo +nightly check --bins)"
  exit 1
fi
BUILD_TIME=$(($(date +%s) - t0))
echo "== build: ${BUILD_TIME}s"

mapfile -t TARGETS < <(cargo +nightly fuzz list)
if [ "${#TARGETS[@]}" -eq 0 ]; then
  echo "FUZZ FAILED: cargo fuzz list found no targets"
  exit 1
fi

LOGS=fuzz/target/ci-logs
mkdir -p "$LOGS"

hexdump_input() {
  if command -v xxd >/dev/null 2>&1; then
    xxd -l 4096 "$1"
  else
    od -A x -t x1z -v -N 4096 "$1"
  fi
  local size
  size=$(wc -c <"$1")
  if [ "$size" -gt 4096 ]; then echo "... ($size bytes in all)"; fi
}

# --- run ------------------------------------------------------------------
NAMES=()
RESULTS=()
EXECS=()
TIMES=()
FAILED=0
for target in "${TARGETS[@]}"; do
  corpus="fuzz/target/ci-corpus/$target"
  mkdir -p "$corpus"
  if compgen -G "fuzz/corpus/$target/seed-*" >/dev/null; then
    cp fuzz/corpus/"$target"/seed-* "$corpus"/
  fi
  log="$LOGS/$target.log"
  echo
  echo "== fuzz $target for ${RUN_SECONDS}s (log: $log)"
  t0=$(date +%s)
  set +e
  # The outer timeout only guards against a hang of the tooling itself.
  timeout -k 30 "$((RUN_SECONDS + 600))" \
    cargo +nightly fuzz run "$target" "$corpus" "fuzz/corpus/$target" -- \
    -max_total_time="$RUN_SECONDS" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  dt=$(($(date +%s) - t0))
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  if [ -z "$execs" ]; then
    # No final stats after a crash: take the last status line's count.
    execs=$(grep -o '^#[0-9]*' "$log" | tail -n 1 | tr -d '#')
  fi
  NAMES+=("$target")
  EXECS+=("${execs:-?}")
  TIMES+=("$dt")
  if [ "$rc" -eq 0 ]; then
    RESULTS+=(ok)
    echo "== $target: ok, ${execs:-?} executions in ${dt}s"
    continue
  fi
  FAILED=1
  RESULTS+=(FAILED)
  echo "== $target: FAILED (exit status $rc) after ${dt}s; the end of its log:"
  tail -n 60 "$log"
  artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
  if [ -n "$artifact" ] && [ -f "$artifact" ]; then
    echo
    echo "== $target: the failing input ($artifact), in hex:"
    hexdump_input "$artifact"
    echo "== reproduce with: cargo +nightly fuzz run $target $artifact"
    echo "== minimize with:  cargo +nightly fuzz tmin $target $artifact"
  elif [ "$rc" -eq 124 ]; then
    echo "== $target: the run hit its overall time limit (the fuzzer hung)"
  else
    echo "== $target: no failing input was written (a build or tooling error?)"
  fi
done

echo
echo "== fuzz summary (${RUN_SECONDS}s per target)"
printf '%-18s %-8s %12s %7s\n' target result executions time
printf '%-18s %-8s %12s %6ss\n' build "" "" "$BUILD_TIME"
for i in "${!NAMES[@]}"; do
  printf '%-18s %-8s %12s %6ss\n' "${NAMES[$i]}" "${RESULTS[$i]}" "${EXECS[$i]}" "${TIMES[$i]}"
done
printf '%-18s %-8s %12s %6ss\n' total "" "" "$(($(date +%s) - START))"
if [ "$FAILED" -ne 0 ]; then
  echo "FUZZ FAILED: a fuzz target found a failing input (hex and reproduce command above)"
  exit 1
fi
echo "fuzz: all ${#NAMES[@]} targets ran clean."
