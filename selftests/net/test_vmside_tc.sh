#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The VM-side program on the TC hook, with real traffic across a 1500-byte
# underlay. VM vm1 (10.1.0.5, fd01::5) runs at site B with vmside on the TC
# hook of vm1h and checksum offload, TSO and GSO on its veth: what it sends
# reaches the program as 64 KB GSO packets, which are encapsulated (or
# SNATed) whole and cut into VXLAN frames only on the way out. It is bound
# at front-end A (203.0.113.1, 2001:db8:f::1); A and B's uplinks run XDP.
# The router counts what crosses it: frames from B longer than the
# underlay MTU, and TCP to the client from any source other than the
# public addresses.
#
#  - tc_status: status (text and JSON) names the TC hook, tc shows the
#    filter, no XDP program is left on the port
#  - bulk_v4 / bulk_v6 (IPv4 underlay) and bulk_v4_ipv6_underlay: a
#    byte-checked hs_stream echo at ~1 Gbit/s each way, then iperf3 -R (the
#    VM sends) for 3 s: every byte the VM sent received (but what iperf3's
#    closing sockets throw away, counted by a kernel), the VM-side
#    encapsulated GSO packets (A decapsulated several VXLAN frames for each
#    packet B encapsulated), MSS clamped on the SYNs, no frame over the
#    MTU, no wrong public source
#  - uplinks_on_tc: both uplinks switched to the TC hook, offloads on between
#    the nodes: byte-checked streams (IPv4, IPv6) through DNAT + VXLAN,
#    decapsulation and SNAT, with GSO packets decapsulated whole; then back
#    to XDP
#  - gso_resized: a flow whose SYNs were not clamped (mtu 0 on both nodes
#    when it started, 1600-byte links) keeps flowing once the nodes say mtu
#    1500: B lowers the gso_size of the VM's GSO packets so that each VXLAN
#    frame fits, and no frame over 1500 leaves B
#  - live_switch: with two streams running (IPv4, IPv6), vm1h switched 10
#    times between the XDP and the TC hook: nothing lost or reset, gaps
#    under 300 ms, status naming the hook after each switch (the VM's
#    checksum offload off: XDP needs finished frames)
#  - detach_cleans_both: detach removes the TC filter and the clsact qdisc
#  - agent_vmside_hook: an agent with [agent] vmside_hook = tc gives a new
#    VM port the TC hook; SIGHUP with vmside_hook = xdp switches it; an
#    invalid value is refused
source "$(dirname "$0")/lib.sh"

hs_require vmside_tc
for t in iperf3 jq timeout tc; do
	command -v $t >/dev/null || skip_all vmside_tc "$t is not installed"
done
# shellcheck disable=SC2154 # top comes from lib.sh
PASSO=$top/build/bench/pass.bpf.o
[ -f "$PASSO" ] || skip_all vmside_tc "build first (make): $PASSO is missing"

VM4=10.1.0.5 VM6=fd01::5 VMMAC=02:00:00:00:01:05
CL4=198.51.100.10 CL6=2001:db8:100::10
TCP_PORT=7000 IPERF_PORT=5201

# streams left running at exit would block the harness's wait
vt_cleanup() {
	local v pid
	for v in ${!SPID_*}; do
		pid=${!v}
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	done
	hs_cleanup
}
trap vt_cleanup EXIT

topo_up A B
vm_up vm1 B $VM4 $VM6 $VMMAC

# offload on|off: the VM's veth pair (both ends)
offload() {
	nsx vm1 ethtool -K eth0 tx "$1" tso "$1" gso "$1" >/dev/null 2>&1 &&
		nsx B ethtool -K vm1h tx "$1" tso "$1" gso "$1" >/dev/null 2>&1
}

# entries NODE_HOST_B ENTRY_A: where A sends the VM's traffic, and the
# front-end B's replies without a flow entry go to
entries() {
	local a
	for a in $VM4 $VM6; do
		hsl A vm remote "$a" --host "$1" --mac $VMMAC --entry "$2" --id 5 >/dev/null &&
			hsl B vm local "$a" --dev vm1h --mac $VMMAC --entry "$2" --id 5 >/dev/null || return 1
	done
}

