// SPDX-License-Identifier: GPL-2.0
/*
 * Uplink program, VXLAN from peers: decapsulation to a local VM with flow
 * learning (insert-only, never from forwarded packets or VM sources), SNAT
 * of replies at the front-end, the forwarding pointer, and what is refused.
 */
#include <string.h>

#include "selftests/bpf/fixture.h"
#include "selftests/bpf/scen.h"

static void inner_tcp4(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, DF, 64);
	pk_tcp(p, 40000, 8080, TCP_ACK, 0);
	pk_payload(p, PAYLOAD, 1);
}
static void decap4_in(struct pkt *p)
{
	outer_in(p, HOSTB4, MAC_HOSTB, VNI, 0);
	inner_tcp4(p);
}
static void decap6_in(struct pkt *p)
{
	outer_in(p, HOSTB6, MAC_HOSTB, VNI, 0);
	inner_tcp4(p);
}
static void decap_fwd_in(struct pkt *p)
{
	outer_in(p, HOSTB4, MAC_HOSTB, VNI, HS_VXLAN_RSVD_FWD);
	inner_tcp4(p);
}
static bool learned_b4(struct dp *d)
{
	return fx_flow_is(d, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP, HOSTB4);
}
static bool learned_b6(struct dp *d)
{
	return fx_flow_is(d, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP, HOSTB6);
}
static bool not_learned(struct dp *d)
{
	return fx_flow_is(d, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP, NULL);
}
static int flow_via_c(struct dp *d)
{
	return dp_flow_put(d, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP, HOSTC4);
}
static bool still_via_c(struct dp *d)
{
	return fx_flow_is(d, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP, HOSTC4);
}

/* east-west: the source is a VM */
static int vm2_remote(struct dp *d)
{
	return dp_vm_remote_mac(d, VM2_4, HS_VM_REMOTE, HOSTB4, US4, MAC_VM2);
}
static void ew_in(struct pkt *p)
{
	outer_in(p, HOSTB4, MAC_HOSTB, VNI, 0);
	pk_eth(p, MAC_VM, MAC_VM2);
	pk_ip4(p, VM2_4, VM4, DF, 64);
	pk_tcp(p, 5000, 6000, TCP_ACK, 0);
}
static void ew_local(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, VM2_4, VM4, DF, 64);
	pk_tcp(p, 5000, 6000, TCP_ACK, 0);
}
static bool ew_not_learned(struct dp *d)
{
	return fx_flow_is(d, VM2_4, 5000, VM4, 6000, IPPROTO_TCP, NULL);
}

/* refused */
static void stranger_in(struct pkt *p)
{
	outer_in(p, STRANGER4, MAC_HOSTB, VNI, 0);
	inner_tcp4(p);
}
static void vni43_in(struct pkt *p)
{
	outer_in(p, HOSTB4, MAC_HOSTB, VNI + 1, 0);
	inner_tcp4(p);
}
static void ibit_clear(struct pkt *p)
{
	p->d[14 + 20 + 8] = 0;
}
static void no_target_in(struct pkt *p)
{
	outer_in(p, HOSTB4, MAC_HOSTB, VNI, 0);
	pk_eth(p, MAC_VM, MAC_GW);
	pk_ip4(p, CLIENT4, "10.77.0.200", DF, 64);
	pk_tcp(p, 40000, 8080, TCP_ACK, 0);
}
static void inner_arp_in(struct pkt *p)
{
	static const uint8_t arp[28] = {0, 1, 8, 0, 6, 4, 0, 1};

	outer_in(p, HOSTB4, MAC_HOSTB, VNI, 0);
	pk_eth(p, "ff:ff:ff:ff:ff:ff", MAC_VM);
	pk_bytes(p, arp, sizeof(arp));
}
static void inner_arp_type(struct pkt *p)
{
	p->d[14 + 20 + 8 + 8 + 12] = 0x08;
	p->d[14 + 20 + 8 + 8 + 13] = 0x06;
}

/* ---- front-end: replies from the VM's host get SNATed ---- */
static void reply4_inner_vm(struct pkt *p)
{
	from_vm(p);
	pk_ip4(p, VM4, CLIENT4, DF, 64);
	pk_tcp(p, 8080, 40000, TCP_ACK, 0);
	pk_payload(p, PAYLOAD, 2);
}
static void reply4_in(struct pkt *p)
{
	outer_in(p, HOSTB4, MAC_HOSTB, VNI, 0);
	reply4_inner_vm(p);
}
static void reply4_out(struct pkt *p)
{
	to_client(p);
	pk_ip4(p, PUB4, CLIENT4, DF, 64);
	pk_tcp(p, 80, 40000, TCP_ACK, 0);
	pk_payload(p, PAYLOAD, 2);
}
/*
 * ---- the reply cache (rp_cache, XDP only: bpf/rpcache.h) ----
 * Each prep sends reply4_in once (which fills the slot), then changes
 * something; fx_run() also re-runs every uplink fixture with a warm cache.
 */
