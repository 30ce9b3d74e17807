#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
"""Raw TFTP packets for the integration tests (standard library only).

Builds RRQ/WRQ/DATA/ACK/ERROR datagrams, sends them from one UDP socket and
parses what comes back.  The protocol is written here from the RFCs, not
from the daemon's code, so the tests check the daemon against an
independent reading.  Also a small command line tool used by the shell
tests:

    tftpraw.py ping HOST PORT [SECONDS]     wait until the server answers
    tftpraw.py get HOST PORT FILE OUT [MODE] [name=value ...]
                                            (from $TFTPRAW_SOURCE if set)
    tftpraw.py freeport [4|6]               print a free UDP port (not ephemeral)
    tftpraw.py netascii IN OUT              encode a file as netascii
"""

import os
import random
import socket
import struct
import sys
import time

RRQ, WRQ, DATA, ACK, ERROR, OACK = 1, 2, 3, 4, 5, 6
OPNAMES = {RRQ: "RRQ", WRQ: "WRQ", DATA: "DATA", ACK: "ACK",
           ERROR: "ERROR", OACK: "OACK"}


def b(s):
    return s if isinstance(s, bytes) else str(s).encode()


def request(op, filename, mode="octet", options=()):
    """options: iterable of (name, value) pairs, kept in order."""
    pkt = struct.pack("!H", op) + b(filename) + b"\0" + b(mode) + b"\0"
    for name, value in options:
        pkt += b(name) + b"\0" + b(value) + b"\0"
    return pkt


def rrq(filename, mode="octet", options=()):
    return request(RRQ, filename, mode, options)


def wrq(filename, mode="octet", options=()):
    return request(WRQ, filename, mode, options)


def data(block, payload):
    return struct.pack("!HH", DATA, block & 0xffff) + payload


def ack(block):
    return struct.pack("!HH", ACK, block & 0xffff)


def error(code, msg=""):
    return struct.pack("!HH", ERROR, code) + b(msg) + b"\0"


def netascii_encode(raw):
    """RFC 764/1350: CR -> CR NUL, LF -> CR LF (CR first, so the CR that
    LF becomes is not itself escaped)."""
    return raw.replace(b"\r", b"\r\0").replace(b"\n", b"\r\n")


def netascii_decode(wire):
    out = bytearray()
    i = 0
    while i < len(wire):
        c = wire[i]
        if c == 0x0d and i + 1 < len(wire):
            nxt = wire[i + 1]
            if nxt == 0x0a:
                out.append(0x0a)
                i += 2
                continue
            if nxt == 0x00:
                out.append(0x0d)
                i += 2
                continue
        out.append(c)
        i += 1
    return bytes(out)


class Packet:
    def __init__(self, raw, peer):
        self.raw = raw
        self.peer = peer
        self.op = struct.unpack("!H", raw[:2])[0] if len(raw) >= 2 else None
        self.block = None
        self.payload = b""
        self.code = None
        self.msg = None
        self.options = []       # [(name, value)] as received, in order
        if self.op in (DATA, ACK) and len(raw) >= 4:
            self.block = struct.unpack("!H", raw[2:4])[0]
            self.payload = raw[4:]
        elif self.op == ERROR and len(raw) >= 4:
            self.code = struct.unpack("!H", raw[2:4])[0]
            self.msg = raw[4:].split(b"\0", 1)[0].decode("latin-1")
        elif self.op == OACK:
            fields = raw[2:].split(b"\0")
            if fields and fields[-1] == b"":
                fields.pop()
            for i in range(0, len(fields) - 1, 2):
                self.options.append((fields[i].decode("latin-1"),
                                     fields[i + 1].decode("latin-1")))

    def opt(self, name):
        """Value of an OACK option (name compared case-insensitively)."""
        vals = [v for n, v in self.options if n.lower() == name.lower()]
        return vals[0] if vals else None

    def count(self, name):
        return sum(1 for n, _ in self.options if n.lower() == name.lower())

    def __repr__(self):
        name = OPNAMES.get(self.op, "op%r" % self.op)
        if self.op == DATA:
            return "DATA %d (%d bytes)" % (self.block, len(self.payload))
        if self.op == ACK:
            return "ACK %d" % self.block
        if self.op == ERROR:
            return "ERROR %d %r" % (self.code, self.msg)
        if self.op == OACK:
            return "OACK %r" % self.options
        return "%s %r" % (name, self.raw[:32])


