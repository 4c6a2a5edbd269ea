#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot a lane's Debian kernel in QEMU (TCG) with virtbe's modules and test
# programs in an initramfs, and run them.
#
# Usage: scripts/vm-run.sh [options] LANE KO_DIR TEST_DIR MODE
#   LANE     6.1 | 6.12 | debug   (kernel from scripts/kernels.sh; debug: the
#                                 KASAN/lockdep/kmemleak kernel, 4x the
#                                 default timeouts, 3G of memory)
#   KO_DIR   directory of built .ko files (all are packed, see --load)
#   TEST_DIR directory of static test executables (packed as /virtbe/tests)
#   MODE     tests  run every executable of TEST_DIR in name order, as kselftest
#                   TAP producers, one per-binary timeout each
#            demo   run --cmd (required) and stream its output
#            bench  run --cmd, or else every executable of TEST_DIR in order
# Options:
#   --cmd CMD          shell command line run in the guest (demo, bench)
#   --extra SRC[=DST]  also pack file or directory SRC, at DST (default
#                      /extra/<basename of SRC>); repeatable
#   --load "M..."      modules of KO_DIR to insmod in order (default
#                      "virtbe virtbe_sim"); rmmod'ed in reverse order
#   --kmods "M..."     modules of the lane's own kernel to load first (with
#                      their dependencies, from its modules.dep)
#   --timeout S        whole-VM limit in seconds (default tests 900, demo 600,
#                      bench 1800, 4x that on the debug lane; env
#                      VIRTBE_VM_TIMEOUT)
#   --test-timeout S   per test binary (default 300, 1200 on the debug lane;
#                      demo/bench: the VM limit less 60; env
#                      VIRTBE_TEST_TIMEOUT)
#   --append ARGS      extra kernel command line
#   --log FILE         keep the serial log there (default: a /tmp file)
#   --counts FILE      write "PASSED FAILED SKIPPED" (tests mode) there
#   --quiet            do not stream the console (summary only)
#   --gcov DIR         after the modules are removed, send the kernel's gcov
#                      data (every .gcda of /sys/kernel/debug/gcov: a kernel
#                      with CONFIG_GCOV_KERNEL, modules built with
#                      VIRTBE_GCOV=1) over the console, and unpack it into
#                      DIR, at the paths of the build (scripts/coverage.sh)
# Exit status: 0 only if the guest ran to its end and nothing failed: no QEMU
# timeout, no panic, complete TAP plans, no "not ok", no kernel warning, every
# insmod/rmmod succeeded, every command exited 0, and, on a kernel with
# kmemleak (the debug lane), no leak suspected by the scan made once the
# modules are removed (boot-time reports are cleared before the tests).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cmd= extras=() load="virtbe virtbe_sim" kmods= vm_timeout=${VIRTBE_VM_TIMEOUT:-}
test_timeout=${VIRTBE_TEST_TIMEOUT:-} append= log= counts= quiet=0 gcov=
die() { echo "vm-run.sh: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case $1 in
	--cmd) cmd=$2; shift 2 ;;
	--extra) extras+=("$2"); shift 2 ;;
	--load) load=$2; shift 2 ;;
	--kmods) kmods=$2; shift 2 ;;
	--timeout) vm_timeout=$2; shift 2 ;;
	--test-timeout) test_timeout=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--counts) counts=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	--gcov) gcov=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# -eq 4 ] || die "usage: vm-run.sh [options] LANE KO_DIR TEST_DIR tests|demo|bench (--help)"
lane=$1 kodir=$2 testdir=$3 mode=$4
# The debug kernel (KASAN, lockdep, kmemleak) runs everything several times
# slower (boot alone: ~25 s), and KASAN's shadow takes 1/8 of the memory.
slow=1 mem=2G
if [ "$lane" = debug ]; then
	slow=4 mem=3G
	append="kasan_multi_shot${append:+ $append}"
