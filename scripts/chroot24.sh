#!/usr/bin/env bash
# A Debian 13 (trixie) chroot with Dovecot 2.4, made by debootstrap from
# this machine's own Debian mirror and cached between runs
# (STEPUP_CHROOT, default /var/cache/dovecot-stepup/trixie): the suite
# runs a second time in it, against Dovecot 2.4 (scripts/test.sh).
#
#   chroot24.sh ensure         make the chroot, or bring it up to date
#                              (the packages scripts/deps.sh names)
#   chroot24.sh run CMD...     run CMD inside it, as root, in a private
#                              mount namespace, on a copy of this tree
#                              (/srv/stepup/NAME-HASH, one per checkout,
#                              kept between runs so builds are
#                              incremental), in which CMD starts, with
#                              STEPUP_TREE set to it; exit status is CMD's
#   chroot24.sh path           print the chroot's directory
#
# Nothing outside the chroot changes: /proc and /dev are mounted in a
# private mount namespace and vanish with it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
root=${STEPUP_CHROOT:-/var/cache/dovecot-stepup/trixie}
suite=trixie
lock="$root.lock"
# this checkout's copy inside the chroot
tree=/srv/stepup/$(basename "$top")-$(printf '%s' "$top" | sha256sum | cut -c1-8)

mirror() {
  local m=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources |
        grep -v security | head -1)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1 == "deb" && $0 !~ /security/ { print $2; exit }' \
        /etc/apt/sources.list)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

# Run a command inside the chroot (private mounts; a clean environment).
in_chroot() {
  local script='
    set -e
    r=$1; shift
    # a mount point, so that unshare --propagation works inside
    mount --bind "$r" "$r"
    mount -t proc proc "$r/proc"
    mount --rbind /dev "$r/dev"
    exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
      HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive TZ=UTC \
      STEPUP_IN_CHROOT=1 STEPUP_TREE="$tree" \
      ${STEPUP_FUZZ_RUNS:+STEPUP_FUZZ_RUNS=$STEPUP_FUZZ_RUNS} \
      sh -c "cd \"\$STEPUP_TREE\" 2>/dev/null || cd /; exec \"\$@\"" sh "$@"'
  tree=$tree unshare -m --propagation private sh -c "$script" sh "$root" "$@"
}

need_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 && return 0
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    debootstrap >/dev/null
}

# The chroot is shared by every checkout on the machine. A run holds
# $lock shared (runs of several checkouts go on side by side, each on its
# own copy of its tree); making the chroot or installing packages into it
# holds it exclusively, so no run sees packages change under it. Every
# deps.sh whose packages are installed is remembered (by its sha256 in
# .stepup-deps): packages are only ever added, so checkouts with
# different deps.sh do not take turns reinstalling.
deps_sum() {
  sha256sum "$top/scripts/deps.sh" | cut -d' ' -f1
}

chroot_ready() {
  [ -f "$root/.stepup-bootstrapped" ] &&
    grep -qx "$(deps_sum)" "$root/.stepup-deps" 2>/dev/null
}

take_lock() {
  flock "$@" -w 1800 9 || { echo "chroot24: $lock is held" >&2; exit 1; }
}

# Leaves $lock held shared on fd 9.
ensure() {
  [ "$(id -u)" = 0 ] || { echo "chroot24: must run as root" >&2; exit 2; }
  mkdir -p "$(dirname "$root")"
  exec 9> "$lock"
  take_lock -s
  chroot_ready && return 0
  take_lock -x
  if [ ! -f "$root/.stepup-bootstrapped" ]; then
    need_debootstrap
    rm -rf "$root"
    echo "chroot24: debootstrap $suite into $root from $(mirror)" >&2
    unshare -m --propagation private \
      debootstrap --variant=minbase "$suite" "$root" "$(mirror)" \
      > "$root.debootstrap.log" 2>&1 ||
      { tail -30 "$root.debootstrap.log" >&2; exit 1; }
    # package scripts must not start services inside the chroot
    printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    touch "$root/.stepup-bootstrapped"
  fi
  # the same packages as on the host, installed by the same script
  if ! chroot_ready; then
    mkdir -p "$root/srv/stepup-deps"
    cp "$top/scripts/deps.sh" "$root/srv/stepup-deps/deps.sh"
    echo "chroot24: installing packages in $root" >&2
    in_chroot bash /srv/stepup-deps/deps.sh
    in_chroot apt-get clean
    deps_sum >> "$root/.stepup-deps"
  fi
  take_lock -s
}

# Bring the copy in line with the tree: tracked and new files (not
# what .gitignore names: the chroot keeps its own configure and builds).
sync_tree() {
  local dst="$root$tree" list
  mkdir -p "$dst"
  list=$(mktemp)
  if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$top" && git ls-files -co --exclude-standard -z |
      xargs -0 -r sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh)
  else
    # an unpacked tarball: everything but builds and autotools output
    (cd "$top" && find . -type f ! -path './build*' ! -path './_demo/*' \
      ! -path './autom4te.cache/*' ! -name configure ! -name Makefile.in \
      ! -name aclocal.m4 ! -path './m4/l*' -print0)
  fi > "$list"
  if [ -f "$dst/.stepup-manifest" ]; then
    # files gone from the tree go from the copy too
    tr '\0' '\n' < "$dst/.stepup-manifest" | sort > "$list.old"
    tr '\0' '\n' < "$list" | sort > "$list.new"
    comm -23 "$list.old" "$list.new" | while IFS= read -r f; do
      rm -f "$dst/$f"
    done
    rm -f "$list.old" "$list.new"
  fi
  tar -C "$top" --null -T "$list" -cf - | tar -C "$dst" -xpf -
  mv "$list" "$dst/.stepup-manifest"
}

case "${1:-}" in
  ensure) ensure ;;
  path) echo "$root" ;;
  run)
    shift
    # the lock stays held, shared, while CMD runs (fd 9 stays open)
    ensure
    sync_tree
    in_chroot "$@"
    ;;
  *) echo "usage: $0 ensure | path | run CMD..." >&2; exit 2 ;;
esac
