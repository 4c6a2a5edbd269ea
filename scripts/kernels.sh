#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fetch and cache, per test lane, the Debian kernel image to boot in QEMU and
# the headers to build the module against.  Nothing is installed into /boot
# or /lib/modules: packages are `apt-get download`ed and `dpkg -x`ed into
#   $VIRTBE_CACHE/kernels/<kernel release>_<package version>/
#
# Usage: scripts/kernels.sh LANE [VAR]
#   LANE  6.1   headers: the installed linux-headers-amd64 (bookworm)
#         6.12  headers: linux-headers-6.12-amd64 (bookworm-security),
#               downloaded with its -common and linux-kbuild packages
#         debug a KASAN/lockdep/kmemleak kernel built from linux-source-6.1
#               by scripts/debug-kernel.sh (cached; KDIR is the built tree)
#         debug-6.12  the same from linux-source-6.12, with privcmd's
#               ioeventfd/irqfd (debug-kernel.sh --version 6.12)
#         arm64 Debian's 6.1 arm64 kernel (linux-image-arm64), its headers
#               and -common from the arm64 archive (scripts/apt-foreign.sh),
#               and the host's linux-kbuild-6.1 of the same version: modules
#               are cross-built with CROSS_COMPILE=aarch64-linux-gnu-
# Prints shell assignments (eval "$(scripts/kernels.sh 6.1)"):
#   KVER KREL KDIR VMLINUZ MODDIR KCACHE KCROSS
# (KCROSS: the CROSS_COMPILE prefix to build modules with; empty but for arm64)
# or, given VAR, just that value.  Progress goes to stderr.
set -euo pipefail

lane=${1:?usage: kernels.sh 6.1|6.12 [VAR]}
want=${2:-}
case $lane in
debug) exec "$(dirname "$0")/debug-kernel.sh" "$want" ;;
debug-6.12) exec "$(dirname "$0")/debug-kernel.sh" --version 6.12 "$want" ;;
esac
cache=${VIRTBE_CACHE:-/var/cache/virtbe}
log() { echo "kernels.sh[$lane]: $*" >&2; }
die() { log "$*"; exit 1; }

apt_updated=0
apt_update() {
	[ $apt_updated = 0 ] || return 0
	log "apt-get update"
	apt-get update -qq >&2
	apt_updated=1
}

# candidate version of a package, updating apt's lists once if it is unknown
candidate() {
	local v
	v=$(apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
	if [ -z "$v" ]; then
		apt_update
		v=$(apt-cache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
	fi
	[ -n "$v" ] || die "package $1 not found by apt-cache"
	echo "$v"
}

# name of the first dependency of package $1 (version $2) matching regex $3
dep_of() {
	apt-cache show "$1=$2" 2>/dev/null | sed -n 's/^Depends: //p' | head -n1 |
		tr ',|' '\n\n' | sed 's/^ *//; s/ .*//' | grep -E -m1 "$3" || true
}

# apt-get download PKG=VER... into $1, retrying once after apt-get update
download() {
	local dir=$1; shift
	if ! (cd "$dir" && apt-get download -q -o APT::Sandbox::User=root "$@" >&2); then
		apt_update
		(cd "$dir" && apt-get download -q -o APT::Sandbox::User=root "$@" >&2)
	fi
}

case $lane in 6.1|6.12|arm64) ;; *) die "unknown lane '$lane' (6.1, 6.12, arm64, debug or debug-6.12)" ;; esac
cross=
if [ "$lane" = arm64 ]; then
	cross=aarch64-linux-gnu-
	"$(dirname "$0")/deps.sh" --arm64 >&2	# the cross compiler: not in the default set
fi

