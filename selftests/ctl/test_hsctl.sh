#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# hsctl against a real etcd on loopback (own data dir under a mktemp
# directory, free ports, stopped by PID and removed at exit): every command
# with its --json output, reference checks, duplicate creates, vm move's
# epoch and forwarding pointer, concurrent moves (no lost update), bad
# arguments (exit 2, store revision and contents unchanged), an unreachable
# endpoint (exit 1, named), unreadable records, --prefix and TLS.
#
# Prints PASS/FAIL/SKIP lines for selftests/run; "# " lines explain a FAIL.
# HSCTL overrides the binary (to check that the checks can fail).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
B=${HSCTL:-$top/build/ctl/hsctl}

# shellcheck source=./prereq.sh
source "$(dirname "$0")/prereq.sh"
hsctl_prereq hsctl

T=$(mktemp -d /tmp/hs-test-hsctl.XXXXXX)
ETCD_PIDS=()
BG_PIDS=()

cleanup() {
	local pid

	for pid in "${BG_PIDS[@]}"; do stop_pid "$pid"; done
	for pid in "${ETCD_PIDS[@]}"; do stop_pid "$pid"; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- test framework: begin/bad/end, ok, jcheck ----

# hs ARGS...: runs hsctl on our etcd; sets rc, out (stdout), err (stderr).
hs() {
	"$B" --endpoints "$EP" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(<"$T/out")
	err=$(<"$T/err")
}
# shellcheck source=../cli.sh
source "$(dirname "$0")/../cli.sh"

# refused N REGEX ARGS...: exit status N and stderr matching REGEX.
refused() {
	local n=$1 re=$2

	shift 2
	hs "$@"
	[ "$rc" -eq "$n" ] || bad "'$*': exit status $rc, expected $n ($(first_line "$err"))"
	grep -Eq -- "$re" <<<"$err" ||
		bad "'$*': stderr does not match /$re/: '$(first_line "$err")'"
}

# jget EXPR: prints a Python expression over the JSON in $out.
jget() {
	python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
print(eval(sys.argv[1]))' "$1" <<<"$out" 2>/dev/null
}

ectl() { ETCDCTL_API=3 etcdctl --endpoints "$EP" "$@"; }

# Everything etcd holds, with the store revision: any write changes it.
dump() { ectl get --prefix "" -w json 2>&1; }

# rejected REGEX ARGS...: exit status 2, stderr naming the problem, and
# nothing written.
rejected() {
	local re=$1 before after

	shift
	before=$(dump)
	refused 2 "$re" "$@"
	after=$(dump)
	[ "$before" == "$after" ] || bad "'$*': the store changed"
}

# ---- etcd ----

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_etcd NAME [TLS ARGS...]: sets EP_<NAME>; fails if it does not answer.
start_etcd() {
	local name=$1 scheme=http port pport pid

	shift
	[ $# -gt 0 ] && scheme=https
	# a port taken between our check and etcd's bind makes etcd exit: retry
	for _ in 1 2 3; do
		port=$(free_port)
		pport=$(free_port)
		rm -rf "${T:?}/$name.etcd"
		etcd --name "$name" --data-dir "$T/$name.etcd" \
			--listen-client-urls "$scheme://127.0.0.1:$port" \
			--advertise-client-urls "$scheme://127.0.0.1:$port" \
			--listen-peer-urls "http://127.0.0.1:$pport" \
			--initial-advertise-peer-urls "http://127.0.0.1:$pport" \
			--initial-cluster "$name=http://127.0.0.1:$pport" \
			--heartbeat-interval 10 --election-timeout 100 \
			--logger zap --log-level warn "$@" >"$T/$name.log" 2>&1 &
		pid=$!
		ETCD_PIDS+=("$pid")
		printf -v "EP_$name" '%s' "$scheme://127.0.0.1:$port"
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			if [ $scheme = http ]; then
				ETCDCTL_API=3 etcdctl --endpoints "$scheme://127.0.0.1:$port" \
					--dial-timeout 1s endpoint health >/dev/null 2>&1 && return 0
			else
				ETCDCTL_API=3 etcdctl --endpoints "$scheme://127.0.0.1:$port" \
					--dial-timeout 1s --cacert "$T/ca.crt" --cert "$T/client.crt" \
					--key "$T/client.key" endpoint health >/dev/null 2>&1 && return 0
			fi
			sleep 0.1
		done
		stop_pid "$pid"
	done
	tail -n 5 "$T/$name.log" | sed 's/^/#   etcd: /'
	return 1
}

# ---- cases ----

test_sites() {
	begin sites
	ok site add eu-west --description "Frankfurt, two racks"
	ok site add us-east
	ok site add ap-south --json
	jcheck "site add --json" 'd == {"v": 1, "name": "ap-south"}'
	refused 1 "site eu-west already exists" site add eu-west
	ok site show eu-west --json
	jcheck "site show" 'd == {"v": 1, "name": "eu-west", "description": "Frankfurt, two racks"}'
	ok site show eu-west
	grep -Eq '^description +Frankfurt, two racks$' <<<"$out" || bad "site show text: '$out'"
	ok --json site list
	jcheck "site list" '[s["name"] for s in d] == ["ap-south", "eu-west", "us-east"]'
	ok site list
	[ "$(grep -c . <<<"$out")" -eq 4 ] || bad "site list text: header and 3 rows expected: '$out'"
	refused 1 "no site 'nowhere'" site show nowhere
	# the record is the schema's canonical JSON
	v=$(ectl get --print-value-only /heliostat/sites/eu-west)
	[ "$v" = '{"v":1,"name":"eu-west","description":"Frankfurt, two racks"}' ] ||
		bad "stored record: '$v'"
	end
}

test_hosts() {
	begin hosts
	refused 1 "site 'nowhere' does not exist" host add x-1 --site nowhere \
		--underlay4 192.0.2.99 --vni 42 --mtu 1500
	ok host add fra-1 --site eu-west --underlay4 192.0.2.10 --underlay6 2001:db8:10::1 \
		--vni 42 --mtu 1500 --roles frontend,host --json
	jcheck "host add --json" 'd == {"v": 1, "name": "fra-1", "site": "eu-west",
		"underlay4": "192.0.2.10", "underlay6": "2001:db8:10::1", "vni": 42, "port": 4789,
		"mtu": 1500, "roles": ["frontend", "host"]}'
	ok host add nyc-1 --site us-east --underlay4 192.0.2.20 --vni 42 --mtu 1500 \
		--roles host,frontend
	ok host add nyc-2 --site us-east --underlay6 2001:db8:20::2 --vni 42 --mtu 9000
	ok host add bom-1 --site ap-south --underlay4 192.0.2.40 --vni 42 --mtu 0
	ok host add edge-1 --site eu-west --underlay4 192.0.2.60 --vni 42 --mtu 1500 \
		--roles frontend
	refused 1 "host fra-1 already exists" host add fra-1 --site eu-west \
		--underlay4 192.0.2.11 --vni 42 --mtu 1500
	refused 1 "vni 42.*same" host add sgp-1 --site ap-south --underlay4 192.0.2.50 \
		--vni 43 --mtu 1500
	refused 1 "vni 42 and port 4789" host add sgp-1 --site ap-south \
		--underlay4 192.0.2.50 --vni 42 --port 4790 --mtu 1500
	refused 1 "fra-1 already has underlay address 192.0.2.10" host add sgp-1 \
		--site ap-south --underlay4 192.0.2.10 --vni 42 --mtu 1500
	ok host show nyc-2 --json
	jcheck "host show" 'd["roles"] == ["host"] and d["mtu"] == 9000 and "underlay4" not in d'
	ok host list --json
	jcheck "host list" '[h["name"] for h in d] == ["bom-1", "edge-1", "fra-1", "nyc-1", "nyc-2"]'
	jcheck "host list roles" 'd[1]["roles"] == ["frontend"] and d[3]["roles"] == ["frontend", "host"]'
	ok host list
	grep -Eq '^nyc-2 +us-east +- +2001:db8:20::2 +42 +4789 +9000 +host$' <<<"$out" ||
		bad "host list text: '$out'"
	end
}

test_vms() {
	begin vms
	refused 1 "host 'nowhere' does not exist" vm add web --id 7 --address 10.1.0.5 \
		--mac 52:54:00:12:34:56 --host nowhere
	refused 1 "host nyc-2 has roles host, not frontend" vm add web --id 7 \
		--address 10.1.0.5 --mac 52:54:00:12:34:56 --host fra-1 --entry nyc-2
	refused 1 "host edge-1 has roles frontend, not host" vm add web --id 7 \
		--address 10.1.0.5 --mac 52:54:00:12:34:56 --host edge-1
	ok vm add web --id 7 --address 10.1.0.5 --address6 fd00:1::5 --mac 52:54:00:12:34:56 \
		--host fra-1 --entry nyc-1 --json
	jcheck "vm add --json" 'd == {"v": 1, "name": "web", "id": 7, "address": "10.1.0.5",
		"address6": "fd00:1::5", "mac": "52:54:00:12:34:56", "host": "fra-1", "epoch": 1,
		"entry": "nyc-1"}'
	refused 1 "vm web already exists" vm add web --id 9 --address 10.1.0.9 \
		--mac 52:54:00:00:00:09 --host fra-1
	refused 1 "vm web already has this id" vm add db --id 7 --address 10.1.0.6 \
		--mac 52:54:00:00:00:06 --host fra-1
	refused 1 "vm web already has this address" vm add db --id 8 --address 10.1.0.5 \
		--mac 52:54:00:00:00:06 --host fra-1
	refused 1 "vm web already has this mac" vm add db --id 8 --address 10.1.0.6 \
		--mac 52:54:00:12:34:56 --host fra-1
	ok vm add db --id 8 --address 10.1.0.6 --mac 52:54:00:00:00:06 --host nyc-2
	ok vm add cache --id 9 --address6 fd00:1::9 --mac 52:54:00:00:00:09 --host nyc-1
	ok vm show db --json
	jcheck "vm show" 'd["host"] == "nyc-2" and d["epoch"] == 1 and "forward_from" not in d'
	ok vm list --json
	jcheck "vm list" '[(v["name"], v["id"]) for v in d] == [("cache", 9), ("db", 8), ("web", 7)]'
	ok vm list
	grep -Eq '^web +7 +10.1.0.5 +fd00:1::5 +52:54:00:12:34:56 +fra-1 +1 +entry nyc-1$' \
		<<<"$out" || bad "vm list text: '$out'"
	end
}

