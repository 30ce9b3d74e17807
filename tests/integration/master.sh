#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# The master and its workers: started as root with -u nobody and two
# workers, every worker runs as nobody with no capabilities, no_new_privs
# and a seccomp filter, titled "snowowl-tftpd: worker K" (comm
# tftpd-workerK), and the master keeps no capability; the pid file;
# SIGKILL of a worker during 20 downloads loses only that worker's
# transfers and the slot is refilled within a second; SIGTERM drains (the
# running download completes, a new request gets ERROR 0, exit 0, runtime
# files removed); a worker that fails its setup is not respawned in a loop
# and the master exits 1 when no worker is left.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

NDL=20			# concurrent downloads in the SIGKILL case

R="$T/root"
make_root "$R"
DL="$T/dl"
mkdir -p "$DL"
HOLD="$DL/hold"		# while it exists, slow_get's downloads crawl
# Many requests at once from 127.0.0.1, spread over the workers: the
# per-client limits (on by default, which steers a client to one worker)
# are off here.
write_conf "$T/conf" "[server]" "drain_timeout = 20" \
    "[limits]" "per_client_transfers = 0" "per_client_rate = 0"

if is_root; then
	USER_ARGS=(-u nobody)
	NUID=$(id -u nobody) || hard_error "no user nobody"
	NGID=$(id -g nobody)
else
	USER_ARGS=()
fi

# json_file NAME ARGS...: tftpctl ARGS > $T/NAME.json, valid JSON.
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

# --- the process tree and the privileges (root only) ------------------------

WORKERS=2 master_start "$R" --workers 2 "${USER_ARGS[@]}"
W_ALL=$(worker_pids "$MASTER" | tr '\n' ' ')

t_tree() {
	local kids n=0 c exe mexe
	kids=$(child_pids "$MASTER")
	mexe=$(readlink "/proc/$MASTER/exe")
	for c in $kids; do
		n=$((n + 1))
		case " $(proc_cmdline "$c") " in
		*" --worker "*) ;;
		*)
			echo "#   child $c of the master is not a worker:" \
			    "$(proc_cmdline "$c")"
			return 1
			;;
		esac
		# (a worker not dumpable hides it from non-root)
		if exe=$(readlink "/proc/$c/exe" 2>/dev/null); then
			assert_eq "$mexe" "$exe" "executable of worker $c" ||
			    return 1
		fi
	done
	assert_eq 2 "$n" "number of children of the master" &&
	    assert_eq "$(echo "$kids" | sort -n | tr '\n' ' ')" "$W_ALL" \
	    "worker pids"
}
check "the process tree is the master and its 2 workers" t_tree

# ps shows a worker as "snowowl-tftpd: worker K" (argv[0]), top and
# pgrep as "tftpd-workerK" (comm), not "exe"; the master keeps its own.
t_titles() {
	local k w
	for k in 0 1; do
		w=$(worker_pid "$MASTER" "$k") || {
			echo "#   no worker $k"
			return 1
		}
		case "$(proc_cmdline "$w")" in
		"snowowl-tftpd: worker $k --worker $k --listen-fds "[0-9]*) ;;
		*)
			echo "#   worker $k: cmdline '$(proc_cmdline "$w")'"
			return 1
			;;
		esac
		assert_eq "tftpd-worker$k" "$(cat "/proc/$w/comm")" \
		    "comm of worker $k" || return 1
	done
	case "$(proc_cmdline "$MASTER")" in
	"$TFTPD "*) ;;
	*)
		echo "#   master: cmdline '$(proc_cmdline "$MASTER")'"
		return 1
		;;
	esac
	assert_eq snowowl-tftpd "$(cat "/proc/$MASTER/comm")" "master's comm"
}
check "ps: 'snowowl-tftpd: worker K', comm tftpd-workerK; the master's own" \
    t_titles

# status_is PID FIELD VALUE
status_is() {
	assert_eq "$3" "$(proc_status "$1" "$2")" "pid $1 $2"
}

