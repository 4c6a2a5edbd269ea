#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The real-Xen lane's test, run by dom0's /init (scripts/xen-lane.sh builds
# the initramfs).  Prints TAP between "### VIRTBE BEGIN xen" and
# "### VIRTBE END xen ...", which scripts/tap-summary.sh counts.
#
# One PVH domU (/xen/domu.cpio.gz, see domu-init.sh) serves every vbe-blk
# case: negative control, end-to-end virtio-blk, daemon killed mid-I/O, the
# domain destroyed while a backend is attached.  On amd64 it also serves
# the tests of guest pages referenced beyond revocation (vbe-pin, on the
# domU's test page): on a PV dom0 vmsplice and O_DIRECT from a memory fd
# fail with EFAULT; on a PVH dom0 a page vmspliced into a pipe or under an
# O_DIRECT write in flight keeps the guest's frame when the guest fd is
# closed, and when the domain is destroyed, until the reference drops.  On amd64 a second one,
# vbe2 (the same initramfs, virtbe_mode=bridge), then has two virtio-mmio
# devices served by tools/vhost-user/virtbe-vhost-user, with Debian's
# unmodified qemu-storage-daemon (virtio-blk: ext4 made, checked and read
# back in the domU) and virtiofsd (virtio-fs: files created, renamed and
# unlinked on both sides) behind it, then qemu-storage-daemon killed
# mid-I/O and restarted, and vbe2 destroyed under the bridge.
# With virtbe_bench=1
# (scripts/xen-lane.sh --bench: dom0's kernel command line sets
# virtbe_bench{,_iters,_maps,_budget}, which reach /init as variables), the
# benchmark (vbe-xen-bench; its numbers are "# xen ..." comment lines),
# and on amd64, after vbe2, the disk benchmark: a third domU, vbe3
# (virtbe_mode=randread), reads 4 KiB at random from a virtio-blk disk
# served by virtbe-vhost-user with qemu-storage-daemon and from a PV disk
# (xen-blkfront, dom0's xen-blkback on a loop device, /bin/block-loop) on
# the same image ("# xen randread ..." lines).
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
DOM=vbe		# the domain the helpers below look at, and its console
LOG=/var/log/xen/console/guest-$DOM.log
# lockdep's reports are WARNING:s, but for these (a debug kernel's boot
# says "RCU lockdep checking is enabled": not a report)
PAT='BUG:|WARNING:|Oops|INFO: possible|INFO: task .* blocked|INFO: trying to register non-static key|DEBUG_LOCKS_WARN_ON|turning off the locking correctness validator|KASAN|UBSAN|general protection|kernel BUG|detected stall'
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
domain_exists() { xl list 2>/dev/null | grep -q "^$DOM "; }
up_or_gone() { guest_said "test module" || ! domain_exists; }
# create_domu: create $DOM from /tmp/$DOM.cfg and let it go on, once more
# if it dies while booting (a triple fault; on_reboot = "destroy"); sets
# domid (empty on failure)
create_domu() {
	domid=
	for try in 1 2; do
		xl create /tmp/$DOM.cfg >/tmp/xl-create-$DOM.log 2>&1 || {
			sed 's/^/# /' /tmp/xl-create-$DOM.log; break; }
		domid=$(xl domid $DOM)
		xenstore-write /local/domain/$domid/data/virtbe-go 1
		wait_for 120 up_or_gone
		guest_said "test module" && break
		note "$DOM (domid $domid) did not come up: $(xl list | grep -c "^$DOM ") domain(s); console:"
		tail -3 $LOG | sed 's/^/#   /'
		xl destroy $DOM 2>/dev/null
		mv $LOG $LOG.$try
		domid=
	done
}
# run_part NAME DOMAIN FN: a part of the test with a domU of its own.  QEMU's
# nested SVM makes a domU triple-fault now and then (Documentation/
# testing.rst, "The triple fault"; Xen logs "dNvM Triple fault"): a part
# with a failed result and a new triple fault in Xen's log meanwhile runs
# once more, up to three tries, its domU destroyed and created again,
# rather than the whole QEMU run being retried (scripts/xen-lane.sh).  The
# results of a try that is run again are void: "### VIRTBE PART" and
# "### VIRTBE VOID" around them tell scripts/tap-summary.sh so, and the
# next try numbers its results from the same place.
# virtbe_fake_tf=PART (scripts/xen-lane.sh --fake-triple-fault PART), to
# test run_part itself: 10 s after PART's domU is up in its first try, it
# is destroyed, and counted as a triple fault.
tfaults() {
	echo $(( $(xl dmesg 2>/dev/null | grep -c 'd[0-9]*v[0-9]* Triple fault') +
		$(ls /tmp/fake-tf.* 2>/dev/null | wc -l) ))
}
run_part() {	# run_part NAME DOMAIN FN
	local rp_try=1 rp_n0=$n rp_f0=$fails rp_tf0 rp_pids rp_p rp_fake=
	while :; do
		echo "$M PART $1 try $rp_try"
		rp_tf0=$(tfaults)
		if [ "${virtbe_fake_tf:-}" = $1 ] && [ $rp_try = 1 ]; then
			(wait_for 300 grep -q "VBE-GUEST test module" /var/log/xen/console/guest-$2.log &&
				sleep 10 && xl destroy $2 && : >/tmp/fake-tf.$1 &&
				note "--fake-triple-fault $1: $2 destroyed ($(now)s)") &
			rp_fake=$!
		fi
		$3
		[ -z "$rp_fake" ] || { kill $rp_fake 2>/dev/null; wait $rp_fake 2>/dev/null; rp_fake=; }
		if [ $fails = $rp_f0 ] || [ "$(tfaults)" = "$rp_tf0" ] || [ $rp_try = 3 ]; then
			return
		fi
		echo "$M VOID $1 try $rp_try"
		note "$1 part: a domU triple-faulted and $((fails - rp_f0)) result(s) failed in try $rp_try: its results are void, the part runs again"
		xl dmesg | grep -A4 'Triple fault' | grep -E 'Triple|RIP' | tail -4 | sed 's/^/# /'
		xl destroy $DOM 2>/dev/null
		# the part's processes still running (children of this shell)
		rp_pids=
		for rp_p in ${bpid:-} ${ppid:-} ${pin3:-} ${brpid:-} ${fpid:-} ${gpid:-} ${hpid:-} ${qpid:-} ${vpid:-} ${xpid:-}; do
			[ "$(cut -d' ' -f4 /proc/$rp_p/stat 2>/dev/null)" = $$ ] || continue
			kill -KILL $rp_p && rp_pids="$rp_pids $rp_p"
		done
		[ -z "$rp_pids" ] || wait $rp_pids 2>/dev/null
		wait_for 20 sh -c "! xl list | grep -q '^(null)\\|^$DOM '"
		mv $LOG $LOG.try$rp_try 2>/dev/null
		n=$rp_n0 fails=$rp_f0 rp_try=$((rp_try + 1))
	done
}
start_backend() {	# start_backend LOGFILE
	vbe-blk --hyp xen --guest "$domid" --base $BASE --irq "$irq" \
		--irq-type $irqtype --file $DISK --mem $MEM >"$1" 2>&1 &
	bpid=$!
}

# domu_cfg NAME EXTRA: /tmp/NAME.cfg, a PVH domU of this initramfs with
# EXTRA on its kernel command line; amd64: a domU that triple-faults
# (Documentation/testing.rst, The triple fault) is destroyed rather than
# rebooted under a domid this script no longer knows
domu_cfg() {
	cat >/tmp/$1.cfg <<CFG
name = "$1"
type = "pvh"
kernel = "/xen/vmlinuz"
ramdisk = "/xen/domu.cpio.gz"
extra = "console=hvc0 quiet loglevel=4$2"
memory = 128
vcpus = 2
on_crash = "destroy"
CFG
	[ $ARCH = arm64 ] || echo 'on_reboot = "destroy"' >>/tmp/$1.cfg
	# virtbe_hap=0 (scripts/xen-lane.sh --domu-hap 0): shadow paging
	[ -z "${virtbe_hap:-}" ] || echo "hap = $virtbe_hap" >>/tmp/$1.cfg
}