test_move() {
	local now

	begin vm_move
	now=$(date +%s)
	ok vm move web --to nyc-1 --forward-for 45 --json
	jcheck "move --json" 'd["host"] == "nyc-1" and d["epoch"] == 2 and
		d["forward_from"] == "fra-1" and d["entry"] == "nyc-1"'
	jcheck "forward_until" "$now + 45 <= d['forward_until'] <= $now + 50"
	ok vm show web --json
	jcheck "stored after move" 'd["host"] == "nyc-1" and d["epoch"] == 2 and
		d["forward_from"] == "fra-1"'
	ok vm move web --to fra-1
	grep -Eq '^vm web moved: nyc-1 -> fra-1, epoch 3, nyc-1 forwards until ' <<<"$out" ||
		bad "move text: '$out'"
	ok vm move web --to nyc-1 --forward-for 0 --json
	jcheck "move without forwarding" 'd["epoch"] == 4 and "forward_from" not in d and
		"forward_until" not in d'
	refused 1 "vm web already runs on nyc-1" vm move web --to nyc-1
	refused 1 "host 'nowhere' does not exist" vm move web --to nowhere
	refused 1 "host edge-1 has roles frontend, not host" vm move db --to edge-1
	refused 1 "no vm 'ghost'" vm move ghost --to fra-1
	ok vm show web --json
	jcheck "refused moves wrote nothing" 'd["epoch"] == 4 and d["host"] == "nyc-1"'
	end
}

