#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The agents' etcd mode: the cluster state (docs/schema.md) lives in a real
# etcd, started by the test in the router namespace (the nodes reach it over
# their underlay, through their XDP programs), and each node's agent makes
# its maps match it; the state is written with hsctl. A VM moves from a to b
# (`hsctl vm move`); the time from that write to the last node's map update
# is printed.
source "$(dirname "$0")/lib.sh"

hs_require etcd_sync
command -v etcd >/dev/null && command -v etcdctl >/dev/null ||
	skip_all etcd_sync "etcd or etcdctl is not installed (etcd-server, etcd-client)"
VM4=10.1.0.5 VM6=fd01::5 VMMAC=02:00:00:00:01:05
HS_STATE=etcd # agent_conf writes etcd-mode configurations

topo_up A B
vm_up vm1 A $VM4 $VM6 $VMMAC # its port carries the fe: tap form of VMMAC
# etcd with site s1 and hosts a, b; then the state, written with hsctl
etcd_up || { fail setup "etcd did not start: $(tail -3 "$T/etcd.log")"; exit 1; }
ectl() { nsx rt etcdctl --endpoints "http://127.0.0.1:$HS_ETCD_PORT" "$@"; }
hsctl vm add web --id 5 --address $VM4 --address6 $VM6 --mac $VMMAC --host a --entry a >/dev/null &&
	hsctl binding add 203.0.113.1 --vm web --frontend a >/dev/null &&
	hsctl binding add 2001:db8:f::1 --vm web --frontend a >/dev/null ||
	{ fail setup "hsctl vm/binding add"; exit 1; }

for n in A B; do
	agent_conf $n
	agent_start $n || { fail setup "agent on $n"; exit 1; }
done

if wait_for 10 is_kind A $VM4 local && wait_for 10 is_kind B $VM4 remote &&
	hsl A binding list | grep -q "^203.0.113.1 -> $VM4" &&
	hsl B peer list | grep -q "10.0.1.1"; then
	pass etcd_state_applied
else
	fail etcd_state_applied "A: $(hsl A vm list | paste -sd ';'); B: $(hsl B vm list | paste -sd ';'); A bindings: $(hsl A binding list | paste -sd ';')"
	sed 's/^/#   /' "$T/agent-A.log" | tail -20
fi
alive() { hsctl status --json | jq '[.. | objects | select(has("alive")) | select(.alive == true)] | length'; }
if command -v jq >/dev/null; then
	wait_for 5 test "$(alive)" -eq 2 && pass etcd_agents_alive ||
		fail etcd_agents_alive "hsctl status: $(hsctl status | paste -sd ';')"
else
	echo "SKIP etcd_agents_alive: jq is not installed"
fi

bg vm1 "$STREAM" server 7000
sleep 0.2
bg cl "$STREAM" client "$(pubaddr A)" 7000 --status "$T/s" > "$T/c.out"
C=$!
stream_advances "$T/s" 6400 5 || fail etcd_stream "no echo from the VM at a"

# the move: the port goes to b, then one etcd write re-points everyone
ip -n $P-A link set vm1h netns $P-B
nsx B ip link set vm1h up
t0=$(date +%s%N)
hsctl vm move web --to b --forward-for 60 >/dev/null || fail etcd_move "hsctl vm move refused"
if wait_for 10 is_kind A $VM4 forward && wait_for 10 is_kind B $VM4 local; then
	ms=$((($(date +%s%N) - t0) / 1000000))
	stream_advances "$T/s" 6400 10 && pass "etcd_move (etcd write to the last node's maps: <= $ms ms)" ||
		fail etcd_move "stream stalled after the move ($(cat "$T/s"))"
else
	fail etcd_move "A: $(vm_kind A $VM4), B: $(vm_kind B $VM4) after the etcd write"
fi

# an invalid record is logged, counted and skipped; nothing else changes
ectl put /heliostat/vms/bad '{"v":1,"name":"bad","id":"x"}' >/dev/null
ectl put /heliostat/vms/next '{"v":99,"name":"next"}' >/dev/null
sleep 1
if stream_advances "$T/s" 3200 5 && is_kind A $VM4 forward && is_kind B $VM4 local &&
	grep -q "vms/bad" "$T/agent-A.log" && grep -q "vms/next" "$T/agent-B.log"; then
	pass etcd_invalid_skipped
else
	fail etcd_invalid_skipped "state changed or nothing logged for vms/bad, vms/next"
fi

# restart b's agent mid-stream: it reads everything again and carries on
agent_stop B
agent_start B && stream_advances "$T/s" 6400 10 && is_kind B $VM4 local &&
	pass etcd_agent_restart || fail etcd_agent_restart "after restarting b's agent: $(vm_kind B $VM4)"

kill "$C"
wait "$C"
rc=$?
log "stream: $(cat "$T/c.out")"
[ $rc -eq 0 ] && pass etcd_stream_intact || fail etcd_stream_intact "$(cat "$T/c.out")"

# bindings deleted in etcd leave the front-end's maps
hsctl binding del 203.0.113.1 >/dev/null
no_binding() { ! hsl A binding list | grep -q "^203.0.113.1 "; }
wait_for 5 no_binding && pass etcd_binding_removed ||
	fail etcd_binding_removed "$(hsl A binding list | paste -sd ';')"
hs_done
