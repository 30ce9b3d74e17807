#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# flood.sh: what a spoofed request flood does to each server, side by side
# with the peers, on loopback.
#   lockout:  an attacker at 127.0.0.2 sends read requests for a 1 MiB file
#             (2000/s for 20 s; then, on a fresh server, 30/s for 80 s with
#             the option timeout=255) while a victim at 127.0.0.3 makes 50
#             downloads of another 1 MiB file: how many arrive, how fast,
#             against the same 50 with no attack.
#   amp:      one request (12 bytes of payload plain; 33 with blksize 1468
#             and tsize) from a port that is open and never answers, and
#             from a closed one (the kernel answers ICMP port unreachable):
#             what the server sends to that port in the next 40 s, in
#             datagrams and bytes, and bytes / request bytes.
# The attacker's address is a black hole, as a spoofed source is: floodgen
# closes each request's socket at once, and an nftables rule on the input
# hook drops every datagram addressed to 127.0.0.2 before any socket or
# ICMP sees it (the servers' sends succeed, nothing comes back).
# While it runs nothing else on this machine reaches 127.0.0.2 either
# (the test suite uses it): run it alone.
# snowowl runs with its default per-client limits (BENCH_DEFAULT_LIMITS=0
# in the environment turns them off),
# the peers as run-bench.sh starts them.  One server at a time for the
# lockout, all at once (each its own port and source port) for amp.
# Root only; the nftables table, servers and files go away on exit.  See
# README.md in this directory.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)

SERVERS="snowowl tftp-hpa atftpd dnsmasq"
TESTS="flood slow amp"
PORT_BASE=17900
SERVER_CPU=0
CLIENT_CPU=1
ATTACKER=127.0.0.2
VICTIM=127.0.0.3
AMP_FROM=127.0.0.4
DNSMASQ_ADDR=127.0.0.5	# not 127.0.0.2: that is the black hole here
FLOOD_RATE=2000
FLOOD_S=20
SLOW_RATE=30
SLOW_S=80
SLOW_TIMEOUT=255
DOWNLOADS=50
VICTIM_N=1	# one after the other: see README.md
AMP_S=40
PIDS_MAX=4096
WORKDIR=""
KEEP=0
RESULTS=""

usage() {
	cat <<EOF
usage: $0 [options]
  --tests "LIST"      from: flood slow amp (default all)
  --servers "LIST"    from: snowowl snowowl-sp tftp-hpa atftpd dnsmasq
                      (default all but snowowl-sp)
  --snowowl PATH      the daemon (default \$SNOWOWL_TFTPD, $TOP/src/snowowl-tftpd)
  --atftpd PATH       atftpd (default \$ATFTPD, PATH, or peers.sh's copy)
  --flood-rate N      requests/s of the flood (2000); --flood-seconds S (20)
  --slow-rate N       requests/s with timeout=$SLOW_TIMEOUT (30); --slow-seconds S (80)
  --downloads N       the victim's downloads (50), --victim-sessions N at once (1)
  --amp-seconds S     how long the amp probes count (40)
  --pids-max N        tasks a server's cgroup may hold (4096: tftp-hpa forks
                      one per request, and the machine has a pid_max)
  --port-base P       servers on 127.0.0.1:P+1..P+4 (17900); dnsmasq on $DNSMASQ_ADDR:69
  --results DIR       raw result lines here (default /var/tmp/tftpbench-flood/DATE)
  --workdir DIR       files and logs here, kept; --keep keeps the default one
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--tests) TESTS=$2; shift ;;
	--servers) SERVERS=$2; shift ;;
	--snowowl) SNOWOWL=$2; shift ;;
	--atftpd) ATFTPD=$2; shift ;;
	--flood-rate) FLOOD_RATE=$2; shift ;;
	--flood-seconds) FLOOD_S=$2; shift ;;
	--slow-rate) SLOW_RATE=$2; shift ;;
	--slow-seconds) SLOW_S=$2; shift ;;
	--downloads) DOWNLOADS=$2; shift ;;
	--victim-sessions) VICTIM_N=$2; shift ;;
	--amp-seconds) AMP_S=$2; shift ;;
	--pids-max) PIDS_MAX=$2; shift ;;
	--port-base) PORT_BASE=$2; shift ;;
	--results) RESULTS=$2; shift ;;
	--workdir) WORKDIR=$2; KEEP=1; shift ;;
	--keep) KEEP=1 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "flood.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