# Two moves of one VM at once, to two other hosts. Each compares the
# record's mod_revision, so a move is either lost (exit 1, "changed") or
# applied on top of the other: the epoch grows by exactly the number of
# moves that succeeded, and the pointer names the host before the last one.
test_concurrent_moves() {
	local round e0 h0 t1 t2 s s1 s2 f n races=0

	begin vm_move_concurrent
	for round in $(seq 12); do
		hs vm show web --json
		e0=$(jget 'd["epoch"]')
		h0=$(jget 'd["host"]')
		case $h0 in
		fra-1) t1=nyc-1 t2=bom-1 ;;
		nyc-1) t1=fra-1 t2=bom-1 ;;
		*) t1=fra-1 t2=nyc-1 ;;
		esac
		"$B" --endpoints "$EP" --json vm move web --to $t1 >"$T/m1" 2>"$T/e1" &
		BG_PIDS+=($!)
		"$B" --endpoints "$EP" --json vm move web --to $t2 >"$T/m2" 2>"$T/e2" &
		BG_PIDS+=($!)
		wait "${BG_PIDS[-2]}"
		s1=$?
		wait "${BG_PIDS[-1]}"
		s2=$?
		BG_PIDS=()
		n=$(((s1 == 0) + (s2 == 0)))
		for f in 1 2; do
			s=$s1
			[ $f -eq 1 ] || s=$s2
			if [ "$s" -ne 0 ] && ! grep -q "changed while it was being moved" "$T/e$f"; then
				bad "round $round: move $f failed otherwise (status $s): $(head -n 1 "$T/e$f")"
			fi
		done
		[ $n -ge 1 ] || bad "round $round: neither move succeeded"
		[ $n -eq 1 ] && races=$((races + 1))
		hs vm show web --json
		jcheck "round $round: epoch $e0 + $n successful moves" "d['epoch'] == $e0 + $n"
		if [ $n -eq 1 ]; then
			jcheck "round $round: one move from $h0" "d['forward_from'] == '$h0' and
				d['host'] in ('$t1', '$t2')"
		else
			jcheck "round $round: two moves from $h0" "d['host'] in ('$t1', '$t2') and
				d['forward_from'] == ({'$t1', '$t2'} - {d['host']}).pop()"
		fi
		[ -z "$why" ] || break
	done
	echo "# vm_move_concurrent: $races of $round rounds had one move lose the race"
	end
}

