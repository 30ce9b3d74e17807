#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
"""What real boot clients need from the request handling, with raw
packets on real sockets, in both transports (a socket per transfer, and
single_port):

- PXELINUX sends the same RRQ twice from one port: one transfer, one
  server TID, the repeat counted (requests_repeated); so is a retry that
  arrives after the client answered our (retransmitted) first packet;
- the Raspberry Pi ROM sends a new RRQ from the port of a transfer still
  running: the old one ends at once, silently (transfers_replaced), and
  only the new file's packets arrive;
- EDK2's ERROR 8 after an OACK, PXELINUX's ERROR 0 after the OACK or the
  last ACK: not answered, not failures (transfers_aborted), logged at
  info where failures are at notice;
- PXE ROMs and GRUB probing lists of names: a missing file is answered
  at once, logged at info, below a real failure (notice);
- Windows Deployment Services: msftwindow is not acknowledged, and its
  5-byte ACKs are ACKs;
- a WRQ whose tsize exceeds the free space is refused with ERROR 3 before
  anything is written (2^62 bytes anywhere; a 1 MiB tmpfs when root);
- single_port, the workers replaced (a change of [write] enable): a
  running transfer ends with ERROR 0 "Server restarting", and so is its
  client's next ACK answered by the new worker, not ERROR 5.

The daemons log as to systemd's journal (JOURNAL_STREAM), so every line
carries its priority.

Prints "ok - ..." / "not ok - ..." per case and exits 1 on any failure
(77 skip, 99 hard error, as automake expects).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tftpraw as t  # noqa: E402
from raw import Daemon, Fail, expect, hard_error, run_cases  # noqa: E402

TIMEOUT = 1             # server [transfer] timeout, seconds
RETRIES = 3
FILES = {}
CASES = []
FAILED = []
TFTPCTL = None


def case(name):
    def deco(fn):
        CASES.append((name, fn))
        return fn
    return deco


def stats(d):
    """The daemon's summed counters (tftpctl stats --json)."""
    out = subprocess.run([TFTPCTL, "-d", d.rundir, "stats", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=20, check=False)
    if out.returncode != 0:
        raise Fail("tftpctl stats: %s" % out.stderr.decode(errors="replace"))
    return json.loads(out.stdout)["totals"]


def delta(after, before, key):
    return after.get(key, 0) - before.get(key, 0)


def settle(d, seconds=10.0):
    """Wait (bounded) until no transfer runs, so counters are final."""
    ok = t.wait_for(seconds, lambda: stats(d)["active_transfers"] == 0)
    expect(ok, "transfers still running after %.0f s" % seconds)


def log_lines(d, pattern):
    """The daemon's log lines matching the regular expression."""
    return [l for l in d.log().splitlines() if re.search(pattern, l)]


def wait_log(d, pattern, seconds=5.0):
    """The first line matching pattern, waited for (bounded)."""
    ok = t.wait_for(seconds, lambda: log_lines(d, pattern))
    expect(ok, "%s: no log line matches %r" % (d.name, pattern))
    return log_lines(d, pattern)[0]


def lockstep(c, first, blksize, what, pad=b""):
    """Download in window 1 from the first answer (DATA 1, or OACK: ACK 0
    first), every packet from the transfer's TID, each ACK followed by
    pad; the bytes."""
    data = bytearray()
    p = first
    if p.op == t.OACK:
        c.send(t.ack(0) + pad)
        p = c.recv()
    block, tries = 1, 0
    while True:
        if p is None:
            tries += 1
            expect(tries <= 5, "%s: silence waiting for DATA %d"
                   % (what, block))
            c.send(t.ack(block - 1) + pad)
            p = c.recv()
            continue
        expect(p.peer == c.peer, "%s: %r from %r, the transfer is %r"
               % (what, p, p.peer, c.peer))
        expect(p.op == t.DATA, "%s: got %r" % (what, p))
        if p.block == block & 0xffff:
            tries = 0
            data += p.payload
            c.send(t.ack(block) + pad)
            if len(p.payload) < blksize:
                return bytes(data)
            block += 1
        p = c.recv()


# --- one transfer per request ---------------------------------------------------

def repeat_case(d, options, blksize):
    before = stats(d)
    req = t.rrq("k3", options=options)
    with d.client() as c:
        c.send_request(req)
        time.sleep(0.05)        # PXELINUX's fast retry: 50 ms later
        c.sock.sendto(req, c.server)
        got = c.recv_all(0.5)
        expect(got, "no answer to the RRQ")
        peers = {p.peer for p in got}
        expect(len(peers) == 1, "answered from %d TIDs: %r"
               % (len(peers), got))
        first = got[0]
        expect(first.op in (t.OACK, t.DATA), "first answer %r" % first)
        # the repeat is answered with the first packet again, at once
        # (the retransmission timer is 1 s away)
        expect(len(got) == 2, "%d answers in 0.5 s: %r" % (len(got), got))
        for p in got[1:]:
            expect(p.op == first.op and p.block == first.block
                   and p.raw == first.raw,
                   "after %r, also %r" % (first, p))
        c.peer = first.peer
        data = lockstep(c, first, blksize, "repeat")
        expect(data == FILES["k3"], "content differs")
        late = c.recv_all(1.5)
        expect(not late, "after the last ACK: %r" % late)
    settle(d)
    after = stats(d)
    expect(delta(after, before, "transfers_ok") == 1,
           "transfers_ok +%d" % delta(after, before, "transfers_ok"))
    expect(delta(after, before, "transfers_failed") == 0,
           "transfers_failed +%d" % delta(after, before, "transfers_failed"))
    expect(delta(after, before, "requests_repeated") == 1,
           "requests_repeated +%d"
           % delta(after, before, "requests_repeated"))
    expect(delta(after, before, "rrq") == 2,
           "rrq +%d" % delta(after, before, "rrq"))


@case("the same RRQ twice 50 ms apart from one port: one TID, one transfer")
def _():
    for d in DAEMONS:
        repeat_case(d, (), 512)
        repeat_case(d, (("blksize", "1024"), ("tsize", "0")), 1024)


@case("the same RRQ after the client answered (its retry crossed our "
      "resend) changes nothing")
def _():
    for d in DAEMONS:
        before = stats(d)
        req = t.rrq("k3", options=(("blksize", "1024"),))
        with d.client() as c:
            c.send_request(req)
            oack = c.recv()
            expect(oack is not None and oack.op == t.OACK, "k3: %r" % oack)
            c.peer = oack.peer
            c.send(t.ack(0))
            first = c.recv()
            expect(first is not None and first.op == t.DATA and
                   first.block == 1, "after ACK 0: %r" % first)
            # the client's retry of its RRQ, sent before our OACK reached
            # it, arrives after its ACK 0
            c.sock.sendto(req, c.server)
            data = lockstep(c, first, 1024, "k3 after a late retry")
            expect(data == FILES["k3"], "content differs")
            late = c.recv_all(1.5)
            expect(not late, "after the last ACK: %r" % late)
        settle(d)
        after = stats(d)
        for key, want in (("transfers_ok", 1), ("transfers_replaced", 0),
                          ("transfers_failed", 0), ("requests_repeated", 1)):
            expect(delta(after, before, key) == want, "%s: %s +%d"
                   % (d.name, key, delta(after, before, key)))


@case("a new RRQ from the port of a running transfer replaces it silently")
def _():
    for d in DAEMONS:
        before = stats(d)
        with d.client() as c:
            c.send_request(t.rrq("m1"))
            first = c.recv()
            expect(first is not None and first.op == t.DATA,
                   "m1: %r" % first)
            old = first.peer
            # no ACK: the new request from the same port, as the Pi's ROM
            c.send_request(t.rrq("s513"))
            p = c.recv()
            expect(p is not None, "no answer to the second RRQ")
            expect(p.op == t.DATA and p.block == 1 and
                   p.payload == FILES["s513"][:512],
                   "the second RRQ got %r" % p)
            if d.name == "conn":
                expect(p.peer != old, "the new transfer has the old TID")
            data = lockstep(c, p, 512, "s513")
            expect(data == FILES["s513"], "s513 content differs")
            # longer than the retransmission interval (and its backoff)
            late = c.recv_all(2.5 * TIMEOUT)
            expect(not late, "after the new transfer: %r" % late)
        settle(d)
        after = stats(d)
        for key, want in (("transfers_replaced", 1), ("transfers_ok", 1),
                          ("transfers_failed", 0)):
            expect(delta(after, before, key) == want, "%s: %s +%d"
                   % (d.name, key, delta(after, before, key)))


# --- the client's ERROR --------------------------------------------------------

@case("client ERROR 8 / ERROR 0 after the OACK or the last ACK: not answered, "
      "not failed, logged at info")
def _():
    for d in DAEMONS:
        before = stats(d)
        ends = (("tsize-only", (("tsize", "0"),), 8, "User aborted"),
                ("file-close", (("blksize", "1024"),), 0,
                 "No error, file close"))
        for name, opts, code, msg in ends:
            with d.client() as c:
                port = c.port
                c.send_request(t.rrq("k3", options=opts))
                p = c.recv()
                expect(p is not None and p.op == t.OACK, "%s: %r"
                       % (name, p))
                c.send(t.error(code, msg))
                late = c.recv_all(1.5 * TIMEOUT)
                expect(not late, "%s: the ERROR %d brought %r"
                       % (name, code, late))
            line = wait_log(d, r"transfer client=127\.0\.0\.1:%d .*"
                            r"result=aborted code=%d" % (port, code))
            expect(line.startswith("<6>"), "%s: logged %r" % (name, line))
        with d.client() as c:
            c.send_request(t.rrq("k3"))
            p = c.recv()
            expect(p is not None and p.op == t.DATA, "k3: %r" % p)
            data = lockstep(c, p, 512, "k3")
            expect(data == FILES["k3"], "k3 content differs")
            c.send(t.error(0, "No error, file close"))
            late = c.recv_all(1.0)
            expect(not late, "ERROR 0 after the last ACK brought %r" % late)
        settle(d)
        after = stats(d)
        for key, want in (("transfers_aborted", 2), ("transfers_ok", 1),
                          ("transfers_failed", 0)):
            expect(delta(after, before, key) == want, "%s: %s +%d"
                   % (d.name, key, delta(after, before, key)))
        # a failure of ours, for comparison: a timeout at notice
        with d.client() as c:
            # the timeout option: a fixed interval, no backoff
            c.send_request(t.rrq("s513", options=(("timeout", "1"),)))
            expect(c.recv() is not None, "s513: no OACK")
            # ACK 0, then silence: a client that never answered would
            # end unverified (result=unanswered), not time out
            c.send(t.ack(0))
            port = c.port
            line = wait_log(d, r"transfer client=127\.0\.0\.1:%d .*"
                            r"result=timeout" % port,
                            (RETRIES + 2) * 8 * TIMEOUT)
        expect(line.startswith("<5>"), "a timeout logged %r" % line)


# --- misses ------------------------------------------------------------------------

@case("a missing file: ERROR 1 at once, logged at info; a refusal at notice")
def _():
    for d in DAEMONS:
        for name, code, prio in (("pxelinux.cfg/01-aa-bb", 1, "<6>"),
                                 ("../x", 2, "<5>")):
            with d.client() as c:
                port = c.port
                t0 = time.monotonic()
                c.send_request(t.rrq(name))
                p = c.recv()
                dt = time.monotonic() - t0
            expect(p is not None and p.op == t.ERROR and p.code == code,
                   "%s: %r" % (name, p))
            expect(dt < 0.5, "%s: answered after %.2f s" % (name, dt))
            line = wait_log(d, r"transfer client=127\.0\.0\.1:%d .*"
                            r"result=error code=%d" % (port, code))
            expect(line.startswith(prio), "%s: logged %r" % (name, line))


# --- Windows Deployment Services ---------------------------------------------

@case("WDS: msftwindow not acknowledged, 5-byte ACKs accepted")
def _():
    for d in DAEMONS:
        before = stats(d)
        with d.client() as c:
            c.send_request(t.rrq("m1", options=(
                ("blksize", "1456"), ("msftwindow", "31416"))))
            p = c.recv()
            expect(p is not None and p.op == t.OACK, "first answer %r" % p)
            expect(p.options == [("blksize", "1456")], "OACK %r" % p.options)
            data = lockstep(c, p, 1456, "wds", pad=b"\0")
            expect(data == FILES["m1"], "content differs")
        with d.client() as c:
            c.send_request(t.rrq("k3", options=(("msftwindow", "31416"),)))
            p = c.recv()
            expect(p is not None and p.op == t.DATA,
                   "msftwindow alone: %r" % p)
            data = lockstep(c, p, 512, "wds", pad=b"\1")
            expect(data == FILES["k3"], "content differs")
        settle(d)
        after = stats(d)
        for key, want in (("transfers_ok", 2), ("transfers_failed", 0),
                          ("retransmits", 0)):
            expect(delta(after, before, key) == want, "%s: %s +%d"
                   % (d.name, key, delta(after, before, key)))


# --- uploads announced too big ------------------------------------------------

def wrq_refused(d, root, name, size):
    before = sorted(os.listdir(root))
    with d.client() as c:
        c.send_request(t.wrq(name, options=(("tsize", str(size)),)))
        p = c.recv()
    expect(p is not None and p.op == t.ERROR and p.code == 3 and
           p.msg == "Disk full or allocation exceeded",
           "WRQ tsize %d: %r" % (size, p))
    expect(sorted(os.listdir(root)) == before, "the root changed: %r"
           % sorted(os.listdir(root)))


def wrq_ok(d, root, name, content):
    with d.client() as c:
        got = c.put(name, content, options=(("tsize", str(len(content))),))
    expect(got is not None, "upload failed")
    expect(t.wait_for(5, lambda: os.path.exists(os.path.join(root, name))),
           "%s not stored" % name)


@case("WRQ tsize above the free space -> ERROR 3, nothing created")
def _():
    for d in DAEMONS:
        wrq_refused(d, ROOT, "huge.img", 1 << 62)
    if os.geteuid() != 0:
        print("# (not root: the 1 MiB tmpfs part is left out)")
        return
    mnt = os.path.join(TMP, "small")
    os.mkdir(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0777",
                       "tmpfs", mnt], check=False).returncode != 0:
        print("# (mount of a tmpfs refused: that part is left out)")
        return
    d = None
    try:
        d = Daemon(TFTPD, TMP, "small", "[transfer]\ntimeout = 1\n",
                   ["-c"], mnt)
        wrq_refused(d, mnt, "big.img", 2 << 20)
        wrq_ok(d, mnt, "fits.img", os.urandom(100000))
    finally:
        if d is not None:
            d.stop()
        subprocess.run(["umount", mnt], check=False)


