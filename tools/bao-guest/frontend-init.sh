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
#    2 s (a bind of the platform device) until the three disks exist:
#    vda (vbe-blk), vdb (vbe-blk, the results) and vdc (the bridge with
#    qemu-storage-daemon), named here by their platform device, whatever
#    order they probed in;
# 2. TAP results (the backend renumbers them into its own): the devices
#    and their restricted DMA pools; on vda, then on vdc, mke2fs, a file of
#    8 MiB written and read back after a remount; a clean kernel log;
#    with virtbe_bench=1 on the command line (scripts/bao-lane.sh --bench),
#    the benchmark once the backend says it is ready (a line at offset
#    768 KiB of vdb): kick round trips on the virtbe, stub and Bao paths
#    (bao-kick) and 4 KiB random reads at queue depth 1 on vda and vdc
#    (vbe-randread), as "# bench:" notes;
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
FE_TESTS=6	# backend-test.sh expects as many
PROBE_LIMIT=${virtbe_probe_limit:-240}
PAT='BUG:|WARNING:|Oops:'
R=/tmp/results
n=0
ok() { n=$((n + 1)); echo "ok $n $*" >>$R; }
nok() { n=$((n + 1)); echo "not ok $n $*" >>$R; }
note() { echo "# $*" >>$R; }
: >$R
kmsg "booted $(uname -r) at $(up)s; probing a003e00.virtio, a003c00.virtio, a003a00.virtio"

# ---- 1. the devices, once the backend serves them
drv=/sys/bus/platform/drivers/virtio-mmio
devs="a003e00.virtio a003c00.virtio a003a00.virtio"
disk_of() {	# disk_of PLATFORM-DEVICE: /dev/vdX of its virtio_blk, or nothing
	for b in /sys/bus/platform/devices/$1/virtio*/block/*; do
		[ -e "$b" ] && [ -b "/dev/${b##*/}" ] && echo "/dev/${b##*/}"
	done
}
all_disks() { [ -n "$(disk_of a003e00.virtio)" ] && [ -n "$(disk_of a003c00.virtio)" ] && [ -n "$(disk_of a003a00.virtio)" ]; }
i=0
until all_disks; do
	[ $i -lt "$PROBE_LIMIT" ] || break
	for d in $devs; do
		[ -e /sys/bus/platform/devices/$d/driver ] || echo $d >$drv/bind 2>/dev/null
	done
	# virtio_blk's disk appears just after the bind
	all_disks && break
	sleep 2
	i=$((i + 2))
done
VDA=$(disk_of a003e00.virtio) VDB=$(disk_of a003c00.virtio) VDC=$(disk_of a003a00.virtio)
refused=$(dmesg | grep -c 'Wrong magic value 0xffffffff')
kmsg "vda: ${VDA:-none}, vdb: ${VDB:-none}, vdc: ${VDC:-none} after ${i}s of retries ($(up)s)"
note "frontend kernel $(uname -r); $refused probe(s) refused (all-ones) before the backend served the devices; devices after ${i}s of retries, at $(up)s"
pools=0
for x in "a003e00.virtio: assigned reserved memory node restricted-dma@d0000000" \
	"a003c00.virtio: assigned reserved memory node restricted-dma@d1000000" \
	"a003a00.virtio: assigned reserved memory node restricted-dma@d3000000"; do
	dmesg | grep -q "$x" && pools=$((pools + 1))
done
name="virtio_mmio + virtio_blk probed the three remote I/O disks (vda at 0xa003e00, vdb at 0xa003c00, vdc at 0xa003a00), DMA through the restricted pools at 0xd0000000, 0xd1000000 and 0xd3000000"
if all_disks && [ $pools = 3 ] &&
	dmesg | grep -q 'created restricted DMA pool at 0x00000000d0000000' &&
	dmesg | grep -q 'created restricted DMA pool at 0x00000000d1000000' &&
	dmesg | grep -q 'created restricted DMA pool at 0x00000000d3000000'; then
	ok "$name"
	note "vda ($VDA) $(cat /sys/block/${VDA#/dev/}/size) sectors, vdb ($VDB) $(cat /sys/block/${VDB#/dev/}/size), vdc ($VDC) $(cat /sys/block/${VDC#/dev/}/size)"
else
	nok "$name"
	note "vda: ${VDA:-none}, vdb: ${VDB:-none}, vdc: ${VDC:-none}, pools assigned: $pools of 3"
	note "platform devices: $(ls /sys/bus/platform/devices | tr '\n' ' ')"
	dmesg | grep -iE 'virtio|restricted|reserved mem|swiotlb' | tail -n 12 | sed 's/^/# dmesg: /' >>$R
fi

