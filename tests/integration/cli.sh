#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# The command line and the operator-facing behaviour: --check-config on
# good and bad files (exit codes, FILE:LINE: [section] key: reason), -V,
# bad addresses and roots fail with exit 1 before binding, running as
# non-root (one warning, still serves), and the key=value log line of
# every transfer on stderr in the foreground; --map-test on tftp-hpa's
# sample rules and our own (new names, refusals, FILE:LINE errors);
# tftpctl's options in their short and long forms.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init

R="$T/files"
make_root "$R"
write_conf "$T/conf"


# --- -V, --help, --check-config -------------------------------------------

version=""
if [ -n "${TOP_BUILDDIR:-}" ] && [ -f "$TOP_BUILDDIR/ac_config.h" ]; then
	version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"/\1/p' \
	    "$TOP_BUILDDIR/ac_config.h")
fi
if [ -z "$version" ] && [ -n "${TOP_SRCDIR:-}" ]; then
	version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' \
	    "$TOP_SRCDIR/configure.ac")
fi
t_version() {
	run_exit 0 "$T/out" "$TFTPD" -V || return 1
	if [ -n "$version" ]; then
		assert_grep "(^|[^0-9.])$(echo "$version" | sed 's/\./\\./g')([^0-9.]|$)" \
		    "$T/out" "-V output"
	else
		assert_grep '[0-9]+\.[0-9]+' "$T/out" "-V output"
	fi || return 1
	assert_grep 'licence: BSD-2-Clause' "$T/out" "-V output"
}
check "-V prints the version ${version:-(unknown)} and the licence, exits 0" t_version

t_help() {
	run_exit 0 "$T/out" "$TFTPD" --help &&
	    assert_grep 'check-config' "$T/out" "--help output"
}
check "--help exits 0 and lists the options" t_help

# --- --map-test -------------------------------------------------------------

# tftp-hpa's sample.rules (its documentation), then rules of our own.
cat >"$T/sample.rules" <<'EOF'
ri	^[a-z]:				# Remove "drive letters"
rg	\\		/		# Convert backslashes to slashes
rg	\#		@		# Convert hash marks to @ signs
rg	/../		/..no../	# Convert /../ to /..no../
e	^ok/				# These are always ok
r	^[^/]		/tftpboot/\0	# Convert non-absolute files
a	\.pvt$				# Reject requests for private files
EOF
cat >"$T/pxe.rules" <<'EOF'
# PXELINUX asks for its configuration by the client's hex address
r	^pxelinux.cfg/default$	pxelinux.cfg/\x
rP	^			uploads/
r	^escape$		../\i
EOF

# maptest_is STATUS WANT ARGS...: --map-test ARGS prints exactly WANT
# (stdout and stderr) and exits STATUS.
maptest_is() {
	local want_st=$1 want=$2
	shift 2
	run_exit "$want_st" "$T/out" "$TFTPD" --map-test "$@" || return 1
	if [ "$(cat "$T/out")" != "$want" ]; then
		echo "#   --map-test $*: got:"
		sed 's/^/#   | /' "$T/out"
		echo "#   want: $want"
		return 1
	fi
}
t_maptest() {
	maptest_is 0 'C:\Boot\x64\wdsnbp.com -> /Boot/x64/wdsnbp.com' \
	    "$T/sample.rules" 'C:\Boot\x64\wdsnbp.com' &&
	    maptest_is 0 'a#b -> /tftpboot/a@b' "$T/sample.rules" 'a#b' &&
	    maptest_is 0 'ok/x.pvt -> ok/x.pvt' "$T/sample.rules" ok/x.pvt &&
	    maptest_is 1 "x.pvt: refused by rule at $T/sample.rules:7" \
		"$T/sample.rules" x.pvt
}
check "--map-test runs tftp-hpa's sample rules: new names, a refusal with FILE:LINE" t_maptest
t_maptest_client() {
	maptest_is 0 'pxelinux.cfg/default -> pxelinux.cfg/C0A80001' \
	    "$T/pxe.rules" pxelinux.cfg/default 192.168.0.1 &&
	    maptest_is 0 'pxelinux.cfg/default -> pxelinux.cfg/20010DB8000000000000000000000001' \
		"$T/pxe.rules" pxelinux.cfg/default 2001:db8::1 &&
	    maptest_is 0 'f -> uploads/f' "$T/pxe.rules" f 10.0.0.1 --wrq &&
	    maptest_is 0 'f -> f' "$T/pxe.rules" f 10.0.0.1 &&
	    maptest_is 1 'escape -> ../10.0.0.1: refused by the path rules (outside the root or not a valid name)' \
		"$T/pxe.rules" escape 10.0.0.1
}
check "--map-test: \\x and \\i of the CLIENT-IP, --wrq, a result outside the root refused" t_maptest_client
t_maptest_bad() {
	printf 'r a b\n# fine\nrq a b\n' >"$T/bad.rules"
	maptest_is 1 "$T/bad.rules:3: unknown operation letter in rq" \
	    "$T/bad.rules" a &&
	    printf 'r ( b\n' >"$T/bad.rules" &&
	    run_exit 1 "$T/out" "$TFTPD" --map-test "$T/bad.rules" a &&
	    assert_grep "^$T/bad.rules:1: bad regex" "$T/out" &&
	    run_exit 1 "$T/out" "$TFTPD" --map-test "$T/nonexistent" a &&
	    assert_grep 'nonexistent: No such file' "$T/out" &&
	    run_exit 1 "$T/out" "$TFTPD" --map-test "$T/pxe.rules" a not-an-ip &&
	    assert_grep 'not-an-ip: not an IPv4 or IPv6 address' "$T/out" &&
	    run_exit 1 "$T/out" "$TFTPD" --map-test "$T/pxe.rules" &&
	    assert_grep 'usage: .*--map-test FILE NAME' "$T/out"
}
check "--map-test: a bad file is FILE:LINE: reason, exit 1; bad arguments exit 1" t_maptest_bad

