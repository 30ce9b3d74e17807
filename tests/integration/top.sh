#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# tftpctl top in a real terminal: a detached tmux session of 80x24 (its
# own server socket in the test's directory).  Two slow downloads run, one
# of a name with the 8-bit CSI (U+009B, bytes C2 9B: the request-path
# rules refuse bytes below 0x20, so this is the control sequence a client
# can get into the table).  The view shows them, escaped (and ESC, OSC,
# BEL from a doctored copy of the segment); the progress moves between two
# captures, below 64 KiB; the key line is the 24th (the layout fits); a
# resize redraws to the new size; space takes a frame at once (with -d
# 3600); q and Ctrl-C end it with the terminal back in canonical mode with
# echo; not on a terminal, -n 2 prints two blocks with no escape sequence;
# bad options are refused.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl
command -v tmux >/dev/null ||
    skip_all "tmux is required: apt-get install tmux"

R="$T/root"
make_root "$R"
ESCNAME=$(printf 'top\302\233x')
# The table holds the name as the client sent it; tftpctl escapes it once
# for the terminal.  As an ERE.
ESCVIS='top\\302\\233x'
head -c 1048576 /dev/urandom >"$R/$ESCNAME"
chmod 0644 "$R/$ESCNAME"
DL="$T/dl"
TO=30			# seconds for one small transfer (atftp_get)
mkdir -p "$DL"
write_conf "$T/conf"

TSOCK="$T/tmux.sock"
# tmux runs a session's command with the shell of $SHELL, else the
# account's login shell: a build user's is often nologin (buildd, the CI's
# unprivileged pass), which would end every session at once.  No user
# configuration either.
tm() {
	SHELL=/bin/sh timeout 10 tmux -f /dev/null -S "$TSOCK" "$@"
}
trap 'tm kill-server >/dev/null 2>&1; lib_cleanup' EXIT

WORKERS=2 master_start "$R" --workers 2

# Two downloads held (an ACK every 0.4 s: 64 KiB would take 51 s) for as
# long as the test looks at them.
HOLD="$DL/hold"
: >"$HOLD"
slow_get "$PORT" m1 "$DL/m1" 0.4 "$HOLD" >"$T/slow1.log" 2>&1 &
SLOW1=$!
slow_get "$PORT" "$ESCNAME" "$DL/esc" 0.4 "$HOLD" >"$T/slow2.log" 2>&1 &
SLOW2=$!
wait_for 30 "the slow downloads' first DATA" \
    test -s "$DL/m1.port" -a -s "$DL/esc.port" ||
    hard_error "slow_get: $(cat "$T/slow1.log" "$T/slow2.log")"
CPORT=$(cat "$DL/m1.port")

# top_pane NAME [top args...]: tftpctl top in a new detached session of
# 80x24; when it exits the shell prints its status and the terminal's
# icanon/echo flags, and waits to be captured.
top_pane() {
	local name=$1
	shift
	# One string: tmux runs it with sh -c.
	tm new-session -d -x 80 -y 24 -s "$name" \
	    "'$TFTPCTL' -d '$RUNDIR' -i '$INSTANCE' top $*; \
	    echo top-exit=\$?; \
	    stty -a | tr ' ;' '\n\n' | grep -xE -e '-?(icanon|echo)' | \
	    tr '\n' ' '; echo; exec sleep 120"
}

cap() {			# session file
	tm capture-pane -p -t "$1" >"$2" 2>&1
}

shows() {		# session file ERE
	cap "$1" "$2" && grep -Eq -- "$3" "$2"
}

top_pane view

t_shows() {
	if ! wait_for 20 "tftpctl top showing m1" shows view "$T/cap1" \
	    " 127\.0\.0\.1:$CPORT +get .*\"m1\"\$"; then
		sed 's/^/#   | /' "$T/cap1"
		return 1
	fi
}
check "top in 80x24 shows the slow download (client, get, file)" t_shows

t_fits() {
	local n
	n=$(grep -c '' "$T/cap1")
	assert_eq 24 "$n" "captured rows" &&
	    assert_grep '^tftpctl top - ' "$T/cap1" "the first row" &&
	    assert_eq "q quit" "$(sed -n '24s/  .*//p' "$T/cap1")" \
	    "the 24th row" || {
		sed 's/^/#   | /' "$T/cap1"
		return 1
	}
}
check "top: the view fits 80x24 (title first, the keys on row 24)" t_fits

