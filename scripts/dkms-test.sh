#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# DKMS test, one of `make check`'s host tests (TAP): `make dkms-source`, then
# dkms add and dkms build (signing included) against Debian's 6.1 headers
# and, when they are there, the 6.12 ones (installed under /usr/src, or
# cached by the 6.12 lane under $VIRTBE_CACHE/kernels; else a SKIP), each with
# --kernelsourcedir; every module dkms.conf names must come out with the
# kernel's vermagic.  Everything happens in a temporary DKMS tree
# (--dkmstree, --sourcetree, a throw-away signing key): nothing is left in
# /var/lib/dkms or /usr/src.  Also checks that dkms.conf, Kbuild and the
# CHANGELOG name the same version.  SKIPs if dkms is not installed.
# Usage: scripts/dkms-test.sh
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
top=$PWD
cache=${VIRTBE_CACHE:-/var/cache/virtbe}

echo "TAP version 13"
if ! command -v dkms >/dev/null; then
	echo "1..0 # SKIP dkms is not installed (scripts/deps.sh installs it)"
	exit 0
fi

# the kernel trees: Debian amd64 headers for 6.1 and 6.12
kdirs=()
for d in /usr/src/linux-headers-6.1.*-amd64 /usr/src/linux-headers-6.12.*-amd64 \
	"$cache"/kernels/6.12.*/root/usr/src/linux-headers-6.12.*-amd64; do
	[ -f "$d/include/generated/utsrelease.h" ] || continue
	case $d in "$cache"/kernels/*) [ -f "${d%/root/*}/.complete" ] || continue ;; esac
	kdirs+=("$d")
done
# no 6.12 headers yet (a fresh machine: the 6.12 lane fetches them after
# the host tests): that build is a SKIP, not left out
skip612=0
case " ${kdirs[*]}" in *linux-headers-6.12.*) ;; *) skip612=1 ;; esac
echo "1..$((2 + ${#kdirs[@]} + skip612))"

tmp=$(mktemp -d /tmp/virtbe-dkms.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dk=(--dkmstree "$tmp/dkms" --sourcetree "$tmp/root/usr/src")
# a throw-away key: dkms would otherwise make one in /var/lib/dkms
export mok_signing_key=$tmp/mok.key mok_certificate=$tmp/mok.pub
mkdir -p "$tmp/dkms"
fail=0
not_ok() { echo "not ok $1"; sed 's/^/#   /' "$tmp/log"; fail=1; }

kv=$(sed -n 's/^VIRTBE_VERSION := *//p' Kbuild)
dv=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' dkms.conf)
cv=$(grep -m1 -o -E '^[0-9]+\.[0-9]+\.[0-9]+' CHANGELOG.rst 2>/dev/null)
if [ -n "$kv" ] && [ "$kv" = "$dv" ] && [ "$kv" = "$cv" ]; then
	echo "ok 1 - version $kv in Kbuild, dkms.conf and CHANGELOG.rst"
else
	echo "not ok 1 - versions differ: Kbuild '$kv', dkms.conf '$dv', CHANGELOG.rst '$cv'"
	fail=1
fi
ver=${dv:-0}

if make --no-print-directory -C "$top" dkms-source DESTDIR="$tmp/root" >"$tmp/log" 2>&1 &&
	dkms add -m virtbe -v "$ver" "${dk[@]}" >>"$tmp/log" 2>&1; then
	echo "ok 2 - dkms add virtbe/$ver (make dkms-source)"
	added=1
else
	not_ok "2 - dkms add virtbe/$ver (make dkms-source)"
	added=0
fi

n=2
for kdir in "${kdirs[@]}"; do
	n=$((n + 1))
	krel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$kdir/include/generated/utsrelease.h")
	what="dkms build virtbe/$ver for $krel ($kdir)"
	if [ $added = 0 ]; then
		echo "not ok $n - $what # not added"
		continue
	fi
	t0=$(date +%s)
	if ! dkms build -m virtbe -v "$ver" -k "$krel" --kernelsourcedir "$kdir" "${dk[@]}" \
		>"$tmp/log" 2>&1; then
		not_ok "$n - $what"
		cat "$tmp/dkms/virtbe/$ver/build/make.log" 2>/dev/null | tail -n 20 | sed 's/^/#   /'
		continue
	fi
	mods=$(kernel_source_dir=$kdir; . ./dkms.conf; echo "${BUILT_MODULE_NAME[@]}")
	bad=
	for m in $mods; do
		ko=$(ls "$tmp"/dkms/virtbe/"$ver"/"$krel"/*/module/"$m".ko* 2>/dev/null | head -n1)
		if [ -z "$ko" ]; then bad+=" $m: not built;"; continue; fi
		vm=$(modinfo -F vermagic "$ko" 2>/dev/null)
		[ "${vm%% *}" = "$krel" ] || bad+=" $m: vermagic '$vm';"
	done
	if [ -z "$bad" ]; then
		echo "ok $n - $what: $mods ($(( $(date +%s) - t0 ))s)"
	else
		echo "not ok $n - $what:$bad"
		fail=1
	fi
done
[ $skip612 = 0 ] || echo "ok $((n + 1)) - dkms build virtbe/$ver for 6.12 # SKIP no 6.12 headers: neither /usr/src/linux-headers-6.12.*-amd64 nor the 6.12 lane's cache ($cache/kernels; make check LANES=6.12 fetches them)"
dkms status "${dk[@]}" 2>/dev/null | sed 's/^/# /'
exit $fail
