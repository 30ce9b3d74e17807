#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# A file that changes size under a download sent from a mapping of it.
# A raw client takes two windows of a 4 MiB file (blksize 8192,
# windowsize 4: GSO windows from the page cache), holds its ACK, checks
# the worker has the file mapped (where /proc lets us look), changes the
# file, then goes on.  What the server does, in both transports:
#   - truncated (to 0, or to mid-file): the next window faults in the
#     kernel (EFAULT), the worker drops the mapping and reads the window,
#     finds the file short and ends the transfer with ERROR 0 "File
#     changed".  Everything received is the original's prefix, and not
#     past the new end (but for what came before the truncation).
#   - grown: the transfer sends the size it announced, all of it.
# The worker lives through it all (same pids, no restart), and the next
# download of the file (written again) is whole and right.
# Two concurrent downloads of the file share the worker's one mapping of
# it (it is its shared descriptor's): /proc shows it mapped once.  The
# file truncated under both, both end with "File changed".  And a file
# replaced by rename while a download holds the mapping of the old one:
# that download ends with the old bytes, a request made meanwhile gets
# the new ones.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

R="$T/root"
make_root "$R"
head -c $((4 * 1048576)) /dev/urandom >"$T/orig" || hard_error "orig"
BS=8192

# held_get PID ACTION OUT: the download described above of "f"; ACTION is
# trunc:N or grow; PID the worker whose maps are looked at.  Prints
# "mapped yes|no|unknown" then "ERROR code msg" or "DONE"; OUT gets the
# bytes received.
held_get() {
	"$PYTHON" - "$LIB_DIR" "$PORT" "$R/f" "$@" <<-'PYEOF'
	import os, sys
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	port, path, pid, action, out = int(sys.argv[2]), sys.argv[3], \
	    sys.argv[4], sys.argv[5], sys.argv[6]
	bs, ws, hold = 8192, 4, 8
	def mapped():
	    try:
	        maps = open("/proc/%s/maps" % pid).read()
	    except OSError:
	        return "unknown"
	    return "yes" if path in maps else "no"
	data = bytearray()
	res = None
	with t.Client("127.0.0.1", port, timeout=5.0) as c:
	    c.send_request(t.rrq("f", options=[("blksize", str(bs)),
	        ("windowsize", str(ws))]))
	    p = c.recv()
	    if p is None or p.op != t.OACK:
	        print("no OACK: %r" % p)
	        sys.exit(1)
	    c.send(t.ack(0))
	    expect = 1
	    while res is None:
	        p = c.recv()
	        if p is None:
	            res = "silence waiting for DATA %d" % expect
	        elif p.op == t.ERROR:
	            res = "ERROR %d %s" % (p.code, p.msg)
	        elif p.op == t.DATA and p.block == expect:
	            data += p.payload
	            if expect == hold:
	                print("mapped " + mapped())
	                if action == "grow":
	                    with open(path, "ab") as f:
	                        f.write(b"\xff" * (1 << 20))
	                else:
	                    os.truncate(path, int(action.split(":")[1]))
	            last = len(p.payload) < bs
	            if last or expect % ws == 0:
	                c.send(t.ack(expect))
	            if last:
	                res = "DONE"
	            expect += 1
	print(res)
	open(out, "wb").write(data)
	PYEOF
}

