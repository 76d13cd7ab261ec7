#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Live migration end to end: a real guest under libvirt + QEMU (TCG) moves
# between two sites while a client keeps a TCP request/response stream to
# its public address at A, through the real XDP data plane on every node.
# Cluster state in a real etcd; every node runs hs-loader agent (etcd mode)
# and migrated; migrations are requested with `hsctl migrate --follow`.
#
#  - mig_ab / mig_ba: the VM goes A->B and back; the record ends done, the
#    domain runs at the destination only, vms/web says where, epoch + 1
#  - mig_stream: the stream (1 kHz, 64-byte requests, every byte echoed
#    and checked) ends with zero resets, zero mismatches, every byte back;
#    the longest gap the client saw and QEMU's downtime are printed
#  - mig_boot_id: the guest never rebooted (boot id from its status page)
#  - mig_pointer: A held a forwarding pointer to B right after the switch,
#    and the flow entry of the client's connection reached B (handover)
#  - mig_unknown / mig_busy: migrating an unknown VM is refused by hsctl;
#    a second request while one runs is refused too
#  - mig_cancel: a bandwidth-capped migration cancelled with migrated
#    --cancel ends cancelled; the VM keeps running at A, maps unchanged
#  - mig_dest_dies: the destination's libvirtd is killed mid-migration:
#    the record ends failed with libvirt's reason, the VM runs at A, the
#    stream goes on
# SKIP (77) without libvirt, QEMU or etcd.
source "$(dirname "$0")/../net/lib.sh"
source "$(dirname "$0")/libvirt.sh"
HS_STATE=etcd
MIGRATED=$top/build/migrated/migrated

hs_require migrate
lv_require migrate
command -v etcd >/dev/null || skip_all migrate "etcd is not installed (etcd-server)"
[ -x "$MIGRATED" ] || skip_all migrate "build/migrated/migrated is not built"

VM4=10.1.0.5 VM6=fd01::5 VMMAC=52:54:00:00:01:05
TAPMAC=fe:54:00:00:01:05

topo_up A B
etcd_up || { fail setup "etcd"; exit 1; }
for n in A B; do
	agent_conf $n
	agent_start $n || { fail setup "agent on $n"; exit 1; }
done
state_vm web 5 $VM4 $VM6 $VMMAC A A || { fail setup "vm record"; exit 1; }
state_binding A "$(pubaddr A)" web $VM4 5 || { fail setup "binding"; exit 1; }

lv_site_up A A "$(underlay A)" && lv_site_up B B "$(underlay B)" || { fail setup "libvirtd"; exit 1; }

