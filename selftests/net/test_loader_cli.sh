#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# hs-loader's node-state commands against maps pinned in a private bpffs
# directory: argument errors (which must change nothing), config, bindings
# with their reverse and marker entries, VMs, peers, counters, flows, --help
# and the agent's --check-config. No program is attached, no packet is sent.
#
# Prints PASS/FAIL/SKIP lines for selftests/run; "# " lines explain a FAIL.
# HS_LOADER overrides the binary (to check that the checks can fail).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
B=${HS_LOADER:-$top/build/loader/hs-loader}
PIN=/sys/fs/bpf/hs-cli-$$

if ! awk '$2 == "/sys/fs/bpf" && $3 == "bpf" { found = 1 } END { exit !found }' /proc/mounts; then
	echo "SKIP cli: bpffs is not mounted at /sys/fs/bpf (scripts/bpffs.sh mounts it)"
	exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP cli: needs root to create BPF maps"
	exit 77
fi
if ! command -v python3 >/dev/null; then
	echo "SKIP cli: python3 is needed to read the JSON output"
	exit 77
fi
if [ ! -x "$B" ]; then
	echo "FAIL cli_build: $B is missing (run make)"
	exit 1
fi
have_bpftool=false
command -v bpftool >/dev/null && have_bpftool=true
no_bpftool="bpftool not found"

T=$(mktemp -d)
cleanup() { rm -rf "$PIN" "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- test framework: begin/bad/end, ok, jcheck ----

# hs ARGS...: runs hs-loader on our pin; sets rc, out (stdout), err (stderr).
hs() {
	"$B" --pin "$PIN" "$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(<"$T/out")
	err=$(<"$T/err")
}
# shellcheck source=../cli.sh
source "$(dirname "$0")/../cli.sh"

want_rc() { # N WHAT
	[ "$rc" -eq "$1" ] || bad "$2: exit status $rc, expected $1 ($(first_line "$err"))"
}

want_err() { # REGEX WHAT
	grep -Eq -- "$1" <<<"$err" || bad "$2: stderr does not match /$1/: '$(first_line "$err")'"
}

want_line() { # LINE WHAT: stdout has exactly this line
	grep -Fxq -- "$1" <<<"$out" || bad "$2: no line '$1' in: $(tr '\n' '|' <<<"$out")"
}

no_line() { # REGEX WHAT: no stdout line matches
	! grep -Eq -- "$1" <<<"$out" || bad "$2: unexpected line /$1/ in: $(tr '\n' '|' <<<"$out")"
}

# Every row of "binding list --json" as one sorted line.
bindings_norm() {
	"$B" --pin "$PIN" --json binding list 2>/dev/null | python3 -c '
import json, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL) # grep -q may stop reading
rows = []
for r in json.load(sys.stdin):
    s = "%s %s/%d -> %s:%d id %d" % (r["public"], r["proto"], r["port"], r["vm"] or "-",
                                    r["vm_port"], r["vm_id"])
    if r["marker"]:
        s += " marker"
    if r["has_ports"]:
        s += " ports"
    rows.append(s)
print("\n".join(sorted(rows)))'
}

# map_rows MAP: the pinned bindings or rbindings map decoded from the raw
# bytes bpftool prints, one sorted line per entry ("::" is a zero address).
map_rows() {
	bpftool -j map dump pinned "$PIN/$1" 2>/dev/null | python3 -c '
import ipaddress, json, signal, sys
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
def ip(b):
    a = ipaddress.IPv6Address(bytes(b))
    return str(a.ipv4_mapped or a)
rows = []
for e in json.load(sys.stdin):
    k = [int(x, 16) for x in e["key"]]
    v = [int(x, 16) for x in e["value"]]
    if sys.argv[1] == "bindings":
        rows.append("%s %d/%d -> %s vm_port %d flags %d" % (ip(k[:16]), k[18],
                    k[16] << 8 | k[17], ip(v[:16]), v[16] << 8 | v[17], v[18] | v[19] << 8))
    else:
        rows.append("%s %d/%d -> %s port %d" % (ip(k[:16]), k[18], k[16] << 8 | k[17],
                    ip(v[:16]), v[16] << 8 | v[17]))
print("\n".join(sorted(rows)))' "$1"
}

# Everything the commands can change, as text.
snapshot() {
	local c

	for c in "config show" "binding list" "vm list" "peer list"; do
		# shellcheck disable=SC2086
		"$B" --pin "$PIN" --json $c 2>&1
		echo "rc=$?"
	done
	if $have_bpftool; then
		bpftool map dump pinned "$PIN/rbindings" 2>&1
		bpftool map dump pinned "$PIN/bindings" 2>&1
	fi
}

