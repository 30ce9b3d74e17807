#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# peers.sh: install the TFTP servers run-bench.sh and loss.sh compare
# against, on Debian/Ubuntu: tftp-hpa's in.tftpd and dnsmasq as packages,
# atftpd unpacked from its package into $BENCH_PEERS (it conflicts with
# tftpd-hpa as a package, and the benchmark runs it directly anyway).
# The benchmark starts every server itself on loopback, so the tftpd-hpa
# service the package sets up is stopped and disabled.  Root only.
set -euo pipefail

DEST=${BENCH_PEERS:-/var/tmp/tftpbench-peers}

[ "$(id -u)" = 0 ] || { echo "peers.sh: run me as root" >&2; exit 1; }
command -v apt-get >/dev/null ||
	{ echo "peers.sh: needs apt-get (Debian or Ubuntu)" >&2; exit 1; }

export DEBIAN_FRONTEND=noninteractive
# A fresh machine (a container image) may have no package lists at all.
apt-get install -y --no-install-recommends tftpd-hpa dnsmasq-base ||
	{ apt-get update &&
	    apt-get install -y --no-install-recommends tftpd-hpa dnsmasq-base; }

# The package's service would hold port 69 on every address.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
	systemctl disable --now tftpd-hpa 2>/dev/null || true
elif command -v service >/dev/null; then
	service tftpd-hpa stop 2>/dev/null || true
fi

mkdir -p "$DEST"
tmp=$(mktemp -d)
# apt downloads as _apt, which must be able to write there (else a
# warning, and the download done unsandboxed as root).
if id _apt >/dev/null 2>&1; then
	chown _apt "$tmp"
else
	chmod 755 "$tmp"
fi
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download atftpd)
rm -rf "$DEST/atftpd"
dpkg -x "$tmp"/atftpd_*.deb "$DEST/atftpd"
echo "peers.sh: atftpd is $DEST/atftpd/usr/sbin/atftpd" \
    "($(dpkg-deb -f "$tmp"/atftpd_*.deb Version))"
echo "peers.sh: in.tftpd: $(/usr/sbin/in.tftpd -V 2>&1 | head -1)"
echo "peers.sh: dnsmasq: $(dnsmasq --version | head -1)"
