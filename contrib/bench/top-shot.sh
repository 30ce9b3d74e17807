#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
# top-shot.sh: `tftpctl top` during a boot-storm-like load on loopback,
# captured from a tmux pane of a fixed size as text (top.txt) and drawn
# as a PNG (top.png, with python3-pil) for the README.  The load is three
# tftpbench runs from three ranges of 127.0.0.0/8 (so top shows clients,
# not one address): UEFI machines fetching a 32 MiB initrd at windowsize
# 4, BIOS PXE machines fetching the loader and an 8 MiB kernel in
# lock-step, and a crowd asking for its 1 KiB menu over and over.  Any
# user; the server runs as nobody when started as root without a tftp user.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SNOWOWL=${SNOWOWL_TFTPD:-$TOP/src/snowowl-tftpd}
TFTPCTL=""
SIZE=100x30
AT=6
OUT=.
WORKERS=2
PORT=16990

usage() {
	cat <<EOF
usage: $0 [options]
  --snowowl PATH   the daemon (default \$SNOWOWL_TFTPD, then $TOP/src/snowowl-tftpd)
  --tftpctl PATH   tftpctl (default: beside the daemon)
  --size CxR       the pane, columns x rows (100x30; 80x24 is the least top is made for)
  --at S           capture S seconds after the first transfers show (6)
  --workers N      the daemon's workers (2)
  --port P         127.0.0.1:P (16990)
  --out DIR        where top.txt and top.png go (.)
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--snowowl) SNOWOWL=$2; shift ;;
	--tftpctl) TFTPCTL=$2; shift ;;
	--size) SIZE=$2; shift ;;
	--at) AT=$2; shift ;;
	--workers) WORKERS=$2; shift ;;
	--port) PORT=$2; shift ;;
	--out) OUT=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "top-shot.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
[ -n "$TFTPCTL" ] || TFTPCTL=$(dirname "$SNOWOWL")/tftpctl
case "$SIZE" in *x*) ;; *) echo "top-shot.sh: --size CxR" >&2; exit 2 ;; esac
case "$AT" in ''|*[!0-9]*) echo "top-shot.sh: --at S, whole seconds" >&2; exit 2 ;; esac
for t in tmux "$SNOWOWL" "$TFTPCTL"; do
	command -v "$t" >/dev/null || { echo "top-shot.sh: $t is missing" >&2; exit 1; }
done
make -s -C "$HERE" >/dev/null
BENCH=$HERE/tftpbench
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

W=$(mktemp -d /tmp/top-shot.XXXXXX)
chmod 755 "$W"
TSOCK=$W/tmux.sock
LOADS=()
DPID=""
cleanup() {
	local p
	for p in "${LOADS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	SHELL=/bin/sh tmux -f /dev/null -S "$TSOCK" kill-server >/dev/null 2>&1 || true
	[ -z "$DPID" ] || { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; } || true
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

R=$W/root
mkdir -p "$R/boot" "$R/pxelinux.cfg"
head -c $((32 << 20)) /dev/urandom >"$R/boot/initrd.img"
head -c $((8 << 20)) /dev/urandom >"$R/boot/vmlinuz"
head -c 44032 /dev/urandom >"$R/pxelinux.0"
head -c 1024 /dev/urandom >"$R/pxelinux.cfg/default"
chmod -R a+rX "$R"

: >"$W/conf"
if [ "$(id -u)" = 0 ] && ! id tftp >/dev/null 2>&1; then
	printf '[server]\nuser = nobody\n' >"$W/conf"
fi
chmod 644 "$W/conf"
"$SNOWOWL" -L -a "127.0.0.1:$PORT" --workers "$WORKERS" --config "$W/conf" \
    --runtime-dir "$W/run" "$R" >"$W/daemon.log" 2>&1 </dev/null &
DPID=$!
INSTANCE=127.0.0.1-$PORT
ctl() { "$TFTPCTL" -d "$W/run" -i "$INSTANCE" "$@"; }
for _ in $(seq 1 100); do
	ctl workers >/dev/null 2>&1 && break
	kill -0 "$DPID" 2>/dev/null || { cat "$W/daemon.log" >&2; exit 1; }
	sleep 0.1
done
ctl workers >/dev/null || { cat "$W/daemon.log" >&2; exit 1; }

# The load on the other CPU when there is one; each run bounded in time.
pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -gt 1 ]; then
	pin=(taskset -c 1)