t_escaped() {
	if ! wait_for 10 "the escaped name" shows view "$T/cap2" \
	    "\"$ESCVIS"; then
		sed 's/^/#   | /' "$T/cap2"
		return 1
	fi
}
check "top: a file name with the 8-bit CSI shows escaped once (\\302\\233x)" \
    t_escaped

# Three downloads of s511 from 127.0.0.1 end before the slow ones: the
# busiest-files panel names s511 with 3 requests (3 x 511 bytes: 1.5K),
# the busiest-clients panel 127.0.0.1 with at least those.
t_topn() {
	local i
	for i in 1 2 3; do
		atftp_get s511 "$DL/s511.$i" >/dev/null 2>&1 || {
			echo "#   atftp get s511 failed"
			return 1
		}
	done
	if ! wait_for 10 "s511 in the top files" shows view "$T/cap3" \
	    '^ +3 +1\.5K +0  "s511"$'; then
		sed 's/^/#   | /' "$T/cap3"
		return 1
	fi
	assert_grep 'TOP CLIENTS' "$T/cap3" "the clients panel" &&
	    assert_grep 'TOP FILES' "$T/cap3" "the files panel" &&
	    grep -Eq '^ +[3-9][0-9]* +[0-9.]+[KM]? +[0-9]+  127\.0\.0\.1$' \
	    "$T/cap3" || {
		echo "#   no row for 127.0.0.1 with 3 or more requests"
		sed 's/^/#   | /' "$T/cap3"
		return 1
	}
}
check "top: the busiest client and file panels name 127.0.0.1 and s511" \
    t_topn

# A segment that does not escape for us: a copy of the instance's, its m1
# entry's name replaced with ESC, OSC and CSI sequences (an erase, a title,
# a colour), as a broken or hostile writer could leave it.  The copy's
# master is the live one, so tftpctl takes it for a running instance.
FAKE="$T/fake"
mkdir -m 0755 "$FAKE"
t_fake_segment() {
	"$PYTHON" - "$RUNDIR/$INSTANCE.shm" "$FAKE/fake.shm" <<-'PYEOF'
	import sys, time
	src, dst = sys.argv[1], sys.argv[2]
	evil = b"m1\x1b[2J\x1b]2;pwned\x07\x9b31m"
	# struct tftp_shm_session: seq, dir, ... file at offset 56; 64-aligned.
	for attempt in range(50):
	    d = bytearray(open(src, "rb").read())
	    for o in range(0, len(d) - 256, 64):
	        seq = int.from_bytes(d[o:o + 4], "little")
	        kind = int.from_bytes(d[o + 4:o + 8], "little")
	        if d[o + 56:o + 59] == b"m1\0" and seq % 2 == 0 and \
	                kind == 1:
	            d[o + 56:o + 184] = evil + bytes(128 - len(evil))
	            open(dst, "wb").write(d)
	            sys.exit(0)
	    time.sleep(0.1)
	print("#   no m1 entry in the segment")
	sys.exit(1)
	PYEOF
}
if t_fake_segment; then
	chmod 0644 "$FAKE/fake.shm"
	# Wide enough for the whole escaped name.
	tm new-session -d -x 132 -y 24 -s fake \
	    "'$TFTPCTL' -d '$FAKE' -i fake top; exec sleep 120"
	t_fake() {
		local want='"m1\\033\[2J\\033\]2;pwned\\007\\23331m"'
		wait_for 20 "the fake segment's m1, escaped" shows fake \
		    "$T/cap.fake" "$want" || {
			sed 's/^/#   | /' "$T/cap.fake"
			return 1
		}
	}
	check "top: ESC, OSC, BEL and CSI bytes in a name show escaped" t_fake
	tm kill-session -t fake
else
	fail "top: a copy of the segment with a hostile name"
fi

# The PROGRESS column of the m1 row.
progress() {
	sed -nE "s/^ *[0-9]+ +127\.0\.0\.1:$CPORT +get +([^ ]+) .*/\1/p" "$1"
}
t_moves() {
	local p1 p2
	p1=$(progress "$T/cap1")
	[ -n "$p1" ] || {
		echo "#   no progress in the first capture"
		return 1
	}
	# Below 64 KiB: not in steps of 64 KiB.
	moved() {
		cap view "$T/cap3" && p2=$(progress "$T/cap3") &&
		    [ -n "$p2" ] && [ "$p2" != "$p1" ] &&
		    [[ $p2 =~ ^([0-9]+|[0-9]\.[0-9]K|[1-5][0-9]K|6[0-3]K)/ ]]
	}
	if ! wait_for 15 "the progress moving from $p1" moved; then
		sed 's/^/#   | /' "$T/cap3"
		return 1
	fi
	echo "#   progress $p1 -> $p2"
}
check "top: the download's progress moves, below 64 KiB" t_moves

