#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Debian packages, one of `make check`'s host tests (TAP).  In a copy of the
# tree made from `git ls-files` (the checkout is never written to):
#   1. dpkg-buildpackage -us -uc -b builds virtbe-dkms, libvirtbe2,
#      libvirtbe-dev and virtbe-tools (DEB_BUILD_OPTIONS=nocheck: the
#      library's tests are make check's own host test);
#   2. lintian reports no error and no warning on the .changes (overrides,
#      each with its reason, live in debian/*.lintian-overrides);
#   3. debian/copyright gives every file the licence of its SPDX line;
#   4. the packages, dpkg -x'ed into a throw-away root, hold every path
#      Documentation/install.rst lists under "Debian packages", each in the
#      package it names;
#   5. what they installed works on the host: a program built with the
#      installed header, .pc and libvirtbe.so links and runs, and the tools
#      start with the installed libvirtbe.so.2;
#   6. (when LANES has 6.1, as `make check`'s default) in the 6.1 lane's VM
#      (scripts/vm-run.sh): the modules DKMS builds from virtbe-dkms's
#      /usr/src, and the packages' vbe-blk, virtbe-vhost-user and
#      libvirtbe.so.2 at their installed paths, serve the simulator's guests
#      of e2e_blk_test and vhost_user_test.
# SKIPs what it cannot do when debhelper, dh-dkms or lintian is missing
# (scripts/deps.sh installs them).
# Usage: scripts/deb-test.sh [--untracked] [--no-vm] [--keep DIR]
#   --untracked  also copy files git does not track yet (not ignored ones):
#                to try uncommitted packaging
#   --no-vm      skip 6 (as LANES without 6.1 does)
#   --keep DIR   leave the packages, the lintian report and the root in DIR
set -euo pipefail

cd "$(dirname "$0")/.."
top=$PWD
cache=${VIRTBE_CACHE:-/var/cache/virtbe}
die() { echo "deb-test.sh: $*" >&2; exit 2; }
say() { echo "# $*"; }

untracked=0 vm=1 keep=
while [ $# -gt 0 ]; do
	case $1 in
	--untracked) untracked=1; shift ;;
	--no-vm) vm=0; shift ;;
	--keep) keep=$2; shift 2 ;;
	*) die "unknown argument $1 (usage: deb-test.sh [--untracked] [--no-vm] [--keep DIR])" ;;
	esac
done
case " ${LANES-6.1} " in *" 6.1 "*) ;; *) vm=0 ;; esac

echo "TAP version 13"
for c in dpkg-buildpackage dh dh_dkms lintian; do
	if ! command -v $c >/dev/null; then
		echo "1..0 # SKIP $c is not installed (scripts/deps.sh installs dpkg-dev, debhelper, dh-dkms, lintian)"
		exit 0
	fi
done
echo "1..6"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/virtbe-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
ok() { echo "ok $*"; }
not_ok() {	# not_ok "N - what" [LOG]: the log's last lines as diagnostics
	echo "not ok $1"
	[ -z "${2:-}" ] || tail -n "${3:-25}" "$2" | sed 's/^/#   /'
	fail=1
}

# ---- 1. build, in a copy of the tree
src=$tmp/virtbe
mkdir -p "$src"
ls_files=(git ls-files -z)
[ $untracked = 0 ] || ls_files+=(--cached --others --exclude-standard)
"${ls_files[@]}" | (cd "$top" && while IFS= read -r -d '' f; do
	[ -e "$f" ] && printf '%s\0' "$f"; done) | cpio -0 -pdm --quiet "$src"
