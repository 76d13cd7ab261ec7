// SPDX-License-Identifier: GPL-2.0
/*
 * Per-packet cost of the data plane's paths through BPF_PROG_TEST_RUN,
 * against bare XDP_PASS measured in the same run: interleaved rounds, each
 * path run with repeat = 1,000,000 per round, median of per-round ratios.
 * Modifying paths run behind a wrapper that restores the input (see
 * wrap.bpf.c); the wrapper's cost, measured in front of XDP_PASS, is
 * subtracted. Every run checks that all its packets took the intended path.
 * The uplink's DNAT paths measure an established flow: the first packet of
 * a run fills the front-end cache (fe_cache, see docs/dataplane.md) and the
 * rest take the cached path, which each run checks too (cache_mark()). The
 * harness keeps the process, and so every run, on one CPU.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/pass.skel.h"
#include "bench/wrap.skel.h"
#include "bpf/uplink.skel.h"
#include "bpf/vmside.skel.h"
#include "selftests/bpf/harness.h"
#include "selftests/bpf/scen.h"

#define BENCH_LEN 256
#define PUBR4 "203.0.113.40" /* bound to VM2_4, which runs on HOSTB */

struct path {
	const char *name;
	enum dp_prog prog; /* which program; pass for the baselines */
	bool wrapped;
	bool is_pass;
	void (*build)(struct pkt *p);
	int reason;
	struct { /* when set: this TCP flow must be in the front-end cache after a run */
		const char *src, *dst;
		uint16_t sport, dport;
	} cached;
	double ns[16];
};

static void pad(struct pkt *p)
{
	pk_payload(p, BENCH_LEN - p->len, 1);
}
static void b_host(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, US4, DF, 64);
	pk_tcp(p, 40003, 22, TCP_ACK, 0);
	pad(p);
}
static void b_dnat_local(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, DF, 64);
	pk_tcp(p, 40000, 80, TCP_ACK, 0);
	pad(p);
}
static void b_dnat_encap(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUBR4, DF, 64);
	pk_tcp(p, 40001, 80, TCP_ACK, 0);
	pad(p);
}
static void b_decap_snat(struct pkt *p)
{
	outer_in(p, HOSTB4, MAC_HOSTB, VNI, 0);
	from_vm(p);
	pk_ip4(p, VM2_4, CLIENT4, DF, 64);
	pk_tcp(p, 80, 40001, TCP_ACK, 0);
	pad(p);
}
static void b_decap_local(struct pkt *p)
{
	outer_in(p, HOSTB4, MAC_HOSTB, VNI, 0);
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, DF, 64);
	pk_tcp(p, 40000, 8080, TCP_ACK, 0);
	pad(p);
}
static void b_ew_encap(struct pkt *p)
{
	from_vm(p);
	pk_ip4(p, VM4, VM2_4, DF, 64);
	pk_udp(p, 7000, 7001);
	pad(p);
}
static void b_reply_encap(struct pkt *p)
{
	from_vm(p);
	pk_ip4(p, VM4, CLIENT4, DF, 64);
	pk_tcp(p, 8080, 40000, TCP_ACK, 0);
	pad(p);
}
static void b_reply_snat(struct pkt *p)
{
	from_vm(p);
	pk_ip4(p, VM4, CLIENT4, DF, 64);
	pk_tcp(p, 8080, 40009, TCP_ACK, 0);
	pad(p);
}

