#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the real-Xen lane's domU (a PVH guest running Debian's 6.1
# kernel).  Everything it reports goes to hvc0, which xenconsoled logs in
# dom0, where dom0-test.sh reads the "VBE-GUEST" lines.
#
# 1. negative control: the virtio-mmio device is registered while no
#    backend serves it: virtio_mmio must read 0xffffffff and refuse it;
# 2. it then retries the probe every second until dom0's backend answers,
#    writes a known pattern to /dev/vda, reads it back and compares;
# 3. it keeps reading /dev/vda and prints a heartbeat per vCPU, so that
#    dom0 can stop or kill its daemon mid-I/O and see that no vCPU hangs.
# With virtbe_bench=1 on its kernel command line, vbe_xen_bench.ko (the
# kick benchmark's domU half) is loaded beside them and runs when dom0
# says so.
# With virtbe_dev=dt (the arm64 lane) the device is xl's DT virtio,mmio
# node instead of vbe_xen_guest.ko's.  An access no IOREQ server claims
# makes Xen on Arm inject a data abort (an Oops if virtio_mmio took it), so
# step 1 reads MagicValue from userspace (devmem: the abort is a SIGBUS),
# and virtio_mmio is loaded only once MagicValue reads "virt".
# With virtbe_mode=bridge (dom0-test.sh's second domU, vbe2, served by
# tools/vhost-user/virtbe-vhost-user with Debian's qemu-storage-daemon and
# virtiofsd behind it) vbe_xen_guest.ko registers two devices, virtio-blk
# at 0xfe000000 and virtio-fs at 0xfe001000, and the domU runs bridge_test
# below instead of steps 1 and 2.
# With virtbe_mode=randread (dom0-test.sh's third domU, vbe3, booted by
# scripts/xen-lane.sh --bench only) the disk benchmark: two disks on the
# same image in dom0, /dev/vda (virtio-blk at 0xfe000000, served by the
# bridge and qemu-storage-daemon) and /dev/xvda (xen-blkfront, served by
# dom0's xen-blkback on a loop device); vbe-randread reads 4 KiB at random
# from each at queue depth 1 and 16, alternating the disks, for
# virtbe_rr_secs seconds each (default 5).
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
say() { echo "VBE-GUEST $*"; }
FS_BASE=0xfe001000		# the second device's (virtbe_mode=bridge)
FS_TAG=${virtbe_fs_tag:-vbefs}
say "booted $(uname -r)"
load() { for m; do
	[ -f /lib/modules/$m.ko ] && { insmod /lib/modules/$m.ko || say "insmod $m failed"; }
done; }
if [ "${virtbe_mode:-}" = spin ]; then
	# dom0-test.sh's triple fault reproducer: every vCPU reads an MMIO
	# address nobody claims (Xen answers all-ones) as fast as it can
	for c in $(seq 0 $(($(nproc) - 1))); do
		taskset -c $c sh -c "n=0; while :; do devmem 0xfe000000 32 >/dev/null; n=\$((n + 1)); [ \$((n % 500)) != 0 ] || echo \"VBE-GUEST spin$c \$n\"; done" &
	done
	while :; do sleep 3600; done
fi
if [ "${virtbe_dev:-}" = dt ]; then
	load virtio_ring virtio virtio_blk
	dev=$(ls -d /sys/bus/platform/devices/*.virtio 2>/dev/null | head -n1)
	base=0x${dev##*/}; base=${base%.virtio}
	v=$(devmem $base 32 2>&1); rc=$?
	if [ -z "$dev" ]; then
		say "NEGATIVE FAIL: no virtio,mmio node in the device tree"
	elif [ $rc = 135 ] || [ $rc = 137 ]; then
		# 128 + SIGBUS or SIGKILL: Linux kills a task whose access takes
		# a data abort (Xen's reads as an address size fault: SIGKILL)
		say "NEGATIVE OK: the read of MagicValue at $base aborted (signal $((rc - 128)))"
	else
		say "NEGATIVE FAIL: MagicValue at $base read '$v' (status $rc) with no backend"
	fi
	say "waiting for the backend"
	i=0
	until [ "$(devmem $base 32 2>/dev/null)" = 0x74726976 ]; do
		sleep 1
		i=$((i + 1))
		[ $i -lt 240 ] || { say "NO BACKEND"; break; }
	done
	[ $i -ge 240 ] || load virtio_mmio
	drv=
