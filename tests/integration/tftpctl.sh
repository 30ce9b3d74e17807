#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# tftpctl against a running master with two workers: the counters after
# 100 downloads of 1 MiB (JSON totals, per-worker sums, Prometheus text
# that parses, the table), sessions during a download, workers, get/set of
# a live setting (new transfers use it, no worker restarted; non-live keys
# and out-of-range values refused; its reply says it lasts until the next
# reload, and a reload undoes it), reload during a 40 MiB download and
# of a bad file, and two instances side by side in one runtime directory.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

TO=30			# one 1 MiB download
NDL=100

R="$T/root"
make_root "$R"
head -c $((40 * 1048576)) /dev/urandom >"$R/big40"
chmod 0644 "$R/big40"
DL="$T/dl"
mkdir -p "$DL"
# Many requests at once from 127.0.0.1, spread over the workers: the
# per-client limits (on by default, which steers a client to one worker)
# are off here.
write_conf "$T/conf" "[limits]" "per_client_transfers = 0" "per_client_rate = 0"

need_tftp_hpa

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


hpa_get() {		# port remote local
	timeout "$TO" tftp -m binary 127.0.0.1 "$1" -c get "$2" "$3" \
	    >/dev/null 2>&1
}

WORKERS=2 master_start "$R" --workers 2

# --- 100 downloads, the counters ------------------------------------------------

# The readiness probe of master_start was a request too: count from here.
json_file base stats --json || hard_error "tftpctl stats --json"

t_downloads() {
	local b j ok=0 pids
	for ((b = 0; b < NDL / 4; b++)); do
		pids=()
		for j in 1 2 3 4; do
			hpa_get "$PORT" m1 "$DL/m1.$j" &
			pids+=($!)
		done
		for j in 1 2 3 4; do
			if wait "${pids[$((j - 1))]}" &&
			    cmp -s "$R/m1" "$DL/m1.$j"; then
				ok=$((ok + 1))
			fi
			rm -f "$DL/m1.$j"
		done
	done
	assert_eq "$NDL" "$ok" "intact downloads"
}
check "$NDL downloads of 1 MiB, 4 at a time (tftp-hpa), all intact" t_downloads

json_file after stats --json || hard_error "tftpctl stats --json"
check "stats --json: totals.rrq grew by $NDL" \
    assert_eq "$NDL" "$(delta after base rrq)" "rrq"
check "stats --json: totals.transfers_ok grew by $NDL" \
    assert_eq "$NDL" "$(delta after base transfers_ok)" "transfers_ok"
check "stats --json: no transfer failed" \
    assert_eq 0 "$(delta after base transfers_failed)" "transfers_failed"
t_bytes() {
	local n
	n=$(delta after base bytes_sent)
	if [ "$n" -lt $((NDL * 1048576)) ]; then
		echo "#   bytes_sent grew by $n, less than $((NDL * 1048576))"
		return 1
	fi
}
check "stats --json: totals.bytes_sent grew by >= $NDL MiB" t_bytes
check "stats --json: the workers array has one entry per worker (2)" \
    json_check "$T/after.json" "len(d['workers']) == 2 and \
    [w['index'] for w in d['workers']] == [0, 1]"

# Every number in totals (nested objects too) is the sum over workers.
t_sums() {
	"$PYTHON" - "$T/after.json" <<-'PYEOF'
	import json, sys
	d = json.load(open(sys.argv[1]))
	bad = []
	def walk(path, tot, ws):
	    if isinstance(tot, dict):
	        for k, v in tot.items():
	            walk(path + [k], v, [w.get(k) if isinstance(w, dict)
	                                 else None for w in ws])
	    elif isinstance(tot, int):
	        if any(not isinstance(w, int) for w in ws):
	            bad.append("%s: missing in a worker" % ".".join(path))
	        elif sum(ws) != tot:
	            bad.append("%s: total %d, workers %r" % (".".join(path),
	                       tot, ws))
	walk([], d["totals"], d["workers"])
	n = sum(1 for k in d["totals"])
	if n < 20:
	    bad.append("only %d keys in totals" % n)
	for b in bad:
	    print("#   " + b)
	sys.exit(1 if bad else 0)
	PYEOF
}
check "stats --json: per-worker values sum to the totals" t_sums
t_both_served() {
	json_check "$T/after.json" "all(w['rrq'] > 0 for w in d['workers'])" \
	    "every worker served"
}
check "stats --json: both workers served some of the downloads" t_both_served

# --- Prometheus text format ----------------------------------------------------

