#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Debian's arm64 Xen 4.17 hypervisor is built without CONFIG_IOREQ_SERVER
# (XEN_DMOP_create_ioreq_server: "Function not implemented"), which is an
# EXPERT option on Arm.  Rebuild only the hypervisor from Debian's own
# source package (fetched with apt-get source through scripts/apt-foreign.sh,
# Debian's patches applied by dpkg-source), with Debian's kconfig fragment
# plus CONFIG_EXPERT=y CONFIG_IOREQ_SERVER=y, cross-compiled with
# aarch64-linux-gnu-gcc (~35 s).  Cached in
#   $VIRTBE_CACHE/xen/arm64-hypervisor/<source version>-<config hash>/xen
# Prints that path.  Needs dpkg-dev (dpkg-source), flex, bison.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${VIRTBE_CACHE:-/var/cache/virtbe}
say() { echo "xen-arm64-hypervisor.sh: $*" >&2; }
die() { say "$*"; exit 1; }
. "$here/apt-foreign.sh"

extra='CONFIG_EXPERT=y
CONFIG_IOREQ_SERVER=y'
base=$cache/xen/arm64-hypervisor
mkdir -p "$base"
tag=$(printf '%s' "$extra" | md5sum | cut -c1-8)
# The newest source version that can be fetched: the security suite lists
# sources it does not serve, so try each, newest first.
memo=$base/.version
if [ -f "$memo" ] && [ -f "$base/$(cat "$memo")-$tag/xen" ] &&
	[ -z "$(find /var/lib/apt/lists -maxdepth 1 -newer "$memo" -name '*Sources*' 2>/dev/null)" ]; then
	echo "$base/$(cat "$memo")-$tag/xen"
	exit 0
fi
exec 9>"$base/.lock"
flock 9
src=$(mktemp -d "${TMPDIR:-/tmp}/virtbe-xensrc.XXXXXX")
trap 'rm -rf "$src"' EXIT
ver=
for v in $(fapt_cache arm64 showsrc xen | sed -n 's/^Version: //p' | sort -u -r -V); do
	if [ -f "$base/$v-$tag/xen" ]; then
		ver=$v; break
	fi
	if (cd "$src" && fapt_get arm64 source --download-only -q "xen=$v" >/dev/null 2>&1); then
		ver=$v; break
	fi
	say "source xen=$v cannot be fetched, trying an older one"
	rm -f "$src"/*
done
[ -n "$ver" ] || die "no xen source package can be fetched"
out=$base/$ver-$tag
if [ ! -f "$out/xen" ]; then
	say "building the hypervisor from xen $ver with IOREQ_SERVER"
	command -v dpkg-source >/dev/null || die "dpkg-source missing (dpkg-dev)"
	dpkg-source -x --no-check "$src"/xen_*.dsc "$src/tree" >/dev/null
	x=$src/tree/xen
	{ cat "$src/tree/debian/xen-kconfig" 2>/dev/null || true; echo "$extra"; } >"$x/.config"
	mk=(make -C "$x" XEN_TARGET_ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)
	"${mk[@]}" olddefconfig >"$src/build.log" 2>&1 &&
		"${mk[@]}" -j"$(nproc)" >>"$src/build.log" 2>&1 ||
		{ tail -30 "$src/build.log" >&2; die "the hypervisor build failed"; }
	for c in $extra; do
		grep -qx "$c" "$x/.config" || die "$c did not survive olddefconfig"
	done
	rm -rf "$out"; mkdir -p "$out"
	cp "$x/.config" "$out/config"
	cp "$x/xen" "$out/xen.tmp" && mv "$out/xen.tmp" "$out/xen"
	say "cached in $out"
fi
echo "$ver" >"$memo"
echo "$out/xen"
