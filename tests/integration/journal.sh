#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# Logging for systemd's journal and the operator's terminal.  With stderr
# a file whose device and inode $JOURNAL_STREAM names (as systemd sets it
# for a service's stderr), every line is "<PRIO>text" without a tag of
# the daemon's own (journald adds it): info at <6>, a crashed worker at
# <4>, a worker's own warning relayed at <4>, a worker that failed its
# setup at <3>, and a startup error at <3>.  A daemon-mode start that
# fails after it has forked prints the reason on stderr (a pid file of a
# live process) and exits 1; so does one whose port is taken.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

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
ulimit -c 0	# the worker killed with SIGSEGV leaves no core
# A sanitizer build would catch the SIGSEGV and exit 1 instead: the
# crash is to be a signal here, as in a normal build.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0"
export ASAN_OPTIONS

# --- the journal's stream -------------------------------------------------------

# journal_start LOG ARGS...: the daemon in the foreground with stderr on
# LOG and JOURNAL_STREAM naming it (unless JOURNAL=no), 2 workers on a free loopback port;
# sets PORT, MASTER, INSTANCE, DLOG.
journal_start() {
	local log=$1 try
	shift
	for try in 1 2 3; do
		PORT=$(free_port) || hard_error "no free port"
		DLOG=$log
		: >"$DLOG"
		(
			exec 2>>"$DLOG"
			if [ "${JOURNAL:-yes}" = yes ]; then
				JOURNAL_STREAM=$(stat -c '%d:%i' "$DLOG")
				export JOURNAL_STREAM
			fi
			exec "$TFTPD" -L -a "127.0.0.1:$PORT" --config "$T/conf" \
			    --runtime-dir "$RUNDIR" --workers 2 "$@" "$R" \
			    </dev/null >/dev/null
		) &
		MASTER=$!
		adopt_master "$try" && return 0
	done
	hard_error "the daemon could not be started"
}

journal_start "$T/journal.log" "${USER_ARGS[@]}"
echo "# master $MASTER on 127.0.0.1:$PORT, stderr $(stat -c '%d:%i' "$DLOG")"

# A crash: the master says so at warning.
W0=$(worker_pid "$MASTER" 0)
kill -SEGV "$W0"
wait_for 10 "the crash of worker 0 logged" \
    grep -q "worker 0 (pid $W0) killed by signal 11" "$DLOG"
wait_until 10 workers_running "$MASTER" 2

# A worker that fails its setup: its own reason (a warning, relayed) and
# the master's verdict (an error).  The segment's magic is overwritten
# for the replacement of worker 1 to find, then restored.
SHMF="$RUNDIR/$INSTANCE.shm"
MAGIC=$(od -An -tx1 -N8 "$SHMF" | tr -d ' \n')
shm_magic() {
	"$PYTHON" -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.write(bytes.fromhex(sys.argv[2]))' "$SHMF" "$1"
}
W1=$(worker_pid "$MASTER" 1)
shm_magic 0000000000000000
kill -KILL "$W1"
wait_for 20 "worker 1 failing its setup" \
    grep -Eq "worker 1 \(pid [0-9]+\) failed its setup" "$DLOG"
shm_magic "$MAGIC"

check "info at <6>: the ready line" \
    assert_grep '^<6>ready: serving ' "$DLOG"
check "a relayed worker line at its own priority: <6>worker 0: ready" \
    assert_grep '^<6>worker 0: ready ' "$DLOG"
check "a crashed worker at <4>" \
    assert_grep "^<4>worker 0 \(pid $W0\) killed by signal 11" "$DLOG"
check "a worker's own warning, relayed, at <4>" \
    assert_grep '^<4>worker 1: ' "$DLOG"
check "a worker that failed its setup at <3>" \
    assert_grep '^<3>worker 1 \(pid [0-9]+\) failed its setup' "$DLOG"
check "SIGTERM: exit 0" daemon_stop "$MASTER"
check "<6>stopped" assert_grep '^<6>stopped$' "$DLOG"

# A startup error under the journal: <3>, once, and no "snowowl-tftpd:".
echo "$$" >"$T/live.pid"
(
	exec 2>"$T/journal-fail.log"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal-fail.log")
	export JOURNAL_STREAM
	exec timeout 20 "$TFTPD" -L -a "127.0.0.1:$(free_port)" \
	    --config "$T/conf" --runtime-dir "$RUNDIR" -P "$T/live.pid" \
	    "${USER_ARGS[@]}" "$R" </dev/null >/dev/null
)
ST=$?
check "a startup error under the journal: exit 1" assert_eq 1 "$ST" status
check "... logged once at <3>" assert_eq 1 \
    "$(grep -c "^<3>already running as pid $$ " "$T/journal-fail.log")" \
    "<3> lines"

