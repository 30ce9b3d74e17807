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
# S8loss and S9* run in two network namespaces made for them (servers in
# one, the S9 client in the other, behind netem and nftables), after the
# loopback scenarios; they are removed on exit.
# Root only (cgroups, privilege-dropping servers, dnsmasq's fixed port 69,
# namespaces).
# See README.md in this directory.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)

ROUNDS=5
ROUNDS_SET=0
QUICK=0
ALL_SCENARIOS="S1 S2 S2same S3w16 S3w64 S4 S5 S6 S7 S8 S8w4 S8loss S9w1 S9w16 S9w64 S9big S9Lw1 S9Lw16 S9Lw64 S9Lbig"
SCENARIOS=$ALL_SCENARIOS
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
STORM_CLIENTS=""
STORM_SIZE=""
STORM_LOSS_SIZE=""
STORM_ROUNDS=1
STORM_MAX_TIME=600
WAN_ROUNDS=1
WAN_MAX_TIME=""
WAN_DELAY=20

usage() {
	cat <<EOF
usage: $0 [options]
  --quick             smoke run: 10 MiB files, fewer requests, 1 round
  --rounds N          rounds of every scenario (default 5)
  --scenarios "LIST"  from: S1 S2 S2same S3w16 S3w64 S4 S5 S6 S7 S8 S8w4 S8loss
                      S9w1 S9w16 S9w64 S9big S9Lw1 S9Lw16 S9Lw64 S9Lbig
                      (default all; shorthands: "storm" for S8 S8w4 S8loss,
                      "wan" for the S9 rows, "lo" for S1-S7)
  --storm-clients N   S8*: concurrent clients, one download each (1000;
                      --quick 100)
  --storm-size BYTES  S8, S8w4: the file they all fetch (32 MiB; --quick 4 MiB)
  --storm-loss-size BYTES
                      S8loss's file (--storm-size; --quick 1 MiB): every lost
                      block costs a client or server timeout, so at 1% a
                      lock-step client of a 32 MiB file waits for ~230 of them
  --storm-rounds N    S8* run in the first N rounds only (1)
  --storm-max-time S  S8*: bound of one storm (600); what is not done then
                      counts as failed
  --wan-rounds N      S9* run in the first N rounds only (1)
  --wan-max-time S    S9*: bound of one transfer (15; --quick 8): a transfer
                      cut there is shown as the rate of its verified prefix
  --wan-delay MS      S9*: netem delay of the server's egress = the RTT (20)
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
	--storm-clients) STORM_CLIENTS=$2; shift ;;
	--storm-size) STORM_SIZE=$2; shift ;;
	--storm-loss-size) STORM_LOSS_SIZE=$2; shift ;;
	--storm-rounds) STORM_ROUNDS=$2; shift ;;
	--storm-max-time) STORM_MAX_TIME=$2; shift ;;
	--wan-rounds) WAN_ROUNDS=$2; shift ;;
	--wan-max-time) WAN_MAX_TIME=$2; shift ;;
	--wan-delay) WAN_DELAY=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "run-bench.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
for v in "$ROUNDS" "$STORM_ROUNDS" "$STORM_MAX_TIME" "$WAN_ROUNDS" "$WAN_DELAY" \
    ${STORM_CLIENTS:+"$STORM_CLIENTS"} ${STORM_SIZE:+"$STORM_SIZE"} \
    ${STORM_LOSS_SIZE:+"$STORM_LOSS_SIZE"} \
    ${WAN_MAX_TIME:+"$WAN_MAX_TIME"}; do
	case "$v" in ''|*[!0-9]*|0) echo "run-bench.sh: not a positive number: $v" >&2; exit 2 ;; esac
done
[ -z "$STORM_CLIENTS" ] || [ "$STORM_CLIENTS" -le 5000 ] ||
    { echo "run-bench.sh: --storm-clients at most 5000" >&2; exit 2; }
# Shorthands: a family of scenarios by its prefix.
sl=""
for sc in $SCENARIOS; do
	case "$sc" in
	storm) sl="$sl S8 S8w4 S8loss" ;;
	wan) sl="$sl S9w1 S9w16 S9w64 S9big S9Lw1 S9Lw16 S9Lw64 S9Lbig" ;;
	lo) sl="$sl S1 S2 S2same S3w16 S3w64 S4 S5 S6 S7" ;;
	*) sl="$sl $sc" ;;
	esac
