#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# inetd mode under a real inetd (openbsd-inetd, else xinetd) on a free
# loopback port: "wait" dgram service, the daemon gets the socket on fd 0.
# A tftp-hpa get through it compares intact; the instance is named
# inetd-PORT (tftpctl reads it); the daemon exits by itself after its
# idle period (-t 2) and removes its runtime files; the next get is served
# by a new instance that inetd starts.  The inetd line carries a remap
# file (-m), as tftp-hpa users' lines do: the second get asks for an alias.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

is_root || skip_all "inetd starts the server as root: run as root"
need_tftp_hpa
# INETD=inetd or INETD=xinetd in the environment picks one.
case ${INETD:-} in
inetd | xinetd)
	command -v "$INETD" >/dev/null || skip_all "INETD=$INETD: not installed"
	;;
"")
	if command -v inetd >/dev/null; then
		INETD=inetd
	elif command -v xinetd >/dev/null; then
		INETD=xinetd
	else
		skip_all "no inetd: apt-get install openbsd-inetd (or xinetd)"
	fi
	;;
*)
	hard_error "INETD must be inetd or xinetd, not '$INETD'"
	;;
esac

IDLE=2			# -t: the daemon's idle exit
R="$T/root"
make_root "$R"
DL="$T/dl"
mkdir -p "$DL"
write_conf "$T/conf"
RUNDIR="$T/run"
PORT=$(free_port) || hard_error "no free port"
INSTANCE="inetd-$PORT"
printf '%s\n' '# an alias, as tftp-hpa rules write one' 'r ^alias513$ s513' \
    >"$T/rules"
ARGS="-s $R -m $T/rules --runtime-dir $RUNDIR -t $IDLE --config $T/conf"

if [ "$INETD" = inetd ]; then
	# BSD inetd.conf: "address:port" service field, numeric port.
	echo "127.0.0.1:$PORT dgram udp wait root $TFTPD snowowl-tftpd $ARGS" \
	    >"$T/inetd.conf"
	inetd -d "$T/inetd.conf" >"$T/inetd.log" 2>&1 </dev/null &
else
	cat >"$T/inetd.conf" <<-EOF
	service snowowl-tftpd-test
	{
		type		= UNLISTED
		socket_type	= dgram
		protocol	= udp
		port		= $PORT
		bind		= 127.0.0.1
		wait		= yes
		user		= root
		server		= $TFTPD
		server_args	= $ARGS
	}
	EOF
	xinetd -f "$T/inetd.conf" -dontfork -pidfile "$T/xinetd.pid" \
	    >"$T/inetd.log" 2>&1 </dev/null &
fi
IPID=$!
DAEMON_PIDS+=("$IPID")
if ! wait_until 10 port_bound "$PORT"; then
	sed 's/^/#   /' "$T/inetd.log"
	if kill -0 "$IPID" 2>/dev/null; then
		hard_error "$INETD did not bind 127.0.0.1:$PORT within 10 s"
	fi
	skip_all "$INETD did not start (log above)"
fi
echo "# $INETD (pid $IPID) on 127.0.0.1:$PORT"

# server_pid: the live daemon inetd started (its child; not a zombie).
server_pid() {
	local c
	for c in $(child_pids "$IPID"); do
		case " $(proc_cmdline "$c") " in
		*" --runtime-dir $RUNDIR "*)
			echo "$c"
			return 0
			;;
		esac
	done
	return 1
}

show_inetd_log() {
	echo "# $INETD log:"
	sed 's/^/#   /' "$T/inetd.log" | tail -n "${1:-20}"
}

# --- the first get ---------------------------------------------------------

t_get1() {
	timeout 30 tftp -m binary 127.0.0.1 "$PORT" -c get m1 "$DL/m1" \
	    >"$T/get1.log" 2>&1 || {
		echo "#   tftp: $(cat "$T/get1.log")"
		show_inetd_log 20
		return 1
	}
	assert_same_file "$R/m1" "$DL/m1"
}
check "tftp-hpa get m1 through $INETD: intact" t_get1
GET1_END=$(now_ms)
D1=$(server_pid)
check "the daemon $INETD started is still there just after the get" \
    test -n "$D1"

t_stats() {
	ctl -i "$INSTANCE" stats --json >"$T/st.json" 2>&1 &&
	    json_ok "$T/st.json" &&
	    json_check "$T/st.json" "d['instance'] == '$INSTANCE' and \
	    d['master_pid'] == ${D1:-0} and d['totals']['rrq'] == 1 and \
	    d['totals']['transfers_ok'] == 1" "stats"
}
check "tftpctl -i $INSTANCE stats --json: rrq 1, transfers_ok 1" t_stats

t_idle_exit() {
	local dt
	[ -n "$D1" ] || return 1
	if ! wait_pid_gone "$D1" $((IDLE + 6)); then
		echo "#   daemon $D1 still runs $((IDLE + 6)) s after the get"
		return 1
	fi
	dt=$(($(now_ms) - GET1_END))
	echo "#   exited ${dt} ms after the get"
	if [ "$dt" -lt $(((IDLE - 1) * 1000)) ]; then
		echo "#   too early for an idle period of $IDLE s"
		return 1
	fi
}
check "the daemon exits by itself after the idle period (-t $IDLE)" \
    t_idle_exit

# openbsd-inetd -d logs each wait status it reaps.
t_status0() {
	inetd_reaped() {
		grep -Eq "^$D1 reaped, status" "$T/inetd.log"
	}
	wait_until 3 inetd_reaped &&
	    assert_grep "^$D1 reaped, status 0\$" "$T/inetd.log" "inetd log"
}
if [ "$INETD" = inetd ] && grep -q '^ADD: ' "$T/inetd.log"; then
	check "inetd reaped it with wait status 0" t_status0
fi

check "the idle daemon removed its pid, shm and ctl files" \
    runtime_files_gone "$RUNDIR" "$INSTANCE"

# --- the second get: a new instance ------------------------------------------

t_get2() {
	rm -f "$DL/s513"
	timeout 30 tftp -m binary 127.0.0.1 "$PORT" -c get alias513 "$DL/s513" \
	    >"$T/get2.log" 2>&1 || {
		echo "#   tftp: $(cat "$T/get2.log")"
		show_inetd_log 20
		return 1
	}
	assert_same_file "$R/s513" "$DL/s513"
}
check "a second get after the exit, of an alias (-m), is served intact" t_get2
D2=$(server_pid)
t_new_instance() {
	if [ -z "$D2" ]; then
		echo "#   no daemon running under $INETD after the second get"
		return 1
	fi
	if [ "$D2" = "$D1" ]; then
		echo "#   the same process $D1 served it"
		return 1
	fi
}
check "... by a new instance started by $INETD" t_new_instance
if [ -n "$D2" ]; then
	check "the second instance exits after its idle period too" \
	    wait_pid_gone "$D2" $((IDLE + 6))
fi

kill -TERM "$IPID" 2>/dev/null
wait_pid_gone "$IPID" 5 || kill -KILL "$IPID" 2>/dev/null

lib_finish
