#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Next hops stay resolved with no help from the operator: XDP cannot wait
# for ARP/ND, so the agent installs each peer's next hop as a managed
# neighbour (the kernel keeps it resolved) and re-installs it when it is
# deleted. The harness's permanent neighbour entries are removed first.
source "$(dirname "$0")/lib.sh"

hs_require nexthop
VM4=10.1.0.5 VM6=fd01::5

topo_up A B
for n in A B; do
	i=$(site_no $n)
	nsx $n ip neigh del 10.0.$i.254 dev up0
	nsx $n ip -6 neigh del fd00:$i::fe dev up0
done
vm_up vm1 B $VM4 $VM6 02:00:00:00:01:05
vm="$(vm_section web 5 $VM4 $VM6 02:00:00:00:01:05 A vm1)
[agent]
nexthop_refresh = 1"
for n in A B; do
	agent_conf $n "$vm"
	agent_start $n || { fail setup "agent on $n"; exit 1; }
done
hsl A binding add "$(pubaddr A)" $VM4 --id 5
hsl A vm remote $VM4 --host "$(underlay B)" --entry "$(underlay A)"

managed() { # node addr: a managed neighbour entry exists
	nsx "$1" ip neigh show "$2" dev up0 | grep -q managed
}
why=""
for n in A B; do
	i=$(site_no $n)
	wait_for 3 managed $n 10.0.$i.254 || why+=" $n:10.0.$i.254"
	wait_for 3 managed $n fd00:$i::fe || why+=" $n:fd00:$i::fe"
done
[ -z "$why" ] && pass nexthop_managed || fail nexthop_managed "no managed neighbour for$why"

bg vm1 "$STREAM" server 7000
sleep 0.2
bg cl "$STREAM" client "$(pubaddr A)" 7000 --status "$T/s" > "$T/c.out"
C=$!
stream_advances "$T/s" 6400 5 && pass nexthop_stream ||
	fail nexthop_stream "no echo through A's encapsulation ($(hsl A counters | tr -s ' ' | paste -sd ' '))"

# an operator (or the kernel's GC) deletes it: the agent puts it back
nsx A ip neigh del 10.0.1.254 dev up0
if wait_for 5 managed A 10.0.1.254 && stream_advances "$T/s" 3200 10; then
	pass nexthop_reinstalled
else
	fail nexthop_reinstalled "10.0.1.254 not back on A, or the stream stalled ($(cat "$T/s"))"
fi
kill "$C"
wait "$C"
rc=$?
log "stream: $(cat "$T/c.out")"
[ $rc -eq 0 ] && pass nexthop_stream_intact || fail nexthop_stream_intact "$(cat "$T/c.out")"
hs_done