done
SCENARIOS=${sl# }
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
WANDELAY=$HERE/wandelay

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
	! declare -F ns_teardown >/dev/null || ns_teardown
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
	: "${STORM_CLIENTS:=100}" "${STORM_SIZE:=$((4 << 20))}" "${WAN_MAX_TIME:=8}"
	: "${STORM_LOSS_SIZE:=$((1 << 20))}"
	# S9: per-row sizes a good server moves in a few seconds at the RTT
	# (a window of W blocks per round trip); lock-step peers are cut by
	# --wan-max-time and shown at the rate they had.
	WAN1=$((256 << 10)); WAN16=$((2 << 20)); WAN64=$((8 << 20)); WANBIG=$((64 << 20))
else
	BIG=$((100 << 20)); BIGDESC="100 MiB"
	S5C=500; S6N=500; S6C=2000; S7C=20000
	: "${STORM_CLIENTS:=1000}" "${STORM_SIZE:=$((32 << 20))}" "${WAN_MAX_TIME:=15}"
	WAN1=$((512 << 10)); WAN16=$((8 << 20)); WAN64=$((32 << 20)); WANBIG=$((1 << 30))
fi
hsize() {	# BYTES: as the table says it
	if [ $(($1 % (1 << 30))) = 0 ]; then echo "$(($1 >> 30)) GiB"
	elif [ $(($1 % (1 << 20))) = 0 ]; then echo "$(($1 >> 20)) MiB"
	elif [ $(($1 % 1024)) = 0 ]; then echo "$(($1 >> 10)) KiB"
	else echo "$1 bytes"; fi
}
: "${STORM_LOSS_SIZE:=$STORM_SIZE}"
STORMDESC=$(hsize "$STORM_SIZE")
STORMLDESC=$(hsize "$STORM_LOSS_SIZE")

mkfiles() {	# PREFIX SIZE COUNT
	local i
	for ((i = 0; i < $3; i++)); do
		head -c "$2" /dev/urandom > "$ROOT/$(printf '%s-%02d' "$1" $i)"
	done
}
note "creating files in $ROOT"
head -c $BIG /dev/urandom > "$ROOT/big.bin"
case " $SCENARIOS " in *" S8 "*|*" S8w4 "*)
	head -c "$STORM_SIZE" /dev/urandom > "$ROOT/storm.bin" ;;
esac
case " $SCENARIOS " in *" S8loss "*)
	head -c "$STORM_LOSS_SIZE" /dev/urandom > "$ROOT/stormloss.bin" ;;
esac
case " $SCENARIOS " in *" S9"*)
	head -c $WAN1 /dev/urandom > "$ROOT/wan1.bin"
	head -c $WAN16 /dev/urandom > "$ROOT/wan16.bin"
	head -c $WAN64 /dev/urandom > "$ROOT/wan64.bin"
	head -c $WANBIG /dev/urandom > "$ROOT/wanbig.bin" ;;
