// SPDX-License-Identifier: GPL-2.0
/*
 * Fixture runner: resets the maps, applies the scenario, runs the program,
 * and compares verdict, bytes and every counter.
 */
#include <bpf/bpf.h>
#include <linux/if_ether.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpf/uplink.skel.h"
#include "selftests/bpf/fixture.h"

bool fx_flow_is(struct dp *d, const char *client, uint16_t cport, const char *vm, uint16_t vport,
		uint8_t proto, const char *entry)
{
	struct hs_ip got, want;
	int rc = dp_flow_get(d, client, cport, vm, vport, proto, &got);

	if (!entry) {
		if (rc == 0)
			printf("    flow %s:%u -> %s:%u exists, expected none\n", client, cport, vm,
			       vport);
		return rc != 0;
	}
	if (rc) {
		printf("    flow %s:%u -> %s:%u/%u not found\n", client, cport, vm, vport, proto);
		return false;
	}
	want = dp_ip(entry);
	if (memcmp(got.b, want.b, 16)) {
		printf("    flow %s:%u -> %s:%u: entry is not %s\n", client, cport, vm, vport,
		       entry);
		return false;
	}
	return true;
}

const struct fx *fx_current;

static bool fx_setup(struct dp *d, const struct fx *f)
{
	if (dp_reset(d) || dp_std_maps(d, !f->remote) || (f->prep && f->prep(d))) {
		printf("    map setup failed\n");
		return false;
	}
	return true;
}

/* Runs in on prog; compares verdict (want_v), bytes and counters. */
static bool fx_check(struct dp *d, const struct fx *f, enum dp_prog prog, int want_v, int ingress,
		     const struct pkt *in, const struct pkt *want)
{
	uint64_t before[HS_R_MAX], after[HS_R_MAX];
	uint8_t out[PK_MAX];
	size_t out_len = 0;
	int verdict = -1, rc;
	const char *why;
	bool ok = true, sent;

	d->gso_size = dp_is_tc(prog) ? f->gso_size : 0;
	if (dp_counters(d, before))
		return false;
	rc = dp_run(d, prog, ingress, in->d, in->len, out, &out_len, &verdict);
	if (rc) {
		printf("    test run failed: %s\n", strerror(-rc));
		return false;
	}
	dp_counters(d, after);

	if (verdict != want_v) {
		printf("    verdict: expected %s, got %s\n", dp_act_name(prog, want_v),
		       dp_act_name(prog, verdict));
		ok = false;
	}
	if (out_len != want->len || memcmp(out, want->d, out_len)) {
		pk_diff(out, out_len, want->d, want->len);
		ok = false;
	}
	sent = dp_is_tc(prog) ? verdict == DP_TC_ACT_REDIRECT
			      : verdict == XDP_TX || verdict == XDP_REDIRECT;
	if (sent && !pk_csum_ok(out, out_len, &why)) {
		printf("    output checksum wrong: %s\n", why);
		ok = false;
	}
	for (int r = 0; r < HS_R_MAX; r++) {
		uint64_t want_delta = (r == f->reason) + (r == f->side[0]) + (r == f->side[1]);

		if (after[r] - before[r] != want_delta) {
			printf("    counter %s: expected +%llu, got +%llu\n", dp_reason_name(r),
			       (unsigned long long)want_delta,
			       (unsigned long long)(after[r] - before[r]));
			ok = false;
		}
	}
	return ok;
}

/*
 * The uplink caches front-end flows (fe_cache): every uplink fixture runs a
 * second time with its input sent once before, so that a cacheable packet
 * takes the cached path, and must give the same verdict, bytes and
 * counters. The flows map is put back as the scenario left it in between,
 * as the first packet may have learned an entry.
 */
#define FX_FLOWS_MAX 64

static bool fx_warm_rerun(struct dp *d, const struct fx *f, enum dp_prog prog, int want_v,
			  int ingress, const struct pkt *in, const struct pkt *want)
{
	static struct hs_flow_key keys[FX_FLOWS_MAX];
	static struct hs_flow vals[FX_FLOWS_MAX];
	int fd = bpf_map__fd(d->up->maps.flows), n = 0, verdict;
	struct hs_flow_key k, *prev = NULL;
	uint8_t out[PK_MAX];
	size_t out_len;

	if (!fx_setup(d, f))
		return false;
	while (n < FX_FLOWS_MAX && bpf_map_get_next_key(fd, prev, &k) == 0) {
		keys[n] = k;
		prev = &keys[n];
		if (bpf_map_lookup_elem(fd, &keys[n], &vals[n]) == 0)
			n++;
	}
	d->gso_size = dp_is_tc(prog) ? f->gso_size : 0;
	if (dp_run(d, prog, ingress, in->d, in->len, out, &out_len, &verdict)) {
		printf("    test run failed\n");
		return false;
	}
	while (bpf_map_get_next_key(fd, NULL, &k) == 0)
		bpf_map_delete_elem(fd, &k);
	for (int i = 0; i < n; i++)
		bpf_map_update_elem(fd, &keys[i], &vals[i], BPF_ANY);
	if (!fx_check(d, f, prog, want_v, ingress, in, want)) {
		printf("    (the same packet sent a second time, front-end cache warm%s)\n",
		       dp_is_tc(prog) ? ", TC hook" : "");
		return false;
	}
	return true;
}

