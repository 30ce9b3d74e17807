#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# Which file a name means ([transfer] map_backslash, ignore_case,
# client_root), with the tftp-hpa client and raw requests (tftpraw.py) where
# the client cannot choose its source address: WDS's \Boot\x64\wdsnbp.com
# served with map_backslash and ERROR 1 without; PXELINUX.0 finding
# pxelinux.0 with ignore_case and not without, an upload replacing the
# file found by its case; a client's own directory 127.0.0.1/ served to
# 127.0.0.1 and the common root to 127.0.0.2, the whole directory and not
# file by file, the fallback once it is gone (no restart), uploads into
# it; and names that would leave the root through a backslash, a case
# match or a client directory refused.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftp_hpa

TO=30
R="$T/root"
D="$T/dl"
mkdir -p "$R/Boot/x64" "$D" || hard_error "mkdir"
head -c 3000 /dev/urandom >"$R/Boot/x64/wdsnbp.com"
head -c 1500 /dev/urandom >"$R/pxelinux.0"
echo "common" >"$R/common.cfg"
echo "outside the root" >"$T/secret"
# Leads out of the root: found by its case, it must still be refused.
ln -s .. "$R/Link"
chmod 0777 "$R"
chmod 0755 "$R/Boot"
chmod 0777 "$R/Boot/x64"	# an upload lands there
chmod 0644 "$R/Boot/x64/wdsnbp.com" "$R/common.cfg" "$T/secret"
# Replaced by an upload below: world-writable, as tftp-hpa wants.
chmod 0666 "$R/pxelinux.0"
cp "$R/pxelinux.0" "$T/pxelinux.orig"

# hpa_get REMOTE LOCAL: the tftp-hpa client from 127.0.0.1; it exits 0
# after an ERROR too, so success is a file with the bytes expected.
hpa_get() {
	rm -f "$2"
	timeout "$TO" tftp -m binary 127.0.0.1 "$PORT" -c get "$1" "$2" \
	    >"$T/client.out" 2>&1
}

hpa_put() {	# LOCAL REMOTE
	timeout "$TO" tftp -m binary 127.0.0.1 "$PORT" -c put "$1" "$2" \
	    >"$T/client.out" 2>&1
}

# got EXPECTED REMOTE: the tftp-hpa client gets REMOTE, equal to EXPECTED.
got() {
	hpa_get "$2" "$D/out" && assert_same_file "$1" "$D/out"
}

# raw_get SOURCE NAME OUT: a raw RRQ from SOURCE (127.0.0.1, 127.0.0.2),
# the name's bytes as given (a backslash stays one); its output in
# $T/raw.out.
raw_get() {
	rm -f "$3"
	TFTPRAW_SOURCE=$1 timeout "$TO" "$PYTHON" "$TFTPRAW" get 127.0.0.1 \
	    "$PORT" "$2" "$3" >"$T/raw.out" 2>&1
}

# raw_got SOURCE EXPECTED NAME
raw_got() {
	raw_get "$1" "$3" "$D/raw" && assert_same_file "$2" "$D/raw" ||
	    { sed 's/^/#   /' "$T/raw.out"; return 1; }
}

# raw_refused SOURCE NAME CODE: answered with ERROR CODE.
raw_refused() {
	if raw_get "$1" "$2" "$D/raw"; then
		echo "#   $2 from $1 was served"
		return 1
	fi
	assert_grep "ERROR $3 " "$T/raw.out" "ERROR $3 for $2 from $1"
}

# --- all off: names are bytes ------------------------------------------------

write_conf "$T/conf"
daemon_start "$R"

check "off: \\Boot\\x64\\wdsnbp.com (raw) is ERROR 1" \
    raw_refused 127.0.0.1 '\Boot\x64\wdsnbp.com' 1
check "off: Boot/x64/wdsnbp.com (tftp-hpa) is served" \
    got "$R/Boot/x64/wdsnbp.com" Boot/x64/wdsnbp.com
check "off: PXELINUX.0 is ERROR 1" raw_refused 127.0.0.1 PXELINUX.0 1
check "off: pxelinux.0 (tftp-hpa) is served" got "$R/pxelinux.0" pxelinux.0
mkdir "$R/127.0.0.1" && echo "own" >"$R/127.0.0.1/common.cfg" &&
    chmod 0755 "$R/127.0.0.1" && chmod 0644 "$R/127.0.0.1/common.cfg" ||
    hard_error "127.0.0.1/"
check "off: a client directory means nothing: the common file" \
    got "$R/common.cfg" common.cfg
mv "$R/127.0.0.1" "$T/client-dir" || hard_error "mv 127.0.0.1"
check "off: SIGTERM: the daemon exits with status 0" daemon_stop

# --- all on --------------------------------------------------------------

write_conf "$T/conf" "map_backslash = yes" "ignore_case = yes" \
    "client_root = ip"
daemon_start "$R" -c

# Backslashes: the tftp-hpa client sends the name as it is given.
check "map_backslash: \\Boot\\x64\\wdsnbp.com (tftp-hpa) is served" \
    got "$R/Boot/x64/wdsnbp.com" '\Boot\x64\wdsnbp.com'
