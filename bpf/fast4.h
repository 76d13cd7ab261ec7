/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the per-CPU flow caches' fast paths share (fecache.h, rpcache.h,
 * vrcache.h): the generation read, the rule for a slot's copy of a next
 * hop, and (XDP only) the checks that a frame is one they may take and the
 * send. Contract: the checks only read the frame; a frame they refuse goes
 * to the full parse, which names what is wrong with it.
 */
#ifndef HS_BPF_FAST4_H
#define HS_BPF_FAST4_H

#include "bpf/deliver.h"

/* generation[0] now, into *gen: false when it cannot be read (nothing may
 * be cached then). Read before any lookup whose result is cached. */
static __always_inline bool gen_now(__u64 *gen)
{
	__u32 k = 0;
	struct hs_generation *g = bpf_map_lookup_elem(&generation, &k);

	if (!g)
		return false;
	*gen = *(volatile __u64 *)&g->gen;
	return true;
}

/*
 * Is a slot's copy of a next hop (deadline expires, on the coarse clock)
 * still good? It expires with the nexthops entry it was copied from
 * (HS_NEXTHOP_TTL_NS), so a route or neighbour change is seen about as soon
 * as without the cache. The coarse clock (a helper call) is read for that
 * only every HS_FE_RECHECK_JIFFIES; jiffies is one load (the verifier
 * inlines bpf_jiffies64() on 64-bit JITs). *checked: the slot's last check.
 */
static __always_inline bool nh_fresh(__u32 *checked, __u64 expires)
{
	__u32 j = bpf_jiffies64();

	if (j - *checked < HS_FE_RECHECK_JIFFIES)
		return true;
	if (expires <= bpf_ktime_get_coarse_ns())
		return false;
	*checked = j;
	return true;
}

#ifndef HS_CTX_SKB
/* The fast paths' flow key for learning: on the stack it would pass the
 * 512 bytes the call chain xdp_uplink -> handle_binding -> ... may use
 * (kernel 6.18, clang 14). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hs_flow_key);
} fk_scratch SEC(".maps");

/* The flows key (every byte written) of an IPv4 flow from client to vm, as
 * the VM sees it (after any DNAT). */
static __always_inline void fast4_flow_key(struct hs_flow_key *k, __be32 client, __be32 vm,
					   __be16 client_port, __be16 vm_port, __u8 proto)
{
	ip_from_v4(&k->client, client);
	ip_from_v4(&k->vm, vm);
	k->client_port = client_port;
	k->vm_port = vm_port;
	k->proto = proto;
	k->pad[0] = k->pad[1] = k->pad[2] = 0;
}

/* learn_flow() of that flow with entry and vm_id. 0, or -1 when the
 * scratch key cannot be had: the caller then leaves the packet to the full
 * path, so it calls this before writing anything. */
static __always_inline int fast4_learn(__be32 client, __be32 vm, __be16 client_port, __be16 vm_port,
				       __u8 proto, const struct hs_ip *entry, __u32 vm_id)
{
	__u32 k0 = 0;
	struct hs_flow_key *fk = bpf_map_lookup_elem(&fk_scratch, &k0);

	if (!fk)
		return -1;
	fast4_flow_key(fk, client, vm, client_port, vm_port, proto);
	learn_key(fk, entry, vm_id);
	return 0;
}

/* An untagged IPv4 frame without options, not a fragment, whose total
 * length fits the frame and leaves room for 8 bytes of transport header:
 * its IP header (the transport header follows at +20), else NULL. */
static __always_inline struct iphdr *fast4_ip(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + ETH_HLEN;

	if ((void *)ip + sizeof(*ip) + sizeof(struct udphdr) > end ||
	    eth->h_proto != bpf_htons(ETH_P_IP) || *(__u8 *)ip != 0x45 ||
	    (ip->frag_off & bpf_htons(IP_MF | IP_OFFMASK)) ||
	    ETH_HLEN + bpf_ntohs(ip->tot_len) > (__u32)(end - data) ||
	    bpf_ntohs(ip->tot_len) < sizeof(*ip) + sizeof(struct udphdr))
		return NULL;
	return ip;
}