# kmemleak (a debug dom0: scripts/xen-lane.sh --kver debug): objects younger
# than 5 s are never reported, and a new one only by the second scan that
# finds it unchanged.  What boot left (nothing of virtbe's) is cleared now;
# the scan made once every domain is destroyed and virtbe's modules are
# removed (the last result) must find nothing.
KML=/sys/kernel/debug/kmemleak
kmemleak=0
if [ -e $KML ] && [ -z "${virtbe_repro:-}" ]; then
	if echo scan >$KML; then
		kmemleak=1
		sleep 6
		echo scan >$KML; echo scan >$KML
		note "kmemleak: $(grep -c '^unreferenced object' $KML) report(s) from boot cleared"
		echo clear >$KML
	else
		note "kmemleak does not scan (disabled at boot?): $(dmesg | grep -i kmemleak | tail -n 1)"
		kmemleak=2
	fi
fi

# virtbe_repro=SECS (scripts/xen-lane.sh --repro-triple-fault SECS): the
# triple fault reproducer (Documentation/testing.rst), with no virtbe in
# dom0 at all: PVH domUs (virtbe_mode=spin) whose vCPUs make trapped MMIO
# reads that no IOREQ server claims (Xen answers all-ones itself) and take
# timer interrupts, one after another for SECS seconds; a domU that dies
# (a triple fault: on_reboot; a panic: on_crash) is destroyed and
# replaced, its console's last lines (virtbe_repro_lines, default 4) kept.
# virtbe_tsc=native sets the domUs' tsc_mode (default: Xen's).  One TAP
# result with the counts; it fails if any domU died, or none was created.
if [ -n "${virtbe_repro:-}" ]; then
	echo "$M BEGIN xen"
	echo "1..1"
	domu_cfg tf " virtbe_mode=spin"
	[ -z "${virtbe_tsc:-}" ] || echo "tsc_mode = \"$virtbe_tsc\"" >>/tmp/tf.cfg
	TFLOG=/var/log/xen/console/guest-tf.log
	up() { cut -d. -f1 /proc/uptime; }
	end=$(( $(up) + virtbe_repro ))
	doms=0 died=0
	while [ "$(up)" -lt $end ]; do
		xl create /tmp/tf.cfg >/tmp/xl-create-tf.log 2>&1 ||
			{ sed 's/^/# /' /tmp/xl-create-tf.log; break; }
		doms=$((doms + 1))
		while xl list 2>/dev/null | grep -q "^tf " && [ "$(up)" -lt $end ]; do
			sleep 2
		done
		xl list 2>/dev/null | grep -q "^tf " && break
		died=$((died + 1))
		note "domU $doms died at $(up)s; its console's last lines:"
		tail -n "${virtbe_repro_lines:-4}" $TFLOG 2>/dev/null | sed 's/^/#   /'
		: >$TFLOG
	done
	note "the running domU's spin counts: $(grep -o 'spin[0-9] [0-9]*' $TFLOG 2>/dev/null | tail -n 2 | tr '\n' ' ')"
	xl destroy tf 2>/dev/null
	tfs=$(xl dmesg | grep -c 'Triple fault')
	xl dmesg | grep -A4 'Triple fault' | grep -E 'Triple|RIP' | sed 's/^/# /'
	msg="triple fault reproducer: $doms PVH domU(s) spinning on unclaimed MMIO reads for ${virtbe_repro}s, tsc_mode ${virtbe_tsc:-default}, hap ${virtbe_hap:-default}, no virtbe loaded: $died died, $tfs triple fault(s)"
	# a domU that could not be created tested nothing
	if [ $died = 0 ] && [ $doms -gt 0 ]; then ok "$msg"; else nok "$msg"; fi
	echo "$M END xen rc=0 timeout=0 kwarn=0"
	echo "$M DONE failures=$fails"
	exit 0
fi

echo "$M BEGIN xen"
bench=${virtbe_bench:-0}
bridge=9	# the second domU's results (amd64)
[ $ARCH = amd64 ] || bridge=0
multi=3		# vbe4's results: two daemons, two guest fds (amd64)
[ $ARCH = amd64 ] || multi=0
hostile=12	# vbe5's results: the hostile domU (amd64)
[ $ARCH = amd64 ] || hostile=0
randread=0	# the disk benchmark's result (amd64, bench)
[ $ARCH/$bench != amd64/1 ] || randread=1
# not on a debug dom0 (kmemleak): its peer, blkback, trips Linux's own
# debug-objects check when the domain goes (free_persistent_gnts() hands
# gnttab_unmap_refs_sync() an on-stack delayed work, not annotated), and
# KASAN's timings say nothing of either disk path
if [ $randread = 1 ] && [ -e $KML ]; then
	randread=0
	note "the disk benchmark is skipped on a debug dom0: blkback trips DEBUG_OBJECTS (not virtbe's), and its timings are KASAN's"
fi
# guest pages referenced beyond revocation (amd64): four results on a PVH
# dom0, one (EFAULT) on a PV dom0; set again below once the kind is known
pin=0
[ $ARCH != amd64 ] || { pin=1; [ "${virtbe_dom0:-pv}" != pvh ] || pin=4; }
echo "1..$((11 + bench + bridge + multi + hostile + randread + pin))"
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

