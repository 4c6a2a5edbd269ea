#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host test of the documentation, TAP: make htmldocs and make man build
# with no Sphinx warning (-W), and the kernel-doc directives produced the
# ABI's structures (outside the kernel tree they would silently vanish).
set -uo pipefail
cd "$(dirname "$0")/.."
B=${B:-$PWD/build}
if ! command -v sphinx-build >/dev/null; then
	echo "TAP version 13"
	echo "1..0 # SKIP no sphinx-build (apt-get install python3-sphinx, or make deps)"
	exit 0
fi
echo "TAP version 13"
echo "1..3"
fails=0
if make --no-print-directory htmldocs >"$B/htmldocs.log" 2>&1; then
	echo "ok 1 - make htmldocs: $(find "$B/htmldocs" -name '*.html' | wc -l) pages, no Sphinx warning"
else
	echo "not ok 1 - make htmldocs (build/htmldocs.log):"
	grep -iE 'warning|error' "$B/htmldocs.log" | head -n 10 | sed 's/^/# /'
	fails=$((fails + 1))
fi
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
if make --no-print-directory man >"$B/man.log" 2>&1; then
	echo "ok 3 - make man: $(cd "$B/man" && ls | tr '\n' ' ')"
else
	echo "not ok 3 - make man (build/man.log):"
	grep -iE 'warning|error' "$B/man.log" | head -n 10 | sed 's/^/# /'
	fails=$((fails + 1))
fi
exit $((fails > 0))
