#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build, once, the Bao lane's frontend kernel: Debian's linux-source-6.1
# for arm64 (aarch64-linux-gnu-), `make allnoconfig` plus
# tools/bao-guest/frontend.config, an Image only (everything built in).
# Debian's arm64 kernels have no CONFIG_DMA_RESTRICTED_POOL, which the
# frontend VM needs: under Bao the backend VM sees only the shared regions,
# so the frontend's virtio DMA must be bounced through a restricted-dma-pool
# in them.
#
# The source is the full tree of linux-source-6.1 extracted (once, under
# scripts/harness.sh's lock) into $VIRTBE_CACHE/src/linux-source-6.1, where
# scripts/harness.sh keeps its few files; it stays pristine: the build is
# out of tree (O=) in
#   $VIRTBE_CACHE/bao/frontend-kernel/<key>/
# where <key> hashes the fragment, the linux-source-6.1 package version,
# the cross compiler's version and this script's RECIPE.  An entry is
# complete once its .complete file exists (written last).
#
# Usage: scripts/bao-frontend-kernel.sh [--key]
#   prints the path of the Image (building it first if needed); --key: the
#   cache key only.  Progress, with a heartbeat every 30 s, goes to stderr,
#   the build's output to <entry>/build.log.
# Environment: VIRTBE_CACHE (default /var/cache/virtbe),
#   LINUX_SOURCE_TARBALL (default /usr/src/linux-source-6.1.tar.xz),
#   BAO_KERNEL_JOBS (default: nproc).
set -euo pipefail

# Bump when the build steps below change in a way that changes the result.
RECIPE=1

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
frag=$top/tools/bao-guest/frontend.config
cache=${VIRTBE_CACHE:-/var/cache/virtbe}
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
src=$cache/src/linux-source-6.1
jobs=${BAO_KERNEL_JOBS:-$(nproc)}
cross=aarch64-linux-gnu-
say() { echo "bao-frontend-kernel.sh: $*" >&2; }
die() { say "$*"; exit 1; }

[ -f "$frag" ] || die "$frag missing"
[ -r "$tarball" ] || die "$tarball missing (apt-get install linux-source-6.1, or run scripts/deps.sh)"
command -v ${cross}gcc >/dev/null || die "${cross}gcc missing (scripts/deps.sh --arm64)"
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
[ -n "$srcver" ] || srcver=$(stat -c '%s-%Y' "$tarball")
ccver=$(${cross}gcc --version | head -n1)
key=$({ echo "recipe $RECIPE"; echo "source $srcver"; echo "cc $ccver"; cat "$frag"; } |
	sha256sum | cut -c1-16)
dir=$cache/bao/frontend-kernel/$key
image=$dir/Image
[ "${1:-}" != --key ] || { echo "$key"; exit 0; }
if [ -f "$dir/.complete" ] && [ -f "$image" ]; then
	echo "$image"
	exit 0
fi

# ---- the full source tree, once (scripts/harness.sh's directory and lock)
if [ "$(cat "$src/.full" 2>/dev/null)" != "$srcver" ]; then
	mkdir -p "$cache/src"
	exec 9>"$cache/.harness.lock"
	flock 9
	if [ "$(cat "$src/.full" 2>/dev/null)" != "$srcver" ]; then
		say "extracting the whole of $tarball into $src"
		t0=$(date +%s)
		rm -f "$src/.full"
		mkdir -p "$src"
		xz -T0 -dc "$tarball" | tar -x -C "$src" --strip-components=1 -f - ||
			die "extraction failed"
		[ -f "$src/Makefile" ] || die "no $src/Makefile after extraction"
		echo "$srcver" >"$src/.full"
		say "extracted in $(( $(date +%s) - t0 ))s"
	fi
	exec 9>&-
fi

# The lines of the fragment, as they must appear in the final .config.
wanted() { grep -E '^(CONFIG_[A-Za-z0-9_]+=.*|# CONFIG_[A-Za-z0-9_]+ is not set)$' "$frag"; }
kmake() { make -C "$src" O="$dir/obj" ARCH=arm64 CROSS_COMPILE=$cross "$@"; }

build() {
	local t0 t1 missing l pid rc
	t0=$(date +%s)
	mkdir -p "$dir/obj"
	if [ ! -f "$dir/.configured" ] || ! cmp -s "$dir/.configured" "$dir/obj/.config"; then
		say "configuring (allnoconfig + $(basename "$frag"))"
		rm -f "$dir/.configured"
		kmake -s KCONFIG_ALLCONFIG="$frag" allnoconfig >>"$dir/build.log" 2>&1 ||
			die "allnoconfig failed (see $dir/build.log)"
		missing=0
		while IFS= read -r l; do
			if ! grep -qxF -- "$l" "$dir/obj/.config"; then
				say "not in the final .config: $l"
				missing=1
			fi
		done < <(wanted)
		[ $missing = 0 ] || die "$(basename "$frag") does not apply: fix it (see the lines above)"
		cp "$dir/obj/.config" "$dir/.configured"
	fi
	say "building the arm64 Image, -j$jobs (log: $dir/build.log)"
	kmake -j"$jobs" Image >>"$dir/build.log" 2>&1 &
	pid=$!
	while kill -0 $pid 2>/dev/null; do
		for _ in $(seq 30); do
			sleep 1
			kill -0 $pid 2>/dev/null || break
		done
		! kill -0 $pid 2>/dev/null ||
			say "still building: $(( $(date +%s) - t0 ))s ($(grep -c '^  [A-Z]' "$dir/build.log") steps)"
	done
	rc=0; wait $pid || rc=$?
	if [ $rc != 0 ]; then
		tail -n 30 "$dir/build.log" >&2
		die "kernel build failed (log: $dir/build.log)"
	fi
	cmp -s "$dir/.configured" "$dir/obj/.config" || die "the build changed .config (see $dir/build.log)"
	[ -f "$dir/obj/arch/arm64/boot/Image" ] || die "no Image after the build"
	cp "$dir/obj/arch/arm64/boot/Image" "$image"
	t1=$(date +%s)
	{
		echo "key=$key"
		echo "source=$srcver"
		echo "cc=$ccver"
		echo "built=$(date -u +%FT%TZ) seconds=$((t1 - t0)) jobs=$jobs"
	} >"$dir/.complete.tmp"
	mv -f "$dir/.complete.tmp" "$dir/.complete"
	say "built in $((t1 - t0))s: $image"
}

mkdir -p "$cache/bao/frontend-kernel"
exec 9>"$cache/bao/frontend-kernel/.lock-$key"
if ! flock -n 9; then
	say "waiting for another build of $key"
	flock 9
fi
[ -f "$dir/.complete" ] || build
exec 9>&-
echo "$image"
