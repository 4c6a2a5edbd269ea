#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Which kernel build tree `make modules` and `make modules_install` use,
# from the variables given to make (read here from the environment):
#   KVER=6.1|6.12|debug|debug-6.12|arm64  a test lane's kernel (scripts/kernels.sh):
#                               built in build/<lane>/src with W=1, and a
#                               warning fails the build
#   KDIR=/path/to/build         that configured and prepared kernel tree
#                               (its release from include/generated/utsrelease.h)
#   KREL=<release>              /lib/modules/<release>/build
#   none of them                /lib/modules/$(uname -r)/build: the running kernel
# An installed kernel's modules are built in build/host-<release>/src.
# Prints shell assignments (eval "$(scripts/kdir.sh)"):
#   NAME (the directory under build/) KREL KDIR KCROSS LANE (1: a test lane)
# or, on a bad value, says which option is wrong and what it takes, and
# exits 1.
set -euo pipefail

lanes="6.1 6.12 debug debug-6.12 arm64"
die() {
	{ printf 'modules: %s\n' "$1"; shift; [ $# = 0 ] || printf '         %s\n' "$@"; } >&2
	exit 1
}
kver=${KVER:-} krel=${KREL:-} kdir=${KDIR:-}
here=$(dirname "$0")

if [ -n "$kver" ]; then
	case " $lanes " in
	*" $kver "*) ;;
	*) die "KVER=$kver is not a test lane: KVER takes one of: ${lanes// /, }." \
		"To build for an installed kernel, leave KVER out and give KREL=<release>" \
		"(default: \`uname -r\`, here $(uname -r)) or KDIR=/path/to/its/build/tree." ;;
	esac
	[ -z "$krel$kdir" ] ||
		die "KVER=$kver builds for that test lane's kernel: give KVER, or KREL/KDIR, not both."
	out=$("$here/kernels.sh" "$kver") || die "KVER=$kver: cannot set up the lane's kernel tree (see above)."
	eval "$out"
	printf "NAME='%s'\nKREL='%s'\nKDIR='%s'\nKCROSS='%s'\nLANE=1\n" "$kver" "$KREL" "$KDIR" "${KCROSS:-}"
	exit 0
fi

if [ -z "$kdir" ]; then
	krel=${krel:-$(uname -r)}
	kdir=/lib/modules/$krel/build
	[ -f "$kdir/Makefile" ] ||
		die "no kernel build tree at $kdir: install linux-headers-$krel (the headers" \
			"of kernel $krel) or pass KDIR=/path/to/its/build/tree" \
			"(or KVER=${lanes// /|} for a test lane's kernel)."
else
	[ -f "$kdir/Makefile" ] || die "KDIR=$kdir is not a kernel build tree (no Makefile there)."
fi
uts=$kdir/include/generated/utsrelease.h
[ -f "$uts" ] ||
	die "KDIR=$kdir is not configured and prepared (no include/generated/utsrelease.h):" \
		"run \`make modules_prepare\` in it, or install its linux-headers package."
r=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$uts")
[ -n "$r" ] || die "cannot read the kernel release from $uts."
[ -z "$krel" ] || [ "$krel" = "$r" ] ||
	die "KREL=$krel but KDIR=$kdir is the tree of $r: give one of them."
printf "NAME='%s'\nKREL='%s'\nKDIR='%s'\nKCROSS=''\nLANE=0\n" "host-$r" "$r" "$kdir"
