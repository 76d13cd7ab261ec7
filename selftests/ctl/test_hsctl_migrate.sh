#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# hsctl migrate and hsctl migration against a real etcd on loopback (own
# data dir under a mktemp directory, free ports, stopped by PID and removed
# at exit). migrated is simulated by writing the records it would write
# (etcdctl), so the cases check what hsctl does with them: the request and
# its refusals, show and list, cancel in every state, follow (plain lines,
# JSON lines, the bar on a pseudo-terminal) ending with the right exit
# status for done, failed, cancelled, a deleted record and a timeout, two
# requests racing, and bad arguments (exit 2, store unchanged).
#
# Prints PASS/FAIL/SKIP lines for selftests/run; "# " lines explain a FAIL.
# HSCTL overrides the binary (to check that the checks can fail).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
B=${HSCTL:-$top/build/ctl/hsctl}

# shellcheck source=./prereq.sh
source "$(dirname "$0")/prereq.sh"
hsctl_prereq hsctl_migrate

T=$(mktemp -d /tmp/hs-test-hsctl-migrate.XXXXXX)
ETCD_PID=
BG_PIDS=()

cleanup() {
	local pid

	for pid in "${BG_PIDS[@]}"; do stop_pid "$pid"; done
	[ -z "$ETCD_PID" ] || stop_pid "$ETCD_PID"
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- test framework ----

# hs ARGS...: runs hsctl on our etcd; sets rc, out (stdout), err (stderr).
hs() {
	"$B" --endpoints "$EP" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(<"$T/out")
	err=$(<"$T/err")
}
# shellcheck source=../cli.sh
source "$(dirname "$0")/../cli.sh"

ectl() { ETCDCTL_API=3 etcdctl --endpoints "$EP" "$@"; }

# Everything etcd holds, with the store revision: any write changes it.
dump() { ectl get --prefix "" -w json 2>&1; }

# refused N REGEX ARGS...: exit status N, stderr matching REGEX, and
# nothing written.
refused() {
	local n=$1 re=$2 before after

	shift 2
	before=$(dump)
	hs "$@"
	after=$(dump)
	[ "$rc" -eq "$n" ] || bad "'$*': exit status $rc, expected $n ($(first_line "$err"))"
	grep -Eq -- "$re" <<<"$err" ||
		bad "'$*': stderr does not match /$re/: '$(first_line "$err")'"
	[ "$before" == "$after" ] || bad "'$*': the store changed"
}

# rejected REGEX ARGS...: bad arguments: exit status 2, nothing written.
rejected() {
	local re=$1

	shift
	refused 2 "$re" "$@"
}

MK=/heliostat/migrations

# mig_field VM FIELD: one field of the stored migration record ("" if none).
mig_field() {
	ectl get --print-value-only "$MK/$1" | python3 -c '
import json, sys
s = sys.stdin.read()
print(json.loads(s).get(sys.argv[1], "") if s.strip() else "")' "$2"
}

# wait_state VM STATE: until the stored record is in STATE (at most 10 s).
wait_state() {
	for _ in $(seq 100); do
		[ "$(mig_field "$1" state)" = "$2" ] && return 0
		sleep 0.1
	done
	echo "# wait_state $1 $2: still '$(mig_field "$1" state)'"
	return 1
}

# mig_put VM STATE [REMAINING [REASON]]: what migrated writes: the current
# record's from, to and started, the new state, updated now, and progress
# of a 2 GiB guest with REMAINING bytes left (none when "").
mig_put() {
	local vm=$1 state=$2 rem=${3:-} reason=${4:-} from to started json

	from=$(mig_field "$vm" from)
	to=$(mig_field "$vm" to)
	started=$(mig_field "$vm" started)
	json="{\"v\":1,\"vm\":\"$vm\",\"from\":\"$from\",\"to\":\"$to\",\"state\":\"$state\""
	[ -z "$reason" ] || json+=",\"reason\":\"$reason\""
	json+=",\"started\":$started,\"updated\":$(date +%s)"
	[ -z "$rem" ] ||
		json+=",\"progress\":{\"memory_total\":2147483648,\"memory_remaining\":$rem,\"dirty_rate\":52428800,\"expected_downtime_ms\":120}"
	ectl put "$MK/$vm" "$json}" >/dev/null
}

# mig_set VM FROM TO STATE [REASON]: a whole record, started and updated now.
mig_set() {
	local r=

	[ -z "${5:-}" ] || r=",\"reason\":\"$5\""
	ectl put "$MK/$1" "{\"v\":1,\"vm\":\"$1\",\"from\":\"$2\",\"to\":\"$3\",\"state\":\"$4\"$r,\"started\":$(date +%s),\"updated\":$(date +%s)}" >/dev/null
}

# sim_migrated VM END [REASON]: takes VM's pending record through running
# (three progress reports) and switchover to END (done or failed), as
# migrated on the source host would; at done the VM record moves too.
sim_migrated() {
	local vm=$1 end=$2 reason=${3:-}

	wait_state "$vm" pending || return 1
	sleep 0.2
	mig_put "$vm" running 2147483648
	sleep 0.2
	mig_put "$vm" running 1073741824
	sleep 0.2
	mig_put "$vm" running 104857600
	sleep 0.2
	mig_put "$vm" switchover
	[ "$end" != "done" ] ||
		"$B" --endpoints "$EP" vm move "$vm" --to "$(mig_field "$vm" to)" --force >/dev/null
	sleep 0.2
	mig_put "$vm" "$end" "" "$reason"
}

# bg_wait: waits for the last background command; its status in bgrc.
bg_wait() {
	wait "${BG_PIDS[-1]}"
	bgrc=$?
	unset 'BG_PIDS[-1]'
}

# ---- etcd ----

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run_etcd: starts etcd on $ETCD_PORT and $ETCD_PPORT with its data dir
# (kept across restarts); fails if it does not answer.
run_etcd() {
	etcd --name main --data-dir "$T/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PPORT" \
		--initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PPORT" \
		--initial-cluster "main=http://127.0.0.1:$ETCD_PPORT" \
		--heartbeat-interval 10 --election-timeout 100 \
		--logger zap --log-level warn >>"$T/etcd.log" 2>&1 &
	ETCD_PID=$!
	EP=http://127.0.0.1:$ETCD_PORT
	for _ in $(seq 100); do
		kill -0 "$ETCD_PID" 2>/dev/null || break
		ectl --dial-timeout 1s endpoint health >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	stop_pid "$ETCD_PID"
	ETCD_PID=
	tail -n 5 "$T/etcd.log" | sed 's/^/#   etcd: /'
	return 1
}

start_etcd() {
	# a port taken between our check and etcd's bind makes etcd exit: retry
	for _ in 1 2 3; do
		ETCD_PORT=$(free_port)
		ETCD_PPORT=$(free_port)
		rm -rf "${T:?}/etcd"
		run_etcd && return 0
	done
	return 1
}

# ---- cases ----

test_setup() {
	begin migrate_setup
	ok site add eu-west
	ok host add fra-1 --site eu-west --underlay4 192.0.2.10 --vni 42 --mtu 1500
	ok host add fra-2 --site eu-west --underlay4 192.0.2.11 --vni 42 --mtu 1500
	ok host add edge-1 --site eu-west --underlay4 192.0.2.12 --vni 42 --mtu 1500 \
		--roles frontend
	ok vm add web --id 7 --address 10.1.0.5 --mac 52:54:00:12:34:56 --host fra-1
	ok vm add db --id 8 --address 10.1.0.6 --mac 52:54:00:00:00:06 --host fra-1
	end
}

test_request() {
	local now v

	begin migrate_request
	now=$(date +%s)
	ok migrate web --to fra-2 --reason "clients moved to eu-west" --json
	jcheck "migrate --json" "d['v'] == 1 and d['vm'] == 'web' and d['from'] == 'fra-1' and
		d['to'] == 'fra-2' and d['state'] == 'pending' and
		d['reason'] == 'clients moved to eu-west' and $now <= d['started'] <= $now + 2 and
		d['updated'] == d['started'] and 'progress' not in d"
	# stored in the schema's canonical form: what --json printed, compact
	v=$(ectl get --print-value-only "$MK/web")
	jcheck "stored record" "json.dumps(d, separators=(',', ':')) == '$v'"
	ok migrate db --to fra-2
	[ "$out" = "migration of vm db requested: fra-1 -> fra-2 (pending)" ] ||
		bad "migrate text: '$out'"
	# refused by the store's state: exit 1, nothing written
	refused 1 "vm web: a migration is under way \(pending, fra-1 -> fra-2\).*hsctl migration cancel web" \
		migrate web --to fra-2
	refused 1 "no vm 'ghost'" migrate ghost --to fra-2
	ok migration cancel web
	refused 1 "vm web already runs on fra-1" migrate web --to fra-1
	refused 1 "host edge-1 has roles frontend, not host" migrate web --to edge-1
	refused 1 "host 'nowhere' does not exist" migrate web --to nowhere
	# the source-host stand-in for the early check must not refuse a host "a"
	refused 1 "host 'a' does not exist" migrate web --to a
	mig_put web running 1073741824
	refused 1 "under way \(running, .*cancel it on fra-1 \(migrated --config FILE --cancel web\)" \
		migrate web --to fra-2
	mig_put web switchover
	refused 1 "a migration is under way \(switchover, fra-1 -> fra-2\); wait for it to end \(hsctl migration follow web\)$" \
		migrate web --to fra-2
	ectl put "$MK/web" '{"v":2,"vm":"web"}' >/dev/null
	refused 1 "cannot read the record.*not migrated" migrate web --to fra-2
	grep -q "record version 2" <<<"$err" || bad "unreadable: the reason is not shown: '$err'"
	# a final record is replaced
	ectl put "$MK/web" '{"v":1,"vm":"web","from":"fra-1","to":"fra-2","state":"failed","reason":"x","started":5,"updated":6}' >/dev/null
	ok migrate web --to fra-2 --json
	jcheck "final record replaced" "d['state'] == 'pending' and d['started'] >= $now and
		'reason' not in d"
	ok migration cancel web
	end
}

test_show_list() {
	begin migration_show_list
	mig_put db running 104857600
	ok migration show db --json
	jcheck "show --json" 'd["state"] == "running" and d["progress"] == {"memory_total": 2147483648,
		"memory_remaining": 104857600, "dirty_rate": 52428800, "expected_downtime_ms": 120}'
	ok migration show db
	grep -Eq '^state +running$' <<<"$out" || bad "show text: '$out'"
	grep -Eq '^progress +95% copied, 100.0 MiB of 2.0 GiB left, dirty 50.0 MiB/s, expected downtime 120 ms$' \
		<<<"$out" || bad "show progress text: '$out'"
	ok migration list --json
	jcheck "list --json" '[(m["vm"], m["state"]) for m in d] == [("db", "running"),
		("web", "cancelled")]'
	ok migration list
	[ "$(grep -c . <<<"$out")" -eq 3 ] || bad "list text: header and 2 rows expected: '$out'"
	grep -Eq '^db +fra-1 +fra-2 +running +95% +[0-9T:-]+Z +-$' <<<"$out" || bad "list row: '$out'"
	grep -Eq '^web +fra-1 +fra-2 +cancelled +- .*cancelled by operator$' <<<"$out" ||
		bad "list row: '$out'"
	ok vm add idle --id 9 --address 10.1.0.9 --mac 52:54:00:00:00:09 --host fra-2
	refused 1 "vm idle has no migration record" migration show idle
	refused 1 "no vm 'ghost'" migration show ghost
	ectl put "$MK/db" '{"v":2,"vm":"db"}' >/dev/null
	refused 1 "1 migration record\(s\) could not be read" migration list
	mig_set db fra-1 fra-2 failed test
	end
}

