#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
"""A boot file replaced by rename during a storm of downloads of it.

The workers share one read descriptor among the transfers of a file and
revalidate the name before they hand it out again (src/fdcache.c).  Here
a few dozen concurrent downloads of a 2 MiB file run while the file is
replaced by rename, A then B then A again (a new inode each time),
several times:

- every completed download is entirely A or entirely B (content
  compared with both: never a mix of the two);
- a download whose request went out after a rename had completed, and
  that received its first block before the next rename, has the new
  content: the next request sees the new file;
- after the storm, while the descriptor is still shared (within a
  heartbeat), an upload replaces the file and the next download has the
  uploaded bytes; so does one after a chmod to a non-public mode refuse.

Prints "ok - ..." / "not ok - ..." and exits 1 on a failure (99 hard
error), as automake expects.
"""

import hashlib
import os
import selectors
import shutil
import socket
import struct
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tftpraw as t  # noqa: E402
from raw import Daemon, Fail, expect, hard_error, run_cases  # noqa: E402

NAME = "kernel.img"
SIZE = 2 << 20
BLKSIZE = 8192
SESSIONS = 24
RENAMES = 6
PER_RENAME = 12         # downloads completed between two renames
DEADLINE = 120.0        # seconds for the whole storm, however loaded
RTO = 1.0               # our retransmission timeout, seconds
CASES = []
FAILED = []


def case(name):
    def deco(fn):
        CASES.append((name, fn))
        return fn
    return deco


class Session:
    """One stop-and-wait RRQ (blksize BLKSIZE) on a socket of its own."""

    def __init__(self, port, gen):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.bind(("127.0.0.1", 0))
        self.server = ("127.0.0.1", port)
        self.req = t.rrq(NAME, "octet", [("blksize", str(BLKSIZE))])
        self.gen_sent = gen         # renames done when the RRQ left
        self.gen_first = None       # ... when the first DATA came
        self.peer = None
        self.expect = 1
        self.out = bytearray()
        self.last = self.req
        self.sent_at = time.monotonic()
        self.error = None
        self.sock.sendto(self.req, self.server)

    def send(self, pkt):
        self.last = pkt
        self.sent_at = time.monotonic()
        self.sock.sendto(pkt, self.peer or self.server)

    def on_packet(self, gen):
        """True when the transfer is over (done or failed)."""
        raw, peer = self.sock.recvfrom(65536)
        if len(raw) < 4:
            return False
        op, num = struct.unpack("!HH", raw[:4])
        if op == t.ERROR:
            self.error = "ERROR %d %s" % (num, raw[4:-1].decode("replace"))
            return True
        if op == t.OACK:
            self.peer = peer
            self.send(t.ack(0))
            return False
        if op != t.DATA or (self.peer is not None and peer != self.peer):
            return False
        self.peer = peer
        if num != (self.expect & 0xffff):
            return False
        if self.gen_first is None:
            self.gen_first = gen
        payload = raw[4:]
        self.out += payload
        self.send(t.ack(num))
        self.expect += 1
        return len(payload) < BLKSIZE

    def retransmit(self, now):
        if now - self.sent_at >= RTO:
            self.send(self.last)

    def close(self):
        self.sock.close()


def storm(d, root, a, b):
    """Run the storm; returns (results, versions): results are
    (gen_sent, gen_first, sha256 or error), versions the sha256 the
    file had after each rename (versions[0]: before any)."""
    ha = hashlib.sha256(a).hexdigest()
    hb = hashlib.sha256(b).hexdigest()
    versions = [ha]
    sel = selectors.DefaultSelector()
    results = []
    gen = 0
    done_since = 0
    stage = os.path.join(os.path.dirname(root), "stage")

    def start():
        s = Session(d.port, gen)
        sel.register(s.sock, selectors.EVENT_READ, s)

    for _ in range(SESSIONS):
        start()
    end = time.monotonic() + DEADLINE
    while gen < RENAMES or done_since < PER_RENAME:
        if time.monotonic() > end:
            raise Fail("storm not over in %.0f s: %d downloads, %d renames"
                       % (DEADLINE, len(results), gen))
        if done_since >= PER_RENAME and gen < RENAMES:
            # A new inode each time, written beside the root (the same
            # file system) and renamed over the name in one step.
            with open(stage, "wb") as f:
                f.write(b if gen % 2 == 0 else a)
            os.chmod(stage, 0o644)
            os.rename(stage, os.path.join(root, NAME))
            gen += 1
            versions.append(hb if gen % 2 == 1 else ha)
            done_since = 0
        now = time.monotonic()
        for key, _ in sel.select(0.2):
            s = key.data
            try:
                over = s.on_packet(gen)
            except BlockingIOError:
                continue
            if not over:
                continue
            sel.unregister(s.sock)
            s.close()
            results.append((s.gen_sent, s.gen_first, s.error or
                            hashlib.sha256(s.out).hexdigest()))
            done_since += 1
            start()
        for key in list(sel.get_map().values()):
            key.data.retransmit(now)
    for key in list(sel.get_map().values()):
        key.data.close()
    sel.close()
    return results, versions