# rejected REGEX ARGS...: status 2, stderr matching REGEX, state unchanged.
rejected() {
	local re=$1 before after

	shift
	before=$(snapshot)
	hs "$@"
	after=$(snapshot)
	[ "$rc" -eq 2 ] || bad "'$*': exit status $rc, expected 2"
	if [ -z "$err" ]; then
		bad "'$*': nothing on stderr"
	elif ! grep -Eq -- "$re" <<<"$err"; then
		bad "'$*': stderr does not name the problem (/$re/): '$(first_line "$err")'"
	fi
	[ "$before" == "$after" ] ||
		bad "'$*': state changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | head -n 4 | tr '\n' ' ')"
}

# ---- cases ----

test_bad_args() {
	begin cli_bad_args
	# something to lose: a config, bindings, a VM, a peer
	ok config set --underlay4 192.0.2.10 --vni 42 --mtu 1500
	ok binding add 198.51.100.1 10.0.0.1 --id 1
	ok binding add 198.51.100.2 10.0.0.2 --proto tcp --port 80
	ok vm remote 10.0.0.1 --host 192.0.2.20
	ok peer add 192.0.2.20
	[ -z "$why" ] || { end; return; }

	rejected "frobnicate" frobnicate
	rejected "frobnicate" config frobnicate
	rejected "--bogus" --bogus config show
	rejected "'--bogus'" binding add 198.51.100.9 10.0.0.9 --bogus 1
	rejected "--host.*needs a value" vm remote 10.0.0.9 --host
	rejected "--vni.*needs a value" config set --vni
	rejected "twice" config set --vni 1 --vni 2
	rejected "loud" --log-level loud config show
	rejected "198\.51\.100\.300" binding add 198.51.100.300 10.0.0.9
	rejected "'10\.0\.0'" binding add 198.51.100.9 10.0.0
	rejected "192\.0\.2\.x" vm remote 10.0.0.9 --host 192.0.2.x
	rejected "192\.0\.2\.x" peer add 192.0.2.x
	rejected "52:54:00:00:00'.*MAC" vm remote 10.0.0.9 --host 192.0.2.9 --mac 52:54:00:00:00
	rejected "zz:54:00:00:00:01" vm local 10.0.0.9 --dev lo --mac zz:54:00:00:00:01
	rejected "--dev" vm local 10.0.0.9 --mac 52:54:00:00:00:09
	rejected "--host" vm remote 10.0.0.9
	rejected "--port.*70000" binding add 198.51.100.9 10.0.0.9 --proto tcp --port 70000
	rejected "--port.*'0'" binding add 198.51.100.9 10.0.0.9 --proto tcp --port 0
	rejected "sctp" binding add 198.51.100.9 10.0.0.9 --proto sctp --port 80
	rejected "--proto" binding add 198.51.100.9 10.0.0.9 --port 80
	rejected "--port" binding add 198.51.100.9 10.0.0.9 --proto udp
	rejected "VM port" binding add 198.51.100.9 10.0.0.9 --vm-port 8080
	rejected "famil" binding add 198.51.100.9 2001:db8::9
	rejected "binding del takes only" binding del 198.51.100.1 --id 1
	rejected "--mtu.*1000" config set --mtu 1000
	rejected "--vni.*16777216" config set --vni 16777216
	rejected "--underlay4.*2001:db8::1" config set --underlay4 2001:db8::1
	rejected "--underlay6.*192\.0\.2\.1" config set --underlay6 192.0.2.1
	rejected "--mtu.*99" config set --vni 7 --mtu 99
	rejected "--enable.*maybe" config set --vni 7 --enable maybe
	end
}

# Every command rejects a stray argument after "list" (the others do).
test_bad_args_list() {
	local c

	begin cli_bad_args_list
	for c in binding vm peer; do
		rejected "extra" $c list extra
	done
	end
}

# A rejected command on a node with no maps yet must not create them.
test_bad_args_no_create() {
	local fresh=$PIN/fresh pin=$PIN args

	begin cli_bad_args_no_create
	PIN=$fresh
	for args in "config set --mtu 1000" "config set --enable on" \
		    "binding add 198.51.100.9 2001:db8::9"; do
		# shellcheck disable=SC2086
		hs $args
		want_rc 2 "'$args' on an empty pin"
		[ ! -e "$fresh" ] || bad "'$args' was rejected but created $fresh ($(cd "$fresh" && echo *))"
		rm -rf "$fresh"
	done
	PIN=$pin
	end
}

