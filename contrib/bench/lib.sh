# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# shellcheck shell=bash
# lib.sh: what run-bench.sh and loss.sh share: finding the servers, their
# addresses, starting each one pinned (and in its own cgroup, or in a
# network namespace), stopping them, and reading their CPU time.
# Sourced, not run.  The caller sets: HERE, TOP, WORKDIR, ROOT, LOGS,
# SERVER_CPU, PORT_BASE, and may set NETNS (run the servers inside it) and
# SNOWOWL, SNOWOWL_ARGS, ATFTPD, BENCH_PEERS, and:
#   BENCH_DEFAULT_LIMITS=1  snowowl's per-client limits left at their
#                           defaults (flood.sh) instead of turned off
#   SNOWOWL_B_CONF=FILE     lines appended to snowowl-b's file instead of
#                           the limits-off lines (run-bench.sh --snowowl-b-conf)
#   DNSMASQ_ADDR=A          dnsmasq's address (127.0.0.2; its port is 69)
#   BENCH_ADDR=A            the others' address (127.0.0.1)
#   BENCH_PIDS_MAX=N        each server's cgroup may hold N tasks at most
#                           (a pids cgroup; forking servers under a flood)

: "${SNOWOWL:=${SNOWOWL_TFTPD:-}}"
: "${SNOWOWL_ARGS=--workers 1}"
: "${ATFTPD:=}"
: "${BENCH_PEERS:=/var/tmp/tftpbench-peers}"
: "${NETNS:=}"
: "${BENCH_DEFAULT_LIMITS:=0}"
: "${SNOWOWL_B_CONF:=}"
: "${DNSMASQ_ADDR:=127.0.0.2}"
: "${BENCH_ADDR:=127.0.0.1}"
: "${BENCH_PIDS_MAX:=}"
CGMODE=none
CGBASE=""
declare -A PID CG PCG

note() { echo "${0##*/}: $*" >&2; }
die() { note "$*"; exit 1; }

find_servers() {
	if [ -z "$SNOWOWL" ]; then
		if [ -x "$TOP/src/snowowl-tftpd" ]; then
			SNOWOWL=$TOP/src/snowowl-tftpd
		else
			SNOWOWL=$(command -v snowowl-tftpd || true)
		fi
	fi
	if [ -z "$ATFTPD" ]; then
		ATFTPD=$(command -v atftpd || true)
		if [ -z "$ATFTPD" ] &&
		    [ -x "$BENCH_PEERS/atftpd/usr/sbin/atftpd" ]; then
			ATFTPD=$BENCH_PEERS/atftpd/usr/sbin/atftpd
		fi
	fi
	HPA=$(command -v in.tftpd || echo /usr/sbin/in.tftpd)
	DNSMASQ=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
}

have_server() {
	case "$1" in
	snowowl|snowowl-sp) [ -n "$SNOWOWL" ] && [ -x "$SNOWOWL" ] ;;
	snowowl-b) [ -n "$SNOWOWL_B" ] && [ -x "$SNOWOWL_B" ] ;;
	tftp-hpa) [ -x "$HPA" ] && "$HPA" -V 2>&1 | grep -q tftp-hpa ;;
	atftpd) [ -n "$ATFTPD" ] && [ -x "$ATFTPD" ] ;;
	dnsmasq) [ -x "$DNSMASQ" ] ;;
	*) die "unknown server $1 (snowowl snowowl-sp snowowl-b tftp-hpa atftpd dnsmasq)" ;;
	esac
}

# dnsmasq's TFTP port is fixed at 69, so it gets an address of its own.
# (A pids cgroup too, when BENCH_PIDS_MAX is set: cgroup v1 keeps it apart.)
addr_of() {
	case "$1" in
	snowowl) echo "$BENCH_ADDR:$((PORT_BASE + 1))" ;;
	tftp-hpa) echo "$BENCH_ADDR:$((PORT_BASE + 2))" ;;
	atftpd) echo "$BENCH_ADDR:$((PORT_BASE + 3))" ;;
	dnsmasq) echo "$DNSMASQ_ADDR:69" ;;
	snowowl-sp) echo "$BENCH_ADDR:$((PORT_BASE + 4))" ;;
	snowowl-b) echo "$BENCH_ADDR:$((PORT_BASE + 5))" ;;
	esac
}

port_busy() {	# ADDR:PORT
	[ -z "$NETNS" ] || return 1	# our own fresh namespace
	ss -Hlun "sport = :${1##*:}" | awk -v a="$1" -v p=":${1##*:}" \
	    '$4 == a || $4 == "0.0.0.0" p || $4 == "*" p { f = 1 }
	    END { exit !f }'
}

