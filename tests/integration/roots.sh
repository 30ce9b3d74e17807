#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# in.tftpd's list of directories (several roots, no -s), with the tftp-hpa
# client: downloads from each root by absolute name, every byte compared;
# the longest root wins; other names beneath the first root; an upload by
# absolute name lands in its root; -s keeps one chroot-like root.  Then the
# same requests to tftp-hpa's in.tftpd given the same directories (root
# only: it changes user per request): the same bytes where both serve,
# and the documented differences where they do not.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftp_hpa

TO=30
HPA_TFTPD=${HPA_TFTPD:-/opt/tftpd-hpa/usr/sbin/in.tftpd}
A="$T/a"		# first root
B="$T/b"		# second root
BOOT="$A/boot"		# a third, inside the first: the longest match wins
mkdir -p "$A/sub" "$BOOT" "$B/up" "$T/ab" "$A/$B" || hard_error "mkdir"
head -c 1500 /dev/urandom >"$A/fa"
head -c 70000 /dev/urandom >"$A/sub/deep"
head -c 2000 /dev/urandom >"$B/fb"
head -c 3000 /dev/urandom >"$BOOT/kernel"
head -c 100 /dev/urandom >"$T/ab/outside"
# What the second root's name means beneath the first (never served).
head -c 100 /dev/urandom >"$A/$B/fb"
head -c 4000 /dev/urandom >"$T/upload"
find "$T" -type d -exec chmod 0755 {} +
find "$T" -type f -exec chmod 0644 {} +
# Uploads: the daemon may run as nobody/tftp.
chmod 0777 "$B/up"

# get PORT NAME OUT: tftp-hpa's client; 0 when the file came.
get() {
	rm -f "$3"
	timeout "$TO" tftp -m binary 127.0.0.1 "$1" -c get "$2" "$3" \
	    >"$T/client.out" 2>&1 && ! grep -q "Error code" "$T/client.out" &&
	    [ -f "$3" ]
}

# get_same PORT NAME EXPECTED: downloaded, the bytes of EXPECTED.
get_same() {
	if get "$1" "$2" "$T/dl"; then
		assert_same_file "$3" "$T/dl"
	else
		sed 's/^/#   | /' "$T/client.out"
		return 1
	fi
}

# get_refused PORT NAME ERE: an ERROR whose text matches ERE.
get_refused() {
	if get "$1" "$2" "$T/dl"; then
		echo "#   $2 was served"
		return 1
	fi
	assert_grep "Error code [0-9]+: ($3)" "$T/client.out" "client"
}

# Our order: daemon_start puts its first argument last.
daemon_start "$B" -c "$A" "$BOOT"
P=$PORT
check "absolute name in the first root" get_same "$P" "$A/fa" "$A/fa"
check "absolute name in the first root, a subdirectory" \
    get_same "$P" "$A/sub/deep" "$A/sub/deep"
check "absolute name in the second root" get_same "$P" "$B/fb" "$B/fb"
check "absolute name in a root inside the first: the longest wins" \
    get_same "$P" "$BOOT/kernel" "$BOOT/kernel"
check "repeated / and ./ in the name" \
    get_same "$P" "/$B//./fb" "$B/fb"
check "relative name: beneath the first root" get_same "$P" fa "$A/fa"
check "absolute name in no root: beneath the first, / stripped" \
    get_same "$P" /sub/deep "$A/sub/deep"
check "a root's path plus more letters is not that root" \
    get_refused "$P" "$T/ab/outside" "File not found"
check "'..' after a root is refused" \
    get_refused "$P" "$A/../b/fb" "Access violation"
check "/etc/passwd is not found (beneath the first root)" \
    get_refused "$P" /etc/passwd "File not found"
t_upload() {
	timeout "$TO" tftp -m binary 127.0.0.1 "$P" -c put "$T/upload" \
	    "$B/up/new.bin" >"$T/client.out" 2>&1 &&
	    ! grep -q "Error code" "$T/client.out" &&
	    wait_for 10 "the upload in the second root" \
	    cmp -s "$T/upload" "$B/up/new.bin"
}
check "upload by absolute name lands in the second root" t_upload
check "daemon stopped" daemon_stop

# -s: one root, names as in a chroot (the root's own path means nothing).
daemon_start "$A" -s
check "-s: relative name served" get_same "$PORT" fa "$A/fa"
check "-s: the root's own path is looked up beneath it" \
    get_same "$PORT" "$B/fb" "$A/$B/fb"
check "-s: ...and so $A/fa is not found" \
    get_refused "$PORT" "$A/fa" "File not found"
check "daemon stopped" daemon_stop

# --- the same requests to in.tftpd ------------------------------------------
if ! is_root; then
	skip "in.tftpd comparison: needs root (in.tftpd changes user per request)"
	lib_finish
fi
if [ ! -x "$HPA_TFTPD" ]; then
	skip "in.tftpd comparison: $HPA_TFTPD is not installed (contrib/setup-debian.sh unpacks it)"
	lib_finish
fi
daemon_start "$B" "$A" "$BOOT"
P=$PORT
HP=$(free_port 4) || hard_error "no free port"
"$HPA_TFTPD" -L -a "127.0.0.1:$HP" -u nobody "$A" "$B" "$BOOT" \
    >"$T/hpa.log" 2>&1 </dev/null &
HPID=$!
DAEMON_PIDS+=("$HPID")
wait_for 10 "in.tftpd listening on $HP" port_bound "$HP" ||
    hard_error "in.tftpd did not start: $(cat "$T/hpa.log")"

# both_serve NAME: the same bytes from both servers.
both_serve() {
	get "$HP" "$1" "$T/hpa.dl" || {
		echo "#   in.tftpd:"
		sed 's/^/#   | /' "$T/client.out"
		return 1
	}
	get_same "$P" "$1" "$T/hpa.dl"
}
for n in "$A/fa" "$A/sub/deep" "$B/fb" "$BOOT/kernel" "$B//./fb"; do
	check "in.tftpd and we serve the same $n" both_serve "$n"
done
check "both refuse $A/../b/fb (in.tftpd: Reverse path)" eval \
    'get_refused "$HP" "$A/../b/fb" "Reverse path not allowed" &&
    get_refused "$P" "$A/../b/fb" "Access violation"'
check "both refuse /etc/passwd (in.tftpd: Forbidden directory)" eval \
    'get_refused "$HP" /etc/passwd "Forbidden directory" &&
    get_refused "$P" /etc/passwd "File not found"'
# The documented differences.
check "difference: a relative name, refused by in.tftpd, served from the first root" eval \
    'get_refused "$HP" fa "Only absolute filenames allowed" &&
    get_same "$P" fa "$A/fa"'
check "difference: in.tftpd's string match serves $T/ab/outside, ours refuses" eval \
    'get_same "$HP" "$T/ab/outside" "$T/ab/outside" &&
    get_refused "$P" "$T/ab/outside" "File not found"'
check "difference: a root's path spelled //ROOT, refused by in.tftpd, served from it" eval \
    'get_refused "$HP" "/$B/fb" "Forbidden directory" &&
    get_same "$P" "/$B/fb" "$B/fb"'
kill -TERM "$HPID" 2>/dev/null
wait_pid_gone "$HPID" 5 || kill -KILL "$HPID" 2>/dev/null
check "daemon stopped" daemon_stop
lib_finish
