#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# libvirtbe's manual pages (section 3), for `make man`: from the kernel-doc
# comments of lib/include/virtbe/virtbe.h, with the kernel's own
# `kernel-doc -man` (extracted from linux-source-6.1 by scripts/harness.sh).
# Writes into OUTDIR:
#   libvirtbe.3      the overview: the header's DOC: sections, how to build
#                    against the library, every function and structure
#   vbe_<name>.3     one page per function, and one per structure
#                    (vbe_dev_ops.3 is struct vbe_dev_ops)
# The pages say libvirtbe's version (lib/Makefile) and the date of
# SOURCE_DATE_EPOCH when it is set (a package build), today's otherwise.
# A kernel-doc warning fails it, and so does groff's about a page.
# Usage: scripts/libvirtbe-man.sh OUTDIR
set -euo pipefail

die() { echo "libvirtbe-man.sh: $*" >&2; exit 1; }
say() { echo "  MAN3    $*"; }

[ $# -eq 1 ] || die "usage: libvirtbe-man.sh OUTDIR"
out=$(realpath -m "$1")
cd "$(dirname "$0")/.."
hdr=lib/include/virtbe/virtbe.h
ksrc=$(scripts/harness.sh --root) || die "no kernel-doc (scripts/harness.sh failed)"
kdoc=$ksrc/scripts/kernel-doc
[ -f "$kdoc" ] || die "$kdoc missing"
ver=$(sed -n 's/^VERSION := *//p' lib/Makefile)
[ -n "$ver" ] || die "no VERSION in lib/Makefile"
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
	export KBUILD_BUILD_TIMESTAMP=@$SOURCE_DATE_EPOCH
	date=$(LC_ALL=C date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)
else
	date=$(date -u +%Y-%m-%d)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/virtbe-man3.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# kernel-doc -man drops ``literal`` markup only where a word follows it, and
# the blank lines of DOC: sections: mark both in a copy of the header
# (\x01 \x02 around a literal, a \x03 line between paragraphs), to become
# bold and .PP below.
sed -e 's/``\([^`]*\)``/\x01\1\x02/g' "$hdr" |
	awk '/^ \* DOC:/ { doc = 1 } doc && /\*\// { doc = 0 }
		doc && /^ \*$/ { print " * \x03"; next } { print }' >"$tmp/virtbe.h"
if ! perl "$kdoc" -Werror -man "$tmp/virtbe.h" >"$tmp/all.raw" 2>"$tmp/err" || [ -s "$tmp/err" ]; then
	sed 's/^/libvirtbe-man.sh: kernel-doc: /' "$tmp/err" >&2
	die "kernel-doc -man $hdr failed or warned"
fi
sed -e 's/\x01/\\fB/g' -e 's/\x02/\\fP/g' -e 's/^\x03$/.PP/' "$tmp/all.raw" >"$tmp/all.man"

mkdir -p "$out"
rm -f "$out"/*.3

# Split kernel-doc's stream at its .TH lines: functions ("Kernel Hacker's
# Manual") and structures become pages of their own with a standard .TH and
# a SEE ALSO; the DOC: sections go to the overview.  The kernel's .TH says
# section 9 and its date: ours are libvirtbe's.
awk -v out="$out" -v tmp="$tmp" -v ver="$ver" -v date="$date" '
function th(name) {
	return sprintf(".TH \"%s\" 3 \"%s\" \"libvirtbe %s\" \"libvirtbe Manual\"", name, date, ver)
}
function close_page() {
	if (page != "") {
		print ".SH \"SEE ALSO\"\n.BR libvirtbe (3)" > page
		close(page)
	}
	page = ""
}
/^\.TH / {
	close_page()
	n = split($0, f, "\"")	# f[2] title, f[4] 3rd field, f[8] manual
	if (f[8] == "Kernel Hacker'"'"'s Manual") {
		name = f[2]; kind = "function"
	} else if (f[4] ~ /^struct /) {
		name = substr(f[4], 8); kind = "struct"
	} else {
		kind = "doc"
	}
	if (kind == "doc") {
		page = ""; target = tmp "/doc.man"
	} else {
		page = out "/" name ".3"; target = page
		print th(name) > page
		print name "\t" kind >> (tmp "/index")
	}
	next
}
# A function'"'"'s SYNOPSIS: the header to include, then the prototype as C
# (kernel-doc'"'"'s puts a blank before every comma).
/^\.SH SYNOPSIS$/ && kind == "function" {
	print > target
	syn = 1; np = 0; proto = ""
	next
}
syn && /^\.B "/ {	# .B "int" vbe_guest_attach
	split($0, f, "\""); proto = f[2] " " substr(f[3], 2) "("
	next
}
syn && /^\.BI "/ {	# .BI "(struct vbe_ctl *ctl "  ","
	split($0, f, "\""); p = f[2]; sub(/^\(/, "", p); sub(/ +$/, "", p)
	param[++np] = p
	next
}
syn && /^\.SH / {
	syn = 0
	print ".nf\n.B #include <virtbe/virtbe.h>\n.PP" > target
	if (np == 0) param[++np] = "void"
	line = proto; ind = sprintf("%*s", length(proto), "")
	for (i = 1; i <= np; i++) {
		sep = i < np ? "," : ");"
		if (i > 1 && length(line " " param[i] sep) > 72) {
			print ".B \"" line "\"" > target; line = ind param[i] sep
		} else {
			line = line (i > 1 ? " " : "") param[i] sep
		}
	}
	print ".B \"" line "\"\n.fi" > target
}
# A structure'"'"'s SYNOPSIS: its declaration, unfilled (kernel-doc'"'"'s is
# filled, .br between the members)
/^\.SH SYNOPSIS$/ && kind == "struct" {
	print > target
	print ".nf\n.B #include <virtbe/virtbe.h>\n.PP" > target
	ssyn = 1
	next
}
ssyn && /^\.SH / {
	ssyn = 0
	print ".fi" > target
	if ($0 == ".SH Members") $0 = ".SH MEMBERS"
}
ssyn {
	if ($0 == ".br" || $0 == "" || $0 == ".BI \"") next
	if (sub(/^\.BI "/, "")) sub(/"$/, "")
	print > target
	next
}
# NAME: a structure'"'"'s page is named for its tag (whatis wants the name)
/^\.SH NAME$/ && kind == "struct" { print > target; getline
	sub(/^struct /, ""); print > target
	next
}
{ print > target }
END { close_page() }
' "$tmp/all.man"

[ -s "$tmp/index" ] || die "kernel-doc gave no function of $hdr"

# the overview: libvirtbe(3)
{
	echo '.\" Generated by scripts/libvirtbe-man.sh from lib/include/virtbe/virtbe.h'
	printf '.TH "libvirtbe" 3 "%s" "libvirtbe %s" "libvirtbe Manual"\n' "$date" "$ver"
	echo '.SH NAME'
	echo 'libvirtbe \- the userspace library of virtbe: virtio backends on any hypervisor'
	echo '.SH SYNOPSIS'
	echo '.nf'
	echo '.B #include <virtbe/virtbe.h>'
	echo '.sp'
	echo 'cc ... $(pkg-config \-\-cflags \-\-libs libvirtbe)'
	echo '.fi'
	echo '.SH DESCRIPTION'
	echo 'libvirtbe wraps the ioctls of the virtbe kernel module'
	echo '(\fI<linux/virtbe.h>\fP, the device \fI/dev/virtbe\fP)'
	echo 'and adds what a virtio device daemon needs on top: guest memory'
	echo 'translation, split virtqueues, a virtio-mmio register model and a'
	echo 'Device Tree configuration loader.'
	echo 'Its shared object is \fIlibvirtbe.so.2\fP, with versioned symbols.'
	# the DOC: sections, without their own .TH
	sed -e '/^\.TH /d' -e 's/^\.SH "\(.*\)"$/.SS "\1"/' "$tmp/doc.man"
	for kind in function struct; do
		if [ $kind = function ]; then echo '.SH FUNCTIONS'; else echo '.SH STRUCTURES'; fi
		while IFS=$'\t' read -r name k; do
			[ "$k" = $kind ] || continue
			echo '.TP'
			echo ".BR $name (3)"
			# its NAME line's purpose
			sed -n '/^\.SH NAME$/{n;s/^[^\\]*\\- //p;q}' "$out/$name.3"
		done <"$tmp/index"
	done
	echo '.SH "SEE ALSO"'
	echo '.BR vbe-blk (8),'
	echo '.BR virtbe-vhost-user (8);'
	echo 'the virtbe documentation (Documentation/libvirtbe.rst, Documentation/abi.rst).'
} >"$out/libvirtbe.3"

# groff's warnings are lintian's (groff-message): none allowed
bad=0
command -v man >/dev/null || say "no man (man-db): groff's check of the pages skipped"
for f in "$out"/*.3; do
	command -v man >/dev/null || break
	w=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$f" 2>&1 >/dev/null) || true
	if [ -n "$w" ]; then
		echo "libvirtbe-man.sh: ${f##*/}: $w" >&2
		bad=1
	fi
done
[ $bad = 0 ] || die "groff warned about the pages above"
say "$(ls "$out"/*.3 | wc -l) pages of libvirtbe $ver in $out"
