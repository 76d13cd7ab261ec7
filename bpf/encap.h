/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Frame surgery: next-hop lookup, VLAN removal, VXLAN encapsulation and
 * decapsulation. Contract: fib_out() only reads; strip_*() and encap() move
 * the frame start (XDP: bpf_xdp_adjust_head; TC: bpf_skb_adjust_room), after
 * which every packet pointer is invalid and p's offsets are updated by the
 * function. They return 0 or -1 (adjust failed: the caller drops with
 * DROP_ERROR). encap() must be called only after fib_out() succeeded, with
 * its result. In TC, encap() keeps a GSO packet whole: the kernel segments
 * the inner TCP packet into VXLAN frames late (or the NIC does); the caller
 * has made its segments fit (see vmside.h).
 */
#ifndef HS_BPF_ENCAP_H
#define HS_BPF_ENCAP_H

#include "bpf/csum.h"
#include "bpf/flowhash.h"
#include "bpf/parse.h"

struct hs_nexthop {
	__u32 ifindex;
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
	__u8 fwd; /* encap(): set HS_VXLAN_RSVD_FWD */
	__u8 csum_ok; /* encap_prep(): isum is valid */
	__u16 pad;
	__u32 hash; /* encap_prep(): inner flow hash */
	__u32 isum; /* encap_prep(): inner_sum() */
	__u64 expires; /* fib_out(): when the result goes stale (coarse ns) */
};

/* Next hop toward dst (source src) through the kernel's FIB, cached per
 * CPU for HS_NEXTHOP_TTL_NS (the cache ignores src and ingress: heliostat
 * nodes route by destination). 0 or -1. */
static __noinline int fib_out(hs_ctx *ctx, const struct hs_ip *src, const struct hs_ip *dst,
			      struct hs_nexthop *nh)
{
	__u64 now = bpf_ktime_get_coarse_ns();
	struct hs_nexthop_entry *c = bpf_map_lookup_elem(&nexthops, dst);
	struct hs_nexthop_entry e = {};
	struct bpf_fib_lookup f = {};
	long rc;

	if (c && c->expires > now) {
		nh->ifindex = c->ifindex;
		__builtin_memcpy(nh->dmac, c->dmac, ETH_ALEN);
		__builtin_memcpy(nh->smac, c->smac, ETH_ALEN);
		nh->expires = c->expires;
		return 0;
	}

	f.ifindex = ctx->ingress_ifindex;
	if (ip_is_v4(dst)) {
		f.family = AF_INET;
		__builtin_memcpy(&f.ipv4_src, &src->b[12], 4);
		__builtin_memcpy(&f.ipv4_dst, &dst->b[12], 4);
	} else {
		f.family = AF_INET6;
		__builtin_memcpy(f.ipv6_src, src->b, 16);
		__builtin_memcpy(f.ipv6_dst, dst->b, 16);
	}
	rc = bpf_fib_lookup(ctx, &f, sizeof(f), 0);
#ifdef HS_CTX_SKB
	/* For an skb the helper also compares the packet as it is now with
	 * the egress MTU, after it filled in the result: not a routing
	 * failure (sizes are the caller's business, checked for the frame as
	 * it will leave). */
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		rc = BPF_FIB_LKUP_RET_SUCCESS;
#endif
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return -1;
	nh->ifindex = f.ifindex;
	__builtin_memcpy(nh->dmac, f.dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, f.smac, ETH_ALEN);
	e.expires = now + HS_NEXTHOP_TTL_NS;
	nh->expires = e.expires;
	e.ifindex = f.ifindex;
	__builtin_memcpy(e.dmac, f.dmac, ETH_ALEN);
	__builtin_memcpy(e.smac, f.smac, ETH_ALEN);
	bpf_map_update_elem(&nexthops, dst, &e, BPF_ANY);
	return 0;
}

