#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# Install what building and testing snowowl-tftpd need on Debian 12
# (bookworm) or Ubuntu.  Idempotent: packages already present are left
# alone and apt is not even called.  Quiet unless something fails.
#
#	contrib/setup-debian.sh			build + tests + CI tools
#	contrib/setup-debian.sh --build-only	build only
set -euo pipefail

BUILD_PKGS="build-essential autoconf automake libtool pkg-config
	libinih-dev libcap-ng-dev libseccomp-dev"
# openbsd-inetd, systemd (systemd-socket-activate), procps (ps) and
# python3-prometheus-client: tests/integration/{inetd,activation,master,
# tftpctl}.sh.  The system's inetd service is not used: the test runs its
# own "inetd -d" on a free loopback port.  devscripts (hardening-check) and
# dpkg-dev (dpkg-buildflags): .ci/run's hardening step.  debhelper, pkgconf
# and lintian: contrib/build-deb.sh (the Debian package's build
# dependencies are the rest of these).  debootstrap and systemd-container
# (systemd-nspawn): tests/system/nspawn.sh.  QEMU, the firmware it boots
# (u-boot-qemu, ipxe-qemu, ovmf; seabios comes with qemu-system-x86),
# dnsmasq-base (dnsmasq as a DHCP server only, no service started) and
# ethtool: tests/system/firmware.sh.  tmux: tests/integration/top.sh (a
# terminal of a known size to run tftpctl top in).
# python3-prometheus-client: tests/integration/metrics.sh too.
# liburing-dev: contrib/bench/uringproto, the io_uring prototype (its
# Makefile skips it when pkg-config does not find liburing).
TEST_PKGS="libcmocka-dev tftp-hpa atftp curl busybox python3
	clang libclang-rt-14-dev gcovr iproute2 nftables
	openbsd-inetd systemd procps python3-prometheus-client
	devscripts dpkg-dev debhelper pkgconf lintian
	debootstrap systemd-container
	qemu-system-x86 qemu-system-arm u-boot-qemu ipxe-qemu ovmf
	dnsmasq-base ethtool tmux liburing-dev"

# tftp-hpa's in.tftpd for tests/integration/hparemap.py (remap rules
# compared with ours), unpacked into HPA_DIR rather than installed: the
# package would start a service on port 69.  libwrap0 is its library.
TEST_PKGS="$TEST_PKGS libwrap0"
HPA_DIR=${HPA_DIR:-/opt/tftpd-hpa}

unpack_hpa() {
	local d sudo=()

	[ -x "$HPA_DIR/usr/sbin/in.tftpd" ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		command -v sudo >/dev/null || return 0
		sudo=(sudo)
	fi
	d=$(mktemp -d)
	if (cd "$d" && apt-get download -q tftpd-hpa >/dev/null 2>&1); then
		"${sudo[@]}" mkdir -p "$HPA_DIR"
		"${sudo[@]}" dpkg-deb -x "$d"/tftpd-hpa_*.deb "$HPA_DIR"
	else
		echo "$0: apt-get download tftpd-hpa failed: hparemap.py" \
		    "will skip" >&2
	fi
	rm -rf "$d"
}

usage() {
	echo "usage: $0 [--build-only]" >&2
	exit 2
}

pkgs=$BUILD_PKGS
case ${1:-} in
"") pkgs="$BUILD_PKGS $TEST_PKGS" ;;
--build-only) ;;
-h | --help) usage ;;
*) usage ;;
esac
[ $# -le 1 ] || usage

missing=()
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	[ "$pkgs" = "$BUILD_PKGS" ] || unpack_hpa
	exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
elif command -v sudo >/dev/null; then
	SUDO=(sudo)
else
	echo "$0: not root and no sudo: install ${missing[*]}" >&2
	exit 1
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() {
	if ! "$@" >>"$log" 2>&1; then
		echo "$0: failed: $*" >&2
		cat "$log" >&2
		exit 1
	fi
}
export DEBIAN_FRONTEND=noninteractive
run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
run "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends "${missing[@]}"
[ "$pkgs" = "$BUILD_PKGS" ] || unpack_hpa
