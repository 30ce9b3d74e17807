#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# single_port = yes: every transfer is answered from the listen socket
# itself (source port = the server's port) and the worker tells clients
# apart by address and port.  Checked here: tftp-hpa, atftp (windowsize
# 1 to 64), curl and busybox downloads and uploads byte for byte; that
# every answer of a raw client (DATA, OACK, ACK, ERROR, the timer's
# retransmissions, a window restarted by an early ACK) comes from the
# listen port (and, as a control, from another port without the key);
# several transfers from one client port (a tftp-hpa session, a download
# replaced by a new RRQ, PXE's ERROR 8 then RRQ); 16 concurrent atftp
# downloads intact, several clients' windows per sendmmsg, no UDP socket
# per transfer; window-1 clients batched too; a repeated RRQ or WRQ does
# not start a second transfer; strangers' ACK/DATA (also from the port of
# a running client on another address) get ERROR 5 or nothing and disturb
# no one; IPv6; two workers without GSO; recvmmsg/sendmmsg turned off.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

TO=30			# seconds for one client transfer
NCONC=16		# concurrent downloads
SIZES="z0 s511 s512 s513 m1"

need_tftp_hpa
command -v atftp >/dev/null ||
    skip_all "the atftp client is required: apt-get install atftp"

R="$T/root"
make_root "$R"
for i in 1 2 3 4; do
	head -c $((4 * 1048576)) /dev/urandom >"$R/m4_$i"
done
head -c 3000 /dev/urandom >"$R/k3"	# 6 blocks of 512
chmod 0644 "$R"/m4_* "$R/k3"
# Uploads land in the root: the daemon runs as tftp/nobody.
chmod 0777 "$R"
D="$T/dl"
mkdir -p "$D"

# --- helpers ---------------------------------------------------------------

# A raw client that records where every packet came from.  Commands:
#   get same|other HOST PORT FILE OUT [name=value...]
#	download (window as negotiated); every packet must come from
#	HOST:PORT (same) or from another port of HOST (other)
#   put HOST PORT NAME SRC [name=value...]	upload, answers from PORT
#   err HOST PORT FILE	the RRQ gets ERROR 1 from HOST:PORT
#   dup PORT FILE OUT [name=value...]
#	RRQ, first answer, the same RRQ again from the same port before
#	ACKing, then the whole download (window 1); afterwards 2.5 s of
#	silence (a second transfer would retransmit its DATA 1 within 1 s)
#   retx PORT FILE OUT
#	window-1 download that ignores the first DATA 1 and DATA 3: the
#	server's timer sends them again, from PORT
#   winloss PORT FILE OUT
#	windowsize 8: of the first window only blocks 1-2 are taken and
#	ACK 2 sent; the server goes on from block 3, from PORT
#   switch PORT OLD NEW OUT
#	download OLD for 5 blocks, then an RRQ of NEW from the same port:
#	NEW arrives whole and OLD's transfer is silent afterwards
#   pxe PORT FILE OUT
#	as PXE firmware does: RRQ with tsize, ERROR 8 to the OACK, then
#	an RRQ with blksize 1428 from the same port, downloaded whole
#   dupw PORT NAME SRC
#	WRQ, ACK 0, the same WRQ again, then the upload (window 1)
#   stray PORT CLIENTPORT
#	ACK/DATA/ERROR/runt packets from a new port and ACKs/DATA from
#	127.0.0.2:CLIENTPORT (the port of a running download, another
#	address): each gets ERROR 5 from PORT or nothing, never DATA
cat >"$T/sp.py" <<'PYEOF'
import socket
import sys
import time

sys.path.insert(0, sys.argv[1])
import tftpraw as t