/* Sends the frame (Ethernet addresses already set) toward nh. */
static __always_inline int send_to(hs_ctx *ctx, const struct hs_nexthop *nh)
{
#ifdef HS_CTX_SKB
	return bpf_redirect(nh->ifindex, 0); /* egress, also of the ingress port */
#else
	if (nh->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(nh->ifindex, 0);
#endif
}

/* Sends the frame back out the interface it came in on. */
static __always_inline int send_back(hs_ctx *ctx)
{
#ifdef HS_CTX_SKB
	return bpf_redirect(ctx->ingress_ifindex, 0);
#else
	return XDP_TX;
#endif
}

static __always_inline int set_eth(hs_ctx *ctx, const __u8 *dmac, const __u8 *smac)
{
	struct ethhdr *eth = pkt_ptr(ctx, 0, ETH_HLEN);

	if (!eth)
		return -1;
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	return 0;
}

static __always_inline void pkt_shift(struct pkt *p, int delta)
{
	p->l3_off += delta;
	p->l4_off += delta;
	p->in.l3_off += delta;
	p->in.l4_off += delta;
}

/* Removes VLAN tags: the MAC addresses move up over them. */
static __always_inline int strip_vlans(hs_ctx *ctx, struct pkt *p)
{
#ifdef HS_CTX_SKB
	/* The stack takes the outer tag off before TC (skb->vlan_tci), and
	 * would put it back on the way out. Each bpf_skb_vlan_pop() drops
	 * that one, or else the first in-band one, and moves the next in-band
	 * tag there: one call per tag. */
	__u32 n = p->vlans + (CTX_U32(ctx, vlan_present) ? 1 : 0);

	for (__u32 i = 0; i < MAX_VLANS + 1; i++)
		if (i < n && bpf_skb_vlan_pop(ctx))
			return -1;
	if (CTX_U32(ctx, vlan_present))
		return -1;
	pkt_shift(p, -(int)(p->vlans * 4));
	p->l2_len = ETH_HLEN;
	p->vlans = 0;
	return 0;
#else
	__u32 n = p->vlans * 4;
	__u8 macs[12];
	__u8 *d;

	if (!n)
		return 0;
	d = pkt_ptr(ctx, 0, 12);
	if (!d)
		return -1;
	__builtin_memcpy(macs, d, 12);
	if (bpf_xdp_adjust_head(ctx, n))
		return -1;
	d = pkt_ptr(ctx, 0, 12);
	if (!d)
		return -1;
	__builtin_memcpy(d, macs, 12);
	pkt_shift(p, -(int)n);
	p->l2_len = ETH_HLEN;
	p->vlans = 0;
	return 0;
#endif
}

/* Removes everything before the inner Ethernet header at base. In TC the
 * outer Ethernet header's place stays and takes the inner header, and what
 * follows it up to the inner IP header goes: the kernel then treats the skb
 * as the inner packet, a GSO one keeping its gso_size. */
static __always_inline int strip_outer(hs_ctx *ctx, struct pkt *inner, __u32 base)
{
#ifdef HS_CTX_SKB
	__u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO |
		      (inner->v4 ? BPF_F_ADJ_ROOM_DECAP_L3_IPV4 : BPF_F_ADJ_ROOM_DECAP_L3_IPV6);
	struct ethhdr *eth = pkt_ptr(ctx, base & 0x1ff, ETH_HLEN);
	struct ethhdr in;

	if (!eth)
		return -1;
	__builtin_memcpy(&in, eth, ETH_HLEN);
	if (bpf_skb_adjust_room(ctx, -(int)base, BPF_ADJ_ROOM_MAC, flags))
		return -1;
	eth = pkt_ptr(ctx, 0, ETH_HLEN);
	if (!eth)
		return -1;
	__builtin_memcpy(eth, &in, ETH_HLEN);
#else
	if (bpf_xdp_adjust_head(ctx, base))
		return -1;
#endif
	pkt_shift(inner, -(int)base);
	return 0;
}

static __always_inline __u32 outer_len(bool v4)
{
	return ETH_HLEN + (v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr)) +
	       sizeof(struct udphdr) + VXLAN_HLEN;
}

/* Would the frame, encapsulated toward host, exceed the underlay MTU? */
static __always_inline bool too_big(const struct hs_node_config *cfg, const struct pkt *p,
				    const struct hs_ip *host)
{
	__u32 ip_len = outer_len(ip_is_v4(host)) - ETH_HLEN + ETH_HLEN + p->ip_len;

	return cfg->underlay_mtu && ip_len > cfg->underlay_mtu;
}

/* Our underlay address in host's family (zero when not configured). */
static __always_inline const struct hs_ip *our_addr(const struct hs_node_config *cfg,
						    const struct hs_ip *host)
{
	return ip_is_v4(host) ? &cfg->underlay4 : &cfg->underlay6;
}