# Keep the servers of $SERVERS that are installed and whose port is free.
filter_servers() {
	local s avail=""

	for s in $SERVERS; do
		if ! have_server "$s"; then
			note "$s is not installed; skipped (see peers.sh)"
		elif port_busy "$(addr_of "$s")"; then
			note "$(addr_of "$s") is in use; $s skipped"
		else
			avail="$avail $s"
		fi
	done
	SERVERS=${avail# }
	[ -n "$SERVERS" ] || die "no server to benchmark"
}

# CPU accounting: a cgroup per server when we can make one, because
# tftp-hpa ignores SIGCHLD, so its auto-reaped children never reach its
# cutime.  Otherwise the /proc times of the process tree (which miss them).
cg_detect() {
	local d

	CGMODE=proc
	if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
		CGMODE=v2; CGBASE=/sys/fs/cgroup
	elif [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" = \
	    cgroup2fs ]; then
		CGMODE=v2; CGBASE=/sys/fs/cgroup/unified
	elif [ -f /sys/fs/cgroup/cpuacct/cgroup.procs ]; then
		CGMODE=v1; CGBASE=/sys/fs/cgroup/cpuacct
	fi
	[ "$CGMODE" != proc ] || return 0
	d=$CGBASE/tftpbench-$$-probe
	if mkdir "$d" 2>/dev/null &&
	    bash -c 'echo $$ > "$1/cgroup.procs"' -- "$d" 2>/dev/null; then
		sleep 0.1
		rmdir "$d" 2>/dev/null || true
	else
		rmdir "$d" 2>/dev/null || true
		note "cannot use cgroups at $CGBASE; server CPU from /proc" \
		    "(misses tftp-hpa's children)"
		CGMODE=proc
	fi
}

tree_pids() {	# PID: it and its descendants
	ps -e -o pid=,ppid= | awk -v r="$1" '
	    { pp[$1] = $2; k[NR] = $1 }
	    END { s[r] = 1; ch = 1
		while (ch) { ch = 0
		    for (i in k) { p = k[i]
			if (!(p in s) && (pp[p] in s)) { s[p] = 1; ch = 1 } } }
		for (p in s) print p }'
}

cpu_ns() {	# SERVER: CPU time it has used so far, ns
	local s=$1 p

	case "$CGMODE" in
	v1) cat "${CG[$s]}/cpuacct.usage" ;;
	v2) awk '$1 == "usage_usec" { printf "%.0f\n", $2 * 1000 }' \
	    "${CG[$s]}/cpu.stat" ;;
	proc)
		for p in $(tree_pids "${PID[$s]}"); do
			sed 's/.*) //' "/proc/$p/stat" 2>/dev/null || true
		done | awk -v hz="$(getconf CLK_TCK)" \
		    '{ t += $12 + $13 + $14 + $15 }
		    END { printf "%.0f\n", t * 1e9 / hz }' ;;
	*) echo 0 ;;
	esac
}