@case("downloads during renames: each entirely A or B, new requests new")
def _():
    d, root, a, b = STATE["d"], STATE["root"], STATE["a"], STATE["b"]
    results, versions = storm(d, root, a, b)
    both = set(versions)
    mixed = [r for r in results if r[2] not in both]
    expect(not mixed, "%d of %d downloads are neither A nor B: %r"
           % (len(mixed), len(results), mixed[:3]))
    # A request sent after rename g and answered before rename g + 1
    # was opened when the name was version g: it must have that.
    checked = [r for r in results if r[0] == r[1]]
    stale = [r for r in checked if r[2] != versions[r[0]]]
    expect(not stale, "%d of %d downloads requested after a rename got "
           "the file it replaced (first: sent after rename %d)"
           % (len(stale), len(checked), stale[0][0] if stale else 0))
    expect(len(checked) >= RENAMES, "only %d downloads to check"
           % len(checked))
    after = sum(1 for r in checked if r[0] > 0)
    expect(after >= RENAMES, "only %d checked downloads after a rename"
           % after)


@case("an upload over the shared file: the next download has its bytes")
def _():
    d, root = STATE["d"], STATE["root"]
    # The storm's last file is shared for one or two heartbeats: read it
    # once more so it is, then replace it through the server.
    with d.client() as c:
        c.get(NAME, options=[("blksize", str(BLKSIZE))])
    new = os.urandom(SIZE // 2 + 7)
    # Another user's file is replaced only when world-writable (root).
    os.chmod(os.path.join(root, NAME), 0o666)
    with d.client() as c:
        c.put(NAME, new, options=[("blksize", str(BLKSIZE))])
    expect(t.wait_for(10, lambda: open(os.path.join(root, NAME), "rb")
                      .read() == new), "the upload never landed")
    with d.client() as c:
        got, _ = c.get(NAME, options=[("blksize", str(BLKSIZE))])
    expect(got == new, "the download after the upload has %d bytes of "
           "the old file" % len(got))


@case("a chmod to a private mode: the next request is refused")
def _():
    d, root = STATE["d"], STATE["root"]
    with d.client() as c:
        c.get(NAME, options=[("blksize", str(BLKSIZE))])
    os.chmod(os.path.join(root, NAME), 0o640)
    with d.client() as c:
        try:
            c.get(NAME, options=[("blksize", str(BLKSIZE))])
        except IOError as e:
            expect("ERROR 2" in str(e), "refused with %s" % e)
            return
    raise Fail("a file no longer world-readable was still served")


STATE = {}


def main():
    tftpd = os.environ.get("TFTPD")
    if not tftpd:
        hard_error("TFTPD is not set (run through make check)")
    tmp = tempfile.mkdtemp(prefix="snowowl-replace.")
    os.chmod(tmp, 0o755)
    d = None
    try:
        root = os.path.join(tmp, "root")
        os.mkdir(root)
        # Uploads land in the root: the daemon may run as nobody/tftp.
        os.chmod(root, 0o777)
        a = os.urandom(SIZE)
        b = os.urandom(SIZE)
        with open(os.path.join(root, NAME), "wb") as f:
            f.write(a)
        os.chmod(os.path.join(root, NAME), 0o644)
        d = Daemon(tftpd, tmp, "replace",
                   "[transfer]\ntimeout = 1\n"
                   "[write]\nenable = yes\ncreate = yes\n"
                   "[limits]\nper_client_transfers = 0\n"
                   "per_client_rate = 0\n", [], root)
        STATE.update(d=d, root=root, a=a, b=b)
        run_cases(CASES, FAILED, sys.argv[1:])
        if FAILED:
            sys.stdout.write("# daemon log:\n")
            for line in d.log().splitlines()[-20:]:
                sys.stdout.write("#   | %s\n" % line)
    finally:
        if d is not None:
            d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