fi
case $mode in
tests) : "${vm_timeout:=$((900 * slow))}" ;;
demo) : "${vm_timeout:=$((600 * slow))}"; [ -n "$cmd" ] || die "demo mode needs --cmd" ;;
bench) : "${vm_timeout:=$((1800 * slow))}" ;;
*) die "unknown mode $mode" ;;
esac
[ -d "$kodir" ] || die "no module directory $kodir"
# a demo/bench command may use the whole VM time; a test binary gets 300 s
if [ -z "$test_timeout" ]; then
	if [ "$mode" = tests ]; then test_timeout=$((300 * slow)); else test_timeout=$((vm_timeout - 60)); fi
fi

eval "$("$here/kernels.sh" "$lane")"
[ -f "$VMLINUZ" ] || die "no kernel image $VMLINUZ"

work=$(mktemp -d "${TMPDIR:-/tmp}/virtbe-vm.XXXXXX")
trap 'rm -rf "$work"' EXIT
autolog=0
if [ -z "$log" ]; then
	log=$(mktemp "${TMPDIR:-/tmp}/virtbe-$lane-$mode.XXXXXX.log")
	autolog=1
fi
mkdir -p "$(dirname "$log")"
: >"$log"

# ---------------------------------------------------------------- initramfs
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,root,etc,virtbe/ko,virtbe/kmods,virtbe/tests}
busybox=$(command -v busybox) || die "busybox missing (busybox-static)"
cp "$busybox" "$root/bin/busybox"
for a in $("$busybox" --list); do
	[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
done
ln -s bin "$root/sbin"
mkdir -p "$root/usr"; ln -s ../bin "$root/usr/bin"; ln -s ../bin "$root/usr/sbin"
mknod "$root/dev/console" c 5 1 2>/dev/null || true	# /init also reopens it

for m in $load; do
	[ -f "$kodir/$m.ko" ] || echo "vm-run.sh: warning: $kodir/$m.ko missing (insmod will fail)" >&2
done
find "$kodir" -maxdepth 1 -name '*.ko' -exec cp {} "$root/virtbe/ko/" \;

# lane kernel's own modules, with dependencies, decompressed
kmod_files=
if [ -n "$kmods" ]; then
	[ -f "$MODDIR/modules.dep" ] || die "$MODDIR/modules.dep missing"
	declare -A seen=()
	order=()
	resolve() {	# depth-first: dependencies first
		local name=$1 line path dep
		line=$(grep -E "(^|/)${name//[-_]/[-_]}\.ko(\.xz|\.zst|\.gz)?:" "$MODDIR/modules.dep" | head -n1) ||
			die "module $name not in $MODDIR/modules.dep"
		path=${line%%:*}
		[ -z "${seen[$path]:-}" ] || return 0
		seen[$path]=1
		for dep in ${line#*:}; do
			dep=${dep##*/}; dep=${dep%%.ko*}
			resolve "$dep"
		done
		order+=("$path")
	}
	for m in $kmods; do resolve "$m"; done
	for p in "${order[@]}"; do
		b=${p##*/}; b=${b%%.ko*}.ko
		case $p in
		*.xz) xz -dc "$MODDIR/$p" >"$root/virtbe/kmods/$b" ;;
		*.zst) zstd -qdc "$MODDIR/$p" >"$root/virtbe/kmods/$b" ;;
		*.gz) gzip -dc "$MODDIR/$p" >"$root/virtbe/kmods/$b" ;;
		*) cp "$MODDIR/$p" "$root/virtbe/kmods/$b" ;;
		esac
		kmod_files+=" $b"
	done
fi

ntests=0
if [ -d "$testdir" ]; then
	while IFS= read -r -d '' f; do
		cp -L "$f" "$root/virtbe/tests/"
		ntests=$((ntests + 1))
	done < <(find "$testdir" -maxdepth 1 \( -type f -o -type l \) -perm -u+x -print0 | sort -z)
fi
if [ "$mode" = tests ] && [ $ntests -eq 0 ]; then
	die "no test executables in $testdir"
fi

