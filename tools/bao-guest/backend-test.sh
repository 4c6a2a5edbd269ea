#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The Bao lane's test, run by the backend VM's /init (scripts/bao-lane.sh
# builds the initramfs).  Prints TAP between "### VIRTBE BEGIN bao" and
# "### VIRTBE END bao ...", which scripts/tap-summary.sh counts, then
# "### VIRTBE DONE" (the lane stops QEMU on it: Bao has no SYSTEM_OFF).
#
# The backend VM (VM 0 of config.c) loads virtbe.ko and virtbe_bao.ko and
# serves the frontend VM (VM 1, the virtbe guest 1) three virtio-blk
# devices, each with its own daemon and guest fd: vda at 0xa003e00 on a
# 64 MiB image and vdb at 0xa003c00 on a 1 MiB results image with two
# vbe-blk processes, vdc at 0xa003a00 on a 64 MiB image with
# virtbe-vhost-user and Debian's arm64 qemu-storage-daemon behind it.  The
# frontend (frontend-init.sh) has no console of its own: it writes its TAP
# results to vdb, ending in "### FRONTEND DONE"; this script waits for that
# line in the results image and prints the frontend's results as its own
# (renumbered).  With virtbe_bench=1 (scripts/bao-lane.sh --bench) it also
# loads Bao's own driver (iodispatcher.ko, device model 0) and runs
# vbe-bao-bench (device model 4) before the frontend's benchmark, says so
# at 768 KiB of the results image, and prints the frontend's numbers with
# their ratios ("# bao ..." lines).  Then, with
# the frontend reading vda in a loop and writing a heartbeat to vdb, vda's
# daemon is stopped, then killed: the heartbeats must go on (no frontend
# vCPU hangs).  Bao cannot destroy a VM: that test of the Xen lanes is a
# SKIP here.  Last, the other daemon exits and the modules unload.
M='### VIRTBE'
FE_TESTS=6	# frontend-init.sh's
BENCH=${virtbe_bench:-0}
FE_WAIT=${virtbe_fe_wait:-420}	# seconds for the frontend's report
PAT='BUG:|WARNING:|Oops|INFO: possible|INFO: task .* blocked|lockdep|KASAN|UBSAN|kernel BUG|detected stall'
DISK=/tmp/disk.img RES=/tmp/results.img QSD_IMG=/tmp/qsd.img QSD_SOCK=/tmp/qsd.sock
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
nok() { n=$((n + 1)); echo "not ok $n $*"; fails=$((fails + 1)); }
note() { echo "# $*"; }
now() { cut -d' ' -f1 /proc/uptime; }
since() { echo "$1 $(now)" | awk '{print $2 - $1}'; }
t0=$(now)
wait_for() {	# wait_for SECONDS CMD...: poll CMD every 0.5 s
	w=$(($1 * 2)); shift
	while [ $w -gt 0 ]; do
		"$@" && return 0
		sleep 0.5
		w=$((w - 1))
	done
	return 1
}

echo "$M BEGIN bao"
echo "1..$((9 + FE_TESTS + 2 * BENCH))"
note "backend test started at ${t0}s ($(uname -r))"

# ---- the modules
mods=0
if [ ! -f /virtbe/virtbe_bao.ko ]; then
	nok "virtbe.ko and virtbe_bao.ko load in the backend VM (virtbe_bao.ko was not built: not in the initramfs)"
elif insmod /virtbe/virtbe.ko && insmod /virtbe/virtbe_bao.ko; then
	ok "virtbe.ko and virtbe_bao.ko load in the backend VM"
	mods=1
else
	nok "virtbe.ko and virtbe_bao.ko load in the backend VM"
fi
dmesg | grep -E 'virtbe' | sed 's/^/# backend: /'

# ---- the daemons: guest 1, one per device
dd if=/dev/zero of=$DISK bs=1048576 count=64 2>/dev/null
dd if=/dev/zero of=$RES bs=1048576 count=1 2>/dev/null
# start_blk NAME BASE IRQ MEM FILE: sets pid_NAME
start_blk() {
	vbe-blk --hyp bao --guest 1 --base $2 --irq $3 --irq-type edge --mem $4 \
		--access-platform --file $5 >/tmp/vbe-blk.$1.log 2>&1 &
	eval pid_$1=$!
}
alive() { kill -0 "$1" 2>/dev/null; }
for d in disk results; do
	if [ $d = disk ]; then
		what="vda: 0xa003e00, INTID 79, shared region 0xd0000000, $DISK (64 MiB)"
		[ $mods = 0 ] || start_blk disk 0xa003e00 79 0xd0000000:0x1000000 $DISK
	else
		what="vdb: 0xa003c00, INTID 78, shared region 0xd1000000, $RES (1 MiB)"
		[ $mods = 0 ] || start_blk results 0xa003c00 78 0xd1000000:0x1000000 $RES
	fi
	eval pid=\${pid_$d:-}
	if [ -n "$pid" ] && sleep 2 && alive $pid; then
		ok "vbe-blk --hyp bao serves frontend VM 1's $what"
	else
		nok "vbe-blk --hyp bao serves frontend VM 1's $what"
		[ -z "$pid" ] && note "not started: the modules did not load"
		sed 's/^/# vbe-blk: /' /tmp/vbe-blk.$d.log 2>/dev/null | tail -n 15
	fi
