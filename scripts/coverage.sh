#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Line coverage of virtbe's modules on the debug lane (make coverage).
#
# Usage: scripts/coverage.sh [suite] [fuzz] [--out DIR]
#   suite  the debug lane's whole kselftest suite (as make check runs it)
#   fuzz   fuzz_test alone (FUZZ_SECS and the other knobs of the
#          environment are not passed to the VM: its defaults)
#   default: both, one VM run each
#   --out DIR   where the runs go (default build/coverage): DIR/<run>/
#               serial.log, gcda/ (as sent by the VM), obj/ (the .gcno and
#               .gcda side by side), gcov/ (gcov's JSON), report.txt
#
# The modules are built with gcov profiling (make modules KVER=debug
# VIRTBE_GCOV=1, in build/debug-gcov) for the debug kernel, which has
# CONFIG_GCOV_KERNEL; scripts/vm-run.sh --gcov sends their .gcda files
# over the console once the modules are removed.  Prints, per run, the
# line coverage of kernel/*.c and kernel/hyp/sim/*.c, each and in total,
# and the functions with the most lines never executed.  The exit status
# is the VM runs': a failed test fails it, and the coverage is still
# reported.
set -euo pipefail

cd "$(dirname "$0")/.."
B=$(pwd -P)/build	# physical: the path make builds in, in the .gcda names
out=$B/coverage runs=()
while [ $# -gt 0 ]; do
	case $1 in
	suite|fuzz) runs+=("$1"); shift ;;
	--out) out=$(realpath -m -- "$2"); shift 2 ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "coverage.sh: unknown argument $1 (--help)" >&2; exit 2 ;;
	esac
done
[ ${#runs[@]} -gt 0 ] || runs=(suite fuzz)
command -v gcov >/dev/null || { echo "coverage.sh: gcov (gcc) is missing" >&2; exit 2; }

# the debug kernel: cached, or built (scripts/debug-kernel.sh)
kdir=$(scripts/kernels.sh debug | sed -n "s/^KDIR='\(.*\)'$/\1/p")
grep -qx 'CONFIG_GCOV_KERNEL=y' "$kdir/.config" || {
	echo "coverage.sh: the debug kernel ($kdir) has no CONFIG_GCOV_KERNEL" >&2; exit 2; }
make --no-print-directory -j2 modules KVER=debug VIRTBE_GCOV=1
make --no-print-directory selftests
src=$B/debug-gcov/src

# report RUNDIR: gcov over the run's .gcda, a summary
report() {
	local d=$1 g
	rm -rf "$d/obj" "$d/gcov"
	mkdir -p "$d/obj" "$d/gcov"
	# the build's .gcno and the run's .gcda side by side, in a copy
	(cd "$src" && find . -name '*.gcno' -print0 | cpio -0 -pdm --quiet "$d/obj")
	g=$(find "$d/gcda" -type d -path "*$src" | head -n1)
	[ -n "$g" ] || { echo "coverage.sh: no gcov data of $src in $d/gcda" >&2; return 1; }
	(cd "$g" && find . -name '*.gcda' -print0 | cpio -0 -pdm --quiet "$d/obj")
	(cd "$src" && for c in kernel/*.c kernel/hyp/sim/*.c; do
		o=$d/obj/${c%.c}
		[ -f "$o.gcno" ] || continue
		# no .gcda: the module was never loaded; gcov counts zeros
		(cd "$d/gcov" && gcov -b -j -p -o "${o%/*}" "$src/$c" >/dev/null 2>&1) || true
	done)
	python3 - "$d/gcov" "$src" >"$d/report.txt" <<'PY'
import gzip, json, os, sys
gdir, src = sys.argv[1], sys.argv[2] + "/"
files, funcs = {}, []
for n in sorted(os.listdir(gdir)):
    if not n.endswith(".gcov.json.gz"):
        continue
    with gzip.open(os.path.join(gdir, n)) as f:
        j = json.load(f)
    for fe in j["files"]:
        p = fe["file"]
        p = p[len(src):] if p.startswith(src) else p
        if not p.endswith(".c") or not (p.startswith("kernel/") and
                                         (p.count("/") == 1 or p.startswith("kernel/hyp/sim/"))):
            continue
        lines = {}
        for l in fe["lines"]:
            lines[l["line_number"]] = max(lines.get(l["line_number"], 0), l["count"])
        files[p] = lines
        for fn in fe["functions"]:
            s, e = fn["start_line"], fn["end_line"]
            tot = [c for ln, c in lines.items() if s <= ln <= e]
            miss = [c for c in tot if c == 0]
            funcs.append((len(miss), len(tot), fn["execution_count"], p, s, fn["demangled_name"]))
T = C = 0
print("%-28s %7s %7s %7s" % ("file", "lines", "run", "cover"))
for p in sorted(files):
    t = len(files[p]); c = sum(1 for v in files[p].values() if v)
    T += t; C += c
    print("%-28s %7d %7d %6.1f%%" % (p, t, c, 100.0 * c / t if t else 0))
print("%-28s %7d %7d %6.1f%%" % ("total", T, C, 100.0 * C / T if T else 0))
print("\nfunctions never called (lines):")
never = sorted((f for f in funcs if f[2] == 0), key=lambda f: -f[1])
for m, t, x, p, s, name in never[:30]:
    print("  %-36s %s:%d (%d)" % (name, p, s, t))
if len(never) > 30:
    print("  (+%d more)" % (len(never) - 30))
print("\ncalled functions with the most lines never run (missed/lines):")
part = sorted((f for f in funcs if f[2] and f[0]), key=lambda f: -f[0])
for m, t, x, p, s, name in part[:25]:
    print("  %-36s %s:%d (%d/%d)" % (name, p, s, m, t))
PY
}

rc=0
for r in "${runs[@]}"; do
	d=$out/$r
	rm -rf "$d"; mkdir -p "$d"
	case $r in
	suite)
		tdir=$B/selftests
		extra=(--extra "$PWD/tools/vbe-blk/vbe-blk=/bin/vbe-blk")
		[ ! -x /usr/bin/qemu-storage-daemon ] ||
			extra+=(--extra /usr/bin/qemu-storage-daemon=/bin/qemu-storage-daemon)
		[ ! -x tools/vhost-user/virtbe-vhost-user ] ||
			extra+=(--extra "$PWD/tools/vhost-user/virtbe-vhost-user=/bin/virtbe-vhost-user") ;;
	fuzz)
		tdir=$d/tests extra=()
		mkdir -p "$tdir"; cp "$B/selftests/fuzz_test" "$tdir/" ;;
	esac
	echo "coverage.sh: $r: the debug lane, modules with gcov (log $d/serial.log)"
	scripts/vm-run.sh --quiet --gcov "$d/gcda" --log "$d/serial.log" ${extra[@]+"${extra[@]}"} \
		debug "$B/debug-gcov/ko" "$tdir" tests || rc=1
	report "$d" || rc=1
done
for r in "${runs[@]}"; do
	echo
	echo "==== coverage: $r ($out/$r/report.txt)"
	[ ! -f "$out/$r/report.txt" ] || cat "$out/$r/report.txt"
done
exit $rc
