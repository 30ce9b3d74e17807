#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# Under pressure the oldest unverified transfer (its client has not
# answered: a forged source looks like this) gives way to a new request,
# and what the server sends to such clients stays within a byte budget.
# One worker, max_transfers = 2, no per-client limits,
# unverified_timeout = 60 (the fillers outlive the test): two RRQs from
# sockets that never answer hold both slots, yet a real download
# succeeds (unverified_evicted 1); a download that has answered (slow,
# ACKing) is never evicted: with two of them a new request is "Server
# busy" (refused_max_transfers) and both complete intact.  With
# buffer_pool_size = 2 the same for the pool.  The budget: 100 repeats
# of an unanswered RRQ from one socket all get DATA 1 at the default;
# after "tftpctl set unverified_bytes_rate=1 unverified_bytes_burst=
# 65536" 200 repeats get at most 65536 / 516 = 127 DATA (and at least
# most of that), the rest counted in unverified_over_budget, and a new
# request is dropped unanswered (result=throttled) and holds no slot.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

R="$T/root"
make_root "$R"
head -c 3000 /dev/urandom >"$R/f3000"
chmod 0644 "$R/f3000"
FILL="$T/fill"		# while it exists, the fillers' sockets stay open
HOLD="$T/hold"		# while it exists, slow_get's downloads crawl
FILLERS=()

# fill N: N RRQs of f3000, each from its own socket that reads what comes
# and never answers, kept open while $FILL exists (at most 60 s), then
# ended with an ERROR.
fill() {
	: >"$FILL"
	"$PYTHON" - "$LIB_DIR" "$PORT" "$1" "$FILL" >/dev/null 2>&1 <<-'PYEOF' &
	import os, sys, time
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	port, n, flag = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
	cs = [t.Client("127.0.0.1", port) for _ in range(n)]
	for c in cs:
	    c.send_request(t.rrq("f3000"))
	end = time.monotonic() + 60
	while os.path.exists(flag) and time.monotonic() < end:
	    for c in cs:
	        c.recv(0.05)
	# Those not evicted end now (a draining server would wait for them).
	for c in cs:
	    if c.peer is not None:
	        c.send(t.error(0, "enough"))
	PYEOF
	FILLERS+=($!)
}

unfill() {
	local p
	rm -f "$FILL"
	for p in "${FILLERS[@]}"; do
		wait "$p" 2>/dev/null
	done
	FILLERS=()
}

# counter NAME: the total over the workers, from tftpctl stats --json.
counter() {
	stats c >/dev/null && json_eval "$T/c.json" "d['totals']['$1']"
}

counter_is() {		# NAME N
	[ "$(counter "$1" 2>/dev/null)" = "$2" ]
}

# get FILE: a whole download with tftpraw (a real client: it answers).
get() {
	rm -f "$T/got"
	timeout 30 "$PYTHON" "$LIB_DIR/tftpraw.py" get 127.0.0.1 "$PORT" \
	    "$1" "$T/got" && assert_same_file "$R/$1" "$T/got"
}

# answer FILE: the first answer to one RRQ from 127.0.0.1 (lib.sh).
answer() {
	answer_from 127.0.0.1 rrq "$1"
}

# --- the transfer share ---------------------------------------------------

write_conf "$T/conf" "max_transfers = 2" "unverified_timeout = 60" \
    "[limits]" "per_client_transfers = 0" "per_client_rate = 0"
master_start "$R" --workers 1

fill 2
check "two unanswered RRQs hold both slots" \
    wait_for 10 "active_transfers 2" counter_is active_transfers 2
check "a real download succeeds in their place" get s513
check "the oldest unanswered one was evicted, counted once" \
    wait_for 10 "unverified_evicted 1" counter_is unverified_evicted 1
check "no request was refused" counter_is refused_max_transfers 0
t_logged() {
	assert_grep "result=evicted" "$DLOG" "the log"
}
check "the eviction is logged (result=evicted)" t_logged

# Slots: one filler left, one free.  A slow download takes the free one
# and answers; a filler is then evicted by the next download.
: >"$HOLD"
rm -f "$T/slow1"*
slow_get "$PORT" m1 "$T/slow1" 0.3 "$HOLD" >"$T/slow1.out" 2>&1 &
SLOW1=$!
check "a slow download starts and answers" \
    wait_for 20 "slow1 answered" test -s "$T/slow1.verified"
check "the next download evicts the unanswered one, not the slow one" \
    get s513
check "unverified_evicted 2" \
    wait_for 10 "unverified_evicted 2" counter_is unverified_evicted 2
unfill
rm -f "$T/slow2"*
slow_get "$PORT" m1 "$T/slow2" 0.3 "$HOLD" >"$T/slow2.out" 2>&1 &
SLOW2=$!
check "a second slow download starts and answers" \
    wait_for 20 "slow2 answered" test -s "$T/slow2.verified"
