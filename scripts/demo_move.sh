#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The network-only demo (`make demo-move`; `make demo` is the live
# migration): three sites in network
# namespaces on this machine, a "VM" (a namespace with one veth) whose
# public address lives at site A, and a client holding a TCP stream to that
# address while the VM moves A -> B -> C -> A twice. Real kernel TCP, real
# XDP programs on veths, one hs-loader agent per node. Everything is removed
# at the end.
set -u
cd "$(dirname "$0")/.."
source selftests/net/lib.sh

say() { printf '\n== %s\n' "$*"; }
hs_require demo
VM4=10.1.0.5 VM6=fd01::5

say "building three sites (A, B, C), a router and a client in namespaces ($P-*)"
topo_up A B C
vm_up vm1 A $VM4 $VM6 02:00:00:00:01:05
vm=$(vm_section web 5 $VM4 $VM6 02:00:00:00:01:05 A vm1)
for n in A B C; do
	agent_conf $n "$vm"
	agent_start $n || { sed 's/^/   /' "$T/agent-$n.log"; exit 1; }
	hsl $n binding add "$(pubaddr $n)" $VM4 --id 5
done
for n in B C; do hsl $n vm remote $VM4 --host "$(underlay A)" --entry "$(underlay A)"; done
echo "   VM 'web' ($VM4) runs at site A; public address $(pubaddr A) (site A's front-end)"
echo "   node A: $(hsl A status | tail -n +2 | tr -s ' ' | paste -sd ';')"

say "client 198.51.100.10 opens a TCP stream to $(pubaddr A):7000 (1000 writes/s, every byte echoed and checked)"
bg vm1 "$STREAM" server 7000
sleep 0.2
bg cl "$STREAM" client "$(pubaddr A)" 7000 --status "$T/s" > "$T/c.out"
C=$!
stream_advances "$T/s" 6400 5 || { echo "   no echo from the VM"; exit 1; }
echo "   $(cat "$T/s")"

for round in 1 2; do
	for step in "A B" "B C" "C A"; do
		set -- $step
		t0=$(date +%s%N)
		vm_move vm1 $VM4 $VM6 "$1" "$2" || { echo "   move failed"; exit 1; }
		stream_advances "$T/s" 3200 10 || { echo "   stream stalled"; exit 1; }
		printf '   round %d: moved %s -> %s; stream flowing again after %d ms; %s\n' \
			"$round" "$1" "$2" $((($(date +%s%N) - t0) / 1000000)) "$(cat "$T/s")"
	done
done

say "stopping the client: does every byte come back, on the same connection?"
kill "$C"
wait "$C"
rc=$?
echo "   $(cat "$T/c.out")"
for n in A B C; do
	echo "   node $n counters: $(hsl $n counters | awk '$2 > 0 {printf "%s=%s ", $1, $2}')"
done
if [ $rc -eq 0 ]; then
	say "connection intact: zero resets, zero mismatched bytes, through 6 moves"
else
	say "the stream did not survive (exit $rc)"
fi
exit $rc
