#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# The lines a client can cause are rate-limited: 300 malformed requests
# from one address log at most 10 lines (then a summary whose count makes
# up the rest, exactly), 495 refused uploads from 99 addresses at most 30
# (the kind's cap) and at most 5 summaries (4 addresses by name, the rest
# together), the counts again adding up; the successful downloads that
# follow from the flooding address are logged every one.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init

R="$T/root"
make_root "$R"
daemon_start "$R" --workers 1

# flood KIND: send the requests one at a time, each answered before the
# next (so none is lost to a full socket buffer); print how many got the
# expected ERROR.
flood() {
	"$PYTHON" - "$LIB_DIR" "$PORT" "$1" <<-'PYEOF'
	import socket, struct, sys
	sys.path.insert(0, sys.argv[1])
	port, kind = int(sys.argv[2]), sys.argv[3]
	if kind == "malformed":
	    # an RRQ without its mode: ERROR 4
	    plan = [("127.0.0.1", b"\x00\x01name\x00", 4)] * 300
	else:
	    # uploads, which this server does not take: ERROR 2
	    plan = [("127.0.0.%d" % a, b"\x00\x02up.bin\x00octet\x00", 2)
	            for a in range(2, 101) for _ in range(5)]
	ok = 0
	socks = {}
	for src, pkt, code in plan:
	    s = socks.get(src)
	    if s is None:
	        s = socks[src] = socket.socket(socket.AF_INET,
	                                       socket.SOCK_DGRAM)
	        s.bind((src, 0))
	        s.settimeout(5.0)
	    s.sendto(pkt, ("127.0.0.1", port))
	    try:
	        raw, _ = s.recvfrom(2048)
	    except socket.timeout:
	        continue
	    op, got = struct.unpack("!HH", raw[:4])
	    if op == 5 and got == code:
	        ok += 1
	print(ok)
	PYEOF
}

# lines CODE: the request lines for ERROR CODE in the log.
lines() {
	grep -Ec "transfer client=.* result=error code=$1 " "$DLOG"
}
# suppressed CODE: the summaries' counts for it, added up.
suppressed() {
	grep -Eo "suppressed [0-9]+ similar messages? \(result=error code=$1\)" \
	    "$DLOG" | awk '{ n += $2 } END { print n + 0 }'
}
summaries() {
	grep -Ec "suppressed [0-9]+ similar messages? \(result=error code=$1\)" \
	    "$DLOG"
}
# adds_up CODE SENT: the lines and the summaries account for every one.
adds_up() {
	[ $(($(lines "$1") + $(suppressed "$1"))) -eq "$2" ]
}

N4=$(flood malformed)
check "the 300 malformed requests were all answered ERROR 4" \
    assert_eq 300 "$N4" "answers"
N2=$(flood uploads)
check "the 495 uploads were all answered ERROR 2" assert_eq 495 "$N2" \
    "answers"

t_one_address() {
	wait_for 30 "summaries adding up to 300 for code 4" adds_up 4 300 || {
		echo "#   $(lines 4) lines, $(suppressed 4) suppressed"
		return 1
	}
	echo "#   $(lines 4) lines, $(summaries 4) summaries of" \
	    "$(suppressed 4)"
	grep -E "suppressed .*code=4" "$DLOG" | sed 's/^/#   /'
	[ "$(lines 4)" -le 10 ] && [ "$(summaries 4)" -eq 1 ] &&
	    grep -Eq "suppressed [0-9]+ similar messages \(result=error code=4\) from 127\.0\.0\.1$" \
	    "$DLOG"
}
check "one address: at most 10 lines, one summary from it, adding up to 300" \
    t_one_address

t_many_addresses() {
	wait_for 30 "summaries adding up to 495 for code 2" adds_up 2 495 || {
		echo "#   $(lines 2) lines, $(suppressed 2) suppressed"
		return 1
	}
	echo "#   $(lines 2) lines, $(summaries 2) summaries of" \
	    "$(suppressed 2)"
	grep -E "suppressed .*code=2" "$DLOG" | sed 's/^/#   /'
	[ "$(lines 2)" -le 30 ] && [ "$(summaries 2)" -le 5 ] &&
	    grep -Eq "suppressed [0-9]+ similar messages \(result=error code=2\) from [0-9]+ addresses$" \
	    "$DLOG"
}
check "99 addresses: at most 30 lines and 5 summaries, adding up to 495" \
    t_many_addresses

t_ok_never_suppressed() {
	local i before after
	before=$(grep -c "result=ok" "$DLOG")
	for ((i = 0; i < 15; i++)); do
		"$PYTHON" "$TFTPRAW" get 127.0.0.1 "$PORT" s513 "$T/dl" \
		    >/dev/null || return 1
		assert_same_file "$R/s513" "$T/dl" || return 1
	done
	ok_lines() {
		after=$(grep -c "result=ok" "$DLOG")
		[ $((after - before)) -ge 15 ]
	}
	wait_for 10 "15 more result=ok lines" ok_lines
	assert_eq 15 $((after - before)) "result=ok lines for 15 downloads"
}
check "15 downloads in a row from the same address: 15 lines" \
    t_ok_never_suppressed

check "the daemon stops cleanly" daemon_stop
lib_finish
