#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR MIT)
# The shared library exports exactly the functions the public header
# declares, each at the version node libvirtbe.map puts it in (one node per
# release: LIBVIRTBE_2.0, ...), under the soname the Makefile names.
# Usage: check-exports.sh LIBRARY HEADER SONAME
set -e
so=$1
hdr=$2
want_soname=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$so" | awk '$2 == "T" { print $3 }' | sort > "$tmp/raw"
sed 's/@.*//' "$tmp/raw" | sort -u > "$tmp/exported"
grep -oE '(^|[ *])vbe_[a-z0-9_]+\(' "$hdr" | grep -oE 'vbe_[a-z0-9_]+' |
	sort -u > "$tmp/declared"
if ! diff -u "$tmp/declared" "$tmp/exported" > "$tmp/diff"; then
	echo "not ok - exports differ from $hdr:"
	cat "$tmp/diff"
	exit 1
fi
map=$(dirname "$0")/../libvirtbe.map
# a function in more than one node (a .symver in the sources) has its
# default version, @@, at its last node and @ at each earlier one
awk '/^LIBVIRTBE_[0-9.]+ *\{/ { node = $1 }
     /^\t\tvbe_[a-z0-9_]+;/ { s = $1; sub(/;/, "", s)
	if (s in last) print s "@" last[s]; last[s] = node }
     END { for (s in last) print s "@@" last[s] }' \
	"$map" | sort > "$tmp/mapped"
if ! diff -u "$tmp/mapped" "$tmp/raw" > "$tmp/diff"; then
	echo "not ok - symbol versions differ from libvirtbe.map:"
	cat "$tmp/diff"
	exit 1
fi
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "$want_soname" ] || { echo "not ok - soname $soname"; exit 1; }
echo "# exports: $(wc -l < "$tmp/exported") functions at $(sed -n 's/.*@@//p' "$tmp/raw" | sort -u | tr '\n' ' ')soname $soname"
