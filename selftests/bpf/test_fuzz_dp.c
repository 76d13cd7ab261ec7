// SPDX-License-Identifier: GPL-2.0
/*
 * Randomized data-plane test: valid scenario packets, mutated (bit flips,
 * truncation, length fields, random headers), and plain random frames go
 * through both programs via BPF_PROG_TEST_RUN. Invariants: the verdict is a
 * documented one; each packet bumps exactly one verdict counter; nothing
 * reaches a VM unless it was for a binding, came from a known peer with the
 * right VNI, or (VM side) came from a VM; outputs of packets whose input
 * checksums held have valid checksums. The TC hook of each program must
 * do what its XDP hook does: same verdict, bytes and counters, packet by
 * packet. Seeded: HS_FUZZ_SEED=N reproduces.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpf/uplink.skel.h"
#include "selftests/bpf/harness.h"
#include "selftests/bpf/scen.h"
#include "selftests/test.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static unsigned int rn(unsigned int n)
{
	return n ? (unsigned int)(rnd() % n) : 0;
}

/* ---- seed packets ---- */
static void s_tcp4(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, DF, 64);
	pk_tcp(p, 40000, 80, TCP_SYN, 1460);
	pk_payload(p, rn(200), 1);
}
static void s_udp4(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, 0, 64);
	pk_udp(p, 33333, 53);
	pk_payload(p, rn(200), 2);
}
static void s_echo6(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, CLIENT6, PUB6, 64);
	pk_icmp(p, 128, 0, 0x10001);
	pk_payload(p, rn(100), 3);
}
static void s_tcp6_ext(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, CLIENT6, PUB6, 64);
	pk_ip6_ext(p, 0, 0, 0, false);
	pk_tcp(p, 40001, 443, TCP_ACK, 0);
	pk_payload(p, rn(100), 4);
}
static void s_vlan(struct pkt *p)
{
	from_client(p);
	pk_vlan(p, 0x8100, 5);
	pk_ip4(p, CLIENT4, PUBP4, DF, 64);
	pk_tcp(p, 40002, 443, TCP_ACK, 0);
}
static void s_frag(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, 0x2000 | (uint16_t)rn(3), 64);
	pk_udp(p, 1, 2);
	pk_payload(p, 64, 5);
}
static void q_reply(struct pkt *p)
{
	pk_ip4(p, PUB4, CLIENT4, DF, 64);
	pk_udp(p, 53, 33333);
	pk_payload(p, 30, 6);
}
static void s_err4(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, "198.51.100.254", PUB4, 0, 64);
	pk_icmp(p, 3, 4, 1400);
	quote(p, q_reply, 28 + rn(30));
}
static void s_host(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, US4, DF, 64);
	pk_tcp(p, 40003, 22, TCP_ACK, 0);
}
static void s_big(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, DF, 64);
	pk_tcp(p, 40000, 80, TCP_ACK, 0);
	pk_payload(p, 1400 + rn(100), 7);
}
static void s_vx4(struct pkt *p)
{
	outer_in(p, HOSTB4, MAC_HOSTB, VNI, rn(4) ? 0 : HS_VXLAN_RSVD_FWD);
	to_vm(p);
	pk_ip4(p, CLIENT4, rn(2) ? VM4 : VM2_4, DF, 64);
	pk_tcp(p, 40000, 8080, TCP_SYN, 1460);
	pk_payload(p, rn(100), 8);
}
static void s_vx6_reply(struct pkt *p)
{
	outer_in(p, HOSTB6, MAC_HOSTB, VNI, 0);
	from_vm(p);
	pk_ip4(p, VM4, CLIENT4, DF, 64);
	pk_tcp(p, 8080, 40000, TCP_ACK, 0);
	pk_payload(p, rn(100), 9);
}
static void s_vm_reply(struct pkt *p)
{
	from_vm(p);
	pk_ip4(p, VM4, rn(2) ? CLIENT4 : VM2_4, DF, 64);
	pk_tcp(p, 8080, 40000, TCP_SYN | TCP_ACK, 1460);
	pk_payload(p, rn(100), 10);
}
static void s_vm_reply6(struct pkt *p)
{
	from_vm(p);
	pk_ip6(p, VM6, CLIENT6, 64);
	pk_udp(p, 443, 40001);
	pk_payload(p, rn(1500), 11);
}

static void (*const up_seeds[])(struct pkt *) = {s_tcp4, s_udp4, s_echo6,    s_tcp6_ext,
						 s_vlan, s_frag, s_err4,     s_host,
						 s_big,	 s_vx4,	 s_vx6_reply};
static void (*const vm_seeds[])(struct pkt *) = {s_vm_reply, s_vm_reply6};