test_cancel() {
	local now

	begin migration_cancel
	now=$(date +%s)
	ok migrate db --to fra-2
	ok migration cancel db --json
	jcheck "cancel --json" "d['state'] == 'cancelled' and d['reason'] == 'cancelled by operator'
		and d['from'] == 'fra-1' and d['to'] == 'fra-2' and
		d['started'] <= d['updated'] <= $now + 2"
	ok migration show db --json
	jcheck "cancel stored" 'd["state"] == "cancelled"'
	refused 1 "migration of vm db is already cancelled; nothing to cancel" migration cancel db
	ok migrate db --to fra-2
	ok migration cancel db
	[ "$out" = "migration of vm db cancelled (it was pending: fra-1 -> fra-2)" ] ||
		bad "cancel text: '$out'"
	ok migrate db --to fra-2
	mig_put db running 1073741824
	refused 1 "running: only migrated on the source host can cancel it; on fra-1 run: migrated --config FILE --cancel db" \
		migration cancel db
	mig_put db switchover
	refused 1 "in switchover .* cannot be cancelled" migration cancel db
	mig_put db "done"
	refused 1 "already done" migration cancel db
	mig_put db failed "" "libvirt: gone"
	refused 1 "already failed" migration cancel db
	refused 1 "vm idle has no migration record" migration cancel idle
	ectl put "$MK/db" '{"v":2,"vm":"db"}' >/dev/null
	refused 1 "cannot read the record.*not cancelled" migration cancel db
	mig_set db fra-1 fra-2 cancelled
	end
}

