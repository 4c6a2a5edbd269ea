# SPDX-License-Identifier: GPL-2.0
# Sourced (bash): apt-get and apt-cache for another architecture's packages
# and for source packages, without touching the host's apt configuration
# (no dpkg --add-architecture, no deb-src line added to /etc/apt): a private
# apt state under $VIRTBE_CACHE/apt-<arch>/ whose sources are the host's own
# (same mirrors, suites, keys), each also as deb-src.  Only downloads:
# nothing is ever installed from it.
#
#   fapt_get ARCH ARGS...     apt-get (download, source --download-only)
#   fapt_cache ARCH ARGS...   apt-cache (show, showsrc)
#   fapt_version ARCH PKG     candidate version of PKG for ARCH, or nothing
# The private lists are fetched the first time, and again whenever the
# host's own lists are newer (the host ran apt-get update since).

_fapt_opts() {	# _fapt_opts ARCH: prints nothing, sets _fapt (array)
	local d=${VIRTBE_CACHE:-/var/cache/virtbe}/apt-$1
	_fapt=(-o Dir::State="$d/state" -o Dir::State::Lists="$d/lists"
		-o Dir::State::status="$d/status" -o Dir::Cache="$d/cache"
		-o Dir::Etc::SourceList="$d/sources.list"
		-o Dir::Etc::SourceParts="$d/sources.list.d"
		-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
		-o APT::Architecture="$1" -o APT::Architectures::="$1"
		-o APT::Sandbox::User=root)
	_fapt_dir=$d
}

_fapt_update() {	# _fapt_update ARCH: (re)fetch the private lists if stale
	local d f stamp
	_fapt_opts "$1"
	d=$_fapt_dir stamp=$_fapt_dir/.updated
	if [ -f "$stamp" ] &&
		[ -z "$(find /var/lib/apt/lists -maxdepth 1 -newer "$stamp" -name '*Packages*' 2>/dev/null)" ]; then
		return 0
	fi
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/state" "$d/sources.list.d"
	: >"$d/status"
	# the host's sources, as deb and deb-src
	if [ -f /etc/apt/sources.list ]; then
		sed -n 's/^[[:space:]]*deb[[:space:]]/&/p' /etc/apt/sources.list |
			sed 'p; s/^\([[:space:]]*\)deb/\1deb-src/'
	fi >"$d/sources.list"
	rm -f "$d"/sources.list.d/*
	for f in /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -n 's/^[[:space:]]*deb[[:space:]]/&/p' "$f" |
			sed 'p; s/^\([[:space:]]*\)deb/\1deb-src/' >"$d/sources.list.d/${f##*/}"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		sed 's/^Types:[[:space:]]*deb[[:space:]]*$/Types: deb deb-src/' "$f" \
			>"$d/sources.list.d/${f##*/}"
	done
	echo "apt-foreign: fetching the $1 and source package lists into $d" >&2
	apt-get "${_fapt[@]}" update -qq >&2 || return 1
	touch "$stamp"
}

fapt_get() {
	local arch=$1; shift
	_fapt_update "$arch" || return 1
	apt-get "${_fapt[@]}" "$@"
}

fapt_cache() {
	local arch=$1; shift
	_fapt_update "$arch" || return 1
	apt-cache "${_fapt[@]}" "$@"
}

fapt_version() {
	fapt_cache "$1" show --no-all-versions "$2" 2>/dev/null |
		sed -n 's/^Version: //p' | head -n1
}