elif [ "${virtbe_mode:-}" = randread ]; then
	load virtio_ring virtio virtio_mmio virtio_blk xen-blkfront
	insmod /lib/modules/vbe_xen_guest.ko
	say "test module rc=$?"
elif [ "${virtbe_mode:-}" = hostile ]; then
	# vbe5: virtio_blk on the well-behaved device at 0xfe000000, and
	# vbe_xen_hostile driving the one at 0xfe001000 itself
	load virtio_ring virtio virtio_mmio virtio_blk
	insmod /lib/modules/vbe_xen_guest.ko
	say "test module rc=$?"
	# dom0_marks: dom0 takes its daemon's counters around each flood
	insmod /lib/modules/vbe_xen_hostile.ko flood_ms=${virtbe_flood_ms:-3000} \
		dom0_marks=1
	say "hostile module rc=$?"
elif [ "${virtbe_mode:-}" = bridge ]; then
	load virtio_ring virtio virtio_mmio virtio_blk crc16 mbcache jbd2 \
		crc32c_generic ext4 fuse virtiofs
	insmod /lib/modules/vbe_xen_guest.ko fs_base=$FS_BASE
	say "test module rc=$?"
else
	load virtio_ring virtio virtio_mmio virtio_blk
	insmod /lib/modules/vbe_xen_guest.ko
	say "test module rc=$?"
fi
# the kick benchmark waits in a kernel thread until dom0 starts it
if [ "${virtbe_bench:-0}" = 1 ]; then
	insmod /lib/modules/vbe_xen_bench.ko || say "insmod vbe_xen_bench failed"
