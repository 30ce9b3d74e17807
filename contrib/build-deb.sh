#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# Build the Debian package from this tree, as the calling user (not
# root), and check it with lintian at the pedantic level.
#
#	contrib/build-deb.sh [OUTDIR]	default OUTDIR: _build/deb
#
# The tree (git's tracked and untracked-but-not-ignored files, or every
# file of an unpacked release tarball) is copied to OUTDIR/src/, which
# becomes the upstream tarball snowowl-tftpd_VERSION.orig.tar.xz;
# contrib/debian/ is copied in as debian/; then "dpkg-buildpackage -S"
# (the source package) and "dpkg-buildpackage -b" (the .deb, running
# make check unless DEB_BUILD_OPTIONS has nocheck).  Lintian runs on both
# and any tag not overridden in contrib/debian fails the build, as does
# any "warning:" in the build's log.  The source tree is never written to.
#
# Leaves in OUTDIR: the .deb, the .dsc and its tarballs, the .changes
# and .buildinfo files, lintian.txt, and prints the .deb's path last.
# The build dependencies must be installed: contrib/setup-debian.sh, or
# "apt-get build-dep ./" in a tree with debian/.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/_build/deb}
pkg=snowowl-tftpd

die() {
	echo "$0: $*" >&2
	exit 1
}

[ "$(id -u)" -ne 0 ] ||
    die "run as an unprivileged user: a distribution builds without root"
for tool in dpkg-buildpackage dh lintian; do
	command -v "$tool" >/dev/null ||
	    die "$tool not found: apt-get install dpkg-dev debhelper lintian"
done

# The Debian version's upstream part must be configure's version.
debver=$(dpkg-parsechangelog -l "$top/contrib/debian/changelog" -S Version)
upver=${debver%-*}
acver=$(sed -n 's/^AC_INIT(\[[^]]*\], \[\([^]]*\)\].*/\1/p' \
    "$top/configure.ac")
[ "$upver" = "$acver" ] ||
    die "contrib/debian/changelog says $upver, configure.ac says $acver"

mkdir -p "$out"
out=$(cd "$out" && pwd)
# Work from OUTDIR: the caller's directory may not be ours (lintian
# returns to it and fails when it cannot).
cd "$out"
case "$out/" in
"$top"/contrib/* | "$top"/src/*) die "OUTDIR inside the sources: $out" ;;
esac
rm -rf "$out/src" "$out"/*.deb "$out"/*.dsc "$out"/*.changes \
    "$out"/*.buildinfo "$out"/*.tar.* "$out/lintian.txt"
src=$out/src/$pkg-$upver
mkdir -p "$src"

# Copy the tree: what git knows (tracked and new files, not ignored
# ones), else (a release tarball) everything but build output.  The
# tree may belong to another user (CI builds as an unprivileged one),
# which git refuses unless told the directory is safe.
if [ -e "$top/.git" ]; then
	(cd "$top" && git -c safe.directory="$top" ls-files -z --cached \
	    --others --exclude-standard |
	    while IFS= read -r -d '' f; do
		    # Deleted but not yet committed: not part of the tree.
		    if [ -e "$f" ]; then printf '%s\0' "$f"; fi
	    done | tar --null -T - -cf -) | tar -xf - -C "$src"
else
	(cd "$top" && tar --exclude=./_build --exclude='./build*' -cf - .) |
	    tar -xf - -C "$src"
fi
tar -C "$out/src" -cJf "$out/src/${pkg}_$upver.orig.tar.xz" "$pkg-$upver"
cp -R "$src/contrib/debian" "$src/debian"

export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=2}
log=$out/build.log
: >"$log"
run() {
	echo "-- $*"
	if ! "$@" >>"$log" 2>&1; then
		tail -n 80 "$log"
		die "failed: $* (whole log: $log)"
	fi
}
(cd "$src" && run dpkg-buildpackage -us -uc -S -d)
(cd "$src" && run dpkg-buildpackage -us -uc -b)

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$out/src/${pkg}_${debver}_$arch.deb
[ -f "$deb" ] || die "no $deb after the build"

# A buildd's log should hold no warning: from the compiler under dpkg's
# build flags (e.g. a redefined _FORTIFY_SOURCE), nor from dpkg's tools.
status=0
if grep -E ': warning: ' "$log" | sort | uniq -c | sort -rn |
    sed 's/^/   /' | grep .; then
	echo "-- warnings in the build (above; whole log: $log)"
	status=1
fi

# Every tag, pedantic and informational ones included, fails; overrides
# in contrib/debian/*lintian-overrides carry their reasons.  One
# exception: the override of spelling errors that are machine code may
# go unused (see there), since code changes move those bytes.
echo "-- lintian --pedantic --display-info (source and binary):"
lintian --pedantic --display-info --fail-on none \
    "$out/src/${pkg}_${debver}_source.changes" \
    "$out/src/${pkg}_${debver}_$arch.changes" >"$out/lintian.txt" 2>&1 ||
    { echo "lintian itself failed"; status=1; }
if [ -s "$out/lintian.txt" ]; then
	cat "$out/lintian.txt"
else
	echo "(no tags)"
fi
if grep -E '^[EWIP]: ' "$out/lintian.txt" |
    grep -vqE "^I: $pkg: unused-override spelling-error-in-binary wtH with"; then
	status=1
fi

mv "$out/src"/*.deb "$out/src"/*.dsc "$out/src"/*.changes \
    "$out/src"/*.buildinfo "$out/src"/*.tar.* "$out/"
[ "$status" -eq 0 ] || die "warnings or lintian tags (above)"
echo "$out/$(basename "$deb")"