static void mutate(struct pkt *p)
{
	int n = 1 + rn(4);

	while (n--) {
		unsigned int lim = p->len < 140 ? (unsigned int)p->len : 140;

		switch (rn(6)) {
		case 0: /* bit flip in the headers */
			p->d[rn(lim)] ^= (uint8_t)(1u << rn(8));
			break;
		case 1: /* random byte */
			p->d[rn(lim)] = (uint8_t)rnd();
			break;
		case 2: /* truncate */
			p->len = 14 + rn((unsigned int)p->len - 13);
			break;
		case 3: /* append garbage */
			for (unsigned int k = rn(64); k-- && p->len < PK_MAX;)
				p->d[p->len++] = (uint8_t)rnd();
			break;
		case 4: { /* a 16-bit field (lengths, ports, ethertypes) */
			unsigned int o = rn(lim - 1) & ~1u;
			uint16_t v = rn(2) ? (uint16_t)rnd() : (uint16_t)rn(80);

			p->d[o] = v >> 8;
			p->d[o + 1] = (uint8_t)v;
			break;
		}
		default: /* an IHL / data offset / version nibble */
			p->d[rn(lim)] = (uint8_t)((rn(16) << 4) | rn(16));
			break;
		}
	}
}

static void random_frame(struct pkt *p)
{
	pk_init(p);
	p->len = 14 + rn(300);
	for (size_t i = 0; i < p->len; i++)
		p->d[i] = (uint8_t)rnd();
	if (rn(2)) {
		p->d[12] = rn(2) ? 0x08 : 0x86;
		p->d[13] = p->d[12] == 0x08 ? 0x00 : 0xdd;
		p->d[14] = rn(2) ? 0x45 : 0x60;
	}
}

/* ---- what the input was ---- */
static bool ip_at(const struct pkt *p, size_t *off, bool *v6)
{
	size_t o = 12;
	uint16_t t;

	if (p->len < 14)
		return false;
	t = (uint16_t)(p->d[o] << 8 | p->d[o + 1]);
	while ((t == 0x8100 || t == 0x88a8) && o + 6 <= p->len) {
		o += 4;
		t = (uint16_t)(p->d[o] << 8 | p->d[o + 1]);
	}
	*off = o + 2;
	*v6 = t == 0x86dd;
	return (t == 0x0800 && *off + 20 <= p->len) || (t == 0x86dd && *off + 40 <= p->len);
}

static bool addr_is(const uint8_t *a, bool v6, const char *s)
{
	struct hs_ip ip = dp_ip(s);

	return v6 ? !memcmp(a, ip.b, 16) : !memcmp(a, ip.b + 12, 4);
}

static bool for_binding(const struct pkt *p)
{
	size_t o;
	bool v6;

	if (!ip_at(p, &o, &v6))
		return false;
	return v6 ? addr_is(p->d + o + 24, true, PUB6)
		  : addr_is(p->d + o + 16, false, PUB4) || addr_is(p->d + o + 16, false, PUBP4);
}

static bool from_peer(const struct pkt *p)
{
	size_t o, u;
	bool v6;

	if (!ip_at(p, &o, &v6))
		return false;
	u = o + (v6 ? 40 : (size_t)(p->d[o] & 15) * 4);
	if (u + 16 > p->len)
		return false;
	if (v6 ? !addr_is(p->d + o + 8, true, HOSTB6)
	       : !(addr_is(p->d + o + 12, false, HOSTB4) || addr_is(p->d + o + 12, false, HOSTC4)))
		return false;
	/* VNI must be ours */
	return p->d[u + 8 + 4] == 0 && p->d[u + 8 + 5] == 0 && p->d[u + 8 + 6] == VNI;
}

static bool from_vm_src(const struct pkt *p)
{
	size_t o;
	bool v6;

	if (!ip_at(p, &o, &v6))
		return false;
	return v6 ? addr_is(p->d + o + 8, true, VM6) : addr_is(p->d + o + 12, false, VM4);
}

static void hexdump(const char *what, const uint8_t *d, size_t n)
{
	printf("    %s (%zu bytes):", what, n);
	for (size_t i = 0; i < n; i++)
		printf("%s%02x", i % 32 ? " " : "\n      ", d[i]);
	printf("\n");
}

static uint64_t verdict_sum(const uint64_t *c)
{
	uint64_t s = 0;

	for (int r = 0; r < HS_R_MAX; r++)
		if (r != HS_R_FLOW_LEARNED && r != HS_R_MSS_CLAMPED && r != HS_R_FRAG_TRANSLATED)
			s += c[r];
	return s;
}

static enum hs_result run(struct dp *d, enum dp_prog prog, long n)
{
	static struct pkt in;
	uint8_t out[PK_MAX];
	uint64_t c0[HS_R_MAX], c1[HS_R_MAX];
	uint8_t vm_mac[6], vm2_mac[6];
	long batch = 0;
	const char *why;