#define MAC_MARK "02:00:00:00:0a:0b"
static int reply_first(struct dp *d)
{
	return dp_send(d, DP_UPLINK, reply4_in, NULL);
}
/* Sends build once (which fills the slot of HOSTB4 / src:sport -> dst:dport,
 * TCP, of kind), then puts MAC_MARK in the slot's Ethernet destination:
 * the next frame must show it, so it was sent from the slot. */
static int rp_mark(struct dp *d, void (*build)(struct pkt *), const char *src, const char *dst,
		   uint16_t sport, uint16_t dport, uint8_t kind)
{
	struct hs_rp_slot s;

	if (dp_send(d, DP_UPLINK, build, NULL) ||
	    dp_rp_slot_io(d, HOSTB4, src, dst, sport, dport, IPPROTO_TCP, &s, false))
		return -1;
	if (s.kind != kind) {
		printf("    the slot of HOSTB4 / %s:%u -> %s:%u has kind %u, not %u\n", src, sport,
		       dst, dport, s.kind, kind);
		return -1;
	}
	dp_mac(MAC_MARK, s.dmac);
	return dp_rp_slot_io(d, HOSTB4, src, dst, sport, dport, IPPROTO_TCP, &s, true);
}
static int reply_mark_slot(struct dp *d)
{
	return rp_mark(d, reply4_in, VM4, CLIENT4, 8080, 40000, HS_RP_SNAT);
}
static void reply4_out_marked(struct pkt *p)
{
	pk_eth(p, MAC_MARK, MAC_UPLINK);
	pk_ip4(p, PUB4, CLIENT4, DF, 64);
	pk_tcp(p, 80, 40000, TCP_ACK, 0);
	pk_payload(p, PAYLOAD, 2);
}
static int reply_then_peer_gone(struct dp *d)
{
	return reply_first(d) || dp_peer_del(d, HOSTB4);
}
/* The same write, its generation bump undone: the stale slot answers. */
static int reply_then_peer_gone_unbumped(struct dp *d)
{
	uint64_t gen;

	return reply_first(d) || dp_gen_get(d, &gen) || dp_peer_del(d, HOSTB4) ||
	       dp_gen_set(d, gen);
}
static int reply_then_repointed(struct dp *d)
{
	return reply_first(d) || dp_binding(d, PUBP4, 80, IPPROTO_TCP, VM4, 8080);
}
static void reply4_out_repointed(struct pkt *p)
{
	to_client(p);
	pk_ip4(p, PUBP4, CLIENT4, DF, 64);
	pk_tcp(p, 80, 40000, TCP_ACK, 0);
	pk_payload(p, PAYLOAD, 2);
}
static void echo_reply4_in(struct pkt *p)
{
	outer_in(p, HOSTB4, MAC_HOSTB, VNI, 0);
	from_vm(p);
	pk_ip4(p, VM4, CLIENT4, 0, 64);
	pk_icmp(p, 0, 0, 0x12340001);
	pk_payload(p, 56, 3);
}
static void echo_reply4_out(struct pkt *p)
{
	to_client(p);
	pk_ip4(p, PUB4, CLIENT4, 0, 64);
	pk_icmp(p, 0, 0, 0x12340001);
	pk_payload(p, 56, 3);
}
static void reply6_in(struct pkt *p)
{
	outer_in(p, HOSTB6, MAC_HOSTB, VNI, 0);
	from_vm(p);
	pk_ip6(p, VM6, CLIENT6, 64);
	pk_udp(p, 443, 40001);
	pk_payload(p, 80, 4);
}
static void reply6_out(struct pkt *p)
{
	to_client(p);
	pk_ip6(p, PUB6, CLIENT6, 64);
	pk_udp(p, 443, 40001);
	pk_payload(p, 80, 4);
}
static void q_udp_client_vm(struct pkt *p)
{
	pk_ip4(p, CLIENT4, VM4, 0, 64);
	pk_udp(p, 33333, 5353);
	pk_payload(p, 30, 5);
}
static void q_udp_client_pub(struct pkt *p)
{
	pk_ip4(p, CLIENT4, PUB4, 0, 64);
	pk_udp(p, 33333, 53);
	pk_payload(p, 30, 5);
}
static void unreach_in(struct pkt *p)
{
	outer_in(p, HOSTB4, MAC_HOSTB, VNI, 0);
	from_vm(p);
	pk_ip4(p, VM4, CLIENT4, 0, 64);
	pk_icmp(p, 3, 3, 0);
	quote(p, q_udp_client_vm, 58);
}
static void unreach_out(struct pkt *p)
{
	to_client(p);
	pk_ip4(p, PUB4, CLIENT4, 0, 64);
	pk_icmp(p, 3, 3, 0);
	quote(p, q_udp_client_pub, 58);
}

