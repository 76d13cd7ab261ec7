#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# TCP bulk throughput through the overlay: heliostat against Open vSwitch's
# userspace datapath (datapath_type=netdev: userspace VXLAN, DNAT by an
# OpenFlow ct/nat rule in OVS's own conntrack), the design Supercloud uses.
# The path is the one the TCP part of net_rate.sh measures, built once per
# contender in namespaces of its own ($P-h* heliostat, $P-o* OVS, $P-x* OVS
# with AF_XDP ports), with the same addresses and MTUs:
#
#   gen (g0) ---- (up0) fe (out0) ---- (rx0) rx (vmh) ---- (eth0) vm
#   198.51.100.10  198.51.100.1  10.0.2.1     10.0.2.2            10.200.0.5
#   client         front-end                  the VM's host       the VM
#
# iperf3 in gen sends to the public address PUB; the front-end DNATs it to
# the VM and VXLAN-encapsulates it to the VM's host, which decapsulates it to
# the VM (MTU 1450); replies go back over VXLAN and get their source
# restored at the front-end.
#
#   h  heliostat: uplink programs on up0, out0 (front-end) and rx0 (host),
#      the VM-side program on vmh; checksum offload and TSO off (XDP needs
#      finished checksums), GRO on; as net_rate.sh sets it up.
#   o  OVS: one ovsdb-server + ovs-vswitchd per node (fe, rx), with private
#      run/db/log dirs under a temp dir. On each node a bridge br-ul holds
#      the underlay veth and carries the underlay address on its internal
#      port (userspace tunneling: route and neighbour from ovs/route and
#      tnl/neigh); a vxlan port sits on a second bridge: on fe, br-fe with
#      up0 and flows that ct(commit,nat(dst=VM)) the client's packets and
#      undo it on the replies; on rx, br-vm with vmh and the NORMAL action
#      (a learning bridge, as the kernel's bridge in net_rate.sh). The
#      veths are "system" ports, which OVS reads and writes through
#      AF_PACKET without a virtio-net header: checksum offload, TSO and GRO
#      must be off (GRO's merged frames are dropped as "Too big"; userspace
#      TSO in this OVS refuses to tunnel offloaded packets).
#   x  the same OVS with the four veths as afxdp-nonpmd ports (OVS's own
#      XDP program hands frames to AF_XDP sockets; polled by the main
#      thread, no PMD threads spinning on this small machine); offloads
#      off as for o. Leave it out with --no-afxdp.
#
# Rounds alternate h, o, x; every round checks that the overlay under test
# carried the stream (heliostat's counters, the OVS front-end's flow
# counters). Usage: bench/bench_tcp_ovs.sh [--rounds N] [--secs S] [--no-afxdp]
# Exit status 77 (with a SKIP line) where it cannot run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
SCHEMA=/usr/share/openvswitch/vswitch.ovsschema

# OVS: the front-end's client-facing MAC and the VM's gateway MAC (the flows
# write them; no kernel stack answers for them), and the underlay bridges'
# own MACs (OVS would otherwise take one of their ports')
FE_MAC=02:00:00:00:0f:01
GW_MAC=02:00:00:00:0f:02
UL_MAC_FE=02:00:00:00:01:01
UL_MAC_RX=02:00:00:00:01:02
ROUNDS=5
SECS=2
PATHS="h o x"

usage() { echo "usage: $0 [--rounds N] [--secs S] [--no-afxdp]" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; ROUNDS=$2; shift 2 ;;
	--secs) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; SECS=$2; shift 2 ;;
	--no-afxdp) PATHS="h o"; shift ;;
	*) usage ;;
	esac
done

