#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# [access]: client address lists, with clients on 127.0.0.1 and 127.0.0.2
# (loopback answers all of 127/8).  A bad prefix fails --check-config with
# FILE:LINE, as does a 65th prefix.  With read_deny = 127.0.0.2 and
# write_allow = 127.0.0.1, 127.0.0.2's RRQ and WRQ get ERROR 2 (its RRQ of
# a missing file too: the check comes before the lookup; its upload
# creates no file) while 127.0.0.1 downloads and uploads; each refusal is
# logged and counted in refused_acl (JSON, table, Prometheus).  "tftpctl
# set refuse=drop" makes a refusal silent (no answer within 1.5 s, counted
# still); "set read_deny=" lets 127.0.0.2 in; a reload of a file that
# denies 127.0.0.1 shuts that one out.  The same lists hold with
# single_port = yes, and in inetd mode (fd 0 is the socket, given here by
# a small wrapper instead of an inetd), on an IPv4 socket and on a
# dual-stack one, whose IPv4 clients arrive as ::ffff:127.0.0.x.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

"$PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.2", 0))' 2>/dev/null ||
    skip_all "127.0.0.2 cannot be bound here"

R="$T/root"
make_root "$R"
# Uploads land in the root: the service user must be able to write it.
chmod 0777 "$R"

# get SOURCE FILE: a whole download from SOURCE, compared with the root's.
get() {
	"$PYTHON" - "$LIB_DIR" "$PORT" "$R" "$@" <<-'PYEOF'
	import sys
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	port, root, src, name = int(sys.argv[2]), sys.argv[3], sys.argv[4], \
	    sys.argv[5]
	with t.Client("127.0.0.1", port, timeout=5.0, source=src) as c:
	    try:
	        got, _ = c.get(name)
	    except Exception as e:
	        print("#   %s from %s: %s" % (name, src, e))
	        sys.exit(1)
	if got != open(root + "/" + name, "rb").read():
	    print("#   %s from %s: not the file" % (name, src))
	    sys.exit(1)
	PYEOF
}

# put SOURCE NAME: a whole upload of 700 bytes from SOURCE.
put() {
	"$PYTHON" - "$LIB_DIR" "$PORT" "$@" <<-'PYEOF'
	import sys
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	port, src, name = int(sys.argv[2]), sys.argv[3], sys.argv[4]
	with t.Client("127.0.0.1", port, timeout=5.0, source=src) as c:
	    try:
	        c.put(name, b"u" * 700)
	    except Exception as e:
	        print("#   upload of %s from %s: %s" % (name, src, e))
	        sys.exit(1)
	PYEOF
}

# refused_error SOURCE OP FILE: the answer is ERROR 2.
refused_error() {
	local a
	a=$(answer_from "$@")
	assert_eq "ERROR 2 Access violation" "$a" "answer to $2 from $1"
}

# refused_silently SOURCE OP FILE: no answer within 1.5 s (a bounded wait
# for an absence).
refused_silently() {
	local a
	a=$(answer_from "$1" "$2" "$3" 1.5)
	assert_eq none "$a" "answer to $2 from $1"
}

# acl_count: refused_acl of $INSTANCE's totals.
acl_count() {
	stats acl >/dev/null && json_eval "$T/acl.json" \
	    "d['totals']['refused_acl']"
}

# acl_count_is N: refused_acl is N, waited for (a worker counts a
# refusal before it answers, so this is only for what was never answered).
acl_count_is() {
	[ "$(acl_count 2>/dev/null)" = "$1" ]
}

# --- --check-config ---------------------------------------------------------

t_check_bad_prefix() {
	write_conf "$T/bad.conf" "[access]" "read_allow = 10.0.0.0/8" \
	    "write_deny = 192.0.2.0/24 10.1.2.3/16"
	run_exit 1 "$T/bad.out" "$TFTPD" --check-config --config "$T/bad.conf" \
	    "$R" &&
	    assert_grep "$T/bad.conf:[0-9]+: \[access\] write_deny: \"10.1.2.3/16\": bits set beyond the prefix length \(the network is 10.1.0.0/16\)$" \
	    "$T/bad.out" "--check-config" &&
	    assert_grep ":$(grep -n '^write_deny' "$T/bad.conf" | cut -d: -f1): " \
	    "$T/bad.out" "the line of write_deny"
}
check "a prefix with host bits: --check-config exits 1 with FILE:LINE" \
    t_check_bad_prefix

# Lines are at most 199 characters: the key repeated adds to the list.
t_check_too_many() {
	local lines=() i j list
	for ((i = 0; i < 5; i++)); do
		list=""
		for ((j = 0; j < 13; j++)); do
			list="$list 10.$((i * 13 + j)).0.0/16"
		done
		lines+=("read_deny =$list")
	done
	write_conf "$T/many.conf" "[access]" "${lines[@]}"
	run_exit 1 "$T/many.out" "$TFTPD" --check-config --config \
	    "$T/many.conf" "$R" &&
	    assert_grep "$T/many.conf:$(wc -l <"$T/many.conf"): \[access\] read_deny: more than 64 prefixes$" \
	    "$T/many.out" "--check-config"
}
check "65 prefixes in a list: --check-config exits 1 with FILE:LINE" \
    t_check_too_many

