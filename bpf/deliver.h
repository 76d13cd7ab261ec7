/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Delivery steps shared by the uplink and VM-side programs. Contract: each
 * returns the action for the packet (XDP or TC, by the context) and has
 * bumped exactly one verdict counter; the packet may have been rewritten
 * (never when the action is HS_PASS).
 */
#ifndef HS_BPF_DELIVER_H
#define HS_BPF_DELIVER_H

#include "bpf/common.h"
#include "bpf/encap.h"
#include "bpf/nat.h"
#include "bpf/parse.h"

static __always_inline int verdict(int act, enum hs_reason r)
{
	count(r);
	return act;
}

/* Insert-only: an existing entry (handed over at migration) is kept, and
 * the established-flow path does no map write. */
static __always_inline void learn_key(const struct hs_flow_key *k, const struct hs_ip *entry,
				      __u32 vm_id)
{
	struct hs_flow v = {};

	if (bpf_map_lookup_elem(&flows, k))
		return;
	v.entry = *entry;
	v.vm_id = vm_id;
	if (!bpf_map_update_elem(&flows, k, &v, BPF_NOEXIST))
		count(HS_R_FLOW_LEARNED);
}

/* learn_key() of p's flow (p translated: its destination is the VM). */
static __always_inline void learn_flow(const struct pkt *p, const struct hs_ip *entry, __u32 vm_id)
{
	struct hs_flow_key k = {};

	if (p->frag || p->icmp_err)
		return;
	k.client = p->src;
	k.vm = p->dst;
	k.client_port = p->sport;
	k.vm_port = p->dport;
	k.proto = p->proto;
	learn_key(&k, entry, vm_id);
}

/* The flow entry a front-end learns: its own underlay address, IPv4 when
 * it has one. */
static __always_inline const struct hs_ip *our_entry(const struct hs_node_config *cfg)
{
	return ip_is_zero(&cfg->underlay4) ? &cfg->underlay6 : &cfg->underlay4;
}

/* Packet too big for the tunnel: an ICMP error back, or a counted drop. */
static __always_inline int reject_too_big(hs_ctx *ctx, struct pkt *p,
					  const struct hs_node_config *cfg,
					  const struct hs_ip *host)
{
	__u32 mtu = cfg->underlay_mtu - outer_len(ip_is_v4(host));

	if (p->v4 && !p->df)
		return verdict(HS_DROP, HS_R_DROP_TOO_BIG);
	if (!p->v4 && mtu < 1280)
		mtu = 1280;
	if (make_toobig(ctx, p, mtu))
		return verdict(HS_DROP, HS_R_DROP_TOO_BIG);
	return verdict(send_back(ctx), HS_R_TX_ICMP_TOOBIG);
}

#ifdef HS_CTX_SKB
/*
 * A GSO packet becomes gso_size segments of inner TCP (or UDP) payload,
 * each in a VXLAN frame of its own: they must fit the underlay. 0 when they
 * do (the usual case, MSS clamping sees to it), also after lowering a TCP
 * packet's gso_size; -1 when they cannot (a UDP datagram size is the
 * sender's; or nothing sane is left).
 */
static __always_inline int gso_fit(hs_ctx *ctx, const struct pkt *p,
				   const struct hs_node_config *cfg, const struct hs_ip *host)
{
	__u32 gso = CTX_U32(ctx, gso_size), hdrs, seg, over;
	__u8 *th;

	if (!cfg->underlay_mtu)
		return 0;
	if (p->frag || !p->has_l4)
		return -1;
	if (p->proto == IPPROTO_TCP) {
		th = pkt_ptr(ctx, p->l4_off, 20);
		if (!th)
			return -1;
		hdrs = (th[12] >> 4) * 4;
	} else if (p->proto == IPPROTO_UDP) {
		hdrs = sizeof(struct udphdr);
	} else {
		return -1;
	}
	/* the outer IP length of one segment, as too_big() counts it */
	seg = outer_len(ip_is_v4(host)) + (p->l4_off - p->l3_off) + hdrs + gso;
	if (seg <= cfg->underlay_mtu)
		return 0;
	over = seg - cfg->underlay_mtu;
	if (p->proto != IPPROTO_TCP || over + 256 > gso)
		return -1;
	/* No helper sets gso_size, but growing the header without
	 * BPF_F_ADJ_ROOM_FIXED_GSO lowers it by as much (the kernel assumes
	 * the new header eats into the segment), and shrinking it back with
	 * the flag keeps it: the packet is as before, its segments smaller. */
	if (bpf_skb_adjust_room(ctx, over, BPF_ADJ_ROOM_MAC, 0) ||
	    bpf_skb_adjust_room(ctx, -(int)over, BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_FIXED_GSO))
		return -1;
	return 0;
}
#endif