# ---- the first domU, vbe: vbe-blk end to end, the daemon stopped and
# killed, the benchmark, guest pages beyond revocation, the domain destroyed
first_part() {
	# (an earlier try's go files would let vbe-pin on at once)
	rm -f /tmp/pin1.go /tmp/pin3.go
	dd if=/dev/zero of=/tmp/disk.img bs=1048576 count=8 2>/dev/null
	domu_cfg vbe "$([ $bench = 1 ] && echo ' virtbe_bench=1')$([ $ARCH = arm64 ] && echo ' virtbe_dev=dt')"
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
		# a domU that triple-faulted while booting is gone (on_reboot above):
		# it is created once more
		if [ -n "$domid" ] && wait_for 120 up_or_gone && ! guest_said "test module"; then
			note "the domU (domid $domid) died while booting; console:"
			tail -3 $LOG | sed 's/^/#   /'
			xl destroy vbe 2>/dev/null
			mv $LOG $LOG.1
			domid=
			xl create /tmp/vbe.cfg >/tmp/xl-create.log 2>&1 && domid=$(xl domid vbe) &&
				xenstore-write /local/domain/$domid/data/virtbe-go 1
			note "created again (domid $domid)"
		fi
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
			ok "benchmark: kick round trips (virtbe ioeventfd, privcmd ioeventfd or why not, userspace IOREQ server, request channel stub, no-eventfd floor) and whole-guest map time"
		else
			nok "benchmark: kick round trips (virtbe ioeventfd, privcmd ioeventfd or why not, userspace IOREQ server, request channel stub, no-eventfd floor) and whole-guest map time"
			tail -5 $LOG | sed 's/^/# domU: /'
			xl list | sed 's/^/# /'
		fi
		sed 's/^/# /' /tmp/bench.log
		note "benchmark ran $(echo "$tb $(now)" | awk '{print $2 - $1}')s"
	fi

	# ---- guest pages referenced beyond revocation (tools/xen-guest/vbe-pin.c:
	# the domU's test page, whose content dom0 knows, as vbe_xen_guest.ko
	# keeps it).  A PV dom0's memory fds are VM_PFNMAP, so get_user_pages()
	# refuses them: vmsplice and O_DIRECT fail with EFAULT.  On an
	# auto-translated dom0 they are ordinary pages: a page a pipe or I/O in
	# flight still references keeps the guest's frame until the reference
	# drops (Documentation/xen.rst, Guest memory).  null_blk with 3 s
	# completions keeps an O_DIRECT write in flight.
	PIN_DEV=/dev/nullb0
	PAGE_DIR=/local/domain/$domid/data
	pgfn=
	modref() { cat /sys/module/virtbe_xen/refcnt 2>/dev/null; }
	# page_gen N: the domU rewrites its test page as generation N
	page_done() { [ "$(xenstore-read $PAGE_DIR/virtbe-page-done 2>/dev/null)" = "$1" ]; }
	page_gen() { xenstore-write $PAGE_DIR/virtbe-page-gen "$1" && wait_for 10 page_done "$1"; }
	# kernel messages of mem.c: pages kept, and kept pages released
	kept() { dmesg | grep -c 'virtbe_xen: d[0-9]*: .* pages of a revoked window still referenced'; }
	freed() { dmesg | grep -c 'virtbe_xen: d[0-9]*: frames kept for references after revocation released'; }
	at_least() { [ "$($1)" -ge "$2" ]; }
	pin_log() { sed 's/^/# /' "$1"; }
	pin_part() {
		tb=$(now)
		pgfn=$(xenstore-read $PAGE_DIR/virtbe-page-gfn 2>/dev/null)
		# built in (a debug kernel): its parameters are on the command line
		if [ ! -e $PIN_DEV ]; then
			insmod /lib/modules/configfs.ko
			insmod /lib/modules/null_blk.ko nr_devices=1 gb=1 bs=4096 memory_backed=1 \
				irqmode=2 completion_nsec=3000000000 || note "null_blk did not load"
		fi
		note "the domU's test page: gfn '$pgfn'; $(ls $PIN_DEV 2>&1)"
		if [ "$want" != PVH ]; then
			name="$want dom0: vmsplice of a guest page from a memory fd's mapping (VM_PFNMAP) fails with EFAULT, and so does an O_DIRECT write of it; the mapping reads the guest's page, the fds close cleanly"
			if [ -n "$pgfn" ] && vbe-pin --guest "$domid" --gfn "$pgfn" --gen 1 \
				--dev $PIN_DEV efault >/tmp/pin.log 2>&1; then
				ok "$name"
			else
				nok "$name"
			fi
			pin_log /tmp/pin.log
			return
		fi

		# (1) vmsplice; the guest fd closed; the domU rewrites the page
		r0=$(modref) k0=$(kept) f0=$(freed)
		vbe-pin --guest "$domid" --gfn "${pgfn:-0}" --gen 1 --go /tmp/pin1.go \
			vmsplice >/tmp/pin1.log 2>&1 &
		ppid=$!
		wait_for 20 grep -q HELD /tmp/pin1.log
		r1=$(modref) k1=$(kept)
		rm_rc=0
		rmmod virtbe_xen 2>/tmp/rmmod.log || rm_rc=$?
		loaded=1
		[ -d /sys/module/virtbe_xen ] || { loaded=0; insmod /virtbe/virtbe_xen.ko; }
		page_gen 2 || note "the domU did not rewrite its page"
		echo 2 >/tmp/pin1.go
		wait $ppid
		rc=$?
		name="$want dom0: guest page vmspliced into a pipe, memory fd and guest fd closed (the mapping faults), the domU then rewrites the page: the pipe read returns the guest's new data"
		if [ $rc = 0 ]; then ok "$name"; else nok "$name"; fi
		pin_log /tmp/pin1.log
		wait_for 10 at_least freed $((f0 + 1))
		wait_for 5 sh -c "[ \"\$(cat /sys/module/virtbe_xen/refcnt)\" = '$r0' ]"
		r2=$(modref) f1=$(freed)
		note "virtbe_xen refcnt: $r0 before, $r1 while the pipe held the page, $r2 after; rmmod meanwhile: status $rm_rc, $(cat /tmp/rmmod.log)"
		name="$want dom0: while the pipe held the revoked page its frame stayed mapped and virtbe_xen kept a reference (rmmod refused, module still loaded); once the pipe was read and closed the frame was released and the reference dropped"
		if [ $k1 = $((k0 + 1)) ] && [ "$r1" = $((r0 + 1)) ] && [ $rm_rc != 0 ] &&
			[ $loaded = 1 ] && [ $f1 = $((f0 + 1)) ] && [ "$r2" = "$r0" ]; then
			ok "$name"
		else
			nok "$name"
			dmesg | grep virtbe_xen | tail -5 | sed 's/^/# dom0: /'
		fi

		# (2) an O_DIRECT write in flight when the fds are closed
		k0=$(kept) f0=$(freed)
		name="$want dom0: O_DIRECT write of a guest page in flight (null_blk, 3 s completions) while the memory fd and guest fd are closed: it completes, the device holds the guest's data, the frame is released afterwards"
		rc=0
		vbe-pin --guest "$domid" --gfn "${pgfn:-0}" --gen 2 --dev $PIN_DEV \
			odirect >/tmp/pin2.log 2>&1 || rc=$?
		wait_for 10 at_least freed $((f0 + 1))
		if [ $rc = 0 ] && [ "$(kept)" = $((k0 + 1)) ] && [ "$(freed)" = $((f0 + 1)) ] &&
			wait_for 5 sh -c "[ \"\$(cat /sys/module/virtbe_xen/refcnt)\" = '$r0' ]"; then
			ok "$name"
		else
			nok "$name"
			dmesg | grep virtbe_xen | tail -5 | sed 's/^/# dom0: /'
		fi
		pin_log /tmp/pin2.log
		note "pages referenced beyond revocation: $(echo "$tb $(now)" | awk '{print $2 - $1}')s"
	}
	[ $pin = 0 ] || pin_part

	# ---- the domain destroyed while a backend is attached (and, on a PVH
	# dom0, while a pipe holds one of its pages through a guest fd of its own)
	pin3=
	if [ $pin = 4 ]; then
		k3=$(kept) f3=$(freed)
		page_gen 3 || note "the domU did not rewrite its page"
		vbe-pin --guest "$domid" --gfn "${pgfn:-0}" --gen 3 --go /tmp/pin3.go --keep \
			vmsplice >/tmp/pin3.log 2>&1 &
		pin3=$!
		wait_for 20 grep -q HELD /tmp/pin3.log
	fi
	start_backend /tmp/vbe-blk.2.log
	sleep 3
	tx=$(now)
	xl destroy vbe
	xrc=$?
	td=$(now)
	note "xl destroy took $(echo "$tx $td" | awk '{print $2 - $1}')s (status $xrc)"
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
	if [ -n "$pin3" ]; then
		# the watch of vbe-pin's own guest fd sees the death too: the window
		# is revoked and its page kept
		wait_for 10 at_least kept $((k3 + 1))
		sleep 1
		note "after the destroy, while the pipe holds the page: $(xl list | grep -c '^(null) ') dying domain(s) in xl list: $(xl list | grep '^(null) ' | tr -s ' ' | tr '\n' '|')"
		echo 3 >/tmp/pin3.go
		rc=0
		wait $pin3 || rc=$?
		name="$want dom0: domain destroyed while a pipe holds one of its pages (guest fd open): xl destroy completes, the mapping faults, the pipe read returns the guest's last data, the frame is released once the pipe is closed, no crash"
		if [ $xrc = 0 ] && [ $rc = 0 ] && [ "$(kept)" = $((k3 + 1)) ] &&
			wait_for 10 at_least freed $((f3 + 1)); then
			ok "$name"
		else
			nok "$name"
			dmesg | grep virtbe_xen | tail -5 | sed 's/^/# dom0: /'
		fi
		pin_log /tmp/pin3.log
	fi
	if wait_for 20 sh -c '! xl list | grep -q "^(null)\|^vbe "'; then
		ok "the destroyed domain is released (no page kept mapped)"
	else
		nok "the destroyed domain is released (no page kept mapped)"
		xl list | sed 's/^/# /'
	fi
}
run_part first vbe first_part

