#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Another architecture's build of host programs, with the shared libraries
# they need, from Debian's packages (for a test VM of that architecture):
# the package of each program and of each library in its DT_NEEDED closure
# on the host (dpkg -S) is downloaded for ARCH (scripts/apt-foreign.sh),
# never installed, and extracted into one root, cached by the packages'
# versions.  Prints the root's path.
#
# Usage: scripts/foreign-root.sh ARCH PROGRAM...
#   e.g. scripts/foreign-root.sh arm64 /usr/bin/qemu-storage-daemon
# The programs must be installed on the host (their package names are
# the host's); the root holds them at the same paths.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${VIRTBE_CACHE:-/var/cache/virtbe}
die() { echo "foreign-root.sh: $*" >&2; exit 2; }
[ $# -ge 2 ] || die "usage: foreign-root.sh ARCH PROGRAM..."
arch=$1; shift
. "$here/apt-foreign.sh"

pkg_of() {	# the host package holding file $1
	local p
	# (dpkg -S also prints "diversion by PKG from/to: PATH" lines)
	p=$( { dpkg -S "$1" 2>/dev/null || dpkg -S "$(readlink -f "$1")" 2>/dev/null; } |
		grep -v '^diversion ' | head -n 1) || true
	[ -n "$p" ] || die "$1 belongs to no installed package"
	echo "${p%%:*}" | cut -d, -f1
}

pkgs=()
for prog; do
	[ -x "$prog" ] || die "$prog is not installed on the host (scripts/deps.sh installs it)"
	pkgs+=("$(pkg_of "$prog")")
	for lib in $(ldd "$prog" | awk '/=>/ { print $3 }'); do
		pkgs+=("$(pkg_of "$lib")")
	done
done
mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sed 's/:.*//' | sort -u)
spec=
for p in "${pkgs[@]}"; do
	v=$(fapt_version "$arch" "$p")
	[ -n "$v" ] || die "$p has no $arch version in apt's lists"
	spec+="$p=$v "
done
key=$(echo "$spec" | sha256sum | cut -c1-12)
root=$cache/foreign/$arch-$key
if [ ! -f "$root/.complete" ]; then
	mkdir -p "$cache/foreign"
	exec 9>"$cache/foreign/.lock"
	flock 9
	if [ ! -f "$root/.complete" ]; then
		echo "foreign-root.sh: fetching ${#pkgs[@]} $arch packages: ${pkgs[*]}" >&2
		rm -rf "$root"; mkdir -p "$root/debs"
		# shellcheck disable=SC2086
		(cd "$root/debs" && fapt_get "$arch" download -q $spec >&2) ||
			die "apt-get download ($arch) failed"
		for d in "$root"/debs/*.deb; do dpkg -x "$d" "$root"; done
		rm -rf "$root/debs"
		echo "$spec" >"$root/.packages"
		touch "$root/.complete"
	fi
	exec 9>&-
fi
echo "$root"
