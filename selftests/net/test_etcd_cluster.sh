#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Three etcd members (in the router namespace; the nodes reach them over
# their underlay) and a stream of updates to the cluster state; the leader is
# killed with SIGKILL in the middle. Every update etcd acknowledged must reach
# every agent's maps: nothing lost, no agent stuck on the dead member.
source "$(dirname "$0")/lib.sh"

hs_require etcd_cluster
command -v etcd >/dev/null && command -v etcdctl >/dev/null ||
	skip_all etcd_cluster "etcd or etcdctl is not installed (etcd-server, etcd-client)"
command -v jq >/dev/null || skip_all etcd_cluster "jq is not installed"
N=${HS_ETCD_UPDATES:-40}
base=$((24000 + ($$ % 300) * 6))

topo_up A B
cluster=""
for m in 1 2 3; do cluster+="${cluster:+,}e$m=http://127.0.0.1:$((base + 3 + m))"; done
declare -A EPID
for m in 1 2 3; do
	bg rt etcd --name e$m --data-dir "$T/e$m" \
		--listen-client-urls "http://0.0.0.0:$((base + m))" \
		--advertise-client-urls "http://10.0.1.254:$((base + m))" \
		--listen-peer-urls "http://127.0.0.1:$((base + 3 + m))" \
		--initial-advertise-peer-urls "http://127.0.0.1:$((base + 3 + m))" \
		--initial-cluster "$cluster" --initial-cluster-state new > "$T/e$m.log" 2>&1
	EPID[$m]=$!
done
all="http://127.0.0.1:$((base + 1)),http://127.0.0.1:$((base + 2)),http://127.0.0.1:$((base + 3))"
ectl() { nsx rt etcdctl --endpoints "$all" --command-timeout=3s "$@"; }
wait_for 30 ectl endpoint health >/dev/null 2>&1 || { fail setup "etcd cluster did not start"; exit 1; }

ectl put /heliostat/sites/s1 '{"v":1,"name":"s1"}' >/dev/null
for h in a b; do
	i=$(site_no ${h^^})
	ectl put /heliostat/hosts/$h "{\"v\":1,\"name\":\"$h\",\"site\":\"s1\",\"underlay4\":\"10.0.$i.1\",\"vni\":42,\"port\":4789,\"mtu\":1500,\"roles\":[\"frontend\",\"host\"]}" >/dev/null
done
ectl put /heliostat/vms/web '{"v":1,"name":"web","id":5,"address":"10.1.0.5","mac":"02:00:00:00:01:05","host":"b","epoch":1}' >/dev/null
for n in A B; do
	i=$(site_no $n)
	eps="http://10.0.$i.254:$((base + 1)) http://10.0.$i.254:$((base + 2)) http://10.0.$i.254:$((base + 3))"
	printf '[node]\nname = %s\nuplink = up0\n[etcd]\nendpoints = %s\n' "${n,,}" "$eps" > "$T/$n.conf"
	agent_start $n || { fail setup "agent on $n"; exit 1; }
done

leader() { # the member number of the leader
	ectl endpoint status -w json 2>/dev/null | jq -r '
		.[] | select(.Status.header.member_id == .Status.leader) | .Endpoint' |
		sed -n 's/.*:\([0-9]*\)$/\1/p' | head -1
}
acked=()
killed=""
for k in $(seq "$N"); do
	if [ "$k" -eq $((N / 3)) ]; then
		lp=$(leader)
		if [ -n "$lp" ]; then
			m=$((lp - base))
			kill -9 "${EPID[$m]}"
			killed="e$m"
			log "update $k: killed the leader e$m (pid ${EPID[$m]}) with SIGKILL"
		fi
	fi
	# port bindings of one VM fronted by a (one public address per VM
	# and port on a node); an update counts once etcd acknowledged it
	# (etcdctl tries the other members)
	for _ in 1 2 3 4 5; do
		if ectl put "/heliostat/bindings/198.18.0.1,tcp,$((1000 + k))" \
			"{\"v\":1,\"public\":\"198.18.0.1\",\"proto\":\"tcp\",\"port\":$((1000 + k)),\"vm\":\"web\",\"frontend\":\"a\"}" >/dev/null 2>&1; then
			acked+=("198.18.0.1 tcp/$((1000 + k))")
			break
		fi
		sleep 0.5
	done
done
[ -n "$killed" ] || fail etcd_leader_killed "no leader found to kill"
log "${#acked[@]} of $N updates acknowledged"

have_all() {
	local list a
	list=$(hsl A binding list)
	for a in "${acked[@]}"; do grep -q "^$a -> " <<<"$list" || return 1; done
}
t0=$SECONDS
if [ "${#acked[@]}" -ge $((N - 2)) ] && wait_for 30 have_all; then
	pass "etcd_leader_kill_converges (${#acked[@]} acknowledged updates all applied, $((SECONDS - t0)) s after the last)"
else
	missing=0
	for a in "${acked[@]}"; do hsl A binding list | grep -q "^$a -> " || missing=$((missing + 1)); done
	fail etcd_leader_kill_converges "${#acked[@]} acknowledged, $missing missing from a's maps"
	sed 's/^/#   /' "$T/agent-A.log" | tail -15
fi
# b has no binding fronted by it, but must have followed too: VM web local
# intent (b) and peer a
if hsl B peer list | grep -q "10.0.1.1" && [ "$(vm_kind A 10.1.0.5)" = remote ]; then
	pass etcd_cluster_state
else
	fail etcd_cluster_state "B peers: $(hsl B peer list | paste -sd ';'); A vm: $(vm_kind A 10.1.0.5)"
fi
alive() { ectl get --prefix /heliostat/agents/ --keys-only 2>/dev/null | grep -c agents/; }
wait_for 15 test "$(alive)" -eq 2 && pass etcd_agents_survive_failover ||
	fail etcd_agents_survive_failover "$(alive) agents/ records after the failover, want 2"
hs_done
