# SPDX-License-Identifier: GPL-2.0
# The topology harness of the network tests. Source it, then call topo_up.
#
#   client ns ---- router ns ---- node A (front-end + host), site 1
#    198.51.100.10     |  \------ node B, site 2
#                      \--------- node C, site 3
#   underlay of site i: 10.0.i.0/24 and fd00:i::/64 (node .1, router .254 / ::fe)
#   public addresses: 203.0.113.i and 2001:db8:f::i, routed by the router to
#   node i, which binds them to VMs with heliostat.
#   a VM is a namespace with one veth: eth0 inside, <vm>h on its host. Moving
#   <vm>h to another node's namespace moves the VM, sockets and all.
#
# HS_STATE=etcd keeps the cluster state in a real etcd (started by etcd_up
# in the router namespace, reached by the nodes over their underlay) written
# with hsctl, and runs the agents in etcd mode; the default (maps) writes
# each node's maps with hs-loader commands.
#
# Every name carries the prefix $P (hs<pid>): namespaces, pins under
# /sys/fs/bpf/$P-<node>, files under $T. hs_cleanup removes all of it and
# ends the processes the harness started (by PID).

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOADER=$top/build/loader/hs-loader
STREAM=$top/build/selftests/hs_stream
P=hs$$
T=$(mktemp -d /tmp/$P.XXXX)
HS_PIDS=()
HS_NODES=()
declare -A HS_VM_NAME # VM namespace -> its name in etcd
HS_VNI=42
HS_STATE=${HS_STATE:-maps}
HSCTL=$top/build/ctl/hsctl
HS_ETCD_PORT=$((21000 + $$ % 1000))
npass=0 nfail=0

pass() { echo "PASS $1"; npass=$((npass + 1)); }
fail() { echo "FAIL $1: $2"; nfail=$((nfail + 1)); }
skip_all() { echo "SKIP $1: $2"; exit 77; }
log() { echo "# $*"; }

# nsx NS CMD...: runs in the namespace's network stack but keeps this mount
# namespace (ip netns exec would hide bpffs).
nsx() { local ns=$1; shift; nsenter --net=/run/netns/$P-$ns "$@"; }

hs_require() {
	[ "$(id -u)" -eq 0 ] || skip_all "$1" "needs root"
	mountpoint -q /sys/fs/bpf || skip_all "$1" "bpffs is not mounted at /sys/fs/bpf"
	[ -x "$LOADER" ] && [ -x "$STREAM" ] || skip_all "$1" "build first (make)"
	local t
	for t in ip nsenter nft ethtool; do
		command -v $t >/dev/null || skip_all "$1" "$t is not installed"
	done
}