# ---- the bridge: a second domU, vbe2, whose virtio-blk and virtio-fs
# devices virtbe-vhost-user serves with Debian's qemu-storage-daemon and
# virtiofsd behind it (one process per guest: vbe-blk and the bridge cannot
# share one, and the first domU is gone anyway)
QSD_IMG=/tmp/qsd.img QSD_SOCK=/run/qsd.sock VFS_SOCK=/run/virtiofsd.sock
SHARE=/tmp/share FS_TAG=vbefs FS_BASE=0xfe001000
KIND="$want dom0"
QSD="qemu-storage-daemon (Debian, unmodified) in a $KIND"
VFSD="virtiofsd (Debian, unmodified) in a $KIND"
start_qsd() {
	qemu-storage-daemon \
		--blockdev driver=file,node-name=f,filename=$QSD_IMG \
		--blockdev driver=raw,node-name=d,file=f \
		--export type=vhost-user-blk,id=e,node-name=d,addr.type=unix,addr.path=$QSD_SOCK,writable=on,num-queues=2 \
		>>/tmp/qsd.log 2>&1 &
	qpid=$!
}
guest_said_any() { grep -qE "VBE-GUEST ($1)" $LOG 2>/dev/null; }
bridge_alive() { kill -0 $brpid 2>/dev/null; }
bridge_tail() { sed 's/^/# bridge: /' /tmp/bridge.log | tail -${1:-15}; }
io_count() { grep "VBE-GUEST io " $LOG | tail -n1 | cut -d' ' -f3; }
# wait_guest SECONDS ERE: until vbe2 says so, or the bridge or vbe2 is gone
guest_or_gone() { guest_said_any "$1" || ! bridge_alive || ! domain_exists; }
wait_guest() { wait_for $1 guest_or_gone "$2"; }
bridge_part() {
	tb=$(now)
	DOM=vbe2 LOG=/var/log/xen/console/guest-vbe2.log
	# (on_reboot = "destroy", as vbe: vbe2 too is created once more if
	# it triple-faults while booting)
	sed -e 's/^name = .*/name = "vbe2"/' -e 's/ virtbe_bench=1//' \
		-e "s/^extra = \"\\(.*\\)\"/extra = \"\\1 virtbe_mode=bridge virtbe_fs_tag=$FS_TAG\"/" \
		/tmp/vbe.cfg >/tmp/vbe2.cfg
	domid= irq= fsirq= brpid= qpid= vpid=
	create_domu
	[ -z "$domid" ] ||
		{ irq=$(xenstore-read /local/domain/$domid/data/virtbe-port 2>/dev/null) &&
		fsirq=$(xenstore-read /local/domain/$domid/data/virtbe-fs-port 2>/dev/null); }
	note "vbe2 event channel ports: blk '$irq', fs '$fsirq' ($(now)s; vbe2 up after $(echo "$tb $(now)" | awk '{print $2 - $1}')s)"
	if [ -n "$irq" ] && [ -n "$fsirq" ] &&
		wait_for 20 guest_said "BRIDGE NEGATIVE: 2 device"; then
		ok "second PVH domU (vbe2, domid $domid) created with two virtio-mmio devices (virtio-blk, virtio-fs) on their own event channels, both read all-ones before the bridge"
	else
		nok "second PVH domU (vbe2) created with two virtio-mmio devices (virtio-blk, virtio-fs) on their own event channels, both read all-ones before the bridge"
		tail -5 $LOG | sed 's/^/# /'
	fi

	# the daemons, as a distribution ships them, and the bridge
	truncate -s 64M $QSD_IMG
	rm -rf $SHARE	# what an earlier try left
	mkdir -p $SHARE
	yes VIRTBE-FS-FROM-DOM0 | head -c 200000 >$SHARE/from-dom0
	(cd $SHARE && sha256sum from-dom0 >from-dom0.sha256)
	start_qsd
	virtiofsd --socket-path=$VFS_SOCK -o source=$SHARE -o sandbox=chroot \
		-o cache=none --thread-pool-size=2 >/tmp/virtiofsd.log 2>&1 &
	vpid=$!
	wait_for 10 sh -c "[ -S $QSD_SOCK ] && [ -S $VFS_SOCK ]"
	note "listening: $(ls $QSD_SOCK $VFS_SOCK 2>&1 | tr '\n' ' ')"
	if [ -n "$fsirq" ]; then
		virtbe-vhost-user --hyp xen --guest "$domid" --mem $MEM --verbose \
			--device type=blk,base=$BASE,irq=$irq,irq-type=evtchn,socket=$QSD_SOCK,queues=2 \
			--device type=fs,base=$FS_BASE,irq=$fsirq,irq-type=evtchn,socket=$VFS_SOCK,tag=$FS_TAG,queues=2 \
			>/tmp/bridge.log 2>&1 &
		brpid=$!
	fi
	if wait_guest 120 "BRIDGE BLK|EXT4" && guest_said "BRIDGE BLK after" &&
		wait_guest 120 "BRIDGE FS|FS " && guest_said "BRIDGE FS after"; then
		ok "virtbe-vhost-user in a $KIND hands vbe2's memory, kicks and event channels to qemu-storage-daemon and virtiofsd: the domU's virtio_mmio probes virtio_blk and virtiofs"
	else
		nok "virtbe-vhost-user in a $KIND hands vbe2's memory, kicks and event channels to qemu-storage-daemon and virtiofsd: the domU's virtio_mmio probes virtio_blk and virtiofs"
		bridge_tail
		sed 's/^/# qsd: /' /tmp/qsd.log | tail -5
		sed 's/^/# virtiofsd: /' /tmp/virtiofsd.log | tail -5
	fi
	grep -E "VBE-GUEST BRIDGE" $LOG | sed 's/^/# /'

	# (a) virtio-blk: ext4 in the domU, on qemu-storage-daemon's image
	if wait_guest 180 "EXT4 (OK|FAIL)" && guest_said "EXT4 OK"; then
		ok "$QSD serves the PVH domU's virtio_blk through virtbe-vhost-user: mkfs.ext4, mount, write+checksum, umount, e2fsck -fn clean, mount, checksums verified"
	else
		nok "$QSD serves the PVH domU's virtio_blk through virtbe-vhost-user: mkfs.ext4, mount, write+checksum, umount, e2fsck -fn clean, mount, checksums verified"
		bridge_tail
	fi
	grep -E "VBE-GUEST EXT4" $LOG | sed 's/^/# /'
	if guest_said "EXT4 OK" && e2fsck -fn $QSD_IMG >/tmp/fsck0.log 2>&1; then
		ok "dom0's e2fsck -fn finds the ext4 the domU made in qemu-storage-daemon's image file clean"
	else
		nok "dom0's e2fsck -fn finds the ext4 the domU made in qemu-storage-daemon's image file clean"
	fi
	sed 's/^/# dom0 e2fsck: /' /tmp/fsck0.log 2>/dev/null | tail -3

	# (b) virtio-fs: each side sees what the other created, renamed, unlinked
	if wait_guest 120 "FS DOMU DONE|FS FAIL" && guest_said "FS DOMU DONE" &&
		(cd $SHARE && sha256sum -c from-domu.sha256 >/dev/null) &&
		[ ! -e $SHARE/from-domu.tmp ] && [ ! -e $SHARE/doomed ] &&
		[ "$(cat $SHARE/dir-domu/hello 2>/dev/null)" = hello ]; then
		ok "$VFSD serves the PVH domU's virtiofs through virtbe-vhost-user: the domU reads dom0's file; dom0 sees the file it wrote (checksum), renamed and unlinked, and its directory"
	else
		nok "$VFSD serves the PVH domU's virtiofs through virtbe-vhost-user: the domU reads dom0's file; dom0 sees the file it wrote (checksum), renamed and unlinked, and its directory"
		ls -la $SHARE | sed 's/^/# share: /'
		sed 's/^/# virtiofsd: /' /tmp/virtiofsd.log | tail -5
	fi
	grep -E "VBE-GUEST FS " $LOG | sed 's/^/# /'
	(cd $SHARE && mv from-dom0 renamed-by-dom0 &&
		sed 's/from-dom0/renamed-by-dom0/' from-dom0.sha256 >renamed-by-dom0.sha256 &&
		rm from-dom0.sha256 from-domu from-domu.sha256 &&
		echo "written by dom0" >dir-domu/from-dom0 && : >dom0-step2)
	if wait_guest 120 "FS OK|FS FAIL" && guest_said "FS OK"; then
		ok "$VFSD: the PVH domU sees dom0's rename, unlinks and new file at once (cache=none), and unmounts"
	else
		nok "$VFSD: the PVH domU sees dom0's rename, unlinks and new file at once (cache=none), and unmounts"
		grep -E "VBE-GUEST FS " $LOG | tail -2 | sed 's/^/# /'
	fi

	# (c) qemu-storage-daemon killed mid-I/O, then restarted
	wait_guest 30 "IO LOOP"
	sleep 2
	i0=$(io_count)
	kill -KILL $qpid 2>/dev/null
	wait $qpid 2>/dev/null
	if vcpus_alive "qemu-storage-daemon killed" && bridge_alive; then
		ok "$QSD SIGKILLed mid-I/O: the PVH domU's vCPUs keep running, virtbe-vhost-user survives"
	else
		nok "$QSD SIGKILLed mid-I/O: the PVH domU's vCPUs keep running, virtbe-vhost-user survives"
		tail -5 $LOG | sed 's/^/# /'
		bridge_tail
	fi
	i1=$(io_count)
	start_qsd
	# the bridge connects again and hands the new daemon the rings where
	# the used rings stand: the domU's virtio_blk, which ignores
	# DEVICE_NEEDS_RESET, reads on without a reset
	reconnected() { [ "$(grep -c "connected to the daemon at $QSD_SOCK" /tmp/bridge.log)" -ge 2 ]; }
	reads_resumed() { [ "$(io_count)" -gt "${i1:-0}" ] 2>/dev/null; }
	wait_for 20 reconnected
	wait_for 30 reads_resumed
	i2=$(io_count)
	note "domU reads: ${i0:-0} before the kill, ${i1:-0} when qemu-storage-daemon was restarted, ${i2:-0} after the bridge reconnected"
	if reconnected && reads_resumed && bridge_alive && kill -0 $qpid 2>/dev/null && domain_exists; then
		ok "$QSD restarted on the same socket: virtbe-vhost-user hands it the rings, and the PVH domU's virtio_blk reads on without a reset"
	else
		nok "$QSD restarted on the same socket: virtbe-vhost-user hands it the rings, and the PVH domU's virtio_blk reads on without a reset"
		bridge_tail
		sed 's/^/# qsd: /' /tmp/qsd.log | tail -5
	fi

	# vbe2 destroyed under the bridge: it sees the guest gone and exits 0
	xl destroy vbe2
	rc=none
	if [ -n "$brpid" ] && wait_for 15 sh -c "! kill -0 $brpid 2>/dev/null"; then
		wait $brpid
		rc=$?
	fi
	note "virtbe-vhost-user exit status after the destroy: $rc"
	if [ "$rc" = 0 ] && wait_for 20 sh -c '! xl list | grep -q "^(null)\|^vbe2 "'; then
		ok "vbe2 destroyed while virtbe-vhost-user is attached: it exits 0 and the domain is released"
	else
		nok "vbe2 destroyed while virtbe-vhost-user is attached: it exits 0 and the domain is released"
		[ -z "$brpid" ] || kill -KILL $brpid 2>/dev/null
		xl list | sed 's/^/# /'
	fi
	bridge_tail 10
	for p in $qpid $vpid; do kill $p 2>/dev/null; done
	wait $qpid $vpid 2>/dev/null
	note "bridge part ran $(echo "$tb $(now)" | awk '{print $2 - $1}')s"
}
[ $bridge = 0 ] || run_part bridge vbe2 bridge_part