fi
load() {	# LABEL "FILES" ARGS...
	local label=$1 files=$2
	shift 2
	# shellcheck disable=SC2086
	"${pin[@]}" "$BENCH" -r "$R" --max-time 60 -S "$label" "$@" \
	    "127.0.0.1:$PORT" $files >"$W/$label.out" 2>&1 &
	LOADS+=($!)
}
load uefi boot/initrd.img -n 40 -c 200 -b 1468 -w 4 \
    --sources 127.1.0.1-127.1.0.40
load bios "pxelinux.0 boot/vmlinuz" -n 60 -c 600 -b 1468 \
    --sources 127.1.1.1-127.1.1.60
load menu pxelinux.cfg/default -n 20 -c 2000000 \
    --sources 127.1.2.1-127.1.2.20

# top in a pane of the size asked for; captured once it has a frame
# with transfers in it and then AT seconds of rates.
cols=${SIZE%x*}
rows=${SIZE#*x}
SHELL=/bin/sh tmux -f /dev/null -S "$TSOCK" new-session -d -x "$cols" -y "$rows" -s top \
    "'$TFTPCTL' -d '$W/run' -i '$INSTANCE' top; exec sleep 600"
for _ in $(seq 1 200); do
	SHELL=/bin/sh tmux -f /dev/null -S "$TSOCK" capture-pane -p -t top >"$W/cap" 2>/dev/null || true
	grep -q '"boot/initrd.img"' "$W/cap" && break
	sleep 0.1
done
grep -q '"boot/initrd.img"' "$W/cap" || {
	echo "top-shot.sh: top never showed the load" >&2
	cat "$W/cap" "$W"/*.out >&2
	exit 1
}
sleep "$AT"
SHELL=/bin/sh tmux -f /dev/null -S "$TSOCK" capture-pane -p -t top >"$OUT/top.txt"
echo "top-shot.sh: $OUT/top.txt (${cols}x${rows}, $AT s into the load)"

PY=${PYTHON:-python3}
[ -x /usr/bin/python3 ] && [ -z "${PYTHON:-}" ] && PY=/usr/bin/python3
if "$PY" -c 'import PIL' 2>/dev/null; then
	"$PY" - "$OUT/top.txt" "$OUT/top.png" <<'EOF'
import sys
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().split("\n")
if lines and lines[-1] == "":
    lines.pop()
font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 15)
cw = round(font.getlength("M"))
ch = 19
cols = max(len(l) for l in lines)
pad = 12
img = Image.new("RGB", (cols * cw + 2 * pad, len(lines) * ch + 2 * pad), (24, 26, 33))
d = ImageDraw.Draw(img)
for i, l in enumerate(lines):
    # Headings brighter, so the panels read apart as they do on a terminal.
    head = l.lstrip().startswith(("W ", "REQ ", "tftpctl top")) or "  REQ " in l[:20]
    d.text((pad, pad + i * ch), l, font=font, fill=(255, 255, 255) if head else (200, 204, 212))
meta = PngInfo()
meta.add_text("Comment", "SPDX-License-Identifier: BSD-2-Clause; tftpctl top, captured by contrib/bench/top-shot.sh")
img.save(sys.argv[2], pnginfo=meta)
EOF
	echo "top-shot.sh: $OUT/top.png"
else
	echo "top-shot.sh: no python3-pil: top.png not drawn (apt-get install python3-pil)"
fi