setup() {
	local n o
	for n in A B; do
		[ $n = A ] && o=B || o=A
		hsl $n config set --underlay4 "$(underlay $n)" --underlay6 "$(underlay6 $n)" \
			--vni $HS_VNI --mtu 1500 >/dev/null &&
			hsl $n peer add "$(underlay $o)" && hsl $n peer add "$(underlay6 $o)" &&
			hsl $n --log-level err attach uplink up0 >/dev/null || return 1
	done
	hsl A binding add "$(pubaddr A)" $VM4 --id 5 >/dev/null &&
		hsl A binding add "$(pubaddr6 A)" $VM6 --id 5 >/dev/null || return 1
	entries "$(underlay B)" "$(underlay A)" || return 1
	offload on && hsl B --log-level err attach vmside vm1h --hook tc >/dev/null || return 1
	# what the router counts
	nsx rt nft -f - <<-EOF || return 1
		table inet hsvt {
			counter big_from_b {}
			counter vx6_from_b {}
			counter bad_src4 {}
			counter bad_src6 {}
			counter good_src4 {}
			counter good_src6 {}
			chain pre {
				type filter hook prerouting priority -300; policy accept;
				iifname "r2" meta length > 1500 counter name "big_from_b"
				iifname "r2" meta nfproto ipv6 udp dport 4789 counter name "vx6_from_b"
			}
			chain post {
				type filter hook postrouting priority 300; policy accept;
				oifname "rc0" ip daddr $CL4 meta l4proto tcp ip saddr != $(pubaddr A) counter name "bad_src4"
				oifname "rc0" ip6 daddr $CL6 meta l4proto tcp ip6 saddr != $(pubaddr6 A) counter name "bad_src6"
				oifname "rc0" ip daddr $CL4 meta l4proto tcp ip saddr $(pubaddr A) counter name "good_src4"
				oifname "rc0" ip6 daddr $CL6 meta l4proto tcp ip6 saddr $(pubaddr6 A) counter name "good_src6"
			}
		}
	EOF
	bg vm1 "$STREAM" server $TCP_PORT
	bg vm1 iperf3 -s -p $IPERF_PORT >"$T/iperf3-server.log" 2>&1
	wait_for 5 listening $TCP_PORT && wait_for 5 listening $IPERF_PORT
}
listening() { nsx vm1 ss -Hltn "sport = :$1" | grep -q .; }

HS_NFT_TABLE=hsvt # the router's counters snap reads

# hook_is DEV HOOK: status (JSON and text) says DEV runs our vmside on HOOK
hook_is() {
	local js line
	js=$(hsl B --json status "$1" | jq -c --arg d "$1" \
		'.interfaces[] | select(.interface == $d) | [.heliostat, .role, .hook, .program]')
	line=$(hsl B status "$1" | awk -v d="$1" '$1 == d')
	if [ "$2" = tc ]; then
		[ "$js" = '[true,"vmside","tc","tc_vmside"]' ] &&
			[[ "$line" =~ vmside\ +tc_vmside\ id\ [0-9]+,\ tc\ hook ]]
	else
		[ "$js" = '[true,"vmside","xdp","xdp_vmside"]' ] &&
			[[ "$line" =~ vmside\ +xdp_vmside\ id\ [0-9]+,\ (single|dispatcher)\ attach ]] &&
			[[ "$line" != *"tc hook"* ]]
	fi
}
tc_filters() { nsx B tc filter show dev "$1" ingress 2>/dev/null | grep -c "handle 0x4853"; }
has_xdp() { nsx B ip link show dev "$1" | grep -q ' xdp'; }

if ! setup; then
	fail setup "the topology, maps or programs"
	exit 1
fi

# ---- tc_status ----
why=""
hook_is vm1h tc || why+="status: '$(hsl B status vm1h | tail -1)' $(hsl B --json status vm1h | jq -c .interfaces);"
[ "$(tc_filters vm1h)" -eq 1 ] || why+=" tc filter show: $(nsx B tc filter show dev vm1h ingress | tr '\n' ' ');"
nsx B tc filter show dev vm1h ingress | grep -q "tc_vmside.*direct-action" || why+=" not a direct-action tc_vmside filter;"
has_xdp vm1h && why+=" an XDP program is left on vm1h;"
[ -z "$why" ] && pass tc_status || fail tc_status "$why"

# ---- bulk ----

# NS's TcpExt counters of connections reset with data unread or arriving
# after the close
aborts() {
	nsx "$1" awk '/^TcpExt:/ {
		if (!h) { for (i = 2; i <= NF; i++) n[i] = $i; h = 1; next }
		for (i = 2; i <= NF; i++) if (n[i] == "TCPAbortOnClose" || n[i] == "TCPAbortOnData") s += $i
	} END { print s + 0 }' /proc/net/netstat
}

