#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
#
# The units under the real thing: boots Debian 12 (systemd 252) with
# systemd-nspawn, installs snowowl-tftpd in it and checks, one "ok" or
# "FAIL" line each: the service starts, serves a file to this host over
# the container's veth link, reloads a changed setting, logs a forced
# worker crash at warning priority, stops leaving no process, scores
# <= 2.0 on systemd-analyze security; the same through the socket unit;
# a unit filter that kills the workers leaves the unit failed, not
# active; Debian's tftpd-hpa.service with our binary serves.  It prints
# the scores of the four peers' units (tests/system/peer-units/) beside
# ours, from the same systemd.
#
# Usage: tests/system/nspawn.sh --deb FILE.deb      the package (r-deb)
#        tests/system/nspawn.sh --build DIR         "make install" of DIR,
#            a build configured with --prefix=/usr --sysconfdir=/etc
#            --localstatedir=/var
#
# Root only; skips (77) with a message when not root or when debootstrap,
# systemd-nspawn or the network to the Debian archive is not there.  PID 1
# of the host need not be systemd (--register=no --keep-unit).  The rootfs
# (debootstrap --variant=minbase from $DEBIAN_MIRROR) is cached as a tar
# under $CACHE_DIR, keyed by suite, mirror and package list.  Run by
# .ci/run, not by make check.  Every wait is a bounded poll.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/system/rootfs.sh
. "$here/rootfs.sh"
# Host side and container side of the veth link.
HOST_IP=10.231.69.1
CT_IP=10.231.69.2

deb= build=
while [ $# -gt 0 ]; do
	case $1 in
	--deb) deb=$(realpath "$2"); shift 2 ;;
	--build) build=$(realpath "$2"); shift 2 ;;
	*) echo "usage: $0 --deb FILE.deb | --build DIR" >&2; exit 2 ;;
	esac
done

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, systemd-nspawn, veth)"
for t in debootstrap systemd-nspawn nsenter ip tftp tar sha256sum; do
	command -v "$t" >/dev/null || skip "$t not installed"
done
[ -n "$deb$build" ] || { echo "$0: --deb or --build needed" >&2; exit 2; }
if [ -n "$build" ] && ! grep -qx 'prefix = /usr' "$build/Makefile"; then
	echo "$0: $build is not configured with --prefix=/usr" >&2
	exit 2
fi