t_worker_privs() {
	local w=$1 z=0000000000000000
	status_is "$w" Uid "$NUID $NUID $NUID $NUID" &&
	    status_is "$w" Gid "$NGID $NGID $NGID $NGID" &&
	    status_is "$w" Groups "" &&
	    status_is "$w" CapEff "$z" &&
	    status_is "$w" CapPrm "$z" &&
	    status_is "$w" CapBnd "$z" &&
	    status_is "$w" NoNewPrivs 1 &&
	    status_is "$w" Seccomp 2
}

t_master_privs() {
	local z=0000000000000000
	status_is "$MASTER" Uid "$NUID $NUID $NUID $NUID" &&
	    status_is "$MASTER" Gid "$NGID $NGID $NGID $NGID" &&
	    status_is "$MASTER" Groups "" &&
	    status_is "$MASTER" CapEff "$z" &&
	    status_is "$MASTER" CapPrm "$z"
}

t_pidfile() {
	local f="$RUNDIR/$INSTANCE.pid"
	[ -f "$f" ] || { echo "#   no pid file $f"; ls -la "$RUNDIR" | sed 's/^/#   /'; return 1; }
	assert_eq "$MASTER" "$(tr -d ' \n' <"$f")" "pid file content"
}

# mode_owner PATH: "MODE USER"
mode_owner() {
	stat -c '%a %U' "$1" 2>/dev/null
}

if is_root; then
	for w in $W_ALL; do
		check "worker $w: Uid/Gid nobody, no groups, CapEff=CapPrm=CapBnd=0, NoNewPrivs 1, Seccomp 2" \
		    t_worker_privs "$w"
	done
	check "the master runs as nobody with no groups and CapEff=CapPrm=0" \
	    t_master_privs
	check "shm segment: mode 0644, owned by root, not the service user" \
	    assert_eq "644 root" "$(mode_owner "$RUNDIR/$INSTANCE.shm")" \
	    "$INSTANCE.shm"
	check "control socket: mode 0600, owned by root, not the service user" \
	    assert_eq "600 root root" \
	    "$(stat -c '%a %U %G' "$RUNDIR/$INSTANCE.ctl")" \
	    "$INSTANCE.ctl"
else
	skip "privileges of the master and the workers: run as root"
fi
check "the pid file $INSTANCE.pid holds the master's pid" t_pidfile

# --- SIGKILL of a worker during 20 downloads ----------------------------------

# Each download in the background, its exit status in DL/N.rc.  They are
# held (an ACK every 50 ms: m1 would last 100 s so) until the worker has
# been killed and replaced, so all of them are in progress at the kill
# however slowly a loaded machine starts them.
: >"$HOLD"
CLIENTS=()
for ((i = 1; i <= NDL; i++)); do
	(
		slow_get "$PORT" m1 "$DL/$i" 0.05 "$HOLD" >"$DL/$i.log" 2>&1
		echo $? >"$DL/$i.rc"
	) &
	CLIENTS+=($!)
done

# All of them are being served: the sum of active_transfers is NDL.
all_active() {
	json_file stats stats --json >/dev/null 2>&1 &&
	    [ "$(json_eval "$T/stats.json" \
	    "sum(w['active_transfers'] for w in d['workers'])")" = "$NDL" ]
}
if ! wait_for 60 "$NDL active transfers" all_active; then
	fail "the $NDL downloads are all active at once (stats: $(json_eval \
	    "$T/stats.json" "[w['active_transfers'] for w in d['workers']]" \
	    2>&1))"
	rm -f "$HOLD"
	wait "${CLIENTS[@]}"
	lib_finish
fi
read -ra ACTIVE < <(json_eval "$T/stats.json" \
    "[w['active_transfers'] for w in d['workers']]")