# migrate --follow while a simulated migrated takes it to done: one line
# per version, in order, and exit status 0.
test_follow_done() {
	local want

	begin follow_done
	sim_migrated web "done" >"$T/sim" 2>&1 &
	BG_PIDS+=($!)
	hs migrate web --to fra-2 --follow --timeout 30
	bg_wait
	[ "$bgrc" -eq 0 ] || bad "the simulated migrated failed: $(head -n 2 "$T/sim")"
	[ "$rc" -eq 0 ] || bad "exit status $rc, expected 0 ($(first_line "$err"))"
	want="migration of vm web requested: fra-1 -> fra-2
web: pending (fra-1 -> fra-2)
web: running (fra-1 -> fra-2): 0% copied, 2.0 GiB of 2.0 GiB left, dirty 50.0 MiB/s, expected downtime 120 ms
web: running (fra-1 -> fra-2): 50% copied, 1.0 GiB of 2.0 GiB left, dirty 50.0 MiB/s, expected downtime 120 ms
web: running (fra-1 -> fra-2): 95% copied, 100.0 MiB of 2.0 GiB left, dirty 50.0 MiB/s, expected downtime 120 ms
web: switchover (fra-1 -> fra-2)
web: done (fra-1 -> fra-2)"
	[ "$(head -n 7 <<<"$out")" = "$want" ] || bad "follow output: '$out'"
	grep -Eqx 'migration of vm web done \(fra-1 -> fra-2, [0-9]+ s\)' <<<"$(tail -n 1 <<<"$out")" ||
		bad "final line: '$(tail -n 1 <<<"$out")'"
	[ "$(grep -c . <<<"$out")" -eq 8 ] || bad "8 lines expected: '$out'"
	ok vm show web --json
	jcheck "the VM moved" 'd["host"] == "fra-2" and d["epoch"] == 2'
	# a final record: printed at once, the exit status is its outcome
	ok migration follow web
	grep -q "^migration of vm web done (fra-1 -> fra-2" <<<"$out" ||
		bad "follow of a done record: '$out'"
	end
}