for e in ${extras[@]+"${extras[@]}"}; do
	src=${e%%=*}
	if [ "$src" = "$e" ]; then dst=/extra/$(basename "$src"); else dst=${e#*=}; fi
	[ -e "$src" ] || die "--extra: $src does not exist"
	mkdir -p "$root$(dirname "$dst")"
	cp -a -L "$src" "$root$dst"
done

# Dynamically linked programs work too: pack their libraries (and bash for
# bash scripts).  Static binaries need nothing.
need_bash=0
while IFS= read -r -d '' f; do
	case $(head -c 64 "$f" | tr -d '\0' | head -n1) in
	'#!/bin/bash'*|'#!/usr/bin/env bash'*) need_bash=1 ;;
	esac
done < <(find "$root/virtbe" "$root/extra" -type f -perm -u+x -print0 2>/dev/null)
if [ $need_bash = 1 ] && [ ! -e "$root/bin/bash" ]; then
	rm -f "$root/bin/bash"; cp /bin/bash "$root/bin/bash"
fi
while IFS= read -r -d '' f; do
	libs=$(ldd "$f" 2>/dev/null | grep -oE '^[[:space:]]*/[^ ]+|=> /[^ ]+' | sed 's/^=> //; s/^[[:space:]]*//' || true)
	for lib in $libs; do
		[ -e "$root$lib" ] || cp -L --parents "$lib" "$root/" 2>/dev/null || true
		# a library found through a host RUNPATH: also where ld.so looks
		case $lib in
		/lib/*|/lib64/*|/usr/lib/*) ;;
		*) mkdir -p "$root/lib/x86_64-linux-gnu"
		   cp -L "$lib" "$root/lib/x86_64-linux-gnu/" 2>/dev/null || true ;;
		esac
	done
done < <(find "$root" -path "$root/proc" -prune -o -type f -perm -u+x ! -name busybox -print0)

qstr() { printf "'%s'" "${1//\'/\'\\\'\'}"; }
{
	echo "MODE=$mode"
	echo "LOAD=$(qstr "$load")"
	echo "KMODS=$(qstr "${kmod_files# }")"
	echo "TEST_TIMEOUT=$test_timeout"
	echo "CMD=$(qstr "$cmd")"
	echo "GCOV=$([ -z "$gcov" ] || echo 1)"
	[ "$lane" != debug ] || echo "REQUIRE='/sys/kernel/debug/kmemleak /sys/kernel/debug/failslab /proc/1/task/1/fail-nth'"
} >"$root/virtbe/conf"

cat >"$root/init" <<'INIT'
#!/bin/busybox sh
# virtbe test VM init (generated by scripts/vm-run.sh)
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
export PATH=/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/shm /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t devpts devpts /dev/pts
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
ln -sf /proc/self/fd /dev/fd 2>/dev/null
. /virtbe/conf
M='### VIRTBE'
PAT='BUG:|WARNING:|Oops|INFO: possible|INFO: task .* blocked|lockdep|KASAN|UBSAN|general protection|kernel BUG|detected stall'
failures=0
fail() { echo "$M FAIL $*"; failures=$((failures + 1)); }

dmesg -n 1
dmesg -c >/tmp/dmesg.boot
: >/tmp/dmesg.all
# kcheck LABEL: collect the kernel lines since the last call; report bad ones.
kcheck() {
	dmesg -c >/tmp/dmesg.new
	cat /tmp/dmesg.new >>/tmp/dmesg.all
	kw=$(grep -cE "$PAT" /tmp/dmesg.new)
	if [ "$kw" -gt 0 ]; then
		echo "$M KERNEL-WARNING $1 lines=$kw"
		grep -E -A30 "$PAT" /tmp/dmesg.new | sed 's/^/# kernel: /'
	fi
}
echo "$M BOOTED $(uname -r) mode=$MODE"

for f in $REQUIRE; do	# what the lane's kernel must provide
	[ -e "$f" ] || fail "this kernel has no $f"
done
# kmemleak (debug kernel): objects younger than 5 s are never reported, and a
# new one only by the second scan that finds it unchanged.  Report and clear
# what boot left (unrelated to virtbe), so that the final scan shows only
# what the test run leaked.
KML=/sys/kernel/debug/kmemleak
kmemleak=0
if [ -e $KML ] && ! echo scan >$KML; then
	fail "kmemleak does not scan (disabled at boot?)"
	grep -i kmemleak /tmp/dmesg.boot | sed 's/^/# kernel: /'
elif [ -e $KML ]; then
	kmemleak=1
	sleep 6
	echo scan >$KML; echo scan >$KML
	echo "$M KMEMLEAK boot: $(grep -c '^unreferenced object' $KML) reports cleared"
	echo clear >$KML
fi

loaded=
ok=1
for k in $KMODS; do
	insmod /virtbe/kmods/$k || { fail "insmod $k rc=$?"; ok=0; }
done
for m in $LOAD; do
	if insmod /virtbe/ko/$m.ko; then
		loaded="$m $loaded"
	else
		fail "insmod $m.ko rc=$?"; ok=0; break
	fi
done
kcheck insmod
[ "$kw" -eq 0 ] || fail "kernel warnings during insmod"

# run NAME CMD...: own session, killed with its whole group on timeout
run() {
	name=$1; shift
	echo "$M BEGIN $name"
	rm -f /tmp/timedout
	cd /tmp
	setsid "$@" </dev/null &
	pid=$!
	( sleep "$TEST_TIMEOUT"; : >/tmp/timedout; kill -KILL -$pid $pid ) 2>/dev/null &
	wd=$!
	wait $pid
	rc=$?
	kill -KILL $wd 2>/dev/null; wait $wd 2>/dev/null
	kill -KILL -$pid 2>/dev/null
	cd /
	to=0
	[ -f /tmp/timedout ] && to=1
	kcheck "$name"
	echo "$M END $name rc=$rc timeout=$to kwarn=$kw"
	[ $to = 1 ] && echo "# $name: TIMEOUT after ${TEST_TIMEOUT}s"
	:
}

if [ $ok = 1 ]; then
	case $MODE in
	tests)
		for t in /virtbe/tests/*; do
			[ -x "$t" ] && run "${t##*/}" "$t"
		done ;;
	*)
		if [ -n "$CMD" ]; then
			run cmd sh -c "$CMD"
		else
			for t in /virtbe/tests/*; do
				[ -x "$t" ] && run "${t##*/}" "$t"
			done
		fi ;;
	esac
