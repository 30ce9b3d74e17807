#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# systemd socket activation: systemd-socket-activate --datagram binds a
# free loopback port and starts the daemon (LISTEN_FDS, LISTEN_PID) on the
# first datagram.  Gets are served intact on that socket; the instance is
# named systemd-PORT and tftpctl reads its counters; the daemon binds no
# socket of its own; SIGTERM stops it with status 0 and its runtime files
# are removed.  With single_port one worker serves the inherited socket.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

command -v systemd-socket-activate >/dev/null ||
    skip_all "systemd-socket-activate not installed: apt-get install systemd"
need_tftp_hpa

R="$T/root"
make_root "$R"
DL="$T/dl"
mkdir -p "$DL"
write_conf "$T/conf"
RUNDIR="$T/run"

# activate CONF NAME: systemd-socket-activate on a free loopback port,
# the daemon (with CONF) to start on the first datagram; sets PORT, SPID
# and DLOG.
activate() {
	local try
	for try in 1 2 3; do
		PORT=$(free_port) || hard_error "no free port"
		DLOG="$T/$2.$PORT.log"
		systemd-socket-activate --datagram -l "127.0.0.1:$PORT" \
		    "$TFTPD" --foreground --runtime-dir "$RUNDIR" \
		    --config "$1" "$R" >"$DLOG" 2>&1 </dev/null &
		SPID=$!
		DAEMON_PIDS+=("$SPID")
		wait_until 10 port_bound "$PORT" &&
		    kill -0 "$SPID" 2>/dev/null && return 0
		sed 's/^/#   /' "$DLOG"
		kill -KILL "$SPID" 2>/dev/null
	done
	hard_error "systemd-socket-activate did not start"
}

activate "$T/conf" activate
INSTANCE="systemd-$PORT"
echo "# systemd-socket-activate (pid $SPID) on 127.0.0.1:$PORT"

# The first datagram starts the daemon in place of the activator.
t_get1() {
	timeout 30 tftp -m binary 127.0.0.1 "$PORT" -c get m1 "$DL/m1" \
	    >"$T/get1.log" 2>&1 || {
		echo "#   tftp: $(cat "$T/get1.log")"
		show_log
		return 1
	}
	assert_same_file "$R/m1" "$DL/m1"
}
check "get m1 on the activated socket: intact" t_get1

t_exec() {
	case " $(proc_cmdline "$SPID") " in
	*" --foreground "*) ;;
	*)
		echo "#   pid $SPID runs: $(proc_cmdline "$SPID")"
		return 1
		;;
	esac
}
check "the daemon runs in the activator's place (pid $SPID)" t_exec

# The client exits once it has sent the last ACK; the transfer is counted
# when the server has read it, a moment later on a loaded machine.
counted() {
	ctl -i "$INSTANCE" stats --json >"$T/st.json" 2>&1 &&
	    [ "$(json_eval "$T/st.json" "d['totals']['transfers_ok']" \
	    2>/dev/null)" = "$1" ]
}
t_stats() {
	local want=$1
	wait_for 10 "transfers_ok $want" counted "$want"
	ctl -i "$INSTANCE" stats --json >"$T/st.json" 2>&1 &&
	    json_ok "$T/st.json" &&
	    json_check "$T/st.json" "d['instance'] == '$INSTANCE' and \
	    d['master_pid'] == $SPID and d['totals']['rrq'] == $want and \
	    d['totals']['transfers_ok'] == $want" "stats"
}
check "tftpctl -i $INSTANCE stats --json shows the rrq" t_stats 1

t_get2() {
	timeout 30 tftp -m binary 127.0.0.1 "$PORT" -c get s513 "$DL/s513" \
	    >"$T/get2.log" 2>&1 || {
		echo "#   tftp: $(cat "$T/get2.log")"
		return 1
	}
	assert_same_file "$R/s513" "$DL/s513"
}
check "a second get: intact" t_get2
check "... and counted (rrq 2)" t_stats 2

# Every UDP socket of the master and its workers is the inherited one
# (127.0.0.1:PORT): the daemon bound nothing itself (no port 69).
t_no_own_socket() {
	local pids
	pids="$SPID $(worker_pids "$SPID" | tr '\n' ' ')"
	"$PYTHON" - "$PORT" $pids <<-'PYEOF'
	import os, sys
	port = int(sys.argv[1])
	udp = {}
	for f in ("/proc/net/udp", "/proc/net/udp6"):
	    try:
	        lines = open(f).read().splitlines()[1:]
	    except OSError:
	        continue
	    for l in lines:
	        x = l.split()
	        udp[x[9]] = x[1]           # inode -> local address:port (hex)
	bad, seen = [], 0
	for pid in sys.argv[2:]:
	    d = "/proc/%s/fd" % pid
	    try:
	        fds = os.listdir(d)
	    except PermissionError:
	        print("#   cannot read %s: not checked" % d)
	        sys.exit(0)
	    for fd in fds:
	        try:
	            t = os.readlink(os.path.join(d, fd))
	        except OSError:
	            continue
	        if not t.startswith("socket:["):
	            continue
	        ino = t[8:-1]
	        if ino not in udp:
	            continue          # unix sockets: log pipe, control socket
	        seen += 1
	        if udp[ino] != "0100007F:%04X" % port:
	            bad.append("pid %s fd %s: %s" % (pid, fd, udp[ino]))
	for b in bad:
	    print("#   UDP socket not the inherited one: " + b)
	if seen == 0:
	    print("#   no UDP socket found in %s" % sys.argv[2:])
	    sys.exit(1)
	sys.exit(1 if bad else 0)
	PYEOF
}
check "the daemon's only UDP socket is the inherited 127.0.0.1:$PORT" \
    t_no_own_socket

check "SIGTERM: the daemon exits with status 0" daemon_stop "$SPID"
check "its pid, shm and ctl files are removed" \
    runtime_files_gone "$RUNDIR" "$INSTANCE"

# single_port with the inherited socket: the workers would share it, so
# one worker serves (the config asks for 2), and clients are served.
write_conf "$T/conf.sp" "[server]" "workers = 2" "[transfer]" \
    "single_port = yes"
activate "$T/conf.sp" activate-sp
check "single_port: get m1 on the activated socket: intact" t_get1
check "single_port: a second get: intact" t_get2
check "single_port: one worker serves the inherited socket" \
    assert_grep "single_port: one worker serves the inherited socket" \
    "$DLOG"
check "single_port: exactly one worker runs" \
    test "$(worker_pids "$SPID" | wc -l)" -eq 1
check "single_port: SIGTERM: the daemon exits with status 0" \
    daemon_stop "$SPID"

lib_finish
