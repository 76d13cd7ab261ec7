#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Front-end benchmarks on veth, in namespaces of their own ($P-*):
#
#   gen (g0) ---- (up0) fe (out0) ---- (rx0) rx (vmh) ---- (eth0) vm
#   198.51.100.10  198.51.100.1  10.0.2.1     10.0.2.2            10.200.0.5
#   client         front-end                  the VM's host       the VM
#
# 1. Packet rate (net_rate.c): a live-frames generator in gen sends UDP to
#    the public address PUB; the front-end runs (a) heliostat's uplink
#    program (binding PUB -> VM, VM remote on 10.0.2.2: DNAT + VXLAN),
#    (b) nftables DNAT, (c) plain forwarding, or net_rate's own programs
#    that only rewrite: (d) a bare NAT (fixed headers written, redirect),
#    (e) the same inside VXLAN; net_rate switches modes through
#    "net_rate.sh mode a|b|c|d|e". A counter on rx0 counts arrivals.
# 2. TCP bulk throughput, iperf3 from gen to a server in the VM through PUB:
#    (h) heliostat on the front-end and the host (DNAT + VXLAN at the
#    front-end, decap on the host, replies VXLAN back and SNAT at the
#    front-end), against the kernel: nftables DNAT, VXLAN devices and a
#    bridge on the host, with (k) and without (o) checksum offload and TSO.
# Namespaces, pin directories and the iperf3 server go away on exit.
#
# Where the packet rate is measured: on two CPUs or more (the default), the
# front-end's uplink (up0) and the receiver (rx0) get threaded NAPI, both
# threads on one CPU (the last; --fe-cpu N) and the generator alone on
# another, where it offers several times what any mode forwards: the rate
# is what one CPU forwards, and net_rate reads the threads' CPU time to
# split it into the front-end's and the receiver's part. --one-cpu keeps
# the older layout: everything in softirq on the generator's CPU, so every
# rate also carries the generator's cost.
# Usage: bench/net_rate.sh [--no-tcp] [--one-cpu] [--fe-cpu N] [--rounds N]
#                          [--secs S] [--len BYTES] [--flows N] [--cpu N]
#                          (the last five for net_rate)
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"
NET_RATE=$build/bench/net_rate

NFT_TABLE=hsnr_dnat
TCP_ROUNDS=3
TCP_SECS=2

hsl() { nsx fe "$LOADER" --pin "$PIN" "$@"; }
hsh() { nsx rx "$LOADER" --pin "$PIN_H" "$@"; }

# xdp_off NS DEV...: detaches heliostat (through the loader, so libxdp
# drops any pins of its own)
xdp_off() {
	local ns=$1 dev
	shift
	for dev in "$@"; do
		has_xdp $ns $dev || continue
		if [ $ns = fe ]; then hsl detach $dev; else hsh detach $dev; fi >/dev/null || return 1
	done
}

attach() { # fe|rx uplink|vmside DEV
	if [ $1 = fe ]; then hsl --log-level err attach $2 $3 --mode native; else
		hsh --log-level err attach $2 $3 --mode native; fi >/dev/null
}

# set_mode a|b|c|d|e: heliostat / nftables DNAT / forwarding only / nothing
# for net_rate's own programs. Each mode
# leaves no trace of the others (an nft nat table alone makes every
# forwarded packet pay for conntrack).
set_mode() {
	case $1 in
	a) nft_off && attach fe uplink up0 ;;
	b) xdp_off fe up0 && nft_on ;;
	c | d | e) xdp_off fe up0 && nft_off ;; # d, e: net_rate attaches its own
	*) echo "net_rate.sh: unknown mode $1" >&2; return 2 ;;
	esac
}

# called back by net_rate between measurements
if [ "${1:-}" = mode ]; then
	P=${HSNR_P:?} PIN=${HSNR_PIN:?}
	set_mode "${2:-}"
	exit
fi

tcp=1 split=1 fe_cpu=$(($(nproc) - 1))
while [ $# -gt 0 ]; do
	case $1 in
	--no-tcp) tcp=0 ;;
	--one-cpu) split=0 ;;
	--fe-cpu)
		fe_cpu=${2:-}
		shift
		;;
	*) break ;;
	esac
	shift
done
[ "$(nproc)" -ge 2 ] || split=0
if ! [[ "$fe_cpu" =~ ^[0-9]+$ ]] || [ "$fe_cpu" -ge "$(nproc)" ]; then
	echo "net_rate.sh: --fe-cpu takes a CPU number below $(nproc), not '$fe_cpu'" >&2
	exit 2
fi

