#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# The histograms, the busiest clients and files, and "stats --reset",
# against a master with two workers: after a reset, downloads of known
# sizes from 127.0.0.1 and 127.0.0.2 (and one refused request) give
# histogram counts equal to the transfers and a size sum equal to their
# bytes (JSON), Prometheus histograms that parse (prometheus_client) with
# _bucket, _sum and _count, "clients" and "files" with the busiest first,
# and a second reset zeroes the counts and is counted; a block sent again
# gives no round-trip sample (Karn); every metric the
# Grafana dashboard in contrib/grafana queries is in the real output.  As root, a user
# who is neither root nor the service user is refused the reset.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

R="$T/root"
make_root "$R"
SA=3000			# the busy file, from the busy client
SB=100000		# the other one, from 127.0.0.2
NA=6
NB=3
head -c $SA /dev/urandom >"$R/busy.bin"
head -c $SB /dev/urandom >"$R/other.bin"
chmod 0644 "$R"/*.bin
write_conf "$T/conf"

"$PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.2", 0))' 2>/dev/null ||
    skip_all "127.0.0.2 cannot be bound here"

WORKERS=2 master_start "$R" --workers 2

# json_file NAME ARGS...: tftpctl -i $INSTANCE ARGS > $T/NAME.json, valid.
json_file() {
	local f="$T/$1.json"
	shift
	ctl -i "$INSTANCE" "$@" >"$f" 2>"$T/ctl.err" || {
		echo "#   tftpctl $* failed:"
		sed 's/^/#   | /' "$T/ctl.err"
		return 1
	}
	json_ok "$f"
}

# gets SOURCE FILE N [name=value...]: N downloads of FILE from SOURCE,
# each compared with the root's copy.
gets() {
	"$PYTHON" - "$LIB_DIR" "$PORT" "$R" "$@" <<-'PYEOF'
	import sys
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	port, root, src, name, n = (int(sys.argv[2]), sys.argv[3],
	                            sys.argv[4], sys.argv[5], int(sys.argv[6]))
	opts = [tuple(a.split("=", 1)) for a in sys.argv[7:]]
	want = open(root + "/" + name, "rb").read()
	for i in range(n):
	    with t.Client("127.0.0.1", port, timeout=5.0, source=src) as c:
	        got, _ = c.get(name, options=opts)
	        if bytes(got) != want:
	            print("#   %s from %s: %d bytes, not the file's %d"
	                  % (name, src, len(got), len(want)))
	            sys.exit(1)
	PYEOF
}

# --- reset, then the downloads -------------------------------------------------

t_reset_first() {
	ctl -i "$INSTANCE" stats --reset >"$T/reset.out" 2>&1 || {
		sed 's/^/#   | /' "$T/reset.out"
		return 1
	}
	json_file r1 stats --json &&
	    json_check "$T/r1.json" "d['resets'] == 1 and \
		d['reset_time'] is not None and d['totals']['rrq'] == 0 and \
		all(h['count'] == 0 for h in d['histograms'].values())" \
		"zeroed after the reset"
}
check "stats --reset: resets 1, the table's counts and histograms 0" \
    t_reset_first

t_downloads() {
	gets 127.0.0.1 busy.bin "$NA" &&
	    gets 127.0.0.2 other.bin 1 &&
	    gets 127.0.0.2 other.bin 1 windowsize=4 &&
	    gets 127.0.0.2 other.bin 1 blksize=1428 windowsize=8 &&
	    first_answer_from 127.0.0.2 no-such-file
}
first_answer_from() {
	"$PYTHON" - "$LIB_DIR" "$PORT" "$@" <<-'PYEOF'
	import sys
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	with t.Client("127.0.0.1", int(sys.argv[2]), source=sys.argv[3]) as c:
	    c.send_request(t.rrq(sys.argv[4]))
	    p = c.recv(5.0)
	    sys.exit(0 if p is not None and p.op == t.ERROR else 1)
	PYEOF
}
check "$((NA + NB)) downloads from two client addresses, one refused request" \
    t_downloads

N=$((NA + NB))
BYTES=$((NA * SA + NB * SB))

# The last transfer's end is counted after its last ACK arrived.
hist_done() {
	json_file h stats --json >/dev/null &&
	    json_check "$T/h.json" "d['histograms']['transfer_size_bytes']\
['count'] >= $N" >/dev/null
}
wait_until 10 hist_done || true

t_hist_json() {
	json_file h stats --json &&
	    json_check "$T/h.json" "[d['histograms'][k]['count'] for k in \
		('transfer_duration_seconds', 'transfer_size_bytes', \
		'transfer_retransmits')] == [$N] * 3" "histogram counts" &&
	    json_check "$T/h.json" "d['histograms']['transfer_size_bytes']\
['sum'] == $BYTES" "size sum" &&
	    json_check "$T/h.json" "all(h['buckets'][-1]['le'] == '+Inf' and \
		h['buckets'][-1]['count'] == h['count'] and \
		all(a['count'] <= b['count'] for a, b in \
		zip(h['buckets'], h['buckets'][1:])) \
		for h in d['histograms'].values())" "cumulative buckets" &&
	    json_check "$T/h.json" "d['histograms']['ack_rtt_seconds']\
['count'] >= $N" "round-trip samples" &&
	    json_check "$T/h.json" "d['totals']['rrq'] == $N + 1 and \
		d['totals']['transfers_ok'] == $N" "counters since the reset"
}
check "stats --json: $N transfers in each histogram, the size sum is the bytes" \
    t_hist_json

t_hist_text() {
	ctl -i "$INSTANCE" stats >"$T/stats.txt" &&
	    assert_grep "^transfer_size_bytes +$N +$BYTES " "$T/stats.txt" \
		"size row" &&
	    assert_grep "^counts since the last of 1 resets" "$T/stats.txt" \
		"reset line"
}
check "stats: the histogram rows with count, sum and quantiles" t_hist_text

PROM_PY=""
for py in "$PYTHON" /usr/bin/python3; do
	if "$py" -c 'import prometheus_client.parser' 2>/dev/null; then
		PROM_PY=$py
		break
	fi
done
t_prom() {
	ctl -i "$INSTANCE" stats --prometheus >"$T/prom.txt" || return 1
	"$PROM_PY" - "$T/prom.txt" "$N" "$BYTES" <<-'PYEOF'
	import sys
	from prometheus_client.parser import text_string_to_metric_families
	n, nbytes = int(sys.argv[2]), int(sys.argv[3])
	fams = {f.name: f for f in
	        text_string_to_metric_families(open(sys.argv[1]).read())}
	ok = True
	for h in ("transfer_duration_seconds", "transfer_size_bytes",
	          "ack_rtt_seconds", "transfer_retransmits"):
	    f = fams.get("snowowl_tftpd_" + h)
	    if f is None or f.type != "histogram":
	        print("#   %s: missing or not a histogram" % h)
	        ok = False
	        continue
	    kinds = {s.name[len(f.name):] for s in f.samples}
	    if kinds != {"_bucket", "_sum", "_count"}:
	        print("#   %s: samples %r" % (h, sorted(kinds)))
	        ok = False
	    count = sum(s.value for s in f.samples if s.name.endswith("_count"))
	    inf = sum(s.value for s in f.samples if s.name.endswith("_bucket")
	              and s.labels["le"] == "+Inf")
	    if count != inf:
	        print("#   %s: _count %s, +Inf bucket %s" % (h, count, inf))
	        ok = False
	    if h == "transfer_size_bytes":
	        total = sum(s.value for s in f.samples if s.name.endswith("_sum"))
	        # Raw counters: no transfer ran before the reset.
	        if count != n or total != nbytes:
	            print("#   size: count %s sum %s" % (count, total))
	            ok = False
	sys.exit(0 if ok else 1)
	PYEOF
}
if [ -n "$PROM_PY" ]; then
	check "stats --prometheus: four histograms that parse, _bucket _sum _count" \
	    t_prom
else
	skip "prometheus_client not installed: apt-get install python3-prometheus-client"
fi

# Every metric the Grafana dashboard's queries name is in the output of
# this running server: renaming one breaks this check.
DASHBOARD="$LIB_DIR/../../contrib/grafana/snowowl-tftpd.json"
t_dashboard() {
	ctl -i "$INSTANCE" stats --prometheus >"$T/prom3.txt" || return 1
	"$PYTHON" - "$DASHBOARD" "$T/prom3.txt" <<-'PYEOF'
	import json, re, sys
	exprs = []
	def walk(o):
	    if isinstance(o, dict):
	        for k, v in o.items():
	            if k in ("expr", "query", "definition") and \
	                    isinstance(v, str):
	                exprs.append(v)
	            else:
	                walk(v)
	    elif isinstance(o, list):
	        for v in o:
	            walk(v)
	walk(json.load(open(sys.argv[1])))
	used = set()
	for e in exprs:
	    used.update(re.findall(r"snowowl_tftpd_[A-Za-z0-9_]+", e))
	have = set()
	for line in open(sys.argv[2]):
	    if line.strip() and not line.startswith("#"):
	        have.add(re.split(r"[{ ]", line, 1)[0])
	missing = sorted(used - have)
	for m in missing:
	    print("#   the dashboard uses %s, not in the output" % m)
	if len(used) < 10:
	    print("#   only %d metric names found in the dashboard" % len(used))
	    sys.exit(1)
	sys.exit(1 if missing else 0)
	PYEOF
}
check "contrib/grafana: every metric its queries use is in stats --prometheus" \
    t_dashboard

t_clients() {
	json_file cl clients --json &&
	    json_check "$T/cl.json" "d[0]['client'] == '127.0.0.1' and \
		d[0]['requests'] >= $NA and d[1]['client'] == '127.0.0.2' and \
		d[1]['requests'] == $NB + 1 and d[1]['failures'] == 1 and \
		d[1]['bytes'] == $((NB * SB))" "clients" &&
	    ctl -i "$INSTANCE" clients -n 1 >"$T/cl.txt" &&
	    assert_eq 2 "$(wc -l <"$T/cl.txt")" "lines of clients -n 1" &&
	    assert_grep "^127\.0\.0\.1 " "$T/cl.txt" "busiest client"
}
check "clients: 127.0.0.1 first, 127.0.0.2 with its requests, bytes, failure" \
    t_clients

t_files() {
	json_file fl files --json &&
	    json_check "$T/fl.json" "d[0]['file'] == 'busy.bin' and \
		d[0]['requests'] == $NA and d[0]['bytes'] == $((NA * SA)) and \
		d[1]['file'] == 'other.bin' and d[1]['requests'] == $NB" \
		"files" &&
	    ctl -i "$INSTANCE" files >"$T/fl.txt" &&
	    assert_grep '"busy\.bin"$' <(sed -n 2p "$T/fl.txt") "busiest file"
}
check "files: busy.bin first, then other.bin" t_files

# A name with a backslash and a quote, escaped once in each output: in
# the table as \ooo, in JSON as itself (the sessions listing too, whose
# entries once held the log line's escaped name and were escaped again).
ODD='odd\na"me'
cp "$R/busy.bin" "$R/$ODD"
chmod 0644 "$R/$ODD"
t_escaped_once() {
	local hold="$T/hold" st=0
	gets 127.0.0.2 "$ODD" 1 || return 1
	json_file fl2 files --json &&
	    json_check "$T/fl2.json" "any(r['file'] == 'odd\\\\na\"me' \
		for r in d)" "files --json" || st=1
	ctl -i "$INSTANCE" files >"$T/fl2.txt" &&
	    assert_grep ' "odd\\134na\\042me"$' "$T/fl2.txt" "files table" ||
	    st=1
	: >"$hold"
	slow_get "$PORT" "$ODD" "$T/odd.out" 0.2 "$hold" &
	local pid=$!
	wait_until 10 sessions_show_odd || st=1
	rm -f "$hold"
	wait "$pid" || st=1
	json_check "$T/se.json" "any(e['file'] == 'odd\\\\na\"me' \
		for e in d)" "sessions --json" || st=1
	assert_grep ' "odd\\134na\\042me"$' "$T/se.txt" "sessions table" ||
	    st=1
	return $st
}
sessions_show_odd() {
	ctl -i "$INSTANCE" sessions --json >"$T/se.json" 2>/dev/null &&
	    ctl -i "$INSTANCE" sessions >"$T/se.txt" 2>/dev/null &&
	    grep -q 'odd' "$T/se.json" && grep -q 'odd' "$T/se.txt"
}
check "files, sessions: a name with '\\' and '\"' escaped once, table and JSON" \
    t_escaped_once

t_reset_again() {
	ctl -i "$INSTANCE" stats --reset >/dev/null 2>&1 &&
	    json_file r2 stats --json &&
	    json_check "$T/r2.json" "d['resets'] == 2 and \
		d['totals']['rrq'] == 0 and d['totals']['bytes_sent'] == 0 \
		and all(h['count'] == 0 and h['sum'] == 0 for h in \
		d['histograms'].values())" "zeroed again" &&
	    ctl -i "$INSTANCE" stats --prometheus >"$T/prom2.txt" &&
	    assert_grep "^snowowl_tftpd_stats_resets_total\{.*\} 2$" \
		"$T/prom2.txt" "resets in Prometheus"
}
check "stats --reset again: counts 0 in the table, resets 2" t_reset_again

# Karn: a block sent again gives no round trip.  After the reset, one
# download of busy.bin (6 blocks of 512, no options) whose client lets
# DATA 1 go unanswered and repeats its request, as a client that lost it
# does (the server's timer does not resend to a client that never
# answered): DATA 1 comes again, 5 round trips (blocks 2 to 6, each well
# below a second), not 6, and one transfer with one retransmit.
lossy_get() {
	"$PYTHON" - "$LIB_DIR" "$PORT" <<-'PYEOF'
	import sys
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	with t.Client("127.0.0.1", int(sys.argv[2]), timeout=5.0) as c:
	    c.send_request(t.rrq("busy.bin"))
	    p = c.recv()
	    if p is None or p.op != t.DATA or p.block != 1:
	        sys.exit("first answer %r" % p)
	    p = c.recv(1.5)
	    if p is not None:
	        sys.exit("sent again unasked: %r" % p)
	    c.send_request(t.rrq("busy.bin"))
	    p = c.recv(4.0)
	    if p is None or p.op != t.DATA or p.block != 1:
	        sys.exit("DATA 1 not sent again: %r" % p)
	    block = 1
	    while True:
	        c.send(t.ack(block))
	        if len(p.payload) < 512:
	            break
	        p = c.recv()
	        if p is None or p.op != t.DATA or p.block != block + 1:
	            sys.exit("expected DATA %d, got %r" % (block + 1, p))
	        block += 1
	PYEOF
}
karn_done() {
	json_file k stats --json >/dev/null &&
	    json_check "$T/k.json" "d['histograms']['transfer_size_bytes']\
['count'] == 1" >/dev/null
}
t_karn() {
	lossy_get || return 1
	wait_until 10 karn_done || true
	json_check "$T/k.json" "d['histograms']['ack_rtt_seconds']['count'] \
		== 5 and d['histograms']['ack_rtt_seconds']['sum'] < 1" \
		"round trips" &&
	    json_check "$T/k.json" "d['histograms']['transfer_retransmits']\
['count'] == 1 and d['histograms']['transfer_retransmits']['sum'] == 1 \
		and d['histograms']['transfer_retransmits']['buckets'][1] == \
		{'le': 1, 'count': 1}" "retransmits"
}
check "ack_rtt: the block sent again gives no sample (Karn), retransmits 1" \
    t_karn

t_reset_refused() {
	local ctlcopy="$T/tftpctl"
	# The build tree may not be reachable for that user.
	cp "$TFTPCTL" "$ctlcopy" && chmod 0755 "$ctlcopy" || return 1
	chmod o+x "$T"
	if timeout 20 setpriv --reuid=4242 --regid=4242 --clear-groups \
	    "$ctlcopy" -d "$RUNDIR" -i "$INSTANCE" stats --reset \
	    >"$T/refused.out" 2>&1; then
		echo "#   uid 4242 could reset:"
		sed 's/^/#   | /' "$T/refused.out"
		return 1
	fi
	json_file r3 stats --json &&
	    json_check "$T/r3.json" "d['resets'] == 2" "resets unchanged"
}
if is_root && command -v setpriv >/dev/null; then
	check "stats --reset by a user neither root nor the service user: refused" \
	    t_reset_refused
else
	skip "reset by another user: needs root and setpriv"
fi

lib_finish