test_config() {
	local json1

	begin cli_config
	ok config set --underlay4 192.0.2.10 --underlay6 2001:db8::10 --vni 4242 --port 8472 \
		--mtu 1450 --uplink lo --frag-forward on
	ok config show
	[ "$out" == "underlay4 192.0.2.10
underlay6 2001:db8::10
vni 4242
port 8472
mtu 1450
uplink lo
enabled on
frag-forward on" ] || bad "config show printed: $(tr '\n' '|' <<<"$out")"
	ok config show --json
	json1=$out
	jcheck "config show --json" 'd == {"underlay4": "192.0.2.10", "underlay6": "2001:db8::10",
		"vni": 4242, "port": 8472, "mtu": 1450, "uplink": "lo", "enabled": True,
		"frag_forward": True}'
	ok --json config show
	[ "$out" == "$json1" ] || bad "--json before the command prints differently"

	# a partial set keeps the rest
	ok config set --frag-forward off --enable off --mtu 0
	ok config show --json
	jcheck "after --frag-forward off --enable off --mtu 0" \
		'd["frag_forward"] is False and d["enabled"] is False and d["mtu"] == 0 and
		 d["vni"] == 4242 and d["port"] == 8472 and d["underlay4"] == "192.0.2.10" and
		 d["underlay6"] == "2001:db8::10" and d["uplink"] == "lo"'
	ok config show
	want_line "enabled off" "config show after --enable off"
	want_line "frag-forward off" "config show after --frag-forward off"
	ok config set --enable on --vni 16777215 --port 65535 --mtu 1280
	ok config show --json
	jcheck "after --enable on and the limits" \
		'd["enabled"] is True and d["vni"] == 16777215 and d["port"] == 65535 and
		 d["mtu"] == 1280'
	end
}

test_binding() {
	local want

	begin cli_binding
	ok binding add 198.51.100.10 10.0.0.10 --id 3
	ok binding add 198.51.100.20 10.0.0.20 --proto tcp --port 80 --vm-port 8080 --id 4
	ok binding add 198.51.100.20 10.0.0.20 --proto udp --port 53
	ok binding add 2001:db8:cafe::10 2001:db8:100::10
	want="198.51.100.10 any/0 -> 10.0.0.10:0 id 3
198.51.100.20 any/0 -> -:0 id 0 marker ports
198.51.100.20 tcp/80 -> 10.0.0.20:8080 id 4
198.51.100.20 udp/53 -> 10.0.0.20:0 id 0
2001:db8:cafe::10 any/0 -> 2001:db8:100::10:0 id 0"
	[ "$(bindings_norm | grep -E '^(198\.51\.100\.[12]0|2001:db8:cafe::10) ')" == "$want" ] ||
		bad "binding list --json after adding: $(bindings_norm | tr '\n' '|')"
	ok binding list
	want_line "198.51.100.10 -> 10.0.0.10 (vm 3)" "binding list"
	want_line "198.51.100.20 tcp/80 -> 10.0.0.20 port 8080 (vm 4)" "binding list"
	want_line "198.51.100.20 udp/53 -> 10.0.0.20 port 53 (vm 0)" "binding list"
	want_line "198.51.100.20 (port bindings only)" "binding list"
	want_line "2001:db8:cafe::10 -> 2001:db8:100::10 (vm 0)" "binding list"

	# a port binding on an address that has an address-only binding
	ok binding add 198.51.100.10 10.0.0.10 --proto tcp --port 443
	ok binding list
	want_line "198.51.100.10 -> 10.0.0.10 (vm 3), has port bindings" "address entry after a port"
	ok binding del 198.51.100.10 --proto tcp --port 443
	ok binding list
	want_line "198.51.100.10 -> 10.0.0.10 (vm 3)" "address entry after its last port went"

	# the marker goes with the last port binding, not before
	ok binding del 198.51.100.20 --proto tcp --port 80
	bindings_norm | grep -Fxq "198.51.100.20 any/0 -> -:0 id 0 marker ports" ||
		bad "marker of 198.51.100.20 gone while udp/53 is still bound"
	ok binding del 198.51.100.20 --proto udp --port 53
	! bindings_norm | grep -q '^198\.51\.100\.20 ' ||
		bad "198.51.100.20 still listed after its last port binding: $(bindings_norm | grep '^198\.51\.100\.20 ' | tr '\n' '|')"

	# deleting what is not there
	hs binding del 198.51.100.10 --proto tcp --port 443
	want_rc 1 "deleting a deleted port binding"
	want_err "no such binding" "deleting a deleted port binding"
	hs binding del 198.51.100.99
	want_rc 1 "deleting an unknown address"
	want_err "no such binding" "deleting an unknown address"
	hs binding del 198.51.100.20
	want_rc 1 "deleting a gone marker-only address"

	# the address binding goes, the marker stays for the port binding
	ok binding add 198.51.100.10 10.0.0.10 --proto tcp --port 443
	ok binding del 198.51.100.10
	want="198.51.100.10 any/0 -> -:0 id 0 marker ports
198.51.100.10 tcp/443 -> 10.0.0.10:0 id 0"
	[ "$(bindings_norm | grep '^198\.51\.100\.10 ')" == "$want" ] ||
		bad "after deleting the address binding under a port: $(bindings_norm | grep '^198\.51\.100\.10 ' | tr '\n' '|')"
	hs binding del 198.51.100.10
	want_rc 1 "deleting the address binding twice (only the marker is left)"
	ok binding del 198.51.100.10 --proto tcp --port 443
	ok binding del 2001:db8:cafe::10
	! bindings_norm | grep -Eq '^(198\.51\.100\.[12]0|2001:db8:cafe::10) ' ||
		bad "entries left after deleting every binding: $(bindings_norm | tr '\n' '|')"
	end
}

