#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# run-bench.sh: benchmark snowowl-tftpd side by side with the TFTP servers
# installed here (tftp-hpa in.tftpd, atftpd, dnsmasq) on loopback.  Each
# server is pinned to one CPU and the client (tftpbench) to another; the
# scenarios run interleaved (round r: every server does scenario s, then
# the next) so that a noisy neighbour hurts every server alike; server CPU
# time is read from a cgroup per server; the result is a markdown table of
# medians with each server's ratio to the best peer (ours, snowowl,
# snowowl-sp and snowowl-b, against the best of the others only, never
# each other).
# Root only (cgroups, privilege-dropping servers, dnsmasq's fixed port 69).
# See README.md in this directory.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)

ROUNDS=5
ROUNDS_SET=0
QUICK=0
SCENARIOS="S3w16 S3w64 S4 S5 S6 S7 S2same"
SERVERS="snowowl snowowl-sp tftp-hpa atftpd dnsmasq"
SERVER_CPU=0
CLIENT_CPU=1
PORT_BASE=16900
MAX_TIME=900
LIMIT_SIZES="1472 65468 gro1472"
WORKDIR=""
KEEP=0
RESULTS=""
SNOWOWL=${SNOWOWL_TFTPD:-}
SNOWOWL_B=""
SNOWOWL_B_CONF=""
ATFTPD=${ATFTPD:-}

usage() {
	cat <<EOF
usage: $0 [options]
  --quick             smoke run: 10 MiB files, fewer requests, 1 round
  --rounds N          rounds of every scenario (default 5)
  --scenarios "LIST"  from: S3w16 S3w64 S4 S5 S6 S7 S2same (default all)
  --servers "LIST"    from: snowowl snowowl-sp snowowl-b tftp-hpa atftpd dnsmasq
                      (default all; peers that are not installed are
                      skipped); snowowl-sp is the daemon with
                      single_port = yes in its [transfer] section
  --snowowl PATH      the daemon (default \$SNOWOWL_TFTPD, $TOP/src/snowowl-tftpd,
                      then PATH); extra flags in \$SNOWOWL_ARGS (--workers 1),
                      tftpbench's in \$TFTPBENCH_ARGS (say --no-gro)
  --snowowl-b PATH    a second build of the daemon, run as server snowowl-b
                      with snowowl's empty file and flags, side by side: what
                      a change costs (adds snowowl-b to the servers)
  --snowowl-b-conf FILE
                      lines appended to snowowl-b's file instead of the
                      limits-off lines the others get (the same binary as
                      --snowowl with limits on but never reached: what the
                      per-client checks cost)
  --atftpd PATH       atftpd (default \$ATFTPD, PATH, or unpacked by peers.sh
                      under \$BENCH_PEERS, /var/tmp/tftpbench-peers)
  --server-cpu N      CPU for the servers (0); --client-cpu N for tftpbench (1)
  --port-base P       servers listen on 127.0.0.1:P+1..P+5 (16900); dnsmasq on
                      127.0.0.2:69 (its port is fixed)
  --max-time S        give up on one run after S seconds (900)
  --no-limit          skip the loopback UDP probe
  --workdir DIR       files and logs here, kept (default: a new
                      /var/tmp/tftpbench.*, removed at the end)
  --keep              keep the work directory
  --results FILE      append the raw result lines to FILE too
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--rounds) ROUNDS=$2; ROUNDS_SET=1; shift ;;
	--scenarios) SCENARIOS=$2; shift ;;
	--servers) SERVERS=$2; shift ;;
	--snowowl) SNOWOWL=$2; shift ;;
	--snowowl-b) SNOWOWL_B=$2; shift ;;
	--snowowl-b-conf) SNOWOWL_B_CONF=$2; shift ;;
	--atftpd) ATFTPD=$2; shift ;;
	--server-cpu) SERVER_CPU=$2; shift ;;
	--client-cpu) CLIENT_CPU=$2; shift ;;
	--port-base) PORT_BASE=$2; shift ;;
	--max-time) MAX_TIME=$2; shift ;;
	--no-limit) LIMIT_SIZES="" ;;
	--workdir) WORKDIR=$2; shift ;;
	--keep) KEEP=1 ;;
	--results) RESULTS=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "run-bench.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