/* The frame's length. */
static __always_inline __u32 fast4_len(struct xdp_md *ctx)
{
	return (__u32)((long)ctx->data_end - (long)ctx->data);
}

/* The transport header at l4 (8 bytes known to be in the frame) of an
 * IPv4 packet without options of total length ip_len: TCP that is not a
 * SYN (a SYN may need MSS clamping), its header length sane and inside the
 * packet, or UDP whose length is the payload's. Its checksum field, else
 * NULL. */
static __always_inline __u16 *fast4_l4(__u8 *l4, void *end, __u8 proto, __u32 ip_len)
{
	if (proto == IPPROTO_TCP) {
		if ((void *)(l4 + sizeof(struct tcphdr)) > end || (l4[13] & TCP_FLAG_SYN) ||
		    (l4[12] >> 4) < 5 || (l4[12] >> 4) * 4 > ip_len - sizeof(struct iphdr))
			return NULL;
		return (__u16 *)(l4 + 16);
	}
	if (proto == IPPROTO_UDP &&
	    bpf_ntohs(((struct udphdr *)l4)->len) == ip_len - sizeof(struct iphdr))
		return &((struct udphdr *)l4)->check;
	return NULL;
}

/* fast4_ip() and fast4_l4() of the frame: the transport checksum field,
 * with the IP header in *ipp and its total length in *ip_len; NULL when the
 * frame is not one the fast paths take. */
static __always_inline __u16 *fast4_frame(struct xdp_md *ctx, struct iphdr **ipp, __u32 *ip_len)
{
	struct iphdr *ip = fast4_ip(ctx);

	if (!ip)
		return NULL;
	*ipp = ip;
	*ip_len = bpf_ntohs(ip->tot_len);
	return fast4_l4((__u8 *)(ip + 1), (void *)(long)ctx->data_end, ip->protocol, *ip_len);
}

/* The checksum deltas fast4_xlate() applies for replacing the IPv4
 * address at old_a (network order) by the one at new_a and, unless
 * new_port is 0, the port old_port by new_port: *d_ip for the IPv4 header,
 * *d_l4 for the transport checksum (address and port). */
static __always_inline void fast4_deltas(const void *old_a, const void *new_a, __be16 old_port,
					 __be16 new_port, __u32 *d_ip, __u32 *d_l4)
{
	__u32 d = csum_delta_bytes(old_a, new_a, 4);

	*d_ip = d;
	if (new_port)
		d += csum_delta16(old_port, new_port);
	*d_l4 = d;
}

/* The DNAT or SNAT of a fast path: the address at a (network order) becomes
 * addr, the port at port_at becomes port unless it is 0, and the checksums
 * take the slot's precomputed deltas (a UDP checksum of 0 stays 0, a result
 * of 0 is written as 0xffff), as xlate() would. */
static __always_inline void fast4_xlate(struct iphdr *ip, __be32 *a, __be32 addr, __be16 *port_at,
					__be16 port, __u16 *ck, __u32 d_ip, __u32 d_l4)
{
	__u16 c;

	*a = addr;
	ip->check = csum_apply32(ip->check, d_ip);
	if (port)
		*port_at = port;
	if (ip->protocol == IPPROTO_TCP) {
		*ck = csum_apply32(*ck, d_l4);
	} else if (*ck) {
		c = csum_apply32(*ck, d_l4);
		*ck = c ? c : 0xffff;
	}
}

/* Counts r and sends the frame out of ifindex (back out when it is the
 * ingress), as send_to() does. */
static __always_inline int fast4_send(struct xdp_md *ctx, __u32 ifindex, enum hs_reason r)
{
	count(r);
	if (ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(ifindex, 0);
}
#endif

#endif