# migration follow of a pending record, migrated fails it: exit 1, the
# reason printed; --json: one record per line.
test_follow_failed() {
	begin follow_failed
	ok migrate web --to fra-1 --reason "back home"
	grep -q "fra-2 -> fra-1" <<<"$out" || bad "from is not the VM's host now: '$out'"
	sim_migrated web failed "libvirt: connection to fra-1 lost" >"$T/sim" 2>&1 &
	BG_PIDS+=($!)
	hs migration follow web --json --timeout 30
	bg_wait
	[ "$rc" -eq 1 ] || bad "exit status $rc, expected 1 ($(first_line "$err"))"
	# one record per line: made into one array for jcheck
	out="[$(paste -sd, <<<"$out")]"
	jcheck "JSON lines" '[r["state"] for r in d] == ["pending", "running", "running",
		"running", "switchover", "failed"] and
		d[-1]["reason"] == "libvirt: connection to fra-1 lost" and
		[r["progress"]["memory_remaining"] for r in d[1:4]] == [2147483648, 1073741824, 104857600]'
	hs migration follow web
	[ "$rc" -eq 1 ] || bad "follow of a failed record: exit status $rc, expected 1"
	grep -Eqx 'migration of vm web failed \(fra-2 -> fra-1, [0-9]+ s\): libvirt: connection to fra-1 lost' \
		<<<"$(tail -n 1 <<<"$out")" || bad "final line: '$out'"
	ok vm show web --json
	jcheck "a failed migration leaves the VM" 'd["host"] == "fra-2"'
	end
}

