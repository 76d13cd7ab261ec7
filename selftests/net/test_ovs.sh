#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# A host whose VM ports sit on an Open vSwitch bridge (userspace datapath:
# there is no OVS kernel module here) works the same: the VM's port is added
# to the bridge at site B, the VM-side program stays attached to it, and a
# client's TCP stream to the public address at A keeps going while the VM
# moves A -> B (onto the bridge) -> A -> B.
source "$(dirname "$0")/lib.sh"

hs_require ovs
for t in ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl; do
	command -v $t >/dev/null || skip_all ovs "$t is not installed (openvswitch-switch)"
done
schema=/usr/share/openvswitch/vswitch.ovsschema
[ -r $schema ] || skip_all ovs "no OVS schema at $schema"
VM4=10.1.0.5 VM6=fd01::5

topo_up A B
vm_up vm1 A $VM4 $VM6 02:00:00:00:01:05
vm=$(vm_section web 5 $VM4 $VM6 02:00:00:00:01:05 A vm1)
for n in A B; do
	agent_conf $n "$vm"
	agent_start $n || { fail setup "agent on $n"; exit 1; }
	hsl $n binding add "$(pubaddr $n)" $VM4 --id 5
done
hsl B vm remote $VM4 --host "$(underlay A)" --entry "$(underlay A)"
hsl B vm remote $VM6 --host "$(underlay A)" --entry "$(underlay A)"

# a private OVS: its own database, sockets and logs under $T, vswitchd in
# node B's network namespace
O=$T/ovs
mkdir -p "$O"
export OVS_RUNDIR=$O OVS_DBDIR=$O OVS_LOGDIR=$O OVS_SYSCONFDIR=$O
ovsdb-tool create "$O/conf.db" $schema
ovsdb-server "$O/conf.db" --remote=punix:"$O/db.sock" --unixctl="$O/ovsdb.ctl" \
	-vconsole:off --log-file="$O/ovsdb.log" --pidfile="$O/ovsdb.pid" &
HS_PIDS+=($!)
vsctl() { ovs-vsctl --db=unix:"$O/db.sock" --timeout=10 "$@"; }
wait_for 10 test -S "$O/db.sock" || { fail setup "ovsdb-server did not start"; exit 1; }
vsctl --no-wait init
bg B ovs-vswitchd unix:"$O/db.sock" --unixctl="$O/vswitchd.ctl" -vconsole:off --log-file="$O/vswitchd.log" \
	--pidfile="$O/vswitchd.pid"
vsctl add-br br-vm -- set bridge br-vm datapath_type=netdev || {
	fail setup "cannot create a userspace-datapath bridge: $(tail -3 "$O/vswitchd.log")"
	exit 1
}
pass ovs_userspace_bridge

bg vm1 "$STREAM" server 7000
sleep 0.2
bg cl "$STREAM" client "$(pubaddr A)" 7000 --status "$T/s" > "$T/c.out"
C=$!
stream_advances "$T/s" 6400 5 || { fail ovs_stream "no echo from the VM at A"; exit 1; }

on_bridge_ok=1 why=""
for round in 1 2; do
	vm_move vm1 $VM4 $VM6 A B || { why+=" move A->B"; on_bridge_ok=0; }
	vsctl add-port br-vm vm1h || { why+=" add-port"; on_bridge_ok=0; }
	stream_advances "$T/s" 6400 10 || { why+=" stalled on the bridge (round $round)"; on_bridge_ok=0; }
	vsctl list-ports br-vm | grep -qx vm1h || { why+=" not on the bridge"; on_bridge_ok=0; }
	hsl B status vm1h | grep -q "vmside.*xdp_vmside" ||
		{ why+=" program gone after add-port: $(hsl B status vm1h | tail -1)"; on_bridge_ok=0; }
	vsctl del-port br-vm vm1h
	vm_move vm1 $VM4 $VM6 B A || { why+=" move B->A"; on_bridge_ok=0; }
	stream_advances "$T/s" 3200 10 || { why+=" stalled back at A (round $round)"; on_bridge_ok=0; }
done
[ $on_bridge_ok -eq 1 ] && pass ovs_port_moves || fail ovs_port_moves "$why"
log "OVS port stats at the end: $(vsctl get interface br-vm statistics 2>/dev/null)"

kill "$C"
wait "$C"
rc=$?
log "stream: $(cat "$T/c.out")"
if [ $rc -eq 0 ] && grep -q "mismatches=0 resets=0" "$T/c.out"; then
	pass "ovs_stream ($(grep -o 'longest_gap_ms=[0-9.]*' "$T/c.out"))"
else
	fail ovs_stream "exit $rc: $(cat "$T/c.out")"
fi
vsctl --if-exists del-br br-vm
hs_done