	dp_mac(MAC_VM, vm_mac);
	dp_mac(MAC_VM2, vm2_mac);
	if (dp_counters(d, c0))
		return HS_FAIL;
	for (long i = 0; i < n; i++) {
		size_t out_len;
		int verdict;
		bool csum_in, to_vm;

		if (rn(10) == 0) {
			random_frame(&in);
		} else {
			pk_init(&in);
			if (prog == DP_UPLINK)
				up_seeds[rn(sizeof(up_seeds) / sizeof(up_seeds[0]))](&in);
			else
				vm_seeds[rn(sizeof(vm_seeds) / sizeof(vm_seeds[0]))](&in);
			pk_finish(&in);
			if (rn(5))
				mutate(&in);
		}
		csum_in = pk_csum_ok(in.d, in.len, &why);
		if (dp_run(d, prog, prog == DP_UPLINK ? d->if_up : d->if_vm, in.d, in.len, out,
			   &out_len, &verdict)) {
			HS_FAILF("packet %ld: test run failed", i);
			return HS_FAIL;
		}
		if (verdict != XDP_DROP && verdict != XDP_PASS && verdict != XDP_TX &&
		    verdict != XDP_REDIRECT) {
			HS_FAILF("packet %ld: verdict %d outside the documented set", i, verdict);
			return HS_FAIL;
		}
		if (verdict == XDP_PASS && (out_len != in.len || memcmp(out, in.d, in.len))) {
			HS_FAILF("packet %ld: passed but modified", i);
			return HS_FAIL;
		}
		if (verdict == XDP_TX || verdict == XDP_REDIRECT) {
			to_vm = out_len >= 14 &&
				(!memcmp(out, vm_mac, 6) || !memcmp(out, vm2_mac, 6));
			if (to_vm && !(prog == DP_UPLINK ? for_binding(&in) || from_peer(&in)
							 : from_vm_src(&in))) {
				HS_FAILF("packet %ld: reached a VM without a binding, peer or VM "
					 "source",
					 i);
				pk_diff(out, out_len, in.d, in.len);
				return HS_FAIL;
			}
			if (csum_in && !pk_csum_ok(out, out_len, &why)) {
				HS_FAILF("packet %ld: valid input, output %s wrong", i, why);
				hexdump("input", in.d, in.len);
				hexdump("output", out, out_len);
				return HS_FAIL;
			}
		}
		if (++batch == 4096 || i == n - 1) {
			if (dp_counters(d, c1))
				return HS_FAIL;
			if (verdict_sum(c1) - verdict_sum(c0) != (uint64_t)batch) {
				HS_FAILF("verdict counters rose by %llu for %ld packets",
					 (unsigned long long)(verdict_sum(c1) - verdict_sum(c0)),
					 batch);
				return HS_FAIL;
			}
			memcpy(c0, c1, sizeof(c0));
			batch = 0;
		}
	}
	return HS_PASS;
}

/* ---- the front-end cache against the full path ---- */

/* All counters in one syscall: the comparison reads them four times a packet. */
static int counters_fast(struct dp *d, uint64_t out[HS_R_MAX])
{
	static uint64_t vals[HS_R_MAX * 256];
	static __u32 keys[HS_R_MAX];
	int ncpu = libbpf_num_possible_cpus();
	__u32 n = HS_R_MAX, batch;
	int rc;

	if (ncpu <= 0 || ncpu > 256)
		return -1;
	rc = bpf_map_lookup_batch(bpf_map__fd(d->up->maps.counters), NULL, &batch, keys, vals, &n,
				  NULL);
	if ((rc && errno != ENOENT) || n != HS_R_MAX)
		return -1;
	for (__u32 i = 0; i < n; i++) {
		out[keys[i]] = 0;
		for (int c = 0; c < ncpu; c++)
			out[keys[i]] += vals[i * ncpu + c];
	}
	return 0;
}

/* The tuple the uplink would cache the packet under, if it looks like one
 * it caches (only to count how many runs took the cached path). */
static bool fe_key_of(const struct pkt *p, struct hs_fe_key *k)
{
	size_t o, l4;
	bool v6;
	uint8_t proto;

	memset(k, 0, sizeof(*k));
	if (!ip_at(p, &o, &v6))
		return false;
	if (v6) {
		memcpy(k->src.b, p->d + o + 8, 16);
		memcpy(k->dst.b, p->d + o + 24, 16);
		proto = p->d[o + 6];
		l4 = o + 40;
	} else {
		if ((p->d[o] & 0xf0) != 0x40 || (p->d[o + 6] & 0x3f) || p->d[o + 7])
			return false; /* not IPv4, or a fragment */
		k->src.b[10] = k->src.b[11] = k->dst.b[10] = k->dst.b[11] = 0xff;
		memcpy(&k->src.b[12], p->d + o + 12, 4);
		memcpy(&k->dst.b[12], p->d + o + 16, 4);
		proto = p->d[o + 9];
		l4 = o + (size_t)(p->d[o] & 15) * 4;
	}
	if (l4 + 8 > p->len)
		return false;
	k->proto = proto;
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		memcpy(&k->sport, p->d + l4, 2);
		memcpy(&k->dport, p->d + l4 + 2, 2);
	} else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		memcpy(&k->sport, p->d + l4 + 4, 2);
		k->dport = k->sport;
	}
	return true;
}

