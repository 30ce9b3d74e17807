#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Copyright (c) 2024-2026 The snowowl-tftpd authors
#
# Real boot firmware against the server: QEMU machines boot from
# snowowl-tftpd over a bridge in a network namespace this test makes,
# with dnsmasq as the DHCP server only (--port=0: no DNS, and its TFTP
# server is never enabled), pointing every client at our server on the
# bridge address, port 69:
#  - U-Boot (Debian's u-boot-qemu, qemu_arm64 on qemu-system-aarch64
#    -machine virt, virtio-net): dhcp, then tftpboot with tftpblocksize
#    1468 and tftpwindowsize 1, then 4; the CRC32 U-Boot computes over
#    what it loaded ("crc32 ${loadaddr} ${filesize}") equals the file's,
#    and our log shows the options it negotiated;
#  - the same, windowsize 4, with 2% of the TFTP packets to the machine
#    dropped after segmentation (an nftables rule on the bridge port; see
#    below): still the right CRC32; the DATA packets sent again (the
#    retransmits counter of tftpctl stats) are printed, and are at most
#    a window per drop or timeout;
#  - iPXE (Debian's ipxe-qemu ROM of virtio-net-pci) under SeaBIOS: DHCP
#    names an iPXE script, which chains to a second script whose name is
#    only in the first one's text, which fetches a blob; each step is
#    seen on the serial console and each file as a complete transfer in
#    our log;
#  - UEFI PXE (Debian's ovmf, EDK2's own virtio-net driver): DHCP names
#    a file, EDK2 asks for its size (tsize 0, blksize 1468, windowsize
#    4), aborts with ERROR 8, asks again and downloads it: "NBP file
#    downloaded successfully" on its console, the abort and the complete
#    transfer in our log.
# Then our server must stop at SIGTERM with status 0.  Each check prints
# "ok - ..." or "not ok - ...", then the seconds each machine took.
#
# Usage: tests/system/firmware.sh [BUILD_DIR]
#   BUILD_DIR (default: the current directory): a build tree with
#   src/snowowl-tftpd and src/tftpctl.
#
# Root only (a network namespace, a bridge, taps); skips (77) with a
# message when not root or when a package is missing (contrib/
# setup-debian.sh installs them).  Every machine runs under TCG
# (FIRMWARE_KVM=1: the x86 ones under KVM); about 45 seconds on two
# cores, every wait bounded.  Run once by .ci/run, not by make check:
# see README, Testing.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

here=$(cd "$(dirname "$0")" && pwd)
build=$(realpath "${1:-.}")
TFTPD=$build/src/snowowl-tftpd
TFTPCTL=$build/src/tftpctl
export TFTPD TFTPCTL
[ -x "$TFTPD" ] && [ -x "$TFTPCTL" ] || {
	echo "usage: $0 [BUILD_DIR]: no src/snowowl-tftpd and src/tftpctl in $build" >&2
	exit 2
}

# shellcheck source=tests/integration/lib.sh
. "$here/../integration/lib.sh"