static struct path paths[] = {
	{"XDP_PASS (baseline)", DP_UPLINK, false, true, b_host, -1},
	{"wrapper + XDP_PASS", DP_UPLINK, true, true, b_host, -1},
	{"uplink: not ours, passed", DP_UPLINK, true, false, b_host, HS_R_PASS_NO_BINDING},
	{"uplink: DNAT + local redirect",
	 DP_UPLINK,
	 true,
	 false,
	 b_dnat_local,
	 HS_R_TX_DNAT_LOCAL,
	 {CLIENT4, PUB4, 40000, 80}},
	{"uplink: DNAT + VXLAN + FIB (front-end)",
	 DP_UPLINK,
	 true,
	 false,
	 b_dnat_encap,
	 HS_R_TX_DNAT_ENCAP,
	 {CLIENT4, PUBR4, 40001, 80}},
	{"uplink: decap + SNAT + FIB", DP_UPLINK, true, false, b_decap_snat, HS_R_TX_DECAP_SNAT},
	{"uplink: decap to a local VM (host)", DP_UPLINK, true, false, b_decap_local,
	 HS_R_TX_DECAP_LOCAL},
	{"vmside: reply, VXLAN to front-end", DP_VMSIDE, true, false, b_reply_encap,
	 HS_R_TX_REPLY_ENCAP},
	{"vmside: reply, SNAT here + FIB", DP_VMSIDE, true, false, b_reply_snat,
	 HS_R_TX_REPLY_SNAT},
	{"vmside: east-west, VXLAN to its host", DP_VMSIDE, true, false, b_ew_encap,
	 HS_R_TX_EW_ENCAP},
};
#define NPATHS (sizeof(paths) / sizeof(paths[0]))

/*
 * A cached path's flow is put in the cache by one run, then its slot gets a
 * mark in a field that only a fill writes (vm_id; the bench's flows are
 * already learned, so a hit never copies it anywhere). A mark still there
 * after the measured runs means that none of them refilled the slot. The
 * slot's next-hop deadline is moved past the run: the refill it causes once
 * a second (HS_NEXTHOP_TTL_NS) would otherwise fail a run that straddles it.
 * The hits still compare it with the clock every HS_FE_RECHECK_JIFFIES.
 */
#define CACHE_MARK 0x6d61726bu

static int cache_mark(struct dp *d, const struct path *pa, int fd, struct bpf_test_run_opts *o)
{
	struct hs_fe_slot s;
	int repeat = o->repeat, rc;

	o->repeat = 1;
	rc = bpf_prog_test_run_opts(fd, o);
	o->repeat = repeat;
	if (rc ||
	    dp_fe_slot_get(d, pa->cached.src, pa->cached.dst, pa->cached.sport, pa->cached.dport,
			   IPPROTO_TCP, &s) ||
	    !s.kind)
		return -1;
	s.vm_id = CACHE_MARK;
	s.expires = ~0ULL;
	return dp_fe_slot_put(d, pa->cached.src, pa->cached.dst, pa->cached.sport, pa->cached.dport,
			      IPPROTO_TCP, &s);
}