# ---- 2. ext2 (busybox mke2fs; ext4 mounts it), 8 MiB written and verified
mkdir -p /mnt
# fs_test DEV WHO: two results
fs_test() {
	dev=$1 who=$2
	if [ -b "$dev" ] && mke2fs -q "$dev" >/tmp/mke2fs.log 2>&1; then
		t0=$(up)
		if mount -t ext2 "$dev" /mnt &&
			head -c 8388608 /dev/urandom >/mnt/data &&
			md5sum </mnt/data >/tmp/md5 && sync && umount /mnt; then
			ok "$who: mke2fs (busybox), mount (ext2, by ext4), write 8 MiB from /dev/urandom, umount"
			note "$who: written in $(echo "$t0 $(up)" | awk '{print $2 - $1}')s, md5 $(cut -d' ' -f1 /tmp/md5)"
		else
			nok "$who: mke2fs (busybox), mount (ext2, by ext4), write 8 MiB from /dev/urandom, umount"
			umount /mnt 2>/dev/null
			dmesg | tail -n 8 | sed 's/^/# dmesg: /' >>$R
		fi
	else
		nok "$who: mke2fs (busybox), mount (ext2, by ext4), write 8 MiB from /dev/urandom, umount"
		tail -n 5 /tmp/mke2fs.log | sed 's/^/# mke2fs: /' >>$R
	fi
	echo 3 >/proc/sys/vm/drop_caches
	t0=$(up)
	if [ -b "$dev" ] && mount -t ext2 -o ro "$dev" /mnt &&
		[ "$(md5sum </mnt/data)" = "$(cat /tmp/md5)" ] &&
		[ "$(stat -c %s /mnt/data)" = 8388608 ]; then
		ok "$who: mount again: the 8 MiB read back with the same md5sum"
		note "$who: read in $(echo "$t0 $(up)" | awk '{print $2 - $1}')s"
	else
		nok "$who: mount again: the 8 MiB read back with the same md5sum"
		dmesg | tail -n 8 | sed 's/^/# dmesg: /' >>$R
	fi
	umount /mnt 2>/dev/null
}
fs_test "$VDA" "vda (vbe-blk)"
fs_test "$VDC" "vdc (virtbe-vhost-user + qemu-storage-daemon)"

# ---- its own kernel log
if ! dmesg | grep -qE "$PAT"; then
	ok "the frontend's kernel log has no BUG:, WARNING:, Oops:"
else
	nok "the frontend's kernel log has no BUG:, WARNING:, Oops:"
	dmesg | grep -E -A12 "$PAT" | head -n 40 | sed 's/^/# dmesg: /' >>$R
fi
[ $n = $FE_TESTS ] || note "frontend-init.sh ran $n tests, not $FE_TESTS"
grep -E 'virtio|vbe' /proc/interrupts | tr -s ' ' | sed 's/^/# irq: /' >>$R

# ---- the benchmark (virtbe_bench=1), once the backend says it serves it
# (its line at 768 KiB of vdb: "BENCH READY bao=0|1")
uio_of() {	# uio_of NAME: /dev/uioN of the window uio_pdrv_genirq named so
	for u in /sys/class/uio/uio*; do
		[ "$(cat $u/name 2>/dev/null)" = "$1" ] && echo "/dev/${u##*/}"
	done
}
bench_ready() {
	echo 3 >/proc/sys/vm/drop_caches
	dd if=$VDB bs=512 skip=1536 count=1 2>/dev/null | tr -d '\000' | grep -o 'BENCH READY bao=[01]'
}
if [ "${virtbe_bench:-0}" = 1 ] && [ -b "$VDB" ]; then
	w=0 ready=
	while [ $w -lt 120 ] && [ -z "$ready" ]; do
		ready=$(bench_ready); [ -n "$ready" ] || { sleep 1; w=$((w + 1)); }
	done
	iters=${virtbe_bench_iters:-2000}
	vb=$(uio_of virtbe-bench) bb=$(uio_of bao-bench)
	if [ -z "$ready" ]; then
		note "bench: the backend never said it was ready (no BENCH READY on vdb)"
	elif [ -z "$vb" ] || [ -z "$bb" ]; then
		note "bench: no uio device for the windows (virtbe-bench: '${vb}', bao-bench: '${bb}')"
	else
		# the paths take turns, 8 rounds; an unserved kick to Bao's own
		# driver would stop this vCPU for good: only when it is served
		paths="virtbe:$vb:0x50 stub:$vb:0x54"
		if [ "$ready" = "BENCH READY bao=1" ]; then
			paths="$paths bao:$bb:0x50"
		else
			note "bench: Bao's own path not served (its driver did not load)"
		fi
		bao-kick "$iters" 8 60 $paths 2>&1 | sed 's/^/# bench: /' >>$R
		# "randread vbe-blk qd 1: ..." and "randread bridge qd 1: ..."
		for p in "vbe-blk $VDA" "bridge $VDC"; do
			set -- $p
			vbe-randread "$2" 1 ${virtbe_bench_secs:-5} 2>&1 |
				sed "s|^randread $2 |randread $1 |; s/^/# bench: /" >>$R
		done
	fi
fi

# ---- 3. the report, on vdb at offset 0
echo "### FRONTEND DONE" >>$R
if [ -b "$VDB" ]; then
	# said first: the backend prints its TAP as soon as the report is
	# there, and this line must not cut one of its lines in two
	kmsg "writing the report to vdb ($(grep -c '^ok' $R) ok, $(grep -c '^not ok' $R) not ok) at $(up)s"
	dd if=$R of=$VDB bs=4096 conv=notrunc,sync,fsync 2>/dev/null
	sync
else
	kmsg "no vdb: the report cannot reach the backend; results: $(grep -E '^(not )?ok' $R | tr '\n' '|')"
fi

# ---- 4. reads of vda, and a heartbeat on vdb, until the machine stops
if [ -b "$VDA" ]; then
	(while :; do
		dd if=$VDA of=/dev/null bs=65536 count=16 2>/dev/null
		echo 3 >/proc/sys/vm/drop_caches
	done) &
fi
if [ -b "$VDB" ]; then
	(hb=0; while :; do
		hb=$((hb + 1))
		echo "HB $hb" | dd of=$VDB bs=512 seek=1024 conv=notrunc,sync,fsync 2>/dev/null
		sleep 1
	done) &
fi
while :; do sleep 3600; done
