#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# "tftpctl reload" as a unit's ExecReload= runs it: as root, but within
# the unit's CapabilityBoundingSet= (here CAP_NET_BIND_SERVICE CAP_SETUID
# CAP_SETGID CAP_SETPCAP CAP_CHOWN, through setpriv), so without
# CAP_KILL (kill -HUP of the master, now the service user, is refused)
# and without CAP_DAC_OVERRIDE.  With one instance in the runtime
# directory and no -i it finds it, for a standalone master (root-started,
# -u nobody) and a socket-activated one (instance systemd-PORT); a
# changed live key is in effect afterwards; a bad file is refused with
# exit 1 and FILE:LINE on stderr, and the old settings stay.  Needs root.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

is_root || skip_all "needs root: ExecReload= runs tftpctl as root"
command -v setpriv >/dev/null ||
    skip_all "setpriv is required: apt-get install util-linux"

R="$T/root"
make_root "$R"
write_conf "$T/conf" "[transfer]" "max_blksize = 1400"
RUNDIR="$T/run"
UNIT_CAPS=-all,+net_bind_service,+setuid,+setgid,+setpcap,+chown

# as_unit CMD...: CMD as root within the unit's bounding set.
as_unit() {
	setpriv --bounding-set="$UNIT_CAPS" --inh-caps=-all "$@"
}

unit_reload() {		# OUT: tftpctl -d RUNDIR reload (no -i), as_unit
	as_unit timeout 20 "$TFTPCTL" -d "$RUNDIR" reload >"$T/$1.out" \
	    2>"$T/$1.err"
	ST=$?
	echo "#   exit $ST: $(cat "$T/$1.out" "$T/$1.err" | tr '\n' ' ')"
}

blksize_is() {		# VALUE
	ctl -i "$INSTANCE" get transfer.max_blksize >"$T/get.out" 2>&1
	assert_grep "(^|[ =])$1\$" "$T/get.out" "tftpctl get transfer.max_blksize"
}

# reload_checks NAME: the checks on the running instance $INSTANCE.
reload_checks() {
	local name=$1
	write_conf "$T/conf" "[transfer]" "max_blksize = 1200"
	unit_reload "$name-ok"
	check "$name: tftpctl reload within the unit's capabilities: exit 0" \
	    assert_eq 0 "$ST" status
	check "$name: ... the changed key is in effect (max_blksize 1200)" \
	    blksize_is 1200
	{
		echo "[transfer]"
		echo "max_blksize = 1100"
		echo "timeout = nonsense"
	} >"$T/conf"
	unit_reload "$name-bad"
	check "$name: a bad file: tftpctl reload exits 1" assert_eq 1 "$ST" status
	check "$name: ... with FILE:LINE and the reason on stderr" \
	    assert_grep "^tftpctl: .*$T/conf:3:.*timeout" "$T/$name-bad.err"
	check "$name: ... and the old settings stay (max_blksize 1200)" \
	    blksize_is 1200
	write_conf "$T/conf" "[transfer]" "max_blksize = 1400"
}

# --- a root-started master -------------------------------------------------------

WORKERS=1 master_start "$R" --workers 1 -u nobody
t_kill_refused() {
	if as_unit kill -HUP "$MASTER" 2>"$T/kill.err"; then
		echo "#   kill -HUP worked without CAP_KILL?"
		return 1
	fi
	echo "#   $(cat "$T/kill.err")"
}
check "within the unit's capabilities kill -HUP of the master is refused" \
    t_kill_refused
check "the control socket: 0600, root's (never the service user's)" \
    assert_eq "600 root root" \
    "$(stat -c '%a %U %G' "$RUNDIR/$INSTANCE.ctl")" "$INSTANCE.ctl"
reload_checks standalone
check "standalone: SIGTERM, exit 0" daemon_stop "$MASTER"

# --- socket activation ------------------------------------------------------------

if command -v systemd-socket-activate >/dev/null && have_tftp_hpa; then
	PORT=$(free_port) || hard_error "no free port"
	DLOG="$T/activate.log"
	systemd-socket-activate --datagram -l "127.0.0.1:$PORT" \
	    "$TFTPD" --foreground --runtime-dir "$RUNDIR" -u nobody \
	    --config "$T/conf" "$R" >"$DLOG" 2>&1 </dev/null &
	MASTER=$!
	DAEMON_PIDS+=("$MASTER")
	INSTANCE="systemd-$PORT"
	wait_for 10 "the activator" port_bound "$PORT" ||
	    hard_error "systemd-socket-activate did not start"
	timeout 30 tftp -m binary 127.0.0.1 "$PORT" -c get s513 "$T/s513" \
	    >/dev/null 2>&1
	wait_for 10 "instance $INSTANCE" test -S "$RUNDIR/$INSTANCE.ctl" ||
	    show_log
	reload_checks "$INSTANCE"
	check "$INSTANCE: SIGTERM, exit 0" daemon_stop "$MASTER"
else
	skip "socket activation: systemd-socket-activate and tftp-hpa needed"
fi

lib_finish