# The same life cycle seen in the maps themselves.
test_binding_maps() {
	local dump f

	if ! $have_bpftool; then
		echo "SKIP cli_binding_maps: $no_bpftool (needed to dump bindings and rbindings)"
		return
	fi
	begin cli_binding_maps
	ok binding add 198.51.100.60 10.0.0.60
	ok binding add 198.51.100.61 10.0.0.61 --proto tcp --port 80 --vm-port 8080 --id 4
	ok binding add 198.51.100.61 10.0.0.61 --proto udp --port 53
	dump=$(bpftool map dump pinned "$PIN/bindings" 2>&1)
	for f in '"pub"' '"port"' '"proto"' '"vm"' '"vm_port"' '"flags"' '"vm_id"'; do
		grep -Fq "$f" <<<"$dump" || bad "bpftool map dump of bindings shows no field $f"
	done
	grep -Fq '"pub"' <<<"$(bpftool map dump pinned "$PIN/rbindings" 2>&1)" ||
		bad "bpftool map dump of rbindings shows no field \"pub\""
	map_rows bindings | grep -Fxq "198.51.100.61 0/0 -> :: vm_port 0 flags 1" ||
		bad "no marker entry for 198.51.100.61 in bindings: $(map_rows bindings | tr '\n' '|')"
	map_rows bindings | grep -Fxq "198.51.100.61 6/80 -> 10.0.0.61 vm_port 8080 flags 0" ||
		bad "no tcp/80 entry for 198.51.100.61 in bindings"
	[ "$(map_rows rbindings | grep -E '^10\.0\.0\.6[01] ')" == \
		"10.0.0.60 0/0 -> 198.51.100.60 port 0
10.0.0.61 17/53 -> 198.51.100.61 port 53
10.0.0.61 6/8080 -> 198.51.100.61 port 80" ] ||
		bad "rbindings after adding: $(map_rows rbindings | tr '\n' '|')"

	ok binding del 198.51.100.61 --proto tcp --port 80
	map_rows rbindings | grep -q '^10\.0\.0\.61 6/8080 ' && bad "rbindings keeps tcp/8080 of a deleted binding"
	map_rows rbindings | grep -q '^10\.0\.0\.61 17/53 ' || bad "rbindings lost udp/53 of a kept binding"
	map_rows bindings | grep -Fxq "198.51.100.61 0/0 -> :: vm_port 0 flags 1" ||
		bad "marker gone while udp/53 is still bound"
	ok binding del 198.51.100.61 --proto udp --port 53
	map_rows bindings | grep -q '^198\.51\.100\.61 ' &&
		bad "bindings keeps an entry for 198.51.100.61 after its last port: $(map_rows bindings | grep '^198\.51\.100\.61 ' | tr '\n' '|')"
	map_rows rbindings | grep -q '^10\.0\.0\.61 ' && bad "rbindings keeps an entry of 10.0.0.61"
	ok binding del 198.51.100.60
	map_rows rbindings | grep -q '^10\.0\.0\.60 ' && bad "rbindings keeps the address entry of 10.0.0.60"
	map_rows bindings | grep -q '^198\.51\.100\.60 ' && bad "bindings keeps 198.51.100.60"
	end
}

# A VM answers as one public address (per port): a second one is refused.
test_binding_conflict() {
	local before

	begin cli_binding_conflict
	ok binding add 198.51.100.30 10.0.0.30
	ok binding add 198.51.100.32 10.0.0.32 --proto tcp --port 80
	before=$(snapshot)
	hs binding add 198.51.100.31 10.0.0.30
	want_rc 1 "second public address for 10.0.0.30"
	want_err "10\.0\.0\.30.*already answers as 198\.51\.100\.30" "second public address for 10.0.0.30"
	hs binding add 198.51.100.33 10.0.0.32 --proto tcp --port 80
	want_rc 1 "second public address for 10.0.0.32 tcp/80"
	want_err "already answers as 198\.51\.100\.32 port 80" "second public address for 10.0.0.32 tcp/80"
	hs binding add 198.51.100.33 10.0.0.32 --proto tcp --port 8080 --vm-port 80
	want_rc 1 "second public port for 10.0.0.32 tcp/80"
	[ "$before" == "$(snapshot)" ] || bad "a refused binding changed the maps"
	# the same binding again is no conflict
	ok binding add 198.51.100.30 10.0.0.30
	ok binding add 198.51.100.32 10.0.0.32 --proto tcp --port 80
	[ "$before" == "$(snapshot)" ] || bad "adding an existing binding again changed the maps"
	ok binding del 198.51.100.30
	ok binding del 198.51.100.32 --proto tcp --port 80
	end
}

# Re-pointing a binding must take the old reverse entry with it.
test_binding_replace() {
	local a

	begin cli_binding_replace
	ok binding add 198.51.100.40 10.0.0.40
	ok binding add 198.51.100.40 10.0.0.41
	bindings_norm | grep -Fxq "198.51.100.40 any/0 -> 10.0.0.41:0 id 0" ||
		bad "198.51.100.40 does not point at 10.0.0.41 after re-adding"
	if $have_bpftool; then
		map_rows rbindings | grep -q '^10\.0\.0\.40 ' &&
			bad "rbindings still maps 10.0.0.40 to 198.51.100.40 after 198.51.100.40 moved to 10.0.0.41"
	fi
	hs binding add 198.51.100.42 10.0.0.40
	want_rc 0 "binding 10.0.0.40 (no longer bound) to 198.51.100.42"

	ok binding add 198.51.100.43 10.0.0.43 --proto tcp --port 80 --vm-port 8080
	ok binding add 198.51.100.43 10.0.0.43 --proto tcp --port 80 --vm-port 9090
	if $have_bpftool; then
		map_rows rbindings | grep -q '^10\.0\.0\.43 6/8080 ' &&
			bad "rbindings keeps 10.0.0.43 tcp/8080 after the binding moved to port 9090"
	fi
	hs binding add 198.51.100.44 10.0.0.43 --proto tcp --port 81 --vm-port 8080
	want_rc 0 "binding 10.0.0.43 tcp/8080 (no longer bound) to 198.51.100.44"

	for a in "198.51.100.40" "198.51.100.42" "198.51.100.43 --proto tcp --port 80" \
		 "198.51.100.44 --proto tcp --port 81"; do
		# shellcheck disable=SC2086
		hs binding del $a
	done
	end
}

test_vm() {
	local lo_mac lo_idx

	begin cli_vm
	lo_mac=$(cat /sys/class/net/lo/address)
	lo_idx=$(cat /sys/class/net/lo/ifindex)
	ok vm remote 10.0.1.2 --host 192.0.2.2 --mac 52:54:00:00:01:02 --entry 192.0.2.9 --epoch 3 --id 7
	ok vm forward 2001:db8:1::2 --host 2001:db8::2
	ok vm local 10.0.1.1 --dev lo --mac 52:54:00:00:01:01 --gw-mac 52:54:00:00:01:fe --id 9
	ok vm local 10.0.1.3 --dev lo --mac 52:54:00:00:01:03
	ok vm list
	want_line "10.0.1.1 local lo mac 52:54:00:00:01:01 entry - epoch 1 vm 9" "vm list"
	want_line "10.0.1.2 remote 192.0.2.2 mac 52:54:00:00:01:02 entry 192.0.2.9 epoch 3 vm 7" "vm list"
	want_line "2001:db8:1::2 forward 2001:db8::2 mac 00:00:00:00:00:00 entry - epoch 1 vm 0" "vm list"
	ok vm list --json
	jcheck "vm list --json: local 10.0.1.1" "[v for v in d if v['address'] == '10.0.1.1'] ==
		[{'address': '10.0.1.1', 'kind': 'local', 'dev': 'lo', 'ifindex': $lo_idx,
		  'gw_mac': '52:54:00:00:01:fe', 'mac': '52:54:00:00:01:01', 'entry': '',
		  'epoch': 1, 'vm_id': 9}]"
	jcheck "vm list --json: local 10.0.1.3 takes lo's MAC as gateway MAC" \
		"[(v['kind'], v['gw_mac']) for v in d if v['address'] == '10.0.1.3'] ==
		 [('local', '$lo_mac')]"
	jcheck "vm list --json: remote 10.0.1.2" "[v for v in d if v['address'] == '10.0.1.2'] ==
		[{'address': '10.0.1.2', 'kind': 'remote', 'host': '192.0.2.2',
		  'mac': '52:54:00:00:01:02', 'entry': '192.0.2.9', 'epoch': 3, 'vm_id': 7}]"
	jcheck "vm list --json: forward 2001:db8:1::2" \
		"[(v['kind'], v['host'], v['epoch']) for v in d if v['address'] == '2001:db8:1::2'] ==
		 [('forward', '2001:db8::2', 1)]"

	# a remote VM becomes a forwarding pointer in place
	ok vm forward 10.0.1.2 --host 192.0.2.3 --epoch 4 --id 7
	ok vm list --json
	jcheck "vm 10.0.1.2 after vm forward" \
		"[(v['kind'], v['host'], v['epoch']) for v in d if v['address'] == '10.0.1.2'] ==
		 [('forward', '192.0.2.3', 4)]"

	hs vm local 10.0.1.4 --dev hs-cli-nodev --mac 52:54:00:00:01:04
	[ "$rc" -ne 0 ] || bad "vm local on a missing interface succeeded"
	want_err "hs-cli-nodev" "vm local on a missing interface"

	ok vm del 10.0.1.2
	hs vm del 10.0.1.2
	want_rc 1 "deleting a deleted VM"
	want_err "no VM 10\.0\.1\.2" "deleting a deleted VM"
	ok vm del 10.0.1.1
	ok vm del 10.0.1.3
	ok vm del 2001:db8:1::2
	ok vm list
	no_line "^(10\.0\.1\.[123]|2001:db8:1::2) " "vm list after deleting"
	ok vm list --json
	jcheck "vm list --json after deleting" \
		"not [v for v in d if v['address'] in ('10.0.1.1', '10.0.1.2', '10.0.1.3', '2001:db8:1::2')]"
	end
}

test_peer() {
	begin cli_peer
	ok peer add 192.0.2.50 --id 5
	ok peer add 2001:db8::50
	ok peer list
	want_line "192.0.2.50 host 5" "peer list"
	want_line "2001:db8::50 host 0" "peer list"
	ok peer list --json
	jcheck "peer list --json" "sorted((p['address'], p['host_id']) for p in d
		if p['address'] in ('192.0.2.50', '2001:db8::50')) == [('192.0.2.50', 5), ('2001:db8::50', 0)]"
	ok peer add 192.0.2.50 --id 6
	ok peer list
	want_line "192.0.2.50 host 6" "peer list after re-adding with --id 6"
	ok peer del 192.0.2.50
	hs peer del 192.0.2.50
	want_rc 1 "deleting a deleted peer"
	want_err "192\.0\.2\.50" "deleting a deleted peer"
	ok peer del 2001:db8::50
	ok peer list --json
	jcheck "peer list --json after deleting" \
		"not [p for p in d if p['address'] in ('192.0.2.50', '2001:db8::50')]"
	end
}