/* Does the slot answer for k? *fast4: and it holds the IPv4 fast path's
 * template (bpf/fecache.h, fe_fast4()). */
static bool slot_answers(struct dp *d, const struct hs_fe_key *k, bool *fast4)
{
	struct hs_fe_slot s;
	uint64_t gen;
	bool hit;

	hit = !dp_fe_slot_of(d, k, &s) && !dp_gen_get(d, &gen) && s.kind && s.gen == gen &&
	      !memcmp(&s.key.src, &k->src, 32) && s.key.sport == k->sport &&
	      s.key.dport == k->dport && s.key.proto == k->proto;
	*fast4 = hit && s.fast4;
	return hit;
}

/* Does the reply cache answer for this frame (VXLAN over IPv4 without
 * options, IPv4 without options inside)? Only to count how many runs
 * found a slot there. */
static bool rp_answers(struct dp *d, const struct pkt *p)
{
	const uint8_t *b = p->d;
	struct hs_rp_slot s;
	__be32 peer, vm, client;
	uint32_t ports;
	uint64_t gen;

	if (p->len < 14 + 20 + 8 + 8 + 14 + 20 + 8 || b[12] != 0x08 || b[13] != 0 ||
	    b[14] != 0x45 || b[23] != IPPROTO_UDP || b[62] != 0x08 || b[63] != 0 || b[64] != 0x45)
		return false;
	memcpy(&peer, b + 26, 4);
	memcpy(&vm, b + 76, 4);
	memcpy(&client, b + 80, 4);
	memcpy(&ports, b + 84, 4);
	if (dp_rp_slot_of(d, peer, vm, client, (__be16)(ports & 0xffff), (__be16)(ports >> 16),
			  b[73], &s) ||
	    dp_gen_get(d, &gen))
		return false;
	return s.kind && s.gen == gen && s.peer == peer && s.src == vm && s.dst == client &&
	       !memcmp(&s.sport, b + 84, 4) && s.proto == b[73];
}

/* Does the VM-side cache answer for this frame (IPv4 without options)?
 * Only to count how many runs found a slot there. */
static bool vr_answers(struct dp *d, const struct pkt *p)
{
	const uint8_t *b = p->d;
	struct hs_vr_slot s;
	__be32 vm, client;
	uint32_t ports;
	uint64_t gen;

	if (p->len < 14 + 20 + 8 || b[12] != 0x08 || b[13] != 0 || b[14] != 0x45)
		return false;
	memcpy(&vm, b + 26, 4);
	memcpy(&client, b + 30, 4);
	memcpy(&ports, b + 34, 4);
	if (dp_vr_slot_of(d, vm, client, (__be16)(ports & 0xffff), (__be16)(ports >> 16), b[23],
			  &s) ||
	    dp_gen_get(d, &gen))
		return false;
	return s.kind && s.gen == gen && s.vm == vm && s.client == client &&
	       !memcmp(&s.vm_port, b + 34, 4) && s.proto == b[23];
}

/* What a local VM sends: to clients whose flows go to another front-end,
 * to us, or to none (then to the VM's primary one), and east-west. */
static void s_vm_flow(struct pkt *p)
{
	from_vm(p);
	pk_ip4(p, VM4, rn(5) ? CLIENT4 : VM2_4, rn(8) ? DF : 0, 64);
	if (rn(3))
		pk_tcp(p, 8080, 40000 + rn(3), rn(4) ? TCP_ACK : TCP_SYN | TCP_ACK, 1460);
	else if (rn(4))
		pk_udp(p, 5353, 40000 + rn(2));
	else
		pk_udp_nocsum(p, 5353, 40000 + rn(2));
	pk_payload(p, rn(8) ? rn(200) : 1300 + rn(200), 12);
}
static void (*const vm_cache_seeds[])(struct pkt *) = {s_vm_flow, s_vm_flow, s_vm_flow, s_vm_reply,
						       s_vm_reply6};

/* VXLAN for VM4, which runs here, IPv4 in IPv4: from a front-end or a
 * forwarding host, flagged or not, from a client (learned) or a VM (not). */
static void s_vx4_flow(struct pkt *p)
{
	outer_in(p, rn(3) ? HOSTB4 : HOSTC4, MAC_HOSTB, VNI, rn(4) ? 0 : HS_VXLAN_RSVD_FWD);
	to_vm(p);
	pk_ip4(p, rn(4) ? CLIENT4 : VM2_4, VM4, rn(8) ? DF : 0, 64);
	if (rn(3))
		pk_tcp(p, 40000 + rn(4), 8080, rn(5) ? TCP_ACK : TCP_SYN, 1460);
	else if (rn(4))
		pk_udp(p, 40000 + rn(4), 5353);
	else
		pk_udp_nocsum(p, 40000 + rn(4), 5353);
	pk_payload(p, rn(8) ? rn(200) : 1300 + rn(200), 13);
}