is_root || skip_all "needs root (a network namespace, a bridge, taps)"
# package: the commands and files it stands for.
need() {
	local pkg=$1 x
	shift
	for x in "$@"; do
		case $x in
		/*) [ -e "$x" ] ;;
		*) command -v "$x" >/dev/null ;;
		esac || skip_all "$x is missing: apt-get install $pkg" \
		    "(contrib/setup-debian.sh installs it)"
	done
}
need iproute2 ip ss
need nftables nft
need ethtool ethtool
need dnsmasq-base dnsmasq
need qemu-system-arm qemu-system-aarch64
need qemu-system-x86 qemu-system-x86_64
need u-boot-qemu /usr/lib/u-boot/qemu_arm64/u-boot.bin
need ipxe-qemu /usr/lib/ipxe/qemu/efi-virtio.rom
need ovmf /usr/share/OVMF/OVMF_CODE.fd /usr/share/OVMF/OVMF_VARS.fd

lib_init
t_all=$(date +%s)
FWCONSOLE=$here/fwconsole.py
NS=snowowl-fw-$$
SRV=10.231.70.1
QEMU_PIDS=()
DNSMASQ=""

fw_cleanup() {
	local pid
	for pid in "${QEMU_PIDS[@]}" $DNSMASQ; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${QEMU_PIDS[@]}" $DNSMASQ; do
		wait_pid_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null
	done
	# The daemon first (lib_cleanup), then its namespace.
	lib_cleanup
	ip netns delete "$NS" 2>/dev/null
}
trap fw_cleanup EXIT

# Background jobs call "ip netns exec" directly, so that $! is the
# program itself (it execs), not a subshell.
nsx() {
	ip netns exec "$NS" "$@"
}

# ---- the network: a bridge with our server's address, a tap per machine
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun: QEMU needs taps"
ip netns add "$NS" || skip_all "ip netns add failed: no network namespaces here"
nsx ip link set lo up &&
    nsx ip link add fwbr0 type bridge &&
    nsx ip addr add "$SRV/24" dev fwbr0 &&
    nsx ip link set fwbr0 up ||
    hard_error "bridge fwbr0 in $NS"
# tap_add NAME: a persistent tap on the bridge, for QEMU to open by name.
tap_add() {
	nsx ip tuntap add dev "$1" mode tap &&
	    nsx ip link set "$1" master fwbr0 up ||
	    hard_error "tap $1"
}

# ---- the files
R=$T/root
mkdir -p "$R"
# Sizes that end in a partial block of 1468 and of 1432 (iPXE's).
head -c $((2 * 1048576 + 1000)) /dev/urandom >"$R/uboot.bin"
head -c $((1048576 + 333)) /dev/urandom >"$R/lossy.bin"
head -c $((512 * 1024 + 77)) /dev/urandom >"$R/blob.bin"
head -c $((256 * 1024 + 5)) /dev/urandom >"$R/uefi.bin"
# The second script's name is known only from the first script.
stage2=stage2-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n').ipxe
cat >"$R/boot.ipxe" <<EOF
#!ipxe
echo snowowl stage1 from \${next-server}
chain tftp://\${next-server}/$stage2
EOF
cat >"$R/$stage2" <<EOF
#!ipxe
echo snowowl stage2 $stage2
imgfetch --name blob tftp://\${next-server}/blob.bin || goto failed
imgstat blob
echo snowowl blob fetched
# Where this iPXE has no poweroff, the test stops the machine.
poweroff
:failed
echo snowowl blob FAILED
poweroff
EOF
chmod 0755 "$R"
chmod 0644 "$R"/*

crc_of() {
	"$PYTHON" -c 'import sys, zlib
print("%08x" % zlib.crc32(open(sys.argv[1], "rb").read()))' "$1"
}

# ---- our server, on the bridge address, port 69
RUNDIR=$T/run
cat >"$T/conf" <<EOF
[transfer]
timeout = 1
retries = 6
EOF
# Started as root, the server changes to the tftp user; a machine
# without one (no package made it) runs it as nobody, named outright.
if ! id tftp >/dev/null 2>&1; then
	printf '[server]\nuser = nobody\n' >>"$T/conf"
fi
chmod 0644 "$T/conf"
DLOG=$T/daemon.log
ip netns exec "$NS" "$TFTPD" -L -a "$SRV:69" --workers 1 --config "$T/conf" \
    --runtime-dir "$RUNDIR" -v "$R" >"$DLOG" 2>&1 </dev/null &
DPID=$!
DAEMON_PIDS+=("$DPID")
INSTANCE=$SRV-69
nsx "$PYTHON" "$TFTPRAW" ping "$SRV" 69 10 ||
    { show_log; hard_error "our server does not answer on $SRV:69"; }
wait_until 10 workers_running "$DPID" 1 ||
    { show_log; hard_error "our server's worker did not start"; }

# ---- dnsmasq: DHCP only.  Which file each client gets: iPXE says
# so in its user class, EDK2 by its architecture (7: x64 UEFI); U-Boot
# gets uboot.bin, but is told below which file to load.
ip netns exec "$NS" dnsmasq --port=0 --keep-in-foreground --conf-file=/dev/null \
    --no-resolv --no-hosts --user=root --group=root \
    --interface=fwbr0 --bind-interfaces \
    --dhcp-range=10.231.70.100,10.231.70.199,255.255.255.0,1h \
    --dhcp-leasefile="$T/dnsmasq.leases" --pid-file= \
    --log-dhcp --log-facility="$T/dnsmasq.log" \
    --dhcp-userclass=set:ipxe,iPXE \
    --dhcp-match=set:efi64,option:client-arch,7 \
    --dhcp-boot=tag:ipxe,boot.ipxe,,$SRV \
    --dhcp-boot=tag:!ipxe,tag:efi64,uefi.bin,,$SRV \
    --dhcp-boot=tag:!ipxe,tag:!efi64,uboot.bin,,$SRV \
    >"$T/dnsmasq.out" 2>&1 </dev/null &
DNSMASQ=$!
dnsmasq_up() {
	nsx ss -uln 2>/dev/null | grep -q ':67 '
}
wait_for 10 "dnsmasq listening on port 67" dnsmasq_up || {
	sed 's/^/#   /' "$T/dnsmasq.out" "$T/dnsmasq.log" 2>/dev/null
	hard_error "dnsmasq did not start"
}

# TCG unless FIRMWARE_KVM=1: nested KVM, where a CI machine offers it at
# all, may start and then fail in the firmware.
ACCEL=(-accel tcg)
if [ "${FIRMWARE_KVM:-0}" = 1 ]; then
	ACCEL=(-accel kvm)
fi
echo "# x86 machines: ${ACCEL[*]}"
# SeaBIOS writes to the serial port when fw_cfg names it (it then also
# carries iPXE's screen, which goes through the BIOS).
printf '\xf8\x03' >"$T/sercon-port"

TIMES=()
# boot NAME SCRIPT QEMU_ARGS...: a machine on its tap, its console
# driven by SCRIPT; its output in $T/NAME.console, the values the script
# prints in $T/NAME.out.  The machine is gone when this returns.
boot() {
	local name=$1 script=$2 t0 st
	shift 2
	t0=$(now_ms)
	ip netns exec "$NS" "$PYTHON" "$FWCONSOLE" "$T/$name.console" "$script" -- "$@" \
	    >"$T/$name.out" &
	QEMU_PIDS+=($!)
	wait $!
	st=$?
	TIMES+=("$name $(((($(now_ms) - t0) + 50) / 100))")
	grep '^#' "$T/$name.out"
	return "$st"
}

# The transfers of FILE our server logged as complete.
done_count() {
	grep -F "file=\"$1\" " "$DLOG" | grep -c 'result=ok'
}
# The options of the last complete transfer of FILE.
options_of() {
	grep -F "file=\"$1\" " "$DLOG" | grep 'result=ok' | tail -n 1 |
	    sed -n 's/.* options="\([^"]*\)".*/\1/p'
}

