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
#    --cancel ends cancelled; the VM keeps running at A
#  - mig_dest_dies: the destination's libvirtd is killed mid-migration:
#    the record ends failed with libvirt's reason, the VM runs at A, the
#    stream goes on
#  - mig_net_cut: the underlay between the sites is cut (nftables in the
#    router) mid-migration: the same, once libvirt notices
#  - mig_maps_kept: after each of those three, every state map on both
#    nodes (node_config, bindings, rbindings, vms, peers, flows) holds
#    exactly what it held before the migration was asked for
#  - mig_handover_refused: junk on the handover port from a known host and
#    anything from an unknown address are refused and counted
#  - mig_recover: migrated is SIGKILLed mid-migration and restarted: the
#    record ends done or failed, consistent with where the domain runs
#  - mig_postcopy (last): a guest dirtying memory faster than a capped
#    pre-copy converges migrates through post-copy; the VM runs at the
#    destination, vms/web says so; mig_postcopy_stream: a client's stream
#    goes on (both skips, with the console's line, when the guest's kernel
#    panicked: QEMU/TCG's corruption, see below)
# SKIP (77) without libvirt, QEMU or etcd.
source "$(dirname "$0")/../net/lib.sh"
source "$(dirname "$0")/libvirt.sh"
source "$(dirname "$0")/mig_lib.sh"

mig_require migrate
mig_up A B || { fail setup "sites, agents, migrated, guest"; exit 1; }
BOOT=$(boot_id)
[ -n "$BOOT" ] || { fail setup "no status page at $(pubaddr A)"; exit 1; }
log "guest up at A, boot id $BOOT"

client_start "$T/stream.out"
stream_advances "$T/stream.out.st" 32000 20 || { fail setup "the stream does not flow"; cat "$T/stream.out"; exit 1; }



