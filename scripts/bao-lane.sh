#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The Bao lane (`make check LANES=bao`, not in the default LANES): the Bao
# static partitioning hypervisor under qemu-system-aarch64 (TCG; virt,
# GICv3, cortex-a53, -smp 2, no firmware: QEMU enters bao.bin at EL2) runs
# two Linux VMs, one CPU each, with two remote I/O (virtio-mmio) devices
# between them (tools/bao-guest/config.c):
#   VM 0, the backend: Debian's arm64 6.1 kernel with virtbe.ko and
#     virtbe_bao.ko (make modules KVER=arm64), two vbe-blk processes and
#     virtbe-vhost-user (cross-built, static) with Debian's arm64
#     qemu-storage-daemon and its libraries (scripts/foreign-root.sh)
#     serving the frontend's three disks; it runs the test
#     (tools/bao-guest/backend-test.sh) and prints the TAP;
#   VM 1, the frontend: a kernel this lane builds from linux-source-6.1
#     (scripts/bao-frontend-kernel.sh: Debian's arm64 kernels lack
#     CONFIG_DMA_RESTRICTED_POOL, and the frontend's virtio DMA must stay in
#     the regions the backend can see), whose own virtio_mmio/virtio_blk
#     drivers use the devices: mke2fs, 8 MiB written and verified; it
#     reports through its second disk (tools/bao-guest/frontend-init.sh).
# With --bench (make bench-bao) both VMs also run the benchmark: kick
# round trips measured in the frontend (tools/bao-guest/bao-kick.c) on
# three paths that tools/bao-guest/vbe-bao-bench.c serves in the backend
# (a virtbe ioeventfd, virtbe's request channel relayed from userspace,
# and Bao's own driver: bao-linux-drivers' iodispatcher, built from its
# third-party tarball), against an eventfd ping-pong floor in the backend
# VM, and 4 KiB random reads (tools/xen-guest/vbe-randread.c) from the
# disks vbe-blk and the bridge serve: the "# bao ..." lines of the log.
# Bao is built from the third-party tarball (never in the repository),
# unpacked and patched (tools/bao-guest/patches/) in
#   $VIRTBE_CACHE/bao/<commit>-<hash of patches and config>/
# Each VM image is tools/bao-guest/loader.S: the loader, the VM's device
# tree (tools/bao-guest/*.dts.in, with /chosen's initrd range filled in),
# the kernel Image and the initramfs (busybox from Debian's arm64
# busybox-static).  Bao has no SYSTEM_OFF: the lane stops QEMU when the
# backend prints "### VIRTBE DONE" (or a panic, or the time limit).
#
# Usage: scripts/bao-lane.sh [--log FILE] [--counts FILE] [--timeout S]
#                            [--retries N] [--quiet] [--bench]
#   --log FILE    the serial console (default build/bao/serial.log)
#   --counts FILE write "passed failed skipped" there (scripts/check.sh)
#   --timeout S   one boot's limit (default 900, env VIRTBE_BAO_TIMEOUT)
#   --retries N   a run that hung (no "### VIRTBE DONE") is retried, at
#                 most once, if N > 0 (default 1)
#   --quiet       do not copy the console to stdout
#   --bench       run the benchmark too (two more TAP results)
# Env VIRTBE_BAO_QEMU_ARGS: more QEMU options (then no -monitor none).
# Env VIRTBE_BAO_BOOTARGS: more kernel parameters for both VMs (they
#   reach the test scripts as variables, e.g. virtbe_bench_bao=0: the
#   benchmark without Bao's own driver).
# Env VIRTBE_THIRD_PARTY: the directory of the third-party tarballs
#   (default: ../shared/third-party next to the checkout); without
#   bao-hypervisor-<commit>.tar.gz there the lane is skipped (one SKIP,
#   exit 0).
# Exit status 0 only if every TAP result passed (or the lane was skipped).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
cache=${VIRTBE_CACHE:-/var/cache/virtbe}
guest=$top/tools/bao-guest
log= counts= timeout=${VIRTBE_BAO_TIMEOUT:-900} retries=1 quiet=0 bench=0
die() { echo "bao-lane.sh: $*" >&2; exit 2; }
say() { echo "bao-lane.sh: $*" >&2; }
while [ $# -gt 0 ]; do
	case $1 in
	--log) log=$2; shift 2 ;;
	--counts) counts=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--retries) retries=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	--bench) bench=1; shift ;;
	-h|--help) sed -n '3,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument $1" ;;
	esac