# shared_get PID ACTION OUT1 OUT2: two downloads of "f" held together at
# block 8.  ACTION trunc:N truncates the file then, both go on (OUT1,
# OUT2 the bytes each got); ACTION rename:NEW renames NEW over the file,
# a third client downloads the new one whole (OUT2), then the first goes
# on (OUT1).  Prints "maps N" (mappings of the file in PID, -1: cannot
# look), with rename also "old-mapped yes|no|unknown" and "new ...",
# then "1: result" and "2: result".
shared_get() {
	"$PYTHON" - "$LIB_DIR" "$PORT" "$R/f" "$@" <<-'PYEOF'
	import os, sys, time
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	port, path, pid, action = int(sys.argv[2]), sys.argv[3], \
	    sys.argv[4], sys.argv[5]
	outs = sys.argv[6:8]
	bs, ws, hold = 8192, 4, 8
	def maps():
	    try:
	        return open("/proc/%s/maps" % pid).read().splitlines()
	    except OSError:
	        return None
	class Dl:
	    def __init__(self):
	        self.c = t.Client("127.0.0.1", port, timeout=5.0)
	        self.c.send_request(t.rrq("f", options=[("blksize", str(bs)),
	            ("windowsize", str(ws))]))
	        p = self.c.recv()
	        if p is None or p.op != t.OACK:
	            print("no OACK: %r" % p)
	            sys.exit(1)
	        self.c.send(t.ack(0))
	        self.expect, self.data, self.res = 1, bytearray(), None
	        self.quiet = time.monotonic()
	    def step(self, hold=None):
	        # One packet (or 0.1 s of nothing); stops after block hold.
	        p = self.c.recv(0.1)
	        if p is None:
	            if time.monotonic() - self.quiet > 10:
	                self.res = "silence waiting for DATA %d" % self.expect
	            return
	        self.quiet = time.monotonic()
	        if p.op == t.ERROR:
	            self.res = "ERROR %d %s" % (p.code, p.msg)
	        elif p.op == t.DATA and p.block == self.expect:
	            self.data += p.payload
	            last = len(p.payload) < bs
	            if self.expect != hold and (last or self.expect % ws == 0):
	                self.c.send(t.ack(self.expect))
	            if last:
	                self.res = "DONE"
	            self.expect += 1
	        elif p.op == t.DATA and p.block < self.expect and \
	            p.block % ws == 0 and self.expect - 1 != hold:
	            self.c.send(t.ack(self.expect - 1))   # a window again
	def run(dls, hold=None):
	    while any(d.res is None and (hold is None or d.expect <= hold)
	        for d in dls):
	        for d in dls:
	            if d.res is None and (hold is None or d.expect <= hold):
	                d.step(hold)
	a, b = Dl(), Dl() if action.startswith("trunc:") else None
	held = [a] + ([b] if b else [])
	run(held, hold)
	m = maps()
	print("maps %d" % (-1 if m is None else
	    sum(1 for l in m if l.endswith(" " + path))))
	if action.startswith("trunc:"):
	    os.truncate(path, int(action.split(":")[1]))
	else:
	    os.rename(action.split(":", 1)[1], path)
	    try:
	        got, _ = t.Client("127.0.0.1", port).get("f", options=[
	            ("blksize", str(bs)), ("windowsize", str(ws))])
	        res2 = "DONE"
	    except Exception as e:
	        got, res2 = b"", str(e)
	    m = maps()
	    for what, suffix in (("old", " (deleted)"), ("new", " " + path)):
	        print("%s-mapped %s" % (what, "unknown" if m is None else
	            "yes" if any(l.endswith(suffix) and path in l for l in m)
	            else "no"))
	for d in held:
	    d.c.send(t.ack(hold))
	run(held)
	print("1: %s" % a.res)
	open(outs[0], "wb").write(a.data)
	if b:
	    print("2: %s" % b.res)
	    open(outs[1], "wb").write(b.data)
	else:
	    print("2: %s" % res2)
	    open(outs[1], "wb").write(got)
	PYEOF
}

# received_ok OUT N: OUT is a prefix of the original, no longer than N.
received_ok() {
	cmp -s -n "$(stat -c %s "$1")" "$1" "$T/orig" &&
	    [ "$(stat -c %s "$1")" -le "$2" ]
}

