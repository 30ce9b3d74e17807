#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# A stopped worker is noticed: with one of two workers SIGSTOPped, its
# heartbeat falls silent and, worker_stall_timeout (3 s here) later, the
# master SIGKILLs it (an error line with its pid and how long it was
# silent) and starts a replacement; 20
# downloads started during the stall, each repeating its RRQ every second
# as a client does, all complete intact (those the kernel hashed to the
# stopped worker's socket are served by the replacement, once each), and
# tftpctl workers tells the story: a new pid, 1 restart, 1 stall, last
# exit "stalled".
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

NDL=20

R="$T/root"
make_root "$R"
DL="$T/dl"
mkdir -p "$DL"
STALL=3
write_conf "$T/conf" "[server]" "worker_stall_timeout = $STALL"

if is_root; then
	USER_ARGS=(-u nobody)
else
	USER_ARGS=()
fi

WORKERS=2 master_start "$R" --workers 2 "${USER_ARGS[@]}"

V=0
VPID=$(worker_pid "$MASTER" "$V") || hard_error "no worker $V"
SPID=$(worker_pid "$MASTER" 1) || hard_error "no worker 1"

# get_repeating FILE OUT: an RRQ from a new port, sent again every second
# until the first answer (at most 30 s); then the download at window 1.
get_repeating() {
	"$PYTHON" - "$LIB_DIR" "$PORT" "$@" <<-'PYEOF'
	import sys, time
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	port, name, out = int(sys.argv[2]), sys.argv[3], sys.argv[4]
	with t.Client("127.0.0.1", port) as c:
	    end = time.monotonic() + 30
	    p = None
	    while p is None and time.monotonic() < end:
	        c.send_request(t.rrq(name))
	        p = c.recv(1.0)
	    data = bytearray()
	    expect = 1
	    while True:
	        if p is None:
	            print("silence waiting for DATA %d" % expect)
	            sys.exit(1)
	        if p.op == t.ERROR:
	            print("ERROR %d %s" % (p.code, p.msg))
	            sys.exit(1)
	        if p.op == t.DATA and p.block == (expect & 0xffff):
	            data += p.payload
	            c.send(t.ack(expect))
	            if len(p.payload) < 512:
	                break
	            expect += 1
	        p = c.recv(5.0)
	    open(out, "wb").write(data)
	PYEOF
}

kill -STOP "$VPID"
T0=$(now_ms)
CLIENTS=()
for ((i = 1; i <= NDL; i++)); do
	(
		get_repeating s513 "$DL/$i" >"$DL/$i.log" 2>&1
		echo $? >"$DL/$i.rc"
	) &
	CLIENTS+=($!)
done

# replaced: slot V runs a process that is not the stopped one.
replaced() {
	local out="$T/wk.json"
	ctl -i "$INSTANCE" workers --json >"$out" 2>/dev/null &&
	    json_check "$out" "d[$V]['state'] == 'running' and \
	    d[$V]['pid'] not in (0, $VPID)" >/dev/null
}
t_replaced() {
	if ! wait_for 30 "slot $V running a new process" replaced; then
		ctl -i "$INSTANCE" workers 2>&1 | sed 's/^/#   /'
		return 1
	fi
	echo "#   replaced $(($(now_ms) - T0)) ms after SIGSTOP"
}
check "the stopped worker $VPID is replaced" t_replaced
check "the stopped process is gone" wait_pid_gone "$VPID" 10
# (If it was not killed, let it go, so the test ends.)
kill -CONT "$VPID" 2>/dev/null

stalled_logged() {
	grep -Eq "worker $V \(pid $VPID\) stalled: no heartbeat for [0-9]+ ms" \
	    "$DLOG"
}
t_logged() {
	wait_for 10 "the stall's log line" stalled_logged || {
		show_log "$DLOG"
		return 1
	}
	grep -E "stalled: no heartbeat" "$DLOG" | sed 's/^/#   /'
	# The stall is noticed after $STALL s of silence, not before, and
	# (a tick later at most, with some slack) not at the default 5 s.
	local ms
	ms=$(grep -Eo "worker $V \(pid $VPID\) stalled: no heartbeat for [0-9]+" \
	    "$DLOG" | grep -Eo '[0-9]+$' | head -n 1)
	[ "$ms" -ge $((STALL * 1000)) ] ||
	    { echo "#   silent only $ms ms"; return 1; }
	[ "$ms" -lt 4900 ] ||
	    { echo "#   silent $ms ms: worker_stall_timeout not applied"; \
	    return 1; }
}
check "the master logged the stall with the pid and its length" t_logged

t_workers() {
	local out="$T/wk2.json"
	ctl -i "$INSTANCE" workers --json >"$out" || return 1
	json_check "$out" "d[$V]['restarts'] == 1" "slot $V restarts" &&
	    json_check "$out" "d[$V]['stalls'] == 1" "slot $V stalls" &&
	    json_check "$out" "d[$V]['last_exit'].startswith('stalled ')" \
	    "slot $V last exit" &&
	    json_check "$out" "d[1]['pid'] == $SPID and d[1]['stalls'] == 0" \
	    "slot 1" &&
	    ctl -i "$INSTANCE" workers >"$T/wk.txt" &&
	    assert_grep "^$V +[0-9]+ +running +1 .* stalled [0-9]+\.[0-9]s, killed$" \
	    "$T/wk.txt" "tftpctl workers"
}
check "tftpctl workers: slot $V restarted once after a stall, slot 1 untouched" \
    t_workers

wait_clients() {
	local i
	for ((i = 1; i <= NDL; i++)); do
		[ -f "$DL/$i.rc" ] || return 1
	done
}
wait_for 120 "every client's exit status" wait_clients
t_all_ok() {
	local i n=0
	for ((i = 1; i <= NDL; i++)); do
		if [ "$(cat "$DL/$i.rc")" = 0 ] && cmp -s "$R/s513" "$DL/$i"; then
			n=$((n + 1))
		else
			echo "#   download $i: $(cat "$DL/$i.log")"
		fi
	done
	echo "#   $n of $NDL downloads intact"
	[ "$n" = "$NDL" ]
}
check "all $NDL downloads started during the stall complete intact" t_all_ok

# Each client's queued repeats made one transfer, not one each: no more
# transfers than downloads (a repeat is counted as such, not served).
t_once() {
	local out="$T/st.json"
	ctl -i "$INSTANCE" stats --json >"$out" || return 1
	json_check "$out" "d['totals']['transfers_ok'] == $NDL" \
	    "transfers_ok"
}
check "the queued repeats became no extra transfers" t_once

check "the master stops on SIGTERM with status 0" daemon_stop "$MASTER"
lib_finish