test_bindings() {
	begin bindings
	ok binding add 203.0.113.1 --vm web --frontend nyc-1 --json
	jcheck "binding add --json" 'd == {"v": 1, "public": "203.0.113.1", "vm": "web",
		"frontend": "nyc-1"}'
	ok binding add 203.0.113.1 --vm web --frontend nyc-1 --proto tcp --port 80 --vm-port 8080
	ok binding add 2001:db8:f::1 --vm cache --frontend fra-1 --proto udp --port 53
	refused 1 "binding 203.0.113.1,tcp,80 already exists" binding add 203.0.113.1 \
		--vm web --frontend nyc-1 --proto tcp --port 80
	refused 1 "vm 'ghost' does not exist" binding add 203.0.113.2 --vm ghost --frontend nyc-1
	refused 1 "host 'ghost' does not exist" binding add 203.0.113.2 --vm web --frontend ghost
	refused 1 "host nyc-2 has roles host, not frontend" binding add 203.0.113.2 --vm web \
		--frontend nyc-2
	refused 1 "vm db has no IPv6 address" binding add 2001:db8:f::2 --vm db --frontend fra-1
	refused 1 "front-end nyc-1 owns this address, not fra-1" binding add 203.0.113.1 \
		--vm web --frontend fra-1 --proto tcp --port 81
	refused 1 "vm web already answers as 203.0.113.1,tcp,80" binding add 203.0.113.3 \
		--vm web --frontend nyc-1 --proto tcp --port 80 --vm-port 8080
	ok binding list --json
	jcheck "binding list" 'len(d) == 3 and set((b["public"], b.get("proto"), b.get("port"),
		b.get("vm_port"), b["vm"], b["frontend"]) for b in d) == {
		("203.0.113.1", None, None, None, "web", "nyc-1"),
		("203.0.113.1", "tcp", 80, 8080, "web", "nyc-1"),
		("2001:db8:f::1", "udp", 53, None, "cache", "fra-1")}'
	ok binding list
	grep -Eq '^203.0.113.1 +tcp +80 +web +8080 +nyc-1$' <<<"$out" || bad "binding list text: '$out'"
	ok binding show 203.0.113.1 --proto tcp --port 80 --json
	jcheck "binding show" 'd["public"] == "203.0.113.1" and d["port"] == 80 and
		d["vm_port"] == 8080 and d["vm"] == "web" and d["frontend"] == "nyc-1"'
	refused 1 "no binding 203.0.113.9" binding show 203.0.113.9
	ok binding del 2001:db8:f::1 --proto udp --port 53 --json
	jcheck "binding del --json" 'd["deleted"] is True and
		d["key"] == "/heliostat/bindings/2001:db8:f::1,udp,53" and d["revision"] > 0'
	refused 1 "no binding 2001:db8:f::1,udp,53" binding del 2001:db8:f::1 --proto udp --port 53
	[ -z "$(ectl get --prefix /heliostat/bindings/2001)" ] || bad "the binding is still stored"
	end
}

