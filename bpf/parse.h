/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Header parsing into struct pkt. Contract: parse_l2() and parse_ip() only
 * read the packet; they return 0 when the headers are well-formed, or the
 * enum hs_reason (a DROP_MALFORMED_*) that says what was wrong. Offsets in
 * struct pkt are from ctx->data.
 */
#ifndef HS_BPF_PARSE_H
#define HS_BPF_PARSE_H

#include "bpf/common.h"

#define MAX_VLANS 2
#define MAX_EXTHDRS 4

/* The packet embedded in an ICMP error. */
struct embedded {
	__u32 l3_off;
	__u32 l4_off;
	struct hs_ip src, dst;
	__be16 sport, dport;
	__u8 proto;
	__u8 has_ports;
	__u8 hdrlen; /* IPv4 header length, for its checksum */
	__u8 pad;
};

struct pkt {
	__u32 l3_off; /* IP header */
	__u32 l4_off; /* transport header (valid when has_l4) */
	__u32 ip_len; /* IP total length from the header */
	__u16 l2_len; /* Ethernet + VLAN tags */
	__u8 vlans;
	__u8 v4; /* 1 IPv4, 0 IPv6 */
	__u8 proto; /* upper-layer protocol */
	__u8 frag; /* a fragment (first or later) */
	__u8 has_l4; /* transport header parsed (not a later fragment) */
	__u8 df; /* IPv4 DF */
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_err; /* ICMP error carrying a parsed embedded packet */
	__u8 l4_csum_off; /* checksum offset within L4, 0 = none to update */
	struct hs_ip src, dst;
	__be16 sport, dport; /* ICMP echo: the identifier in both */
	struct embedded in;
};

/* struct pkt lives in a per-CPU scratch slot: with everything inlined, two
 * of them plus the FIB lookup's arguments exceed the 512-byte BPF stack
 * (clang 14, kernel 6.18). Not pinned: each object has its own. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pkt);
} pkt_scratch SEC(".maps");

static __always_inline struct pkt *pkt_get(void)
{
	__u32 k = 0;
	struct pkt *p = bpf_map_lookup_elem(&pkt_scratch, &k);

	if (p)
		__builtin_memset(p, 0, sizeof(*p));
	return p;
}

static __always_inline int parse_l2(hs_ctx *ctx, struct pkt *p, int max_vlans, __u16 *proto)
{
	struct ethhdr *eth = pkt_ptr(ctx, 0, ETH_HLEN);
	__u16 type;
	__u32 off = ETH_HLEN;

	if (!eth)
		return HS_R_DROP_MALFORMED_L2;
	type = bpf_ntohs(eth->h_proto);
	p->vlans = 0;
#pragma unroll
	for (int i = 0; i < MAX_VLANS; i++) {
		__be16 *tci;

		if (i >= max_vlans || (type != ETH_P_8021Q && type != ETH_P_8021AD))
			break;
		tci = pkt_ptr(ctx, off, 4);
		if (!tci)
			return HS_R_DROP_MALFORMED_L2;
		type = bpf_ntohs(tci[1]);
		off += 4;
		p->vlans++;
	}
	p->l2_len = off;
	p->l3_off = off;
	*proto = type;
	return 0;
}

static __always_inline bool icmp_is_error(bool v4, __u8 type)
{
	if (v4)
		return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED ||
		       type == ICMP_PARAMETERPROB;
	return type >= ICMPV6_DEST_UNREACH && type <= ICMPV6_PARAMPROB;
}

static __always_inline bool icmp_is_echo(bool v4, __u8 type)
{
	if (v4)
		return type == ICMP_ECHO || type == ICMP_ECHOREPLY;
	return type == ICMPV6_ECHO_REQUEST || type == ICMPV6_ECHO_REPLY;
}

/* Embedded packet of an ICMP error: its IP header and 8 bytes after it. An
 * embedded packet we cannot read is malformed (we could not translate it). */