# migrate --follow, then the operator cancels it: exit 1, "cancelled".
test_follow_cancelled() {
	begin follow_cancelled
	"$B" --endpoints "$EP" migrate web --to fra-1 --follow --timeout 30 >"$T/fout" 2>"$T/ferr" &
	BG_PIDS+=($!)
	wait_state web pending || bad "no pending record"
	sleep 0.3
	ok migration cancel web
	bg_wait
	[ "$bgrc" -eq 1 ] || bad "exit status $bgrc, expected 1 ($(head -n 1 "$T/ferr"))"
	grep -Eqx 'migration of vm web cancelled \(fra-2 -> fra-1, [0-9]+ s\): cancelled by operator' \
		<<<"$(tail -n 1 "$T/fout")" || bad "final line: '$(<"$T/fout")'"
	grep -qx "web: cancelled (fra-2 -> fra-1)" "$T/fout" || bad "no cancelled line: '$(<"$T/fout")'"
	end
}

# On a terminal: one line redrawn in place, then the final state.
test_follow_tty() {
	begin follow_tty
	if ! command -v script >/dev/null; then
		echo "SKIP follow_tty: script (util-linux) is needed for a pseudo-terminal"
		return
	fi
	ok migrate db --to fra-2
	sim_migrated db "done" >"$T/sim" 2>&1 &
	BG_PIDS+=($!)
	script -qec "'$B' --endpoints '$EP' migration follow db --timeout 30" /dev/null \
		</dev/null >"$T/tty" 2>&1
	rc=$?
	bg_wait
	[ "$rc" -eq 0 ] || bad "exit status $rc, expected 0: '$(tr '\r' '|' <"$T/tty" | head -c 300)'"
	out=$(tr '\r' '|' <"$T/tty")
	grep -q "^vm db: fra-1 -> fra-2" <<<"$out" || bad "no header: '$out'"
	grep -Eq '\|db running +\[##########----------\]  50%  dirty 50.0 MiB/s  downtime 120 ms' \
		<<<"$out" || bad "no 50% bar: '$(head -c 400 <<<"$out")'"
	grep -Eq '\|db done +\[####################\] 100%' <<<"$out" || bad "no done bar: '$out'"
	# the bar is redrawn with a carriage return, not a new line per version
	[ "$(grep -c 'running' <<<"$out")" -eq 1 ] || bad "the bar is not drawn in place: '$out'"
	grep -Eq '^migration of vm db done \(fra-1 -> fra-2, [0-9]+ s\)' <<<"$out" ||
		bad "no final line: '$out'"
	end
}