cat >"$T/good.conf" <<'EOF'
# every section of the spec, with values in range
[server]
listen = 127.0.0.1:6969, [::1]:6969
family = any
root = /srv/tftp
workers = 2
foreground = yes
log = stderr
log_level = debug

[transfer]
timeout = 2
retries = 4
max_blksize = 1428
max_windowsize = 16
allow_options = blksize timeout tsize windowsize
refuse_options = rollover
netascii = on
follow_symlinks = no
permissive = false
port_range = 40000:40100
max_transfers = 100

[write]
enable = yes
create = 1
overwrite = off
umask = 027
max_file_size = 16M
allow = *.bin, uploads/*
fsync = no

[performance]
buffer_pool_size = 128

[performance.platform.batch]
enable_recvmmsg = yes
enable_sendmmsg = no
max_batch_size = 16
batch_timeout_us = 100

[performance.platform.socket]
recv_buffer_kb = 1024
send_buffer_kb = 0
reuse_address = yes
reuse_port = no
EOF

# (As root without a tftp user, the user is named: see write_conf.)
if need_user_nobody; then
	sed -i 's/^\[server\]$/[server]\nuser = nobody/' "$T/good.conf"
fi

t_good() {
	run_exit 0 "$T/out" "$TFTPD" --config "$T/good.conf" --check-config \
	    "$R" && assert_grep 'configuration OK' "$T/out" "--check-config"
}
check "--check-config on a good file: 'configuration OK', exit 0" t_good

# bad_conf NAME LINE SECTION KEY CONTENT: --check-config must exit 1
# with "NAME:LINE: [SECTION] KEY: reason" (a non-empty reason).
bad_conf() {
	local f="$T/$1" line=$2 sect=$3 key=$4
	printf '%s\n' "$5" >"$f"
	local where
	where="$(printf '%s' "$f" | sed 's/[].[\*^$]/\\&/g'):$line: \[$(printf '%s' "$sect" | sed 's/\./\\./g')\]"
	if [ -n "$key" ]; then
		where="$where $key"
	fi
	run_exit 1 "$T/out" "$TFTPD" --config "$f" --check-config "$R" &&
	    assert_grep "^snowowl-tftpd: $where: [^ ].*" "$T/out" \
	    "error message" &&
	    assert_no_grep 'configuration OK' "$T/out" "error output"
}

check "--check-config: value out of range names file:line, section, key, reason" \
    bad_conf bad1.conf 4 transfer timeout \
    "# comment
[transfer]
retries = 3
timeout = 300"
check "--check-config: unknown key is an error" \
    bad_conf bad2.conf 3 server no_such_key \
    "[server]
workers = 1
no_such_key = 1"
# An unknown section is reported at its header line (libinih has no key
# there) or at its first key.
t_bad_section() {
	bad_conf bad3.conf 2 nosuch "" "
[nosuch]
key = 1" >"$T/sect.out" ||
	    bad_conf bad3.conf 3 nosuch key "
[nosuch]
key = 1"
}
check "--check-config: unknown section is an error" t_bad_section
check "--check-config: bad boolean" \
    bad_conf bad4.conf 3 write enable \
    "
[write]
enable = maybe"
check "--check-config: bad size suffix" \
    bad_conf bad5.conf 2 write max_file_size \
    "[write]
max_file_size = 12Q"
check "--check-config: retries 0 out of range" \
    bad_conf bad6.conf 2 transfer retries \
    "[transfer]
retries = 0"
check "--check-config: nested section, bad number" \
    bad_conf bad7.conf 2 performance.platform.batch max_batch_size \
    "[performance.platform.batch]
max_batch_size = 12x"
check "--check-config: bad port_range (LO > HI)" \
    bad_conf bad8.conf 2 transfer port_range \
    "[transfer]
port_range = 5000:4000"

t_missing_conf() {
	run_exit 1 "$T/out" "$TFTPD" --config "$T/nonexistent.conf" \
	    --check-config "$R" &&
	    assert_grep 'nonexistent\.conf' "$T/out" "error message"
}
check "--config with a missing file: exit 1 naming it" t_missing_conf

# A port we hold: a daemon that tried to bind it would fail with "in use".
HOLD_PORT=$(free_port)
"$PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(120)' "$HOLD_PORT" &
HOLDER=$!
DAEMON_PIDS+=("$HOLDER")	# killed by the cleanup too
wait_for 10 "the port $HOLD_PORT held" port_bound "$HOLD_PORT" ||
    hard_error "could not hold a port"

t_check_no_bind() {
	run_exit 0 "$T/out" "$TFTPD" --config "$T/conf" --check-config \
	    -a "127.0.0.1:$HOLD_PORT" "$R" &&
	    assert_grep 'configuration OK' "$T/out" "--check-config"
}
check "--check-config does not bind (the port is taken, still OK)" \
    t_check_no_bind

# bad_cli WHAT-REGEX ARGS...: exit 1, "snowowl-tftpd: " on stderr naming
# WHAT, and no attempt to bind the held port first.
bad_cli() {
	local re=$1
	shift
	run_exit 1 "$T/out" "$TFTPD" -L --config "$T/conf" "$@" || return 1
	assert_grep "snowowl-tftpd: .*$re" "$T/out" "error message" &&
	    assert_no_grep 'in use' "$T/out" "error message"
}

check "bad -a address (300.1.2.3) fails with exit 1 before binding" \
    bad_cli '300\.1\.2\.3' -a "127.0.0.1:$HOLD_PORT" -a 300.1.2.3:69 "$R"
check "bad -a port (70000) fails with exit 1" \
    bad_cli '70000' -a 127.0.0.1:70000 "$R"
check "bad -a host name fails with exit 1" \
    bad_cli 'no\.such\.host\.invalid' -a no.such.host.invalid:69 "$R"
check "missing root fails with exit 1 naming it" \
    bad_cli 'no-such-root' -a "127.0.0.1:$(free_port)" "$T/no-such-root"
check "a root that is a file fails with exit 1" \
    bad_cli 's511' -a "127.0.0.1:$(free_port)" "$R/s511"
# in.tftpd's list of directories: up to 8, each checked.
t_roots_ok() {
	mkdir -p "$T/r2" "$T/r3"
	run_exit 0 "$T/out" "$TFTPD" --config "$T/good.conf" --check-config \
	    -v "$R" "$T/r2" "$T/r3" &&
	    assert_grep 'configuration OK' "$T/out" "--check-config" &&
	    assert_eq 3 "$(grep -c '^root = ' "$T/out")" "root lines"
}
check "three root directories: --check-config OK, each listed" t_roots_ok
check "nine root arguments fail with exit 1 (at most 8)" \
    bad_cli 'at most 8 root directories may be given \("9" is one more\)' \
    -a "127.0.0.1:$(free_port)" 1 2 3 4 5 6 7 8 9
check "a missing second root fails with exit 1 naming it" \
    bad_cli 'no-such-root2' -a "127.0.0.1:$(free_port)" "$R" \
    "$T/no-such-root2"
check "--check-config: a missing second root is reported" \
    run_exit 1 "$T/out" "$TFTPD" --config "$T/good.conf" --check-config \
    "$R" "$T/no-such-root3"
check "...naming it" \
    assert_grep 'root .*no-such-root3: No such file' "$T/out"
check "-s with two roots fails with exit 1 (in.tftpd: exactly one)" \
    bad_cli 'server.secure: takes exactly one root directory' \
    -a "127.0.0.1:$(free_port)" -s "$R" "$R"
check "unknown option fails with exit 1" \
    bad_cli '' --no-such-option "$R"
check "-B 4 (below 8) fails with exit 1" \
    bad_cli '' -B 4 -a "127.0.0.1:$(free_port)" "$R"
check "-R 5000:4000 fails with exit 1" \
    bad_cli '' -R 5000:4000 -a "127.0.0.1:$(free_port)" "$R"
check "-B 100 (below in.tftpd's 512) fails with exit 1" \
    bad_cli '--blocksize 100: .*512' -B 100 -a "127.0.0.1:$(free_port)" "$R"

# What -v --check-config prints for the option keys.
opt_lines() {
	run_exit 0 "$T/opts.out" "$TFTPD" --config "$T/conf" --check-config \
	    -v "$@" "$R" || return 1
	grep -E '^(allow|refuse)_options' "$T/opts.out"
}
t_blocksize_512() {
	run_exit 0 "$T/out" "$TFTPD" --config "$T/conf" --check-config -v \
	    -B 512 "$R" && assert_grep '^max_blksize = 512$' "$T/out" "-B 512"
}
check "-B 512 is accepted" t_blocksize_512
t_refuse_unknown() {
	local plain with
	plain=$(opt_lines) && with=$(opt_lines -r multicast -r MULTICAST) ||
	    return 1
	assert_eq "$plain" "$with" "option keys with -r multicast"
}
check "-r multicast (a name we do not implement) is accepted, changes nothing" \
    t_refuse_unknown
t_refuse_blksize2() {
	opt_lines >"$T/opts" && opt_lines -r BLKSIZE2 >"$T/opts2" || return 1
	assert_grep '^allow_options = .*blksize2' "$T/opts" "allow_options" &&
	    assert_grep '^allow_options = .*blksize( |$)' "$T/opts2" \
		"allow_options with -r BLKSIZE2" &&
	    assert_no_grep '^allow_options = .*blksize2' "$T/opts2" \
		"allow_options with -r BLKSIZE2"
}
check "-r blksize2 refuses blksize2 (and only it)" t_refuse_blksize2
t_refuse_known() {
	opt_lines -r tsize >"$T/opts" || return 1
	assert_grep '^allow_options = ' "$T/opts" "allow_options" &&
	    assert_no_grep '^allow_options = .*tsize' "$T/opts" "allow_options"
}
check "-r tsize still refuses tsize" t_refuse_known
check "-r with a list still checks every name" \
    bad_cli 'unknown option "bogus"' -r tsize,bogus "$R"
t_check_user() {
	run_exit 1 "$T/out" "$TFTPD" --config "$T/conf" --check-config \
	    -u no-such-user-x "$R" &&
	    assert_grep 'user no-such-user-x: no such user' "$T/out" "error"
}
check "--check-config -u with an unknown user fails, naming it" t_check_user

# -T, --verbosity, -v and host names, as --check-config -v shows them.
t_retransmit() {
	run_exit 0 "$T/out" "$TFTPD" --config "$T/conf" --check-config -v \
	    -T 200000 "$R" && assert_grep '^timeout = 200ms$' "$T/out" "-T" &&
	    run_exit 0 "$T/out" "$TFTPD" --config "$T/conf" --check-config -v \
		--retransmit 2000000 "$R" &&
	    assert_grep '^timeout = 2$' "$T/out" "--retransmit" &&
	    run_exit 0 "$T/out" "$TFTPD" --config "$T/conf" --check-config -v \
		-T 10001 "$R" &&
	    assert_grep '^timeout = 11ms$' "$T/out" "-T rounded up"
}
check "-T/--retransmit USEC sets transfer.timeout, rounded up to ms" \
    t_retransmit
check "-T 9999 (below in.tftpd's 10000) fails with exit 1" \
    bad_cli '--retransmit 9999: .*10000 to 255000000' -T 9999 "$R"
check "-T 255000001 (above in.tftpd's range) fails with exit 1" \
    bad_cli '--retransmit 255000001: ' -T 255000001 "$R"
check "-T 1s (not microseconds) fails with exit 1" \
    bad_cli '--retransmit 1s: ' -T 1s "$R"
t_verbosity() {
	run_exit 0 "$T/out" "$TFTPD" --config "$T/conf" --check-config \
	    --verbosity 2 "$R" &&
	    assert_grep '^log_level = debug$' "$T/out" "--verbosity 2" &&
	    run_exit 0 "$T/out" "$TFTPD" --config "$T/conf" --check-config \
		--verbosity 0 -v -v "$R" &&
	    assert_grep '^log_level = debug$' "$T/out" "--verbosity 0 -v -v" &&
	    run_exit 0 "$T/out" "$TFTPD" --config "$T/conf" --check-config \
		--verbosity 0 -v "$R" &&
	    assert_no_grep '^log_level' "$T/out" "--verbosity 0 -v (info)" &&
	    run_exit 0 "$T/out" "$TFTPD" --config "$T/conf" --check-config \
		-v --verbosity=1 "$R" &&
	    assert_no_grep '^log_level' "$T/out" "-v --verbosity 1 (info)"
}
check "--verbosity N maps to log_level, each -v adds a level" t_verbosity
check "--verbosity x fails with exit 1" \
    bad_cli '--verbosity x: not a number' --verbosity x "$R"
t_listen_names() {
	run_exit 0 "$T/out" "$TFTPD" --config "$T/conf" --check-config -v \
	    -4 -a localhost:6970 -a '[localhost]:6971' -a 127.0.0.1:6972 "$R" &&
	    assert_grep '^listen = 127\.0\.0\.1:6970$' "$T/out" "localhost" &&
	    assert_grep '^listen = 127\.0\.0\.1:6971$' "$T/out" "[localhost]" &&
	    assert_grep '^listen = 127\.0\.0\.1:6972$' "$T/out" "numeric"
}
check "-a NAME:PORT and [NAME]:PORT resolve; numeric forms as before" \
    t_listen_names
check "-a NAME:PORT with a bad port fails with exit 1" \
    bad_cli 'localhost:0' -a localhost:0 "$R"

# --check-config checks what it can without binding.
t_check_nonlocal() {
	run_exit 1 "$T/out" "$TFTPD" --config "$T/conf" --check-config \
	    -a 127.0.0.1:6969 -a 192.0.2.1:69 -a '[2001:db8::1]:69' "$R" &&
	    assert_grep '^snowowl-tftpd: server.listen: 192\.0\.2\.1:69 is not an address of this host$' \
		"$T/out" "error" &&
	    assert_grep '^snowowl-tftpd: server.listen: \[2001:db8::1\]:69 is not an address of this host$' \
		"$T/out" "error" &&
	    assert_no_grep '127\.0\.0\.1' "$T/out" "error" &&
	    assert_no_grep 'configuration OK' "$T/out" "error output" &&
	    run_exit 0 "$T/out" "$TFTPD" --config "$T/conf" --check-config \
		-a 127.0.0.1:6969 -a 0.0.0.0:69 -a '[::]:69' "$R"
}
check "--check-config reports listen addresses that are not this host's" \
    t_check_nonlocal
t_check_family_skips() {
	run_exit 0 "$T/out" "$TFTPD" --config "$T/conf" --check-config -4 \
	    -a 127.0.0.1:6969 -a '[2001:db8::1]:69' "$R"
}
check "--check-config -4 does not check the IPv6 addresses it ignores" \
    t_check_family_skips
t_check_root() {
	run_exit 1 "$T/out" "$TFTPD" --config "$T/conf" --check-config \
	    "$T/no-such-root" &&
	    assert_grep "root $T/no-such-root: No such file or directory" \
		"$T/out" "missing root" &&
	    run_exit 1 "$T/out" "$TFTPD" --config "$T/conf" --check-config \
		"$R/s511" &&
	    assert_grep "root $R/s511: Not a directory" "$T/out" "file root"
}
check "--check-config: a missing root or a file as root fails, naming it" \
    t_check_root
t_check_root_unreadable() {
	mkdir -p "$T/closed" && chmod 0700 "$T/closed" &&
	    chmod o+x "$T" &&
	    run_exit 1 "$T/out" runuser -u snowowl-ci -- "$TFTPD" \
		--config /dev/null --check-config -u snowowl-ci "$T/closed" &&
	    assert_grep "root $T/closed: cannot be opened: Permission denied" \
		"$T/out" "unreadable root"
}
if [ "$(id -u)" = 0 ] && id snowowl-ci >/dev/null 2>&1; then
	check "--check-config: a root the user cannot open fails, naming it" \
	    t_check_root_unreadable
else
	skip "unreadable root: needs root and the snowowl-ci user"
fi

kill "$HOLDER" 2>/dev/null
wait "$HOLDER" 2>/dev/null

# --- running as non-root ------------------------------------------------------

# Lines about privileges in a log, with the temp path removed (it could
# contain any letters).
priv_lines() {
	sed "s|$T||g" "$1" | grep -v ': transfer ' |
	    grep -Eic 'root|privileg|uid|user|setuid'
}

t_nonroot() {
	local out="$T/nonroot.out" n tftpd=$TFTPD
	# The build tree may not be reachable for nobody (under /root):
	# run a copy from the temp dir then.
	if [ -n "${DAEMON_WRAP:-}" ] && ! $DAEMON_WRAP test -x "$TFTPD"; then
		cp "$TFTPD" "$T/snowowl-tftpd" && chmod 0755 "$T/snowowl-tftpd"
		tftpd="$T/snowowl-tftpd"
	fi
	TFTPD=$tftpd daemon_start "$R"
	if ! "$PYTHON" "$TFTPRAW" get 127.0.0.1 "$PORT" s511 "$out" \
	    >/dev/null; then
		echo "#   get s511 failed"
		show_log
		return 1
	fi
	assert_same_file "$R/s511" "$out" || return 1
	daemon_alive || return 1
	n=$(priv_lines "$DLOG")
	if [ "$n" != 1 ]; then
		echo "#   expected exactly one warning about privileges, got $n:"
		show_log
		return 1
	fi
	daemon_stop
}

if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
		if getent group nogroup >/dev/null; then
			grp=nogroup
		else
			grp=$(id -gn nobody)
		fi
		DAEMON_WRAP="setpriv --reuid=nobody --regid=$grp --clear-groups" \
		    check "started as non-root (nobody): one warning, serves files" \
		    t_nonroot
		unset DAEMON_WRAP
	else
		skip "non-root start: needs setpriv and a nobody user"
	fi
else
	check "started as non-root ($(id -un)): one warning, serves files" \
	    t_nonroot
fi

# --- the per-transfer log line ------------------------------------------------------

daemon_start "$R"
LOGF=$DLOG

# wait_log ERE: the log line appears (bounded: 10 s).
log_has() {
	grep -Eq -- "$1" "$LOGF"
}
wait_log() {
	wait_until 10 log_has "$1" && return 0
	assert_grep "$1" "$LOGF" "daemon log"
}

t_log_ok() {
	local cport
	cport=$("$PYTHON" "$TFTPRAW" get 127.0.0.1 "$PORT" s511 "$T/o" \
	    blksize=1428 tsize=0 | sed -n 's/^client_port=\([0-9]*\).*/\1/p')
	[ -n "$cport" ] || return 1
	assert_same_file "$R/s511" "$T/o" &&
	    wait_log ": transfer client=127\.0\.0\.1:$cport op=rrq file=\"s511\" mode=octet bytes=511 seconds=[0-9]+(\.[0-9]+)? options=\"[^\"]*\" result=ok\$" &&
	    wait_log "client=127\.0\.0\.1:$cport .*options=\"([^\"]* )?blksize=1428( [^\"]*)?\"" &&
	    wait_log "client=127\.0\.0\.1:$cport .*options=\"([^\"]* )?tsize=511( [^\"]*)?\""
}
check "log line for a good RRQ: client, op, file, mode, bytes, seconds, options, result=ok" \
    t_log_ok