done
# vdc: Debian's qemu-storage-daemon (unmodified, arm64) behind the bridge
truncate -s 64M $QSD_IMG
qpid= brpid=
if [ $mods = 1 ]; then
	qemu-storage-daemon \
		--blockdev driver=file,node-name=f,filename=$QSD_IMG \
		--blockdev driver=raw,node-name=d,file=f \
		--export type=vhost-user-blk,id=e,node-name=d,addr.type=unix,addr.path=$QSD_SOCK,writable=on \
		>/tmp/qsd.log 2>&1 &
	qpid=$!
	wait_for 20 test -S $QSD_SOCK
	virtbe-vhost-user --hyp bao --guest 1 --mem 0xd3000000:0x1000000 --verbose \
		--device type=blk,base=0xa003a00,irq=77,irq-type=edge,socket=$QSD_SOCK,access-platform=on \
		>/tmp/bridge.log 2>&1 &
	brpid=$!
fi
what="vdc: 0xa003a00, INTID 77, shared region 0xd3000000, qemu-storage-daemon on $QSD_IMG (64 MiB)"
if [ -n "$brpid" ] && sleep 2 && alive $brpid && alive $qpid; then
	ok "virtbe-vhost-user --hyp bao with Debian's qemu-storage-daemon (arm64, unmodified) serves frontend VM 1's $what"
else
	nok "virtbe-vhost-user --hyp bao with Debian's qemu-storage-daemon (arm64, unmodified) serves frontend VM 1's $what"
	sed 's/^/# qsd: /' /tmp/qsd.log 2>/dev/null | tail -n 10
	sed 's/^/# bridge: /' /tmp/bridge.log 2>/dev/null | tail -n 15
fi

# the benchmark's backend: Bao's own driver, vbe-bao-bench (its floor
# first), then a line at 768 KiB of the results image for the frontend
bpid=
if [ "$BENCH" = 1 ]; then
	bao=0
	note "loading Bao's own driver at $(now)s"
	if [ "${virtbe_bench_bao:-1}" = 0 ]; then
		echo "ok $((n + 1)) # SKIP Bao's own driver not loaded (virtbe_bench_bao=0)"
		n=$((n + 1))
	elif [ -f /virtbe/iodispatcher.ko ] && insmod /virtbe/iodispatcher.ko; then
		ok "bao: Bao's own driver (bao-linux-drivers iodispatcher.ko) loads next to virtbe_bao: device model 0"
		bao=1
	else
		nok "bao: Bao's own driver (bao-linux-drivers iodispatcher.ko) loads next to virtbe_bao: device model 0"
		dmesg | grep -i bao | tail -n 5 | sed 's/^/# /'
	fi
	# Bao's path in a process of its own, never stopped: Bao's driver
	# corrupts its irqfd list when an irqfd's eventfd is closed
	# (vbe-bao-bench.c), which would take the backend VM down
	if [ $bao = 1 ]; then
		: >/tmp/bench-bao.log
		vbe-bao-bench --bao-dm 0 --bao-base 0xa003800 >/tmp/bench-bao.log 2>&1 &
		wait_for 30 grep -q '^serving' /tmp/bench-bao.log || {
			note "Bao's path is not served: $(tail -n 3 /tmp/bench-bao.log | tr '\n' ' ')"
			bao=0
		}
	fi
	note "starting vbe-bao-bench at $(now)s"
	: >/tmp/bench.log
	vbe-bao-bench --guest 1 --base 0xa003600 --irq 75 >/tmp/bench.log 2>&1 &
	bpid=$!
	if wait_for 60 grep -q '^serving' /tmp/bench.log; then
		printf 'BENCH READY bao=%s\n' $bao | dd of=$RES bs=512 seek=1536 conv=notrunc 2>/dev/null
		note "vbe-bao-bench serves at $(now)s: $(grep '^floor' /tmp/bench.log)"
	else
		note "vbe-bao-bench is not serving: $(tail -n 3 /tmp/bench.log | tr '\n' ' ')"
	fi
fi
tb=$(now)

# ---- the frontend's results, from the results image
fe_done() { grep -aq '^### FRONTEND DONE' $RES; }
fe_ok=0
if [ -n "${pid_results:-}" ] && alive "$pid_results" && wait_for "$FE_WAIT" fe_done; then
	fe_ok=1
	note "the frontend's report arrived $(since "$tb")s after the daemons started"