/* Would the packet, encapsulated toward host, not fit the underlay? A GSO
 * packet is judged by its segments (and may get smaller ones). */
static __always_inline bool tunnel_too_big(hs_ctx *ctx, const struct pkt *p,
					   const struct hs_node_config *cfg,
					   const struct hs_ip *host)
{
#ifdef HS_CTX_SKB
	if (ctx_is_gso(ctx))
		return gso_fit(ctx, p, cfg, host) != 0;
#endif
	return too_big(cfg, p, host);
}

/* Before encapsulation toward host: 0 when the packet fits the tunnel, else
 * 1 and the verdict in *act: an ICMP error back, or a counted drop (no
 * error is made from a GSO packet: its sender's segments are what counts,
 * and a TCP one's are made to fit). */
static __always_inline int tunnel_fit(hs_ctx *ctx, struct pkt *p, const struct hs_node_config *cfg,
				      const struct hs_ip *host, int *act)
{
	if (!tunnel_too_big(ctx, p, cfg, host))
		return 0;
	*act = ctx_is_gso(ctx) ? verdict(HS_DROP, HS_R_DROP_TOO_BIG)
			       : reject_too_big(ctx, p, cfg, host);
	return 1;
}

/* To a local VM's port: Ethernet dst = mac, src = gw_mac. */
static __always_inline int to_local_port(hs_ctx *ctx, struct pkt *p, __u32 ifindex, const __u8 *mac,
					 const __u8 *gw_mac, enum hs_reason r)
{
	if (strip_vlans(ctx, p) || set_eth(ctx, mac, gw_mac))
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	count(r);
	return bpf_redirect(ifindex, 0);
}

static __always_inline int to_local_vm(hs_ctx *ctx, struct pkt *p, const struct hs_vm *vm,
				       enum hs_reason r)
{
	return to_local_port(ctx, p, vm->ifindex, vm->mac, vm->gw_mac, r);
}

/* Encapsulates toward host through nh (a fib_out() result, fwd set) and
 * sends. */
static __always_inline int encap_send(hs_ctx *ctx, struct pkt *p, const struct hs_node_config *cfg,
				      const struct hs_ip *host, struct hs_nexthop *nh,
				      enum hs_reason r)
{
	if (strip_vlans(ctx, p) || encap_prep(ctx, p, host, nh) || encap(ctx, p, cfg, host, nh))
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	return verdict(send_to(ctx, nh), r);
}

/* The next hop toward host from our address of its family, unflagged: 0,
 * or -1 when we have no such address or no route (DROP_NO_ROUTE). */
static __always_inline int host_nh(hs_ctx *ctx, const struct hs_node_config *cfg,
				   const struct hs_ip *host, struct hs_nexthop *nh)
{
	const struct hs_ip *src = our_addr(cfg, host);

	if (ip_is_zero(src) || fib_out(ctx, src, host, nh))
		return -1;
	nh->fwd = 0;
	return 0;
}

static __always_inline int to_host(hs_ctx *ctx, struct pkt *p, const struct hs_node_config *cfg,
				   const struct hs_ip *host, bool fwd, enum hs_reason r)
{
	struct hs_nexthop nh;

	if (host_nh(ctx, cfg, host, &nh))
		return verdict(HS_DROP, HS_R_DROP_NO_ROUTE);
	nh.fwd = fwd;
	return encap_send(ctx, p, cfg, host, &nh, r);
}

#endif