fi

# where the modules were: the final kmemleak report (made after rmmod) shows
# their addresses unresolved
[ $kmemleak = 0 ] || for m in $loaded; do
	for s in .text .init.text .exit.text .data .bss; do
		[ -r /sys/module/$m/sections/$s ] && echo "$M MODULE $m $s $(cat /sys/module/$m/sections/$s)"
	done
done
for m in $loaded; do
	rmmod $m || fail "rmmod $m rc=$? (leaked reference?)"
done
kcheck rmmod
[ "$kw" -eq 0 ] || fail "kernel warnings during rmmod"
if [ $kmemleak = 1 ]; then
	sleep 6
	echo scan >$KML; sleep 6; echo scan >$KML
	cat $KML >/tmp/kmemleak
	n=$(grep -c '^unreferenced object' /tmp/kmemleak)
	echo "$M KMEMLEAK end: $n reports"
	if [ "$n" -gt 0 ]; then
		sed 's/^/# kmemleak: /' /tmp/kmemleak
		fail "kmemleak: $n suspected memory leaks after the run (modules removed)"
	fi
fi
# gcov data: kept after rmmod (gcov_persist=1); debugfs gives the files a
# size of 0, so they are copied with cat before tar
G=/sys/kernel/debug/gcov
if [ "$GCOV" = 1 ] && [ ! -d $G ]; then
	fail "--gcov: this kernel has no $G (CONFIG_GCOV_KERNEL)"