read -ra PIDS < <(json_eval "$T/stats.json" "[w['pid'] for w in d['workers']]")
echo "# active transfers per worker: ${ACTIVE[*]} (pids ${PIDS[*]})"
# The victim: slot 0 unless it has none; both must have some, or the
# survivors' downloads would not be tested.
V=0
[ "${ACTIVE[0]}" -gt 0 ] || V=1
S=$((1 - V))
if [ "${ACTIVE[$S]}" -eq 0 ] || [ "${ACTIVE[$V]}" -eq 0 ]; then
	fail "the kernel spread $NDL clients over both workers (${ACTIVE[*]})"
fi
VPID=${PIDS[$V]}
SPID=${PIDS[$S]}
K=${ACTIVE[$V]}
check "tftpctl's pid for slot $V is the live worker $VPID" \
    assert_eq "$VPID" "$(worker_pid "$MASTER" "$V")" "worker $V pid"

# uptime_ms: now, on the clock of a process's start time.
uptime_ms() {
	awk '{ printf "%.0f\n", $1 * 1000 }' /proc/uptime
}

# start_ms PID: when the process was forked (field 22 of its stat, in
# clock ticks since boot; the fields after the command name).
start_ms() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	set -- $st
	[ -n "${20:-}" ] || return 1
	echo $((${20} * 1000 / $(getconf CLK_TCK)))
}

# new_worker: slot V has a live process that is not the killed one.
new_worker() {
	NEWPID=$(worker_pid "$MASTER" "$V") && [ "$NEWPID" != "$VPID" ]
}

T0=$(uptime_ms)
kill -KILL "$VPID"
wait_for 10 "a new process for slot $V" new_worker || NEWPID=""
# The master forks the replacement at once; when it did is its start
# time, whatever this script's polling adds under load.
t_respawn() {
	local dt
	[ -n "$NEWPID" ] || return 1
	dt=$(start_ms "$NEWPID") || {
		echo "#   no start time for $NEWPID"
		return 1
	}
	dt=$((dt - T0))
	if [ "$dt" -gt 1000 ]; then
		echo "#   the new worker $NEWPID started $dt ms after the kill"
		return 1
	fi
	echo "#   new worker $NEWPID started $dt ms after the kill"
}
check "a new worker replaces the killed one within 1 s" t_respawn

# The replacement serves: small downloads from new source ports until
# slot V's rrq counter moves (SO_REUSEPORT hashes each client to a
# socket; 16 clients all missing one of two is a 2^-16 chance).
t_new_serves() {
	local before after i ok=0
	[ -n "$NEWPID" ] || return 1
	wait_for 20 "slot $V running $NEWPID" workers_running_slot || return 1
	json_file st0 stats --json || return 1
	before=$(json_eval "$T/st0.json" "d['workers'][$V]['rrq']")
	for ((i = 0; i < 16; i++)); do
		rm -f "$DL/small"
		timeout 10 tftp -m binary 127.0.0.1 "$PORT" -c get s513 \
		    "$DL/small" >/dev/null 2>&1 &&
		    assert_same_file "$R/s513" "$DL/small" || ok=1
	done
	[ "$ok" = 0 ] || { echo "#   a small download failed"; return 1; }
	json_file st1 stats --json || return 1
	after=$(json_eval "$T/st1.json" "d['workers'][$V]['rrq']")
	if [ "$after" -le "$before" ]; then
		echo "#   slot $V rrq $before -> $after: the new worker served nothing"
		return 1
	fi
}
workers_running_slot() {
	json_file wk workers --json >/dev/null 2>&1 &&
	    json_check "$T/wk.json" "d[$V]['state'] == 'running' and \
	    d[$V]['pid'] == ${NEWPID:-0}" >/dev/null
}
check "the new worker serves downloads" t_new_serves

# Every client ends: the survivors at once, the killed worker's ones
# after 30 s of silence.
rm -f "$HOLD"
wait_clients() {
	local i
	for ((i = 1; i <= NDL; i++)); do
		[ -f "$DL/$i.rc" ] || return 1
	done
}
wait_for 120 "every client's exit status" wait_clients

