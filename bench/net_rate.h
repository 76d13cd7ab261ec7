/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the packet-rate benchmark's programs share with net_rate.c: the
 * generator's header template and the receiver's per-CPU counters, one
 * counter per kind of frame the front-end may deliver.
 */
#ifndef HS_BENCH_NET_RATE_H
#define HS_BENCH_NET_RATE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Ethernet + IPv4 (no options) + UDP: rewritten on every generated frame. */
#define NR_HDR_LEN 42
#define NR_VXLAN_PORT 4789

struct nr_hdr {
	union { /* w: for copies a word at a time */
		__u8 b[NR_HDR_LEN + 6];
		__u64 w[6];
	};
};

/* Outer Ethernet + IPv4 + UDP + VXLAN that mode e's program pushes in front
 * of the translated frame (lengths and checksum fixed: every frame is as
 * long as the generator's). */
#define NR_OUTER_LEN 50

struct nr_outer {
	union {
		__u8 b[NR_OUTER_LEN + 6];
		__u64 w[7];
	};
};

/* What the receiver saw. The front-end under test is right when every frame
 * is of the kind its mode produces. */
enum nr_rx_kind {
	NR_RX_VXLAN_VM, /* VXLAN to the VM's host, inner destination the VM */
	NR_RX_UDP_VM, /* plain IPv4 to the VM: DNATed by the kernel */
	NR_RX_UDP_PUB, /* plain IPv4 to the public address: forwarded as is */
	NR_RX_OTHER, /* anything else */
	NR_RX_MAX
};

/* rx_counts[0], per CPU */
struct nr_rx_count {
	__u64 pkts[NR_RX_MAX];
};

_Static_assert(sizeof(struct nr_hdr) == 48, "nr_hdr");
_Static_assert(sizeof(struct nr_outer) == 56, "nr_outer");
_Static_assert(sizeof(struct nr_rx_count) == 8 * NR_RX_MAX, "nr_rx_count");

#endif