# bulk NAME ADDR FAMILY MSS: a byte-checked echo stream, then iperf3 -R
bulk() {
	local name=$1 addr=$2 f=$3 mss=$4 j=$T/$1.json why="" rc sent recv retr bps ab0 ab
	local up down ratio
	snap b0
	stream_start "$name" "$addr" 2000 65536
	if ! stream_advances "$T/$name.st" 1048576 10; then
		why+="the echo stream did not start; "
	fi
	sleep 2
	stream_end "$name"
	[ -z "$stream_why" ] || why+="echo stream: ${stream_why%; }; "
	ab0=$(($(aborts cl) + $(aborts vm1)))
	nsx cl timeout 30 iperf3 -c "$addr" -p $IPERF_PORT -t 3 -R --json --connect-timeout 3000 \
		>"$j" 2>&1
	rc=$?
	ab=$(($(aborts cl) + $(aborts vm1) - ab0))
	snap b1
	sent=$(jq -r '.end.sum_sent.bytes // 0' "$j" 2>/dev/null)
	recv=$(jq -r '.end.sum_received.bytes // 0' "$j" 2>/dev/null)
	retr=$(jq -r '.end.sum_sent.retransmits // 0' "$j" 2>/dev/null)
	bps=$(jq -r '.end.sum_received.bits_per_second // 0' "$j" 2>/dev/null)
	bps=$(awk -v b="${bps:-0}" 'BEGIN {printf "%.0f", b / 1e6}')
	up=$(delta b0 b1 B.TX_REPLY_ENCAP)
	down=$(delta b0 b1 A.TX_DECAP_SNAT)
	ratio=$(awk -v a="$down" -v b="$up" 'BEGIN {printf "%.1f", b ? a / b : 0}')
	log "$name: iperf3 -R $bps Mbit/s, sent=$sent received=$recv, retransmits=$retr," \
		"aborts on close=$ab; B encapsulated $up packets, A decapsulated $down" \
		"(${ratio} VXLAN frames per packet the VM side saw); MSS_CLAMPED A=$(delta b0 b1 A.MSS_CLAMPED)" \
		"B=$(delta b0 b1 B.MSS_CLAMPED); router: $(delta b0 b1 rt.big_from_b) frames over 1500 from B," \
		"$(delta b0 b1 rt.bad_src$f) with a wrong source to the client, $(delta b0 b1 rt.good_src$f) right"
	[ $rc -eq 0 ] && jq -e '.end.sum_sent' "$j" >/dev/null 2>&1 ||
		why+="iperf3 exit $rc: $(jq -r '.error // empty' "$j" 2>/dev/null | head -c 200); "
	# (iperf3 ends the test by closing its sockets, esnet/iperf#382: what
	# was still in flight then is thrown away by a kernel, and counted)
	# (the echo stream above checked every byte; here what is missing at
	# the end must be no more than what iperf3 left in flight)
	if [ "${recv:-0}" -le 0 ] || [ "$recv" -gt "$sent" ] || [ $((sent - recv)) -gt $((32 << 20)) ]; then
		why+="received $recv of $sent bytes ($ab aborts on close); "
	fi
	[ "$(delta b0 b1 B.TX_REPLY_ENCAP)" -gt 0 ] || why+="B's VM side encapsulated nothing; "
	awk -v r="$ratio" 'BEGIN { exit !(r >= 2) }' ||
		why+="no GSO: $ratio VXLAN frames per encapsulated packet; "
	[ "$(delta b0 b1 A.MSS_CLAMPED)" -gt 0 ] && [ "$(delta b0 b1 B.MSS_CLAMPED)" -gt 0 ] ||
		why+="SYNs not clamped at both nodes; "
	[ "$(jq -r '.start.tcp_mss_default // 0' "$j")" -le "$mss" ] ||
		why+="iperf3 MSS $(jq -r '.start.tcp_mss_default' "$j") over $mss; "
	[ "$(delta b0 b1 rt.big_from_b)" -eq 0 ] || why+="frames over the MTU from B; "
	[ "$(delta b0 b1 rt.bad_src$f)" -eq 0 ] || why+="TCP to the client from a wrong source; "
	[ "$(delta b0 b1 rt.good_src$f)" -gt 0 ] || why+="the router saw no TCP to the client; "
	[ "$(delta b0 b1 B.DROP_TOO_BIG A.DROP_TOO_BIG B.DROP_ERROR A.DROP_ERROR)" -eq 0 ] ||
		why+="drops: too big or error; "
	if [ -z "$why" ]; then
		pass "$name ($bps Mbit/s, ${ratio} frames per packet, $retr retransmits)"
	else
		fail "$name" "${why%; }"
	fi
}