# ---- U-Boot
tap_add fwtap1
# uboot NAME WINDOWSIZE FILE: DHCP, then the download, then the CRC32.
uboot_script() {
	cat <<EOF
expect 60 Hit any key to stop autoboot
send
expect 20 =>
send setenv autoload no
expect 10 =>
send dhcp
expect 60 DHCP client bound to address
expect 10 =>
send setenv serverip $SRV; setenv tftpblocksize 1468; setenv tftpwindowsize $1; setenv tftptimeout 1000
expect 10 =>
send tftpboot \${loadaddr} $2
expect 120 (Bytes transferred = ([0-9]+) |Retry count exceeded|TFTP error: .*)
print BYTES 2
expect 10 =>
send crc32 \${loadaddr} \${filesize}
expect 30 ==> ([0-9a-f]{8})
print CRC 1
expect 10 =>
EOF
}
uboot() {
	local name=$1 ws=$2 file=$3 want got
	uboot_script "$ws" "$file" >"$T/$name.script"
	boot "$name" "$T/$name.script" qemu-system-aarch64 -machine virt \
	    -cpu cortex-a57 -m 256 -nodefaults -display none -serial stdio \
	    -bios /usr/lib/u-boot/qemu_arm64/u-boot.bin \
	    -netdev tap,id=n0,ifname=fwtap1,script=no,downscript=no \
	    -device virtio-net-pci,netdev=n0,romfile= ||
	    return 1
	want=$(crc_of "$R/$file")
	got=$(sed -n 's/^CRC=//p' "$T/$name.out")
	assert_eq "$(stat -c %s "$R/$file")" \
	    "$(sed -n 's/^BYTES=//p' "$T/$name.out")" "bytes U-Boot loaded" &&
	    assert_eq "$want" "$got" "CRC32 U-Boot computed" || return 1
	echo "#   $file: CRC32 $got, options \"$(options_of "$file")\""
}
check "U-Boot: dhcp, tftpboot windowsize 1, the file's CRC32" \
    uboot uboot-ws1 1 uboot.bin