ctl -i "$INSTANCE" stats --prometheus >"$T/prom.txt" 2>"$T/ctl.err"
PROM_ST=$?
json_file now stats --json || hard_error "tftpctl stats --json"
check "stats --prometheus exits 0" assert_eq 0 "$PROM_ST" "exit status"
check "stats --prometheus has snowowl_tftpd_rrq_total per worker" \
    assert_grep '^snowowl_tftpd_rrq_total\{.*worker="1".*\} [0-9]+$' \
    "$T/prom.txt" "Prometheus text"
# The distribution's module, even when python3 on PATH is another one.
PROM_PY=""
for py in "$PYTHON" /usr/bin/python3; do
	if "$py" -c 'import prometheus_client.parser' 2>/dev/null; then
		PROM_PY=$py
		break
	fi
done
if [ -n "$PROM_PY" ]; then
	t_prom_parses() {
		"$PROM_PY" - "$T/prom.txt" "$T/now.json" <<-'PYEOF'
		import json, sys
		from prometheus_client.parser import text_string_to_metric_families
		text = open(sys.argv[1]).read()
		d = json.load(open(sys.argv[2]))
		fams = list(text_string_to_metric_families(text))
		rrq = [s for f in fams for s in f.samples
		       if s.name == "snowowl_tftpd_rrq_total"]
		if not rrq:
		    print("#   no snowowl_tftpd_rrq_total sample")
		    sys.exit(1)
		workers = sorted(s.labels.get("worker") for s in rrq)
		if workers != ["0", "1"]:
		    print("#   rrq_total worker labels: %r" % workers)
		    sys.exit(1)
		total = sum(s.value for s in rrq)
		if total != d["totals"]["rrq"]:
		    print("#   rrq_total sums to %r, JSON total %r"
		          % (total, d["totals"]["rrq"]))
		    sys.exit(1)
		bad = [f.name for f in fams
		       if not f.name.startswith("snowowl_tftpd_")]
		if bad:
		    print("#   families without the prefix: %r" % bad)
		    sys.exit(1)
		print("#   %d metric families" % len(fams))
		PYEOF
	}
	check "stats --prometheus parses (prometheus_client), rrq_total per worker sums to the JSON total" \
	    t_prom_parses
else
	skip "Prometheus parse check: python3-prometheus-client not installed"
fi

ctl -i "$INSTANCE" stats >"$T/stats.txt" 2>&1
check "stats (table) lists rrq with the total" \
    assert_grep "^rrq +$(json_eval "$T/now.json" "d['totals']['rrq']") " \
    "$T/stats.txt" "tftpctl stats"

# --- sessions, workers ----------------------------------------------------------------

rm -f "$DL/slow" "$DL/slow.port"
# Held (an ACK every 20 ms: at least 40 s for m1) until sessions has
# shown it.
HOLD="$DL/hold"
: >"$HOLD"
slow_get "$PORT" m1 "$DL/slow" 0.02 "$HOLD" >"$T/slow.log" 2>&1 &
SLOW=$!
t_sessions() {
	local cport
	wait_for 30 "the slow download's first DATA" \
	    test -s "$DL/slow.port" || {
		echo "#   slow_get: $(cat "$T/slow.log")"
		return 1
	}
	cport=$(cat "$DL/slow.port")
	session_listed() {
		ctl -i "$INSTANCE" sessions >"$T/sess.txt" 2>&1 &&
		    grep -Eq " 127\.0\.0\.1:$cport +get +[0-9]+ .*\"m1\"\$" \
		    "$T/sess.txt"
	}
	if ! wait_for 20 "the download in tftpctl sessions" session_listed; then
		echo "#   client 127.0.0.1:$cport not listed:"
		sed 's/^/#   | /' "$T/sess.txt"
		return 1
	fi
	# The byte count is published with the first ACK: wait for it.
	session_json() {
		json_file sess sessions --json >/dev/null 2>&1 &&
		    json_check "$T/sess.json" "any(s['port'] == $cport and \
		    s['address'] == '127.0.0.1' and s['file'] == 'm1' and \
		    s['direction'] == 'get' and s['bytes'] > 0 and \
		    s['size'] == 1048576 for s in d)" "sessions --json"
	}
	if ! wait_until 20 session_json >/dev/null; then
		session_json
		sed 's/^/#   | /' "$T/sess.json"
		return 1
	fi
}
check "sessions lists the download in progress (client, get, file)" t_sessions
rm -f "$HOLD"
t_slow_done() {
	wait "$SLOW" && assert_same_file "$R/m1" "$DL/slow"
}
check "the listed download completes" t_slow_done

