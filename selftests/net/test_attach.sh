#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# hs-loader attach, detach and status on real veths in namespaces, and the
# node agent following links as they come, flap and go. Topology A + B of
# lib.sh; VM vm1 (10.1.0.5, fd01::5) behind vm1h at A, public 203.0.113.1.
#
#  - attach_status: attach uplink/vmside by hand; status, status --json and
#    bpftool net show agree on role, program id, mode and attach kind
#  - attach_dispatcher: two programs in libxdp's dispatcher (ours and a
#    foreign XDP_PASS); SKIP when status says the kernel gave single attach
#  - reattach_no_loss: 20 re-attaches of both programs under a TCP stream and
#    back-to-back UDP runs: nothing lost, every program id new, maps unchanged,
#    no replaced program left loaded (reattach_no_leak)
#  - foreign_refused: a foreign program is kept unless --force; detach only
#    removes ours; other_node_replaced: another pin's program is replaced
#  - agent_*: ports created after the agent started, link flaps, deleted
#    ports (and no error logged for them), pattern-only ports, ports found
#    by libvirt's tap MAC; restart with a port gone meanwhile; SIGHUP with a
#    good and a bad file; bad files at start
source "$(dirname "$0")/lib.sh"

hs_require attach
for t in jq bpftool; do
	command -v $t >/dev/null || skip_all attach "$t is not installed"
done
PASSO=$top/build/bench/pass.bpf.o
[ -f "$PASSO" ] || skip_all attach "build first (make): $PASSO is missing"

VM4=10.1.0.5 VM6=fd01::5 VMMAC=02:00:00:00:01:05
DB4=10.1.0.7 DBMAC=02:00:00:00:01:07 DBTAP=fe:00:00:00:01:07
API4=10.1.0.8 APIMAC=02:00:00:00:01:08

# ---- helpers ----

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_ms MS CMD...: polls CMD every 20 ms for up to MS milliseconds.
wait_ms() {
	local end=$(($(now_ms) + $1))
	shift
	until "$@"; do
		[ "$(now_ms)" -ge "$end" ] && return 1
		sleep 0.02
	done
}

# st NODE DEV FIELD: FIELD of DEV in status --json ("null" when absent)
st() {
	hsl "$1" --json status "$2" 2>/dev/null |
		jq -r --arg d "$2" --arg f "$3" '[.interfaces[] | select(.interface == $d)][0][$f]'
}

# bpf_net NODE DEV: "ID MODE" of the XDP program bpftool sees on DEV
bpf_net() {
	nsx "$1" bpftool -j net show dev "$2" 2>/dev/null |
		jq -r '[.[0].xdp[]?][0] | if . then "\(.id) \(.mode)" else "none" end'
}

vm_line() { hsl "$1" vm list 2>/dev/null | awk -v a="$2" '$1 == a'; }
has_role() { [ "$(st "$1" "$2" role)" = "$3" ] && [ "$(st "$1" "$2" heliostat)" = true ]; }
both_kind() { is_kind "$1" $VM4 "$2" && is_kind "$1" $VM6 "$2"; }
agent_log() { sed 's/^/#   agent: /' "$T/agent-A.log" | tail -n 15; }