check "  it asked for blksize 1468 and no window" \
    assert_grep '^blksize=1468( timeout=1)?$' <(options_of uboot.bin)
check "U-Boot: tftpboot windowsize 4, the file's CRC32" \
    uboot uboot-ws4 4 uboot.bin
check "  it asked for blksize 1468 windowsize 4" \
    assert_grep 'blksize=1468.*windowsize=4' <(options_of uboot.bin)

# ---- U-Boot again, 2% of the packets to it lost
# nftables drops them (the kernel need not have netem), on the bridge's
# output to the machine's port, UDP but DHCP: TFTP DATA and OACK.  Our
# server sends a window as one UDP GSO packet, segmented by the first
# device that cannot send it whole; a drop before that loses a whole
# window.  A tap takes UDP GSO packets whole when QEMU asks for it (8.1
# and later), and a bridge can then too: with the bridge's UDP
# segmentation off the stack segments before the bridge, and the rule
# sees each DATA packet, as on a lossy link.  The packet count checks it.
nsx ethtool -K fwbr0 tx-udp-segmentation off >/dev/null ||
    hard_error "ethtool -K fwbr0 tx-udp-segmentation off"
nsx nft -f - <<EOF || hard_error "nft: the loss rule"
table bridge snowowl_loss {
	counter lost {}
	counter passed {}
	chain out {
		type filter hook output priority 0; policy accept;
		oifname "fwtap1" udp sport != 67 numgen random mod 50 0 counter name lost drop
		oifname "fwtap1" udp sport != 67 counter name passed
	}
}
EOF
stats lossy0 || hard_error "tftpctl stats"
check "U-Boot, 2% loss: tftpboot windowsize 4, the file's CRC32" \
    uboot uboot-loss 4 lossy.bin
stats lossy1 || hard_error "tftpctl stats"
counter() {
	nsx nft list counter bridge snowowl_loss "$1" |
	    sed -n 's/.*packets \([0-9]*\) .*/\1/p'
}
lost=$(counter lost)
passed=$(counter passed)
blocks=$(($(stat -c %s "$R/lossy.bin") / 1468 + 1))
retrans=$(delta lossy1 lossy0 retransmits)
echo "#   $blocks blocks; packets to U-Boot: $passed passed, $lost dropped;" \
    "DATA sent again (retransmits): $retrans," \
    "timeouts: $(delta lossy1 lossy0 timeouts)"
