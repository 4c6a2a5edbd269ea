#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The backend boundary, one of `make check`'s host tests (TAP):
#   1. scripts/backend-stub/stub.c, a backend that fills every op, builds
#      against <virtbe_backend.h> ALONE (copied with the uapi header it
#      includes into a scratch tree: no other header of the core exists
#      there) with Debian's 6.1 headers, W=1 (and sparse, C=2, when it is
#      installed), warning-free;
#   2. modpost resolves every core symbol it uses from virtbe.ko's
#      Module.symvers, in the VIRTBE namespace it imports;
#   3. the stub calls every function and macro the backend header declares;
#   4. no file under kernel/hyp/ includes a header of the core but
#      <virtbe_backend.h> (only its own folder's headers besides).
# The stub is never installed nor loaded.
# Usage: scripts/backend-stub.sh
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
hdr=kernel/include/virtbe_backend.h
stub=scripts/backend-stub/stub.c

echo "TAP version 13"
echo "1..4"

NAME=
# kdir.sh's stdout alone is for eval: a cold cache's download notes go to
# stderr, kept for the SKIP's reason
if k=$(KVER=6.1 scripts/kdir.sh 2>"${TMPDIR:-/tmp}/backend-stub-kdir.$$"); then
	eval "$k"
	rm -f "${TMPDIR:-/tmp}/backend-stub-kdir.$$"
else
	k=$(cat "${TMPDIR:-/tmp}/backend-stub-kdir.$$"); rm -f "${TMPDIR:-/tmp}/backend-stub-kdir.$$"
	echo "# ${k//$'\n'/$'\n'# }"
	for i in 1 2; do echo "ok $i # SKIP no 6.1 headers (make deps)"; done
fi

if [ -n "${NAME:-}" ]; then
	# virtbe.ko's Module.symvers, for modpost's namespace check
	make --no-print-directory modules KVER=6.1 >/dev/null 2>&1
	symvers=$top/build/6.1/src/Module.symvers
	scratch=$(mktemp -d)
	trap 'rm -rf "$scratch"' EXIT
	mkdir -p "$scratch/include" "$scratch/uapi/linux"
	cp scripts/backend-stub/Kbuild "$scratch/"
	cp "$stub" "$scratch/virtbe_stub.c"
	cp "$hdr" "$scratch/include/"
	cp uapi/linux/virtbe.h "$scratch/uapi/linux/"
	sp=; command -v sparse >/dev/null && sp=C=2
	make --no-print-directory -C "$KDIR" M="$scratch" W=1 $sp \
		KBUILD_EXTRA_SYMBOLS="$symvers" modules >"$scratch/log" 2>&1
	rc=$?
	if [ $rc = 0 ] && ! grep -qiE 'warning:|error:' "$scratch/log"; then
		echo "ok 1 - the stub builds against $hdr alone (6.1, W=1${sp:+, sparse})"
	else
		echo "not ok 1 - the stub builds against $hdr alone (6.1, W=1${sp:+, sparse})"
		sed 's/^/# /' "$scratch/log" | tail -30
	fi
	if [ ! -f "$symvers" ]; then
		echo "not ok 2 - modpost resolves the stub's core symbols # no $symvers"
	elif [ $rc = 0 ] && ! grep -qE 'undefined!|namespace' "$scratch/log" &&
	     modinfo -F import_ns "$scratch/virtbe_stub.ko" | grep -x VIRTBE >/dev/null; then
		echo "ok 2 - modpost resolves the stub's core symbols, namespace VIRTBE imported"
	else
		echo "not ok 2 - modpost resolves the stub's core symbols, namespace VIRTBE imported"
		grep -E 'undefined!|namespace' "$scratch/log" | sed 's/^/# /'
	fi
fi

# 3: every function (prototype or static inline) and ioctl macro of the
# header is used by the stub
missing=()
while read -r f; do
	grep -qw "$f" "$stub" || missing+=("$f")
done < <(sed -n -E 's/^(static inline )?[a-z_ ]+[ *]+(virtbe_[a-z_]+)\(.*/\2/p; s/^#define (VIRTBE_IOCTL_OP[A-Z_]*)\(.*/\1/p' "$hdr" | sort -u)
if [ ${#missing[@]} = 0 ]; then
	echo "ok 3 - the stub calls every function of $hdr"
else
	echo "not ok 3 - the stub calls every function of $hdr"
	echo "# not called: ${missing[*]}"
fi

# 4: kernel/hyp/ includes no core-private header
bad=()
while IFS= read -r line; do
	f=${line%%:*} inc=${line#*:}
	case $inc in
	*'<virtbe_backend.h>'*) continue ;;
	*'"'*'"'*)
		name=${inc#*\"}; name=${name%%\"*}
		# a header of the file's own folder only
		[[ $name != */* && -f $(dirname "$f")/$name ]] && continue ;;
	*'<linux/'*|*'<xen/'*|*'<asm/'*|*'<uapi/linux/virtbe.h>'*) continue ;;
	esac
	bad+=("$f: $inc")
done < <(grep -rHE '^[[:space:]]*#[[:space:]]*include' kernel/hyp | sed -E 's/:[0-9]*:?/:/')
if [ ${#bad[@]} = 0 ]; then
	echo "ok 4 - no file under kernel/hyp/ includes a core-private header"
else
	echo "not ok 4 - no file under kernel/hyp/ includes a core-private header"
	printf '# %s\n' "${bad[@]}"
fi
