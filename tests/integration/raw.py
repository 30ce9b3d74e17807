#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
"""Raw-packet tests of the daemon: every refusal and protocol rule of the
spec, each asserting exact opcodes and error codes.

Two daemons on free loopback ports, both with [transfer] timeout = 1 and
retries = 3: "ro" (no -c: uploads refused) and "rw" (-c, [write]
max_file_size = 1M).  Prints "ok - ..." / "not ok - ..." per case and
exits 1 on any failure (77 skip, 99 hard error, as automake expects).
"""

import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tftpraw as t  # noqa: E402

TIMEOUT = 1             # server [transfer] timeout, seconds
RETRIES = 3
MAX_FILE = 1048576      # rw daemon [write] max_file_size


def hard_error(msg):
    print("ERROR: %s" % msg, file=sys.stderr)
    sys.exit(99)


class Daemon:
    def __init__(self, tftpd, tmp, name, conf, args, root):
        self.name = name
        self.conf = os.path.join(tmp, name + ".conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        os.chmod(self.conf, 0o644)
        self.logpath = os.path.join(tmp, name + ".log")
        self.proc = None
        for _ in range(3):
            self.port = t.free_port()
            cmd = [tftpd, "-L", "-a", "127.0.0.1:%d" % self.port,
                   "--config", self.conf,
                   "--runtime-dir", os.path.join(tmp, name + ".run")] + \
                t.user_args() + args + [root]
            with open(self.logpath, "wb") as log:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=log)
            if t.ping("127.0.0.1", self.port, 10):
                return
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                hard_error("daemon %s does not answer:\n%s"
                           % (name, self.log()))
        hard_error("daemon %s does not start:\n%s" % (name, self.log()))

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def alive(self):
        """Running (not exited, not a zombie)."""
        if self.proc.poll() is not None:
            return False
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith("State:"):
                        return line.split()[1] in ("R", "S", "D")
        except OSError:
            return False
        return False

    def stop(self):
        """SIGTERM; the exit status (None if it had to be killed)."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def client(self, timeout=2.0):
        return t.Client("127.0.0.1", self.port, timeout)


# --- tiny test harness --------------------------------------------------------

CASES = []
FAILED = []


def case(name):
    def deco(fn):
        CASES.append((name, fn))
        return fn
    return deco


def run_cases(cases, failed, only):
    """Run each (name, fn) of cases whose name contains one of only (all
    of them when only is empty): "ok - NAME (S s)" or "not ok - NAME:
    why", the names of failures appended to failed."""
    for name, fn in cases:
        if only and not any(o in name for o in only):
            continue
        t0 = time.monotonic()
        try:
            fn()
            print("ok - %s (%.1f s)" % (name, time.monotonic() - t0))
        except Fail as e:
            failed.append(name)
            print("not ok - %s: %s" % (name, e))
        except Exception:
            failed.append(name)
            print("not ok - %s: exception" % name)
            traceback.print_exc(file=sys.stdout)
        sys.stdout.flush()


