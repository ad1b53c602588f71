#!/usr/bin/env bash
# Install (with apt-get, as root) whatever the build, the tests and the demo
# need and this Debian 12 machine does not have yet. Idempotent and quiet
# when everything is there.
set -eu

PACKAGES="
  gcc make pkg-config autoconf automake libtool clang libclang-rt-dev
  dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-dev
  liboath-dev oathtool libconfig-dev libcurl4-openssl-dev libqrencode-dev
  libssl-dev libcrypt-dev
  python3 python3-pytest python3-pyotp
  redis-server util-linux procps openssl logrotate
"
# the Debian 13 chroot the suite runs in a second time (scripts/chroot24.sh)
[ -n "${STEPUP_IN_CHROOT:-}" ] || PACKAGES="$PACKAGES debootstrap"
# the approval page's browser tests (headless; in the 2.4 chroot too)
PACKAGES="$PACKAGES chromium chromium-driver python3-selenium"
# a full-text search backend for the tests: Dovecot 2.4 (Debian 13) has
# no lucene, flatcurve instead
. /etc/os-release
case "${VERSION_ID:-}" in
  12) PACKAGES="$PACKAGES dovecot-lucene" ;;
  *) PACKAGES="$PACKAGES dovecot-flatcurve" ;;
esac

# the stepup-audit socket's group (doc/admin-guide.md): the shipped
# 90-stepup.conf gives it to the mail processes
if ! getent group stepup-audit >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    groupadd --system stepup-audit
  else
    echo "deps: no group stepup-audit (run as root to create it)" >&2
  fi
fi

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "deps: missing Debian packages:$missing (run as root to install them)" >&2
  exit 2
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
# Package scripts must not start the system's own Dovecot or Redis.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