skip() { echo "# net_rate: SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root"
mountpoint -q /sys/fs/bpf || skip "bpffs is not mounted at /sys/fs/bpf"
[ -x "$LOADER" ] && [ -x "$NET_RATE" ] || skip "build first (make)"
for t in ip nsenter nft ethtool; do
	command -v $t >/dev/null || skip "$t is not installed"
done

P=hsnr$$
PIN=/sys/fs/bpf/hsbench-$$
PIN_H=$PIN-host
GEN='' SERVER=''
export HSNR_P=$P HSNR_PIN=$PIN

cleanup() {
	local ns pid
	for pid in $GEN $SERVER; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ -e /run/netns/$P-fe ] && xdp_off fe up0 out0 2>/dev/null
	[ -e /run/netns/$P-rx ] && xdp_off rx rx0 vmh 2>/dev/null
	for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns"; done
	rm -rf "$PIN" "$PIN_H"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setup() {
	netns gen && netns fe && netns rx || return 1
	veth gen g0 fe up0 && veth fe out0 rx rx0 || return 1
	nsx fe sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.forwarding=1 || return 1
	nsx gen ip addr add $SRC/24 dev g0
	nsx fe ip addr add $FE_UP/24 dev up0
	nsx fe ip addr add $FE_UL/24 dev out0
	nsx rx ip addr add $HOST/24 dev rx0
	# the VM's overlay and the public address both lie behind rx: modes b
	# and c forward there; bpf_fib_lookup wants resolved neighbours
	nsx fe ip route add ${VM%.*}.0/24 via $HOST || return 1
	nsx fe ip route add $PUB/32 via $HOST || return 1
	nsx fe ip neigh replace $HOST lladdr "$(mac_of rx rx0)" dev out0 nud permanent || return 1
	nsx fe ip neigh replace $SRC lladdr "$(mac_of gen g0)" dev up0 nud permanent || return 1

	hsl config set --underlay4 $FE_UL --vni $VNI --mtu 1500 >/dev/null &&
		hsl binding add $PUB $VM >/dev/null &&
		hsl vm remote $VM --host $HOST --mac $VM_MAC --entry $FE_UL >/dev/null &&
		hsl peer add $HOST >/dev/null
}

# The TCP phase adds the VM behind rx, heliostat on rx as the VM's host,
# and the kernel's alternative: a VXLAN device on each side, a bridge on rx.
# The VM's MTU is that of the kernel's VXLAN device (1450) in both modes.
tcp_setup() {
	netns vm && veth vm eth0 rx vmh || return 1
	nsx rx sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.forwarding=1 || return 1
	nsx vm ip link set eth0 address $VM_MAC mtu 1450
	nsx rx ip link set vmh mtu 1450
	nsx vm ip addr add $VM/32 dev eth0
	nsx vm ip route add $GW dev eth0
	nsx vm ip route add default via $GW dev eth0 onlink || return 1
	nsx gen ip neigh replace $FE_UP lladdr "$(mac_of fe up0)" dev g0 nud permanent
	nsx gen ip route add default via $FE_UP || return 1
	nsx rx ip neigh replace $FE_UL lladdr "$(mac_of fe out0)" dev rx0 nud permanent || return 1

	nsx fe ip link add vx0 type vxlan id $VNI local $FE_UL remote $HOST dstport 4789 dev out0 &&
		nsx fe ip link set vx0 up || return 1
	nsx rx ip link add vx0 type vxlan id $VNI local $HOST remote $FE_UL dstport 4789 dev rx0 &&
		nsx rx ip link add br0 type bridge && nsx rx ip link set vx0 master br0 &&
		nsx rx ip link set vx0 up && nsx rx ip link set br0 up || return 1
	nsx fe ip route replace $VM/32 dev vx0 || return 1
	nsx fe ip neigh replace $VM lladdr $VM_MAC dev vx0 nud permanent || return 1

	host_vm_local && iperf_server net_rate
}

# offload on|off: checksum offload and TSO on every veth of the TCP path.
# XDP programs need finished checksums (off); the kernel's path does best
# with them (on) and is measured both ways.
offload() {
	local v=$1 s
	for s in "gen g0" "fe up0" "fe out0" "rx rx0" "rx vmh" "vm eth0"; do
		set -- $s
		nsx $1 ethtool -K $2 tx $v tso $v >/dev/null 2>&1 || return 1
	done
}

# tcp_mode h|k|o: heliostat on both nodes / the kernel's VXLAN + bridge +
# DNAT with offloads / the same without
tcp_mode() {
	case $1 in
	h)
		nft_off && offload off && nsx rx ip link set vmh nomaster &&
			attach fe uplink up0 && attach fe uplink out0 &&
			attach rx uplink rx0 && attach rx vmside vmh &&
			nsx vm ip neigh replace $GW lladdr "$(mac_of rx vmh)" dev eth0 nud permanent
		;;
	k | o)
		xdp_off fe up0 out0 && xdp_off rx rx0 vmh &&
			offload "$([ $1 = k ] && echo on || echo off)" &&
			nft_on &&
			nsx rx ip link set vmh master br0 &&
			nsx vm ip neigh replace $GW lladdr "$(mac_of fe vx0)" dev eth0 nud permanent
		;;
	esac
}

counter() { # fe|rx NAME
	if [ $1 = fe ]; then hsl --json counters; else hsh --json counters; fi | jq ".$2"
}