case "$ROUNDS" in ''|*[!0-9]*|0) echo "run-bench.sh: bad --rounds" >&2; exit 2 ;; esac
[ "$QUICK" = 0 ] || [ "$ROUNDS_SET" = 1 ] || ROUNDS=1
if [ -n "$SNOWOWL_B" ]; then
	case " $SERVERS " in
	*" snowowl-b "*) ;;
	*) SERVERS="$SERVERS snowowl-b" ;;
	esac
fi

if [ -n "$SNOWOWL_B_CONF" ]; then
	[ -n "$SNOWOWL_B" ] || { echo "run-bench.sh: --snowowl-b-conf needs --snowowl-b" >&2; exit 2; }
	[ -r "$SNOWOWL_B_CONF" ] || { echo "run-bench.sh: cannot read $SNOWOWL_B_CONF" >&2; exit 2; }
	SNOWOWL_B_CONF=$(cd "$(dirname "$SNOWOWL_B_CONF")" && pwd)/${SNOWOWL_B_CONF##*/}
fi
export SNOWOWL_B_CONF

# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || die "run me as root (cgroups, servers that drop privileges, port 69)"
for t in taskset ss awk ps; do
	command -v $t >/dev/null || die "$t is missing"
done
make -s -C "$HERE" >/dev/null || die "building tftpbench failed"
BENCH=$HERE/tftpbench
PROBE=$HERE/udpprobe

find_servers
filter_servers

# ---- work directory, files

if [ -z "$WORKDIR" ]; then
	WORKDIR=$(mktemp -d /var/tmp/tftpbench.XXXXXX)
else
	mkdir -p "$WORKDIR"
	KEEP=1	# never remove a directory we were given
fi
chmod 755 "$WORKDIR"
ROOT=$WORKDIR/root
LOGS=$WORKDIR/logs
OUT=$WORKDIR/results.txt
mkdir -p "$ROOT" "$LOGS"
chmod 755 "$ROOT"
chmod 1777 "$LOGS"	# servers log as nobody
: > "$OUT"

# shellcheck disable=SC2317
cleanup() {
	stop_servers
	if [ "$KEEP" = 0 ]; then
		rm -rf "$WORKDIR"
	else
		note "work directory kept: $WORKDIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$QUICK" = 1 ]; then
	BIG=$((10 << 20)); BIGDESC="10 MiB"
	S5C=100; S6N=100; S6C=200; S7C=2000
else
	BIG=$((100 << 20)); BIGDESC="100 MiB"
	S5C=500; S6N=500; S6C=2000; S7C=20000
fi

mkfiles() {	# PREFIX SIZE COUNT
	local i
	for ((i = 0; i < $3; i++)); do
		head -c "$2" /dev/urandom > "$ROOT/$(printf '%s-%02d' "$1" $i)"
	done
}
note "creating files in $ROOT"
head -c $BIG /dev/urandom > "$ROOT/big.bin"
mkfiles f100k 102400 50
mkfiles f1m 1048576 50
mkfiles f1k 1024 50
chmod 644 "$ROOT"/*
F100K=$(cd "$ROOT" && echo f100k-*)
F1M=$(cd "$ROOT" && echo f1m-*)
F1K=$(cd "$ROOT" && echo f1k-*)

cg_detect
start_servers
note "servers: $SERVERS (CPU $SERVER_CPU), client on CPU $CLIENT_CPU, CPU accounting: $CGMODE"

# ---- scenarios

# Sets SC_ARGS (tftpbench arguments), SC_METRIC, SC_DESC, SC_CPU (client
# CPU), SC_BLK and SC_WIN (what is asked; 512/1 when nothing is).
scenario() {
	SC_CPU=$CLIENT_CPU; SC_BLK=512; SC_WIN=1; SC_METRIC=mbps
	case "$1" in
	S3w16) SC_DESC="1 x $BIGDESC, blksize 1468, windowsize 16, tsize"
		SC_BLK=1468; SC_WIN=16
		SC_ARGS="-n 1 -c 1 -b 1468 -w 16 -T big.bin" ;;
	S3w64) SC_DESC="1 x $BIGDESC, blksize 1468, windowsize 64, tsize"
		SC_BLK=1468; SC_WIN=64
		SC_ARGS="-n 1 -c 1 -b 1468 -w 64 -T big.bin" ;;
	S4) SC_DESC="1 x $BIGDESC, blksize 65464, windowsize 16, tsize"
		SC_BLK=65464; SC_WIN=16
		SC_ARGS="-n 1 -c 1 -b 65464 -w 16 -T big.bin" ;;
	S5) SC_DESC="50 clients, $S5C x 100 KiB, plain RFC 1350"
		SC_ARGS="-n 50 -c $S5C $F100K" ;;
	S6) SC_DESC="$S6N clients, $S6C x 1 MiB, blksize 1468, windowsize 8"
		SC_BLK=1468; SC_WIN=8
		SC_ARGS="-n $S6N -c $S6C -b 1468 -w 8 $F1M" ;;
	S7) SC_DESC="200 clients, $S7C x 1 KiB, plain RFC 1350"
		SC_METRIC=reqps
		SC_ARGS="-n 200 -c $S7C $F1K" ;;
	S2same) SC_DESC="1 x $BIGDESC, blksize 1468, windowsize 1, client on the server's CPU"
		SC_BLK=1468; SC_CPU=$SERVER_CPU
		SC_ARGS="-n 1 -c 1 -b 1468 -T big.bin" ;;
	*) die "unknown scenario $1" ;;
	esac
}
for sc in $SCENARIOS; do scenario "$sc"; done	# validate names early

run_one() {	# SERVER SCENARIO ROUND
	local s=$1 sc=$2 r=$3 c0 c1 line rc=0 crashed=0
	scenario "$sc"
	if ! kill -0 "${PID[$s]}" 2>/dev/null; then	# died while idle
		wait "${PID[$s]}" 2>/dev/null || true
		note "$s was found dead before $sc (round $r); restarting it"
		start_server "$s"
		sleep 1
	fi
	c0=$(cpu_ns "$s")
	# shellcheck disable=SC2086
	line=$(taskset -c "$SC_CPU" "$BENCH" -r "$ROOT" -s "$s" -S "$sc" \
	    --max-time "$MAX_TIME" ${TFTPBENCH_ARGS:-} "$(addr_of "$s")" $SC_ARGS \
	    2>> "$LOGS/tftpbench.err") || rc=$?
	sleep 0.3	# let forked children finish and be accounted
	c1=$(cpu_ns "$s")
	# A server that died is a result, not the end of the run: note it,
	# start it again for the next scenario.
	if ! kill -0 "${PID[$s]}" 2>/dev/null; then
		crashed=1
		wait "${PID[$s]}" 2>/dev/null || true
		note "$s died during $sc (round $r): $(tail -1 "$LOGS/$s.log"); restarting it"
		start_server "$s"
		sleep 1
	fi
	[ -n "$line" ] || line="server=$s scenario=$sc sessions_ok=0 sessions_failed=1 bytes=0 seconds=0 mbps=0 reqps=0 client_rc=$rc"
	line=$(echo "$line" | awk -v r="$r" -v c="$(( c1 - c0 ))" -v ccpu="$SC_CPU" \
	    -v crashed="$crashed" '{
	    for (i = 1; i <= NF; i++) if ($i ~ /^bytes=/) b = substr($i, 7)
	    cpu = c / 1e9
	    printf "%s round=%d client_cpu=%d server_cpu_s=%.3f cpu_s_per_gb=%.4f server_crashed=%d\n",
		$0, r, ccpu, cpu, (b > 0 ? cpu / (b / 1e9) : 0), crashed }')
	echo "$line" >> "$OUT"
	echo "$line" | awk '{ printf "  %-10s %-7s", substr($1, 8), substr($2, 10)
	    for (i = 3; i <= NF; i++) if ($i ~ /^(mbps|reqps|sessions_failed|server_cpu_s|blksize|windowsize)=/) printf " %s", $i
	    print "" }' >&2
}

t_start=$(date +%s)
# shellcheck disable=SC2206
srv_list=($SERVERS)
nsrv=${#srv_list[@]}
for ((r = 1; r <= ROUNDS; r++)); do
	note "round $r of $ROUNDS"
	for sz in $LIMIT_SIZES; do
		# groN: GSO super-packets to a UDP_GRO receiver.
		case $sz in gro*) pa=(--gro -s "${sz#gro}") ;; *) pa=(-s "$sz") ;; esac
		"$PROBE" "${pa[@]}" -t 2 --rx-cpu "$SERVER_CPU" --tx-cpu "$CLIENT_CPU" |
		    sed "s/\$/ round=$r/" >> "$OUT" || note "udpprobe failed"
	done
	# The round trip every window and its ACK pay: across the CPUs, and
	# on one (S2same).
	if [ -n "$LIMIT_SIZES" ]; then
		"$PROBE" --rtt -s 1472 -t 1 --rx-cpu "$SERVER_CPU" \
		    --tx-cpu "$CLIENT_CPU" | sed "s/\$/ round=$r/" >> "$OUT" ||
		    note "udpprobe --rtt failed"
		"$PROBE" --rtt -s 1472 -t 1 --rx-cpu "$SERVER_CPU" \
		    --tx-cpu "$SERVER_CPU" |
		    sed "s/scenario=rtt1472/scenario=rtt1472same/; s/\$/ round=$r/" \
		    >> "$OUT" || note "udpprobe --rtt failed"
	fi
	for sc in $SCENARIOS; do
		# Rotate the order each round: nobody is always first.
		for ((i = 0; i < nsrv; i++)); do
			run_one "${srv_list[$(( (i + r - 1) % nsrv ))]}" "$sc" "$r"
		done
	done
done
t_end=$(date +%s)
[ -z "$RESULTS" ] || cat "$OUT" >> "$RESULTS"

# ---- the table

specs=""
for sc in $SCENARIOS; do
	scenario "$sc"
	specs="$specs$sc|$SC_METRIC|$SC_BLK|$SC_WIN|$SC_DESC;"
done
cat <<EOF

## TFTP benchmark: medians of $ROUNDS round(s), $(date -u +%Y-%m-%d) ($(uname -r), $(nproc) CPUs)

Servers pinned to CPU $SERVER_CPU, tftpbench to CPU $CLIENT_CPU; loopback; every transfer checked
(length + CRC-32C). Cell: median (ratio to the best peer: for ours (snowowl, snowowl-sp, snowowl-b) the best of
tftp-hpa/atftpd/dnsmasq, never each other; for a peer the best other server; throughput: higher
is better, CPU: lower is better). Server CPU from $CGMODE accounting. Took $(( t_end - t_start )) s.
$( [ -z "$SNOWOWL_B" ] || echo "snowowl-b: $SNOWOWL_B$( [ -z "$SNOWOWL_B_CONF" ] || echo ", with $(grep -v '^#' "$SNOWOWL_B_CONF" | grep -v '^\[' | tr '
' ' ' | sed 's/  */ /g; s/ $//') in its file" )." )

EOF
awk -v specs="$specs" -v servers="$SERVERS" -v limits="$LIMIT_SIZES" '
function fld(line, key,   i, n, a) {
	n = split(line, a, " ")
	for (i = 1; i <= n; i++)
		if (index(a[i], key "=") == 1)
			return substr(a[i], length(key) + 2)
	return ""
}
function median(key,   n, i, j, t, a) {
	n = cnt[key]
	if (!n) return ""
	for (i = 1; i <= n; i++) a[i] = val[key, i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function ours(s) { return s ~ /^snowowl/ }
function fmt(v) { return v >= 100 ? sprintf("%.0f", v) : v >= 10 ? sprintf("%.1f", v) : sprintf("%.2f", v) }
{
	sv = fld($0, "server"); sc = fld($0, "scenario")
	if (sv == "limit") {
		k = "limit" SUBSEP sc; cnt[k]++
		val[k, cnt[k]] = fld($0, sc ~ /^rtt/ ? "rtt_p50_us" : "mbps") + 0
		if (sc ~ /^(udp|gro)/) { k = "limitcpu" SUBSEP sc; cnt[k]++; val[k, cnt[k]] = fld($0, "tx_cpu_s_per_gb") + 0 }
		next
	}
	m = metric[sc]
	k = sc SUBSEP sv
	cnt[k]++; val[k, cnt[k]] = fld($0, m) + 0
	k2 = "cpu" SUBSEP sc SUBSEP sv
	if (fld($0, "bytes") + 0 > 0) { cnt[k2]++; val[k2, cnt[k2]] = fld($0, "cpu_s_per_gb") + 0 }
	fails[sc, sv] += fld($0, "sessions_failed") + 0
	crashes[sc, sv] += fld($0, "server_crashed") + 0
	if (fld($0, "blksize") != "" && fld($0, "blksize") != "-") blk[sc, sv] = fld($0, "blksize")
	if (fld($0, "windowsize") != "" && fld($0, "windowsize") != "-") win[sc, sv] = fld($0, "windowsize")
}
BEGIN {
	ns = split(specs, sp, ";") - 1
	for (i = 1; i <= ns; i++) {
		split(sp[i], f, "|")
		order[i] = f[1]; metric[f[1]] = f[2]; ablk[f[1]] = f[3]; awin[f[1]] = f[4]; desc[f[1]] = f[5]
	}
	nv = split(servers, sv_list, " ")
}
function row(sc, kind,   i, j, v, best, cell, note, line, k) {
	for (i = 1; i <= nv; i++) {
		k = (kind == "cpu" ? "cpu" SUBSEP : "") sc SUBSEP sv_list[i]
		med[i] = median(k)
	}
	line = "| " sc " | " (kind == "cpu" ? "CPU-s/GB" : metric[sc] == "reqps" ? "req/s" : "MB/s") " |"
	for (i = 1; i <= nv; i++) {
		v = med[i]
		if (v == "") { line = line " - |"; continue }
		best = ""
		for (j = 1; j <= nv; j++) {
			if (j == i || med[j] == "" || med[j] <= 0) continue
			# Ours are measured against the peers, not each other.
			if (ours(sv_list[i]) && ours(sv_list[j])) continue
			if (best == "" || (kind == "cpu" ? med[j] < best : med[j] > best)) best = med[j]
		}
		cell = fmt(v)
		if (best != "" && best > 0) cell = cell sprintf(" (%.2fx)", v / best)
		note = ""
		if (kind != "cpu") {
			s = sv_list[i]
			if (win[sc, s] != "" && win[sc, s] != awin[sc]) note = note " w" win[sc, s]
			if (blk[sc, s] != "" && blk[sc, s] != ablk[sc]) note = note " b" blk[sc, s]
			if (fails[sc, s] > 0) note = note " **" fails[sc, s] " failed**"
			if (crashes[sc, s] > 0) note = note " **crashed " crashes[sc, s] "x**"
		}
		line = line " " cell note " |"
	}
	print line
}
END {
	hdr = "| scenario | unit |"; sep = "| --- | --- |"
	for (i = 1; i <= nv; i++) { hdr = hdr " " sv_list[i] " |"; sep = sep " --- |" }
	print hdr; print sep
	for (i = 1; i <= ns; i++) row(order[i], "rate")
	nl = split(limits, lz, " ")
	for (i = 1; i <= nl; i++) {
		# "gro1472": GSO sends to a UDP_GRO receiver; "1472": plain.
		ln[i] = lz[i] ~ /^gro/ ? lz[i] : "udp" lz[i]
		ld[i] = lz[i] ~ /^gro/ ? substr(lz[i], 4) "-byte datagrams in GSO sends, UDP_GRO receiver" : lz[i] "-byte datagrams"
		k = "limit" SUBSEP ln[i]
		if (cnt[k]) {
			line = "| limit " ln[i] " | MB/s | " fmt(median(k)) " (loopback UDP, " ld[i] ", 1 socket) |"
			for (j = 2; j <= nv; j++) line = line " |"
			print line
		}
	}
	split("rtt1472 rtt1472same", rz, " ")
	split("across the CPUs|on the server CPU", rd, "|")
	for (i = 1; i <= 2; i++) {
		k = "limit" SUBSEP rz[i]
		if (cnt[k]) {
			line = "| limit " rz[i] " | us | " fmt(median(k)) " (UDP round trip, 1472 bytes, " rd[i] ") |"
			for (j = 2; j <= nv; j++) line = line " |"
			print line
		}
	}
	print ""
	print hdr; print sep
	for (i = 1; i <= ns; i++) row(order[i], "cpu")
	for (i = 1; i <= nl; i++) {
		k = "limitcpu" SUBSEP ln[i]
		if (cnt[k]) {
			line = "| limit " ln[i] " | CPU-s/GB | " fmt(median(k)) " (the sender of the limit row, from memory) |"
			for (j = 2; j <= nv; j++) line = line " |"
			print line
		}
	}
	print ""
	print "Scenarios:"
	for (i = 1; i <= ns; i++) print "- " order[i] ": " desc[order[i]]
	print "- wN / bN after a value: the server negotiated windowsize N / blksize N instead of what was asked" \
	    " (no windowsize support, or a smaller block)."
	print "- **N failed**: sessions that did not complete intact, over all rounds; **crashed Nx**: the server" \
	    " died during that scenario N times (restarted for the next one; see logs/)."
}' "$OUT"
echo
note "raw results: $OUT$( [ "$KEEP" = 1 ] || echo ' (removed; use --keep or --results FILE)')"