static __always_inline int parse_embedded(hs_ctx *ctx, struct pkt *p)
{
	__u32 off = p->l4_off + 8;
	__u32 end = p->l3_off + p->ip_len; /* the quote ends with the packet */
	struct embedded *in = &p->in;
	__be16 *ports;

	in->l3_off = off;
	in->has_ports = 0;
	if (p->v4) {
		struct iphdr *ip = pkt_ptr(ctx, off, sizeof(*ip));
		__u32 hl;

		if (!ip || ip->version != 4 || ip->ihl < 5)
			return HS_R_DROP_MALFORMED_L4;
		hl = ip->ihl * 4;
		if (off + hl > end)
			return HS_R_DROP_MALFORMED_L4;
		in->hdrlen = hl;
		in->proto = ip->protocol;
		ip_from_v4(&in->src, ip->saddr);
		ip_from_v4(&in->dst, ip->daddr);
		in->l4_off = off + hl;
		if (bpf_ntohs(ip->frag_off) & IP_OFFMASK)
			goto no_ports;
	} else {
		struct ipv6hdr *ip6 = pkt_ptr(ctx, off, sizeof(*ip6));

		if (!ip6 || ip6->version != 6 || off + sizeof(*ip6) > end)
			return HS_R_DROP_MALFORMED_L4;
		in->hdrlen = 0;
		in->proto = ip6->nexthdr;
		__builtin_memcpy(in->src.b, &ip6->saddr, 16);
		__builtin_memcpy(in->dst.b, &ip6->daddr, 16);
		in->l4_off = off + sizeof(*ip6);
	}
	if (in->proto != IPPROTO_TCP && in->proto != IPPROTO_UDP &&
	    in->proto != (p->v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6))
		goto no_ports;
	ports = pkt_ptr(ctx, in->l4_off, 8);
	if (!ports || in->l4_off + 8 > end)
		return HS_R_DROP_MALFORMED_L4;
	if (in->proto == IPPROTO_TCP || in->proto == IPPROTO_UDP) {
		in->sport = ports[0];
		in->dport = ports[1];
	} else {
		/* embedded echo: identifier both ways */
		in->sport = ports[2];
		in->dport = ports[2];
	}
	in->has_ports = 1;
	return 0;
no_ports:
	in->sport = 0;
	in->dport = 0;
	return 0;
}

static __always_inline int parse_l4(hs_ctx *ctx, struct pkt *p)
{
	__u32 l4_len = p->l3_off + p->ip_len - p->l4_off;

	p->has_l4 = 0;
	p->sport = 0;
	p->dport = 0;
	p->tcp_flags = 0;
	p->icmp_err = 0;
	p->l4_csum_off = 0;
	if (p->l4_off > p->l3_off + p->ip_len)
		return p->v4 ? HS_R_DROP_MALFORMED_IP : HS_R_DROP_MALFORMED_IP6;

	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = pkt_ptr(ctx, p->l4_off, sizeof(*th));
		__u32 doff;

		if (!th)
			return HS_R_DROP_MALFORMED_L4;
		doff = th->doff * 4;
		if (doff < sizeof(*th) || (!p->frag && doff > l4_len) ||
		    !pkt_ptr(ctx, p->l4_off, doff))
			return HS_R_DROP_MALFORMED_L4;
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		p->l4_csum_off = 16;
	} else if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = pkt_ptr(ctx, p->l4_off, sizeof(*uh));
		__u32 ulen;

		if (!uh)
			return HS_R_DROP_MALFORMED_L4;
		ulen = bpf_ntohs(uh->len);
		if (ulen < sizeof(*uh) || (!p->frag && ulen != l4_len))
			return HS_R_DROP_MALFORMED_L4;
		p->sport = uh->source;
		p->dport = uh->dest;
		/* UDP over IPv4 may carry no checksum (0): leave it so */
		p->l4_csum_off = (p->v4 && uh->check == 0) ? 0 : 6;
	} else if (p->proto == (p->v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6)) {
		__u8 *ih = pkt_ptr(ctx, p->l4_off, 8);
		int rc;

		if (!ih || l4_len < 8)
			return HS_R_DROP_MALFORMED_L4;
		p->icmp_type = ih[0];
		p->l4_csum_off = 2;
		if (icmp_is_echo(p->v4, ih[0])) {
			__builtin_memcpy(&p->sport, ih + 4, 2);
			p->dport = p->sport;
		} else if (icmp_is_error(p->v4, ih[0]) && !p->frag) {
			rc = parse_embedded(ctx, p);
			if (rc)
				return rc;
			p->icmp_err = 1;
		}
	}
	p->has_l4 = 1;
	return 0;
}

