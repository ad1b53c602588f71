#!/usr/bin/env bash
# Build the libFuzzer targets with clang (build-fuzz/) and run the policy
# fuzzer for SECONDS (default 60) on a copy of its corpus. Crashes are
# written to build-fuzz/crash-*: turn each into a test file.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
build="$top/build-fuzz"
CC=clang bash "$top/scripts/build.sh" "$build" --with-fuzzer=clang \
  --enable-sanitizers CC=clang >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$top"/fuzz/corpus-policy/* "$work/"
cd "$build"
set -o pipefail
ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$top/fuzz/lsan.supp" \
  ./fuzz-policy -max_total_time="$secs" -max_len=4096 -timeout=10 \
  -print_final_stats=1 "$work" 2>&1 | tail -5
