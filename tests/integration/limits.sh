#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# [transfer] max_transfers is the server's total and [limits] counts per
# client, with two workers and clients on 127.0.0.x (loopback answers all
# of 127/8).  max_transfers = 2: two downloads are held open, from
# whichever sources the workers admit them, then every further request,
# from any source, is "Server busy" and counted in refused_max_transfers;
# never more than 2 run.  per_client_transfers = 2: 127.0.0.2's third
# download at once is refused (refused_client_cap) while 127.0.0.1 runs
# two.  per_client_rate = 5, per_client_burst = 10: 30 requests at once
# from 127.0.0.3 are served up to the burst (and what the rate refilled
# meanwhile), the rest "Server busy" (refused_client_rate), all 30 reach
# one worker (a client is steered to one), while 127.0.0.4 is served.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

"$PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.2", 0))' 2>/dev/null ||
    skip_all "127.0.0.2 cannot be bound here"

R="$T/root"
make_root "$R"
# 4000 blocks of 512: a held download ACKs one every 0.2 s, so it runs
# for as long as the test needs and ends when HOLD goes.
head -c 2048000 /dev/zero >"$R/big"
chmod 0644 "$R/big"
HOLD="$T/hold"

# hold SOURCE OUT: an RRQ of big from SOURCE; OUT gets "ok" when DATA 2
# came after its ACK 1 (then it ACKs slowly while $HOLD exists and ends
# with an ERROR of its own) or the ERROR's text, or "none".
hold() {
	"$PYTHON" - "$LIB_DIR" "$PORT" "$1" "$2" "$HOLD" <<-'PYEOF'
	import os, sys, time
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	port, src, out, hold = int(sys.argv[2]), sys.argv[3], sys.argv[4], \
	    sys.argv[5]
	def put(s):
	    with open(out + ".tmp", "w") as f:
	        f.write(s + "\n")
	    os.rename(out + ".tmp", out)
	with t.Client("127.0.0.1", port, source=src, timeout=3.0) as c:
	    c.send_request(t.rrq("big"))
	    p = c.recv()
	    if p is None:
	        put("none")
	        sys.exit(0)
	    if p.op == t.ERROR:
	        put("ERROR %d %s" % (p.code, p.msg))
	        sys.exit(0)
	    # ACK 1 at once, and "ok" on DATA 2: the server has heard this
	    # client, so its transfer is no longer one that a new request
	    # may evict under pressure.
	    c.send(t.ack(1))
	    p = c.recv()
	    if p is None or p.op != t.DATA or p.block != 2:
	        put("no DATA 2: %r" % (p,))
	        sys.exit(0)
	    put("ok")
	    block = 2
	    end = time.monotonic() + 600
	    while os.path.exists(hold) and time.monotonic() < end:
	        time.sleep(0.2)
	        c.send(t.ack(block))
	        p = c.recv(2.0)
	        if p is None or p.op != t.DATA:
	            break
	        block = p.block
	    c.send(t.error(0, "enough"))
	PYEOF
}

# answer SOURCE: the first answer to one RRQ of s512 from SOURCE (lib.sh).
answer() {
	answer_from "$1" rrq s512
}

# counter NAME: the total over the workers, from tftpctl stats --json.
counter() {
	stats now >/dev/null && json_eval "$T/now.json" "d['totals']['$1']"
}

active() {
	stats now >/dev/null &&
	    json_eval "$T/now.json" "sum(w['active_transfers'] for w in d['workers'])"
}

# start_hold SOURCE NAME: hold in the background (its output not ours, so
# that a caller's $(...) does not wait for it), print its answer.
start_hold() {
	hold "$1" "$T/$2" >/dev/null 2>&1 </dev/null &
	wait_for 10 "$2's answer" test -s "$T/$2" >/dev/null
	cat "$T/$2"
}

# The holders end when HOLD goes (each within its next ACK).
stop_holds() {
	rm -f "$HOLD"
	wait_for 20 "the held downloads ended" eval '[ "$(active)" = 0 ]'
}

# --- max_transfers = 2 over two workers -----------------------------------

write_conf "$T/conf" "max_transfers = 2" \
    "[limits]" "per_client_transfers = 0" "per_client_rate = 0"
