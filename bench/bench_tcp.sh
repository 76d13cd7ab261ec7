#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# TCP bulk throughput through the overlay: heliostat with the VM-side
# program on either hook against the kernel's VXLAN device + bridge, in one
# topology (net_rate.sh's), measured in interleaved rounds:
#
#   gen (g0) ---- (up0) fe (out0) ---- (rx0) rx (vmh) ---- (eth0) vm
#   198.51.100.10  198.51.100.1  10.0.2.1     10.0.2.2            10.200.0.5
#   client         front-end                  the VM's host       the VM
#
#   x  heliostat, VM-side program on the XDP hook: uplink programs on up0,
#      out0 (front-end) and rx0 (host), xdp_vmside on vmh; checksum offload
#      and TSO off on every veth (XDP needs finished, MTU-sized frames).
#   t  the same with the VM-side program on the TC hook (switched on the
#      live port with hs-loader attach vmside vmh --hook tc): the VM's veth
#      pair keeps checksum offload, TSO and GSO, so the VM's 64 KB packets
#      are encapsulated whole and segmented late; the other veths as in x
#      (the uplinks' XDP programs need finished checksums).
#   T  every program on the TC hook (attach uplink DEV --hook tc on up0,
#      out0 and rx0 too), offloads on everywhere: GSO packets cross the
#      whole path whole, as in the kernel's overlay.
#   k  nftables DNAT at the front-end, a VXLAN device on each node and a
#      bridge on the host (the kernel's overlay), offloads on everywhere.
#   o  (--kernel-off) the same with offloads off.
#
# Two directions: "vm->client" (iperf3 -R: the VM sends, replies leave
# through the VM-side program: the path the hook decides) and "client->vm"
# (the front-end's DNAT + VXLAN and the host's decapsulation carry the data;
# the VM-side program sees the ACKs). The VM's MTU is the VXLAN device's
# (1450) everywhere. Every heliostat run checks that heliostat carried the
# stream (counters), and reports how many VXLAN frames each packet the
# VM-side program encapsulated became (1 on XDP; the GSO segments on TC).
# Modes are switched on the same namespaces (programs re-attached on the
# live interfaces) and run in turn in every round; ratios are medians of
# per-round ratios to k.
# Usage: bench/bench_tcp.sh [--rounds N] [--secs S] [--kernel-off]
#                           [--dir vm|client|both] [--modes "x t T k o"]
# Exit status 77 (with a SKIP line) where it cannot run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

NFT_TABLE=hstcp_dnat
ROUNDS=5
SECS=3
MODES="x t T k"
DIRS="vm client"

usage() {
	echo "usage: $0 [--rounds N] [--secs S] [--kernel-off] [--dir vm|client|both] [--modes LIST]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; ROUNDS=$2; shift 2 ;;
	--secs) [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage; SECS=$2; shift 2 ;;
	--kernel-off) MODES="x t T k o"; shift ;;
	--modes)
		[[ ${2:-} =~ ^[xtTko\ ]+$ ]] && [[ $2 == *k* ]] || usage
		MODES=$2
		shift 2
		;;
	--dir)
		case ${2:-} in
		vm | client) DIRS=$2 ;;
		both) DIRS="vm client" ;;
		*) usage ;;
		esac
		shift 2
		;;
	*) usage ;;
	esac
done

