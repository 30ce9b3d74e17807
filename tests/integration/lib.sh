# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# Helpers for the shell integration tests (bash; sourced, not run).
#
# A test does:
#	. "$(dirname "$0")/lib.sh"
#	lib_init			# temp dir, cleanup trap, $TFTPD checks
#	make_root "$T/root"		# test files
#	daemon_start "$T/root" -c	# foreground daemon on a free port
#	check "what" cmd ...		# prints "ok - what" / "not ok - what"
#	daemon_stop
#	lib_finish			# exit 0, 1 (a failure) or 77 (skips)
#
# Exit codes follow automake: 0 pass, 77 skip, 99 hard error, else fail.

set -u

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TFTPRAW="$LIB_DIR/tftpraw.py"
PYTHON=${PYTHON:-python3}

T=""			# per-test temp dir
FAILS=0
PASSES=0
SKIPS=()
DAEMON_PIDS=()
PORT=""			# port of the last daemon started
DPID=""			# its pid
DLOG=""			# its stderr

hard_error() {
	echo "ERROR: $*" >&2
	exit 99
}

lib_cleanup() {
	local pid
	# Workers live in process groups of their own: note them before
	# their master goes, kill what is left of them afterwards.
	lib_note_children
	for pid in "${DAEMON_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${DAEMON_PIDS[@]}"; do
		wait_pid_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null
	done
	lib_kill_leftovers
	if [ -n "$T" ] && [ -d "$T" ]; then
		rm -rf "$T"
	fi
}

lib_init() {
	if [ -z "${TFTPD:-}" ] && [ -n "${TOP_BUILDDIR:-}" ]; then
		TFTPD="$TOP_BUILDDIR/src/snowowl-tftpd"
	fi
	[ -n "${TFTPD:-}" ] || hard_error "TFTPD is not set (run through make check)"
	[ -x "$TFTPD" ] || hard_error "daemon not built: $TFTPD"
	command -v "$PYTHON" >/dev/null || hard_error "python3 is required"
	command -v timeout >/dev/null || hard_error "timeout (coreutils) is required"
	T=$(mktemp -d "${TMPDIR:-/tmp}/snowowl-it.XXXXXX") ||
	    hard_error "mktemp failed"
	# The daemon drops to tftp/nobody when started as root: it must be
	# able to read its config and, for uploads, write into the root.
	chmod 0755 "$T"
	trap lib_cleanup EXIT
	trap 'exit 99' INT TERM HUP
}

# --- results ---------------------------------------------------------------

pass() {
	PASSES=$((PASSES + 1))
	echo "ok - $*"
}

fail() {
	FAILS=$((FAILS + 1))
	echo "not ok - $*"
}

skip() {
	SKIPS+=("$*")
	echo "ok - # SKIP $*"
}

# check "what" cmd args...: run the command, pass if it exits 0.
check() {
	local what=$1
	shift
	if "$@"; then
		pass "$what"
	else
		fail "$what"
	fi
}

# Assertions: print why on failure, return non-zero.
assert_same_file() {	# expected actual
	if [ ! -e "$2" ]; then
		echo "#   missing: $2"
		return 1
	fi
	if ! cmp -s "$1" "$2"; then
		echo "#   differ: $1 ($(stat -c %s "$1") bytes)" \
		    "vs $2 ($(stat -c %s "$2") bytes): $(cmp "$1" "$2" 2>&1 | head -1)"
		return 1
	fi
}

assert_eq() {		# expected actual [label]
	if [ "$1" != "$2" ]; then
		echo "#   ${3:-value}: expected '$1', got '$2'"
		return 1
	fi
}

# run_exit CODE OUT CMD...: run (bounded), the exit status must be CODE;
# stdout and stderr go to OUT.
run_exit() {
	local want=$1 out=$2 st
	shift 2
	timeout 10 "$@" >"$out" 2>&1
	st=$?
	if [ "$st" = 124 ]; then
		echo "#   did not exit within 10 s: $*"
		return 1
	fi
	if [ "$st" != "$want" ]; then
		echo "#   exit status $st, expected $want: $*"
		sed 's/^/#   | /' "$out" | tail -n 10
		return 1
	fi
}

