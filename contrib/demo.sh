#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# Build snowowl-tftpd from this checkout and run it in the foreground on
# 127.0.0.1:6969, serving ./demo-root (uploads allowed).  Ctrl-C stops it.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

contrib/setup-debian.sh --build-only
[ -x configure ] || autoreconf -fi >/dev/null
[ -f Makefile ] || ./configure --quiet
make -s -j"$(nproc)"

mkdir -p demo-root
[ -f demo-root/hello.txt ] || echo "Hello from snowowl-tftpd" >demo-root/hello.txt
[ -f demo-root/1MiB.bin ] || head -c 1048576 /dev/urandom >demo-root/1MiB.bin
# As root the server drops to the tftp user: let that user read every
# file and write new ones into the root.  Without one this loopback demo
# names nobody (the server never falls back to it unasked, and warns).
user=()
if [ "$(id -u)" = 0 ] && ! id tftp >/dev/null 2>&1; then
	user=(-u nobody)
fi
chmod 0777 demo-root
chmod 0644 demo-root/hello.txt demo-root/1MiB.bin

cat <<EOF

snowowl-tftpd serves $top/demo-root on 127.0.0.1 port 6969.
From another terminal:

	tftp 127.0.0.1 6969 -c get hello.txt
	curl -o 1MiB.bin tftp://127.0.0.1:6969/1MiB.bin
	tftp -m binary 127.0.0.1 6969 -c put /etc/hostname hostname.txt

Ctrl-C stops the server.

EOF
exec src/snowowl-tftpd -L -a 127.0.0.1:6969 "${user[@]}" -s -c ./demo-root
