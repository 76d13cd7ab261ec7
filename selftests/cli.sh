# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The case framework of the command-line tests (test_loader_cli, test_hsctl).
# Source it after defining hs ARGS... (runs the tool; sets rc, out, err) and
# T (a scratch directory). A case is begin NAME ... end: every bad call
# inside it is shown, the first one names its FAIL line.

nfail=0
cname=
why=

begin() {
	cname=$1
	why=
}

# Records a failure; the first one names the FAIL line, all are shown.
bad() {
	local msg

	msg=$(printf '%s' "$*" | tr -s '\n\t ' '   ' | cut -c1-400)
	echo "#   $cname: $msg"
	[ -n "$why" ] || why=$msg
}

end() {
	if [ -z "$why" ]; then
		echo "PASS $cname"
	else
		echo "FAIL $cname: $why"
		nfail=$((nfail + 1))
	fi
}

first_line() { head -n 1 <<<"$1"; }

# ok ARGS...: runs the tool and expects status 0.
ok() {
	hs "$@"
	[ "$rc" -eq 0 ] || bad "'$*': exit status $rc, expected 0 ($(first_line "$err"))"
}

# jcheck WHAT EXPR: $out parses as JSON (d) and the Python EXPR holds.
jcheck() {
	if ! python3 -c '
import json, sys, time
d = json.loads(sys.stdin.read())
sys.exit(0 if eval("(" + sys.argv[1] + ")") else 1)' "$2" <<<"$out" 2>"$T/pyerr"; then
		bad "$1 (${2}): $(tail -n 1 "$T/pyerr") $(tr '\n' ' ' <<<"$out" | cut -c1-300)"
	fi
}

# stop_pid PID: SIGTERM (etcd flushes its data dir), SIGKILL after 5 s.
stop_pid() {
	local pid=$1

	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