fi
# ---- virtbe_mode=bridge: vbe2, served by virtbe-vhost-user
heartbeats() {	# one per vCPU: a vCPU stuck in a trapped access stops its own
	for c in $(seq 0 $(($(nproc) - 1))); do
		taskset -c $c sh -c "n=0; while :; do echo \"VBE-GUEST alive$c \$n\"; n=\$((n + 1)); sleep 1; done" &
	done
}
bound() { [ -e /sys/bus/platform/devices/virtio-mmio.$1/driver ]; }
# (a) qemu-storage-daemon's disk: ext4 made, written, checked, read back
ext4_test() {
	mkdir -p /mnt/blk
	step=mkfs; mkfs.ext4 -q -F /dev/vda >/tmp/mkfs.log 2>&1 || return 1
	step=mount; mount -t ext4 /dev/vda /mnt/blk || return 1
	step=write; mkdir /mnt/blk/d || return 1
	for k in 1 2 3 4 5 6; do
		head -c $((k * 65536 + k * 517)) /dev/urandom >/mnt/blk/d/f$k || return 1
	done
	yes VIRTBE-EXT4-0123456789 | head -c 1048576 >/mnt/blk/big || return 1
	(cd /mnt/blk && sha256sum big d/f*) >/tmp/sums || return 1
	step=sync; sync || return 1
	step=umount; umount /mnt/blk || return 1
	step="e2fsck -fn"; e2fsck -fn /dev/vda >/tmp/fsck.log 2>&1 || return 1
	echo 3 >/proc/sys/vm/drop_caches
	step=remount; mount -t ext4 -o ro /dev/vda /mnt/blk || return 1
	step=verify; (cd /mnt/blk && sha256sum -c /tmp/sums) >/tmp/verify.log 2>&1 || return 1
	step=umount2; umount /mnt/blk
}
# (b) virtiofsd's directory: both sides create, rename and unlink; the
# share itself carries dom0's "your turn" (dom0-step2)
fs_test() {
	mkdir -p /mnt/fs
	step=mount; mount -t virtiofs "$FS_TAG" /mnt/fs || return 1
	cd /mnt/fs || return 1
	step="read dom0's file"; sha256sum -c from-dom0.sha256 >/dev/null || return 1
	step=write; head -c 300000 /dev/urandom >from-domu.tmp || return 1
	sha256sum from-domu.tmp | sed 's/from-domu.tmp/from-domu/' >from-domu.sha256 || return 1
	step=rename; mv from-domu.tmp from-domu || return 1
	step=unlink; echo doomed >doomed && rm doomed && [ ! -e doomed ] || return 1
	step=mkdir; mkdir dir-domu && echo hello >dir-domu/hello || return 1
	sync
	say "FS DOMU DONE $(ls | tr '\n' ' ')"
	step="wait for dom0's turn"
	i=0
	until [ -e dom0-step2 ]; do
		sleep 0.5; i=$((i + 1)); [ $i -lt 240 ] || return 1
	done
	step="dom0's rename"; [ ! -e from-dom0 ] && sha256sum -c renamed-by-dom0.sha256 >/dev/null || return 1
	step="dom0's unlinks"; [ ! -e from-domu ] && [ ! -e from-dom0.sha256 ] || return 1
	step="dom0's new file"; [ "$(cat dir-domu/from-dom0)" = "written by dom0" ] || return 1
	cd /
	step=umount; umount /mnt/fs
}
bridge_test() {
	drv=/sys/bus/platform/drivers/virtio-mmio
	say "BRIDGE NEGATIVE: $(dmesg | grep -c 'Wrong magic value 0xffffffff') device(s) read all-ones before dom0's bridge claimed them"
	say "waiting for the bridge"
	# each device as soon as it answers; the disk first
	i=0
	until [ -b /dev/vda ] || [ $i -ge 90 ]; do
		for x in 0 1; do bound $x || echo virtio-mmio.$x >$drv/bind 2>/dev/null; done
		sleep 1
		i=$((i + 1))
	done
	if [ -b /dev/vda ]; then
		say "BRIDGE BLK after ${i}s: vda $(cat /sys/block/vda/size) sectors, $(ls /sys/block/vda/mq | wc -l) queue(s)"
	else
		say "BRIDGE BLK FAIL: no /dev/vda after ${i}s"
	fi
	t0=$(cut -d' ' -f1 /proc/uptime)
	if ext4_test; then
		say "EXT4 OK (${t0}s..$(cut -d' ' -f1 /proc/uptime)s) $(grep -c OK /tmp/verify.log) checksums verified; fsck: $(tail -n1 /tmp/fsck.log)"
	else
		say "EXT4 FAIL at $step: $(tail -n3 /tmp/mkfs.log /tmp/fsck.log /tmp/verify.log 2>/dev/null | tr '\n' '|')"
		umount /mnt/blk 2>/dev/null
	fi
	i=0
	until bound 1 || [ $i -ge 60 ]; do
		echo virtio-mmio.1 >$drv/bind 2>/dev/null
		sleep 1
		i=$((i + 1))
	done
	if bound 1; then
		say "BRIDGE FS after ${i}s more: virtio device $(cat /sys/bus/platform/devices/virtio-mmio.1/virtio*/device), driver $(basename "$(readlink /sys/bus/platform/devices/virtio-mmio.1/virtio*/driver)")"
	else
		say "BRIDGE FS FAIL: virtio-mmio.1 unbound after ${i}s more"
	fi
	t0=$(cut -d' ' -f1 /proc/uptime)
	if fs_test; then
		say "FS OK (${t0}s..$(cut -d' ' -f1 /proc/uptime)s)"
	else
		say "FS FAIL at $step: $(ls /mnt/fs 2>&1 | tr '\n' ' ')"
		cd /
	fi
	say "irq $(grep -E 'vbe' /proc/interrupts | tr -s ' ' | tr '\n' '|')"
	# reads for dom0 to kill qemu-storage-daemon under; a line every 8
	(n=0; while :; do
		dd if=/dev/vda of=/dev/null bs=65536 count=16 2>/dev/null
		echo 3 >/proc/sys/vm/drop_caches
		n=$((n + 1))
		[ $((n % 8)) != 0 ] || say "io $n"
	done) &
	say "IO LOOP"
}
# ---- virtbe_mode=randread: vbe3, the disk benchmark
randread_test() {
	drv=/sys/bus/platform/drivers/virtio-mmio
	secs=${virtbe_rr_secs:-5}
	i=0
	until { [ -b /dev/vda ] && [ -b /dev/xvda ]; } || [ $i -ge 90 ]; do
		bound 0 || echo virtio-mmio.0 >$drv/bind 2>/dev/null
		sleep 1
		i=$((i + 1))
	done
	for b in vda xvda; do
		[ -b /dev/$b ] || { say "RANDREAD FAIL: no /dev/$b after ${i}s"; return; }
	done
	say "RANDREAD disks after ${i}s: vda $(cat /sys/block/vda/size) sectors, $(ls /sys/block/vda/mq | wc -l) queue(s), scheduler $(cat /sys/block/vda/queue/scheduler); xvda $(cat /sys/block/xvda/size) sectors, $(ls /sys/block/xvda/mq | wc -l) queue(s), scheduler $(cat /sys/block/xvda/queue/scheduler)"
	# the same image behind both: their first and last MiB agree
	a=$(dd if=/dev/vda bs=1048576 count=1 2>/dev/null | sha256sum | cut -c1-16)
	b=$(dd if=/dev/xvda bs=1048576 count=1 2>/dev/null | sha256sum | cut -c1-16)
	if [ "$a" != "$b" ] || [ "$(cat /sys/block/vda/size)" != "$(cat /sys/block/xvda/size)" ]; then
		say "RANDREAD FAIL: vda and xvda differ (first MiB $a, $b)"
		return
	fi
	say "RANDREAD same image: first MiB $a on both"
	# a second's warm-up each, then alternating runs
	for b in vda xvda; do vbe-randread /dev/$b 4 1 >/dev/null 2>&1; done
	for qd in 1 16; do
		for b in vda xvda; do
			out=$(vbe-randread /dev/$b $qd $secs 2>&1) ||
				{ say "RANDREAD FAIL: $out"; return; }
			say "$out"
		done
	done
	say "RANDREAD DONE"
}
# ---- virtbe_mode=hostile: vbe5, the hostile guest.  Each phase of
# vbe_xen_hostile (see its header) attacks the device at 0xfe001000; after
# each one the well-behaved disk (/dev/vda, virtio_blk) writes 256 KiB at a
# new offset and reads it back, each command under busybox timeout
# (GOOD_SECS, SIGKILL 5 s later).  A dd in an uninterruptible wait on a
# stalled disk outlives both signals, so the step runs in the background
# and reports through files: after GOOD_WAIT s the phases go on whatever
# happened, and the step is a FAIL.
GOOD_SECS=30 GOOD_WAIT=80
good_why() {	# good_why STATUS: what a failed command's status means
	case $1 in
	137|143) echo "timed out after ${GOOD_SECS}s (status $1)" ;;
	*) echo "status $1" ;;
	esac
}
good_io() {	# good_io K: prints why it failed
	to="timeout -k 5 $GOOD_SECS"
	$to dd if=/tmp/pattern of=/dev/vda bs=65536 seek=$(($1 * 4)) conv=fsync 2>/dev/null ||
		{ echo "write: $(good_why $?)"; return 1; }
	echo 3 >/proc/sys/vm/drop_caches
	$to dd if=/dev/vda of=/tmp/readback.$1 bs=65536 skip=$(($1 * 4)) count=4 2>/dev/null ||
		{ echo "read: $(good_why $?)"; return 1; }
	$to cmp -s /tmp/pattern /tmp/readback.$1 ||
		{ echo "compare: data differ or $(good_why $?)"; return 1; }
	rm -f /tmp/readback.$1
}
hostile_test() {
	drv=/sys/bus/platform/drivers/virtio-mmio
	P=/sys/module/vbe_xen_hostile/parameters
	i=0
	until [ -b /dev/vda ] || [ $i -ge 120 ]; do
		bound 0 || echo virtio-mmio.0 >$drv/bind 2>/dev/null
		sleep 1
		i=$((i + 1))
	done
	[ -b /dev/vda ] || { say "HOSTILE FAIL: no /dev/vda after ${i}s"; say "HOSTILE DONE"; return; }
	say "HOSTILE disk after ${i}s: vda $(cat /sys/block/vda/size) sectors"
	yes VIRTBE-XEN-PATTERN-0123456789 | head -c 262144 >/tmp/pattern
	k=0
	good() {	# good PHASE: HOSTILE GOOD PHASE OK, or FAIL: why
		k=$((k + 1))
		# files of their own: a step still blocked writes them late
		(good_io $k >/tmp/good.$k.why 2>&1; echo $? >/tmp/good.$k.rc) &
		w=0
		while [ ! -s /tmp/good.$k.rc ] && [ $w -lt $((GOOD_WAIT * 5)) ]; do
			sleep 0.2
			w=$((w + 1))
		done
		if [ "$(cat /tmp/good.$k.rc 2>/dev/null)" = 0 ]; then
			say "HOSTILE GOOD $1 OK"
		elif [ -s /tmp/good.$k.rc ]; then
			say "HOSTILE GOOD $1 FAIL: $(cat /tmp/good.$k.why)"
		else
			say "HOSTILE GOOD $1 FAIL: still blocked after ${GOOD_WAIT}s (in an uninterruptible wait: timeout could not end it)"
		fi
	}
	for ph in up sizes rep ro cfg flood1 floodn garbage resets; do
		t0=$(cut -d' ' -f1 /proc/uptime)
		if echo $ph >$P/run 2>/tmp/run.err; then
			say "HOSTILE $ph $(cat $P/result) ($t0..$(cut -d' ' -f1 /proc/uptime)s)"
		else
			say "HOSTILE $ph FAIL: $(cat /tmp/run.err)"
		fi
		good $ph
	done
	say "HOSTILE DONE"
}
if [ "${virtbe_mode:-}" = hostile ]; then
	heartbeats
	hostile_test
	while :; do sleep 3600; done