# A name with an ESC byte (the rules map it to m1: the path rules refuse
# control bytes) is listed as the client sent it, escaped once for each
# output: \033 in the table, \u001b in JSON.
printf 'r ^.\\[31mRAWC1$ m1\n' >"$T/esc.rules"
chmod 0644 "$T/esc.rules"
ESCNAME=$'\x1b[31mRAWC1'
: >"$HOLD"
rm -f "$DL/esc" "$DL/esc.port"
t_esc_session() {
	ctl -i "$INSTANCE" set map_file="$T/esc.rules" >/dev/null 2>&1 ||
	    return 1
	# Until both workers map it (an RRQ from a new port may reach
	# either): the rules are taken within a second.
	esc_mapped() {
		local a b
		a=$(first_answer "$PORT" "$ESCNAME") &&
		    b=$(first_answer "$PORT" "$ESCNAME") &&
		    [ "${a%% *}" = DATA ] && [ "${b%% *}" = DATA ]
	}
	wait_for 10 "the rules in effect" esc_mapped || return 1
	slow_get "$PORT" "$ESCNAME" "$DL/esc" 0.02 "$HOLD" >"$T/esc.log" 2>&1 &
	ESC_PID=$!
	esc_listed() {
		ctl -i "$INSTANCE" sessions >"$T/esc.txt" 2>&1 &&
		    grep -qF ' "\033[31mRAWC1"' "$T/esc.txt"
	}
	wait_for 20 "the ESC name in tftpctl sessions" esc_listed || {
		sed 's/^/#   | /' "$T/esc.txt" "$T/esc.log"
		return 1
	}
	json_file esc sessions --json &&
	    grep -qF '"file": "\u001b[31mRAWC1"' "$T/esc.json" &&
	    json_check "$T/esc.json" \
		"any(s['file'] == '\x1b[31mRAWC1' for s in d)" \
		"sessions --json" || {
		sed 's/^/#   | /' "$T/esc.json"
		return 1
	}
}
check "a name with ESC: \\033 in sessions, \\u001b in sessions --json" \
    t_esc_session
rm -f "$HOLD"
[ -n "${ESC_PID:-}" ] && wait "$ESC_PID"
ctl -i "$INSTANCE" set map_file= >/dev/null 2>&1 ||
    hard_error "tftpctl set map_file= failed"
# A slow client's progress shows per ACK, not in 64 KiB steps: an ACK
# every 0.3 s takes 38 s to reach 64 KiB, and bytes must be above 0 long
# before that.
rm -f "$DL/slow" "$DL/slow.port"
: >"$HOLD"
slow_get "$PORT" m1 "$DL/slow" 0.3 "$HOLD" >"$T/slow.log" 2>&1 &
SLOW=$!
t_progress() {
	local cport
	wait_for 30 "the slow download's first DATA" \
	    test -s "$DL/slow.port" || {
		echo "#   slow_get: $(cat "$T/slow.log")"
		return 1
	}
	cport=$(cat "$DL/slow.port")
	some_bytes() {
		json_file prog sessions --json >/dev/null 2>&1 &&
		    json_check "$T/prog.json" "any(s['port'] == $cport and \
		    s['bytes'] > 0 for s in d)" >/dev/null
	}
	if ! wait_for 20 "bytes > 0 for 127.0.0.1:$cport" some_bytes; then
		sed 's/^/#   | /' "$T/prog.json"
		return 1
	fi
	json_check "$T/prog.json" "[s['bytes'] for s in d if \
	    s['port'] == $cport][0] < 65536" "bytes below 64 KiB" || {
		sed 's/^/#   | /' "$T/prog.json"
		return 1
	}
}
check "sessions: a slow client's bytes move per ACK (0 < bytes < 64 KiB)" \
    t_progress
rm -f "$HOLD"
check "the slow download completes" t_slow_done

t_workers() {
	local p
	ctl -i "$INSTANCE" workers >"$T/wk.txt" 2>&1 || return 1
	for p in $(worker_pids "$MASTER"); do
		assert_grep "^[01] +$p +running " "$T/wk.txt" "tftpctl workers" ||
		    return 1
	done
	assert_eq 3 "$(wc -l <"$T/wk.txt")" "lines of tftpctl workers"
}
check "workers lists each worker's pid, running" t_workers

# --- get / set ------------------------------------------------------------------

json_file wk0 workers --json || hard_error "tftpctl workers --json"
PIDS0=$(worker_pids "$MASTER" | tr '\n' ' ')

t_set() {
	ctl -i "$INSTANCE" set max_blksize=1024 >"$T/set.out" 2>&1 || {
		echo "#   tftpctl set failed:"
		sed 's/^/#   | /' "$T/set.out"
		return 1
	}
}
check "set max_blksize=1024 succeeds" t_set
check "... and says it lasts until the next reload" \
    assert_grep '^max_blksize = 1024 \(generation [0-9]+\), until the next reload$' \
    "$T/set.out" "tftpctl set"