skip() { echo "# bench_tcp_ovs: SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root"
mountpoint -q /sys/fs/bpf || skip "bpffs is not mounted at /sys/fs/bpf"
[ -x "$LOADER" ] || skip "build first (make)"
for t in ip nsenter ethtool iperf3 jq ss timeout; do
	command -v $t >/dev/null || skip "$t is not installed"
done
for t in ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl ovs-appctl ovs-ofctl; do
	command -v $t >/dev/null || skip "$t is not installed (openvswitch-switch)"
done
[ -r $SCHEMA ] || skip "no OVS schema at $SCHEMA"

P=hsov$$
PIN=/sys/fs/bpf/hsbench-ovs-$$
PIN_H=$PIN-host
T=''
PIDS=()

hsl() { nsx hfe "$LOADER" --pin "$PIN" "$@"; }
hsh() { nsx hrx "$LOADER" --pin "$PIN_H" "$@"; }
# OVS control, by node (ofe, orx, xfe, xrx: the namespace it runs in)
vsctl() { local n=$1; shift; ovs-vsctl --db=unix:"$T/$n/db.sock" --timeout=10 "$@"; }
appctl() { local n=$1; shift; ovs-appctl --target="$T/$n/vswitchd.ctl" --timeout=10 "$@"; }
ofctl() { local n=$1 br=$2 cmd=$3; shift 3; ovs-ofctl "$cmd" unix:"$T/$n/$br.mgmt" "$@"; }

cleanup() {
	local ns i dev
	# the iperf3 servers and the OVS daemons, newest first
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		kill "${PIDS[i]}" 2>/dev/null
		wait "${PIDS[i]}" 2>/dev/null
	done
	# through the loader, so that libxdp drops any pins of its own
	for dev in up0 out0; do
		has_xdp hfe $dev && hsl detach $dev >/dev/null 2>&1
	done
	for dev in rx0 vmh; do
		has_xdp hrx $dev && hsh detach $dev >/dev/null 2>&1
	done
	for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns"; done
	rm -rf "$PIN" "$PIN_H"
	[ -n "$T" ] && rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T=$(mktemp -d /tmp/hsov.XXXXXX) || exit 1

# topo X GRO: the four namespaces of path X, the veths, the client and the VM
topo() {
	local x=$1 ns
	for ns in gen fe rx vm; do netns $x$ns || return 1; done
	veth ${x}gen g0 ${x}fe up0 $2 && veth ${x}fe out0 ${x}rx rx0 $2 &&
		veth ${x}vm eth0 ${x}rx vmh $2 || return 1
	nsx ${x}gen ip addr add $SRC/24 dev g0
	nsx ${x}gen ip route add default via $FE_UP || return 1
	nsx ${x}vm ip link set eth0 address $VM_MAC mtu 1450
	nsx ${x}rx ip link set vmh mtu 1450
	nsx ${x}vm ip addr add $VM/32 dev eth0
	nsx ${x}vm ip route add $GW dev eth0
	nsx ${x}vm ip route add default via $GW dev eth0 onlink
}

# server X: the iperf3 server in the VM of path X
server() {
	local _
	nsenter --net=/run/netns/$P-${1}vm iperf3 -s -p 5201 >/dev/null 2>&1 &
	PIDS+=($!)
	for _ in $(seq 50); do
		nsx ${1}vm ss -ltn 2>/dev/null | grep -q ':5201 ' && return 0
		sleep 0.1
	done
	echo "# bench_tcp_ovs: the iperf3 server did not start in ${1}vm" >&2
	return 1
}

# heliostat as net_rate.sh sets it up: DNAT + VXLAN at the front-end,
# decap to the VM and VXLAN back on the host
helio_setup() {
	topo h on || return 1
	nsx hfe sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.forwarding=1 &&
		nsx hrx sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.forwarding=1 || return 1
	nsx hfe ip addr add $FE_UP/24 dev up0
	nsx hfe ip addr add $FE_UL/24 dev out0
	nsx hrx ip addr add $HOST/24 dev rx0
	nsx hfe ip route add ${VM%.*}.0/24 via $HOST || return 1
	nsx hfe ip route add $PUB/32 via $HOST || return 1
	nsx hfe ip neigh replace $HOST lladdr "$(mac_of hrx rx0)" dev out0 nud permanent &&
		nsx hfe ip neigh replace $SRC lladdr "$(mac_of hgen g0)" dev up0 nud permanent &&
		nsx hrx ip neigh replace $FE_UL lladdr "$(mac_of hfe out0)" dev rx0 nud permanent &&
		nsx hgen ip neigh replace $FE_UP lladdr "$(mac_of hfe up0)" dev g0 nud permanent &&
		nsx hvm ip neigh replace $GW lladdr "$(mac_of hrx vmh)" dev eth0 nud permanent || return 1

	hsl config set --underlay4 $FE_UL --vni $VNI --mtu 1500 >/dev/null &&
		hsl binding add $PUB $VM >/dev/null &&
		hsl vm remote $VM --host $HOST --mac $VM_MAC --entry $FE_UL >/dev/null &&
		hsl peer add $HOST >/dev/null || return 1
	hsh config set --underlay4 $HOST --vni $VNI --mtu 1500 >/dev/null &&
		hsh vm local $VM --dev vmh --mac $VM_MAC --entry $FE_UL >/dev/null &&
		hsh peer add $FE_UL >/dev/null || return 1
	hsl --log-level err attach uplink up0 --mode native >/dev/null &&
		hsl --log-level err attach uplink out0 --mode native >/dev/null &&
		hsh --log-level err attach uplink rx0 --mode native >/dev/null &&
		hsh --log-level err attach vmside vmh --mode native >/dev/null || return 1
	server h
}

# ovs_start NODE: a private ovsdb-server and ovs-vswitchd in namespace NODE
ovs_start() {
	local n=$1 d=$T/$1 _
	mkdir -p "$d" && ovsdb-tool create "$d/conf.db" $SCHEMA || return 1
	# nsenter and env exec, so $! is the daemon itself
	nsenter --net=/run/netns/$P-$n env OVS_RUNDIR="$d" OVS_DBDIR="$d" OVS_LOGDIR="$d" \
		OVS_SYSCONFDIR="$d" ovsdb-server "$d/conf.db" --remote=punix:"$d/db.sock" \
		--unixctl="$d/ovsdb.ctl" -vconsole:off --log-file="$d/ovsdb.log" --pidfile="$d/ovsdb.pid" &
	PIDS+=($!)
	for _ in $(seq 50); do
		[ -S "$d/db.sock" ] && break
		sleep 0.1
	done
	vsctl $n --no-wait init || return 1
	nsenter --net=/run/netns/$P-$n env OVS_RUNDIR="$d" OVS_DBDIR="$d" OVS_LOGDIR="$d" \
		OVS_SYSCONFDIR="$d" ovs-vswitchd unix:"$d/db.sock" --unixctl="$d/vswitchd.ctl" \
		-vconsole:off --log-file="$d/vswitchd.log" --pidfile="$d/vswitchd.pid" 2>"$d/stderr" &
	PIDS+=($!)
}

# ovs_underlay NODE DEV TYPE ADDR MAC PEER PEER_MAC: br-ul with the underlay
# veth, the address on its internal port, the tunnel route and the peer's MAC
ovs_underlay() {
	local n=$1
	vsctl $n add-br br-ul -- set bridge br-ul datapath_type=netdev other-config:hwaddr=$5 \
		-- add-port br-ul $2 -- set interface $2 type=$3 || return 1
	nsx $n ip addr add $4/24 dev br-ul && nsx $n ip link set br-ul up || return 1
	# vswitchd learns the route from the kernel; add it where it has not yet
	appctl $n ovs/route/show | grep -q "${4%.*}.0/24 dev br-ul" ||
		appctl $n ovs/route/add ${4%.*}.0/24 br-ul >/dev/null || return 1
	appctl $n tnl/neigh/set br-ul $6 $7 >/dev/null
}

# ovs_setup X TYPE: path X with the veths as OVS ports of TYPE
ovs_setup() {
	local x=$1 t=$2
	topo $x off || return 1
	ovs_start ${x}fe && ovs_start ${x}rx || return 1
	ovs_underlay ${x}fe out0 $t $FE_UL $UL_MAC_FE $HOST $UL_MAC_RX &&
		ovs_underlay ${x}rx rx0 $t $HOST $UL_MAC_RX $FE_UL $UL_MAC_FE || return 1
	nsx ${x}gen ip neigh replace $FE_UP lladdr $FE_MAC dev g0 nud permanent &&
		nsx ${x}vm ip neigh replace $GW lladdr $GW_MAC dev eth0 nud permanent || return 1

	# the front-end: DNAT in conntrack zone 1 and out over VXLAN; replies
	# un-NATed by the same connection and back to the client
	vsctl ${x}fe add-br br-fe -- set bridge br-fe datapath_type=netdev \
		-- add-port br-fe up0 -- set interface up0 type=$t \
		-- add-port br-fe vx0 -- set interface vx0 type=vxlan options:remote_ip=$HOST \
		options:key=$VNI || return 1
	ofctl ${x}fe br-fe del-flows &&
		ofctl ${x}fe br-fe add-flows - <<-EOF || return 1
			table=0,priority=10,ip,in_port=up0,nw_dst=$PUB,actions=ct(commit,zone=1,nat(dst=$VM),table=1)
			table=0,priority=10,ip,in_port=vx0,nw_src=$VM,actions=ct(zone=1,nat,table=2)
			table=0,priority=0,actions=drop
			table=1,priority=10,ip,ct_state=+trk,actions=dec_ttl,mod_dl_src:$GW_MAC,mod_dl_dst:$VM_MAC,output:vx0
			table=2,priority=10,ip,ct_state=+trk+est,actions=dec_ttl,mod_dl_src:$FE_MAC,mod_dl_dst:$(mac_of ${x}gen g0),output:up0
		EOF
	# the host: a learning bridge between the tunnel and the VM
	vsctl ${x}rx add-br br-vm -- set bridge br-vm datapath_type=netdev \
		-- add-port br-vm vmh -- set interface vmh type=$t \
		-- add-port br-vm vx0 -- set interface vx0 type=vxlan options:remote_ip=$FE_UL \
		options:key=$VNI || return 1
	server $x
}

# ovs_count X: packets the front-end's flows sent toward the VM and back
ovs_count() {
	ofctl ${1}fe br-fe dump-flows | awk '/ table=[12], / {
		for (i = 1; i <= NF; i++) if ($i ~ /^n_packets=/) { sub(/n_packets=/, "", $i); sub(/,$/, "", $i); s = s " " $i } }
		END {print s}'
}

counter() { # hfe|hrx NAME
	if [ $1 = hfe ]; then hsl --json counters; else hsh --json counters; fi | jq ".$2"
}

# run X: prints the Gbit/s the VM of path X received
run() {
	local x=$1 out bps c n before after
	if [ $x = h ]; then
		hsl counters --reset && hsh counters --reset || return 1
	else
		before=$(ovs_count $x)
	fi
	out=$(nsx ${x}gen timeout $((SECS + 20)) iperf3 -c $PUB -p 5201 -t $SECS -O 1 --connect-timeout 3000 -J 2>&1)
	bps=$(jq -r '.end.sum_received.bits_per_second // empty' <<<"$out" 2>/dev/null)
	if [ -z "$bps" ]; then
		echo "# bench_tcp_ovs: iperf3 failed over $x: $(jq -r '.error // empty' <<<"$out" 2>/dev/null)" >&2
		return 1
	fi
	# the overlay under test carried the stream, both ways
	if [ $x = h ]; then
		for c in "hfe TX_DNAT_ENCAP" "hfe TX_DECAP_SNAT" "hrx TX_DECAP_LOCAL" "hrx TX_REPLY_ENCAP"; do
			n=$(counter $c)
			if [ "${n:-0}" -eq 0 ]; then
				echo "# bench_tcp_ovs: heliostat did not carry the stream: ${c#* } is 0 on ${c% *}" >&2
				return 1
			fi
		done
	else
		after=$(ovs_count $x)
		if ! awk -v b="$before" -v a="$after" 'BEGIN {
			if (split(b, vb, " ") != 2 || split(a, va, " ") != 2) exit 1
			for (i = 1; i <= 2; i++) if (va[i] <= vb[i]) exit 1 }'; then
			echo "# bench_tcp_ovs: OVS ($x) did not carry the stream (flow packets $before -> $after)" >&2
			return 1
		fi
	fi
	awk -v b="$bps" 'BEGIN {printf "%.3f\n", b / 1e9}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}'; }

