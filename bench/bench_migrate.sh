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
#   direct    no pointer (migrated's forwarding_pointer=no: nor a switchover
#             record, which would make the source's agent keep one); the
#             destination still writes the new location on resume
#   after     no pointer; the new location is written when the migration
#             call returns (a route switch after completion)
#   pause     the control, no migration: the guest is paused where it runs
#             for PAUSE_MS (virsh suspend, resume) and keeps its QEMU
#             process; downtime and paused_ms are the time between libvirt's
#             two events, and the capture columns are na. What the guest
#             itself adds after a pause when its TCG translations are warm.
#
# Prints every migration, then per way the median extra gap, the median gap
# and downtime, the time from the pause event to the resume event, the time
# from resume to the client's first echo after its gap, and the ratio of each way's median extra gap to pointer's.
# Target (issue 6): median extra gap with the pointer <= 10 ms.
#
# Where the time after resume goes, from two packet captures per migration
# (tcpdump, wall clock like migrated's and hs_stream's times): the client's
# cl0, which tells its retransmissions (a segment starting below the highest
# sequence it had sent), and the router's port to the destination node (r1
# or r2), both directions, VXLAN decoded. Not the destination VM's tap: the
# data plane's XDP programs move the guest's frames between the tap and the
# uplink by redirect, which passes no packet socket (tcpdump on the tap sees
# nothing of the stream), and xdpdump's fentry programs do not load on this
# kernel. Between that router port and the tap there is only the destination
# node's XDP program (microseconds either way). A frame the node only relays
# (it is the front-end: in from the client, out in VXLAN to the other node,
# or back) shows on that port in both directions and is not counted as the
# local guest's. Per migration, against the destination's resume event R:
#   in_ms      first frame to the guest handed to the tap (negative: it
#              waited in the tap for the guest)
#   guest1_ms  the guest's first frame (of the stream, any kind)
#   echo_ms    the guest's first segment with payload (an echo)
#   back_ms    that echo leaving the node -> the client's first echo after
#              its longest gap (hs_stream's longest_gap_end; the network back)
#   sack       pure ACKs with SACK blocks the guest sent before that echo
#              (requests lost at the source: a hole the client must fill;
#              0 also when a retransmission filled it before the resume)
#   retx       client retransmissions that reached the destination's guest
#   retx_ms    the first of them
# R and longest_gap_end have millisecond resolution, the captures microsecond
# (snap length 160 at the router: VXLAN's 50 bytes, then the inner headers
# with every TCP option). A frame the destination node drops would count as
# handed to the tap.
# Usage: bench/bench_migrate.sh [ROUNDS]   (default 10; HS_BENCH_MIG_ROUNDS)
# Exit 77 (skipped, with the reason) without libvirt, QEMU or etcd.
top=$(cd "$(dirname "$0")/.." && pwd)
source "$top/selftests/net/lib.sh"
source "$top/selftests/vm/libvirt.sh"
source "$top/selftests/vm/mig_lib.sh"
ROUNDS=${1:-${HS_BENCH_MIG_ROUNDS:-10}}
WAYS=(pointer direct after pause)
PAUSE_MS=200

mig_require bench_migrate
mig_up A B || { echo "setup failed"; exit 1; }

# way_conf WAY: both nodes' migrated set up for WAY (restarted)
way_conf() {
	local n ptr=yes res=yes
	case $1 in
	pause) return 0 ;;
	direct) ptr=no ;;
	after) ptr=no res=no ;;
	esac
	for n in A B; do
		migrated_stop $n
		migrated_conf $n forwarding_pointer=$ptr record_on_resume=$res
		migrated_start $n || { echo "migrated on $n did not start"; return 1; }
	done
}