# New transfers use the setting within a second (each of 8 clients from
# its own port, so both workers are asked).  The sleep is that second,
# the bound tftpctl(8) promises, not a wait for something this script
# could poll: a worker takes a new setting when it next wakes.
sleep 1.2
t_blksize() {
	local i out
	for ((i = 0; i < 8; i++)); do
		out=$("$PYTHON" "$TFTPRAW" get 127.0.0.1 "$PORT" s513 \
		    "$DL/s513" blksize=8192) || {
			echo "#   get failed: $out"
			return 1
		}
		case $out in
		*"oack=[('blksize', '1024')]") ;;
		*)
			echo "#   blksize 8192 answered: $out"
			return 1
			;;
		esac
		assert_same_file "$R/s513" "$DL/s513" || return 1
	done
}
check "after set, blksize 8192 is answered with OACK blksize=1024" t_blksize

t_same_workers() {
	json_file wk1 workers --json || return 1
	json_check "$T/wk1.json" "[(w['pid'], w['restarts']) for w in d] == \
	    [(w['pid'], w['restarts']) for w in \
	    __import__('json').load(open('$T/wk0.json'))]" "worker pids" &&
	    assert_eq "$PIDS0" "$(worker_pids "$MASTER" | tr '\n' ' ')" \
	    "worker processes"
}
check "set restarted no worker (same pids in tftpctl workers --json)" \
    t_same_workers
check "get max_blksize prints 1024" \
    assert_eq 1024 "$(ctl -i "$INSTANCE" get max_blksize 2>&1)" \
    "get max_blksize"
check "get transfer.max_blksize prints 1024" \
    assert_eq 1024 "$(ctl -i "$INSTANCE" get transfer.max_blksize 2>&1)" \
    "get transfer.max_blksize"

# refused NAME ERE ARGS...: exit 1, stderr matches ERE.
refused() {
	local ere=$1 st
	shift
	ctl -i "$INSTANCE" "$@" >"$T/ref.out" 2>&1
	st=$?
	assert_eq 1 "$st" "exit status of tftpctl $*" || {
		sed 's/^/#   | /' "$T/ref.out"
		return 1
	}
	assert_grep "$ere" "$T/ref.out" "tftpctl $*"
}
check "set root=/x is refused (not live), exit 1" \
    refused 'root.*(restart|live)' set root=/x
check "... and root is unchanged" \
    assert_eq "$R" "$(ctl -i "$INSTANCE" get root 2>&1)" "get root"
check "set max_blksize=7 is refused with the range, exit 1" \
    refused 'max_blksize.*8.*65464' set max_blksize=7
check "... and max_blksize is still 1024" \
    assert_eq 1024 "$(ctl -i "$INSTANCE" get max_blksize 2>&1)" \
    "get max_blksize"

# --- reload -----------------------------------------------------------------------

rm -f "$DL/big40"
timeout 120 tftp -m binary 127.0.0.1 "$PORT" -c get big40 "$DL/big40" \
    >"$T/big40.log" 2>&1 &
BIG=$!
write_conf "$T/conf" "max_blksize = 2048" "[limits]" "per_client_transfers = 0" "per_client_rate = 0"
t_reload() {
	big_listed() {
		ctl -i "$INSTANCE" sessions 2>/dev/null | grep -q '"big40"$'
	}
	wait_for 30 "the 40 MiB download in tftpctl sessions" big_listed ||
	    return 1
	ctl -i "$INSTANCE" reload >"$T/reload.out" 2>&1 || {
		echo "#   reload failed:"
		sed 's/^/#   | /' "$T/reload.out"
		return 1
	}
	echo "#   $(cat "$T/reload.out")"
	if ! kill -0 "$BIG" 2>/dev/null; then
		echo "#   inconclusive: the download ended before the reload did"
		return 1
	fi
}
check "reload during a 40 MiB download succeeds" t_reload
t_big_intact() {
	wait "$BIG" || {
		echo "#   tftp exit $?: $(cat "$T/big40.log")"
		return 1
	}
	assert_same_file "$R/big40" "$DL/big40"
}
check "the 40 MiB download completes intact across the reload" t_big_intact
check "the reloaded file is in effect (get max_blksize = 2048)" \
    assert_eq 2048 "$(ctl -i "$INSTANCE" get max_blksize 2>&1)" \
    "get max_blksize"