static __always_inline bool is_ours(const struct hs_node_config *cfg, const struct hs_ip *a)
{
	return !ip_is_zero(a) && (ip_eq(a, &cfg->underlay4) || ip_eq(a, &cfg->underlay6));
}

/*
 * Outer UDP checksum over IPv6 without reading the payload (RFC 7348 leaves
 * it optional only over IPv4). The inner transport checksum already makes
 * its segment sum to the complement of the inner pseudo-header, so the outer
 * sum needs only the headers in front of it. Returns 0 (no checksum) when
 * the inner packet does not allow that shortcut.
 */
static __always_inline __u32 inner_sum(hs_ctx *ctx, const struct pkt *p, __u8 *ok)
{
	__u32 s = 0;
	__u8 *eth, *ip6;

	*ok = 0;
	if (p->frag || !p->has_l4 || p->l3_off + p->ip_len != pkt_len(ctx) || ctx_is_gso(ctx))
		return 0;
	if (p->proto == IPPROTO_UDP && p->l4_csum_off == 0)
		return 0;
	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP && p->proto != IPPROTO_ICMP &&
	    p->proto != IPPROTO_ICMPV6)
		return 0;
	eth = pkt_ptr(ctx, 0, ETH_HLEN);
	if (!eth)
		return 0;
	s += csum_sum_bytes(eth, ETH_HLEN);
	if (!p->v4) {
		if (p->l4_off != p->l3_off + sizeof(struct ipv6hdr))
			return 0;
		ip6 = pkt_ptr(ctx, p->l3_off, sizeof(struct ipv6hdr));
		if (!ip6)
			return 0;
		s += csum_sum_bytes(ip6, sizeof(struct ipv6hdr));
	}
	/* IPv4 header and ICMPv4 messages sum to zero when their checksums hold */
	if (p->proto != IPPROTO_ICMP)
		s += (__u16)~csum_fold(csum_pseudo(
			&p->src, &p->dst, p->ip_len - (p->l4_off - p->l3_off), p->proto, p->v4));
	*ok = 1;
	return s;
}

/* Reads what encap() needs from the inner frame, in a frame of its own so
 * the unrolled sums do not count against the caller chain's 512-byte stack. */
static __noinline int encap_prep(hs_ctx *ctx, const struct pkt *p, const struct hs_ip *host,
				 struct hs_nexthop *nh)
{
	/* every fragment of a datagram takes the same outer port (and path):
	 * only the first one carries the ports */
	nh->hash = p->frag ? hs_flow_hash(&p->src, &p->dst, 0, 0, p->proto)
			   : hs_flow_hash(&p->src, &p->dst, p->sport, p->dport, p->proto);
	nh->csum_ok = 0;
	nh->isum = ip_is_v4(host) ? 0 : inner_sum(ctx, p, &nh->csum_ok);
	return 0;
}

#ifdef HS_CTX_SKB
#define HS_ADJ_ROOM_ENCAP_L2(len) \
	(((__u64)(len)&BPF_ADJ_ROOM_ENCAP_L2_MASK) << BPF_ADJ_ROOM_ENCAP_L2_SHIFT)

/* TC: olen bytes of room after the Ethernet header, which becomes the outer
 * one; the inner Ethernet header (a copy of it) goes at the end of the room.
 * The flags tell the kernel what was put there, so that it can segment a
 * GSO packet (the inner TCP, gso_size kept) into VXLAN frames and find the
 * inner checksum of a CHECKSUM_PARTIAL one. */
static __always_inline int encap_room(hs_ctx *ctx, __u32 olen, bool v4)
{
	__u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L4_UDP |
		      BPF_F_ADJ_ROOM_ENCAP_L2_ETH | HS_ADJ_ROOM_ENCAP_L2(ETH_HLEN) |
		      (v4 ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 : BPF_F_ADJ_ROOM_ENCAP_L3_IPV6);
	struct ethhdr *eth = pkt_ptr(ctx, 0, ETH_HLEN);
	struct ethhdr inner;

	if (!eth)
		return -1;
	__builtin_memcpy(&inner, eth, ETH_HLEN);
	if (bpf_skb_adjust_room(ctx, olen, BPF_ADJ_ROOM_MAC, flags))
		return -1;
	eth = pkt_ptr(ctx, olen & 0x7f, ETH_HLEN);
	if (!eth)
		return -1;
	__builtin_memcpy(eth, &inner, ETH_HLEN);
	return 0;
}
#endif