check "map_backslash: \\Boot\\x64\\wdsnbp.com (raw, 127.0.0.2) is served" \
    raw_got 127.0.0.2 "$R/Boot/x64/wdsnbp.com" '\Boot\x64\wdsnbp.com'
check "map_backslash: Boot\\..\\..\\secret is refused (ERROR 2)" \
    raw_refused 127.0.0.1 'Boot\..\..\secret' 2
check "map_backslash: \\..\\secret is refused (ERROR 2)" \
    raw_refused 127.0.0.1 '\..\secret' 2

# Case.
check "ignore_case: PXELINUX.0 (tftp-hpa) finds pxelinux.0" \
    got "$R/pxelinux.0" PXELINUX.0
check "ignore_case: BOOT/X64/WDSNBP.COM finds Boot/x64/wdsnbp.com" \
    got "$R/Boot/x64/wdsnbp.com" BOOT/X64/WDSNBP.COM
check "ignore_case and map_backslash: \\BOOT\\X64\\WdsNbp.Com" \
    raw_got 127.0.0.2 "$R/Boot/x64/wdsnbp.com" '\BOOT\X64\WdsNbp.Com'
check "ignore_case: a name found nowhere is ERROR 1" \
    raw_refused 127.0.0.1 PXELINUX.1 1
check "ignore_case: LINK/secret (a symlink out, found by case) is refused" \
    raw_refused 127.0.0.1 LINK/secret 1
check "ignore_case: LINK\\secret is refused" \
    raw_refused 127.0.0.1 'LINK\secret' 1
check "ignore_case: the file outside was not read" \
    assert_no_grep "result=ok" <(grep -F 'secret"' "$DLOG")
head -c 700 /dev/urandom >"$T/new.bin"
hpa_put "$T/new.bin" PXELINUX.0
t_replaced() {
	assert_same_file "$T/new.bin" "$R/pxelinux.0" &&
	    [ ! -e "$R/PXELINUX.0" ]
}
check "ignore_case: an upload of PXELINUX.0 replaces pxelinux.0" \
    wait_for 10 "pxelinux.0 replaced" t_replaced
hpa_put "$T/new.bin" BOOT/X64/New.Bin
check "ignore_case: an upload of BOOT/X64/New.Bin lands in Boot/x64/" \
    wait_for 10 "Boot/x64/New.Bin" assert_same_file "$T/new.bin" \
    "$R/Boot/x64/New.Bin"

# Client directories: 127.0.0.1 has one from now on (per request: no
# restart), 127.0.0.2 never.
check "client_root: no directory: 127.0.0.1 gets the common file" \
    got "$R/common.cfg" common.cfg
mv "$T/client-dir" "$R/127.0.0.1" || hard_error "mv back"
check "client_root: 127.0.0.1 gets 127.0.0.1/common.cfg" \
    got "$R/127.0.0.1/common.cfg" common.cfg
check "client_root: 127.0.0.1 gets it by raw request too" \
    raw_got 127.0.0.1 "$R/127.0.0.1/common.cfg" common.cfg
check "client_root: 127.0.0.2 gets the common common.cfg" \
    raw_got 127.0.0.2 "$R/common.cfg" common.cfg
check "client_root: whole directory: 127.0.0.1 does not get pxelinux.0" \
    raw_refused 127.0.0.1 pxelinux.0 1
check "client_root: 127.0.0.2 does" raw_got 127.0.0.2 "$R/pxelinux.0" \
    pxelinux.0
check "client_root: ignore_case within the client's directory" \
    raw_got 127.0.0.1 "$R/127.0.0.1/common.cfg" COMMON.CFG
check "client_root: a name cannot climb out of the client's directory" \
    raw_refused 127.0.0.1 '..\common.cfg' 2
chmod 0777 "$R/127.0.0.1"
hpa_put "$T/new.bin" up.bin
check "client_root: an upload from 127.0.0.1 lands in 127.0.0.1/" \
    wait_for 10 "127.0.0.1/up.bin" assert_same_file "$T/new.bin" \
    "$R/127.0.0.1/up.bin"
check "client_root: and not in the common root" test ! -e "$R/up.bin"
ln -s ../common.cfg "$R/127.0.0.1/link.cfg"
check "client_root: a symlink out of the client's directory is refused" \
    raw_refused 127.0.0.1 link.cfg 2
# The fallback is per request: gone, the common root serves again.
mv "$R/127.0.0.1" "$T/client-dir" || hard_error "mv away"
check "client_root: directory removed: 127.0.0.1 falls back" \
    got "$R/common.cfg" common.cfg
# A client directory that leads out of the root refuses; it does not
# fall back.
ln -s .. "$R/127.0.0.1"
check "client_root: 127.0.0.1 -> .. is refused (ERROR 2)" \
    raw_refused 127.0.0.1 common.cfg 2
check "client_root: 127.0.0.2 is still served" \
    raw_got 127.0.0.2 "$R/common.cfg" common.cfg
rm -f "$R/127.0.0.1"
check "on: SIGTERM: the daemon exits with status 0" daemon_stop

lib_finish