check "  packets were dropped and DATA sent again" \
    test "${lost:-0}" -gt 0 -a "$retrans" -gt 0
check "  the rule saw every DATA packet, not one per window" \
    test "$((${passed:-0} + ${lost:-0}))" -ge "$blocks"
# Each lost DATA deserves at most one window sent again, and so does each
# timeout.  U-Boot takes a repeat of a block it has for a gap and ACKs
# it: a server that answers such echoes resends most of every window
# from there on (7 to 27 per loss were seen before the guard).
timeouts=$(delta lossy1 lossy0 timeouts)
check "  at most a window (4) sent again per drop or timeout" \
    test "$retrans" -le "$((4 * (${lost:-0} + timeouts)))"
nsx nft delete table bridge snowowl_loss

# ---- iPXE under SeaBIOS
tap_add fwtap2
cat >"$T/ipxe.script" <<EOF
expect 120 snowowl stage1 from $SRV
expect 60 snowowl stage2 $stage2
expect 60 snowowl blob (fetched|FAILED)
print RESULT 1
EOF
check "iPXE under SeaBIOS: DHCP, script, chained script, blob" \
    boot ipxe "$T/ipxe.script" qemu-system-x86_64 "${ACCEL[@]}" \
    -machine pc -m 256 -display none -serial stdio -monitor none \
    -fw_cfg name=etc/sercon-port,file="$T/sercon-port" \
    -netdev tap,id=n0,ifname=fwtap2,script=no,downscript=no \
    -device virtio-net-pci,netdev=n0,mac=52:54:00:5e:00:02,bootindex=1
check "  the blob fetched" assert_grep '^RESULT=fetched$' "$T/ipxe.out"
for f in boot.ipxe "$stage2" blob.bin; do
	check "  our server completed $f ($(options_of "$f"))" \
	    test "$(done_count "$f")" -ge 1
done

# ---- UEFI PXE (OVMF)
tap_add fwtap3
cp /usr/share/OVMF/OVMF_VARS.fd "$T/OVMF_VARS.fd"
cat >"$T/uefi.script" <<EOF
expect 120 Station IP address is
expect 120 NBP file downloaded successfully
EOF
uefi_done() {
	[ "$(done_count uefi.bin)" -ge 1 ]
}
check "UEFI PXE (OVMF): DHCP, tsize, then the download" \
    boot uefi "$T/uefi.script" qemu-system-x86_64 "${ACCEL[@]}" \
    -machine q35 -m 256 -nodefaults -display none -serial stdio \
    -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE.fd \
    -drive if=pflash,format=raw,file="$T/OVMF_VARS.fd" \
    -netdev tap,id=n0,ifname=fwtap3,script=no,downscript=no \
    -device virtio-net-pci,netdev=n0,mac=52:54:00:5e:00:03,romfile=,bootindex=1
check "  our server completed uefi.bin ($(options_of uefi.bin))" \
    wait_for 30 "uefi.bin transfer complete" uefi_done
# EDK2 asks for the size first and ends that transfer with ERROR 8.
check "  after a tsize request it aborted with ERROR 8" \
    assert_grep 'file="uefi.bin" .*options="[^"]*tsize=[0-9]+[^"]*" result=aborted code=8' "$DLOG"

check "the server ran throughout, and stops at SIGTERM with status 0" \
    daemon_stop
# A sanitizer build (.ci/run uses one) reports in its log.
check "no sanitizer report in our log" \
    assert_no_grep 'Sanitizer|runtime error' "$DLOG"
TIMES+=("total $((($(date +%s) - t_all) * 10))")
printf '# seconds:'
for t in "${TIMES[@]}"; do
	printf ' %s %s.%s' "${t% *}" "$((${t#* } / 10))" "$((${t#* } % 10))"
done
echo
((FAILS == 0)) || { show_log "$DLOG" 40; sed 's/^/#   dnsmasq: /' "$T/dnsmasq.log" | tail -n 20; }
lib_finish
