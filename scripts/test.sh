#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing (apt-get),
# builds with -Werror under ASan+UBSan, runs the unit tests, a repeatable
# fuzz run and the integration tests against a real Dovecot: the host's
# Dovecot 2.3 (Debian 12), and beside it the same suite inside a Debian
# 13 chroot with Dovecot 2.4 (scripts/chroot24.sh: made by debootstrap
# on the first run, cached in /var/cache/dovecot-stepup). The two passes
# run at the same time (most of either is waiting on Dovecot and its
# clients, not on the CPU); the 2.4 pass's output follows the host's.
# Ends with one line "N passed, N failed" counting both; exit status 0
# only when nothing failed in either. STEPUP_ONLY_HOST=1 runs the host's
# pass alone (the summary then says that 2.4 did not run).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
started=$(date +%s)

bash scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

build=${STEPUP_BUILD_DIR:-$top/build}
export STEPUP_BUILD_DIR=$build

# The second pass, started now: the same suite in the Debian 13 chroot,
# against 2.4 (its own copy of the tree and its own build there).
pid24=""
log24="$build/test-24.log"
if [ -z "${STEPUP_IN_CHROOT:-}" ] && [ "${STEPUP_ONLY_HOST:-}" != 1 ]; then
  mkdir -p "$build"
  t24=$(date +%s)
  bash scripts/chroot24.sh run bash scripts/test.sh "$@" > "$log24" 2>&1 &
  pid24=$!
fi

if ! bash scripts/build.sh "$build" --enable-werror --enable-sanitizers; then
  echo "build failed"
  [ -n "$pid24" ] && wait "$pid24"
  echo "0 passed, 1 failed"
  exit 1
fi

passed=0 failed=0 skipped=0

# Unit tests (Dovecot lib-test: "name ..... : ok|FAILED").
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# libconfig leaks a buffer on some malformed files (fuzz/lsan.supp)
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$top/fuzz/lsan.supp}
# make check runs them (Makefile.am check-local: "== PROGRAM" before each
# program's output, "== PROGRAM: exit N" after one that failed); without
# valgrind, which cannot run under ASan.
unit_log="$build/unit-tests.log"
NOVALGRIND=1 make -s -C "$build" check > "$unit_log" 2>&1
for t in $(make -s -C "$build" print-unit-tests); do
  out=$(awk -v t="== $t" '$0 == t { on = 1; next } /^== / { on = 0 } on' \
        "$unit_log")
  ok=$(printf '%s\n' "$out" | grep -c ' : ok$')
  bad=$(printf '%s\n' "$out" | grep -c ' : FAILED$')
  if ! grep -qx "== $t" "$unit_log" ||
     { grep -q "^== $t: exit " "$unit_log" && [ "$bad" = 0 ]; }; then
    bad=1   # crashed, a sanitizer stopped it, or it never ran
  fi
  [ "$bad" != 0 ] && printf '%s\n' "$out" | tail -40
  echo "unit: $t: $ok ok, $bad failed"
  passed=$((passed + ok)); failed=$((failed + bad))
done

# A short, repeatable libFuzzer run of each target (the policy parser; the
# audit service's requests and the audit log reader; the approval
# endpoint's answers): a fixed seed and
# number of inputs; clang build in build-fuzz/. scripts/fuzz.sh SECONDS
# explores longer, from a random seed. One result per target.
fuzz_log="$build/fuzz.log"
bash scripts/fuzz.sh 120 "${STEPUP_FUZZ_RUNS:-20000}" > "$fuzz_log" 2>&1 || true
for target in policy audit approval; do
  if grep -q "^fuzz-$target: .*no finding" "$fuzz_log"; then
    echo "fuzz: $target: ok"
    passed=$((passed + 1))
  else
    echo "fuzz: $target: FAILED"
    failed=$((failed + 1))
  fi
done
grep -q "FAILED" "$fuzz_log" && tail -60 "$fuzz_log"

# Integration tests (pytest against a real Dovecot).
xml="$build/pytest.xml"
rm -f "$xml"
/usr/bin/python3 -m pytest "$top/tests/integration" -q -rfEs -p no:cacheprovider --durations=8 \
  --junitxml="$xml" "$@"
pytest_rc=$?
if [ "$pytest_rc" -gt 1 ]; then
  # interrupted, or an internal or usage error: the report counts only
  # what ran
  echo "pytest stopped early (exit status $pytest_rc)"
  failed=$((failed + 1))
fi
if [ -f "$xml" ]; then
  read -r ip if is < <(/usr/bin/python3 - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root)
t = f = s = 0
for su in suites:
    t += int(su.get("tests", 0)); s += int(su.get("skipped", 0))
    f += int(su.get("failures", 0)) + int(su.get("errors", 0))
print(t - f - s, f, s)
PY
)
  passed=$((passed + ip)); failed=$((failed + if)); skipped=$((skipped + is))
else
  echo "pytest produced no report"
  failed=$((failed + 1))
fi

dovecot=$(dovecot --version 2>/dev/null | cut -d' ' -f1)
summary() {
  if [ "$3" != 0 ]; then
    echo "$1 passed, $2 failed, $3 skipped"
  else
    echo "$1 passed, $2 failed"
  fi
}
host_line="Dovecot $dovecot: $(summary $passed $failed $skipped) in $(( $(date +%s) - started ))s"

# The second pass: the same suite in the Debian 13 chroot, against 2.4.
if [ -z "${STEPUP_IN_CHROOT:-}" ]; then
  if [ "${STEPUP_ONLY_HOST:-}" = 1 ]; then
    other_line="Dovecot 2.4: not run (STEPUP_ONLY_HOST=1)"
  else
    echo "== the same suite against Dovecot 2.4, in a Debian 13 chroot" \
      "(run beside the host's)"
    wait "$pid24"
    cat "$log24"
    last=$(tail -1 "$log24")
    if [[ "$last" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)?$ ]]; then
      passed=$((passed + BASH_REMATCH[1]))
      failed=$((failed + BASH_REMATCH[2]))
      skipped=$((skipped + ${BASH_REMATCH[4]:-0}))
      other_line="$(grep '^Dovecot ' "$log24" | tail -1)"
    else
      echo "the Dovecot 2.4 pass did not finish (see $log24)"
      failed=$((failed + 1))
      other_line="Dovecot 2.4: did not finish in $(( $(date +%s) - t24 ))s"
    fi
  fi
  echo "$host_line"
  echo "$other_line"
else
  echo "$host_line"
fi
summary $passed $failed $skipped
[ "$failed" = 0 ] && [ "$passed" != 0 ]
