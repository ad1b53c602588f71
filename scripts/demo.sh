#!/usr/bin/env bash
# The demo: installs what is missing, builds, starts a sandbox Dovecot on
# loopback with the plugins and a sample policy, and walks through it.
# "scripts/demo.sh stop" stops it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ "${1:-start}" = stop ]; then
  exec /usr/bin/python3 scripts/demo.py stop
fi
bash scripts/deps.sh
export STEPUP_BUILD_DIR="$top/build-demo"
bash scripts/build.sh "$STEPUP_BUILD_DIR" >/dev/null
exec /usr/bin/python3 scripts/demo.py start
