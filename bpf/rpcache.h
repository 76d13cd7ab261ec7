/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The XDP uplink's cache of VXLAN it decapsulates (rp_cache; struct
 * hs_rp_slot in hs_abi.h): what the peers, vms, rbindings and nexthops
 * lookups gave a flow's last packet, kept per CPU so that its next one
 * skips them and the parse. Two kinds: a reply at the front-end (SNAT to
 * the public address, out toward the client) and a packet for a VM running
 * here (its flow learned as handle_vxlan() learns it, delivered to its
 * port). IPv4 outside and inside, TCP and UDP. Contract: rp_fill_*4() store
 * the full path's decision for q (never fail, fill nothing for a packet
 * they cannot describe); rp_fast4() either does to a frame exactly what
 * handle_vxlan() would (same bytes, verdict and counters) or returns -1
 * having written nothing but the check time.
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
 * This CPU's slot for q (the inner packet as received) from outer_src,
 * claimed for it (emptied, key written), when rp_fast4() could take q:
 * IPv4 in IPv4, TCP or UDP, not a fragment. NULL otherwise.
 */
static __always_inline struct hs_rp_slot *rp_claim(const struct hs_ip *outer_src,
						   const struct pkt *q)
{
	struct hs_rp_slot *s;
	__be32 peer, src, dst;
	__u32 k;

	if (!ip_is_v4(outer_src) || !q->v4 || q->frag || !q->has_l4 ||
	    (q->proto != IPPROTO_TCP && q->proto != IPPROTO_UDP))
		return NULL;
	__builtin_memcpy(&peer, &outer_src->b[12], 4);
	__builtin_memcpy(&src, &q->src.b[12], 4);
	__builtin_memcpy(&dst, &q->dst.b[12], 4);
	k = hs_rp_slot_index4(peer, src, dst, q->sport, q->dport, q->proto);
	s = bpf_map_lookup_elem(&rp_cache, &k);
	if (!s)
		return NULL;
	s->kind = 0;
	s->peer = peer;
	s->src = src;
	s->dst = dst;
	s->sport = q->sport;
	s->dport = q->dport;
	s->proto = q->proto;
	return s;
}

/*
 * handle_vxlan() found no VM for q (not yet translated) and is about to
 * SNAT it to rb and send it through nh; gen was read before its first
 * lookup. Only for an IPv4 public address.
 */
static __always_inline void rp_fill_snat4(const struct hs_ip *outer_src, const struct pkt *q,
					  const struct hs_rbinding *rb, const struct hs_nexthop *nh,
					  __u64 gen)
{
	struct hs_rp_slot *s;

	if (!ip_is_v4(&rb->pub))
		return;
	s = rp_claim(outer_src, q);
	if (!s)
		return;
	__builtin_memcpy(&s->pub, &rb->pub.b[12], 4);
	s->pub_port = rb->pub_port;
	s->ifindex = nh->ifindex;
	__builtin_memcpy(s->dmac, nh->dmac, ETH_ALEN);
	__builtin_memcpy(s->smac, nh->smac, ETH_ALEN);
	s->expires = nh->expires;
	s->checked = bpf_jiffies64();
	fast4_deltas(&q->src.b[12], &rb->pub.b[12], q->sport, rb->pub_port, &s->d_ip, &s->d_l4);
	s->gen = gen;
	s->kind = HS_RP_SNAT;
}

/*
 * handle_vxlan() is delivering q to vm, which runs here, having learned
 * its flow when learn (fwd: the packet's forwarded flag); gen was read
 * before its first lookup.
 */
static __always_inline void rp_fill_local4(const struct hs_ip *outer_src, const struct pkt *q,
					   const struct hs_vm *vm, bool fwd, bool learn, __u64 gen)
{
	struct hs_rp_slot *s = rp_claim(outer_src, q);

	if (!s)
		return;
	s->ifindex = vm->ifindex;
	__builtin_memcpy(s->dmac, vm->mac, ETH_ALEN);
	__builtin_memcpy(s->smac, vm->gw_mac, ETH_ALEN);
	s->fwd = fwd;
	s->learn = learn;
	s->vm_id = vm->vm_id;
	s->entry = *outer_src;
	s->gen = gen;
	s->kind = HS_RP_LOCAL;
}

/*
 * Called by fe_fast4() for a frame it found to be untagged IPv4 without
 * options, not a fragment, UDP to the VXLAN port, lengths consistent.
 * Takes it when it is addressed to our IPv4 underlay address, carries a
 * VXLAN header of our VNI with the I flag and, inside, an untagged IPv4
 * packet without options that is TCP (not a SYN) or UDP, not a fragment,
 * with consistent lengths, ending inside the outer packet; and when the
 * slot for its outer source and inner tuple answers (generation; for a
 * reply the next-hop deadline; for a local VM the same forwarded flag).
 * Then it does what handle_vxlan() does: SNAT, strip the outer headers,
 * write the Ethernet addresses toward the client; or learn the flow (as
 * the slot says), strip, write the VM's Ethernet addresses, deliver.
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
	if (!s || !s->kind || s->gen != gen || s->peer != oip->saddr || s->src != ip->saddr ||
	    s->dst != ip->daddr || *(__u32 *)&s->sport != *(__u32 *)ports ||
	    s->proto != ip->protocol)
		return -1;
	if (s->kind == HS_RP_LOCAL) {
		/* learn_flow() as the slot says, strip_outer(), to_local_vm() */
		if (!!(vx[1] & HS_VXLAN_RSVD_FWD) != s->fwd ||
		    (s->learn && fast4_learn(ip->saddr, ip->daddr, ports[0], ports[1], ip->protocol,
					     &s->entry, s->vm_id)))
			return -1;
	} else {
		/* xlate() of the source first */
		if (!nh_fresh(&s->checked, s->expires))
			return -1;
		fast4_xlate(ip, &ip->saddr, s->pub, &ports[0], s->pub_port, ck, s->d_ip, s->d_l4);
	}
	if (bpf_xdp_adjust_head(ctx, RP4_INNER))
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	data = (void *)(long)ctx->data;
	if (data + ETH_HLEN > (void *)(long)ctx->data_end)
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	__builtin_memcpy(data, s->dmac, ETH_ALEN);
	__builtin_memcpy(data + ETH_ALEN, s->smac, ETH_ALEN);
	if (s->kind == HS_RP_LOCAL) {
		count(HS_R_TX_DECAP_LOCAL);
		return bpf_redirect(s->ifindex, 0);
	}
	return fast4_send(ctx, s->ifindex, HS_R_TX_DECAP_SNAT);
}
#endif

#endif