t_log_netascii() {
	"$PYTHON" "$TFTPRAW" get 127.0.0.1 "$PORT" text.txt "$T/o" netascii \
	    >/dev/null &&
	    wait_log ": transfer client=127\.0\.0\.1:[0-9]+ op=rrq file=\"text\.txt\" mode=netascii bytes=[0-9]+ .*result=ok\$"
}
check "log line names mode=netascii" t_log_netascii

t_log_missing() {
	"$PYTHON" "$TFTPRAW" get 127.0.0.1 "$PORT" nope.bin "$T/o" >/dev/null
	wait_log ": transfer client=127\.0\.0\.1:[0-9]+ op=rrq file=\"nope\.bin\" .*bytes=0 .*result=error code=1 msg=\"File not found\"\$"
}
check "log line for a missing file: result=error code=1 msg=\"File not found\"" \
    t_log_missing

# Raw requests: a refused WRQ, a client abort, a timeout and a file name
# with a newline (it must not start a forged line).
"$PYTHON" - "$LIB_DIR" "$PORT" >"$T/raw.out" 2>&1 <<'EOF' &
import sys, time
sys.path.insert(0, sys.argv[1])
import tftpraw as t
port = int(sys.argv[2])
with t.Client("127.0.0.1", port) as c:
    c.send_request(t.wrq("w.bin"))
    print("wrq", c.recv())
