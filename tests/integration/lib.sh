# Helpers for the shell integration tests (bash; sourced, not run).
#
# A test does:
#	. "$(dirname "$0")/lib.sh"
#	lib_init			# temp dir, cleanup trap, $TFTPD checks
#	make_root "$T/root"		# test files
#	daemon_start "$T/root" -c	# foreground daemon on a free port
#	check "what" cmd ...		# prints "ok - what" / "not ok - what"
#	daemon_stop
#	lib_finish			# exit 0, 1 (a failure) or 77 (skips)
#
# Exit codes follow automake: 0 pass, 77 skip, 99 hard error, else fail.

set -u

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TFTPRAW="$LIB_DIR/tftpraw.py"
PYTHON=${PYTHON:-python3}

T=""			# per-test temp dir
FAILS=0
PASSES=0
SKIPS=()
DAEMON_PIDS=()
PORT=""			# port of the last daemon started
DPID=""			# its pid
DLOG=""			# its stderr

hard_error() {
	echo "ERROR: $*" >&2
	exit 99
}

lib_cleanup() {
	local pid
	for pid in "${DAEMON_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${DAEMON_PIDS[@]}"; do
		wait_pid_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null
	done
	if [ -n "$T" ] && [ -d "$T" ]; then
		rm -rf "$T"
	fi
}

lib_init() {
	if [ -z "${TFTPD:-}" ] && [ -n "${TOP_BUILDDIR:-}" ]; then
		TFTPD="$TOP_BUILDDIR/src/snowowl-tftpd"
	fi
	[ -n "${TFTPD:-}" ] || hard_error "TFTPD is not set (run through make check)"
	[ -x "$TFTPD" ] || hard_error "daemon not built: $TFTPD"
	command -v "$PYTHON" >/dev/null || hard_error "python3 is required"
	command -v timeout >/dev/null || hard_error "timeout (coreutils) is required"
	T=$(mktemp -d "${TMPDIR:-/tmp}/snowowl-it.XXXXXX") ||
	    hard_error "mktemp failed"
	# The daemon drops to tftp/nobody when started as root: it must be
	# able to read its config and, for uploads, write into the root.
	chmod 0755 "$T"
	trap lib_cleanup EXIT
	trap 'exit 99' INT TERM HUP
}

# --- results ---------------------------------------------------------------

pass() {
	PASSES=$((PASSES + 1))
	echo "ok - $*"
}

fail() {
	FAILS=$((FAILS + 1))
	echo "not ok - $*"
}

skip() {
	SKIPS+=("$*")
	echo "ok - # SKIP $*"
}

# check "what" cmd args...: run the command, pass if it exits 0.
check() {
	local what=$1
	shift
	if "$@"; then
		pass "$what"
	else
		fail "$what"
	fi
}

# Assertions: print why on failure, return non-zero.
assert_same_file() {	# expected actual
	if [ ! -e "$2" ]; then
		echo "#   missing: $2"
		return 1
	fi
	if ! cmp -s "$1" "$2"; then
		echo "#   differ: $1 ($(stat -c %s "$1") bytes)" \
		    "vs $2 ($(stat -c %s "$2") bytes): $(cmp "$1" "$2" 2>&1 | head -1)"
		return 1
	fi
}

assert_eq() {		# expected actual [label]
	if [ "$1" != "$2" ]; then
		echo "#   ${3:-value}: expected '$1', got '$2'"
		return 1
	fi
}

assert_grep() {		# ERE file [label]
	if ! grep -Eq -- "$1" "$2"; then
		echo "#   ${3:-output} does not match /$1/:"
		sed 's/^/#     /' "$2" | tail -n 20
		return 1
	fi
}

assert_no_grep() {	# ERE file [label]
	if grep -Eq -- "$1" "$2"; then
		echo "#   ${3:-output} unexpectedly matches /$1/:"
		grep -E -- "$1" "$2" | sed 's/^/#     /' | head -n 5
		return 1
	fi
}

lib_finish() {
	echo "# $PASSES passed, $FAILS failed, ${#SKIPS[@]} skipped"
	if [ "$FAILS" -ne 0 ]; then
		exit 1
	fi
	if [ "${#SKIPS[@]}" -ne 0 ]; then
		echo "# SKIPPED (the rest passed):"
		printf '#   %s\n' "${SKIPS[@]}"
		exit 77
	fi
	exit 0
}

# --- test data -------------------------------------------------------------

