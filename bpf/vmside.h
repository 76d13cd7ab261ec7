/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM-side program's logic, compiled into both of its entry points:
 * vmside.bpf.c (XDP) and vmside_tc.bpf.c (TC, HS_CTX_SKB, where packets may
 * be GSO and CHECKSUM_PARTIAL). Contract of vmside_main(): returns the
 * program's verdict (XDP or TC action) with exactly one verdict counter
 * bumped; the packet is rewritten only when it is sent on. See
 * docs/dataplane.md, "VM-side program".
 */
#ifndef HS_BPF_VMSIDE_H
#define HS_BPF_VMSIDE_H

#include "bpf/common.h"
#include "bpf/deliver.h"
#include "bpf/vrcache.h"

/* Traffic the host answers for the VM (ND, DHCP, broadcast): not ours. */
static __always_inline bool host_business(const struct pkt *p)
{
	if (p->v4) {
		__u8 d0 = p->dst.b[12];

		return d0 >= 224 ||
		       (p->src.b[12] | p->src.b[13] | p->src.b[14] | p->src.b[15]) == 0;
	}
	return (p->src.b[0] == 0xfe && (p->src.b[1] & 0xc0) == 0x80) || ip_is_zero(&p->src) ||
	       p->dst.b[0] == 0xff;
}

/* gen: the generation read before the first lookup, HS_GEN_NONE when there
 * is none (XDP: fills vr_cache) */
static __noinline int reply(hs_ctx *ctx, struct pkt *p, const struct hs_node_config *cfg,
			    const struct hs_vm *vm, __u64 gen)
{
	struct hs_rbinding_key rk = {};
	struct hs_flow_key fk = {};
	const struct hs_ip *entry = &vm->entry;
	struct hs_flow *f = NULL;
	struct hs_rbinding *rb;
	struct hs_nexthop nh;
	int act;

	/* which flow is this? (an ICMP error quotes the client's packet) */
	if (p->icmp_err && p->in.has_ports) {
		fk.client = p->in.src;
		fk.vm = p->in.dst;
		fk.client_port = p->in.sport;
		fk.vm_port = p->in.dport;
		fk.proto = p->in.proto;
	} else {
		fk.client = p->dst;
		fk.vm = p->src;
		fk.client_port = p->dport;
		fk.vm_port = p->sport;
		fk.proto = p->proto;
	}
	if (!p->frag) {
		f = bpf_map_lookup_elem(&flows, &fk);
		if (f)
			entry = &f->entry;
	}
	if (ip_is_zero(entry))
		return verdict(HS_PASS, HS_R_PASS_NOT_OURS);

	if (!is_ours(cfg, entry)) {
		if (tunnel_fit(ctx, p, cfg, entry, &act))
			return act;
		if (mss_clamp(ctx, p, cfg))
			return verdict(HS_DROP, HS_R_DROP_ERROR);
		/* to_host(), with the slot filled once the next hop is known */
		if (host_nh(ctx, cfg, entry, &nh))
			return verdict(HS_DROP, HS_R_DROP_NO_ROUTE);
#ifndef HS_CTX_SKB
		if (gen != HS_GEN_NONE)
			vr_fill_encap4(ctx, p, cfg, entry, f != NULL, &nh, gen);
#endif
		return encap_send(ctx, p, cfg, entry, &nh, HS_R_TX_REPLY_ENCAP);
	}

	/* we are the front-end: SNAT back to the public address */
	rk.vm = p->src;
	if (!p->frag && (fk.proto == IPPROTO_TCP || fk.proto == IPPROTO_UDP)) {
		rk.port = fk.vm_port;
		rk.proto = fk.proto;
	}
	rb = rk.proto ? bpf_map_lookup_elem(&rbindings, &rk) : NULL;
	if (!rb) {
		rk.port = 0;
		rk.proto = 0;
		rb = bpf_map_lookup_elem(&rbindings, &rk);
	}
	if (!rb)
		return verdict(HS_PASS, HS_R_PASS_NOT_OURS);
	if (fib_out(ctx, &rb->pub, &p->dst, &nh))
		return verdict(HS_DROP, HS_R_DROP_NO_ROUTE);
#ifndef HS_CTX_SKB
	if (gen != HS_GEN_NONE)
		vr_fill_snat4(ctx, p, entry, f != NULL, rb, &nh, gen);
#endif
	if (xlate(ctx, p, false, &rb->pub, rb->pub_port) || mss_clamp(ctx, p, cfg) ||
	    set_eth(ctx, nh.dmac, nh.smac))
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	if (p->frag)
		count(HS_R_FRAG_TRANSLATED);
	return verdict(send_to(ctx, &nh), HS_R_TX_REPLY_SNAT);
}