t_check_good() {
	write_conf "$T/good.conf" "[access]" \
	    "read_allow = 10.0.0.0/8, 192.0.2.7 2001:db8::/32" \
	    "read_allow = ::ffff:198.51.100.0/120" "refuse = drop"
	run_exit 0 "$T/good.out" "$TFTPD" --check-config -v --config \
	    "$T/good.conf" "$R" &&
	    assert_grep "^read_allow = 198.51.100.0/24$" "$T/good.out" \
	    "--check-config -v" &&
	    assert_grep "^refuse = drop$" "$T/good.out" "--check-config -v"
}
check "good lists: --check-config exits 0 and prints them" t_check_good

# --- a master: refusals with ERROR 2, counted ------------------------------

write_conf "$T/conf" "[write]" "enable = yes" "create = yes" \
    "[access]" "read_deny = 127.0.0.2" "write_allow = 127.0.0.1"
# Two workers: the counters are summed over them.
WORKERS=2 master_start "$R" --workers 2

check "127.0.0.1 downloads (read_deny names only 127.0.0.2)" \
    get 127.0.0.1 s512
check "127.0.0.2's RRQ: ERROR 2" refused_error 127.0.0.2 rrq s512
# Before the name is looked at: a missing file is no ERROR 1 to it.
check "127.0.0.2's RRQ of a missing file: ERROR 2, not File not found" \
    refused_error 127.0.0.2 rrq no-such-file
check "127.0.0.2's WRQ (write_allow = 127.0.0.1): ERROR 2" \
    refused_error 127.0.0.2 wrq from2.bin
check "127.0.0.1 uploads" put 127.0.0.1 from1.bin
t_no_file() {
	[ -e "$R/from1.bin" ] || { echo "#   from1.bin missing"; return 1; }
	[ ! -e "$R/from2.bin" ] || { echo "#   from2.bin was created"; return 1; }
}
check "the refused upload created no file, the allowed one did" t_no_file

t_counted() {
	local n
	n=$(acl_count) && assert_eq 3 "$n" "refused_acl" &&
	    json_check "$T/acl.json" "d['totals']['errors']['2'] == 3" \
	    "errors.2 (a refusal with an ERROR is a refused request)" &&
	    ctl -i "$INSTANCE" stats >"$T/table.out" 2>&1 &&
	    assert_grep "refused_acl +3( |$)" "$T/table.out" "stats table" &&
	    ctl -i "$INSTANCE" stats --prometheus >"$T/prom.out" 2>&1 &&
	    assert_grep "^# TYPE snowowl_tftpd_refused_acl_total counter$" \
	    "$T/prom.out" "stats --prometheus" &&
	    assert_eq 3 "$(awk '/^snowowl_tftpd_refused_acl_total\{/ {
		n += $NF } END { print n + 0 }' "$T/prom.out")" \
	    "snowowl_tftpd_refused_acl_total summed over the workers"
}
check "refused_acl is 3 in JSON, the table and Prometheus" t_counted

t_logged() {
	assert_grep "transfer client=127\.0\.0\.2:[0-9]+ op=rrq file=\"s512\" .*result=error code=2 msg=\"Access violation\"" \
	    "$DLOG" "the log" &&
	    assert_grep "transfer client=127\.0\.0\.2:[0-9]+ op=wrq file=\"from2.bin\" .*result=error code=2" \
	    "$DLOG" "the log"
}
check "each refusal has its transfer log line" t_logged

# --- live: refuse = drop, then the list emptied -----------------------------

t_set() {
	ctl -i "$INSTANCE" set "$@" >"$T/set.out" 2>&1 || {
		echo "#   tftpctl set $* failed:"
		sed 's/^/#   | /' "$T/set.out"
		return 1
	}
}
check "tftpctl set refuse=drop" t_set refuse=drop
# A worker applies a new generation before its next request: the first
# request after the set already sees it.
check "refuse = drop: 127.0.0.2's RRQ gets no answer within 1.5 s" \
    refused_silently 127.0.0.2 rrq s512
check "a dropped request is counted (refused_acl 4)" \
    wait_for 10 "refused_acl 4" acl_count_is 4
check "a dropped request is logged as dropped" assert_grep \
    "transfer client=127\.0\.0\.2:[0-9]+ op=rrq .*result=dropped" "$DLOG" \
    "the log"
check "127.0.0.1 still downloads" get 127.0.0.1 s513

check "tftpctl set read_deny= (empty)" t_set read_deny=
check "read_deny emptied live: 127.0.0.2 downloads" get 127.0.0.2 s512
check "tftpctl set read_deny=127.0.0.0/24 (a prefix)" \
    t_set read_deny=127.0.0.0/24
check "read_deny = 127.0.0.0/24: 127.0.0.1 gets no answer either" \
    refused_silently 127.0.0.1 rrq s512