for v in "$FLOOD_RATE" "$FLOOD_S" "$SLOW_RATE" "$SLOW_S" "$DOWNLOADS" \
    "$VICTIM_N" "$AMP_S" "$PIDS_MAX" "$PORT_BASE"; do
	case "$v" in ''|*[!0-9]*) echo "flood.sh: not a number: $v" >&2; exit 2 ;; esac
done
[ "$FLOOD_S" -ge 5 ] || { echo "flood.sh: --flood-seconds: 5 at least" >&2; exit 2; }
for t in $TESTS; do
	case "$t" in flood|slow|amp) ;; *) echo "flood.sh: unknown test $t" >&2; exit 2 ;; esac
done

# Our defaults, as shipped.  BENCH_DEFAULT_LIMITS=0 in the environment:
# per-client limits off, what a flood from many forged addresses meets
# (eviction of unanswered transfers and the byte budget alone).
: "${BENCH_DEFAULT_LIMITS:=1}"
BENCH_PIDS_MAX=$PIDS_MAX
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || die "run me as root (nftables, cgroups, servers that drop privileges, port 69)"
for t in nft taskset awk ss timeout; do
	command -v $t >/dev/null || die "$t is missing"
done
make -s -C "$HERE" >/dev/null || die "building tftpbench and floodgen failed"
BENCH=$HERE/tftpbench
FLOODGEN=$HERE/floodgen

find_servers
filter_servers

if [ -z "$WORKDIR" ]; then
	WORKDIR=$(mktemp -d /var/tmp/tftpbench-flood.XXXXXX)
else
	mkdir -p "$WORKDIR"
fi
[ -n "$RESULTS" ] || RESULTS=/var/tmp/tftpbench-flood/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS"
chmod 755 "$WORKDIR"
ROOT=$WORKDIR/root
LOGS=$WORKDIR/logs
OUT=$RESULTS/flood-results.txt
mkdir -p "$ROOT" "$LOGS"
chmod 755 "$ROOT"
chmod 1777 "$LOGS"
: > "$OUT"