test_follow_ends() {
	local s

	begin follow_ends
	# a timeout: exit 1 in time, the record untouched
	ok migrate db --to fra-1
	s=$(date +%s)
	refused 1 "migration of vm db is still pending after 1 s; stopped following" \
		migration follow db --timeout 1
	[ $(($(date +%s) - s)) -le 4 ] || bad "--timeout 1 took $(($(date +%s) - s)) s"
	[ "$(head -n 1 <<<"$out")" = "db: pending (fra-2 -> fra-1)" ] || bad "timeout output: '$out'"
	# the record deleted while following
	"$B" --endpoints "$EP" migration follow db --timeout 30 >"$T/fout" 2>"$T/ferr" &
	BG_PIDS+=($!)
	sleep 0.5
	ectl del "$MK/db" >/dev/null
	bg_wait
	[ "$bgrc" -eq 1 ] || bad "deleted: exit status $bgrc, expected 1"
	grep -q "$MK/db was deleted; stopped following" "$T/ferr" || bad "deleted: '$(<"$T/ferr")'"
	# an unreadable version is reported and skipped
	ok migrate db --to fra-1
	"$B" --endpoints "$EP" migration follow db --timeout 30 >"$T/fout" 2>"$T/ferr" &
	BG_PIDS+=($!)
	sleep 0.5
	ectl put "$MK/db" '{"v":2,"vm":"db"}' >/dev/null
	mig_set db fra-2 fra-1 failed "gave up"
	bg_wait
	[ "$bgrc" -eq 1 ] || bad "unreadable: exit status $bgrc, expected 1"
	grep -q "record version 2.*still following" "$T/ferr" || bad "unreadable: '$(<"$T/ferr")'"
	grep -q "failed (fra-2 -> fra-1, [0-9]* s): gave up" "$T/fout" || bad "unreadable: '$(<"$T/fout")'"
	# SIGINT stops following, not the migration
	ok migrate db --to fra-1
	"$B" --endpoints "$EP" migration follow db >"$T/fout" 2>"$T/ferr" &
	BG_PIDS+=($!)
	sleep 0.5
	kill -INT "${BG_PIDS[-1]}"
	bg_wait
	[ "$bgrc" -eq 1 ] || bad "SIGINT: exit status $bgrc, expected 1"
	grep -q "stopped following the migration of vm db (pending); it goes on" "$T/ferr" ||
		bad "SIGINT: '$(<"$T/ferr")'"
	[ "$(mig_field db state)" = pending ] || bad "SIGINT changed the record"
	ok migration cancel db
	refused 1 "vm idle has no migration record" migration follow idle
	refused 1 "no vm 'ghost'" migration follow ghost
	end
}

# The watch's history compacted while hsctl could not read it (stopped while
# etcd restarts, then versions written and compacted): it reads the record
# again, shows the current version and goes on from there.
test_follow_compacted() {
	local rev

	begin follow_compacted
	ok migrate db --to fra-1
	"$B" --endpoints "$EP" migration follow db --timeout 60 >"$T/fout" 2>"$T/ferr" &
	BG_PIDS+=($!)
	sleep 0.5
	kill -STOP "${BG_PIDS[-1]}"
	stop_pid "$ETCD_PID"
	if ! run_etcd; then
		kill -CONT "${BG_PIDS[-1]}"
		bad "etcd did not start again"
		end
		return
	fi
	mig_put db running 1073741824
	mig_put db switchover
	mig_put db "done"
	rev=$(ectl get /x -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])')
	ectl compact "$rev" --physical >/dev/null
	kill -CONT "${BG_PIDS[-1]}"
	bg_wait
	[ "$bgrc" -eq 0 ] || bad "exit status $bgrc, expected 0 ($(tail -n 1 "$T/ferr"))"
	grep -q "compacted" "$T/ferr" || bad "the compaction did not happen: '$(<"$T/ferr")'"
	[ "$(head -n 2 "$T/fout")" = "db: pending (fra-2 -> fra-1)
db: done (fra-2 -> fra-1)" ] || bad "output: '$(<"$T/fout")'"
	end
}

