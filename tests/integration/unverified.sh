#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# A transfer whose client has not answered yet ("unverified": its source
# may be forged) gets one reply per request datagram.  With timeout = 1
# and unverified_timeout = 3: an RRQ from a socket that never answers
# draws exactly one DATA in 6 s (several server timeouts), an RRQ with
# options exactly one OACK; one with timeout=255 is gone from "tftpctl
# sessions" after the expiry (not 6 x 255 s) and counted in
# unverified_expired; an RRQ whose answer meets a closed port (ICMP port
# unreachable on loopback) ends the transfer, counted in unverified_icmp
# and not in unverified_expired; a repeated request gets DATA 1 again from
# the same TID and the download then completes.  "tftpctl set
# unverified_retransmits=2" (and unverified_timeout=5) allows exactly two
# timed resends in 7 s.
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

# silent SECONDS FILE [name=value...]: one RRQ from a socket that reads
# but never answers; prints the opcodes of what arrives within SECONDS,
# e.g. "DATA1" or "OACK OACK".
silent() {
	"$PYTHON" - "$LIB_DIR" "$PORT" "$@" <<-'PYEOF'
	import sys
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	port, secs, name = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
	opts = [tuple(a.split("=", 1)) for a in sys.argv[5:]]
	with t.Client("127.0.0.1", port) as c:
	    c.send_request(t.rrq(name, options=opts))
	    got = c.recv_all(secs)
	names = {t.DATA: "DATA", t.OACK: "OACK", t.ERROR: "ERROR",
	    t.ACK: "ACK"}
	print(" ".join(names.get(p.op, "?") +
	    (str(p.block) if p.op == t.DATA else "") for p in got) or "none")
	PYEOF
}

# counter NAME: totals[NAME] of tftpctl stats.
counter() {
	stats c >/dev/null && json_eval "$T/c.json" "d['totals']['$1']"
}

counter_is() {		# NAME N
	[ "$(counter "$1" 2>/dev/null)" = "$2" ]
}

# no_session FILE: tftpctl sessions lists no transfer of FILE.
no_session() {
	ctl -i "$INSTANCE" sessions --json >"$T/se.json" 2>/dev/null &&
	    json_check "$T/se.json" "not any(e['file'] == '$1' for e in d)" \
	    >/dev/null
}

has_session() {
	ctl -i "$INSTANCE" sessions --json >"$T/se.json" 2>/dev/null &&
	    json_check "$T/se.json" "any(e['file'] == '$1' for e in d)" \
	    >/dev/null
}

write_conf "$T/conf" "unverified_timeout = 3"
master_start "$R" --workers 1

t_one_data() {
	local a
	a=$(silent 6 f3000)
	assert_eq "DATA1" "$a" "what an unanswered RRQ drew in 6 s"
}
check "an unanswered RRQ: exactly one DATA in 6 s (timeout = 1)" t_one_data

t_one_oack() {
	local a
	a=$(silent 6 f3000 blksize=1024)
	assert_eq "OACK" "$a" "what an unanswered RRQ with blksize drew"
}
check "an unanswered RRQ with options: exactly one OACK" t_one_oack

# Both ended at the expiry by now, or will be within a bounded wait.
check "both counted in unverified_expired" \
    wait_for 10 "unverified_expired 2" counter_is unverified_expired 2

t_timeout255() {
	local pid st=0 t0 t1
	"$PYTHON" - "$LIB_DIR" "$PORT" <<-'PYEOF' &
	import sys
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	with t.Client("127.0.0.1", int(sys.argv[2])) as c:
	    c.send_request(t.rrq("s512", options=[("timeout", "255")]))
	    c.recv_all(12)
	PYEOF
	pid=$!
	t0=$(now_ms)
	wait_until 10 has_session s512 ||
	    { echo "#   the transfer never showed in sessions"; st=1; }
	wait_until 10 no_session s512 ||
	    { echo "#   still in sessions after 10 s"; st=1; }
	t1=$(now_ms)
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ "$st" = 0 ] && wait_for 10 "unverified_expired 3" \
	    counter_is unverified_expired 3 || st=1
	echo "#   gone after $((t1 - t0)) ms"
	return $st
}
check "timeout=255, never answered: gone from sessions after the expiry" \
    t_timeout255

