// SPDX-License-Identifier: GPL-2.0
/*
 * Uplink program (XDP on a node's underlay / external interface): packets to
 * a binding's public address are DNATed to the VM and delivered locally or
 * encapsulated straight to its host; VXLAN from peers is decapsulated for
 * local VMs, forwarded after a move, or SNATed back to clients when this node
 * is the front-end. Everything else passes. The logic is in uplink.h, shared
 * with the TC hook (uplink_tc.bpf.c). See docs/dataplane.md.
 */
#include "bpf/uplink.h"

SEC("xdp")
int xdp_uplink(struct xdp_md *ctx)
{
	return uplink_main(ctx);
}

char LICENSE[] SEC("license") = "GPL";