if [ "$lane" = 6.1 ]; then
	# The image must be exactly the build the installed headers describe
	# (vermagic and modversions CRCs).
	hdr=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
		tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -E -m1 '^linux-headers-.*-amd64$' || true)
	[ -n "$hdr" ] || die "linux-headers-amd64 is not installed (run scripts/deps.sh)"
	ver=$(dpkg-query -W -f='${Version}' "$hdr")
	krel=${hdr#linux-headers-}
	kdir=/usr/src/$hdr
	[ -f "$kdir/Makefile" ] || die "$kdir missing"
	debs=("linux-image-$krel=$ver")
else
	# apt-cache takes ~1 s a call here: reuse the last resolution while
	# apt's package lists have not changed since.
	memo=$cache/kernels/.resolved-$lane
	if [ -f "$memo" ] && [ -z "$(find /var/lib/apt/lists -maxdepth 1 -newer "$memo" -name '*Packages*' 2>/dev/null)" ]; then
		. "$memo"
		if [ -f "$cache/kernels/${krel}_$ver/.complete" ]; then
			resolved=1
		fi
	fi
fi
if [ "$lane" = 6.12 ] && [ -z "${resolved:-}" ]; then
	meta=linux-headers-6.12-amd64
	mver=$(candidate $meta)
	hdr=$(dep_of $meta "$mver" '^linux-headers-6\.12.*-amd64$')
	[ -n "$hdr" ] || die "cannot resolve the headers package $meta depends on"
	ver=$(candidate "$hdr")
	krel=${hdr#linux-headers-}
	common=$(dep_of "$hdr" "$ver" '^linux-headers-.*-common$')
	kbuild=$(dep_of "$hdr" "$ver" '^linux-kbuild-')
	[ -n "$common" ] && [ -n "$kbuild" ] || die "cannot resolve -common/kbuild of $hdr"
	kbver=$(candidate "$kbuild")
	debs=("linux-image-$krel=$ver" "$hdr=$ver" "$common=$ver" "$kbuild=$kbver")
fi
if [ "$lane" = arm64 ] && [ -z "${resolved:-}" ]; then
	. "$(dirname "$0")/apt-foreign.sh"
	mver=$(fapt_version arm64 linux-image-arm64)
	[ -n "$mver" ] || die "linux-image-arm64 not found in the arm64 archive"
	img=$(fapt_cache arm64 show "linux-image-arm64=$mver" | sed -n 's/^Depends: //p' |
		head -n1 | tr ',|' '\n\n' | sed 's/^ *//; s/ .*//' |
		grep -E -m1 '^linux-image-6\.1.*-arm64$' || true)
	[ -n "$img" ] || die "cannot resolve the image linux-image-arm64 depends on"
	krel=${img#linux-image-}
	ver=$(fapt_version arm64 "$img")
	hdr=linux-headers-$krel
	common=$(fapt_cache arm64 show "$hdr=$ver" | sed -n 's/^Depends: //p' | head -n1 |
		tr ',|' '\n\n' | sed 's/^ *//; s/ .*//' | grep -E -m1 '^linux-headers-.*-common$' || true)
	[ -n "$common" ] || die "cannot resolve the -common package of $hdr"
	# the build tools (fixdep, modpost) run on the host: amd64's kbuild
	kbuild=linux-kbuild-${krel%%.0-*}
	debs=("$img=$ver" "$hdr=$ver" "$common=$ver")
fi

dir=$cache/kernels/${krel}_$ver
if [ "$lane" != 6.1 ]; then kdir=$dir/root/usr/src/$hdr; fi
vmlinuz=$dir/root/boot/vmlinuz-$krel
moddir=$dir/root/lib/modules/$krel

if [ ! -f "$dir/.complete" ]; then
	mkdir -p "$cache/kernels"
	exec 9>"$cache/kernels/.lock-$lane"
	flock 9
	if [ ! -f "$dir/.complete" ]; then
		log "fetching ${debs[*]}"
		rm -rf "$dir"
		mkdir -p "$dir/debs" "$dir/root"
		if [ "$lane" = arm64 ]; then
			(cd "$dir/debs" && fapt_get arm64 download -q "${debs[@]}" >&2) &&
				download "$dir/debs" "$kbuild=$ver" ||
				{ rm -rf "$dir"; die "cannot download ${debs[*]} $kbuild=$ver"; }
		elif ! download "$dir/debs" "${debs[@]}"; then
			rm -rf "$dir"
			[ "$lane" = 6.12 ] || die "cannot download ${debs[*]}: the mirror may have moved to a newer 6.1 ABI; upgrade the headers (apt-get update && apt-get install linux-headers-amd64) and retry"
			die "cannot download ${debs[*]}"
		fi
		for d in "$dir"/debs/*.deb; do
			dpkg -x "$d" "$dir/root"
		done
		if [ "$lane" != 6.1 ]; then
			# The arch Makefile includes the -common one by absolute path.
			sed -i "s|^include /usr/src/|include $dir/root/usr/src/|" "$kdir/Makefile"
			grep -q "^include $dir/root/usr/src/.*-common/Makefile" "$kdir/Makefile" ||
				die "unexpected $kdir/Makefile"
		fi
		# Debian's image package ships no modules.dep.
		depmod -b "$dir/root" "$krel"
		rm -rf "$dir/debs"
		[ -f "$vmlinuz" ] && [ -f "$kdir/Makefile" ] || die "incomplete extraction in $dir"
		touch "$dir/.complete"
		log "cached in $dir"
	fi
	exec 9>&-
fi
if [ "$lane" != 6.1 ] && [ -z "${resolved:-}" ]; then
	printf "hdr='%s'\nver='%s'\nkrel='%s'\n" "$hdr" "$ver" "$krel" >"$memo"
fi

if [ -n "$want" ]; then
	case $want in
	KVER) echo "$lane" ;; KREL) echo "$krel" ;; KDIR) echo "$kdir" ;;
	VMLINUZ) echo "$vmlinuz" ;; MODDIR) echo "$moddir" ;; KCACHE) echo "$dir" ;;
	KCROSS) echo "$cross" ;;
	*) die "unknown variable $want" ;;
	esac
	exit 0
fi
printf "KVER='%s'\nKREL='%s'\nKDIR='%s'\nVMLINUZ='%s'\nMODDIR='%s'\nKCACHE='%s'\nKCROSS='%s'\n" \
	"$lane" "$krel" "$kdir" "$vmlinuz" "$moddir" "$dir" "$cross"