/*
 * Puts [Ethernet][IPv4|IPv6][UDP][VXLAN] in front of the (untagged) frame.
 * host: outer destination; the source is our address of its family; nh:
 * fib_out() and encap_prep() results for host, nh->fwd whether to flag it.
 */
static __always_inline int encap_body(hs_ctx *ctx, struct pkt *p, const struct hs_node_config *cfg,
				      const struct hs_ip *host, const struct hs_nexthop *nh)
{
	const struct hs_ip *src = our_addr(cfg, host);
	bool v4 = ip_is_v4(host);
	__u32 olen = outer_len(v4);
	__u32 flen = pkt_len(ctx);
	__u16 udp_len = flen + sizeof(struct udphdr) + VXLAN_HLEN;
	struct ethhdr *eth;
	struct udphdr *uh;
	__u8 *vx;
	__u32 l4;

#ifdef HS_CTX_SKB
	/* a GSO packet may be longer than the length fields hold; the
	 * kernel writes each segment's own lengths */
	if (flen + sizeof(struct udphdr) + VXLAN_HLEN > 0xffff - sizeof(struct ipv6hdr))
		udp_len = 0xffff - sizeof(struct ipv6hdr);
	if (encap_room(ctx, olen, v4))
		return -1;
#else
	if (bpf_xdp_adjust_head(ctx, -(int)olen))
		return -1;
#endif
	pkt_shift(p, olen);

	eth = pkt_ptr(ctx, 0, ETH_HLEN);
	if (!eth)
		return -1;
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
	if (v4) {
		struct iphdr *ip = pkt_ptr(ctx, ETH_HLEN, sizeof(*ip));

		if (!ip)
			return -1;
		eth->h_proto = bpf_htons(ETH_P_IP);
		ip->version = 4;
		ip->ihl = 5;
		ip->tos = 0;
		ip->tot_len = bpf_htons(udp_len + sizeof(*ip));
		ip->id = 0;
		ip->frag_off = bpf_htons(IP_DF);
		ip->ttl = 64;
		ip->protocol = IPPROTO_UDP;
		ip->check = 0;
		__builtin_memcpy(&ip->saddr, &src->b[12], 4);
		__builtin_memcpy(&ip->daddr, &host->b[12], 4);
		ip->check = ~csum_fold(csum_sum_bytes(ip, sizeof(*ip)));
		l4 = ETH_HLEN + sizeof(*ip);
	} else {
		struct ipv6hdr *ip6 = pkt_ptr(ctx, ETH_HLEN, sizeof(*ip6));

		if (!ip6)
			return -1;
		eth->h_proto = bpf_htons(ETH_P_IPV6);
		*(__be32 *)ip6 = bpf_htonl(0x60000000);
		ip6->payload_len = bpf_htons(udp_len);
		ip6->nexthdr = IPPROTO_UDP;
		ip6->hop_limit = 64;
		__builtin_memcpy(&ip6->saddr, src->b, 16);
		__builtin_memcpy(&ip6->daddr, host->b, 16);
		l4 = ETH_HLEN + sizeof(*ip6);
	}
	uh = pkt_ptr(ctx, l4, sizeof(*uh) + VXLAN_HLEN);
	if (!uh)
		return -1;
	uh->source = bpf_htons(hs_vxlan_sport(nh->hash));
	uh->dest = cfg->vxlan_port;
	uh->len = bpf_htons(udp_len);
	uh->check = 0;
	vx = (__u8 *)(uh + 1);
	vx[0] = VXLAN_FLAG_I;
	vx[1] = nh->fwd ? HS_VXLAN_RSVD_FWD : 0;
	vx[2] = 0;
	vx[3] = 0;
	vx[4] = cfg->vni >> 16;
	vx[5] = cfg->vni >> 8;
	vx[6] = cfg->vni;
	vx[7] = 0;
	if (!v4 && nh->csum_ok) {
		__u32 s = nh->isum + csum_pseudo(src, host, udp_len, IPPROTO_UDP, false) +
			  csum_sum_bytes(uh, sizeof(*uh) + VXLAN_HLEN);
		__u16 c = ~csum_fold(s);

		uh->check = c ? c : 0xffff;
	}
	return 0;
}

