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
# With --version 6.12 (the lane name debug-6.12, `scripts/kernels.sh
# debug-6.12`): the same from Debian's linux-source-6.12, with
# scripts/debug-kernel-6.12.config applied after debug-kernel.config
# (privcmd's own ioeventfd and irqfd, XEN_VIRTIO: the xen-debug-6.12 lane's
# dom0), cached in $VIRTBE_CACHE/debug-kernel-6.12/<key>/linux-source-6.12.
#
# Usage: scripts/debug-kernel.sh [--version 6.1|6.12] [VAR]  (like kernels.sh)
#   Prints shell assignments KVER KREL KDIR VMLINUZ MODDIR KCACHE
#   (eval "$(scripts/debug-kernel.sh)"), or, given VAR, just that value.
#   scripts/debug-kernel.sh --key     print the cache key only (no build)
#   scripts/debug-kernel.sh --prune   delete every other cache entry (of
#                                     the same version)
# Progress goes to stderr, the build's output to <entry>/build.log.
# Environment: VIRTBE_CACHE (default /var/cache/virtbe),
#   LINUX_SOURCE_TARBALL (default /usr/src/linux-source-<version>.tar.xz),
#   DEBUG_KERNEL_JOBS (default: nproc).
set -euo pipefail

# Bump when the build steps below change in a way that changes the result.
# 2-4: the PVH entry code is not KASAN-instrumented (unsanitize_pvh below)
# 5: gntdev's lock order (fix_gntdev below)
RECIPE=5

here=$(cd "$(dirname "$0")" && pwd)
log() { echo "debug-kernel.sh: $*" >&2; }
die() { log "$*"; exit 1; }
version=6.1
if [ "${1:-}" = --version ]; then
	version=${2:-}
	shift 2 || die "--version takes 6.1 or 6.12"
fi
frags=("$here/debug-kernel.config")
case $version in
6.1) cache=${VIRTBE_CACHE:-/var/cache/virtbe}/debug-kernel lane=debug ;;
6.12) cache=${VIRTBE_CACHE:-/var/cache/virtbe}/debug-kernel-6.12 lane=debug-6.12
	frags+=("$here/debug-kernel-6.12.config") ;;
*) die "--version takes 6.1 or 6.12, not '$version'" ;;
esac
pkg=linux-source-$version
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/$pkg.tar.xz}
top=$pkg
jobs=${DEBUG_KERNEL_JOBS:-$(nproc)}

want=${1:-}
for f in "${frags[@]}"; do
	[ -f "$f" ] || die "$f missing"
done
if [ ! -r "$tarball" ] && [ "$version" != 6.1 ] && [ -z "${LINUX_SOURCE_TARBALL:-}" ] &&
	[ "$(id -u)" = 0 ] && [ "${want#--}" = "$want" ]; then
	# not in scripts/deps.sh's default set: only this kernel needs it
	log "installing $pkg (its tarball is the source of the $lane kernel)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >&2 ||
		{ apt-get update -qq >&2 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >&2; } ||
		die "apt-get install $pkg failed"
fi
[ -r "$tarball" ] || die "$tarball missing (apt-get install $pkg, or run scripts/deps.sh)"
srcver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
[ -n "$srcver" ] || srcver=$(stat -c '%s-%Y' "$tarball")	# not from the package: its size and date
ccver=$(gcc --version | head -n1)
# the fragments concatenated, in order: what allnoconfig is given
frag=$(mktemp "${TMPDIR:-/tmp}/debug-kernel.XXXXXX.config")
trap 'rm -f "$frag"' EXIT
cat "${frags[@]}" >"$frag"
# (version 6.1's key is computed as before 6.12 existed: its cache stays valid)
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

