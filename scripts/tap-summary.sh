#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Count kselftest TAP results.  Every test case counts (not every binary).
#
# Usage: scripts/tap-summary.sh [--label L] [--mode tests|demo|bench|host]
#                               [--counts FILE] [--host-fail MSG]... [LOG|-]
#
# tests  (default) LOG is a vm-run.sh serial log: per-binary sections between
#        "### VIRTBE BEGIN name" and "### VIRTBE END name rc= timeout= kwarn=".
#        A binary fails beyond its "not ok" lines if it has no plan, fewer
#        results than its plan (each missing result is a failure), exits
#        non-zero (other than KSFT_SKIP) or by a signal, times out, or caused
#        kernel warnings.  "### VIRTBE FAIL ..." lines (insmod, rmmod) and each
#        --host-fail (timeout, panic, ...) are failures too.  "### VIRTBE
#        VOID" voids the results since the last "### VIRTBE PART" (a part
#        of the Xen lanes' test that runs again after a triple fault).
# demo, bench  each program run is one pass or one failure (exit status,
#        kernel warnings); FAIL lines and --host-fail as above.
# host   plain output of host-side tests: TAP streams (each "TAP version"
#        line starts one), or, if there are no TAP results, "N passed,
#        N failed[, N skipped]" lines, summed.
# Prints the details and "LABEL: N passed, N failed, N skipped"; writes
# "N N N" to --counts FILE; exits 1 if anything failed (or nothing ran).
set -euo pipefail

label=virtbe mode=tests counts= hostfail=
while [ $# -gt 0 ]; do
	case $1 in
	--label) label=$2; shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--counts) counts=$2; shift 2 ;;
	--host-fail) hostfail+="$2"$'\x1f'; shift 2 ;;
	--) shift; break ;;
	-*) echo "tap-summary.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
in=${1:--}