# --- single_port: the workers replaced (last: it changes write.enable) --------

def ctl_set(d, kv):
    out = subprocess.run([TFTPCTL, "-d", d.rundir, "set", kv],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=20, check=False)
    expect(out.returncode == 0, "tftpctl set %s: %s" % (kv, out.stderr))


@case("single_port, workers replaced: ERROR 0 Server restarting, also to "
      "the next ACK")
def _():
    d = [x for x in DAEMONS if x.name == "single"][0]
    with d.client() as c:
        c.send_request(t.rrq("m1"))
        p = c.recv()
        expect(p is not None and p.op == t.DATA, "m1: %r" % p)
        c.send(t.ack(1))
        p = c.recv()
        expect(p is not None and p.op == t.DATA and p.block == 2,
               "after ACK 1: %r" % p)
        ctl_set(d, "write.enable=no")   # replaces the workers
        p = c.recv(5.0)
        while p is not None and p.op == t.DATA:
            p = c.recv(5.0)     # the window's retransmission, at most
        expect(p is not None and p.op == t.ERROR and p.code == 0 and
               p.msg == "Server restarting", "at the roll: %r" % p)
        # the client had not seen the ERROR yet: its ACK reaches the new
        # worker (queued in the socket until that one reads it)
        c.send(t.ack(2))
        p = c.recv(5.0)
        expect(p is not None and p.op == t.ERROR and p.code == 0 and
               p.msg == "Server restarting" and p.peer == c.peer,
               "the next ACK: %r" % p)
    ctl_set(d, "write.enable=yes")


