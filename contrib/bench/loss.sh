#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# loss.sh: the same downloads through a lossy loopback, for every server.
# In a network namespace made for the purpose, an nftables rule drops N% of
# the datagrams the servers send (everything addressed to the client's
# ports, on arrival) at random; 20 concurrent downloads of 10 MiB with
# blksize 1468, windowsize 16, timeout 1 must all arrive intact (tftpbench
# checks length and CRC-32C).  Prints a markdown table of completions and
# MB/s per loss rate, beside the peers.  Root only; the namespace goes away
# on exit.  See README.md in this directory.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)

LOSSES="1 5"
COUNT=20
SIZE=$((10 << 20))
BLKSIZE=1468
WINDOW=16
SERVERS="snowowl tftp-hpa atftpd dnsmasq"
MAX_TIME=300
PORT_BASE=16900
SERVER_CPU=0
CLIENT_CPU=1
CLIENT_PORTS=40000:49999
KEEP=0
WORKDIR=""
GSO_TRAINS=0

usage() {
	cat <<EOF
usage: $0 [options]
  --loss "LIST"       drop rates in percent (default "1 5")
  --count N           concurrent downloads per server and rate (20)
  --size BYTES        file size (10485760)
  --blksize N         (1468)   --windowsize N (16)
  --servers "LIST"    from: snowowl snowowl-sp tftp-hpa atftpd dnsmasq
                      (default all but snowowl-sp, single_port = yes)
  --snowowl PATH      the daemon (default \$SNOWOWL_TFTPD, $TOP/src/snowowl-tftpd)
  --atftpd PATH       atftpd (default \$ATFTPD, PATH, or peers.sh's copy)
  --max-time S        stop one server's downloads after S seconds (300);
                      the lock-step servers need minutes at 5% (one
                      timeout per lost block)
  --workdir DIR       files and logs here, kept; --keep keeps the default one
  --gso-trains        leave lo's GSO alone: the rule then meets whole windows
                      (seen= counts trains), to check the drop point
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--loss) LOSSES=$2; shift ;;
	--count) COUNT=$2; shift ;;
	--size) SIZE=$2; shift ;;
	--blksize) BLKSIZE=$2; shift ;;
	--windowsize) WINDOW=$2; shift ;;
	--servers) SERVERS=$2; shift ;;
	--snowowl) SNOWOWL=$2; shift ;;
	--atftpd) ATFTPD=$2; shift ;;
	--max-time) MAX_TIME=$2; shift ;;
	--workdir) WORKDIR=$2; KEEP=1; shift ;;
	--keep) KEEP=1 ;;
	--gso-trains) GSO_TRAINS=1 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "loss.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
for v in "$COUNT" "$SIZE" "$BLKSIZE" "$WINDOW" "$MAX_TIME" $LOSSES; do
	case "$v" in ''|*[!0-9]*) echo "loss.sh: not a number: $v" >&2; exit 2 ;; esac
done

NETNS=tftpbench-loss-$$
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || die "run me as root (network namespace, nftables)"
for t in ip nft taskset awk; do
	command -v $t >/dev/null || die "$t is missing"
done
make -s -C "$HERE" >/dev/null || die "building tftpbench failed"
BENCH=$HERE/tftpbench

find_servers
filter_servers

if [ -z "$WORKDIR" ]; then
	WORKDIR=$(mktemp -d /var/tmp/tftpbench-loss.XXXXXX)
else
	mkdir -p "$WORKDIR"
fi
chmod 755 "$WORKDIR"
ROOT=$WORKDIR/root
LOGS=$WORKDIR/logs
OUT=$WORKDIR/loss-results.txt
mkdir -p "$ROOT" "$LOGS"
chmod 755 "$ROOT"
chmod 1777 "$LOGS"
: > "$OUT"

