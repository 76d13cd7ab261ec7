// SPDX-License-Identifier: GPL-2.0
/*
 * Malformed and truncated input: a valid packet from the scenario is built,
 * then cut or has one to three fields overwritten. Each case must be dropped
 * with the named DROP_* counter, and nothing may be forwarded.
 */
#include <string.h>

#include "selftests/bpf/fixture.h"
#include "selftests/bpf/scen.h"

enum op { NOP, TRUNC, SET8, SET16 };
struct edit {
	enum op op;
	unsigned int off;
	unsigned int val;
};
struct mcase {
	const char *name;
	enum dp_prog prog;
	void (*base)(struct pkt *p);
	struct edit e[3];
	int reason;
};

/* ---- bases (offsets noted for the edits) ---- */
/* eth 0, ip 14 (tot_len 16), tcp 34 (doff 46), payload 54, len 74 */
static void tcp4(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, DF, 64);
	pk_tcp(p, 40000, 80, TCP_ACK, 0);
	pk_payload(p, 20, 1);
}
/* udp 34 (len 38), len 62 */
static void udp4(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, 0, 64);
	pk_udp(p, 33333, 53);
	pk_payload(p, 20, 2);
}
static void icmp4(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, 0, 64);
	pk_icmp(p, 8, 0, 0x00010001);
}
static void q_reply(struct pkt *p)
{
	pk_ip4(p, PUB4, CLIENT4, DF, 64);
	pk_tcp(p, 80, 40000, TCP_ACK, 0);
}
/* icmp 34, quote 42 */
static void err4(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, "198.51.100.254", PUB4, 0, 64);
	pk_icmp(p, 3, 4, 1400);
	quote(p, q_reply, 28);
}
/* vlan 14, ip 18 */
static void vlan4(struct pkt *p)
{
	from_client(p);
	pk_vlan(p, 0x8100, 7);
	pk_ip4(p, CLIENT4, PUB4, DF, 64);
	pk_tcp(p, 40000, 80, TCP_ACK, 0);
}
/* ip6 14 (payload_len 18), tcp 54, len 94 */
static void tcp6(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, CLIENT6, PUB6, 64);
	pk_tcp(p, 40001, 443, TCP_ACK, 0);
	pk_payload(p, 20, 3);
}
static void udp6(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, CLIENT6, PUB6, 64);
	pk_udp(p, 40001, 443);
	pk_payload(p, 20, 4);
}
static void icmp6(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, CLIENT6, PUB6, 64);
	pk_icmp(p, 128, 0, 0x00010001);
}
static void ext5(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, CLIENT6, PUB6, 64);
	for (int i = 0; i < 5; i++)
		pk_ip6_ext(p, 60, 0, 0, false);
	pk_tcp(p, 40001, 443, TCP_ACK, 0);
}
static void hop_second(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, CLIENT6, PUB6, 64);
	pk_ip6_ext(p, 60, 0, 0, false);
	pk_ip6_ext(p, 0, 0, 0, false);
	pk_tcp(p, 40001, 443, TCP_ACK, 0);
}
/* routing header at 54 (segments left at 57) */
static void routing(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, CLIENT6, PUB6, 64);
	pk_ip6_ext(p, 43, 0, 0, false);
	pk_tcp(p, 40001, 443, TCP_ACK, 0);
}
/* dest options at 54 (length at 55) */
static void dstopt(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, CLIENT6, PUB6, 64);
	pk_ip6_ext(p, 60, 0, 0, false);
	pk_tcp(p, 40001, 443, TCP_ACK, 0);
}
/* outer ip 14 (tot 16), udp 34 (len 38), vxlan 42 (vni 46), inner eth 50
 * (type 62), inner ip 64, inner tcp 84 (doff 96), len 104 */
static void vx4(struct pkt *p)
{
	outer_in(p, HOSTB4, MAC_HOSTB, VNI, 0);
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, DF, 64);
	pk_tcp(p, 40000, 8080, TCP_ACK, 0);
}
/* VM side: ip 14, tcp 34 */
static void vm_tcp4(struct pkt *p)
{
	from_vm(p);
	pk_ip4(p, VM4, CLIENT4, DF, 64);
	pk_tcp(p, 8080, 40000, TCP_ACK, 0);
}
static void q_client(struct pkt *p)
{
	pk_ip4(p, CLIENT4, VM4, 0, 64);
	pk_udp(p, 33333, 5353);
}
static void vm_err4(struct pkt *p)
{
	from_vm(p);
	pk_ip4(p, VM4, CLIENT4, 0, 64);
	pk_icmp(p, 3, 3, 0);
	quote(p, q_client, 28);
}