/* Replies from the VM's host, IPv4 in IPv4: to the port-mapped rbindings
 * (TCP 8080 -> 80, UDP 5353 -> 53) and the address-only one. */
static void s_reply4(struct pkt *p)
{
	outer_in(p, HOSTB4, MAC_HOSTB, VNI, rn(4) ? 0 : HS_VXLAN_RSVD_FWD);
	from_vm(p);
	pk_ip4(p, VM4, CLIENT4, rn(8) ? DF : 0, 64);
	if (rn(3))
		pk_tcp(p, rn(2) ? 8080 : 22, 40000 + rn(4), rn(4) ? TCP_ACK : TCP_SYN | TCP_ACK,
		       1460);
	else if (rn(4))
		pk_udp(p, rn(2) ? 5353 : 9999, 40000 + rn(4));
	else
		pk_udp_nocsum(p, 5353, 40000 + rn(4));
	pk_payload(p, rn(8) ? rn(200) : 1300 + rn(200), 10);
}

/* Seeds for a VM on another host: encapsulation over IPv4 and IPv6. */
#define PUBR4 "203.0.113.40" /* -> VM2_4 on HOSTB4 */
#define PUBR6 "2001:db8:f::40" /* -> VM2_6 on HOSTB6 */
static void s_remote4(struct pkt *p)
{
	from_client(p);
	if (rn(4) == 0)
		pk_vlan(p, 0x8100, 7);
	pk_ip4(p, CLIENT4, PUBR4, rn(8) ? DF : 0, 64);
	/* 8443 and 5353: port bindings (to 443 and 53), the rest address-only */
	if (rn(3))
		pk_tcp(p, 40000 + rn(4), rn(2) ? 80 : 8443, rn(4) ? TCP_ACK : TCP_SYN, 1460);
	else
		pk_udp(p, 40000 + rn(4), rn(2) ? 53 : 5353);
	pk_payload(p, rn(8) ? rn(200) : 1400 + rn(100), 15);
}
static void s_remote6(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, CLIENT6, PUBR6, 64);
	if (rn(3))
		pk_tcp(p, 40000 + rn(4), 443, rn(4) ? TCP_ACK : TCP_SYN, 1460);
	else if (rn(2))
		pk_udp(p, 40000 + rn(4), 53);
	else
		pk_icmp(p, 128, 0, 0x10001 + rn(4));
	pk_payload(p, rn(8) ? rn(200) : 1400 + rn(100), 16);
}
static void (*const cache_seeds[])(struct pkt *) = {
	s_tcp4,	   s_udp4,    s_echo6,	s_tcp6_ext, s_vlan,	s_frag,
	s_err4,	   s_host,    s_big,	s_vx4,	    s_remote4,	s_remote4,
	s_remote6, s_remote6, s_reply4, s_reply4,   s_vx4_flow, s_vx4_flow,
};

/*
 * Each packet three times: after a generation bump (the full path, which
 * fills the cache when the packet is cacheable), again (the cached path if
 * it was filled), and after another bump (the full path on the state the
 * second run saw). The second and third runs must give the same verdict,
 * bytes and counter changes.
 */
