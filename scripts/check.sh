#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The whole test suite (`make check`): host tests of lib/ (and of tools/*/
# that have a check target, and of the repository: scripts/spdx-check.sh,
# scripts/dkms-test.sh, scripts/deb-test.sh),
# then for each lane
# (LANES, default "6.1 6.12 debug xen xen-6.12 bao"; LANES set but
# empty, e.g. `make check LANES=`: none): build the modules, build the selftests,
# run them in QEMU.  The debug lane's kernel (KASAN, lockdep, kmemleak, fault
# injection) is built from linux-source-6.1 the first time (~10 min, then
# cached: scripts/debug-kernel.sh).  A lane that does not build counts as one
# failure and the others still run.  The last line printed is exactly
#   N passed, N failed, N skipped
# The xen, xen-pvh and xen-6.12 lanes boot Xen 4.17 with a dom0 (PV; PVH,
# i.e. auto-translated; PV running 6.12) and a domU instead
# (scripts/xen-lane.sh, ~1.5 min each);
# so does xen-arm64 (qemu-system-aarch64), not in the default LANES yet.
# xen-pvh-debug and xen-pvh-debug-6.12: a PVH dom0 running a debug kernel
# (KASAN, lockdep, kmemleak; the debug lane's, or one built from
# linux-source-6.12 with privcmd's ioeventfd: scripts/debug-kernel.sh).
# summed over everything; the exit status is non-zero if anything failed.
# The bao lane boots the Bao hypervisor under qemu-system-aarch64 with a
# backend and a frontend VM (scripts/bao-lane.sh; skipped, counted as one
# skip, without the third-party Bao tarballs).
set -uo pipefail

cd "$(dirname "$0")/.."
lanes=${LANES-6.1 6.12 debug xen xen-6.12 bao}	# set but empty: host tests only
make=${MAKE:-make}
B=$PWD/build
mkdir -p "$B"
jobs=-j$(nproc)
total_p=0 total_f=0 total_s=0
lines=()
start=$(date +%s)

add() {	# add LABEL COUNTSFILE
	local p f s
	if [ -s "$2" ] && read -r p f s <"$2"; then
		total_p=$((total_p + p)) total_f=$((total_f + f)) total_s=$((total_s + s))
		lines+=("$1: $p passed, $f failed, $s skipped")
	else
		total_f=$((total_f + 1))
		lines+=("$1: BROKEN (counted as 1 failure)")
	fi
}
step() { echo; echo "=== $* ($(( $(date +%s) - start ))s)"; }

step deps
if ! scripts/deps.sh; then
	echo "check: installing dependencies failed"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

# ---- host tests
step "host tests (lib)"
rm -f "$B/host.counts"
if [ -f lib/Makefile ]; then
	if $make --no-print-directory $jobs lib; then
		$make --no-print-directory -C lib check 2>&1 | tee "$B/host.log"
		rc=${PIPESTATUS[0]}
		scripts/tap-summary.sh --mode host --label host --counts "$B/host.counts" "$B/host.log"
		if [ "$rc" != 0 ]; then
			read -r p f s <"$B/host.counts"
			if [ "$f" = 0 ]; then	# a failing `make check` that printed no failure
				echo "check: make -C lib check exited $rc"
				echo "$p 1 $s" >"$B/host.counts"
			fi
		fi
	fi
	add host "$B/host.counts"
else
	echo "check: lib/Makefile does not exist yet: no host tests"
fi

