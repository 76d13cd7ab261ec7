#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# What a live migration costs the client beyond QEMU's own pause.
#
# Two sites with a real guest (selftests/vm/mig_lib.sh: libvirt + QEMU under
# TCG, the XDP data plane, agents in etcd mode, migrated on both nodes). A
# client keeps a TCP request/response stream (1 kHz, 64-byte requests, every
# byte echoed and checked) to the guest's public address at A while the
# guest migrates A->B or B->A; one fresh client per migration, so its
# longest gap is that migration's. Extra gap = longest gap - QEMU's
# reported downtime. Three ways to switch, interleaved round by round:
#
#   pointer   the source turns its entries into forwarding pointers on
#             libvirt's pause event; the destination writes the new location
#             on resume (heliostat's design)
#   direct    no pointer; the destination still writes the new location on
#             resume
#   after     no pointer; the new location is written when the migration
#             call returns (a route switch after completion)
#
# Prints every migration, then per way the median extra gap, the median gap
# and downtime, the time from the pause event to the resume event, the time
# from resume to the client's first echo after its gap, and the ratio of each way's median extra gap to pointer's.
# Target (issue 6): median extra gap with the pointer <= 10 ms.
# Usage: bench/bench_migrate.sh [ROUNDS]   (default 10; HS_BENCH_MIG_ROUNDS)
# Exit 77 (skipped, with the reason) without libvirt, QEMU or etcd.
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/selftests/net/lib.sh"
source "$top/selftests/vm/libvirt.sh"
source "$top/selftests/vm/mig_lib.sh"
ROUNDS=${1:-${HS_BENCH_MIG_ROUNDS:-10}}
WAYS=(pointer direct after)

mig_require bench_migrate
mig_up A B || { echo "setup failed"; exit 1; }

# way_conf WAY: both nodes' migrated set up for WAY (restarted)
way_conf() {
	local n ptr=yes res=yes
	case $1 in
	direct) ptr=no ;;
	after) ptr=no res=no ;;
	esac
	for n in A B; do
		migrated_stop $n
		migrated_conf $n forwarding_pointer=$ptr record_on_resume=$res
		migrated_start $n || { echo "migrated on $n did not start"; return 1; }
	done
}

declare -A EXTRA GAP DOWN AFTER PAUSED
at=A
printf '%-8s %-6s %8s %10s %10s %10s %12s\n' way move gap_ms downtime_ms extra_ms paused_ms after_resume
for ((r = 1; r <= ROUNDS; r++)); do
	for w in "${WAYS[@]}"; do
		way_conf "$w" || exit 1
		to=$([ $at = A ] && echo B || echo A)
		client_start "$T/c.out"
		stream_advances "$T/c.out.st" 16000 20 || { echo "the stream does not flow"; mig_diag "new client" "$T/c.out"; exit 1; }
		sleep 0.5
		mark=$(wc -l < "$T/migrated-$at.log")
		dmark=$(wc -l < "$T/migrated-$to.log")
		mig_to $to "$T/follow.out" || { echo "migration $at->$to failed:"; tail -3 "$T/follow.out"; exit 1; }
		stream_advances "$T/c.out.st" 16000 20
		sleep 0.5
		client_stop > /dev/null || { echo "the stream broke: $(tail -1 "$T/c.out")"; exit 1; }
		gap=$(gap_of "$T/c.out")
		down=$(mig_downtime $at "$mark")
		extra=$(awk -v g="$gap" -v d="$down" 'BEGIN { printf "%.1f", g - d }')
		# the same gap against the events: when the VM paused at the
		# source and resumed at the destination (wall clock, one machine)
		paused=$(sed -n "$((mark + 1)),\$p" "$T/migrated-$at.log" | sed -n 's/.*paused here at \([0-9.]*\).*/\1/p' | head -1)
		resumed=$(sed -n "$((dmark + 1)),\$p" "$T/migrated-$to.log" | sed -n 's/.*resumed here at \([0-9.]*\).*/\1/p' | head -1)
		gend=$(sed -n 's/.*longest_gap_end=\([0-9.]*\).*/\1/p' "$T/c.out" | tail -1)
		paused_ms=$(awk -v p="$paused" -v r="$resumed" 'BEGIN { printf "%.1f", (r - p) * 1000 }')
		after_ms=$(awk -v e="$gend" -v r="$resumed" 'BEGIN { printf "%.1f", (e - r) * 1000 }')
		printf '%-8s %-6s %8s %10s %10s %10s %12s\n' "$w" "$at->$to" "$gap" "$down" "$extra" \
			"$paused_ms" "$after_ms"
		EXTRA[$w]+="$extra " GAP[$w]+="$gap " DOWN[$w]+="$down " AFTER[$w]+="$after_ms " PAUSED[$w]+="$paused_ms "
		at=$to
	done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
p=$(echo "${EXTRA[pointer]}" | median)
echo
printf '%-8s %16s %14s %18s %16s %18s %17s\n' way median_extra_ms median_gap_ms median_downtime_ms median_paused_ms median_after_resume extra_vs_pointer
for w in "${WAYS[@]}"; do
	e=$(echo "${EXTRA[$w]}" | median)
	printf '%-8s %16s %14s %18s %16s %18s %16sx\n' "$w" "$e" "$(echo "${GAP[$w]}" | median)" \
		"$(echo "${DOWN[$w]}" | median)" "$(echo "${PAUSED[$w]}" | median)" \
		"$(echo "${AFTER[$w]}" | median)" "$(awk -v e="$e" -v p="$p" 'BEGIN { printf "%.1f", (p > 0.1 ? e / p : 0) }')"
done
echo "paused_ms: source's pause event to destination's resume event; after_resume: the"
echo "destination's resume event to the client's first echo after its longest gap"
echo "target: median extra gap with the pointer <= 10 ms (measured: $p ms)"
