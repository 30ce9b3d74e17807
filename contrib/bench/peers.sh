#!/bin/bash
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
apt-get install -y --no-install-recommends tftpd-hpa dnsmasq-base

# The package's service would hold port 69 on every address.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
	systemctl disable --now tftpd-hpa 2>/dev/null || true
elif command -v service >/dev/null; then
	service tftpd-hpa stop 2>/dev/null || true
fi

mkdir -p "$DEST"
tmp=$(mktemp -d)
chmod 755 "$tmp"	# apt downloads as _apt
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download atftpd)
rm -rf "$DEST/atftpd"
dpkg -x "$tmp"/atftpd_*.deb "$DEST/atftpd"
echo "peers.sh: atftpd is $DEST/atftpd/usr/sbin/atftpd" \
    "($(dpkg-deb -f "$tmp"/atftpd_*.deb Version))"
echo "peers.sh: in.tftpd: $(/usr/sbin/in.tftpd -V 2>&1 | head -1)"
echo "peers.sh: dnsmasq: $(dnsmasq --version | head -1)"
