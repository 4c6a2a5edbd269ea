#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install, as root, the Debian 12 packages virtbe's build and tests need.
# Idempotent: a machine that has everything returns at once (no apt-get
# update, no network).  Usage: scripts/deps.sh [--arm64] [--check]
#   --arm64   also what the xen-arm64 lane needs (scripts/xen-lane.sh
#             --arch arm64 asks for it; the default lanes do not)
#   --check   only report what is missing (exit 1 if anything is)
set -euo pipefail

pkgs=(
	gcc gcc-12 make
	linux-headers-amd64		# 6.1 lane headers (Debian sets CC = gcc-12)
	linux-source-6.1		# kselftest harness, checkpatch, kernel-doc
	qemu-system-x86 busybox-static
	qemu-system-common		# qemu-storage-daemon, virtiofsd: the daemons
					# the vhost-user bridge's tests serve with
	e2fsprogs			# mkfs.ext4, e2fsck for the Xen lanes' domU
	libfdt-dev device-tree-compiler
	sparse dwarves			# dwarves: pahole, needed by the 6.12 headers
	cpio xz-utils pkg-config kmod
	flex bison bc libelf-dev libssl-dev	# the debug lane's kernel build
	python3-sphinx			# make htmldocs
	clang-14 libfuzzer-14-dev	# fuzz/: the libFuzzer harnesses
	dkms				# scripts/dkms-test.sh (without recommends:
					# no compiler or headers metapackage)
	build-essential dpkg-dev debhelper dh-dkms lintian	# scripts/deb-test.sh
)
# the xen-arm64 lane: the cross compiler (modules: gcc-12 as Debian's arm64
# headers say; the static vbe-blk: libc.a), dpkg-source and python3 for Xen
# rebuilt from its source package (flex, bison above)
arm64_pkgs=(qemu-system-arm gcc-aarch64-linux-gnu gcc-12-aarch64-linux-gnu
	libc6-dev-arm64-cross dpkg-dev python3)
check=0
for a in "$@"; do
	case $a in
	--arm64) pkgs+=("${arm64_pkgs[@]}") ;;
	--check) check=1 ;;
	*) echo "deps.sh: unknown argument $a" >&2; exit 2 ;;
	esac
done
# util-linux (flock) and coreutils (timeout) are Essential: always present.

missing=()
for p in "${pkgs[@]}"; do
	# dpkg -s exits 0 for half-removed packages too: check the status line.
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ $check = 1 ]; then
	echo "deps.sh: missing: ${missing[*]}" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages (${missing[*]}); run as root to install them" >&2
	exit 1
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