class Fail(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Fail(msg)


def expect_error(p, code, msg=None, what=""):
    expect(p is not None, "%sno answer (expected ERROR %d)" % (what, code))
    expect(p.op == t.ERROR, "%sgot %r, expected ERROR %d" % (what, p, code))
    expect(p.code == code, "%sgot %r, expected ERROR %d" % (what, p, code))
    if msg is not None:
        expect(p.msg == msg, "%sERROR %d text %r, expected %r"
               % (what, code, p.msg, msg))


def expect_data(p, block, length=None, what=""):
    expect(p is not None, "%sno answer (expected DATA %d)" % (what, block))
    expect(p.op == t.DATA and p.block == block,
           "%sgot %r, expected DATA %d" % (what, p, block))
    if length is not None:
        expect(len(p.payload) == length, "%sDATA %d has %d bytes, expected %d"
               % (what, block, len(p.payload), length))


def expect_oack(p, what=""):
    expect(p is not None, "%sno answer (expected OACK)" % what)
    expect(p.op == t.OACK, "%sgot %r, expected OACK" % (what, p))


def rrq_first(d, name, mode="octet", options=(), timeout=2.0):
    """Send an RRQ from a fresh client; (client, first answer)."""
    c = d.client()
    c.send_request(t.rrq(name, mode, options))
    return c, c.recv(timeout)


def end(c, p=None):
    """Finish a transfer we started but do not want (client ERROR ends it
    silently), then close the socket."""
    try:
        if c.peer is not None and (p is None or p.op != t.ERROR):
            c.send(t.error(0, "test done"))
    finally:
        c.close()


def refused(d, name, code, msg=None, mode="octet", op=t.RRQ, within=2.0):
    c = d.client()
    c.send_request(t.request(op, name, mode))
    t0 = time.monotonic()
    p = c.recv(within)
    c.close()
    expect_error(p, code, msg, "%r: " % name)
    dt = time.monotonic() - t0
    expect(dt < within, "%r answered after %.2f s" % (name, dt))


def good_rrq(d):
    with d.client() as c:
        got, _ = c.get("s513")
    expect(got == FILES["s513"], "s513 content differs")


def listing(path):
    return sorted(os.listdir(path))


# --- the test tree ------------------------------------------------------------

FILES = {}


def text_bytes():
    """LF, CR, CRLF, CR NUL, and line ends around every 512-byte boundary
    of both the raw and the encoded stream."""
    out = bytearray()
    for n in range(1, 400):
        out += b"a" * (n % 511) + (b"\n", b"\r", b"\r\n", b"\r\0")[n % 4]
    out += bytes(range(256)) + b"\r"
    return bytes(out)


def make_tree(tmp):
    root = os.path.join(tmp, "root")
    os.mkdir(root)
    for name, size in (("z0", 0), ("s511", 511), ("s512", 512),
                       ("s513", 513), ("m1", 1048576)):
        FILES[name] = os.urandom(size)
    FILES["text.txt"] = text_bytes()
    for name, content in FILES.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(content)
        os.chmod(os.path.join(root, name), 0o644)
    with open(os.path.join(tmp, "outside"), "wb") as f:
        f.write(b"outside the root\n")
    os.chmod(os.path.join(tmp, "outside"), 0o644)
    os.mkdir(os.path.join(root, "sub"))
    os.chmod(os.path.join(root, "sub"), 0o755)
    os.symlink("s511", os.path.join(root, "link_ok"))
    os.symlink("../s513", os.path.join(root, "sub", "up_link"))
    os.symlink("/etc/passwd", os.path.join(root, "link_abs"))
    os.symlink("../outside", os.path.join(root, "link_out"))
    os.mkfifo(os.path.join(root, "fifo"))
    os.chmod(os.path.join(root, "fifo"), 0o666)
    os.mkdir(os.path.join(root, "adir"))
    os.chmod(os.path.join(root, "adir"), 0o755)
    with open(os.path.join(root, "secret"), "wb") as f:
        f.write(b"not world-readable\n")
    os.chmod(os.path.join(root, "secret"), 0o600)
    with open(os.path.join(root, "ro.bin"), "wb") as f:
        f.write(b"existing, not world-writable\n")
    # 0444: refused whoever runs the test (a file the daemon's own user
    # owns and may write is replaced; see reupload.sh)
    os.chmod(os.path.join(root, "ro.bin"), 0o444)
    FILES["keep.bin"] = os.urandom(3000)
    with open(os.path.join(root, "keep.bin"), "wb") as f:
        f.write(FILES["keep.bin"])
    os.chmod(os.path.join(root, "keep.bin"), 0o666)
    # the daemon may run as nobody/tftp: uploads need a writable root
    os.chmod(tmp, 0o755)
    os.chmod(root, 0o777)
    return root


# --- cases: files and paths ---------------------------------------------------

@case("missing file -> ERROR 1 File not found")
def _():
    refused(RO, "no-such-file", 1, "File not found")


@case("'../x' -> ERROR 2")
def _():
    refused(RO, "../x", 2)
    refused(RO, "../outside", 2)


@case("'a/../../x' -> ERROR 2")
def _():
    refused(RO, "a/../../x", 2)
    refused(RO, "sub/../../outside", 2)


@case("'/etc/passwd': leading / stripped, not found in the root -> ERROR 1")
def _():
    refused(RO, "/etc/passwd", 1, "File not found")


@case("leading '/', '//' and './' are served from the root")
def _():
    for name in ("/s511", "//s511", "./s511", "/./s511"):
        with RO.client() as c:
            got, _ = c.get(name)
        expect(got == FILES["s511"], "%r content differs" % name)


@case("control character, empty name, trailing '/' -> ERROR 2")
def _():
    refused(RO, "s5\x0111", 2)
    refused(RO, "evil\nresult=ok", 2)
    refused(RO, "", 2)
    refused(RO, "sub/", 2)


@case("symlink to /etc/passwd -> ERROR 2")
def _():
    refused(RO, "link_abs", 2)


@case("symlink to ../outside -> ERROR 2")
def _():
    refused(RO, "link_out", 2)


@case("relative symlinks inside the root are served")
def _():
    with RO.client() as c:
        got, _ = c.get("link_ok")
    expect(got == FILES["s511"], "link_ok content differs")
    with RO.client() as c:
        got, _ = c.get("sub/up_link")
    expect(got == FILES["s513"], "sub/up_link content differs")


@case("FIFO -> ERROR 2 Not a regular file within 2 s (no hang)")
def _():
    refused(RO, "fifo", 2, "Not a regular file", within=2.0)
    expect(RO.alive(), "daemon died")


@case("directory -> ERROR 2 Not a regular file within 2 s")
def _():
    refused(RO, "adir", 2, "Not a regular file", within=2.0)
    refused(RO, "sub", 2, "Not a regular file", within=2.0)


@case("file not world-readable -> ERROR 2")
def _():
    refused(RO, "secret", 2)


# --- cases: modes -------------------------------------------------------------

@case("mode mail -> ERROR 4 Mail mode not supported")
def _():
    refused(RO, "s511", 4, "Mail mode not supported", mode="mail")
    refused(RO, "s511", 4, "Mail mode not supported", mode="MAIL")


@case("unknown mode -> ERROR 4 Unknown mode")
def _():
    refused(RO, "s511", 4, "Unknown mode", mode="binary")
    refused(RO, "s511", 4, "Unknown mode", mode="octets")
    refused(RO, "s511", 4, mode="")


@case("mode names are case-insensitive (OCTET, NetAscii)")
def _():
    with RO.client() as c:
        got, _ = c.get("s513", "OCTET")
    expect(got == FILES["s513"], "OCTET content differs")
    with RO.client() as c:
        got, _ = c.get("text.txt", "NetAscii")
    expect(got == t.netascii_encode(FILES["text.txt"]),
           "NetAscii wire bytes differ from the encoding")


@case("netascii RRQ: wire bytes = independent encoding (blksize 512, 8, 1428)")
def _():
    want = t.netascii_encode(FILES["text.txt"])
    for opts in ((), (("blksize", "8"),), (("blksize", "1428"),)):
        with RO.client() as c:
            got, _ = c.get("text.txt", "netascii", opts)
        expect(got == want, "netascii %r: %d bytes, expected %d%s" % (
            opts, len(got), len(want),
            "" if len(got) != len(want) else " (content differs)"))
        expect(t.netascii_decode(got) == FILES["text.txt"],
               "decoding gives back other bytes")


@case("netascii of a binary file (every byte value) round-trips")
def _():
    with RO.client() as c:
        got, _ = c.get("m1", "netascii", (("blksize", "1428"),))
    expect(got == t.netascii_encode(FILES["m1"]), "wire bytes differ")


# --- cases: options -----------------------------------------------------------

def oack_for(name, options, mode="octet"):
    c, p = rrq_first(RO, name, mode, options)
    try:
        expect_oack(p, "%r: " % (options,))
        return p
    finally:
        end(c, p)


@case("blksize 8192 acknowledged, DATA 1 has 8192 bytes")
def _():
    c, p = rrq_first(RO, "m1", options=(("blksize", "8192"),))
    try:
        expect_oack(p)
        expect(p.opt("blksize") == "8192", "OACK %r" % p.options)
        c.send(t.ack(0))
        expect_data(c.recv(), 1, 8192)
    finally:
        end(c)


@case("blksize 70000 -> OACK blksize 65464, DATA 1 has 65464 bytes")
def _():
    c, p = rrq_first(RO, "m1", options=(("blksize", "70000"),))
    try:
        expect_oack(p)
        expect(p.opt("blksize") == "65464", "OACK %r" % p.options)
        c.send(t.ack(0))
        expect_data(c.recv(), 1, 65464)
    finally:
        end(c)


@case("blksize 4 is not acknowledged (no OACK: DATA 1 of 512 bytes)")
def _():
    c, p = rrq_first(RO, "m1", options=(("blksize", "4"),))
    try:
        expect_data(p, 1, 512)
    finally:
        end(c)
    p = oack_for("m1", (("blksize", "4"), ("tsize", "0")))
    expect(p.count("blksize") == 0, "blksize in OACK %r" % p.options)
    expect(p.opt("tsize") == "1048576", "OACK %r" % p.options)


@case("OACK options in the request's order (U-Boot reads them by position)")
def _():
    p = oack_for("m1", (("tsize", "0"), ("blksize", "1468"),
                        ("windowsize", "4")))
    expect(p.options == [("tsize", "1048576"), ("blksize", "1468"),
                         ("windowsize", "4")], "OACK %r" % p.options)
    p = oack_for("m1", (("windowsize", "4"), ("bogus", "1"),
                        ("timeout", "3"), ("blksize", "1468"),
                        ("tsize", "0")))
    expect(p.options == [("windowsize", "4"), ("timeout", "3"),
                         ("blksize", "1468"), ("tsize", "1048576")],
           "OACK %r" % p.options)


@case("non-numeric blksize ignored")
def _():
    p = oack_for("m1", (("blksize", "12ab"), ("tsize", "0")))
    expect(p.count("blksize") == 0, "blksize in OACK %r" % p.options)


@case("option names are case-insensitive (BLKSIZE)")
def _():
    c, p = rrq_first(RO, "m1", options=(("BLKSIZE", "1024"),))
    try:
        expect_oack(p)
        expect(p.opt("blksize") == "1024", "OACK %r" % p.options)
        c.send(t.ack(0))
        expect_data(c.recv(), 1, 1024)
    finally:
        end(c)


@case("duplicated option: first wins, answered once")
def _():
    p = oack_for("m1", (("blksize", "1024"), ("blksize", "2048"),
                        ("BlkSize", "4096")))
    expect(p.count("blksize") == 1, "OACK %r" % p.options)
    expect(p.opt("blksize") == "1024", "OACK %r" % p.options)


@case("unknown option ignored")
def _():
    c, p = rrq_first(RO, "s513", options=(("foo", "bar"),))
    try:
        expect_data(p, 1, 512)
    finally:
        end(c)
    p = oack_for("s513", (("foo", "bar"), ("tsize", "0"), ("x", "")))
    expect(p.count("foo") == 0 and p.count("x") == 0, "OACK %r" % p.options)
    expect(p.opt("tsize") == "513", "OACK %r" % p.options)


@case("tsize 0 on RRQ -> exact size (0, 511, 512, 1 MiB)")
def _():
    for name in ("z0", "s511", "s512", "m1"):
        p = oack_for(name, (("tsize", "0"),))
        expect(p.opt("tsize") == str(len(FILES[name])),
               "%s: OACK %r, size %d" % (name, p.options, len(FILES[name])))


@case("tsize on a netascii RRQ -> size of the netascii encoding")
def _():
    want = len(t.netascii_encode(FILES["text.txt"]))
    expect(want != len(FILES["text.txt"]), "test file needs conversions")
    p = oack_for("text.txt", (("tsize", "0"),), mode="netascii")
    expect(p.opt("tsize") == str(want),
           "OACK %r, expected tsize %d" % (p.options, want))


@case("timeout 1..255 acknowledged verbatim")
def _():
    for v in ("1", "17", "255"):
        p = oack_for("m1", (("timeout", v),))
        expect(p.opt("timeout") == v, "timeout %s: OACK %r" % (v, p.options))


@case("timeout 0 and 256 ignored")
def _():
    for v in ("0", "256", "-1", "x"):
        p = oack_for("m1", (("timeout", v), ("tsize", "0")))
        expect(p.count("timeout") == 0,
               "timeout %s: OACK %r" % (v, p.options))


@case("windowsize 4 acknowledged")
def _():
    p = oack_for("m1", (("windowsize", "4"),))
    expect(p.opt("windowsize") == "4", "OACK %r" % p.options)


@case("windowsize 0 ignored")
def _():
    p = oack_for("m1", (("windowsize", "0"), ("tsize", "0")))
    expect(p.count("windowsize") == 0, "OACK %r" % p.options)


@case("OACK: no DATA before ACK 0; ACK 0 starts the data")
def _():
    c, p = rrq_first(RO, "s513", options=(("blksize", "1024"),))
    try:
        expect_oack(p)
        extra = c.recv(0.5)
        expect(extra is None, "%r before ACK 0" % extra)
        c.send(t.ack(0))
        p = c.recv()
        expect_data(p, 1, 513)
        c.send(t.ack(1))
        expect(c.recv(0.5) is None, "packet after the final ACK")
    finally:
        c.close()


@case("an OACK not acknowledged is not sent again until the request is")
def _():
    # The client has not answered: its source may be forged, so no timer
    # resends the OACK (unverified_retransmits = 0); a repeat of the
    # request, as a client that lost the OACK sends, gets it again.
    req = t.rrq("m1", options=(("blksize", "1024"),))
    c = RO.client()
    try:
        c.send_request(req)
        p = c.recv()
        expect_oack(p)
        tid = c.peer
        p2 = c.recv(2.5 * TIMEOUT)
        expect(p2 is None, "%r without a repeated request" % p2)
        c.send_request(req)
        p2 = c.recv()
        expect_oack(p2, "answer to the repeat: ")
        expect(p2.options == p.options, "%r != %r" % (p2.options, p.options))
        expect(c.peer == tid, "from %r, not the TID %r" % (c.peer, tid))
        c.send(t.ack(0))
        expect_data(c.recv(), 1, 1024)
    finally:
        end(c)


# --- cases: the transfer state machine ------------------------------------------

@case("final empty DATA block for a 512-byte file; nothing after the last ACK")
def _():
    c, p = rrq_first(RO, "s512")
    try:
        expect_data(p, 1, 512)
        c.send(t.ack(1))
        expect_data(c.recv(), 2, 0)
        c.send(t.ack(2))
        p = c.recv(TIMEOUT * 2.5)
        expect(p is None, "%r after the final ACK" % p)
    finally:
        c.close()


@case("0-byte file: one empty DATA 1")
def _():
    c, p = rrq_first(RO, "z0")
    try:
        expect_data(p, 1, 0)
        c.send(t.ack(1))
    finally:
        c.close()


@case("duplicate ACK is not answered (no Sorcerer's Apprentice)")
def _():
    # timeout 3 negotiated: retransmissions come every 3 s exactly, so
    # within 1.5 s of the duplicate only the one DATA 2 may arrive.
    c, p = rrq_first(RO, "m1", options=(("timeout", "3"),))
    try:
        expect_oack(p)
        c.send(t.ack(0))
        expect_data(c.recv(), 1, 512)
        c.send(t.ack(1))
        c.send(t.ack(1))
        got = c.recv_all(1.5)
        expect(len(got) == 1, "after ACK 1 twice: %r" % got)
        expect_data(got[0], 2, 512)
        # and a stale ACK (0) is ignored too
        c.send(t.ack(0))
        got = c.recv_all(0.8)
        expect(got == [], "after stale ACK 0: %r" % got)
    finally:
        end(c)


@case("retransmission on silence: DATA 2 again after ~timeout, then backoff")
def _():
    # DATA 2: the timer resends only for a client that has answered (ACK
    # 1 here); DATA 1 unanswered is the unverified case below.
    c, p = rrq_first(RO, "m1")
    try:
        expect_data(p, 1, 512)
        c.send(t.ack(1))
        p = c.recv()
        t0 = time.monotonic()
        expect_data(p, 2, 512)
        p = c.recv(3.0)
        t1 = time.monotonic()
        expect_data(p, 2, 512, "first retransmission: ")
        expect(0.6 * TIMEOUT <= t1 - t0 <= 2.0 * TIMEOUT,
               "first retransmission after %.2f s" % (t1 - t0))
        p = c.recv(4.0)
        t2 = time.monotonic()
        expect_data(p, 2, 512, "second retransmission: ")
        expect(t2 - t1 >= 1.5 * TIMEOUT,
               "no backoff: second retransmission %.2f s after the first"
               % (t2 - t1))
        expect(p.payload == FILES["m1"][512:1024],
               "retransmitted bytes differ")
    finally:
        end(c)


@case("unverified: DATA 1 unanswered is not sent again by a timer")
def _():
    c, p = rrq_first(RO, "m1")
    try:
        expect_data(p, 1, 512)
        got = c.recv_all(2.5 * TIMEOUT)
        expect(got == [], "without an answer or a repeat: %r" % got)
    finally:
        end(c)


@case("bounded give-up: ERROR 0 Timeout after %d retries, then silence"
      % RETRIES)
def _():
    c, p = rrq_first(RO, "m1", options=(("timeout", "1"),))
    try:
        expect_oack(p)
        c.send(t.ack(0))
        expect_data(c.recv(), 1, 512)
        t0 = time.monotonic()
        again = 0
        while True:
            p = c.recv(3.0)
            expect(p is not None, "silence after %d retransmissions, "
                   "no ERROR 0" % again)
            if p.op == t.ERROR:
                break
            expect_data(p, 1, 512)
            again += 1
            expect(again <= RETRIES, "more than %d retransmissions" % RETRIES)
        dt = time.monotonic() - t0
        expect_error(p, 0, "Timeout")
        # retries = retransmissions before giving up (xfer.h)
        expect(again == RETRIES, "%d retransmissions before giving up, "
               "expected %d" % (again, RETRIES))
        expect(dt <= (RETRIES + 1) * 1.0 + 1.5,
               "gave up only after %.2f s" % dt)
        late = c.recv_all(2.5)
        expect(late == [], "packets after the ERROR: %r" % late)
    finally:
        c.close()


@case("windowsize 4: ACK 0 -> DATA 1..4; ACK 2 inside the window -> DATA 3..6 at once")
def _():
    c, p = rrq_first(RO, "m1", options=(("windowsize", "4"),
                                        ("timeout", "3")))
    try:
        expect_oack(p)
        expect(p.opt("windowsize") == "4", "OACK %r" % p.options)
        c.send(t.ack(0))
        got = c.recv_all(0.8)
        expect([x.block for x in got if x.op == t.DATA] == [1, 2, 3, 4]
               and len(got) == 4, "after ACK 0: %r" % got)
        c.send(t.ack(2))
        got = c.recv_all(0.8)
        expect([x.block for x in got if x.op == t.DATA] == [3, 4, 5, 6]
               and len(got) == 4, "after ACK 2: %r" % got)
        for x in got:
            expect(x.payload == FILES["m1"][(x.block - 1) * 512:
                                            x.block * 512],
                   "DATA %d bytes differ" % x.block)
        c.send(t.ack(6))
        got = c.recv_all(0.8)
        expect([x.block for x in got] == [7, 8, 9, 10],
               "after ACK 6: %r" % got)
    finally:
        end(c)


@case("whole files at windowsize 16 / blksize 1428 and windowsize 64 / 8192")
def _():
    for opts in ((("windowsize", "16"), ("blksize", "1428")),
                 (("windowsize", "64"), ("blksize", "8192"))):
        for name in ("s512", "m1"):
            with RO.client() as c:
                got, _ = c.get(name, options=opts)
            expect(got == FILES[name], "%s %r content differs" % (name, opts))


# --- cases: hostile input ---------------------------------------------------------

def answers(d, pkt, wait=1.0, settle=0.2):
    """What the server sends back: the first packet within wait seconds,
    then whatever follows within settle seconds."""
    with d.client() as c:
        c.send_request(pkt)
        first = c.recv(wait)
        got = [first] + c.recv_all(settle) if first is not None else []
        if c.peer is not None and got and got[0].op in (t.OACK, t.DATA):
            c.send(t.error(0, "test done"))
    return got


@case("0- and 1-byte datagrams are dropped")
def _():
    for pkt in (b"", b"\x00", b"\x01", b"\xff"):
        got = answers(RO, pkt, 0.5)
        expect(got == [], "%r answered with %r" % (pkt, got))
    good_rrq(RO)


@case("DATA/ACK/OACK/unknown opcodes on the listen port -> ERROR 4; ERROR not answered")
def _():
    for pkt in (t.data(1, b"x"), t.ack(0), b"\x00\x06blksize\x00512\x00",
                b"\x00\x07abc", b"\x00\x00", b"\xff\xff\x00\x01"):
        got = answers(RO, pkt, 1.0)
        expect(len(got) == 1, "%r: %r" % (pkt, got))
        expect_error(got[0], 4, what="%r: " % pkt)
    got = answers(RO, t.error(0, "hello"), 0.5)
    expect(got == [], "ERROR answered with %r" % got)


@case("every truncation of a valid RRQ is survived and answered correctly")
def _():
    opts = (("blksize", "1428"), ("tsize", "0"))
    full = t.rrq("s511", "octet", opts)
    mode_end = len(t.rrq("s511", "octet"))
    for cut in range(len(full)):
        pkt = full[:cut]
        got = answers(RO, pkt, 0.5 if cut < 2 else 1.0)
        if cut < 2:
            expect(got == [], "%r answered: %r" % (pkt, got))
            continue
        expect(got, "%r: no answer" % pkt)
        p = got[0]
        if cut < mode_end:
            expect_error(p, 4, what="%r: " % pkt)
            continue
        if p.op == t.OACK:
            expect(p.opt("blksize") in (None, "1428") and
                   p.opt("tsize") in (None, "511"),
                   "%r: OACK %r" % (pkt, p.options))
        elif p.op == t.DATA:
            expect_data(p, 1, 511, "%r: " % pkt)
        else:
            expect_error(p, 4, what="%r: " % pkt)
    expect(RO.alive(), "daemon died")
    good_rrq(RO)


@case("random junk datagrams are survived")
def _():
    seed = int(os.environ.get("RAW_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    with RO.client() as c:
        for i in range(400):
            n = rng.choice((0, 1, 2, 3, 4, 5, 8, 16, 64, 512, 600, 1500))
            pkt = bytearray(rng.getrandbits(8) for _ in range(n))
            if n >= 2 and rng.random() < 0.5:
                pkt[0:2] = rng.choice((b"\0\1", b"\0\2", b"\0\3", b"\0\4",
                                       b"\0\5", b"\0\6"))
            if rng.random() < 0.3:
                pkt = pkt.replace(b"\0", b"", rng.randrange(4))
            c.sock.sendto(bytes(pkt), c.server)
        # answers do not matter; give the daemon time to chew
        c.recv_all(1.0)
    expect(RO.alive(), "daemon died (seed %d)" % seed)
    good_rrq(RO)


@case("huge requests (3000 options, 60000-byte names and values) are survived")
def _():
    many = [("x%d" % i, "v" * 10) for i in range(3000)]
    for pkt in (t.rrq("s511", "octet", many),
                t.rrq("s511", "octet", (("blksize", "9" * 60000),)),
                t.rrq("s511", "octet", (("y" * 60000, "1"),)),
                t.rrq("n" * 65000, "octet"),
                t.rrq("s511", "o" * 65000),
                t.rrq("s511", "octet", (("blksize", "99999999999999999999"),
                                        ("tsize", "0")))):
        got = answers(RO, pkt, 1.0)
        if got:
            p = got[0]
            expect(p.op in (t.ERROR, t.DATA, t.OACK), "answer %r" % p)
            if p.op == t.OACK:
                expect(p.opt("blksize") in (None, "65464"),
                       "OACK %r" % p.options)
        expect(RO.alive(), "daemon died after %d-byte request" % len(pkt))
    good_rrq(RO)


@case("WRQ without -c -> ERROR 2 Uploads are disabled, nothing created")
def _():
    before = listing(ROOT)
    refused(RO, "upload.bin", 2, "Uploads are disabled", op=t.WRQ)
    refused(RO, "keep.bin", 2, "Uploads are disabled", op=t.WRQ)
    expect(listing(ROOT) == before, "root changed: %r" % listing(ROOT))


@case("the refused requests did not kill the read-only daemon")
def _():
    expect(RO.alive(), "daemon is not running")
    good_rrq(RO)


# --- cases: uploads (-c, max_file_size 1M) -------------------------------------------

def stored(name):
    with open(os.path.join(ROOT, name), "rb") as f:
        return f.read()


def upload_logged(port, name):
    """Wait (bounded) until the upload daemon has logged the upload of
    NAME from client PORT.  A worker writes a turn's log lines once the
    turn is over, so by then the transfer's file is closed: committed,
    or its temporary gone."""
    line = 'client=127.0.0.1:%d op=wrq file="%s" ' % (port, name)
    expect(t.wait_for(10, lambda: line in RW.log()),
           "the upload of %s from port %d was not logged" % (name, port))


def temporaries(before):
    """Names that appeared in the root besides the expected ones."""
    return [n for n in listing(ROOT) if n not in before]


@case("WRQ upload with -c: 0, 511, 512, 513 bytes, 1 MiB at window 4/blksize 1428")
def _():
    for name in ("z0", "s511", "s512", "s513"):
        with RW.client() as c:
            c.put("up_" + name, FILES[name])
        expect(stored("up_" + name) == FILES[name], "%s differs" % name)
    with RW.client() as c:
        oack = c.put("up_m1", FILES["m1"], options=(
            ("blksize", "1428"), ("windowsize", "4"),
            ("tsize", str(MAX_FILE))))
    expect(oack is not None and oack.opt("tsize") == str(MAX_FILE),
           "OACK %r" % (oack and oack.options))
    expect(stored("up_m1") == FILES["m1"], "m1 upload differs")
    st = os.stat(os.path.join(ROOT, "up_m1"))
    expect(stat.S_IMODE(st.st_mode) == 0o644,
           "mode %o, expected 0644 (0666 & ~umask 022)" % st.st_mode)


@case("WRQ netascii: the encoded upload is stored decoded")
def _():
    with RW.client() as c:
        c.put("up_text", t.netascii_encode(FILES["text.txt"]), "netascii")
    expect(stored("up_text") == FILES["text.txt"], "decoded content differs")


@case("WRQ tsize above max_file_size -> ERROR 3 File too large, no file")
def _():
    before = listing(ROOT)
    c = RW.client()
    c.send_request(t.wrq("toolarge", options=(("tsize", str(MAX_FILE + 1)),)))
    p = c.recv()
    c.close()
    expect_error(p, 3, "File too large")
    expect(listing(ROOT) == before, "root changed: %r" % temporaries(before))


@case("WRQ data beyond max_file_size -> ERROR 3, no file, no temporary")
def _():
    before = listing(ROOT)
    c = RW.client()
    port = c.port
    try:
        c.send_request(t.wrq("toolarge2", options=(("blksize", "65464"),)))
        p = c.recv()
        expect_oack(p)
        block = os.urandom(65464)
        for n in range(1, 20):
            c.send(t.data(n, block))
            p = c.recv()
            expect(p is not None, "silence after DATA %d" % n)
            if p.op == t.ERROR:
                break
            expect(p.op == t.ACK and p.block == n,
                   "got %r after DATA %d" % (p, n))
        expect_error(p, 3, "File too large")
        expect(n * 65464 > MAX_FILE, "refused at %d bytes" % (n * 65464))
    finally:
        c.close()
    upload_logged(port, "toolarge2")
    expect(listing(ROOT) == before, "left behind: %r" % temporaries(before))


@case("WRQ over an existing file that is not world-writable -> ERROR 2")
def _():
    before = stored("ro.bin")
    refused(RW, "ro.bin", 2, op=t.WRQ)
    expect(stored("ro.bin") == before, "ro.bin changed")


@case("WRQ refusals: '../x' -> 2, mode mail -> 4, directory -> 2")
def _():
    refused(RW, "../x", 2, op=t.WRQ)
    refused(RW, "x", 4, "Mail mode not supported", mode="mail", op=t.WRQ)
    refused(RW, "adir", 2, op=t.WRQ)


@case("DATA longer than blksize -> ERROR 4, no file")
def _():
    before = listing(ROOT)
    c = RW.client()
    port = c.port
    try:
        c.send_request(t.wrq("toolong"))
        p = c.recv()
        expect(p is not None and p.op == t.ACK and p.block == 0,
               "got %r" % p)
        c.send(t.data(1, b"x" * 600))
        expect_error(c.recv(), 4)
    finally:
        c.close()
    upload_logged(port, "toolong")
    expect(listing(ROOT) == before, "left behind: %r" % temporaries(before))


@case("interrupted upload (client stops after block 3): no file, no temporary")
def _():
    before = listing(ROOT)
    c = RW.client()
    port = c.port
    try:
        c.send_request(t.wrq("intr.bin", options=(("timeout", "1"),)))
        p = c.recv()
        expect_oack(p)
        for n in (1, 2, 3):
            c.send(t.data(n, os.urandom(512)))
            p = c.recv()
            expect(p is not None and p.op == t.ACK and p.block == n,
                   "got %r after DATA %d" % (p, n))
        again = 0
        deadline = time.monotonic() + (RETRIES + 1) * 1.0 + 3.0
        while time.monotonic() < deadline:
            p = c.recv(deadline - time.monotonic())
            if p is None or p.op == t.ERROR:
                break
            expect(p.op == t.ACK and p.block == 3, "got %r" % p)
            again += 1
        expect_error(p, 0, "Timeout")
        expect(again >= 1, "the last ACK was never retransmitted")
    finally:
        c.close()
    upload_logged(port, "intr.bin")
    expect(listing(ROOT) == before, "left behind: %r" % temporaries(before))


@case("aborted overwrite (client ERROR mid-upload) keeps the old content")
def _():
    before = listing(ROOT)
    c = RW.client()
    port = c.port
    try:
        c.send_request(t.wrq("keep.bin"))
        p = c.recv()
        expect(p is not None and p.op == t.ACK and p.block == 0,
               "got %r" % p)
        for n in (1, 2):
            c.send(t.data(n, b"N" * 512))
            p = c.recv()
            expect(p is not None and p.op == t.ACK and p.block == n,
                   "got %r after DATA %d" % (p, n))
        c.send(t.error(0, "client gives up"))
        extra = c.recv(0.5)
        expect(extra is None, "answer to the client's ERROR: %r" % extra)
    finally:
        c.close()
    upload_logged(port, "keep.bin")
    expect(stored("keep.bin") == FILES["keep.bin"], "keep.bin changed")
    expect(listing(ROOT) == before, "left behind: %r" % temporaries(before))


@case("overwrite of a world-writable file works")
def _():
    new = os.urandom(1500)
    with RW.client() as c:
        c.put("keep.bin", new)
    expect(stored("keep.bin") == new, "keep.bin not replaced")
    FILES["keep.bin"] = new


@case("lost ACK: a repeated block is re-ACKed; dally: final DATA again -> final ACK again")
def _():
    content = os.urandom(1100)
    c = RW.client()
    try:
        c.send_request(t.wrq("dally.bin"))
        p = c.recv()
        expect(p is not None and p.op == t.ACK and p.block == 0,
               "got %r" % p)
        blocks = [content[0:512], content[512:1024], content[1024:]]
        c.send(t.data(1, blocks[0]))
        p = c.recv()
        expect(p is not None and p.op == t.ACK and p.block == 1, "got %r" % p)
        c.send(t.data(1, blocks[0]))
        p = c.recv(0.8)
        expect(p is not None and p.op == t.ACK and p.block == 1,
               "repeated DATA 1: got %r" % p)
        for n in (2, 3):
            c.send(t.data(n, blocks[n - 1]))
            p = c.recv()
            expect(p is not None and p.op == t.ACK and p.block == n,
                   "got %r after DATA %d" % (p, n))
        c.send(t.data(3, blocks[2]))
        p = c.recv(0.8 * TIMEOUT)
        expect(p is not None and p.op == t.ACK and p.block == 3,
               "final DATA again during the dally: got %r" % p)
        late = c.recv_all(1.0)
        expect(all(x.op == t.ACK and x.block == 3 for x in late),
               "unexpected %r" % late)
    finally:
        c.close()
    expect(stored("dally.bin") == content, "dally.bin differs")


@case("the daemons are still running after every refusal")
def _():
    expect(RO.alive(), "read-only daemon is not running")
    expect(RW.alive(), "upload daemon is not running")
    good_rrq(RO)
    good_rrq(RW)


# --- main ---------------------------------------------------------------------------

def main():
    global RO, RW, ROOT
    tftpd = os.environ.get("TFTPD")
    if not tftpd and os.environ.get("TOP_BUILDDIR"):
        tftpd = os.path.join(os.environ["TOP_BUILDDIR"], "src",
                             "snowowl-tftpd")
    if not tftpd:
        hard_error("TFTPD is not set (run through make check)")
    if not os.access(tftpd, os.X_OK):
        hard_error("daemon not built: %s" % tftpd)
    tmp = tempfile.mkdtemp(prefix="snowowl-raw.")
    daemons = []
    try:
        ROOT = make_tree(tmp)
        # Many requests from 127.0.0.1 at once: per-client limits off.
        conf = ("[transfer]\ntimeout = %d\nretries = %d\n"
                "[limits]\nper_client_transfers = 0\n"
                "per_client_rate = 0\n" % (TIMEOUT, RETRIES))
        RO = Daemon(tftpd, tmp, "ro", conf, [], ROOT)
        daemons.append(RO)
        RW = Daemon(tftpd, tmp, "rw", conf + "[write]\nmax_file_size = %d\n"
                    % MAX_FILE, ["-c"], ROOT)
        daemons.append(RW)
        run_cases(CASES, FAILED, sys.argv[1:])
        for d in daemons:
            st = d.stop()
            if st != 0:
                FAILED.append("stop " + d.name)
                print("not ok - daemon %s stops cleanly on SIGTERM: "
                      "status %r" % (d.name, st))
            else:
                print("ok - daemon %s stops cleanly on SIGTERM" % d.name)
        if FAILED:
            for d in daemons:
                print("# daemon %s log (last 40 lines):" % d.name)
                for line in d.log().splitlines()[-40:]:
                    print("#   " + line)
    finally:
        for d in daemons:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("# %d cases, %d failed" % (len(CASES) + 2, len(FAILED)))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