done
[ -n "$log" ] || log=$top/build/bao/serial.log
mkdir -p "$(dirname "$log")"
summary() {	# summary [--host-fail MSG]...: the TAP summary of $log
	local args=(--label bao --mode tests)
	[ -z "$counts" ] || args+=(--counts "$counts")
	"$here/tap-summary.sh" "${args[@]}" "$@" "$log"
}

# ------------------------------------------------ the third-party sources
third=${VIRTBE_THIRD_PARTY:-$top/../shared/third-party}
tarball=$(ls -1 "$third"/bao-hypervisor-*.tar.gz 2>/dev/null | sort | tail -n 1 || true)
if [ -z "$tarball" ]; then
	why="no Bao sources in '$third': the Bao lane needs the third-party tarballs bao-hypervisor-<commit>.tar.gz, bao-demos-<commit>.tar.gz and bao-linux-drivers-v6.1-<commit>.tar.gz (it builds the first; the others are its references); set VIRTBE_THIRD_PARTY to their directory"
	say "SKIP: $why"
	printf '### VIRTBE BEGIN bao\n1..0 # SKIP %s\n### VIRTBE END bao rc=0 timeout=0 kwarn=0\n### VIRTBE DONE\n' "$why" >"$log"
	summary
	exit 0
fi
commit=${tarball##*/bao-hypervisor-}; commit=${commit%.tar.gz}

"$here/deps.sh" --arm64 >&2
. "$here/apt-foreign.sh"

# ----------------------- arm64 packages: busybox, libfdt.a, libgcc_s
# the initramfs holds no host binary: busybox from Debian's arm64
# busybox-static, vbe-blk static with the arm64 libfdt-dev's libfdt.a
apkgs=(busybox-static libfdt-dev libgcc-s1)	# libgcc_s: glibc dlopens it (pthread_cancel)
vers=
for p in "${apkgs[@]}"; do
	v=$(fapt_version arm64 "$p")
	[ -n "$v" ] || die "$p not found in the arm64 archive"
	vers="$vers $p=$v"
done
adir=$cache/bao/arm64-$(echo "$vers" | sha256sum | cut -c1-12)
aroot=$adir/root
if [ ! -f "$adir/.complete" ]; then
	mkdir -p "$cache/bao"
	exec 9>"$cache/bao/.lock-arm64"
	flock 9
	if [ ! -f "$adir/.complete" ]; then
		say "fetching arm64$vers"
		rm -rf "$adir"; mkdir -p "$adir/debs" "$aroot"
		(cd "$adir/debs" && fapt_get arm64 download -q "${apkgs[@]}" >&2) || die "apt-get download failed"
		for d in "$adir"/debs/*.deb; do dpkg -x "$d" "$aroot"; done
		rm -rf "$adir/debs"
		echo "$vers" >"$adir/.complete"
	fi
	exec 9>&-
fi
[ -x "$aroot/bin/busybox" ] || die "no busybox in $aroot"

# --------------------------------------------------- modules and vbe-blk
t_build=$(date +%s)
# (modules of an earlier build must not stand in for a failed one)
rm -f "$top"/build/arm64/ko/*.ko
make -C "$top" --no-print-directory modules KVER=arm64 >&2 ||
	die "make modules KVER=arm64 failed"
eval "$("$here/kernels.sh" arm64)"
ko=$top/build/arm64/ko
[ -f "$ko/virtbe.ko" ] || die "$ko/virtbe.ko was not built"
[ -f "$ko/virtbe_bao.ko" ] || say "$ko/virtbe_bao.ko was not built: the backend VM runs without it"
# vbe-blk and libvirtbe, cross-built in a copy of their sources (the
# host's objects stay where they are), statically
triplet=aarch64-linux-gnu cross=aarch64-linux-gnu-
u=$top/build/bao/user
rm -rf "$u"; mkdir -p "$u/tools"
cp -a "$top/uapi" "$top/lib" "$u/"
cp -a "$top/tools/vbe-blk" "$top/tools/vhost-user" "$top/tools/common" "$u/tools/"
make -C "$u/lib" --no-print-directory -s clean >&2
ucflags="-O2 -g -I$aroot/usr/include -L$aroot/usr/lib/$triplet"
for t in vbe-blk vhost-user; do
	make -C "$u/tools/$t" --no-print-directory -s clean >&2
done
make -C "$u/tools/vbe-blk" --no-print-directory vbe-blk CC=${cross}gcc AR=${cross}ar \
	CFLAGS="$ucflags" >&2 || die "cross-building vbe-blk failed"
make -C "$u/tools/vhost-user" --no-print-directory virtbe-vhost-user CC=${cross}gcc AR=${cross}ar \
	CFLAGS="$ucflags" >&2 || die "cross-building virtbe-vhost-user failed"
vbe_blk=$u/tools/vbe-blk/vbe-blk bridge=$u/tools/vhost-user/virtbe-vhost-user
# the benchmark's programs: the backend's (with libvirtbe.a) and the
# frontend's, static
${cross}gcc -D_GNU_SOURCE -std=gnu11 -Wall -Wextra -Werror $ucflags -static \
	-I"$u/uapi" -I"$u/lib/include" -o "$u/vbe-bao-bench" "$guest/vbe-bao-bench.c" \
	"$u/lib/libvirtbe.a" -lpthread || die "cross-building vbe-bao-bench failed"
${cross}gcc -std=gnu11 -Wall -Wextra -Werror -O2 -static -o "$u/bao-kick" "$guest/bao-kick.c" ||
	die "cross-building bao-kick failed"
${cross}gcc -D_GNU_SOURCE -std=gnu11 -Wall -Wextra -Werror -O2 -static -o "$u/vbe-randread" \
	"$top/tools/xen-guest/vbe-randread.c" -lpthread || die "cross-building vbe-randread failed"
# Debian's arm64 qemu-storage-daemon and the libraries it needs
qroot=$("$here/foreign-root.sh" arm64 /usr/bin/qemu-storage-daemon) ||
	die "no arm64 qemu-storage-daemon"

# Bao's own driver, for the benchmark: bao-linux-drivers' iodispatcher,
# built from its tarball against the backend kernel's headers
iod=
if [ $bench = 1 ]; then
	dtar=$(ls -1 "$third"/bao-linux-drivers-*.tar.gz 2>/dev/null | sort | tail -n 1 || true)
	[ -n "$dtar" ] || die "--bench needs bao-linux-drivers-<version>.tar.gz in $third"
	iod=$cache/bao/$(basename "$dtar" .tar.gz)-$KREL
	exec 9>"$cache/bao/.lock-iodispatcher"
	flock 9
	if [ ! -f "$iod/iodispatcher.ko" ]; then
		rm -rf "$iod"; mkdir -p "$iod"
		tar -xzf "$dtar" -C "$iod" --strip-components=2 bao-linux-drivers/iodispatcher ||
			die "no iodispatcher/ in ${dtar##*/}"
		make -C "$KDIR" M="$iod" ARCH=arm64 CROSS_COMPILE=$cross modules >"$iod/build.log" 2>&1 ||
			{ tail -n 20 "$iod/build.log" >&2; die "building Bao's iodispatcher failed"; }
	fi
	exec 9>&-