bulk bulk_v4 "$(pubaddr A)" 4 1390
bulk bulk_v6 "$(pubaddr6 A)" 6 1370
if entries "$(underlay6 B)" "$(underlay6 A)"; then
	snap u0
	bulk bulk_v4_ipv6_underlay "$(pubaddr A)" 4 1390
	snap u1
	n=$(delta u0 u1 rt.vx6_from_b)
	log "bulk_v4_ipv6_underlay: $n VXLAN frames over IPv6 from B"
	[ "$n" -gt 0 ] || fail bulk_v4_ipv6_underlay_outer "no VXLAN over IPv6 from B"
else
	fail bulk_v4_ipv6_underlay "cannot point the entries at the IPv6 underlay"
fi
entries "$(underlay B)" "$(underlay A)" || fail setup "entries back to the IPv4 underlay"

# ---- uplinks_on_tc ----
# Every program on TC: the uplinks' DNAT + VXLAN, decapsulation and SNAT on
# skbs, byte-checked both ways, then back to XDP. Meanwhile the links
# between the nodes and the router have checksum offload and TSO, and the
# router no XDP program, so GSO packets cross between the nodes whole.
uplink_is() { # NODE HOOK
	[ "$(hsl "$1" --json status up0 | jq -c '.interfaces[0] | [.heliostat, .role, .hook]')" = \
		"[true,\"uplink\",\"$2\"]" ]
}
# core_offload on|off: the node-router links; off puts the router's XDP
# program back last (the XDP uplinks need finished frames)
core_offload() {
	local s
	[ "$1" = on ] && nsx rt ip link set r1 xdp off && nsx rt ip link set r2 xdp off
	for s in "A up0" "B up0" "rt r1" "rt r2"; do
		set -- "$1" $s
		nsx "$2" ethtool -K "$3" tx "$1" tso "$1" gso "$1" >/dev/null 2>&1 || return 1
	done
	[ "$1" = on ] || { nsx rt ip link set r1 xdpdrv obj "$PASSO" sec xdp &&
		nsx rt ip link set r2 xdpdrv obj "$PASSO" sec xdp; }
}
why=""
for n in A B; do
	hsl $n --log-level err attach uplink up0 --hook tc >/dev/null || why+="$n: attach uplink --hook tc failed; "
	uplink_is $n tc || why+="$n: status of up0: $(hsl $n status up0 | tail -1); "
	nsx $n ip link show dev up0 | grep -q ' xdp' && why+="$n: an XDP program is left on up0; "
done
core_offload on || why+="cannot turn offloads on between the nodes; "
snap t0
stream_start tc4 "$(pubaddr A)" 1000 65536
stream_start tc6 "$(pubaddr6 A)" 1000 65536
stream_advances "$T/tc4.st" $((4 << 20)) 10 && stream_advances "$T/tc6.st" $((4 << 20)) 10 ||
	why+="the streams did not carry 4 MiB each; "
for s in tc4 tc6; do
	stream_end $s
	[ -z "$stream_why" ] || why+="$s: ${stream_why%; }; "
done
snap t1
core_offload off || why+="cannot turn offloads off again; "
for c in A.TX_DNAT_ENCAP A.TX_DECAP_SNAT B.TX_DECAP_LOCAL B.TX_REPLY_ENCAP; do
	[ "$(delta t0 t1 $c)" -gt 0 ] || why+="$c did not count; "
done
[ "$(delta t0 t1 rt.bad_src4 rt.bad_src6)" -eq 0 ] || why+="TCP to the client from a wrong source; "
# GSO packets decapsulated whole: as many decapsulations as encapsulations
# each way, and far fewer than the streams' 1.4 KB segments
a=$(delta t0 t1 A.TX_DNAT_ENCAP) b=$(delta t0 t1 B.TX_DECAP_LOCAL)
c=$(delta t0 t1 B.TX_REPLY_ENCAP) d=$(delta t0 t1 A.TX_DECAP_SNAT)
[ "$b" -le $((a + a / 10 + 10)) ] && [ "$d" -le $((c + c / 10 + 10)) ] && [ "$d" -lt 3000 ] ||
	why+="GSO packets were cut on the way (A encapsulated $a, B decapsulated $b; B $c, A $d); "