test_counters() {
	local text

	begin cli_counters
	ok counters --all
	text=$out
	[ "$(grep -c . <<<"$text")" -ge 20 ] || bad "counters --all lists only $(grep -c . <<<"$text") lines"
	grep -Evq '^[A-Z][A-Z0-9_]+ +[0-9]+  .+$' <<<"$text" &&
		bad "counters --all line not 'NAME COUNT  DESCRIPTION': $(grep -Ev '^[A-Z][A-Z0-9_]+ +[0-9]+  .+$' <<<"$text" | head -n 1)"
	awk '{ print $1 }' <<<"$text" >"$T/names"
	ok counters --json
	jcheck "counters --json has exactly the names of counters --all, with counts" \
		"isinstance(d, dict) and sorted(d) == sorted(open('$T/names').read().split()) and
		 all(type(v) is int and v >= 0 for v in d.values())"
	jcheck "counters --json has the first and last reason" "'PASS_NOT_IP' in d and 'DROP_ERROR' in d"
	# without --all: exactly the non-zero ones
	python3 -c 'import json, sys
print("\n".join(sorted(k for k, v in json.loads(sys.stdin.read()).items() if v)))' <<<"$out" >"$T/nonzero"
	ok counters
	[ "$(awk '{ print $1 }' <<<"$out" | sed '/^$/d' | sort)" == "$(sed '/^$/d' "$T/nonzero")" ] ||
		bad "counters without --all does not list exactly the non-zero counters"
	ok counters --reset
	[ -z "$out" ] || bad "counters --reset printed '$out'"
	ok counters --json
	jcheck "counters --json after --reset" "all(v == 0 for v in d.values())"
	ok --json counters --reset
	end
}