static bool cache_marked(struct dp *d, const struct path *pa)
{
	struct hs_fe_slot s;

	return !dp_fe_slot_get(d, pa->cached.src, pa->cached.dst, pa->cached.sport,
			       pa->cached.dport, IPPROTO_TCP, &s) &&
	       s.kind && s.vm_id == CACHE_MARK;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	double s[16];

	memcpy(s, v, n * sizeof(double));
	qsort(s, n, sizeof(double), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	int rounds = 5, repeat = 1000000, status = 1;
	struct pass *pass = NULL;
	struct wrap *wrap = NULL;
	struct dp d;
	double ratio[NPATHS][16];

	if (argc > 1)
		rounds = atoi(argv[1]);
	if (argc > 2)
		repeat = atoi(argv[2]);
	if (rounds < 1 || rounds > 15 || repeat < 1) {
		fprintf(stderr, "usage: bench_dp [ROUNDS (1-15)] [REPEAT]\n");
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "bench_dp: needs root\n");
		return 1;
	}
	if (dp_open(&d)) {
		fprintf(stderr, "bench_dp: cannot load the data plane\n");
		return 1;
	}
	pass = pass__open_and_load();
	wrap = wrap__open_and_load();
	if (!pass || !wrap) {
		fprintf(stderr, "bench_dp: cannot load the benchmark programs\n");
		goto out;
	}
	if (dp_std_maps(&d, true) || dp_binding(&d, PUBR4, 0, 0, VM2_4, 0) ||
	    dp_vm_remote_mac(&d, VM2_4, HS_VM_REMOTE, HOSTB4, US4, MAC_VM2) ||
	    dp_flow_put(&d, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP, HOSTB4) ||
	    dp_flow_put(&d, CLIENT4, 40009, VM4, 8080, IPPROTO_TCP, US4)) {
		fprintf(stderr, "bench_dp: cannot write the maps\n");
		goto out;
	}

	printf("# per-packet cost, BPF_PROG_TEST_RUN, %d rounds x repeat %d, 256-byte frames\n",
	       rounds, repeat);
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < NPATHS; i++) {
			struct path *pa = &paths[i];
			static struct pkt p;
			uint8_t out[PK_MAX];
			uint64_t c0[HS_R_MAX], c1[HS_R_MAX];
			struct xdp_md ctx = {.data_end = BENCH_LEN};
			__u32 k = 0;
			int target, fd, rc;

			pk_init(&p);
			pa->build(&p);
			pk_finish(&p);
			if (p.len != BENCH_LEN)
				abort();
			target = pa->is_pass		 ? bpf_program__fd(pass->progs.xdp_pass)
				 : pa->prog == DP_UPLINK ? bpf_program__fd(d.up->progs.xdp_uplink)
							 : bpf_program__fd(d.vm->progs.xdp_vmside);
			ctx.ingress_ifindex = pa->prog == DP_UPLINK ? d.if_up : d.if_vm;
			if (pa->wrapped) {
				bpf_map_update_elem(bpf_map__fd(wrap->maps.tmpl), &k, p.d, 0);
				bpf_map_update_elem(bpf_map__fd(wrap->maps.target), &k, &target, 0);
				fd = bpf_program__fd(wrap->progs.xdp_bench_wrap);
			} else {
				fd = target;
			}
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p.d, .data_size_in = p.len,
				    .data_out = out, .data_size_out = sizeof(out), .ctx_in = &ctx,
				    .ctx_size_in = sizeof(ctx), .repeat = repeat);
			if (pa->cached.src && cache_mark(&d, pa, fd, &o)) {
				fprintf(stderr, "bench_dp: %s: cannot fill the front-end cache\n",
					pa->name);
				goto out;
			}
			dp_counters(&d, c0);
			rc = bpf_prog_test_run_opts(fd, &o);
			dp_counters(&d, c1);
			if (rc) {
				fprintf(stderr, "bench_dp: %s: test run failed: %s\n", pa->name,
					strerror(errno));
				goto out;
			}
			if (pa->reason >= 0 &&
			    c1[pa->reason] - c0[pa->reason] != (uint64_t)repeat) {
				fprintf(stderr,
					"bench_dp: %s: only %llu of %d runs took the path; "
					"measurement invalid\n",
					pa->name,
					(unsigned long long)(c1[pa->reason] - c0[pa->reason]),
					repeat);
				goto out;
			}
			if (pa->cached.src && !cache_marked(&d, pa)) {
				fprintf(stderr,
					"bench_dp: %s: not every run took the cached path; "
					"measurement invalid\n",
					pa->name);
				goto out;
			}
			pa->ns[r] = o.duration;
		}
		/* per-round ratios, wrapper cost subtracted */
		for (size_t i = 0; i < NPATHS; i++) {
			double cost = paths[i].ns[r];

			if (paths[i].wrapped)
				cost -= paths[1].ns[r] - paths[0].ns[r];
			ratio[i][r] = cost / paths[0].ns[r];
		}
	}

	printf("%-42s %9s %9s\n", "path", "ns/pkt", "x PASS");
	for (size_t i = 0; i < NPATHS; i++) {
		double ns = median(paths[i].ns, rounds);

		if (i == 1) {
			printf("%-42s %9.1f %9s\n", paths[i].name, ns, "(cost subtracted)");
			continue;
		}
		if (paths[i].wrapped)
			ns -= median(paths[1].ns, rounds) - median(paths[0].ns, rounds);
		printf("%-42s %9.1f %9.2f\n", paths[i].name, ns, median(ratio[i], rounds));
	}
	{
		double fe = median(ratio[4], rounds);

		printf("target: front-end path within 6x XDP_PASS: %.2fx, %s\n", fe,
		       fe <= 6.0 ? "met" : "NOT met");
	}
	status = 0;
out: /* the harness's pins must not outlive a failed run */
	wrap__destroy(wrap);
	pass__destroy(pass);
	dp_close(&d);
	return status;
}