t_set_bad() {
	! ctl -i "$INSTANCE" set read_deny=127.0.0.1/8 >"$T/setbad.out" 2>&1 &&
	    assert_grep "bits set beyond the prefix length" "$T/setbad.out" \
	    "tftpctl set"
}
check "tftpctl set with host bits is refused, naming them" t_set_bad

# A reload reads the file: read_deny = 127.0.0.1 and refuse back to error.
write_conf "$T/conf" "[write]" "enable = yes" "create = yes" \
    "[access]" "read_deny = 127.0.0.1" "write_allow = 127.0.0.1"
t_reload() {
	ctl -i "$INSTANCE" reload >"$T/reload.out" 2>&1 || {
		sed 's/^/#   | /' "$T/reload.out"
		return 1
	}
}
check "tftpctl reload" t_reload
check "after the reload: 127.0.0.1's RRQ gets ERROR 2" \
    refused_error 127.0.0.1 rrq s512
check "after the reload: 127.0.0.2 downloads" get 127.0.0.2 s513
check "refused_acl counts every refusal: 6" \
    wait_for 10 "refused_acl 6" acl_count_is 6
check "the master stops cleanly" daemon_stop "$MASTER"

# --- single_port = yes ------------------------------------------------------

write_conf "$T/conf" "[transfer]" "single_port = yes" \
    "[access]" "read_deny = 127.0.0.2"
WORKERS=2 master_start "$R" --workers 2
check "single_port: 127.0.0.2's RRQ gets ERROR 2" \
    refused_error 127.0.0.2 rrq s512
check "single_port: 127.0.0.1 downloads" get 127.0.0.1 m1
check "single_port: refused_acl 1" wait_for 10 "refused_acl 1" \
    acl_count_is 1
check "the single_port master stops cleanly" daemon_stop "$MASTER"

# --- inetd mode: fd 0 is the socket -----------------------------------------

# inetd_start FAMILY CONF: inetd's "wait" service without an inetd, a bound
# UDP socket as fd 0: FAMILY 4 binds 127.0.0.1; 6 binds [::] dual-stack
# (IPV6_V6ONLY off, as systemd's sockets are by default), so IPv4 clients
# arrive as ::ffff:a.b.c.d.  Sets PORT and IPID; waits until it answers.
inetd_start() {
	PORT=$(free_port "$1") || return 1
	"$PYTHON" - "$1" "$PORT" "$TFTPD" -i -t 30 --config "$2" \
	    --runtime-dir "$T/run-inetd$1" -s "$R" >"$T/inetd$1.log" 2>&1 \
	    </dev/null <<-'PYEOF' &
	import os, socket, sys
	if sys.argv[1] == "6":
	    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
	    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
	    s.bind(("::", int(sys.argv[2])))
	else:
	    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	    s.bind(("127.0.0.1", int(sys.argv[2])))
	os.dup2(s.fileno(), 0)
	os.execv(sys.argv[3], sys.argv[3:])
	PYEOF
	IPID=$!
	DAEMON_PIDS+=("$IPID")
	wait_for 10 "the inetd-mode server" "$PYTHON" "$TFTPRAW" ping \
	    127.0.0.1 "$PORT" 1 || { show_log "$T/inetd$1.log"; return 1; }
}

inetd_stop() {
	kill -TERM "$IPID" 2>/dev/null
	wait_pid_gone "$IPID" 10
}

t_inetd() {
	write_conf "$T/inetd4.conf" "[access]" "read_allow = 127.0.0.1"
	inetd_start 4 "$T/inetd4.conf" || return 1
	refused_error 127.0.0.2 rrq s512 && get 127.0.0.1 s511 &&
	    get 127.0.0.1 s512 || { show_log "$T/inetd4.log"; return 1; }
	inetd_stop
}
check "inetd mode: read_allow = 127.0.0.1 refuses 127.0.0.2, serves 127.0.0.1" \
    t_inetd

# The clients of a dual-stack socket are ::ffff:127.0.0.x: IPv4 prefixes
# match them, for reads and (uploads enabled) for writes.
t_mapped() {
	write_conf "$T/inetd6.conf" "[write]" "enable = yes" "create = yes" \
	    "[access]" "read_deny = 127.0.0.2" \
	    "write_deny = 127.0.0.0/8"
	inetd_start 6 "$T/inetd6.conf" || return 1
	refused_error 127.0.0.2 rrq s512 && get 127.0.0.1 s512 &&
	    refused_error 127.0.0.1 wrq mapped.bin &&
	    { [ ! -e "$R/mapped.bin" ] || { echo "#   mapped.bin created"; false; }; } &&
	    assert_grep "transfer client=\[?(::ffff:)?127\.0\.0\.2\]?:[0-9]+ op=rrq .*code=2" \
	    "$T/inetd6.log" "the log" ||
	    { show_log "$T/inetd6.log"; return 1; }
	inetd_stop
}
if have_ipv6; then
	check "a dual-stack socket: ::ffff:127.0.0.2 matches read_deny = 127.0.0.2" \
	    t_mapped
else
	skip "no IPv6 here: the dual-stack socket of a mapped client"
fi

lib_finish