# The client's socket is connected to the listen port: the answer, from
# the transfer's own port, finds no socket there and draws an ICMP port
# unreachable, whatever the timing (a socket closed after its request
# could still have taken the answer in first).
t_icmp() {
	local pid st=0
	"$PYTHON" - "$LIB_DIR" "$PORT" <<-'PYEOF' &
	import socket, sys, time
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.connect(("127.0.0.1", int(sys.argv[2])))
	s.send(t.rrq("f3000"))
	time.sleep(15)
	PYEOF
	pid=$!
	wait_for 10 "unverified_icmp 1" counter_is unverified_icmp 1 &&
	    assert_eq 3 "$(counter unverified_expired)" \
	    "unverified_expired (the ICMP error ended it, not the expiry)" ||
	    st=1
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return $st
}
check "an RRQ from a closed port: ended by the ICMP error, counted" t_icmp

t_repeat() {
	"$PYTHON" - "$LIB_DIR" "$PORT" "$R" <<-'PYEOF'
	import sys, time
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	with t.Client("127.0.0.1", int(sys.argv[2])) as c:
	    req = t.rrq("f3000")
	    c.send_request(req)
	    p = c.recv(3.0)
	    if p is None or p.op != t.DATA or p.block != 1:
	        print("#   first answer: %r" % (p,))
	        sys.exit(1)
	    tid = c.peer
	    # A client that lost DATA 1 repeats its request (before the
	    # 3 s expiry; nothing comes meanwhile).
	    if c.recv(1.5) is not None:
	        print("#   a packet came unasked")
	        sys.exit(1)
	    c.send_request(req)
	    p = c.recv(3.0)
	    if p is None or p.op != t.DATA or p.block != 1 or c.peer != tid:
	        print("#   answer to the repeat: %r from %r (TID %r)" %
	            (p, c.peer, tid))
	        sys.exit(1)
	    data = bytearray(p.payload)
	    block = 1
	    while True:
	        c.send(t.ack(block))
	        if len(p.payload) < 512:
	            break
	        p = c.recv(3.0)
	        if p is None or p.op != t.DATA or p.block != block + 1:
	            print("#   after ACK %d: %r" % (block, p))
	            sys.exit(1)
	        block += 1
	        data += p.payload
	if bytes(data) != open(sys.argv[3] + "/f3000", "rb").read():
	    print("#   not the file")
	    sys.exit(1)
	PYEOF
}
check "a repeated request gets DATA 1 again; the download completes" \
    t_repeat

t_budget() {
	local a
	# An expiry after 5 s: room for more resends than the budget's.
	ctl -i "$INSTANCE" set unverified_timeout=5 >/dev/null &&
	    ctl -i "$INSTANCE" set unverified_retransmits=2 >/dev/null ||
	    return 1
	a=$(silent 7 f3000)
	assert_eq "DATA1 DATA1 DATA1" "$a" \
	    "unverified_retransmits = 2: what an unanswered RRQ drew"
}
check "unverified_retransmits = 2: two timed resends, no more" t_budget

t_table() {
	ctl -i "$INSTANCE" stats >"$T/table.out" 2>&1 &&
	    assert_grep "unverified_expired +[0-9]+( |$)" "$T/table.out" \
	    "stats table" &&
	    assert_grep "unverified_icmp +1( |$)" "$T/table.out" "stats table"
}
check "tftpctl stats shows both counters" t_table

check "the daemon stops cleanly" daemon_stop "$MASTER"
lib_finish
