#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The real-Xen lane: Xen 4.17 (Debian's packages, never installed) under
# QEMU/TCG with nested paging, Debian's 6.1 kernel as a PV dom0 running
# virtbe.ko + virtbe_xen.ko + tools/vbe-blk, and a PVH domU (the same
# kernel) whose own virtio_mmio/virtio_blk drivers use the device dom0
# serves; then (amd64) a second PVH domU whose virtio-blk and virtio-fs
# devices tools/vhost-user/virtbe-vhost-user serves with Debian's own
# qemu-storage-daemon and virtiofsd (host binaries and their libraries,
# from qemu-system-common) behind it, the domU using ext4 (Debian's
# e2fsprogs, also from the host) and virtiofs.  With --arch arm64 (the
# xen-arm64 lane): the vbe-blk part on
# qemu-system-aarch64 (virt, GICv3, cortex-a57), Xen rebuilt from Debian's
# source package with CONFIG_IOREQ_SERVER (Debian's arm64 build lacks it),
# Debian's 6.1 arm64 kernel as dom0 and domU, modules and vbe-blk
# cross-built, and the domU's virtio-mmio device made by xl from a
# "specification=virtio" disk (a DT node, an SPI).  The test itself is
# tools/xen-guest/dom0-test.sh (TAP).  With
# --bench (make bench-xen) it also runs the benchmarks: the kick and map one
# (tools/xen-guest/vbe-xen-bench.c), whose results are the "# xen kick ..."
# and "# xen map ..." lines of the log, and (amd64) a third domU's 4 KiB
# random reads (tools/xen-guest/vbe-randread.c) from a virtio-blk disk
# served by the bridge and qemu-storage-daemon and from Xen's own PV disk
# (xen-blkfront/xen-blkback) on the same image: "# xen randread ..." lines.
# On amd64 dom0 also gets tools/xen-guest/vbe-pin and null_blk, for the
# tests of guest pages referenced beyond revocation (vmsplice, O_DIRECT).
#
# Usage: scripts/xen-lane.sh [--log FILE] [--counts FILE] [--timeout S]
#                            [--retries N] [--bench [--bench-iters N]
#                            [--bench-maps N] [--bench-budget S]] [--quiet]
#   --timeout S   one boot's limit (default 720: a run takes ~4 min, and a
#                 part of it with a domU that triple-faulted runs again;
#                 env VIRTBE_XEN_TIMEOUT)
#   --retries N   runs retried when results failed, or the run did not
#                 finish, after a triple fault of a domU or of a PVH dom0
#                 (Xen's "dNvM Triple fault", which TCG's nested SVM causes:
#                 Documentation/testing.rst; default 10); a run that hung
#                 without one is retried once.  No retry starts once the
#                 lane has run VIRTBE_XEN_RETRY_SECS (default 900): a
#                 machine where the triple fault strikes every run ends
#                 the lane with its failures instead of running past CI's
#                 time limit
#   --bench          run the benchmark too (one more TAP result)
#   --bench-iters N  kick round trips per path (default 960, a multiple of 8)
#   --bench-maps N   whole-guest maps, and as many floor runs (default 3)
#   --bench-budget S no new round of kicks, no new map after S seconds in
#                    each part (default 10; 0: none)
#   --dom0 pv|pvh    dom0's type (default pv); pvh makes dom0 auto-translated,
#                    the case Arm dom0s are in too (x86 only)
#   --arch amd64|arm64  the machine (default amd64); arm64 has no --bench
#   --kver 6.1|6.12|debug|debug-6.12  dom0's kernel on amd64 (default 6.1):
#                    Debian's, or a debug kernel (KASAN, lockdep, kmemleak:
#                    scripts/debug-kernel.sh, everything built in; a PVH
#                    dom0 only: Linux has no KASAN for PV guests) with 4x
#                    the time limit; a kernel report in dom0's console fails
#                    the run, and so does a leak kmemleak finds once the
#                    domains are destroyed and virtbe's modules removed.
#                    The domUs run Debian's 6.1.
#   --repro-triple-fault S  instead of the tests, the triple fault
#                    reproducer: PVH domUs spin on unclaimed MMIO reads for
#                    S seconds with no virtbe loaded (dom0-test.sh)
#   --tsc-mode M     the domUs' xl tsc_mode (with --repro-triple-fault)
#   --domu-hap 0|1   the domUs' xl hap (0: Xen's shadow paging, not NPT;
#                    Debian's Xen 4.17 is built without it: xl create fails
#                    with "Operation not supported")
#   --fake-triple-fault PART  to test how the test runs a part again after
#                    a triple fault: PART's domU (first, bridge, multi,
#                    hostile, randread) is destroyed 10 s after it is up in
#                    the part's first try, counted as a triple fault, and
#                    the part must pass on its second try
#   --demo           (make demo) show the tests' results and notes as they
#                    come, with the elapsed time and a line every 30 s,
#                    instead of the whole console (still in the log)
# Env VIRTBE_BRIDGE: the virtbe-vhost-user to pack (default: the one
#   tools/vhost-user builds).
# Env VIRTBE_QEMU_X86: the qemu-system-x86_64 to run (default: Debian's);
#   VIRTBE_QEMU_CPU: its -cpu (default qemu64,+svm,+npt);
#   VIRTBE_QEMU_DATA: its firmware folders, as -L options (space-separated).
# Exit status 0 only if every TAP result passed.  Downloads go to
#   $VIRTBE_CACHE/xen/<version>[-arm64]/ (apt-get download + dpkg -x), the
#   rebuilt arm64 hypervisor to $VIRTBE_CACHE/xen/arm64-hypervisor/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
cache=${VIRTBE_CACHE:-/var/cache/virtbe}
log= counts= timeout=${VIRTBE_XEN_TIMEOUT:-720} retries=10 retry_secs=${VIRTBE_XEN_RETRY_SECS:-900} quiet=0 demo=0 repro= tsc_mode= domu_hap= fake_tf=
dom0=pv arch=amd64 kver=6.1 bench=0 bench_iters=960 bench_maps=3 bench_budget=10
die() { echo "xen-lane.sh: $*" >&2; exit 2; }
say() { echo "xen-lane.sh: $*" >&2; }
while [ $# -gt 0 ]; do
	case $1 in
	--log) log=$2; shift 2 ;;
	--counts) counts=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--retries) retries=$2; shift 2 ;;
	--bench) bench=1; shift ;;
	--bench-iters) bench_iters=$2; shift 2 ;;
	--bench-maps) bench_maps=$2; shift 2 ;;
	--bench-budget) bench_budget=$2; shift 2 ;;
	--dom0) dom0=$2; shift 2 ;;
	--arch) arch=$2; shift 2 ;;
	--kver) kver=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	--demo) demo=1; shift ;;
	--repro-triple-fault) repro=$2; shift 2 ;;
	--tsc-mode) tsc_mode=$2; shift 2 ;;
	--fake-triple-fault) fake_tf=$2; shift 2
		case $fake_tf in first|bridge|multi|hostile|randread) ;;
		*) die "--fake-triple-fault first, bridge, multi, hostile or randread" ;; esac ;;
	--domu-hap) domu_hap=$2; shift 2
		case $domu_hap in 0|1) ;; *) die "--domu-hap 0 or 1" ;; esac ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument $1" ;;
	esac
