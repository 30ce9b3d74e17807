#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# The system's runtime directory, /run/snowowl-tftpd, as a root-started
# master (-u nobody) uses it when nothing names another: "tftpctl reload"
# of an unchanged file warns of nothing (the default runtime_dir is the
# one the master started with, not the service user's own), a changed
# restart-only key is still named; and a user (nobody) with no instance
# of their own finds the system's with a plain "tftpctl", but not with -d
# elsewhere, nor when the directory is writable by others.  Needs root,
# and no /run/snowowl-tftpd already (a real server's): the test makes it
# through the master and removes it at the end.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

SYSDIR=/run/snowowl-tftpd

lib_init
need_tftpctl

is_root || skip_all "needs root: the master uses $SYSDIR only as root"
[ -e "$SYSDIR" ] &&
    skip_all "$SYSDIR exists (a server of this machine): left alone"
command -v setpriv >/dev/null ||
    skip_all "setpriv is required: apt-get install util-linux"
id nobody >/dev/null 2>&1 || skip_all "no user nobody"

# The directory is ours from here: gone after the master, whatever
# happens.
trap 'lib_cleanup; rm -rf "$SYSDIR"' EXIT

R="$T/root"
make_root "$R"
write_conf "$T/conf"
RUNDIR=$SYSDIR

# The master with the default runtime directory: no --runtime-dir.
sys_start() {
	local try
	for try in 1 2 3; do
		PORT=$(free_port) || hard_error "no free port"
		DLOG="$T/daemon.$PORT.log"
		env -u XDG_RUNTIME_DIR -u SNOWOWL_TFTPD_RUNDIR "$TFTPD" -L \
		    -a "127.0.0.1:$PORT" --config "$T/conf" --workers 2 \
		    -u nobody "$R" </dev/null >"$DLOG" 2>&1 &
		MASTER=$!
		adopt_master "$try" && return 0
	done
	hard_error "the daemon could not be started"
}
sys_start

check "the master made $SYSDIR and runs there" \
    test -S "$SYSDIR/$INSTANCE.ctl"

# --- reload: a restart-only key is named only when it changes ------------------

t_reload_quiet() {
	write_conf "$T/conf" "[transfer]" "max_blksize = 1200"
	ctl -i "$INSTANCE" reload >"$T/reload1.out" 2>&1 || {
		sed 's/^/#   | /' "$T/reload1.out"
		return 1
	}
	assert_grep '1 setting changed' "$T/reload1.out" &&
	    assert_no_grep 'needs a restart' "$T/reload1.out" &&
	    assert_no_grep 'needs a restart' "$DLOG" "the daemon's log"
}
check "reload with runtime_dir set nowhere: no 'needs a restart'" \
    t_reload_quiet

t_reload_restart() {
	write_conf "$T/conf" "[server]" "drain_timeout = 7"
	ctl -i "$INSTANCE" reload >"$T/reload2.out" 2>&1 &&
	    assert_grep '; server\.drain_timeout needs a restart' \
		"$T/reload2.out" &&
	    assert_no_grep 'runtime_dir' "$T/reload2.out"
}
check "reload of a changed restart-only key names that key alone" \
    t_reload_restart

# --- an unprivileged tftpctl finds the system's instance -----------------------

NOBODY_GID=$(id -g nobody)
XDG="$T/xdg-nobody"
mkdir -m 0700 "$XDG"
chown nobody "$XDG"

# as_nobody OUT ARGS...: tftpctl ARGS as nobody, whose own runtime
# directory ($XDG/snowowl-tftpd) does not exist; exit status in ST.
as_nobody() {
	local out=$1
	shift
	timeout 20 setpriv --reuid=nobody --regid="$NOBODY_GID" \
	    --clear-groups env -u SNOWOWL_TFTPD_RUNDIR XDG_RUNTIME_DIR="$XDG" \
	    "$TFTPCTL" "$@" >"$T/$out" 2>&1
	ST=$?
}

t_nobody_finds() {
	as_nobody w.json workers --json
	assert_eq 0 "$ST" "exit status" && json_ok "$T/w.json" &&
	    json_check "$T/w.json" "len(d) == 2" "two workers" &&
	    as_nobody i.json -i "$INSTANCE" stats --json &&
	    assert_eq 0 "$ST" "exit status (-i)" && json_ok "$T/i.json"
}
check "nobody, nothing of its own: tftpctl finds $SYSDIR's instance" \
    t_nobody_finds

t_nobody_dir_given() {
	as_nobody d.out -d "$XDG" workers
	assert_eq 1 "$ST" "exit status" &&
	    assert_grep "no running instance in $XDG" "$T/d.out"
}
check "... but not with -d naming another directory" t_nobody_dir_given

t_nobody_writable() {
	local mode
	mode=$(stat -c %a "$SYSDIR")
	chmod g+w "$SYSDIR"
	as_nobody g.out workers
	chmod "$mode" "$SYSDIR"
	assert_eq 1 "$ST" "exit status" &&
	    assert_grep "no running instance in $XDG/snowowl-tftpd" "$T/g.out"
}
check "... nor when $SYSDIR is writable by its group" t_nobody_writable

check "the master stops cleanly" daemon_stop "$MASTER"

lib_finish