result=$(tr -d '\r' <"$(if [ "$in" = - ]; then echo /dev/stdin; else echo "$in"; fi)" |
awk -v label="$label" -v mode="$mode" -v hostfail="$hostfail" '
function reset(name) {
	cur = name; plan = -1; res = 0; p = 0; f = 0; s = 0; bail = 0; open = 1
	vres = vp = vf = vs = 0
}
# finish the current section; rc < 0: unknown (host mode / guest died)
function finish(rc, to, kw,    why, extra, fc) {
	if (!open) return
	open = 0; why = ""; extra = 0
	if (mode == "tests" || mode == "host") {
		if (plan < 0 && res == 0 && mode == "host") return
		if (plan < 0) why = why ", no TAP plan"
		else if (res < plan) { extra += plan - res; why = why sprintf(", %d of %d results missing", plan - res, plan) }
		else if (res > plan) why = why sprintf(", %d results for a plan of %d", res, plan)
		if (plan == 0 && res == 0 && s == 0) s = 1	# "1..0 # SKIP"
	} else {
		# demo/bench: one run, judged by its exit status
		if (rc == 0 && !to && !kw) p = 1
	}
	if (bail) why = why ", bailed out"
	if (rc == -2) why = why ", did not finish (guest died)"
	else if (rc > 0 && rc != 4 && !to) why = why sprintf(", exit status %d", rc)
	if (to) why = why ", TIMEOUT"
	if (kw) why = why sprintf(", %d kernel warning lines", kw)
	fc = f + extra
	if (why != "" && fc == 0 && (plan < 0 || res > plan || bail || to || rc == -2 || (rc > 0 && rc != 4) || mode != "tests" && mode != "host")) fc = 1
	if (kw && (mode == "tests" || mode == "host")) fc++
	P += p; F += fc; S += s; nbin++
	printf "# %s %s: %d passed, %d failed, %d skipped%s\n", label, cur, p, fc, s, (why == "" ? "" : " (FAILED:" substr(why, 2) ")")
	if (fc) failed_bins = failed_bins " " cur
}
BEGIN { open = 0; P = F = S = 0; nbin = 0; markers = 0; sums = 0; sP = sF = sS = 0 }
/^### VIRTBE BEGIN / { finish(-2, 0, 0); markers = 1; reset($4); next }
/^### VIRTBE END / {
	rc = $0; sub(/.* rc=/, "", rc); sub(/ .*/, "", rc)
	to = $0; sub(/.* timeout=/, "", to); sub(/ .*/, "", to)
	kw = $0; sub(/.* kwarn=/, "", kw); sub(/ .*/, "", kw)
	finish(rc + 0, to + 0, kw + 0); next
}
# a part run again (tools/xen-guest/dom0-test.sh, run_part): the results
# since its "### VIRTBE PART" line do not count
/^### VIRTBE PART / { if (open) { vres = res; vp = p; vf = f; vs = s }; next }
/^### VIRTBE VOID / { if (open) { res = vres; p = vp; f = vf; s = vs; voided++ }; next }
/^### VIRTBE FAIL / { sub(/^### VIRTBE FAIL /, ""); gfail[++ng] = $0; next }
/^### VIRTBE DONE/ { finish(-2, 0, 0); done = 1; next }
/^### VIRTBE DMESG BEGIN/ { finish(-2, 0, 0); indmesg = 1; next }
/^### VIRTBE DMESG END/ { indmesg = 0; next }
indmesg { next }
mode == "host" && /^TAP version/ { finish(-1, 0, 0); reset("tap" ++ntap); next }
!open && mode == "host" && /^(ok|not ok) [0-9]+/ { reset("tap" ++ntap) }
!open { 
	if (mode == "host" && match($0, /(^|^[A-Za-z0-9_.-]+: )[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/)) {
		line = $0; sub(/^[A-Za-z0-9_.-]+: /, "", line); split(line, a, /[ ,]+/)
		sP += a[1]; sF += a[3]; if (a[6] != "") sS += a[5]; sums++
	}
	next
}
/^1\.\.[0-9]+/ { plan = substr($1, 4) + 0; next }
/^ok [0-9]+/ { res++; if ($0 ~ /# *[Ss][Kk][Ii][Pp]/) s++; else p++; next }
/^not ok [0-9]+/ { res++; if ($0 ~ /# *[Ss][Kk][Ii][Pp]/) s++; else if ($0 !~ /# *TODO/) f++; next }
/^Bail out!/ { bail = 1; next }
mode == "host" && match($0, /(^|^[A-Za-z0-9_.-]+: )[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$/) {
	line = $0; sub(/^[A-Za-z0-9_.-]+: /, "", line); split(line, a, /[ ,]+/)
	sP += a[1]; sF += a[3]; if (a[6] != "") sS += a[5]; sums++
	next
}
END {
	finish(mode == "host" ? -1 : -2, 0, 0)
	if (mode == "host" && nbin == 0 && sums > 0) { P = sP; F = sF; S = sS; nbin = sums }
	for (i = 1; i <= ng; i++) { printf "# %s: FAILED: %s\n", label, gfail[i]; F++ }
	nh = split(hostfail, h, "\037"); hf = 0
	for (i = 1; i <= nh; i++) if (h[i] != "") { printf "# %s: FAILED: %s\n", label, h[i]; hf = 1 }
	F += hf
	if (nbin == 0 && ng == 0 && !hf) { printf "# %s: FAILED: no test ran\n", label; F++ }
	if (voided) printf "# %s: %d try(s) of a part voided (a domU triple-faulted; the part ran again)\n", label, voided
	if (failed_bins != "") printf "# %s: failed:%s\n", label, failed_bins
	printf "%s: %d passed, %d failed, %d skipped\n", label, P, F, S
	printf "COUNTS %d %d %d\n", P, F, S
}')
printf '%s\n' "$result" | grep -v '^COUNTS '
set -- $(printf '%s\n' "$result" | sed -n 's/^COUNTS //p')
[ -z "$counts" ] || echo "$1 $2 $3" >"$counts"
[ "$2" -eq 0 ]