# status_problem NODE DEV ROLE: prints what disagrees about DEV running this
# node's ROLE program (nothing when status text, JSON and bpftool agree)
status_problem() {
	local n=$1 dev=$2 role=$3 line js id att mode b bid bmode
	line=$(hsl "$n" status 2>/dev/null | awk -v d="$dev" '$1 == d')
	if [[ ! "$line" =~ ^$dev\ +$role\ +xdp_$role\ id\ ([0-9]+),\ (single|dispatcher)\ attach,\ (native|skb)\ mode$ ]]; then
		echo "status line of $dev: '$line'"
		return
	fi
	id=${BASH_REMATCH[1]} att=${BASH_REMATCH[2]} mode=${BASH_REMATCH[3]}
	js=$(hsl "$n" --json status "$dev" 2>/dev/null |
		jq -c --arg d "$dev" '.interfaces[] | select(.interface == $d) |
			[.attached, .heliostat, .role, .program, .program_id, .attach, .mode]')
	[ "$js" = "[true,true,\"$role\",\"xdp_$role\",$id,\"$att\",\"$mode\"]" ] ||
		echo "status --json of $dev: $js, text said id $id $att $mode"
	read -r bid bmode <<<"$(bpf_net "$n" "$dev")"
	b=$([ "$mode" = native ] && echo driver || echo generic)
	[ "$bmode" = "$b" ] || echo "bpftool: $dev mode '$bmode', status $mode"
	# with a dispatcher, bpftool shows the dispatcher's id, not ours
	[ "$att" = dispatcher ] || [ "$bid" = "$id" ] || echo "bpftool: $dev id '$bid', status $id"
}

# agent_restart NODE: agent_start for a node whose log already holds an
# "agent: running" line from an earlier run (lib.sh's agent_start would take
# that one and return before the new agent has done anything)
agent_restart() {
	local node=$1 n pid i
	n=$(grep -c "agent: running" "$T/agent-$node.log")
	nsenter --net=/run/netns/$P-$node "$LOADER" --pin "$(pin "$node")" agent \
		--config "$T/$node.conf" >>"$T/agent-$node.log" 2>&1 &
	pid=$!
	eval "AGENT_$node=$pid"
	HS_PIDS+=($pid)
	for i in $(seq 100); do
		[ "$(grep -c "agent: running" "$T/agent-$node.log")" -gt "$n" ] && return 0
		kill -0 $pid 2>/dev/null || break
		sleep 0.05
	done
	echo "# agent on $node did not start again:" && agent_log
	return 1
}

start_servers() {
	bg vm1 "$STREAM" server 7000
	SRV_TCP=$!
	bg vm1 "$STREAM" udp-server 7001
	SRV_UDP=$!
	sleep 0.1
}

stop_servers() {
	kill "$SRV_TCP" "$SRV_UDP" 2>/dev/null
	wait "$SRV_TCP" "$SRV_UDP" 2>/dev/null
}

# tcp_ok ADDR: a short TCP stream to ADDR:7000 comes back intact
tcp_ok() {
	local c rc
	bg cl "$STREAM" client "$1" 7000 --status "$T/short" >"$T/short.out"
	c=$!
	stream_advances "$T/short" 3200 5
	kill "$c"
	wait "$c"
	rc=$?
	[ $rc -eq 0 ] && grep -q "mismatches=0 resets=0" "$T/short.out"
}

topo_up A B
vm_up vm1 A $VM4 $VM6 $VMMAC
start_servers

# ---- 1. attach_status ----

out_up=$(hsl A attach uplink up0 2>&1)
rc_up=$?
out_vm=$(hsl A attach vmside vm1h 2>&1)
rc_vm=$?
why=""
[ $rc_up -eq 0 ] && [ $rc_vm -eq 0 ] || why+=" attach exit $rc_up/$rc_vm;"
why+=$(status_problem A up0 uplink)$(status_problem A vm1h vmside)
hsl A status 2>/dev/null | head -1 | grep -q "maps present" || why+=" status: no maps;"
ATT=$(st A up0 attach)
MODE=$(st A up0 mode)
want=$([ "$ATT" = single ] && echo "single program" || echo "libxdp dispatcher"),
want+=" $([ "$MODE" = native ] && echo native || echo generic)"
grep -q "attached uplink to up0 ($want)" <<<"$out_up" ||
	why+=" attach said '$(grep attached <<<"$out_up")', status $ATT/$MODE;"
grep -q "attached vmside to vm1h (" <<<"$out_vm" || why+=" attach vmside said nothing;"
if [ -z "$why" ]; then
	pass "attach_status ($ATT attach, $MODE mode)"
else
	fail attach_status "$why"
	sed 's/^/#   /' <<<"$out_up"
fi

# ---- 1b. attach_dispatcher ----

if [ "$ATT" = single ]; then
	r=$(sed -n 's/.*libxdp: \(Compatibility check for dispatcher .*\)/\1/p' <<<"$out_up" | head -1)
	echo "SKIP attach_dispatcher: status says single attach; libxdp's dispatcher does not load here (${r:-no reason logged})"
elif [ "$ATT" != dispatcher ]; then
	fail attach_dispatcher "status of up0 says attach '$ATT'"
elif ! command -v xdp-loader >/dev/null; then
	echo "SKIP attach_dispatcher: xdp-loader is not installed"
else
	why=""
	comp() { nsx A xdp-loader status vm1h 2>/dev/null | awk -v p="$1" \
		'{ for (i = 1; i < NF; i++) if ($i == p) print $(i + 1) }'; }
	nsx A xdp-loader load -m "$MODE" vm1h "$PASSO" -s xdp >/dev/null 2>&1 ||
		why+=" xdp-loader load failed;"
	fpid=$(comp xdp_pass)
	old=$(comp xdp_vmside)
	[ -n "$fpid" ] && [ -n "$old" ] || why+=" dispatcher holds '$fpid' '$old';"
	[ "$(st A vm1h attach)" = dispatcher ] && has_role A vm1h vmside ||
		why+=" status of vm1h: $(st A vm1h attach) $(st A vm1h role);"
	hsl A attach vmside vm1h >/dev/null 2>&1 || why+=" re-attach failed;"
	new=$(comp xdp_vmside)
	[ "$(comp xdp_pass)" = "$fpid" ] || why+=" the foreign program went: '$(comp xdp_pass)';"
	[ -n "$new" ] && [ "$new" != "$old" ] && [ "$(wc -w <<<"$new")" -eq 1 ] ||
		why+=" vmside ids before '$old' after '$new';"
	[ "$(st A vm1h program_id)" = "$new" ] || why+=" status id $(st A vm1h program_id), dispatcher $new;"
	[ -n "$fpid" ] && nsx A xdp-loader unload vm1h -i "$fpid" >/dev/null 2>&1
	[ -z "$why" ] && pass attach_dispatcher || fail attach_dispatcher "$why"
fi

# ---- 2. reattach_no_loss ----

hsl A config set --underlay4 "$(underlay A)" --underlay6 "$(underlay6 A)" --vni $HS_VNI \
	--mtu 1500 >/dev/null
hsl A peer add "$(underlay B)"
for a in $VM4 $VM6; do
	hsl A vm local $a --dev vm1h --mac $VMMAC --entry "$(underlay A)" --id 5
done
hsl A binding add "$(pubaddr A)" $VM4 --id 5
hsl A binding add "$(pubaddr6 A)" $VM6 --id 5
snapshot() {
	local c
	for c in "binding list" "vm list" "peer list" "config show"; do hsl A $c 2>&1; done
}
state_before=$(snapshot)
hsl A counters --reset

bg cl "$STREAM" client "$(pubaddr A)" 7000 --status "$T/r4" >"$T/r4.out"
R4=$!
bg cl "$STREAM" client "$(pubaddr6 A)" 7000 --status "$T/r6" >"$T/r6.out"
R6=$!
# back-to-back UDP runs (each 2000 request/echo pairs) until told to stop
udp_loop() {
	local child
	trap 'kill $child 2>/dev/null; exit 0' TERM
	while [ ! -e "$T/udp.stop" ]; do
		nsenter --net=/run/netns/$P-cl "$STREAM" udp "$(pubaddr A)" 7001 --size 200 \
			--count 2000 >>"$T/udp.out" 2>&1 &
		child=$!
		wait $child
	done
}
udp_loop &
UL=$!
HS_PIDS+=($UL)
why=""
stream_advances "$T/r4" 3200 5 && stream_advances "$T/r6" 3200 5 ||
	why+=" no stream before the re-attaches ($(cat "$T/r4" "$T/r6" 2>/dev/null));"

ids0="$(st A up0 program_id) $(st A vm1h program_id)"
ids="" bad=""
t0=$(now_ms)
for i in $(seq 20); do
	hsl A attach uplink up0 2>/dev/null || bad+=" uplink#$i"
	hsl A attach vmside vm1h 2>/dev/null || bad+=" vmside#$i"
	ids+=" $(st A up0 program_id) $(st A vm1h program_id)"
done
t1=$(now_ms)
stream_advances "$T/r4" 3200 5 && stream_advances "$T/r6" 3200 5 ||
	why+=" stream stalled after the re-attaches;"
touch "$T/udp.stop"
wait $UL
kill $R4 $R6
rcs=()
wait $R4
rcs[4]=$?
wait $R6
rcs[6]=$?
log "re-attach loop: 40 attaches in $((t1 - t0)) ms"
log "IPv4 stream: $(cat "$T/r4.out")"
log "IPv6 stream: $(cat "$T/r6.out")"
[ -z "$bad" ] || why+=" attach failed:$bad;"
nuniq=$(tr ' ' '\n' <<<"$ids $ids0" | grep -v '^$' | sort -u | wc -l)
[ "$nuniq" -eq 42 ] || why+=" $nuniq distinct program ids in 42 (initial + 40), not all new: $ids0 |$ids;"
for s in 4 6; do
	rc=${rcs[$s]}
	out=$(cat "$T/r$s.out")
	gap=$(sed -n 's/.*longest_gap_ms=\([0-9.]*\).*/\1/p' <<<"$out")
	if [ "$rc" -ne 0 ] || ! grep -q "mismatches=0 resets=0" <<<"$out"; then
		why+=" IPv$s stream: exit $rc: $out;"
	elif ! awk -v g="${gap:-999999}" 'BEGIN { exit !(g <= 200) }'; then
		why+=" IPv$s stream: gap $gap ms > 200 ms;"
	fi
done
read -r runs usent uecho <<<"$(awk '/^udp size=/ { n++; split($3, s, "="); split($4, e, "=");
	sent += s[2]; echoed += e[2] } END { print n + 0, sent + 0, echoed + 0 }' "$T/udp.out")"