hs_cleanup() {
	local pid ns
	for pid in "${HS_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	# give them 5 s to stop; what is still there (stuck) gets SIGKILL
	for _ in $(seq 50); do
		local left=0
		for pid in "${HS_PIDS[@]}"; do # running, not a zombie waiting for us
			[[ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" =~ ^[RSDT]$ ]] && left=1
		done
		[ $left -eq 0 ] && break
		sleep 0.1
	done
	for pid in "${HS_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
	for pid in "${HS_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	# a safety net: anything still running from this run's directory is
	# ours too (a daemon restarted where its PID was not recorded)
	for pid in $(pgrep -f "$T/" 2>/dev/null); do
		[ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null
	done
	for ns in $(ip netns list | awk '{print $1}' | grep "^$P-"); do ip netns del "$ns"; done
	rm -rf /sys/fs/bpf/$P-*
	# HS_KEEP_LOGS=DIR: the run's logs and configuration survive it
	if [ -n "${HS_KEEP_LOGS:-}" ]; then
		mkdir -p "$HS_KEEP_LOGS" && cp -r "$T"/*.log "$T"/*.conf "$T"/*.out "$HS_KEEP_LOGS"/ 2>/dev/null
		for d in "$T"/lv-*; do [ -d "$d/log" ] && cp -r "$d/log" "$HS_KEEP_LOGS/$(basename "$d")"; done
	fi
	rm -rf "$T"
}
trap hs_cleanup EXIT

site_no() { case $1 in A) echo 1 ;; B) echo 2 ;; C) echo 3 ;; *) echo "bad site $1" >&2; return 1 ;; esac; }
underlay() { echo 10.0.$(site_no "$1").1; }
underlay6() { echo fd00:$(site_no "$1")::1; }
pubaddr() { echo 203.0.113.$(site_no "$1"); }
pubaddr6() { echo 2001:db8:f::$(site_no "$1"); }
pin() { echo /sys/fs/bpf/$P-$1; }
hsl() { local n=$1; shift; nsx "$n" "$LOADER" --pin "$(pin "$n")" "$@"; }

# A veth pair: both ends up, checksums computed in software (XDP programs
# see finished packets), GRO on (veth drops redirected frames otherwise).
veth() { # ns1 if1 ns2 if2
	ip link add "$2" netns $P-$1 type veth peer name "$4" netns $P-$3
	local s
	for s in "$1 $2" "$3 $4"; do
		set -- $s
		nsx "$1" ethtool -K "$2" tx off gro on >/dev/null 2>&1
		nsx "$1" ip link set "$2" up
	done
}

sysctls() {
	nsx "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

mac_of() { ip -n $P-$1 -br link show dev "$2" | awk '{print $3}'; }

# topo_up SITE...: client, router and one node per site (A B C).
topo_up() {
	local s i rmac nmac
	ip netns add $P-cl
	ip netns add $P-rt
	sysctls rt
	sysctls cl
	nsx rt ip link set lo up
	nsx cl ip link set lo up
	veth cl cl0 rt rc0
	nsx cl ip addr add 198.51.100.10/24 dev cl0
	nsx cl ip addr add 2001:db8:100::10/64 dev cl0 nodad
	nsx cl ip route add default via 198.51.100.254
	nsx cl ip -6 route add default via 2001:db8:100::fe
	nsx rt ip addr add 198.51.100.254/24 dev rc0
	nsx rt ip addr add 2001:db8:100::fe/64 dev rc0 nodad
	for s in "$@"; do
		i=$(site_no "$s")
		ip netns add $P-$s
		sysctls "$s"
		nsx "$s" ip link set lo up
		veth rt r$i "$s" up0
		nsx rt ip addr add 10.0.$i.254/24 dev r$i
		nsx rt ip addr add fd00:$i::fe/64 dev r$i nodad
		nsx "$s" ip addr add 10.0.$i.1/24 dev up0
		nsx "$s" ip addr add fd00:$i::1/64 dev up0 nodad
		nsx "$s" ip route add default via 10.0.$i.254
		nsx "$s" ip -6 route add default via fd00:$i::fe
		nsx rt ip route add 203.0.113.$i/32 via 10.0.$i.1
		nsx rt ip -6 route add 2001:db8:f::$i/128 via fd00:$i::1
		# bpf_fib_lookup wants resolved neighbours: make them permanent
		rmac=$(mac_of rt r$i)
		nmac=$(mac_of "$s" up0)
		nsx "$s" ip neigh replace 10.0.$i.254 lladdr "$rmac" dev up0 nud permanent
		nsx "$s" ip neigh replace fd00:$i::fe lladdr "$rmac" dev up0 nud permanent
		nsx rt ip neigh replace 10.0.$i.1 lladdr "$nmac" dev r$i nud permanent
		nsx rt ip neigh replace fd00:$i::1 lladdr "$nmac" dev r$i nud permanent
		# a veth drops XDP_TX frames of its peer unless it runs XDP
		# itself (GRO, enough for redirected frames, is not enough)
		nsx rt ip link set r$i xdpdrv obj "$top/build/bench/pass.bpf.o" sec xdp
		HS_NODES+=("$s")
	done
	nsx cl ip neigh replace 198.51.100.254 lladdr "$(mac_of rt rc0)" dev cl0 nud permanent
	nsx rt ip neigh replace 198.51.100.10 lladdr "$(mac_of cl cl0)" dev rc0 nud permanent
}

# vm_up NAME NODE ADDR ADDR6 MAC: a VM namespace with eth0, its port NAMEh on NODE.
vm_up() {
	local name=$1 node=$2 addr=$3 addr6=$4 mac=$5 gw
	ip netns add $P-$name
	nsx "$name" ip link set lo up
	sysctls "$name"
	nsx "$name" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
	veth "$name" eth0 "$node" "${name}h"
	nsx "$name" ip link set eth0 address "$mac"
	# the port carries libvirt's tap form of the VM's MAC (fe:...), so an
	# agent can find it by MAC as it finds a libvirt VM's tap
	nsx "$node" ip link set "${name}h" address "fe:${mac#*:}"
	nsx "$name" ip addr add "$addr"/32 dev eth0
	nsx "$name" ip addr add "$addr6"/128 dev eth0 nodad
	gw=$(mac_of "$node" "${name}h")
	nsx "$name" ip neigh replace 169.254.0.1 lladdr "$gw" dev eth0 nud permanent
	nsx "$name" ip route add 169.254.0.1 dev eth0
	nsx "$name" ip route add default via 169.254.0.1 dev eth0 onlink
	nsx "$name" ip neigh replace fe80::1 lladdr "$gw" dev eth0 nud permanent
	nsx "$name" ip -6 route add default via fe80::1 dev eth0
}

# agent_conf NODE VMLINES...: writes $T/NODE.conf for the node's agent.
agent_conf() {
	local node=$1 n peers=""
	shift
	if [ "$HS_STATE" = etcd ]; then
		printf '[node]\nname = %s\nuplink = up0\n[agent]\nvm_ifname = vm*h\nlog_level = %s\n[etcd]\nendpoints = http://10.0.%s.254:%s\n' \
			"${node,,}" "${HS_AGENT_LOG:-info}" "$(site_no "$node")" "$HS_ETCD_PORT" > "$T/$node.conf"
		return
	fi
	for n in "${HS_NODES[@]}"; do [ "$n" = "$node" ] || peers+="$(underlay "$n") $(underlay6 "$n") "; done
	{
		printf '[node]\nuplink = up0\nunderlay4 = %s\nunderlay6 = %s\nvni = %s\nmtu = 1500\npeers = %s\n' \
			"$(underlay "$node")" "$(underlay6 "$node")" "$HS_VNI" "$peers"
		printf '[agent]\nvm_ifname = vm*h\nlog_level = %s\n' "${HS_AGENT_LOG:-info}"
		printf '%s\n' "$@"
	} > "$T/$node.conf"
}

# agent_start NODE: the node's agent in the background; waits until it ran.
agent_start() {
	local node=$1 i before
	before=$(grep -c "agent: running" "$T/agent-$node.log" 2>/dev/null)
	nsenter --net=/run/netns/$P-$node "$LOADER" --pin "$(pin "$node")" agent --config "$T/$node.conf" \
		>> "$T/agent-$node.log" 2>&1 &
	eval "AGENT_$node=$!"
	HS_PIDS+=($!)
	for i in $(seq 100); do
		[ "$(grep -c "agent: running" "$T/agent-$node.log" 2>/dev/null)" -gt "${before:-0}" ] &&
			return 0
		kill -0 $! 2>/dev/null || break
		sleep 0.05
	done
	echo "# agent on $node did not start:" && sed 's/^/#   /' "$T/agent-$node.log"
	return 1
}

agent_stop() {
	local pid
	eval "pid=\$AGENT_$1"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# bg NS CMD...: a process in a namespace, remembered for cleanup; PID in $!.
# (nsenter execs the command: $! is the command itself, not a subshell)
bg() { local ns=$1; shift; nsenter --net=/run/netns/$P-$ns "$@" & HS_PIDS+=($!); }

# vm_kind NODE ADDR: local/remote/forward/none as the node's maps say.
vm_kind() { hsl "$1" vm list 2>/dev/null | awk -v a="$2" '$1 == a {print $2; f=1} END {if (!f) print "none"}'; }

# wait_for SECONDS CMD...: polls CMD every 20 ms.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.02
	done
}

is_kind() { [ "$(vm_kind "$1" "$2")" = "$3" ]; }

# etcd_up: one etcd member in the router namespace (client port
# HS_ETCD_PORT on every router address), and site s1 with every node as a
# host (frontend and host).
hsctl() { nsx rt "$HSCTL" --endpoints "http://127.0.0.1:$HS_ETCD_PORT" "$@"; }
etcd_up() {
	local n i
	command -v etcd >/dev/null || { echo "# etcd is not installed"; return 1; }
	nsenter --net=/run/netns/$P-rt etcd --name hs --data-dir "$T/etcd" \
		--listen-client-urls "http://0.0.0.0:$HS_ETCD_PORT" \
		--advertise-client-urls "http://10.0.1.254:$HS_ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$((HS_ETCD_PORT + 1000))" \
		--initial-advertise-peer-urls "http://127.0.0.1:$((HS_ETCD_PORT + 1000))" \
		--initial-cluster "hs=http://127.0.0.1:$((HS_ETCD_PORT + 1000))" > "$T/etcd.log" 2>&1 &
	HS_PIDS+=($!)
	wait_for 20 hsctl site list >/dev/null 2>&1 || { tail -3 "$T/etcd.log"; return 1; }
	hsctl site add s1 >/dev/null || return 1
	for n in "${HS_NODES[@]}"; do
		i=$(site_no "$n")
		hsctl host add "${n,,}" --site s1 --underlay4 10.0.$i.1 --underlay6 fd00:$i::1 \
			--vni $HS_VNI --mtu 1500 --roles frontend,host >/dev/null || return 1
	done
}

# state_vm NAME ID ADDR ADDR6 MAC NODE ENTRY: a VM running at NODE whose
# primary binding is at front-end ENTRY; in maps mode every other node gets
# a remote entry (NODE's agent makes it local from its [vm] section).
state_vm() {
	local name=$1 id=$2 a4=$3 a6=$4 mac=$5 node=$6 entry=$7 n a
	if [ "$HS_STATE" = etcd ]; then
		hsctl vm add "$name" --id "$id" --address "$a4" --address6 "$a6" --mac "$mac" \
			--host "${node,,}" --entry "${entry,,}" >/dev/null
		return
	fi
	for n in "${HS_NODES[@]}"; do
		[ "$n" = "$node" ] && continue
		for a in "$a4" "$a6"; do
			hsl "$n" vm remote "$a" --host "$(underlay "$node")" --entry "$(underlay "$entry")" || return 1
		done
	done
}

# vm_section NAME ID ADDR ADDR6 MAC ENTRY VMNS: the agent's [vm] section for
# the VM namespace VMNS (its port VMNSh), primary binding at front-end ENTRY
vm_section() {
	printf '[vm %s]\naddress = %s\naddress6 = %s\nmac = %s\nifname = %sh\nentry = %s\nid = %s\n' \
		"$1" "$3" "$4" "$5" "$7" "$(underlay "$6")" "$2"
}

# state_binding NODE PUBLIC VMNAME VMADDR ID: NODE's front-end binds PUBLIC
state_binding() {
	if [ "$HS_STATE" = etcd ]; then
		hsctl binding add "$2" --vm "$3" --frontend "${1,,}" >/dev/null
	else
		hsl "$1" binding add "$2" "$4" --id "$5"
	fi
}

HS_EPOCH=1
# vm_move VM ADDR ADDR6 FROM TO: moves the VM's port; TO's agent makes it
# local; FROM gets a forwarding pointer at once (every node still sending
# to FROM is then forwarded), then every other node is re-pointed, as a
# control plane would on the switchover event, without waiting for TO's
# agent.
vm_move() {
	local vm=$1 a4=$2 a6=$3 from=$4 to=$5 n a
	ip -n $P-$from link set "${vm}h" netns $P-$to
	nsx "$to" ip link set "${vm}h" up
	if [ "$HS_STATE" = etcd ]; then
		hsctl vm move "${HS_VM_NAME[$vm]}" --to "${to,,}" --forward-for 30 >/dev/null || return 1
		wait_for 5 is_kind "$to" "$a4" local || { echo "# $to did not make $a4 local"; return 1; }
		wait_for 5 is_kind "$from" "$a4" forward || { echo "# $from: no forwarding pointer"; return 1; }
		return 0
	fi
	HS_EPOCH=$((HS_EPOCH + 1))
	for a in "$a4" "$a6"; do
		hsl "$from" vm forward "$a" --host "$(underlay "$to")" --entry "$(underlay A)" --epoch $HS_EPOCH || return 1
	done
	for a in "$a4" "$a6"; do
		for n in "${HS_NODES[@]}"; do
			[ "$n" = "$from" ] || [ "$n" = "$to" ] && continue
			hsl "$n" vm remote "$a" --host "$(underlay "$to")" --entry "$(underlay A)" --epoch $HS_EPOCH || return 1
		done
	done
	wait_for 5 is_kind "$to" "$a4" local || { echo "# $to did not make $a4 local"; return 1; }
	# FROM's agent drops local entries when the port leaves; it keeps a
	# pointer written meanwhile, but check
	wait_for 5 is_kind "$from" "$a4" forward || { echo "# $from: no forwarding pointer"; return 1; }
}

# stream_start NAME ADDR [RATE SIZE]: an hs_stream client in the background
# (default 4000-byte writes 250 times a second: full-size segments), every
# byte echoed and checked; stream_end NAME stops it and leaves its verdict
# in $stream_why (empty when every byte came back intact) and the longest
# gap in $stream_gap (ms). The VM's echo service listens on $TCP_PORT.
stream_start() {
	bg cl "$STREAM" client "$2" $TCP_PORT --rate "${3:-250}" --size "${4:-4000}" \
		--status "$T/$1.st" > "$T/$1.out" 2>&1
	eval "SPID_$1=$!"
}
# (a client blocked in send() on a stalled connection does not stop on
# SIGTERM: after 12 s, its own 10 s of draining included, it is killed)
running() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ]; }
stream_end() {
	local pid rc i
	eval "pid=\$SPID_$1"
	stream_why=""
	kill "$pid" 2>/dev/null
	for i in $(seq 120); do
		running "$pid" || break
		sleep 0.1
	done
	if running "$pid"; then
		kill -KILL "$pid"
		stream_why+="client hung, killed; "
	fi
	{ wait "$pid"; } 2>/dev/null
	rc=$?
	eval "SPID_$1="
	log "$1 stream: $(cat "$T/$1.out")"
	stream_gap=$(sed -n 's/.*longest_gap_ms=\([0-9.]*\).*/\1/p' "$T/$1.out")
	[ $rc -eq 0 ] || stream_why+="client exit $rc; "
	grep -q "mismatches=0 resets=0" "$T/$1.out" ||
		stream_why+="$(tail -n 1 "$T/$1.out" | grep . || echo "no result line"); "
	[ "$(stream_verified "$T/$1.st")" -gt 0 ] 2>/dev/null || stream_why+="nothing echoed; "
}

# stream_verified FILE: bytes the client has verified so far.
stream_verified() { sed -n 's/^verified=\([0-9]*\).*/\1/p' "$1" 2>/dev/null || echo 0; }

# stream_advances FILE BYTES SECONDS: the stream got BYTES further.
stream_advances() {
	local f=$1 want=$(($(stream_verified "$1") + $2)) end=$((SECONDS + $3)) v
	while [ $SECONDS -le $end ]; do
		v=$(stream_verified "$f")
		[ "${v:-0}" -ge "$want" ] && return 0
		sleep 0.02
	done
	return 1
}

# snap TAG: every counter of A, B (A.NAME, B.NAME) and of the router's
# nftables table $HS_NFT_TABLE (rt.NAME), saved as TAG
snap() {
	{
		for n in A B; do
			hsl $n counters --json | jq -r --arg n $n 'to_entries[] | "\($n).\(.key) \(.value)"'
		done
		nsx rt nft -j list counters table inet "$HS_NFT_TABLE" |
			jq -r '.nftables[] | select(.counter) | .counter | "rt.\(.name) \(.packets)"'
	} > "$T/snap-$1"
}
# delta FROM TO KEY...: how much the KEYs together grew between two snaps
delta() {
	local from=$1 to=$2 k s=0 a b
	shift 2
	for k in "$@"; do
		a=$(awk -v k="$k" '$1 == k {print $2}' "$T/snap-$from")
		b=$(awk -v k="$k" '$1 == k {print $2}' "$T/snap-$to")
		s=$((s + ${b:-0} - ${a:-0}))
	done
	echo $s
}

hs_done() {
	echo "# $npass passed, $nfail failed"
	[ "$nfail" -eq 0 ]
}
