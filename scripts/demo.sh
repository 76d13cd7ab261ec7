#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The main job (`make demo`): a VM migrates live between two sites while a
# client talks to it, and nothing breaks.
#
# On this machine, in network namespaces: two sites (A, B), each one node
# with heliostat's XDP data plane, a node agent, its own libvirtd (own
# network and mount namespace) and migrated; etcd holding the cluster
# state; a router as the internet and underlay; a client. A tiny guest
# (Debian's kernel, busybox) boots at A under QEMU (TCG), reachable at its
# public address 203.0.113.1 at A's front-end. The client keeps a TCP
# request/response stream to it (1000 requests a second, every byte echoed
# and checked) while the VM migrates A -> B -> A with `hsctl migrate`.
# Prints the downtime QEMU reported, the longest gap the client saw, and
# whether the connection and every byte survived. Everything it creates is
# removed at the end. About a minute.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
source selftests/net/lib.sh
source selftests/vm/libvirt.sh
source selftests/vm/mig_lib.sh

say() { printf '\n== %s\n' "$*"; }
bad() { echo "   FAILED: $*"; exit 1; }
mig_require demo

say "two sites, a router and a client in network namespaces ($P-*); etcd; per node: data plane, agent, libvirtd, migrated"
start=$SECONDS
mig_up A B || bad "setup (logs in $T were removed; run selftests/run test_migrate for details)"
echo "   VM 'web' (overlay $VM4) booted at site A under QEMU in $((SECONDS - start)) s total setup;" \
	"public address $(pubaddr A) at A's front-end"
boot=$(boot_id)
[ -n "$boot" ] || bad "the guest does not answer at $(pubaddr A)"
echo "   guest boot id $boot"
echo "   cluster state (hsctl vm list):"
hsctl vm list | sed 's/^/     /'

say "client 198.51.100.10 -> $(pubaddr A):7 (TCP echo in the guest; 1000 requests/s, 64 bytes, every byte checked)"
client_start "$T/demo.out"
stream_advances "$T/demo.out.st" 32000 20 || bad "no echo from the guest"
echo "   $(cat "$T/demo.out.st")"

downs=()
for step in "A B" "B A"; do
	set -- $step
	say "live migration $1 -> $2: hsctl migrate web --to ${2,,} --follow"
	mark=$(wc -l < "$T/migrated-$1.log")
	hsctl migrate web --to "${2,,}" --follow --timeout 180 || bad "the migration did not complete"
	d=$(mig_downtime "$1" "$mark")
	downs+=("${d:-?}")
	echo "   QEMU downtime ${d:-?} ms; $(grep -c 'flow entries handed' "$T/migrated-$1.log") flow handovers so far"
	echo "   now: $(hsctl vm show web | tr -s ' \n' ' ' | cut -c1-150)"
	was=$(domstate "$1")
	echo "   domain at $2: $(domstate "$2"); at $1: ${was:-gone (undefined there)}"
	stream_advances "$T/demo.out.st" 16000 20 || bad "the stream stopped after the migration"
	echo "   stream: $(cat "$T/demo.out.st")"
done

say "stopping the client"
client_stop
rc=$?
res=$(tail -1 "$T/demo.out")
echo "   $res"
now=$(boot_id)
echo
echo "   migrations:          A -> B -> A, both done"
echo "   QEMU downtime:       ${downs[0]} ms, ${downs[1]} ms"
echo "   longest client gap:  $(gap_of "$T/demo.out") ms (the whole run)"
echo "   connection intact:   $([ $rc -eq 0 ] && echo yes || echo NO)  ($(echo "$res" | grep -o 'resets=[0-9]*'))"
echo "   bytes checked:       $(echo "$res" | grep -o 'verified=[0-9]*' | cut -d= -f2) sent and echoed back intact ($(echo "$res" | grep -o 'mismatches=[0-9]*'))"
echo "   guest rebooted:      $([ "$now" = "$boot" ] && echo no || echo "YES ($now)")"
[ $rc -eq 0 ] && [ "$now" = "$boot" ] || exit 1
say "done; removing namespaces, daemons and the guest"
