/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM-side cache (vr_cache; struct hs_vr_slot in hs_abi.h): what the
 * vms, rbindings and nexthops lookups gave a VM's packet, kept per CPU so
 * that the flow's next packet skips them and the parse: a reply to a
 * client whose flow goes back through a front-end elsewhere (the outer
 * headers made ready) or through us (the SNAT's address, port and checksum
 * deltas), or a packet to another VM, on another host (outer and inner
 * headers made ready) or on this one (its Ethernet addresses). XDP VM-side program only, IPv4 inside and outside, TCP and UDP.
 * Contract: vr_fill_*4() store the full path's decision for p (never fail, fill
 * nothing for a packet they cannot describe); vr_fast4() either does to a
 * frame exactly what vmside_main() would (same bytes, verdict and counter)
 * or returns -1 having written nothing but the check time.
 */
#ifndef HS_BPF_VRCACHE_H
#define HS_BPF_VRCACHE_H

#include "bpf/deliver.h"
#include "bpf/fast4.h"
#include "bpf/flowhash.h"

/* reply()'s gen when the generation could not be read: nothing is cached */
#define HS_GEN_NONE (~0ULL)

#ifndef HS_CTX_SKB
/* Private to each XDP VM-side object and not pinned, like fe_cache. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HS_FE_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct hs_vr_slot);
} vr_cache SEC(".maps");

/*
 * This CPU's slot for p, claimed for it (emptied, key written), when
 * vr_fast4() could take p: IPv4 from a VM on this port, TCP or UDP, not a
 * fragment; for a reply, entry (the flow's when has_flow, else the VM's
 * own) in IPv4 (east-west: entry NULL). NULL otherwise.
 */
static __always_inline struct hs_vr_slot *vr_claim(struct xdp_md *ctx, const struct pkt *p,
						   const struct hs_ip *entry, bool has_flow)
{
	struct hs_vr_slot *s;
	__be32 src, dst;
	__u32 k;

	if (!p->v4 || (entry && !ip_is_v4(entry)) || p->frag || !p->has_l4 ||
	    (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP))
		return NULL;
	__builtin_memcpy(&src, &p->src.b[12], 4);
	__builtin_memcpy(&dst, &p->dst.b[12], 4);
	k = hs_fe_slot_index4(src, dst, p->sport, p->dport, p->proto);
	s = bpf_map_lookup_elem(&vr_cache, &k);
	if (!s)
		return NULL;
	s->kind = 0;
	s->vm = src;
	s->client = dst;
	s->vm_port = p->sport;
	s->client_port = p->dport;
	s->proto = p->proto;
	s->has_flow = has_flow;
	s->in_ifindex = ctx->ingress_ifindex;
	s->host = 0;
	if (entry)
		__builtin_memcpy(&s->host, &entry->b[12], 4);
	__builtin_memset(s->tmpl, 0, sizeof(s->tmpl));
	return s;
}

/* The slot is complete: kind, next hop nh (NULL for EW_LOCAL), generation
 * gen (read before vmside_main()'s first lookup). */
static __always_inline void vr_commit(struct hs_vr_slot *s, enum hs_vr_kind kind,
				      const struct hs_nexthop *nh, __u64 gen)
{
	if (nh) {
		s->ifindex = nh->ifindex;
		s->expires = nh->expires;
		s->checked = bpf_jiffies64();
	}
	s->gen = gen;
	s->kind = kind;
}

/* reply() is about to encapsulate p toward entry through nh (fib_out()'s
 * result). */
static __always_inline void vr_fill_encap4(struct xdp_md *ctx, const struct pkt *p,
					   const struct hs_node_config *cfg,
					   const struct hs_ip *entry, bool has_flow,
					   const struct hs_nexthop *nh, __u64 gen)
{
	struct hs_vr_slot *s = vr_claim(ctx, p, entry, has_flow);

	if (!s)
		return;
	s->osum = encap_tmpl4((__u8 *)s->tmpl, cfg, entry, nh,
			      hs_flow_hash(&p->src, &p->dst, p->sport, p->dport, p->proto));
	vr_commit(s, HS_VR_REPLY_ENCAP, nh, gen);
}

/* reply() is about to SNAT p (not yet translated) to rb and send it to the
 * client through nh, entry being ours. */
static __always_inline void vr_fill_snat4(struct xdp_md *ctx, const struct pkt *p,
					  const struct hs_ip *entry, bool has_flow,
					  const struct hs_rbinding *rb, const struct hs_nexthop *nh,
					  __u64 gen)
{
	struct hs_vr_slot *s;

	if (!ip_is_v4(&rb->pub))
		return;
	s = vr_claim(ctx, p, entry, has_flow);
	if (!s)
		return;
	__builtin_memcpy(s->tmpl, nh->dmac, ETH_ALEN);
	__builtin_memcpy((__u8 *)s->tmpl + ETH_ALEN, nh->smac, ETH_ALEN);
	__builtin_memcpy(&s->pub, &rb->pub.b[12], 4);
	s->pub_port = rb->pub_port;
	fast4_deltas(&p->src.b[12], &rb->pub.b[12], p->sport, rb->pub_port, &s->d_ip, &s->d_l4);
	vr_commit(s, HS_VR_REPLY_SNAT, nh, gen);
}

/* What vr_fast4() copies for EW_ENCAP: the outer headers and the inner
 * Ethernet addresses. */
#define VR4_EW_TMPL (ENC4_LEN + 2 * ETH_ALEN)

/* vmside_main() is about to send p to the VM peer on host (IPv4), inner
 * Ethernet addresses set to peer's and vm's, through nh. */
