// SPDX-License-Identifier: GPL-2.0
/*
 * MTU handling: TCP MSS clamping on SYN and SYN-ACK, and ICMP
 * "fragmentation needed" / ICMPv6 "packet too big" for packets that would
 * not fit the underlay once encapsulated.
 */
#include <string.h>

#include "selftests/bpf/fixture.h"
#include "selftests/bpf/scen.h"

#define MSS4 (MTU - 70 - 20 - 20)
#define MSS6 (MTU - 70 - 40 - 20)

static void syn4_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, DF, 64);
	pk_tcp(p, 40000, 80, TCP_SYN, 1460);
}
static void syn4_local(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, DF, 64);
	pk_tcp(p, 40000, 8080, TCP_SYN, MSS4);
}
static void syn4_small_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, DF, 64);
	pk_tcp(p, 40000, 80, TCP_SYN, 1200);
}
static void syn4_small_local(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, DF, 64);
	pk_tcp(p, 40000, 8080, TCP_SYN, 1200);
}
/* MSS after a NOP: its value starts at an odd offset of the TCP header */
static const uint8_t odd_opts[8] = {1, 2, 4, 0x05, 0xb4, 1, 1, 1};
static const uint8_t odd_opts_clamped[8] = {1, 2, 4, MSS4 >> 8, MSS4 & 0xff, 1, 1, 1};
static void syn4_odd_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, DF, 64);
	pk_tcp_opts(p, 40000, 80, TCP_SYN, odd_opts, sizeof(odd_opts));
}
static void syn4_odd_local(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, DF, 64);
	pk_tcp_opts(p, 40000, 8080, TCP_SYN, odd_opts_clamped, sizeof(odd_opts_clamped));
}
/* a full option list as Linux sends it, MSS not first */
static const uint8_t linux_opts[20] = {4, 2, 8, 10, 0, 0, 0, 1, 0,    0,
				       0, 0, 1, 3,  3, 7, 2, 4, 0x23, 0x28};
static const uint8_t linux_opts_clamped[20] = {4, 2, 8, 10, 0, 0, 0, 1, 0,	   0,
					       0, 0, 1, 3,  3, 7, 2, 4, MSS4 >> 8, MSS4 & 0xff};
static void syn4_late_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, DF, 64);
	pk_tcp_opts(p, 40000, 80, TCP_SYN, linux_opts, sizeof(linux_opts));
}
static void syn4_late_local(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, DF, 64);
	pk_tcp_opts(p, 40000, 8080, TCP_SYN, linux_opts_clamped, sizeof(linux_opts_clamped));
}
static void syn6_in(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, CLIENT6, PUB6, 64);
	pk_tcp(p, 40001, 443, TCP_SYN, 1440);
}
static void syn6_local(struct pkt *p)
{
	to_vm(p);
	pk_ip6(p, CLIENT6, VM6, 64);
	pk_tcp(p, 40001, 443, TCP_SYN, MSS6);
}
static void synack_in(struct pkt *p)
{
	from_vm(p);
	pk_ip4(p, VM4, CLIENT4, DF, 64);
	pk_tcp(p, 8080, 40000, TCP_SYN | TCP_ACK, 1460);
}
static void synack_out(struct pkt *p)
{
	to_client(p);
	pk_ip4(p, PUB4, CLIENT4, DF, 64);
	pk_tcp(p, 80, 40000, TCP_SYN | TCP_ACK, MSS4);
}

