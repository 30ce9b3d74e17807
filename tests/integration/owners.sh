#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# The master's abuse resistance.  Started as root with -u nobody: the
# segment is root's and the service user cannot open it for writing; the
# control socket refuses a change from the service user, and takes one
# from a member of admin_group; a runtime directory an older version gave
# to nobody is taken back, and servers of two service users share it
# (root only).  Any user: a second server on
# the same address and port fails, naming it, whatever its --instance;
# after SIGKILL of the master the same command starts again within 2 s
# while the orphaned worker finishes its download without taking new
# requests, and no stale runtime file is left; with a soft file limit of
# 64 (hard higher) 200 concurrent downloads all succeed, and a hard limit
# too low for max_transfers is warned about with the numbers.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

R="$T/root"
make_root "$R"
DL="$T/dl"
mkdir -p "$DL"
HOLD="$DL/hold"
# Many requests at once from 127.0.0.1, spread over the workers: the
# per-client limits (on by default, which steers a client to one worker)
# are off here.
write_conf "$T/conf" "[limits]" "per_client_transfers = 0" "per_client_rate = 0"

if is_root; then
	USER_ARGS=(-u nobody)
	NUID=$(id -u nobody) || hard_error "no user nobody"
	NGID=$(id -g nobody)
	command -v setpriv >/dev/null ||
	    skip_all "setpriv is required: apt-get install util-linux"
else
	USER_ARGS=()
fi

# as_nobody CMD...: CMD as the service user, no supplementary group.
as_nobody() {
	setpriv --reuid="$NUID" --regid="$NGID" --clear-groups "$@"
}

# --- the segment and the control socket belong to root (root only) -----------

WORKERS=2 master_start "$R" --workers 2 "${USER_ARGS[@]}"
SHMF="$RUNDIR/$INSTANCE.shm"

t_shm_owner() {
	assert_eq "644 root" "$(stat -c '%a %U' "$SHMF")" "$INSTANCE.shm"
}
t_shm_not_writable() {
	if as_nobody bash -c 'exec 3<>"$1"' _ "$SHMF" 2>"$T/open.err"; then
		echo "#   the service user opened $SHMF for writing"
		return 1
	fi
	echo "#   $(cat "$T/open.err")"
}
t_ctl_refused() {
	if as_nobody "$TFTPCTL" -d "$RUNDIR" -i "$INSTANCE" set \
	    permissive=yes >"$T/set.out" 2>&1; then
		echo "#   the service user changed a setting:" \
		    "$(cat "$T/set.out")"
		return 1
	fi
	echo "#   $(cat "$T/set.out")"
	ctl -i "$INSTANCE" get transfer.permissive >"$T/get.out" 2>&1
	assert_grep "(^|[ =])no\$" "$T/get.out" "permissive after the attempt"
}
if is_root; then
	check "shm segment: mode 0644, owned by root" t_shm_owner
	check "the service user cannot open the segment for writing" \
	    t_shm_not_writable
	check "the control socket refuses 'set' from the service user" \
	    t_ctl_refused
	t_root_sets() {
		ctl -i "$INSTANCE" set transfer.max_blksize=1400 >/dev/null
	}
	check "root still changes settings" t_root_sets
else
	skip "segment and control socket owners: run as root"
fi
daemon_stop "$MASTER" >/dev/null 2>&1
check "the master removed its pid, shm and ctl files" \
    runtime_files_gone "$RUNDIR" "$INSTANCE"

# A member of admin_group changes settings; outside it, refused.
if is_root && AGID=$(getent group adm | cut -d: -f3) && [ -n "$AGID" ]; then
	write_conf "$T/conf.adm" "[server]" "admin_group = adm" \
	    "[limits]" "per_client_transfers = 0" "per_client_rate = 0"
	WORKERS=1 master_start "$R" --workers 1 --config "$T/conf.adm" \
	    "${USER_ARGS[@]}"
	check "with admin_group: the control socket is 0660, group adm" \
	    assert_eq "660 root adm" \
	    "$(stat -c '%a %U %G' "$RUNDIR/$INSTANCE.ctl")" ctl
	t_member() {
		setpriv --reuid="$NUID" --regid="$NGID" --groups="$AGID" \
		    "$TFTPCTL" -d "$RUNDIR" -i "$INSTANCE" set permissive=yes \
		    >/dev/null
	}
	check "a member of admin_group changes a setting" t_member
	check "... which is in effect" \
	    assert_eq "yes" "$(ctl -i "$INSTANCE" get transfer.permissive |
	    sed 's/.*= *//')" permissive
	t_nonmember() {
		! as_nobody "$TFTPCTL" -d "$RUNDIR" -i "$INSTANCE" set \
		    permissive=no >/dev/null 2>&1
	}
	check "the service user outside admin_group is refused" t_nonmember
	daemon_stop "$MASTER" >/dev/null 2>&1
else
	skip "admin_group: needs root and the group adm"
