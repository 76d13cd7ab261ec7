#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Live migration between two libvirt sites on this machine: nodes A and B
# of selftests/net/lib.sh's topology (no XDP programs, no agents), each
# with its own libvirtd (selftests/vm/libvirt.sh) listening on its
# underlay address. The test guest of scripts/mkguest.sh (TCG) boots at A
# and is reached through its tap: the node puts the guest's gateway,
# 169.254.0.1/32, on the tap and routes the guest's /32 to it; the guest
# has a permanent neighbour entry for the gateway (hs.gwmac, the tap's
# MAC), as it would behind heliostat's data plane.
#
#  - lv_sites: libvirtd runs at A and B, each in its own namespaces
#  - lv_boot: the guest boots at A (boot time printed)
#  - lv_echo_A: TCP echo to the guest from node A's namespace
#  - lv_migrate_A_B: virsh migrate --live --p2p --persistent
#    --undefinesource to B's underlay address succeeds; the domain runs at
#    B, persistent, and A no longer knows it (migration time and QEMU's
#    downtime printed)
#  - lv_same_guest_A_B: from B's namespace the guest's /cgi-bin/status
#    shows the boot id it had at A, and echo works
#  - lv_migrate_B_A, lv_same_guest_B_A: back again, the same checks
# SKIP (exit 77) when libvirtd, virsh, QEMU or the guest are unavailable.
# shellcheck disable=SC2016 # single-quoted scripts for bash -c
# shellcheck source=../net/lib.sh
source "$(dirname "$0")/../net/lib.sh"
# shellcheck source=libvirt.sh
source "$(dirname "$0")/libvirt.sh"
trap 'exit 1' INT TERM