t_resize() {
	tm resize-window -t view -x 100 -y 30 || return 1
	resized() {
		shows view "$T/cap4" '^q quit' &&
		    [ "$(grep -n '^q quit' "$T/cap4" | cut -d: -f1)" = 30 ]
	}
	wait_for 10 "the key line on row 30 after the resize" resized || {
		sed 's/^/#   | /' "$T/cap4"
		return 1
	}
}
check "top: redrawn to the new size on SIGWINCH (100x30)" t_resize

# quits KEY: send it, the pane's tftpctl exits 0 and the shell after it
# finds the terminal canonical with echo again.
quits() {
	local name=$1 key=$2
	tm send-keys -t "$name" "$key" || return 1
	# The flags are printed last: wait for them.
	if ! wait_for 10 "tftpctl top exiting after $key" shows "$name" \
	    "$T/cap.$name" '^-?icanon'; then
		sed 's/^/#   | /' "$T/cap.$name"
		return 1
	fi
	assert_grep '^top-exit=0$' "$T/cap.$name" "the exit status" &&
	    assert_grep '^icanon echo ?$' "$T/cap.$name" "the terminal's flags"
}
check "top: q ends it, status 0, the terminal restored" quits view q

# An hour between frames: only space brings a new one (the title line
# has the uptime and the time of day).
top_pane intr -d 3600
t_space() {
	local l1
	wait_for 20 "the second top" shows intr "$T/cap5" '^tftpctl top - ' ||
	    return 1
	l1=$(head -n 1 "$T/cap5")
	new_frame() {
		tm send-keys -t intr Space && sleep 0.2 && cap intr "$T/cap6" &&
		    [ "$(head -n 1 "$T/cap6")" != "$l1" ]
	}
	wait_for 10 "a new frame after space" new_frame || {
		echo "#   first: $l1"
		sed 's/^/#   | /' "$T/cap6"
		return 1
	}
}
check "top -d 3600: space takes a new frame" t_space
t_intr() {
	quits intr C-c
}
check "top: Ctrl-C ends it, status 0, the terminal restored" t_intr

# --- not a terminal -------------------------------------------------------

t_plain() {
	local n
	timeout 20 "$TFTPCTL" -d "$RUNDIR" -i "$INSTANCE" top -d 0.2 -n 2 \
	    2>"$T/plain.err" | cat >"$T/plain.txt"
	assert_eq "0 0" "${PIPESTATUS[*]}" "exit statuses" || {
		sed 's/^/#   | /' "$T/plain.err"
		return 1
	}
	n=$(grep -c '^tftpctl top - ' "$T/plain.txt")
	assert_eq 2 "$n" "blocks" || return 1
	assert_no_grep $'\033' "$T/plain.txt" "plain output (ESC)" &&
	    assert_no_grep $'\302\233' "$T/plain.txt" "plain output (CSI)" &&
	    assert_grep "\"m1\"\$" "$T/plain.txt" "plain output" || {
		sed 's/^/#   | /' "$T/plain.txt"
		return 1
	}
}
check "top -n 2 | cat: two plain blocks, no escape sequence" t_plain

rm -f "$HOLD"
t_done() {
	wait "$SLOW1" && wait "$SLOW2" &&
	    assert_same_file "$R/m1" "$DL/m1" &&
	    assert_same_file "$R/$ESCNAME" "$DL/esc"
}
check "the two downloads complete" t_done

# --- options --------------------------------------------------------------

for bad in "-d 0" "-d 0.05" "-d 3601" "-d x" "-n 0" "-n -1" "extra"; do
	# shellcheck disable=SC2086
	check "top $bad is refused (status 1)" run_exit 1 "$T/bad.out" \
	    "$TFTPCTL" -d "$RUNDIR" -i "$INSTANCE" top $bad
done

check "the master stops cleanly" daemon_stop
lib_finish