check "reload restarted no worker" \
    assert_eq "$PIDS0" "$(worker_pids "$MASTER" | tr '\n' ' ')" \
    "worker processes"

printf '[transfer]\ntimeout = 1\nmax_blksize = 7\n' >"$T/conf"
check "reload of a bad file: exit 1 with FILE:LINE" \
    refused "$(printf '%s' "$T/conf" | sed 's/[].[\*^$]/\\&/g'):3:" reload
check "... and the old settings stay (max_blksize 2048)" \
    assert_eq 2048 "$(ctl -i "$INSTANCE" get max_blksize 2>&1)" \
    "get max_blksize"
write_conf "$T/conf" "[limits]" "per_client_transfers = 0" "per_client_rate = 0"

# A set value lasts until the next reload, as set's reply says.
t_set_then_reload() {
	ctl -i "$INSTANCE" set max_windowsize=4 >"$T/set2.out" 2>&1 &&
	    assert_eq 4 "$(ctl -i "$INSTANCE" get max_windowsize 2>&1)" \
		"get max_windowsize after set" &&
	    ctl -i "$INSTANCE" reload >"$T/reload2.out" 2>&1 &&
	    assert_eq 64 "$(ctl -i "$INSTANCE" get max_windowsize 2>&1)" \
		"get max_windowsize after reload (the default)"
}
check "set max_windowsize=4, reload: back to the file's (default) 64" \
    t_set_then_reload

check "the master stops on SIGTERM with status 0" daemon_stop "$MASTER"

# --- two instances --------------------------------------------------------------

WORKERS=1 master_start "$R" --workers 1
A=$INSTANCE A_PORT=$PORT A_PID=$MASTER
WORKERS=1 master_start "$R" --workers 1
B=$INSTANCE B_PORT=$PORT B_PID=$MASTER

t_instances() {
	ctl instances >"$T/inst.txt" 2>&1 || {
		sed 's/^/#   | /' "$T/inst.txt"
		return 1
	}
	assert_grep "^$A +$A_PID " "$T/inst.txt" "tftpctl instances" &&
	    assert_grep "^$B +$B_PID " "$T/inst.txt" "tftpctl instances" &&
	    assert_eq 3 "$(wc -l <"$T/inst.txt")" "lines of tftpctl instances"
}
check "instances lists both ($A, $B)" t_instances

INSTANCE=$A json_file a0 stats --json || hard_error "stats -i $A"
INSTANCE=$B json_file b0 stats --json || hard_error "stats -i $B"
t_serve_two() {
	local i
	for ((i = 0; i < 3; i++)); do
		hpa_get "$A_PORT" s513 "$DL/a" &&
		    assert_same_file "$R/s513" "$DL/a" || return 1
	done
	for ((i = 0; i < 5; i++)); do
		hpa_get "$B_PORT" s511 "$DL/b" &&
		    assert_same_file "$R/s511" "$DL/b" || return 1
	done
}
check "3 downloads from $A, 5 from $B" t_serve_two
INSTANCE=$A json_file a1 stats --json || hard_error "stats -i $A"
INSTANCE=$B json_file b1 stats --json || hard_error "stats -i $B"
check "-i $A stats --json: its own instance, rrq +3, bytes_sent +3*513" \
    json_check "$T/a1.json" "d['instance'] == '$A' and \
    d['master_pid'] == $A_PID and d['totals']['rrq'] == \
    __import__('json').load(open('$T/a0.json'))['totals']['rrq'] + 3 and \
    d['totals']['bytes_sent'] == \
    __import__('json').load(open('$T/a0.json'))['totals']['bytes_sent'] + 3 * 513"
check "-i $B stats --json: its own instance, rrq +5, bytes_sent +5*511" \
    json_check "$T/b1.json" "d['instance'] == '$B' and \
    d['master_pid'] == $B_PID and d['totals']['rrq'] == \
    __import__('json').load(open('$T/b0.json'))['totals']['rrq'] + 5 and \
    d['totals']['bytes_sent'] == \
    __import__('json').load(open('$T/b0.json'))['totals']['bytes_sent'] + 5 * 511"

t_ambiguous() {
	local st
	ctl stats >"$T/amb.out" 2>&1
	st=$?
	assert_eq 1 "$st" "exit status of plain tftpctl stats" &&
	    assert_grep '(^| )-i( |$)' "$T/amb.out" "tftpctl stats" &&
	    assert_grep "$A" "$T/amb.out" "tftpctl stats"
}
check "plain stats with two instances fails, asking for -i" t_ambiguous

check "instance $A stops with status 0" daemon_stop "$A_PID"
check "instance $B stops with status 0" daemon_stop "$B_PID"

lib_finish
