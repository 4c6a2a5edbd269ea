#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the Bao lane's frontend VM (VM 1 of config.c; the lane's own
# kernel, frontend.config).  The VM has no console of its own: the kernel
# writes to the shared PL011 through earlycon only (quiet, loglevel=4), and
# this script says little there (a few "vbe-frontend:" lines through
# /dev/kmsg at KERN_ERR).  It reports its results through its second
# virtio-blk device instead, which the backend VM serves from a file:
#
# 1. both VMs start together, so its backend may not be up yet: an
#    unserved remote I/O device reads all-ones (virtbe_bao answers what no
#    daemon claimed) and virtio_mmio refuses it; the probe is retried every
#    2 s (a bind of the platform device) until /dev/vda and /dev/vdb exist;
# 2. TAP results (the backend renumbers them into its own): the devices
#    and their restricted DMA pools, mke2fs on vda, a file of 8 MiB
#    written, read back after a remount, and a clean kernel log;
# 3. the TAP text, ending in "### FRONTEND DONE", goes to /dev/vdb at
#    offset 0;
# 4. then, for the backend's "daemon stopped/killed mid-I/O" tests, an
#    endless read loop on vda, and a heartbeat ("HB <n>", once a second) at
#    offset 512 KiB of vdb: the backend sees this vCPU keep running while
#    vda's daemon is stopped or killed.
/bin/busybox mount -t devtmpfs devtmpfs /dev
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
exec </dev/null >/tmp/init.log 2>&1
kmsg() { echo "<3>vbe-frontend: $*" >/dev/kmsg; }
up() { cut -d' ' -f1 /proc/uptime; }
FE_TESTS=5	# backend-test.sh expects as many
PROBE_LIMIT=${virtbe_probe_limit:-240}
PAT='BUG:|WARNING:|Oops:'
R=/tmp/results
n=0
ok() { n=$((n + 1)); echo "ok $n $*" >>$R; }
nok() { n=$((n + 1)); echo "not ok $n $*" >>$R; }
note() { echo "# $*" >>$R; }
: >$R
kmsg "booted $(uname -r) at $(up)s; probing a003e00.virtio (vda), a003c00.virtio (vdb)"

# ---- 1. the devices, once the backend serves them
drv=/sys/bus/platform/drivers/virtio-mmio
devs="a003e00.virtio a003c00.virtio"
i=0
until [ -b /dev/vda ] && [ -b /dev/vdb ]; do
	[ $i -lt "$PROBE_LIMIT" ] || break
	for d in $devs; do
		[ -e /sys/bus/platform/devices/$d/driver ] || echo $d >$drv/bind 2>/dev/null
	done
	# virtio_blk's disk appears just after the bind
	[ -b /dev/vda ] && [ -b /dev/vdb ] && break
	sleep 2
	i=$((i + 2))
done
refused=$(dmesg | grep -c 'Wrong magic value 0xffffffff')
kmsg "vda: $([ -b /dev/vda ] && echo yes || echo no), vdb: $([ -b /dev/vdb ] && echo yes || echo no) after ${i}s of retries ($(up)s)"
note "frontend kernel $(uname -r); $refused probe(s) refused (all-ones) before the backend served the devices; devices after ${i}s of retries, at $(up)s"
pools=0
for x in "a003e00.virtio: assigned reserved memory node restricted-dma@d0000000" \
	"a003c00.virtio: assigned reserved memory node restricted-dma@d1000000"; do
	dmesg | grep -q "$x" && pools=$((pools + 1))
done
name="virtio_mmio + virtio_blk probed both remote I/O devices (vda at 0xa003e00, vdb at 0xa003c00), DMA through the restricted pools at 0xd0000000 and 0xd1000000"
if [ -b /dev/vda ] && [ -b /dev/vdb ] && [ $pools = 2 ] &&
	dmesg | grep -q 'created restricted DMA pool at 0x00000000d0000000' &&
	dmesg | grep -q 'created restricted DMA pool at 0x00000000d1000000'; then
	ok "$name"
	note "vda $(cat /sys/block/vda/size) sectors, vdb $(cat /sys/block/vdb/size) sectors"
