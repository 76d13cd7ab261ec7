# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # (the variables are for the scripts that source this)
# What the namespace benchmarks (net_rate.sh, bench_tcp_ovs.sh) share: the
# addressing of the client -> front-end -> host -> VM path and the helpers
# that build it. Source after setting P (the namespace prefix) and here.

build=${BUILD:-$(dirname "$here")/build}
LOADER=$build/loader/hs-loader

SRC=198.51.100.10     # the client
FE_UP=198.51.100.1    # the front-end, client side
FE_UL=10.0.2.1        # the front-end, underlay side
HOST=10.0.2.2         # the VM's host
PUB=203.0.113.10      # the public address
VM=10.200.0.5
VM_MAC=52:54:00:00:00:05
GW=169.254.0.1        # the VM's gateway
VNI=42

nsx() { local ns=$1; shift; nsenter --net=/run/netns/$P-$ns "$@"; }
mac_of() { ip -n $P-$1 -br link show dev "$2" | awk '{print $3}'; }
has_xdp() { ip -n $P-$1 link show dev "$2" 2>/dev/null | grep -q ' xdp'; }

netns() { # ns
	ip netns add $P-$1 || return 1
	nsx $1 ip link set lo up
	# no IPv6: its router and listener messages would reach the counters
	nsx $1 sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

# veth NS1 IF1 NS2 IF2 [GRO]: software checksums and no TSO (XDP programs
# see finished packets); GRO (default on) gives the NAPI that redirected
# frames need where no XDP program runs
veth() {
	ip link add $2 netns $P-$1 type veth peer name $4 netns $P-$3 || return 1
	nsx $1 ethtool -K $2 tx off tso off gro "${5:-on}" >/dev/null 2>&1
	nsx $3 ethtool -K $4 tx off tso off gro "${5:-on}" >/dev/null 2>&1
	nsx $1 ip link set $2 up && nsx $3 ip link set $4 up
}

median() { sort -g | awk '{v[NR] = $1} END {printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# host_vm_local: the host's side of the TCP path (hsh: the script's
# hs-loader on the host's pins): node config, the VM local behind vmh, the
# front-end as its peer
host_vm_local() {
	hsh config set --underlay4 $HOST --vni $VNI --mtu 1500 >/dev/null &&
		hsh vm local $VM --dev vmh --mac $VM_MAC --entry $FE_UL >/dev/null &&
		hsh peer add $FE_UL >/dev/null
}

# iperf_server WHO: an iperf3 server in the VM's namespace on port 5201, its
# PID in SERVER; returns once it listens (WHO names the script in errors)
iperf_server() {
	local _
	nsenter --net=/run/netns/$P-vm iperf3 -s -p 5201 >/dev/null 2>&1 &
	SERVER=$!
	for _ in $(seq 50); do
		nsx vm ss -ltn 2>/dev/null | grep -q ':5201 ' && return 0
		sleep 0.1
	done
	echo "# $1: the iperf3 server did not start" >&2
	return 1
}

# nft_on / nft_off: nftables DNAT of PUB to VM in the front-end's
# namespace, table $NFT_TABLE (the caller's); both do nothing when already so
nft_on() {
	nsx fe nft list tables | grep -qw "$NFT_TABLE" && return 0
	nsx fe nft -f - <<-EOF
		table ip $NFT_TABLE {
			chain prerouting {
				type nat hook prerouting priority dstnat; policy accept;
				ip daddr $PUB dnat to $VM
			}
		}
	EOF
}
nft_off() {
	nsx fe nft list tables | grep -qw "$NFT_TABLE" || return 0
	nsx fe nft delete table ip "$NFT_TABLE"
}