skip() { echo "# bench_tcp: SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root"
mountpoint -q /sys/fs/bpf || skip "bpffs is not mounted at /sys/fs/bpf"
[ -x "$LOADER" ] || skip "build first (make)"
for t in ip nsenter nft ethtool iperf3 jq ss timeout; do
	command -v $t >/dev/null || skip "$t is not installed"
done

P=hstcp$$
PIN=/sys/fs/bpf/hsbench-tcp-$$
PIN_H=$PIN-host
SERVER=''

hsl() { nsx fe "$LOADER" --pin "$PIN" "$@"; }
hsh() { nsx rx "$LOADER" --pin "$PIN_H" "$@"; }

cleanup() {
	local dev
	if [ -n "$SERVER" ]; then
		kill "$SERVER" 2>/dev/null
		wait "$SERVER" 2>/dev/null
	fi
	# through the loader: libxdp's pins and the TC filter go with it
	for dev in up0 out0; do hsl detach $dev >/dev/null 2>&1; done
	for dev in rx0 vmh; do hsh detach $dev >/dev/null 2>&1; done
	for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns"; done
	rm -rf "$PIN" "$PIN_H"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

setup() {
	netns gen && netns fe && netns rx && netns vm || return 1
	veth gen g0 fe up0 && veth fe out0 rx rx0 && veth vm eth0 rx vmh || return 1
	nsx fe sysctl -qw net.ipv4.ip_forward=1 && nsx rx sysctl -qw net.ipv4.ip_forward=1 || return 1
	nsx gen ip addr add $SRC/24 dev g0
	nsx fe ip addr add $FE_UP/24 dev up0
	nsx fe ip addr add $FE_UL/24 dev out0
	nsx rx ip addr add $HOST/24 dev rx0
	nsx gen ip route add default via $FE_UP || return 1
	nsx gen ip neigh replace $FE_UP lladdr "$(mac_of fe up0)" dev g0 nud permanent
	nsx fe ip neigh replace $SRC lladdr "$(mac_of gen g0)" dev up0 nud permanent
	nsx fe ip neigh replace $HOST lladdr "$(mac_of rx rx0)" dev out0 nud permanent
	nsx rx ip neigh replace $FE_UL lladdr "$(mac_of fe out0)" dev rx0 nud permanent
	nsx vm ip link set eth0 address $VM_MAC mtu 1450
	nsx rx ip link set vmh mtu 1450
	nsx vm ip addr add $VM/32 dev eth0
	nsx vm ip route add $GW dev eth0
	nsx vm ip route add default via $GW dev eth0 onlink || return 1

	# the kernel's overlay, used in modes k and o
	nsx fe ip link add vx0 type vxlan id $VNI local $FE_UL remote $HOST dstport 4789 dev out0 &&
		nsx fe ip link set vx0 up || return 1
	nsx rx ip link add vx0 type vxlan id $VNI local $HOST remote $FE_UL dstport 4789 dev rx0 &&
		nsx rx ip link add br0 type bridge && nsx rx ip link set vx0 master br0 &&
		nsx rx ip link set vx0 up && nsx rx ip link set br0 up || return 1
	nsx fe ip route replace $VM/32 dev vx0 || return 1
	nsx fe ip neigh replace $VM lladdr $VM_MAC dev vx0 nud permanent || return 1

	# heliostat: DNAT + VXLAN at the front-end, the VM local at the host
	hsl config set --underlay4 $FE_UL --vni $VNI --mtu 1500 >/dev/null &&
		hsl binding add $PUB $VM >/dev/null &&
		hsl vm remote $VM --host $HOST --mac $VM_MAC --entry $FE_UL >/dev/null &&
		hsl peer add $HOST >/dev/null || return 1
	host_vm_local && iperf_server bench_tcp
}

# offload VALUE NS:DEV...: checksum offload, TSO and GSO on or off
offload() {
	local v=$1 s
	shift
	for s in "$@"; do
		nsx "${s%%:*}" ethtool -K "${s#*:}" tx "$v" tso "$v" gso "$v" >/dev/null 2>&1 || return 1
	done
}
UNDERLAY_DEVS="gen:g0 fe:up0 fe:out0 rx:rx0"
VM_DEVS="vm:eth0 rx:vmh"

# heliostat_on VMSIDE_HOOK [UPLINK_HOOK]: the uplinks' hook defaults to xdp
heliostat_on() {
	local uh=${2:-xdp}
	nft_off && nsx rx ip link set vmh nomaster || return 1
	hsl --log-level err attach uplink up0 --hook "$uh" >/dev/null || return 1
	hsl --log-level err attach uplink out0 --hook "$uh" >/dev/null || return 1
	hsh --log-level err attach uplink rx0 --hook "$uh" >/dev/null || return 1
	hsh --log-level err attach vmside vmh --hook "$1" >/dev/null || return 1
	nsx vm ip neigh replace $GW lladdr "$(mac_of rx vmh)" dev eth0 nud permanent
}

kernel_on() {
	local dev
	for dev in up0 out0; do hsl detach $dev >/dev/null 2>&1; done
	for dev in rx0 vmh; do hsh detach $dev >/dev/null 2>&1; done
	nft_on && nsx rx ip link set vmh master br0 || return 1
	nsx vm ip neigh replace $GW lladdr "$(mac_of fe vx0)" dev eth0 nud permanent
}

# Offloads are turned on only once no XDP program is on the peer: while
# one is, a veth cannot have TSO, and asking for it then is forgotten.
mode_on() {
	case $1 in
	x) offload off $UNDERLAY_DEVS $VM_DEVS && heliostat_on xdp ;;
	t) heliostat_on tc && offload off $UNDERLAY_DEVS && offload on $VM_DEVS ;;
	T) heliostat_on tc tc && offload on $UNDERLAY_DEVS $VM_DEVS ;;
	k) kernel_on && offload on $UNDERLAY_DEVS $VM_DEVS ;;
	o) kernel_on && offload off $UNDERLAY_DEVS $VM_DEVS ;;
	esac
}

counter() { # fe|rx NAME
	if [ $1 = fe ]; then hsl --json counters; else hsh --json counters; fi | jq ".$2"
}

