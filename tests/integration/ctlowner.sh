#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# A user's tftpctl trusts its default runtime directory only when it is
# theirs (or root's): an instance another user planted in
# /tmp/snowowl-tftpd-UID (here a real server run by nobody, in a
# directory it made for a uid of our choosing) is refused with a message
# naming the owner, not displayed; the same directory given to the user
# still refuses nobody's segment in it; one writable by others is
# refused; XDG_RUNTIME_DIR/snowowl-tftpd is held to the same rule; with
# -d the user's own choice is followed.  Root only (it makes files of
# other users); skipped with a message otherwise.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl
is_root || skip_all "needs root to make directories of other users"
id nobody >/dev/null 2>&1 || skip_all "no user nobody"
command -v setpriv >/dev/null || skip_all "needs setpriv (util-linux)"

NUID=$(id -u nobody)
NGID=$(id -g nobody)
# A uid of no one's, so that its default directory is this test's alone.
VUID=$((60000 + $$ % 4000))
while getent passwd "$VUID" >/dev/null || [ -e "/tmp/snowowl-tftpd-$VUID" ]; do
	VUID=$((VUID + 1))
done
VDIR="/tmp/snowowl-tftpd-$VUID"
cleanup_vdir() {
	rm -rf "$VDIR"
}
trap 'cleanup_vdir; lib_cleanup' EXIT

# as_victim ARGS...: tftpctl as the user VUID, with its default directory.
as_victim() {
	env -u XDG_RUNTIME_DIR -u SNOWOWL_TFTPD_RUNDIR \
	    setpriv --reuid="$VUID" --regid="$VUID" --clear-groups \
	    timeout 20 "$TFTPCTL" "$@"
}

R="$T/root"
make_root "$R"
chmod 0755 "$R"

# The planted instance: a real server, run by nobody, in VDIR (its own).
mkdir -m 0755 "$VDIR"
chown "$NUID:$NGID" "$VDIR"
RUNDIR=$VDIR
DAEMON_WRAP="setpriv --reuid=$NUID --regid=$NGID --clear-groups" \
    master_start "$R" --workers 1

t_refused_dir() {
	local st
	as_victim workers >"$T/out" 2>"$T/err"
	st=$?
	sed 's/^/#   /' "$T/err"
	if grep -q running "$T/out"; then
		echo "#   the planted instance was displayed:"
		sed 's/^/#   | /' "$T/out"
		return 1
	fi
	[ "$st" -ne 0 ] &&
	    assert_grep "runtime directory $VDIR is owned by nobody \(uid $NUID\), not by you or root" \
	    "$T/err" "tftpctl's message"
}
check "a directory of nobody's: refused, naming nobody, nothing shown" \
    t_refused_dir

# Given to the user: the directory passes, nobody's segment in it does not.
chown "$VUID:$VUID" "$VDIR"
t_refused_segment() {
	local st
	as_victim -i "$INSTANCE" workers >"$T/out" 2>"$T/err"
	st=$?
	sed 's/^/#   /' "$T/err"
	[ "$st" -ne 0 ] && ! grep -q running "$T/out" &&
	    assert_grep "$INSTANCE\.shm: owned by nobody \(uid $NUID\), not by you or root" \
	    "$T/err" "tftpctl's message" || return 1
	as_victim instances >"$T/out" 2>"$T/err"
	sed 's/^/#   /' "$T/err"
	! grep -q "$INSTANCE" "$T/out" &&
	    assert_grep "owned by nobody" "$T/err" "instances' warning"
}
check "the user's directory: nobody's segment in it is refused too" \
    t_refused_segment

chmod 0777 "$VDIR"
t_writable() {
	! as_victim workers >/dev/null 2>"$T/err" &&
	    assert_grep "runtime directory $VDIR is writable by others" \
	    "$T/err" "tftpctl's message"
}
check "a directory writable by others is refused" t_writable
chmod 0755 "$VDIR"

# XDG_RUNTIME_DIR/snowowl-tftpd, made by someone else.
mkdir -p "$T/xdg/snowowl-tftpd"
chmod 0755 "$T/xdg"
chown "$NUID:$NGID" "$T/xdg/snowowl-tftpd"
t_xdg() {
	! env XDG_RUNTIME_DIR="$T/xdg" setpriv --reuid="$VUID" \
	    --regid="$VUID" --clear-groups timeout 20 "$TFTPCTL" workers \
	    >/dev/null 2>"$T/err" &&
	    assert_grep "runtime directory $T/xdg/snowowl-tftpd is owned by nobody" \
	    "$T/err" "tftpctl's message"
}
check "XDG_RUNTIME_DIR/snowowl-tftpd of nobody's is refused" t_xdg

# What the user names is followed: nobody's own tftpctl, and -d.
t_chosen() {
	setpriv --reuid="$NUID" --regid="$NGID" --clear-groups \
	    timeout 20 "$TFTPCTL" -d "$VDIR" workers >"$T/out" 2>"$T/err" ||
	    { sed 's/^/#   /' "$T/err"; return 1; }
	assert_grep "running" "$T/out" "tftpctl -d as nobody"
}
check "tftpctl -d DIR as the instance's own user shows it" t_chosen

check "the planted server stops" daemon_stop "$MASTER"
lib_finish