# ---- several attachments: vbe4 (virtbe_mode=bridge, as vbe2), its two
# devices served by two virtbe-vhost-user processes, one --device each:
# two guest fds, two IOREQ servers of one domain
QSD4_IMG=/tmp/qsd4.img QSD4_SOCK=/run/qsd4.sock VFS4_SOCK=/run/virtiofsd4.sock
SHARE4=/tmp/share4
multi_alive() { kill -0 $1 2>/dev/null; }
# servers: IOREQ servers virtbe_xen created for the domain so far
servers() { dmesg | grep -c "virtbe_xen: d$domid: ioreq server"; }
multi_part() {
	tb=$(now)
	DOM=vbe4 LOG=/var/log/xen/console/guest-vbe4.log
	sed -e 's/^name = .*/name = "vbe4"/' -e 's/ virtbe_bench=1//' \
		-e "s/^extra = \"\\(.*\\)\"/extra = \"\\1 virtbe_mode=bridge virtbe_fs_tag=$FS_TAG\"/" \
		/tmp/vbe.cfg >/tmp/vbe4.cfg
	domid= irq= fsirq= bpid= fpid= qpid= vpid= xpid=
	create_domu
	[ -z "$domid" ] ||
		{ irq=$(xenstore-read /local/domain/$domid/data/virtbe-port 2>/dev/null) &&
		fsirq=$(xenstore-read /local/domain/$domid/data/virtbe-fs-port 2>/dev/null); }
	note "vbe4 (domid '$domid') event channel ports: blk '$irq', fs '$fsirq' (vbe4 up after $(echo "$tb $(now)" | awk '{print $2 - $1}')s)"
	truncate -s 64M $QSD4_IMG
	rm -rf $SHARE4	# what an earlier try left
	mkdir -p $SHARE4
	yes VIRTBE-FS-FROM-DOM0 | head -c 200000 >$SHARE4/from-dom0
	(cd $SHARE4 && sha256sum from-dom0 >from-dom0.sha256)
	qemu-storage-daemon \
		--blockdev driver=file,node-name=f,filename=$QSD4_IMG \
		--blockdev driver=raw,node-name=d,file=f \
		--export type=vhost-user-blk,id=e,node-name=d,addr.type=unix,addr.path=$QSD4_SOCK,writable=on,num-queues=2 \
		>/tmp/qsd4.log 2>&1 &
	qpid=$!
	virtiofsd --socket-path=$VFS4_SOCK -o source=$SHARE4 -o sandbox=chroot \
		-o cache=none --thread-pool-size=2 >/tmp/virtiofsd4.log 2>&1 &
	vpid=$!
	wait_for 10 sh -c "[ -S $QSD4_SOCK ] && [ -S $VFS4_SOCK ]"
	s0=$(servers)
	if [ -n "$fsirq" ]; then
		virtbe-vhost-user --hyp xen --guest "$domid" --mem $MEM --verbose \
			--device type=blk,base=$BASE,irq=$irq,irq-type=evtchn,socket=$QSD4_SOCK,queues=2 \
			>/tmp/bridge4-blk.log 2>&1 &
		bpid=$!
		virtbe-vhost-user --hyp xen --guest "$domid" --mem $MEM --verbose \
			--device type=fs,base=$FS_BASE,irq=$fsirq,irq-type=evtchn,socket=$VFS4_SOCK,tag=$FS_TAG,queues=2 \
			>/tmp/bridge4-fs.log 2>&1 &
		fpid=$!
	fi
	multi_tail() {
		sed 's/^/# blk bridge: /' /tmp/bridge4-blk.log | tail -${1:-8}
		sed 's/^/# fs bridge: /' /tmp/bridge4-fs.log | tail -${1:-8}
	}
	vbe4_or_gone() { guest_said_any "$1" || ! domain_exists; }
	name="two virtbe-vhost-user processes, one device each, serve one PVH domU (vbe4) as two guest fds, two IOREQ servers: qemu-storage-daemon's virtio_blk (ext4 made, checked, read back) and virtiofsd's virtiofs (dom0's file read, the domU's written)"
	if wait_for 180 vbe4_or_gone "EXT4 (OK|FAIL)" && guest_said "EXT4 OK" &&
		wait_for 120 vbe4_or_gone "FS DOMU DONE|FS FAIL" &&
		guest_said "FS DOMU DONE" &&
		(cd $SHARE4 && sha256sum -c from-domu.sha256 >/dev/null) &&
		[ $(($(servers) - s0)) = 2 ] && multi_alive $bpid && multi_alive $fpid; then
		ok "$name"
	else
		nok "$name"
		note "IOREQ servers created for d$domid: $(($(servers) - s0))"
		tail -5 $LOG | sed 's/^/# /'
		multi_tail
	fi
	grep -E "VBE-GUEST (BRIDGE|EXT4|FS )" $LOG | sed 's/^/# /'

	# a third daemon may not claim registers another guest fd claimed
	name="a third daemon (vbe-blk) attached to vbe4 cannot claim the virtio-fs registers the fs bridge's guest fd claimed: EEXIST, the fs bridge is untouched"
	vbe-blk --hyp xen --guest "$domid" --base $FS_BASE --irq "$fsirq" \
		--irq-type evtchn --file $DISK --mem $MEM >/tmp/vbe-blk4-dup.log 2>&1 &
	xpid=$!
	wait_for 20 sh -c "! kill -0 $xpid 2>/dev/null"
	if ! multi_alive $xpid && grep -q "registers \[$FS_BASE, .*\] are already claimed" /tmp/vbe-blk4-dup.log &&
		multi_alive $fpid; then
		ok "$name"
	else
		nok "$name"
		sed 's/^/# vbe-blk: /' /tmp/vbe-blk4-dup.log | tail -5
		kill -KILL $xpid 2>/dev/null
	fi
	wait $xpid 2>/dev/null

	# one daemon killed: the other guest fd serves on, and the dead one's
	# registers (range and event channel) are free for a new daemon
	name="the virtio-blk bridge of vbe4 SIGKILLed: the virtio-fs bridge, another guest fd, serves on (the domU sees dom0's rename, unlinks and new file), and a new daemon (vbe-blk) claims the dead one's registers and event channel"
	kill -KILL $bpid 2>/dev/null
	wait $bpid 2>/dev/null
	(cd $SHARE4 && mv from-dom0 renamed-by-dom0 &&
		sed 's/from-dom0/renamed-by-dom0/' from-dom0.sha256 >renamed-by-dom0.sha256 &&
		rm from-dom0.sha256 from-domu from-domu.sha256 &&
		echo "written by dom0" >dir-domu/from-dom0 && : >dom0-step2)
	fs_ok=0
	wait_for 120 vbe4_or_gone "FS OK|FS FAIL" && guest_said "FS OK" && fs_ok=1
	vbe-blk --hyp xen --guest "$domid" --base $BASE --irq "$irq" \
		--irq-type evtchn --file $DISK --mem $MEM --verbose >/tmp/vbe-blk4.log 2>&1 &
	xpid=$!
	claimed() { grep -q "registers $BASE" /tmp/vbe-blk4.log; }
	wait_for 20 claimed
	if [ $fs_ok = 1 ] && multi_alive $fpid && claimed && multi_alive $xpid &&
		vcpus_alive "blk bridge killed"; then
		ok "$name"
	else
		nok "$name"
		tail -5 $LOG | sed 's/^/# /'
		multi_tail
		sed 's/^/# vbe-blk: /' /tmp/vbe-blk4.log | tail -5
	fi
	grep -E "VBE-GUEST FS (OK|FAIL)" $LOG | sed 's/^/# /'

	xl destroy vbe4
	for p in $fpid $xpid; do
		wait_for 15 sh -c "! kill -0 $p 2>/dev/null" || kill -KILL $p 2>/dev/null
	done
	wait $fpid $xpid 2>/dev/null
	for p in $qpid $vpid; do kill $p 2>/dev/null; done
	wait $qpid $vpid 2>/dev/null
	wait_for 20 sh -c '! xl list | grep -q "^(null)\|^vbe4 "' ||
		{ note "vbe4 not released:"; xl list | sed 's/^/# /'; }
	rm -f $QSD4_IMG
	note "several-attachments part ran $(echo "$tb $(now)" | awk '{print $2 - $1}')s"
}
[ $multi = 0 ] || run_part multi vbe4 multi_part