t_start=$(date +%s)
fails=0
leader=
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); [ -z "$leader" ] || diag; }
# What the failing unit said last.
diag_unit=snowowl-tftpd.service
diag() {
	ct journalctl --no-pager -o short-monotonic -n 8 -u "$diag_unit" 2>/dev/null |
	    sed 's/^/     | /'
}
# check DESCRIPTION COMMAND...: ok or FAIL by the command's status.
check() {
	local d=$1
	shift
	if "$@"; then ok "$d"; else fail "$d"; fi
}
# The command's status, its output dropped (errors still shown).
quiet() { "$@" >/dev/null; }
# poll SECONDS COMMAND...: until the command succeeds, at most SECONDS.
poll() {
	local end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# ---- the rootfs, from the cache or debootstrap
work=$(mktemp -d /var/tmp/snowowl-nspawn.XXXXXX)
root=$work/rootfs
machine=sotd$$
nspawn_pid=
cleanup() {
	if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
		kill -TERM "$nspawn_pid" 2>/dev/null
		poll 30 eval "! kill -0 $nspawn_pid 2>/dev/null" ||
		    kill -KILL "$nspawn_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT

rootfs_cache "$work"
mkdir "$root"
tar -C "$root" -xf "$tarball" || { fail "unpack $tarball"; exit 1; }

# ---- install, before boot: the package's files, or make install
if [ -n "$build" ]; then
	make -s -C "$build" install DESTDIR="$root" >"$work/install.log" 2>&1 ||
	    { tail -n 20 "$work/install.log"; fail "make install"; exit 1; }
	ok "make install DESTDIR=rootfs from $build"
	# A build configured --with-systemdsystemunitdir=no installs no
	# units: the templates, substituted as the Makefile does.
	for u in service socket; do
		f=$root/usr/lib/systemd/system/snowowl-tftpd.$u
		[ -f "$f" ] && continue
		echo "     (no snowowl-tftpd.$u installed: from the template)"
		mkdir -p "${f%/*}"
		sed 's|@sbindir@|/usr/sbin|g; s|@bindir@|/usr/bin|g' \
		    "$here/../../contrib/systemd/snowowl-tftpd.$u.in" >"$f"
	done
else
	cp "$deb" "$root/root/"
fi
mkdir -p "$root/root/peers"
cp "$here"/peer-units/*.service "$root/root/peers/"

# ---- boot
# --system-call-filter: nspawn's own allow-list (systemd 252) lacks
# Landlock, which the workers use where the kernel has it.
systemd-nspawn --boot --quiet --directory="$root" --machine="$machine" \
    --register=no --keep-unit --network-veth \
    --system-call-filter='landlock_create_ruleset landlock_add_rule landlock_restrict_self' \
    </dev/null \
    >"$work/console.log" 2>&1 &
nspawn_pid=$!
# The container's PID 1, nspawn's child; or nspawn is gone already.
find_leader() {
	leader=$(pgrep -o -P "$nspawn_pid") && [ -n "$leader" ] ||
	    ! kill -0 "$nspawn_pid" 2>/dev/null
}
poll 30 find_leader
if [ -z "$leader" ]; then
	cat "$work/console.log"
	skip "systemd-nspawn cannot boot a container here (output above)"
fi
# A command inside the container, as root, its environment cleaned.
ct() {
	nsenter --target="$leader" --mount --uts --ipc --net --pid \
	    --cgroup -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	    LANG=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}
booted() {
	case $(ct systemctl is-system-running 2>/dev/null) in
	running|degraded) return 0 ;;
	*) return 1 ;;
	esac
}
if poll 120 booted; then
	ok "Debian $SUITE booted under systemd-nspawn ($(ct systemctl --version | head -n 1))"
elif ! kill -0 "$nspawn_pid" 2>/dev/null; then
	tail -n 30 "$work/console.log"
	skip "systemd-nspawn exited while booting (output above)"
else
	tail -n 30 "$work/console.log"
	ct systemctl --failed --no-pager
	fail "boot"
	exit 1
fi

# The link: ve-MACHINE here, host0 inside, addressed by hand (no
# networkd on either side).
ip addr add "$HOST_IP/30" dev "ve-$machine" && ip link set "ve-$machine" up &&
    ct ip addr add "$CT_IP/30" dev host0 && ct ip link set host0 up
link_up() { ct ip -o link show host0 | grep -q LOWER_UP; }
check "veth link $HOST_IP <-> $CT_IP" poll 20 link_up

# ---- install, after boot
if [ -n "$deb" ]; then
	check "dpkg -i $(basename "$deb")" ct dpkg -i "/root/$(basename "$deb")"
else
	# What the package's maintainer scripts would do.
	ct systemd-sysusers && ct systemd-tmpfiles --create &&
	    ct systemctl daemon-reload
	ct id tftp >/dev/null 2>&1 ||
	    ct useradd --system --home-dir /srv/tftp --shell /usr/sbin/nologin tftp
	ct install -d -o tftp -g tftp /srv/tftp
fi
for u in snowowl-tftpd.service snowowl-tftpd.socket; do
	check "$u installed" quiet ct systemctl cat "$u"
done
ct systemctl stop snowowl-tftpd.socket snowowl-tftpd.service 2>/dev/null
head -c 300000 /dev/urandom >"$root/srv/tftp/hello.bin"
chmod 0644 "$root/srv/tftp/hello.bin"

active() { [ "$(ct systemctl is-active "$1")" = active ]; }
noproc() { ! ct pgrep -f snowowl-tftpd >/dev/null; }
get_from_host() {
	rm -f "$work/got.bin"
	timeout 30 tftp -m octet "$CT_IP" -c get hello.bin "$work/got.bin" &&
	    cmp -s "$work/got.bin" "$root/srv/tftp/hello.bin"
}
# score UNIT: the exposure of a loaded unit, e.g. "1.8"
score() {
	ct systemd-analyze security --no-pager "$@" 2>/dev/null |
	    sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p'
}
le2() { awk -v s="$1" 'BEGIN { exit !(s != "" && s + 0 <= 2.0) }'; }
# The journal's end now, and what came after such a point.
journal_mark() { ct journalctl -n 0 --show-cursor | sed -n 's/^-- cursor: //p'; }
journal_since() { ct journalctl --no-pager -o cat --after-cursor="$1" "${@:2}"; }

# ---- the service
echo "== snowowl-tftpd.service"
check "systemctl start snowowl-tftpd.service" ct systemctl start snowowl-tftpd.service
check "service active" active snowowl-tftpd.service
check "tftp get from the host over the veth link, every byte" get_from_host

conf=$root/etc/snowowl-tftpd.conf
if grep -q '^max_blksize = ' "$conf"; then
	sed -i 's/^max_blksize = .*/max_blksize = 1024/' "$conf"
else
	printf '[transfer]\nmax_blksize = 1024\n' >>"$conf"
fi
# Master and workers: the service user, and no capability in any set
# (the master was given two ambient ones to start with).
caps_clear() {
	local pid bad=0 line
	for pid in "$1" $(ct pgrep -P "$1"); do
		line=$(ct awk '/^(Uid|Cap(Inh|Prm|Eff|Bnd|Amb)):/ { printf "%s %s ", $1, $2 }' \
		    "/proc/$pid/status")
		echo "       pid $pid: $line"
		case $line in
		*"Uid: 0 "*) bad=1 ;;
		esac
		echo "$line" | grep -qE 'Cap...: 0*[1-9a-f]' && bad=1
	done
	return "$bad"
}
check "master and workers run as tftp with every capability set empty" \
    caps_clear "$(ct systemctl show -p MainPID --value snowowl-tftpd.service)"

check "tftpctl stats as an unprivileged user (nobody)" \
    quiet ct runuser -u nobody -- tftpctl -d /run/snowowl-tftpd stats

check "systemctl reload" ct systemctl reload snowowl-tftpd.service
got=$(ct tftpctl get max_blksize 2>&1)
[ "$got" = 1024 ] && ok "tftpctl get max_blksize = 1024 after the reload" ||
    fail "tftpctl get max_blksize after the reload: $got"
# A broken file: the reload fails and says why; the server goes on.
cp "$conf" "$work/conf.good"
printf '[transfer]\nmax_blksize = banana\n' >>"$conf"
if ct systemctl reload snowowl-tftpd.service 2>/dev/null; then
	fail "systemctl reload succeeded with max_blksize = banana"
else
	ok "systemctl reload fails on a broken file:"
	ct journalctl --no-pager -o cat -u snowowl-tftpd -n 30 |
	    grep -m 1 banana | sed 's/^/       /'
fi
check "service active, max_blksize still 1024" \
    eval 'active snowowl-tftpd.service && [ "$(ct tftpctl get max_blksize)" = 1024 ]'
cp "$work/conf.good" "$conf"

t0=$(journal_mark)
main=$(ct systemctl show -p MainPID --value snowowl-tftpd.service)
worker=$(ct pgrep -o -P "$main")
if [ -n "$worker" ] && ct kill -SEGV "$worker"; then
	crashed() {
		journal_since "$t0" -p warning -u snowowl-tftpd |
		    grep -q "pid $worker.*signal 11"
	}
	if poll 20 crashed; then
		ok "journalctl -p warning shows the SIGSEGV of worker $worker:"
		journal_since "$t0" -p warning -u snowowl-tftpd | sed 's/^/       /'
	else
		fail "no warning in the journal after SIGSEGV to worker $worker"
	fi
	check "service still active and serving after the crash" \
	    eval 'active snowowl-tftpd.service && poll 20 get_from_host'
else
	fail "no worker of master $main to crash"
fi
# Uploads: turned on by a reload (the workers are replaced with the
# right to write), into a directory of the tftp user beneath /srv/tftp
# (ReadWritePaths=); the file lands whole, owned by tftp.
ct install -d -o tftp -g tftp /srv/tftp/incoming
sed -i -e 's/^enable = no$/enable = yes/' -e 's/^create = no$/create = yes/' "$conf"
grep -q '^create = yes$' "$conf" || printf '[write]\nenable = yes\ncreate = yes\n' >>"$conf"
head -c 200000 /dev/urandom >"$work/up.bin"
put_from_host() {
	timeout 30 tftp -m octet "$CT_IP" -c put "$work/up.bin" incoming/up.bin &&
	    cmp -s "$work/up.bin" "$root/srv/tftp/incoming/up.bin"
}
if ct systemctl reload snowowl-tftpd.service && poll 20 put_from_host; then
	ok "tftp put from the host after enabling uploads by a reload: $(ct stat -c '%U %a' /srv/tftp/incoming/up.bin)"
else
	fail "tftp put into /srv/tftp/incoming"
fi
cp "$work/conf.good" "$conf"
ct systemctl reload snowowl-tftpd.service

# The journal adds the tag itself: the daemon's lines must not repeat it.
notag() { ! ct journalctl --no-pager -o cat -u snowowl-tftpd | grep -q '^snowowl-tftpd\['; }
check "journal lines without a doubled \"snowowl-tftpd[PID]:\" tag" notag

s=$(score snowowl-tftpd.service)
check "systemd-analyze security snowowl-tftpd.service: $s <= 2.0" le2 "$s"
ours_service=$s
check "systemctl stop" ct systemctl stop snowowl-tftpd.service
check "no process left after stop" poll 10 noproc

# ---- the socket unit
echo "== snowowl-tftpd.socket"
ct systemctl disable --quiet snowowl-tftpd.service 2>/dev/null
check "systemctl start snowowl-tftpd.socket" ct systemctl start snowowl-tftpd.socket
check "socket active" active snowowl-tftpd.socket
check "tftp get from the host through the socket unit" get_from_host
check "service activated by the socket" active snowowl-tftpd.service
inst=$(ct tftpctl instances 2>&1)
echo "$inst" | grep -q 'systemd-69' && ok "tftpctl finds the instance systemd-69" ||
    fail "tftpctl instances: $inst"
check "systemctl reload of the socket-activated service" \
    ct systemctl reload snowowl-tftpd.service
s=$(score snowowl-tftpd.service)
check "systemd-analyze security of the socket-activated service: $s <= 2.0" le2 "$s"
ours_socket=$s
check "systemctl stop socket and service" \
    ct systemctl stop snowowl-tftpd.socket snowowl-tftpd.service
check "no process left after stop" poll 10 noproc

# ---- a system call filter that kills the workers: failed, not active
echo "== unit filter without seccomp()/landlock: the unit must fail"
dropin=$root/etc/systemd/system/snowowl-tftpd.service.d
mkdir -p "$dropin"
printf '[Service]\nSystemCallFilter=\nSystemCallFilter=@system-service\nRestart=no\n' \
    >"$dropin/filter.conf"
ct systemctl daemon-reload
t0=$(journal_mark)
ct systemctl start snowowl-tftpd.service 2>/dev/null
is_failed() { [ "$(ct systemctl is-active snowowl-tftpd.service)" = failed ]; }
if poll 60 is_failed; then
	ok "unit failed (not active) when the workers are killed by the filter:"
	journal_since "$t0" -p err -u snowowl-tftpd | tail -n 3 | sed 's/^/       /'
else
	fail "unit is $(ct systemctl is-active snowowl-tftpd.service) with workers killed by the filter"
fi
ct systemctl stop snowowl-tftpd.service 2>/dev/null
ct systemctl reset-failed snowowl-tftpd.service 2>/dev/null
rm -rf "$dropin"
ct systemctl daemon-reload
poll 10 noproc

# ---- Debian's tftpd-hpa.service with our binary
echo "== Debian's tftpd-hpa.service, ExecStart=snowowl-tftpd"
diag_unit=tftpd-hpa.service
printf '%s\n' 'TFTP_USERNAME="tftp"' 'TFTP_DIRECTORY="/srv/tftp"' \
    'TFTP_ADDRESS=":69"' 'TFTP_OPTIONS="--secure"' >"$root/etc/default/tftpd-hpa"
sed 's|^ExecStart=/usr/sbin/in.tftpd |ExecStart=/usr/sbin/snowowl-tftpd |' \
    "$here/peer-units/debian-tftpd-hpa.service" \
    >"$root/etc/systemd/system/tftpd-hpa.service"
for families in "" "AF_INET AF_INET6"; do
	d=$root/etc/systemd/system/tftpd-hpa.service.d
	rm -rf "$d"
	what="as shipped"
	if [ -n "$families" ]; then
		mkdir -p "$d"
		printf '[Service]\nRestrictAddressFamilies=\nRestrictAddressFamilies=%s\n' \
		    "$families" >"$d/families.conf"
		what="RestrictAddressFamilies=$families"
	fi
	ct systemctl daemon-reload
	check "tftpd-hpa.service ($what) starts" ct systemctl start tftpd-hpa.service
	check "tftpd-hpa.service ($what) serves" poll 10 get_from_host
	ct systemctl stop tftpd-hpa.service
	if ! poll 10 noproc; then
		fail "tftpd-hpa.service ($what) left a process"
	fi
done

# The same unit with a tftpd-hpa user's /etc/default/tftpd-hpa: a remap
# file for Windows backslashes and an alias, uploads, verbose logging, a
# shorter first retransmission, Ethernet-sized blocks.  Nothing edited.
echo "== Debian's tftpd-hpa.service, a remap user's /etc/default/tftpd-hpa"
rm -rf "$root/etc/systemd/system/tftpd-hpa.service.d"
printf '%s\n' '# Windows clients' 'rg \\ /' '# an alias' \
    'r ^alias\.bin$ hello.bin' '# nothing from private/' 'a ^private/' \
    >"$root/etc/tftpd-hpa.rules"
printf '%s\n' 'TFTP_USERNAME="tftp"' 'TFTP_DIRECTORY="/srv/tftp"' \
    'TFTP_ADDRESS=":69"' \
    'TFTP_OPTIONS="--secure --create --verbose --map-file /etc/tftpd-hpa.rules --retransmit 500000 --blocksize 1468"' \
    >"$root/etc/default/tftpd-hpa"
sed -n 's/^TFTP_OPTIONS=/       TFTP_OPTIONS=/p' "$root/etc/default/tftpd-hpa"
sed 's/^/       rules: /' "$root/etc/tftpd-hpa.rules"
ct systemctl daemon-reload
get_name() {
	rm -f "$work/got.bin"
	timeout 30 tftp -m octet "$CT_IP" -c get "$1" "$work/got.bin" &&
	    cmp -s "$work/got.bin" "$root/srv/tftp/hello.bin"
}
put_twice() {
	head -c 5000 /dev/urandom >"$work/up1.bin"
	timeout 30 tftp -m octet "$CT_IP" -c put "$work/up1.bin" incoming/backup.cfg &&
	    cmp -s "$work/up1.bin" "$root/srv/tftp/incoming/backup.cfg" || return 1
	head -c 7000 /dev/urandom >"$work/up1.bin"
	timeout 30 tftp -m octet "$CT_IP" -c put "$work/up1.bin" incoming/backup.cfg &&
	    cmp -s "$work/up1.bin" "$root/srv/tftp/incoming/backup.cfg"
}
denied() {
	local out
	out=$(timeout 30 tftp -m octet "$CT_IP" -c get private/x "$work/no.bin" 2>&1)
	case $out in *"Access violation"*) return 0 ;; esac
	echo "       got: $out"
	return 1
}
remapped_logged() {
	ct journalctl --no-pager -o cat -u tftpd-hpa | grep -q 'remapped to "hello.bin"'
}
check "tftpd-hpa.service (remap user's options) starts" ct systemctl start tftpd-hpa.service
check "get alias.bin serves hello.bin (remap r)" poll 10 get_name alias.bin
check "get '\\hello.bin' serves hello.bin (remap rg)" get_name '\hello.bin'
check "get private/x answers Access violation (remap a)" denied
if poll 10 remapped_logged; then
	ok "the remap logged at --verbose:"
	ct journalctl --no-pager -o cat -u tftpd-hpa | grep -m 1 'remapped to' |
	    sed 's/^/       /'
else
	fail "no \"remapped to\" in the journal at --verbose"
fi
check "the same backup name put twice (--create)" put_twice
ct systemctl stop tftpd-hpa.service
if ! poll 10 noproc; then
	fail "tftpd-hpa.service (remap user's options) left a process"
fi

# ---- scores, same systemd
ver=$(ct systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')
echo "== systemd-analyze security, systemd $ver in the container (lower is better)"
printf '  %-44s %s\n' "snowowl-tftpd.service" "$ours_service" \
    "snowowl-tftpd.service (socket-activated)" "$ours_socket"
for f in "$here"/peer-units/*.service; do
	printf '  %-44s %s\n' "peer: $(basename "$f")" \
	    "$(score --offline=true "/root/peers/$(basename "$f")")"
done

echo
echo "$fails failed; $(($(date +%s) - t_start)) s"
[ "$fails" -eq 0 ]
