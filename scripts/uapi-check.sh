#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The uapi headers, one of `make check`'s host tests (TAP): each of
# uapi/linux/*.h compiles alone as C90 with -pedantic -Wall -Werror, as
# the kernel's own uapi header check (usr/include) demands; a header that
# needs another first, a C99 comment or a zero-length array fails.
# Usage: scripts/uapi-check.sh
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
cc=${CC:-gcc}

mapfile -t hdrs < <(ls uapi/linux/*.h)
echo "TAP version 13"
echo "1..${#hdrs[@]}"
n=0
for h in "${hdrs[@]}"; do
	n=$((n + 1))
	b=${h#uapi/}
	if out=$(echo "#include <$b>" | "$cc" -std=c90 -pedantic -Wall -Werror \
			-fsyntax-only -Iuapi -x c - 2>&1); then
		echo "ok $n - $h compiles alone as C90 -pedantic"
	else
		echo "not ok $n - $h compiles alone as C90 -pedantic"
		echo "# ${out//$'\n'/$'\n'# }" | head -20
	fi
done