class Client:
    """One UDP socket = one client TID.  The first answer fixes the
    server's TID; later sends go there."""

    def __init__(self, host="127.0.0.1", port=69, timeout=2.0, source=None):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        # room for a whole window of big blocks (capped by rmem_max)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        # source: another local address (127.0.0.2), another client
        self.sock.bind((source or host, 0))
        self.server = (host, port)
        self.peer = None
        self.timeout = timeout

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def port(self):
        return self.sock.getsockname()[1]

    def send_request(self, pkt):
        self.peer = None
        self.sock.sendto(pkt, self.server)

    def send(self, pkt):
        """To the server's transfer TID (after its first answer)."""
        if self.peer is None:
            raise RuntimeError("no transfer TID yet")
        self.sock.sendto(pkt, self.peer)

    def recv(self, timeout=None):
        """Next packet or None after timeout seconds."""
        t = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + t
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                raw, peer = self.sock.recvfrom(70000)
            except socket.timeout:
                return None
            if self.peer is None:
                self.peer = peer[:2]
            p = Packet(raw, peer[:2])
            return p

    def recv_all(self, duration):
        """Every packet that arrives within duration seconds."""
        out = []
        deadline = time.monotonic() + duration
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            p = self.recv(left)
            if p is None:
                return out
            out.append(p)

    def get(self, filename, mode="octet", options=(), timeout=5.0):
        """A whole RRQ, window 1 or as negotiated.  Returns (bytes,
        oack_packet_or_None).  Raises on ERROR or silence."""
        self.send_request(rrq(filename, mode, options))
        blksize, window = 512, 1
        p = self.recv(timeout)
        oack = None
        if p is None:
            raise TimeoutError("no answer to RRQ %r" % filename)
        if p.op == OACK:
            oack = p
            # tftp-hpa's blksize2 sets the block size as blksize does
            for name in ("blksize2", "blksize"):
                if p.opt(name):
                    blksize = int(p.opt(name))
            if p.opt("windowsize"):
                window = int(p.opt("windowsize"))
            self.send(ack(0))
            p = self.recv(timeout)
        out = bytearray()
        expect = 1
        nacked = False      # ACKed the last in-order block since progress
        silent_since = time.monotonic()
        while True:
            if p is None:
                if time.monotonic() - silent_since >= timeout:
                    raise TimeoutError("silence waiting for DATA %d"
                                       % expect)
                # RFC 7440: after a loss, tell the sender where we are
                self.send(ack(expect - 1))
                p = self.recv(0.5)
                continue
            silent_since = time.monotonic()
            if p.op == ERROR:
                raise IOError("ERROR %d %s" % (p.code, p.msg))
            if p.op != DATA:
                raise IOError("unexpected %r" % p)
            if p.block == (expect & 0xffff):
                out += p.payload
                nacked = False
                last = len(p.payload) < blksize
                if last or expect % window == 0:
                    self.send(ack(expect))
                if last:
                    return bytes(out), oack
                expect += 1
            elif window > 1 and not nacked:
                # a gap (a block of the window was lost, e.g. our socket
                # buffer overflowed): restart the window after the last
                # block we have, once per loss
                self.send(ack(expect - 1))
                nacked = True
            p = self.recv(0.5)

    def put(self, filename, content, mode="octet", options=(), timeout=5.0):
        """A whole WRQ at window 1 (or negotiated).  Returns the OACK or
        None; raises on ERROR or silence."""
        self.send_request(wrq(filename, mode, options))
        blksize, window = 512, 1
        p = self.recv(timeout)
        oack = None
        if p is None:
            raise TimeoutError("no answer to WRQ %r" % filename)
        if p.op == ERROR:
            raise IOError("ERROR %d %s" % (p.code, p.msg))
        if p.op == OACK:
            oack = p
            if p.opt("blksize"):
                blksize = int(p.opt("blksize"))
            if p.opt("windowsize"):
                window = int(p.opt("windowsize"))
        elif not (p.op == ACK and p.block == 0):
            raise IOError("unexpected %r" % p)
        nblocks = len(content) // blksize + 1
        acked = 0
        while acked < nblocks:
            last = min(nblocks, acked + window)
            for n in range(acked + 1, last + 1):
                self.send(data(n, content[(n - 1) * blksize:n * blksize]))
            p = self.recv(timeout)
            if p is None:
                raise TimeoutError("silence waiting for ACK %d" % last)
            if p.op == ERROR:
                raise IOError("ERROR %d %s" % (p.code, p.msg))
            if p.op != ACK:
                raise IOError("unexpected %r" % p)
            # the 16-bit block number back to our 64-bit index
            base = acked & ~0xffff
            n = base | p.block
            if n < acked:
                n += 0x10000
            if n > acked:
                acked = n
        return oack