test_references() {
	begin references
	# web to nyc-1 with a pointer at fra-1, whatever the races left
	hs vm show web --json
	[ "$(jget 'd["host"]')" = fra-1 ] || ok vm move web --to fra-1 --forward-for 0
	ok vm move web --to nyc-1 --forward-for 600
	refused 1 "site eu-west is still referred to by .*host fra-1" site del eu-west
	refused 1 "host nyc-1 is still referred to by .*binding 203.0.113.1 \(frontend\)" \
		host del nyc-1
	grep -q "vm web (runs there)" <<<"$err" || bad "host del nyc-1 does not name vm web: '$err'"
	refused 1 "host fra-1 is still referred to by .*vm web \(forwarding pointer\)" host del fra-1
	refused 1 "vm web is still referred to by binding 203.0.113.1, binding 203.0.113.1,tcp,80" \
		vm del web
	[ -n "$(ectl get --print-value-only /heliostat/vms/web)" ] || bad "vm web was deleted"
	# an alive agent pins its host
	ectl put /heliostat/agents/bom-1 '{"v":1,"host":"bom-1","pid":42,"started":1764000000,"applied_revision":1}' >/dev/null
	refused 1 "host bom-1 is still referred to by agent bom-1 \(alive\)" host del bom-1
	ectl del /heliostat/agents/bom-1 >/dev/null
	# unreferenced: deleted
	ok vm del db --json
	jcheck "vm del --json" 'd["deleted"] is True and d["key"] == "/heliostat/vms/db"'
	refused 1 "no vm 'db'" vm show db
	ok host del nyc-2
	ok host del edge-1
	ok host show bom-1
	ok vm del cache
	# --force deletes a referenced record, and says what now dangles
	ok vm add tmp --id 99 --address 10.1.0.99 --mac 52:54:00:00:00:99 --host bom-1
	refused 1 "host bom-1 is still referred to by vm tmp" host del bom-1
	ok host del bom-1 --force
	grep -q "although vm tmp (runs there) refers to it" <<<"$err" ||
		bad "host del --force does not warn: '$err'"
	[ -z "$(ectl get /heliostat/hosts/bom-1)" ] || bad "host bom-1 still stored after --force"
	ok vm del tmp
	ok site del ap-south
	ok site list --json
	jcheck "sites left" '[s["name"] for s in d] == ["eu-west", "us-east"]'
	end
}

test_bad_args() {
	begin bad_args
	rejected "unknown command 'frob'" frob
	rejected "usage: hsctl site add" site frob
	rejected "missing argument" site add
	rejected "'Bad_Name' is not a name" site add Bad_Name
	rejected "unknown option '--bogus'" site add x --bogus
	rejected "'--description' needs a value" site add x --description
	rejected "given twice" site add x --description a --description b
	rejected "unexpected argument 'y'" site add x y
	rejected "--vni is required" host add h --site eu-west --underlay4 192.0.2.77 --mtu 1500
	rejected "--vni: '16777216' is not a number" host add h --site eu-west \
		--underlay4 192.0.2.77 --vni 16777216 --mtu 1500
	rejected "--underlay4: '2001:db8::7' is not an IPv4 address" host add h --site eu-west \
		--underlay4 2001:db8::7 --vni 42 --mtu 1500
	rejected "underlay4: 127.0.0.1 is a loopback address|not a unicast" host add h \
		--site eu-west --underlay4 127.0.0.1 --vni 42 --mtu 1500
	rejected "a host needs at least one" host add h --site eu-west --vni 42 --mtu 1500
	rejected "mtu: 576 is below 1280" host add h --site eu-west --underlay4 192.0.2.77 \
		--vni 42 --mtu 576
	rejected "--roles: 'router'" host add h --site eu-west --underlay4 192.0.2.77 --vni 42 \
		--mtu 1500 --roles router
	rejected "--mac: '52:54:00:zz:00:01' is not a MAC" vm add v --id 1 --address 10.9.0.1 \
		--mac 52:54:00:zz:00:01 --host fra-1
	rejected "multicast MAC" vm add v --id 1 --address 10.9.0.1 --mac 01:00:5e:00:00:01 \
		--host fra-1
	rejected "--id: '0' is not a number" vm add v --id 0 --address 10.9.0.1 \
		--mac 52:54:00:00:00:01 --host fra-1
	rejected "a VM needs at least one" vm add v --id 1 --mac 52:54:00:00:00:01 --host fra-1
	rejected "--to is required" vm move web
	rejected "--forward-for: '-1' is not a number" vm move web --to fra-1 --forward-for -1
	rejected "--proto and --port go together" binding add 203.0.113.9 --vm web \
		--frontend nyc-1 --port 80
	rejected "--proto: 'icmp'" binding add 203.0.113.9 --vm web --frontend nyc-1 \
		--proto icmp --port 80
	rejected "PUBLIC: 'not-an-ip'" binding add not-an-ip --vm web --frontend nyc-1
	rejected "--proto and --port go together" binding del 203.0.113.1 --proto tcp
	rejected "--prefix: 'nope'" --prefix nope site list
	rejected "--timeout: '0'" --timeout 0 site add x
	rejected "not an http:// or https:// URL" --endpoints ftp://127.0.0.1 site add x
	rejected "cannot read etcd CA file" --cacert "$T/missing.pem" site add x
	hs --help
	if [ "$rc" -ne 0 ] || ! grep -q '^usage: hsctl' <<<"$out"; then
		bad "--help: status $rc, '$(first_line "$out")'"
	fi
	end
}

