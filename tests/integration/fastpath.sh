#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# The batched send path: windowed downloads (RFC 7440) arrive
# intact and go out several packets per system call, with UDP GSO (one
# sendmsg per window) and with it turned off (one sendmmsg per window),
# as the workers' counters show; the buffer pool refuses a download with
# ERROR 0 "Server busy" when every buffer is held, counts it, and serves
# again once the holders are gone; an idle server uses no CPU.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

TO=60
R="$T/root"
make_root "$R"
head -c $((8 * 1048576)) /dev/urandom >"$R/m8"
chmod 0644 "$R/m8"
DL="$T/dl"
mkdir -p "$DL"

command -v atftp >/dev/null ||
    skip_all "the atftp client is required: apt-get install atftp"

total() {		# NAME KEY
	json_eval "$T/$1.json" "d['totals']['$2']"
}

# atftp_fetch: lib.sh's atftp_get, showing atftp's output when it fails.
atftp_fetch() {		# remote local [--option "name value"]...
	local rem=$1 loc=$2
	shift 2
	rm -f "$loc"
	timeout "$TO" atftp "$@" -g -r "$rem" -l "$loc" 127.0.0.1 "$PORT" \
	    >"$T/atftp.out" 2>&1 || {
		echo "#   atftp failed:"
		sed 's/^/#   | /' "$T/atftp.out" | tail -n 5
		return 1
	}
}

# windowed FILE WS BS: the download is intact, and its packets went out
# in batches: sets SENT (DATA/OACK packets), CALLS (send system calls of
# any kind), GSO (sendmsg calls), MMSG (sendmmsg calls).
windowed() {
	local f=$1 ws=$2 bs=$3
	stats before || return 1
	atftp_fetch "$f" "$DL/$f.$ws.$bs" --option "windowsize $ws" \
	    --option "blksize $bs" || return 1
	assert_same_file "$R/$f" "$DL/$f.$ws.$bs" || return 1
	stats after || return 1
	SENT=$(delta after before packets_sent)
	GSO=$(delta after before syscalls_sendmsg)
	MMSG=$(delta after before syscalls_sendmmsg)
	CALLS=$((GSO + MMSG + $(delta after before syscalls_sendto)))
	echo "#   windowsize $ws blksize $bs: $SENT packets in $CALLS" \
	    "send calls (sendmsg $GSO, sendmmsg $MMSG)" \
	    "= $(awk "BEGIN { printf \"%.2f\", $CALLS / $SENT }") per packet"
}

# batched MIN: at least MIN packets per send system call.
batched() {
	if [ "$CALLS" -eq 0 ] || [ "$SENT" -lt $((CALLS * $1)) ]; then
		echo "#   $SENT packets in $CALLS calls: fewer than $1 per call"
		return 1
	fi
}

gso_works() {
	! grep -q "UDP GSO unavailable" "$DLOG"
}

# --- GSO (the default) ---------------------------------------------------------

write_conf "$T/conf" "max_windowsize = 64"
master_start "$R" --workers 1

for spec in "m8 16 1428 4" "m8 64 1428 20" "m8 64 8192 4" "m1 16 512 8" \
    "s513 16 512 1"; do
	set -- $spec
	if windowed "$1" "$2" "$3"; then
		pass "GSO: atftp windowsize $2 blksize $3 get $1 is intact"
		check "GSO: windowsize $2 blksize $3: >= $4 packets per send call" \
		    batched "$4"
		if [ "$4" -gt 1 ]; then
			if gso_works; then
				check "GSO: windowsize $2 blksize $3: windows sent with sendmsg (UDP_SEGMENT), no sendmmsg" \
				    test "$GSO" -gt 0 -a "$MMSG" -eq 0
			else
				skip "this kernel refuses UDP GSO: windows went out with sendmmsg"
			fi
		fi
	else
		fail "GSO: atftp windowsize $2 blksize $3 get $1 is intact"
	fi
done
# The packet counters count every segment of a GSO send once.
check "GSO: messages_sent equals packets_sent" \
    json_check "$T/after.json" \
    "d['totals']['messages_sent'] == d['totals']['packets_sent']"

# --- idle: no CPU ---------------------------------------------------------------