# Counts put in the per-CPU map by hand, then reset.
test_counters_reset() {
	local name

	if ! $have_bpftool; then
		echo "SKIP cli_counters_reset: $no_bpftool (needed to set a counter)"
		return
	fi
	begin cli_counters_reset
	ok counters --all
	name=$(sed -n 6p <<<"$out" | awk '{ print $1 }') # reason 5
	bpftool map update pinned "$PIN/counters" key 5 0 0 0 value 7 0 0 0 0 0 0 0 >/dev/null 2>&1 ||
		bad "bpftool cannot write the counters map"
	ok counters --json
	jcheck "counters --json shows $name set by bpftool" "d['$name'] > 0 and d['$name'] % 7 == 0"
	ok counters
	grep -Eq "^$name +[1-9][0-9]*  " <<<"$out" || bad "counters does not list $name: '$out'"
	ok counters --reset
	ok counters --json
	jcheck "counters --json after --reset" "all(v == 0 for v in d.values())"
	ok counters
	[ -z "$out" ] || bad "counters lists counts after --reset: $(first_line "$out")"
	end
}

test_flows() {
	begin cli_flows
	ok flows list
	[ -z "$out" ] || bad "flows list on an empty map printed '$(first_line "$out")'"
	ok flows list --json
	jcheck "flows list --json on an empty map" "d == []"
	ok flows flush
	want_err "flushed 0 flow entries" "flows flush on an empty map"
	ok nexthops flush
	hs flows frobnicate
	want_rc 2 "flows frobnicate"
	want_err "frobnicate" "flows frobnicate"
	hs nexthops list
	want_rc 2 "nexthops list"
	want_err "'list'" "nexthops list"
	end
}