static __always_inline void vr_fill_ew_encap4(struct xdp_md *ctx, const struct pkt *p,
					      const struct hs_node_config *cfg,
					      const struct hs_vm *vm, const struct hs_vm *peer,
					      const struct hs_nexthop *nh, __u64 gen)
{
	struct hs_vr_slot *s;

	if (!ip_is_v4(&peer->host))
		return;
	s = vr_claim(ctx, p, NULL, false);
	if (!s)
		return;
	s->osum = encap_tmpl4((__u8 *)s->tmpl, cfg, &peer->host, nh,
			      hs_flow_hash(&p->src, &p->dst, p->sport, p->dport, p->proto));
	__builtin_memcpy((__u8 *)s->tmpl + ENC4_LEN, peer->mac, ETH_ALEN);
	__builtin_memcpy((__u8 *)s->tmpl + ENC4_LEN + ETH_ALEN, vm->mac, ETH_ALEN);
	vr_commit(s, HS_VR_EW_ENCAP, nh, gen);
}

/* vmside_main() is about to deliver p to peer, a VM on this host. */
static __always_inline void vr_fill_ew_local4(struct xdp_md *ctx, const struct pkt *p,
					      const struct hs_vm *peer, __u64 gen)
{
	struct hs_vr_slot *s = vr_claim(ctx, p, NULL, false);

	if (!s)
		return;
	s->ifindex = peer->ifindex;
	__builtin_memcpy(s->tmpl, peer->mac, ETH_ALEN);
	__builtin_memcpy((__u8 *)s->tmpl + ETH_ALEN, peer->gw_mac, ETH_ALEN);
	vr_commit(s, HS_VR_EW_LOCAL, NULL, gen);
}

/*
 * The common case of a VM's traffic: an untagged IPv4 frame without
 * options, not a fragment, TCP (not a SYN: it may need MSS clamping) or
 * UDP, with consistent lengths, from the port the slot was filled on, whose
 * slot answers (tuple, generation, next-hop deadline) and, for a reply,
 * whose flows entry is still what it was (looked up for every packet: the
 * data plane learns flows itself, without a generation bump). Then it
 * SNATs or delivers and sends, or (when the frame fits the tunnel)
 * encapsulates from the slot's template and sends.
 */
static __always_inline int vr_fast4(struct xdp_md *ctx, const struct hs_node_config *cfg)
{
	struct hs_flow_key fk;
	struct hs_vr_slot *s;
	struct hs_flow *f;
	__u32 k, ip_len = 0;
	struct iphdr *ip = NULL;
	__u16 *ck = fast4_frame(ctx, &ip, &ip_len);
	__be16 *ports;
	__u64 gen;

	if (!ck || !ip || !gen_now(&gen))
		return -1;
	ports = (__be16 *)(ip + 1);
	k = hs_fe_slot_index4(ip->saddr, ip->daddr, ports[0], ports[1], ip->protocol);
	s = bpf_map_lookup_elem(&vr_cache, &k);
	if (!s || !s->kind || s->gen != gen || s->in_ifindex != ctx->ingress_ifindex ||
	    s->vm != ip->saddr || s->client != ip->daddr ||
	    *(__u32 *)&s->vm_port != *(__u32 *)ports || s->proto != ip->protocol)
		return -1;
	if (s->kind == HS_VR_EW_LOCAL) {
		/* to_local_vm() */
		__builtin_memcpy((__u8 *)ip - ETH_HLEN, s->tmpl, 2 * ETH_ALEN);
		count(HS_R_TX_EW_LOCAL);
		return bpf_redirect(s->ifindex, 0);
	}
	if (s->kind == HS_VR_REPLY_ENCAP || s->kind == HS_VR_REPLY_SNAT) {
		/* reply()'s flow lookup, and the same answer */
		fast4_flow_key(&fk, ip->daddr, ip->saddr, ports[1], ports[0], ip->protocol);
		f = bpf_map_lookup_elem(&flows, &fk);
		if (s->has_flow ? !f || !ip_is_v4(&f->entry) || *(__u32 *)&f->entry.b[12] != s->host
				: f != NULL)
			return -1;
	}
	if ((s->kind != HS_VR_REPLY_SNAT && cfg->underlay_mtu &&
	     ENC4_LEN + ip_len > cfg->underlay_mtu) ||
	    !nh_fresh(&s->checked, s->expires))
		return -1;

	if (s->kind == HS_VR_REPLY_SNAT) {
		/* xlate() of the source, then set_eth() */
		fast4_xlate(ip, &ip->saddr, s->pub, &ports[0], s->pub_port, ck, s->d_ip, s->d_l4);
		__builtin_memcpy((__u8 *)ip - ETH_HLEN, s->tmpl, 2 * ETH_ALEN);
		return fast4_send(ctx, s->ifindex, HS_R_TX_REPLY_SNAT);
	}
	if (s->kind == HS_VR_EW_ENCAP) {
		/* set_eth(), then to_host()'s encap_body() */
		if (encap_emit4(ctx, s->tmpl, s->osum, fast4_len(ctx), VR4_EW_TMPL))
			return verdict(HS_DROP, HS_R_DROP_ERROR);
		return fast4_send(ctx, s->ifindex, HS_R_TX_EW_ENCAP);
	}
	if (encap_emit4(ctx, s->tmpl, s->osum, fast4_len(ctx), ENC4_LEN))
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	return fast4_send(ctx, s->ifindex, HS_R_TX_REPLY_ENCAP);
}
#endif

#endif
