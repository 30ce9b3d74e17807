#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# uring-vs-gso.sh: the io_uring question, measured.  uringproto's two
# backends (--io gso, --io uring: the same protocol code) and the daemon
# (single_port, and its default mode) side by side on loopback: server on
# one CPU in a cgroup of its own, tftpbench on the other, rounds
# interleaved; per run MB/s (or req/s), server CPU-s per GB, and system
# calls per packet (perf's raw_syscalls:sys_enter on the server's tasks,
# divided by the DATA and OACK packets the transfers need, resends not
# counted).  Prints a markdown table of medians.  Root (cgroups, perf).
# See README.md in this directory.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)

ROUNDS=3
SCENARIOS="S3w64 S4 S7 S8w1 S8w4"
SERVERS="uring-gso uring snowowl-sp snowowl"
SERVER_CPU=0
CLIENT_CPU=1
PORT_BASE=17300
MAX_TIME=300
BIGMB=100
S7C=20000
S8N=1000
S8MB=8
WORKDIR=""
KEEP=0
SNOWOWL=${SNOWOWL_TFTPD:-}
PERF=1

usage() {
	cat <<EOF
usage: $0 [options]
  --rounds N          rounds (3)
  --scenarios "LIST"  from: S3w64 S4 S7 S8w1 S8w4 (all)
  --servers "LIST"    from: uring-gso uring snowowl-sp snowowl (all)
  --snowowl PATH      the daemon (\$SNOWOWL_TFTPD, $TOP/src/snowowl-tftpd)
  --port-base P       servers on 127.0.0.1:P+1, P+4, P+6, P+7 (17300)
  --big-mb N          S3w64/S4 file size in MiB (100)
  --s7 N              S7 requests (20000)
  --s8 N              S8 clients (1000); --s8-mb M their file, MiB (8)
  --no-perf           no system-call counts (perf not run)
  --workdir DIR       keep files and logs there
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) ROUNDS=$2; shift ;;
	--scenarios) SCENARIOS=$2; shift ;;
	--servers) SERVERS=$2; shift ;;
	--snowowl) SNOWOWL=$2; shift ;;
	--port-base) PORT_BASE=$2; shift ;;
	--big-mb) BIGMB=$2; shift ;;
	--s7) S7C=$2; shift ;;
	--s8) S8N=$2; shift ;;
	--s8-mb) S8MB=$2; shift ;;
	--no-perf) PERF=0 ;;
	--workdir) WORKDIR=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$HERE/lib.sh"
[ "$(id -u)" = 0 ] || die "run me as root (cgroups, perf)"
[ "$PERF" = 0 ] || command -v perf >/dev/null || die "perf is missing (--no-perf)"
make -s -C "$HERE" >/dev/null || die "building the tools failed"
[ -x "$HERE/uringproto" ] || die "no uringproto (liburing-dev missing?)"
BENCH=$HERE/tftpbench
UP=$HERE/uringproto
find_servers

if [ -z "$WORKDIR" ]; then
	WORKDIR=$(mktemp -d /var/tmp/uringbench.XXXXXX)
else
	mkdir -p "$WORKDIR"; KEEP=1
