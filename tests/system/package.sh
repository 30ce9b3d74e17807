#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# The Debian package's maintainer scripts, in a Debian 12 chroot: what
# dpkg does at install, upgrade, remove and purge, and the switch from
# tftpd-hpa.  Nothing is booted (tests/system/nspawn.sh runs the units).
#
#	tests/system/package.sh FILE.deb
#
# Checks: the tftp user comes from the sysusers entry; the postinst makes
# /srv/tftp (root, 0755); /etc/snowowl-tftpd.conf is a conffile whose
# local edit survives a reinstall; the service is enabled and the socket
# is not; remove keeps the conffile and the user; purge removes the
# conffile and the enablement, and /srv/tftp only when empty; with
# tftpd-hpa installed, apt replaces it (tftp-server), keeps its
# tftp user and /etc/default/tftpd-hpa, and our service is enabled.
#
# Root only; skips (77) when not root, or when there is no cached rootfs
# and debootstrap cannot make one.  The rootfs is the one nspawn.sh
# caches (same suite, mirror and package list, so the same key); the
# tftpd-hpa part needs the archive and is skipped, with a message, when
# apt cannot reach it.  Run by .ci/run, not by make check.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/rootfs.sh
. "$here/rootfs.sh"

skip() { echo "SKIP: $*"; exit 77; }
[ $# -eq 1 ] || { echo "usage: $0 FILE.deb" >&2; exit 2; }
deb=$(realpath "$1")
[ -f "$deb" ] || { echo "$0: no $1" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || skip "needs root (chroot, dpkg in the chroot)"
for t in debootstrap chroot tar sha256sum; do
	command -v "$t" >/dev/null || skip "$t not installed"
done

fails=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else fail "$d"; fi
}

work=$(mktemp -d /var/tmp/snowowl-package.XXXXXX)
root=$work/rootfs
cleanup() {
	umount "$root/proc" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

rootfs_cache "$work"

# A fresh chroot from the cache; services never start in it.
fresh_root() {
	umount "$root/proc" 2>/dev/null
	rm -rf "$root"
	mkdir "$root" && tar -C "$root" -xf "$tarball" || return 1
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 0755 "$root/usr/sbin/policy-rc.d"
	mount -t proc proc "$root/proc"
	cp "$deb" "$root/root/"
}
ct() { chroot "$root" "$@"; }
pkg_file=/root/$(basename "$deb")
dpkg_quiet() { ct dpkg "$@" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; return 1; }; }

user_home_shell() {
	local want=$1 got
	got=$(ct getent passwd tftp | cut -d: -f6,7)
	echo "     tftp: home:shell $got"
	[ "$got" = "$want" ]
}
srv_mode() {
	local got
	got=$(stat -c '%U:%G %a' "$root/srv/tftp" 2>/dev/null)
	echo "     /srv/tftp: $got"
	[ "$got" = "$1" ]
}
is_conffile() {
	ct dpkg-query -W -f='${Conffiles}\n' snowowl-tftpd |
	    grep -q '^ /etc/snowowl-tftpd.conf '
}
wants=/etc/systemd/system
service_enabled() { [ -L "$root$wants/multi-user.target.wants/snowowl-tftpd.service" ]; }
socket_enabled() { [ -L "$root$wants/sockets.target.wants/snowowl-tftpd.socket" ]; }
installed() { ct dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null | grep -q '^ii'; }

echo "== install, reinstall, remove, purge"
fresh_root || { fail "unpack $tarball"; exit 1; }
check "no tftp user before" eval '! ct getent passwd tftp >/dev/null'
check "dpkg -i $(basename "$deb")" dpkg_quiet -i "$pkg_file"
check "tftp user from sysusers (home /srv/tftp, nologin)" \
    user_home_shell /srv/tftp:/usr/sbin/nologin
check "sysusers entry installed" test -f "$root/usr/lib/sysusers.d/snowowl-tftpd.conf"
check "/srv/tftp made: root:root 0755" srv_mode "root:root 755"
check "/etc/snowowl-tftpd.conf is a conffile" is_conffile
check "snowowl-tftpd.service enabled" service_enabled
check "snowowl-tftpd.socket shipped, not enabled" \
    eval 'test -f "$root/lib/systemd/system/snowowl-tftpd.socket" && ! socket_enabled'
relations() {
	local got
	got=$(ct dpkg-query -W -f='Provides: ${Provides}; Conflicts: ${Conflicts}' snowowl-tftpd)
	echo "     $got"
	[ "$got" = "Provides: tftp-server; Conflicts: atftpd, tftp-server" ]
}
check "Provides and Conflicts tftp-server, Conflicts atftpd" relations
check "tftpctl in /usr/bin, the daemon in /usr/sbin" \
    test -x "$root/usr/bin/tftpctl" -a -x "$root/usr/sbin/snowowl-tftpd"
check "the installed config passes --check-config" \
    eval 'ct /usr/sbin/snowowl-tftpd --check-config >/dev/null'

echo "# edited" >>"$root/etc/snowowl-tftpd.conf"
echo hello >"$root/srv/tftp/hello.txt"
check "dpkg -i again (upgrade path)" dpkg_quiet -i "$pkg_file"
check "the conffile's local edit survives" grep -qx '# edited' "$root/etc/snowowl-tftpd.conf"
check "the served files survive" test -f "$root/srv/tftp/hello.txt"
check "still enabled after the upgrade" service_enabled

check "dpkg --remove" dpkg_quiet --remove snowowl-tftpd
check "remove: the daemon is gone" test ! -e "$root/usr/sbin/snowowl-tftpd"
check "remove: the conffile stays" test -f "$root/etc/snowowl-tftpd.conf"
check "remove: the tftp user stays" eval 'ct getent passwd tftp >/dev/null'
check "dpkg --purge" dpkg_quiet --purge snowowl-tftpd
check "purge: the conffile is gone" test ! -e "$root/etc/snowowl-tftpd.conf"
check "purge: the service is no longer enabled" eval '! service_enabled'
check "purge: /srv/tftp kept, it holds a file" test -f "$root/srv/tftp/hello.txt"
rm -f "$root/srv/tftp/hello.txt"
dpkg_quiet -i "$pkg_file" && dpkg_quiet --purge snowowl-tftpd
check "purge: an empty /srv/tftp is removed" test ! -e "$root/srv/tftp"
check "purge: the tftp user stays" eval 'ct getent passwd tftp >/dev/null'

echo "== switching from tftpd-hpa"
fresh_root || { fail "unpack $tarball"; exit 1; }
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null
if ! ct env DEBIAN_FRONTEND=noninteractive apt-get -q update >"$work/apt.log" 2>&1 ||
    ! ct env DEBIAN_FRONTEND=noninteractive apt-get -q -y install \
	--no-install-recommends tftpd-hpa >>"$work/apt.log" 2>&1; then
	tail -n 5 "$work/apt.log"
	echo "SKIP switching from tftpd-hpa: apt could not install it"
else
	ok "tftpd-hpa installed (apt)"
	uid=$(ct id -u tftp)
	echo 'TFTP_OPTIONS="--secure --create"' >>"$root/etc/default/tftpd-hpa"
	if ct env DEBIAN_FRONTEND=noninteractive apt-get -q -y install \
	    --no-install-recommends "$pkg_file" >>"$work/apt.log" 2>&1; then
		ok "apt-get install ./$(basename "$deb")"
	else
		tail -n 20 "$work/apt.log"
		fail "apt-get install ./$(basename "$deb")"
	fi
	check "tftpd-hpa removed (we Provide tftp-server, it Conflicts)" \
	    eval '! installed tftpd-hpa'
	check "snowowl-tftpd installed" installed snowowl-tftpd
	check "tftpd-hpa's tftp user kept (uid $uid)" \
	    eval '[ "$(ct id -u tftp)" = "$uid" ]'
	check "/etc/default/tftpd-hpa left for the admin" \
	    grep -q -- '--create' "$root/etc/default/tftpd-hpa"
	check "snowowl-tftpd.service enabled" service_enabled
	# README.Debian's way to check the old settings with our daemon.
	check "README.Debian's --check-config of /etc/default/tftpd-hpa" \
	    ct sh -c '. /etc/default/tftpd-hpa &&
	    /usr/sbin/snowowl-tftpd --check-config --user "$TFTP_USERNAME" \
		--address "$TFTP_ADDRESS" $TFTP_OPTIONS "$TFTP_DIRECTORY" >/dev/null'
fi

echo "# package.sh: $fails failed"
[ "$fails" -eq 0 ]