# make_root DIR: the files every test uses.  Sizes around one block,
# 1 MiB, 33 MiB (more than 65535 blocks of 512: block numbers wrap) and a
# text file for netascii with LF, CR, CRLF, CR NUL and line ends split
# across 512-byte boundaries.
make_root() {
	local r=$1
	mkdir -p "$r" || hard_error "mkdir $r"
	: >"$r/z0"
	head -c 511 /dev/urandom >"$r/s511"
	head -c 512 /dev/urandom >"$r/s512"
	head -c 513 /dev/urandom >"$r/s513"
	head -c 1048576 /dev/urandom >"$r/m1"
	if [ -n "${WITH_BIG:-}" ]; then
		head -c $((33 * 1048576)) /dev/urandom >"$r/big"
	fi
	"$PYTHON" - "$r/text.txt" <<-'EOF' || hard_error "text.txt"
	import sys
	out = bytearray()
	# line ends exactly on, before and after the 512-byte boundaries of the
	# raw and the encoded stream
	for n in range(1, 700, 37):
	    out += b"x" * (n % 509) + b"\n"
	    out += b"y" * ((n * 7) % 511) + b"\r\n"
	    out += b"cr only\r" + b"z" * (n % 13) + b"\r\0nul\n"
	for pad in (509, 510, 511, 512, 513):
	    out += b"p" * pad + b"\r"
	    out += b"q" * pad + b"\n"
	out += b"tail\r\n\n\r\r\n"
	out += bytes(range(256))
	out += b"ends with CR\r"
	open(sys.argv[1], "wb").write(out)
	EOF
	chmod 0755 "$r"
	chmod 0644 "$r"/*
}

# The netascii encoding of a file, computed here (not by the daemon).
netascii_of() {		# in out
	"$PYTHON" "$TFTPRAW" netascii "$1" "$2"
}

free_port() {		# [4|6]
	"$PYTHON" "$TFTPRAW" freeport "${1:-4}"
}

have_ipv6() {
	"$PYTHON" -c 'import socket; s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s.bind(("::1", 0))' 2>/dev/null
}

# --- the daemon ------------------------------------------------------------

# write_conf FILE [extra ini lines...]: timeout 1 s, 3 retries, so every
# give-up is bounded to a few seconds.
write_conf() {
	local f=$1
	shift
	{
		echo "[transfer]"
		echo "timeout = 1"
		echo "retries = 3"
		for l in "$@"; do
			echo "$l"
		done
	} >"$f"
	chmod 0644 "$f"
}

wait_pid_gone() {	# pid seconds
	local i n=$(($2 * 10))
	for ((i = 0; i < n; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# daemon_start ROOT [daemon args...]: start in the foreground on a free
# 127.0.0.1 port (also [::1] on the same port when DAEMON_V6=1) with
# $T/conf (written by write_conf if missing); sets PORT, DPID, DLOG.
# Waits (bounded) until it answers.  Prefix with a command (setpriv...)
# through DAEMON_WRAP.
daemon_start() {
	local root=$1
	shift
	local try addrs
	[ -f "$T/conf" ] || write_conf "$T/conf"
	for try in 1 2 3; do
		PORT=$(free_port 4) || hard_error "no free port"
		addrs=(-a "127.0.0.1:$PORT")
		if [ "${DAEMON_V6:-0}" = 1 ]; then
			addrs+=(-a "[::1]:$PORT")
		fi
		DLOG="$T/daemon.$PORT.log"
		${DAEMON_WRAP:-} "$TFTPD" -L "${addrs[@]}" --config "$T/conf" \
		    "$@" "$root" >"$DLOG" 2>&1 </dev/null &
		DPID=$!
		DAEMON_PIDS+=("$DPID")
		if "$PYTHON" "$TFTPRAW" ping 127.0.0.1 "$PORT" 10; then
			return 0
		fi
		if kill -0 "$DPID" 2>/dev/null; then
			echo "# daemon on port $PORT does not answer; its log:"
			sed 's/^/#   /' "$DLOG" | tail -n 20
			kill -KILL "$DPID" 2>/dev/null
			hard_error "daemon did not answer within 10 s"
		fi
		# It exited: the port may have been taken meanwhile; retry.
		echo "# daemon exited at start (try $try); its log:"
		sed 's/^/#   /' "$DLOG" | tail -n 20
	done
	hard_error "daemon could not be started"
}

# daemon_stop [pid]: SIGTERM, bounded wait; fails (returns 1) if the
# daemon had already died, did not stop or exited non-zero (a sanitizer
# report, for example).
daemon_stop() {
	local pid=${1:-$DPID} st
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null
		echo "#   daemon $pid was not running any more (status $?)"
		return 1
	fi
	kill -TERM "$pid"
	if ! wait_pid_gone "$pid" 5; then
		echo "#   daemon $pid did not stop within 5 s of SIGTERM"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 1
	fi
	wait "$pid"
	st=$?
	if [ "$st" -ne 0 ]; then
		echo "#   daemon $pid exited with status $st"
		return 1
	fi
}

daemon_alive() {	# [pid]
	local pid=${1:-$DPID} state
	state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' \
	    "/proc/$pid/status" 2>/dev/null)
	case $state in
	R | S | D) return 0 ;;
	esac
	echo "#   daemon $pid is not running (state '${state:-gone}')"
	return 1
}

show_log() {		# [file]
	echo "# daemon log (last lines):"
	sed 's/^/#   /' "${1:-$DLOG}" | tail -n "${2:-30}"
}