log "UDP: $runs runs, $usent sent, $uecho echoed"
other=$(grep -v '^udp size=' "$T/udp.out")
[ "$runs" -ge 2 ] && [ "$usent" -eq "$uecho" ] && [ -z "$other" ] ||
	why+=" UDP: $runs runs, $usent sent, $uecho echoed ${other:+($other)};"
dnat=$(hsl A --json counters | jq .TX_DNAT_LOCAL)
snat=$(hsl A --json counters | jq .TX_REPLY_SNAT)
[ "${dnat:-0}" -ge "$usent" ] && [ "${snat:-0}" -ge "$uecho" ] ||
	why+=" counters: TX_DNAT_LOCAL $dnat, TX_REPLY_SNAT $snat for $usent datagrams (not through XDP?);"
state_after=$(snapshot)
[ "$state_before" = "$state_after" ] ||
	why+=" maps changed: $(diff <(echo "$state_before") <(echo "$state_after") | grep '^[<>]' | tr '\n' ' ');"
for d in "up0 uplink" "vm1h vmside"; do why+=$(status_problem A $d); done
[ -z "$why" ] && pass "reattach_no_loss ($usent datagrams, 2 streams, 40 attaches)" ||
	fail reattach_no_loss "$why"

# exactly the two attached programs still use this node's maps
mapid=$(bpftool -j map show pinned "$(pin A)/node_config" | jq .id)
nprogs() {
	bpftool -j prog show | jq --argjson m "$mapid" '[.[] | select([.map_ids[]?] | any(. == $m))] | length'
}
if wait_ms 3000 eval '[ "$(nprogs)" -eq 2 ]'; then
	pass reattach_no_leak
