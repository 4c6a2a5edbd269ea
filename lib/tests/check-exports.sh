#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR MIT)
# The shared library exports exactly the functions the public header
# declares, all at version LIBVIRTBE_1.0.
set -e
so=$1
hdr=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$so" | awk '$2 == "T" { print $3 }' | sort > "$tmp/raw"
sed 's/@.*//' "$tmp/raw" > "$tmp/exported"
grep -oE '(^|[ *])vbe_[a-z0-9_]+\(' "$hdr" | grep -oE 'vbe_[a-z0-9_]+' |
	sort -u > "$tmp/declared"
if ! diff -u "$tmp/declared" "$tmp/exported" > "$tmp/diff"; then
	echo "not ok - exports differ from $hdr:"
	cat "$tmp/diff"
	exit 1
fi
if grep -qv '@@LIBVIRTBE_1.0$' "$tmp/raw"; then
	echo "not ok - symbols outside LIBVIRTBE_1.0:"
	grep -v '@@LIBVIRTBE_1.0$' "$tmp/raw"
	exit 1
fi
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libvirtbe.so.1 ] || { echo "not ok - soname $soname"; exit 1; }
echo "# exports: $(wc -l < "$tmp/exported") functions at LIBVIRTBE_1.0, soname $soname"