else
	nok "$name"
	note "vda: $(ls -l /dev/vda 2>&1), vdb: $(ls -l /dev/vdb 2>&1), pools assigned: $pools of 2"
	note "platform devices: $(ls /sys/bus/platform/devices | tr '\n' ' ')"
	dmesg | grep -iE 'virtio|restricted|reserved mem|swiotlb' | tail -n 12 | sed 's/^/# dmesg: /' >>$R
fi

# ---- 2. ext2 on vda (busybox mke2fs; ext4 mounts it), 8 MiB written and verified
mkdir -p /mnt
if [ -b /dev/vda ] && mke2fs -q /dev/vda >/tmp/mke2fs.log 2>&1; then
	ok "mke2fs (busybox) on vda"
else
	nok "mke2fs (busybox) on vda"
	tail -n 5 /tmp/mke2fs.log | sed 's/^/# mke2fs: /' >>$R
fi
t0=$(up)
if mount -t ext2 /dev/vda /mnt &&
	head -c 8388608 /dev/urandom >/mnt/data &&
	md5sum </mnt/data >/tmp/md5 && sync && umount /mnt; then
	ok "mount vda (ext2, by ext4), write 8 MiB from /dev/urandom, umount"
	note "written in $(echo "$t0 $(up)" | awk '{print $2 - $1}')s, md5 $(cut -d' ' -f1 /tmp/md5)"
else
	nok "mount vda (ext2, by ext4), write 8 MiB from /dev/urandom, umount"
	umount /mnt 2>/dev/null
	dmesg | tail -n 8 | sed 's/^/# dmesg: /' >>$R
fi
echo 3 >/proc/sys/vm/drop_caches
t0=$(up)
if mount -t ext2 -o ro /dev/vda /mnt && [ "$(md5sum </mnt/data)" = "$(cat /tmp/md5)" ] &&
	[ "$(stat -c %s /mnt/data)" = 8388608 ]; then
	ok "mount vda again: the 8 MiB read back with the same md5sum"
	note "read in $(echo "$t0 $(up)" | awk '{print $2 - $1}')s"
else
	nok "mount vda again: the 8 MiB read back with the same md5sum"
	dmesg | tail -n 8 | sed 's/^/# dmesg: /' >>$R
fi
umount /mnt 2>/dev/null

# ---- its own kernel log
if ! dmesg | grep -qE "$PAT"; then
	ok "the frontend's kernel log has no BUG:, WARNING:, Oops:"
else
	nok "the frontend's kernel log has no BUG:, WARNING:, Oops:"
	dmesg | grep -E -A12 "$PAT" | head -n 40 | sed 's/^/# dmesg: /' >>$R
fi
[ $n = $FE_TESTS ] || note "frontend-init.sh ran $n tests, not $FE_TESTS"
grep -E 'virtio|vbe' /proc/interrupts | tr -s ' ' | sed 's/^/# irq: /' >>$R

# ---- 3. the report, on vdb at offset 0
echo "### FRONTEND DONE" >>$R
if [ -b /dev/vdb ]; then
	# said first: the backend prints its TAP as soon as the report is
	# there, and this line must not cut one of its lines in two
	kmsg "writing the report to vdb ($(grep -c '^ok' $R) ok, $(grep -c '^not ok' $R) not ok) at $(up)s"
	dd if=$R of=/dev/vdb bs=4096 conv=notrunc,sync,fsync 2>/dev/null
	sync
else
	kmsg "no vdb: the report cannot reach the backend; results: $(grep -E '^(not )?ok' $R | tr '\n' '|')"
fi

# ---- 4. reads of vda, and a heartbeat on vdb, until the machine stops
if [ -b /dev/vda ]; then
	(while :; do
		dd if=/dev/vda of=/dev/null bs=65536 count=16 2>/dev/null
		echo 3 >/proc/sys/vm/drop_caches
	done) &
fi
if [ -b /dev/vdb ]; then
	(hb=0; while :; do
		hb=$((hb + 1))
		echo "HB $hb" | dd of=/dev/vdb bs=512 seek=1024 conv=notrunc,sync,fsync 2>/dev/null
		sleep 1
	done) &
fi
while :; do sleep 3600; done
