# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034,SC2154 # (variables shared with the scripts that source it)
# Two (or three) sites with real VMs for the live-migration tests, the
# migration benchmark and the demo. Source it after selftests/net/lib.sh and
# selftests/vm/libvirt.sh, then call mig_up:
#
#   every node: hs-loader agent (etcd mode), libvirtd (own netns + mount
#   ns), migrated; etcd in the router namespace; the VM "web" (overlay
#   10.1.0.5 / fd01::5) booted at A with its public address 203.0.113.1
#   bound at A's front-end; a client namespace that reaches it.
MIGRATED=$top/build/migrated/migrated
HS_STATE=etcd
VM4=10.1.0.5 VM6=fd01::5 VMMAC=52:54:00:00:01:05
TAPMAC=fe:54:00:00:01:05

# mig_require NAME: skips (77) without libvirt, QEMU, etcd or the build.
mig_require() {
	hs_require "$1"
	lv_require "$1"
	command -v etcd >/dev/null || skip_all "$1" "etcd is not installed (etcd-server)"
	command -v jq >/dev/null || skip_all "$1" "jq is not installed"
	[ -x "$MIGRATED" ] || skip_all "$1" "build/migrated/migrated is not built"
}

# migrated_conf NODE [KEY=VALUE...]: the node's migrated configuration;
# KEY=VALUE lines go to its [migration] section.
migrated_conf() {
	local n=$1 kv
	shift
	{
		printf '[node]\nname = %s\npin = %s\n' "${n,,}" "$(pin "$n")"
		printf '[etcd]\nendpoints = http://10.0.%s.254:%s\n' "$(site_no "$n")" "$HS_ETCD_PORT"
		printf '[libvirt]\nuri = %s\n' "$(lv_uri "$n")"
		printf '[migrated]\ncontrol = %s/migrated-%s.sock\nlog_level = %s\n' "$T" "$n" \
			"${HS_MIGRATED_LOG:-info}"
		printf '[migration]\n'
		[[ " $* " == *" progress_ms="* ]] || printf 'progress_ms = 500\n'
		for kv in "$@"; do printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"; done
	} > "$T/migrated-$n.conf"
}

# migrated_start NODE: starts it in the node's namespace; waits until it runs.
migrated_start() {
	local n=$1 before
	before=$(grep -c "migrated: running" "$T/migrated-$n.log" 2>/dev/null)
	nsenter --net=/run/netns/$P-$n "$MIGRATED" --config "$T/migrated-$n.conf" \
		>> "$T/migrated-$n.log" 2>&1 &
	eval "MIGD_$n=$!"
	HS_PIDS+=($!)
	wait_for 10 eval '[ "$(grep -c "migrated: running" "$T/migrated-$n.log")" -gt "${before:-0}" ]'
}

