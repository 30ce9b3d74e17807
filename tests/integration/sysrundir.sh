#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# The system's runtime directory, /run/snowowl-tftpd, as a root-started
# master (-u nobody) uses it when nothing names another: "tftpctl reload"
# of an unchanged file warns of nothing (the default runtime_dir is the
# one the master started with, not the service user's own), a changed
# restart-only key is still named.  Needs root,
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

check "the master stops cleanly" daemon_stop "$MASTER"

lib_finish
