#!/usr/bin/env bash
# Build the libFuzzer targets with clang (build-fuzz/) and run the policy
# fuzzer for SECONDS (default 60) on a copy of its corpus; with RUNS, stop
# after that many inputs from a fixed seed instead (a repeatable run, what
# the test suite does). Crashes and leaks are written to
# build-fuzz/crash-* and leak-*: add each to fuzz/corpus-policy/, which
# the unit tests replay.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
runs=${2:-}
limit="-max_total_time=$secs"
[ -z "$runs" ] || limit="-max_total_time=$secs -runs=$runs -seed=1"
build="$top/build-fuzz"
CC=clang bash "$top/scripts/build.sh" "$build" --with-fuzzer=clang \
  --enable-sanitizers CC=clang >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$top"/fuzz/corpus-policy/* "$work/"
cd "$build"
log="$build/fuzz-run.log"
if ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$top/fuzz/lsan.supp" \
  ./fuzz-policy $limit -max_len=4096 -timeout=10 \
  -print_final_stats=1 "$work" > "$log" 2>&1; then
  tail -5 "$log"
else
  # the report and the input that caused it (crash-*, leak-*, timeout-*)
  grep -v '^#[0-9]\|^INFO' "$log" | tail -60
  exit 1
fi