# A bad configuration file and a missing root, found before the master
# starts (ExecStartPre=--check-config too): <3> as well, not the
# journal's default priority.
printf '[transfer]\ntimeout = banana\n' >"$T/bad.conf"
(
	exec 2>"$T/journal-conf.log"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal-conf.log")
	export JOURNAL_STREAM
	timeout 20 "$TFTPD" --check-config --config "$T/bad.conf" "$R" \
	    </dev/null >/dev/null
	timeout 20 "$TFTPD" --check-config --config "$T/conf" \
	    "$T/no-such-root" </dev/null >/dev/null
	timeout 20 "$TFTPD" --no-such-flag </dev/null >/dev/null
	exit 0
)
check "a configuration error under the journal at <3>, with FILE:LINE" \
    assert_grep "^<3>$T/bad.conf:2: \\[transfer\\] timeout: " \
    "$T/journal-conf.log"
check "a missing root under the journal at <3>" \
    assert_grep "^<3>root $T/no-such-root: " "$T/journal-conf.log"
check "an unknown flag under the journal at <3>" \
    assert_grep "^<3>.*no-such-flag" "$T/journal-conf.log"

# Every line of both: "<N>" first, and no tag of the daemon's own.
t_all_prefixed() {
	local f st=0
	for f in "$T/journal.log" "$T/journal-fail.log" \
	    "$T/journal-conf.log"; do
		if grep -vqE '^<[0-7]>' "$f"; then
			echo "#   lines without a <N> prefix in $f:"
			grep -vE '^<[0-7]>' "$f" | sed 's/^/#   | /' | head -n 5
			st=1
		fi
		assert_no_grep 'snowowl-tftpd(\[|:)' "$f" "$f" || st=1
	done
	return $st
}
check "every line starts with <N>, none carries a snowowl-tftpd[pid] tag" \
    t_all_prefixed

# Without JOURNAL_STREAM (or with one that is not stderr): the tag, no <N>.
JOURNAL=no journal_start "$T/plain.log" "${USER_ARGS[@]}"
check "SIGTERM: exit 0" daemon_stop "$MASTER"
t_plain() {
	assert_grep '^snowowl-tftpd\[[0-9]+\]: ready: serving ' "$DLOG" &&
	    assert_no_grep '^<[0-7]>' "$DLOG"
}
check "without the journal: tagged lines, no <N>" t_plain
(
	exec 2>"$T/plain2.log"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$T/journal.log")
	export JOURNAL_STREAM
	exec timeout 20 "$TFTPD" -L -a "127.0.0.1:$(free_port)" \
	    --config "$T/conf" --runtime-dir "$RUNDIR" -P "$T/live.pid" \
	    "${USER_ARGS[@]}" "$R" </dev/null >/dev/null
)
check "JOURNAL_STREAM naming another file: plain lines" \
    assert_grep "^snowowl-tftpd: already running as pid $$ " "$T/plain2.log"

# --- daemon mode: the reason on stderr ----------------------------------------


# daemon_fail NAME ARGS...: a daemon-mode start that must fail: exit 1,
# and its stderr in $T/NAME.err.
daemon_fail() {
	local name=$1 st
	shift
	timeout 30 "$TFTPD" --config "$T/conf" --runtime-dir "$RUNDIR" \
	    "${USER_ARGS[@]}" "$@" "$R" </dev/null >/dev/null \
	    2>"$T/$name.err"
	st=$?
	echo "#   exit $st; stderr: $(tr '\n' '|' <"$T/$name.err")"
	[ "$st" = 1 ]
}

check "daemon mode, a pid file of a live process: exit 1" \
    daemon_fail pidfile -a "127.0.0.1:$(free_port)" -P "$T/live.pid"
check "... stderr says why, not only 'see the log'" \
    assert_grep "^snowowl-tftpd: already running as pid $$ \(pid file " \
    "$T/pidfile.err"

# The same on the journal's stream (Type=forking): once, at <3>.
(
	exec 2>"$T/forking-fail.log"
	JOURNAL_STREAM=$(stat -c '%d:%i' "$T/forking-fail.log")
	export JOURNAL_STREAM
	exec timeout 30 "$TFTPD" -a "127.0.0.1:$(free_port)" --config "$T/conf" \
	    --runtime-dir "$RUNDIR" -P "$T/live.pid" "${USER_ARGS[@]}" "$R" \
	    </dev/null >/dev/null
)
check "daemon mode on the journal's stream: exit 1" assert_eq 1 "$?" status
check "... the reason once, at <3>" assert_once \
    "^<3>already running as pid $$ " "$T/forking-fail.log"
check "... and nothing without its <N>" \
    assert_no_grep '^[^<]' "$T/forking-fail.log"

# A port taken by another socket (no SO_REUSEPORT: the bind fails).
P=$(free_port)
"$PYTHON" -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
open(sys.argv[2], "w").close()
time.sleep(60)' "$P" "$T/held" &
HOLDER=$!
wait_for 10 "the port held" test -e "$T/held"
check "daemon mode, the port in use: exit 1" \
    daemon_fail inuse -a "127.0.0.1:$P"
check "... stderr says the address is in use" \
    assert_grep "^snowowl-tftpd: .*127\.0\.0\.1:$P.*in use" "$T/inuse.err"
kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null

lib_finish
