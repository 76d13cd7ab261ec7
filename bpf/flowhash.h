/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The inner-flow hash that picks the outer VXLAN UDP source port (RFC 7348
 * §5: entropy for underlay ECMP). Plain C, shared by the BPF programs and by
 * the tests that predict their output. Inputs are raw packet bytes (ports in
 * network order, as read); the result is stable for a flow in one direction.
 */
#ifndef HS_FLOWHASH_H
#define HS_FLOWHASH_H

#include "bpf/hs_abi.h"

#define HS_SPORT_MIN 49152 /* IANA dynamic range: 49152-65535 */

static inline __u32 hs_mix32(__u32 h)
{
	/* murmur3's finaliser: cheap, and every input bit moves every output bit */
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

static inline __u32 hs_flow_hash(const struct hs_ip *src, const struct hs_ip *dst, __be16 sport,
				 __be16 dport, __u8 proto)
{
	/* Fold, then mix once: a full mix per word cost ~30 ns per packet in
	 * bench_dp; ECMP needs spread, not cryptographic strength. */
	__u32 h = 0x9e3779b9u ^ proto ^ (((__u32)sport << 16) | dport);
	__u32 w;

	for (int i = 0; i < 16; i += 4) {
		__builtin_memcpy(&w, &src->b[i], 4);
		h ^= w;
		__builtin_memcpy(&w, &dst->b[i], 4);
		h = (h ^ w) * 0x01000193u; /* keep src and dst words apart */
	}
	return hs_mix32(h);
}

/*
 * fe_cache slot of a tuple as received, before DNAT (see hs_abi.h). An
 * index needs only HS_FE_CACHE_BITS well-spread bits (the key stored in the
 * slot decides a hit), so one multiply instead of hs_flow_hash()'s serial
 * six: XOR-fold, destination words rotated so that they do not cancel
 * source words, then Fibonacci hashing (the top bits of the product).
 */
static inline __u32 hs_fe_slot_index(const struct hs_ip *src, const struct hs_ip *dst, __be16 sport,
				     __be16 dport, __u8 proto)
{
	__u32 h = ((__u32)sport << 16 | dport) ^ proto;
	__u32 w;

	for (int i = 0; i < 16; i += 4) {
		__builtin_memcpy(&w, &src->b[i], 4);
		h ^= w;
		__builtin_memcpy(&w, &dst->b[i], 4);
		h ^= w << 16 | w >> 16;
	}
	return (h * 0x9e3779b1u) >> (32 - HS_FE_CACHE_BITS);
}

/* hs_fe_slot_index() of an IPv4 tuple (addresses as read, network order),
 * without building the 16-byte forms: their first eight bytes are zero and
 * the next four (00 00 ff ff) fold, with the rotated copy, to all ones. */
static inline __u32 hs_fe_slot_index4(__be32 src, __be32 dst, __be16 sport, __be16 dport,
				      __u8 proto)
{
	__u32 h =
		((__u32)sport << 16 | dport) ^ proto ^ 0xffffffffu ^ src ^ (dst << 16 | dst >> 16);

	return (h * 0x9e3779b1u) >> (32 - HS_FE_CACHE_BITS);
}

/* rp_cache slot of a VXLAN reply as received (see hs_abi.h): the outer
 * source and the inner tuple (IPv4 addresses, network order), folded as
 * hs_fe_slot_index() folds, then one Fibonacci multiply. */
static inline __u32 hs_rp_slot_index4(__be32 peer, __be32 src, __be32 dst, __be16 sport,
				      __be16 dport, __u8 proto)
{
	__u32 h = ((__u32)sport << 16 | dport) ^ proto ^ src ^ (dst << 16 | dst >> 16) ^
		  (peer << 8 | peer >> 24);

	return (h * 0x9e3779b1u) >> (32 - HS_FE_CACHE_BITS);
}

/* Outer UDP source port in host order. */
static inline __u16 hs_vxlan_sport(__u32 hash)
{
	return (__u16)(HS_SPORT_MIN | (hash & 0x3fff));
}

#endif
