#!/usr/bin/env bash
# Build the libFuzzer targets with clang (build-fuzz/) and run each for
# SECONDS (default 60) on a copy of its corpus; with RUNS, stop after that
# many inputs from a fixed seed instead (a repeatable run, what the test
# suite does). Targets: policy (the policy parser and compiler), audit
# (what the stepup-audit service and "stepup audit report" read) and
# approval (the approval endpoint's answers: signature header, response
# verification, JSON). Crashes and leaks are written to build-fuzz/crash-*
# and leak-*: add each to fuzz/corpus-TARGET/; the unit tests replay the
# policy and approval corpora.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
runs=${2:-}
limit="-max_total_time=$secs"
[ -z "$runs" ] || limit="-max_total_time=$secs -runs=$runs -seed=1"
build="$top/build-fuzz"
buildlog=$(mktemp)
if ! CC=clang bash "$top/scripts/build.sh" "$build" --with-fuzzer=clang \
  --enable-sanitizers CC=clang > "$buildlog" 2>&1; then
  echo "fuzz: the clang build failed:"
  tail -30 "$buildlog"
  rm -f "$buildlog"
  exit 1
fi
rm -f "$buildlog"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$build"
status=0
for target in policy audit approval; do
  mkdir "$work/$target"
  cp "$top"/fuzz/corpus-$target/* "$work/$target/"
  log="$build/fuzz-$target.log"
  if ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$top/fuzz/lsan.supp" \
    ./fuzz-$target $limit -max_len=4096 -timeout=10 \
    -print_final_stats=1 "$work/$target" > "$log" 2>&1; then
    echo "fuzz-$target: $(grep -c . "$log") lines of output, no finding"
    grep '^stat::number_of_executed_units' "$log" || true
  else
    # the report and the input that caused it (crash-*, leak-*, timeout-*)
    echo "fuzz-$target: FAILED"
    grep -v '^#[0-9]\|^INFO' "$log" | tail -60
    status=1
  fi
done
exit $status
