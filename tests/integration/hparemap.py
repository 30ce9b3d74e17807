#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
"""tftp-hpa's remap rules against ours: tftp-hpa's sample.rules and a
rule file of our own (every operation and escape) go through in.tftpd
(-m, on loopback, IPv4 and IPv6) and through snowowl-tftpd --map-test,
with the same names and requests.  What in.tftpd did is seen from the
outside: for each name the file at the name --map-test predicts holds
that name, so in.tftpd must serve exactly it (or refuse with ERROR 2
when we refuse; an upload must create exactly it).  A difference fails
unless it is a documented one (DIFFERENT below, as snowowl-tftpd(8)
says).  Needs in.tftpd ($IN_TFTPD, /opt/tftpd-hpa/usr/sbin/in.tftpd as
contrib/setup-debian.sh unpacks it, or on $PATH) and root (in.tftpd -s
chroots); skips (77) otherwise.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tftpraw as t  # noqa: E402

TFTPD = os.environ.get("TFTPD")

SAMPLE = r"""# tftp-hpa's sample.rules (its documentation)
ri	^[a-z]:				# Remove "drive letters"
rg	\\		/		# Convert backslashes to slashes
rg	\#		@		# Convert hash marks to @ signs
rg	/../		/..no../	# Convert /../ to /..no../
e	^ok/				# These are always ok
r	^[^/]		/tftpboot/\0	# Convert non-absolute files
a	\.pvt$				# Reject requests for private files
"""

OURS = r"""# rule 1 is where an s rule restarts (in.tftpd(8)); tftp-hpa 5.2 resumes
# at rule 2
r	^again/			restarted/
rg	\\			/
ri	^boot/(.*)$		boot/\L\1
r	^pxelinux\.cfg/default$	pxelinux.cfg/\x
r	^byip/			ip/\i/
re	^fixed/			final/\0
r	^final/			wrong/
r	^caps/([a-z]+)-([a-z]+)$	caps/\U\1\E-\2
a	\.secret$
a~	^[a-z]
rG	^get/			got/
rP	^put/			uploaded/
r	^sub/(.)(.)(.)(.)(.)(.)(.)(.)(.)$	sub/\9\8\7\6\5\4\3\2\1
r	^hash/			hash\#\ x/
r4	^v/			v4/
r6	^v/			v6/
rs	^loop/			again/
rg	^dots/(.*)\.(.*)$	dots/\1_\2
"""

# (rules, op, name, client): op "r" RRQ, "w" WRQ; client 4 or 6
CASES = [
    ("sample", "r", "C:\\Boot\\x64\\wdsnbp.com", 4),
    ("sample", "r", "c:boot.ini", 4),
    ("sample", "r", "a#b#c", 4),
    ("sample", "r", "x/../y", 4),
    ("sample", "r", "/abs/file", 4),
    ("sample", "r", "ok/file.pvt", 4),
    ("sample", "r", "secret.pvt", 4),
    ("sample", "r", "dir/private.pvt", 6),
    ("ours", "r", "Boot\\PXELinux.0", 4),
    ("ours", "r", "pxelinux.cfg/default", 4),
    ("ours", "r", "pxelinux.cfg/default", 6),
    ("ours", "r", "byip/f", 4),
    ("ours", "r", "byip/f", 6),
    ("ours", "r", "fixed/a", 4),
    ("ours", "r", "caps/abc-def", 4),
    ("ours", "r", "x.secret", 4),
    ("ours", "r", "9file", 4),
    ("ours", "r", "get/x", 4),
    ("ours", "r", "sub/abcdefghi", 4),
    ("ours", "r", "hash/f", 4),
    ("ours", "r", "v/f", 4),
    ("ours", "r", "v/f", 6),
    ("ours", "r", "loop/x", 4),
    ("ours", "r", "dots/a.b.c", 4),
    ("ours", "r", "plain", 4),
    ("ours", "r", "up/../../x", 4),
    ("ours", "w", "put/f", 4),
    ("ours", "w", "get/w", 4),
    ("ours", "w", "Boot\\Up.BIN", 4),
]

# Documented differences (snowowl-tftpd(8), FILENAME REMAPPING): what we
# give (None: refused) and what in.tftpd 5.2 gives instead.
DIFFERENT = {
    # after s we restart at rule 1, tftp-hpa 5.2 at rule 2
    ("ours", "loop/x"): ("restarted/x", "again/x"),
    # not the remap but the path rules: we refuse any ".." component
    # (ERROR 2), in.tftpd -s resolves it inside its chroot (here to /x)
    ("ours", "up/../../x"): (None, "ERROR 1 File not found"),
}


def skip(why):
    print("1..0 # SKIP " + why)
    sys.exit(77)


def find_hpa():
    for p in (os.environ.get("IN_TFTPD"),
              "/opt/tftpd-hpa/usr/sbin/in.tftpd",
              shutil.which("in.tftpd"), "/usr/sbin/in.tftpd"):
        if p and os.access(p, os.X_OK):
            return p
    return None


def map_test(rules, name, op, client):
    args = [TFTPD, "--map-test", rules, name,
            "127.0.0.1" if client == 4 else "::1"]
    if op == "w":
        args.append("--wrq")
    p = subprocess.run(args, capture_output=True, text=True, timeout=10)
    line = (p.stdout + p.stderr).strip()
    prefix = name + " -> "
    if p.returncode == 0 and line.startswith(prefix):
        return line[len(prefix):]
    if p.returncode == 1 and ": refused" in line:
        return None
    raise RuntimeError("--map-test %r: exit %d %r" % (name, p.returncode,
                                                       line))


def beneath(root, new):
    return os.path.join(root, new.lstrip("/"))


def start_hpa(hpa, host, port, rules, root, log):
    addr = "%s:%d" % (host if host[0] != ":" else "[%s]" % host, port)
    p = subprocess.Popen([hpa, "-L", "-a", addr, "-s", "-c", "-p",
                          "-U", "000", "-u", "root", "-m", rules,
                          "-v", "-v", "-v", root],
                         stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    if not t.ping(host, port, 10):
        p.kill()
        p.wait()
        raise RuntimeError("in.tftpd does not answer on %s" % addr)
    return p


def hpa_does(host, port, op, name, root, want):
    """What in.tftpd did: the name it served or created (as far as the
    prepared files tell), None for an ERROR 2, else a description."""
    with t.Client(host, port, timeout=5) as c:
        try:
            if op == "r":
                got, _ = c.get(name)
                return got.decode("utf-8", "replace")
            c.put(name, b"uploaded " + name.encode())
        except IOError as e:
            return None if str(e).startswith("ERROR 2 ") else str(e)
    # the upload: it must have created the file we predicted
    if want is not None:
        path = beneath(root, want)
        for _ in range(100):
            try:
                with open(path, "rb") as f:
                    if f.read() == b"uploaded " + name.encode():
                        return want
            except OSError:
                pass
            time.sleep(0.05)
    return "an upload somewhere else"


def main():
    if not TFTPD:
        print("TFTPD is not set (run through make check)")
        return 99
    hpa = find_hpa()
    if hpa is None:
        skip("in.tftpd not found (IN_TFTPD, /opt/tftpd-hpa, PATH)")
    if os.geteuid() != 0:
        skip("in.tftpd -s needs root (it chroots)")
    tmp = tempfile.mkdtemp(prefix="hparemap.")
    procs = []
    failed = 0
    n = 0
    try:
        files = {"sample": os.path.join(tmp, "sample.rules"),
                 "ours": os.path.join(tmp, "ours.rules")}
        with open(files["sample"], "w") as f:
            f.write(SAMPLE)
        with open(files["ours"], "w") as f:
            f.write(OURS)
        roots = {k: os.path.join(tmp, "root-" + k) for k in files}
        # our predictions, and each predicted file holding its own name
        want = {}
        for rules, op, name, client in CASES:
            new = map_test(files[rules], name, op, client)
            want[(rules, op, name, client)] = new
            expect = DIFFERENT.get((rules, name), (None, None))[1]
            for target in (new, expect):
                if target is None or target.startswith("ERROR"):
                    continue
                path = beneath(roots[rules], target)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                if op == "r":
                    with open(path, "w") as f:
                        f.write(target)
        log = open(os.path.join(tmp, "in.tftpd.log"), "w")
        ports = {}
        for rules in files:
            for fam, host in ((4, "127.0.0.1"), (6, "::1")):
                port = t.free_port(t.socket.AF_INET if fam == 4
                                   else t.socket.AF_INET6)
                procs.append(start_hpa(hpa, host, port, files[rules],
                                       roots[rules], log))
                ports[(rules, fam)] = (host, port)
        for case in CASES:
            rules, op, name, client = case
            n += 1
            ours = want[case]
            host, port = ports[(rules, client)]
            theirs = hpa_does(host, port, op, name, roots[rules], ours)
            diff = DIFFERENT.get((rules, name))
            expect = diff[1] if diff else ours
            label = "%s %s %r from IPv%d: ours %s, in.tftpd %s" % (
                rules, "RRQ" if op == "r" else "WRQ", name, client,
                ours or "refused", theirs or "refused")
            if diff and ours != diff[0]:
                print("not ok %d - %s (expected from us: %s)"
                      % (n, label, diff[0] or "refused"))
                failed += 1
            elif theirs == expect:
                note = " (documented difference)" if expect != ours else ""
                print("ok %d - %s%s" % (n, label, note))
            else:
                print("not ok %d - %s (expected from in.tftpd: %s)"
                      % (n, label, expect or "refused"))
                failed += 1
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