with t.Client("127.0.0.1", port) as c:
    c.send_request(t.rrq("evil\nresult=ok forged=1"))
    print("evil", c.recv())
with t.Client("127.0.0.1", port) as c:
    c.send_request(t.rrq("m1"))
    print("abort", c.recv())
    c.send(t.error(0, "client stops"))
with t.Client("127.0.0.1", port) as c:
    c.send_request(t.rrq("s513", options=[("timeout", "1")]))
    print("timeout", c.recv())
    # ACK the OACK (a client that never answered would end unverified,
    # result=unanswered), then never DATA 1: the server gives up after
    # its retries
    c.send(t.ack(0))
    print("timeout", c.recv_all(8))
EOF
RAWPID=$!

check "log line for a refused WRQ: op=wrq result=error code=2" \
    wait_log ": transfer client=127\.0\.0\.1:[0-9]+ op=wrq file=\"w\.bin\" .*result=error code=2 msg=\"Uploads are disabled\"\$"
check "log line for a client ERROR: result=aborted code=0 msg=\"client stops\"" \
    wait_log ": transfer client=127\.0\.0\.1:[0-9]+ op=rrq file=\"m1\" .*result=aborted code=0 msg=\"client stops\"\$"
t_no_forged() {
	wait_log 'file="evil[^"]*result=ok forged=1"' &&
	    assert_no_grep '^result=ok forged' "$LOGF" "daemon log"
}
check "a file name with a newline is escaped on one log line" t_no_forged
wait "$RAWPID"
check "log line for a timeout: result=timeout" \
    wait_log ": transfer client=127\.0\.0\.1:[0-9]+ op=rrq file=\"s513\" .*result=timeout"