VM=web VM4=10.1.0.5 VMMAC=02:00:00:00:01:05 GW=169.254.0.1
TAPMAC=fe:${VMMAC#*:} TAP=${VM}h
BOOT_TIMEOUT=${HS_GUEST_BOOT_TIMEOUT:-90}

[ "$(id -u)" -eq 0 ] || skip_all lv_migrate "needs root"
lv_require lv_migrate
for t in ip nsenter ethtool; do
	command -v $t >/dev/null || skip_all lv_migrate "$t is not installed"
done
# topo_up attaches it to the router's veths
[ -f "$top/build/bench/pass.bpf.o" ] || skip_all lv_migrate "build first (make)"
out=$("$top/scripts/mkguest.sh" "$top/build/guest" 2>&1)
rc=$?
[ $rc -eq 2 ] && skip_all lv_migrate "cannot build the guest: $out"
[ $rc -eq 0 ] || { fail guest_build "mkguest.sh exited with $rc: $out"; exit 1; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { printf '%d.%03d s' $(($1 / 1000)) $(($1 % 1000)); }

topo_up A B
t0=$(now_ms)
if lv_site_up A A "$(underlay A)" && lv_site_up B B "$(underlay B)"; then
	pass lv_sites
	log "two libvirtd started in $(secs $(($(now_ms) - t0)))"
else
	fail lv_sites "libvirtd did not start"
	exit 1
fi

lv_domain_xml $VM $VMMAC "hs.ip=$VM4 hs.gw=$GW hs.gwmac=$TAPMAC hs.name=$VM" >"$T/$VM.xml"
t0=$(now_ms)
lv_define_start A "$T/$VM.xml" || { fail lv_boot "cannot start $VM at A"; exit 1; }
if ready=$(lv_wait_ready A $VM "$BOOT_TIMEOUT"); then
	pass lv_boot
	log "boot time: $(secs $(($(now_ms) - t0))) (define, start, services up)"
	log "$ready"
else
	fail lv_boot "no HS-GUEST-READY at A"
	exit 1
fi
boot_id=$(awk '{ print $3 }' <<<"$ready")

# tap_route NODE: the node reaches the guest through its tap, from the
# guest's gateway address
tap_route() {
	nsx "$1" ip addr replace $GW/32 dev $TAP &&
		nsx "$1" ip route replace $VM4/32 dev $TAP
}

# echo_ok NODE: one line echoed by the guest, from NODE's namespace
echo_ok() {
	local msg="hs-lv-$$-$RANDOM" got
	got=$(timeout 10 nsenter --net="/run/netns/$P-$1" bash -c 'exec 3<>/dev/tcp/$0/7 || exit 1
		printf "%s\n" "$1" >&3
		IFS= read -r -t 5 line <&3 && printf "%s" "$line"' $VM4 "$msg" 2>&1)
	[ "$got" = "$msg" ] || { log "echo from $1: sent '$msg', got '$got'"; return 1; }
}

# http_get NODE PATH: the whole response, from NODE's namespace
http_get() {
	timeout 10 nsenter --net="/run/netns/$P-$1" bash -c 'exec 3<>/dev/tcp/$0/80 || exit 1
		printf "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" "$1" "$0" >&3
		timeout 5 cat <&3' $VM4 "$2" 2>&1 | tr -d '\r'
}

if tap_route A && echo_ok A; then
	pass lv_echo_A
else
	fail lv_echo_A "no echo through the tap at A"
fi

# migrate FROM TO: the domain moves; checks both sites and the guest
migrate() {
	local from=$1 to=$2 t0 ms out info src down elapsed resp got
	t0=$(now_ms)
	out=$(lv_migrate "$from" $VM "$(underlay "$to")" 2>&1)
	rc=$?
	ms=$(($(now_ms) - t0))
	if [ $rc -ne 0 ]; then
		fail "lv_migrate_${from}_$to" "virsh migrate: $out"
		tail -n 5 "$(lv_dir "$from")/log/libvirtd.log" "$(lv_dir "$to")/log/libvirtd.log" | sed 's/^/# /'
		return 1
	fi
	# the source forgets the domain with --undefinesource; the destination
	# keeps the completed job's statistics
	src=$from
	info=$(lv_jobinfo "$from" $VM 2>/dev/null) || { src=$to; info=$(lv_jobinfo "$to" $VM 2>&1); }
	info=$(tr -s ' ' <<<"$info")
	down=$(sed -n 's/^Total downtime: //p' <<<"$info")
	[ -n "$down" ] || down=$(sed -n 's/^Downtime: //p' <<<"$info")
	elapsed=$(sed -n 's/^Time elapsed: //p' <<<"$info")
	log "migration $from->$to: $(secs $ms) (virsh migrate); job ${elapsed:-?}, downtime ${down:-?} (domjobinfo at $src)"
	if ! lv_running "$to" $VM; then
		fail "lv_migrate_${from}_$to" "$VM does not run at $to: $(lv_virsh "$to" list --all 2>&1)"
	elif ! lv_virsh "$to" dominfo $VM | grep -q '^Persistent: *yes'; then
		fail "lv_migrate_${from}_$to" "$VM is not persistent at $to"
	elif lv_defined "$from" $VM; then
		fail "lv_migrate_${from}_$to" "$VM still known at $from: $(lv_virsh "$from" list --all 2>&1)"
	else
		pass "lv_migrate_${from}_$to"
	fi

	tap_route "$to" || { fail "lv_same_guest_${from}_$to" "no tap $TAP at $to"; return 1; }
	resp=$(http_get "$to" /cgi-bin/status)
	got=$(sed -n 's/^boot_id //p' <<<"$resp")
	if [ "$got" != "$boot_id" ]; then
		fail "lv_same_guest_${from}_$to" "boot id at $to '$got', at boot '$boot_id': $(head -c 200 <<<"$resp")"
	elif ! echo_ok "$to"; then
		fail "lv_same_guest_${from}_$to" "no echo at $to"
	else
		pass "lv_same_guest_${from}_$to"
		log "at $to: $(grep -E '^(boot_id|uptime)' <<<"$resp" | tr '\n' ' ')"
	fi
}

migrate A B && migrate B A
hs_done