static enum hs_result cache_vs_full(struct dp *d, enum dp_prog prog,
				    void (*const *seeds)(struct pkt *), size_t nseeds, long n)
{
	static struct pkt in;
	static uint8_t out2[PK_MAX], out3[PK_MAX];
	uint64_t c0[HS_R_MAX], c1[HS_R_MAX], c2[HS_R_MAX], c3[HS_R_MAX];
	long cached = 0, fast4 = 0, replies = 0;
	int ifindex = prog == DP_UPLINK ? d->if_up : d->if_vm;

	for (long i = 0; i < n; i++) {
		size_t len2, len3, out_len;
		int v1, v2, v3;
		struct hs_fe_key k;
		bool hit, f4 = false;

		if (rn(10) == 0) {
			random_frame(&in);
		} else {
			pk_init(&in);
			seeds[rn((unsigned int)nseeds)](&in);
			pk_finish(&in);
			if (rn(5) == 0)
				mutate(&in);
		}
		if (dp_gen_bump(d) || dp_run(d, prog, ifindex, in.d, in.len, out2, &out_len, &v1)) {
			HS_FAILF("packet %ld: test run failed", i);
			return HS_FAIL;
		}
		if (prog == DP_UPLINK) {
			hit = fe_key_of(&in, &k) && slot_answers(d, &k, &f4);
			if (rp_answers(d, &in)) {
				hit = true;
				replies++;
			}
		} else {
			hit = f4 = vr_answers(d, &in);
		}
		if (counters_fast(d, c0) ||
		    dp_run(d, prog, ifindex, in.d, in.len, out2, &len2, &v2) ||
		    counters_fast(d, c1) || dp_gen_bump(d) || counters_fast(d, c2) ||
		    dp_run(d, prog, ifindex, in.d, in.len, out3, &len3, &v3) ||
		    counters_fast(d, c3)) {
			HS_FAILF("packet %ld: test run or counter read failed", i);
			return HS_FAIL;
		}
		cached += hit;
		fast4 += f4;
		if (v2 != v3 || len2 != len3 || memcmp(out2, out3, len2)) {
			HS_FAILF("packet %ld (%s path): verdict %s, full path %s", i,
				 hit ? "cached" : "uncached", dp_verdict_name(v2),
				 dp_verdict_name(v3));
			hexdump("input", in.d, in.len);
			pk_diff(out2, len2, out3, len3);
			return HS_FAIL;
		}
		for (int r = 0; r < HS_R_MAX; r++) {
			if (c1[r] - c0[r] != c3[r] - c2[r]) {
				HS_FAILF("packet %ld (%s path): counter %s +%llu, full path +%llu",
					 i, hit ? "cached" : "uncached", dp_reason_name(r),
					 (unsigned long long)(c1[r] - c0[r]),
					 (unsigned long long)(c3[r] - c2[r]));
				hexdump("input", in.d, in.len);
				return HS_FAIL;
			}
		}
	}
	if (prog == DP_VMSIDE) {
		printf("# %ld of %ld packets found a slot of the VM-side cache\n", fast4, n);
		if (fast4 < n / 10) {
			HS_FAILF("only %ld of %ld packets found a slot of the VM-side cache", fast4,
				 n);
			return HS_FAIL;
		}
		return HS_PASS;
	}
	printf("# %ld of %ld packets took the cached path, %ld of them with a slot of the IPv4 "
	       "fast path, %ld with one of the VXLAN cache (rp_cache)\n",
	       cached, n, fast4, replies);
	/* the seeds are mostly front-end packets: a cache that never answers
	 * would make this test prove nothing */
	if (cached < n / 10) {
		HS_FAILF("only %ld of %ld packets took the cached path", cached, n);
		return HS_FAIL;
	}
	if (fast4 < n / 50) {
		HS_FAILF("only %ld of %ld packets found a slot of the IPv4 fast path", fast4, n);
		return HS_FAIL;
	}
	if (replies < n / 50) {
		HS_FAILF("only %ld of %ld packets found a slot of the VXLAN cache", replies, n);
		return HS_FAIL;
	}
	return HS_PASS;
}

/* ---- the TC hook against the XDP hook ---- */

/* The flows map as setup_maps() leaves it, put back after a run that
 * learned a flow, so that one hook's learning does not change what the
 * other sees. (Only then: every walk of the LRU map from its start scans
 * all its buckets.) */
static int flows_reset(struct dp *d)
{
	int fd = bpf_map__fd(d->up->maps.flows);
	struct hs_flow_key k;

	while (bpf_map_get_next_key(fd, NULL, &k) == 0)
		if (bpf_map_delete_elem(fd, &k))
			return -1;
	return dp_flow_put(d, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP, HOSTB4);
}

/* Does the packet's TCP or UDP checksum field hold just the folded
 * pseudo-header sum, as under checksum offload (CHECKSUM_PARTIAL)? The TC
 * hook cannot see an skb's checksum state and takes such a packet for one
 * when it makes a too-big error from it (bpf/encap.h, partial_quote()):
 * it makes the quoted UDP checksum a fixed point of the kernel's late sum,
 * or sends no error for TCP. A finished checksum looks so once in 65535. */
static bool looks_partial(const struct pkt *p)
{
	uint32_t sum = 0, len;
	size_t o, l4;
	uint8_t proto;
	bool v6;

	if (!ip_at(p, &o, &v6))
		return false;
	if (v6) {
		proto = p->d[o + 6];
		len = (uint32_t)(p->d[o + 4] << 8 | p->d[o + 5]);
		l4 = o + 40;
		for (int i = 0; i < 32; i += 2)
			sum += (uint32_t)(p->d[o + 8 + i] << 8 | p->d[o + 9 + i]);
	} else {
		proto = p->d[o + 9];
		l4 = o + (size_t)(p->d[o] & 15) * 4;
		len = (uint32_t)(p->d[o + 2] << 8 | p->d[o + 3]) - (uint32_t)(l4 - o);
		for (int i = 0; i < 8; i += 2)
			sum += (uint32_t)(p->d[o + 12 + i] << 8 | p->d[o + 13 + i]);
	}
	if ((proto != IPPROTO_TCP && proto != IPPROTO_UDP) ||
	    l4 + (proto == IPPROTO_TCP ? 18 : 8) > p->len)
		return false;
	sum += (len & 0xffff) + (len >> 16) + proto;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	o = l4 + (proto == IPPROTO_TCP ? 16 : 6);
	return (uint32_t)(p->d[o] << 8 | p->d[o + 1]) == sum;
}