t_stop() {
	daemon_alive && daemon_stop
}
check "the daemon stops cleanly on SIGTERM (exit status 0)" t_stop

# --- -T, blksize2 and a host name, in real transfers -------------------------

P2=$(free_port 4) || hard_error "no free port"
daemon_start "$R" -T 200000 -a "localhost:$P2"

# retransmit_gaps FILE: RRQ with tsize, ACK 0 for the OACK (the timer
# resends only for a client that has answered), never ACK 1; print the
# seconds from the first DATA 1 to its next two copies.
retransmit_gaps() {
	"$PYTHON" - "$LIB_DIR" "$PORT" "$1" <<-'EOF'
	import sys, time
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	with t.Client("127.0.0.1", int(sys.argv[2])) as c:
	    c.send_request(t.rrq(sys.argv[3], options=[("tsize", "0")]))
	    p = c.recv(3)
	    if p is None or p.op != t.OACK:
	        print("no OACK: %r" % (p,))
	        sys.exit(1)
	    c.send(t.ack(0))
	    times = []
	    deadline = time.monotonic() + 5
	    while len(times) < 3 and time.monotonic() < deadline:
	        p = c.recv(deadline - time.monotonic())
	        if p is not None and p.op == t.DATA and p.block == 1:
	            times.append(time.monotonic())
	    c.send(t.error(0, "done"))
	    print(" ".join("%.3f" % (b - a) for a, b in zip(times, times[1:])))
	EOF
}
t_retransmit_real() {
	local gaps g1 g2
	gaps=$(retransmit_gaps s513) || return 1
	read -r g1 g2 <<<"$gaps"
	if [ -z "$g2" ]; then
		echo "#   fewer than 3 copies of DATA 1 in 5 s: '$gaps'"
		return 1
	fi
	# 0.2 s, then doubled; never tftp-hpa's default 1 s
	awk -v a="$g1" -v b="$g2" 'BEGIN { exit !(a >= 0.15 && a < 0.6 &&
	    b >= 0.3 && b < 1.0) }' || {
		echo "#   DATA 1 again after $g1 s then $g2 s; want ~0.2 and ~0.4"
		return 1
	}
}
check "-T 200000: DATA 1 is sent again after ~0.2 s, then ~0.4 s" \
    t_retransmit_real

