/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Address/port translation and TCP MSS clamping, in place. Contract:
 * xlate() rewrites the source or destination (address, and port when
 * non-zero) of the packet described by p, and for an ICMP error also the
 * opposite side of its embedded packet, updating every checksum that covers
 * them incrementally; p's addresses and ports are updated to match. It
 * returns 0, or -1 when the new address is of the other family or a header
 * moved out of reach (the caller drops with DROP_ERROR). Offsets in p stay
 * valid: nothing is inserted or removed.
 *
 * Checksums: XDP sees finished packets and updates every checksum in place.
 * A TC program may see CHECKSUM_PARTIAL packets (checksum offload: the
 * transport checksum field holds only the pseudo-header sum, the rest is
 * summed on transmission), so there the transport checksum is updated by
 * bpf_l4_csum_replace(), which knows the skb's checksum state: the
 * pseudo-header part (addresses) always, the rest (ports, an ICMP error's
 * quote) only for a finished checksum.
 */
#ifndef HS_BPF_NAT_H
#define HS_BPF_NAT_H

#include "bpf/csum.h"
#include "bpf/parse.h"

/* Does the transport checksum cover a pseudo-header with the addresses? */
static __always_inline bool l4_has_pseudo(const struct pkt *p)
{
	return p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP ||
	       (!p->v4 && p->proto == IPPROTO_ICMPV6);
}

static __always_inline int csum_write(hs_ctx *ctx, __u32 off, __u32 delta, bool udp)
{
	__u16 *c = pkt_ptr(ctx, off, 2);
	__u16 v;

	if (!c)
		return -1;
	v = csum_apply(*c, delta);
	if (udp && v == 0)
		v = 0xffff;
	*c = v;
	return 0;
}

/* Updates the transport checksum at off: pseudo is the delta of the
 * pseudo-header fields, rest the delta of bytes the checksum covers itself.
 * 0 or -1. */
static __always_inline int l4_csum_write(hs_ctx *ctx, bool v4, __u32 off, __u32 pseudo, __u32 rest,
					 bool udp)
{
#ifdef HS_CTX_SKB
	/* UDP: a result of 0 is written as 0xffff; ENFORCE: a 0 found is
	 * updated too (the caller skips IPv4's "no checksum" 0, as XDP does) */
	__u64 f = udp ? BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE : 0;

	if (pseudo &&
	    bpf_l4_csum_replace(ctx, off, 0, pseudo, f | BPF_F_PSEUDO_HDR | (v4 ? 0 : BPF_F_IPV6)))
		return -1;
	if (rest && bpf_l4_csum_replace(ctx, off, 0, rest, f))
		return -1;
	return 0;
#else
	return csum_write(ctx, off, pseudo + rest, udp);
#endif
}

/* Rewrites the embedded packet of an ICMP error: its source (emb_dst false)
 * or destination address and port; returns the delta for the ICMP checksum. */
static __always_inline int xlate_embedded(hs_ctx *ctx, struct pkt *p, bool emb_dst,
					  const struct hs_ip *addr, __be16 port, __u32 *icmp_delta)
{
	struct embedded *in = &p->in;
	__u32 d_addr, d_l4, d = 0;
	__u32 aoff;

	if (p->v4) {
		__u16 *ck;
		__u16 old;
		__u8 *a;

		aoff = in->l3_off + (emb_dst ? 16 : 12);
		a = pkt_ptr(ctx, aoff, 4);
		ck = pkt_ptr(ctx, in->l3_off + 10, 2);
		if (!a || !ck)
			return -1;
		d_addr = csum_delta_bytes(a, &addr->b[12], 4);
		__builtin_memcpy(a, &addr->b[12], 4);
		old = *ck;
		*ck = csum_apply(old, d_addr);
		d += d_addr + csum_delta16(old, *ck);
	} else {
		__u8 *a;

		aoff = in->l3_off + (emb_dst ? 24 : 8);
		a = pkt_ptr(ctx, aoff, 16);
		if (!a)
			return -1;
		d_addr = csum_delta_bytes(a, addr->b, 16);
		__builtin_memcpy(a, addr->b, 16);
		d += d_addr;
	}
	if (emb_dst)
		in->dst = *addr;
	else
		in->src = *addr;

	d_l4 = d_addr;
	if (port && in->has_ports && (in->proto == IPPROTO_TCP || in->proto == IPPROTO_UDP)) {
		__be16 *pp = pkt_ptr(ctx, in->l4_off + (emb_dst ? 2 : 0), 2);

		if (!pp)
			return -1;
		d_l4 += csum_delta16(*pp, port);
		d += csum_delta16(*pp, port);
		*pp = port;
		if (emb_dst)
			in->dport = port;
		else
			in->sport = port;
	}
	/* The embedded transport checksum, when the error quoted it. */
	if (in->has_ports && (in->proto == IPPROTO_TCP || in->proto == IPPROTO_UDP)) {
		__u32 coff = in->l4_off + (in->proto == IPPROTO_TCP ? 16 : 6);
		__u16 *ck = pkt_ptr(ctx, coff, 2);

		if (ck && !(in->proto == IPPROTO_UDP && p->v4 && *ck == 0)) {
			__u16 old = *ck, v = csum_apply(old, d_l4);

			if (in->proto == IPPROTO_UDP && v == 0)
				v = 0xffff;
			*ck = v;
			d += csum_delta16(old, v);
		}
	}
	*icmp_delta = d;
	return 0;
}

/* xlate()'s body; with icmp false it ignores p->icmp_err (the caller knows
 * p is not an ICMP error) and the embedded-packet code is compiled out. */