run_mode() {		# label [config lines...]
	local label=$1 pids w act n
	shift
	write_conf "$T/conf" "$@"
	master_start "$R" --workers 1
	pids=$(worker_pids "$MASTER")
	w=${pids%%$'\n'*}
	for act in trunc:0 trunc:$((20 * BS + 1000)) grow; do
		cp "$T/orig" "$R/f" && chmod 0644 "$R/f"
		held_get "$w" "$act" "$T/got" >"$T/res" 2>&1
		sed 's/^/#   /' "$T/res"
		check "$label $act: the worker had the file mapped" \
		    eval "! grep -q '^mapped no' '$T/res'"
		case $act in
		trunc:*)
			# Nothing past the new end, but for the 8 blocks
			# that came before the truncation.
			n=${act#trunc:}
			[ "$n" -ge $((8 * BS)) ] || n=$((8 * BS))
			check "$label $act: ERROR 0 File changed" \
			    grep -q '^ERROR 0 File changed$' "$T/res"
			check "$label $act: received a prefix of the original, <= $n bytes" \
			    received_ok "$T/got" "$n"
			;;
		grow)
			check "$label $act: the whole file as announced" \
			    grep -q '^DONE$' "$T/res"
			check "$label $act: the original's bytes" \
			    assert_same_file "$T/orig" "$T/got"
			;;
		esac
		cp "$T/orig" "$R/f"
		check "$label $act: the next download is right" \
		    "$PYTHON" "$TFTPRAW" get 127.0.0.1 "$PORT" f "$T/again" \
		    blksize=$BS windowsize=4
		check "$label $act: ... and the same bytes" \
		    assert_same_file "$T/orig" "$T/again"
	done
	# Two downloads, one mapping; truncated under both.
	cp "$T/orig" "$R/f" && chmod 0644 "$R/f"
	shared_get "$w" trunc:0 "$T/got1" "$T/got2" >"$T/res" 2>&1
	sed 's/^/#   /' "$T/res"
	check "$label shared: two downloads, one mapping of the file" \
	    eval "grep -q '^maps \(1\|-1\)$' '$T/res'"
	check "$label shared trunc:0: both end with ERROR 0 File changed" \
	    eval "[ \$(grep -c '^[12]: ERROR 0 File changed$' '$T/res') = 2 ]"
	check "$label shared trunc:0: both got a prefix of the original" \
	    eval "received_ok '$T/got1' $((8 * BS)) &&
	    received_ok '$T/got2' $((8 * BS))"
	cp "$T/orig" "$R/f"
	check "$label shared trunc:0: the next download is right" \
	    "$PYTHON" "$TFTPRAW" get 127.0.0.1 "$PORT" f "$T/again" \
	    blksize=$BS windowsize=4
	check "$label shared trunc:0: ... and the same bytes" \
	    assert_same_file "$T/orig" "$T/again"
	# Replaced by rename under a download sending from its mapping.
	cp "$T/orig" "$R/f" && chmod 0644 "$R/f"
	head -c $((3 * 1048576 + 5)) /dev/urandom >"$T/new" &&
	    cp "$T/new" "$R/.new" && chmod 0644 "$R/.new"
	shared_get "$w" "rename:$R/.new" "$T/got1" "$T/got2" >"$T/res" 2>&1
	sed 's/^/#   /' "$T/res"
	check "$label rename: the old file stays mapped for its download" \
	    eval "! grep -q '^old-mapped no' '$T/res'"
	check "$label rename: the running download ends whole" \
	    grep -q '^1: DONE$' "$T/res"
	check "$label rename: ... with the old bytes" \
	    assert_same_file "$T/orig" "$T/got1"
	check "$label rename: a request made meanwhile gets the new file" \
	    eval "grep -q '^2: DONE$' '$T/res' &&
	    assert_same_file '$T/new' '$T/got2'"
	check "$label: the same worker processes" \
	    assert_eq "$pids" "$(worker_pids "$MASTER")"
	check "$label: no worker restarted" eval \
	    "ctl -i '$INSTANCE' workers --json >'$T/wk.json' &&
	    json_check '$T/wk.json' 'all(x[\"restarts\"] == 0 for x in d)'"
	check "$label: the daemon stops cleanly" daemon_stop
}

run_mode "default"
run_mode "single_port" "single_port = yes"

lib_finish