# Entries put in the maps by hand, then flushed.
test_flows_maps() {
	local zero32

	if ! $have_bpftool; then
		echo "SKIP cli_flows_maps: $no_bpftool (needed to fill flows and nexthops)"
		return
	fi
	begin cli_flows_maps
	# client ::ffff:203.0.113.5 port 1234, vm ::ffff:10.0.0.1 port 80, tcp
	bpftool map update pinned "$PIN/flows" \
		key 0 0 0 0 0 0 0 0 0 0 255 255 203 0 113 5 0 0 0 0 0 0 0 0 0 0 255 255 10 0 0 1 \
		4 210 0 80 6 0 0 0 \
		value 0 0 0 0 0 0 0 0 0 0 255 255 192 0 2 10 7 0 0 0 0 0 0 0 >/dev/null 2>&1 ||
		bad "bpftool cannot write the flows map"
	ok flows list
	[ "$out" == "proto 6 203.0.113.5:1234 -> 10.0.0.1:80 via 192.0.2.10" ] ||
		bad "flows list printed '$out'"
	ok flows list --json
	jcheck "flows list --json" "d == [{'client': '203.0.113.5', 'client_port': 1234,
		'vm': '10.0.0.1', 'vm_port': 80, 'proto': 6, 'entry': '192.0.2.10'}]"
	ok flows flush
	want_err "flushed 1 flow entries" "flows flush"
	ok flows list
	[ -z "$out" ] || bad "flows list after flush printed '$(first_line "$out")'"

	zero32=$(printf '0 %.0s' {1..32})
	# shellcheck disable=SC2086
	bpftool map update pinned "$PIN/nexthops" key 0 0 0 0 0 0 0 0 0 0 255 255 192 0 2 1 \
		value $zero32 >/dev/null 2>&1 || bad "bpftool cannot write the nexthops map"
	[ "$(bpftool -j map dump pinned "$PIN/nexthops" 2>/dev/null |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')" == 1 ] ||
		bad "nexthops has no entry after bpftool wrote one"
	ok nexthops flush
	[ "$(bpftool -j map dump pinned "$PIN/nexthops" 2>/dev/null |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')" == 0 ] ||
		bad "nexthops not empty after nexthops flush"
	end
}

