#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
"""Drive a firmware's serial console, as expect(1) would, with bounds.

    fwconsole.py LOG SCRIPT -- COMMAND...

Runs COMMAND (a QEMU whose serial port is its standard input and
output), copies everything it prints to LOG, and follows SCRIPT, one
step a line:

    expect SECONDS REGEX      wait at most SECONDS for REGEX (Python re,
                              searched in the output after the previous
                              match, terminal escapes removed)
    send TEXT                 write TEXT and a carriage return
    print NAME GROUP          print "NAME=VALUE" on standard output,
                              VALUE the GROUP of the last match

Blank lines and lines starting with "#" are ignored.  Exit 0 when every
step is done, 1 on a timeout or when COMMAND exits first (the step and
the console's last lines are printed), 2 on a usage error.  COMMAND is
always terminated before the exit: SIGTERM, then SIGKILL after 5 s.
"""

import os
import re
import select
import signal
import subprocess
import sys
import time

# CSI and OSC sequences, and the lone ESC c / ESC [ ... that SeaBIOS and
# iPXE write to draw their screens.
ESCAPES = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_])")


def parse(path):
	steps = []
	with open(path, encoding="utf-8") as f:
		for n, line in enumerate(f, 1):
			line = line.rstrip("\n")
			if not line.strip() or line.lstrip().startswith("#"):
				continue
			word, _, rest = line.partition(" ")
			if word == "expect":
				secs, _, rx = rest.partition(" ")
				steps.append((n, word, float(secs), re.compile(rx.encode())))
			elif word == "send":
				steps.append((n, word, rest.encode() + b"\r", None))
			elif word == "print":
				name, _, group = rest.partition(" ")
				steps.append((n, word, name, int(group)))
			else:
				raise ValueError(f"{path}:{n}: unknown step {word!r}")
	return steps


def tail(buf, lines=15):
	text = ESCAPES.sub(b"", buf).decode("utf-8", "replace")
	text = text.replace("\r", "")
	return "\n".join("#   | " + l for l in text.splitlines()[-lines:])


def stop(proc):
	if proc.poll() is not None:
		return
	proc.terminate()
	try:
		proc.wait(5)
	except subprocess.TimeoutExpired:
		proc.kill()
		proc.wait()


def main(argv):
	if len(argv) < 4 or argv[2] != "--":
		print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
		return 2
	try:
		steps = parse(argv[1])
	except (OSError, ValueError, re.error) as e:
		print(f"fwconsole: {e}", file=sys.stderr)
		return 2
	log = open(argv[0], "ab")
	proc = subprocess.Popen(argv[3:], stdin=subprocess.PIPE,
	    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
	fd = proc.stdout.fileno()
	os.set_blocking(fd, False)
	raw = b""		# everything, for the diagnostics
	clean = b""		# escapes removed, for matching
	pos = 0			# where the next expect starts searching
	match = None
	try:
		for n, word, a, b in steps:
			if word == "send":
				proc.stdin.write(a)
				proc.stdin.flush()
				continue
			if word == "print":
				v = match.group(b) or b""
				print(f"{a}={v.decode(errors='replace')}")
				sys.stdout.flush()
				continue
			end = time.monotonic() + a
			while True:
				match = b.search(clean, pos)
				if match:
					pos = match.end()
					break
				left = end - time.monotonic()
				if left <= 0:
					print(f"#   step {n}: /{b.pattern.decode()}/ not seen"
					    f" within {a:g} s; the console's last lines:")
					print(tail(raw))
					return 1
				r, _, _ = select.select([fd], [], [], left)
				if not r:
					continue
				chunk = os.read(fd, 65536)
				if not chunk:
					print(f"#   step {n}: the machine exited (status"
					    f" {proc.wait()}) before /{b.pattern.decode()}/;"
					    " the console's last lines:")
					print(tail(raw))
					return 1
				log.write(chunk)
				log.flush()
				raw += chunk
				clean = ESCAPES.sub(b"", raw)
		return 0
	finally:
		stop(proc)
		log.close()


if __name__ == "__main__":
	signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
	sys.exit(main(sys.argv[1:]))