def sysctl_ints(name, default):
    """The integers of /proc/sys/net/ipv4/NAME, or default."""
    try:
        with open("/proc/sys/net/ipv4/" + name) as f:
            return tuple(int(x) for x in f.read().split())
    except (OSError, ValueError):
        return default


def user_args():
    """As root without a tftp user, the daemon's -u nobody: a master
    started as root never falls back to it unasked."""
    import pwd
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("tftp")
        return []
    except KeyError:
        return ["-u", "nobody"]


def free_port(family=socket.AF_INET):
    """A UDP port nobody is bound to right now on loopback, outside the
    kernel's ephemeral range.  A client that lets the kernel bind its
    socket at the first send, with SO_REUSEADDR set (busybox's tftp), may
    be given any ephemeral port held by another SO_REUSEADDR socket, the
    daemon's listen socket included: the daemon's replies to it then go
    to the daemon's own, more specific, 127.0.0.1 socket and the client
    never hears from it.  No client is given a port outside that range."""
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    low, high = sysctl_ints("ip_local_port_range", (32768, 60999))
    # A daemon run as another user must be allowed to bind it.
    first = max(1024, sysctl_ints("ip_unprivileged_port_start", (1024,))[0])
    ports = [p for p in range(first, 65536) if not low <= p <= high]
    # Port 0 last: the kernel's own choice, should the range leave no room.
    for port in random.sample(ports, min(len(ports), 100)) + [0]:
        s = socket.socket(family, socket.SOCK_DGRAM)
        try:
            s.bind((host, port))
            return s.getsockname()[1]
        except OSError:
            continue
        finally:
            s.close()
    raise OSError("no free UDP port on %s" % host)


def ping(host, port, seconds=10.0):
    """True once the server answers any request (a missing file is fine)."""
    deadline = time.monotonic() + seconds
    with Client(host, port) as c:
        while time.monotonic() < deadline:
            c.send_request(rrq("__snowowl_ping__"))
            p = c.recv(0.2)
            if p is not None:
                return True
    return False


def wait_for(seconds, cond, interval=0.05):
    """Poll cond() every interval seconds: True once it holds, False if it
    still does not after seconds (bounded in tries as well)."""
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds / interval) + 1):
        if cond():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
    return False


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "ping":
        secs = float(argv[4]) if len(argv) > 4 else 10.0
        return 0 if ping(argv[2], int(argv[3]), secs) else 1
    if cmd == "freeport":
        fam = socket.AF_INET6 if len(argv) > 2 and argv[2] == "6" \
            else socket.AF_INET
        print(free_port(fam))
        return 0
    if cmd == "netascii":
        with open(argv[2], "rb") as f:
            raw = f.read()
        with open(argv[3], "wb") as f:
            f.write(netascii_encode(raw))
        return 0
    if cmd == "get":
        host, port, name, out = argv[2], int(argv[3]), argv[4], argv[5]
        mode = "octet"
        rest = argv[6:]
        if rest and "=" not in rest[0]:
            mode = rest.pop(0)
        opts = [tuple(a.split("=", 1)) for a in rest]
        with Client(host, port,
                    source=os.environ.get("TFTPRAW_SOURCE")) as c:
            try:
                content, oack = c.get(name, mode, opts)
            except (IOError, TimeoutError) as e:
                print("client_port=%d %s" % (c.port, e))
                return 1
            with open(out, "wb") as f:
                f.write(content)
            print("client_port=%d oack=%r" % (c.port,
                  oack.options if oack else None))
        return 0
    print("unknown command %r" % cmd, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