esac
mkfiles f100k 102400 50
mkfiles f1m 1048576 50
mkfiles f1k 1024 50
chmod 644 "$ROOT"/*
F100K=$(cd "$ROOT" && echo f100k-*)
F1M=$(cd "$ROOT" && echo f1m-*)
F1K=$(cd "$ROOT" && echo f1k-*)

# ---- the namespaces of S8loss and S9
#
# NS_S holds the servers (and S8loss's client), NS_C the S9 client; a
# tun device in each, joined by wandelay, which holds what the servers
# send for WAN_DELAY ms (this kernel may have no sch_netem; the delay is
# one way, server to client, so it is the round trip).  Loss after
# segmentation, by nftables on the receiving side's input hook:
# - NS_S: lo has gso_max_segs 1 (a GSO train is cut into datagrams before
#   the rule sees it, as on a wire), 1% of what goes to ports
#   40000-49999 (S8loss's client) is dropped;
# - NS_C: the tun device has no offloads (the kernel segments before the
#   relay), 0.5% of what goes to ports 40000-49999 (S9L*'s client) is
#   dropped; S9's lossless rows use 30000-39999.
# The servers' own ports are ephemeral, 50000-60999 in NS_S, out of both.
NS_S=tbsrv-$$
NS_C=tbcli-$$
NS_MADE=0
WAN_PID=""
NS_ADDR=192.0.2.1

# Drop LT in MOD of the datagrams to the lossy client ports (40000-49999)
# arriving in namespace NS, counting what passes and what is dropped.
loss_table() {	# NS MOD LT
	ip netns exec "$1" nft -f - <<EOF
table inet tftpbench {
	chain in {
		type filter hook input priority 0; policy accept;
		udp dport 40000-49999 counter
		udp dport 40000-49999 numgen random mod $2 < $3 counter drop
	}
}
EOF
}

ns_setup() {
	local n

	for t in ip nft; do
		command -v $t >/dev/null || die "$t is missing (S8loss, S9)"
	done
	ip netns add "$NS_S"
	NS_MADE=1
	ip netns add "$NS_C"
	for n in "$NS_S" "$NS_C"; do
		ip -n "$n" link set lo up
	done
	ip -n "$NS_S" link set lo gso_max_segs 1
	ip netns exec "$NS_S" sysctl -q -w net.ipv4.ip_local_port_range="50000 60999"
	ip -n "$NS_S" tuntap add dev tbwan0 mode tun
	ip -n "$NS_C" tuntap add dev tbwan1 mode tun
	# MTU 65535: the blksize 65464 row is not IP-fragmented (a jumbo
	# path, like lo); a long queue: a 64-block window arrives at once.
	ip -n "$NS_S" link set tbwan0 mtu 65535 txqueuelen 10000 up
	ip -n "$NS_C" link set tbwan1 mtu 65535 txqueuelen 10000 up
	ip -n "$NS_S" addr add "$NS_ADDR/24" dev tbwan0
	ip -n "$NS_C" addr add 192.0.2.2/24 dev tbwan1
	loss_table "$NS_S" 100 1	# S8loss: 1%
	loss_table "$NS_C" 1000 5	# S9L*: 0.5%
	# The relay shares the client's CPU: it is the network, not a server.
	taskset -c "$CLIENT_CPU" "$WANDELAY" --ns-a "/var/run/netns/$NS_S" \
	    --tun-a tbwan0 --ns-b "/var/run/netns/$NS_C" --tun-b tbwan1 \
	    --delay-ms "$WAN_DELAY" >> "$LOGS/wandelay.log" 2>&1 &
	WAN_PID=$!
	sleep 0.3
	kill -0 "$WAN_PID" 2>/dev/null ||
	    die "wandelay did not start: $(tail -1 "$LOGS/wandelay.log")"
}

# shellcheck disable=SC2317
ns_teardown() {
	if [ -n "$WAN_PID" ]; then
		kill "$WAN_PID" 2>/dev/null || true
		wait "$WAN_PID" 2>/dev/null || true
		WAN_PID=""
	fi
	if [ "$NS_MADE" = 1 ]; then
		ip netns exec "$NS_S" nft list table inet tftpbench \
		    > "$LOGS/nft-srv.txt" 2>&1 || true
		ip netns exec "$NS_C" nft list table inet tftpbench \
		    > "$LOGS/nft-cli.txt" 2>&1 || true
		ip netns del "$NS_S" 2>/dev/null || true
		ip netns del "$NS_C" 2>/dev/null || true
		NS_MADE=0
	fi
}

cg_detect

# ---- scenarios

# Sets SC_ARGS (tftpbench arguments), SC_METRIC, SC_DESC, SC_CPU (client
# CPU), SC_BLK and SC_WIN (what is asked; 512/1 when nothing is), SC_KIND
# (lo: a loopback rate, storm: S8*, wan: S9*), SC_NS (where the client
# runs: "" here, srv or cli: the namespaces above) and SC_MAXT (its bound).
scenario() {
	SC_CPU=$CLIENT_CPU; SC_BLK=512; SC_WIN=1; SC_METRIC=mbps
	SC_KIND=lo; SC_NS=""; SC_MAXT=$MAX_TIME
	local storm="-n $STORM_CLIENTS -c $STORM_CLIENTS -b 1468 -T"
	local sdesc="$STORM_CLIENTS clients at once, 1 x $STORMDESC each, blksize 1468"
	local wan="-n 1 -c 1 -b 1468 -T" wdesc="1 client, RTT $WAN_DELAY ms"
	local lport="--port-range 30000:39999"
	case "$1" in
	S1) SC_DESC="1 x $BIGDESC, plain RFC 1350 (blksize 512, no options)"
		SC_ARGS="-n 1 -c 1 big.bin" ;;
	S2) SC_DESC="1 x $BIGDESC, blksize 1468, windowsize 1, tsize"
		SC_BLK=1468
		SC_ARGS="-n 1 -c 1 -b 1468 -T big.bin" ;;
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
	# The PXE storm: every client asks at once, as firmware does (1 s
	# timeout, 5 resends), and the farm waits for the last one.
	S8) SC_DESC="$sdesc, windowsize 1, tsize (PXE firmware)"
		SC_BLK=1468; SC_KIND=storm; SC_MAXT=$STORM_MAX_TIME
		SC_ARGS="$storm storm.bin" ;;
	S8w4) SC_DESC="$sdesc, windowsize 4, tsize (EDK2)"
		SC_BLK=1468; SC_WIN=4; SC_KIND=storm; SC_MAXT=$STORM_MAX_TIME
		SC_ARGS="$storm -w 4 storm.bin" ;;
	# With loss every block lost costs a timeout, the client's re-ACK or
	# the server's resend, whichever comes first: the client's is 250
	# ms, iPXE's shortest retransmission timer, and it gives up after 40
	# in a row without progress (10 s, iPXE's longest timer).
	S8loss) SC_DESC="$STORM_CLIENTS clients at once, 1 x $STORMLDESC each, blksize 1468, windowsize 1, tsize, 1% loss of the datagrams to the clients (client timeout 250 ms, gives up after 10 s without progress)"
		SC_BLK=1468; SC_KIND=storm; SC_MAXT=$STORM_MAX_TIME; SC_NS=srv
		SC_ARGS="$storm --rto 250 --retries 40 --port-range 40000:49999 stormloss.bin" ;;
	S9*)	SC_KIND=wan; SC_NS=cli; SC_MAXT=$WAN_MAX_TIME; SC_BLK=1468
		case "$1" in
		S9L*) lport="--port-range 40000:49999"; wdesc="$wdesc, 0.5% loss" ;;
		esac
		case "${1#S9L}" in
		w1|S9w1) SC_DESC="$wdesc, 1 x $(hsize $WAN1), blksize 1468, windowsize 1"
			SC_ARGS="$wan $lport wan1.bin" ;;
		w16|S9w16) SC_DESC="$wdesc, 1 x $(hsize $WAN16), blksize 1468, windowsize 16"
			SC_WIN=16; SC_ARGS="$wan -w 16 $lport wan16.bin" ;;
		w64|S9w64) SC_DESC="$wdesc, 1 x $(hsize $WAN64), blksize 1468, windowsize 64"
			SC_WIN=64; SC_ARGS="$wan -w 64 $lport wan64.bin" ;;
		big|S9big) SC_DESC="$wdesc, 1 x $(hsize $WANBIG), blksize 65464, windowsize 64"
			SC_BLK=65464; SC_WIN=64
			SC_ARGS="-n 1 -c 1 -b 65464 -w 64 -T $lport wanbig.bin" ;;
		*) die "unknown scenario $1" ;;
		esac ;;
	*) die "unknown scenario $1" ;;
	esac
}
for sc in $SCENARIOS; do scenario "$sc"; done	# validate names early

run_one() {	# SERVER SCENARIO ROUND
	local s=$1 sc=$2 r=$3 c0 c1 line rc=0 crashed=0
	local -a pre=()
	scenario "$sc"
	case "$SC_NS" in
	srv) pre=(ip netns exec "$NS_S") ;;
	cli) pre=(ip netns exec "$NS_C") ;;
	esac
	if ! kill -0 "${PID[$s]}" 2>/dev/null; then	# died while idle
		wait "${PID[$s]}" 2>/dev/null || true
		note "$s was found dead before $sc (round $r); restarting it"
		start_server "$s"
		sleep 1
	fi
	c0=$(cpu_ns "$s")
	# shellcheck disable=SC2086
	line=$("${pre[@]}" taskset -c "$SC_CPU" "$BENCH" -r "$ROOT" -s "$s" \
	    -S "$sc" --max-time "$SC_MAXT" ${TFTPBENCH_ARGS:-} "$(addr_of "$s")" $SC_ARGS \
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
	# A transfer cut by its bound (S9) still has a rate: what it got
	# intact over the time it had, marked cut=1.  Client busy %: its
	# CPU time over the wall time (near 100: the client is the bound).
	line=$(echo "$line" | awk -v r="$r" -v c="$(( c1 - c0 ))" -v ccpu="$SC_CPU" \
	    -v crashed="$crashed" -v kind="$SC_KIND" '{
	    b = 0; pb = 0; ok = 0; secs = 0; cc = 0
	    for (i = 1; i <= NF; i++) {
		if ($i ~ /^bytes=/) b = substr($i, 7)
		if ($i ~ /^partial_bytes=/) pb = substr($i, 15)
		if ($i ~ /^sessions_ok=/) ok = substr($i, 13)
		if ($i ~ /^seconds=/) secs = substr($i, 9)
		if ($i ~ /^client_cpu_s=/) cc = substr($i, 14)
	    }
	    cut = (kind == "wan" && ok == 0 && pb > 0)
	    gb = (b > 0 ? b : cut ? pb : 0) / 1e9
	    cpu = c / 1e9
	    printf "%s round=%d client_cpu=%d server_cpu_s=%.3f cpu_s_per_gb=%.4f server_crashed=%d client_busy_pct=%.1f",
		$0, r, ccpu, cpu, (gb > 0 ? cpu / gb : 0), crashed, (secs > 0 ? 100 * cc / secs : 0)
	    if (cut) printf " cut=1 partial_mbps=%.3f", (secs > 0 ? pb / secs / 1e6 : 0)
	    printf "\n" }')
	echo "$line" >> "$OUT"
	echo "$line" | awk '{ printf "  %-10s %-7s", substr($1, 8), substr($2, 10)
	    for (i = 3; i <= NF; i++) if ($i ~ /^(mbps|reqps|sessions_failed|seconds|lat_p50_ms|lat_p99_ms|server_cpu_s|client_busy_pct|partial_mbps|blksize|windowsize)=/) printf " %s", $i
	    print "" }' >&2
}

# Rounds of a list of scenarios, interleaved over the servers; S8* and
# S9* only in their first STORM_ROUNDS / WAN_ROUNDS rounds.
run_rounds() {	# PROBE(0/1) SCENARIO...
	local probe=$1 r i sc
	shift
	for ((r = 1; r <= ROUNDS; r++)); do
		note "round $r of $ROUNDS: $*"
		[ "$probe" = 0 ] || limit_probes "$r"
		for sc in "$@"; do
			case "$sc" in
			S8*) [ "$r" -le "$STORM_ROUNDS" ] || continue ;;
			S9*) [ "$r" -le "$WAN_ROUNDS" ] || continue ;;
			esac
			t0=$(date +%s.%N)
			# Rotate the order each round: nobody is always first.
			for ((i = 0; i < nsrv; i++)); do
				run_one "${srv_list[$(( (i + r - 1) % nsrv ))]}" "$sc" "$r"
			done
			echo "server=timing scenario=$sc round=$r wall_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" >> "$OUT"
		done
	done
}

limit_probes() {	# ROUND
	local r=$1 sz
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
}

# Loopback scenarios first, with the servers here; then those that need
# the namespaces, with the servers started again inside NS_S.
LO_SC=""; NS_SC=""
for sc in $SCENARIOS; do
	scenario "$sc"
	if [ -n "$SC_NS" ]; then NS_SC="$NS_SC $sc"; else LO_SC="$LO_SC $sc"; fi
done
ALL_SERVERS=$SERVERS
t_start=$(date +%s)
if [ -n "$LO_SC" ]; then
	start_servers
	note "servers: $SERVERS (CPU $SERVER_CPU), client on CPU $CLIENT_CPU, CPU accounting: $CGMODE"
	# shellcheck disable=SC2206
	srv_list=($SERVERS)
	nsrv=${#srv_list[@]}
	# shellcheck disable=SC2086
	run_rounds 1 $LO_SC
	stop_servers
	SERVERS=$ALL_SERVERS
fi
if [ -n "$NS_SC" ]; then
	ns_setup
	NETNS=$NS_S; BENCH_ADDR=$NS_ADDR; DNSMASQ_ADDR=$NS_ADDR
	start_servers
	note "servers in namespace $NS_S at $NS_ADDR: $SERVERS"
	# shellcheck disable=SC2206
	srv_list=($SERVERS)
	nsrv=${#srv_list[@]}
	# shellcheck disable=SC2086
	run_rounds 0 $NS_SC
	SERVERS=$ALL_SERVERS
fi
t_end=$(date +%s)
[ -z "$RESULTS" ] || cat "$OUT" >> "$RESULTS"

# ---- the tables

specs=""
for sc in $SCENARIOS; do
	scenario "$sc"
	specs="$specs$sc|$SC_METRIC|$SC_BLK|$SC_WIN|$SC_KIND|$SC_DESC;"
done
cat <<EOF

## TFTP benchmark: medians of $ROUNDS round(s), $(date -u +%Y-%m-%d) ($(uname -r), $(nproc) CPUs)

Servers pinned to CPU $SERVER_CPU, tftpbench to CPU $CLIENT_CPU; loopback; every transfer checked
(length + CRC-32C). Cell: median (ratio to the best peer: for ours (snowowl, snowowl-sp, snowowl-b) the best of
tftp-hpa/atftpd/dnsmasq, never each other; for a peer the best other server; throughput: higher
is better, CPU and time: lower is better). Server CPU from $CGMODE accounting. Took $(( t_end - t_start )) s.
S8* in the first $STORM_ROUNDS round(s), S9* in the first $WAN_ROUNDS; S8loss and S9* with the servers in a
network namespace (S9: through a $WAN_DELAY ms one-way delay, server to client, = the RTT).
$( [ -z "$SNOWOWL_B" ] || echo "snowowl-b: $SNOWOWL_B$( [ -z "$SNOWOWL_B_CONF" ] || echo ", with $(grep -v '^#' "$SNOWOWL_B_CONF" | grep -v '^\[' | tr '
' ' ' | sed 's/  */ /g; s/ $//') in its file" )." )