fail_setup() {
	echo "# bench_tcp_ovs: $1 setup failed" >&2
	grep -hv '|INFO|' "$T"/*/vswitchd.log 2>/dev/null | tail -n 5 | sed 's/^/# /' >&2
	exit 1
}
helio_setup || fail_setup heliostat
ovs_setup o system || fail_setup OVS
# (libxdp's complaints while OVS loads its XDP program, no dispatcher and
# no RLIMIT_MEMLOCK, go to the daemon's stderr file: harmless here)
if [[ $PATHS == *x* ]]; then
	ovs_setup x afxdp-nonpmd || fail_setup "OVS with AF_XDP ports"
fi

ver=$(ovs-vswitchd --version | awk 'NR == 1 {print $NF}')
echo "# TCP bulk throughput, iperf3 client -> $PUB -> VM $VM (MTU 1450), $ROUNDS interleaved rounds x ${SECS} s (+1 s omitted)"
echo "# h: heliostat (XDP: DNAT + VXLAN, decap; replies VXLAN + SNAT), checksum offload and TSO off"
echo "# o: Open vSwitch $ver userspace datapath (netdev): ct/nat DNAT + userspace VXLAN at the front-end," \
	"VXLAN + NORMAL bridge on the host; veths as system (AF_PACKET) ports, checksum offload, TSO and GRO off"
if [[ $PATHS == *x* ]]; then
	m=$(grep -ho '[a-z-]* XDP mode will be in use' "$T"/x*/vswitchd.log | awk '{print $1}' | sort -u | paste -sd/)
	echo "# x: the same OVS, veths as afxdp-nonpmd ports (XDP mode: ${m:-unknown}; copy mode, veth has no zero-copy)"
	printf '%-6s %10s %10s %10s %8s %8s   (Gbit/s received)\n' round heliostat ovs ovs-afxdp h/o h/x