#define U DP_UPLINK
#define V DP_VMSIDE
#define L2 HS_R_DROP_MALFORMED_L2
#define IP4 HS_R_DROP_MALFORMED_IP
#define IP6 HS_R_DROP_MALFORMED_IP6
#define L4 HS_R_DROP_MALFORMED_L4
#define VX HS_R_DROP_MALFORMED_VXLAN
static const struct mcase cases[] = {
	/* (frames shorter than 14 bytes: BPF_PROG_TEST_RUN refuses them, and
	 * XDP never sees them) */
	{"eth_header_only", U, tcp4, {{TRUNC, 0, 14}}, IP4},
	{"vlan_tag_truncated", U, vlan4, {{TRUNC, 0, 16}}, L2},
	{"vlan_tag_only", U, vlan4, {{TRUNC, 0, 18}}, IP4},
	{"ip4_header_truncated", U, tcp4, {{TRUNC, 0, 33}}, IP4},
	{"ip4_version_5", U, tcp4, {{SET8, 14, 0x55}}, IP4},
	{"ip4_version_6_under_ipv4_type", U, tcp4, {{SET8, 14, 0x65}}, IP4},
	{"ip4_ihl_0", U, tcp4, {{SET8, 14, 0x40}}, IP4},
	{"ip4_ihl_4", U, tcp4, {{SET8, 14, 0x44}}, IP4},
	{"ip4_ihl_eats_transport", U, tcp4, {{SET8, 14, 0x4f}}, L4},
	{"ip4_ihl_beyond_total_length", U, tcp4, {{SET8, 14, 0x4f}, {SET16, 16, 50}}, IP4},
	{"ip4_total_length_beyond_frame", U, tcp4, {{SET16, 16, 1000}}, IP4},
	{"ip4_total_length_below_header", U, tcp4, {{SET16, 16, 19}}, IP4},
	{"ip4_total_length_zero", U, tcp4, {{SET16, 16, 0}}, IP4},
	{"tcp_header_truncated", U, tcp4, {{TRUNC, 0, 44}, {SET16, 16, 30}}, L4},
	{"tcp_cut_ip_length_kept", U, tcp4, {{TRUNC, 0, 50}}, IP4},
	{"tcp_data_offset_4", U, tcp4, {{SET8, 46, 0x40}}, L4},
	{"tcp_data_offset_0", U, tcp4, {{SET8, 46, 0x00}}, L4},
	{"tcp_data_offset_beyond_segment", U, tcp4, {{SET8, 46, 0xf0}}, L4},
	{"udp_header_truncated", U, udp4, {{TRUNC, 0, 38}, {SET16, 16, 24}}, L4},
	{"udp_length_zero", U, udp4, {{SET16, 38, 0}}, L4},
	{"udp_length_7", U, udp4, {{SET16, 38, 7}}, L4},
	{"udp_length_longer_than_ip", U, udp4, {{SET16, 38, 29}}, L4},
	{"udp_length_shorter_than_ip", U, udp4, {{SET16, 38, 27}}, L4},
	{"icmp_truncated", U, icmp4, {{TRUNC, 0, 38}, {SET16, 16, 24}}, L4},
	{"icmp_error_quote_ip_truncated", U, err4, {{TRUNC, 0, 52}, {SET16, 16, 38}}, L4},
	{"icmp_error_quote_without_ports", U, err4, {{TRUNC, 0, 66}, {SET16, 16, 52}}, L4},
	{"icmp_error_quote_bad_version", U, err4, {{SET8, 42, 0x65}}, L4},
	{"icmp_error_quote_ihl_3", U, err4, {{SET8, 42, 0x43}}, L4},
	{"ip6_header_truncated", U, tcp6, {{TRUNC, 0, 44}}, IP6},
	{"ip6_version_4_under_ipv6_type", U, tcp6, {{SET8, 14, 0x45}}, IP6},
	{"ip6_payload_length_beyond_frame", U, tcp6, {{SET16, 18, 1000}}, IP6},
	{"ip6_extension_chain_too_long", U, ext5, {{NOP}}, IP6},
	{"ip6_hop_by_hop_not_first", U, hop_second, {{NOP}}, IP6},
	{"ip6_routing_segments_left", U, routing, {{SET8, 57, 1}}, IP6},
	{"ip6_extension_beyond_payload", U, dstopt, {{SET8, 55, 10}}, IP6},
	{"ip6_extension_truncated", U, dstopt, {{TRUNC, 0, 58}, {SET16, 18, 4}}, IP6},
	{"ip6_tcp_truncated", U, tcp6, {{TRUNC, 0, 64}, {SET16, 18, 10}}, L4},
	{"ip6_udp_length_zero", U, udp6, {{SET16, 58, 0}}, L4},
	{"ip6_icmp_truncated", U, icmp6, {{TRUNC, 0, 58}, {SET16, 18, 4}}, L4},
	{"vxlan_header_truncated", U, vx4, {{TRUNC, 0, 46}, {SET16, 16, 32}, {SET16, 38, 12}}, VX},
	{"vxlan_i_flag_clear", U, vx4, {{SET8, 42, 0}}, HS_R_DROP_BAD_VNI},
	{"vxlan_wrong_vni", U, vx4, {{SET8, 46, 1}}, HS_R_DROP_BAD_VNI},
	{"vxlan_from_unknown_peer", U, vx4, {{SET8, 29, 99}}, HS_R_DROP_UNKNOWN_PEER},
	{"vxlan_inner_ethernet_truncated",
	 U,
	 vx4,
	 {{TRUNC, 0, 60}, {SET16, 16, 46}, {SET16, 38, 26}},
	 VX},
	{"vxlan_inner_ip_truncated",
	 U,
	 vx4,
	 {{TRUNC, 0, 74}, {SET16, 16, 60}, {SET16, 38, 40}},
	 IP4},
	{"vxlan_inner_ihl_3", U, vx4, {{SET8, 64, 0x43}}, IP4},
	{"vxlan_inner_tcp_data_offset_3", U, vx4, {{SET8, 96, 0x30}}, L4},
	{"vxlan_inner_not_ip", U, vx4, {{SET16, 62, 0x88cc}}, HS_R_DROP_DECAP_NO_TARGET},
	{"vxlan_inner_longer_than_outer", U, vx4, {{SET16, 16, 80}, {SET16, 38, 60}}, VX},
	{"icmp_error_quote_beyond_ip_length", U, err4, {{SET8, 42, 0x4f}}, L4},
	{"vxlan_outer_udp_length_mismatch", U, vx4, {{SET16, 38, 20}}, L4},
	{"vmside_eth_header_only", V, vm_tcp4, {{TRUNC, 0, 14}}, IP4},
	{"vmside_vlan_tagged_frame_not_ip", V, vlan4, {{NOP}}, HS_R_PASS_NOT_IP},
	{"vmside_ip_truncated", V, vm_tcp4, {{TRUNC, 0, 30}}, IP4},
	{"vmside_tcp_data_offset_2", V, vm_tcp4, {{SET8, 46, 0x20}}, L4},
	{"vmside_icmp_error_quote_truncated", V, vm_err4, {{TRUNC, 0, 50}, {SET16, 16, 36}}, L4},
};

static void apply(struct pkt *p)
{
	const struct mcase *cur = fx_current->arg;

	for (int i = 0; i < 3; i++) {
		const struct edit *e = &cur->e[i];

		if (e->op == TRUNC)
			p->len = e->val;
		else if (e->op == SET8)
			p->d[e->off] = (uint8_t)e->val;
		else if (e->op == SET16) {
			p->d[e->off] = (uint8_t)(e->val >> 8);
			p->d[e->off + 1] = (uint8_t)e->val;
		}
	}
}

static void build(struct pkt *p)
{
	((const struct mcase *)fx_current->arg)->base(p);
}

int main(int argc, char **argv)
{
	enum { N = sizeof(cases) / sizeof(cases[0]) };
	static struct fx table[N];

	for (int i = 0; i < N; i++) {
		table[i] = (struct fx){.name = cases[i].name,
				       .prog = cases[i].prog,
				       .in = build,
				       .verdict = cases[i].reason == HS_R_PASS_NOT_IP ? XDP_PASS
										      : XDP_DROP,
				       .reason = cases[i].reason,
				       .side = {FX_NONE, FX_NONE},
				       .mutate = apply,
				       .arg = &cases[i]};
	}
	return fx_main("bpf/malformed", table, N, argc, argv);
}