# ---- a hostile domU: vbe5 (virtbe_mode=hostile) drives the virtio-mmio
# device at HOSTILE_BASE itself, adversarially (vbe_xen_hostile, one phase
# at a time), while Linux's virtio_blk uses the well-behaved disk at BASE;
# each served by its own vbe-blk (two guest fds).  After each phase the
# domU reads the attacked device's sector 0 through it again (usable after
# a reset) and writes and reads back 256 KiB on the well-behaved disk.
# Around each flood the domU stops at a mark (vbe_xen_hostile dom0_marks)
# until h_serve has taken the attacked daemon's counters (SIGUSR1: the
# guest fd's GET_STATS and the device's requests and invalid accesses):
# what the flood did to them is checked against the writes the domU made.
# At the end the attacked daemon's GET_STATS must count exactly the rep
# accesses virtbe_xen rejected.
HOSTILE_BASE=0xfe001000 HOSTILE_IMG=/tmp/hostile.img HGOOD_IMG=/tmp/hgood.img
# phase, and what it does, for the TAP names
HOSTILE_PHASES="up:set up by hand (reset, VERSION_1, queue 0, DRIVER_OK) and sector 0 read back
sizes:1-, 2-, 8-byte and unaligned accesses to 32-bit registers and 8-byte config accesses read 0 (the daemon refuses them), accesses straddling the claimed range's end and past it read all-ones (Xen), narrow and wide writes of 0 to Status reset nothing
rep:rep movsl MMIO->RAM and RAM->MMIO and rep stosl to Status (data_is_ptr, count > 1) rejected by virtbe_xen: the buffer untouched, Status unchanged; a rep movsl of count 1 served
ro:writes to the read-only registers and to virtio-blk's capacity change nothing
cfg:config space reads past its end read 0, past the claimed window all-ones
flood1:a QueueNotify flood on queue 0, every write an ioeventfd kick (dom0's out_kicks grew by exactly the domU's writes) and none a request (out_requests, out_rejected, the daemon's virtio-blk requests and invalid accesses unchanged)
floodn:a QueueNotify flood naming queues 0-65535, queue 0's writes ioeventfd kicks (out_kicks grew by their number), every other one a request (out_requests grew by their number, out_rejected unchanged) the daemon refused (its invalid accesses grew by their number, less at most the requests that timed out), no virtio-blk request
garbage:8 garbage rings kicked (descriptors outside guest memory, a loop, a huge length, a self-referencing indirect table, a head and an avail index out of range, rings outside memory), after each the device sets DEVICE_NEEDS_RESET within 5 s and uses no buffer, and serves a read after a reset
resets:40 device resets with a read in flight, each within 10 s, the read either complete (used, status OK, the sector's data) or dropped (nothing written) and unchanged 20 ms after the reset"
hostile_part() {
	tb=$(now)
	DOM=vbe5 LOG=/var/log/xen/console/guest-vbe5.log
	HK="hostile domU (PVH, vbe5) on a $KIND"
	sed -e 's/^name = .*/name = "vbe5"/' -e 's/ virtbe_bench=1//' \
		-e "s/^extra = \"\\(.*\\)\"/extra = \"\\1 virtbe_mode=hostile\"/" \
		/tmp/vbe.cfg >/tmp/vbe5.cfg
	domid= irq= hirq= gpid= hpid=
	create_domu
	hport() { hirq=$(xenstore-read /local/domain/$domid/data/virtbe-hostile-port 2>/dev/null); }
	[ -z "$domid" ] || { irq=$(xenstore-read /local/domain/$domid/data/virtbe-port 2>/dev/null); wait_for 30 hport; }
	note "vbe5 (domid '$domid'): ports: well-behaved disk '$irq', attacked device '$hirq' (vbe5 up after $(echo "$tb $(now)" | awk '{print $2 - $1}')s)"
	dd if=/dev/zero of=$HGOOD_IMG bs=1048576 count=8 2>/dev/null
	yes VIRTBE-HOSTILE-PATTERN | head -c 1048576 >$HOSTILE_IMG
	if [ -n "$irq" ] && [ -n "$hirq" ]; then
		vbe-blk --hyp xen --guest "$domid" --base $BASE --irq "$irq" \
			--irq-type evtchn --file $HGOOD_IMG --mem $MEM >/tmp/vbe-blk5-good.log 2>&1 &
		gpid=$!
		vbe-blk --hyp xen --guest "$domid" --base $HOSTILE_BASE --irq "$hirq" \
			--irq-type evtchn --file $HOSTILE_IMG --mem $MEM --verbose >/tmp/vbe-blk5-hostile.log 2>&1 &
		hpid=$!
	fi
	h_alive() { [ -n "$gpid" ] && kill -0 $gpid 2>/dev/null && kill -0 $hpid 2>/dev/null; }
	h_tail() {
		sed 's/^/# well-behaved vbe-blk: /' /tmp/vbe-blk5-good.log | tail -5
		sed 's/^/# attacked vbe-blk: /' /tmp/vbe-blk5-hostile.log | tail -8
	}
	hdone() { guest_said "HOSTILE DONE" || ! domain_exists; }
	# the attacked daemon's counters: SIGUSR1, then its two new stats
	# lines (flushed together, the device's last) as one line of
	# "kreq= ktmo= kicks= rej=" (GET_STATS) "dreq= dinv=" (the device's
	# virtio-blk requests and invalid accesses); 1 if they do not come
	HLOG=/tmp/vbe-blk5-hostile.log
	h_ndev() {
		hn=$(grep -c "^vbe-blk: stats: .* invalid accesses$" $HLOG 2>/dev/null)
		echo "${hn:-0}"
	}
	h_more() { [ "$(h_ndev)" -gt "$1" ]; }
	h_stats() {
		hc=$(h_ndev)
		[ -n "$hpid" ] && kill -USR1 $hpid 2>/dev/null &&
			wait_for 10 h_more "$hc" || return 1
		hk=$(grep "^vbe-blk: stats: requests " $HLOG | tail -n1 |
			sed -n 's/^vbe-blk: stats: requests \([0-9]*\) completions [0-9]* timeouts \([0-9]*\) aborted [0-9]* kicks \([0-9]*\) replayed [0-9]* irqs [0-9]* rejected \([0-9]*\)$/kreq=\1 ktmo=\2 kicks=\3 rej=\4/p')
		hd=$(grep "^vbe-blk: stats: .* invalid accesses$" $HLOG | tail -n1 |
			sed -n 's/^vbe-blk: stats: .*: \([0-9]*\) requests, \([0-9]*\) invalid accesses$/dreq=\1 dinv=\2/p')
		[ -n "$hk" ] && [ -n "$hd" ] && echo "$hk $hd"
	}
	# h_serve SECS: until the domU is done (or about SECS have passed),
	# answer its marks: "MARK <counters>" to /tmp/hostile.marks, then
	# MARK to data/virtbe-hostile-ack, which lets the domU go on
	h_serve() {
		hw=$(($1 * 5)) hlast=
		while [ $hw -gt 0 ] && ! hdone; do
			hm=$(xenstore-read /local/domain/$domid/data/virtbe-hostile-mark 2>/dev/null) || hm=
			if [ -n "$hm" ] && [ "$hm" != "$hlast" ]; then
				hlast=$hm
				if hs=$(h_stats); then
					echo "$hm $hs" >>/tmp/hostile.marks
				else
					note "vbe5: no counters from the attacked vbe-blk at mark $hm"
				fi
				xenstore-write /local/domain/$domid/data/virtbe-hostile-ack "$hm"
			fi
			sleep 0.2
			hw=$((hw - 1))
		done
	}
	# h_delta KEY PHASE: KEY's growth from PHASE-before to PHASE-after
	h_val() {
		awk -v m="$1" -v k="$2=" '$1 == m { for (i = 2; i <= NF; i++)
			if (index($i, k) == 1) v = substr($i, length(k) + 1) }
			END { print v }' /tmp/hostile.marks
	}
	h_delta() {
		hb=$(h_val "$2-before" $1) ha=$(h_val "$2-after" $1)
		[ -n "$hb" ] && [ -n "$ha" ] && echo $((ha - hb))
	}
	# h_counters PHASE LINE: the flood's effect on the attacked daemon's
	# counters against the domU's writes (q0=, qother= in LINE); says
	# what it found; 1 if it is not what HOSTILE_PHASES says
	h_counters() {
		hq0=$(echo "$2" | sed -n 's/.* q0=\([0-9]*\) .*/\1/p')
		hqo=$(echo "$2" | sed -n 's/.* qother=\([0-9]*\) .*/\1/p')
		dkicks=$(h_delta kicks $1) dkreq=$(h_delta kreq $1)
		dktmo=$(h_delta ktmo $1) drej=$(h_delta rej $1)
		ddreq=$(h_delta dreq $1) ddinv=$(h_delta dinv $1)
		echo "$1: the domU's QueueNotify writes: queue 0 '$hq0', other queues '$hqo'; dom0's counters grew: out_kicks '$dkicks', out_requests '$dkreq', out_timeouts '$dktmo', out_rejected '$drej', the daemon's virtio-blk requests '$ddreq', invalid accesses '$ddinv'"
		for hv in "$hq0" "$hqo" "$dkicks" "$dkreq" "$dktmo" "$drej" "$ddreq" "$ddinv"; do
			[ -n "$hv" ] || return 1
		done
		case $1 in
		flood1) [ "$hq0" -ge 1 ] && [ "$hqo" = 0 ] || return 1 ;;
		*) [ "$hqo" -ge 1 ] || return 1 ;;
		esac
		[ "$dkicks" = "$hq0" ] && [ "$dkreq" = "$hqo" ] &&
			[ "$drej" = 0 ] && [ "$ddreq" = 0 ] &&
			[ "$ddinv" -le "$hqo" ] && [ "$ddinv" -ge $((hqo - dktmo)) ]
	}
	: >/tmp/hostile.marks
	if [ -n "$hpid" ] && wait_for 120 guest_said "HOSTILE up" && h_alive; then
		ok "$HK: created; two vbe-blk attached, one for the attacked virtio-mmio device ($HOSTILE_BASE), one for the well-behaved virtio-blk disk ($BASE)"
	else
		nok "$HK: created; two vbe-blk attached, one for the attacked virtio-mmio device ($HOSTILE_BASE), one for the well-behaved virtio-blk disk ($BASE)"
		tail -5 $LOG | sed 's/^/# /'
		h_tail
	fi
	# every phase must end while the daemons live; both vCPUs beat
	a0=$(beats 0) b0=$(beats 1)
	h_serve 600
	a1=$(beats 0) b1=$(beats 1)
	sed 's/^/# counters at /' /tmp/hostile.marks
	echo "$HOSTILE_PHASES" | while IFS=: read -r ph what; do
		line=$(tr -d '\r' <$LOG | grep "VBE-GUEST HOSTILE $ph " | tail -n1)
		hcnt=
		case $ph in
		flood1|floodn) hcnt=$(h_counters $ph "$line") || hcnt="FAIL $hcnt" ;;
		esac
		if echo "$line" | grep -q "VBE-GUEST HOSTILE $ph OK" &&
			guest_said "HOSTILE GOOD $ph OK" &&
			[ "${hcnt#FAIL }" = "$hcnt" ]; then
			echo "ok"
		else
			echo "not ok"
		fi
		echo "$what"
		echo "${line#*VBE-GUEST HOSTILE }"
		echo "${hcnt:-}"
	done >/tmp/hostile.res
	while read -r verdict && read -r what && read -r line && read -r hcnt; do
		if [ "$verdict" = ok ] && h_alive; then
			ok "$HK: $what; the attacked device usable after it, the well-behaved disk reads back its pattern, dom0's daemons alive"
		else
			nok "$HK: $what; the attacked device usable after it, the well-behaved disk reads back its pattern, dom0's daemons alive"
		fi
		note "vbe5: $line"
		[ -z "$hcnt" ] || note "vbe5: $hcnt"
	done </tmp/hostile.res
	grep "VBE-GUEST HOSTILE GOOD .* FAIL" $LOG | sed 's/^/# /'

	# GET_STATS of the attacked daemon's guest fd
	hwant=$(tr -d '\r' <$LOG | grep "VBE-GUEST HOSTILE rep OK rejected" | sed 's/.* rejected \([0-9]*\) .*/\1/')
	got=$(h_stats | sed -n 's/.* rej=\([0-9]*\) .*/\1/p')
	name="$HK: every access virtbe_xen answered itself is counted in GET_STATS: out_rejected ($got) = the domU's rejected rep accesses ($hwant)"
	if [ -n "$hwant" ] && [ "$got" = "$hwant" ]; then
		ok "$name"
	else
		nok "$name"
	fi
	grep "vbe-blk: stats:" /tmp/vbe-blk5-hostile.log | tail -n2 | sed 's/^/# attacked daemon: /'

	name="$HK: no vCPU hung (heartbeats on both vCPUs throughout), the domU's kernel log is clean, it lives on with both daemons"
	note "heartbeats over the phases: vCPU0 $a0 -> $a1, vCPU1 $b0 -> $b1 ($(echo "$tb $(now)" | awk '{print $2 - $1}')s)"
	if hdone && guest_said "HOSTILE DONE" && [ $((a1 - a0)) -ge 10 ] &&
		[ $((b1 - b0)) -ge 10 ] && ! grep -qE "$PAT" $LOG &&
		vcpus_alive "after the phases" && h_alive; then
		ok "$name"
	else
		nok "$name"
		grep -E -A10 "$PAT" $LOG | head -30 | sed 's/^/# vbe5: /'
		tail -5 $LOG | sed 's/^/# /'
		h_tail
	fi

	xl destroy vbe5
	for p in $gpid $hpid; do
		wait_for 15 sh -c "! kill -0 $p 2>/dev/null" || kill -KILL $p 2>/dev/null
	done
	[ -z "$hpid" ] || wait $gpid $hpid 2>/dev/null
	dmesg | grep "virtbe_xen: d$domid:" | sed 's/^/# dom0: /'
	wait_for 20 sh -c '! xl list | grep -q "^(null)\|^vbe5 "' ||
		{ note "vbe5 not released:"; xl list | sed 's/^/# /'; }
	rm -f $HOSTILE_IMG $HGOOD_IMG
	note "hostile part ran $(echo "$tb $(now)" | awk '{print $2 - $1}')s"
}
[ $hostile = 0 ] || run_part hostile vbe5 hostile_part

