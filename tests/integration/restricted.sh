#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# The daemon in a sandbox without AF_UNIX, as under Debian's
# tftpd-hpa.service (RestrictAddressFamilies=AF_INET AF_INET6): here
# tests/helpers/sysfilter makes socket(AF_UNIX, ...) fail with
# EAFNOSUPPORT.  It still serves: a tftp-hpa download is intact; there
# is no control socket, which one warning says; syslog is out of reach, so
# the log goes to stderr (one warning); NOTIFY_SOCKET cannot be used (one
# warning); tftpctl still reads the counters, SIGHUP still reloads.  The
# same as a daemon (Type=forking): the start returns 0, it serves and
# logs on its stderr, which is the journal's stream.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl
[ -x "${SYSFILTER:-}" ] ||
    hard_error "SYSFILTER is not built (run through make check)"
need_tftp_hpa

R="$T/root"
make_root "$R"
DL="$T/dl"
mkdir -p "$DL"
# log = syslog: the daemon must find out that it cannot reach it.
write_conf "$T/conf" "[server]" "log = syslog"
RUNDIR=$(daemon_rundir)
mkdir -p "$RUNDIR"
if is_root; then
	USER_ARGS=(-u nobody)
else
	USER_ARGS=()
fi

# Does the filter work here?  (A shell's AF_UNIX socket must be refused.)
"$SYSFILTER" -u -- "$PYTHON" -c 'import socket
try:
    socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
except OSError as e:
    print(e.errno)' >"$T/probe" 2>&1
[ "$(cat "$T/probe")" = 97 ] ||
    hard_error "sysfilter -u does not refuse AF_UNIX: $(cat "$T/probe")"

# --check-config as a unit's ExecStartPre= runs it: without AF_NETLINK
# the local addresses cannot be listed, which must not fail the start.
t_check_nonetlink() {
	run_exit 0 "$T/check.out" "$SYSFILTER" -n -u -- "$TFTPD" \
	    --config "$T/conf" --check-config -a 127.0.0.1:6969 "${USER_ARGS[@]}" \
	    "$R" &&
	    assert_grep 'server.listen: not checked: cannot list the local addresses: Address family not supported' \
		"$T/check.out" "warning" &&
	    assert_grep 'configuration OK' "$T/check.out" "output"
}
check "--check-config without AF_NETLINK: addresses not checked, OK" \
    t_check_nonetlink

t_get() {
	rm -f "$DL/$1"
	timeout 30 tftp -m binary 127.0.0.1 "$PORT" -c get "$1" "$DL/$1" \
	    >"$T/get.log" 2>&1 || {
		echo "#   tftp: $(cat "$T/get.log")"
		show_log
		return 1
	}
	assert_same_file "$R/$1" "$DL/$1"
}


# --- in the foreground ----------------------------------------------------------

NOTIFY_SOCKET="$T/notify.sock" DAEMON_WRAP="$SYSFILTER -u --" \
    DAEMON_RUNDIR="$RUNDIR" daemon_start "$R" --workers 2 "${USER_ARGS[@]}"
INSTANCE="127.0.0.1-$PORT"
MASTER=$DPID
# (DAEMON_WRAP is meant for another user, hence DAEMON_RUNDIR.)
check "without AF_UNIX: a tftp-hpa get is intact" t_get m1
check "... a second one too" t_get s513
check "... the missing control socket is one warning" \
    assert_once 'no control socket \(AF_UNIX: Address family not supported by protocol\): tftpctl reload and set are unavailable; SIGHUP still reloads' \
    "$DLOG"
check "... syslog out of reach: one warning, and the log on stderr" \
    assert_once 'syslog unavailable \(/dev/log: Address family not supported by protocol\): logging to stderr' \
    "$DLOG"
check "... NOTIFY_SOCKET unusable: one warning" \
    assert_once "NOTIFY_SOCKET $T/notify.sock: socket: Address family not supported" \
    "$DLOG"
check "... no control socket file" test ! -e "$RUNDIR/$INSTANCE.ctl"

t_stats() {
	ctl -i "$INSTANCE" stats --json >"$T/st.json" 2>"$T/ctl.err" &&
	    json_check "$T/st.json" "d['totals']['rrq'] >= 2 and \
	    d['totals']['transfers_ok'] >= 2" "stats" || {
		sed 's/^/#   | /' "$T/ctl.err"
		return 1
	}
}
check "... tftpctl stats still reads the counters" t_stats

t_reload_refused() {
	ctl -i "$INSTANCE" reload >"$T/reload.out" 2>&1 && {
		echo "#   tftpctl reload succeeded without a control socket"
		return 1
	}
	echo "#   $(cat "$T/reload.out")"
}
check "... tftpctl reload fails (exit non-zero, with the reason)" \
    t_reload_refused

# SIGHUP: a live key changed in the file is in effect after the reload.
write_conf "$T/conf" "[server]" "log = syslog" "[transfer]" \
    "max_blksize = 1024"
N0=$(grep -c 'reload: .* changed' "$DLOG")
kill -HUP "$MASTER"
reloaded() {
	[ "$(grep -c 'reload: .* changed' "$DLOG")" -gt "$N0" ]
}
t_hup() {
	wait_for 10 "the reload logged" reloaded || return 1
	ctl -i "$INSTANCE" get transfer.max_blksize >"$T/get.out" 2>&1
	assert_grep '1024' "$T/get.out" "tftpctl get transfer.max_blksize"
}
check "... SIGHUP still reloads (max_blksize 1024 in effect)" t_hup
check "... SIGTERM: exit 0" daemon_stop "$MASTER"
write_conf "$T/conf" "[server]" "log = syslog"

# --- as a daemon, stderr the journal's stream -----------------------------------

PORT=$(free_port) || hard_error "no free port"
DLOG="$T/forking.log"
: >"$DLOG"
(
	exec 2>>"$DLOG"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$DLOG")
	export JOURNAL_STREAM
	exec timeout 30 "$SYSFILTER" -u -- "$TFTPD" -a "127.0.0.1:$PORT" \
	    --config "$T/conf" --runtime-dir "$RUNDIR" \
	    -P "$T/forking.pid" "${USER_ARGS[@]}" "$R" </dev/null >/dev/null
)
ST=$?
check "as a daemon without AF_UNIX: the start returns 0" assert_eq 0 "$ST" \
    status
MASTER=$(cat "$T/forking.pid" 2>/dev/null)
[ -n "$MASTER" ] && echo "$MASTER" >>"$T/.seen_pids"
check "... a get is intact" t_get m1
check "... its log goes on on stderr, the journal's stream, with priorities" \
    assert_grep '^<4>no control socket \(AF_UNIX' "$DLOG"
check "... ready logged there" assert_grep '^<6>ready: serving ' "$DLOG"
t_forking_stop() {
	[ -n "$MASTER" ] || return 1
	kill -TERM "$MASTER" && wait_pid_gone "$MASTER" 10
}
check "... SIGTERM stops it" t_forking_stop
check "... with <6>stopped" assert_grep '^<6>stopped$' "$DLOG"

lib_finish