fi

# --- one runtime directory, any service user (root only) --------------------

# An older version gave the directory to its service user: a directory of
# nobody's holding a stale runtime file is taken back, and two servers
# with different service users share it.
if is_root && id snowowl-ci >/dev/null 2>&1; then
	chown nobody: "$RUNDIR"
	echo 999999 >"$RUNDIR/old-1.pid"
	chown nobody: "$RUNDIR/old-1.pid"
	WORKERS=1 master_start "$R" --workers 1 "${USER_ARGS[@]}"
	A=$MASTER
	AI=$INSTANCE
	check "a directory nobody was given is taken back: owner root, 0755" \
	    assert_eq "755 root" "$(stat -c '%a %U' "$RUNDIR")" "$RUNDIR"
	WORKERS=1 master_start "$R" --workers 1 -u snowowl-ci
	t_two_users() {
		assert_eq snowowl-ci "$(ps -o user= -p "$MASTER")" \
		    "second master's user" &&
		    assert_eq nobody "$(ps -o user= -p "$A")" \
		    "first master's user" &&
		    assert_eq "DATA 1" "$(first_answer "$PORT" s513 |
		    cut -c1-6)" "the second answers"
	}
	check "... and servers of two service users share it" t_two_users
	daemon_stop "$MASTER" >/dev/null 2>&1
	daemon_stop "$A" >/dev/null 2>&1
	t_both_gone() {
		runtime_files_gone "$RUNDIR" "$AI" &&
		    runtime_files_gone "$RUNDIR" "$INSTANCE"
	}
	check "... each removes its own files" t_both_gone
	rm -f "$RUNDIR/old-1.pid"
else
	skip "a shared runtime directory: needs root and the snowowl-ci user"
fi

# --- one port, one instance --------------------------------------------------

WORKERS=2 master_start "$R" --workers 2 "${USER_ARGS[@]}"
IN_USE="address in use: another process serves it"
t_second() {
	local name=$1
	run_exit 1 "$T/second.out" timeout 20 "$TFTPD" -L \
	    -a "127.0.0.1:$PORT" --config "$T/conf" \
	    --runtime-dir "$T/run2" --instance "$name" "${USER_ARGS[@]}" \
	    "$R" &&
	    assert_grep "cannot bind 127\.0\.0\.1:$PORT: $IN_USE" \
	    "$T/second.out" "the error"
}
check "a second server on the port (--instance other) fails, naming it" \
    t_second other
check "... and so does one with the same instance name" t_second "$INSTANCE"
check "... and the first still serves" \
    assert_eq "DATA 1" "$(first_answer "$PORT" s513 | cut -c1-6)" answer

# --- SIGKILL of the master ---------------------------------------------------

# A download in flight, held, when the master dies.
touch "$HOLD"
slow_get "$PORT" m1 "$DL/held" 0.3 "$HOLD" >"$DL/held.msg" 2>&1 &
HELD=$!
wait_for 10 "the held download's first DATA" test -f "$DL/held.port" ||
    hard_error "the held download did not start"
OLD_WORKERS=$(worker_pids "$MASTER" | tr '\n' ' ')
OLD=$MASTER
kill -KILL "$MASTER"
wait "$MASTER" 2>/dev/null

# restart: the same command again until it serves, for at most 2 s.
t_restart() {
	local t0 pid=""
	t0=$(now_ms)
	while [ $(($(now_ms) - t0)) -lt 2000 ]; do
		"$TFTPD" -L -a "127.0.0.1:$PORT" --config "$T/conf" \
		    --runtime-dir "$RUNDIR" --workers 2 "${USER_ARGS[@]}" \
		    "$R" >"$T/restart.log" 2>&1 </dev/null &
		pid=$!
		DAEMON_PIDS+=("$pid")
		while kill -0 "$pid" 2>/dev/null &&
		    [ $(($(now_ms) - t0)) -lt 2000 ]; do
			if [ "$(tr -d '\n' 2>/dev/null \
			    <"$RUNDIR/$INSTANCE.pid")" = "$pid" ] &&
			    "$PYTHON" "$TFTPRAW" ping 127.0.0.1 "$PORT" 1; then
				MASTER=$pid
				echo "#   serving after $(($(now_ms) - t0)) ms"
				return 0
			fi
			sleep 0.05
		done
		kill "$pid" 2>/dev/null
		sleep 0.05
	done
	echo "#   not serving 2 s after the SIGKILL:"
	sed 's/^/#   | /' "$T/restart.log"
	return 1
}
check "after SIGKILL of the master the same command serves within 2 s" \
    t_restart