static enum hs_result tc_vs_xdp(struct dp *d, enum dp_prog prog, long n)
{
	static struct pkt in;
	static uint8_t out1[PK_MAX], out2[PK_MAX];
	uint64_t c0[HS_R_MAX], c1[HS_R_MAX], c2[HS_R_MAX], c3[HS_R_MAX];
	int ingress = prog == DP_UPLINK ? d->if_up : d->if_vm;
	long tagged = 0, short_ = 0, sent = 0, partial = 0;

	for (long i = 0; i < n; i++) {
		size_t len1, len2;
		int v1, v2, rc;

		if (rn(10) == 0) {
			random_frame(&in);
		} else {
			pk_init(&in);
			if (prog == DP_UPLINK)
				cache_seeds[rn(sizeof(cache_seeds) / sizeof(cache_seeds[0]))](&in);
			else
				vm_seeds[rn(sizeof(vm_seeds) / sizeof(vm_seeds[0]))](&in);
			pk_finish(&in);
			if (rn(5))
				mutate(&in);
		}
		/* a tag in the frame: TC sees the outer one only out of band
		 * (skb->vlan_tci), which a test run cannot set */
		if ((in.d[12] == 0x81 && in.d[13] == 0x00) ||
		    (in.d[12] == 0x88 && in.d[13] == 0xa8)) {
			tagged++;
			continue;
		}
		if (counters_fast(d, c0) ||
		    dp_run(d, prog, ingress, in.d, in.len, out1, &len1, &v1) ||
		    counters_fast(d, c1) ||
		    (c1[HS_R_FLOW_LEARNED] != c0[HS_R_FLOW_LEARNED] && flows_reset(d)) ||
		    counters_fast(d, c2)) {
			HS_FAILF("packet %ld: test run or map access failed", i);
			return HS_FAIL;
		}
		rc = dp_run(d, dp_tc_of(prog), ingress, in.d, in.len, out2, &len2, &v2);
		if (rc == -EINVAL) { /* shorter than its network header: no skb */
			short_++;
			continue;
		}
		if (rc || counters_fast(d, c3) ||
		    (c3[HS_R_FLOW_LEARNED] != c2[HS_R_FLOW_LEARNED] && flows_reset(d))) {
			HS_FAILF("packet %ld: TC test run failed: %s", i, strerror(-rc));
			return HS_FAIL;
		}
		sent += v2 == DP_TC_ACT_REDIRECT;
		if (c1[HS_R_TX_ICMP_TOOBIG] != c0[HS_R_TX_ICMP_TOOBIG] && looks_partial(&in)) {
			partial++;
			continue;
		}
		if (v2 != dp_tc_verdict(v1) || len1 != len2 || memcmp(out1, out2, len1)) {
			HS_FAILF("packet %ld: XDP %s, TC %s", i, dp_verdict_name(v1),
				 dp_act_name(dp_tc_of(prog), v2));
			hexdump("input", in.d, in.len);
			pk_diff(out2, len2, out1, len1);
			return HS_FAIL;
		}
		for (int r = 0; r < HS_R_MAX; r++) {
			if (c1[r] - c0[r] != c3[r] - c2[r]) {
				HS_FAILF("packet %ld: counter %s XDP +%llu, TC +%llu", i,
					 dp_reason_name(r), (unsigned long long)(c1[r] - c0[r]),
					 (unsigned long long)(c3[r] - c2[r]));
				hexdump("input", in.d, in.len);
				return HS_FAIL;
			}
		}
	}
	printf("# %ld packets: %ld sent on by both hooks; not compared: %ld tagged, %ld too short "
	       "for an skb, %ld too big with a checksum that looks offloaded\n",
	       n, sent, tagged, short_, partial);
	if (sent < n / 20) {
		HS_FAILF("only %ld of %ld packets were sent on: the comparison proves little", sent,
			 n);
		return HS_FAIL;
	}
	return HS_PASS;
}

static struct dp dp;
static long count_up = 1000000, count_vm = 200000;

static enum hs_result setup_maps(void)
{
	ASSERT_EQ(dp_reset(&dp), 0);
	ASSERT_EQ(dp_std_maps(&dp, true), 0);
	ASSERT_EQ(dp_vm_remote_mac(&dp, VM2_4, HS_VM_REMOTE, HOSTB4, US4, MAC_VM2), 0);
	ASSERT_EQ(dp_flow_put(&dp, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP, HOSTB4), 0);
	return HS_PASS;
}

static enum hs_result uplink_random(void)
{
	if (setup_maps() != HS_PASS)
		return HS_FAIL;
	return run(&dp, DP_UPLINK, count_up);
}

static enum hs_result vmside_random(void)
{
	if (setup_maps() != HS_PASS)
		return HS_FAIL;
	return run(&dp, DP_VMSIDE, count_vm);
}