test_help() {
	local c h

	begin cli_help
	for h in --help -h; do
		hs $h
		want_rc 0 "$h"
		[ "$(first_line "$out")" == "usage: hs-loader [--pin DIR] [--json] [--log-level LEVEL] COMMAND [ARGS]" ] ||
			bad "$h: first line is '$(first_line "$out")'"
		[ -z "$err" ] || bad "$h wrote to stderr: $(first_line "$err")"
		for c in attach detach status config binding vm peer flows nexthops counters agent; do
			grep -Eq "^ +$c( |\$)" <<<"$out" || bad "$h does not show the command '$c'"
		done
	done
	"$B" >"$T/out" 2>"$T/err"
	rc=$?
	err=$(<"$T/err")
	want_rc 2 "no command"
	want_err "^usage: hs-loader" "no command"
	end
}

test_agent() {
	local f re

	begin cli_agent
	hs agent --config "$T/nonexistent.conf"
	[ "$rc" -eq 1 ] || [ "$rc" -eq 2 ] || bad "agent on a missing file: exit status $rc, expected 1 or 2"
	want_err "nonexistent\.conf" "agent on a missing file"

	cat >"$T/ok.conf" <<-'EOF'
		# a node with two VMs
		[node]
		uplink = lo
		underlay4 = 192.0.2.10
		vni = 42
		port = 4789
		mtu = 1500
		peers = 192.0.2.11, 192.0.2.12 2001:db8::12

		[agent]
		vm_ifname = vnet*
		xdp_mode = skb
		log_level = warn

		[vm web1]
		address = 10.0.0.1
		address6 = 2001:db8:100::1
		mac = 52:54:00:00:00:01
		ifname = tap-web1
		entry = 192.0.2.10
		id = 1

		[vm web2]
		address = 10.0.0.2
		mac = 52:54:00:00:00:02
	EOF
	"$B" --pin "$PIN/agent-check" agent --config "$T/ok.conf" --check-config >"$T/out" 2>"$T/err"
	rc=$?
	out=$(<"$T/out")
	err=$(<"$T/err")
	want_rc 0 "--check-config on a valid file"
	grep -Fq "valid (2 VMs, 3 peers)" <<<"$out" || bad "--check-config printed '$out'"
	[ ! -e "$PIN/agent-check" ] || bad "--check-config created $PIN/agent-check"

	# bad files: FILE, the message it must give
	printf '[node]\nvni = 1\nbogus = 1\n' >"$T/key.conf"
	printf '[node]\nunderlay4 = 192.0.2.300\n' >"$T/addr.conf"
	printf '[node]\nunderlay6 = 192.0.2.1\n' >"$T/addr6.conf"
	printf '[vm a]\naddress = 10.0.0.1\nmac = 52:54:00:00:00:01\n[vm b]\naddress = 10.0.0.2\nmac = 52:54:00:00:00:01\n' \
		>"$T/dupmac.conf"
	printf '[node]\nmtu = 1000\n' >"$T/mtu.conf"
	printf '[node]\nvni = 1\nvni = 2\n' >"$T/twice.conf"
	printf '[node]\nvni = 16777216\n' >"$T/vni.conf"
	printf '[vm a]\naddress = 10.0.0.1\n' >"$T/nomac.conf"
	printf '[agent]\nxdp_mode = fast\n' >"$T/mode.conf"
	while read -r f re; do
		hs agent --config "$T/$f" --check-config
		want_rc 2 "--check-config on $f"
		want_err "$re" "--check-config on $f"
		[ -z "$out" ] || bad "--check-config on $f printed '$out'"
	done <<-EOF
		key.conf $T/key.conf:3: .*bogus
		addr.conf $T/addr.conf.*underlay4.*192\.0\.2\.300
		addr6.conf $T/addr6.conf.*underlay6
		dupmac.conf $T/dupmac.conf.*same mac
		mtu.conf $T/mtu.conf.*mtu.*1000
		twice.conf $T/twice.conf:3: .*vni
		vni.conf $T/vni.conf:2: .*vni
		nomac.conf $T/nomac.conf.*mac
		mode.conf $T/mode.conf.*xdp_mode.*fast
	EOF
	hs agent --check-config
	want_rc 2 "agent without --config"
	want_err "--config" "agent without --config"
	end
}

test_bad_args
test_bad_args_list
test_bad_args_no_create
test_config
test_binding
test_binding_maps
test_binding_conflict
test_binding_replace
test_vm
test_peer
test_counters
test_counters_reset
test_flows
test_flows_maps
test_help
test_agent

[ "$nfail" -eq 0 ]
