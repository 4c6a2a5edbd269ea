#!/bin/sh
# The real-Xen lane's test, run by dom0's /init (scripts/xen-lane.sh builds
# the initramfs).  Prints TAP between "### VIRTBE BEGIN xen" and
# "### VIRTBE END xen ...", which scripts/tap-summary.sh counts.
#
# One PVH domU (/xen/domu.cpio.gz, see domu-init.sh) serves every case:
# negative control, end-to-end virtio-blk, daemon killed mid-I/O, the
# domain destroyed while a backend is attached; and, with virtbe_bench=1
# (scripts/xen-lane.sh --bench: dom0's kernel command line sets
# virtbe_bench{,_iters,_maps,_budget}, which reach /init as variables), the
# benchmark (vbe-xen-bench; its numbers are "# xen ..." comment lines).
# virtbe_dom0=pvh (scripts/xen-lane.sh --dom0 pvh) says dom0 must be PVH,
# i.e. auto-translated.
#
# virtbe_arch=arm64 (scripts/xen-lane.sh --arch arm64): the domU's device is
# xl's own: a "specification=virtio" disk, for which xl writes a DT
# virtio,mmio node (base and SPI in the backend's xenstore directory) and
# waits for the standalone backend to reach InitWait, which this script
# writes for it.  The interrupt is an edge on that SPI (XEN_DMOP_set_irq_level);
# the negative control is the domU's read of MagicValue aborting (Xen has
# no IOREQ server for the range, and Arm injects a data abort).
M='### VIRTBE'
ARCH=${virtbe_arch:-amd64}
if [ "$ARCH" = arm64 ]; then
	MEM=0x40000000:0x8000000	# GUEST_RAM0_BASE, memory = 128
	DISK=/dev/loop0
	NEGATIVE="the domU's read of MagicValue aborts"
else
	BASE=0xfe000000
	MEM=0:0x8000000
	DISK=/tmp/disk.img
	NEGATIVE="the domU reads 0xffffffff and virtio_mmio refuses the device"