NS_MADE=0
# shellcheck disable=SC2317
cleanup() {
	stop_servers
	[ "$NS_MADE" = 0 ] || ip netns del "$NETNS" 2>/dev/null || true
	if [ "$KEEP" = 0 ]; then
		rm -rf "$WORKDIR"
	else
		note "work directory kept: $WORKDIR"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

head -c "$SIZE" /dev/urandom > "$ROOT/loss.bin"
chmod 644 "$ROOT/loss.bin"

ip netns add "$NETNS"
NS_MADE=1
ip -n "$NETNS" link set lo up
# The servers' transfer sockets take ephemeral ports; kept out of the
# client's range, or the rule below would count and drop the client's
# ACKs to a server whose port fell in it.
ip netns exec "$NETNS" sysctl -q -w net.ipv4.ip_local_port_range="50000 60999"
# No GSO train on lo: a window sent as one UDP_SEGMENT skb must meet the
# drop rule datagram by datagram, as it would on a wire.
[ "$GSO_TRAINS" = 1 ] || ip -n "$NETNS" link set lo gso_max_segs 1
# A non-loopback address, or getaddrinfo(AI_ADDRCONFIG) in tftp-hpa finds
# no IPv4 and it refuses to start.
ip -n "$NETNS" link add tbloss0 type veth peer name tbloss1
ip -n "$NETNS" addr add 192.0.2.1/24 dev tbloss0
ip -n "$NETNS" link set tbloss0 up
ip -n "$NETNS" link set tbloss1 up
# Input hook: the drop happens after the server's send succeeded (a drop
# on the output hook makes sendmsg fail with EPERM, which is not loss).
# Only what is addressed to the client's ports is dropped; requests and
# ACKs pass.
ip netns exec "$NETNS" nft -f - <<EOF
table inet tftpbench {
	chain in {
		type filter hook input priority 0; policy accept;
	}
}
EOF

# The two counters of the chain: datagrams offered, datagrams dropped.
counters() {
	ip netns exec "$NETNS" nft list chain inet tftpbench in |
	    awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") printf "%s ", $(i + 1) } END { print "" }'
}

start_servers
note "servers in namespace $NETNS: $SERVERS"

failed_ours=0
for loss in $LOSSES; do
	ip netns exec "$NETNS" nft flush chain inet tftpbench in
	# First rule: every datagram the drop rule is offered, counted, so
	# that the results show the drop works on datagrams (seen= about the
	# DATA blocks sent), not on GSO trains (seen= about the windows).
	ip netns exec "$NETNS" nft add rule inet tftpbench in \
	    udp dport "${CLIENT_PORTS/:/-}" counter
	ip netns exec "$NETNS" nft add rule inet tftpbench in \
	    udp dport "${CLIENT_PORTS/:/-}" numgen random mod 100 \< "$loss" \
	    counter drop
	for s in $SERVERS; do
		if ! kill -0 "${PID[$s]}" 2>/dev/null; then
			wait "${PID[$s]}" 2>/dev/null || true
			note "$s was found dead before loss $loss%: $(tail -1 "$LOGS/$s.log"); restarting it"
			start_server "$s"
			sleep 1
		fi
		read -r s0 d0 < <(counters)
		rc=0
		line=$(ip netns exec "$NETNS" taskset -c "$CLIENT_CPU" \
		    "$BENCH" -r "$ROOT" -s "$s" -S "loss$loss" -n "$COUNT" \
		    -c "$COUNT" -b "$BLKSIZE" -w "$WINDOW" -T -t 1 \
		    --port-range "$CLIENT_PORTS" --max-time "$MAX_TIME" \
		    "$(addr_of "$s")" loss.bin 2>> "$LOGS/tftpbench.err") ||
		    rc=$?
		read -r s1 d1 < <(counters)
		[ -n "$line" ] || line="server=$s scenario=loss$loss sessions_ok=0 sessions_failed=$COUNT mbps=0 client_rc=$rc"
		crashed=0
		if ! kill -0 "${PID[$s]}" 2>/dev/null; then
			crashed=1
			note "$s died during loss $loss%: $(tail -1 "$LOGS/$s.log")"
		fi
		line="$line loss_pct=$loss seen=$(( ${s1:-0} - ${s0:-0} )) dropped=$(( ${d1:-0} - ${d0:-0} )) blocks=$(( COUNT * (SIZE / BLKSIZE + 1) )) server_crashed=$crashed"
		echo "$line" >> "$OUT"
		echo "$line" | awk '{ printf "  %-8s %-7s", substr($1, 8), substr($2, 10)
		    for (i = 3; i <= NF; i++) if ($i ~ /^(sessions_ok|sessions_failed|mbps|seconds|retrans|seen|dropped|blocks|blksize|windowsize)=/) printf " %s", $i
		    print "" }' >&2
		if [ "${s%-sp}" = snowowl ] && ! echo "$line" | grep -q "sessions_ok=$COUNT "; then
			failed_ours=1
		fi
	done
done

cat <<EOF

## TFTP under loss: $COUNT concurrent downloads of $SIZE bytes, blksize $BLKSIZE, windowsize $WINDOW, timeout 1

Random drop of N% of the datagrams sent to the client (nftables numgen, in a private
namespace). Cell: downloads intact / asked, aggregate MB/s, the seconds it took (max $MAX_TIME).
Ratio: MB/s against the best other server.

EOF
awk -v servers="$SERVERS" -v losses="$LOSSES" -v count="$COUNT" '
function fld(line, key,   i, n, a) {
	n = split(line, a, " ")
	for (i = 1; i <= n; i++)
		if (index(a[i], key "=") == 1)
			return substr(a[i], length(key) + 2)
	return ""
}
{ k = fld($0, "server") SUBSEP fld($0, "loss_pct"); line[k] = $0 }
END {
	nv = split(servers, sv, " "); nl = split(losses, ls, " ")
	hdr = "| server |"; sep = "| --- |"
	for (j = 1; j <= nl; j++) { hdr = hdr " " ls[j] "% loss |"; sep = sep " --- |" }
	print hdr; print sep
	for (i = 1; i <= nv; i++) {
		row = "| " sv[i] " |"
		for (j = 1; j <= nl; j++) {
			l = line[sv[i], ls[j]]
			if (l == "") { row = row " - |"; continue }
			best = 0
			for (o = 1; o <= nv; o++) {
				if (o == i) continue
				v = fld(line[sv[o], ls[j]], "mbps") + 0
				if (v > best) best = v
			}
			v = fld(l, "mbps") + 0
			cell = fld(l, "sessions_ok") "/" count ", " sprintf("%.1f", v) " MB/s"
			if (best > 0) cell = cell sprintf(" (%.2fx)", v / best)
			cell = cell ", " sprintf("%.0f", fld(l, "seconds")) " s"
			if (fld(l, "server_crashed") == 1) cell = cell " **crashed**"
			w = fld(l, "windowsize")
			if (w != "" && w != "-" && w != "'"$WINDOW"'") cell = cell " w" w
			row = row " " cell " |"
		}
		print row
	}
}' "$OUT"
echo
note "raw results: $OUT$( [ "$KEEP" = 1 ] || echo ' (removed; use --keep)')"
exit $failed_ours