t_blksize2_real() {
	"$PYTHON" - "$LIB_DIR" "$PORT" "$R" <<-'EOF'
	import sys
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	port, root = int(sys.argv[2]), sys.argv[3]
	want = open(root + "/m1", "rb").read()
	ok = True
	for opts, size in (([("blksize2", "1000")], 512),
	                   ([("BLKSIZE2", "1468")], 1024),
	                   ([("blksize2", "65464")], 32768),
	                   ([("blksize", "1400"), ("blksize2", "3000")], 1024)):
	    with t.Client("127.0.0.1", port) as c:
	        got, oack = c.get("m1", options=opts)
	        names = [n.lower() for n, _ in opts]
	        vals = [oack.opt(n) for n in names] if oack else None
	        if got != want or vals != [str(size)] * len(names) or 	                len(oack.options) != len(names):
	            print("#   %r: OACK %r, %d bytes" % (opts, oack, len(got)))
	            ok = False
	    # the DATA packets themselves have that size
	    with t.Client("127.0.0.1", port) as c:
	        c.send_request(t.rrq("m1", options=opts))
	        c.recv()
	        c.send(t.ack(0))
	        p = c.recv()
	        if p is None or p.op != t.DATA or len(p.payload) != size:
	            print("#   %r: first DATA %r" % (opts, p))
	            ok = False
	        c.send(t.error(0, "enough"))
	sys.exit(0 if ok else 1)
	EOF
}
check "blksize2: the power of two in the OACK and in the DATA, whole file" \
    t_blksize2_real

