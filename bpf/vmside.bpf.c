// SPDX-License-Identifier: GPL-2.0
/*
 * VM-side program, XDP hook (on the host end of a VM's veth or tap, so it
 * sees what the VM sends): replies leave through the front-end their flow
 * entered by (SNAT here when that is us, else VXLAN to it), VM-to-VM traffic
 * goes by redirect or VXLAN to the peer's host, and a VM may only send from
 * its own address. The logic is in vmside.h, shared with the TC hook
 * (vmside_tc.bpf.c). See docs/dataplane.md.
 */
#include "bpf/vmside.h"

SEC("xdp")
int xdp_vmside(struct xdp_md *ctx)
{
	return vmside_main(ctx);
}

char LICENSE[] SEC("license") = "GPL";