assert_grep() {		# ERE file [label]
	if ! grep -Eq -- "$1" "$2"; then
		echo "#   ${3:-output} does not match /$1/:"
		sed 's/^/#     /' "$2" | tail -n 20
		return 1
	fi
}

assert_no_grep() {	# ERE file [label]
	if grep -Eq -- "$1" "$2"; then
		echo "#   ${3:-output} unexpectedly matches /$1/:"
		grep -E -- "$1" "$2" | sed 's/^/#     /' | head -n 5
		return 1
	fi
}

lib_finish() {
	echo "# $PASSES passed, $FAILS failed, ${#SKIPS[@]} skipped"
	if [ "$FAILS" -ne 0 ]; then
		exit 1
	fi
	if [ "${#SKIPS[@]}" -ne 0 ]; then
		echo "# SKIPPED (the rest passed):"
		printf '#   %s\n' "${SKIPS[@]}"
		exit 77
	fi
	exit 0
}

# --- test data -------------------------------------------------------------

# make_root DIR: the files every test uses.  Sizes around one block,
# 1 MiB, 33 MiB (more than 65535 blocks of 512: block numbers wrap) and a
# text file for netascii with LF, CR, CRLF, CR NUL and line ends split
# across 512-byte boundaries.
make_root() {
	local r=$1
	mkdir -p "$r" || hard_error "mkdir $r"
	: >"$r/z0"
	head -c 511 /dev/urandom >"$r/s511"
	head -c 512 /dev/urandom >"$r/s512"
	head -c 513 /dev/urandom >"$r/s513"
	head -c 1048576 /dev/urandom >"$r/m1"
	if [ -n "${WITH_BIG:-}" ]; then
		head -c $((33 * 1048576)) /dev/urandom >"$r/big"
	fi
	"$PYTHON" - "$r/text.txt" <<-'EOF' || hard_error "text.txt"
	import sys
	out = bytearray()
	# line ends exactly on, before and after the 512-byte boundaries of the
	# raw and the encoded stream
	for n in range(1, 700, 37):
	    out += b"x" * (n % 509) + b"\n"
	    out += b"y" * ((n * 7) % 511) + b"\r\n"
	    out += b"cr only\r" + b"z" * (n % 13) + b"\r\0nul\n"
	for pad in (509, 510, 511, 512, 513):
	    out += b"p" * pad + b"\r"
	    out += b"q" * pad + b"\n"
	out += b"tail\r\n\n\r\r\n"
	out += bytes(range(256))
	out += b"ends with CR\r"
	open(sys.argv[1], "wb").write(out)
	EOF
	chmod 0755 "$r"
	chmod 0644 "$r"/*
}

# The netascii encoding of a file, computed here (not by the daemon).
netascii_of() {		# in out
	"$PYTHON" "$TFTPRAW" netascii "$1" "$2"
}

free_port() {		# [4|6]
	"$PYTHON" "$TFTPRAW" freeport "${1:-4}"
}

# port_bound PORT: a UDP socket has the local port PORT.  Read from the
# kernel's socket tables: a test bind of the port would hold it for a
# moment, and a program binding it just then would fail.
port_bound() {
	awk -v p="$(printf '%04X' "$1")" 'FNR > 1 {
		split($2, a, ":")
		if (a[2] == p)
			found = 1
	}
	END { exit !found }' /proc/net/udp /proc/net/udp6 2>/dev/null
}

have_ipv6() {
	"$PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' 2>/dev/null
}

# --- the daemon ------------------------------------------------------------

# need_user_nobody: root, and no tftp user (see write_conf).
need_user_nobody() {
	[ "$(id -u)" = 0 ] && ! id tftp >/dev/null 2>&1
}

# write_conf FILE [extra ini lines...]: timeout 1 s, 3 retries, so every
# give-up is bounded to a few seconds.
# As root without a tftp user the file names nobody: a master started as
# root never falls back to it unasked.
write_conf() {
	local f=$1
	shift
	{
		if need_user_nobody; then
			echo "[server]"
			echo "user = nobody"
		fi
		# A test fires requests from 127.0.0.1 faster than any
		# client would: the per-client limits' defaults (20/s)
		# would refuse some.  limits.sh sets them, later in the
		# file (the last value of a key counts).
		echo "[limits]"
		echo "per_client_transfers = 0"
		echo "per_client_rate = 0"
		echo "[transfer]"
		echo "timeout = 1"
		echo "retries = 3"
		for l in "$@"; do
			echo "$l"
		done
	} >"$f"
	chmod 0644 "$f"
}

wait_pid_gone() {	# pid seconds
	local i n=$(($2 * 10))
	for ((i = 0; i < n; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# The runtime directory of daemon_start: $T/run, or with DAEMON_WRAP (a
# daemon started as another user) $T/run-wrap made by root for that user
# (a master not started as root wants its own directory, 0755).  Never
# the system's /run.
daemon_rundir() {
	local d="$T/run" u g
	if [ -n "${DAEMON_WRAP:-}" ]; then
		d="$T/run-wrap"
		if [ ! -d "$d" ]; then
			u=$($DAEMON_WRAP id -u) && g=$($DAEMON_WRAP id -g) &&
			    mkdir -m 0755 "$d" && chown "$u:$g" "$d" ||
			    hard_error "cannot make $d for the wrapped daemon"
		fi
	fi
	echo "$d"
}

# daemon_start ROOT [daemon args...]: start in the foreground on a free
# 127.0.0.1 port (also [::1] on the same port when DAEMON_V6=1) with
# $T/conf (written by write_conf if missing) and --runtime-dir
# $DAEMON_RUNDIR (default: daemon_rundir); sets PORT, DPID, DLOG.
# Waits (bounded) until it answers.  Prefix with a command (setpriv...)
# through DAEMON_WRAP.
daemon_start() {
	local root=$1
	shift
	local try addrs rundir
	[ -f "$T/conf" ] || write_conf "$T/conf"
	rundir=${DAEMON_RUNDIR:-$(daemon_rundir)}
	[ -n "$rundir" ] || hard_error "no runtime directory"
	for try in 1 2 3; do
		PORT=$(free_port 4) || hard_error "no free port"
		addrs=(-a "127.0.0.1:$PORT")
		if [ "${DAEMON_V6:-0}" = 1 ]; then
			addrs+=(-a "[::1]:$PORT")
		fi
		DLOG="$T/daemon.$PORT.log"
		${DAEMON_WRAP:-} "$TFTPD" -L "${addrs[@]}" --config "$T/conf" \
		    --runtime-dir "$rundir" "$@" "$root" >"$DLOG" 2>&1 \
		    </dev/null &
		DPID=$!
		DAEMON_PIDS+=("$DPID")
		if "$PYTHON" "$TFTPRAW" ping 127.0.0.1 "$PORT" 10; then
			return 0
		fi
		if kill -0 "$DPID" 2>/dev/null; then
			echo "# daemon on port $PORT does not answer; its log:"
			sed 's/^/#   /' "$DLOG" | tail -n 20
			kill -KILL "$DPID" 2>/dev/null
			hard_error "daemon did not answer within 10 s"
		fi
		# It exited: the port may have been taken meanwhile; retry.
		echo "# daemon exited at start (try $try); its log:"
		sed 's/^/#   /' "$DLOG" | tail -n 20
	done
	hard_error "daemon could not be started"
}

# daemon_stop [pid]: SIGTERM, bounded wait; fails (returns 1) if the
# daemon had already died, did not stop or exited non-zero (a sanitizer
# report, for example).
daemon_stop() {
	local pid=${1:-$DPID} st
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null
		echo "#   daemon $pid was not running any more (status $?)"
		return 1
	fi
	kill -TERM "$pid"
	if ! wait_pid_gone "$pid" 5; then
		echo "#   daemon $pid did not stop within 5 s of SIGTERM"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 1
	fi
	wait "$pid"
	st=$?
	if [ "$st" -ne 0 ]; then
		echo "#   daemon $pid exited with status $st"
		return 1
	fi
}

daemon_alive() {	# [pid]
	local pid=${1:-$DPID} state
	state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' \
	    "/proc/$pid/status" 2>/dev/null)
	case $state in
	R | S | D) return 0 ;;
	esac
	echo "#   daemon $pid is not running (state '${state:-gone}')"
	return 1
}

# log_count OP FILE: transfers of FILE the daemon has logged so far.
log_count() {
	grep -cF "op=$1 file=\"$2\" " "$DLOG"
}

# logged_since OP FILE N0: more than N0 of them.
logged_since() {
	[ "$(log_count "$1" "$2")" -gt "$3" ]
}

show_log() {		# [file]
	echo "# daemon log (last lines):"
	sed 's/^/#   /' "${1:-$DLOG}" | tail -n "${2:-30}"
}

# --- the master, its workers and tftpctl ---------------------------------

RUNDIR=""		# --runtime-dir of the masters started by master_start
INSTANCE=""		# instance name of the last one ("127.0.0.1-PORT")
MASTER=""		# its pid (= DPID)

# need_tftpctl: $TFTPCTL (from make check, or the build tree) must exist.
need_tftpctl() {
	if [ -z "${TFTPCTL:-}" ] && [ -n "${TOP_BUILDDIR:-}" ]; then
		TFTPCTL="$TOP_BUILDDIR/src/tftpctl"
	fi
	[ -n "${TFTPCTL:-}" ] ||
	    hard_error "TFTPCTL is not set (run through make check)"
	[ -x "$TFTPCTL" ] || hard_error "tftpctl not built: $TFTPCTL"
}

is_root() {
	[ "$(id -u)" = 0 ]
}

# skip_all MESSAGE: nothing of this test can run here; exit 77.
skip_all() {
	echo "# SKIP: $*"
	exit 77
}

# assert_once ERE FILE: exactly one line of FILE matches.
assert_once() {
	local n
	n=$(grep -cE -- "$1" "$2")
	[ "$n" = 1 ] && return 0
	echo "#   $n lines match /$1/ in $2:"
	sed 's/^/#   | /' "$2" | tail -n 20
	return 1
}

# adopt_master TRY: the master a test started itself in the background
# ($MASTER, listening on 127.0.0.1:$PORT, stderr in $DLOG) is tracked
# for cleanup and answers with 2 workers: 0.  Otherwise its log is shown,
# it is killed, and 1 lets the caller try again on another port.
adopt_master() {
	DPID=$MASTER
	DAEMON_PIDS+=("$MASTER")
	INSTANCE="127.0.0.1-$PORT"
	if "$PYTHON" "$TFTPRAW" ping 127.0.0.1 "$PORT" 10 &&
	    wait_until 10 workers_running "$MASTER" 2; then
		return 0
	fi
	echo "# the master did not start (try $1); its log:"
	sed 's/^/#   /' "$DLOG" | tail -n 20
	kill -KILL "$MASTER" 2>/dev/null
	return 1
}

# have_tftp_hpa: the tftp-hpa client is "tftp" here (not another tftp).
have_tftp_hpa() {
	command -v tftp >/dev/null && tftp -V 2>&1 | grep -q tftp-hpa
}

# need_tftp_hpa: skip the whole test without the tftp-hpa client.
need_tftp_hpa() {
	have_tftp_hpa ||
	    skip_all "the tftp-hpa client (tftp) is required: apt-get install tftp-hpa"
}

now_ms() {
	date +%s%3N
}

# wait_until SECONDS CMD...: run CMD every 50 ms until it succeeds (0) or
# SECONDS (an integer) have passed (1); never more than 20 tries a second
# of the bound, however fast CMD returns.
wait_until() {
	local end=$(($(now_ms) + $1 * 1000)) i n=$(($1 * 20 + 1))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.05
	done
	return 1
}

# wait_for SECONDS WHAT CMD...: wait_until, and when CMD never succeeds,
# say what was awaited.  Use it where a test waits for a condition: the
# bound is generous (a loaded machine is slow, a poll costs nothing when
# the condition already holds) and the failure names what did not happen.
wait_for() {
	local secs=$1 what=$2
	shift 2
	wait_until "$secs" "$@" && return 0
	echo "#   not seen within $secs s: $what"
	return 1
}

# child_pids PID: its children, one per line (zombies included).
child_pids() {
	ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '
}

# descendant_pids PID: children, grandchildren...
descendant_pids() {
	local c
	for c in $(child_pids "$1"); do
		echo "$c"
		descendant_pids "$c"
	done
}

proc_cmdline() {	# pid: argv joined by spaces
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null
}

# proc_status PID FIELD: the value of a /proc/PID/status line, tabs and
# runs of spaces squeezed to one space.
proc_status() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null |
	    tr -s '\t ' '  ' | sed 's/ *$//'
}

# worker_pids MASTER: the live worker processes (children started with
# --worker; a zombie has no command line and is not listed), sorted.
worker_pids() {
	local c
	for c in $(child_pids "$1"); do
		case " $(proc_cmdline "$c") " in
		*" --worker "*)
			echo "$c"
			[ -n "$T" ] && echo "$c" >>"$T/.seen_pids"
			;;
		esac
	done | sort -n
}

# worker_pid MASTER K: the live process of worker slot K.
worker_pid() {
	local c
	for c in $(child_pids "$1"); do
		case " $(proc_cmdline "$c") " in
		*" --worker $2 "*)
			echo "$c"
			return 0
			;;
		esac
	done
	return 1
}

# Pids to kill at the end if they are still the daemon (workers run in
# process groups of their own and outlive a killed master until their
# drain ends).
lib_note_children() {
	local pid
	[ -n "$T" ] && [ -d "$T" ] || return 0
	for pid in "${DAEMON_PIDS[@]}"; do
		descendant_pids "$pid" >>"$T/.seen_pids"
	done
}

lib_kill_leftovers() {
	local pid exe want
	[ -n "$T" ] && [ -f "$T/.seen_pids" ] || return 0
	want=$(readlink -f "${TFTPD:-/nonexistent}")
	for pid in $(sort -un "$T/.seen_pids"); do
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
		exe=${exe% (deleted)}
		[ "$exe" = "$want" ] && kill -KILL "$pid" 2>/dev/null
	done
}

# ctl ARGS...: tftpctl on $RUNDIR, bounded.
ctl() {
	timeout 20 "$TFTPCTL" -d "$RUNDIR" "$@"
}

# json_ok FILE: the file holds one valid JSON document.
json_ok() {
	"$PYTHON" -c 'import json, sys; json.load(open(sys.argv[1]))' "$1" \
	    2>/dev/null && return 0
	echo "#   not valid JSON: $1"
	sed 's/^/#   | /' "$1" | head -n 10
	return 1
}

# json_eval FILE EXPR: print the Python expression EXPR evaluated with d =
# the document (lists joined by spaces).
json_eval() {
	"$PYTHON" - "$1" "$2" <<-'PYEOF'
	import json, sys
	d = json.load(open(sys.argv[1]))
	v = eval(sys.argv[2])
	if isinstance(v, (list, tuple)):
	    print(" ".join(str(x) for x in v))
	else:
	    print(v)
	PYEOF
}

# json_check FILE EXPR [label]: EXPR (Python, d = the document) is true.
json_check() {
	local v
	v=$(json_eval "$1" "$2" 2>&1)
	if [ "$v" != True ]; then
		echo "#   ${3:-check} failed: $2 -> $v"
		return 1
	fi
}

# workers_running MASTER N: tftpctl shows N slots, all running, with the
# pids that are the master's live worker children.
workers_running() {
	local out="$T/.workers.json" want
	ctl -i "$INSTANCE" workers --json >"$out" 2>/dev/null || return 1
	want=$(worker_pids "$1" | tr '\n' ' ')
	json_check "$out" "len(d) == $2 and all(w['state'] == 'running' \
	    for w in d) and sorted(w['pid'] for w in d) == \
	    sorted(int(p) for p in '$want'.split())" >/dev/null
}

# master_start ROOT [daemon args...]: daemon_start with --runtime-dir
# $RUNDIR ($T/run unless set); sets MASTER and INSTANCE and waits until
# the runtime files exist and every worker runs (WORKERS, default 1 when
# --workers is not given).
master_start() {
	local root=$1 n=${WORKERS:-1}
	shift
	[ -n "$RUNDIR" ] || RUNDIR="$T/run"
	DAEMON_RUNDIR=$RUNDIR daemon_start "$root" "$@"
	MASTER=$DPID
	INSTANCE="127.0.0.1-$PORT"
	if ! wait_until 10 workers_running "$MASTER" "$n"; then
		echo "# master $MASTER: $n running workers not seen in 10 s"
		ctl -i "$INSTANCE" workers 2>&1 | sed 's/^/#   /'
		show_log "$DLOG"
		hard_error "the master did not start its workers"
	fi
}

# slow_get PORT FILE OUT PAUSE HOLD [name=value...]: a raw RRQ from
# 127.0.0.1 that waits PAUSE seconds before each ACK while the file HOLD
# exists, and ACKs at once when it is gone: the test makes HOLD, starts
# the download, looks at it for as long as it needs, then removes HOLD.
# (Bounded all the same: FILE's block count times PAUSE.  Keep PAUSE
# well below the server's timeout, or the held DATA is retransmitted.)
# Writes OUT.port (the client's port) when the first DATA is in,
# OUT.verified when the second is (so the server has had an ACK: the
# transfer is no longer unverified, and never evicted), OUT when the
# whole file is.  Exit 0 on success; on an ERROR or silence, prints
# it and exits 1.
slow_get() {
	"$PYTHON" - "$LIB_DIR" "$@" <<-'PYEOF'
	import os, sys, time
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	port, name, out = int(sys.argv[2]), sys.argv[3], sys.argv[4]
	pause, hold = float(sys.argv[5]), sys.argv[6]
	opts = [tuple(a.split("=", 1)) for a in sys.argv[7:]]
	with t.Client("127.0.0.1", port, timeout=5.0) as c:
	    c.send_request(t.rrq(name, options=opts))
	    p = c.recv()
	    blksize = 512
	    if p is not None and p.op == t.OACK:
	        blksize = int(p.opt("blksize") or 512)
	        c.send(t.ack(0))
	        p = c.recv()
	    data = bytearray()
	    expect, last_ack, tries = 1, None, 0
	    while True:
	        if p is None:
	            tries += 1
	            if last_ack is None or tries > 5:
	                print("silence waiting for DATA %d" % expect)
	                sys.exit(1)
	            c.send(last_ack)
	            p = c.recv()
	            continue
	        if p.op == t.ERROR:
	            print("ERROR %d %s" % (p.code, p.msg))
	            sys.exit(1)
	        if p.op != t.DATA:
	            print("unexpected %r" % p)
	            sys.exit(1)
	        if p.block == (expect & 0xffff):
	            if expect == 1:
	                with open(out + ".port", "w") as f:
	                    f.write("%d\n" % c.port)
	            # DATA 2 follows our ACK 1: the server has heard us.
	            if expect == 2:
	                with open(out + ".verified", "w") as f:
	                    f.write("%d\n" % c.port)
	            tries = 0
	            data += p.payload
	            if os.path.exists(hold):
	                time.sleep(pause)
	            last_ack = t.ack(expect)
	            c.send(last_ack)
	            if len(p.payload) < blksize:
	                break
	            expect += 1
	        p = c.recv()
	with open(out, "wb") as f:
	    f.write(data)
	PYEOF
}

# first_answer PORT FILE [name=value...]: send one RRQ from a new port,
# print the first answer ("ERROR 0 'msg'", "OACK [...]", "DATA 1 (...)")
# or "none" after 3 s.
first_answer() {
	"$PYTHON" - "$LIB_DIR" "$@" <<-'PYEOF'
	import sys
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	port, name = int(sys.argv[2]), sys.argv[3]
	opts = [tuple(a.split("=", 1)) for a in sys.argv[4:]]
	with t.Client("127.0.0.1", port) as c:
	    c.send_request(t.rrq(name, options=opts))
	    p = c.recv(3.0)
	    print("none" if p is None else repr(p))
	    if p is not None and p.op in (t.OACK, t.DATA):
	        c.send(t.error(0, "enough"))
	PYEOF
}

# answer_from SOURCE OP FILE [SECONDS]: first_answer from a chosen source
# address, for a WRQ too, printed as the tests compare it: one request (OP
# rrq or wrq) from
# SOURCE to 127.0.0.1:$PORT; prints the first answer: "DATA", "ERROR n
# msg", another packet as tftpraw shows it ("ACK 0", "OACK ..."), or
# "none" after SECONDS (default 3).  A transfer that started is ended
# with an ERROR of ours.
answer_from() {
	"$PYTHON" - "$LIB_DIR" "$PORT" "$@" <<-'PYEOF'
	import sys
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	port, src, op, name = int(sys.argv[2]), sys.argv[3], sys.argv[4], \
	    sys.argv[5]
	secs = float(sys.argv[6]) if len(sys.argv) > 6 else 3.0
	with t.Client("127.0.0.1", port, source=src) as c:
	    c.send_request(t.rrq(name) if op == "rrq" else t.wrq(name))
	    p = c.recv(secs)
	    if p is None:
	        print("none")
	    elif p.op == t.ERROR:
	        print("ERROR %d %s" % (p.code, p.msg))
	    else:
	        print("DATA" if p.op == t.DATA else repr(p))
	        c.send(t.error(0, "enough"))
	PYEOF
}

# --- the daemon's counters (needs INSTANCE) ---------------------------------

# stats NAME: tftpctl stats --json > $T/NAME.json, valid.
stats() {
	ctl -i "$INSTANCE" stats --json >"$T/$1.json" 2>"$T/ctl.err" || {
		echo "#   tftpctl stats --json failed:"
		sed 's/^/#   | /' "$T/ctl.err"
		return 1
	}
	json_ok "$T/$1.json"
}

# delta NEW OLD KEY: totals[KEY] in NEW.json minus OLD.json
delta() {
	echo $(($(json_eval "$T/$1.json" "d['totals']['$3']") - \
	    $(json_eval "$T/$2.json" "d['totals']['$3']")))
}

# --- atftp, against 127.0.0.1:$PORT within $TO seconds ------------------------

atftp_get() {		# remote local [--option "name value"]...
	local rem=$1 loc=$2
	shift 2
	timeout "$TO" atftp "$@" -g -r "$rem" -l "$loc" 127.0.0.1 "$PORT"
}

atftp_put() {		# local remote [--option ...]...
	local loc=$1 rem=$2
	shift 2
	timeout "$TO" atftp "$@" -p -l "$loc" -r "$rem" 127.0.0.1 "$PORT"
}

# runtime_files_gone DIR INSTANCE: the daemon removed its pid, shm and ctl
# files from its runtime directory.
runtime_files_gone() {
	local f st=0
	for f in pid shm ctl; do
		if [ -e "$1/$2.$f" ]; then
			echo "#   left behind: $1/$2.$f"
			st=1
		fi
	done
	return $st
}
