/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The front-end's reply cache (rp_cache; struct hs_rp_slot in hs_abi.h):
 * what the peers, vms, rbindings and nexthops lookups gave a VXLAN reply
 * from a VM's host, kept per CPU so that the flow's next reply skips them
 * and its parse. XDP uplink only, IPv4 outside and inside, TCP and UDP.
 * Contract: rp_fill4() stores the full path's decision for q (never fails,
 * fills nothing for a reply it cannot describe); rp_fast4() either does to
 * a frame exactly what handle_vxlan() would (same bytes, verdict and
 * counter) or returns -1 having written nothing but the check time.
 */
#ifndef HS_BPF_RPCACHE_H
#define HS_BPF_RPCACHE_H

#include "bpf/deliver.h"
#include "bpf/fast4.h"
#include "bpf/flowhash.h"

#ifndef HS_CTX_SKB
/* Private to each XDP uplink object and not pinned, like fe_cache. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HS_RP_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct hs_rp_slot);
} rp_cache SEC(".maps");

/* A VXLAN frame with an IPv4 outer header without options: where the
 * inner Ethernet and IP headers start. */
#define RP4_INNER (ETH_HLEN + 20 + 8 + VXLAN_HLEN)
#define RP4_IP (RP4_INNER + ETH_HLEN)
#define RP4_L4 (RP4_IP + 20)

/*
 * handle_vxlan() found no VM for q (the inner packet, not yet translated)
 * and is about to SNAT it to rb and send it through nh: store that for q's
 * outer source and tuple, with the generation gen read before its first
 * lookup. Only what rp_fast4() can take: IPv4 in IPv4, TCP or UDP, not a
 * fragment, an IPv4 public address.
 */
static __always_inline void rp_fill4(const struct hs_ip *outer_src, const struct pkt *q,
				     const struct hs_rbinding *rb, const struct hs_nexthop *nh,
				     __u64 gen)
{
	struct hs_rp_slot *s;
	__be32 peer, src, dst;
	__u32 k, d;

	if (!ip_is_v4(outer_src) || !q->v4 || q->frag || !q->has_l4 ||
	    (q->proto != IPPROTO_TCP && q->proto != IPPROTO_UDP) || !ip_is_v4(&rb->pub))
		return;
	__builtin_memcpy(&peer, &outer_src->b[12], 4);
	__builtin_memcpy(&src, &q->src.b[12], 4);
	__builtin_memcpy(&dst, &q->dst.b[12], 4);
	k = hs_rp_slot_index4(peer, src, dst, q->sport, q->dport, q->proto);
	s = bpf_map_lookup_elem(&rp_cache, &k);
	if (!s)
		return;
	s->valid = 0;
	s->peer = peer;
	s->vm = src;
	s->client = dst;
	s->vm_port = q->sport;
	s->client_port = q->dport;
	s->proto = q->proto;
	__builtin_memcpy(&s->pub, &rb->pub.b[12], 4);
	s->pub_port = rb->pub_port;
	s->ifindex = nh->ifindex;
	__builtin_memcpy(s->dmac, nh->dmac, ETH_ALEN);
	__builtin_memcpy(s->smac, nh->smac, ETH_ALEN);
	s->expires = nh->expires;
	s->checked = bpf_jiffies64();
	d = csum_delta_bytes(&q->src.b[12], &rb->pub.b[12], 4);
	s->d_ip = d;
	if (rb->pub_port)
		d += csum_delta16(q->sport, rb->pub_port);
	s->d_l4 = d;
	s->gen = gen;
	s->valid = 1;
}

/*
 * The reply path of the common case, called by fe_fast4() for a frame it
 * found to be untagged IPv4 without options, not a fragment, UDP to the
 * VXLAN port. Takes it when it is addressed to our IPv4 underlay address,
 * carries a well-formed VXLAN header of our VNI and, inside, an untagged
 * IPv4 packet without options that is TCP (not a SYN) or UDP, not a
 * fragment, with consistent lengths, ending inside the outer packet; and
 * when the slot for its outer source and inner tuple answers (generation,
 * next-hop deadline). Then it SNATs, removes the outer headers, writes the
 * Ethernet addresses and sends, as handle_vxlan() does.
 */
static __always_inline int rp_fast4(struct xdp_md *ctx, const struct hs_node_config *cfg)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *oip = data + ETH_HLEN;
	__u8 *vx = data + ETH_HLEN + 20 + 8;
	__be16 *itype = data + RP4_INNER + 12;
	struct iphdr *ip = data + RP4_IP;
	__be16 *ports = data + RP4_L4;
	struct hs_rp_slot *s;
	__u32 k, ilen;
	__u16 *ck;
	__u64 gen;

	if ((void *)(ports + 4) > end || !ip_is_v4(&cfg->underlay4) ||
	    *(__u32 *)&cfg->underlay4.b[12] != oip->daddr || !(vx[0] & VXLAN_FLAG_I) ||
	    (((__u32)vx[4] << 16) | ((__u32)vx[5] << 8) | vx[6]) != (cfg->vni & 0xffffff) ||
	    *itype != bpf_htons(ETH_P_IP) || *(__u8 *)ip != 0x45 ||
	    (ip->frag_off & bpf_htons(IP_MF | IP_OFFMASK)))
		return -1;
	ilen = bpf_ntohs(ip->tot_len);
	/* fe_fast4() checked the outer lengths against the frame */
	if (RP4_IP + ilen > ETH_HLEN + bpf_ntohs(oip->tot_len) ||
	    ilen < sizeof(*ip) + sizeof(struct udphdr))
		return -1;
	ck = fast4_l4((__u8 *)ports, end, ip->protocol, ilen);
	if (!ck || !gen_now(&gen))
		return -1;
	k = hs_rp_slot_index4(oip->saddr, ip->saddr, ip->daddr, ports[0], ports[1], ip->protocol);
	s = bpf_map_lookup_elem(&rp_cache, &k);
	if (!s || !s->valid || s->gen != gen || s->peer != oip->saddr || s->vm != ip->saddr ||
	    s->client != ip->daddr || *(__u32 *)&s->vm_port != *(__u32 *)ports ||
	    s->proto != ip->protocol || !nh_fresh(&s->checked, s->expires))
		return -1;

	/* xlate() of the source, then strip_outer() and set_eth() */
	fast4_xlate(ip, &ip->saddr, s->pub, &ports[0], s->pub_port, ck, s->d_ip, s->d_l4);
	if (bpf_xdp_adjust_head(ctx, RP4_INNER))
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	data = (void *)(long)ctx->data;
	if (data + ETH_HLEN > (void *)(long)ctx->data_end)
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	__builtin_memcpy(data, s->dmac, ETH_ALEN);
	__builtin_memcpy(data + ETH_ALEN, s->smac, ETH_ALEN);
	return fast4_send(ctx, s->ifindex, HS_R_TX_DECAP_SNAT);
}
#endif

#endif