test_status() {
	local rev

	begin status
	rev=$(ectl get /x -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
	ectl put /heliostat/agents/fra-1 "{\"v\":1,\"host\":\"fra-1\",\"pid\":4242,\"started\":1764000000,\"applied_revision\":$rev}" >/dev/null
	ectl put /heliostat/agents/ghost '{"v":1,"host":"ghost","pid":7,"started":1764000000,"applied_revision":0}' >/dev/null
	ectl put /heliostat/sched/leader '{"v":1,"holder":"fra-1","lease":"694d7c4b5fb3a20b"}' >/dev/null
	ok status --json
	jcheck "status hosts" '[h["host"] for h in d["hosts"]] == ["fra-1", "nyc-1"]'
	jcheck "status revision" "d['revision'] == $rev + 3"
	jcheck "alive agent" "[h for h in d['hosts'] if h['host'] == 'fra-1'][0] == {'host': 'fra-1',
		'site': 'eu-west', 'roles': ['frontend', 'host'], 'alive': True, 'pid': 4242,
		'started': 1764000000, 'applied_revision': $rev, 'behind': 3, 'current': True}"
	jcheck "no agent" '[h for h in d["hosts"] if h["host"] == "nyc-1"][0]["alive"] is False'
	jcheck "leader and stray agent" 'd["leader"] == "fra-1" and d["unknown_agents"] == ["ghost"]'
	# a change to what agents apply: fra-1 is behind it
	ok vm move web --to fra-1
	ok status --json
	jcheck "behind a change" '[h for h in d["hosts"] if h["host"] == "fra-1"][0]["current"] is False
		and d["last_change"] == d["revision"]'
	ok status
	grep -Eq '^fra-1 +eu-west +frontend,host +alive +4242 +[0-9]+ +4 +no$' <<<"$out" ||
		bad "status text: '$out'"
	grep -Eq '^nyc-1 +us-east +frontend,host +down ' <<<"$out" || bad "status text: '$out'"
	ectl del --prefix /heliostat/agents/ >/dev/null
	ectl del /heliostat/sched/leader >/dev/null
	end
}

test_unreadable() {
	begin unreadable
	# a record from a newer hsctl: listed as unreadable, never deleted unasked
	ectl put /heliostat/hosts/new-1 '{"v":2,"name":"new-1"}' >/dev/null
	refused 1 "1 host record\(s\) could not be read" host list --json
	jcheck "the readable hosts are still listed" '[h["name"] for h in d] == ["fra-1", "nyc-1"]'
	grep -q "record version 2" <<<"$err" || bad "host list does not say why: '$err'"
	refused 1 "site us-east is still referred to by .*unreadable record /heliostat/hosts/new-1" \
		site del us-east
	refused 1 "cannot read the record" host del new-1
	ok host del new-1 --force
	[ -z "$(ectl get /heliostat/hosts/new-1)" ] || bad "host del --force left the record"
	# keys that name no record are skipped
	ectl put /heliostat/hosts/Not_A_Name x >/dev/null
	ok host list --json
	jcheck "odd key skipped" '[h["name"] for h in d] == ["fra-1", "nyc-1"]'
	ectl del /heliostat/hosts/Not_A_Name >/dev/null
	end
}