static __always_inline int xlate_body(hs_ctx *ctx, struct pkt *p, bool dst,
				      const struct hs_ip *addr, __be16 port, bool icmp)
{
	__u32 d_ip = 0, d_ps = 0, d_l4 = 0, d_addr;
	bool pseudo = p->has_l4 && p->l4_csum_off && l4_has_pseudo(p);

	if (ip_is_v4(addr) != (bool)p->v4)
		return -1;
	if (p->v4) {
		__u8 *a = pkt_ptr(ctx, p->l3_off + (dst ? 16 : 12), 4);

		if (!a)
			return -1;
		d_addr = csum_delta_bytes(a, &addr->b[12], 4);
		__builtin_memcpy(a, &addr->b[12], 4);
		d_ip = d_addr;
	} else {
		__u8 *a = pkt_ptr(ctx, p->l3_off + (dst ? 24 : 8), 16);

		if (!a)
			return -1;
		d_addr = csum_delta_bytes(a, addr->b, 16);
		__builtin_memcpy(a, addr->b, 16);
	}
	if (pseudo)
		d_ps = d_addr;
	if (dst)
		p->dst = *addr;
	else
		p->src = *addr;

	if (port && p->has_l4 && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		__be16 *pp = pkt_ptr(ctx, p->l4_off + (dst ? 2 : 0), 2);

		if (!pp)
			return -1;
		d_l4 += csum_delta16(*pp, port);
		*pp = port;
		if (dst)
			p->dport = port;
		else
			p->sport = port;
	}

	if (icmp && p->icmp_err) {
		__u32 d_icmp;

		/* the embedded packet travelled the other way */
		if (xlate_embedded(ctx, p, !dst, addr, port, &d_icmp))
			return -1;
		d_l4 += d_icmp;
	}

	if (p->v4 && csum_write(ctx, p->l3_off + 10, d_ip, false))
		return -1;
	if (p->has_l4 && p->l4_csum_off &&
	    l4_csum_write(ctx, p->v4, p->l4_off + p->l4_csum_off, d_ps, d_l4,
			  p->proto == IPPROTO_UDP))
		return -1;
	return 0;
}

static __noinline int xlate(hs_ctx *ctx, struct pkt *p, bool dst, const struct hs_ip *addr,
			    __be16 port)
{
	return xlate_body(ctx, p, dst, addr, port, true);
}

/* Largest MSS that fits the underlay after the worst-case (IPv6) outer. */
static __always_inline __u16 mss_limit(const struct hs_node_config *cfg, const struct pkt *p)
{
	return cfg->underlay_mtu - 70 - (p->v4 ? 20 : 40) - 20;
}

#define TCP_FLAG_SYN 0x02
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCP_MAX_OPTS 40

struct mss_scan {
	hs_ctx *ctx;
	__u32 l4_off;
	__u32 o; /* option offset within the TCP header */
	__u32 end; /* TCP header length */
	__u16 limit;
	__u16 old; /* found: the MSS value (network order) */
};

/* One TCP option per call. Run through bpf_loop() so the verifier checks
 * the body once: an open-coded 40-step scan blew its 1M-instruction budget
 * (kernel 6.18, clang 14) because every option length forks the state. It
 * only looks: s->old set means an MSS option above the limit at s->o. (The
 * write is the caller's, after the loop: in TC it needs a helper that may
 * move the packet, which a callback must not call.) */
static long mss_step(__u64 idx, void *data)
{
	struct mss_scan *s = data;
	__u16 *val;
	__u8 *opt;

	if (s->o + 1 > s->end)
		return 1;
	opt = pkt_ptr(s->ctx, s->l4_off + (s->o & 0x3f), 2);
	if (!opt || opt[0] == TCPOPT_EOL)
		return 1;
	if (opt[0] == TCPOPT_NOP) {
		s->o++;
		return 0;
	}
	if (s->o + 2 > s->end || opt[1] < 2)
		return 1;
	if (opt[0] != TCPOPT_MSS) {
		s->o += opt[1];
		return 0;
	}
	if (opt[1] != 4 || s->o + 4 > s->end)
		return 1;
	val = pkt_ptr(s->ctx, s->l4_off + ((s->o + 2) & 0x3f), 2);
	if (val && bpf_ntohs(*val) > s->limit)
		s->old = *val;
	return 1;
}

/* Lowers the MSS option of a SYN or SYN-ACK to fit the underlay. Returns 0
 * (also when nothing was to be done) or -1 when the header went missing. */
static __always_inline int mss_clamp(hs_ctx *ctx, struct pkt *p, const struct hs_node_config *cfg)
{
	struct mss_scan s = {};
	__u16 *val, new;
	__u8 *th;
	__u32 d;

	if (!cfg->underlay_mtu || p->proto != IPPROTO_TCP || !p->has_l4 ||
	    !(p->tcp_flags & TCP_FLAG_SYN) || cfg->underlay_mtu < 576)
		return 0;
	th = pkt_ptr(ctx, p->l4_off, 20);
	if (!th)
		return -1;
	s.ctx = ctx;
	s.l4_off = p->l4_off;
	s.o = 20;
	s.end = (th[12] >> 4) * 4;
	s.limit = mss_limit(cfg, p);
	bpf_loop(TCP_MAX_OPTS, mss_step, &s, 0);
	if (!s.old)
		return 0;
	val = pkt_ptr(ctx, p->l4_off + ((s.o + 2) & 0x3f), 2);
	if (!val)
		return -1;
	new = bpf_htons(s.limit);
	/* a value at an odd offset sits across two checksum words */
	if (s.o & 1)
		d = csum_delta16(__builtin_bswap16(s.old), __builtin_bswap16(new));
	else
		d = csum_delta16(s.old, new);
	*val = new;
	if (l4_csum_write(ctx, p->v4, p->l4_off + 16, 0, d, false))
		return -1;
	count(HS_R_MSS_CLAMPED);
	return 0;
}

#endif