NFT_TABLE=tftpflood$$
NFT_MADE=0
BG=()	# floodgen and tftpbench running in the background
# shellcheck disable=SC2317
cleanup() {
	local p

	for p in "${BG[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${BG[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	stop_servers
	[ "$NFT_MADE" = 0 ] || nft delete table inet "$NFT_TABLE" 2>/dev/null || true
	if [ "$KEEP" = 0 ]; then
		rm -rf "$WORKDIR"
	else
		note "work directory kept: $WORKDIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Three-letter names: a plain request for one is 2 + 4 + 6 = 12 bytes.
head -c $((1 << 20)) /dev/urandom > "$ROOT/a1m"	# what the attacker asks for
head -c $((1 << 20)) /dev/urandom > "$ROOT/v1m"	# what the victim downloads
chmod 644 "$ROOT"/*

# The black hole, and the amp counters on output (what the servers send to
# the probe ports, before the input side).  Input hook for the drop: a drop
# on output would fail the server's sendmsg with EPERM, which a spoofed
# source never causes; here the send succeeds and the datagram vanishes
# before a socket (or the ICMP port-unreachable path) sees it.
nft -f - <<EOF
table inet $NFT_TABLE {
	counter blackhole { }
	chain in {
		type filter hook input priority -10; policy accept;
		ip daddr $ATTACKER counter name blackhole drop
	}
	chain out {
		type filter hook output priority 0; policy accept;
	}
}
EOF
NFT_MADE=1

nft_counter() {	# NAME: "packets bytes"
	nft list counter inet "$NFT_TABLE" "$1" |
	    awk '/packets/ { for (i = 1; i < NF; i++) { if ($i == "packets") p = $(i + 1); if ($i == "bytes") b = $(i + 1) } }
		END { print p + 0, b + 0 }'
}

tasks_of() {	# SERVER: processes and threads in its cgroup now
	local f=${PCG[$1]:-${CG[$1]:-}}

	if [ -n "$f" ] && [ -f "$f/tasks" ]; then
		wc -l < "$f/tasks"
	elif [ -n "$f" ] && [ -f "$f/cgroup.threads" ]; then
		wc -l < "$f/cgroup.threads"
	else
		echo 0
	fi
}

# The victim: DOWNLOADS x v1m from 127.0.0.3, blksize 1468 and tsize as a
# PXE client asks, 1 s resends, 5 timeouts in a row and it gives up.  One
# download after the other by default: 5 at a time make 50 requests in a
# quarter of a second, past snowowl's default per-client rate (20/s, burst
# 40) with no attack at all, and the victim then locks itself out.
victim() {	# SERVER LABEL MAX_TIME
	local line rc=0

	line=$(taskset -c "$CLIENT_CPU" "$BENCH" -r "$ROOT" -s "$1" -S "$2" \
	    -n "$VICTIM_N" -c "$DOWNLOADS" -b 1468 -T \
	    --sources "$VICTIM-$VICTIM" --max-time "$3" \
	    "$(addr_of "$1")" v1m 2>> "$LOGS/tftpbench.err") || rc=$?
	[ -n "$line" ] || line="server=$1 scenario=$2 sessions_ok=0 sessions_failed=$DOWNLOADS mbps=0 seconds=0 client_rc=$rc"
	echo "$line"
}

fresh_server() {	# SERVER
	stop_servers
	start_server "$1"
	sleep 1
	kill -0 "${PID[$1]}" 2>/dev/null || {
		note "$1 did not start: $(tail -1 "$LOGS/$1.log")"
		return 1
	}
}

record() {	# LINE
	echo "$1" >> "$OUT"
	echo "$1" | awk '{ t = $2; for (i = 3; i <= NF; i++) if ($i ~ /^probe=/) t = $i
	    printf "  %-9s %-9s", substr($1, 8), substr(t, index(t, "=") + 1)
	    for (i = 3; i <= NF; i++) if ($i ~ /^(sessions_ok|sessions_failed|mbps|seconds|flood_sent|out_pkts|out_payload|rx_packets|blackhole_pkts|blackhole_bytes|server_tasks|server_crashed)=/) printf " %s", $i
	    print "" }' >&2
}

flood_one() {	# SERVER TEST: baseline, then the attack, on a fresh server
	local s=$1 t=$2 rate secs opt=() fpid gline vline alive b0 b1 bb0 bb1 tk

	if [ "$t" = flood ]; then
		rate=$FLOOD_RATE; secs=$FLOOD_S
	else
		rate=$SLOW_RATE; secs=$SLOW_S; opt=(-o "timeout=$SLOW_TIMEOUT")
	fi
	fresh_server "$s" || return 0
	record "$(victim "$s" "$t-base" 60) test=$t"
	fresh_server "$s" || return 0
	read -r b0 bb0 < <(nft_counter blackhole)
	taskset -c "$CLIENT_CPU" "$FLOODGEN" -s "$s" --from "$ATTACKER" \
	    --ports 20000:39999 -r "$rate" -d "$secs" -c $((rate * secs)) \
	    "${opt[@]}" "$(addr_of "$s")" a1m > "$WORKDIR/floodgen.out" \
	    2>> "$LOGS/floodgen.err" &
	fpid=$!
	BG+=("$fpid")
	if [ "$t" = flood ]; then
		# During the flood: from 2 s in, until 1 s before it ends.
		sleep 2
		vline=$(victim "$s" "$t" $((secs - 3)))
		tk=$(tasks_of "$s")
		wait "$fpid" || true
	else
		# After it: every transfer it started may still be held.
		wait "$fpid" || true
		tk=$(tasks_of "$s")
		vline=$(victim "$s" "$t" 30)
	fi
	BG=()
	read -r b1 bb1 < <(nft_counter blackhole)
	gline=$(cat "$WORKDIR/floodgen.out")
	alive=0
	kill -0 "${PID[$s]}" 2>/dev/null || alive=1
	[ "$alive" = 0 ] || note "$s died during $t: $(tail -1 "$LOGS/$s.log")"
	# floodgen's keys get a prefix: the victim's line has seconds= too.
	record "$vline test=$t $(echo "$gline" | sed 's/^server=[^ ]* //; s/\([a-z_]*\)=/flood_\1=/g') blackhole_pkts=$((b1 - b0)) blackhole_bytes=$((bb1 - bb0)) server_tasks=$tk server_crashed=$alive"
	# The next start truncates it: what the server said is kept.
	cp "$LOGS/$s.log" "$RESULTS/$s-$t.log" 2>/dev/null || true
	stop_servers
}

amp_all() {
	local s i k port name pids=() line
	local -A cname

	stop_servers
	start_servers
	note "amp: $SERVERS at once, ${AMP_S} s"
	i=0
	for s in $SERVERS; do
		i=$((i + 1))
		for k in plain-open opts-open plain-closed opts-closed; do
			case "$k" in
			plain-open) port=$((31000 + i)) ;;
			opts-open) port=$((31100 + i)) ;;
			plain-closed) port=$((31200 + i)) ;;
			opts-closed) port=$((31300 + i)) ;;
			esac
			name="amp_${s//-/_}_${k//-/_}"
			cname[$s.$k]=$name
			nft add counter inet "$NFT_TABLE" "$name"
			nft add rule inet "$NFT_TABLE" out ip daddr "$AMP_FROM" \
			    udp dport "$port" counter name "$name"
		done
	done
	i=0
	for s in $SERVERS; do
		i=$((i + 1))
		"$FLOODGEN" -s "$s" --from "$AMP_FROM" --ports $((31000 + i)):$((31000 + i)) \
		    --listen "$AMP_S" "$(addr_of "$s")" a1m > "$WORKDIR/amp-$s-plain-open" &
		pids+=($!)
		"$FLOODGEN" -s "$s" --from "$AMP_FROM" --ports $((31100 + i)):$((31100 + i)) \
		    --listen "$AMP_S" -o blksize=1468 -o tsize=0 \
		    "$(addr_of "$s")" a1m > "$WORKDIR/amp-$s-opts-open" &
		pids+=($!)
		"$FLOODGEN" -s "$s" --from "$AMP_FROM" --ports $((31200 + i)):$((31200 + i)) \
		    "$(addr_of "$s")" a1m > "$WORKDIR/amp-$s-plain-closed"
		"$FLOODGEN" -s "$s" --from "$AMP_FROM" --ports $((31300 + i)):$((31300 + i)) \
		    -o blksize=1468 -o tsize=0 \
		    "$(addr_of "$s")" a1m > "$WORKDIR/amp-$s-opts-closed"
	done
	BG=("${pids[@]}")
	for k in "${pids[@]}"; do
		wait "$k" || true
	done
	BG=()
	sleep 1	# the closed-port probes started a little later
	for s in $SERVERS; do
		for k in plain-open opts-open plain-closed opts-closed; do
			read -r p b < <(nft_counter "${cname[$s.$k]}")
			line="$(cat "$WORKDIR/amp-$s-$k") test=amp probe=$k out_pkts=$p out_bytes=$b out_payload=$((b - 28 * p))"
			record "$line"
		done
	done
	stop_servers
}

cg_detect
note "servers: $SERVERS (CPU $SERVER_CPU), clients on CPU $CLIENT_CPU; black hole $ATTACKER; results in $RESULTS"
t_start=$(date +%s)
for t in $TESTS; do
	case "$t" in
	flood|slow)
		for s in $SERVERS; do
			note "$t: $s"
			flood_one "$s" "$t"
		done ;;
	amp) amp_all ;;
	esac
done
t_end=$(date +%s)

# ---- the tables

fld() {	# LINE KEY
	echo "$1" | tr ' ' '\n' | awk -v k="$2" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); exit }'
}
get() {	# SERVER SCENARIO [PROBE]: its line (amp: SCENARIO amp, PROBE)
	awk -v s="server=$1" -v sc="scenario=$2" -v pr="${3:+probe=$3}" '
	    { f = g = 0
	      for (i = 1; i <= NF; i++) { if ($i == s) f = 1; if ($i == (pr == "" ? sc : pr)) g = 1 }
	      if (f && g) l = $0 }
	    END { print l }' "$OUT"
}
hdr() {
	local s h="| $1 |" sep="| --- |"
	for s in $SERVERS; do h="$h $s |"; sep="$sep --- |"; done
	echo "$h"; echo "$sep"
}
dl_cell() {	# LINE [BASELINE_LINE]
	local ok m b r=""
	[ -n "$1" ] || { echo "-"; return; }
	ok=$(fld "$1" sessions_ok); m=$(fld "$1" mbps)
	if [ -n "${2:-}" ]; then
		b=$(fld "$2" mbps)
		r=$(awk -v m="$m" -v b="$b" 'BEGIN { if (b > 0) printf " (%.2fx)", m / b }')
	fi
	echo "${ok:-0}/$DOWNLOADS, ${m:-0} MB/s$r$( [ "$(fld "$1" server_crashed)" != 1 ] || echo ' **crashed**')"
}

if [ "$BENCH_DEFAULT_LIMITS" = 1 ]; then
	limits="default per-client limits"
else
	limits="per-client limits OFF (BENCH_DEFAULT_LIMITS=0)"
fi
cat <<EOF

## TFTP under a spoofed request flood: $(date -u +%Y-%m-%d) ($(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) at the end)

Loopback; servers on CPU $SERVER_CPU (each alone for the lockout tests, fresh for each attack),
floodgen and the victim's tftpbench on CPU $CLIENT_CPU. snowowl: $limits;
peers as run-bench.sh starts them. Attacker $ATTACKER (black-holed: nftables drops
everything to it on input, its sockets are closed); victim $VICTIM: $DOWNLOADS downloads of
1 MiB, $VICTIM_N at a time, blksize 1468 + tsize, 1 s resends, 5 timeouts and it gives up.
Took $(( t_end - t_start )) s. Raw lines: $OUT.

EOF
if [[ " $TESTS " == *" flood "* || " $TESTS " == *" slow "* ]]; then
	hdr "lockout"
	for t in flood slow; do
		[[ " $TESTS " == *" $t "* ]] || continue
		if [ "$t" = flood ]; then
			desc="$FLOOD_RATE RRQ/s x $FLOOD_S s, victim during it"
		else
			desc="$SLOW_RATE RRQ/s x $SLOW_S s, timeout=$SLOW_TIMEOUT, victim after it"
		fi
		row="| $t: no attack |"
		for s in $SERVERS; do row="$row $(dl_cell "$(get "$s" "$t-base")") |"; done
		echo "$row"
		row="| $t: $desc (ratio to no attack) |"
		for s in $SERVERS; do row="$row $(dl_cell "$(get "$s" "$t")" "$(get "$s" "$t-base")") |"; done
		echo "$row"
		row="| $t: RRQs sent / to the attacker: datagrams, MB |"
		for s in $SERVERS; do
			l=$(get "$s" "$t")
			if [ -z "$l" ]; then row="$row - |"; continue; fi
			row="$row $(fld "$l" flood_sent) / $(fld "$l" blackhole_pkts), $(awk -v b="$(fld "$l" blackhole_bytes)" 'BEGIN { printf "%.1f", b / 1e6 }') |"
		done
		echo "$row"
		row="| $t: server tasks (processes+threads) |"
		for s in $SERVERS; do l=$(get "$s" "$t"); row="$row $( [ -n "$l" ] && fld "$l" server_tasks || echo -) |"; done
		echo "$row"
	done
	echo
fi
if [[ " $TESTS " == *" amp "* ]]; then
	hdr "one spoofed RRQ"
	for k in plain-open opts-open plain-closed opts-closed; do
		case "$k" in
		plain-open) d="plain (12 B), open silent port" ;;
		opts-open) d="blksize 1468 + tsize (33 B), open silent port" ;;
		plain-closed) d="plain (12 B), closed port (ICMP)" ;;
		opts-closed) d="blksize 1468 + tsize (33 B), closed port (ICMP)" ;;
		esac
		row="| $d |"
		for s in $SERVERS; do
			l=$(get "$s" amp "$k")
			if [ -z "$l" ]; then row="$row - |"; continue; fi
			row="$row $(awk -v p="$(fld "$l" out_pkts)" -v b="$(fld "$l" out_payload)" -v r="$(fld "$l" req_bytes)" \
			    'BEGIN { printf "%d pkts, %d B, %.0fx", p, b, (r > 0 ? b / r : 0) }') |"
		done
		echo "$row"
	done
	echo
	echo "Counted on the output hook for ${AMP_S} s after the request: UDP payload bytes sent to the"
	echo "probe's port / the request's UDP payload. The open port never answers (floodgen --listen"
	echo "counts the same datagrams in the raw lines: rx_packets, rx_data, rx_oack, rx_error)."
	echo
fi
note "raw results: $OUT"