fi

# --------------------------------------------------- the frontend kernel
fe_image=$("$here/bao-frontend-kernel.sh") || die "the frontend kernel did not build"

work=$(mktemp -d "${TMPDIR:-/tmp}/virtbe-bao.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ------------------------------------------------------------ initramfs
applets=$("$aroot/bin/busybox" --list 2>/dev/null || busybox --list)	# host: the same package's list
skeleton() {	# skeleton DIR: busybox and the usual directories
	mkdir -p "$1"/{bin,dev,proc,sys,tmp,etc,root,run,mnt,var/log,var/run}
	cp "$aroot/bin/busybox" "$1/bin/busybox"
	for a in $applets; do
		[ "$a" = busybox ] || ln -sf busybox "$1/bin/$a"
	done
	ln -s bin "$1/sbin"
	mkdir -p "$1/usr"; ln -s ../bin "$1/usr/bin"; ln -s ../bin "$1/usr/sbin"
}
cpio_gz() { (cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet | gzip -1) >"$2"; }

b=$work/backend
skeleton "$b"
mkdir -p "$b/virtbe"
cp "$ko/virtbe.ko" "$b/virtbe/"
[ ! -f "$ko/virtbe_bao.ko" ] || cp "$ko/virtbe_bao.ko" "$b/virtbe/"
rm -f "$b/bin/vbe-blk"; cp "$vbe_blk" "$b/bin/vbe-blk"
cp "$bridge" "$u/vbe-bao-bench" "$b/bin/"
[ -z "$iod" ] || cp "$iod/iodispatcher.ko" "$b/virtbe/"
# qemu-storage-daemon, its libraries (by DT_NEEDED) and the loader
cp "$qroot/usr/bin/qemu-storage-daemon" "$b/bin/"
mkdir -p "$b/lib/$triplet"
todo=$(readelf -d "$b/bin/qemu-storage-daemon" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
todo="$todo libgcc_s.so.1"
while [ -n "$todo" ]; do
	set -- $todo; l=$1; shift; todo="$*"
	[ -e "$b/lib/$triplet/$l" ] && continue
	f=
	for dir in "$qroot/lib/$triplet" "$qroot/usr/lib/$triplet" "$aroot/lib/$triplet" "$aroot/usr/lib/$triplet"; do
		[ -e "$dir/$l" ] && { f=$dir/$l; break; }
	done
	[ -n "$f" ] || die "$l (needed by qemu-storage-daemon) is in none of the arm64 packages"
	cp -L "$f" "$b/lib/$triplet/"
	todo="$todo $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
done
cp -L "$qroot/lib/ld-linux-aarch64.so.1" "$b/lib/"
[ -e "$b/usr/lib" ] || ln -s ../lib "$b/usr/lib"
cp "$guest/backend-test.sh" "$b/bin/backend-test"
chmod +x "$b/bin/backend-test"
cat >"$b/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
echo "### VIRTBE BOOTED $(uname -r) mode=bao"
dmesg -n 1
/bin/backend-test
sync
# no poweroff: Bao has no PSCI SYSTEM_OFF (the kernel would panic when
# it returns); the lane stops QEMU on backend-test's "### VIRTBE DONE"
while :; do sleep 3600; done
INIT
chmod +x "$b/init"
cpio_gz "$b" "$work/backend.cpio.gz"

f=$work/frontend
skeleton "$f"
cp "$guest/frontend-init.sh" "$f/init"
cp "$u/bao-kick" "$u/vbe-randread" "$f/bin/"
chmod +x "$f/init"
cpio_gz "$f" "$work/frontend.cpio.gz"
say "initramfs: backend $(du -h "$work/backend.cpio.gz" | cut -f1), frontend $(du -h "$work/frontend.cpio.gz" | cut -f1)"

# ------------------------------------------------------------ VM images
# vm_image NAME RAMBASE IMAGE INITRD BOOTARGS: $work/NAME.bin, loader.S's
# layout (loader.ld): DTB at +0x1000, Image at +0x200000, the initramfs
# above the Image's image_size (its bss included), 2 MiB aligned
vm_image() {
	local name=$1 base=$2 image=$3 initrd=$4 bootargs=$5 isz off start end
	[ "$(od -An -c -j 56 -N 4 "$image" | tr -d ' ')" = ARMd ] || die "$image is not an arm64 Image"
	isz=$(od -An -t u8 -j 16 -N 8 "$image" | tr -d ' ')
	[ "$isz" -gt 0 ] || isz=$(stat -c %s "$image")	# (a header without image_size)
	off=$(( 0x200000 + ((isz + 0x1fffff) & ~0x1fffff) ))
	start=$(( base + off )) end=$(( base + off + $(stat -c %s "$initrd") ))
	sed -e "s|@INITRD_START@|$(printf '0x%x 0x%x' $((start >> 32)) $((start & 0xffffffff)))|" \
		-e "s|@INITRD_END@|$(printf '0x%x 0x%x' $((end >> 32)) $((end & 0xffffffff)))|" \
		-e "s|@BOOTARGS@|$(printf '%s' "$bootargs" | sed 's/[|&\\]/\\&/g')|" \
		"$guest/$name.dts.in" >"$work/$name.dts"
	dtc -q -I dts -O dtb -o "$work/$name.dtb" "$work/$name.dts" || die "dtc $name.dts failed"
	${cross}gcc -c -x assembler-with-cpp -Ulinux -DDTB="\"$work/$name.dtb\"" \
		-DIMAGE="\"$image\"" -DINITRD="\"$initrd\"" "$guest/loader.S" -o "$work/$name.o"
	${cross}ld -T "$guest/loader.ld" --defsym=initrd_off=$off "$work/$name.o" -o "$work/$name.elf"
	${cross}objcopy -O binary "$work/$name.elf" "$work/$name.bin"
	say "$name image: $(( $(stat -c %s "$work/$name.bin") >> 20 )) MiB (initramfs at $(printf 0x%x $start))"
}
# unknown kernel parameters reach the backend's /init (and backend-test)
bargs=
[ $bench = 0 ] || bargs=" virtbe_bench=1"
bargs="$bargs${VIRTBE_BAO_BOOTARGS:+ $VIRTBE_BAO_BOOTARGS}"
vm_image backend 0x80000000 "$VMLINUZ" "$work/backend.cpio.gz" \
	"earlycon=pl011,0x9000000 console=ttyAMA0 quiet loglevel=4 panic=-1$bargs"
vm_image frontend 0x10000000 "$fe_image" "$work/frontend.cpio.gz" \
	"earlycon=pl011,0x9000000 keep_bootcon quiet loglevel=4 uio_pdrv_genirq.of_id=virtbe,bench$bargs"

# ------------------------------------------------------------------ Bao
phash=$(cat "$guest"/patches/*.patch "$guest/config.c" | sha256sum | cut -c1-12)
bdir=$cache/bao/$commit-$phash
mkdir -p "$cache/bao"
exec 9>"$cache/bao/.lock-$commit-$phash"
flock 9
if [ ! -f "$bdir/.unpacked" ]; then
	say "unpacking ${tarball##*/} into $bdir, with tools/bao-guest/patches/"
	rm -rf "$bdir"; mkdir -p "$bdir"
	tar -xzf "$tarball" -C "$bdir"
	[ -f "$bdir/bao-hypervisor/Makefile" ] || die "no bao-hypervisor/Makefile in ${tarball##*/}"
	# (patch(1) comes with dpkg-dev, which deps.sh --arm64 installs)
	for p in "$guest"/patches/*.patch; do
		patch -s -p1 -d "$bdir/bao-hypervisor" <"$p" || die "${p##*/} does not apply"
	done
	touch "$bdir/.unpacked"
fi
# the configuration, with this run's image paths (a new file each run:
# Bao's Makefile does not track the .incbin'd images)
mkdir -p "$bdir/configs"
sed -e "s|@BACKEND_IMAGE@|\"$work/backend.bin\"|" -e "s|@FRONTEND_IMAGE@|\"$work/frontend.bin\"|" \
	"$guest/config.c" >"$bdir/configs/virtbe.c"
t0=$(date +%s)
make -C "$bdir/bao-hypervisor" -s -j"$(nproc)" PLATFORM=qemu-aarch64-virt \
	CROSS_COMPILE=$cross CONFIG_REPO="$bdir/configs" CONFIG=virtbe >"$bdir/build.log" 2>&1 ||
	{ tail -n 30 "$bdir/build.log" >&2; die "building Bao failed (log: $bdir/build.log)"; }
cp "$bdir/bao-hypervisor/bin/qemu-aarch64-virt/virtbe/bao.bin" "$work/bao.bin"
exec 9>&-
say "Bao $commit built in $(( $(date +%s) - t0 ))s: bao.bin $(( $(stat -c %s "$work/bao.bin") >> 20 )) MiB; everything built in $(( $(date +%s) - t_build ))s"

# ----------------------------------------------------------------- boot
qemu=(qemu-system-aarch64 -accel tcg -M virt,virtualization=on,gic-version=3
	-cpu cortex-a53 -smp 2 -m 4G -kernel "$work/bao.bin"
	-nic none -display none -serial "file:$log" -no-reboot)
# VIRTBE_BAO_QEMU_ARGS: more QEMU options (e.g. -monitor unix:S,server,nowait)
if [ -n "${VIRTBE_BAO_QEMU_ARGS:-}" ]; then
	read -r -a extra <<<"$VIRTBE_BAO_QEMU_ARGS"
	qemu+=("${extra[@]}")
else
	qemu+=(-monitor none)
fi
exec 8>>/tmp/virtbe-qemu.lock
if ! flock -n 8; then
	say "waiting for another QEMU run to finish (flock /tmp/virtbe-qemu.lock)"
	flock 8
fi
attempt=0
while :; do
	: >"$log"
	start=$(date +%s)
	set +e
	timeout -k 10 "$timeout" "${qemu[@]}" </dev/null &
	qpid=$!
	# Bao cannot power the machine off: stop QEMU once the backend is
	# done, or 10 s after a panic (Linux's, or a Bao ERROR)
	(while kill -0 $qpid 2>/dev/null; do
		if grep -q '### VIRTBE DONE' "$log"; then
			sleep 2
			echo "$(( $(date +%s) - start ))" >"$work/done-after"
			pkill -TERM -P $qpid 2>/dev/null
			break
		fi
		if grep -qE 'Kernel panic - not syncing|^BAO ERROR' "$log"; then
			sleep 10
			pkill -TERM -P $qpid 2>/dev/null
			break
		fi
		sleep 1
	done) &
	wpid=$!
	if [ $quiet = 0 ]; then
		tail -n +1 -s 0.2 -f --pid=$qpid "$log" | sed -u 's/\r$//' &
		tpid=$!
	fi
	wait $qpid
	qrc=$?
	kill $wpid 2>/dev/null; wait $wpid 2>/dev/null
	[ $quiet = 1 ] || wait $tpid
	set -e
	hung=0
	grep -q '### VIRTBE DONE' "$log" || hung=1
	if [ $hung = 0 ]; then
		say "QEMU ran $(( $(date +%s) - start ))s: boot to \"### VIRTBE DONE\" in $(cat "$work/done-after" 2>/dev/null || echo '?')s"
	else
		say "QEMU ran $(( $(date +%s) - start ))s (status $qrc) and the backend never printed \"### VIRTBE DONE\""
		{ [ $qrc -ne 124 ] && [ $qrc -ne 137 ]; } ||
			say "the run hit its ${timeout} s limit and was stopped (--timeout S, or VIRTBE_BAO_TIMEOUT=S, raises it)"
	fi
	if [ $hung = 1 ] && [ $attempt -lt "$retries" ] && [ $attempt -lt 1 ]; then
		attempt=$((attempt + 1))
		cp "$log" "$log.hung.$attempt"
		say "the run hung or did not finish: retrying once, log kept in $log.hung.$attempt"
		continue
	fi
	break
done
exec 8>&-

host_fail=()
[ $hung = 0 ] || host_fail+=(--host-fail "Bao run did not finish (status $qrc, ${timeout}s limit)")
# what happened before the backend was done (the frontend, which never
# stops, might panic in the 2 s after it)
sed '/### VIRTBE DONE/q' "$log" >"$work/before-done"
grep -q 'Kernel panic' "$work/before-done" && host_fail+=(--host-fail "panic")
grep -q '^BAO ERROR' "$work/before-done" &&
	host_fail+=(--host-fail "Bao: $(grep -m1 '^BAO ERROR' "$work/before-done" | tr -d '\r')")
summary ${host_fail[@]+"${host_fail[@]}"}
