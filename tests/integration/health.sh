#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# Workers that keep dying make the master fail, visibly, instead of
# staying up serving nothing.  The daemon runs with stderr on the
# journal's stream (a file JOURNAL_STREAM names, so each line has its
# priority) and NOTIFY_SOCKET on a datagram socket this test reads:
#  - one crash (SIGSEGV) is a warning (<4>) and a new worker, the master
#    stays;
#  - a crash loop (each new worker killed with SIGSEGV) ends after 5
#    deaths in a row: <3> lines, STATUS=failed on the notify socket, exit
#    status 1, within a bounded time;
#  - a seccomp filter around the daemon (tests/helpers/sysfilter) that
#    kills a process calling landlock_create_ruleset, as systemd's
#    SystemCallFilter= kills a call outside its list: every worker dies
#    at setup with SIGSYS; the master says which filter, and exits 1.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl
[ -x "${SYSFILTER:-}" ] ||
    hard_error "SYSFILTER is not built (run through make check)"

R="$T/root"
make_root "$R"
write_conf "$T/conf"
RUNDIR=$(daemon_rundir)
mkdir -p "$RUNDIR"
if is_root; then
	USER_ARGS=(-u nobody)
else
	USER_ARGS=()
fi
ulimit -c 0	# workers killed with SIGSEGV leave no core
# A sanitizer build would catch the SIGSEGV and exit 1 instead: the
# crash is to be a signal here, as in a normal build.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"
export ASAN_OPTIONS

# notify_listen NAME: a datagram socket $T/NAME.sock whose messages are
# appended to $T/NAME.notify, one a line; sets NLPID.
notify_listen() {
	"$PYTHON" - "$T/$1.sock" "$T/$1.notify" <<-'PYEOF' &
	import os, socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	s.bind(sys.argv[1])
	os.chmod(sys.argv[1], 0o666)
	with open(sys.argv[2], "ab", buffering=0) as f:
	    open(sys.argv[2] + ".up", "w").close()
	    while True:
	        f.write(s.recv(4096) + b"\n")
	PYEOF
	NLPID=$!
	wait_for 10 "the notify listener" test -e "$T/$1.notify.up" ||
	    hard_error "notify listener did not start"
}

# health_start NAME WORKERS [PREFIX...]: the daemon (after PREFIX, a
# command such as sysfilter) in the foreground on a free loopback port,
# stderr on $T/NAME.log as the journal's stream, NOTIFY_SOCKET
# $T/NAME.sock; sets PORT, MASTER, DLOG, NOTIFY.
health_start() {
	local name=$1 n=$2
	shift 2
	notify_listen "$name"
	PORT=$(free_port) || hard_error "no free port"
	DLOG="$T/$name.log"
	NOTIFY="$T/$name.notify"
	: >"$DLOG"
	(
		exec 2>>"$DLOG"
		JOURNAL_STREAM=$(stat -c '%d:%i' "$DLOG")
		NOTIFY_SOCKET="$T/$name.sock"
		export JOURNAL_STREAM NOTIFY_SOCKET
		exec "$@" "$TFTPD" -L -a "127.0.0.1:$PORT" --config "$T/conf" \
		    --runtime-dir "$RUNDIR" --workers "$n" "${USER_ARGS[@]}" \
		    "$R" </dev/null >/dev/null
	) &
	MASTER=$!
	DPID=$MASTER
	DAEMON_PIDS+=("$MASTER")
	INSTANCE="127.0.0.1-$PORT"
}

# master_status: wait (bounded) for the master to exit; its status in ST.
master_status() {
	ST=none
	wait_pid_gone "$MASTER" "$1" || return 1
	wait "$MASTER"
	ST=$?
}

# --- one crash -------------------------------------------------------------

health_start one 1
wait_for 10 "READY=1" grep -q '^READY=1' "$NOTIFY" ||
    { show_log; hard_error "the daemon did not start"; }
W=$(worker_pid "$MASTER" 0)
kill -SEGV "$W"
new_worker() {
	NEW=$(worker_pid "$MASTER" 0) && [ "$NEW" != "$W" ]
}
check "one crash: a new worker runs" wait_for 10 "a new worker" new_worker
check "one crash: logged as a warning (<4>)" \
    assert_grep "^<4>worker 0 \(pid $W\) killed by signal 11" "$DLOG"
check "one crash: the master still runs" daemon_alive "$MASTER"
check "one crash: nothing at error priority" assert_no_grep '^<[0-3]>' "$DLOG"
check "one crash: no STATUS=failed" assert_no_grep 'STATUS=failed' "$NOTIFY"
check "one crash: SIGTERM, exit 0" daemon_stop "$MASTER"
kill "$NLPID" 2>/dev/null

# --- a crash loop ------------------------------------------------------------

health_start loop 1
wait_for 10 "READY=1" grep -q '^READY=1' "$NOTIFY" ||
    { show_log; hard_error "the daemon did not start"; }
# Each new worker is killed as soon as it is seen, at most 20 times.
W=""
KILLS=0
T0=$(now_ms)
new_or_gone() {
	new_worker || ! kill -0 "$MASTER" 2>/dev/null
}
for ((i = 0; i < 20; i++)); do
	wait_until 15 new_or_gone && new_worker || break
	kill -SEGV "$NEW" 2>/dev/null && KILLS=$((KILLS + 1))
	W=$NEW
done
master_status 30
T1=$(now_ms)
echo "# $KILLS workers killed; the master exited $ST after $((T1 - T0)) ms"
check "a crash loop: the master exits with status 1" assert_eq 1 "$ST" status
check "... within 30 s of the first kill" test $((T1 - T0)) -lt 30000
check "... after 5 deaths in a row (and no more than the kills)" \
    test "$KILLS" -ge 5 -a "$KILLS" -le 6
check "... logged at <3>: the worker keeps dying" \
    assert_grep '^<3>worker 0 keeps dying: 5 times in a row within 10 s of its start, last \(pid [0-9]+\) killed by signal 11 .*: not restarted$' \
    "$DLOG"
check "... logged at <3>: no worker left" \
    assert_grep '^<3>no worker left: stopping$' "$DLOG"
check "... STATUS=failed on the notify socket" \
    assert_grep '^STATUS=failed: no worker left \(worker 0 keeps dying' \
    "$NOTIFY"
kill "$NLPID" 2>/dev/null

# --- a sandbox the service manager refuses ------------------------------------

health_start seccomp 2 "$SYSFILTER" -k landlock_create_ruleset --
T0=$(now_ms)
master_status 60
T1=$(now_ms)
echo "# under the filter the master exited $ST after $((T1 - T0)) ms"
check "SIGSYS at every worker's setup: the master exits with status 1" \
    assert_eq 1 "$ST" status
check "... each worker given up at <3>, the filter named" \
    test "$(grep -cE '^<3>worker [01] keeps dying: .*signal 31 .*SystemCallFilter=' \
    "$DLOG")" = 2
check "... STATUS=degraded when the first slot went" \
    assert_grep '^STATUS=degraded: worker [01] keeps dying.*; 1 of 2 workers left' \
    "$NOTIFY"
check "... STATUS=failed when the last one did" \
    assert_grep '^STATUS=failed: no worker left' "$NOTIFY"
check "... every line of its stderr has its <N> priority" \
    assert_no_grep '^[^<]' "$DLOG"
kill "$NLPID" 2>/dev/null

lib_finish
