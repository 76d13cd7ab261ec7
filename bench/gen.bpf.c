// SPDX-License-Identifier: GPL-2.0
/*
 * Traffic generator for net_rate, run by BPF_PROG_TEST_RUN with
 * BPF_F_TEST_XDP_LIVE_FRAMES: every call writes the whole header template
 * back (the frames' pages are recycled as the receiving side left them: a
 * DNAT rewrote the destination, a push of VXLAN headers wrote into the
 * headroom), gives the frame the next source port of nports and redirects
 * it out of the generator's veth. Loaded with encap set, it is mode e's
 * front-end: the least a DNAT + VXLAN program must do (headroom taken, the
 * outer headers written from a template, the inner ones translated).
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bench/net_rate.h"

const volatile __u32 out_ifindex;
const volatile __u16 port_base = 1024;
const volatile __u16 nports = 1;
const volatile bool encap;

/* written by net_rate after load; not const so nothing is folded */
struct nr_hdr hdr;
struct nr_outer outer;
__u32 next_port;

/* n bytes (8k + 2) from w to p, eight at a time: a byte-wise memcpy of a
 * template (clang cannot know either side's alignment) cost the floor
 * modes ~180 instructions a frame */
static __always_inline void copy_words(void *p, const __u64 *w, int n)
{
	int i;

#pragma unroll
	for (i = 0; i < n / 8; i++)
		((__u64 *)p)[i] = w[i];
	*(__u16 *)(p + i * 8) = *(const __u16 *)&w[i];
}

SEC("xdp")
int xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct udphdr *udp;
	__u32 n = next_port;

	if (encap) {
		if (bpf_xdp_adjust_head(ctx, -NR_OUTER_LEN))
			return XDP_ABORTED;
		data = (void *)(long)ctx->data;
		end = (void *)(long)ctx->data_end;
		if (data + NR_OUTER_LEN > end)
			return XDP_ABORTED;
		copy_words(data, outer.w, NR_OUTER_LEN);
		data += NR_OUTER_LEN;
	}
	if (data + NR_HDR_LEN > end)
		return XDP_ABORTED;
	copy_words(data, hdr.w, NR_HDR_LEN);
	udp = data + NR_HDR_LEN - sizeof(*udp);
	udp->source = bpf_htons(port_base + n);
	next_port = n + 1 < nports ? n + 1 : 0;
	return bpf_redirect(out_ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
