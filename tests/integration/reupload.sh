#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# A device's nightly backup to the same name, with the tftp-hpa client:
# the second put of a name replaces the file the first one left (ours,
# 0666 & ~umask, not world-writable), whole and at once (a reader of the
# old file keeps the old bytes), and the file keeps its mode; a file of
# another user that is not world-writable is still refused (root only:
# only root can make one), unless -p.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftp_hpa

TO=30
R="$T/root"
mkdir -p "$R"
# Uploads land in the root: the daemon may run as nobody/tftp.
chmod 0777 "$R"
head -c 3000 /dev/urandom >"$T/monday"
head -c 2000 /dev/urandom >"$T/tuesday"

hpa_put() {		# local remote
	timeout "$TO" tftp -m binary 127.0.0.1 "$PORT" -c put "$1" "$2" \
	    >"$T/client.out" 2>&1
}

# holds NAME FILE: NAME (in the root) has FILE's bytes.
holds() {
	cmp -s "$2" "$R/$1"
}

# put_ok WHAT LOCAL REMOTE: the client succeeds and the file arrives.
put_ok() {
	if hpa_put "$2" "$3" && ! grep -q "Error code" "$T/client.out" &&
	    wait_for 10 "$3 holding $2" holds "$3" "$2"; then
		pass "$1"
	else
		sed 's/^/#   | /' "$T/client.out"
		show_log "$DLOG" 5
		fail "$1"
	fi
}

# put_refused WHAT LOCAL REMOTE: ERROR 2 Permission denied.
put_refused() {
	hpa_put "$2" "$3"
	if grep -q "Error code 2: Permission denied" "$T/client.out"; then
		pass "$1"
	else
		sed 's/^/#   | /' "$T/client.out"
		fail "$1"
	fi
}

not_world_writable() {	# name
	local m
	m=$(stat -c %a "$R/$1")
	[ $((8#$m & 2)) -eq 0 ] && return 0
	echo "#   $1 has mode $m"
	return 1
}

daemon_start "$R" -c

put_ok "first put of backup.cfg creates it" "$T/monday" backup.cfg
check "backup.cfg is 0644 (0666 & ~umask 022)" \
    assert_eq 644 "$(stat -c %a "$R/backup.cfg")"
ino1=$(stat -c %i "$R/backup.cfg")
# A reader that has the old file open while the new one arrives.
exec 3<"$R/backup.cfg"
put_ok "second put of the same name succeeds" "$T/tuesday" backup.cfg
check "the reader of the old file still reads the old bytes" \
    cmp -s "$T/monday" /dev/fd/3
exec 3<&-
check "the new file replaced the old one (another inode)" \
    test "$(stat -c %i "$R/backup.cfg")" != "$ino1"
check "backup.cfg is not world-writable after the overwrite" \
    not_world_writable backup.cfg
check "backup.cfg is still 0644" \
    assert_eq 644 "$(stat -c %a "$R/backup.cfg")"
check "no temporary left behind" \
    assert_eq "backup.cfg" "$(ls -A "$R")"
put_ok "a third put (a night later) too" "$T/monday" backup.cfg

if is_root; then
	# Not ours: the daemon runs as tftp or nobody, the file is root's.
	cp "$T/monday" "$R/theirs.cfg"
	chmod 0644 "$R/theirs.cfg"
	put_refused "a file of another user, 0644, is refused" \
	    "$T/tuesday" theirs.cfg
	check "...and left as it was" holds theirs.cfg "$T/monday"
	chmod 0646 "$R/theirs.cfg"
	put_ok "the same file made world-writable is replaced (tftp-hpa)" \
	    "$T/tuesday" theirs.cfg
	check "daemon stopped" daemon_stop

	cp "$T/monday" "$R/theirs2.cfg"
	chmod 0644 "$R/theirs2.cfg"
	daemon_start "$R" -c -p
	put_ok "-p: a file of another user is replaced" \
	    "$T/tuesday" theirs2.cfg
else
	skip "not root: a file of another user cannot be made"
fi

check "daemon stopped" daemon_stop
lib_finish
