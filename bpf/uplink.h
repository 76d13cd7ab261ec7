/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The uplink program's logic, compiled into both of its entry points:
 * uplink.bpf.c (XDP, the default) and uplink_tc.bpf.c (TC ingress, where a
 * packet may be a GSO skb that stays whole). Contract of uplink_main():
 * returns the program's verdict with exactly one verdict counter bumped;
 * the packet is rewritten only when it is sent on. See docs/dataplane.md,
 * "Uplink program".
 */
#ifndef HS_BPF_UPLINK_H
#define HS_BPF_UPLINK_H

#include "bpf/common.h"
#include "bpf/deliver.h"
#include "bpf/fecache.h"

/* Packet to a public address. s: the packet's fe_cache slot, filled here
 * with generation gen; NULL when the packet is not to be cached. */
static __noinline int handle_binding(hs_ctx *ctx, struct pkt *p, const struct hs_node_config *cfg,
				     struct hs_fe_slot *s, __u64 gen)
{
	struct hs_binding_key k = {};
	struct hs_binding *b = NULL;
	struct hs_nexthop nh;
	struct hs_vm *vm;
	__be16 port;
	int act;

	/* address first: one lookup unless the address has port bindings */
	k.pub = p->dst;
	b = bpf_map_lookup_elem(&bindings, &k);
	if (!b)
		return verdict(HS_PASS, HS_R_PASS_NO_BINDING);
	if (b->flags & HS_BIND_F_PORTS) {
		struct hs_binding *pb = NULL;

		if (p->icmp_err && p->in.has_ports) {
			k.port = p->in.sport;
			k.proto = p->in.proto;
		} else if (!p->frag && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
			k.port = p->dport;
			k.proto = p->proto;
		}
		if (k.proto)
			pb = bpf_map_lookup_elem(&bindings, &k);
		if (pb)
			b = pb;
	}
	/* an address-only entry with no VM marks "port bindings only" */
	if (ip_is_zero(&b->vm))
		return p->frag ? verdict(HS_DROP, HS_R_DROP_FRAG)
			       : verdict(HS_PASS, HS_R_PASS_NO_BINDING);

	vm = bpf_map_lookup_elem(&vms, &b->vm);
	if (!vm)
		return verdict(HS_DROP, HS_R_DROP_NO_VM);
	if (s)
		fe_begin(s, p, b, vm);
	if (vm->kind != HS_VM_LOCAL && tunnel_fit(ctx, p, cfg, &vm->host, &act))
		return act;

	port = b->vm_port;
	if (xlate(ctx, p, true, &b->vm, port))
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	if (p->frag)
		count(HS_R_FRAG_TRANSLATED);
	if (mss_clamp(ctx, p, cfg))
		return verdict(HS_DROP, HS_R_DROP_ERROR);

	if (vm->kind == HS_VM_LOCAL) {
		if (s)
			fe_commit_local(s, gen, p);
		learn_flow(p, our_entry(cfg), b->vm_id);
		return to_local_vm(ctx, p, vm, HS_R_TX_DNAT_LOCAL);
	}
	if (strip_vlans(ctx, p) || set_eth(ctx, vm->mac, vm->gw_mac))
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	/* to_host(), with the slot filled once the next hop is known */
	if (host_nh(ctx, cfg, &vm->host, &nh))
		return verdict(HS_DROP, HS_R_DROP_NO_ROUTE);
	if (s)
		fe_commit_remote(s, gen, p, cfg, &nh);
	return encap_send(ctx, p, cfg, &vm->host, &nh, HS_R_TX_DNAT_ENCAP);
}

/* VXLAN addressed to us. p describes the outer packet on entry and is
 * reused for the inner one (the stack is too small for two). */