ver=$(cd "$src" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
pkgs=(virtbe-dkms libvirtbe2 libvirtbe-dev virtbe-tools)
t0=$(date +%s)
# an existing cache holds kernel-doc already (scripts/harness.sh)
if (cd "$src" && VIRTBE_CACHE=$cache DEB_BUILD_OPTIONS=nocheck \
	dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
	built=1
	for p in "${pkgs[@]}"; do
		ls "$tmp/${p}_${ver}_"*.deb >/dev/null 2>&1 || built=0
	done
else
	built=0
fi
if [ $built = 1 ]; then
	ok "1 - dpkg-buildpackage -b: ${pkgs[*]} $ver ($(( $(date +%s) - t0 ))s)"
else
	not_ok "1 - dpkg-buildpackage -us -uc -b" "$tmp/build.log" 40
fi
changes=$tmp/virtbe_${ver}_$arch.changes

# ---- 2. lintian
if [ $built = 0 ]; then
	echo "not ok 2 - lintian # not built"
elif lintian --fail-on error,warning --display-info "$changes" >"$tmp/lintian.log" 2>&1; then
	n=$(grep -c '^[IP]: ' "$tmp/lintian.log" || true)
	ok "2 - lintian: no error or warning on the .changes ($n informational tags)"
	grep '^[IP]: ' "$tmp/lintian.log" | sed 's/^/#   /' || true
else
	not_ok "2 - lintian --fail-on error,warning" "$tmp/lintian.log" 40
fi

# ---- 3. debian/copyright against the SPDX lines
# DEP-5: the last Files: stanza matching a file wins; "*" matches "/" too
declare -a globs=() lics=()
while IFS=$'\t' read -r g l; do globs+=("$g"); lics+=("$l"); done < <(awk '
	/^$/ { n = 0; files = 0; next }
	/^Files:/ { n = 0; files = 1; sub(/^Files: */, "") }
	files && /^ / { sub(/^ +/, "") }
	files && !/^[A-Za-z-]+:/ { for (i = 1; i <= NF; i++) f[++n] = $i; next }
	/^[A-Za-z-]+:/ { files = 0 }
	/^License:/ && n > 0 { sub(/^License: */, ""); for (i = 1; i <= n; i++) print f[i] "\t" $0 }
	' "$top/debian/copyright")
bad=() nf=0
while IFS= read -r -d '' f; do
	[ -f "$f" ] || continue
	expr=$(head -n 2 "$f" | grep -m1 -o 'SPDX-License-Identifier: .*' |
		sed -e 's/^SPDX-License-Identifier: *//' -e 's/ *\*\/.*$//' -e 's/ *-->.*$//' || true)
	[ -n "$expr" ] || continue
	# SPDX to DEP-5 names: GPL-2.0(-only) is GPL-2, MIT is Expat, "OR" is
	# "or", "WITH x" is "with x exception"; others keep their SPDX name
	want=$(sed -E -e 's/^\((.*)\)$/\1/' -e 's/\bGPL-2\.0(-only)?\b/GPL-2/g' \
		-e 's/\bMIT\b/Expat/g' -e 's/ OR / or /g' -e 's/ WITH ([^ ]+)/ with \1 exception/g' <<<"$expr")
	got=
	for i in "${!globs[@]}"; do
		# shellcheck disable=SC2053	# a DEP-5 glob
		[[ $f == ${globs[$i]} ]] && got=${lics[$i]}
	done
	nf=$((nf + 1))
	[ "$got" = "$want" ] || bad+=("$f: SPDX \"$expr\", debian/copyright \"${got:-nothing}\"")
done < <(cd "$top" && "${ls_files[@]}")
if [ ${#bad[@]} -eq 0 ] && [ $nf -gt 0 ]; then
	ok "3 - debian/copyright agrees with the SPDX lines of $nf files"
else
	echo "not ok 3 - debian/copyright disagrees with ${#bad[@]} SPDX lines"
	printf '#   %s\n' "${bad[@]}" | head -n 20
	fail=1
fi

# ---- 4. installed where Documentation/install.rst says
root=$tmp/root
mkdir -p "$root"
if [ $built = 1 ]; then
	for p in "${pkgs[@]}"; do dpkg -x "$tmp/${p}_${ver}_"*.deb "$root"; done
	kver=$(sed -n 's/^VIRTBE_VERSION := *//p' "$top/Kbuild")
	# between the ".. BEGIN deb-layout" and ".. END deb-layout" comments:
	# "``package``" at the start of a line, then "  - ``/path``" lines
	mapfile -t want < <(sed -n '/^\.\. BEGIN deb-layout/,/^\.\. END deb-layout/p' \
		"$top/Documentation/install.rst" | awk '
		/^``[a-z0-9.+-]+``/ { split($0, a, "``"); pkg = a[2]; next }
		/^[^ ]/ { pkg = "" }
		pkg != "" && /^  - ``\// { split($0, a, "``"); print pkg " " a[2] }' |
		sed -e "s|<version>|$kver|g" -e "s|<triplet>|$ma|g" | sort -u)
	missing=()
	for w in "${want[@]}"; do
		p=${w%% *} path=${w#* }
		deb=$(ls "$tmp/${p}_${ver}_"*.deb 2>/dev/null | head -n1 || true)
		if [ -z "$deb" ]; then missing+=("$path: no package $p"); continue; fi
		[ -e "$root$path" ] || [ -L "$root$path" ] || { missing+=("$path: not installed"); continue; }
		dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\.||; s|/$||' >"$tmp/contents"
		grep -qxF "${path%/}" "$tmp/contents" || missing+=("$path: not in $p")
	done
	if [ ${#want[@]} -ge 10 ] && [ ${#missing[@]} -eq 0 ]; then
		ok "4 - the ${#want[@]} paths of install.rst's \"Debian packages\" are installed, each by its package"
	else
		echo "not ok 4 - install.rst lists ${#want[@]} paths; wrong:"
		printf '#   %s\n' "${missing[@]}"
		fail=1
	fi
else
	echo "not ok 4 - installed paths # not built"
fi

# ---- 5. the installed files work on the host (no grep -q after a pipe:
# under pipefail, ldd killed by SIGPIPE when grep exits early fails it)
libdir=$root/usr/lib/$ma
if [ $built = 1 ]; then
	cat >"$tmp/use.c" <<-'EOF'
	#include <errno.h>
	#include <stdio.h>
	#include <virtbe/virtbe.h>

	int main(void)
	{
		char msg[256];
		struct vbe_dt *dt;
		int rc = vbe_dt_load_msg("x", 1, &dt, msg, sizeof(msg));

		printf("%s %d %s\n", vbe_hyp_name(VIRTBE_HYP_XEN), rc, msg);
		return !(vbe_hyp_from_name("sim") == VIRTBE_HYP_SIM && rc < 0 && msg[0]);
	}
	EOF
	# the .pc's paths are /usr's: PKG_CONFIG_SYSROOT_DIR puts them in the root
	flags=$(PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_LIBDIR=$libdir/pkgconfig \
		pkg-config --cflags --libs libvirtbe 2>"$tmp/use.log") || true
	out=
	if [ -n "$flags" ] &&
		gcc -o "$tmp/use" "$tmp/use.c" -I"$root/usr/include" $flags >>"$tmp/use.log" 2>&1 &&
		out=$(LD_LIBRARY_PATH=$libdir "$tmp/use" 2>>"$tmp/use.log") &&
		LD_LIBRARY_PATH=$libdir ldd "$tmp/use" | grep "libvirtbe.so.2 => $libdir/" >/dev/null &&
		LD_LIBRARY_PATH=$libdir "$root/usr/bin/vbe-blk" --help >>"$tmp/use.log" 2>&1 &&
		LD_LIBRARY_PATH=$libdir "$root/usr/bin/virtbe-vhost-user" --help >>"$tmp/use.log" 2>&1 &&
		LD_LIBRARY_PATH=$libdir ldd "$root/usr/bin/vbe-blk" | grep "libvirtbe.so.2 => $libdir/" >/dev/null; then
		ok "5 - built with pkg-config libvirtbe from the root, runs on its libvirtbe.so.2 (\"$out\"); vbe-blk, virtbe-vhost-user --help"
	else
		echo "pkg-config: $flags" >>"$tmp/use.log"
		not_ok "5 - a program against the installed libvirtbe-dev, the installed tools" "$tmp/use.log"
	fi
else
	echo "not ok 5 - the installed files # not built"
fi

# ---- 6. the 6.1 lane's VM, running a device from the installed files
vm_test() {
	local k krel kdir ver6 ko st extras=() lib qsd
	k=$(scripts/kernels.sh 6.1) || { why "scripts/kernels.sh 6.1 failed"; return 1; }
	eval "$k"
	krel=$KREL kdir=$KDIR
	# DKMS, as the package's postinst does, but in a throw-away tree
	ver6=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$root/usr/src/virtbe-"*/dkms.conf)
	mkdir -p "$tmp/dkms"
	mok_signing_key=$tmp/mok.key mok_certificate=$tmp/mok.pub \
		dkms build -m virtbe -v "$ver6" -k "$krel" --kernelsourcedir "$kdir" \
		--dkmstree "$tmp/dkms" --sourcetree "$root/usr/src" || {
		cat "$tmp/dkms/virtbe/$ver6/build/make.log" 2>/dev/null | tail -n 20
		why "dkms build -m virtbe -v $ver6 -k $krel failed"; return 1; }
	ko=$tmp/ko
	mkdir -p "$ko"
	for m in "$tmp/dkms/virtbe/$ver6/$krel"/*/module/*.ko*; do
		case $m in
		*.ko.xz) xz -dc "$m" >"$ko/$(basename "$m" .xz)" ;;
		*.ko.zst) zstd -qdc "$m" >"$ko/$(basename "$m" .zst)" ;;
		*) cp "$m" "$ko/" ;;
		esac
	done
	ls "$ko"/virtbe.ko "$ko"/virtbe_sim.ko >/dev/null ||
		{ why "dkms built no virtbe.ko and virtbe_sim.ko"; return 1; }
	# the guests' side: the tests, built from the copy of the tree
	st=$tmp/selftests
	make --no-print-directory -C "$src/selftests" OUT="$st" VIRTBE_CACHE="$cache" \
		"$st/e2e_blk_test" "$st/vhost_user_test" ||
		{ why "the selftests e2e_blk_test and vhost_user_test did not build"; return 1; }
	# the packages' files at their installed paths (/usr/bin is the VM's
	# /bin, where the tests look), with the libraries they load
	extras+=(--extra "$root/usr/bin/vbe-blk=/usr/bin/vbe-blk"
		--extra "$root/usr/bin/virtbe-vhost-user=/usr/bin/virtbe-vhost-user"
		--extra "$libdir=/usr/lib/$ma")
	for lib in $(LD_LIBRARY_PATH=$libdir ldd "$root/usr/bin/vbe-blk" "$root/usr/bin/virtbe-vhost-user" |
		sed -n 's|.*=> \(/[^ ]*\) .*|\1|p' | sort -u); do
		case $lib in "$root"/*) ;; *) extras+=(--extra "$lib=$lib") ;; esac
	done
	qsd=/usr/bin/qemu-storage-daemon
	[ ! -x $qsd ] || extras+=(--extra "$qsd=/bin/qemu-storage-daemon")
	scripts/vm-run.sh --quiet --log "$tmp/vm-serial.log" --counts "$tmp/vm.counts" \
		"${extras[@]}" 6.1 "$ko" "$st" tests && return 0
	local rc=$?
	[ -s "$tmp/vm.counts" ] || why "scripts/vm-run.sh exited $rc, with no counts"
	return 1
}
why() { [ -s "$tmp/vm.why" ] || echo "$*" >"$tmp/vm.why"; }
if [ $vm = 0 ]; then
	ok "6 - the 6.1 VM with the installed files # SKIP the 6.1 lane is not in LANES (or --no-vm)"
elif [ $built = 0 ]; then
	echo "not ok 6 - the 6.1 VM with the installed files # not built"
	fail=1
else
	t0=$(date +%s)
	if vm_test >"$tmp/vm.log" 2>&1 && read -r p f s <"$tmp/vm.counts" && [ "$f" = 0 ] && [ "$p" -gt 0 ] &&
		grep -q '^ok .*blk\.edge\.write_read_flush' "$tmp/vm-serial.log"; then
		ok "6 - the 6.1 VM: modules from virtbe-dkms (dkms build), vbe-blk, virtbe-vhost-user and libvirtbe.so.2 from the packages serve e2e_blk_test and vhost_user_test: $p passed, $s skipped ($(( $(date +%s) - t0 ))s)"
	else
		# the reason in the result's own line, the logs' ends below it
		p= f=
		[ ! -s "$tmp/vm.counts" ] || read -r p f s <"$tmp/vm.counts" || true
		if [ -s "$tmp/vm.why" ]; then
			r=$(cat "$tmp/vm.why")
		elif ! [ -s "$tmp/vm.counts" ]; then
			r="scripts/vm-run.sh wrote no counts"
		elif [ "${f:-1}" != 0 ] || [ "${p:-0}" = 0 ]; then
			r="${p:-0} passed, ${f:-?} failed: $(grep -a '^not ok' "$tmp/vm-serial.log" 2>/dev/null |
				tr -d '\r#' | head -n 3 | tr '\n' ';' || true)"
		elif ! grep -q '^ok .*blk\.edge\.write_read_flush' "$tmp/vm-serial.log"; then
			r="no \"ok ... blk.edge.write_read_flush\" line in the serial log"
		else
			r="scripts/vm-run.sh failed, with no failed test"
		fi
		cat "$tmp/vm-serial.log" >>"$tmp/vm.log" 2>/dev/null || true
		not_ok "6 - the 6.1 VM with the installed files: $r (logs below)" "$tmp/vm.log" 60
	fi
fi

if [ -n "$keep" ]; then
	mkdir -p "$keep"
	cp -a "$tmp"/*.deb "$tmp"/*.changes "$tmp"/*.log "$keep"/ 2>/dev/null || true
	rm -rf "$keep/root"; cp -a "$root" "$keep/root"
	say "kept in $keep"
fi
exit $fail
