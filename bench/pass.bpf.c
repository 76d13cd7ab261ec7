// SPDX-License-Identifier: GPL-2.0
/* The benchmark's baseline: the cheapest XDP program there is. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
