/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The front-end flow cache (fe_cache; struct hs_fe_slot in hs_abi.h): what
 * the binding, vms and nexthops lookups gave a flow's last packet, kept per
 * CPU so that the flow's next packet skips them. Contract: fe_slot() returns
 * this CPU's slot for p's tuple, or NULL when p is never cached; fe_hit()
 * says whether the slot answers for p now; fe_begin() and fe_commit_*() fill
 * it on the full path and never fail; fe_deliver() then does to p what
 * handle_binding() would do (same bytes out, same verdict and counters).
 * Only the uplink object includes this file.
 */
#ifndef HS_BPF_FECACHE_H
#define HS_BPF_FECACHE_H

#include "bpf/deliver.h"
#include "bpf/fast4.h"
#include "bpf/flowhash.h"
#include "bpf/rpcache.h"

/* Private to each uplink object and not pinned: its contents are derived
 * from the pinned maps, and a newly loaded object starts empty. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HS_FE_CACHE_SLOTS);
	__type(key, __u32);
	__type(value, struct hs_fe_slot);
} fe_cache SEC(".maps");

/*
 * This CPU's slot for p and, in *gen, the generation to check it against or
 * to fill it with. Read here, before any lookup of the full path, so that a
 * control-plane write that lands after this read invalidates what the
 * lookups return. Fragments (no ports on most) and ICMP errors (matched on
 * their quoted packet) are left to the full path.
 */
static __always_inline struct hs_fe_slot *fe_slot(const struct pkt *p, __u64 *gen)
{
	__u32 k;

	if (p->frag || p->icmp_err || !p->has_l4 || !gen_now(gen))
		return NULL;
	k = hs_fe_slot_index(&p->src, &p->dst, p->sport, p->dport, p->proto);
	return bpf_map_lookup_elem(&fe_cache, &k);
}

/* Does the slot answer for p now? Its tuple, its generation, and for a
 * remote VM its copy of the next hop (nh_fresh()). */
static __always_inline bool fe_hit(struct hs_fe_slot *s, const struct pkt *p, __u64 gen)
{
	if (!s->kind || s->gen != gen || !ip_eq(&s->key.src, &p->src) ||
	    !ip_eq(&s->key.dst, &p->dst) || s->key.sport != p->sport || s->key.dport != p->dport ||
	    s->key.proto != p->proto)
		return false;
	return s->kind == HS_VM_LOCAL || nh_fresh(&s->checked, s->expires);
}

/* Full path, binding b and location vm found, p not yet translated: the
 * slot now belongs to p's tuple and stays empty until committed. */
static __always_inline void fe_begin(struct hs_fe_slot *s, const struct pkt *p,
				     const struct hs_binding *b, const struct hs_vm *vm)
{
	s->kind = 0;
	s->fast4 = 0;
	s->key.src = p->src;
	s->key.dst = p->dst;
	s->key.sport = p->sport;
	s->key.dport = p->dport;
	s->key.proto = p->proto;
	s->vm = b->vm;
	s->vm_port = b->vm_port;
	s->vm_id = b->vm_id;
	s->host = vm->host;
	s->ifindex = vm->ifindex;
	__builtin_memcpy(s->mac, vm->mac, ETH_ALEN);
	__builtin_memcpy(s->gw_mac, vm->gw_mac, ETH_ALEN);
}

#ifndef HS_CTX_SKB
/* fe_fast4()'s kinds of slot (fast4) */
#define FE_FAST4_REMOTE 1
#define FE_FAST4_LOCAL 2
/* What fe_fast4() copies for a remote VM: the outer headers and the inner
 * Ethernet addresses. */
#define FE4_TMPL (ENC4_LEN + 2 * ETH_ALEN)

/* The DNAT's checksum deltas, the same for every packet of the flow (the
 * fields it replaces are the slot's key), when fe_fast4() can take the
 * flow: TCP or UDP over IPv4, not fragments. p is translated. */
static __always_inline bool fe_fill_deltas4(struct hs_fe_slot *s, const struct pkt *p)
{
	if (!p->v4 || p->frag || !p->has_l4 || (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP))
		return false;
	fast4_deltas(&s->key.dst.b[12], &s->vm.b[12], s->key.dport, s->vm_port, &s->d_ip, &s->d_l4);
	return true;
}