class Rec(t.Client):
    """A client that keeps every packet it got, with its source."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.trace = []

    def recv(self, timeout=None):
        p = super().recv(timeout)
        if p is not None:
            self.trace.append(p)
        return p


def show(trace, limit=8):
    lines = ["%s from %s:%d" % (p, p.peer[0], p.peer[1]) for p in trace]
    if len(lines) > 2 * limit:
        lines = lines[:limit] + ["... %d more" % (len(lines) - 2 * limit)] \
            + lines[-limit:]
    for s in lines:
        print("#     " + s)


def opts_of(args):
    return [tuple(a.split("=", 1)) for a in args]


def peers_ok(c, want, host, port):
    bad = [p for p in c.trace if
           (want == "same" and p.peer != (host, port)) or
           (want == "other" and (p.peer[0] != host or p.peer[1] == port))]
    if not c.trace or bad:
        print("#   %d of %d packets not from %s port %s %d:" %
              (len(bad), len(c.trace), host,
               "==" if want == "same" else "!=", port))
        show(bad or c.trace)
        return False
    print("#   %d packets, all from %s port %s %d (%s)" %
          (len(c.trace), host, "==" if want == "same" else "!=", port,
           ", ".join(sorted(set("%s:%d" % p.peer for p in c.trace)))))
    return True


def cmd_get(want, host, port, name, out, *opts):
    port = int(port)
    with Rec(host, port) as c:
        try:
            content, _ = c.get(name, options=opts_of(opts))
        except (IOError, TimeoutError) as e:
            print("#   get %s: %s; trace:" % (name, e))
            show(c.trace)
            return 1
        with open(out, "wb") as f:
            f.write(content)
        return 0 if peers_ok(c, want, host, port) else 1


def cmd_put(host, port, name, src, *opts):
    port = int(port)
    with open(src, "rb") as f:
        content = f.read()
    with Rec(host, port) as c:
        try:
            c.put(name, content, options=opts_of(opts))
        except (IOError, TimeoutError) as e:
            print("#   put %s: %s; trace:" % (name, e))
            show(c.trace)
            return 1
        # the final ACK may be repeated; nothing else may come
        c.recv_all(0.3)
        return 0 if peers_ok(c, "same", host, port) else 1


def cmd_err(host, port, name):
    port = int(port)
    with Rec(host, port) as c:
        c.send_request(t.rrq(name))
        p = c.recv(3.0)
        if p is None or p.op != t.ERROR or p.code != 1:
            print("#   expected ERROR 1, got %s" % (p,))
            show(c.trace)
            return 1
        return 0 if peers_ok(c, "same", host, port) else 1


def cmd_dup(port, name, out, *opts):
    host, port = "127.0.0.1", int(port)
    server = (host, port)
    req = t.rrq(name, options=opts_of(opts))
    with Rec(host, port, timeout=3.0) as c:
        c.send_request(req)
        first = c.recv()
        if first is None or first.op not in (t.OACK, t.DATA):
            print("#   first answer: %s" % (first,))
            return 1
        # the client "retransmits" its request: same port, before any ACK
        c.sock.sendto(req, server)
        for p in c.recv_all(0.5):
            if p.op != first.op or p.block != first.block:
                print("#   the repeated RRQ brought %s (first was %s)" %
                      (p, first))
                show(c.trace)
                return 1
        blksize = 512
        if first.op == t.OACK:
            blksize = int(first.opt("blksize") or 512)
            c.send(t.ack(0))
        data = bytearray()
        expect, last_ack, tries = 1, t.ack(0), 0
        p = first if first.op == t.DATA else c.recv()
        while True:
            if p is None:
                tries += 1
                if tries > 5:
                    print("#   silence waiting for DATA %d" % expect)
                    show(c.trace)
                    return 1
                c.send(last_ack)
                p = c.recv()
                continue
            if p.op == t.ERROR:
                print("#   ERROR %d %s" % (p.code, p.msg))
                show(c.trace)
                return 1
            if p.op == t.DATA and p.block == (expect & 0xffff):
                tries = 0
                data += p.payload
                last_ack = t.ack(expect)
                c.send(last_ack)
                if len(p.payload) < blksize:
                    break
                expect += 1
            # an older DATA (a duplicate answer to the RRQ): ignored,
            # never ACKed again (Sorcerer's Apprentice)
            p = c.recv()
        n = len(c.trace)
        late = c.recv_all(2.5)
        if late:
            print("#   after the last ACK, %d more packets (a second "
                  "transfer?):" % len(late))
            show(late)
            return 1
        with open(out, "wb") as f:
            f.write(data)
        print("#   %d packets, then 2.5 s of silence" % n)
        return 0 if peers_ok(c, "same", host, port) else 1


def lockstep(c, data, blksize=512, expect=1, stop=None, drop=()):
    """Window-1 download into data from block expect: ACK each block,
    ignore older DATA, ignore the first copy of each block in drop (as if
    lost: the server's timer must send it again); stop after block stop
    or the last one.  False (and why) on ERROR or silence."""
    dropped = set()
    last_ack, tries = None, 0
    while True:
        p = c.recv(3.0)
        if p is None:
            tries += 1
            if tries > 3 or last_ack is None:
                print("#   silence waiting for DATA %d" % expect)
                show(c.trace)
                return False
            c.send(last_ack)
            continue
        if p.op == t.ERROR:
            print("#   ERROR %d %s" % (p.code, p.msg))
            show(c.trace)
            return False
        if p.op != t.DATA or p.block != (expect & 0xffff):
            continue
        if expect in drop and expect not in dropped:
            dropped.add(expect)
            continue
        tries = 0
        data += p.payload
        last_ack = t.ack(expect)
        c.send(last_ack)
        if len(p.payload) < blksize or expect == stop:
            return True
        expect += 1


def cmd_retx(port, name, out):
    host, port = "127.0.0.1", int(port)
    with Rec(host, port) as c:
        c.send_request(t.rrq(name))
        data = bytearray()
        # Not DATA 1: until the client answers, no timer resends it
        # (the unverified phase; a repeated request does).
        if not lockstep(c, data, drop=(2, 3)):
            return 1
        with open(out, "wb") as f:
            f.write(data)
        n2 = sum(1 for p in c.trace if p.op == t.DATA and p.block == 2)
        n3 = sum(1 for p in c.trace if p.op == t.DATA and p.block == 3)
        if n2 < 2 or n3 < 2:
            print("#   DATA 2 came %d times, DATA 3 %d times" % (n2, n3))
            show(c.trace)
            return 1
        return 0 if peers_ok(c, "same", host, port) else 1


def cmd_winloss(port, name, out):
    host, port, win = "127.0.0.1", int(port), 8
    with Rec(host, port) as c:
        c.send_request(t.rrq(name, options=[("blksize", "512"),
                                            ("windowsize", str(win))]))
        p = c.recv(3.0)
        if p is None or p.op != t.OACK or p.opt("windowsize") != str(win):
            print("#   expected OACK windowsize %d, got %s" % (win, p))
            return 1
        c.send(t.ack(0))
        first = []
        deadline = time.monotonic() + 2.0
        while len(first) < win and time.monotonic() < deadline:
            p = c.recv(0.5)
            if p is not None:
                first.append(p)
        blocks = [p.block for p in first if p.op == t.DATA]
        if blocks != list(range(1, win + 1)):
            print("#   first window: blocks %s" % blocks)
            show(c.trace)
            return 1
        # blocks 3.. "lost": ACK 2 must restart the window at 3
        data = bytearray(first[0].payload + first[1].payload)
        c.send(t.ack(2))
        expect, start, tries = 3, 3, 0
        while True:
            p = c.recv(1.0)
            if p is None:
                tries += 1
                if tries > 5:
                    print("#   silence waiting for DATA %d" % expect)
                    show(c.trace)
                    return 1
                c.send(t.ack(expect - 1))
                start = expect
                continue
            if p.op != t.DATA:
                print("#   unexpected %s" % p)
                return 1
            if p.block != (expect & 0xffff):
                continue
            tries = 0
            data += p.payload
            if len(p.payload) < 512:
                c.send(t.ack(expect))
                break
            if expect - start + 1 == win:
                c.send(t.ack(expect))
                start = expect + 1
            expect += 1
        n3 = sum(1 for p in c.trace if p.op == t.DATA and p.block == 3)
        if n3 != 2:
            print("#   DATA 3 came %d times (expected: in the first "
                  "window and once after ACK 2)" % n3)
            return 1
        with open(out, "wb") as f:
            f.write(data)
        return 0 if peers_ok(c, "same", host, port) else 1


def cmd_switch(port, old, new, out, when="after5"):
    host, port = "127.0.0.1", int(port)
    with Rec(host, port) as c:
        c.send_request(t.rrq(old))
        if when == "early":
            # another request before acknowledging anything: not a
            # repeat of the first, so it must be served
            first = c.recv(3.0)
            if first is None or first.op != t.DATA or first.block != 1:
                print("#   first answer: %s" % (first,))
                return 1
        elif not lockstep(c, bytearray(), stop=5):
            return 1
        # the client moves on from the same port
        c.send_request(t.rrq(new))
        c.peer = (host, port)
        data = bytearray()
        if not lockstep(c, data):
            return 1
        return quiet_then_save(c, data, out, host, port)


def quiet_then_save(c, data, out, host, port):
    """After the last ACK nothing more may come (no second transfer, no
    resend); then data goes to out and every packet must have come from
    the listen port."""
    late = c.recv_all(2.5)
    if late:
        print("#   after the download, %d more packets:" % len(late))
        show(late)
        return 1
    with open(out, "wb") as f:
        f.write(data)
    return 0 if peers_ok(c, "same", host, port) else 1


def cmd_pxe(port, name, out):
    host, port = "127.0.0.1", int(port)
    with Rec(host, port) as c:
        c.send_request(t.rrq(name, options=[("tsize", "0")]))
        p = c.recv(3.0)
        if p is None or p.op != t.OACK or p.opt("tsize") is None:
            print("#   expected OACK with tsize, got %s" % (p,))
            return 1
        c.send(t.error(8, "just the size"))
        c.send_request(t.rrq(name, options=[("blksize", "1428")]))
        p = c.recv(3.0)
        if p is None or p.op != t.OACK or p.opt("blksize") != "1428" \
                or p.opt("tsize") is not None:
            print("#   the second RRQ got %s" % (p,))
            show(c.trace)
            return 1
        c.send(t.ack(0))
        data = bytearray()
        if not lockstep(c, data, blksize=1428):
            return 1
        return quiet_then_save(c, data, out, host, port)


def cmd_dupw(port, name, src):
    host, port = "127.0.0.1", int(port)
    with open(src, "rb") as f:
        content = f.read()
    req = t.wrq(name)
    with Rec(host, port) as c:
        c.send_request(req)
        p = c.recv(3.0)
        if p is None or p.op != t.ACK or p.block != 0:
            print("#   expected ACK 0, got %s" % (p,))
            return 1
        c.sock.sendto(req, (host, port))
        for p in c.recv_all(0.5):
            if p.op != t.ACK or p.block != 0:
                print("#   the repeated WRQ brought %s" % p)
                show(c.trace)
                return 1
        n = len(content) // 512 + 1
        for b in range(1, n + 1):
            c.send(t.data(b, content[(b - 1) * 512:b * 512]))
            while True:
                p = c.recv(3.0)
                if p is None:
                    print("#   no ACK %d" % b)
                    show(c.trace)
                    return 1
                if p.op == t.ACK and p.block == b:
                    break
                if p.op != t.ACK:
                    print("#   unexpected %s" % p)
                    show(c.trace)
                    return 1
        late = c.recv_all(2.5)
        if [p for p in late if not (p.op == t.ACK and p.block == n)]:
            print("#   after the upload:")
            show(late)
            return 1
        return 0 if peers_ok(c, "same", host, port) else 1


def cmd_stray(port, cport):
    port, cport = int(port), int(cport)
    server = ("127.0.0.1", port)
    ok = True
    socks = []
    s1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s1.bind(("127.0.0.1", 0))
    socks.append(s1)
    plan = [(s1, "ACK 1", t.ack(1), True), (s1, "ACK 0", t.ack(0), True),
            (s1, "DATA 1", t.data(1, b"stray" * 20), True),
            (s1, "ERROR 0", t.error(0, "stray"), False),
            (s1, "1-byte runt", b"\0", None)]
    try:
        s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s2.bind(("127.0.0.2", cport))
        socks.append(s2)
        for n in range(0, 7):
            plan.append((s2, "ACK %d from 127.0.0.2:%d" % (n, cport),
                         t.ack(n), True))
        plan.append((s2, "DATA 1 from 127.0.0.2:%d" % cport,
                     t.data(1, b"x" * 512), True))
    except OSError as e:
        print("#   (no 127.0.0.2: %s; that part left out)" % e)
    for s, what, pkt, err_ok in plan:
        s.sendto(pkt, server)
        s.settimeout(0.2)
        got = []
        while True:
            try:
                raw, peer = s.recvfrom(70000)
            except socket.timeout:
                break
            got.append(t.Packet(raw, peer[:2]))
        for p in got:
            # ERROR 5 (unknown transfer ID) from the listen port is the
            # one answer allowed to ACK/DATA; nothing to an ERROR; the
            # runt may also get ERROR 4
            good = p.op == t.ERROR and p.peer == server and (
                (err_ok is True and p.code == 5) or
                (err_ok is None and p.code in (4, 5)))
            if not good:
                print("#   %s: answered with %s from %s:%d" %
                      (what, p, p.peer[0], p.peer[1]))
                ok = False
        print("#   %s -> %s" % (what, ", ".join(repr(p) for p in got)
                                 or "nothing"))
    for s in socks:
        s.close()
    return 0 if ok else 1


cmds = {"get": cmd_get, "put": cmd_put, "err": cmd_err, "dup": cmd_dup,
        "retx": cmd_retx, "winloss": cmd_winloss, "switch": cmd_switch,
        "pxe": cmd_pxe, "dupw": cmd_dupw, "stray": cmd_stray}
sys.exit(cmds[sys.argv[2]](*sys.argv[3:]))
PYEOF

sp() {
	timeout "$TO" "$PYTHON" "$T/sp.py" "$LIB_DIR" "$@"
}

# quiet: no transfer in progress (an upload ends after its dally, so
# counters taken before it settles would count it in the next delta).
quiet() {
	ctl -i "$INSTANCE" stats --json >"$T/quiet.json" 2>/dev/null &&
	    json_check "$T/quiet.json" \
	    "d['totals']['active_transfers'] == 0" >/dev/null
}

# settle WHAT: wait (bounded) until quiet; if it is not, show what runs.
# (A dallying upload ends 2 x its timeout after its last ACK.)
settle() {
	wait_until 20 quiet && return 0
	echo "#   transfers still active before $1 (20 s):"
	ctl -i "$INSTANCE" sessions 2>&1 | sed 's/^/#   | /'
	return 1
}

# udp_socks PID: the UDP sockets the process holds.
udp_socks() {
	local pid=$1
	find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' \
	    2>/dev/null | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p' | sort -u |
	    comm -12 - <(awk 'NR > 1 { print $10 }' "/proc/$pid/net/udp" \
	    "/proc/$pid/net/udp6" 2>/dev/null | sort -u) | wc -l
}

# xfer WHAT EXPECTED ACTUAL CMD...: run a client; it must exit 0 and
# ACTUAL must equal EXPECTED.
xfer() {
	local what=$1 exp=$2 act=$3
	shift 3
	rm -f "$act"
	if "$@" >"$T/client.out" 2>&1 && assert_same_file "$exp" "$act"; then
		pass "$what"
		rm -f "$act"
		return 0
	fi
	echo "#   command: $*"
	sed 's/^/#   | /' "$T/client.out" | tail -n 10
	show_log "$DLOG" 5
	fail "$what"
	rm -f "$act"
	return 1
}

# logged OP FILE N0 OPTION...: a transfer of FILE logged after the first
# N0 ones, result=ok, with every OPTION (name=value) negotiated.
logged() {
	local op=$1 file=$2 n0=$3 line o
	shift 3
	wait_until 10 logged_since "$op" "$file" "$n0"
	line=$(grep -F "op=$op file=\"$file\" " "$DLOG" | tail -n 1)
	for o in "$@" "result=ok"; do
		case " $line " in
		*" $o "* | *"\"$o "* | *" $o\""* | *"\"$o\""*) ;;
		*)
			echo "#   last $op of $file is not logged with $o:"
			echo "#   | $line"
			return 1
			;;
		esac
	done
}

hpa() {			# mode cmd...
	local mode=$1
	shift
	timeout "$TO" tftp -m "$mode" 127.0.0.1 "$PORT" -c "$@"
}

# --- control: without single_port ------------------------------------------
#
# The probes below must be able to tell the difference: without the key,
# DATA comes from a port of its own and the worker holds one more UDP
# socket while a transfer runs.

write_conf "$T/conf"
master_start "$R" --workers 1
W=$(worker_pids "$MASTER")
check "control: without single_port, DATA comes from another port than $PORT" \
    sp get other 127.0.0.1 "$PORT" s513 "$D/ctl.s513"
IDLE0=$(udp_socks "$W")
# Held (an ACK every 50 ms) while the sockets are counted.
HOLD="$D/hold"
: >"$HOLD"
slow_get "$PORT" m1 "$D/ctl.slow" 0.05 "$HOLD" >"$D/ctl.slow.out" 2>&1 &
SLOWPID=$!
if wait_for 30 "the slow download's first DATA" \
    test -s "$D/ctl.slow.port"; then
	BUSY0=$(udp_socks "$W")
else
	BUSY0="?"
fi
rm -f "$HOLD"
wait "$SLOWPID"
echo "#   control: worker UDP sockets idle $IDLE0, during a transfer $BUSY0"
SOCKS_PROBE=0
if [ "$BUSY0" = $((IDLE0 + 1)) ]; then
	SOCKS_PROBE=1
fi
check "control: the daemon stops cleanly" daemon_stop

# --- single_port = yes ------------------------------------------------------

write_conf "$T/conf" "single_port = yes" "[write]" "max_file_size = 64M"
if have_ipv6; then
	DAEMON_V6=1
else
	DAEMON_V6=0
fi
master_start "$R" --workers 1 -c
W=$(worker_pids "$MASTER")
IDLE=$(udp_socks "$W")
echo "# single_port daemon on port $PORT, worker $W ($IDLE UDP sockets)"

# 3. every answer from the listen port (first: if this fails, the rest
# says little).
check "raw get s513 (window 1): DATA from the listen port $PORT, complete" \
    sp get same 127.0.0.1 "$PORT" s513 "$D/raw.s513"
check "raw get s513: content" assert_same_file "$R/s513" "$D/raw.s513"
check "raw get m1 blksize 1428 windowsize 16: OACK and DATA from $PORT" \
    sp get same 127.0.0.1 "$PORT" m1 "$D/raw.m1" blksize=1428 windowsize=16
check "raw get m1 windowsize 16: content" \
    assert_same_file "$R/m1" "$D/raw.m1"
check "raw get of a missing file: ERROR 1 from $PORT" \
    sp err 127.0.0.1 "$PORT" no-such-file
check "raw put s513: ACKs from $PORT" \
    sp put 127.0.0.1 "$PORT" raw_put_s513 "$R/s513"
check "raw put m1 blksize 1428 windowsize 8: OACK and ACKs from $PORT" \
    sp put 127.0.0.1 "$PORT" raw_put_m1 "$R/m1" blksize=1428 windowsize=8
check "raw put s513: content" assert_same_file "$R/s513" "$R/raw_put_s513"
check "raw put m1: content" assert_same_file "$R/m1" "$R/raw_put_m1"
check "raw get k3, DATA 2 and 3 ignored once: the timer resends them from $PORT" \
    sp retx "$PORT" k3 "$D/raw.retx"
check "raw get k3 with retransmissions: content" \
    assert_same_file "$R/k3" "$D/raw.retx"
check "raw get m1 windowsize 8, ACK 2 of the first window: resumes at 3" \
    sp winloss "$PORT" m1 "$D/raw.winloss"
check "raw get m1 with a window restarted: content" \
    assert_same_file "$R/m1" "$D/raw.winloss"
check "an RRQ from the port of a running download replaces that download" \
    sp switch "$PORT" m1 s513 "$D/raw.switch"
check "replaced download: the new file's content" \
    assert_same_file "$R/s513" "$D/raw.switch"
check "another RRQ from the same port before any ACK is served, not dropped" \
    sp switch "$PORT" k3 s513 "$D/raw.switch2" early
check "early replacement: the new file's content" \
    assert_same_file "$R/s513" "$D/raw.switch2"
check "PXE-style: ERROR 8 to the OACK, a new RRQ from the same port" \
    sp pxe "$PORT" m1 "$D/raw.pxe"
check "PXE-style: content" assert_same_file "$R/m1" "$D/raw.pxe"

# 2. (first part) curl asks for "timeout 6", so the server dallies 12 s
# after each of its uploads: they go first, to be over by the counted
# cases below.
URL="tftp://127.0.0.1:$PORT"
if command -v curl >/dev/null && curl --version | grep -qw tftp; then
	for bs in 512 65464; do
		xfer "curl put m1 blksize $bs" "$R/m1" "$R/curl_$bs" \
		    timeout "$TO" curl -sS --fail -g --tftp-blksize "$bs" \
		    -T "$R/m1" "$URL/curl_$bs"
	done
fi

# 1. the real clients, downloads.
for f in $SIZES; do
	xfer "tftp-hpa get $f" "$R/$f" "$D/$f" hpa binary get "$f" "$D/$f"
done
# The client decodes netascii to LF: the original bytes come back.
xfer "tftp-hpa get text.txt netascii" "$R/text.txt" "$D/text.txt" \
    hpa netascii get text.txt "$D/text.txt"

for w in 1 4 16 64; do
	for f in $SIZES; do
		n0=$(log_count rrq "$f")
		xfer "atftp get $f windowsize $w blksize 1428" \
		    "$R/$f" "$D/$f" atftp_get "$f" "$D/$f" \
		    --option "windowsize $w" --option "blksize 1428" &&
		    check "atftp get $f windowsize $w: negotiated (log)" \
		    logged rrq "$f" "$n0" "windowsize=$w" "blksize=1428"
	done
done

if command -v curl >/dev/null && curl --version | grep -qw tftp; then
	curl_get() {	# remote local blksize [curl args]
		local rem=$1 loc=$2 bs=$3
		shift 3
		# no output file for an empty download: make it first
		: >"$loc" &&
		    timeout "$TO" curl -sS --fail -g --tftp-blksize "$bs" \
		    "$@" -o "$loc" "$URL/$rem"
	}
	# curl takes "tsize 0" in an OACK for an error: z0 without options
	xfer "curl get z0 (no options)" "$R/z0" "$D/z0" \
	    curl_get z0 "$D/z0" 512 --tftp-no-options
	for bs in 512 65464; do
		for f in $SIZES; do
			[ "$f" = z0 ] && continue
			xfer "curl get $f blksize $bs" "$R/$f" "$D/$f" \
			    curl_get "$f" "$D/$f" "$bs"
		done
	done
else
	skip "curl with tftp not installed: apt-get install curl"
fi

if command -v busybox >/dev/null &&
    busybox tftp --help 2>&1 | grep -q -- -b; then
	for bs in 512 1428; do
		for f in $SIZES; do
			xfer "busybox get $f blksize $bs" "$R/$f" "$D/$f" \
			    timeout "$TO" busybox tftp -g -r "$f" -l "$D/$f" \
			    -b "$bs" 127.0.0.1 "$PORT"
		done
	done
else
	skip "busybox with tftp not installed: apt-get install busybox"
fi

# 2. uploads.
for f in $SIZES; do
	xfer "tftp-hpa put $f" "$R/$f" "$R/hpa_$f" \
	    hpa binary put "$R/$f" "hpa_$f"
	xfer "atftp put $f windowsize 16" "$R/$f" "$R/atftp_$f" \
	    atftp_put "$R/$f" "atftp_$f" --option "windowsize 16"
done
# DATA of 65468 bytes arrive on the listen socket too.
xfer "atftp put m1 blksize 65464 windowsize 4" "$R/m1" "$R/atftp_big_m1" \
    atftp_put "$R/m1" atftp_big_m1 --option "blksize 65464" \
    --option "windowsize 4"

# One tftp-hpa session uses one port for all its transfers: a get right
# after a put comes from the port whose upload the server may still be
# dallying on, and must be served as a new request.
t_session() {
	local out="$T/session.out"
	printf '%s\n' binary trace "get s511 $D/sess1" "get m1 $D/sess2" \
	    "put $R/s513 sess_up" "get s512 $D/sess3" "put $R/m1 sess_up2" \
	    "get s513 $D/sess4" quit |
	    timeout "$TO" tftp 127.0.0.1 "$PORT" >"$out" 2>&1 || {
		echo "#   tftp exited $?:"
		sed 's/^/#   | /' "$out" | tail -n 5
		return 1
	}
	assert_same_file "$R/s511" "$D/sess1" &&
	    assert_same_file "$R/m1" "$D/sess2" &&
	    assert_same_file "$R/s513" "$R/sess_up" &&
	    assert_same_file "$R/s512" "$D/sess3" &&
	    assert_same_file "$R/m1" "$R/sess_up2" &&
	    assert_same_file "$R/s513" "$D/sess4"
}
# tftp-hpa sends again when its timer (5 s) runs out: in its packet
# trace, a packet sent with nothing received since the one before.  (It
# also repeats an ACK or DATA to answer a duplicate, but after receiving
# that.)  Read from the trace, not timed: a slow machine does not matter.
t_no_client_retx() {
	sed 's/^\(tftp> \)*//' "$T/session.out" | awk '
	/^sent / {
		if (sent) {
			print "#   sent again, nothing received: " $0
			bad = 1
		}
		sent = 1
	}
	/^received / { sent = 0 }
	/^sent RRQ / { rrq++ }
	/^sent WRQ / { wrq++ }
	END {
		if (rrq != 4 || wrq != 2) {
			print "#   trace: " rrq + 0 " RRQ, " wrq + 0 " WRQ sent" \
			    " (expected 4 and 2)"
			bad = 1
		}
		exit bad
	}'
}
T0=$(now_ms)
check "tftp-hpa session, one client port: get, get, put, get, put, get" \
    t_session
T1=$(now_ms)
echo "#   the session took $((T1 - T0)) ms"
check "tftp-hpa session: no client retransmission was needed" \
    t_no_client_retx

# 4. demultiplexing: NCONC concurrent windowed downloads.
#
# concurrent N: N atftp downloads at once (windowsize 16, blksize 512 and
# 1428 in turn, the four 4 MiB files), all intact; sets CONC_MAXSOCKS to
# the most UDP sockets the workers ($W) held together while they ran.
concurrent() {
	local n=$1 i f pids=() st=0 bs maxs=0 s end running p
	for ((i = 1; i <= n; i++)); do
		f=m4_$(((i - 1) % 4 + 1))
		bs=512
		[ $((i % 2)) = 0 ] && bs=1428
		rm -f "$D/c$i"
		timeout 60 atftp --option "windowsize 16" \
		    --option "blksize $bs" -g -r "$f" -l "$D/c$i" \
		    127.0.0.1 "$PORT" >"$D/c$i.out" 2>&1 &
		pids+=($!)
	done
	# sample the workers' UDP sockets while the clients run (bounded)
	end=$(($(now_ms) + 60000))
	while [ "$(now_ms)" -lt "$end" ]; do
		s=0
		for p in $W; do
			s=$((s + $(udp_socks "$p")))
		done
		[ "$s" -gt "$maxs" ] && maxs=$s
		running=0
		for p in "${pids[@]}"; do
			kill -0 "$p" 2>/dev/null && running=1
		done
		[ "$running" = 0 ] && break
		sleep 0.05
	done
	CONC_MAXSOCKS=$maxs
	for ((i = 1; i <= n; i++)); do
		f=m4_$(((i - 1) % 4 + 1))
		if ! wait "${pids[$((i - 1))]}"; then
			echo "#   download $i ($f) failed:"
			sed 's/^/#   | /' "$D/c$i.out" | tail -n 3
			st=1
		elif ! assert_same_file "$R/$f" "$D/c$i"; then
			st=1
		fi
		rm -f "$D/c$i"
	done
	return "$st"
}

# sent_stats NEW OLD: SENT, SCALLS (send calls of any kind), MMSG,
# RECVD, RCALLS (receive calls of any kind) between two snapshots.
sent_stats() {
	SENT=$(delta "$1" "$2" packets_sent)
	MMSG=$(delta "$1" "$2" syscalls_sendmmsg)
	SCALLS=$((MMSG + $(delta "$1" "$2" syscalls_sendmsg) + \
	    $(delta "$1" "$2" syscalls_sendto)))
	RECVD=$(delta "$1" "$2" messages_received)
	RCALLS=$(($(delta "$1" "$2" syscalls_recvmmsg) + \
	    $(delta "$1" "$2" syscalls_recvmsg) + \
	    $(delta "$1" "$2" syscalls_recvfrom)))
	echo "#   sent $SENT packets in $SCALLS calls" \
	    "(sendmmsg $MMSG, sendmsg $(delta "$1" "$2" syscalls_sendmsg)," \
	    "sendto $(delta "$1" "$2" syscalls_sendto)); received $RECVD" \
	    "in $RCALLS calls (recvmmsg $(delta "$1" "$2" syscalls_recvmmsg)," \
	    "recvmsg $(delta "$1" "$2" syscalls_recvmsg)," \
	    "recvfrom $(delta "$1" "$2" syscalls_recvfrom))"
}

settle "the concurrent case"
stats c0 || hard_error "stats"
T0=$(now_ms)
check "$NCONC concurrent atftp downloads (4 MiB, windowsize 16) are intact" \
    concurrent "$NCONC"
T1=$(now_ms)
stats c1 || hard_error "stats"
echo "#   $((T1 - T0)) ms"
sent_stats c1 c0
check "concurrent: more than one packet per send system call" \
    test "$SCALLS" -gt 0 -a "$SENT" -gt "$SCALLS"
# Every window is asked for by an ACK (the first by ACK 0): fewer sendmmsg
# calls than windows means several clients' windows went out together.
WINDOWS=$((RECVD - NCONC))
check "concurrent: fewer sendmmsg calls ($MMSG) than windows (~$WINDOWS)" \
    test "$MMSG" -lt "$WINDOWS"
# As without single_port (fastpath.sh): a GSO write counts each of its
# datagrams.
check "concurrent: messages_sent equals packets_sent" \
    assert_eq "$SENT" "$(delta c1 c0 messages_sent)" "messages_sent"
check "concurrent: transfers_ok grew by $NCONC, none failed" \
    test "$(delta c1 c0 transfers_ok)" = "$NCONC" \
    -a "$(delta c1 c0 transfers_failed)" = 0
echo "#   worker UDP sockets: $IDLE idle, at most $CONC_MAXSOCKS during" \
    "the downloads"
if [ "$SOCKS_PROBE" = 1 ]; then
	check "concurrent: no UDP socket per transfer (worker holds $IDLE)" \
	    test "$CONC_MAXSOCKS" = "$IDLE"
else
	skip "socket count: the control did not see a per-transfer socket" \
	    "(idle $IDLE0, busy $BUSY0), so the probe proves nothing here"
fi

# Window-1 clients: only several clients' DATA in one call makes more
# than one packet per send call here (no window to put in one GSO write).
t_conc_w1() {
	local i pids=() st=0
	for ((i = 1; i <= NCONC; i++)); do
		rm -f "$D/w$i"
		timeout 60 tftp -m binary 127.0.0.1 "$PORT" -c get m1 \
		    "$D/w$i" >"$D/w$i.out" 2>&1 &
		pids+=($!)
	done
	for ((i = 1; i <= NCONC; i++)); do
		if ! wait "${pids[$((i - 1))]}"; then
			echo "#   download $i failed:"
			sed 's/^/#   | /' "$D/w$i.out" | tail -n 3
			st=1
		elif ! assert_same_file "$R/m1" "$D/w$i"; then
			st=1
		fi
		rm -f "$D/w$i"
	done
	return "$st"
}
settle "the window-1 case"
stats w0 || hard_error "stats"
check "$NCONC concurrent tftp-hpa downloads (1 MiB, window 1) are intact" \
    t_conc_w1
stats w1 || hard_error "stats"
echo "#   window 1:"
sent_stats w1 w0
check "window 1: several clients' DATA per send call (> 1 packet per call)" \
    test "$SCALLS" -gt 0 -a "$SENT" -gt "$SCALLS"
check "window 1: several clients' ACKs per receive call (> 1 per call)" \
    test "$RCALLS" -gt 0 -a "$RECVD" -gt "$RCALLS"

# 5. a repeated RRQ from the same port.
settle "the repeated-RRQ case"
stats d0 || hard_error "stats"
check "repeated RRQ (no options) before the first ACK: one transfer, intact" \
    sp dup "$PORT" k3 "$D/dup1"
check "repeated RRQ: content" assert_same_file "$R/k3" "$D/dup1"
check "repeated RRQ with options before ACK 0: one transfer, intact" \
    sp dup "$PORT" k3 "$D/dup2" blksize=1024 tsize=0
check "repeated RRQ with options: content" \
    assert_same_file "$R/k3" "$D/dup2"
check "repeated RRQ: no transfer left running" wait_until 3 quiet
stats d1 || hard_error "stats"
echo "#   rrq +$(delta d1 d0 rrq), transfers_ok +$(delta d1 d0 transfers_ok)," \
    "transfers_failed +$(delta d1 d0 transfers_failed)"
check "repeated RRQ: transfers_ok grew by 2, transfers_failed by 0" \
    test "$(delta d1 d0 transfers_ok)" = 2 \
    -a "$(delta d1 d0 transfers_failed)" = 0
check "repeated RRQ: rrq counted the repeats (grew by 4)" \
    test "$(delta d1 d0 rrq)" = 4
check "repeated WRQ before the first DATA: one transfer, intact" \
    sp dupw "$PORT" dupw_k3 "$R/k3"
check "repeated WRQ: content" assert_same_file "$R/k3" "$R/dupw_k3"

# 6. strangers during a running download (held while they come).
: >"$HOLD"
slow_get "$PORT" m1 "$D/slow" 0.05 "$HOLD" >"$D/slow.out" 2>&1 &
SLOWPID=$!
if wait_for 30 "the slow download's first DATA" test -s "$D/slow.port"; then
	check "strangers' ACK/DATA/ERROR: ERROR 5 from $PORT or nothing, no DATA" \
	    sp stray "$PORT" "$(cat "$D/slow.port")"
else
	fail "strangers: the slow download did not start"
fi
rm -f "$HOLD"
t_slow() {
	wait "$SLOWPID" || {
		sed 's/^/#   | /' "$D/slow.out"
		return 1
	}
	assert_same_file "$R/m1" "$D/slow"
}
check "strangers: the running download completes intact" t_slow
check "strangers: the worker is the same process ($W)" \
    assert_eq "$W" "$(worker_pids "$MASTER")" "worker pid"

# 7. IPv6.
if [ "$DAEMON_V6" = 1 ]; then
	xfer "tftp-hpa get m1 over IPv6 [::1]" "$R/m1" "$D/m1" \
	    timeout "$TO" tftp -6 -m binary ::1 "$PORT" -c get m1 "$D/m1"
	check "raw get s513 over IPv6: DATA from [::1]:$PORT" \
	    sp get same ::1 "$PORT" s513 "$D/raw6.s513"
	check "raw get s513 over IPv6: content" \
	    assert_same_file "$R/s513" "$D/raw6.s513"
else
	echo "ok - # SKIP IPv6: ::1 is not available on this host"
fi

stats end || hard_error "stats"
check "the worker was never restarted" \
    json_check "$T/end.json" "d['workers'][0]['restarts'] == 0 and \
    d['workers'][0]['pid'] == $W"
check "the daemon is still running" daemon_alive
if ! daemon_stop; then
	show_log
	fail "the daemon stops cleanly on SIGTERM"
else
	pass "the daemon stops cleanly on SIGTERM"
fi

# --- two workers, GSO off ------------------------------------------------------
#
# Each worker reads its own SO_REUSEPORT socket: a client's packets must
# keep reaching the worker that has its transfer.  Without GSO a window
# is a message per packet, queued with the other clients' ones.

write_conf "$T/conf" "single_port = yes" \
    "[performance.platform.batch]" "enable_gso = no"
DAEMON_V6=0 WORKERS=2 master_start "$R" --workers 2
W=$(worker_pids "$MASTER" | tr '\n' ' ')
for i in 1 2 3 4; do
	check "2 workers: raw get s513 ($i) from $PORT" \
	    sp get same 127.0.0.1 "$PORT" s513 "$D/raw2.s513" &&
	    check "2 workers: raw get s513 ($i): content" \
	    assert_same_file "$R/s513" "$D/raw2.s513"
done
settle "the 2-worker case"
stats g0 || hard_error "stats"
check "2 workers, no GSO: 8 concurrent atftp downloads are intact" \
    concurrent 8
stats g1 || hard_error "stats"
sent_stats g1 g0
echo "#   transfers_ok per worker:" \
    "$(json_eval "$T/g1.json" "[w['transfers_ok'] for w in d['workers']]")"
check "2 workers, no GSO: more than one packet per send call" \
    test "$SCALLS" -gt 0 -a "$SENT" -gt "$SCALLS"
check "2 workers, no GSO: messages_sent equals packets_sent" \
    assert_eq "$SENT" "$(delta g1 g0 messages_sent)" "messages_sent"
check "2 workers, no GSO: transfers_ok grew by 8, none failed" \
    test "$(delta g1 g0 transfers_ok)" = 8 \
    -a "$(delta g1 g0 transfers_failed)" = 0
check "2 workers: no worker was restarted" \
    json_check "$T/g1.json" "all(w['restarts'] == 0 for w in d['workers'])"
check "2 workers: the daemon stops cleanly" daemon_stop

# --- recvmmsg and sendmmsg off ------------------------------------------------

write_conf "$T/conf" "single_port = yes" \
    "[performance.platform.batch]" "enable_recvmmsg = no" \
    "enable_sendmmsg = no"
DAEMON_V6=0 master_start "$R" --workers 1 -c
W=$(worker_pids "$MASTER")
stats b0 || hard_error "stats"
check "no batching: raw get m1 windowsize 16 from $PORT" \
    sp get same 127.0.0.1 "$PORT" m1 "$D/rawb.m1" blksize=1428 \
    windowsize=16
check "no batching: raw get m1: content" \
    assert_same_file "$R/m1" "$D/rawb.m1"
xfer "no batching: tftp-hpa get m1" "$R/m1" "$D/m1" \
    hpa binary get m1 "$D/m1"
xfer "no batching: tftp-hpa put m1" "$R/m1" "$R/nb_hpa_m1" \
    hpa binary put "$R/m1" nb_hpa_m1
xfer "no batching: atftp put m1 windowsize 16" "$R/m1" "$R/nb_atftp_m1" \
    atftp_put "$R/m1" nb_atftp_m1 --option "windowsize 16"
check "no batching: 4 concurrent atftp downloads are intact" concurrent 4
stats b1 || hard_error "stats"
sent_stats b1 b0
check "no batching: no recvmmsg (enable_recvmmsg = no)" \
    test "$(delta b1 b0 syscalls_recvmmsg)" = 0
check "no batching: the daemon stops cleanly" daemon_stop

lib_finish