# run MODE DIR: prints "Gbit/s [frames per VM-side packet]"
run() {
	local m=$1 d=$2 out bps c n a b rev
	if ! mode_on "$m"; then
		echo "# bench_tcp: cannot switch to mode $m" >&2
		return 1
	fi
	if [ "$m" != k ] && [ "$m" != o ]; then
		hsl counters --reset && hsh counters --reset || return 1
	fi
	rev=()
	[ "$d" = vm ] && rev=(-R)
	out=$(nsx gen timeout $((SECS + 20)) iperf3 -c $PUB -p 5201 -t "$SECS" -O 1 "${rev[@]}" \
		--connect-timeout 3000 -J 2>&1)
	bps=$(jq -r '.end.sum_received.bits_per_second // empty' <<<"$out" 2>/dev/null)
	if [ -z "$bps" ]; then
		echo "# bench_tcp: iperf3 failed in mode $m ($d): $(jq -r '.error // empty' <<<"$out" 2>/dev/null)" >&2
		return 1
	fi
	if [ "$m" != k ] && [ "$m" != o ]; then
		# every step of the overlay carried the stream
		for c in "fe TX_DNAT_ENCAP" "fe TX_DECAP_SNAT" "rx TX_DECAP_LOCAL" "rx TX_REPLY_ENCAP"; do
			n=$(counter $c)
			if [ "${n:-0}" -eq 0 ]; then
				echo "# bench_tcp: heliostat did not carry the stream: ${c#* } is 0 on ${c% *}" >&2
				return 1
			fi
		done
		# VXLAN frames the front-end decapsulated per packet the VM side sent
		a=$(counter fe TX_DECAP_SNAT) b=$(counter rx TX_REPLY_ENCAP)
		awk -v g="$bps" -v a="$a" -v b="$b" 'BEGIN {printf "%.3f %.1f\n", g / 1e9, a / b}'
		return 0
	fi
	awk -v g="$bps" 'BEGIN {printf "%.3f\n", g / 1e9}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}'; }

if ! setup; then
	echo "# bench_tcp: topology setup failed" >&2
	exit 1
fi

label() { case $1 in x) echo xdp ;; t) echo tc ;; T) echo tc-all ;; k) echo kernel ;; o) echo kernel-off ;; esac; }
helio() { [ "$1" != k ] && [ "$1" != o ]; }

echo "# TCP bulk throughput, iperf3 client $SRC <-> $PUB <-> VM $VM (MTU 1450, underlay 1500)," \
	"$ROUNDS interleaved rounds x ${SECS} s (+1 s omitted), Gbit/s received"
for m in $MODES; do
	case $m in
	x) echo "# xdp: heliostat, every program on XDP, offloads off on every veth" ;;
	t) echo "# tc: heliostat, VM side on TC (the VM's veth keeps checksum offload, TSO, GSO), uplinks on XDP" ;;
	T) echo "# tc-all: heliostat, every program on TC (uplinks too: attach uplink --hook tc), offloads on" ;;
	k) echo "# kernel: nftables DNAT + kernel VXLAN + bridge, offloads on" ;;
	o) echo "# kernel-off: the same, offloads off" ;;
	esac
done
echo "# seg/pkt: VXLAN frames the front-end decapsulated per packet the host's VM side encapsulated"
rc=0
for d in $DIRS; do
	declare -A got=() rat=()
	echo "# direction: $([ "$d" = vm ] && echo "the VM sends (iperf3 -R)" || echo "the client sends")"
	printf '%-6s' round
	for m in $MODES; do
		printf ' %10s' "$(label $m)"
		helio $m && printf ' %7s' seg/pkt
	done
	for m in $MODES; do helio $m && printf ' %9s' "$(label $m)/k"; done
	printf '\n'
	for r in $(seq "$ROUNDS"); do
		for m in $MODES; do
			got[$m]=$(run "$m" "$d") || { rc=1; break 3; }
		done
		printf '%-6s' "$r"
		for m in $MODES; do
			read -r g sp <<<"${got[$m]}"
			printf ' %10s' "$g"
			helio $m && printf ' %7s' "$sp"
		done
		for m in $MODES; do
			helio $m || continue
			read -r g _ <<<"${got[$m]}"
			rat[$m]+="$(ratio "$g" "${got[k]}") "
			printf ' %9.2f' "$(ratio "$g" "${got[k]}")"
		done
		printf '\n'
	done
	line="median of per-round ratios to the kernel ($d sends):"
	for m in $MODES; do
		helio $m || continue
		line+=" $(label $m) $(printf '%s\n' ${rat[$m]} | median)x"
	done
	echo "$line"
	unset got rat
done
exit $rc