# The captures (see the top). CAP_PIDS: the running tcpdumps, also in
# HS_PIDS so that the exit trap ends them on every path.
CAP_PIDS=()
command -v tcpdump > /dev/null && HAVE_TCPDUMP=1 || HAVE_TCPDUMP=
# cap_start NAME NODE IF SNAPLEN FILTER: tcpdump on IF in NODE's namespace
# into $T/NAME.pcap; returns once it listens
cap_start() {
	local f=$T/$1.pcap
	rm -f "$f" "$f.err"
	# nsenter execs tcpdump: $! is tcpdump itself. --immediate-mode: no
	# packet is left in the ring when it is stopped
	nsenter --net="/run/netns/$P-$2" tcpdump -i "$3" -n -U --immediate-mode -s "$4" \
		--time-stamp-precision=micro -w "$f" "$5" 2> "$f.err" &
	CAP_PIDS+=($!)
	HS_PIDS+=($!)
	wait_for 5 grep -qs "listening on" "$f.err"
}
# cap_stop: ends the captures (by PID) and forgets their PIDs
cap_stop() {
	local pid keep=()
	for pid in "${CAP_PIDS[@]}"; do kill -TERM "$pid" 2> /dev/null; done
	for pid in "${CAP_PIDS[@]}"; do wait "$pid" 2> /dev/null; done
	for pid in "${HS_PIDS[@]}"; do [[ " ${CAP_PIDS[*]} " == *" $pid "* ]] || keep+=("$pid"); done
	HS_PIDS=("${keep[@]}")
	CAP_PIDS=()
}
# cap_frames NAME RMAC: the TCP frames of $T/NAME.pcap, one a line:
# "time dir sport dport seq len ack tsval sack" of the (inner, for VXLAN)
# TCP segment; dir n when the Ethernet source is RMAC (into the node), else
# o; seq - without payload, sack 1 with SACK blocks. (mawk: patterns as
# strings; tcpdump prints a VXLAN frame's inner frame on a line of its own.)
cap_frames() {
	tcpdump -r "$T/$1.pcap" -nn -tt -S -e 2> /dev/null | awk -v rmac="$2" '
	function field(s, pat) { return match(s, pat) ? substr(s, RSTART, RLENGTH) : "" }
	function num(s) { gsub(/[^0-9]/, "", s); return s }
	function emit(   n, a, inner, hp, pt, f, s0) {
		if (rec == "") return
		n = split(rec, a, " [|] ")
		inner = a[n]
		hp = field(inner, "[0-9.]+ > [0-9.]+: Flags")
		if (hp == "") return
		split(hp, pt, " > ")
		sub(/.*\./, "", pt[1]); sub(/:.*/, "", pt[2]); sub(/.*\./, "", pt[2])
		s0 = field(inner, "seq [0-9]+")
		split(a[1], f, " ")
		print f[1], f[2] == rmac ? "n" : "o", pt[1], pt[2], s0 == "" ? "-" : num(s0),
			num(field(inner, "length [0-9]+$")) + 0, num(field(inner, "ack [0-9]+")) + 0,
			num(field(inner, "TS val [0-9]+")) + 0, inner ~ "sack [0-9]+ [{]" ? 1 : 0
	}
	/^[0-9]+\.[0-9]+ / { emit(); rec = $0; next }
	{ rec = rec " | " $0 }
	END { emit() }'
}
# cap_split RESUMED GAPEND RMAC: in_ms guest1_ms echo_ms back_ms sack retx
# retx_ms of this migration from the captures cl and dst (see the top); na
# for what did not happen or is not known
cap_split() {
	if [ -z "$HAVE_TCPDUMP" ] || [ -z "$1" ] || [ -z "$2" ]; then
		echo na na na na na na na
		return
	fi
	cap_frames cl x > "$T/cl.txt"
	cap_frames dst "$3" > "$T/dst.txt"
	awk -v R="$1" -v G="$2" '
	function ms(t) { return t == "" ? "na" : sprintf("%.1f", (t - R) * 1000) }
	FNR == NR { # the client: which (seq, TS val) are retransmissions
		if ($4 != 7 || $5 == "-" || $6 == 0) next
		if (base == "") base = $5
		rel = ($5 - base) % 4294967296
		if (rel < 0) rel += 4294967296
		if (n++ && rel < maxend) rtx[$5 ":" $8] = 1
		if (n == 1 || rel + $6 > maxend) maxend = rel + $6
		next
	}
	pass == 1 { seen[$2 ":" $3 ":" $4 ":" $5 ":" $6 ":" $7 ":" $8]++; next }
	{
		k = $3 ":" $4 ":" $5 ":" $6 ":" $7 ":" $8
		# more copies in than out: the last ones stayed (to the guest);
		# more out than in: the first ones are the guest s own
		if ($4 == 7 && $2 == "n" && ++in_[k] > seen["o:" k]) {
			if (tin == "") tin = $1
			if (($5 ":" $8) in rtx && !retx++) tretx = $1
		}
		if ($3 == 7 && $2 == "o" && ++out[k] > seen["n:" k]) {
			if (tg == "") tg = $1
			if ($6 > 0 && te == "") te = $1
			if ($6 == 0 && $9 && te == "") sack++
		}
	}
	END {
		print ms(tin), ms(tg), ms(te), te == "" ? "na" : sprintf("%.1f", (G - te) * 1000),
			sack + 0, retx + 0, ms(tretx)
	}' "$T/cl.txt" pass=1 "$T/dst.txt" pass=2 "$T/dst.txt"
}

