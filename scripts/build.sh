#!/usr/bin/env bash
# Build out of tree: scripts/build.sh BUILDDIR [configure options...]
# Reconfigures when the options or the autotools inputs changed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: build.sh BUILDDIR [configure options]}
shift
opts="--with-dovecot=/usr/lib/dovecot $*"

cd "$top"
# (also when an interrupted autoreconf left configure without its helpers)
if [ ! -x configure ] || [ ! -f build-aux/install-sh ] || [ configure.ac -nt configure ]; then
  autoreconf -fi >/dev/null 2>&1 || { autoreconf -fi; exit 1; }
fi
mkdir -p "$build"
cd "$build"
if [ ! -f config.status ] || [ "$(cat .stepup-configure-opts 2>/dev/null)" != "$opts" ]; then
  # shellcheck disable=SC2086
  "$top/configure" $opts > configure.out 2>&1 || { cat configure.out; exit 1; }
  echo "$opts" > .stepup-configure-opts
fi
set -o pipefail
make -s -j"$(nproc)" 2>&1 | { grep -v '^libtool: ' || true; }