/* The full paths call it out of line, as before; the front-end cache path
 * inlines encap_body(): one call and return fewer, ~5 ns in bench_dp on a
 * kernel whose SRSO mitigation makes every return a "safe RET" (6.18). */
static __noinline int encap(hs_ctx *ctx, struct pkt *p, const struct hs_node_config *cfg,
			    const struct hs_ip *host, const struct hs_nexthop *nh)
{
	return encap_body(ctx, p, cfg, host, nh);
}

#ifndef HS_CTX_SKB
/* The outer headers over IPv4 as the XDP fast paths write them: Ethernet,
 * IPv4 (no options), UDP, VXLAN. */
#define ENC4_IP ETH_HLEN
#define ENC4_UDP (ENC4_IP + 20)
#define ENC4_VXLAN (ENC4_UDP + 8)
#define ENC4_LEN (ENC4_VXLAN + VXLAN_HLEN)

/*
 * Writes into t (ENC4_LEN bytes, zeroed by the caller) the outer headers
 * encap_body() puts in front of a frame sent toward the IPv4 host through
 * nh, unflagged, with outer UDP source port hash: with the IPv4 and UDP
 * lengths and the IPv4 checksum left zero. Returns the 16-bit sum of that
 * IPv4 header, for encap_emit4().
 */
static __always_inline __u32 encap_tmpl4(__u8 *t, const struct hs_node_config *cfg,
					 const struct hs_ip *host, const struct hs_nexthop *nh,
					 __u32 hash)
{
	__be16 w;

	__builtin_memcpy(t, nh->dmac, ETH_ALEN);
	__builtin_memcpy(t + ETH_ALEN, nh->smac, ETH_ALEN);
	w = bpf_htons(ETH_P_IP);
	__builtin_memcpy(t + 12, &w, 2);
	t[ENC4_IP] = 0x45;
	w = bpf_htons(IP_DF);
	__builtin_memcpy(t + ENC4_IP + 6, &w, 2);
	t[ENC4_IP + 8] = 64;
	t[ENC4_IP + 9] = IPPROTO_UDP;
	__builtin_memcpy(t + ENC4_IP + 12, &cfg->underlay4.b[12], 4);
	__builtin_memcpy(t + ENC4_IP + 16, &host->b[12], 4);
	w = bpf_htons(hs_vxlan_sport(hash));
	__builtin_memcpy(t + ENC4_UDP, &w, 2);
	__builtin_memcpy(t + ENC4_UDP + 2, &cfg->vxlan_port, 2);
	t[ENC4_VXLAN] = VXLAN_FLAG_I;
	t[ENC4_VXLAN + 4] = cfg->vni >> 16;
	t[ENC4_VXLAN + 5] = cfg->vni >> 8;
	t[ENC4_VXLAN + 6] = cfg->vni;
	return csum_sum_bytes(t + ENC4_IP, 20);
}

/*
 * The XDP fast paths' encap_body(): pushes ENC4_LEN bytes in front of the
 * frame (flen bytes long), copies len bytes of tmpl there (the outer
 * headers from encap_tmpl4(), and what the caller put after them: len a
 * constant, ENC4_LEN or more, even), then writes the lengths and the outer
 * IPv4 checksum (osum: encap_tmpl4()'s sum). 0, or -1 when the push failed.
 */
static __always_inline int encap_emit4(struct xdp_md *ctx, const __u64 *tmpl, __u32 osum,
				       __u32 flen, const int len)
{
	__u16 tot = flen + ENC4_LEN - ETH_HLEN;
	__u8 *o;
	int i;

	if (bpf_xdp_adjust_head(ctx, -ENC4_LEN))
		return -1;
	o = (void *)(long)ctx->data;
	if ((void *)(o + len) > (void *)(long)ctx->data_end)
		return -1;
#pragma unroll
	for (i = 0; i < len / 8; i++)
		((__u64 *)o)[i] = tmpl[i];
	if (len & 4)
		*(__u32 *)(o + (len & ~7)) = *(const __u32 *)&tmpl[len / 8];
	if (len & 2)
		*(__u16 *)(o + (len & ~3)) = *((const __u16 *)&tmpl[len / 8] + ((len & 4) ? 2 : 0));
	*(__be16 *)(o + ENC4_IP + 2) = bpf_htons(tot);
	*(__u16 *)(o + ENC4_IP + 10) = ~csum_fold32(osum + bpf_htons(tot));
	*(__be16 *)(o + ENC4_UDP + 4) = bpf_htons(tot - 20);
	return 0;
}
#endif