need_tftpctl
RUNDIR=$(daemon_rundir)
INSTANCE="127.0.0.1-$PORT"
t_blksize2_stats() {
	stats b2 &&
	    json_check "$T/b2.json" "d['totals']['options']['blksize2'] >= 8" \
		"transfers with blksize2" &&
	    ctl -i "$INSTANCE" stats >"$T/b2.txt" 2>&1 &&
	    assert_grep 'options\.blksize2' "$T/b2.txt" "tftpctl stats"
}
check "tftpctl stats counts the transfers that negotiated blksize2" \
    t_blksize2_stats

t_listen_name_real() {
	"$PYTHON" "$TFTPRAW" get 127.0.0.1 "$P2" s513 "$T/o2" >/dev/null &&
	    assert_same_file "$R/s513" "$T/o2"
}
check "-a localhost:PORT: the daemon serves on the name's address" \
    t_listen_name_real
# Every tftpctl option has a long form, and they mean the same.
t_ctl_long() {
	run_exit 0 "$T/h" "$TFTPCTL" -h &&
	    run_exit 0 "$T/help" "$TFTPCTL" --help &&
	    assert_same_file "$T/h" "$T/help" &&
	    assert_grep '^usage: tftpctl ' "$T/help" &&
	    assert_grep 'runtime-dir DIR' "$T/help" &&
	    run_exit 0 "$T/v" "$TFTPCTL" -V &&
	    run_exit 0 "$T/version" "$TFTPCTL" --version &&
	    assert_same_file "$T/v" "$T/version" &&
	    assert_grep "^tftpctl ${version:-.}" "$T/version" &&
	    run_exit 0 "$T/w1" "$TFTPCTL" -d "$RUNDIR" -i "$INSTANCE" \
		workers --json &&
	    json_ok "$T/w1" &&
	    run_exit 0 "$T/w2" "$TFTPCTL" --runtime-dir "$RUNDIR" \
		--instance "$INSTANCE" workers --json &&
	    json_ok "$T/w2" &&
	    run_exit 0 "$T/w3" "$TFTPCTL" --dir="$RUNDIR" \
		--instance="$INSTANCE" workers --json &&
	    json_ok "$T/w3" &&
	    run_exit 1 "$T/bad" "$TFTPCTL" --instance "$INSTANCE.none" \
		--runtime-dir "$RUNDIR" workers &&
	    assert_grep "no instance $INSTANCE.none" "$T/bad" &&
	    run_exit 1 "$T/bad" "$TFTPCTL" --no-such-option workers &&
	    assert_grep '^usage: tftpctl ' "$T/bad"
}
check "tftpctl: --help, --version, --runtime-dir/--dir, --instance" t_ctl_long

check "the -T daemon stops cleanly" t_stop

lib_finish