EOF
awk -v specs="$specs" -v servers="$SERVERS" -v limits="$LIMIT_SIZES" \
    -v wanmax="$WAN_MAX_TIME" '
function fld(line, key,   i, n, a) {
	n = split(line, a, " ")
	for (i = 1; i <= n; i++)
		if (index(a[i], key "=") == 1)
			return substr(a[i], length(key) + 2)
	return ""
}
function add(key, v) { cnt[key]++; val[key, cnt[key]] = v }
function median(key,   n, i, j, t, a) {
	n = cnt[key]
	if (!n) return ""
	for (i = 1; i <= n; i++) a[i] = val[key, i]
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function ours(s) { return s ~ /^snowowl/ }
function fmt(v) { return v >= 100 ? sprintf("%.0f", v) : v >= 10 ? sprintf("%.1f", v) : v >= 0.1 ? sprintf("%.2f", v) : sprintf("%.3f", v) }
{
	sv = fld($0, "server"); sc = fld($0, "scenario")
	if (sv == "limit") {
		add("limit" SUBSEP sc, fld($0, sc ~ /^rtt/ ? "rtt_p50_us" : "mbps") + 0)
		if (sc ~ /^(udp|gro)/) add("limitcpu" SUBSEP sc, fld($0, "tx_cpu_s_per_gb") + 0)
		next
	}
	if (sv == "timing") { wall[sc] += fld($0, "wall_s"); next }
	m = metric[sc]
	if (fld($0, "cut") == 1) {
		add("rate" SUBSEP sc SUBSEP sv, fld($0, "partial_mbps") + 0)
		cuts[sc, sv]++
	} else {
		add("rate" SUBSEP sc SUBSEP sv, fld($0, m) + 0)
		fails[sc, sv] += fld($0, "sessions_failed") + 0
	}
	if (fld($0, "cpu_s_per_gb") + 0 > 0) add("cpu" SUBSEP sc SUBSEP sv, fld($0, "cpu_s_per_gb") + 0)
	add("ccpu" SUBSEP sc SUBSEP sv, fld($0, "client_busy_pct") + 0)
	if (kind[sc] == "storm") {
		add("last" SUBSEP sc SUBSEP sv, fld($0, "seconds") + 0)
		if (fld($0, "sessions_ok") + 0 > 0) {
			add("p50" SUBSEP sc SUBSEP sv, fld($0, "lat_p50_ms") / 1000)
			add("p99" SUBSEP sc SUBSEP sv, fld($0, "lat_p99_ms") / 1000)
		}
		nfail[sc, sv] += fld($0, "sessions_failed") + 0
		# What arrived intact, finished or not (a storm stopped by
		# --storm-max-time still shows how far it got).
		gbok[sc, sv] += (fld($0, "bytes") + fld($0, "partial_bytes")) / 1e9
		nall[sc, sv] += fld($0, "sessions_failed") + fld($0, "sessions_ok")
	}
	crashes[sc, sv] += fld($0, "server_crashed") + 0
	if (fld($0, "blksize") != "" && fld($0, "blksize") != "-") blk[sc, sv] = fld($0, "blksize")
	if (fld($0, "windowsize") != "" && fld($0, "windowsize") != "-") win[sc, sv] = fld($0, "windowsize")
}
BEGIN {
	ns = split(specs, sp, ";") - 1
	for (i = 1; i <= ns; i++) {
		split(sp[i], f, "|")
		order[i] = f[1]; metric[f[1]] = f[2]; ablk[f[1]] = f[3]; awin[f[1]] = f[4]
		kind[f[1]] = f[5]; desc[f[1]] = f[6]
	}
	nv = split(servers, sv_list, " ")
	unit["rate"] = "MB/s"; unit["cpu"] = "CPU-s/GB"; unit["last"] = "last client, s"
	unit["p50"] = "p50 client, s"; unit["p99"] = "p99 client, s"; unit["ccpu"] = "client busy %"
}
function marks(sc, s,   note) {
	note = ""
	if (win[sc, s] != "" && win[sc, s] != awin[sc]) note = note " w" win[sc, s]
	if (blk[sc, s] != "" && blk[sc, s] != ablk[sc]) note = note " b" blk[sc, s]
	if (cuts[sc, s] > 0) note = note " (cut at " wanmax " s)"
	if (fails[sc, s] > 0 && kind[sc] != "storm") note = note " **" fails[sc, s] " failed**"
	if (crashes[sc, s] > 0) note = note " **crashed " crashes[sc, s] "x**"
	return note
}
# One row: a cell per server, median and ratio to the best peer.  Rates:
# higher is better; CPU and times: lower.  Storm times are measured
# against peers that lost no client only (a server that drops half its
# clients is not done sooner).  Client busy %: no ratio.
function row(sc, rk,   i, j, v, best, cell, line, k, hi) {
	hi = (rk == "rate")
	for (i = 1; i <= nv; i++) med[i] = median(rk SUBSEP sc SUBSEP sv_list[i])
	line = "| " sc " | " (rk == "rate" && metric[sc] == "reqps" ? "req/s" : unit[rk]) " |"
	for (i = 1; i <= nv; i++) {
		v = med[i]
		if (v == "") { line = line " - |"; continue }
		best = ""
		for (j = 1; j <= nv && rk != "ccpu"; j++) {
			if (j == i || med[j] == "" || med[j] <= 0) continue
			# Ours are measured against the peers, not each other.
			if (ours(sv_list[i]) && ours(sv_list[j])) continue
			if ((rk == "last" || rk == "p50" || rk == "p99") && nfail[sc, sv_list[j]] > 0) continue
			if (best == "" || (hi ? med[j] > best : med[j] < best)) best = med[j]
		}
		cell = rk == "ccpu" ? sprintf("%.0f", v) : fmt(v)
		if (best != "" && best > 0) cell = cell sprintf(" (%.2fx)", v / best)
		if (rk == "rate") cell = cell marks(sc, sv_list[i])
		if (rk == "last") {
			if (nfail[sc, sv_list[i]] > 0) cell = cell " **" nfail[sc, sv_list[i]] "/" nall[sc, sv_list[i]] " failed**" \
			    sprintf(" (%.2f GB intact)", gbok[sc, sv_list[i]])
			else cell = cell " 0 failed"
			cell = cell marks(sc, sv_list[i])
		}
		line = line " " cell " |"
	}
	print line
}
function limitrow(label, u, text,   line, j) {
	line = "| " label " | " u " | " text " |"
	for (j = 2; j <= nv; j++) line = line " |"
	print line
}
END {
	hdr = "| scenario | unit |"; sep = "| --- | --- |"
	for (i = 1; i <= nv; i++) { hdr = hdr " " sv_list[i] " |"; sep = sep " --- |" }
	print hdr; print sep
	for (i = 1; i <= ns; i++) if (kind[order[i]] != "storm") row(order[i], "rate")
	nl = split(limits, lz, " ")
	for (i = 1; i <= nl; i++) {
		# "gro1472": GSO sends to a UDP_GRO receiver; "1472": plain.
		ln[i] = lz[i] ~ /^gro/ ? lz[i] : "udp" lz[i]
		ld[i] = lz[i] ~ /^gro/ ? substr(lz[i], 4) "-byte datagrams in GSO sends, UDP_GRO receiver" : lz[i] "-byte datagrams"
		k = "limit" SUBSEP ln[i]
		if (cnt[k]) limitrow("limit " ln[i], "MB/s", fmt(median(k)) " (loopback UDP, " ld[i] ", 1 socket)")
	}
	split("rtt1472 rtt1472same", rz, " ")
	split("across the CPUs|on the server CPU", rd, "|")
	for (i = 1; i <= 2; i++) {
		k = "limit" SUBSEP rz[i]
		if (cnt[k]) limitrow("limit " rz[i], "us", fmt(median(k)) " (UDP round trip, 1472 bytes, " rd[i] ")")
	}
	print ""
	print hdr; print sep
	for (i = 1; i <= ns; i++) row(order[i], "cpu")
	for (i = 1; i <= nl; i++) {
		k = "limitcpu" SUBSEP ln[i]
		if (cnt[k]) limitrow("limit " ln[i], "CPU-s/GB", fmt(median(k)) " (the sender of the limit row, from memory)")
	}
	nst = 0
	for (i = 1; i <= ns; i++) if (kind[order[i]] == "storm") nst++
	if (nst) {
		print ""
		print "PXE storm (S8*): time of the last client (the farm waits for it), per-client p50/p99, failures."
		print ""
		print hdr; print sep
		for (i = 1; i <= ns; i++) {
			if (kind[order[i]] != "storm") continue
			row(order[i], "last"); row(order[i], "p50"); row(order[i], "p99")
		}
	}
	print ""
	print "Client (tftpbench) CPU busy %: its CPU seconds over the wall time; near 100, the client bounds the figure."
	print ""
	print hdr; print sep
	for (i = 1; i <= ns; i++) row(order[i], "ccpu")
	print ""
	print "Scenarios:"
	for (i = 1; i <= ns; i++) print "- " order[i] ": " desc[order[i]]
	print "- wN / bN after a value: the server negotiated windowsize N / blksize N instead of what was asked" \
	    " (no windowsize support, or a smaller block)."
	print "- (cut at T s): the transfer did not finish within its bound; the rate is of the prefix it had" \
	    " received intact (CRC-checked against the file) over T s."
	print "- **N failed**: sessions that did not complete intact, over all rounds; **crashed Nx**: the server" \
	    " died during that scenario N times (restarted for the next one; see logs/)."
	line = "Wall time per scenario (all servers and rounds, s):"
	for (i = 1; i <= ns; i++) if (order[i] in wall) line = line " " order[i] " " sprintf("%.0f", wall[order[i]])
	print line
}' "$OUT"
echo
note "raw results: $OUT$( [ "$KEEP" = 1 ] || echo ' (removed; use --keep or --results FILE)')"