t_fresh_files() {
	local f
	assert_eq "$MASTER" "$(tr -d '\n' <"$RUNDIR/$INSTANCE.pid")" \
	    "pid file" || return 1
	ctl -i "$INSTANCE" stats --json >"$T/st.json" 2>&1 || {
		cat "$T/st.json"; return 1; }
	for f in "$RUNDIR"/*; do
		case $f in
		"$RUNDIR/$INSTANCE".pid | "$RUNDIR/$INSTANCE".shm | \
		    "$RUNDIR/$INSTANCE".ctl) ;;
		*)
			echo "#   left behind: $f"
			return 1
			;;
		esac
	done
}
check "... its runtime files are the new master's, nothing stale" \
    t_fresh_files
t_orphans() {
	local w
	for w in $OLD_WORKERS; do
		if [ "$(proc_status "$w" PPid 2>/dev/null)" = "$OLD" ]; then
			echo "#   worker $w still has its dead master as parent"
			return 1
		fi
	done
	# The orphan finishes the held download once it may.
	rm -f "$HOLD"
	if ! wait "$HELD"; then
		echo "#   the held download failed: $(cat "$DL/held.msg")"
		return 1
	fi
	assert_same_file "$R/m1" "$DL/held" || return 1
	for w in $OLD_WORKERS; do
		wait_pid_gone "$w" 10 || {
			echo "#   orphaned worker $w still runs"
			return 1
		}
	done
}
check "the orphaned workers finish their download and exit" t_orphans
check "new requests reach the new generation" \
    assert_eq "DATA 1" "$(first_answer "$PORT" s513 | cut -c1-6)" answer
daemon_stop "$MASTER" >/dev/null 2>&1

# --- file descriptors --------------------------------------------------------

HARD=$(ulimit -Hn)
[ "$HARD" = unlimited ] && HARD=1048576
if ! command -v prlimit >/dev/null; then
	skip "file limits: prlimit (util-linux) is required"
elif [ "$HARD" -lt 1024 ]; then
	skip "file limits: the hard limit $HARD is below 1024"
else
	[ "$HARD" -gt 65536 ] && HARD=65536
	DAEMON_WRAP="prlimit --nofile=64:$HARD --" WORKERS=1 \
	    master_start "$R" --workers 1 "${USER_ARGS[@]}"
	t_nofile() {
		local lim
		lim=$(awk '/^Max open files/ { print $4 " " $5 }' \
		    "/proc/$(worker_pid "$MASTER" 0)/limits")
		assert_eq "$HARD $HARD" "$lim" "the worker's soft, hard limit"
	}
	check "soft file limit 64: the worker's is raised to the hard $HARD" \
	    t_nofile
	# 200 clients at once: each holds its first DATA until all have one,
	# so the server has 200 transfers open together.
	t_concurrent() {
		"$PYTHON" - "$PORT" 200 s513 "$R/s513" <<-'PYEOF'
		import select, socket, sys, time
		port, n, name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
		want = open(sys.argv[4], "rb").read()
		rrq = b"\0\1" + name.encode() + b"\0octet\0"
		socks = []
		for i in range(n):
		    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		    s.bind(("127.0.0.1", 0))
		    s.setblocking(False)
		    s.sendto(rrq, ("127.0.0.1", port))
		    socks.append(s)
		first = {}
		end = time.monotonic() + 20
		while len(first) < n and time.monotonic() < end:
		    r, _, _ = select.select(socks, [], [], 0.5)
		    for s in r:
		        p, peer = s.recvfrom(65536)
		        if s in first:
		            continue
		        if p[:4] != b"\0\3\0\1":
		            print("# first answer", p[:40])
		            first[s] = None
		            continue
		        first[s] = (peer, p[4:])
		ok = 0
		for s in socks:
		    f = first.get(s)
		    if f is None:
		        continue
		    peer, data = f
		    s.setblocking(True)
		    s.settimeout(5)
		    block = 1
		    try:
		        while True:
		            s.sendto(b"\0\4" + block.to_bytes(2, "big"), peer)
		            if len(data) < 512 or block == 2:
		                break
		            while True:
		                p, _ = s.recvfrom(65536)
		                nxt = (block + 1).to_bytes(2, "big")
		                if p[:4] == b"\0\3" + nxt:
		                    break
		            data += p[4:]
		            block += 1
		    except OSError as e:
		        print("# transfer", e)
		        continue
		    if data == want:
		        ok += 1
		print(f"# {len(first)} first answers,",
		      f"{ok}/{n} downloads complete")
		sys.exit(0 if ok == n else 1)
		PYEOF
	}
	check "200 concurrent downloads all complete" t_concurrent
	daemon_stop "$MASTER" >/dev/null 2>&1
	NOFILE_WARN="open file limit 64 \(hard 64\) is below the 2176 a "
	NOFILE_WARN+="worker needs for max_transfers = 1024"
	DAEMON_WRAP="prlimit --nofile=64:64 --" WORKERS=1 \
	    master_start "$R" --workers 1 "${USER_ARGS[@]}"
	check "a hard limit of 64 is warned about, with the numbers" \
	    assert_grep "$NOFILE_WARN" "$DLOG" warning
	daemon_stop "$MASTER" >/dev/null 2>&1
fi

lib_finish