# ev_time FILE WORD: libvirt's time (epoch seconds) of the first lifecycle
# event with WORD in a virsh event --timestamp log
ev_time() { date -d "$(grep -a -m1 "$2" "$1" | cut -c1-23)" +%s.%N 2> /dev/null; }

# pause_here NODE: the control way (see the top), with the client running
pause_here() {
	local ev=$T/events.out evp gap gend ps rs paused_ms after_ms extra
	# timeout itself in the background (not lv_virsh's subshell): ending
	# it ends virsh, which would otherwise write on into the next file
	timeout 60 virsh -q -c "$(lv_uri "$1")" event web --loop --timestamp --event lifecycle \
		> "$ev" 2>&1 &
	evp=$!
	HS_PIDS+=("$evp")
	sleep 0.5
	lv_virsh "$1" suspend web > /dev/null && sleep "$(awk -v m=$PAUSE_MS 'BEGIN { print m / 1000 }')" &&
		lv_virsh "$1" resume web > /dev/null || { echo "cannot pause and resume the guest on $1"; exit 1; }
	stream_advances "$T/c.out.st" 16000 20
	sleep 0.5
	kill "$evp" 2> /dev/null
	wait "$evp" 2> /dev/null
	client_stop > /dev/null || { echo "the stream broke: $(tail -1 "$T/c.out")"; exit 1; }
	gap=$(gap_of "$T/c.out")
	gend=$(sed -n 's/.*longest_gap_end=\([0-9.]*\).*/\1/p' "$T/c.out" | tail -1)
	ps=$(ev_time "$ev" Suspended)
	rs=$(ev_time "$ev" Resumed)
	if [ -z "$ps" ] || [ -z "$rs" ]; then
		echo "no suspend/resume events from libvirt on $1:"
		cat "$ev"
		exit 1
	fi
	paused_ms=$(awk -v p="$ps" -v r="$rs" 'BEGIN { printf "%.1f", (r - p) * 1000 }')
	after_ms=$(awk -v e="$gend" -v r="$rs" 'BEGIN { printf "%.1f", (e - r) * 1000 }')
	extra=$(awk -v g="$gap" -v d="$paused_ms" 'BEGIN { printf "%.1f", g - d }')
	# shellcheck disable=SC2059
	printf "$fmt" pause "$1" "$gap" "$paused_ms" "$extra" "$paused_ms" "$after_ms" na na na na na na na
	EXTRA[pause]+="$extra " GAP[pause]+="$gap " DOWN[pause]+="$paused_ms " AFTER[pause]+="$after_ms "
	PAUSED[pause]+="$paused_ms "
}