start_server() {	# NAME
	local s=$1 addr log cg="" bin
	local -a cmd pre=()

	addr=$(addr_of "$s")
	log=$LOGS/$s.log
	case "$s" in
	snowowl|snowowl-sp|snowowl-b)
		# snowowl and snowowl-sp differ only in their file:
		# snowowl-sp answers every transfer from the listen port,
		# batching across clients.  snowowl-b is another build
		# with snowowl's empty file: what a change costs.
		{
			if [ "$s" = snowowl-sp ]; then
				printf '[transfer]\nsingle_port = yes\n'
			fi
			# As root it changes to tftp, which must exist;
			# where none does, nobody, as the peers run.
			if ! id tftp >/dev/null 2>&1; then
				printf '[server]\nuser = nobody\n'
			fi
		} > "$WORKDIR/$s.conf"
		bin=$SNOWOWL
		[ "$s" != snowowl-b ] || bin=$SNOWOWL_B
		if [ "$s" = snowowl-b ] && [ -n "$SNOWOWL_B_CONF" ]; then
			# Its own lines instead (limits on, say, but set
			# too high to refuse: what the checks cost).
			cat "$SNOWOWL_B_CONF" >> "$WORKDIR/$s.conf"
		elif [ "$BENCH_DEFAULT_LIMITS" != 1 ]; then
			# The load comes from a few loopback addresses,
			# where a farm has one per machine: per-client
			# limits off, as the peers have none.  (A build
			# from before [limits] has none to turn off.)
			printf '[limits]\nper_client_transfers = 0\nper_client_rate = 0\n' \
			    >> "$WORKDIR/$s.conf"
			"$bin" --check-config --config "$WORKDIR/$s.conf" \
			    "$ROOT" >/dev/null 2>&1 ||
			    sed -i '/^\[limits\]/,$d' "$WORKDIR/$s.conf"
		fi
		# shellcheck disable=SC2206
		cmd=("$bin" -L --config "$WORKDIR/$s.conf"
		    --runtime-dir "$WORKDIR/run-$s" $SNOWOWL_ARGS
		    -a "$addr" "$ROOT") ;;
	tftp-hpa)
		cmd=("$HPA" -L -a "$addr" -s "$ROOT") ;;
	atftpd)
		# 500 clients in S6: its thread cap (100) raised so that no
		# client is refused; timeout 1 s like the others' default.
		cmd=("$ATFTPD" --daemon --no-fork --port "${addr##*:}"
		    --bind-address "${addr%:*}" --user nobody --group nogroup
		    --maxthread 1000 --retry-timeout 1
		    --logfile "$LOGS/atftpd.transfers" "$ROOT") ;;
	dnsmasq)
		# --tftp-max raised from 50 for the same reason.
		cmd=("$DNSMASQ" --keep-in-foreground --conf-file=/dev/null
		    --port=0 --enable-tftp --tftp-root="$ROOT"
		    --listen-address="${addr%:*}" --bind-interfaces
		    --user=nobody --group=nogroup --tftp-max=1000
		    --pid-file= --log-facility="$LOGS/dnsmasq.transfers") ;;
	esac
	if [ "$CGMODE" = v1 ] || [ "$CGMODE" = v2 ]; then
		cg=$CGBASE/tftpbench-$$-$s
		mkdir -p "$cg"
		CG[$s]=$cg
	fi
	if [ -n "$BENCH_PIDS_MAX" ]; then
		if [ "$CGMODE" = v2 ] && [ -f "$cg/pids.max" ]; then
			echo "$BENCH_PIDS_MAX" > "$cg/pids.max"
		elif [ -f /sys/fs/cgroup/pids/cgroup.procs ] &&
		    mkdir -p "/sys/fs/cgroup/pids/tftpbench-$$-$s" &&
		    echo "$BENCH_PIDS_MAX" > \
		    "/sys/fs/cgroup/pids/tftpbench-$$-$s/pids.max"; then
			PCG[$s]=/sys/fs/cgroup/pids/tftpbench-$$-$s
			cg="$cg ${PCG[$s]}"
		else
			note "no pids cgroup: $s's tasks are not bounded"
		fi
	fi
	[ -z "$NETNS" ] || pre=(ip netns exec "$NETNS")
	echo "${pre[*]} ${cmd[*]}" > "$log"
	# The shell joins the cgroup(s), then becomes the pinned server, so
	# every child and thread is born inside them.  It joins before it
	# enters the namespace: `ip netns exec` mounts a sysfs of its own,
	# without the cgroup tree.
	# shellcheck disable=SC2016
	bash -c 'for d in $1; do echo $$ > "$d/cgroup.procs"; done
		shift; exec "$@"' -- "$cg" "${pre[@]}" taskset -c "$SERVER_CPU" \
	    "${cmd[@]}" >> "$log" 2>&1 < /dev/null &
	PID[$s]=$!
}

# Start every server of $SERVERS; drop those that die at once.
start_servers() {
	local s ok=""

	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	for s in $SERVERS; do
		start_server "$s"
	done
	sleep 1
	for s in $SERVERS; do
		if kill -0 "${PID[$s]}" 2>/dev/null; then
			ok="$ok $s"
		else
			note "$s did not start:"
			tail -5 "$LOGS/$s.log" >&2
			unset "PID[$s]"
		fi
	done
	SERVERS=${ok# }
	[ -n "$SERVERS" ] || die "no server started"
}

stop_servers() {
	local s

	for s in "${!PID[@]}"; do
		kill "${PID[$s]}" 2>/dev/null || true
	done
	for s in "${!PID[@]}"; do
		wait "${PID[$s]}" 2>/dev/null || true
		unset "PID[$s]"
	done
	sleep 0.2
	# What a server left behind in its cgroups (tftp-hpa's children,
	# still retransmitting to a client that went away), by pid.
	for s in "${!CG[@]}" "${!PCG[@]}"; do
		{ cat "${CG[$s]:-/nonexistent}/cgroup.procs" \
		    "${PCG[$s]:-/nonexistent}/cgroup.procs" 2>/dev/null ||
		    true; } | while read -r p; do
			kill -9 "$p" 2>/dev/null || true
		    done
	done
	sleep 0.2
	for s in "${!CG[@]}"; do
		rmdir "${CG[$s]}" 2>/dev/null || true
		unset "CG[$s]"
	done
	for s in "${!PCG[@]}"; do
		rmdir "${PCG[$s]}" 2>/dev/null || true
		unset "PCG[$s]"
	done
}
