#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Licence lint, one of `make check`'s host tests (TAP):
#   1. every file of the repository carries an SPDX-License-Identifier line
#      in its first two lines (line 2 after a #! line), as in the kernel;
#   2. every licence and exception those lines name has its text in
#      LICENSES/ (preferred/<id>, exceptions/<id>, as in the kernel);
#   3. LICENSES/ holds no text that no file uses.
# The files are git's tracked files (those that exist: a deletion not yet
# committed is not a file), or every file under the top directory when there
# is no .git (an unpacked tarball, a DKMS source tree).
# Usage: scripts/spdx-check.sh [DIR]   (default: the repository's top)
set -uo pipefail

top=${1:-$(dirname "$0")/..}
cd "$top" || exit 1

# Files that cannot carry an SPDX line, with the reason.  Keep it short.
allow=(
	'LICENSES/*'	# the licence texts themselves (Valid-License-Identifier)
	'debian/changelog'	# line 1 is "virtbe (<version>) ...", line 2 blank (dpkg)
	'debian/copyright'	# DEP-5: the licences of every file; "Format:" first
	'debian/source/format'	# one line, "3.0 (native)" (dpkg-source)
)

if [ -e .git ] && git rev-parse --git-dir >/dev/null 2>&1; then
	mapfile -t files < <(git ls-files)
else
	mapfile -t files < <(find . -path ./build -prune -o -type f -print | sed 's|^\./||' | sort)
fi

echo "TAP version 13"
echo "1..3"

missing=() ids=() n=0
for f in "${files[@]}"; do
	[ -f "$f" ] || continue
	skip=0
	for a in "${allow[@]}"; do
		# shellcheck disable=SC2053	# $a is a glob
		[[ $f == $a ]] && { skip=1; break; }
	done
	[ $skip = 1 ] && continue
	n=$((n + 1))
	line=$(head -n 2 "$f" | grep -m1 -o 'SPDX-License-Identifier: .*' || true)
	if [ -z "$line" ]; then
		missing+=("$f")
		continue
	fi
	# the expression, without a comment's closing "*/" or "-->"
	expr=$(sed -e 's/^SPDX-License-Identifier: *//' -e 's/ *\*\/.*$//' \
		-e 's/ *-->.*$//' <<<"$line")
	ids+=("$f	$expr")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "ok 1 - all $n files have an SPDX-License-Identifier line"
else
	echo "not ok 1 - ${#missing[@]} of $n files have no SPDX-License-Identifier line"
	printf '#   %s\n' "${missing[@]}"
	echo "# add \"SPDX-License-Identifier: <licence>\" as the first line (the second"
	echo "# after #!), in the file's comment syntax, with the licence of its neighbours"
fi

# identifier -> file of its text
declare -A text=()
for t in LICENSES/preferred/* LICENSES/exceptions/*; do
	[ -f "$t" ] || continue
	while read -r id; do text[$id]=$t; done < <(sed -n \
		-e 's/^Valid-License-Identifier: *//p' \
		-e 's/^SPDX-Exception-Identifier: *//p' "$t")
done
declare -A used=()
bad=()
for e in "${ids[@]}"; do
	f=${e%%	*}; expr=${e#*	}
	for tok in $(tr '()' '  ' <<<"$expr"); do
		case $tok in OR|AND|WITH) continue ;; esac
		if [ -n "${text[$tok]:-}" ]; then
			used[${text[$tok]}]=1
		else
			bad+=("$f: \"$tok\" has no text in LICENSES/")
		fi
	done
done
if [ ${#bad[@]} -eq 0 ]; then
	echo "ok 2 - every licence named has its text in LICENSES/"
else
	echo "not ok 2 - ${#bad[@]} licence names have no text in LICENSES/"
	printf '#   %s\n' "${bad[@]}"
fi

unused=()
for t in LICENSES/*/*; do
	[ -f "$t" ] || continue
	[ -n "${used[$t]:-}" ] || unused+=("$t")
done
if [ ${#unused[@]} -eq 0 ]; then
	echo "ok 3 - LICENSES/ holds exactly the texts used"
else
	echo "not ok 3 - LICENSES/ holds texts no file uses"
	printf '#   %s\n' "${unused[@]}"
fi
[ ${#missing[@]} -eq 0 ] && [ ${#bad[@]} -eq 0 ] && [ ${#unused[@]} -eq 0 ]