static enum hs_result uplink_cache(void)
{
	if (setup_maps() != HS_PASS)
		return HS_FAIL;
	/* remote VMs too, so that every cached path (local, encap over IPv4
	 * and IPv6) runs */
	ASSERT_EQ(dp_binding(&dp, PUBR4, 0, 0, VM2_4, 0), 0);
	ASSERT_EQ(dp_binding(&dp, PUBR4, 8443, IPPROTO_TCP, VM2_4, 443), 0);
	ASSERT_EQ(dp_binding(&dp, PUBR4, 5353, IPPROTO_UDP, VM2_4, 53), 0);
	ASSERT_EQ(dp_binding(&dp, PUBR6, 0, 0, VM2_6, 0), 0);
	ASSERT_EQ(dp_vm_remote_mac(&dp, VM2_6, HS_VM_REMOTE, HOSTB6, US4, MAC_VM2), 0);
	return cache_vs_full(&dp, DP_UPLINK, cache_seeds,
			     sizeof(cache_seeds) / sizeof(cache_seeds[0]), count_vm);
}

/* The VM side with VM4 local (primary front-end HOSTC4), flows of
 * s_vm_flow's tuples (to HOSTB4, to us: SNAT here, and none), and VM2_4 on
 * HOSTB4 (east-west). */
static enum hs_result vmside_cache(void)
{
	ASSERT_EQ(dp_reset(&dp), 0);
	ASSERT_EQ(dp_std_maps(&dp, false), 0);
	ASSERT_EQ(dp_vm_local(&dp, VM4, dp.if_vm, MAC_VM, MAC_GW, HOSTC4), 0);
	ASSERT_EQ(dp_flow_put(&dp, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP, HOSTB4), 0);
	ASSERT_EQ(dp_flow_put(&dp, CLIENT4, 40001, VM4, 8080, IPPROTO_TCP, US4), 0);
	ASSERT_EQ(dp_flow_put(&dp, CLIENT4, 40000, VM4, 5353, IPPROTO_UDP, HOSTB4), 0);
	/* east-west: s_vm_flow's packets to VM2_4 */
	ASSERT_EQ(dp_vm_remote_mac(&dp, VM2_4, HS_VM_REMOTE, HOSTB4, US4, MAC_VM2), 0);
	return cache_vs_full(&dp, DP_VMSIDE, vm_cache_seeds,
			     sizeof(vm_cache_seeds) / sizeof(vm_cache_seeds[0]), count_vm);
}

static enum hs_result remote_maps(void)
{
	if (setup_maps() != HS_PASS)
		return HS_FAIL;
	ASSERT_EQ(dp_binding(&dp, PUBR4, 0, 0, VM2_4, 0), 0);
	ASSERT_EQ(dp_binding(&dp, PUBR6, 0, 0, VM2_6, 0), 0);
	ASSERT_EQ(dp_vm_remote_mac(&dp, VM2_6, HS_VM_REMOTE, HOSTB6, US4, MAC_VM2), 0);
	return HS_PASS;
}

static enum hs_result uplink_tc(void)
{
	if (remote_maps() != HS_PASS)
		return HS_FAIL;
	return tc_vs_xdp(&dp, DP_UPLINK, count_vm);
}

static enum hs_result vmside_tc(void)
{
	if (remote_maps() != HS_PASS)
		return HS_FAIL;
	return tc_vs_xdp(&dp, DP_VMSIDE, count_vm);
}

static const struct hs_test tests[] = {
	{"uplink_1m_random_and_mutated", uplink_random},
	{"vmside_200k_random_and_mutated", vmside_random},
	{"uplink_200k_cached_path_equals_full_path", uplink_cache},
	{"vmside_200k_cached_path_equals_full_path", vmside_cache},
	{"uplink_tc_200k_equals_xdp", uplink_tc},
	{"vmside_tc_200k_equals_xdp", vmside_tc},
};

int main(int argc, char **argv)
{
	const char *s = getenv("HS_FUZZ_SEED");
	const char *n = getenv("HS_FUZZ_COUNT");
	struct timespec t0, t1;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0 || system("mount | grep -q ' /sys/fs/bpf type bpf '")) {
		printf("SKIP bpf/fuzz: needs root and bpffs at /sys/fs/bpf\n");
		return 0;
	}
	rng_state = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) * 2654435761u;
	if (!rng_state)
		rng_state = 1;
	if (n) {
		count_up = atol(n);
		count_vm = count_up / 5;
	}
	printf("# seed %llu (HS_FUZZ_SEED=%llu reproduces)\n", (unsigned long long)rng_state,
	       (unsigned long long)rng_state);
	if (dp_open(&dp)) {
		printf("FAIL bpf/fuzz: cannot set up or load the data plane\n");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = hs_test_main("bpf/fuzz", tests, sizeof(tests) / sizeof(tests[0]), argc, argv);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# %ld + 4 x %ld packets in %.1f s\n", count_up, count_vm,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	dp_close(&dp);
	return rc;
}