# sched PID...: "NS SLICES", summed over the processes and their threads:
# the CPU time the scheduler charged them, in ns, and how many times they
# were put on a CPU (/proc/PID/task/TID/schedstat).  Both count only what
# these processes do, however busy the rest of the machine is: a loop
# that polls without sleeping shows in the first, one that wakes often
# in the second.
sched() {
	local p st
	st=$(for p in "$@"; do
		cat "/proc/$p"/task/*/schedstat || exit 1
	done) || return 1
	echo "$st" | awk '{ ns += $1; n += $3 } END { printf "%.0f %.0f\n", ns, n }'
}

# quiet: no transfer in progress (the downloads above have ended).
quiet() {
	stats idle >/dev/null &&
	    json_check "$T/idle.json" "d['totals']['active_transfers'] == 0" \
	    >/dev/null
}

# Over 5 s of nothing to do (the sleep is the measurement, not a wait),
# at most 10 ms of CPU and 20 times on a CPU (the master's once-a-second
# tick is 5 of them).
t_idle() {
	local pids a b ns n
	wait_for 10 "no transfer in progress" quiet || return 1
	pids=("$MASTER" $(worker_pids "$MASTER"))
	a=$(sched "${pids[@]}") || return 1
	sleep 5
	b=$(sched "${pids[@]}") || return 1
	ns=$((${b% *} - ${a% *}))
	n=$((${b#* } - ${a#* }))
	echo "#   ${pids[*]}: $((ns / 1000)) us of CPU, on a CPU $n times in 5 s"
	[ "$ns" -le 10000000 ] && [ "$n" -le 20 ]
}
check "idle: master and worker use no CPU over 5 s (<= 10 ms, on a CPU <= 20 times)" \
    t_idle
check "GSO: the daemon stops cleanly" daemon_stop

# --- GSO off: sendmmsg ---------------------------------------------------------------

write_conf "$T/conf" "max_windowsize = 64" \
    "[performance.platform.batch]" "enable_gso = no"
master_start "$R" --workers 1
for spec in "m8 16 1428 4" "m8 64 8192 4"; do
	set -- $spec
	if windowed "$1" "$2" "$3"; then
		pass "sendmmsg: atftp windowsize $2 blksize $3 get $1 is intact"
		check "sendmmsg: windowsize $2 blksize $3: >= $4 packets per send call" \
		    batched "$4"
		check "sendmmsg: windowsize $2 blksize $3: windows sent with sendmmsg, no GSO sendmsg" \
		    test "$MMSG" -gt 0 -a "$GSO" -eq 0
	else
		fail "sendmmsg: atftp windowsize $2 blksize $3 get $1 is intact"
	fi
done
check "sendmmsg: the daemon stops cleanly" daemon_stop

# --- the buffer pool ------------------------------------------------------------------

write_conf "$T/conf" "[performance]" "buffer_pool_size = 2"
master_start "$R" --workers 1
stats pool0 || hard_error "stats"
check "pool: capacity is buffer_pool_size (2), none in use" \
    json_check "$T/pool0.json" "d['totals']['pool_capacity'] == 2 and \
    d['totals']['pool_in_use'] == 0"

# Two downloads held (an ACK every 50 ms) hold both buffers until HOLD
# goes.
HOLD="$DL/hold"
: >"$HOLD"
SLOW=()
for i in 1 2; do
	slow_get "$PORT" m1 "$DL/slow$i" 0.05 "$HOLD" >"$DL/slow$i.out" 2>&1 &
	SLOW+=($!)
done
# Answered (a transfer whose client has not answered yet would give way
# to the third request).
both_started() {
	[ -s "$DL/slow1.verified" ] && [ -s "$DL/slow2.verified" ]
}
if wait_for 30 "both slow downloads started" both_started; then
	stats pool1 || hard_error "stats"
	check "pool: two slow downloads hold both buffers" \
	    json_check "$T/pool1.json" "d['totals']['pool_in_use'] == 2 and \
	    d['totals']['pool_high_water'] == 2"
	first_answer "$PORT" m1 >"$DL/busy.out"
	check "pool: the third download is refused with ERROR 0 \"Server busy\"" \
	    assert_grep "ERROR.*0.*Server busy" "$DL/busy.out" "answer"
	stats pool2 || hard_error "stats"
	check "pool: pool_exhausted counted the refusal" \
	    test "$(delta pool2 pool1 pool_exhausted)" -ge 1
else
	fail "pool: the slow downloads did not start"
fi
rm -f "$HOLD"
t_slow_done() {
	local p st=0
	for p in "${SLOW[@]}"; do
		wait "$p" || st=1
	done
	[ "$st" -eq 0 ] && assert_same_file "$R/m1" "$DL/slow1" &&
	    assert_same_file "$R/m1" "$DL/slow2"
}
check "pool: the slow downloads complete intact" t_slow_done
pool_free() {
	stats pool3 >/dev/null &&
	    json_check "$T/pool3.json" "d['totals']['pool_in_use'] == 0" \
	    >/dev/null
}
check "pool: every buffer is back once they are done" \
    wait_for 10 "pool_in_use 0" pool_free
if atftp_fetch m1 "$DL/m1.after" --option "windowsize 16"; then
	check "pool: a new download succeeds afterwards" \
	    assert_same_file "$R/m1" "$DL/m1.after"
else
	fail "pool: a new download succeeds afterwards"
fi
check "pool: the daemon stops cleanly" daemon_stop

lib_finish
