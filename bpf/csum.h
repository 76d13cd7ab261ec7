/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internet checksum arithmetic (RFC 1071, incremental per RFC 1624). Deltas
 * are accumulated in a __u32 of 16-bit words (removed words complemented),
 * then applied to a checksum field with csum_apply(). Word order is the
 * packet's: one's-complement sums do not depend on byte order as long as
 * fields and words are read the same way.
 */
#ifndef HS_BPF_CSUM_H
#define HS_BPF_CSUM_H

#include "bpf/common.h"

static __always_inline __u16 csum_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* Delta for replacing 16-bit word old by new. */
static __always_inline __u32 csum_delta16(__u16 old, __u16 new)
{
	return (__u32)(__u16)~old + new;
}

/* Delta for replacing n bytes (n even, constant) old by new. */
static __always_inline __u32 csum_delta_bytes(const void *old, const void *new, int n)
{
	const __u16 *o = old, *w = new;
	__u32 d = 0;

#pragma unroll
	for (int i = 0; i < n / 2; i++)
		d += (__u32)(__u16)~o[i] + w[i];
	return d;
}

/* Applies an accumulated delta to a checksum field (network order as read). */
static __always_inline __u16 csum_apply(__u16 check, __u32 delta)
{
	return ~csum_fold((__u64)(__u16)~check + delta);
}

/* csum_fold() of a sum below 2^32 (a few words): the 64-bit steps are
 * no-ops then, and the fast paths skip them. */
static __always_inline __u16 csum_fold32(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* csum_apply() of a delta of a few words (below 2^31): the same result. */
static __always_inline __u16 csum_apply32(__u16 check, __u32 delta)
{
	return ~csum_fold32((__u32)(__u16)~check + delta);
}

/* Sum of n bytes (n even, constant) as 16-bit words. */
static __always_inline __u32 csum_sum_bytes(const void *p, int n)
{
	const __u16 *w = p;
	__u32 s = 0;

#pragma unroll
	for (int i = 0; i < n / 2; i++)
		s += w[i];
	return s;
}

/* Pseudo-header sum for IPv4 / IPv6 (addresses in the 16-byte form). */
static __always_inline __u32 csum_pseudo(const struct hs_ip *src, const struct hs_ip *dst,
					 __u32 len, __u8 proto, bool v4)
{
	__u32 s;

	if (v4)
		s = csum_sum_bytes(&src->b[12], 4) + csum_sum_bytes(&dst->b[12], 4);
	else
		s = csum_sum_bytes(src->b, 16) + csum_sum_bytes(dst->b, 16);
	/* length and protocol as big-endian words, read like the packet's */
	return s + bpf_htons((__u16)(len >> 16)) + bpf_htons((__u16)len) + bpf_htons(proto);
}

#endif