test_prefix() {
	begin prefix
	ok --prefix /other/ site add eu-west --description other
	ok --prefix /other/ site list --json
	jcheck "own prefix" '[s.get("description") for s in d] == ["other"]'
	ok site show eu-west --json
	jcheck "default prefix untouched" 'd["description"] == "Frankfurt, two racks"'
	[ -n "$(ectl get --print-value-only /other/sites/eu-west)" ] || bad "not stored under /other/"
	ectl del --prefix /other/ >/dev/null
	end
}

test_unreachable() {
	local d1 d2 s

	begin unreachable
	d1=$(free_port)
	d2=$(free_port)
	s=$(date +%s)
	"$B" --endpoints "http://127.0.0.1:$d1,http://127.0.0.1:$d2" site list >"$T/out" 2>"$T/err"
	rc=$?
	err=$(<"$T/err")
	[ "$rc" -eq 1 ] || bad "exit status $rc, expected 1"
	grep -q "cannot read the cluster state: etcd at http://127.0.0.1:$d1,http://127.0.0.1:$d2" \
		<<<"$err" || bad "the endpoints are not named: '$(tail -n 1 <<<"$err")'"
	HSCTL_ENDPOINTS=http://127.0.0.1:$d1 "$B" site add x >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -eq 1 ] || bad "HSCTL_ENDPOINTS: exit status $rc, expected 1"
	grep -q "etcd at http://127.0.0.1:$d1:" "$T/err" || bad "HSCTL_ENDPOINTS: '$(<"$T/err")'"
	[ $(($(date +%s) - s)) -lt 10 ] || bad "took $(($(date +%s) - s)) s"
	end
}

test_tls() {
	begin tls
	if ! command -v openssl >/dev/null; then
		echo "SKIP tls: openssl is needed to make test certificates"
		return
	fi
	(
		cd "$T" && exec >openssl.log 2>&1 &&
			openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
				-keyout ca.key -out ca.crt -days 1 -subj /CN=hs-test-ca &&
			for n in server client; do
				eku=clientAuth
				[ $n = server ] && eku=serverAuth,$eku
				openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
					-keyout $n.key -out $n.csr -subj /CN=hs-test-$n &&
					printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=%s\n' $eku >$n.ext &&
					openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
						-days 1 -extfile $n.ext -out $n.crt || exit 1
			done
	) || {
		bad "openssl failed: $(tail -n 2 "$T/openssl.log")"
		end
		return
	}
	if ! start_etcd tls --cert-file "$T/server.crt" --key-file "$T/server.key" \
		--trusted-ca-file "$T/ca.crt" --client-cert-auth; then
		bad "TLS etcd did not start"
		end
		return
	fi
	# shellcheck disable=SC2154
	"$B" --endpoints "$EP_tls" --cacert "$T/ca.crt" --cert "$T/client.crt" \
		--key "$T/client.key" site add tls-site >"$T/out" 2>"$T/err" ||
		bad "site add over TLS: $(head -n 1 "$T/err")"
	"$B" --endpoints "$EP_tls" --cacert "$T/ca.crt" --cert "$T/client.crt" \
		--key "$T/client.key" --json site list >"$T/out" 2>"$T/err"
	out=$(<"$T/out")
	jcheck "site list over TLS" '[s["name"] for s in d] == ["tls-site"]'
	"$B" --endpoints "$EP_tls" --cacert "$T/ca.crt" site list >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" -eq 1 ] || bad "without a client certificate: exit status $rc, expected 1"
	end
}

# ---- main ----

begin etcd
start_etcd main || bad "etcd did not start on loopback"
end
[ "$nfail" -eq 0 ] || exit 1
# shellcheck disable=SC2154
EP=$EP_main

test_sites
test_hosts
test_vms
test_move
test_concurrent_moves
test_bindings
test_references
test_bad_args
test_status
test_unreadable
test_prefix
test_unreachable
test_tls
[ "$nfail" -eq 0 ]
