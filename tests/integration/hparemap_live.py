#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
"""The remap rules in the running servers: the rule files of hparemap.py
(tftp-hpa's sample.rules and ours: every operation and escape) go to a
running in.tftpd -m FILE and a running snowowl-tftpd -m FILE, and the
same real TFTP requests over loopback (IPv4 and IPv6) go to both.  Each
server serves its own copy of one tree in which every name a rule can
lead to holds its own name, so what was served tells which name the
rules made; a refusal is the ERROR sent; an upload is found by its
content.  The two must do the same, unless the case is one of the
documented differences (DIFFERENT), and then each side must do exactly
what is documented for it.  Needs in.tftpd and root; skips (77)
otherwise.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tftpraw as t  # noqa: E402
import hparemap as h  # noqa: E402

TFTPD = os.environ.get("TFTPD")

CASES = h.CASES + [
    ("sample", "r", "D:\\ok\\x.pvt", 4),
    ("sample", "w", "c:\\new\\file.bin", 4),
    ("ours", "r", "BOOT/Menu.C32", 6),
    ("ours", "r", "pxelinux.cfg/other", 4),
    ("ours", "r", "caps/Abc-def", 4),
    ("ours", "w", "put/sub/f", 6),
    ("ours", "r", "put/f", 4),
    ("ours", "r", "x.secret", 6),
]

# Documented differences, as results: (ours, in.tftpd 5.2's).  Each
# side is held to its value.
DIFFERENT = {
    # snowowl-tftpd(8), FILENAME REMAPPING: after s we restart at rule 1,
    # tftp-hpa 5.2 at rule 2
    ("ours", "r", "loop/x", 4): ("served restarted/x", "served again/x"),
    # the path rules, not the remap: we refuse any ".." component, in.tftpd
    # -s resolves it inside its chroot (to /x, which is not there)
    ("ours", "r", "up/../../x", 4): ("ERROR 2", "ERROR 1"),
}


def skip(why):
    print("1..0 # SKIP " + why)
    sys.exit(77)


def start_ours(rules, root, rundir, conf, log):
    """snowowl-tftpd -m rules on 127.0.0.1 and ::1, one port."""
    for _ in range(3):
        port = t.free_port(t.socket.AF_INET)
        p = subprocess.Popen([TFTPD, "-L", "-a", "127.0.0.1:%d" % port,
                              "-a", "[::1]:%d" % port, "--config", conf,
                              "--runtime-dir", rundir, "--workers", "1"] +
                             t.user_args() + [
                              "-c", "-p", "-U", "000", "-m", rules, root],
                             stdout=log, stderr=log,
                             stdin=subprocess.DEVNULL)
        if t.ping("127.0.0.1", port, 10):
            return p, port
        p.kill()
        p.wait()
    raise RuntimeError("snowowl-tftpd does not answer")


def uploaded(root, name):
    """Where in root the upload of name landed (its content says), or
    None; bounded: the server may still be committing it."""
    content = b"uploaded " + name.encode()
    for _ in range(100):
        for d, _, fs in os.walk(root):
            for f in fs:
                path = os.path.join(d, f)
                try:
                    with open(path, "rb") as fp:
                        if fp.read() == content:
                            return os.path.relpath(path, root)
                except OSError:
                    pass
        time.sleep(0.05)
    return None


def does(host, port, op, name, root):
    """What a server did: "served CONTENT", "uploaded PATH" or
    "ERROR code"."""
    with t.Client(host, port, timeout=5) as c:
        try:
            if op == "r":
                got, _ = c.get(name)
                return "served " + got.decode("utf-8", "replace")
            c.put(name, b"uploaded " + name.encode())
        except IOError as e:
            # the code: messages are each server's own wording
            return " ".join(str(e).split()[:2])
    return "uploaded %s" % uploaded(root, name)


def populate(root, targets, dirs):
    for d in dirs:
        os.makedirs(h.beneath(root, d), exist_ok=True)
    for target in targets:
        path = h.beneath(root, target)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(target)
    # uploads by the service user (ours) and by root (in.tftpd)
    for d, _, _ in os.walk(root):
        os.chmod(d, 0o777)


def main():
    if not TFTPD:
        print("TFTPD is not set (run through make check)")
        return 99
    hpa = h.find_hpa()
    if hpa is None:
        skip("in.tftpd not found (IN_TFTPD, /opt/tftpd-hpa, PATH)")
    if os.geteuid() != 0:
        skip("in.tftpd -s needs root (it chroots)")
    h.TFTPD = TFTPD
    tmp = tempfile.mkdtemp(prefix="hparemap-live.")
    os.chmod(tmp, 0o755)
    procs = []
    failed = 0
    n = 0
    try:
        files = {"sample": os.path.join(tmp, "sample.rules"),
                 "ours": os.path.join(tmp, "ours.rules")}
        with open(files["sample"], "w") as f:
            f.write(h.SAMPLE)
        with open(files["ours"], "w") as f:
            f.write(h.OURS)
        conf = os.path.join(tmp, "conf")
        with open(conf, "w") as f:
            # Requests faster than a client's: per-client limits off.
            f.write("[limits]\nper_client_transfers = 0\n"
                    "per_client_rate = 0\n"
                    "[transfer]\ntimeout = 1\nretries = 3\n")
        # every name a case can lead to, by our rules or a documented
        # difference, holds its own name in both trees
        targets = {k: set() for k in files}
        dirs = {k: set() for k in files}
        for rules, op, name, client in CASES:
            new = h.map_test(files[rules], name, op, client)
            if op == "r" and new is not None:
                targets[rules].add(new)
            elif new is not None:
                dirs[rules].add(os.path.dirname(new))
            diff = DIFFERENT.get((rules, op, name, client))
            for res in diff or ():
                if res.startswith("served "):
                    targets[rules].add(res[len("served "):])
        roots = {}
        for rules in files:
            for side in ("ours", "hpa"):
                r = os.path.join(tmp, "root-%s-%s" % (rules, side))
                populate(r, targets[rules], dirs[rules])
                roots[(rules, side)] = r
        log = open(os.path.join(tmp, "servers.log"), "w")
        ports = {}
        for rules in files:
            for fam, host in ((4, "127.0.0.1"), (6, "::1")):
                port = t.free_port(t.socket.AF_INET if fam == 4
                                   else t.socket.AF_INET6)
                procs.append(h.start_hpa(hpa, host, port, files[rules],
                                         roots[(rules, "hpa")], log))
                ports[(rules, "hpa", fam)] = (host, port)
            p, port = start_ours(files[rules], roots[(rules, "ours")],
                                 os.path.join(tmp, "run-" + rules), conf,
                                 log)
            procs.append(p)
            ports[(rules, "ours", 4)] = ("127.0.0.1", port)
            ports[(rules, "ours", 6)] = ("::1", port)
        for case in CASES:
            rules, op, name, client = case
            n += 1
            got = {}
            for side in ("ours", "hpa"):
                host, port = ports[(rules, side, client)]
                got[side] = does(host, port, op, name,
                                 roots[(rules, side)])
            label = "%s %s %r from IPv%d: ours %s, in.tftpd %s" % (
                rules, "RRQ" if op == "r" else "WRQ", name, client,
                got["ours"], got["hpa"])
            diff = DIFFERENT.get(case)
            if diff is None and got["ours"] == got["hpa"]:
                print("ok %d - %s" % (n, label))
            elif diff is not None and (got["ours"], got["hpa"]) == diff:
                print("ok %d - %s (documented difference)" % (n, label))
            else:
                print("not ok %d - %s%s" % (n, label, "" if diff is None
                      else " (documented: ours %s, in.tftpd %s)" % diff))
                failed += 1
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if failed:
            try:
                with open(os.path.join(tmp, "servers.log")) as f:
                    for line in f.readlines()[-30:]:
                        print("# " + line.rstrip())
            except OSError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