# Two requests for one VM at once, for a VM without a migration record (odd
# rounds: the create-only compare) and with a final one (even rounds: the
# compare on its mod_revision): exactly one is written.
test_race() {
	local round s1 s2 n races=0

	begin migrate_race
	for round in $(seq 16); do
		[ $((round % 2)) -eq 0 ] || ectl del "$MK/db" >/dev/null
		"$B" --endpoints "$EP" migrate db --to fra-1 >"$T/m1" 2>"$T/e1" &
		BG_PIDS+=($!)
		"$B" --endpoints "$EP" migrate db --to fra-1 >"$T/m2" 2>"$T/e2" &
		BG_PIDS+=($!)
		bg_wait
		s2=$bgrc
		bg_wait
		s1=$bgrc
		n=$(((s1 == 0) + (s2 == 0)))
		[ "$n" -eq 1 ] || bad "round $round: $n requests succeeded: $(cat "$T/e1" "$T/e2")"
		cat "$T/e1" "$T/e2" | grep -Eq "a migration is under way \(pending|changed meanwhile" ||
			bad "round $round: the loser says: $(cat "$T/e1" "$T/e2")"
		grep -q "changed meanwhile" "$T/e1" "$T/e2" && races=$((races + 1))
		ok migration cancel db
		[ -z "$why" ] || break
	done
	echo "# migrate_race: $races of $round rounds had one request lose at the compare"
	end
}

test_bad_args() {
	local long

	begin migrate_bad_args
	long=$(printf 'x%.0s' $(seq 256))
	rejected "missing argument; usage: hsctl migrate VM --to HOST" migrate
	rejected "migrate: --to is required" migrate web
	rejected "vm: 'Web' is not a name" migrate Web --to fra-1
	rejected "--to: 'fra_1' is not a name" migrate web --to fra_1
	rejected "option '--to' given twice" migrate web --to fra-1 --to fra-2
	rejected "option '--to' needs a value" migrate web --to
	rejected "unexpected argument 'db'" migrate web db --to fra-1
	rejected "unknown option '--bogus'" migrate web --to fra-1 --bogus
	rejected "--timeout limits --follow, which is not given" migrate web --to fra-1 --timeout 5
	rejected "--timeout: '0' is not a number in 1..604800" migrate web --to fra-1 --follow \
		--timeout 0
	rejected "--timeout: 'soon' is not a number" migrate web --to fra-1 --follow --timeout soon
	rejected "reason: .*control characters" migrate web --to fra-1 --reason "$(printf 'a\tb')"
	rejected "--reason: longer than 255 bytes" migrate web --to fra-1 --reason "$long"
	rejected "option '--follow' given twice" migrate web --to fra-1 --follow --follow
	rejected "usage: hsctl migration list" migration
	rejected "usage: hsctl migration list" migration frob
	rejected "unexpected argument 'x'" migration list x
	rejected "missing argument; usage: hsctl migration show VM" migration show
	rejected "unexpected argument 'db'" migration show web db
	rejected "vm: 'Bad_Name' is not a name" migration show Bad_Name
	rejected "missing argument; usage: hsctl migration follow" migration follow
	rejected "--timeout: '604801' is not a number" migration follow web --timeout 604801
	rejected "unknown option '--follow'" migration follow web --follow
	rejected "missing argument; usage: hsctl migration cancel VM" migration cancel
	rejected "vm: '-x' is not a name|unknown option '-x'" migration cancel -x
	rejected "unknown option '--force'" migration cancel web --force
	hs --help
	grep -q "migrate VM --to HOST" <<<"$out" || bad "--help does not list migrate: '$out'"
	end
}

# ---- main ----

begin etcd
start_etcd || bad "etcd did not start on loopback"
end
[ "$nfail" -eq 0 ] || exit 1

test_setup
test_request
test_show_list
test_cancel
test_follow_done
test_follow_failed
test_follow_cancelled
test_follow_tty
test_follow_ends
test_follow_compacted
test_race
test_bad_args
[ "$nfail" -eq 0 ]