static __noinline int handle_vxlan(hs_ctx *ctx, struct pkt *p, const struct hs_node_config *cfg)
{
	struct hs_rbinding_key rk = {};
	struct hs_rbinding *rb;
	struct hs_nexthop nh;
	struct pkt *q = p;
	struct hs_ip outer_src = p->src;
	__u32 outer_end = p->l3_off + p->ip_len;
	struct hs_vm *vm;
	__u32 base = p->l4_off + sizeof(struct udphdr) + VXLAN_HLEN;
	__u16 proto;
	__u8 *vx;
	bool fwd;
	int rc;
#ifndef HS_CTX_SKB
	/* read before the first lookup, as fe_slot() does */
	__u64 gen = 0;
	bool cache = gen_now(&gen);
#endif

	if (!bpf_map_lookup_elem(&peers, &outer_src))
		return verdict(HS_DROP, HS_R_DROP_UNKNOWN_PEER);
	vx = pkt_ptr(ctx, p->l4_off + sizeof(struct udphdr), VXLAN_HLEN);
	if (!vx)
		return verdict(HS_DROP, HS_R_DROP_MALFORMED_VXLAN);
	if (!(vx[0] & VXLAN_FLAG_I) ||
	    (((__u32)vx[4] << 16) | ((__u32)vx[5] << 8) | vx[6]) != (cfg->vni & 0xffffff))
		return verdict(HS_DROP, HS_R_DROP_BAD_VNI);
	fwd = vx[1] & HS_VXLAN_RSVD_FWD;

	/* inner Ethernet at base, no VLAN tags on the overlay */
	if (!pkt_ptr(ctx, base, ETH_HLEN))
		return verdict(HS_DROP, HS_R_DROP_MALFORMED_VXLAN);
	{
		__be16 *t = pkt_ptr(ctx, base + 12, 2);

		if (!t)
			return verdict(HS_DROP, HS_R_DROP_MALFORMED_VXLAN);
		proto = bpf_ntohs(*t);
	}
	if (proto != ETH_P_IP && proto != ETH_P_IPV6)
		return verdict(HS_DROP, HS_R_DROP_DECAP_NO_TARGET);
	__builtin_memset(q, 0, sizeof(*q));
	q->l3_off = base + ETH_HLEN;
	q->l2_len = ETH_HLEN;
	rc = parse_ip(ctx, q, proto);
	if (rc)
		return verdict(HS_DROP, rc);
	/* the inner packet must end inside the outer one, not in its padding */
	if (q->l3_off + q->ip_len > outer_end)
		return verdict(HS_DROP, HS_R_DROP_MALFORMED_VXLAN);

	vm = bpf_map_lookup_elem(&vms, &q->dst);
	if (vm) {
		/* an arriving VM takes what its old host sends: forwarded
		 * (flagged), or DNATed there once it holds a pointer; the rest
		 * still goes to that host until the VM runs here */
		if (vm->kind == HS_VM_LOCAL ||
		    (vm->kind == HS_VM_INCOMING && (fwd || ip_eq(&outer_src, &vm->host)))) {
			bool learn = !fwd && !bpf_map_lookup_elem(&vms, &q->src);

			if (learn)
				learn_flow(q, &outer_src, vm->vm_id);
#ifndef HS_CTX_SKB
			if (cache)
				rp_fill_local4(&outer_src, q, vm, fwd, learn, gen);
#endif
			if (strip_outer(ctx, q, base) || mss_clamp(ctx, q, cfg))
				return verdict(HS_DROP, HS_R_DROP_ERROR);
			return to_local_vm(ctx, q, vm, HS_R_TX_DECAP_LOCAL);
		}
		if (fwd)
			return verdict(HS_DROP, HS_R_DROP_FWD_LOOP);
		if (tunnel_too_big(ctx, q, cfg, &vm->host))
			return verdict(HS_DROP, HS_R_DROP_TOO_BIG);
		if (strip_outer(ctx, q, base))
			return verdict(HS_DROP, HS_R_DROP_ERROR);
		return to_host(ctx, q, cfg, &vm->host, true, HS_R_TX_FORWARD);
	}

	/* a reply that entered through this front-end */
	rk.vm = q->src;
	if (q->icmp_err && q->in.has_ports) {
		rk.port = q->in.dport;
		rk.proto = q->in.proto;
	} else if (!q->frag && (q->proto == IPPROTO_TCP || q->proto == IPPROTO_UDP)) {
		rk.port = q->sport;
		rk.proto = q->proto;
	}
	rb = rk.proto ? bpf_map_lookup_elem(&rbindings, &rk) : NULL;
	if (!rb) {
		rk.port = 0;
		rk.proto = 0;
		rb = bpf_map_lookup_elem(&rbindings, &rk);
	}
	if (!rb)
		return verdict(HS_DROP, HS_R_DROP_DECAP_NO_TARGET);
	if (fib_out(ctx, &rb->pub, &q->dst, &nh))
		return verdict(HS_DROP, HS_R_DROP_NO_ROUTE);
#ifndef HS_CTX_SKB
	if (cache)
		rp_fill_snat4(&outer_src, q, rb, &nh, gen);
#endif
	if (strip_outer(ctx, q, base) || xlate(ctx, q, false, &rb->pub, rb->pub_port) ||
	    mss_clamp(ctx, q, cfg) || set_eth(ctx, nh.dmac, nh.smac))
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	if (q->frag)
		count(HS_R_FRAG_TRANSLATED);
	return verdict(send_to(ctx, &nh), HS_R_TX_DECAP_SNAT);
}