fi
LOG=/var/log/xen/console/guest-vbe.log
PAT='BUG:|WARNING:|Oops|INFO: possible|INFO: task .* blocked|lockdep|KASAN|UBSAN|general protection|kernel BUG|detected stall'
n=0
fails=0
t0=$(cut -d' ' -f1 /proc/uptime)
ok() { n=$((n + 1)); echo "ok $n $*"; }
nok() { n=$((n + 1)); echo "not ok $n $*"; fails=$((fails + 1)); }
note() { echo "# $*"; }
now() { cut -d' ' -f1 /proc/uptime; }
# wait_for SECONDS CMD...: poll CMD every 0.2 s
wait_for() {
	w=$(($1 * 5)); shift
	while [ $w -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		w=$((w - 1))
	done
	return 1
}
guest_said() { grep -q "VBE-GUEST $1" $LOG 2>/dev/null; }
domain_exists() { xl list 2>/dev/null | grep -q '^vbe '; }
start_backend() {	# start_backend LOGFILE
	vbe-blk --hyp xen --guest "$domid" --base $BASE --irq "$irq" \
		--irq-type $irqtype --file $DISK --mem $MEM >"$1" 2>&1 &
	bpid=$!
}

echo "$M BEGIN xen"
bench=${virtbe_bench:-0}
echo "1..$((11 + bench))"
note "dom0 test started at ${t0}s"

# virtbe_dom0 (pv or pvh) comes from scripts/xen-lane.sh --dom0
want=$(echo "${virtbe_dom0:-pv}" | tr a-z A-Z)
have=$(cat /sys/hypervisor/guest_type 2>/dev/null)
if [ "$have" != "$want" ]; then
	nok "virtbe_xen loads in a $want dom0 (this dom0 is '$have')"
elif insmod /virtbe/virtbe.ko && insmod /virtbe/virtbe_xen.ko; then
	ok "virtbe_xen loads in a $want dom0"
else
	nok "virtbe_xen loads in a $want dom0"
fi

dd if=/dev/zero of=/tmp/disk.img bs=1048576 count=8 2>/dev/null
cat >/tmp/vbe.cfg <<CFG
name = "vbe"
type = "pvh"
kernel = "/xen/vmlinuz"
ramdisk = "/xen/domu.cpio.gz"
extra = "console=hvc0 quiet loglevel=4$([ $bench = 1 ] && echo ' virtbe_bench=1')$([ $ARCH = arm64 ] && echo ' virtbe_dev=dt')"
memory = 128
vcpus = 2
on_crash = "destroy"
CFG
if [ $ARCH = arm64 ]; then
	# xl's standalone virtio backend must name a block device
	losetup $DISK /tmp/disk.img
	echo "disk = [ \"backendtype=standalone,specification=virtio,vdev=xvda,target=$DISK\" ]" >>/tmp/vbe.cfg
fi
# what a standalone backend does for xl: InitWait, once xl wrote the
# backend directory (xl create waits for it, 10 s at most)
VD=/local/domain/0/backend/virtio_disk
be=
be_waiting() {
	d=$(xenstore-list $VD 2>/dev/null | head -n1)
	[ -n "$d" ] && be=$VD/$d/51712 &&
		[ "$(xenstore-read $be/state 2>/dev/null)" = 1 ]
}
ta=$(now) domid=
xl create /tmp/vbe.cfg >/tmp/xl-create.log 2>&1 &
xpid=$!
if [ $ARCH = arm64 ] && wait_for 30 be_waiting; then
	xenstore-write $be/state 2
	# and, when xl destroys the domain, Closing (5) -> Closed (6):
	# unanswered, libxl waits 10 s and logs "unable to remove device"
	(while st=$(xenstore-read $be/state 2>/dev/null); do
		[ "$st" = 5 ] && { xenstore-write $be/state 6; break; }
		sleep 0.2
	done) &
fi
if wait $xpid; then
	domid=$(xl domid vbe)
	xenstore-write /local/domain/$domid/data/virtbe-go 1
	ok "PVH domU created (domid $domid)"
else
	nok "PVH domU created"
	sed 's/^/# /' /tmp/xl-create.log
fi

irq=
if [ $ARCH = arm64 ]; then
	# xl chose the device's place and SPI (GIC interrupt id)
	[ -n "$be" ] && BASE=$(printf 0x%x "$(xenstore-read $be/base 2>/dev/null)") &&
		irq=$(xenstore-read $be/irq 2>/dev/null)
	irqtype=edge
	[ -z "$domid" ] || wait_for 120 guest_said "booted"
	note "virtio-mmio device at '$BASE', SPI '$irq' ($(now)s; domU up after $(echo "$ta $(now)" | awk '{print $2 - $1}')s)"
else
	wait_for 120 guest_said "test module" &&
		irq=$(xenstore-read /local/domain/$domid/data/virtbe-port 2>/dev/null)
	irqtype=evtchn
	note "domU event channel port: '$irq' ($(now)s; domU up after $(echo "$ta $(now)" | awk '{print $2 - $1}')s)"
fi
if wait_for 20 guest_said "NEGATIVE" && guest_said "NEGATIVE OK" &&
	! guest_said "NEGATIVE FAIL"; then
	ok "negative control: no backend, $NEGATIVE"
else
	nok "negative control: no backend, $NEGATIVE"
fi
grep "VBE-GUEST NEGATIVE" $LOG | sed 's/^/# /'

start_backend /tmp/vbe-blk.1.log
attached() { dmesg | grep -q "virtbe_xen: d$domid: ioreq server"; }
if [ -n "$irq" ] && wait_for 15 attached && sleep 1 && kill -0 $bpid 2>/dev/null; then
	ok "vbe-blk attached: IOREQ server created, ranges claimed, memory mapped"
else
	nok "vbe-blk attached: IOREQ server created, ranges claimed, memory mapped"
	sed 's/^/# vbe-blk: /' /tmp/vbe-blk.1.log | tail -20
fi
dmesg | grep virtbe | sed 's/^/# dom0: /'

if wait_for 120 guest_said "PATTERN" && guest_said "PATTERN OK"; then
	ok "end to end: Linux's virtio_mmio + virtio_blk in the domU wrote and read back 1 MiB through vbe-blk in dom0"
else
	nok "end to end: Linux's virtio_mmio + virtio_blk in the domU wrote and read back 1 MiB through vbe-blk in dom0"
	sed 's/^/# vbe-blk: /' /tmp/vbe-blk.1.log | tail -20
fi
grep -E "VBE-GUEST (disk|PATTERN|irq)" $LOG | sed 's/^/# /'

yes VIRTBE-XEN-PATTERN-0123456789 | head -c 1048576 >/tmp/pattern
if dd if=/tmp/disk.img bs=65536 count=16 2>/dev/null | cmp -s - /tmp/pattern; then
	ok "dom0 finds the domU's pattern in the backing file"
else
	nok "dom0 finds the domU's pattern in the backing file"
fi

# ---- daemon stopped, then killed, mid-I/O
beats() { grep -c "VBE-GUEST alive$1 " $LOG; }
# every vCPU's heartbeat advanced by >= 3 within 6 s, and the domain lives
vcpus_alive() {
	a0=$(beats 0); b0=$(beats 1)
	sleep 6
	a1=$(beats 0); b1=$(beats 1)
	note "heartbeats vCPU0 $a0 -> $a1, vCPU1 $b0 -> $b1 ($1)"
	[ $((a1 - a0)) -ge 3 ] && [ $((b1 - b0)) -ge 3 ] && domain_exists
}
wait_for 30 guest_said "IO LOOP"
sleep 2
kill -STOP $bpid
if vcpus_alive "daemon stopped"; then
	ok "daemon stopped mid-I/O: the request timeout completes the trapped accesses, no vCPU hangs"
else
	nok "daemon stopped mid-I/O: the request timeout completes the trapped accesses, no vCPU hangs"
	tail -5 $LOG | sed 's/^/# /'
fi
kill -KILL $bpid 2>/dev/null
wait $bpid 2>/dev/null
if vcpus_alive "daemon killed"; then
	ok "daemon killed mid-I/O: outstanding accesses completed, the domU's vCPUs keep running"
else
	nok "daemon killed mid-I/O: outstanding accesses completed, the domU's vCPUs keep running"
	tail -5 $LOG | sed 's/^/# /'
fi

# ---- the benchmark (after the kill: the domU's disk I/O is stuck, quiet)
if [ $bench = 1 ]; then
	bport=$(xenstore-read /local/domain/$domid/data/virtbe-bench-port 2>/dev/null)
	tb=$(now)
	if [ -n "$bport" ] &&
		timeout 90 vbe-xen-bench --guest "$domid" --port "$bport" --mem $MEM \
			--iters "${virtbe_bench_iters:-960}" --maps "${virtbe_bench_maps:-3}" \
			--budget "${virtbe_bench_budget:-10}" --timeout 45 \
			>/tmp/bench.log 2>&1; then
		ok "benchmark: kick round trips (virtbe ioeventfd, userspace IOREQ server, request channel stub) and whole-guest map time"
	else
		nok "benchmark: kick round trips (virtbe ioeventfd, userspace IOREQ server, request channel stub) and whole-guest map time"
		tail -5 $LOG | sed 's/^/# domU: /'
		xl list | sed 's/^/# /'
	fi
	sed 's/^/# /' /tmp/bench.log
	note "benchmark ran $(echo "$tb $(now)" | awk '{print $2 - $1}')s"
fi

# ---- the domain destroyed while a backend is attached
start_backend /tmp/vbe-blk.2.log
sleep 3
tx=$(now)
xl destroy vbe
td=$(now)
note "xl destroy took $(echo "$tx $td" | awk '{print $2 - $1}')s"
if wait_for 15 sh -c "! kill -0 $bpid 2>/dev/null"; then
	wait $bpid
	rc=$?
	note "vbe-blk exited with status $rc after the destroy"
	ok "domain destroyed while attached: the daemon sees the guest gone and exits"
else
	nok "domain destroyed while attached: the daemon sees the guest gone and exits"
	kill -KILL $bpid 2>/dev/null
fi
sed 's/^/# vbe-blk: /' /tmp/vbe-blk.2.log | tail -5
if wait_for 20 sh -c '! xl list | grep -q "^(null)\|^vbe "'; then
	ok "the destroyed domain is released (no page kept mapped)"
else
	nok "the destroyed domain is released (no page kept mapped)"
	xl list | sed 's/^/# /'
fi

rm_ok=1
rmmod virtbe_xen && rmmod virtbe || rm_ok=0
kw=$(dmesg | grep -cE "$PAT")
if [ "$kw" -eq 0 ] && [ $rm_ok = 1 ]; then
	ok "dom0's kernel log is clean (no WARN/BUG/Oops), modules unloaded"
else
	nok "dom0's kernel log is clean (no WARN/BUG/Oops), modules unloaded"
	dmesg | grep -E -A20 "$PAT" | sed 's/^/# kernel: /'
fi
dmesg | grep -E "virtbe|xen:" | tail -20 | sed 's/^/# dom0: /'
echo "$M END xen rc=0 timeout=0 kwarn=0"
note "dom0 test ran $(echo "$t0 $(now)" | awk '{print $2 - $1}')s"
echo "$M DONE failures=$fails"