NOK=0
NBAD=0
t_no_corruption() {
	local i st=0
	for ((i = 1; i <= NDL; i++)); do
		if [ "$(cat "$DL/$i.rc")" = 0 ] &&
		    cmp -s "$R/m1" "$DL/$i"; then
			NOK=$((NOK + 1))
		else
			NBAD=$((NBAD + 1))
			if [ "$(cat "$DL/$i.rc")" = 0 ]; then
				echo "#   download $i: client exit 0 but the file differs"
				st=1
			fi
		fi
	done
	echo "#   $NOK downloads intact, $NBAD failed; the killed worker had $K"
	return $st
}
check "no download reported success with wrong bytes" t_no_corruption
t_losses() {
	if [ "$NBAD" -gt "$K" ]; then
		echo "#   $NBAD downloads failed, more than the $K of the killed worker"
		for ((i = 1; i <= NDL; i++)); do
			[ "$(cat "$DL/$i.rc")" = 0 ] && continue
			echo "#   download $i (exit $(cat "$DL/$i.rc")):"
			sed 's/^/#   | /' "$DL/$i.log" | tail -n 2
		done
		return 1
	fi
	[ "$NOK" -ge $((NDL - K)) ]
}
check "only the killed worker's transfers are lost: the other $((NDL - K)) downloads complete intact" \
    t_losses
check "the surviving worker $SPID still runs" \
    assert_eq "$SPID" "$(worker_pid "$MASTER" "$S")" "worker $S pid"

t_restarts() {
	json_file wk workers --json || return 1
	json_check "$T/wk.json" "d[$V]['restarts'] == 1" "slot $V restarts" &&
	    json_check "$T/wk.json" "d[$V]['pid'] == $NEWPID" "slot $V pid" &&
	    json_check "$T/wk.json" "d[$V]['last_exit'] == 'signal 9'" \
	    "slot $V last exit" &&
	    json_check "$T/wk.json" "d[$S]['restarts'] == 0" "slot $S restarts" &&
	    json_check "$T/wk.json" "d[$S]['pid'] == $SPID" "slot $S pid" &&
	    ctl -i "$INSTANCE" workers >"$T/wk.txt" &&
	    assert_grep "^$V +$NEWPID +running +1 " "$T/wk.txt" "tftpctl workers"
}
check "tftpctl workers shows restarts 1 for slot $V (and 0 for slot $S)" \
    t_restarts

t_stop() {
	daemon_stop "$MASTER"
}
check "the master stops on SIGTERM with status 0" t_stop

# --- SIGTERM drains ---------------------------------------------------------------

# One worker: the request during the drain must reach the worker that is
# still finishing a transfer.
WORKERS=1 master_start "$R" --workers 1 "${USER_ARGS[@]}"
DW=$(worker_pid "$MASTER" 0)
rm -f "$T/slow.out" "$T/slow.out.port"
# m1 held (an ACK every 100 ms) until the checks during the drain are
# done; in blocks of 4096 (256 of them), so that the rest of it, at full
# speed, ends well within drain_timeout however loaded the machine.
: >"$HOLD"
slow_get "$PORT" m1 "$T/slow.out" 0.1 "$HOLD" blksize=4096 \
    >"$T/slow.log" 2>&1 &
SLOW=$!
wait_for 30 "the slow download's first DATA" test -s "$T/slow.out.port" ||
    fail "the slow download started"
kill -TERM "$MASTER"
# The worker refuses new requests from the moment it logs its drain.
draining() {
	grep -Eq 'SIGTERM: draining [0-9]+ transfers' "$DLOG"
}
wait_for 20 "the worker's drain" draining

t_refused() {
	local a
	a=$(first_answer "$PORT" s511)
	case $a in
	"ERROR 0 "*) echo "#   $a" ;;
	*)
		echo "#   answer during the drain: $a"
		return 1
		;;
	esac
}
check "a new request during the drain gets ERROR 0" t_refused
check "the master is still there while the transfer runs" daemon_alive "$MASTER"
rm -f "$HOLD"

