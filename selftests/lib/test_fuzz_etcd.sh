#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Builds the libFuzzer harness for the etcd response parser (clang,
# -fsanitize=fuzzer,address,undefined; `make -C selftests fuzz`) and runs it
# for a CI-sized budget from seeds of real gateway answers and a dictionary
# of their field names. SKIPs when clang cannot link libFuzzer binaries.
# Crash inputs are kept in build/selftests/fuzz_etcd-crashes/.
# Tuning: HS_FUZZ_RUNS (default 200000), HS_FUZZ_TIME (seconds, default 20).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BUILD:-$top/build}
name=lib/fuzz_etcd
bin=$build/selftests/fuzz_etcd
crashes=$build/selftests/fuzz_etcd-crashes

tmp=$(mktemp -d /tmp/hs-fuzz-etcd-XXXXXX) || { echo "FAIL $name: mktemp"; exit 1; }
trap 'rm -rf "$tmp"' EXIT

if ! command -v "${CLANG:-clang}" >/dev/null; then
	echo "SKIP $name: clang not installed"
	exit 0
fi
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' >"$tmp/probe.c"
if ! "${CLANG:-clang}" -fsanitize=fuzzer,address "$tmp/probe.c" -o "$tmp/probe" 2>"$tmp/probe.err"; then
	why=$(head -1 "$tmp/probe.err")
	echo "SKIP $name: clang cannot link -fsanitize=fuzzer (libFuzzer missing)${why:+: $why}"
	exit 0
fi
if ! make -C "$top/selftests" --no-print-directory fuzz >"$tmp/build.log" 2>&1; then
	sed 's/^/    /' "$tmp/build.log" | tail -20
	echo "FAIL $name: build failed"
	exit 1
fi

# Seeds: first byte is the message kind (enum hs_etcd_msg), then the body.
hdr='"header":{"cluster_id":"14443903163313418560","member_id":"11417610130673999598","revision":"7","raft_term":"2"}'
mkdir -p "$tmp/corpus"
seed() { printf "\\x$1%s" "$2" >"$tmp/corpus/$3"; }
seed 00 "{$hdr,\"kvs\":[{\"key\":\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":\"5\",\"version\":\"3\",\"value\":\"YmFy\",\"lease\":\"99\"}],\"count\":\"1\",\"more\":true}" range
seed 01 "{$hdr}" put
seed 02 "{$hdr,\"deleted\":\"4\"}" delete
seed 03 "{$hdr,\"succeeded\":true,\"responses\":[{\"response_put\":{\"header\":{\"revision\":\"7\"}}}]}" txn
seed 05 "{$hdr,\"ID\":\"2228897068072550667\",\"TTL\":\"5\"}" grant
seed 06 "{\"result\":{$hdr,\"ID\":\"12345\",\"TTL\":\"9\"}}" keepalive
seed 06 "{\"result\":{$hdr,\"ID\":\"12345\"}}" keepalive-lost
seed 08 "{\"result\":{$hdr,\"created\":true}}" watch-created
seed 08 "{\"result\":{$hdr,\"events\":[{\"kv\":{\"key\":\"Zm9v\",\"mod_revision\":\"2\",\"value\":\"YmFy\"}},{\"type\":\"DELETE\",\"kv\":{\"key\":\"Zm9v\",\"mod_revision\":\"3\"}}]}}" watch-events
seed 08 "{\"result\":{\"header\":{\"raft_term\":\"2\"},\"canceled\":true,\"compact_revision\":\"4\",\"cancel_reason\":\"x\"}}" watch-compacted
seed 08 "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"no leader\",\"http_status\":\"Service Unavailable\"}}" watch-error
seed 09 '{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}' error
cat >"$tmp/dict" <<'DICT'
"\"header\""
"\"revision\""
"\"kvs\""
"\"key\""
"\"value\""
"\"create_revision\""
"\"mod_revision\""
"\"version\""
"\"lease\""
"\"count\""
"\"more\""
"\"deleted\""
"\"succeeded\""
"\"responses\""
"\"ID\""
"\"TTL\""
"\"result\""
"\"error\""
"\"created\""
"\"canceled\""
"\"compact_revision\""
"\"cancel_reason\""
"\"events\""
"\"type\""
"\"DELETE\""
"\"PUT\""
"\"kv\""
"\"code\""
"\"grpc_code\""
"\"message\""
"\"9223372036854775807\""
"\"-9223372036854775808\""
"\"=\""
"\"==\""
"null"
"true"
"false"
DICT

runs=${HS_FUZZ_RUNS:-200000}
secs=${HS_FUZZ_TIME:-20}
mkdir -p "$crashes"
"$bin" -runs="$runs" -max_total_time="$secs" -max_len=4096 -timeout=10 \
	-dict="$tmp/dict" -artifact_prefix="$crashes/" -print_final_stats=1 \
	"$tmp/corpus" >"$tmp/fuzz.log" 2>&1
rc=$?
stats=$(grep -E '^stat::number_of_executed_units' "$tmp/fuzz.log" | awk '{print $2}')
cov=$(grep -oE 'cov: [0-9]+' "$tmp/fuzz.log" | tail -1)
if [ "$rc" -eq 0 ]; then
	rmdir "$crashes" 2>/dev/null
	echo "    ${stats:-?} inputs, $cov"
	echo "PASS $name"
else
	grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$tmp/fuzz.log" | head -10 | sed 's/^/    /'
	echo "FAIL $name: fuzzer exited with $rc; inputs in $crashes"
	exit 1
fi
