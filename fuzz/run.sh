#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run libFuzzer harnesses (fuzz/Makefile builds them) and print TAP: one
# result per harness, with its executions and coverage (libFuzzer's "cov"
# edges and "ft" features).  A crash, a leak, a timeout (10 s per input)
# or a failed invariant fails it; the reproducer stays in build/.
#   run.sh --runs N HARNESS...     N inputs each (make check)
#   run.sh --secs S HARNESS...     S seconds each (by hand)
set -uo pipefail
cd "$(dirname "$0")"
limit=(-runs=100000)
case ${1:-} in
--runs) limit=(-runs="$2"); shift 2 ;;
--secs) limit=(-max_total_time="$2"); shift 2 ;;
esac
echo "TAP version 13"
echo "1..$#"
n=0 fails=0
for h in "$@"; do
	n=$((n + 1))
	corpus=build/corpus/$h
	mkdir -p "$corpus" build/artifacts
	log=build/$h.log
	start=$(date +%s)
	"build/$h" "${limit[@]}" -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix=build/artifacts/$h- \
		"$corpus" "build/seeds/$h" >"$log" 2>&1
	rc=$?
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(echo "$done_line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$done_line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	what="$h: ${execs:-?} executions in $(( $(date +%s) - start ))s, coverage ${cov:-?} edges, ${ft:-?} features"
	if [ $rc = 0 ] && [ -n "$done_line" ]; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what (libFuzzer exit $rc; log: fuzz/$log)"
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5 | sed 's/^/# /'
		fails=$((fails + 1))
	fi
done
exit $((fails > 0))