/* too big: 1451 bytes of IP + 50 of VXLAN over IPv4 = 1501 > 1500 */
#define BIG4 (1451 - 20 - 20)
static void big4_pub(struct pkt *p)
{
	pk_ip4(p, CLIENT4, PUB4, DF, 64);
	pk_tcp(p, 40000, 80, TCP_ACK, 0);
	pk_payload(p, BIG4, 1);
}
static void big4_in(struct pkt *p)
{
	from_client(p);
	big4_pub(p);
}
static void big4_fits_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, DF, 64);
	pk_tcp(p, 40000, 80, TCP_ACK, 0);
	pk_payload(p, BIG4 - 1, 1);
}
static void big4_fits_out(struct pkt *p)
{
	outer(p, HOSTB4, MAC_HOSTB, vx_sport(CLIENT4, VM4, 40000, 8080, 6), 0);
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, DF, 64);
	pk_tcp(p, 40000, 8080, TCP_ACK, 0);
	pk_payload(p, BIG4 - 1, 1);
}
static void frag_needed_out(struct pkt *p)
{
	to_client(p);
	pk_ip4(p, PUB4, CLIENT4, 0, 64);
	pk_icmp(p, 3, 4, MTU - 50);
	quote(p, big4_pub, 28);
}
static void big4_nodf_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, 0, 64);
	pk_tcp(p, 40000, 80, TCP_ACK, 0);
	pk_payload(p, BIG4, 1);
}
static void big4_vlan_in(struct pkt *p)
{
	from_client(p);
	pk_vlan(p, 0x8100, 100);
	big4_pub(p);
}
static void frag_needed_vlan_out(struct pkt *p)
{
	to_client(p);
	pk_vlan(p, 0x8100, 100);
	pk_ip4(p, PUB4, CLIENT4, 0, 64);
	pk_icmp(p, 3, 4, MTU - 50);
	quote(p, big4_pub, 28);
}
static void big6_pub(struct pkt *p)
{
	pk_ip6(p, CLIENT6, PUB6, 64);
	pk_udp(p, 40001, 443);
	pk_payload(p, 1451 - 48, 2);
}
static void big6_in(struct pkt *p)
{
	from_client(p);
	big6_pub(p);
}
static void ptb_out(struct pkt *p)
{
	to_client(p);
	pk_ip6(p, PUB6, CLIENT6, 64);
	pk_icmp(p, 2, 0, MTU - 50);
	quote(p, big6_pub, 48);
}
/* the VM's reply would not fit toward its front-end: the VM hears it */
static int flow_b4(struct dp *d)
{
	return dp_flow_put(d, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP, HOSTB4);
}
static void big_reply(struct pkt *p)
{
	pk_ip4(p, VM4, CLIENT4, DF, 64);
	pk_tcp(p, 8080, 40000, TCP_ACK, 0);
	pk_payload(p, BIG4, 3);
}
static void big_reply_in(struct pkt *p)
{
	from_vm(p);
	big_reply(p);
}
static void big_reply_ptb(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, 0, 64);
	pk_icmp(p, 3, 4, MTU - 50);
	quote(p, big_reply, 28);
}

#define N FX_NONE
#define LEARN HS_R_FLOW_LEARNED
#define MSS HS_R_MSS_CLAMPED
static const struct fx table[] = {
	{"mss_clamped_on_syn",
	 DP_UPLINK,
	 false,
	 NULL,
	 syn4_in,
	 syn4_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, MSS}},
	{"mss_below_limit_untouched",
	 DP_UPLINK,
	 false,
	 NULL,
	 syn4_small_in,
	 syn4_small_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, N}},
	{"mss_at_odd_offset_clamped",
	 DP_UPLINK,
	 false,
	 NULL,
	 syn4_odd_in,
	 syn4_odd_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, MSS}},
	{"mss_after_other_options_clamped",
	 DP_UPLINK,
	 false,
	 NULL,
	 syn4_late_in,
	 syn4_late_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, MSS}},
	{"mss_clamped_on_syn6",
	 DP_UPLINK,
	 false,
	 NULL,
	 syn6_in,
	 syn6_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, MSS}},
	{"mss_clamped_on_synack_reply",
	 DP_VMSIDE,
	 false,
	 NULL,
	 synack_in,
	 synack_out,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_SNAT,
	 {MSS, N}},
	{"largest_fitting_packet_encapsulated",
	 DP_UPLINK,
	 true,
	 NULL,
	 big4_fits_in,
	 big4_fits_out,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N}},
	{"too_big_df_gets_frag_needed",
	 DP_UPLINK,
	 true,
	 NULL,
	 big4_in,
	 frag_needed_out,
	 XDP_TX,
	 HS_R_TX_ICMP_TOOBIG,
	 {N, N}},
	{"too_big_without_df_dropped",
	 DP_UPLINK,
	 true,
	 NULL,
	 big4_nodf_in,
	 NULL,
	 XDP_DROP,
	 HS_R_DROP_TOO_BIG,
	 {N, N}},
	{"too_big_vlan_tag_kept_in_error",
	 DP_UPLINK,
	 true,
	 NULL,
	 big4_vlan_in,
	 frag_needed_vlan_out,
	 XDP_TX,
	 HS_R_TX_ICMP_TOOBIG,
	 {N, N},
	 .tc_skip = "its tag is in the frame, where TC sees it only from a test run "
		    "(the stack puts the outer tag in skb->vlan_tci, which a test run cannot "
		    "set), and bpf_skb_adjust_room() takes no tagged skb"},
	{"too_big_ipv6_gets_packet_too_big",
	 DP_UPLINK,
	 true,
	 NULL,
	 big6_in,
	 ptb_out,
	 XDP_TX,
	 HS_R_TX_ICMP_TOOBIG,
	 {N, N}},
	{"too_big_reply_tells_the_vm",
	 DP_VMSIDE,
	 false,
	 flow_b4,
	 big_reply_in,
	 big_reply_ptb,
	 XDP_TX,
	 HS_R_TX_ICMP_TOOBIG,
	 {N, N}},
};

FX_TABLE_MAIN("bpf/mtu", table)
