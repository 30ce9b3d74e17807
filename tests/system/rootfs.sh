# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
#
# The Debian 12 rootfs of the system tests (sourced by nspawn.sh and
# package.sh, so that one cached rootfs serves both): made by debootstrap
# --variant=minbase from $DEBIAN_MIRROR and cached as a tar under
# $CACHE_DIR, keyed by suite, mirror and package list.  The caller
# defines skip().

SUITE=bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE_DIR=${CACHE_DIR:-/var/cache/snowowl-tftpd-ci}
# systemd and dbus to boot; tftp-hpa for a client inside; the daemon's
# run-time libraries, so dpkg -i needs no network in the container.
PKGS=systemd,systemd-sysv,dbus,iproute2,procps,tftp-hpa,libinih1,libcap-ng0,libseccomp2

key=$(printf '%s\n' "$SUITE" "$DEBIAN_MIRROR" "$PKGS" | sha256sum | cut -c1-12)
tarball=$CACHE_DIR/rootfs-$SUITE-$key.tar

# rootfs_cache WORKDIR: $tarball exists afterwards, or the test skips.
rootfs_cache() {
	local boot=$1/boot

	mkdir -p "$CACHE_DIR"
	if [ -f "$tarball" ]; then
		echo "rootfs: cached $tarball"
		return 0
	fi
	echo "rootfs: debootstrap $SUITE from $DEBIAN_MIRROR (not cached yet)"
	if ! debootstrap --variant=minbase --include="$PKGS" "$SUITE" \
	    "$boot" "$DEBIAN_MIRROR" >"$1/debootstrap.log" 2>&1; then
		tail -n 5 "$1/debootstrap.log"
		skip "debootstrap failed (no network to $DEBIAN_MIRROR?)"
	fi
	# No getty on the console: nothing reads it.
	rm -f "$boot/etc/systemd/system/getty.target.wants/"*
	tar -C "$boot" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
	rm -rf "$boot"
}