# migrated_conf NODE [KEY=VALUE...]: the node's migrated configuration
migrated_conf() {
	local n=$1 kv
	shift
	{
		printf '[node]\nname = %s\npin = %s\n' "${n,,}" "$(pin "$n")"
		printf '[etcd]\nendpoints = http://10.0.%s.254:%s\n' "$(site_no "$n")" "$HS_ETCD_PORT"
		printf '[libvirt]\nuri = %s\n' "$(lv_uri "$n")"
		printf '[migrated]\ncontrol = %s/migrated-%s.sock\nlog_level = %s\n' "$T" "$n" \
			"${HS_MIGRATED_LOG:-info}"
		printf '[migration]\nprogress_ms = 500\n'
		for kv in "$@"; do printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"; done
	} > "$T/migrated-$n.conf"
}
migrated_start() {
	local n=$1 before
	before=$(grep -c "migrated: running" "$T/migrated-$n.log" 2>/dev/null)
	nsenter --net=/run/netns/$P-$n "$MIGRATED" --config "$T/migrated-$n.conf" \
		>> "$T/migrated-$n.log" 2>&1 &
	eval "MIGD_$n=$!"
	HS_PIDS+=($!)
	wait_for 10 eval '[ "$(grep -c "migrated: running" "$T/migrated-$n.log")" -gt "${before:-0}" ]'
}
migrated_stop() {
	local pid
	eval "pid=\$MIGD_$1"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
for n in A B; do
	migrated_conf $n
	migrated_start $n || { fail setup "migrated on $n"; sed 's/^/#   /' "$T/migrated-$n.log"; exit 1; }
done

cmd="hs.ip=$VM4/32 hs.gw=169.254.0.1 hs.gwmac=$TAPMAC hs.ip6=$VM6/128 hs.gw6=fe80::1 hs.gw6mac=$TAPMAC hs.name=web"
lv_domain_xml web $VMMAC "$cmd" > "$T/web.xml"
lv_define_start A "$T/web.xml" || { fail setup "define/start"; exit 1; }
lv_wait_ready A web 90 || { fail setup "guest did not boot"; tail -5 "$(lv_serial A web)"; exit 1; }
wait_for 10 is_kind A $VM4 local || { fail setup "A did not make the VM local: $(vm_kind A $VM4)"; exit 1; }

# the guest's status page, through the data plane (public address at A)
boot_id() { nsx cl curl -s -m 5 "http://$(pubaddr A)/cgi-bin/status" | awk '$1 == "boot_id" {print $2}'; }
BOOT=$(boot_id)
[ -n "$BOOT" ] || { fail setup "no status page at $(pubaddr A)"; exit 1; }
log "guest up at A, boot id $BOOT"

nsenter --net=/run/netns/$P-cl "$STREAM" client "$(pubaddr A)" 7 --rate 1000 --size 64 \
	--status "$T/stream.st" > "$T/stream.out" 2>&1 &
CLIENT=$!
HS_PIDS+=($CLIENT)
stream_advances "$T/stream.st" 32000 20 || { fail setup "the stream does not flow"; cat "$T/stream.out"; exit 1; }

record() { hsctl --json migration show web 2>/dev/null; }
field() { record | jq -r ".$1 // empty"; }
vm_field() { hsctl --json vm show web 2>/dev/null | jq -r ".$1 // empty"; }
domstate() { lv_virsh "$1" domstate web 2>/dev/null | head -1; }

# migrate TO: hsctl migrate --follow; 0 when done
migrate() {
	hsctl migrate web --to "${1,,}" --follow --timeout 180 > "$T/follow-$1.out" 2>&1
}

# diag WHY: what the nodes' maps and counters say, once
diag() {
	[ -n "$DIAG_DONE" ] && return
	DIAG_DONE=1
	echo "# --- diagnostics: $1"
	for n in A B; do
		echo "# $n vms:"; hsl $n vm list 2>&1 | sed 's/^/#   /'
		echo "# $n flows:"; hsl $n flows list 2>&1 | head -5 | sed 's/^/#   /'
		echo "# $n counters:"; hsl $n counters 2>&1 | sed 's/^/#   /'
		echo "# $n links:"; ip -n $P-$n -br link | sed 's/^/#   /'
		echo "# $n xdp:"; hsl $n status 2>&1 | sed 's/^/#   /'
	done
	echo "# client:"; sed 's/^/#   /' "$T/stream.out"; cat "$T/stream.st"
}
downtimes=()
check_moved() { # FROM TO EPOCH
	local from=$1 to=$2 epoch=$3 ok=1 why=""
	[ "$(field state)" = done ] || { ok=0; why+="state $(field state) ($(field reason)); "; }
	[ "$(domstate "$to")" = running ] || { ok=0; why+="not running at $to; "; }
	lv_virsh "$from" dominfo web >/dev/null 2>&1 && { ok=0; why+="still defined at $from; "; }
	[ "$(vm_field host)" = "${to,,}" ] || { ok=0; why+="vms/web host $(vm_field host); "; }
	[ "$(vm_field epoch)" = "$epoch" ] || { ok=0; why+="epoch $(vm_field epoch), want $epoch; "; }
	wait_for 10 is_kind "$to" $VM4 local || { ok=0; why+="$to: $(vm_kind "$to" $VM4); "; }
	[ $ok -eq 1 ] && return 0
	echo "# $why"
	return 1
}

# ---- A -> B ----
mark=$(wc -l < "$T/migrated-A.log")
if migrate B && check_moved A B 2; then
	pass mig_ab
else
	fail mig_ab "$(tail -3 "$T/follow-B.out" | tr '\n' ' ')"
	sed -n "$((mark + 1)),\$p" "$T/migrated-A.log" | sed 's/^/#   A: /' | tail -20
fi
d=$(sed -n "$((mark + 1)),\$p" "$T/migrated-A.log" | sed -n 's/.*downtime \([0-9]*\) ms.*/\1/p' | tail -1)
downtimes+=("${d:-?}")
# the pointer at A (forward_until is 30 s away) and the handed-over flow
if [ "$(vm_kind A $VM4)" = forward ] &&
	grep -q "flow entries handed to" "$T/migrated-A.log" &&
	hsl B flows list 2>/dev/null | grep -q "198.51.100.10"; then
	pass mig_pointer
else
	fail mig_pointer "A: $(vm_kind A $VM4); B flows: $(hsl B flows list 2>/dev/null | head -3 | tr '\n' ' ')"
fi
stream_advances "$T/stream.st" 16000 20 || { fail mig_stream "no progress after A->B"; diag "after A->B"; }

# ---- refused requests ----
out=$(hsctl migrate nosuchvm --to a 2>&1); rc=$?
[ $rc -ne 0 ] && [ -z "$(hsctl --json migration show nosuchvm 2>/dev/null)" ] &&
	pass mig_unknown || fail mig_unknown "rc $rc: $out"

# ---- B -> A ----
mark=$(wc -l < "$T/migrated-B.log")
if migrate A && check_moved B A 3; then
	pass mig_ba
else
	fail mig_ba "$(tail -3 "$T/follow-A.out" | tr '\n' ' ')"
	sed -n "$((mark + 1)),\$p" "$T/migrated-B.log" | sed 's/^/#   B: /' | tail -20
fi
d=$(sed -n "$((mark + 1)),\$p" "$T/migrated-B.log" | sed -n 's/.*downtime \([0-9]*\) ms.*/\1/p' | tail -1)
downtimes+=("${d:-?}")
stream_advances "$T/stream.st" 16000 20 || fail mig_stream "no progress after B->A"

# ---- cancel: capped at 1 MiB/s, the 96 MB guest needs ~100 s ----
migrated_stop A
migrated_conf A bandwidth_mib=1
migrated_start A || fail mig_cancel "migrated did not restart"
hsctl migrate web --to b > /dev/null 2>&1
wait_for 20 eval '[ "$(field state)" = running ]'
busy=$(hsctl migrate web --to b 2>&1); rc=$?
[ $rc -ne 0 ] && pass mig_busy || fail mig_busy "second request accepted: $busy"
sleep 1
cancel=$("$MIGRATED" --config "$T/migrated-A.conf" --cancel web 2>&1)
if wait_for 30 eval '[ "$(field state)" = cancelled ]' && [ "$(domstate A)" = running ] &&
	[ "$(vm_field host)" = a ] && is_kind A $VM4 local; then
	pass mig_cancel
else
	fail mig_cancel "$cancel; state $(field state), A $(domstate A), kind $(vm_kind A $VM4)"
fi
stream_advances "$T/stream.st" 8000 20 || fail mig_stream "no progress after the cancel"

# ---- the destination dies mid-migration ----
hsctl migrate web --to b > /dev/null 2>&1
wait_for 20 eval '[ "$(field state)" = running ]'
sleep 1
lv_site_kill B
if wait_for 60 eval '[ "$(field state)" = failed ]' && [ "$(domstate A)" = running ] &&
	[ "$(vm_field host)" = a ] && is_kind A $VM4 local; then
	pass mig_dest_dies
	log "recorded reason: $(field reason)"
else
	fail mig_dest_dies "state $(field state) ($(field reason)), A $(domstate A), kind $(vm_kind A $VM4)"
fi
stream_advances "$T/stream.st" 8000 20 || fail mig_stream "no progress after the failed migration"

[ "$(boot_id)" = "$BOOT" ] && pass mig_boot_id || fail mig_boot_id "boot id changed: $(boot_id) != $BOOT"

kill -TERM $CLIENT
wait $CLIENT
rc=$?
res=$(tail -1 "$T/stream.out")
log "client: $res"
log "QEMU downtime A->B ${downtimes[0]} ms, B->A ${downtimes[1]} ms"
if [ $rc -eq 0 ] && [[ "$res" == *"mismatches=0 resets=0"* ]]; then
	pass mig_stream
else
	fail mig_stream "$res (exit $rc)"
fi
hs_done