fi
FE="bao: frontend VM 1 (own 6.1 kernel, restricted DMA pools) virtio_blk"
fe_n=0
if [ $fe_ok = 1 ]; then
	# its lines up to the DONE marker (the rest of the block is zeros)
	tr -d '\000' <$RES | sed -n '1,/^### FRONTEND DONE/p' >/tmp/fe.tap
	while IFS= read -r l; do
		case $l in
		"ok "*|"not ok "*)
			fe_n=$((fe_n + 1))
			[ $fe_n -le $FE_TESTS ] || { note "frontend, extra: $l"; continue; }
			st=${l%% [0-9]*}; rest=${l#"$st "}; rest=${rest#* }
			if [ "$st" = ok ]; then ok "$FE: $rest"; else nok "$FE: $rest"; fi ;;
		"### FRONTEND DONE") ;;
		"# bench: "*) echo "${l#\# bench: }" >>/tmp/bench.results ;;
		*) echo "# frontend: ${l#\# }" ;;
		esac
	done </tmp/fe.tap
fi
why="the frontend reported nothing within ${FE_WAIT}s (no \"### FRONTEND DONE\" on vdb)"
if [ $fe_ok = 0 ] && [ $mods = 1 ]; then
	note "no report from the frontend: what the backend saw"
	grep -E 'virtbe|GICv3' /proc/interrupts | tr -s ' ' | sed 's/^/# irq: /'
	tail -n 25 /tmp/bridge.log 2>/dev/null | sed 's/^/# bridge: /'
	tail -n 5 /tmp/qsd.log 2>/dev/null | sed 's/^/# qsd: /'
	for d in disk results; do tail -n 5 /tmp/vbe-blk.$d.log 2>/dev/null | sed "s/^/# vbe-blk ($d): /"; done
fi
[ $mods = 1 ] || why="not run: the modules did not load, so nothing serves the frontend"
[ $fe_ok = 1 ] && why="the frontend reported only $fe_n of $FE_TESTS results"
while [ $fe_n -lt $FE_TESTS ]; do
	fe_n=$((fe_n + 1))
	nok "$FE: result $fe_n of $FE_TESTS: $why"
done
for d in disk results; do
	grep -E 'register|CPU time|error|fail' /tmp/vbe-blk.$d.log 2>/dev/null | tail -n 5 | sed "s/^/# vbe-blk ($d): /"
done
grep -iE 'error|fail|gone' /tmp/bridge.log 2>/dev/null | tail -n 5 | sed 's/^/# bridge: /'

# ---- the benchmark's numbers, with their ratios
# med NAME: the median in us of "kick NAME: median M us, ..." (or nothing)
med() { sed -n "s/^kick $1: median \([0-9.]*\) us.*/\1/p" /tmp/bench.results 2>/dev/null | head -n1; }
lost() { sed -n "s/^kick $1: .*; \([0-9]*\) lost$/\1/p" /tmp/bench.results 2>/dev/null | head -n1; }
held() { sed -n "s/^kick $1: .*vCPU held median \([0-9.]*\) us.*/\1/p" /tmp/bench.results 2>/dev/null | head -n1; }
iops() { sed -n "s|^randread $1 qd 1: \([0-9]*\) iops.*|\1|p" /tmp/bench.results 2>/dev/null | head -n1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "?" }'; }
if [ "$BENCH" = 1 ]; then
	fl=$(sed -n 's/^floor eventfd ping-pong: median \([0-9.]*\) us.*/\1/p' /tmp/bench.log)
	v=$(med virtbe) st=$(med stub) bo=$(med bao)
	sed 's/^/# bao bench: /' /tmp/bench.results 2>/dev/null
	grep '^floor' /tmp/bench.log | sed 's/^/# bao bench: backend VM /'
	note "bao kick round trip: virtbe ${v:-?} us, Bao's own driver ${bo:-?} us: virtbe/Bao $(ratio "$v" "$bo") (lower is better)"
	note "bao kick round trip: userspace relay (request channel) ${st:-?} us vs virtbe ${v:-?} us: $(ratio "$st" "$v")x faster in the kernel"
	hv=$(held virtbe) hs=$(held stub) hb=$(held bao)
	note "bao kick, interrupts lost (none within 2 s): virtbe $(lost virtbe), userspace relay $(lost stub), Bao's own driver $(lost bao)"
	note "bao kick, frontend vCPU held by the write: virtbe ${hv:-?} us, userspace relay ${hs:-?} us ($(ratio "$hs" "$hv")x), Bao's own driver ${hb:-?} us ($(ratio "$hb" "$hv")x)"
	note "bao kick round trip: virtbe ${v:-?} us vs the backend VM's eventfd ping-pong floor ${fl:-?} us: $(ratio "$v" "$fl")"
	ia=$(iops vbe-blk) ic=$(iops bridge)
	note "bao 4 KiB random reads, qd 1: vbe-blk ${ia:-?} IOPS, bridge + qemu-storage-daemon ${ic:-?} IOPS: bridge/vbe-blk $(ratio "$ic" "$ia")"
	if [ -n "$v" ] && [ -n "$st" ] && [ -n "$fl" ] && [ -n "$ia" ] && [ -n "$ic" ] &&
		{ [ "$bao" = 0 ] || [ -n "$bo" ]; }; then
		ok "bao: benchmark: kick round trips (virtbe, stub$([ "$bao" = 0 ] || echo ", Bao's own driver")) and 4 KiB random reads (vbe-blk, bridge) measured"
	else
		nok "bao: benchmark: kick round trips and 4 KiB random reads measured (a number is missing)"
		sed 's/^/# bench.log: /' /tmp/bench.log | tail -n 5
	fi
