// SPDX-License-Identifier: GPL-2.0
/*
 * VM-side program, TC hook (cls_bpf, direct action, at the ingress of the
 * host end of a VM's veth or tap: what the VM sends). The same logic and
 * maps as the XDP hook (vmside.h), on an skb: a GSO packet stays one packet
 * through SNAT and VXLAN encapsulation (the kernel or the NIC segments it
 * late) and checksum offload keeps working, where XDP needs the VM to send
 * finished, MTU-sized frames. See docs/dataplane.md.
 */
#define HS_CTX_SKB 1
#include "bpf/vmside.h"

SEC("tc")
int tc_vmside(struct __sk_buff *skb)
{
	return vmside_main(skb);
}

char LICENSE[] SEC("license") = "GPL";
