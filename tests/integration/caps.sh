#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# A master started without root but with ambient capabilities, as
# systemd's User= with AmbientCapabilities=CAP_NET_BIND_SERVICE
# CAP_SETPCAP starts it (here setpriv does): it binds a port below 1024,
# serves, and then neither it nor any worker keeps a capability: the
# workers' CapInh, CapPrm, CapEff, CapBnd and CapAmb are all 0, the
# master's too.  Without CAP_SETPCAP the bounding set cannot be cleared:
# the master says so in a warning, and every other set is still 0.
# Started with no capability, it says it is not root: information when
# the bounding set is empty (a unit's deliberate confinement), otherwise
# a warning.
# Needs root (to hand out the capabilities) and setpriv.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

is_root || skip_all "needs root to start the master with ambient capabilities"
command -v setpriv >/dev/null ||
    skip_all "setpriv is required: apt-get install util-linux"
need_tftp_hpa

R="$T/root"
make_root "$R"
DL="$T/dl"
mkdir -p "$DL"
write_conf "$T/conf"
U=nobody
G=$(id -gn nobody) || hard_error "no user nobody"
RUNDIR="$T/run"
mkdir -m 0755 "$RUNDIR" && chown "$U:$G" "$RUNDIR" ||
    hard_error "cannot make $RUNDIR"
Z=0000000000000000

# low_port: a port below 1024 that no UDP socket has.
low_port() {
	local p i
	for ((i = 0; i < 50; i++)); do
		p=$((600 + RANDOM % 400))
		port_bound "$p" || { echo "$p"; return 0; }
	done
	return 1
}

# start_capped CAPS NAME [BOUNDING]: the master as nobody with CAPS
# (setpriv's "+net_bind_service,..." form) inheritable and ambient, the
# bounding set BOUNDING (default: as it is), two workers, on 127.0.0.1
# and a port below 1024 (any port without CAP_NET_BIND_SERVICE); stderr
# on DLOG as the journal's stream, so each line shows its priority; sets
# PORT, MASTER, INSTANCE, DLOG.
start_capped() {
	local caps=$1 bnd=() try
	[ -n "${3:-}" ] && bnd=(--bounding-set="$3")
	for try in 1 2 3; do
		case $caps in
		*net_bind_service*)
			PORT=$(low_port) ||
			    hard_error "no free port below 1024"
			;;
		*) PORT=$(free_port) || hard_error "no free port" ;;
		esac
		DLOG="$T/$2.$PORT.log"
		: >"$DLOG"
		(
			exec 2>>"$DLOG"
			JOURNAL_STREAM=$(stat -c '%d:%i' "$DLOG")
			export JOURNAL_STREAM
			exec setpriv --reuid="$U" --regid="$G" --init-groups \
			    "${bnd[@]}" --inh-caps="$caps" \
			    --ambient-caps="$caps" \
			    "$TFTPD" -L -a "127.0.0.1:$PORT" --config "$T/conf" \
			    --runtime-dir "$RUNDIR" --workers 2 "$R" \
			    >/dev/null </dev/null
		) &
		MASTER=$!
		adopt_master "$try" && return 0
	done
	hard_error "the master could not be started with $caps"
}

# caps_are PID WHAT INH PRM EFF BND AMB ("-" skips one)
caps_are() {
	local pid=$1 what=$2 f v st=0
	shift 2
	for f in CapInh CapPrm CapEff CapBnd CapAmb; do
		if [ "$1" != - ]; then
			v=$(proc_status "$pid" "$f")
			if [ "$v" != "$1" ]; then
				echo "#   $what $pid: $f $v, expected $1"
				st=1
			fi
		fi
		shift
	done
	return $st
}

t_get() {
	rm -f "$DL/m1"
	timeout 30 tftp -m binary 127.0.0.1 "$PORT" -c get m1 "$DL/m1" \
	    >"$T/get.log" 2>&1 || {
		echo "#   tftp: $(cat "$T/get.log")"
		show_log
		return 1
	}
	assert_same_file "$R/m1" "$DL/m1"
}

t_workers_caps() {	# BND
	local w n=0 st=0
	for w in $(worker_pids "$MASTER"); do
		n=$((n + 1))
		caps_are "$w" worker $Z $Z $Z "$1" $Z || st=1
	done
	[ "$n" = 2 ] || { echo "#   $n workers found, not 2"; return 1; }
	return $st
}

# --- CAP_NET_BIND_SERVICE and CAP_SETPCAP -----------------------------------

start_capped +net_bind_service,+setpcap setpcap
echo "# master $MASTER as $U on 127.0.0.1:$PORT"
check "as $U with ambient CAP_NET_BIND_SERVICE: a get on port $PORT (< 1024) is intact" \
    t_get
check "every worker: CapInh = CapPrm = CapEff = CapBnd = CapAmb = 0" \
    t_workers_caps $Z
check "the master after startup: every set 0, CapEff and CapAmb included" \
    caps_are "$MASTER" master $Z $Z $Z $Z $Z
check "the master runs as $U" \
    assert_eq "$(id -u "$U")" "$(proc_status "$MASTER" Uid | cut -d' ' -f1)" uid
check "it says it dropped them, the bounding set too (info)" \
    assert_grep "^<6>running as uid [0-9]+; dropped the capabilities it was started with .*and the bounding set" \
    "$DLOG"
check "SIGTERM: exit 0" daemon_stop "$MASTER"

# --- CAP_NET_BIND_SERVICE alone ------------------------------------------------

start_capped +net_bind_service nosetpcap
check "without CAP_SETPCAP: a get on port $PORT is intact" t_get
BND=$(proc_status "$MASTER" CapBnd)
check "without CAP_SETPCAP: workers have no capability (the bounding set $BND stays)" \
    t_workers_caps "$BND"
check "without CAP_SETPCAP: the master's sets but the bounding one are 0" \
    caps_are "$MASTER" master $Z $Z $Z - $Z
check "without CAP_SETPCAP: one warning says the bounding set stays" \
    assert_eq 1 "$(grep -c '^<4>no CAP_SETPCAP: the capability bounding set' "$DLOG")" \
    "warnings"
check "SIGTERM: exit 0" daemon_stop "$MASTER"

# --- no capability at all ------------------------------------------------------------

# As a unit with User= and an empty CapabilityBoundingSet= starts it (the
# sockets inherited): nothing to drop, and no warning for it.
start_capped -all confined -all
check "no capability, empty bounding set: every set of every worker 0" \
    t_workers_caps $Z
check "... 'not running as root' is information, not a warning" \
    assert_grep '^<6>not running as root: serving as uid' "$DLOG"
check "SIGTERM: exit 0" daemon_stop "$MASTER"
# As a user starts it by hand: the same line is a warning.
start_capped -all user
check "no capability, the bounding set full: 'not running as root' is a warning" \
    assert_grep '^<4>not running as root: serving as uid' "$DLOG"
check "SIGTERM: exit 0" daemon_stop "$MASTER"

lib_finish