static __always_inline int parse_ipv4(hs_ctx *ctx, struct pkt *p)
{
	struct iphdr *ip = pkt_ptr(ctx, p->l3_off, sizeof(*ip));
	__u32 hl, frag;

	if (!ip || ip->version != 4 || ip->ihl < 5)
		return HS_R_DROP_MALFORMED_IP;
	hl = ip->ihl * 4;
	p->ip_len = bpf_ntohs(ip->tot_len);
	if (p->ip_len < hl || p->l3_off + p->ip_len > pkt_len(ctx) || !pkt_ptr(ctx, p->l3_off, hl))
		return HS_R_DROP_MALFORMED_IP;
	p->v4 = 1;
	p->proto = ip->protocol;
	ip_from_v4(&p->src, ip->saddr);
	ip_from_v4(&p->dst, ip->daddr);
	frag = bpf_ntohs(ip->frag_off);
	p->df = !!(frag & IP_DF);
	p->frag = !!(frag & (IP_MF | IP_OFFMASK));
	p->l4_off = p->l3_off + hl;
	if (frag & IP_OFFMASK) {
		p->has_l4 = 0;
		p->sport = p->dport = 0;
		p->icmp_err = 0;
		p->l4_csum_off = 0;
		return 0;
	}
	return parse_l4(ctx, p);
}

static __always_inline int parse_ipv6(hs_ctx *ctx, struct pkt *p)
{
	struct ipv6hdr *ip6 = pkt_ptr(ctx, p->l3_off, sizeof(*ip6));
	__u32 off;
	__u8 nh;
	bool later_frag = false;

	if (!ip6 || ip6->version != 6)
		return HS_R_DROP_MALFORMED_IP6;
	p->ip_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	if (p->l3_off + p->ip_len > pkt_len(ctx))
		return HS_R_DROP_MALFORMED_IP6;
	p->v4 = 0;
	p->df = 1;
	p->frag = 0;
	__builtin_memcpy(p->src.b, &ip6->saddr, 16);
	__builtin_memcpy(p->dst.b, &ip6->daddr, 16);
	nh = ip6->nexthdr;
	off = p->l3_off + sizeof(*ip6);

#pragma unroll
	for (int i = 0; i < MAX_EXTHDRS + 1; i++) {
		__u8 *eh;

		if (nh != NEXTHDR_HOP && nh != NEXTHDR_ROUTING && nh != NEXTHDR_FRAGMENT &&
		    nh != NEXTHDR_DEST)
			break;
		if (i == MAX_EXTHDRS)
			return HS_R_DROP_MALFORMED_IP6;
		/* hop-by-hop only first (RFC 8200 4.1) */
		if (nh == NEXTHDR_HOP && i != 0)
			return HS_R_DROP_MALFORMED_IP6;
		eh = pkt_ptr(ctx, off, 8);
		if (!eh)
			return HS_R_DROP_MALFORMED_IP6;
		if (nh == NEXTHDR_FRAGMENT) {
			__u16 fo = ((__u16)eh[2] << 8 | eh[3]);

			p->frag = 1;
			later_frag = (fo & 0xfff8) != 0;
			nh = eh[0];
			off += 8;
		} else {
			if (nh == NEXTHDR_ROUTING && eh[3] != 0)
				return HS_R_DROP_MALFORMED_IP6; /* segments left: not final */
			nh = eh[0];
			off += (eh[1] + 1) * 8;
		}
		if (off > p->l3_off + p->ip_len)
			return HS_R_DROP_MALFORMED_IP6;
	}
	p->proto = nh;
	p->l4_off = off;
	if (later_frag) {
		p->has_l4 = 0;
		p->sport = p->dport = 0;
		p->icmp_err = 0;
		p->l4_csum_off = 0;
		return 0;
	}
	return parse_l4(ctx, p);
}

static __always_inline int parse_ip(hs_ctx *ctx, struct pkt *p, __u16 eth_proto)
{
	if (eth_proto == ETH_P_IP)
		return parse_ipv4(ctx, p);
	return parse_ipv6(ctx, p);
}

#endif