#ifdef HS_CTX_SKB
/*
 * A TC program cannot see or clear an skb's CHECKSUM_PARTIAL (checksum
 * offload: the transport checksum field holds the folded pseudo-header sum,
 * the rest is summed on transmission, from csum_start, by the kernel when
 * the egress cannot). The error made from such a packet still carries that
 * state, and csum_start then points at the quoted transport header, which
 * must hold the checksum field. When the packet looks partial (its field
 * is the pseudo-header sum: a finished checksum is that once in 65535),
 * returns how many transport bytes to quote (8 for UDP; 20 for TCP, whose
 * field is at 16), with *ck the field's offset in them; 0 when it does not;
 * -1 when it does and the field cannot be quoted (IPv6 extension headers):
 * no error is possible then.
 */
static __always_inline int partial_quote(hs_ctx *ctx, const struct pkt *p, __u32 *ck)
{
	__u32 hl = p->l4_off - p->l3_off;
	bool tcp = p->proto == IPPROTO_TCP;
	__u16 *f;

	if (p->frag || !p->has_l4 || (!tcp && p->proto != IPPROTO_UDP))
		return 0;
	*ck = tcp ? 16 : 6;
	f = pkt_ptr(ctx, p->l4_off + *ck, 2);
	if (!f || *f != csum_fold(csum_pseudo(&p->src, &p->dst, p->ip_len - hl, p->proto, p->v4)))
		return 0;
	if (!p->v4 && hl != sizeof(struct ipv6hdr))
		return -1;
	return tcp ? 20 : 8;
}

/*
 * Writes the quoted transport checksum (len bytes at off, the field at ck
 * in them) so that it is a fixed point of the kernel's late checksum:
 * csum_fold(sum of the quoted bytes) == the field. Then the ICMP checksum
 * over the quote holds whether the egress sums the quote (no offload:
 * skb_checksum_help) or leaves it (the receiver trusts a partial checksum).
 * With s the sum of the other words, modulo 0xffff F = ~(s + F), so
 * 2F = -s and F = -s / 2 (2 * 0x8000 = 1 modulo 0xffff).
 */
static __always_inline int partial_fix(hs_ctx *ctx, __u32 off, __u32 len, __u32 ck)
{
	__u32 s = 0, f;
	__u16 *w;

	for (__u32 i = 0; i < 20; i += 2) {
		if (i >= len)
			break;
		w = pkt_ptr(ctx, (off + i) & 0x7f, 2);
		if (!w)
			return -1;
		if (i != ck)
			s += *w;
	}
	w = pkt_ptr(ctx, (off + ck) & 0x7f, 2);
	if (!w)
		return -1;
	s = csum_fold(s) % 0xffff;
	f = ((0xffff - s) * 0x8000ull) % 0xffff;
	*w = f ? f : 0xffff;
	return 0;
}
#endif

/*
 * Turns the packet into an ICMP "fragmentation needed" / ICMPv6 "packet too
 * big" for its sender, in place, quoting its IP header and 8 bytes (in TC
 * 20 of a TCP packet under checksum offload, see partial_quote()); L2 is
 * kept (addresses swapped, VLAN tags as they were). mtu: the value to
 * report. Returns 0 or -1.
 */