downtimes=()
check_moved() { # FROM TO EPOCH
	local from=$1 to=$2 epoch=$3 ok=1 why=""
	mig_state_is done || { ok=0; why+="state $(mig_field state) ($(mig_field reason)); "; }
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
if mig_to B "$T/follow-B.out" && check_moved A B 2; then
	pass mig_ab
else
	fail mig_ab "$(tail -3 "$T/follow-B.out" | tr '\n' ' ')"
	sed -n "$((mark + 1)),\$p" "$T/migrated-A.log" | sed 's/^/#   A: /' | tail -20
fi
d=$(mig_downtime A "$mark")
downtimes+=("${d:-?}")
# the pointer at A (forward_until is 30 s away) and the handed-over flow
if [ "$(vm_kind A $VM4)" = forward ] &&
	grep -q "flow entries handed to" "$T/migrated-A.log" &&
	hsl B flows list 2>/dev/null | grep -q "198.51.100.10"; then
	pass mig_pointer
else
	fail mig_pointer "A: $(vm_kind A $VM4); B flows: $(hsl B flows list 2>/dev/null | head -3 | tr '\n' ' ')"
fi
stream_advances "$T/stream.out.st" 16000 20 || { fail mig_stream "no progress after A->B"; mig_diag "after A->B" "$T/stream.out"; }

# ---- bad handovers: junk from a known host, anything from an unknown one ----
st() { "$MIGRATED" --config "$T/migrated-$1.conf" --status | head -1; }
before=$(st B)
printf 'HSFHjunkjunkjunkjunk' | nsx A timeout 5 nc -q 2 "$(underlay B)" 7411 > /dev/null 2>&1
head -c 88 /dev/zero | nsx rt timeout 5 nc -q 2 "$(underlay B)" 7411 > /dev/null 2>&1
after=$(st B)
if [[ "$after" == *"bad-requests 1"* ]] && [[ "$after" == *"refused 2"* ]] &&
	[ "$(hsl B flows list 2>/dev/null | wc -l)" -le 2 ]; then
	pass mig_handover_refused
else
	fail mig_handover_refused "before: $before; after: $after"
fi

# ---- refused requests ----
out=$(hsctl migrate nosuchvm --to a 2>&1); rc=$?
[ $rc -ne 0 ] && [ -z "$(hsctl migration show nosuchvm --json 2>/dev/null)" ] &&
	pass mig_unknown || fail mig_unknown "rc $rc: $out"

# ---- B -> A ----
mark=$(wc -l < "$T/migrated-B.log")
if mig_to A "$T/follow-A.out" && check_moved B A 3; then
	pass mig_ba
else
	fail mig_ba "$(tail -3 "$T/follow-A.out" | tr '\n' ' ')"
	sed -n "$((mark + 1)),\$p" "$T/migrated-B.log" | sed 's/^/#   B: /' | tail -20
fi
d=$(mig_downtime B "$mark")
downtimes+=("${d:-?}")
stream_advances "$T/stream.out.st" 16000 20 || fail mig_stream "no progress after B->A"

here() { vm_field host | tr a-z A-Z; }

# maps_of NODE: the node's state maps, entries (as BTF formats them) sorted
# by key. Counters, the next-hop cache and the generation counter change
# with traffic: left out. A forwarding pointer left by an earlier migration
# may expire meanwhile (FORWARD becomes REMOTE to the same host): vms
# entries of kind FORWARD (3) are compared as REMOTE (2).
maps_of() {
	local m
	for m in node_config bindings rbindings vms peers flows; do
		echo "== $m"
		bpftool -j map dump pinned "$(pin "$1")/$m" 2>&1 |
			jq -c --arg m $m 'map(.formatted) | sort_by(.key) | .[] |
				if $m == "vms" and .value.kind == 3 then .value.kind = 2 else . end' 2>&1
	done
}
maps_snap() { local n; for n in A B; do maps_of $n > "$T/maps-$n.$1"; done; }
maps_same() { maps_of "$1" | cmp -s - "$T/maps-$1.$2"; }
# maps_kept CASE: both nodes' maps as snapshot CASE says (the agents may
# take a moment to drop the destination's incoming entry)
maps_kept() {
	local n bad=
	for n in A B; do
		wait_for 15 maps_same $n "$1" || bad+="$n: $(maps_of $n | diff "$T/maps-$n.$1" - | grep '^[<>]' | head -4 | tr '\n' ' ') "
	done
	if [ -z "$bad" ]; then
		pass "mig_maps_kept_$1"
	else
		fail "mig_maps_kept_$1" "$bad"
	fi
}
other() { [ "$(here)" = A ] && echo B || echo A; }

# ---- migrated killed (SIGKILL) mid-migration, restarted ----
src=$(here) dst=$(other)
migrated_stop "$src"
# (uncapped: completed capped pre-copies of a busy guest are where QEMU/TCG
# has corrupted guests here, see the note further down)
migrated_conf "$src"
migrated_start "$src"
hsctl migrate web --to "${dst,,}" > /dev/null 2>&1
wait_for 20 mig_state_is running
migrated_stop "$src" KILL
migrated_conf "$src"
migrated_start "$src"
if wait_for 90 eval 'mig_state_is done || mig_state_is failed'; then
	at=$(vm_field host | tr a-z A-Z)
	if [ "$(domstate "$at")" = running ] && wait_for 10 is_kind "$at" $VM4 local &&
		! lv_virsh "$([ "$at" = A ] && echo B || echo A)" dominfo web > /dev/null 2>&1; then
		pass mig_recover
		log "after the restart: $(mig_field state) ($(mig_field reason)), VM at $at"
	else
		fail mig_recover "record $(mig_field state) says $at; domain there: $(domstate "$at")"
	fi
else
	fail mig_recover "record stuck in $(mig_field state)"
fi
stream_advances "$T/stream.out.st" 8000 20 || fail mig_stream "no progress after the recovery"

# the cases below start with the VM at A
if [ "$(here)" = B ]; then
	mig_to A "$T/follow-back.out" && wait_for 10 is_kind A $VM4 local ||
		fail mig_recover "the VM did not come back to A: $(tail -1 "$T/follow-back.out")"
	stream_advances "$T/stream.out.st" 8000 20 || fail mig_stream "no progress after coming back to A"
fi

# The failure cases come last: each leaves the VM where it was, and no
# migration completes after an aborted one (QEMU/TCG has corrupted the
# guest in such a migration here).
# ---- cancel: capped at 1 MiB/s, the 96 MB guest needs ~100 s ----
migrated_stop A
migrated_conf A bandwidth_mib=1
migrated_start A || fail mig_cancel "migrated did not restart"
maps_snap cancel
hsctl migrate web --to b > /dev/null 2>&1
wait_for 20 mig_state_is running
busy=$(hsctl migrate web --to b 2>&1); rc=$?
[ $rc -ne 0 ] && pass mig_busy || fail mig_busy "second request accepted: $busy"
sleep 1
cancel=$("$MIGRATED" --config "$T/migrated-A.conf" --cancel web 2>&1)
if wait_for 30 mig_state_is cancelled && [ "$(domstate A)" = running ] &&
	[ "$(vm_field host)" = a ] && is_kind A $VM4 local; then
	pass mig_cancel
else
	fail mig_cancel "$cancel; state $(mig_field state), A $(domstate A), kind $(vm_kind A $VM4)"
fi
maps_kept cancel
stream_advances "$T/stream.out.st" 8000 20 || fail mig_stream "no progress after the cancel"

# ---- the destination dies mid-migration ----
maps_snap dest_dies
hsctl migrate web --to b > /dev/null 2>&1
wait_for 20 mig_state_is running
sleep 1
lv_site_kill B
if wait_for 60 mig_state_is failed && [ "$(domstate A)" = running ] &&
	[ "$(vm_field host)" = a ] && is_kind A $VM4 local; then
	pass mig_dest_dies
	log "recorded reason: $(mig_field reason)"
else
	fail mig_dest_dies "state $(mig_field state) ($(mig_field reason)), A $(domstate A), kind $(vm_kind A $VM4)"
fi
maps_kept dest_dies
stream_advances "$T/stream.out.st" 8000 20 || fail mig_stream "no progress after the failed migration"

lv_site_up B B "$(underlay B)" || fail setup "B's libvirtd did not come back"

# where the VM is now (per etcd), and the other node
# ---- the underlay between the sites is cut mid-migration ----
# (B's libvirtd, just restarted, first drops the domain that never arrived)
src=$(here) dst=$(other)
wait_for 60 eval '! lv_defined "$dst" web' || log "$dst still has the domain of the failed migration"
migrated_stop "$src"
migrated_conf "$src" bandwidth_mib=2 stall_seconds=8
migrated_start "$src"
maps_snap net_cut
hsctl migrate web --to "${dst,,}" > /dev/null 2>&1
wait_for 20 mig_state_is running || fail mig_net_cut "did not start: $(mig_field state) ($(mig_field reason))"
sleep 1
nsx rt nft -f - <<EOF
table inet hscut {
	chain cut {
		type filter hook forward priority -10; policy accept;
		ip saddr 10.0.1.0/24 ip daddr 10.0.2.0/24 drop
		ip saddr 10.0.2.0/24 ip daddr 10.0.1.0/24 drop
	}
}
EOF
t0=$SECONDS
if wait_for 60 mig_state_is failed && [ "$(domstate "$src")" = running ] &&
	[ "$(vm_field host)" = "${src,,}" ] && is_kind "$src" $VM4 local &&
	[[ "$(mig_field reason)" == *"nothing sent"* ]]; then
	pass mig_net_cut
	log "cut noticed in $((SECONDS - t0)) s: $(mig_field reason)"
else
	fail mig_net_cut "state $(mig_field state) ($(mig_field reason)), $src $(domstate "$src"), kind $(vm_kind "$src" $VM4)"
fi
nsx rt nft delete table inet hscut
maps_kept net_cut
migrated_stop "$src"
migrated_conf "$src"
migrated_start "$src"
stream_advances "$T/stream.out.st" 8000 20 || fail mig_stream "no progress after the cut"
# B's libvirtd drops the half-arrived domain once its keepalive gives up


# No auto-converge case: under TCG, QEMU 7.2 corrupts a guest that keeps
# dirtying memory when pre-copy runs many short passes (seen: the guest's
# kernel panics after a downtime-limited migration, with or without
# auto-converge; docs/architecture.md). auto_converge is on in every
# migration above; that it throttles is logged, not asserted.

[ "$(boot_id)" = "$BOOT" ] && pass mig_boot_id || fail mig_boot_id "boot id changed: $(boot_id) != $BOOT"

client_stop
rc=$?
res=$(tail -1 "$T/stream.out")
log "client: $res"
log "QEMU downtime A->B ${downtimes[0]} ms, B->A ${downtimes[1]} ms"
if [ $rc -eq 0 ] && [[ "$res" == *"mismatches=0 resets=0"* ]]; then
	pass mig_stream
else
	fail mig_stream "$res (exit $rc)"
fi

# ---- post-copy, last: the guest rewrites 8 MiB over and over; at 16 MiB/s
# and the default 300 ms downtime limit (4.8 MiB) pre-copy cannot converge.
# Under QEMU 7.2/TCG the guest's kernel has panicked during or right after
# such migrations (list corruption, "Fatal exception in interrupt") in about
# a quarter of the runs on some days, whatever the pointer did
# (docs/architecture.md): so this case runs last, with a client of its own,
# and when the guest's console shows a panic its checks are skips with that
# line, not passes. Without a panic: post-copy started, the VM runs at the
# destination and vms/web says so (mig_postcopy), the stream goes on
# (mig_postcopy_stream). ----
dirty() { nsx cl curl -s -m 5 "http://$(pubaddr A)/cgi-bin/dirty?$1" > /dev/null; }
# panicked NODE: the guest's console there shows a kernel panic or BUG
panicked() { grep -aqE "Kernel panic|kernel BUG" "$(lv_serial "$1" web)" 2> /dev/null; }
panic_line() { grep -aE -m1 "kernel BUG|Kernel panic|Oops" "$(lv_serial "$1" web)" | cut -c1-120; }
src=$(here) dst=$(other)
client_start "$T/pc.out"
stream_advances "$T/pc.out.st" 4000 20 || fail mig_postcopy "the new client's stream does not flow"
migrated_stop "$src"
migrated_conf "$src" bandwidth_mib=16 postcopy_after=1 progress_ms=100
migrated_start "$src"
dirty start=8
mark=$(wc -l < "$T/migrated-$src.log")
ep=$(vm_field epoch)
mig_to "$dst" "$T/follow-pc.out"
moved=$?
flowing=0
[ $moved -eq 0 ] && stream_advances "$T/pc.out.st" 8000 20 && flowing=1
if panicked "$src" || panicked "$dst"; then
	why="the guest's kernel panicked (QEMU 7.2/TCG guest corruption): $(panic_line "$src")$(panic_line "$dst")"
	echo "SKIP mig_postcopy: $why"
	echo "SKIP mig_postcopy_stream: $why"
else
	if [ $moved -eq 0 ] && check_moved "$src" "$dst" $((ep + 1)) &&
		sed -n "$((mark + 1)),\$p" "$T/migrated-$src.log" | grep -q "post-copy started"; then
		pass mig_postcopy
	else
		fail mig_postcopy "$(mig_field state) ($(mig_field reason))"
		sed -n "$((mark + 1)),\$p" "$T/migrated-$src.log" | tail -5 | sed 's/^/#   /'
	fi
	if [ $flowing -eq 1 ] && dirty stop && client_stop > /dev/null; then
		pass mig_postcopy_stream
	else
		fail mig_postcopy_stream "no progress after post-copy: $(tail -1 "$T/pc.out")"
		tail -8 "$(lv_serial "$dst" web)" 2> /dev/null | sed 's/^/#   guest: /'
		log "$dst: $(vm_kind "$dst" $VM4), domain $(domstate "$dst")"
	fi
fi
hs_done
