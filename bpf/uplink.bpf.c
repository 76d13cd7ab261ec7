// SPDX-License-Identifier: GPL-2.0
/* uplink program: placeholder while the data plane is written; passes all. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "bpf/maps.h"

SEC("xdp")
int xdp_uplink(struct xdp_md *ctx)
{
	count(HS_R_PASS_DISABLED);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