/*
 * What fe_fast4() needs on top of the slot for a remote VM behind an IPv4
 * underlay: the bytes encap_body() and set_eth() write, with the lengths
 * and the outer checksum left zero, the sum of that outer IPv4 header, and
 * the deltas. p is translated, nh the slot's next hop.
 */
static __always_inline void fe_fill_fast4(struct hs_fe_slot *s, const struct pkt *p,
					  const struct hs_node_config *cfg,
					  const struct hs_nexthop *nh)
{
	__u8 *t = (__u8 *)s->tmpl;

	if (!ip_is_v4(&s->host) || !fe_fill_deltas4(s, p))
		return;
	__builtin_memset(s->tmpl, 0, sizeof(s->tmpl));
	s->osum = encap_tmpl4(t, cfg, &s->host, nh, s->hash);
	__builtin_memcpy(t + ENC4_LEN, s->mac, ETH_ALEN);
	__builtin_memcpy(t + ENC4_LEN + ETH_ALEN, s->gw_mac, ETH_ALEN);
	s->fast4 = FE_FAST4_REMOTE;
}
#endif

/* p translated. A local VM's slot needs only the deltas for fe_fast4(). */
static __always_inline void fe_commit_local(struct hs_fe_slot *s, __u64 gen, const struct pkt *p)
{
	s->expires = 0;
#ifndef HS_CTX_SKB
	if (fe_fill_deltas4(s, p))
		s->fast4 = FE_FAST4_LOCAL;
#endif
	s->gen = gen;
	s->kind = HS_VM_LOCAL;
}

/* p translated (the outer port's hash is over the translated tuple), nh
 * from fib_out() for the VM's host. The uplink treats FORWARD like REMOTE. */
static __always_inline void fe_commit_remote(struct hs_fe_slot *s, __u64 gen, const struct pkt *p,
					     const struct hs_node_config *cfg,
					     const struct hs_nexthop *nh)
{
	s->ifindex = nh->ifindex;
	__builtin_memcpy(s->dmac, nh->dmac, ETH_ALEN);
	__builtin_memcpy(s->smac, nh->smac, ETH_ALEN);
	s->expires = nh->expires;
	s->checked = bpf_jiffies64();
	s->hash = hs_flow_hash(&p->src, &p->dst, p->sport, p->dport, p->proto);
#ifndef HS_CTX_SKB
	fe_fill_fast4(s, p, cfg, nh);
#endif
	s->gen = gen;
	s->kind = HS_VM_REMOTE;
}

/* handle_binding() from a slot that fe_hit() accepted for p. Out of line:
 * inlined, its frame would join the chain xdp_uplink -> handle_binding ->
 * make_toobig and pass the 512-byte stack (kernel 6.18, clang 14). */
static __noinline int fe_deliver(hs_ctx *ctx, struct pkt *p, const struct hs_node_config *cfg,
				 const struct hs_fe_slot *s)
{
	const struct hs_ip *src;
	struct hs_nexthop nh;
	int act;

	if (s->kind != HS_VM_LOCAL && tunnel_fit(ctx, p, cfg, &s->host, &act))
		return act;
	/* never an ICMP error here: xlate() without its embedded-packet part */
	if (xlate_body(ctx, p, true, &s->vm, s->vm_port, false) || mss_clamp(ctx, p, cfg))
		return verdict(HS_DROP, HS_R_DROP_ERROR);

	if (s->kind == HS_VM_LOCAL) {
		learn_flow(p, our_entry(cfg), s->vm_id);
		return to_local_port(ctx, p, s->ifindex, s->mac, s->gw_mac, HS_R_TX_DNAT_LOCAL);
	}
	if (strip_vlans(ctx, p) || set_eth(ctx, s->mac, s->gw_mac))
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	src = our_addr(cfg, &s->host);
	if (ip_is_zero(src))
		return verdict(HS_DROP, HS_R_DROP_NO_ROUTE);
	nh.ifindex = s->ifindex;
	__builtin_memcpy(nh.dmac, s->dmac, ETH_ALEN);
	__builtin_memcpy(nh.smac, s->smac, ETH_ALEN);
	nh.fwd = 0;
	/* encap_prep() only for what the slot lacks: the inner sum an IPv6
	 * outer checksum needs */
	nh.hash = s->hash;
	nh.csum_ok = 0;
	nh.isum = 0;
	if ((!ip_is_v4(&s->host) && encap_prep(ctx, p, &s->host, &nh)) ||
	    encap_body(ctx, p, cfg, &s->host, &nh))
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	return verdict(send_to(ctx, &nh), HS_R_TX_DNAT_ENCAP);
}