t_busy() {
	local a
	a=$(answer s513)
	assert_eq "ERROR 0 Server busy" "$a" \
	    "a request while two answered downloads run" &&
	    assert_eq 1 "$(counter refused_max_transfers)" \
	    "refused_max_transfers" &&
	    assert_eq 2 "$(counter unverified_evicted)" \
	    "unverified_evicted (none of the answered ones)" &&
	    assert_eq 2 "$(counter active_transfers)" "active_transfers"
}
check "answered downloads are never evicted: Server busy" t_busy
rm -f "$HOLD"
t_slow_done() {
	local st=0
	wait "$SLOW1" || st=1
	wait "$SLOW2" || st=1
	[ "$st" -eq 0 ] || { cat "$T"/slow?.out; return 1; }
	assert_same_file "$R/m1" "$T/slow1" &&
	    assert_same_file "$R/m1" "$T/slow2"
}
check "both slow downloads complete intact" t_slow_done
check "the daemon stops cleanly" daemon_stop "$MASTER"

# --- the buffer pool, and the byte budget ---------------------------------

write_conf "$T/conf" "max_transfers = 8" "unverified_timeout = 60" \
    "[limits]" "per_client_transfers = 0" "per_client_rate = 0" \
    "[performance]" "buffer_pool_size = 2"
master_start "$R" --workers 1

fill 2
check "pool: two unanswered RRQs hold both buffers" \
    wait_for 10 "pool_in_use 2" counter_is pool_in_use 2
check "pool: a real download succeeds in their place" get s513
check "pool: one evicted for its buffer, nothing refused" \
    eval 'wait_for 10 "unverified_evicted 1" \
    counter_is unverified_evicted 1 && counter_is pool_exhausted 0'
unfill

# flood N: N copies of one RRQ of f3000 from one socket that never
# answers (one transfer, N - 1 repeats), then ends it with an ERROR;
# prints the DATA packets that came back.
flood() {
	"$PYTHON" - "$LIB_DIR" "$PORT" "$1" <<-'PYEOF'
	import sys
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	port, n = int(sys.argv[2]), int(sys.argv[3])
	got = 0
	with t.Client("127.0.0.1", port) as c:
	    req = t.rrq("f3000")
	    for i in range(n):
	        c.sock.sendto(req, c.server)
	        got += sum(1 for p in c.recv_all(0.002) if p.op == t.DATA)
	    got += sum(1 for p in c.recv_all(1.0) if p.op == t.DATA)
	    # Ended by an ERROR of ours: no buffer held for the next test.
	    if c.peer is not None:
	        c.send(t.error(0, "enough"))
	print(got)
	PYEOF
}

t_default_budget() {
	local n
	n=$(flood 100)
	assert_eq 100 "$n" "DATA packets for 100 requests at the default" &&
	    assert_eq 0 "$(counter unverified_over_budget)" \
	    "unverified_over_budget"
}
check "budget: at the default, every repeat is answered" t_default_budget

applied() {		# every worker runs the master's generation
	stats g >/dev/null &&
	    json_check "$T/g.json" \
	    "all(w['generation'] == d['generation'] for w in d['workers'])" \
	    >/dev/null
}
t_set() {
	ctl -i "$INSTANCE" set unverified_bytes_rate=1 >/dev/null &&
	    ctl -i "$INSTANCE" set unverified_bytes_burst=65536 \
	    >/dev/null &&
	    wait_for 10 "the workers applied the settings" applied
}
check "budget: tftpctl set unverified_bytes_rate=1, _burst=65536" t_set

t_small_budget() {
	local n over
	n=$(flood 200)
	over=$(counter unverified_over_budget)
	echo "#   200 requests: $n DATA, $over over the budget"
	# 65536 / 516 bytes: 127 packets, 1 byte/s refills none of them.
	[ "$n" -le 127 ] || { echo "#   more DATA than the budget"; return 1; }
	[ "$n" -ge 100 ] || { echo "#   the budget bit early"; return 1; }
	[ "$over" -ge $((200 - n)) ] ||
	    { echo "#   fewer counted than left unsent"; return 1; }
}
check "budget: 200 repeats draw at most the burst's 127 DATA" t_small_budget

t_throttled() {
	local a over0
	over0=$(counter unverified_over_budget)
	a=$(answer s513)
	assert_eq none "$a" "a new request once the budget is spent" &&
	    wait_for 10 "unverified_over_budget $((over0 + 1))" \
	    counter_is unverified_over_budget $((over0 + 1)) &&
	    assert_grep "file=\"s513\".*result=throttled" "$DLOG" "the log" &&
	    wait_for 10 "no transfer left" counter_is active_transfers 0
}
check "budget: a new request is dropped unanswered, holds no slot" \
    t_throttled

t_off() {
	ctl -i "$INSTANCE" set unverified_bytes_rate=0 >/dev/null &&
	    wait_for 10 "the workers applied the settings" applied &&
	    assert_eq DATA "$(answer s513)" "with the budget off"
}
check "budget: unverified_bytes_rate=0 turns it off" t_off

t_table() {
	ctl -i "$INSTANCE" stats >"$T/table.out" 2>&1 &&
	    assert_grep "unverified_evicted +1( |$)" "$T/table.out" \
	    "stats table" &&
	    assert_grep "unverified_over_budget +[1-9][0-9]*( |$)" \
	    "$T/table.out" "stats table"
}
check "tftpctl stats shows both counters" t_table

check "the daemon stops cleanly" daemon_stop "$MASTER"
lib_finish