# ---- the disk benchmark: a third domU, vbe3, with two disks on one image:
# virtio-blk served by virtbe-vhost-user + qemu-storage-daemon, and Xen's
# PV disk (xen-blkfront in vbe3, xen-blkback in dom0 on a read-only loop
# device that /bin/block-loop, xl's hotplug script, sets up)
RR_IMG=/tmp/bench.img RR_SOCK=/run/qsd-bench.sock RR_SECS=5
# the TAP line, the "# xen randread" lines: vbe3's console lines for QD
rr_line() { tr -d '\r' <$LOG | grep "VBE-GUEST randread /dev/$1 qd $2:" | tail -n1; }
randread_part() {
	tb=$(now)
	DOM=vbe3 LOG=/var/log/xen/console/guest-vbe3.log
	name="benchmark: 4 KiB random reads, virtio-blk via virtbe-vhost-user + qemu-storage-daemon vs xen-blkfront/blkback, same image, $KIND"
	# 64 MiB of random data, on dom0's tmpfs: both backends read it
	# buffered (qemu-storage-daemon's default cache.direct=off: on a PV
	# dom0 virtbe's memory fds are VM_PFNMAP, O_DIRECT into them fails;
	# the loop device's default is buffered too), so neither touches a disk
	dd if=/dev/urandom of=$RR_IMG bs=1048576 count=64 2>/dev/null
	sed -e 's/^name = .*/name = "vbe3"/' -e 's/ virtbe_bench=1//' \
		-e "s/^extra = \"\\(.*\\)\"/extra = \"\\1 virtbe_mode=randread virtbe_rr_secs=$RR_SECS\"/" \
		/tmp/vbe.cfg >/tmp/vbe3.cfg
	# a script makes libxl choose the phy backend (blkback)
	echo "disk = [ \"format=raw,vdev=xvda,access=ro,script=/bin/block-loop,target=$RR_IMG\" ]" >>/tmp/vbe3.cfg
	domid= irq= brpid= qpid=
	create_domu
	[ -z "$domid" ] ||
		irq=$(xenstore-read /local/domain/$domid/data/virtbe-port 2>/dev/null)
	vbd=$(xenstore-list /local/domain/0/backend/vbd/$domid 2>/dev/null | head -n1)
	vbd=/local/domain/0/backend/vbd/$domid/$vbd
	note "vbe3: event channel port '$irq'; PV disk: backend $vbd, $(xenstore-read $vbd/physical-device-path 2>/dev/null) ($(xenstore-read $vbd/physical-device 2>/dev/null)), state $(xenstore-read $vbd/state 2>/dev/null) ($(now)s; vbe3 up after $(echo "$tb $(now)" | awk '{print $2 - $1}')s)"
	# read-only: both disks see the image as dom0 wrote it
	qemu-storage-daemon \
		--blockdev driver=file,node-name=f,filename=$RR_IMG,read-only=on \
		--blockdev driver=raw,node-name=d,file=f,read-only=on \
		--export type=vhost-user-blk,id=e,node-name=d,addr.type=unix,addr.path=$RR_SOCK,writable=off,num-queues=2 \
		>/tmp/qsd-bench.log 2>&1 &
	qpid=$!
	wait_for 10 test -S $RR_SOCK
	if [ -n "$irq" ]; then
		virtbe-vhost-user --hyp xen --guest "$domid" --mem $MEM \
			--device type=blk,base=$BASE,irq=$irq,irq-type=evtchn,socket=$RR_SOCK,queues=2 \
			>/tmp/bridge3.log 2>&1 &
		brpid=$!
	fi
	# 4 runs of RR_SECS, two warm-up seconds, the disks' probes
	if wait_guest 150 "RANDREAD (DONE|FAIL)" && guest_said "RANDREAD DONE"; then
		ok "$name"
	else
		nok "$name"
		tail -5 $LOG | sed 's/^/# /'
		sed 's/^/# bridge: /' /tmp/bridge3.log | tail -10
		sed 's/^/# qsd: /' /tmp/qsd-bench.log | tail -5
	fi
	grep "VBE-GUEST RANDREAD" $LOG | sed 's/^/# /'
	note "xen randread: vbe3 d$domid (2 vCPUs), ${RR_SECS} s per run, vda qd1, xvda qd1, vda qd16, xvda qd16; virtio-blk: virtbe-vhost-user + qemu-storage-daemon (buffered, tmpfs image, 2 queues); PV disk: xen-blkback on a read-only loop device (buffered) of the same image"
	for qd in 1 16; do
		v=$(rr_line vda $qd) x=$(rr_line xvda $qd)
		[ -n "$v" ] && [ -n "$x" ] || continue
		echo "$v" | awk '{ printf "# xen randread qd %-2s virtio-blk via virtbe  %7s iops, median %6s us, p99 %6s us (%s reads)\n", '$qd', $6, $9, $12, $14 }'
		echo "$x" | awk '{ printf "# xen randread qd %-2s xen-blkfront/blkback %7s iops, median %6s us, p99 %6s us (%s reads)\n", '$qd', $6, $9, $12, $14 }'
		echo "$v $x" | awk '{ printf "# xen randread qd %-2s virtbe / blkback: iops %.2f, median latency %.2f\n", '$qd', $6 / $21, $9 / $24 }'
	done
	xl destroy vbe3
	[ -z "$brpid" ] || wait_for 15 sh -c "! kill -0 $brpid 2>/dev/null" || kill -KILL $brpid 2>/dev/null
	[ -z "$brpid" ] || wait $brpid 2>/dev/null
	# how the virtio-blk side's kicks, interrupts and register accesses went
	grep -E "register accesses|CPU time" /tmp/bridge3.log | sed 's/^/# xen randread bridge: /'
	kill $qpid 2>/dev/null
	wait $qpid 2>/dev/null
	wait_for 20 sh -c '! xl list | grep -q "^(null)\|^vbe3 "' ||
		{ note "vbe3 not released:"; xl list | sed 's/^/# /'; }
	losetup -a | sed 's/^/# loop after the destroy: /'
	rm -f $RR_IMG
	note "disk benchmark ran $(echo "$tb $(now)" | awk '{print $2 - $1}')s"
}
[ $randread = 0 ] || run_part randread vbe3 randread_part