done
# A PVH dom0 needs an IOMMU: QEMU's emulated AMD IOMMU, on a q35 machine.
case $arch/$dom0 in
amd64/pv) xargs= machine=(-M pc) ;;
amd64/pvh) xargs=" dom0=pvh iommu=1" machine=(-M q35 -device amd-iommu) ;;
amd64/*) die "--dom0 pv or pvh" ;;
arm64/pv) dom0=hvm ;;	# what an Arm dom0's /sys/hypervisor/guest_type says
arm64/*) die "--dom0 is for amd64 only" ;;
*) die "--arch amd64 or arm64" ;;
esac
[ "$arch/$bench" != arm64/1 ] || die "--bench is for amd64 only"
[ "$arch/$domu_hap" != arm64/0 ] || die "--domu-hap 0: Xen on Arm has no shadow paging"
[ "$arch/$kver" != arm64/6.12 ] || die "--kver is for amd64 only"
case $arch in
amd64) triplet=x86_64-linux-gnu klane=$kver cross=
	case $kver in 6.1|6.12|debug|debug-6.12) ;; *) die "--kver 6.1, 6.12, debug or debug-6.12" ;; esac ;;
arm64) triplet=aarch64-linux-gnu klane=arm64 cross=aarch64-linux-gnu-
	"$here/deps.sh" --arm64 >&2
	. "$here/apt-foreign.sh" ;;
esac

# ------------------------------------------------------------ fetch Xen
pkgs=(xen-utils-4.17 xenstore-utils libxencall1
	libxenevtchn1 libxenforeignmemory1 libxengnttab1 libxenmisc4.17
	libxenstore4 libxentoollog1 libxendevicemodel1 libxenhypfs1
	libxentoolcore1 libyajl2)
if [ $arch = amd64 ]; then
	pkgs+=(xen-hypervisor-4.17-amd64)
	pkgver() { apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n1; }
	pkgget() { apt-get download -q -o APT::Sandbox::User=root "$@"; }
	ver=$(pkgver xen-hypervisor-4.17-amd64)
	[ -n "$ver" ] || { apt-get update -qq >&2; ver=$(pkgver xen-hypervisor-4.17-amd64); }
	xdir=$cache/xen/$ver
else
	# the dom0 initramfs gets no host library: everything it runs comes
	# from arm64 packages (and libfdt-dev: vbe-blk links libfdt.a)
	pkgs+=(busybox-static libc6 libgcc-s1 libext2fs2 libcom-err2 libfdt1
		libuuid1 zlib1g libncurses6 libtinfo6 libfdt-dev)
	pkgver() { fapt_version arm64 "$1"; }
	pkgget() { fapt_get arm64 download -q "$@"; }
	ver=$(pkgver xen-utils-4.17)
	xdir=$cache/xen/$ver-arm64
fi
[ -n "$ver" ] || die "Xen 4.17 ($arch) not known to apt"
if [ ! -f "$xdir/.complete" ]; then
	mkdir -p "$cache/xen"
	exec 9>"$cache/xen/.lock"
	flock 9
	if [ ! -f "$xdir/.complete" ]; then
		say "fetching Xen $ver ($arch)"
		rm -rf "$xdir"; mkdir -p "$xdir/debs" "$xdir/root"
		(cd "$xdir/debs" && pkgget "${pkgs[@]}" >&2) || die "apt-get download failed"
		for d in "$xdir"/debs/*.deb; do dpkg -x "$d" "$xdir/root"; done
		[ $arch = arm64 ] || gzip -dc "$xdir/root/boot/xen-4.17-amd64.gz" >"$xdir/xen"
		rm -rf "$xdir/debs"
		touch "$xdir/.complete"
	fi
	exec 9>&-
fi
xroot=$xdir/root
if [ $arch = arm64 ]; then
	xen=$("$here/xen-arm64-hypervisor.sh") || die "no arm64 hypervisor"
else
	xen=$xdir/xen
fi

# ---------------------------------------------------------------- build
make -C "$top" --no-print-directory modules KVER=$klane >&2
# the domU runs dom0's kernel, but 6.1 on amd64 (tools/xen-guest is built for it)
if [ $arch = amd64 ] && [ "$klane" != 6.1 ]; then
	eval "$("$here/kernels.sh" 6.1)"
	domu_vmlinuz=$VMLINUZ domu_moddir=$MODDIR
fi
eval "$("$here/kernels.sh" $klane)"	# dom0's
domu_vmlinuz=${domu_vmlinuz:-$VMLINUZ} domu_moddir=${domu_moddir:-$MODDIR}
# a debug kernel has every driver dom0 needs built in, and no modules
debugk=0
case $klane in debug*) debugk=1 ;; esac
# KASAN cannot run in a PV guest: Linux sets up KASAN's early shadow on the
# native and HVM boot paths only, and a PV dom0 built with it faults on
# its first shadow access, in xen_start_kernel (Xen: "d0v0 Unhandled: vec
# 14, #PF" at fffffbff..., then "Hardware Dom0 crashed")
[ $debugk = 0 ] || [ "$dom0" = pvh ] ||
	die "--kver $kver is a KASAN kernel, which cannot boot as a PV dom0 (Linux has no KASAN for Xen PV guests): add --dom0 pvh"
[ $debugk = 0 ] || [ -n "${VIRTBE_XEN_TIMEOUT:-}" ] || [ "$timeout" != 720 ] || timeout=1680
ko=$top/build/$klane/ko
xg=$top/tools/xen-guest/build
built=("$ko/virtbe.ko" "$ko/virtbe_xen.ko")
if [ $arch = amd64 ]; then
	make -C "$top/tools/vbe-blk" --no-print-directory >&2
	make -C "$top/tools/xen-guest" --no-print-directory >&2
	vbe_blk=$top/tools/vbe-blk/vbe-blk
	built+=("$xg/vbe_xen_guest.ko" "$xg/vbe_xen_hostile.ko" "$xg/vbe_xen_bench.ko" "$xg/vbe-xen-bench" "$xg/vbe-randread" "$xg/vbe-pin")
	# the bridge and the unmodified daemons it serves the second domU with
	if [ -n "${VIRTBE_BRIDGE:-}" ]; then
		bridge=$VIRTBE_BRIDGE
	else
		make -C "$top/tools/vhost-user" --no-print-directory >&2
		bridge=$top/tools/vhost-user/virtbe-vhost-user
	fi
	qsd=/usr/bin/qemu-storage-daemon virtiofsd=/usr/lib/qemu/virtiofsd
	built+=("$bridge" "$qsd" "$virtiofsd" /usr/sbin/mke2fs /usr/sbin/e2fsck)
else
	# vbe-blk and libvirtbe, cross-built in a copy of their sources (the
	# host's objects stay where they are), statically with the arm64
	# libfdt.a of the extracted libfdt-dev
	u=$top/build/$klane/user
	rm -rf "$u"; mkdir -p "$u/tools"
	cp -a "$top/uapi" "$top/lib" "$u/"; cp -a "$top/tools/vbe-blk" "$top/tools/common" "$u/tools/"
	make -C "$u/lib" --no-print-directory -s clean >&2
	make -C "$u/tools/vbe-blk" --no-print-directory -s clean >&2
	make -C "$u/tools/vbe-blk" --no-print-directory vbe-blk CC=${cross}gcc AR=${cross}ar \
		CFLAGS="-O2 -g -I$xroot/usr/include -L$xroot/usr/lib/$triplet" >&2
	vbe_blk=$u/tools/vbe-blk/vbe-blk
fi
built+=("$vbe_blk")
for f in "${built[@]}"; do
	[ -f "$f" ] || die "$f was not built"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/virtbe-xen.XXXXXX")
trap 'rm -rf "$work"' EXIT
busybox=$(command -v busybox) || die "busybox missing (busybox-static)"
applets=$("$busybox" --list)	# the same package's applets on arm64
[ $arch = amd64 ] || busybox=$xroot/bin/busybox

skeleton() {	# skeleton DIR: busybox and the usual directories
	mkdir -p "$1"/{bin,dev,proc,sys,tmp,etc,root,run,var/log,var/run,var/lib,lib/modules}
	cp "$busybox" "$1/bin/busybox"
	for a in $applets; do
		[ "$a" = busybox ] || ln -sf busybox "$1/bin/$a"
	done
	ln -s bin "$1/sbin"
	mkdir -p "$1/usr"; ln -s ../bin "$1/usr/bin"; ln -s ../bin "$1/usr/sbin"
}
kmod() {	# kmod ROOT NAME [MODDIR]: copy a module of the image (uncompressed)
	local p m=${3:-$MODDIR}
	# dom0's debug kernel: built in
	[ $debugk = 0 ] || [ "$m" != "$MODDIR" ] || return 0
	# built in (virtio, virtio_ring on arm64): nothing to load
	grep -qE "(^|/)${2}\.ko$" "$m/modules.builtin" && return 0
	p=$(grep -E "(^|/)${2}\.ko(\.xz|\.zst)?:" "$m/modules.dep" | head -n1 | cut -d: -f1)
	[ -n "$p" ] || die "module $2 not in $m/modules.dep"
	case $p in
	*.xz) xz -dc "$m/$p" ;; *.zst) zstd -qdc "$m/$p" ;; *) cat "$m/$p" ;;
	esac >"$1/lib/modules/$2.ko"
}
cpio_gz() { (cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet | gzip -1) >"$2"; }
# dom0's: a debug kernel (allnoconfig + fragment) decompresses no initramfs
cpio_dom0() {
	if [ $debugk = 1 ]; then
		(cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) >"$2"
	else
		cpio_gz "$@"
	fi
}

# ---------------------------------------------------------------- domU
d=$work/domu
skeleton "$d"
for m in virtio_ring virtio virtio_mmio virtio_blk; do kmod "$d" $m "$domu_moddir"; done
[ $arch = arm64 ] || cp "$xg/vbe_xen_guest.ko" "$xg/vbe_xen_hostile.ko" "$d/lib/modules/"
if [ $arch = amd64 ]; then
	# the second domU's: ext4 on the virtio-blk disk, virtiofs, and
	# Debian's e2fsprogs (dynamic: their libraries are packed below)
	for m in crc16 mbcache jbd2 crc32c_generic ext4 fuse virtiofs; do
		kmod "$d" $m "$domu_moddir"
	done
	rm -f "$d/bin/mkfs.ext4" "$d/bin/e2fsck"
	cp /usr/sbin/mke2fs "$d/bin/mkfs.ext4"
	cp /usr/sbin/e2fsck "$d/bin/e2fsck"
	mkdir -p "$d/etc" "$d/mnt"
	[ ! -f /etc/mke2fs.conf ] || cp /etc/mke2fs.conf "$d/etc/"
fi
if [ $bench = 1 ]; then
	cp "$xg/vbe_xen_bench.ko" "$d/lib/modules/"
	# the disk benchmark's domU (vbe3): its PV disk's driver, and the reader
	kmod "$d" xen-blkfront "$domu_moddir"
	cp "$xg/vbe-randread" "$d/bin/"
fi
cp "$top/tools/xen-guest/domu-init.sh" "$d/init"

# ---------------------------------------------------------------- dom0
r=$work/dom0
skeleton "$r"
mkdir -p "$r"/{xen,virtbe,var/lib/xen,var/lib/xenstored,var/log/xen/console,var/run/xen,var/run/xenstored}
dom0_mods="xen-privcmd xenfs xen-evtchn xen-gntdev xen-gntalloc"
# xl's virtio disk must name a block device: a loop device on the image
[ $arch = amd64 ] || dom0_mods="$dom0_mods loop"
# the disk benchmark's PV disk: blkback on a loop device (block-loop)
[ $bench = 0 ] || dom0_mods="$dom0_mods loop xen-blkback"
for m in $dom0_mods; do kmod "$r" $m; done
echo "$dom0_mods" >"$r/lib/modules/load"
cp "$ko/virtbe.ko" "$ko/virtbe_xen.ko" "$r/virtbe/"
cp "$vbe_blk" "$r/bin/"
if [ $arch = amd64 ]; then
	# guest pages referenced beyond revocation: vbe-pin, and a null_blk
	# device whose slow completions keep an O_DIRECT write in flight
	# (dom0-test.sh loads them with its parameters)
	cp "$xg/vbe-pin" "$r/bin/"
	kmod "$r" configfs
	kmod "$r" null_blk
fi
if [ $bench = 1 ]; then
	cp "$xg/vbe-xen-bench" "$r/bin/"
	cp "$top/tools/xen-guest/block-loop" "$r/bin/block-loop"
fi
cp "$top/tools/xen-guest/dom0-test.sh" "$r/bin/dom0-test"
cp "$domu_vmlinuz" "$r/xen/vmlinuz"
xb=$xroot/usr/lib/xen-4.17/bin
for b in xl xenstored xenconsoled xen-init-dom0; do cp "$xb/$b" "$r/bin/"; done
for b in xenstore-read xenstore-write xenstore-ls xenstore-list; do cp "$xroot/usr/bin/$b" "$r/bin/"; done
mkdir -p "$r/etc/xen" "$r/lib/$triplet"
: >"$r/etc/xen/xl.conf"
# shared libraries, by their DT_NEEDED entries: Xen's from the extracted
# packages, the rest from the host (amd64) or from the arm64 packages
libdirs=("$xroot/usr/lib/$triplet" "$xroot/lib/$triplet")
[ $arch = arm64 ] || libdirs+=("/lib/$triplet" "/usr/lib/$triplet")
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
findlib() {	# findlib NAME: the first libdirs entry holding it
	local dir
	for dir in "${libdirs[@]}"; do
		[ -e "$dir/$1" ] && { echo "$dir/$1"; return 0; }
	done
	die "shared library $1 not found in ${libdirs[*]}"
}
libs() {	# libs ROOT BINARY...: their libraries, and the loader, into ROOT
	local root=$1 b l f interp todo=(libgcc_s.so.1)	# dlopened by pthread_cancel
	shift
	mkdir -p "$root/lib/$triplet"
	for b; do todo+=($(needed "$root/bin/$b")); done
	while [ ${#todo[@]} -gt 0 ]; do
		l=${todo[0]}; todo=("${todo[@]:1}")
		[ -e "$root/lib/$triplet/$l" ] && continue
		f=$(findlib "$l")
		cp -L "$f" "$root/lib/$triplet/"
		todo+=($(needed "$f"))
	done
	# the dynamic loader, where the binaries look for it
	interp=$(readelf -l "$root/bin/$1" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	[ -n "$interp" ] || die "no program interpreter in $1"
	mkdir -p "$root$(dirname "$interp")"
	cp -L "$(findlib "$(basename "$interp")")" "$root$interp"
	[ -e "$root/usr/lib" ] || ln -s ../lib "$root/usr/lib"
}
dom0_bins=(xl xenstored xenconsoled xen-init-dom0 xenstore-read)
if [ $arch = amd64 ]; then
	# a busybox applet's link would make cp write through it into busybox
	rm -f "$r/bin/qemu-storage-daemon" "$r/bin/virtiofsd" "$r/bin/e2fsck"
	cp "$bridge" "$r/bin/virtbe-vhost-user"
	cp "$qsd" "$r/bin/qemu-storage-daemon"
	cp "$virtiofsd" "$r/bin/virtiofsd"
	cp /usr/sbin/e2fsck "$r/bin/e2fsck"
	dom0_bins+=(qemu-storage-daemon virtiofsd e2fsck)
	[ -z "$(needed "$r/bin/virtbe-vhost-user" 2>/dev/null)" ] || dom0_bins+=(virtbe-vhost-user)
	ln -sf /proc/mounts "$r/etc/mtab"
fi
libs "$r" "${dom0_bins[@]}"
[ $arch = arm64 ] || libs "$d" mkfs.ext4 e2fsck
cpio_gz "$d" "$r/xen/domu.cpio.gz"
say "domU initramfs $(du -h "$r/xen/domu.cpio.gz" | cut -f1)"
cat >"$r/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null	# kmemleak (debug kernels)
mkdir -p /dev/pts
mount -t devpts -o ptmxmode=666 devpts /dev/pts	# xenconsoled's ttys
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
echo "### VIRTBE BOOTED $(uname -r) mode=xen"
dmesg -n 1
for m in $(cat /lib/modules/load); do	# the image's, in order, less built-ins
	[ -f /lib/modules/$m.ko ] || continue
	insmod /lib/modules/$m.ko || echo "### VIRTBE FAIL insmod $m"
done
mount -t xenfs xenfs /proc/xen
xenstored --pid-file /var/run/xenstored.pid
xen-init-dom0 >/tmp/init-dom0.log 2>&1 || { echo "### VIRTBE FAIL xen-init-dom0"; cat /tmp/init-dom0.log; }
xenconsoled --log=guest --log-dir=/var/log/xen/console
/bin/dom0-test
sync
poweroff -f
INIT
chmod +x "$r/init"
cpio_dom0 "$r" "$work/dom0.cpio"
say "dom0 initramfs $(du -h "$work/dom0.cpio" | cut -f1)"

# ---------------------------------------------------------------- boot
[ -n "$log" ] || log=$top/build/xen/serial.log
# unknown kernel parameters reach dom0's /init (and dom0-test) as variables
bargs=" virtbe_dom0=$dom0 virtbe_arch=$arch${domu_hap:+ virtbe_hap=$domu_hap}${fake_tf:+ virtbe_fake_tf=$fake_tf}"
[ -z "$repro" ] || xargs="$xargs loglvl=all guest_loglvl=all"
[ -z "$repro" ] || bargs="$bargs virtbe_repro_lines=${VIRTBE_REPRO_LINES:-4} virtbe_repro=$repro${tsc_mode:+ virtbe_tsc=$tsc_mode}"
# a debug kernel's null_blk is built in: dom0-test.sh's parameters here
[ $debugk = 0 ] || bargs="$bargs null_blk.nr_devices=1 null_blk.gb=1 null_blk.bs=4096 null_blk.memory_backed=1 null_blk.irqmode=2 null_blk.completion_nsec=3000000000"
[ $bench = 0 ] || bargs="$bargs virtbe_bench=1 virtbe_bench_iters=$bench_iters virtbe_bench_maps=$bench_maps virtbe_bench_budget=$bench_budget"
mkdir -p "$(dirname "$log")"
dargs="console=hvc0 panic=-1 quiet loglevel=4$bargs"
if [ $arch = amd64 ]; then
	qemu=("${VIRTBE_QEMU_X86:-qemu-system-x86_64}" -accel "${VIRTBE_QEMU_ACCEL:-tcg}" "${machine[@]}" -cpu "${VIRTBE_QEMU_CPU:-qemu64,+svm,+npt}" -smp 2 -m 2048
		-kernel "$xen"
		-append "console=com1 com1=115200,8n1 conring_size=1m dom0_mem=1024M,max:1024M dom0_max_vcpus=2 noreboot$xargs"
		-initrd "$VMLINUZ $dargs,$work/dom0.cpio")
else
	# Xen finds dom0's kernel and initrd as guest-loader modules in the
	# DT.  QEMU puts that DT at 0x48000000 (RAM + 128 MiB): a module over
	# it makes Xen BUG in page_alloc.c, so the 32 MiB kernel goes above
	qemu=(qemu-system-aarch64 -accel tcg -machine virt,virtualization=on,gic-version=3
		-cpu cortex-a57 -smp 2 -m 2048 -kernel "$xen"
		-append "console=dtuart dom0_mem=1024M dom0_max_vcpus=2 noreboot"
		-device "guest-loader,addr=0x49000000,kernel=$VMLINUZ,bootargs=$dargs"
		-device "guest-loader,addr=0x50000000,initrd=$work/dom0.cpio")
fi
for l in ${VIRTBE_QEMU_DATA:-}; do qemu+=(-L "$l"); done
qemu+=(-no-reboot -nodefaults -display none -monitor none -serial "file:$log")
exec 8>>/tmp/virtbe-qemu.lock
if ! flock -n 8; then
	say "waiting for another QEMU run to finish (flock /tmp/virtbe-qemu.lock)"
	flock 8
fi
# --demo's live view: the tests' results and notes with the elapsed time,
# not the ~150 boot lines of Xen and dom0 (the whole log stays in $log);
# when nothing was said for 30 s, what the log's last line shows
narrate() {
	local t0 last=0 n=0 said out alive=1
	t0=$(date +%s) said=$t0
	echo "demo: booting Xen 4.17 and a $dom0 dom0 (Debian $kver) in QEMU; the whole console log is $log"
	while [ $alive = 1 ]; do
		kill -0 $qpid 2>/dev/null || alive=0	# then one last pass
		n=$(wc -l <"$log")
		if [ "$n" -gt "$last" ]; then
			out=$(sed -n "$((last + 1)),${n}p" "$log" | tr -d '\r' |
				awk -v t="$(( $(date +%s) - t0 ))" '
				/^### VIRTBE BOOTED/ { printf "[%4ds] dom0 is up (%s); the test starts\n", t, $4; next }
				/^(ok|not ok) / || /^# / { printf "[%4ds] %s\n", t, $0 }')
			last=$n
			[ -z "$out" ] || { echo "$out"; said=$(date +%s); }
		fi
		[ $alive = 1 ] || break
		if [ $(( $(date +%s) - said )) -ge 30 ]; then
			printf '[%4ds] ... still running; the console'"'"'s last line: %s\n' \
				$(( $(date +%s) - t0 )) "$(tail -n 1 "$log" | tr -d '\r' | cut -c1-90)"
			said=$(date +%s)
		fi
		sleep 0.5
	done
}

attempt=0 hangs=0 lane_start=$(date +%s)
# failed results, as tap-summary.sh counts them (a part of the test run
# again after a triple fault voids its earlier results: dom0-test.sh)
results_failed() { ! "$here/tap-summary.sh" --label xen "$log" >/dev/null 2>&1; }
# a guest (a domU, or a PVH dom0) triple-faulted in the run
triple_faulted() { grep -q '(XEN) d[0-9]*v[0-9]* Triple fault' "$log"; }
# a retry starts only while the lane has run less than retry_secs
retry_ok() {
	[ $attempt -lt "$retries" ] || return 1
	[ $(( $(date +%s) - lane_start )) -lt "$retry_secs" ] && return 0
	say "no retry: the lane has run $(( $(date +%s) - lane_start ))s, VIRTBE_XEN_RETRY_SECS is ${retry_secs}s"
	return 1
}
while :; do
	: >"$log"
	start=$(date +%s)
	set +e
	timeout -k 10 "$timeout" "${qemu[@]}" </dev/null &
	qpid=$!
	# a panicked dom0 (or Xen) never powers the machine off: stop QEMU
	# 10 s after the panic instead of at the time limit (the run then
	# counts as hung, and is retried)
	(while kill -0 $qpid 2>/dev/null; do
		if grep -qE '^\[ *[0-9.]+\] Kernel panic - not syncing|^\(XEN\) .*Panic on CPU|^\(XEN\) Hardware Dom0 crashed' "$log"; then
			sleep 10
			pkill -TERM -P $qpid 2>/dev/null
			break
		fi
		sleep 2
	done) &
	wpid=$!
	if [ $demo = 1 ]; then
		narrate &
		tpid=$!
	elif [ $quiet = 0 ]; then
		# sed -u: line by line even when the output is not a terminal
		tail -n +1 -s 0.2 -f --pid=$qpid "$log" | sed -u 's/\r$//' &
		tpid=$!
	fi
	wait $qpid
	qrc=$?
	kill $wpid 2>/dev/null; wait $wpid 2>/dev/null
	[ $quiet = 1 ] || wait $tpid
	set -e
	say "QEMU ran $(( $(date +%s) - start ))s (status $qrc)"
	{ [ $qrc -ne 124 ] && [ $qrc -ne 137 ]; } ||
		say "the run hit its ${timeout} s limit and was stopped (--timeout S, or VIRTBE_XEN_TIMEOUT=S, raises it; a loaded machine may need more)"
	hung=0
	{ [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; } && hung=1
	grep -q '^### VIRTBE DONE' "$log" || hung=1
	# a guest that triple-faults (a domU, or a PVH dom0, which resets
	# the machine: Documentation/testing.rst) fails the results after
	# it, or ends the run; such a run is retried, its log kept
	if { [ $hung = 1 ] || results_failed; } &&
		triple_faulted && retry_ok; then
		attempt=$((attempt + 1))
		cp "$log" "$log.triple-fault.$attempt"
		say "a guest triple-faulted and results failed: retrying ($attempt of $retries), log kept in $log.triple-fault.$attempt"
		continue
	fi
	if [ $hung = 1 ] && [ $hangs -lt 1 ] &&
		! triple_faulted && retry_ok; then
		attempt=$((attempt + 1)) hangs=$((hangs + 1))
		cp "$log" "$log.hung.$attempt"
		say "the run hung or did not finish: retrying ($attempt of $retries), log kept in $log.hung.$attempt"
		continue
	fi
	break
done
exec 8>&-

host_fail=()
[ $hung = 1 ] && host_fail+=(--host-fail "Xen run did not finish (status $qrc, ${timeout}s limit)")
grep -q 'Kernel panic\|Panic on CPU' "$log" && host_fail+=(--host-fail "panic")
grep -q '^(XEN) Hardware Dom0 crashed' "$log" && host_fail+=(--host-fail "dom0 crashed (Xen: Hardware Dom0 crashed)")
# dom0's own console lines (printk time stamps; dom0-test.sh's copies start
# with "# "): a report that came after dom0-test.sh's last look fails too
kpat='(BUG:|WARNING:|Oops|INFO: possible|INFO: task .* blocked|KASAN|UBSAN|general protection|kernel BUG|detected stall|unreferenced object)'
if kr=$(grep -aE "^\[ *[0-9]+\.[0-9]+\] .*$kpat" "$log"); then
	echo "$kr" | head -n 20 | sed 's/^/xen-lane.sh: dom0 kernel: /' >&2
	host_fail+=(--host-fail "dom0's kernel reported: $(echo "$kr" | head -n1 | tr -d '\r' | cut -c1-120)")
fi
label=xen; [ "$dom0" = pv ] || label=xen-$dom0
[ $arch = amd64 ] || label=xen-$arch
[ "$kver" = 6.1 ] || label=$label-$kver
args=(--label "$label" --mode tests)
[ -n "$counts" ] && args+=(--counts "$counts")
"$here/tap-summary.sh" "${args[@]}" ${host_fail[@]+"${host_fail[@]}"} "$log"
