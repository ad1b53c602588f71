#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing (apt-get),
# builds with -Werror under ASan+UBSan, runs the unit tests and the
# integration tests against a real Dovecot, and ends with one line
# "N passed, N failed". Exit status 0 only when nothing failed.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

bash scripts/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

build=${STEPUP_BUILD_DIR:-$top/build}
export STEPUP_BUILD_DIR=$build
if ! bash scripts/build.sh "$build" --enable-werror --enable-sanitizers; then
  echo "build failed"
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
/usr/bin/python3 -m pytest "$top/tests/integration" -q -rfEs -p no:cacheprovider \
  --junitxml="$xml" "$@"
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

if [ "$skipped" != 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
else
  echo "$passed passed, $failed failed"
fi
[ "$failed" = 0 ] && [ "$passed" != 0 ]