fi
chmod 755 "$WORKDIR"
ROOT=$WORKDIR/root
LOGS=$WORKDIR/logs
OUT=$WORKDIR/results.txt
mkdir -p "$ROOT" "$LOGS"
chmod 755 "$ROOT"; chmod 1777 "$LOGS"
: > "$OUT"
cleanup() {
	stop_servers
	[ "$KEEP" = 1 ] || rm -rf "$WORKDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

head -c $((BIGMB << 20)) /dev/urandom > "$ROOT/big.bin"
head -c $((S8MB << 20)) /dev/urandom > "$ROOT/storm.bin"
for ((i = 0; i < 50; i++)); do
	head -c 1024 /dev/urandom > "$ROOT/$(printf 'f1k-%02d' $i)"
done
chmod 644 "$ROOT"/*
F1K=$(cd "$ROOT" && echo f1k-*)

# uringproto's two servers; the daemon's come from lib.sh.
up_addr() {
	case "$1" in
	uring-gso) echo "127.0.0.1:$((PORT_BASE + 6))" ;;
	uring) echo "127.0.0.1:$((PORT_BASE + 7))" ;;
	*) addr_of "$1" ;;
	esac
}
up_start() {	# NAME
	local s=$1 cg="" io=gso

	[ "$s" = uring-gso ] || io=uring
	case "$CGMODE" in v1|v2) cg=$CGBASE/tftpbench-$$-$s; mkdir -p "$cg"; CG[$s]=$cg ;; esac
	# shellcheck disable=SC2016
	bash -c '[ -z "$1" ] || echo $$ > "$1/cgroup.procs"; shift
		exec taskset -c "$@"' -- "$cg" "$SERVER_CPU" \
	    "$UP" --io $io "$(up_addr "$s")" "$ROOT" \
	    >> "$LOGS/$s.log" 2>&1 < /dev/null &
	PID[$s]=$!
}

cg_detect
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
for s in $SERVERS; do
	case "$s" in
	uring-gso|uring) up_start "$s" ;;
	snowowl|snowowl-sp) start_server "$s" ;;
	*) die "unknown server $s" ;;
	esac
done
sleep 1
for s in $SERVERS; do
	kill -0 "${PID[$s]}" 2>/dev/null || { tail -3 "$LOGS/$s.log"; die "$s did not start"; }
done

# SC_ARGS, SC_PKTS (DATA + OACK packets the transfers need).
scenario() {
	local big=$((BIGMB << 20)) st=$((S8MB << 20))
	case "$1" in
	S3w64) SC_ARGS="-n 1 -c 1 -b 1468 -w 64 -T big.bin"
		SC_PKTS=$(( big / 1468 + 2 )) ;;
	S4) SC_ARGS="-n 1 -c 1 -b 65464 -w 16 -T big.bin"
		SC_PKTS=$(( big / 65464 + 2 )) ;;
	S7) SC_ARGS="-n 200 -c $S7C $F1K"
		SC_PKTS=$(( S7C * 3 )) ;;
	# A storm's clients keep retrying (firmware does, for minutes):
	# --retries 30 rather than tftpbench's 5, so that a server that
	# falls behind is slow in the table rather than failed.
	S8w1) SC_ARGS="-n $S8N -c $S8N -b 1468 --retries 30 storm.bin"
		SC_PKTS=$(( S8N * (st / 1468 + 2) )) ;;
	S8w4) SC_ARGS="-n $S8N -c $S8N -b 1468 -w 4 --retries 30 storm.bin"
		SC_PKTS=$(( S8N * (st / 1468 + 2) )) ;;
	*) die "unknown scenario $1" ;;
	esac
}

run_one() {	# SERVER SCENARIO ROUND
	local s=$1 sc=$2 r=$3 c0 c1 line pids sys=0 u0="" u1="" pp=""
	scenario "$sc"
	if [ "$PERF" = 1 ]; then
		pids=$(tree_pids "${PID[$s]}" | paste -sd,)
		perf stat -x, -e raw_syscalls:sys_enter -p "$pids" \
		    -o "$LOGS/perf.$s.$sc.$r" 2>/dev/null &
		pp=$!
		sleep 0.5
	fi
	case "$s" in uring*)
		kill -USR1 "${PID[$s]}" || true; sleep 0.1
		u0=$(grep 'pkts=' "$LOGS/$s.log" | tail -1) || true ;;
	esac
	c0=$(cpu_ns "$s")
	# shellcheck disable=SC2086
	line=$(taskset -c "$CLIENT_CPU" "$BENCH" -r "$ROOT" -s "$s" -S "$sc" \
	    --max-time "$MAX_TIME" "$(up_addr "$s")" $SC_ARGS \
	    2>> "$LOGS/tftpbench.err") || true
	sleep 0.2
	c1=$(cpu_ns "$s")
	case "$s" in uring*)
		kill -USR1 "${PID[$s]}" || note "$s died during $sc"; sleep 0.1
		u1=$(grep 'pkts=' "$LOGS/$s.log" | tail -1) || true ;;
	esac
	if [ -n "$pp" ]; then
		kill -INT "$pp" 2>/dev/null || true
		wait "$pp" 2>/dev/null || true
		sys=$(awk -F, '/raw_syscalls/ { print $1 }' "$LOGS/perf.$s.$sc.$r") || true
	fi
	[ -n "$line" ] || line="server=$s scenario=$sc sessions_ok=0 sessions_failed=1 bytes=0 mbps=0 reqps=0"
	line=$(echo "$line" | awk -v r="$r" -v c="$((c1 - c0))" -v sys="${sys:-0}" \
	    -v pk="$SC_PKTS" -v u0="$u0" -v u1="$u1" '
	    function f(l, k,   i, n, a) { n = split(l, a, " ")
		for (i = 1; i <= n; i++) if (index(a[i], k "=") == 1) return substr(a[i], length(k) + 2)
		return 0 }
	    { b = f($0, "bytes"); cpu = c / 1e9
	      printf "%s round=%d server_cpu_s=%.3f cpu_s_per_gb=%.4f syscalls=%d sys_per_pkt=%.4f", $0, r, cpu, (b > 0 ? cpu / (b / 1e9) : 0), sys, sys / pk
	      if (u1 != "") { e = f(u1, "enters") - f(u0, "enters"); q = f(u1, "sqes") - f(u0, "sqes")
		printf " enters=%d sqes=%d sqes_per_enter=%.2f up_pkts=%d", e, q, (e ? q / e : 0), f(u1, "pkts") - f(u0, "pkts") }
	      print "" }')
	echo "$line" >> "$OUT"
	echo "$line" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(server|scenario|sessions_failed|mbps|reqps|cpu_s_per_gb|sys_per_pkt|sqes_per_enter)=/) printf "%s ", $i; print "" }' >&2
}

# shellcheck disable=SC2206
srv=($SERVERS)
for ((r = 1; r <= ROUNDS; r++)); do
	for sc in $SCENARIOS; do
		for ((i = 0; i < ${#srv[@]}; i++)); do
			run_one "${srv[$(( (i + r - 1) % ${#srv[@]} ))]}" "$sc" "$r"
		done
	done
done

echo
echo "## uringproto --io gso / --io uring / the daemon: medians of $ROUNDS rounds, $(date -u +%Y-%m-%d) ($(uname -r), $(nproc) CPUs)"
echo
awk -v servers="$SERVERS" -v scs="$SCENARIOS" '
function fld(l, k,   i, n, a) { n = split(l, a, " ")
	for (i = 1; i <= n; i++) if (index(a[i], k "=") == 1) return substr(a[i], length(k) + 2)
	return "" }
function med(k,   n, i, j, t, a) { n = cnt[k]; if (!n) return ""
	for (i = 1; i <= n; i++) a[i] = v[k, i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
function add(k, x) { cnt[k]++; v[k, cnt[k]] = x + 0 }
function fmt(x) { return x == "" ? "-" : x >= 100 ? sprintf("%.0f", x) : x >= 10 ? sprintf("%.1f", x) : sprintf("%.3g", x) }
{ s = fld($0, "server"); c = fld($0, "scenario")
  add(c SUBSEP s SUBSEP "rate", fld($0, c == "S7" ? "reqps" : "mbps"))
  add(c SUBSEP s SUBSEP "cpu", fld($0, "cpu_s_per_gb"))
  add(c SUBSEP s SUBSEP "sys", fld($0, "sys_per_pkt"))
  if (fld($0, "sqes_per_enter") != "") add(c SUBSEP s SUBSEP "spe", fld($0, "sqes_per_enter"))
  fail[c, s] += fld($0, "sessions_failed") }
END {
	nv = split(servers, sv, " "); ns = split(scs, sl, " ")
	h = "| scenario | figure |"; d = "| --- | --- |"
	for (i = 1; i <= nv; i++) { h = h " " sv[i] " |"; d = d " ---: |" }
	print h; print d
	for (j = 1; j <= ns; j++) {
		c = sl[j]
		split("rate cpu sys spe", ks, " ")
		split((c == "S7" ? "req/s" : "MB/s") "|CPU-s/GB|syscalls/packet|SQEs/enter", ls, "|")
		for (q = 1; q <= 4; q++) {
			line = "| " c " | " ls[q] " |"; any = 0
			for (i = 1; i <= nv; i++) {
				x = med(c SUBSEP sv[i] SUBSEP ks[q]); if (x != "") any = 1
				cell = fmt(x)
				if (q == 1 && fail[c, sv[i]] > 0) cell = cell " (" fail[c, sv[i]] " failed)"
				line = line " " cell " |"
			}
			if (any) print line
		}
	}
}' "$OUT"
echo
echo "raw lines: $OUT"