# --- main ---------------------------------------------------------------------------

def make_tree(tmp):
    root = os.path.join(tmp, "root")
    os.mkdir(root)
    for name, size in (("s513", 513), ("k3", 3000), ("m1", 1048576)):
        FILES[name] = os.urandom(size)
        with open(os.path.join(root, name), "wb") as f:
            f.write(FILES[name])
        os.chmod(os.path.join(root, name), 0o644)
    os.chmod(tmp, 0o755)
    os.chmod(root, 0o777)
    return root


def main():
    global DAEMONS, TFTPCTL, TFTPD, TMP, ROOT
    TFTPD = tftpd = os.environ.get("TFTPD")
    TFTPCTL = os.environ.get("TFTPCTL")
    if not tftpd or not TFTPCTL:
        hard_error("TFTPD or TFTPCTL is not set (run through make check)")
    for prog in (tftpd, TFTPCTL):
        if not os.access(prog, os.X_OK):
            hard_error("not built: %s" % prog)
    TMP = tmp = tempfile.mkdtemp(prefix="snowowl-boot.")
    DAEMONS = []
    try:
        ROOT = root = make_tree(tmp)
        # Every client here is 127.0.0.1, faster than a machine
        # booting: the per-client limits off (tests/integration/lib.sh).
        conf = ("[limits]\nper_client_transfers = 0\nper_client_rate = 0\n"
                "[transfer]\ntimeout = %d\nretries = %d\n"
                % (TIMEOUT, RETRIES))
        for name, extra in (("conn", ""), ("single", "single_port = yes\n")):
            # as systemd's journal: stderr a file JOURNAL_STREAM names
            log = os.path.join(tmp, name + ".log")
            open(log, "wb").close()
            st = os.stat(log)
            os.environ["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
            d = Daemon(tftpd, tmp, name, conf + extra, ["-c"], root)
            del os.environ["JOURNAL_STREAM"]
            d.rundir = os.path.join(tmp, name + ".run")
            DAEMONS.append(d)
        run_cases(CASES, FAILED, sys.argv[1:])
        for d in DAEMONS:
            if d.stop() != 0:
                FAILED.append("stop " + d.name)
                print("not ok - daemon %s stops cleanly" % d.name)
        if FAILED:
            for d in DAEMONS:
                print("# daemon %s log (last 40 lines):" % d.name)
                for line in d.log().splitlines()[-40:]:
                    print("#   " + line)
    finally:
        for d in DAEMONS:
            if d.proc.poll() is None:
                d.proc.kill()
                d.proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("# %d cases, %d failed" % (len(CASES), len(FAILED)))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