declare -A EXTRA GAP DOWN AFTER PAUSED IN G1 ECHO BACK RETX HOLES
at=A
[ -n "$HAVE_TCPDUMP" ] || echo "# tcpdump is not installed: no split of the time after resume (na)"
fmt='%-8s %-6s %8s %10s %10s %10s %12s %8s %9s %8s %8s %5s %5s %8s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" way move gap_ms downtime_ms extra_ms paused_ms after_resume in_ms guest1_ms echo_ms \
	back_ms sack retx retx_ms
for ((r = 1; r <= ROUNDS; r++)); do
	for w in "${WAYS[@]}"; do
		way_conf "$w" || exit 1
		to=$([ $at = A ] && echo B || echo A)
		client_start "$T/c.out"
		stream_advances "$T/c.out.st" 16000 20 || { echo "the stream does not flow"; mig_diag "new client" "$T/c.out"; exit 1; }
		sleep 0.5
		# the router's port to the destination node, and the client's
		dport=r$(site_no "$to")
		if [ -n "$HAVE_TCPDUMP" ] && ! { cap_start dst rt "$dport" 160 'tcp port 7 or udp port 4789' &&
			cap_start cl cl cl0 128 'tcp port 7'; }; then
			echo "tcpdump did not start:"
			cat "$T"/*.pcap.err
			exit 1
		fi
		if [ "$w" = pause ]; then
			pause_here "$at"
			continue
		fi
		mark=$(wc -l < "$T/migrated-$at.log")
		dmark=$(wc -l < "$T/migrated-$to.log")
		mig_to $to "$T/follow.out" || { echo "migration $at->$to failed:"; tail -3 "$T/follow.out"; exit 1; }
		stream_advances "$T/c.out.st" 16000 20
		sleep 0.5
		client_stop > /dev/null || { echo "the stream broke: $(tail -1 "$T/c.out")"; exit 1; }
		cap_stop
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
		read -r in_ms g1_ms echo_ms back_ms sack retx retx_ms < <(cap_split "$resumed" "$gend" "$(mac_of rt "$dport")")
		# shellcheck disable=SC2059
		printf "$fmt" "$w" "$at->$to" "$gap" "$down" "$extra" "$paused_ms" "$after_ms" \
			"$in_ms" "$g1_ms" "$echo_ms" "$back_ms" "$sack" "$retx" "$retx_ms"
		EXTRA[$w]+="$extra " GAP[$w]+="$gap " DOWN[$w]+="$down " AFTER[$w]+="$after_ms " PAUSED[$w]+="$paused_ms "
		IN[$w]+="$in_ms " G1[$w]+="$g1_ms " ECHO[$w]+="$echo_ms " BACK[$w]+="$back_ms " RETX[$w]+="$retx "
		[ "$sack" != na ] && [ "$sack" -gt 0 ] && HOLES[$w]=$((${HOLES[$w]:-0} + 1))
		at=$to
	done
done

# median: of the numbers on stdin (na when there is none)
median() { tr ' ' '\n' | grep -E '^-?[0-9.]+$' | sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "na"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
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
echo
echo "after resume, split (medians; ms from the destination's resume event):"
printf '%-8s %18s %8s %10s %8s %8s %6s %12s\n' way median_after_resume in_ms guest1_ms echo_ms \
	back_ms holes median_retx
for w in "${WAYS[@]}"; do
	printf '%-8s %18s %8s %10s %8s %8s %6s %12s\n' "$w" "$(echo "${AFTER[$w]}" | median)" \
		"$(echo "${IN[$w]}" | median)" "$(echo "${G1[$w]}" | median)" "$(echo "${ECHO[$w]}" | median)" \
		"$(echo "${BACK[$w]}" | median)" "${HOLES[$w]:-0}/$ROUNDS" "$(echo "${RETX[$w]}" | median)"
done
echo "in_ms: first frame to the guest at the destination; guest1_ms: the guest's first frame;"
echo "echo_ms: its first echo; back_ms: that echo -> the client's gap end; holes: migrations whose"
echo "guest first sent SACKs (requests lost); retx: client retransmissions that reached the guest"
echo "target: median extra gap with the pointer <= 10 ms (measured: $p ms)"
