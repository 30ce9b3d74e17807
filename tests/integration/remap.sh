#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# The remap rules in the server (-m, transfer.map_file): a bad file stops
# the start with FILE:LINE before anything is bound, and fails
# --check-config (by -m and by the key); a running server remaps (the
# file the new name holds is served, "remapped to" is logged at debug
# level, an a rule is ERROR 2 and a failed transfer); a reload (SIGHUP,
# tftpctl reload) with a bad file reports FILE:LINE and keeps the old
# rules, and one with new rules in the same file applies them;
# tftpctl set map_file reads the file it names.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

R="$T/root"
mkdir -p "$R"
for f in a.txt b.txt c.txt d.txt; do
	echo "this is $f" >"$R/$f"
done
chmod 0755 "$R"
chmod 0644 "$R"/*
write_conf "$T/conf"
RUNDIR="$T/run"
MAP="$T/rules"

rules() {		# FILE LINE...: a rules file, one rule a line
	local f=$1
	shift
	printf '%s\n' "$@" >"$f"
	chmod 0644 "$f"
}

# run_exit CODE OUT CMD...: run (bounded); the exit status must be CODE.
run_exit() {
	local want=$1 out=$2 st
	shift 2
	timeout 10 "$@" >"$out" 2>&1
	st=$?
	if [ "$st" != "$want" ]; then
		echo "#   exit status $st, expected $want: $*"
		sed 's/^/#   | /' "$out" | tail -n 10
		return 1
	fi
}

# served NAME WANT: an RRQ of NAME gets the file WANT holds.
served() {
	rm -f "$T/got"
	if ! "$PYTHON" "$TFTPRAW" get 127.0.0.1 "$PORT" "$1" "$T/got" \
	    >"$T/get.out"; then
		echo "#   $1: $(cat "$T/get.out")"
		return 1
	fi
	assert_eq "this is $2" "$(cat "$T/got")" "content served for $1"
}

# refused NAME: an RRQ of NAME gets ERROR 2.
refused() {
	if "$PYTHON" "$TFTPRAW" get 127.0.0.1 "$PORT" "$1" "$T/got" \
	    >"$T/get.out"; then
		echo "#   $1 was served: $(cat "$T/got")"
		return 1
	fi
	assert_grep "ERROR 2 Access violation" "$T/get.out" "answer to $1"
}

# --- at start ----------------------------------------------------------------

rules "$MAP" 'r ^a\.txt$ b.txt' 'rx ( b'
t_start_bad() {
	local port
	port=$(free_port 4) || return 1
	run_exit 1 "$T/out" "$TFTPD" -L -a "127.0.0.1:$port" --config \
	    "$T/conf" --runtime-dir "$RUNDIR" -m "$MAP" "$R" || return 1
	assert_grep "^snowowl-tftpd: $MAP:2: " "$T/out" "the error" ||
	    return 1
	if port_bound "$port"; then
		echo "#   port $port is bound"
		return 1
	fi
	assert_no_grep "ready|worker" "$T/out" "the output"
}
check "-m with a bad rule: exit 1 with FILE:LINE, nothing bound" t_start_bad

t_check_bad() {
	run_exit 1 "$T/out" "$TFTPD" --check-config --config "$T/conf" \
	    -m "$MAP" "$R" || return 1
	assert_grep "^snowowl-tftpd: $MAP:2: " "$T/out" "--check-config -m"
	write_conf "$T/conf.map" "map_file = $MAP"
	run_exit 1 "$T/out" "$TFTPD" --check-config --config "$T/conf.map" \
	    "$R" || return 1
	assert_grep "^snowowl-tftpd: $MAP:2: " "$T/out" "--check-config, key"
	rules "$MAP" 'r ^a\.txt$ b.txt'
	run_exit 0 "$T/out" "$TFTPD" --check-config --config "$T/conf.map" \
	    "$R" || return 1
	run_exit 1 "$T/out" "$TFTPD" --check-config --config "$T/conf" \
	    -m "$T/none" "$R" || return 1
	assert_grep "^snowowl-tftpd: $T/none: No such file" "$T/out" \
	    "--check-config, a missing file"
}
check "--check-config reads the rules file: bad -> FILE:LINE, exit 1" \
    t_check_bad

# --- a running server ------------------------------------------------------------

rules "$MAP" 'r ^a\.txt$ b.txt' 'a ^d\.txt$'
WORKERS=1 master_start "$R" --workers 1 -v -m "$MAP"

check "a.txt is remapped to b.txt" served a.txt b.txt
check "... logged at debug level as remapped to" \
    assert_grep 'remap client=127\.0\.0\.1:[0-9]+ op=rrq file="a\.txt" remapped to "b\.txt"' \
    "$DLOG"
check "... the transfer line names what the client asked for" \
    assert_grep 'transfer client=[^ ]+ op=rrq file="a\.txt" .*result=ok' \
    "$DLOG"
check "an unmatched name is served as it is" served c.txt c.txt

stats s0 || hard_error "tftpctl stats"
check "an a rule: ERROR 2 Access violation" refused d.txt
t_failed_counted() {
	stats s1 || return 1
	assert_eq 1 "$(delta s1 s0 transfers_failed)" "transfers_failed"
}
check "... counted as a failed transfer" t_failed_counted

# A bad file at a reload, by signal and by tftpctl.
rules "$MAP" 'r ^a\.txt$ c.txt' 'r a( d'
kill -HUP "$MASTER"
t_hup_bad() {
	wait_for 10 "the reload's error in the log" grep -q \
	    "reload: $MAP:2: .*the current settings stay" "$DLOG" || {
		show_log
		return 1
	}
	served a.txt b.txt
}
check "SIGHUP with a bad rule: FILE:LINE logged, the old rules stay" \
    t_hup_bad
t_ctl_bad() {
	if ctl -i "$INSTANCE" reload >"$T/rl.out" 2>&1; then
		echo "#   tftpctl reload succeeded: $(cat "$T/rl.out")"
		return 1
	fi
	assert_grep "$MAP:2: " "$T/rl.out" "tftpctl reload" || return 1
	served a.txt b.txt && refused d.txt
}
check "tftpctl reload with a bad rule: fails with FILE:LINE, old rules stay" \
    t_ctl_bad

# New rules in the same file: the configuration file did not change.
rules "$MAP" 'r ^a\.txt$ c.txt'
t_ctl_new() {
	ctl -i "$INSTANCE" reload >"$T/rl.out" 2>&1 || {
		cat "$T/rl.out"
		return 1
	}
	assert_grep "1 setting changed" "$T/rl.out" "tftpctl reload" ||
	    return 1
	assert_grep "reload: the rules of transfer.map_file changed" \
	    "$DLOG" "the log" || return 1
	served a.txt c.txt && served d.txt d.txt
}
check "tftpctl reload with new rules in the same file: applied" t_ctl_new

# tftpctl set map_file reads the file it names.
rules "$T/rules2" 'r ^a\.txt$ d.txt'
rules "$T/rules3" 'rq ^a b'
t_set() {
	if ctl -i "$INSTANCE" set "map_file=$T/rules3" >"$T/set.out" 2>&1
	then
		echo "#   set a bad file succeeded: $(cat "$T/set.out")"
		return 1
	fi
	assert_grep "$T/rules3:1: " "$T/set.out" "tftpctl set, bad" ||
	    return 1
	served a.txt c.txt || return 1
	ctl -i "$INSTANCE" set "map_file=$T/rules2" >"$T/set.out" 2>&1 || {
		cat "$T/set.out"
		return 1
	}
	served a.txt d.txt || return 1
	ctl -i "$INSTANCE" set "map_file=" >"$T/set.out" 2>&1 || {
		cat "$T/set.out"
		return 1
	}
	served a.txt a.txt
}
check "tftpctl set map_file: a bad file refused, a good one applied, none" \
    t_set

check "the daemon stops cleanly" daemon_stop
lib_finish
