/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Definitions every heliostat BPF file needs that vmlinux.h lacks (macros
 * are not in BTF), the program context, and the bounds-checked packet
 * accessor. Contract of pkt_ptr(): returns a pointer to len bytes at off, or
 * NULL when they are not in the directly readable part of the packet (the
 * whole frame in XDP, the linear part of the skb in TC); the verifier sees a
 * bounded offset.
 *
 * The shared headers are compiled once per program context: XDP (struct
 * xdp_md) by default, TC (struct __sk_buff) when the entry file defines
 * HS_CTX_SKB before its first include. hs_ctx is that context; HS_PASS and
 * HS_DROP are its verdicts for "to the stack" and "drop".
 */
#ifndef HS_BPF_COMMON_H
#define HS_BPF_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "bpf/maps.h"

#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_ICMPV6 58

#define IP_MF 0x2000
#define IP_DF 0x4000
#define IP_OFFMASK 0x1fff

#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PKT_TOOBIG 2
#define ICMPV6_TIME_EXCEED 3
#define ICMPV6_PARAMPROB 4
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY 129

#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_DEST 60

#define VXLAN_HLEN 8
#define VXLAN_FLAG_I 0x08

/* TC verdicts (pkt_cls.h macros) */
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

/* A macro, not a typedef: CO-RE relocations of field accesses name the
 * type they go through, and the kernel's BTF has no typedef of ours. */
#ifdef HS_CTX_SKB
#define hs_ctx struct __sk_buff
#define HS_PASS TC_ACT_OK
#define HS_DROP TC_ACT_SHOT
#else
#define hs_ctx struct xdp_md
#define HS_PASS XDP_PASS
#define HS_DROP XDP_DROP
#endif

/* What a TC program reads directly must be in the skb's linear part: each
 * pulls the headers it usually needs on entry (bpf_skb_pull_data(), which
 * also makes them writable), and once more up to this bound when a header
 * lies beyond (long IPv6 extension chains). A GSO packet's payload stays
 * where it is. */
#define HS_TC_PULL_MAX 1024

/* Largest offset any packet access uses; keeps the verifier's range finite. */
#define PKT_OFF_MASK 0x3fff

/*
 * ctx->data and ctx->data_end read with explicit loads: clang 14 otherwise
 * merges the two field loads of different call sites into one load from a
 * computed ctx + 4, which the verifier refuses ("dereference of modified ctx
 * ptr"). The verifier rewrites these loads of a __sk_buff into loads of the
 * skb's own pointers, as it does for field accesses.
 */
static __always_inline void *ctx_data(hs_ctx *ctx)
{
	void *d;

	asm volatile("%[d] = *(u32 *)(%[c] + %[o])"
		     : [d] "=r"(d)
		     : [c] "r"(ctx), [o] "i"(__builtin_offsetof(hs_ctx, data)));
	return d;
}

static __always_inline void *ctx_data_end(hs_ctx *ctx)
{
	void *e;

	asm volatile("%[e] = *(u32 *)(%[c] + %[o])"
		     : [e] "=r"(e)
		     : [c] "r"(ctx), [o] "i"(__builtin_offsetof(hs_ctx, data_end)));
	return e;
}

/* Any other __u32 field of the context, read the same way (the same clang
 * merge hit skb->vlan_present in a loop). */
#define CTX_U32(ctx, field)                                                               \
	({                                                                                \
		__u32 v_;                                                                 \
		asm volatile("%[v] = *(u32 *)(%[c] + %[o])"                               \
			     : [v] "=r"(v_)                                               \
			     : [c] "r"(ctx), [o] "i"(__builtin_offsetof(hs_ctx, field))); \
		v_;                                                                       \
	})

#ifdef HS_CTX_SKB
/* Pulls the first n bytes of the skb (all of a shorter one) into its linear,
 * writable part. 0 or a negative error. */
static __always_inline long tc_pull(hs_ctx *ctx, __u32 n)
{
	__u32 len = CTX_U32(ctx, len);

	return bpf_skb_pull_data(ctx, len < n ? len : n);
}
#endif

static __always_inline void *pkt_ptr(hs_ctx *ctx, __u32 off, __u32 len)
{
	void *data = ctx_data(ctx);
	void *end = ctx_data_end(ctx);
	void *p;

	off &= PKT_OFF_MASK;
	p = data + off;
	if (p + len > end)
		return NULL;
	/* Clang 14 may otherwise rebuild data + off in another register for
	 * the access, one the verifier has not seen bounds-checked. */
	asm volatile("" : "+r"(p));
	return p;
}

/* Length of the whole frame: in TC also what is not linear (a GSO packet's
 * payload). The barrier keeps clang (14) from folding the subtraction into
 * other arithmetic as "scalar - pkt_end", which the verifier refuses;
 * pointer minus pointer is allowed (we load as root). */
static __always_inline __u32 pkt_len(hs_ctx *ctx)
{
#ifdef HS_CTX_SKB
	return CTX_U32(ctx, len);
#else
	void *data = ctx_data(ctx);
	void *end = ctx_data_end(ctx);
	__u64 len = end - data;

	asm volatile("" : "+r"(len));
	return len;
#endif
}

/* A GSO packet: one skb the kernel (or the NIC) cuts into gso_size
 * segments on transmission. XDP never sees one. */
static __always_inline bool ctx_is_gso(hs_ctx *ctx)
{
#ifdef HS_CTX_SKB
	return CTX_U32(ctx, gso_size) != 0;
#else
	return false;
#endif
}

/* IPv4-mapped form of an IPv4 address. */
static __always_inline void ip_from_v4(struct hs_ip *ip, __be32 a)
{
	__builtin_memset(ip, 0, 10);
	ip->b[10] = 0xff;
	ip->b[11] = 0xff;
	__builtin_memcpy(&ip->b[12], &a, 4);
}

static __always_inline bool ip_is_v4(const struct hs_ip *ip)
{
	__u64 hi;
	__u32 mid;

	__builtin_memcpy(&hi, ip->b, 8);
	__builtin_memcpy(&mid, &ip->b[8], 4);
	return hi == 0 && mid == bpf_htonl(0xffff);
}

static __always_inline bool ip_is_zero(const struct hs_ip *ip)
{
	__u64 a, b;

	__builtin_memcpy(&a, ip->b, 8);
	__builtin_memcpy(&b, &ip->b[8], 8);
	return (a | b) == 0;
}

static __always_inline bool ip_eq(const struct hs_ip *x, const struct hs_ip *y)
{
	__u64 a0, a1, b0, b1;

	__builtin_memcpy(&a0, x->b, 8);
	__builtin_memcpy(&a1, &x->b[8], 8);
	__builtin_memcpy(&b0, y->b, 8);
	__builtin_memcpy(&b1, &y->b[8], 8);
	return a0 == b0 && a1 == b1;
}

static __always_inline struct hs_node_config *node_cfg(void)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(&node_config, &k);
}

#endif
