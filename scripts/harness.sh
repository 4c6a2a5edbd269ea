#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Extract the kselftest harness (and the checkpatch / kernel-doc scripts, and
# the kernel-doc Sphinx extension for make htmldocs) from
# Debian's linux-source-6.1 tarball into a cache, once.  Nothing of it is
# vendored into the repository.  Prints the harness include directory.
#
#   scripts/harness.sh            -> /var/cache/virtbe/src/linux-source-6.1/tools/testing/selftests
#   scripts/harness.sh --root     -> /var/cache/virtbe/src/linux-source-6.1
#
# Environment: VIRTBE_CACHE (default /var/cache/virtbe),
#              LINUX_SOURCE_TARBALL (default /usr/src/linux-source-6.1.tar.xz).
set -euo pipefail

cache=${VIRTBE_CACHE:-/var/cache/virtbe}
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
top=linux-source-6.1
root=$cache/src/$top
members=(
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
	scripts/kernel-doc
	Documentation/userspace-api/ioctl/ioctl-number.rst
	Documentation/sphinx/kerneldoc.py
	Documentation/sphinx/kernellog.py
)

complete() {
	local m
	for m in "${members[@]}"; do
		[ -s "$root/$m" ] || return 1
	done
}

print() {
	if [ "${1:-}" = --root ]; then echo "$root"; else echo "$root/tools/testing/selftests"; fi
}

if complete; then
	print "$@"
	exit 0
fi

if [ ! -r "$tarball" ]; then
	echo "harness.sh: $tarball missing (apt-get install linux-source-6.1, or run scripts/deps.sh)" >&2
	exit 1
fi

mkdir -p "$cache/src"
exec 9>"$cache/.harness.lock"
flock 9
if complete; then	# someone else extracted it while we waited
	print "$@"
	exit 0
fi

echo "harness.sh: extracting ${#members[@]} files from $tarball" >&2
tmp=$(mktemp -d "$cache/src/.extract.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
paths=()
for m in "${members[@]}"; do paths+=("$top/$m"); done
# tar stops reading once it has every member (--occurrence), so xz then dies
# of SIGPIPE (141): accept exactly that, and judge success by tar's status and
# by the files being there.
set +o pipefail
xz -T0 -dc "$tarball" | tar -x -C "$tmp" --occurrence=1 -f - "${paths[@]}"
st=("${PIPESTATUS[@]}")
set -o pipefail
if [ "${st[1]}" != 0 ] || { [ "${st[0]}" != 0 ] && [ "${st[0]}" != 141 ]; }; then
	echo "harness.sh: extraction failed (xz ${st[0]}, tar ${st[1]})" >&2
	exit 1
fi
for m in "${members[@]}"; do
	mkdir -p "$(dirname "$root/$m")"
	mv -f "$tmp/$top/$m" "$root/$m"
done
complete || { echo "harness.sh: incomplete extraction" >&2; exit 1; }
print "$@"