for n in A B; do
	hsl $n --log-level err attach uplink up0 >/dev/null && uplink_is $n xdp &&
		[ "$(nsx $n tc filter show dev up0 ingress | grep -c 0x4853)" -eq 0 ] ||
		why+="$n: back to XDP: $(hsl $n status up0 | tail -1); "
done
log "uplinks_on_tc: A DNAT+VXLAN $a, B decapsulated $b; B's VM side VXLAN $c, A decap+SNAT $d" \
	"(for 2 x 2 x 4+ MiB: ~6000 segments of 1.4 KB)"
[ -z "$why" ] && pass uplinks_on_tc || fail uplinks_on_tc "${why%; }"

# ---- gso_resized ----
# A flow whose SYNs were not clamped: mtu 0 on both nodes while it starts,
# and room for its 1550-byte frames (links of 1600 between B and A). Then
# the nodes say mtu 1500: the VM's GSO packets, whose segments would now
# be 50 bytes too long, must leave B in frames that fit (a non-GSO one too
# long gets a too-big error, after which the VM's own segments are smaller).
ul_mtu() { # MTU: every link between B and A
	nsx A ip link set up0 mtu "$1" && nsx B ip link set up0 mtu "$1" &&
		nsx rt ip link set r1 mtu "$1" && nsx rt ip link set r2 mtu "$1"
}
why=""
for n in A B; do hsl $n config set --mtu 0 >/dev/null; done
ul_mtu 1600 || why+="cannot set the links' MTU; "
nsx cl ip route flush cache
nsx vm1 ip route flush cache
snap g0
stream_start gso "$(pubaddr A)" 2000 65536
stream_advances "$T/gso.st" $((4 << 20)) 10 || why+="no stream with mtu 0; "
snap g1
for n in B A; do hsl $n config set --mtu 1500 >/dev/null; done
snap g2
stream_advances "$T/gso.st" $((16 << 20)) 20 || why+="the stream did not carry 16 MiB after mtu 1500; "
snap g3
stream_end gso
[ -z "$stream_why" ] || why+="echo stream: ${stream_why%; }; "
vm_pmtu=$(nsx vm1 ip route get $CL4 | grep -o 'mtu [0-9]*' | cut -d' ' -f2)
enc=$(delta g2 g3 B.TX_REPLY_ENCAP)
ratio=$(awk -v a="$(delta g2 g3 A.TX_DECAP_SNAT)" -v b="$enc" 'BEGIN {printf "%.1f", b ? a / b : 0}')
log "gso_resized: MSS_CLAMPED as the flow started: $(delta g0 g1 A.MSS_CLAMPED B.MSS_CLAMPED)," \
	"frames over 1500 from B before mtu 1500: $(delta g0 g1 rt.big_from_b), after: $(delta g2 g3 rt.big_from_b);" \
	"after mtu 1500 B encapsulated $enc packets ($ratio VXLAN frames each), too-big errors to the VM" \
	"$(delta g1 g3 B.TX_ICMP_TOOBIG), dropped too big $(delta g1 g3 B.DROP_TOO_BIG);" \
	"the VM's path MTU to the client: ${vm_pmtu:-none learned}"
[ "$(delta g0 g1 A.MSS_CLAMPED B.MSS_CLAMPED)" -eq 0 ] || why+="the SYNs were clamped (mtu 0 expected); "
[ "$(delta g0 g1 rt.big_from_b)" -gt 0 ] || why+="no 1550-byte frames before mtu 1500: nothing to resize; "
[ "$(delta g2 g3 rt.big_from_b)" -eq 0 ] || why+="frames over 1500 from B after mtu 1500; "
[ "$(delta g1 g3 B.DROP_TOO_BIG)" -eq 0 ] || why+="B dropped packets as too big; "
awk -v r="$ratio" 'BEGIN { exit !(r >= 2) }' || why+="no GSO packets after mtu 1500 ($ratio frames each); "
ul_mtu 1500 || why+="cannot set the links' MTU back; "
if [ -z "$why" ]; then
	pass "gso_resized ($([ -z "$vm_pmtu" ] && echo "GSO packets cut to fit, the VM learned no path MTU" ||
		echo "the VM learned path MTU $vm_pmtu from $(delta g1 g3 B.TX_ICMP_TOOBIG) too-big errors first"))"
