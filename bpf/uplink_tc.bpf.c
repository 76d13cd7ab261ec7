// SPDX-License-Identifier: GPL-2.0
/*
 * Uplink program, TC hook (cls_bpf, direct action, at the clsact ingress of
 * an underlay interface). The same logic and maps as the XDP hook
 * (uplink.h), on an skb: a GSO packet, which a veth or a GRO-capable path
 * hands over whole, stays whole through DNAT, VXLAN encapsulation and
 * decapsulation. XDP stays the default: it runs before any skb exists. See
 * docs/dataplane.md, "Hooks".
 */
#define HS_CTX_SKB 1
#include "bpf/uplink.h"

SEC("tc")
int tc_uplink(struct __sk_buff *skb)
{
	return uplink_main(skb);
}

char LICENSE[] SEC("license") = "GPL";