# A PVH guest (the xen-pvh-debug lanes' dom0) enters at pvh_start_xen,
# whose C code (xen_prepare_pvh() and what it calls: xen_pvh_init(),
# mem_map_via_hcall(), xen_init_vga(), xen_efi_init(), memcmp() through
# xen_cpuid_base(), and on the first hypercall __xen_hypercall_setfunc()
# with init_cpu_devs(), cpu_detect() and get_cpu_vendor() of
# arch/x86/kernel/cpu/common.c) runs before kasan_early_init() has mapped
# KASAN's shadow: instrumented, its first access faults and the guest
# triple-faults at once.  Linux 6.12 already exempts arch/x86/platform/pvh/, and both
# exempt lib/string.o when AMD_MEM_ENCRYPT is set (as in Debian's
# kernels; not here), for the same reason; neither exempts the Xen side.
# Build those objects without KASAN, as the kernel does for its other
# early boot code (KASAN_SANITIZE, Documentation/dev-tools/kasan.rst).
unsanitize_pvh() {
	local mk
	mk=$kdir/lib/Makefile
	printf '\n# virtbe debug-kernel.sh: memcmp() runs before KASAN is set up (PVH entry)\n%s\n' \
		'KASAN_SANITIZE_string.o := n' >>"$mk"
	mk=$kdir/arch/x86/platform/pvh/Makefile
	grep -q '^KASAN_SANITIZE := n' "$mk" || printf '\n# virtbe debug-kernel.sh: runs before KASAN is set up\nKASAN_SANITIZE := n\n' >>"$mk"
	mk=$kdir/arch/x86/xen/Makefile
	printf '\n# virtbe debug-kernel.sh: runs before KASAN is set up (PVH entry)\n%s\n%s\n%s\n%s\n' \
		'KASAN_SANITIZE_enlighten_pvh.o := n' 'KASAN_SANITIZE_efi.o := n' \
		'KASAN_SANITIZE_vga.o := n' 'KASAN_SANITIZE_enlighten.o := n' >>"$mk"
	mk=$kdir/arch/x86/kernel/cpu/Makefile
	printf '\n# virtbe debug-kernel.sh: runs before KASAN is set up (PVH entry)\n%s\n' \
		'KASAN_SANITIZE_common.o := n' >>"$mk"
}

# Linux's gntdev (6.1 and 6.12 alike) calls copy_to_user() holding
# priv->lock in IOCTL_GNTDEV_MAP_GRANT_REF, and gntdev_mmap() takes
# priv->lock under mmap_lock: an ABBA inversion lockdep reports as soon as
# xenstored maps a domU's xenstore page in a debug dom0 ("possible circular
# locking dependency", gntdev_mmap), after which lockdep is off for the rest
# of the boot, virtbe included.  Not virtbe's code, but the xen-pvh-debug
# lanes need lockdep on: the copy is moved out of the lock (its error path
# takes the lock again and removes the map only if it is still listed).
fix_gntdev() {
	local f=$kdir/drivers/xen/gntdev.c
	perl -0pi -e 's|(\top\.index = map->index << PAGE_SHIFT;\n)\n(\tif \(copy_to_user\(u, &op, sizeof\(op\)\) != 0\) \{\n)\t\tlist_del\(&map->next\);\n\t\tmutex_unlock\(&priv->lock\);\n\t\tgntdev_put_map\(priv, map\);\n\t\treturn -EFAULT;\n\t\}\n\n\tmutex_unlock\(&priv->lock\);\n\treturn 0;|$1\t/* virtbe debug-kernel.sh: not across copy_to_user() */\n\tmutex_unlock(&priv->lock);\n\n$2\t\tmutex_lock(&priv->lock);\n\t\tif (gntdev_find_map_index(priv, op.index >> PAGE_SHIFT, op.count) != map) {\n\t\t\tmutex_unlock(&priv->lock);\n\t\t\treturn -EFAULT;\n\t\t}\n\t\tlist_del(&map->next);\n\t\tmutex_unlock(&priv->lock);\n\t\tgntdev_put_map(priv, map);\n\t\treturn -EFAULT;\n\t}\n\n\treturn 0;|' "$f"
	grep -q 'virtbe debug-kernel.sh: not across copy_to_user' "$f" ||
		die "$f: IOCTL_GNTDEV_MAP_GRANT_REF is not as expected: fix fix_gntdev()"
}

build() {
	local t0 t1 missing l
	t0=$(date +%s)
	if [ ! -f "$dir/.extracted" ]; then
		log "extracting $tarball into $dir"
		rm -rf "$dir"
		mkdir -p "$dir"
		xz -T0 -dc "$tarball" | tar -x -C "$dir" -f -
		[ -f "$kdir/Makefile" ] || die "no $kdir/Makefile after extraction"
		unsanitize_pvh
		fix_gntdev
		touch "$dir/.extracted"
	fi
	if [ ! -f "$dir/.configured" ] || ! cmp -s "$dir/.configured" "$kdir/.config"; then
		log "configuring (allnoconfig + ${frags[*]##*/})"
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
		[ $missing = 0 ] || die "${frags[*]##*/} do(es) not apply: fix it (see the lines above)"
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
	KVER) echo "$lane" ;; KREL) echo "$krel" ;; KDIR) echo "$kdir" ;;
	VMLINUZ) echo "$vmlinuz" ;; MODDIR) echo "$dir/no-modules" ;; KCACHE) echo "$dir" ;;
	*) die "unknown variable $want" ;;
	esac
	exit 0
fi
# MODDIR: every driver is built in; the lane loads no module of its own kernel.
printf "KVER='%s'\nKREL='%s'\nKDIR='%s'\nVMLINUZ='%s'\nMODDIR='%s'\nKCACHE='%s'\n" \
	"$lane" "$krel" "$kdir" "$vmlinuz" "$dir/no-modules" "$dir"