fi
if [ "${virtbe_mode:-}" = randread ]; then
	randread_test
	heartbeats
	while :; do sleep 3600; done
fi
if [ "${virtbe_mode:-}" = bridge ]; then
	ln -sf /proc/mounts /etc/mtab
	bridge_test
	heartbeats
	while :; do sleep 3600; done
fi
if [ "${virtbe_dev:-}" != dt ]; then
	dev=/sys/bus/platform/devices/virtio-mmio.0
	drv=/sys/bus/platform/drivers/virtio-mmio
	if dmesg | grep -q 'Wrong magic value 0xffffffff'; then
		say "NEGATIVE OK: $(dmesg | grep -m1 'Wrong magic value')"
	else
		say "NEGATIVE FAIL: $(dmesg | grep -i -m3 virtio | tr '\n' '|')"
	fi
	[ -e "$dev/driver" ] && say "NEGATIVE FAIL: the driver took the device"
	say "waiting for the backend"
fi
i=0
while [ ! -b /dev/vda ]; do
	[ -z "$drv" ] || echo virtio-mmio.0 >$drv/bind 2>/dev/null
	sleep 1
	i=$((i + 1))
	[ $i -lt 240 ] || { say "NO DISK"; break; }
done
if [ -b /dev/vda ]; then
	say "disk $(cat /sys/block/vda/size) sectors after ${i}s"
	yes VIRTBE-XEN-PATTERN-0123456789 | head -c 1048576 >/tmp/pattern
	t0=$(cut -d' ' -f1 /proc/uptime)
	dd if=/tmp/pattern of=/dev/vda bs=65536 conv=fsync 2>/dev/null
	echo 3 >/proc/sys/vm/drop_caches
	dd if=/dev/vda of=/tmp/readback bs=65536 count=16 2>/dev/null
	t1=$(cut -d' ' -f1 /proc/uptime)
	if cmp -s /tmp/pattern /tmp/readback; then
		say "PATTERN OK (1 MiB written and read back, ${t0}s..${t1}s)"
		# the device's interrupt line, and how often it fired
		say "irq $(grep -E 'virtio|vbe' /proc/interrupts | tr -s ' ' | head -n1)"
	else
		say "PATTERN FAIL"
	fi
	(n=0; while :; do
		dd if=/dev/vda of=/dev/null bs=65536 count=16 2>/dev/null
		echo 3 >/proc/sys/vm/drop_caches
		n=$((n + 1))
	done) &
	say "IO LOOP"
fi
heartbeats
while :; do sleep 3600; done