else
	fail reattach_no_leak "$(nprogs) programs use node_config (map id $mapid) after 41 attaches, want 2"
fi

# ---- 3. foreign_refused ----

ip link add fx0 netns $P-B type veth peer name fx1 netns $P-B
nsx B ip link set fx0 up
nsx B ip link set fx1 up
nsx B ip link set fx0 xdpdrv obj "$PASSO" sec xdp
read -r fid _ <<<"$(bpf_net B fx0)"
why=""
out=$(hsl B attach uplink fx0 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -q "not heliostat's" <<<"$out" ||
	why+=" attach over a foreign program: exit $rc '$(grep err <<<"$out" | tr '\n' ' ')';"
[ "$(bpf_net B fx0)" = "$fid driver" ] || why+=" foreign program $fid replaced by '$(bpf_net B fx0)';"
[ "$(st B fx0 role)" = foreign ] && [ "$(st B fx0 heliostat)" = false ] ||
	why+=" status says role $(st B fx0 role);"
out=$(hsl B detach fx0 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -q "has no heliostat program" <<<"$out" ||
	why+=" detach of a foreign program: exit $rc '$out';"
[ "$(bpf_net B fx0)" = "$fid driver" ] || why+=" detach removed the foreign program;"
out=$(hsl B attach uplink fx0 --force 2>&1)
rc=$?
[ $rc -eq 0 ] || why+=" --force: exit $rc '$(grep err <<<"$out" | tr '\n' ' ')';"
why+=$(status_problem B fx0 uplink)
read -r nid _ <<<"$(bpf_net B fx0)"
[ "$nid" != "$fid" ] || why+=" --force kept the foreign program;"
out=$(hsl B detach fx0 2>&1)
rc=$?
[ $rc -eq 0 ] && [ "$(bpf_net B fx0)" = none ] || why+=" detach: exit $rc, bpftool '$(bpf_net B fx0)';"
[ "$(hsl B status fx0 2>/dev/null | awk '$1 == "fx0"')" = "fx0              no XDP program" ] ||
	why+=" status after detach: '$(hsl B status fx0 2>&1 | tail -1)';"
out=$(hsl B detach fx0 2>&1)
rc=$?
[ $rc -eq 1 ] && grep -q "has no heliostat program" <<<"$out" || why+=" detach of nothing: exit $rc '$out';"
[ -z "$why" ] && pass foreign_refused || fail foreign_refused "$why"

# a program of another node (A's pin) on a port of B: not B's to detach, but
# replaced by B's attach without --force (a VM port that moved here)
why=""
nsx B "$LOADER" --pin "$(pin A)" attach vmside fx0 2>/dev/null || why+=" attach with A's pin failed;"
read -r oid _ <<<"$(bpf_net B fx0)"
[ "$(st B fx0 role)" = other-node ] || why+=" B's status says role $(st B fx0 role);"
hsl B detach fx0 >/dev/null 2>&1 && why+=" B detached A's program;"
out=$(hsl B attach vmside fx0 2>&1)
rc=$?
[ $rc -eq 0 ] || why+=" attach over another node's program: exit $rc '$(grep err <<<"$out")';"
why+=$(status_problem B fx0 vmside)
[ "$(bpf_net B fx0 | cut -d' ' -f1)" != "$oid" ] || why+=" A's program $oid still there;"
[ -z "$why" ] && pass other_node_replaced || fail other_node_replaced "$why"
ip -n $P-B link del fx0

# ---- 4. agent_link_events ----

# vm1 goes away; its port comes back once the agent runs
stop_servers
ip netns del $P-vm1
wait_ms 5000 eval '! nsx A ip link show vm1h >/dev/null 2>&1' || log "vm1h did not go away"
up0_id=$(st A up0 program_id)
vm_web=$(vm_section web 5 $VM4 $VM6 $VMMAC A vm1)
vm_db="[vm db]
address = $DB4
mac = $DBMAC
id = 7"
vm_api="[vm api]
address = $API4
mac = $APIMAC
ifname = apih
id = 8"
agent_conf A "$vm_web" "$vm_db"
agent_start A || { fail agent_start "agent on A did not start"; exit 1; }

why=""
both_kind A none || why+=" entries of the vanished vm1h kept: $(vm_line A $VM4);"
grep -q "vanished while the agent was away" "$T/agent-A.log" || why+=" not logged;"
[ "$(st A up0 program_id)" = "$up0_id" ] ||
	why+=" the agent replaced our uplink program ($up0_id -> $(st A up0 program_id));"
[ -z "$why" ] && pass agent_start_reconciles || { fail agent_start_reconciles "$why"; agent_log; }

# (a) a port created after the agent started
vm_up vm1 A $VM4 $VM6 $VMMAC
start_servers
why=""
if wait_ms 2000 both_kind A local; then
	l=$(vm_line A $VM4)
	[[ "$l" == "$VM4 local vm1h mac $VMMAC entry $(underlay A) epoch "*" vm 5" ]] ||
		why+=" entry '$l';"
	[[ "$(vm_line A $VM6)" == "$VM6 local vm1h mac $VMMAC "* ]] || why+=" entry '$(vm_line A $VM6)';"
else
	why+=" no local entries after 2 s: '$(vm_line A $VM4)' '$(vm_line A $VM6)';"
fi
why+=$(status_problem A vm1h vmside)
[ -z "$why" ] && pass agent_new_port || { fail agent_new_port "$why"; agent_log; }

# (b) link flaps: entry and program stay, traffic flows afterwards
why=""
l4=$(vm_line A $VM4) l6=$(vm_line A $VM6) pid=$(st A vm1h program_id)
ifindex_of() { nsx A ip -j link show "$1" 2>/dev/null | jq '.[0].ifindex'; }
idx=$(ifindex_of vm1h)
for i in $(seq 5); do
	nsx A ip link set vm1h down
	sleep 0.05
	nsx A ip link set vm1h up
	sleep 0.05
done
sleep 0.3
[ "$(vm_line A $VM4)" = "$l4" ] && [ "$(vm_line A $VM6)" = "$l6" ] ||
	why+=" entries changed: '$(vm_line A $VM4)' '$(vm_line A $VM6)';"
[ "$(st A vm1h program_id)" = "$pid" ] && has_role A vm1h vmside ||
	why+=" program $pid became '$(st A vm1h program_id)' role $(st A vm1h role);"
[ -n "$idx" ] && [ "$(ifindex_of vm1h)" = "$idx" ] || why+=" ifindex $idx became '$(ifindex_of vm1h)';"
tcp_ok "$(pubaddr A)" || why+=" TCP to $(pubaddr A) after the flaps: $(cat "$T/short.out");"
tcp_ok "$(pubaddr6 A)" || why+=" TCP to $(pubaddr6 A) after the flaps: $(cat "$T/short.out");"
u=$(nsx cl "$STREAM" udp "$(pubaddr A)" 7001 --count 100 2>&1) || why+=" UDP: $u;"
[ -z "$why" ] && pass "agent_link_flap (5 flaps)" || { fail agent_link_flap "$why"; agent_log; }

# (c) the port is deleted: its entries go within 2 s
nlog=$(wc -l <"$T/agent-A.log")
t0=$(now_ms)
nsx A ip link del vm1h
if wait_ms 2000 both_kind A none; then
	pass "agent_port_deleted ($(($(now_ms) - t0)) ms)"
else
	fail agent_port_deleted "entries after 2 s: '$(vm_line A $VM4)' '$(vm_line A $VM6)'"
	agent_log
fi
# a port going away is routine (every VM that moves off this node): the
# agent means to note at debug level that it left before it could be
# attached; nothing it logs for it may be an error
sleep 0.2
errs=$(tail -n +$((nlog + 1)) "$T/agent-A.log" | grep ': err: ')
[ -z "$errs" ] && pass agent_port_deleted_quiet ||
	fail agent_port_deleted_quiet "deleting vm1h logged: $(tr '\n' ' ' <<<"$errs")"
stop_servers
ip netns del $P-vm1

# (d) a name matching only vm_ifname: the program, no entry
nvms=$(hsl A vm list | wc -l)
ip link add vm9h netns $P-A type veth peer name x9p netns $P-A
nsx A ip link set vm9h up
nsx A ip link set x9p up
why=""
wait_ms 2000 has_role A vm9h vmside || why+=" vm9h: role $(st A vm9h role) after 2 s;"
why+=$(status_problem A vm9h vmside)
sleep 0.2
hsl A vm list | grep -q " vm9h " && why+=" an entry: $(hsl A vm list | grep ' vm9h ');"
[ "$(hsl A vm list | wc -l)" -eq "$nvms" ] || why+=" vm list grew;"
[ "$(st A x9p attached)" = false ] || why+=" the peer x9p got a program too;"
[ -z "$why" ] && pass agent_pattern_only || { fail agent_pattern_only "$why"; agent_log; }

# (e) libvirt's tap form of the VM's MAC, no ifname in the file; the VM end
# carries the VM's MAC in its own namespace
ip netns add $P-vm3
ip link add tapdb netns $P-A address $DBTAP type veth peer name eth0 netns $P-vm3 address $DBMAC
nsx A ip link set tapdb up
nsx vm3 ip link set eth0 up
why=""
if wait_ms 2000 is_kind A $DB4 local; then
	l=$(vm_line A $DB4)
	[[ "$l" == "$DB4 local tapdb mac $DBMAC "*" vm 7" ]] || why+=" entry '$l';"
else
	why+=" no local entry after 2 s: '$(vm_line A $DB4)';"
fi
why+=$(status_problem A tapdb vmside)
[ -z "$why" ] && pass agent_mac_match || { fail agent_mac_match "$why"; agent_log; }

# ---- 5. agent_restart_reconcile ----

why=""
ids="$(st A up0 program_id) $(st A vm9h program_id) $(st A tapdb program_id)"
agent_stop A
kill -0 "$AGENT_A" 2>/dev/null && why+=" the agent did not stop;"
for d in "up0 uplink" "vm9h vmside" "tapdb vmside"; do why+=$(status_problem A $d); done
[ "$(st A up0 program_id) $(st A vm9h program_id) $(st A tapdb program_id)" = "$ids" ] ||
	why+=" programs changed while stopped;"
ip -n $P-A link del tapdb
is_kind A $DB4 local || why+=" precondition: $DB4 is '$(vm_kind A $DB4)' with no agent;"
if agent_restart A; then
	is_kind A $DB4 none || why+=" stale entry kept at start: '$(vm_line A $DB4)';"
	grep -q "$DB4: location removed (its port vanished while the agent was away)" \
		"$T/agent-A.log" || why+=" removal not logged;"
	[ "$(st A up0 program_id) $(st A vm9h program_id)" = "${ids% *}" ] ||
		why+=" programs re-attached at start: ${ids% *} -> $(st A up0 program_id) $(st A vm9h program_id);"
else
	why+=" the agent did not start again;"
fi
[ -z "$why" ] && pass agent_restart_reconcile || { fail agent_restart_reconcile "$why"; agent_log; }
ip netns del $P-vm3

# ---- 6. agent_reload ----

ip link add apih netns $P-A type veth peer name apip netns $P-A
nsx A ip link set apih up
nsx A ip link set apip up
sleep 0.3
why=""
[ "$(st A apih attached)" = false ] && is_kind A $API4 none ||
	why+=" precondition: apih has '$(st A apih role)', $API4 '$(vm_kind A $API4)' before its section;"
printf '%s\n' "$vm_api" >>"$T/A.conf"
kill -HUP "$AGENT_A"
wait_ms 2000 is_kind A $API4 local || why+=" no local entry 2 s after SIGHUP;"
[[ "$(vm_line A $API4)" == "$API4 local apih mac $APIMAC "*" vm 8" ]] || why+=" entry '$(vm_line A $API4)';"
why+=$(status_problem A apih vmside)
[ -z "$why" ] && pass agent_reload || { fail agent_reload "$why"; agent_log; }

# an invalid file (an unknown key, and no [vm api]) keeps the running one
why=""
agent_conf A "$vm_web" "$vm_db" "bogus_key = 1"
kill -HUP "$AGENT_A"
wait_ms 2000 grep -q "A.conf is invalid; keeping the running configuration" "$T/agent-A.log" ||
	why+=" no 'keeping the running configuration' in the log;"
grep -q "unknown key .*bogus_key" "$T/agent-A.log" || why+=" the bad key is not named;"
kill -0 "$AGENT_A" 2>/dev/null || why+=" the agent died;"
nsx A ip link del apih
wait_ms 2000 is_kind A $API4 none || why+=" $API4 kept after its port went;"
ip link add apih netns $P-A type veth peer name apip netns $P-A
nsx A ip link set apih up
wait_ms 2000 is_kind A $API4 local || why+=" [vm api] no longer applied: a new apih got no entry;"
[ -z "$why" ] && pass agent_reload_invalid || { fail agent_reload_invalid "$why"; agent_log; }
agent_stop A

# ---- 7. agent_bad_config ----

# run in B's namespace under a pin nobody uses; nothing may be created there
bad_agent() { timeout 10 nsenter --net=/run/netns/$P-B "$LOADER" --pin "/sys/fs/bpf/$P-bad" \
	agent --config "$1" 2>&1; }
why=""
printf '[node]\nuplink = up0\nvnii = 42\n' >"$T/bad1.conf"
printf '[node]\nvni = 99999999\n' >"$T/bad2.conf"
printf '[vm x]\naddress = 10.1.0.9\n' >"$T/bad3.conf"
for c in "bad1 node.vnii" "bad2 vni" "bad3 mac"; do
	set -- $c
	out=$(bad_agent "$T/$1.conf")
	rc=$?
	[ $rc -eq 2 ] && grep -q "$2" <<<"$out" || why+=" $1.conf: exit $rc '$out' (want 2 naming $2);"
done
out=$(bad_agent "$T/missing.conf")
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "missing.conf" <<<"$out" ||
	why+=" missing file: exit $rc '$out';"
[ -e "/sys/fs/bpf/$P-bad" ] && why+=" a bad file created the pin directory;"
[ -z "$why" ] && pass "agent_bad_config (missing file: exit $rc)" || fail agent_bad_config "$why"

hs_done
