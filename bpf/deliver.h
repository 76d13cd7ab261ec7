/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Delivery steps shared by the uplink and VM-side programs. Contract: each
 * returns the XDP action for the packet and has bumped exactly one verdict
 * counter; the packet may have been rewritten (never when the action is
 * XDP_PASS).
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
static __always_inline void learn_flow(const struct pkt *p, const struct hs_ip *entry, __u32 vm_id)
{
	struct hs_flow_key k = {};
	struct hs_flow v = {};

	if (p->frag || p->icmp_err)
		return;
	k.client = p->src;
	k.vm = p->dst;
	k.client_port = p->sport;
	k.vm_port = p->dport;
	k.proto = p->proto;
	if (bpf_map_lookup_elem(&flows, &k))
		return;
	v.entry = *entry;
	v.vm_id = vm_id;
	if (!bpf_map_update_elem(&flows, &k, &v, BPF_NOEXIST))
		count(HS_R_FLOW_LEARNED);
}

/* Packet too big for the tunnel: an ICMP error back, or a counted drop. */
static __always_inline int reject_too_big(struct xdp_md *ctx, struct pkt *p,
					  const struct hs_node_config *cfg,
					  const struct hs_ip *host)
{
	__u32 mtu = cfg->underlay_mtu - outer_len(ip_is_v4(host));

	if (p->v4 && !p->df)
		return verdict(XDP_DROP, HS_R_DROP_TOO_BIG);
	if (!p->v4 && mtu < 1280)
		mtu = 1280;
	if (make_toobig(ctx, p, mtu))
		return verdict(XDP_DROP, HS_R_DROP_TOO_BIG);
	return verdict(XDP_TX, HS_R_TX_ICMP_TOOBIG);
}

/* To a local VM's port: Ethernet dst = mac, src = gw_mac. */
static __always_inline int to_local_port(struct xdp_md *ctx, struct pkt *p, __u32 ifindex,
					 const __u8 *mac, const __u8 *gw_mac, enum hs_reason r)
{
	if (strip_vlans(ctx, p) || set_eth(ctx, mac, gw_mac))
		return verdict(XDP_DROP, HS_R_DROP_ERROR);
	count(r);
	return bpf_redirect(ifindex, 0);
}

static __always_inline int to_local_vm(struct xdp_md *ctx, struct pkt *p, const struct hs_vm *vm,
				       enum hs_reason r)
{
	return to_local_port(ctx, p, vm->ifindex, vm->mac, vm->gw_mac, r);
}

/* Encapsulates toward host through nh (a fib_out() result, fwd set) and
 * sends. */
static __always_inline int encap_send(struct xdp_md *ctx, struct pkt *p,
				      const struct hs_node_config *cfg, const struct hs_ip *host,
				      struct hs_nexthop *nh, enum hs_reason r)
{
	if (strip_vlans(ctx, p) || encap_prep(ctx, p, host, nh) || encap(ctx, p, cfg, host, nh))
		return verdict(XDP_DROP, HS_R_DROP_ERROR);
	return verdict(send_to(ctx, nh), r);
}

static __always_inline int to_host(struct xdp_md *ctx, struct pkt *p,
				   const struct hs_node_config *cfg, const struct hs_ip *host,
				   bool fwd, enum hs_reason r)
{
	const struct hs_ip *src = our_addr(cfg, host);
	struct hs_nexthop nh;

	if (ip_is_zero(src) || fib_out(ctx, src, host, &nh))
		return verdict(XDP_DROP, HS_R_DROP_NO_ROUTE);
	nh.fwd = fwd;
	return encap_send(ctx, p, cfg, host, &nh, r);
}

#endif
