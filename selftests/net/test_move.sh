#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A VM moves between three sites under a live TCP stream to its public
# address at site A. Real kernel TCP in namespaces, real XDP on veths, each
# node's state kept by its own agent (hs-loader agent) and pinned maps;
# with HS_STATE=etcd (test_move_etcd.sh) the state lives in etcd, written
# with hsctl, and the agents follow it.
#
#  - move_stream: A->B->C->A ten rounds; the stream (1 kHz, 64-byte writes,
#    every byte echoed and checked) keeps going after every move; at the end
#    zero resets, zero mismatches, every byte back; the longest gap printed
#  - replies_via_entry: while the VM runs at B or C its replies reach the
#    client through A's front-end; nothing from B or C's uplinks carries A's
#    public address (counted by nftables in the router)
#  - second_binding: a connection to B's public address works while the VM
#    is away from A, and the first stream is not disturbed
#  - ipv6_client: the same over IPv6 (public 2001:db8:f::1, VM fd01::5)
#  - agent_restart: the agent of the VM's host is restarted mid-stream
#  - vm_to_vm: a second VM at C reaches the first by its overlay address,
#    before and after moves
source "$(dirname "$0")/lib.sh"

hs_require move
ROUNDS=${HS_MOVE_ROUNDS:-10}
VM4=10.1.0.5 VM6=fd01::5 VMMAC=02:00:00:00:01:05
VM2_4=10.1.0.6 VM2_6=fd01::6 VM2MAC=02:00:00:00:01:06

topo_up A B C
vm_up vm1 A $VM4 $VM6 $VMMAC
vm_up vm2 C $VM2_4 $VM2_6 $VM2MAC
HS_VM_NAME[vm1]=web HS_VM_NAME[vm2]=db
if [ "$HS_STATE" = etcd ]; then
	etcd_up || { fail setup "etcd"; exit 1; }
	state_vm web 5 $VM4 $VM6 $VMMAC A A && state_vm db 6 $VM2_4 $VM2_6 $VM2MAC C C ||
		{ fail setup "VM records"; exit 1; }
	vms=""
else
	vms="$(vm_section web 5 $VM4 $VM6 $VMMAC A vm1; vm_section db 6 $VM2_4 $VM2_6 $VM2MAC C vm2)"
fi
for n in A B C; do
	agent_conf $n "$vms"
	agent_start $n || { fail setup "agent on $n"; exit 1; }
done
for n in A B C; do
	state_binding $n "$(pubaddr $n)" web $VM4 5
	state_binding $n "$(pubaddr6 $n)" web $VM6 5
done
if [ "$HS_STATE" = maps ]; then
	state_vm web 5 $VM4 $VM6 $VMMAC A A
	state_vm db 6 $VM2_4 $VM2_6 $VM2MAC C C
fi
ready() { [ "$(vm_kind A $VM4)" = local ] && [ "$(vm_kind B $VM4)" = remote ] &&
	[ "$(vm_kind C $VM2_4)" = local ] && hsl A binding list | grep -q "^$(pubaddr A) "; }
wait_for 10 ready || { fail setup "state not applied: A $(vm_kind A $VM4), B $(vm_kind B $VM4)"; exit 1; }

# router counters: what each site's uplink sends with A's public source
nsx rt nft -f - <<EOF
table inet hstest {
	chain pre {
		type filter hook prerouting priority -300; policy accept;
		iifname "r1" ip saddr 203.0.113.1 counter
		iifname "r2" ip saddr 203.0.113.1 counter
		iifname "r3" ip saddr 203.0.113.1 counter
		iifname "r2" ip6 saddr 2001:db8:f::1 counter
		iifname "r3" ip6 saddr 2001:db8:f::1 counter
	}
}
EOF
nft_count() { # iif family: packets counted for A's public source from iif
	nsx rt nft list chain inet hstest pre | awk -v i="\"$1\"" -v f="$2" \
		'$2 == i && $3 == f { for (k = 1; k <= NF; k++) if ($k == "packets") print $(k + 1) }'
}

bg vm1 "$STREAM" server 7000
bg vm2 "$STREAM" server 7000
sleep 0.2
bg cl "$STREAM" client "$(pubaddr A)" 7000 --status "$T/s4" > "$T/c4.out"
C4=$!
bg cl "$STREAM" client "$(pubaddr6 A)" 7000 --status "$T/s6" > "$T/c6.out"
C6=$!
if stream_advances "$T/s4" 6400 5 && stream_advances "$T/s6" 6400 5; then
	pass stream_start