/* To peer, another VM (gen: as for reply()). Out of line: inlined, its
 * next hop would join vmside_main()'s frame on the deepest call chain (and
 * a BPF function takes five arguments: the configuration is looked up). */
static __noinline int east_west(hs_ctx *ctx, struct pkt *p, const struct hs_vm *vm,
				const struct hs_vm *peer, __u64 gen)
{
	const struct hs_node_config *cfg = node_cfg();
	struct hs_nexthop nh;
	int act;

	if (!cfg)
		return verdict(HS_DROP, HS_R_DROP_ERROR);

	if (peer->kind == HS_VM_LOCAL) {
		if (mss_clamp(ctx, p, cfg))
			return verdict(HS_DROP, HS_R_DROP_ERROR);
#ifndef HS_CTX_SKB
		if (gen != HS_GEN_NONE)
			vr_fill_ew_local4(ctx, p, peer, gen);
#endif
		return to_local_vm(ctx, p, peer, HS_R_TX_EW_LOCAL);
	}
	if (tunnel_fit(ctx, p, cfg, &peer->host, &act))
		return act;
	if (mss_clamp(ctx, p, cfg) || set_eth(ctx, peer->mac, vm->mac))
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	/* to_host(), with the slot filled once the next hop is known */
	if (host_nh(ctx, cfg, &peer->host, &nh))
		return verdict(HS_DROP, HS_R_DROP_NO_ROUTE);
#ifndef HS_CTX_SKB
	if (gen != HS_GEN_NONE)
		vr_fill_ew_encap4(ctx, p, cfg, vm, peer, &nh, gen);
#endif
	return encap_send(ctx, p, cfg, &peer->host, &nh, HS_R_TX_EW_ENCAP);
}

/* Ethernet and IP headers into p: 0, or the DROP_MALFORMED_* reason. Not
 * IP: 0 with *proto saying so. */
static __always_inline int vmside_parse(hs_ctx *ctx, struct pkt *p, __u16 *proto)
{
	int rc = parse_l2(ctx, p, 0, proto);

	if (rc || (*proto != ETH_P_IP && *proto != ETH_P_IPV6))
		return rc;
	return parse_ip(ctx, p, *proto);
}

#ifdef HS_CTX_SKB
/* Ethernet, IPv6, TCP with options; an ICMP error's quote (see
 * HS_TC_PULL_MAX) */
#define HS_TC_PULL 128
#endif

static __always_inline int vmside_main(hs_ctx *ctx)
{
	struct hs_node_config *cfg = node_cfg();
	struct hs_vm *vm, *peer;
	__u64 gen = HS_GEN_NONE;
	struct pkt *p;
	__u16 proto;
	int rc;

	if (!cfg || !(cfg->flags & HS_CFG_F_ENABLED))
		return verdict(HS_PASS, HS_R_PASS_DISABLED);
#ifndef HS_CTX_SKB
	rc = vr_fast4(ctx, cfg);
	if (rc >= 0)
		return rc;
	/* read before the first lookup, as fe_slot() does */
	if (!gen_now(&gen))
		gen = HS_GEN_NONE;
#endif
#ifdef HS_CTX_SKB
	/* a tagged frame (the stack took the tag off before TC): as in XDP,
	 * where the tag makes it "not IP" */
	if (CTX_U32(ctx, vlan_present))
		return verdict(HS_PASS, HS_R_PASS_NOT_IP);
	if (tc_pull(ctx, HS_TC_PULL))
		return verdict(HS_DROP, HS_R_DROP_ERROR);
#endif
	p = pkt_get();
	if (!p)
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	rc = vmside_parse(ctx, p, &proto);
#ifdef HS_CTX_SKB
	if (rc && CTX_U32(ctx, len) > HS_TC_PULL && !tc_pull(ctx, HS_TC_PULL_MAX)) {
		p = pkt_get();
		if (!p)
			return verdict(HS_DROP, HS_R_DROP_ERROR);
		rc = vmside_parse(ctx, p, &proto);
	}
#endif
	if (rc)
		return verdict(HS_DROP, rc);
	if (proto != ETH_P_IP && proto != ETH_P_IPV6)
		return verdict(HS_PASS, HS_R_PASS_NOT_IP);
	if (host_business(p))
		return verdict(HS_PASS, HS_R_PASS_NOT_OURS);

	vm = bpf_map_lookup_elem(&vms, &p->src);
	/* INCOMING: resumed here before its entry says LOCAL */
	if (!vm || (vm->kind != HS_VM_LOCAL && vm->kind != HS_VM_INCOMING) ||
	    vm->ifindex != ctx->ingress_ifindex)
		return verdict(HS_DROP, HS_R_DROP_SPOOF);

	peer = bpf_map_lookup_elem(&vms, &p->dst);
	if (!peer)
		return reply(ctx, p, cfg, vm, gen);

	return east_west(ctx, p, vm, peer, gen);
}

#endif