/* ---- forwarding pointer ---- */
static int vm4_fwd_c(struct dp *d)
{
	return dp_vm_remote(d, VM4, HS_VM_FORWARD, HOSTC4, US4);
}
static int vm4_remote_c(struct dp *d)
{
	return dp_vm_remote(d, VM4, HS_VM_REMOTE, HOSTC4, US4);
}
static void forwarded_out(struct pkt *p)
{
	outer(p, HOSTC4, MAC_HOSTC, vx_sport(CLIENT4, VM4, 40000, 8080, 6), HS_VXLAN_RSVD_FWD);
	inner_tcp4(p);
}

/*
 * ---- rp_cache's other kind: VXLAN for a VM running here ----
 * Each prep sends decap4_in once (which fills the slot and learns the
 * flow), then changes something.
 */
static int decap_first(struct dp *d)
{
	return dp_send(d, DP_UPLINK, decap4_in, NULL);
}
static int local_mark_slot(struct dp *d)
{
	return rp_mark(d, decap4_in, CLIENT4, VM4, 40000, 8080, HS_RP_LOCAL);
}
static void inner_tcp4_marked(struct pkt *p)
{
	pk_eth(p, MAC_MARK, MAC_GW);
	pk_ip4(p, CLIENT4, VM4, DF, 64);
	pk_tcp(p, 40000, 8080, TCP_ACK, 0);
	pk_payload(p, PAYLOAD, 1);
}
/* the flow forgotten (as the LRU map forgets): the next packet learns it */
static int decap_then_forgotten(struct dp *d)
{
	return decap_first(d) || dp_flow_del(d, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP);
}
static int decap_then_vm_forwarded(struct dp *d)
{
	return decap_first(d) || vm4_fwd_c(d);
}
#define N FX_NONE
#define LEARN HS_R_FLOW_LEARNED
static const struct fx table[] = {
	{"decap_local_learns_front_end_v4",
	 DP_UPLINK,
	 false,
	 NULL,
	 decap4_in,
	 inner_tcp4,
	 XDP_REDIRECT,
	 HS_R_TX_DECAP_LOCAL,
	 {LEARN, N},
	 0,
	 learned_b4},
	{"decap_local_learns_front_end_v6_underlay",
	 DP_UPLINK,
	 false,
	 NULL,
	 decap6_in,
	 inner_tcp4,
	 XDP_REDIRECT,
	 HS_R_TX_DECAP_LOCAL,
	 {LEARN, N},
	 0,
	 learned_b6},
	{"vxlan_cache_local_frame_from_slot",
	 DP_UPLINK,
	 false,
	 local_mark_slot,
	 decap4_in,
	 inner_tcp4_marked,
	 XDP_REDIRECT,
	 HS_R_TX_DECAP_LOCAL,
	 {N, N},
	 .tc_skip = "the VXLAN cache is the XDP program's only"},
	{"vxlan_cache_local_flow_forgotten_learned_again",
	 DP_UPLINK,
	 false,
	 decap_then_forgotten,
	 decap4_in,
	 inner_tcp4,
	 XDP_REDIRECT,
	 HS_R_TX_DECAP_LOCAL,
	 {LEARN, N},
	 0,
	 learned_b4},
	{"vxlan_cache_local_forwarded_packet_not_learned",
	 DP_UPLINK,
	 false,
	 decap_then_forgotten,
	 decap_fwd_in,
	 inner_tcp4,
	 XDP_REDIRECT,
	 HS_R_TX_DECAP_LOCAL,
	 {N, N},
	 0,
	 not_learned},
	{"vxlan_cache_local_vm_left_next_packet_forwarded",
	 DP_UPLINK,
	 false,
	 decap_then_vm_forwarded,
	 decap4_in,
	 forwarded_out,
	 XDP_TX,
	 HS_R_TX_FORWARD,
	 {N, N}},
	{"decap_forwarded_packet_not_learned",
	 DP_UPLINK,
	 false,
	 NULL,
	 decap_fwd_in,
	 inner_tcp4,
	 XDP_REDIRECT,
	 HS_R_TX_DECAP_LOCAL,
	 {N, N},
	 0,
	 not_learned},
	{"decap_existing_flow_entry_kept",
	 DP_UPLINK,
	 false,
	 flow_via_c,
	 decap4_in,
	 inner_tcp4,
	 XDP_REDIRECT,
	 HS_R_TX_DECAP_LOCAL,
	 {N, N},
	 0,
	 still_via_c},
	{"decap_east_west_not_learned",
	 DP_UPLINK,
	 false,
	 vm2_remote,
	 ew_in,
	 ew_local,
	 XDP_REDIRECT,
	 HS_R_TX_DECAP_LOCAL,
	 {N, N},
	 0,
	 ew_not_learned},
	{"decap_unknown_peer_dropped",
	 DP_UPLINK,
	 false,
	 NULL,
	 stranger_in,
	 NULL,
	 XDP_DROP,
	 HS_R_DROP_UNKNOWN_PEER,
	 {N, N},
	 0,
	 not_learned},
	{"decap_wrong_vni_dropped",
	 DP_UPLINK,
	 false,
	 NULL,
	 vni43_in,
	 NULL,
	 XDP_DROP,
	 HS_R_DROP_BAD_VNI,
	 {N, N}},
	{"decap_i_flag_clear_dropped",
	 DP_UPLINK,
	 false,
	 NULL,
	 decap4_in,
	 NULL,
	 XDP_DROP,
	 HS_R_DROP_BAD_VNI,
	 {N, N},
	 0,
	 NULL,
	 ibit_clear},
	{"decap_no_target_dropped",
	 DP_UPLINK,
	 false,
	 NULL,
	 no_target_in,
	 NULL,
	 XDP_DROP,
	 HS_R_DROP_DECAP_NO_TARGET,
	 {N, N}},
	{"decap_inner_arp_dropped",
	 DP_UPLINK,
	 false,
	 NULL,
	 inner_arp_in,
	 NULL,
	 XDP_DROP,
	 HS_R_DROP_DECAP_NO_TARGET,
	 {N, N},
	 0,
	 NULL,
	 inner_arp_type},
	{"front_end_snat_tcp4_reply",
	 DP_UPLINK,
	 true,
	 NULL,
	 reply4_in,
	 reply4_out,
	 XDP_TX,
	 HS_R_TX_DECAP_SNAT,
	 {N, N}},
	{"reply_cache_frame_from_slot",
	 DP_UPLINK,
	 true,
	 reply_mark_slot,
	 reply4_in,
	 reply4_out_marked,
	 XDP_TX,
	 HS_R_TX_DECAP_SNAT,
	 {N, N},
	 .tc_skip = "the reply cache is the XDP program's only"},
	{"reply_cache_peer_deleted_next_reply_dropped",
	 DP_UPLINK,
	 true,
	 reply_then_peer_gone,
	 reply4_in,
	 NULL,
	 XDP_DROP,
	 HS_R_DROP_UNKNOWN_PEER,
	 {N, N}},
	{"reply_cache_generation_is_what_invalidates",
	 DP_UPLINK,
	 true,
	 reply_then_peer_gone_unbumped,
	 reply4_in,
	 reply4_out,
	 XDP_TX,
	 HS_R_TX_DECAP_SNAT,
	 {N, N},
	 .tc_skip = "the reply cache is the XDP program's only"},
	{"reply_cache_rbinding_repointed_next_reply_follows",
	 DP_UPLINK,
	 true,
	 reply_then_repointed,
	 reply4_in,
	 reply4_out_repointed,
	 XDP_TX,
	 HS_R_TX_DECAP_SNAT,
	 {N, N}},
	{"front_end_snat_echo_reply4",
	 DP_UPLINK,
	 true,
	 NULL,
	 echo_reply4_in,
	 echo_reply4_out,
	 XDP_TX,
	 HS_R_TX_DECAP_SNAT,
	 {N, N}},
	{"front_end_snat_udp6_reply_over_ipv6",
	 DP_UPLINK,
	 true,
	 NULL,
	 reply6_in,
	 reply6_out,
	 XDP_TX,
	 HS_R_TX_DECAP_SNAT,
	 {N, N}},
	{"front_end_snat_icmp_error_from_vm",
	 DP_UPLINK,
	 true,
	 NULL,
	 unreach_in,
	 unreach_out,
	 XDP_TX,
	 HS_R_TX_DECAP_SNAT,
	 {N, N}},
	{"forwarding_pointer_reencapsulates_flagged",
	 DP_UPLINK,
	 true,
	 vm4_fwd_c,
	 decap4_in,
	 forwarded_out,
	 XDP_TX,
	 HS_R_TX_FORWARD,
	 {N, N},
	 0,
	 not_learned},
	{"stale_remote_entry_forwards_flagged",
	 DP_UPLINK,
	 true,
	 vm4_remote_c,
	 decap4_in,
	 forwarded_out,
	 XDP_TX,
	 HS_R_TX_FORWARD,
	 {N, N}},
	{"forwarded_twice_dropped",
	 DP_UPLINK,
	 true,
	 vm4_fwd_c,
	 decap_fwd_in,
	 NULL,
	 XDP_DROP,
	 HS_R_DROP_FWD_LOOP,
	 {N, N}},
};

FX_TABLE_MAIN("bpf/decap", table)