rm_ok=1
# where the modules were: a leak reported after rmmod shows their
# addresses unresolved
[ $kmemleak = 0 ] || for m in virtbe_xen virtbe; do
	for sec in .text .data .bss; do
		[ -r /sys/module/$m/sections/$sec ] && note "module $m $sec $(cat /sys/module/$m/sections/$sec)"
	done
done
rmmod virtbe_xen && rmmod virtbe || rm_ok=0
leaks=0
if [ $kmemleak = 1 ]; then
	# every domain is gone by now (each part destroys its own)
	xl list | awk 'NR > 2 { print "# still there: " $0 }'
	sleep 6
	echo scan >$KML; sleep 6; echo scan >$KML
	cat $KML >/tmp/kmemleak
	leaks=$(grep -c '^unreferenced object' /tmp/kmemleak)
	note "kmemleak: $leaks suspected leak(s) after the domains were destroyed and the modules removed"
	[ "$leaks" = 0 ] || sed 's/^/# kmemleak: /' /tmp/kmemleak | head -n 200
fi
kw=$(dmesg | grep -cE "$PAT")
clean="dom0's kernel log is clean (no WARN/BUG/Oops$([ $kmemleak = 0 ] || echo '/KASAN/lockdep; kmemleak: no leak'))"
if [ "$kw" -eq 0 ] && [ $rm_ok = 1 ] && [ "$leaks" = 0 ] && [ $kmemleak != 2 ]; then
	ok "$clean, modules unloaded"
else
	nok "$clean, modules unloaded"
	dmesg | grep -E -A20 "$PAT" | sed 's/^/# kernel: /'
fi
dmesg | grep -E "virtbe|xen:" | tail -20 | sed 's/^/# dom0: /'
echo "$M END xen rc=0 timeout=0 kwarn=0"
note "dom0 test ran $(echo "$t0 $(now)" | awk '{print $2 - $1}')s"
echo "$M DONE failures=$fails"