static __noinline int make_toobig(hs_ctx *ctx, struct pkt *p, __u32 mtu)
{
	__u32 hdr = p->v4 ? sizeof(struct iphdr) + 8 : sizeof(struct ipv6hdr) + 8;
	__u32 quote = p->v4 ? (p->l4_off - p->l3_off) + 8 : sizeof(struct ipv6hdr) + 8;
	__u32 l2 = p->l2_len, total, sum;
	const struct hs_ip *src = &p->dst, *dst = &p->src;
	__u8 l2buf[ETH_HLEN + 4 * MAX_VLANS];
	__u8 *b, *icmp;
	__u16 *w;
#ifdef HS_CTX_SKB
	__u32 ck = 0;
	int fix = partial_quote(ctx, p, &ck);

	if (fix < 0)
		return -1;
	if (fix)
		quote = (p->l4_off - p->l3_off) + fix;
#endif

	if (quote > 68 || !pkt_ptr(ctx, p->l3_off, quote))
		return -1;
	/* a packet too big for the tunnel is far longer than 22 bytes */
	b = pkt_ptr(ctx, 0, ETH_HLEN + 4 * MAX_VLANS);
	if (!b)
		return -1;
	__builtin_memcpy(l2buf, b, sizeof(l2buf));
	total = l2 + hdr + quote;
#ifdef HS_CTX_SKB
	/* room after L2: the original IP header lands at l2 + hdr, as below */
	if (bpf_skb_adjust_room(ctx, hdr, BPF_ADJ_ROOM_MAC, 0) ||
	    bpf_skb_change_tail(ctx, total, 0))
		return -1;
#else
	if (bpf_xdp_adjust_head(ctx, -(int)hdr))
		return -1;
	if (bpf_xdp_adjust_tail(ctx, (int)total - (int)pkt_len(ctx)))
		return -1;
#endif
	b = pkt_ptr(ctx, 0, ETH_HLEN + 4 * MAX_VLANS);
	if (!b)
		return -1;
	/* new L2: addresses swapped, tags and type as they were */
	__builtin_memcpy(b, l2buf + 6, 6);
	__builtin_memcpy(b + 6, l2buf, 6);
	if (l2 == ETH_HLEN)
		__builtin_memcpy(b + 12, l2buf + 12, 2);
	else if (l2 == ETH_HLEN + 4)
		__builtin_memcpy(b + 12, l2buf + 12, 6);
	else
		__builtin_memcpy(b + 12, l2buf + 12, 10);

	if (p->v4) {
		struct iphdr *ip = pkt_ptr(ctx, l2 & 0x1f, sizeof(*ip) + 8);

		if (!ip)
			return -1;
		ip->version = 4;
		ip->ihl = 5;
		ip->tos = 0;
		ip->tot_len = bpf_htons(hdr + quote);
		ip->id = 0;
		ip->frag_off = 0;
		ip->ttl = 64;
		ip->protocol = IPPROTO_ICMP;
		ip->check = 0;
		__builtin_memcpy(&ip->saddr, &src->b[12], 4);
		__builtin_memcpy(&ip->daddr, &dst->b[12], 4);
		ip->check = ~csum_fold(csum_sum_bytes(ip, sizeof(*ip)));
		icmp = (__u8 *)(ip + 1);
		icmp[0] = ICMP_DEST_UNREACH;
		icmp[1] = ICMP_FRAG_NEEDED;
		icmp[2] = icmp[3] = icmp[4] = icmp[5] = 0;
		icmp[6] = mtu >> 8;
		icmp[7] = mtu;
		sum = 0;
	} else {
		struct ipv6hdr *ip6 = pkt_ptr(ctx, l2 & 0x1f, sizeof(*ip6) + 8);

		if (!ip6)
			return -1;
		*(__be32 *)ip6 = bpf_htonl(0x60000000);
		ip6->payload_len = bpf_htons(8 + quote);
		ip6->nexthdr = IPPROTO_ICMPV6;
		ip6->hop_limit = 64;
		__builtin_memcpy(&ip6->saddr, src->b, 16);
		__builtin_memcpy(&ip6->daddr, dst->b, 16);
		icmp = (__u8 *)(ip6 + 1);
		icmp[0] = ICMPV6_PKT_TOOBIG;
		icmp[1] = 0;
		icmp[2] = icmp[3] = 0;
		icmp[4] = mtu >> 24;
		icmp[5] = mtu >> 16;
		icmp[6] = mtu >> 8;
		icmp[7] = mtu;
		sum = csum_pseudo(src, dst, 8 + quote, IPPROTO_ICMPV6, false);
	}
#ifdef HS_CTX_SKB
	if (fix && partial_fix(ctx, l2 + hdr + (p->l4_off - p->l3_off), fix, ck))
		return -1;
#endif
	/* checksum over the ICMP header and the quote (even length, <= 76) */
	for (int i = 0; i < (8 + 68) / 2; i++) {
		if (i * 2 >= 8 + quote)
			break;
		w = pkt_ptr(ctx, ((l2 + hdr - 8) & 0x7f) + i * 2, 2);
		if (!w)
			return -1;
		sum += *w;
	}
	w = pkt_ptr(ctx, ((l2 + hdr - 8) & 0x7f) + 2, 2);
	if (!w)
		return -1;
	*w = ~csum_fold(sum);
	return 0;
}

#endif