# migrated_stop NODE [SIGNAL]
migrated_stop() {
	local pid
	eval "pid=\$MIGD_$1"
	kill "-${2:-TERM}" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# mig_up NODES...: the whole setup; the VM runs at the first node.
mig_up() {
	local n first=$1
	topo_up "$@"
	etcd_up || { echo "# etcd did not start"; return 1; }
	for n in "$@"; do
		agent_conf "$n"
		agent_start "$n" || return 1
	done
	state_vm web 5 $VM4 $VM6 $VMMAC "$first" "$first" || return 1
	state_binding "$first" "$(pubaddr "$first")" web $VM4 5 || return 1
	state_binding "$first" "$(pubaddr6 "$first")" web $VM6 5 || return 1
	for n in "$@"; do
		lv_site_up "$n" "$n" "$(underlay "$n")" || return 1
	done
	for n in "$@"; do
		migrated_conf "$n"
		migrated_start "$n" || { sed 's/^/#   /' "$T/migrated-$n.log"; return 1; }
	done
	lv_domain_xml web $VMMAC "hs.ip=$VM4/32 hs.gw=169.254.0.1 hs.gwmac=$TAPMAC hs.ip6=$VM6/128 hs.gw6=fe80::1 hs.gw6mac=$TAPMAC hs.name=web" \
		> "$T/web.xml"
	lv_define_start "$first" "$T/web.xml" || return 1
	lv_wait_ready "$first" web 120 > "$T/ready.out" || { tail -5 "$(lv_serial "$first" web)"; return 1; }
	wait_for 10 is_kind "$first" $VM4 local || { echo "# $first: $(vm_kind "$first" $VM4)"; return 1; }
}

# the guest's status page through the data plane (public address at A)
boot_id() { nsx cl curl -s -m 5 "http://$(pubaddr A)/cgi-bin/status" | awk '$1 == "boot_id" {print $2}'; }

mig_record() { hsctl migration show web --json 2>/dev/null; }
mig_field() { mig_record | jq -r ".$1 // empty"; }
vm_field() { hsctl vm show web --json 2>/dev/null | jq -r ".$1 // empty"; }
domstate() { lv_virsh "$1" domstate web 2>/dev/null | head -1; }

# mig_to NODE [FOLLOWFILE]: hsctl migrate --follow; 0 when done.
mig_to() {
	hsctl migrate web --to "${1,,}" --follow --timeout 180 > "${2:-/dev/null}" 2>&1
}

# mig_downtime NODE LINE: QEMU's downtime of the last migration from NODE,
# logged by its migrated after line LINE of its log
mig_downtime() {
	sed -n "$(($2 + 1)),\$p" "$T/migrated-$1.log" | sed -n 's/.* downtime \([0-9]*\) ms.*/\1/p' | tail -1
}

# client_start FILE [ADDR]: hs_stream client, 1 kHz of 64-byte requests
client_start() {
	rm -f "$1" "$1.st" # a new client counts from zero
	nsenter --net=/run/netns/$P-cl "$STREAM" client "${2:-$(pubaddr A)}" 7 --rate 1000 --size 64 \
		--status "$1.st" > "$1" 2>&1 &
	CLIENT=$!
	HS_PIDS+=("$CLIENT")
}
# client_stop: prints the client's last line; returns its exit status
client_stop() {
	local rc
	kill -TERM "$CLIENT"
	wait "$CLIENT"
	rc=$?
	CLIENT=
	return $rc
}
# gap_of FILE: the client's longest gap in ms
gap_of() { sed -n 's/.*longest_gap_ms=\([0-9.]*\).*/\1/p' "$1" | tail -1; }
# mig_state_is STATE: the migration record is in STATE
mig_state_is() { [ "$(mig_field state)" = "$1" ]; }

# mig_diag WHY [CLIENTFILE]: what the nodes' maps and counters say, once
mig_diag() {
	[ -n "${DIAG_DONE:-}" ] && return
	DIAG_DONE=1
	echo "# --- diagnostics: $1"
	for n in A B; do
		echo "# $n vms:"; hsl $n vm list 2>&1 | sed 's/^/#   /'
		echo "# $n flows:"; hsl $n flows list 2>&1 | head -5 | sed 's/^/#   /'
		echo "# $n counters:"; hsl $n counters 2>&1 | sed 's/^/#   /'
		echo "# $n links:"; ip -n $P-$n -br link | sed 's/^/#   /'
		echo "# $n xdp:"; hsl $n status 2>&1 | sed 's/^/#   /'
	done
	echo "# client sockets:"; nsx cl ss -tni 2>&1 | sed 's/^/#   /'
	echo "# guest status page:"; nsx cl curl -s -m 5 "http://$(pubaddr A)/cgi-bin/status" 2>&1 | sed 's/^/#   /'
	for n in A B; do
		[ -f "$(lv_serial "$n" web)" ] && echo "# $n serial:" && tail -5 "$(lv_serial "$n" web)" | sed 's/^/#   /'
	done
	echo "# client:"; [ -n "${2:-}" ] && sed 's/^/#   /' "$2" 2>/dev/null
}