# ---- host tests of tools/*/ that have a check target
for mk in tools/*/Makefile; do
	[ -f "$mk" ] && grep -q '^check:' "$mk" || continue
	d=${mk%/Makefile}; n=${d#tools/}
	step "host tests ($d)"
	rm -f "$B/host-$n.counts"
	$make --no-print-directory -C "$d" check 2>&1 | tee "$B/host-$n.log"
	rc=${PIPESTATUS[0]}
	scripts/tap-summary.sh --mode host --label "$d" --counts "$B/host-$n.counts" "$B/host-$n.log"
	if [ "$rc" != 0 ] && read -r p f s <"$B/host-$n.counts" && [ "$f" = 0 ]; then
		echo "check: make -C $d check exited $rc"
		echo "$p 1 $s" >"$B/host-$n.counts"
	fi
	add "host $d" "$B/host-$n.counts"
done

# ---- host tests of the repository itself: scripts printing TAP
host_script() {	# host_script NAME COMMAND...
	local n=$1 p f s rc; shift
	step "host tests ($n)"
	rm -f "$B/host-$n.counts"
	"$@" 2>&1 | tee "$B/host-$n.log"
	rc=${PIPESTATUS[0]}
	scripts/tap-summary.sh --mode host --label "$n" --counts "$B/host-$n.counts" "$B/host-$n.log"
	if [ "$rc" != 0 ] && read -r p f s <"$B/host-$n.counts" && [ "$f" = 0 ]; then
		echo "check: $* exited $rc"
		echo "$p 1 $s" >"$B/host-$n.counts"
	fi
	add "host $n" "$B/host-$n.counts"
}
host_script spdx scripts/spdx-check.sh
host_script uapi scripts/uapi-check.sh
host_script backend-stub scripts/backend-stub.sh
host_script dkms scripts/dkms-test.sh
# the Debian packages: built, lintian-checked, installed; with the 6.1 lane
# in LANES, a device run from the installed files in the 6.1 lane's VM
host_script deb scripts/deb-test.sh
host_script fuzz $make --no-print-directory -C fuzz check
host_script docs scripts/docs-test.sh

# ---- userspace programs for the VM (the same for every lane)
step "selftests"
selftests_ok=1
$make --no-print-directory $jobs selftests || selftests_ok=0

# ---- lanes
for lane in $lanes; do
	step "lane $lane"
	mkdir -p "$B/$lane"
	rm -f "$B/$lane/counts"
	case $lane in
	bao)
		# Bao under qemu-system-aarch64: a backend VM (virtbe_bao,
		# vbe-blk) serves a frontend VM's virtio-blk; builds Bao and
		# the frontend's kernel, skips without the Bao tarballs
		# (VIRTBE_THIRD_PARTY), retries a hung run once
		scripts/bao-lane.sh --log "$B/$lane/serial.log" --counts "$B/$lane/counts"
		add "lane $lane" "$B/$lane/counts"
		continue ;;
	esac
	if [[ $lane == xen || $lane == xen-* ]]; then
		# Xen 4.17 under QEMU with a real dom0 (PV, or auto-translated
		# PVH; a 6.12 PV dom0; or arm64) and domU: builds its own
		# initramfs and retries a run with a triple fault up to ten times, a hang once (scripts/xen-lane.sh)
		case $lane in
		xen) xa=(--dom0 pv) ;;
		xen-pvh) xa=(--dom0 pvh) ;;
		xen-6.12) xa=(--kver 6.12) ;;
		xen-pvh-debug) xa=(--dom0 pvh --kver debug) ;;
		xen-pvh-debug-6.12) xa=(--dom0 pvh --kver debug-6.12) ;;
		xen-arm64) xa=(--arch arm64) ;;
		*) xa=(--unknown-lane "$lane") ;;	# xen-lane.sh refuses it
		esac
		scripts/xen-lane.sh "${xa[@]}" \
			--log "$B/$lane/serial.log" --counts "$B/$lane/counts"
	elif [ $selftests_ok = 0 ]; then
		echo "check: $lane: selftests did not build"
	elif ! $make --no-print-directory $jobs modules KVER="$lane"; then
		echo "check: $lane: modules did not build"
	else
		# the end-to-end test drives the demo backend as /bin/vbe-blk;
		# the vhost-user test, qemu-storage-daemon through the bridge
		# (it skips what is not there)
		vu=()
		[ ! -x /usr/bin/qemu-storage-daemon ] ||
			vu+=(--extra /usr/bin/qemu-storage-daemon=/bin/qemu-storage-daemon)
		[ ! -x tools/vhost-user/virtbe-vhost-user ] ||
			vu+=(--extra "$PWD/tools/vhost-user/virtbe-vhost-user=/bin/virtbe-vhost-user")
		scripts/vm-run.sh --log "$B/$lane/serial.log" --counts "$B/$lane/counts" \
			--extra "$PWD/tools/vbe-blk/vbe-blk=/bin/vbe-blk" ${vu[@]+"${vu[@]}"} \
			"$lane" "$B/$lane/ko" "$B/selftests" tests
	fi
	add "lane $lane" "$B/$lane/counts"
done

step "summary"
for l in "${lines[@]}"; do echo "  $l"; done
echo "check: $(( $(date +%s) - start ))s"
echo "$total_p passed, $total_f failed, $total_s skipped"
[ $total_f -eq 0 ]