/* Ethernet (up to MAX_VLANS tags in the frame; in TC the stack has taken
 * the outer one off already, into skb->vlan_tci) and IP headers into p: 0,
 * or the DROP_MALFORMED_* reason. Not IP: 0 with *proto saying so. */
static __always_inline int uplink_parse(hs_ctx *ctx, struct pkt *p, __u16 *proto)
{
	int rc = parse_l2(ctx, p, MAX_VLANS, proto);

	if (rc || (*proto != ETH_P_IP && *proto != ETH_P_IPV6))
		return rc;
	return parse_ip(ctx, p, *proto);
}

#ifdef HS_CTX_SKB
/* VXLAN with IPv6 inside IPv6 and TCP options: 184 bytes of headers */
#define HS_TC_UPLINK_PULL 256
#endif

static __always_inline int uplink_main(hs_ctx *ctx)
{
	struct hs_node_config *cfg = node_cfg();
	struct hs_fe_slot *s;
	struct pkt *p;
	__u64 gen = 0;
	__u16 proto;
	int rc;

	if (!cfg || !(cfg->flags & HS_CFG_F_ENABLED))
		return verdict(HS_PASS, HS_R_PASS_DISABLED);
#ifdef HS_CTX_SKB
	if (tc_pull(ctx, HS_TC_UPLINK_PULL))
		return verdict(HS_DROP, HS_R_DROP_ERROR);
#else
	rc = fe_fast4(ctx, cfg);
	if (rc >= 0)
		return rc;
#endif
	p = pkt_get();
	if (!p)
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	rc = uplink_parse(ctx, p, &proto);
#ifdef HS_CTX_SKB
	if (rc && CTX_U32(ctx, len) > HS_TC_UPLINK_PULL && !tc_pull(ctx, HS_TC_PULL_MAX)) {
		p = pkt_get();
		if (!p)
			return verdict(HS_DROP, HS_R_DROP_ERROR);
		rc = uplink_parse(ctx, p, &proto);
	}
#endif
	if (rc)
		return verdict(HS_DROP, rc);
	if (proto != ETH_P_IP && proto != ETH_P_IPV6)
		return verdict(HS_PASS, HS_R_PASS_NOT_IP);

	if (p->proto == IPPROTO_UDP && p->has_l4 && !p->frag && p->dport == cfg->vxlan_port &&
	    is_ours(cfg, &p->dst))
		return handle_vxlan(ctx, p, cfg);
	s = fe_slot(p, &gen);
	if (s && fe_hit(s, p, gen))
		return fe_deliver(ctx, p, cfg, s);
	return handle_binding(ctx, p, cfg, s, gen);
}

#endif
