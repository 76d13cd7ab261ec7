// SPDX-License-Identifier: GPL-2.0
/*
 * Receiver of net_rate, on the veth the front-end sends into: counts each
 * frame per CPU by what the front-end made of it (see enum nr_rx_kind) and
 * drops it. Addresses are set by net_rate before load.
 */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "bench/net_rate.h"

#define ETH_P_IP 0x0800
#define IPPROTO_UDP 17
#define VXLAN_HLEN 8

const volatile __be32 host4; /* outer destination of VXLAN */
const volatile __be32 vm4; /* the VM's overlay address */
const volatile __be32 pub4; /* the public address */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct nr_rx_count);
} rx_counts SEC(".maps");

/* IPv4 without options at off; NULL when the frame is too short or not one. */
static __always_inline struct iphdr *ip4_at(void *data, void *end, __u32 off)
{
	struct ethhdr *eth = data + off;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
		return NULL;
	return ip;
}

static __always_inline enum nr_rx_kind classify(void *data, void *end)
{
	struct iphdr *ip = ip4_at(data, end, 0);
	struct udphdr *udp;

	if (!ip || ip->protocol != IPPROTO_UDP)
		return NR_RX_OTHER;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end)
		return NR_RX_OTHER;
	if (ip->daddr == host4 && udp->dest == bpf_htons(NR_VXLAN_PORT)) {
		__u32 inner = sizeof(struct ethhdr) + sizeof(*ip) + sizeof(*udp) + VXLAN_HLEN;

		ip = ip4_at(data, end, inner);
		return ip && ip->daddr == vm4 ? NR_RX_VXLAN_VM : NR_RX_OTHER;
	}
	if (ip->daddr == vm4)
		return NR_RX_UDP_VM;
	if (ip->daddr == pub4)
		return NR_RX_UDP_PUB;
	return NR_RX_OTHER;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	enum nr_rx_kind k = classify(data, end);
	struct nr_rx_count *c;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&rx_counts, &zero);
	if (c && k < NR_RX_MAX)
		c->pkts[k]++;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
