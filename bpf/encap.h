/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Frame surgery: next-hop lookup, VLAN removal, VXLAN encapsulation and
 * decapsulation. Contract: fib_out() only reads; strip_*() and encap() move
 * the frame start (bpf_xdp_adjust_head), after which every packet pointer is
 * invalid and p's offsets are updated by the function. They return 0 or -1
 * (adjust failed: the caller drops with DROP_ERROR). encap() must be called
 * only after fib_out() succeeded, with its result.
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
static __noinline int fib_out(struct xdp_md *ctx, const struct hs_ip *src, const struct hs_ip *dst,
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
static __always_inline int send_to(struct xdp_md *ctx, const struct hs_nexthop *nh)
{
	if (nh->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(nh->ifindex, 0);
}

static __always_inline int set_eth(struct xdp_md *ctx, const __u8 *dmac, const __u8 *smac)
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
static __always_inline int strip_vlans(struct xdp_md *ctx, struct pkt *p)
{
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
}

/* Removes everything before the inner Ethernet header at base. */
static __always_inline int strip_outer(struct xdp_md *ctx, struct pkt *inner, __u32 base)
{
	if (bpf_xdp_adjust_head(ctx, base))
		return -1;
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
static __always_inline __u32 inner_sum(struct xdp_md *ctx, const struct pkt *p, __u8 *ok)
{
	__u32 s = 0;
	__u8 *eth, *ip6;

	*ok = 0;
	if (p->frag || !p->has_l4 || p->l3_off + p->ip_len != pkt_len(ctx))
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
static __noinline int encap_prep(struct xdp_md *ctx, const struct pkt *p, const struct hs_ip *host,
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

/*
 * Puts [Ethernet][IPv4|IPv6][UDP][VXLAN] in front of the (untagged) frame.
 * host: outer destination; the source is our address of its family; nh:
 * fib_out() and encap_prep() results for host, nh->fwd whether to flag it.
 */
static __always_inline int encap_body(struct xdp_md *ctx, struct pkt *p,
				      const struct hs_node_config *cfg, const struct hs_ip *host,
				      const struct hs_nexthop *nh)
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

	if (bpf_xdp_adjust_head(ctx, -(int)olen))
		return -1;
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
static __noinline int encap(struct xdp_md *ctx, struct pkt *p, const struct hs_node_config *cfg,
			    const struct hs_ip *host, const struct hs_nexthop *nh)
{
	return encap_body(ctx, p, cfg, host, nh);
}

/*
 * Turns the packet into an ICMP "fragmentation needed" / ICMPv6 "packet too
 * big" for its sender, in place, quoting its IP header and 8 bytes; L2 is
 * kept (addresses swapped, VLAN tags as they were). mtu: the value to
 * report. Returns 0 or -1.
 */
static __noinline int make_toobig(struct xdp_md *ctx, struct pkt *p, __u32 mtu)
{
	__u32 hdr = p->v4 ? sizeof(struct iphdr) + 8 : sizeof(struct ipv6hdr) + 8;
	__u32 quote = p->v4 ? (p->l4_off - p->l3_off) + 8 : sizeof(struct ipv6hdr) + 8;
	__u32 l2 = p->l2_len, total, sum;
	const struct hs_ip *src = &p->dst, *dst = &p->src;
	__u8 l2buf[ETH_HLEN + 4 * MAX_VLANS];
	__u8 *b, *icmp;
	__u16 *w;

	if (quote > 68 || !pkt_ptr(ctx, p->l3_off, quote))
		return -1;
	/* a packet too big for the tunnel is far longer than 22 bytes */
	b = pkt_ptr(ctx, 0, ETH_HLEN + 4 * MAX_VLANS);
	if (!b)
		return -1;
	__builtin_memcpy(l2buf, b, sizeof(l2buf));
	if (bpf_xdp_adjust_head(ctx, -(int)hdr))
		return -1;
	total = l2 + hdr + quote;
	if (bpf_xdp_adjust_tail(ctx, (int)total - (int)pkt_len(ctx)))
		return -1;
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