elif [ "$GCOV" = 1 ]; then
	n=0
	for f in $(cd $G && find . -name '*.gcda'); do
		mkdir -p /tmp/gcov/${f%/*}
		cat $G/$f >/tmp/gcov/$f && n=$((n + 1))
	done
	[ $n -gt 0 ] || fail "--gcov: no .gcda file in $G (modules not built with VIRTBE_GCOV=1?)"
	echo "$M GCOV BEGIN files=$n"
	[ $n -eq 0 ] || (cd /tmp/gcov && tar cf - .) | gzip | base64
	echo "$M GCOV END"
fi
echo "$M DMESG BEGIN"
sed 's/^/# dmesg: /' /tmp/dmesg.all
echo "$M DMESG END"
echo "$M DONE failures=$failures"
sync
poweroff -f
sleep 5
echo o >/proc/sysrq-trigger
INIT
chmod +x "$root/init"

(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet >"$work/initramfs.cpio")

# --------------------------------------------------------------------- boot
kargs="console=ttyS0 panic=-1 quiet loglevel=4 ${append}"
qemu=(qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m "$mem"
	-kernel "$VMLINUZ" -initrd "$work/initramfs.cpio" -append "$kargs"
	-no-reboot -nodefaults -display none -monitor none -serial "file:$log")

echo "vm-run.sh: lane $lane ($KREL), mode $mode, $ntests programs, log $log" >&2
lock=/tmp/virtbe-qemu.lock
exec 8>>"$lock"
if ! flock -n 8; then
	echo "vm-run.sh: waiting for another QEMU run to finish (flock $lock)" >&2
	w0=$(date +%s)
	flock 8
	echo "vm-run.sh: waited $(( $(date +%s) - w0 ))s for the QEMU lock" >&2
fi
start=$(date +%s)
set +e
timeout -k 10 "$vm_timeout" "${qemu[@]}" </dev/null &
qpid=$!
if [ $quiet = 0 ]; then
	tail -n +1 -s 0.2 -f --pid=$qpid "$log" | tr -d '\r' &
	tpid=$!
fi
wait $qpid
qrc=$?
[ $quiet = 1 ] || wait $tpid
set -e
exec 8>&-
elapsed=$(( $(date +%s) - start ))

if [ -n "$gcov" ]; then
	mkdir -p "$gcov"
	if ! tr -d '\r' <"$log" | sed -n '/^### VIRTBE GCOV BEGIN files=[1-9]/,/^### VIRTBE GCOV END/{/^###/d;p}' |
		base64 -d | tar xzf - -C "$gcov"; then
		echo "vm-run.sh: --gcov: no gcov data could be read from the console" >&2
		host_gcov_fail=1
	fi
fi

# ------------------------------------------------------------------ verdict
host_fail=()
[ -z "${host_gcov_fail:-}" ] || host_fail+=("no gcov data received")
[ $qrc -eq 124 ] || [ $qrc -eq 137 ] && host_fail+=("QEMU timeout after ${vm_timeout}s (guest hung)")
[ $qrc -ne 0 ] && [ $qrc -ne 124 ] && [ $qrc -ne 137 ] && host_fail+=("QEMU exited with status $qrc")
grep -q 'Kernel panic' "$log" && host_fail+=("kernel panic")
grep -q '^### VIRTBE BOOTED' "$log" || host_fail+=("guest never reached /init")
grep -q '^### VIRTBE DONE' "$log" || host_fail+=("guest did not run to its end")

args=(--label "$lane" --mode "$mode")
[ -n "$counts" ] && args+=(--counts "$counts")
for f in ${host_fail[@]+"${host_fail[@]}"}; do args+=(--host-fail "$f"); done
echo "vm-run.sh: QEMU ran ${elapsed}s (status $qrc)" >&2
if "$here/tap-summary.sh" "${args[@]}" "$log"; then
	[ $autolog = 0 ] || rm -f "$log"
else
	echo "vm-run.sh: FAILED, serial log: $log" >&2
	exit 1
fi