else
	fail stream_start "no echo from the VM at A ($(cat "$T/s4" "$T/s6" 2>/dev/null))"
	exit 1
fi

# VM-to-VM: vm2 (at C) reaches vm1 wherever it runs
vm2vm() {
	nsx vm2 "$STREAM" udp $VM4 7001 --size 200 --count 3 >/dev/null &&
		nsx vm2 ping -c 1 -W 2 $VM4 >/dev/null
}
bg vm1 "$STREAM" udp-server 7001
sleep 0.1
vm2vm_ok=0 vm2vm_bad=""
vm2vm && vm2vm_ok=$((vm2vm_ok + 1)) || vm2vm_bad+=" at-A"

stuck="" second=0 entry_ok=1 moves=0
for round in $(seq "$ROUNDS"); do
	for step in "A B" "B C" "C A"; do
		set -- $step
		if ! vm_move vm1 $VM4 $VM6 "$1" "$2"; then
			stuck+=" round$round:$1->$2(move)"
			continue
		fi
		moves=$((moves + 1))
		r1=$(nft_count r1 ip)
		stream_advances "$T/s4" 3200 10 || stuck+=" round$round:$1->$2(v4)"
		stream_advances "$T/s6" 3200 10 || stuck+=" round$round:$1->$2(v6)"
		# away from A, replies still come in through A
		if [ "$2" != A ] && [ "$(nft_count r1 ip)" -le "$r1" ]; then
			entry_ok=0
		fi
		if [ "$round" -eq 1 ] && [ "$2" != A ]; then
			bg cl "$STREAM" client "$(pubaddr B)" 7000 >/dev/null
			p=$!
			sleep 0.5
			kill "$p"
			wait "$p" && second=$((second + 1))
			vm2vm && vm2vm_ok=$((vm2vm_ok + 1)) || vm2vm_bad+=" at-$2"
		fi
	done
done
[ -z "$stuck" ] && pass "move_stream_alive ($moves moves)" || fail move_stream_alive "stream stalled:$stuck"

kill "$C4" "$C6"
wait "$C4"
rc4=$?
wait "$C6"
rc6=$?
log "IPv4 stream: $(cat "$T/c4.out")"
log "IPv6 stream: $(cat "$T/c6.out")"
check_stream() {
	local name=$1 rc=$2 out=$3
	if [ "$rc" -eq 0 ] && grep -q "mismatches=0 resets=0" "$out"; then
		pass "$name ($(grep -o 'longest_gap_ms=[0-9.]*' "$out"))"
	else
		fail "$name" "exit $rc: $(cat "$out")"
	fi
}
check_stream move_stream_intact "$rc4" "$T/c4.out"
check_stream ipv6_client_intact "$rc6" "$T/c6.out"

if [ "$entry_ok" -eq 1 ] && [ "$(nft_count r1 ip)" -gt 0 ]; then
	pass replies_via_entry
else
	fail replies_via_entry "a move away from A saw no replies with A's source at A's uplink"
fi
leak="$(nft_count r2 ip) $(nft_count r3 ip) $(nft_count r2 ip6) $(nft_count r3 ip6)"
if [ "$leak" = "0 0 0 0" ]; then
	pass "no_public_source_elsewhere (B,C uplinks: $leak)"
else
	fail no_public_source_elsewhere "packets with A's public source from B/C (v4 B C, v6 B C): $leak"
fi
[ "$second" -eq 2 ] && pass second_binding ||
	fail second_binding "$second of 2 connections to B's public address worked"
[ -z "$vm2vm_bad" ] && pass "vm_to_vm ($vm2vm_ok checks)" || fail vm_to_vm "failed:$vm2vm_bad"

# agent restart mid-stream: the data plane does not need it
bg cl "$STREAM" client "$(pubaddr A)" 7000 --status "$T/s5" > "$T/c5.out"
C5=$!
stream_advances "$T/s5" 3200 5
agent_stop A
stream_advances "$T/s5" 6400 5 || fail agent_restart "stream stalled with the agent stopped"
agent_start A
stream_advances "$T/s5" 6400 5 || fail agent_restart "stream stalled after the restart"
vm_move vm1 $VM4 $VM6 A B && stream_advances "$T/s5" 3200 10 ||
	fail agent_restart "move after the restart"
kill "$C5"
wait "$C5"
rc=$?
log "stream across agent restart: $(cat "$T/c5.out")"
check_stream agent_restart "$rc" "$T/c5.out"

for n in A B C; do
	log "counters $n: $(hsl $n counters | awk '{printf "%s=%s ", $1, $2}')"
done
hs_done
