#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# log_format = json: with --log-format json the one line of each request
# is one JSON object (after the stderr prefix, with no "worker K: "):
# a download's fields (client, op, file, mode, bytes, seconds, options,
# result, worker), and a request whose name holds a quote, a backslash,
# control bytes and bytes >= 0x80 (refused by the path rules) parses with
# Python's json module and gives those bytes back; other messages stay
# text.  "tftpctl set log_format=text" switches the running server's
# lines back, and a bad value in the file is refused with FILE:LINE.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

lib_init
need_tftpctl

R="$T/root"
make_root "$R"
write_conf "$T/conf"

# --check-config: the key in the file, and a value it refuses.
t_check() {
	local line
	write_conf "$T/good.conf" "[server]" "log_format = json"
	run_exit 0 "$T/chk.out" "$TFTPD" --check-config --config "$T/good.conf" \
	    "$R" &&
	    write_conf "$T/bad.conf" "[server]" "log_format = yaml" &&
	    run_exit 1 "$T/chk.out" "$TFTPD" --check-config \
		--config "$T/bad.conf" "$R" || return 1
	# write_conf's own lines come first: the line is wherever it put ours.
	line=$(grep -n '^log_format = yaml$' "$T/bad.conf" | cut -d: -f1)
	assert_grep "bad\.conf:$line: \[server\] log_format: \"yaml\" is not one of text, json" \
	    "$T/chk.out"
}
check "log_format in the file: json accepted, yaml refused with FILE:LINE" \
    t_check

daemon_start "$R" --log-format json --workers 2
RUNDIR=$(daemon_rundir)
INSTANCE="127.0.0.1-$PORT"

# The name the client sends, as Python bytes (and the raw request).
NAME_PY='b"q\"b\\s\x01\x1b[31m\x7f\xff\xc3\xa9"'

t_requests() {
	"$PYTHON" "$TFTPRAW" get 127.0.0.1 "$PORT" s513 "$T/s513" \
	    >/dev/null || return 1
	"$PYTHON" - "$LIB_DIR" "$PORT" "$NAME_PY" <<-'PYEOF'
	import sys
	sys.path.insert(0, sys.argv[1])
	import tftpraw as t
	name = eval(sys.argv[3])
	with t.Client("127.0.0.1", int(sys.argv[2])) as c:
	    c.send_request(t.rrq(name))
	    p = c.recv(5.0)
	    if p is None or p.op != t.ERROR:
	        print("#   no ERROR for the odd name: %r" % (p,))
	        sys.exit(1)
	PYEOF
}
check "a download, and a request with an odd name refused" t_requests

# json_lines: every request line of the log seen so far parses; the
# ones for s513 and the odd name have the right fields.
json_lines() {
	"$PYTHON" - "$DLOG" "$NAME_PY" "$PORT" <<-'PYEOF'
	import json, re, sys
	name = eval(sys.argv[2]).decode("latin-1")
	seen = {}
	for raw in open(sys.argv[1], "rb"):
	    line = raw.decode("ascii", "replace")
	    if '"event":"transfer"' not in line:
	        continue
	    pre, brace, rest = line.partition("{")
	    if not re.fullmatch(r"snowowl-tftpd\[\d+\]: ", pre):
	        print("#   prefix %r" % pre)
	        sys.exit(1)
	    d = json.loads(brace + rest)
	    seen[d["file"]] = d
	ok = True
	def want(d, **kv):
	    global ok
	    for k, v in kv.items():
	        if d.get(k) != v:
	            print("#   %s: %r, want %r in %r" % (k, d.get(k), v, d))
	            ok = False
	if "s513" not in seen or name not in seen:
	    print("#   lines for %r: %r" % (list(seen), seen))
	    sys.exit(1)
	d = seen["s513"]
	want(d, op="rrq", mode="octet", bytes=513, result="ok", options="")
	want(d, event="transfer")
	if not re.fullmatch(r"127\.0\.0\.1:\d+", d["client"]) or \
	        d["worker"] not in (0, 1) or \
	        not isinstance(d["seconds"], (int, float)) or "code" in d:
	    print("#   s513 line: %r" % d)
	    ok = False
	d = seen[name]
	want(d, op="rrq", mode="octet", bytes=0, result="error", code=2)
	if not isinstance(d.get("msg"), str) or d["worker"] not in (0, 1):
	    print("#   odd-name line: %r" % d)
	    ok = False
	sys.exit(0 if ok else 1)
	PYEOF
}
t_json() {
	wait_for 10 "both request lines parsed" json_lines >/dev/null ||
	    json_lines
}
check "json: both lines parse (json module), fields and the name's bytes" \
    t_json

check "json: the daemon's other messages stay text" \
    assert_grep 'snowowl-tftpd\[[0-9]+\]: ready: serving ' "$DLOG"

# Live: set log_format=text, and the next lines are key=value again.
t_live_text() {
	local n=0
	ctl -i "$INSTANCE" set log_format=text >"$T/set.out" 2>&1 || {
		sed 's/^/#   | /' "$T/set.out"
		return 1
	}
	text_line() {
		n=$((n + 1))
		"$PYTHON" "$TFTPRAW" get 127.0.0.1 "$PORT" "live$n" \
		    "$T/live" >/dev/null 2>&1
		grep -q "transfer client=127\.0\.0\.1:[0-9]* op=rrq file=\"live$n\" " \
		    "$DLOG"
	}
	wait_for 10 "a key=value line after set log_format=text" text_line
}
check "tftpctl set log_format=text: the next lines are text" t_live_text

check "the daemon stops cleanly" daemon_stop

lib_finish