t_drained() {
	local st
	if ! wait "$SLOW"; then
		echo "#   slow download failed: $(cat "$T/slow.log")"
		return 1
	fi
	assert_same_file "$R/m1" "$T/slow.out"
}
check "the download in flight at SIGTERM completes intact" t_drained

t_exit0() {
	local st
	if ! wait_pid_gone "$MASTER" 15; then
		echo "#   the master did not exit within 15 s of the drain's end"
		return 1
	fi
	wait "$MASTER"
	st=$?
	assert_eq 0 "$st" "master exit status" || { show_log; return 1; }
	wait_pid_gone "$DW" 2 || { echo "#   worker $DW left running"; return 1; }
}
check "after the drain the master exits 0 (and its worker is gone)" t_exit0

check "the master removed its pid, shm and ctl files" \
    runtime_files_gone "$RUNDIR" "$INSTANCE"

# --- a worker that fails its setup ---------------------------------------------

# A worker validates the segment's header when it attaches: with the
# magic overwritten, a new worker fails its setup (exit 3), which the
# master must not answer with a respawn loop.
WORKERS=2 master_start "$R" --workers 2 "${USER_ARGS[@]}"
SHMF="$RUNDIR/$INSTANCE.shm"
MAGIC=$(od -An -tx1 -N8 "$SHMF" | tr -d ' \n')

shm_magic() {		# HEX16: write the first 8 bytes of the segment
	"$PYTHON" - "$SHMF" "$1" <<-'PYEOF'
	import sys
	with open(sys.argv[1], "r+b") as f:
	    f.write(bytes.fromhex(sys.argv[2]))
	PYEOF
}

W0=$(worker_pid "$MASTER" 0)
W1=$(worker_pid "$MASTER" 1)
shm_magic 0000000000000000
kill -KILL "$W1"
setup_failed() {
	grep -Eq "worker 1 \(pid [0-9]+\) failed its setup" "$DLOG"
}
wait_for 20 "the replacement of worker 1 failing its setup" setup_failed
# A respawn loop (at once, then 100 ms doubling) would start 4 or more
# processes in this time: the sleep is the observation, not a wait.
sleep 3
t_one_left() {
	local now
	now=$(worker_pids "$MASTER" | tr '\n' ' ')
	assert_eq "$W0 " "$now" "the master's workers"
}
check "3 s after a failed setup only the other worker runs" t_one_left
shm_magic "$MAGIC"
t_failed_slot() {
	json_file wk workers --json || return 1
	json_check "$T/wk.json" "d[1]['restarts'] == 1" \
	    "slot 1 restarts ($(json_eval "$T/wk.json" "d[1]['restarts']"))" &&
	    json_check "$T/wk.json" "d[1]['state'] == 'failed'" "slot 1 state" &&
	    json_check "$T/wk.json" "d[1]['last_exit'] == 'exit 3'" \
	    "slot 1 last exit" &&
	    json_check "$T/wk.json" "d[0]['state'] == 'running' and \
	    d[0]['pid'] == $W0" "slot 0"
}
check "tftpctl workers: the slot is 'failed', restarted once, exit 3" \
    t_failed_slot
# Every client is answered, whichever listen socket the kernel hashes it
# to (8 clients from new ports; each one is a 1 in 2 chance to hit the
# failed slot's socket).
t_still_serves() {
	local i a st=0
	for ((i = 0; i < 8; i++)); do
		a=$(first_answer "$PORT" s513)
		case $a in
		"DATA 1 "*) ;;
		*)
			echo "#   client $i: $a"
			st=1
			;;
		esac
	done
	return $st
}
check "the master and the other worker still answer every client" \
    t_still_serves

shm_magic 0000000000000000
kill -KILL "$W0"
t_exit1() {
	local st
	if ! wait_pid_gone "$MASTER" 10; then
		echo "#   the master still runs with no worker left"
		return 1
	fi
	wait "$MASTER"
	st=$?
	assert_eq 1 "$st" "master exit status" || { show_log; return 1; }
}
check "when no worker is left the master exits 1" t_exit1

lib_finish