#ifndef HS_CTX_SKB
/*
 * The established-flow path of the common case, before any parse into
 * struct pkt: an untagged IPv4 frame without options, not a fragment,
 * carrying TCP (not a SYN: those may need MSS clamping) or UDP (to the
 * VXLAN port it is a reply: rp_fast4() takes it), whose slot holds a local
 * VM or a remote one behind an IPv4 underlay (fast4) and answers for it as
 * fe_hit() would, and (remote) which fits the tunnel. Then it does what
 * fe_deliver() does, from the slot's deltas and template: the same bytes,
 * verdict and counters. Returns -1, having written nothing but fe_hit()'s
 * check time, for every other packet (malformed ones included: the full
 * parse names what is wrong with them).
 */
static __always_inline int fe_fast4(struct xdp_md *ctx, const struct hs_node_config *cfg)
{
	struct hs_fe_slot *s;
	__u32 k, ip_len = 0;
	struct iphdr *ip = NULL;
	__u16 *ck = fast4_frame(ctx, &ip, &ip_len);
	__be16 *ports;
	__u64 gen;

	if (!ck || !ip)
		return -1;
	ports = (__be16 *)(ip + 1);
	if (ip->protocol == IPPROTO_UDP && ports[1] == cfg->vxlan_port)
		return rp_fast4(ctx, cfg);
	if (!gen_now(&gen))
		return -1;
	k = hs_fe_slot_index4(ip->saddr, ip->daddr, ports[0], ports[1], ip->protocol);
	s = bpf_map_lookup_elem(&fe_cache, &k);
	if (!s || !s->fast4 || s->gen != gen || *(__u32 *)&s->key.src.b[12] != ip->saddr ||
	    *(__u32 *)&s->key.dst.b[12] != ip->daddr ||
	    *(__u32 *)&s->key.sport != *(__u32 *)ports || s->key.proto != ip->protocol)
		return -1;
	if (s->fast4 == FE_FAST4_LOCAL) {
		/* learn_flow() of the translated tuple, xlate_body(), to_local_port() */
		if (fast4_learn(ip->saddr, *(__be32 *)&s->vm.b[12], ports[0],
				s->vm_port ? s->vm_port : ports[1], ip->protocol, our_entry(cfg),
				s->vm_id))
			return -1;
		fast4_xlate(ip, &ip->daddr, *(__be32 *)&s->vm.b[12], &ports[1], s->vm_port, ck,
			    s->d_ip, s->d_l4);
		__builtin_memcpy((__u8 *)ip - ETH_HLEN, s->mac, ETH_ALEN);
		__builtin_memcpy((__u8 *)ip - ETH_HLEN + ETH_ALEN, s->gw_mac, ETH_ALEN);
		count(HS_R_TX_DNAT_LOCAL);
		return bpf_redirect(s->ifindex, 0);
	}
	if ((cfg->underlay_mtu && ENC4_LEN + ip_len > cfg->underlay_mtu) ||
	    !nh_fresh(&s->checked, s->expires))
		return -1;

	/* xlate_body(), then encap_body() and set_eth() */
	fast4_xlate(ip, &ip->daddr, *(__be32 *)&s->vm.b[12], &ports[1], s->vm_port, ck, s->d_ip,
		    s->d_l4);
	if (encap_emit4(ctx, s->tmpl, s->osum, fast4_len(ctx), FE4_TMPL))
		return verdict(HS_DROP, HS_R_DROP_ERROR);
	return fast4_send(ctx, s->ifindex, HS_R_TX_DNAT_ENCAP);
}
#endif

#endif
