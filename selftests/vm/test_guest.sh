#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The test guest of scripts/mkguest.sh boots under QEMU (TCG) with a
# virtio-net NIC on a tap in a namespace this test creates, and serves:
#  - guest_boot: "HS-GUEST-READY" on the serial console (boot time printed)
#  - guest_echo: TCP echo on port 7 returns the bytes sent
#  - guest_echo_many: 64 connections open at once, each echoed
#  - guest_echo6: the same over IPv6 (hs.ip6, hs.gw6)
#  - guest_http: GET / returns 200 and a page with the guest's boot id
#  - guest_status: GET /cgi-bin/status returns uptime and the same boot id
#  - guest_gwmac: the status shows the gateways' permanent neighbour
#    entries from hs.gwmac (the tap's MAC, libvirt style fe:...)
# SKIP (exit 77) when QEMU, busybox or the kernel package is unavailable.
# shellcheck disable=SC2016 # single-quoted scripts for bash -c
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
P=hsvm$$
NS=$P
TAP=${P}t
HOST4=10.1.0.1 GUEST4=10.1.0.5 GUESTMAC=02:00:00:00:01:05
HOST6=fd01::1 GUEST6=fd01::5
TAPMAC=fe:${GUESTMAC#*:}
BOOT_TIMEOUT=${HS_GUEST_BOOT_TIMEOUT:-60}
T=$(mktemp -d /tmp/$P.XXXX)
QPID=
npass=0 nfail=0

pass() { echo "PASS $1"; npass=$((npass + 1)); }
fail() { echo "FAIL $1: $2"; nfail=$((nfail + 1)); }
skip_all() { echo "SKIP guest: $1"; exit 77; }
log() { echo "# $*"; }

cleanup() {
	if [ -n "$QPID" ] && kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID" 2>/dev/null
		for _ in $(seq 20); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$QPID" 2>/dev/null
		wait "$QPID" 2>/dev/null
	fi
	ip netns exec "$NS" ip link del "$TAP" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ "$(id -u)" -eq 0 ] || skip_all "needs root"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 is not installed"
[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"

out=$("$top/scripts/mkguest.sh" "$top/build/guest" 2>&1)
rc=$?
if [ $rc -eq 2 ]; then
	skip_all "cannot build the guest: $out"
elif [ $rc -ne 0 ]; then
	fail guest_build "mkguest.sh exited with $rc: $out"
	exit 1
fi
KERNEL=$top/build/guest/vmlinuz INITRD=$top/build/guest/initrd.gz

ip netns add "$NS" || { fail guest_setup "ip netns add $NS"; exit 1; }
ip netns exec "$NS" ip link set lo up
ip netns exec "$NS" ip tuntap add dev "$TAP" mode tap || { fail guest_setup "tap"; exit 1; }
ip netns exec "$NS" ip link set "$TAP" address "$TAPMAC"
ip netns exec "$NS" ip addr add $HOST4/24 dev "$TAP"
ip netns exec "$NS" ip addr add $HOST6/64 dev "$TAP" nodad
ip netns exec "$NS" ip link set "$TAP" up

SERIAL=$T/serial.log
: >"$SERIAL"
start=$(date +%s%N)
# ip netns exec execs QEMU, so $! is QEMU's PID.
ip netns exec "$NS" qemu-system-x86_64 -accel tcg -m 96M -smp 1 \
	-nographic -no-reboot -nodefaults -serial "file:$SERIAL" -monitor none \
	-kernel "$KERNEL" -initrd "$INITRD" \
	-append "console=ttyS0 panic=-1 quiet hs.ip=$GUEST4/24 hs.gw=$HOST4 hs.gwmac=$TAPMAC hs.ip6=$GUEST6/64 hs.gw6=$HOST6 hs.name=$P" \
	-netdev tap,id=n0,ifname="$TAP",script=no,downscript=no \
	-device virtio-net-pci,netdev=n0,mac=$GUESTMAC,romfile= \
	</dev/null >"$T/qemu.out" 2>&1 &
QPID=$!
log "qemu pid $QPID, serial log $SERIAL"

ready=0
deadline=$(($(date +%s) + BOOT_TIMEOUT))
while [ "$(date +%s)" -lt $deadline ]; do
	grep -aq 'HS-GUEST-READY' "$SERIAL" && { ready=1; break; }
	kill -0 "$QPID" 2>/dev/null || break
	sleep 0.1
done
boot_ms=$((($(date +%s%N) - start) / 1000000))
if [ $ready -eq 1 ]; then
	log "boot time: $((boot_ms / 1000)).$(printf %03d $((boot_ms % 1000))) s"
	log "$(grep -ao 'HS-GUEST-READY.*' "$SERIAL" | head -n1 | tr -d '\r')"
	pass guest_boot
else
	fail guest_boot "no HS-GUEST-READY after $((boot_ms / 1000)) s"
	log "--- serial log (tail)"
	tail -n 30 "$SERIAL" | sed 's/^/# /'
	log "--- qemu output"
	sed 's/^/# /' "$T/qemu.out"
	exit 1
fi
boot_id=$(grep -ao 'HS-GUEST-READY.*' "$SERIAL" | head -n1 | awk '{ print $3 }')

# in_ns CMD...: runs CMD in the namespace, bounded to 10 s.
in_ns() { timeout 10 ip netns exec "$NS" "$@"; }

# echo: one line out, the same line back, over bash's /dev/tcp; twice, so
# the service is known to survive a connection
echo_ok=1
for i in 1 2; do
	msg="hs-echo-$$-$i-$RANDOM"
	got=$(in_ns bash -c 'exec 3<>/dev/tcp/$0/7 || exit 1
		printf "%s\n" "$1" >&3
		IFS= read -r -t 5 line <&3 && printf "%s" "$line"' $GUEST4 "$msg" 2>&1)
	if [ "$got" != "$msg" ]; then
		fail guest_echo "connection $i: sent '$msg', got '$got'"
		echo_ok=0
		break
	fi
done
[ $echo_ok -eq 1 ] && pass guest_echo

# many at once: every connection is opened and held before any sends, so
# they are all open together; each gets its own line back
got=$(in_ns bash -c 'for i in $(seq 64); do
	( exec 3<>/dev/tcp/$0/7 || exit 1
	  sleep 1
	  printf "m%s\n" $i >&3
	  IFS= read -r -t 5 line <&3 && [ "$line" = "m$i" ] && echo ok ) &
	done; wait' $GUEST4 2>&1 | grep -c '^ok$')
if [ "$got" -eq 64 ]; then
	pass guest_echo_many
else
	fail guest_echo_many "$got of 64 concurrent connections echoed"
fi

msg="hs-echo6-$$-$RANDOM"
got=$(in_ns bash -c 'exec 3<>/dev/tcp/$0/7 || exit 1
	printf "%s\n" "$1" >&3
	IFS= read -r -t 5 line <&3 && printf "%s" "$line"' $GUEST6 "$msg" 2>&1)
if [ "$got" = "$msg" ]; then
	pass guest_echo6
else
	fail guest_echo6 "sent '$msg' to $GUEST6, got '$got'"
fi

# http_get PATH: prints the whole response (status line, headers, body)
http_get() {
	in_ns bash -c 'exec 3<>/dev/tcp/$0/80 || exit 1
		printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$1" "$0" >&3
		timeout 5 cat <&3' $GUEST4 "$1" 2>&1 | tr -d '\r'
}

resp=$(http_get /)
status=$(echo "$resp" | head -n1)
if [[ "$status" == "HTTP/1."?" 200"* ]] && grep -q "boot_id: $boot_id" <<<"$resp" &&
   grep -q "hostname: $P" <<<"$resp"; then
	pass guest_http
else
	fail guest_http "status '$status', body: $(echo "$resp" | tail -n +2 | tr '\n' ' ' | cut -c1-200)"
fi

resp=$(http_get /cgi-bin/status)
status=$(echo "$resp" | head -n1)
if [[ "$status" == "HTTP/1."?" 200"* ]] && grep -q "^boot_id $boot_id\$" <<<"$resp" &&
   grep -qE '^uptime [0-9]+\.[0-9]+$' <<<"$resp"; then
	pass guest_status
	log "status: $(echo "$resp" | grep -E '^(uptime|boot_id)' | tr '\n' ' ')"
else
	fail guest_status "status '$status', body: $(echo "$resp" | tail -n +2 | tr '\n' ' ' | cut -c1-200)"
fi

if grep -q "^neigh $HOST4 dev eth0 lladdr $TAPMAC PERMANENT" <<<"$resp" &&
   grep -q "^neigh $HOST6 dev eth0 lladdr $TAPMAC PERMANENT" <<<"$resp"; then
	pass guest_gwmac
else
	fail guest_gwmac "no permanent entries for $HOST4 and $HOST6: $(grep '^neigh' <<<"$resp" | tr '\n' ' ')"
fi

[ $nfail -eq 0 ]
