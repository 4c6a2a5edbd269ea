#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test of the documentation, TAP: make htmldocs and make man build
# with no Sphinx warning (-W), and the kernel-doc directives produced the
# ABI's structures (outside the kernel tree they would silently vanish);
# make man also generates libvirtbe(3) with no kernel-doc or groff warning
# (scripts/libvirtbe-man.sh), a page for every function lib/libvirtbe.map
# exports.
set -uo pipefail
cd "$(dirname "$0")/.."
B=${B:-$PWD/build}
if ! command -v sphinx-build >/dev/null; then
	echo "TAP version 13"
	echo "1..0 # SKIP no sphinx-build (apt-get install python3-sphinx, or make deps)"
	exit 0
fi
echo "TAP version 13"
echo "1..4"
fails=0
# build N TARGET WHAT: make TARGET (its log in build/TARGET.log) as result N
build() {
	if make --no-print-directory "$2" >"$B/$2.log" 2>&1; then
		echo "ok $1 - make $2: $3"
	else
		echo "not ok $1 - make $2 (build/$2.log):"
		grep -iE 'warning|error' "$B/$2.log" | head -n 10 | sed 's/^/# /'
		fails=$((fails + 1))
	fi
}
build 1 htmldocs "no Sphinx warning"
missing=
for s in virtbe_info virtbe_attach virtbe_mem_map virtbe_request virtbe_stats; do
	grep -q "struct $s" "$B/htmldocs/abi.html" 2>/dev/null || missing="$missing $s"
done
if [ -z "$missing" ]; then
	echo "ok 2 - the kernel-doc directives rendered the uapi structures in abi.html"
else
	echo "not ok 2 - abi.html lacks:$missing"
	fails=$((fails + 1))
fi
build 3 man "no Sphinx, kernel-doc or groff warning"
syms=$(sed -n 's/^[[:space:]]*\(vbe_[a-z0-9_]*\);$/\1/p' lib/libvirtbe.map | sort -u)
nopage=
for s in $syms; do [ -s "$B/man/$s.3" ] || nopage="$nopage $s"; done
if [ -n "$syms" ] && [ -z "$nopage" ] && [ -s "$B/man/libvirtbe.3" ]; then
	echo "ok 4 - libvirtbe(3) and a page for each of the $(echo $syms | wc -w) functions of lib/libvirtbe.map"
else
	echo "not ok 4 - man3 pages missing:${nopage:- libvirtbe.3}"
	fails=$((fails + 1))
fi
exit $((fails > 0))