/* An XDP fixture again, on the TC hook: same maps, same input, same bytes
 * and counters out (an uplink one also with its cache warm). */
static bool fx_tc_rerun(struct dp *d, const struct fx *f, int ingress, const struct pkt *in,
			const struct pkt *want)
{
	/* BPF_PROG_TEST_RUN refuses an skb shorter than its Ethernet type's
	 * network header (an XDP run takes it) */
	size_t need = ETH_HLEN + (in->d[12] == 0x08 && in->d[13] == 0x00   ? 20
				  : in->d[12] == 0x86 && in->d[13] == 0xdd ? 40
									   : 0);

	bool ok;

	if (in->len < need) {
		printf("# %s: not run on the TC hook: a %zu-byte frame is no skb for a test run\n",
		       f->name, in->len);
		return true;
	}
	if (f->tc_skip) {
		printf("# %s: not run on the TC hook: %s\n", f->name, f->tc_skip);
		return true;
	}
	/* the fixture's own cache setup and checks go to the TC object's */
	d->tc_hook = true;
	ok = fx_setup(d, f);
	if (ok &&
	    !fx_check(d, f, dp_tc_of(f->prog), dp_tc_verdict(f->verdict), ingress, in, want)) {
		printf("    (the same fixture on the TC hook)\n");
		ok = false;
	}
	if (ok && f->post && !f->post(d)) {
		printf("    (after the TC hook)\n");
		ok = false;
	}
	if (ok && f->prog == DP_UPLINK)
		ok = fx_warm_rerun(d, f, DP_UPLINK_TC, dp_tc_verdict(f->verdict), ingress, in,
				   want);
	d->tc_hook = false;
	return ok;
}

bool fx_run(struct dp *d, const struct fx *f)
{
	static struct pkt in, want;
	int ingress = f->ingress;
	bool ok;

	fx_current = f;
	if (!fx_setup(d, f))
		return false;
	if (!ingress)
		ingress = f->prog == DP_UPLINK || f->prog == DP_UPLINK_TC ? d->if_up : d->if_vm;
	else if (ingress == -1) /* VM 2's interface */
		ingress = d->if_vm2;
	pk_init(&in);
	f->in(&in);
	pk_finish(&in);
	if (f->mutate)
		f->mutate(&in);
	if (f->out) {
		pk_init(&want);
		f->out(&want);
		pk_finish(&want);
	} else {
		want = in;
	}
	ok = fx_check(d, f, f->prog, f->verdict, ingress, &in, &want);
	if (ok && f->post && !f->post(d))
		ok = false;
	if (ok && f->prog == DP_UPLINK)
		ok = fx_warm_rerun(d, f, f->prog, f->verdict, ingress, &in, &want);
	if (ok && (f->prog == DP_UPLINK || f->prog == DP_VMSIDE))
		ok = fx_tc_rerun(d, f, ingress, &in, &want);
	return ok;
}

int fx_main(const char *suite, const struct fx *t, size_t n, int argc, char **argv)
{
	struct dp d;
	unsigned int failed = 0;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("SKIP %s: needs root (BPF, network namespaces)\n", suite);
		return 0;
	}
	if (access("/sys/fs/bpf", W_OK) || system("mount | grep -q ' /sys/fs/bpf type bpf '")) {
		printf("SKIP %s: bpffs is not mounted at /sys/fs/bpf (scripts/bpffs.sh)\n", suite);
		return 0;
	}
	rc = dp_open(&d);
	if (rc) {
		/* bpffs and root are here: a program that does not load is a bug */
		printf("FAIL %s: cannot set up or load the data plane (%s)\n", suite,
		       strerror(-rc));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		bool wanted = argc < 2;

		for (int j = 1; j < argc && !wanted; j++)
			wanted = strstr(t[i].name, argv[j]) != NULL;
		if (!wanted)
			continue;
		if (fx_run(&d, &t[i])) {
			printf("PASS %s/%s\n", suite, t[i].name);
		} else {
			printf("FAIL %s/%s\n", suite, t[i].name);
			failed++;
		}
	}
	dp_close(&d);
	return failed ? 1 : 0;
}