# tcp_run h|k|o: prints Gbit/s received by the VM
tcp_run() {
	local out bps c n
	if ! tcp_mode $1; then
		echo "# net_rate: cannot switch to TCP mode $1" >&2
		return 1
	fi
	if [ $1 = h ]; then
		hsl counters --reset && hsh counters --reset || return 1
	fi
	out=$(nsx gen iperf3 -c $PUB -p 5201 -t $TCP_SECS -O 1 -J 2>&1)
	bps=$(jq -r '.end.sum_received.bits_per_second // empty' <<<"$out" 2>/dev/null)
	if [ -z "$bps" ]; then
		echo "# net_rate: iperf3 failed in TCP mode $1: $(jq -r '.error // empty' <<<"$out" 2>/dev/null)" >&2
		return 1
	fi
	# every step of the overlay carried the stream
	if [ $1 = h ]; then
		for c in "fe TX_DNAT_ENCAP" "fe TX_DECAP_SNAT" "rx TX_DECAP_LOCAL" "rx TX_REPLY_ENCAP"; do
			n=$(counter $c)
			if [ "${n:-0}" -eq 0 ]; then
				echo "# net_rate: heliostat did not carry the stream: ${c#* } is 0 on ${c% *}" >&2
				return 1
			fi
		done
	fi
	awk -v b="$bps" 'BEGIN {printf "%.3f\n", b / 1e9}'
}


tcp_bench() {
	local r t h k o hk=() ho=()
	for t in iperf3 jq ss; do
		command -v $t >/dev/null || { echo "# TCP throughput: SKIP: $t is not installed"; return 0; }
	done
	tcp_setup || { echo "# net_rate: TCP topology setup failed" >&2; return 1; }
	echo "# TCP bulk throughput, iperf3 client -> $PUB -> VM $VM (MTU 1450), $TCP_ROUNDS interleaved rounds x ${TCP_SECS} s (+1 s omitted)"
	echo "# h: heliostat (DNAT + VXLAN, decap; replies VXLAN + SNAT), checksum offload and TSO off (XDP needs that)"
	echo "# k: nftables DNAT + kernel VXLAN + bridge, offloads on; o: the same, offloads off"
	printf '%-6s %10s %10s %10s %8s %8s   (Gbit/s received)\n' round heliostat kernel kernel-off h/k h/o
	for r in $(seq $TCP_ROUNDS); do
		h=$(tcp_run h) && k=$(tcp_run k) && o=$(tcp_run o) || return 1
		hk+=("$(awk -v a="$h" -v b="$k" 'BEGIN {printf "%.3f", a / b}')")
		ho+=("$(awk -v a="$h" -v b="$o" 'BEGIN {printf "%.3f", a / b}')")
		printf '%-6s %10s %10s %10s %8.2f %8.2f\n' $r "$h" "$k" "$o" "${hk[-1]}" "${ho[-1]}"
	done
	echo "median of per-round ratios: heliostat / kernel VXLAN + bridge $(printf '%s\n' "${hk[@]}" | median)x" \
		"(offloads on), $(printf '%s\n' "${ho[@]}" | median)x (offloads off)"
}

# napi_thread NS DEV CPU: DEV's NAPI in a kernel thread of its own, pinned
# to CPU; prints the thread's PID
napi_thread() {
	local before pid
	before=$(pgrep '^napi/' | sort)
	ip netns exec $P-$1 sh -c "echo 1 > /sys/class/net/$2/threaded" || return 1
	pid=$(comm -13 <(echo "$before") <(pgrep '^napi/' | sort) | head -1)
	if [ -z "$pid" ] || [[ "$(cat /proc/$pid/comm)" != napi/$2-* ]]; then
		echo "# net_rate: no NAPI thread appeared for $2" >&2
		return 1
	fi
	taskset -p -c $3 $pid >/dev/null || return 1
	echo $pid
}

if ! setup; then
	echo "# net_rate: topology setup failed" >&2
	exit 1
fi
layout=()
if [ $split = 1 ]; then
	gen_cpu=0
	[ "$fe_cpu" = 0 ] && gen_cpu=1
	fe_pid=$(napi_thread fe up0 $fe_cpu) && rx_pid=$(napi_thread rx rx0 $fe_cpu) || exit 1
	layout=(--cpu "$gen_cpu" --fe-pid "$fe_pid" --rx-pid "$rx_pid")
	echo "# layout: generator on CPU $gen_cpu; front-end (up0) and receiver (rx0) NAPI threads on CPU $fe_cpu"
else
	echo "# layout: one CPU, generator, front-end and receiver in the generator's softirq"
fi
# in the background, so that a signal to this script ends it too (cleanup)
"$NET_RATE" --gen-ns /run/netns/$P-gen --gen-dev g0 --fe-ns /run/netns/$P-fe --fe-in up0 \
	--fe-out out0 --rx-ns /run/netns/$P-rx --rx-dev rx0 --src $SRC --pub $PUB --vm $VM --host $HOST \
	--switch "bash $here/net_rate.sh mode" "${layout[@]}" "$@" &
GEN=$!
wait $GEN
rc=$?
GEN=''
# the data plane's own account of mode a: every frame DNATed + encapsulated
hsl counters 2>/dev/null | sed 's/^/# heliostat counters: /'
if [ $rc -eq 0 ] && [ $tcp -eq 1 ]; then
	tcp_bench || rc=1
fi
exit $rc