WORKERS=2 master_start "$R" --workers 2
touch "$HOLD"
t_two_held() {
	local i n=0 a
	# Each worker admits its share (1): the sources spread over both.
	for ((i = 1; i <= 40 && n < 2; i++)); do
		a=$(start_hold "127.0.0.$i" "h$i")
		[ "$a" = ok ] && n=$((n + 1))
	done
	assert_eq 2 "$n" "downloads admitted"
}
check "two downloads run (sources spread over the two workers)" t_two_held
t_third_busy() {
	local i a busy=0
	for i in 1 2 3 4 5 6 7 8; do
		a=$(answer "127.0.0.$((100 + i))")
		case $a in
		"ERROR 0 Server busy") busy=$((busy + 1)) ;;
		*) echo "#   127.0.0.$((100 + i)): $a"; return 1 ;;
		esac
	done
	assert_eq 8 "$busy" "busy answers"
}
check "with 2 running, every further request is Server busy" t_third_busy
t_never_more() {
	assert_eq 2 "$(active)" "active_transfers over the workers" &&
	    assert_eq $(($(grep -l "Server busy" "$T"/h* 2>/dev/null |
	    wc -l) + 8)) "$(counter refused_max_transfers)" \
	    "refused_max_transfers" &&
	    assert_eq 0 "$(counter refused_client_cap)" "refused_client_cap"
}
check "2 active, each busy answer counted in refused_max_transfers" \
    t_never_more
check "the held downloads end" stop_holds
check "after they end, a download runs again" \
    wait_for 10 "DATA" eval '[ "$(answer 127.0.0.1)" = DATA ]'
daemon_stop
rm -f "$T"/h*

# --- per_client_transfers = 2 ----------------------------------------------

write_conf "$T/conf" "[limits]" "per_client_transfers = 2" \
    "per_client_rate = 0"
WORKERS=2 master_start "$R" --workers 2
touch "$HOLD"
t_client_cap() {
	assert_eq ok "$(start_hold 127.0.0.2 a1)" "127.0.0.2's first" &&
	    assert_eq ok "$(start_hold 127.0.0.2 a2)" "127.0.0.2's second" &&
	    assert_eq "ERROR 0 Server busy" "$(answer 127.0.0.2)" \
	    "127.0.0.2's third" &&
	    assert_eq ok "$(start_hold 127.0.0.1 b1)" "127.0.0.1's first" &&
	    assert_eq DATA "$(answer 127.0.0.1)" "127.0.0.1's second" &&
	    assert_eq 1 "$(counter refused_client_cap)" "refused_client_cap" &&
	    assert_eq 0 "$(counter refused_max_transfers)" \
	    "refused_max_transfers"
}
check "127.0.0.2 is held to 2 transfers while 127.0.0.1 runs 2" \
    t_client_cap
check "the held downloads end" stop_holds
check "127.0.0.2 runs again once its transfers ended" \
    wait_for 10 "DATA" eval '[ "$(answer 127.0.0.2)" = DATA ]'
daemon_stop

# --- per_client_rate = 5, per_client_burst = 10 ----------------------------

write_conf "$T/conf" "[limits]" "per_client_rate = 5" "per_client_burst = 10"
WORKERS=2 master_start "$R" --workers 2
# burst SOURCE N: N RRQs at once, each from its own port; prints how many
# got DATA 1, how many "Server busy", and the seconds it took.
burst() {
	"$PYTHON" - "$LIB_DIR" "$PORT" "$1" "$2" <<-'PYEOF'
	import sys, time
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	port, src, n = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
	cs = [t.Client("127.0.0.1", port, source=src) for _ in range(n)]
	t0 = time.monotonic()
	for c in cs:
	    c.send_request(t.rrq("s512"))
	ok = busy = 0
	for c in cs:
	    p = c.recv(3.0)
	    if p is not None and p.op == t.DATA:
	        ok += 1
	        c.send(t.error(0, "enough"))
	    elif p is not None and p.op == t.ERROR and p.msg == "Server busy":
	        busy += 1
	    c.close()
	print(ok, busy, int(time.monotonic() - t0) + 1)
	PYEOF
}
t_rate() {
	local ok busy secs
	stats before >/dev/null || return 1
	read -r ok busy secs < <(burst 127.0.0.3 30)
	echo "#   served $ok, busy $busy in under $secs s"
	stats after >/dev/null || return 1
	# Steered: one worker saw all 30 (spread, both would, but for 2^-29).
	assert_eq 1 "$(json_eval "$T/after.json" "sum(1 for a, b in
	    zip(d['workers'], __import__('json').load(open('$T/before.json'))
	    ['workers']) if a['rrq'] != b['rrq'])")" \
	    "workers that saw 127.0.0.3's requests" &&
	    assert_eq 30 $((ok + busy)) "answers" &&
	    [ "$ok" -ge 10 ] && [ "$ok" -le $((10 + 5 * secs)) ] &&
	    [ "$busy" -ge 1 ] &&
	    assert_eq "$busy" "$(counter refused_client_rate)" \
	    "refused_client_rate" &&
	    assert_eq DATA "$(answer 127.0.0.4)" "127.0.0.4 meanwhile"
}
check "30 requests at once from one address: the burst served, the rest busy" \
    t_rate
check "tftpctl stats shows refused_client_rate" eval \
    'ctl -i "$INSTANCE" stats >"$T/table.out" 2>&1 &&
    assert_grep "refused_client_rate +[1-9]" "$T/table.out" "stats table"'
daemon_stop

lib_finish