else
	fail gso_resized "${why%; }"
fi

# ---- live_switch ----
why=""
offload off
stream_start sw4 "$(pubaddr A)" 250 4000
stream_start sw6 "$(pubaddr6 A)" 250 4000
stream_advances "$T/sw4.st" 65536 10 && stream_advances "$T/sw6.st" 65536 10 ||
	why+="no streams before switching; "
for i in $(seq 10); do
	[ $((i % 2)) -eq 1 ] && h=xdp || h=tc
	hsl B --log-level err attach vmside vm1h --hook $h >/dev/null || why+="attach --hook $h #$i failed; "
	hook_is vm1h $h || why+="status after --hook $h #$i: $(hsl B status vm1h | tail -1); "
	if [ $h = xdp ]; then
		[ "$(tc_filters vm1h)" -eq 0 ] || why+="TC filter left with the XDP hook #$i; "
	else
		has_xdp vm1h && why+="XDP program left with the TC hook #$i; "
	fi
	sleep 0.2
done
stream_advances "$T/sw4.st" 65536 10 && stream_advances "$T/sw6.st" 65536 10 ||
	why+="streams stalled after switching; "
for s in sw4 sw6; do
	stream_end $s
	[ -z "$stream_why" ] || why+="$s: ${stream_why%; }; "
	awk -v g="${stream_gap:-99999}" 'BEGIN { exit !(g <= 300) }' ||
		why+="$s: gap ${stream_gap:-?} ms > 300 ms; "
done
[ -z "$why" ] && pass "live_switch (10 switches, 2 streams)" || fail live_switch "${why%; }"

# ---- detach_cleans_both ----
why=""
hsl B --log-level err attach vmside vm1h --hook tc >/dev/null || why+="attach --hook tc failed; "
hsl B detach vm1h || why+="detach failed; "
[ "$(tc_filters vm1h)" -eq 0 ] || why+="TC filter left; "
nsx B tc qdisc show dev vm1h | grep -q clsact && why+="clsact qdisc left; "
has_xdp vm1h && why+="XDP program left; "
[ "$(hsl B status vm1h | awk '$1 == "vm1h"')" = "vm1h             no XDP program" ] ||
	why+="status: '$(hsl B status vm1h | tail -1)'; "
hsl B detach vm1h 2>/dev/null && why+="a second detach succeeded; "
[ -z "$why" ] && pass detach_cleans_both || fail detach_cleans_both "${why%; }"

# ---- agent_vmside_hook ----
why=""
agent_file() { # HOOK
	printf '[node]\nuplink = up0\nunderlay4 = %s\nunderlay6 = %s\nvni = %s\nmtu = 1500\n' \
		"$(underlay A)" "$(underlay6 A)" "$HS_VNI"
	printf '[agent]\nvm_ifname = vm*h\nlog_level = info\nvmside_hook = %s\n' "$1"
}
agent_file tc >"$T/A.conf"
if agent_start A; then
	ip link add vm7h netns $P-A type veth peer name vm7p netns $P-A
	nsx A ip link set vm7h up && nsx A ip link set vm7p up
	on_tc() { [ "$(hsl A --json status vm7h | jq -r '.interfaces[0].hook')" = tc ]; }
	on_xdp() { [ "$(hsl A --json status vm7h | jq -r '.interfaces[0].hook')" = xdp ] &&
		[ "$(nsx A tc filter show dev vm7h ingress | grep -c 0x4853)" -eq 0 ]; }
	wait_for 5 on_tc || why+="a new port did not get the TC hook: $(hsl A status vm7h | tail -1); "
	agent_file xdp >"$T/A.conf"
	kill -HUP "$AGENT_A"
	wait_for 5 on_xdp || why+="SIGHUP with vmside_hook = xdp did not switch: $(hsl A status vm7h | tail -1); "
	agent_file bogus >"$T/A.conf"
	kill -HUP "$AGENT_A"
	wait_for 5 grep -q "vmside_hook = 'bogus': expected xdp or tc" "$T/agent-A.log" ||
		why+="an invalid vmside_hook was not refused; "
	on_xdp || why+="the invalid file changed the hook; "
	agent_stop A
	ip -n $P-A link del vm7h
else
	why+="the agent did not start; "
fi
[ -z "$why" ] && pass agent_vmside_hook || {
	fail agent_vmside_hook "${why%; }"
	sed 's/^/#   agent: /' "$T/agent-A.log" | tail -n 15
}

hs_done
