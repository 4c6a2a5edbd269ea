#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build, once, the debug kernel of the `debug` test lane: Debian's
# linux-source-6.1 configured with scripts/debug-kernel.config on top of
# `make allnoconfig` (KASAN, lockdep, kmemleak, fault injection, ...; nothing
# a QEMU test VM does not need), `bzImage` plus `modules` (which prepares the
# tree and writes Module.symvers, so that out-of-tree modules build against
# it with `make -C KDIR M=...`).  The tree is cached in
#   $VIRTBE_CACHE/debug-kernel/<key>/linux-source-6.1
# where <key> hashes the config fragment, the linux-source-6.1 package
# version, the compiler (`gcc --version`: modules must be built by the same
# one) and this script's RECIPE.  A cache entry is complete only once its
# .complete file exists (written last): an interrupted build is resumed
# (make is incremental), a broken extraction redone.
#
# Usage: scripts/debug-kernel.sh [VAR]      (like scripts/kernels.sh)
#   Prints shell assignments KVER KREL KDIR VMLINUZ MODDIR KCACHE
#   (eval "$(scripts/debug-kernel.sh)"), or, given VAR, just that value.
#   scripts/debug-kernel.sh --key     print the cache key only (no build)
#   scripts/debug-kernel.sh --prune   delete every other cache entry
# Progress goes to stderr, the build's output to <entry>/build.log.
# Environment: VIRTBE_CACHE (default /var/cache/virtbe),
#   LINUX_SOURCE_TARBALL (default /usr/src/linux-source-6.1.tar.xz),
#   DEBUG_KERNEL_JOBS (default: nproc).
set -euo pipefail

# Bump when the build steps below change in a way that changes the result.
RECIPE=1

here=$(cd "$(dirname "$0")" && pwd)
frag=$here/debug-kernel.config
cache=${VIRTBE_CACHE:-/var/cache/virtbe}/debug-kernel
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
top=linux-source-6.1
jobs=${DEBUG_KERNEL_JOBS:-$(nproc)}
log() { echo "debug-kernel.sh: $*" >&2; }
die() { log "$*"; exit 1; }

want=${1:-}
[ -f "$frag" ] || die "$frag missing"
[ -r "$tarball" ] || die "$tarball missing (apt-get install linux-source-6.1, or run scripts/deps.sh)"
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
[ -n "$srcver" ] || srcver=$(stat -c '%s-%Y' "$tarball")	# not from the package: its size and date
ccver=$(gcc --version | head -n1)
key=$({ echo "recipe $RECIPE"; echo "source $srcver"; echo "cc $ccver"; cat "$frag"; } |
	sha256sum | cut -c1-16)
dir=$cache/$key
kdir=$dir/$top

case $want in
--key) echo "$key"; exit 0 ;;
--prune)
	for d in "$cache"/*/; do
		d=${d%/}
		[ -d "$d" ] && [ "$d" != "$dir" ] || continue
		log "removing $d"; rm -rf "$d"
	done
	exit 0 ;;
esac

# The lines of the fragment, as they must appear in the final .config.
wanted() { grep -E '^(CONFIG_[A-Za-z0-9_]+=.*|# CONFIG_[A-Za-z0-9_]+ is not set)$' "$frag"; }

build() {
	local t0 t1 missing l
	t0=$(date +%s)
	if [ ! -f "$dir/.extracted" ]; then
		log "extracting $tarball into $dir"
		rm -rf "$dir"
		mkdir -p "$dir"
		xz -T0 -dc "$tarball" | tar -x -C "$dir" -f -
		[ -f "$kdir/Makefile" ] || die "no $kdir/Makefile after extraction"
		touch "$dir/.extracted"
	fi
	if [ ! -f "$dir/.configured" ] || ! cmp -s "$dir/.configured" "$kdir/.config"; then
		log "configuring (allnoconfig + $(basename "$frag"))"
		rm -f "$dir/.configured"
		make -C "$kdir" -s KCONFIG_ALLCONFIG="$frag" allnoconfig >>"$dir/build.log" 2>&1 ||
			die "allnoconfig failed (see $dir/build.log)"
		missing=0
		while IFS= read -r l; do
			if ! grep -qxF -- "$l" "$kdir/.config"; then
				log "not in the final .config: $l"
				missing=1
			fi
		done < <(wanted)
		# a dependency missing from the fragment, or a symbol this source does not know
		[ $missing = 0 ] || die "$(basename "$frag") does not apply: fix it (see the lines above)"
		cp "$kdir/.config" "$dir/.configured"
	fi
	log "building bzImage and modules (prepares the tree for M=, writes Module.symvers), -j$jobs: a fresh build takes ~7-10 min (log: $dir/build.log)"
	if ! make -C "$kdir" -j"$jobs" bzImage modules >>"$dir/build.log" 2>&1; then
		tail -n 30 "$dir/build.log" >&2
		die "kernel build failed (log: $dir/build.log)"
	fi
	cmp -s "$dir/.configured" "$kdir/.config" || die "the build changed .config (see $dir/build.log)"
	[ -f "$kdir/arch/x86/boot/bzImage" ] || die "no bzImage after the build"
	[ -s "$kdir/Module.symvers" ] || die "no Module.symvers after the build"
	[ -x "$kdir/scripts/mod/modpost" ] || die "no modpost after the build"
	make -C "$kdir" -s kernelrelease >"$dir/kernelrelease"
	[ -s "$dir/kernelrelease" ] || die "no kernel release"
	t1=$(date +%s)
	{
		echo "key=$key"
		echo "source=$srcver"
		echo "cc=$ccver"
		echo "built=$(date -u +%FT%TZ) seconds=$((t1 - t0)) jobs=$jobs"
	} >"$dir/.complete.tmp"
	mv -f "$dir/.complete.tmp" "$dir/.complete"
	log "built in $((t1 - t0))s: $dir"
}

if [ ! -f "$dir/.complete" ]; then
	mkdir -p "$cache"
	exec 9>"$cache/.lock-$key"
	if ! flock -n 9; then
		log "waiting for another build of $key (flock $cache/.lock-$key)"
		flock 9
	fi
	[ -f "$dir/.complete" ] || build
	exec 9>&-
fi

krel=$(cat "$dir/kernelrelease")
vmlinuz=$kdir/arch/x86/boot/bzImage
if [ -n "$want" ]; then
	case $want in
	KVER) echo debug ;; KREL) echo "$krel" ;; KDIR) echo "$kdir" ;;
	VMLINUZ) echo "$vmlinuz" ;; MODDIR) echo "$dir/no-modules" ;; KCACHE) echo "$dir" ;;
	*) die "unknown variable $want" ;;
	esac
	exit 0
fi
# MODDIR: every driver is built in; the lane loads no module of its own kernel.
printf "KVER='%s'\nKREL='%s'\nKDIR='%s'\nVMLINUZ='%s'\nMODDIR='%s'\nKCACHE='%s'\n" \
	debug "$krel" "$kdir" "$vmlinuz" "$dir/no-modules" "$dir"