else
	printf '%-6s %10s %10s %8s   (Gbit/s received)\n' round heliostat ovs h/o
fi
rc=0 ho=() hx=()
for r in $(seq $ROUNDS); do
	h=$(run h) && o=$(run o) || { rc=1; break; }
	ho+=("$(ratio "$h" "$o")")
	if [[ $PATHS == *x* ]]; then
		x=$(run x) || { rc=1; break; }
		hx+=("$(ratio "$h" "$x")")
		printf '%-6s %10s %10s %10s %8.2f %8.2f\n' $r "$h" "$o" "$x" "${ho[-1]}" "${hx[-1]}"
	else
		printf '%-6s %10s %10s %8.2f\n' $r "$h" "$o" "${ho[-1]}"
	fi
done
if [ ${#ho[@]} -gt 0 ]; then
	echo "median of per-round ratios: heliostat / OVS userspace VXLAN $(printf '%s\n' "${ho[@]}" | median)x" \
		"(AF_PACKET ports)$([ ${#hx[@]} -gt 0 ] && echo ", $(printf '%s\n' "${hx[@]}" | median)x (AF_XDP ports)")"
fi
# OVS's own account: the NATed connections and the tunnel actions in use
if [ $rc -eq 0 ]; then
	for x in ${PATHS#h}; do
		echo "# OVS ($x): $(appctl ${x}fe dpctl/dump-conntrack | grep -c "dst=$PUB") NATed connections to $PUB still in conntrack," \
			"front-end datapath tnl_push $(appctl ${x}fe dpctl/dump-flows | grep -c 'tnl_push') flows," \
			"host tnl_pop $(appctl ${x}rx dpctl/dump-flows | grep -c 'tnl_pop') flows"
	done
fi
exit $rc