fi

# ---- vda's daemon stopped, then killed, mid-I/O: the frontend's vCPU
# keeps writing its heartbeat to vdb (served by the other daemon)
hb() { dd if=$RES bs=512 skip=1024 count=1 2>/dev/null | tr -d '\000' | sed -n 's/^HB //p'; }
hb_seen() { [ -n "$(hb)" ]; }
beating() {	# the heartbeat advanced by >= 3 within 8 s
	a=$(hb); sleep 8; b=$(hb)
	note "frontend heartbeats '$a' -> '$b' ($1)"
	[ -n "$a" ] && [ -n "$b" ] && [ $((b - a)) -ge 3 ]
}
if [ $fe_ok = 1 ] && [ -n "${pid_disk:-}" ] && alive "$pid_disk"; then
	wait_for 20 hb_seen
	kill -STOP $pid_disk
	if beating "vda's daemon stopped"; then
		ok "bao: vda's daemon stopped mid-I/O: the request timeout completes the trapped accesses, the frontend's vCPU keeps running"
	else
		nok "bao: vda's daemon stopped mid-I/O: the request timeout completes the trapped accesses, the frontend's vCPU keeps running"
	fi
	kill -KILL $pid_disk 2>/dev/null
	wait $pid_disk 2>/dev/null
	if beating "vda's daemon killed"; then
		ok "bao: vda's daemon killed mid-I/O: outstanding accesses completed, the frontend's vCPU keeps running"
	else
		nok "bao: vda's daemon killed mid-I/O: outstanding accesses completed, the frontend's vCPU keeps running"
	fi
else
	nok "bao: vda's daemon stopped mid-I/O: not run (no frontend report, or vda's daemon is gone)"
	nok "bao: vda's daemon killed mid-I/O: not run (no frontend report, or vda's daemon is gone)"
	[ -z "${pid_disk:-}" ] || kill -KILL $pid_disk 2>/dev/null
fi
echo "ok $((n + 1)) # SKIP Bao partitions are static: a VM cannot be destroyed"
n=$((n + 1))

# ---- the other daemon exits; the modules unload
if [ -n "${pid_results:-}" ]; then
	kill -TERM $pid_results 2>/dev/null
	wait_for 10 sh -c "! kill -0 $pid_results 2>/dev/null" || kill -KILL $pid_results 2>/dev/null
	wait $pid_results 2>/dev/null
fi
[ -z "${pid_disk:-}" ] || wait $pid_disk 2>/dev/null
for p in $bpid $brpid $qpid; do
	kill -TERM $p 2>/dev/null
	wait_for 10 sh -c "! kill -0 $p 2>/dev/null" || kill -KILL $p 2>/dev/null
	wait $p 2>/dev/null
done
# (Bao's own driver and its path's vbe-bao-bench stay: see above)
if [ $mods = 1 ] && rmmod virtbe_bao virtbe; then
	ok "bao: rmmod virtbe_bao virtbe after the daemons exited"
else
	nok "bao: rmmod virtbe_bao virtbe after the daemons exited"
	lsmod | sed 's/^/# /'
fi
kw=$(dmesg | grep -cE "$PAT")
if [ "$kw" -eq 0 ]; then
	ok "bao: the backend VM's kernel log is clean (no WARN/BUG/Oops)"
else
	nok "bao: the backend VM's kernel log is clean (no WARN/BUG/Oops)"
	dmesg | grep -E -A20 "$PAT" | head -n 60 | sed 's/^/# kernel: /'
fi
dmesg | grep -E 'virtbe' | tail -n 20 | sed 's/^/# backend: /'
echo "$M END bao rc=0 timeout=0 kwarn=0"
note "backend test ran $(since "$t0")s"
echo "$M DONE failures=$fails"
