// SPDX-License-Identifier: GPL-2.0
/*
 * VM-side program: replies SNATed here or encapsulated to the flow's
 * front-end (or the VM's primary one), VM-to-VM traffic, anti-spoofing, and
 * the host's own business (ND, DHCP, ARP) passed. Every fixture runs on the
 * XDP hook and again on the TC hook (fixture.c); the tc_gso_* ones are for
 * the TC hook alone: GSO skbs (a test run sets gso_size, not gso_type, so
 * the paths that resize a GSO skb are covered by
 * selftests/net/test_vmside_tc.sh instead).
 */
#include <string.h>

#include "selftests/bpf/fixture.h"
#include "selftests/bpf/scen.h"

static void reply4_vm(struct pkt *p)
{
	pk_ip4(p, VM4, CLIENT4, DF, 64);
	pk_tcp(p, 8080, 40000, TCP_ACK, 0);
	pk_payload(p, PAYLOAD, 2);
}
static void reply4_in(struct pkt *p)
{
	from_vm(p);
	reply4_vm(p);
}
static void reply4_snat(struct pkt *p)
{
	to_client(p);
	pk_ip4(p, PUB4, CLIENT4, DF, 64);
	pk_tcp(p, 80, 40000, TCP_ACK, 0);
	pk_payload(p, PAYLOAD, 2);
}
static int flow_us(struct dp *d)
{
	return dp_flow_put(d, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP, US4);
}
static int flow_b4(struct dp *d)
{
	return dp_flow_put(d, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP, HOSTB4);
}
static int flow_b6(struct dp *d)
{
	return dp_flow_put(d, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP, HOSTB6);
}
static void reply4_encap_b4(struct pkt *p)
{
	outer(p, HOSTB4, MAC_HOSTB, vx_sport(VM4, CLIENT4, 8080, 40000, 6), 0);
	reply4_in(p);
}
static void reply4_encap_b6(struct pkt *p)
{
	outer(p, HOSTB6, MAC_HOSTB, vx_sport(VM4, CLIENT4, 8080, 40000, 6), 0);
	reply4_in(p);
}
static int primary_c(struct dp *d)
{
	return dp_vm_local(d, VM4, d->if_vm, MAC_VM, MAC_GW, HOSTC4);
}
static void reply4_encap_c(struct pkt *p)
{
	outer(p, HOSTC4, MAC_HOSTC, vx_sport(VM4, CLIENT4, 8080, 40000, 6), 0);
	reply4_in(p);
}
static int no_primary(struct dp *d)
{
	return dp_vm_local(d, VM4, d->if_vm, MAC_VM, MAC_GW, NULL);
}
/*
 * ---- the VM-side reply cache (vr_cache, XDP only: bpf/vrcache.h) ----
 * Each prep sends reply4_in once (which fills the slot), then changes
 * something. Flow entries are written as the data plane learns them, with
 * no generation bump: the cache must see them anyway.
 */
static int reply_first(struct dp *d)
{
	return dp_send(d, DP_VMSIDE, reply4_in, NULL);
}
/* A reserved VXLAN bit, at its place in an encapsulating template */
#define VX_RSVD1_OFF (14 + 20 + 8 + 1)
static const uint8_t vx_mark[1] = {0x80};

/*
 * After setup, sends build once (which fills the slot of VM4:sport ->
 * dst:dport, of kind), then writes n bytes at off of the slot's template:
 * the next frame must show them, so it was sent from the slot.
 */
static int vr_mark(struct dp *d, int (*setup)(struct dp *), void (*build)(struct pkt *),
		   const char *dst, uint16_t sport, uint16_t dport, uint8_t proto, uint8_t kind,
		   size_t off, const uint8_t *bytes, size_t n)
{
	struct hs_vr_slot s;

	if (setup(d) || dp_send(d, DP_VMSIDE, build, NULL) ||
	    dp_vr_slot_io(d, VM4, dst, sport, dport, proto, &s, false))
		return -1;
	if (s.kind != kind) {
		printf("    the slot of VM4:%u -> %s:%u has kind %u, not %u\n", sport, dst, dport,
		       s.kind, kind);
		return -1;
	}
	memcpy((uint8_t *)s.tmpl + off, bytes, n);
	return dp_vr_slot_io(d, VM4, dst, sport, dport, proto, &s, true);
}
static int vr_mark_slot(struct dp *d)
{
	return vr_mark(d, primary_c, reply4_in, CLIENT4, 8080, 40000, IPPROTO_TCP,
		       HS_VR_REPLY_ENCAP, VX_RSVD1_OFF, vx_mark, 1);
}
static void reply4_encap_c_marked(struct pkt *p)
{
	outer(p, HOSTC4, MAC_HOSTC, vx_sport(VM4, CLIENT4, 8080, 40000, 6), 0x80);
	reply4_in(p);
}
static int vr_then_flow_learned(struct dp *d)
{
	return primary_c(d) || reply_first(d) || flow_b4(d);
}
static int vr_then_flow_moved(struct dp *d)
{
	return flow_b4(d) || primary_c(d) || reply_first(d) ||
	       dp_flow_put(d, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP, HOSTC4);
}
static int vr_then_flow_gone(struct dp *d)
{
	return flow_b4(d) || primary_c(d) || reply_first(d) ||
	       dp_flow_del(d, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP);
}
static int primary_b(struct dp *d)
{
	return dp_vm_local(d, VM4, d->if_vm, MAC_VM, MAC_GW, HOSTB4);
}
static int vr_then_primary_b(struct dp *d)
{
	return primary_c(d) || reply_first(d) || primary_b(d);
}
/* The same write, its generation bump undone: the stale slot answers. */
static int vr_then_primary_b_unbumped(struct dp *d)
{
	uint64_t gen;

	return primary_c(d) || reply_first(d) || dp_gen_get(d, &gen) || primary_b(d) ||
	       dp_gen_set(d, gen);
}
/* The SNAT-here kind: its Ethernet header comes from the slot. */
#define MAC_MARK "02:00:00:00:0a:0b"
static int vr_mark_snat_slot(struct dp *d)
{
	uint8_t mac[6];

	dp_mac(MAC_MARK, mac);
	return vr_mark(d, flow_us, reply4_in, CLIENT4, 8080, 40000, IPPROTO_TCP, HS_VR_REPLY_SNAT,
		       0, mac, sizeof(mac));
}
static void reply4_snat_marked(struct pkt *p)
{
	pk_eth(p, MAC_MARK, MAC_UPLINK);
	pk_ip4(p, PUB4, CLIENT4, DF, 64);
	pk_tcp(p, 80, 40000, TCP_ACK, 0);
	pk_payload(p, PAYLOAD, 2);
}
static int vr_snat_then_flow_moved(struct dp *d)
{
	return flow_us(d) || reply_first(d) || flow_b4(d);
}
static int vr_snat_then_repointed(struct dp *d)
{
	return flow_us(d) || reply_first(d) || dp_binding(d, PUBP4, 80, IPPROTO_TCP, VM4, 8080);
}
static void reply4_snat_repointed(struct pkt *p)
{
	to_client(p);
	pk_ip4(p, PUBP4, CLIENT4, DF, 64);
	pk_tcp(p, 80, 40000, TCP_ACK, 0);
	pk_payload(p, PAYLOAD, 2);
}
static void echo_reply_in(struct pkt *p)
{
	from_vm(p);
	pk_ip4(p, VM4, CLIENT4, 0, 64);
	pk_icmp(p, 0, 0, 0x12340001);
	pk_payload(p, 56, 3);
}
static void echo_reply_out(struct pkt *p)
{
	to_client(p);
	pk_ip4(p, PUB4, CLIENT4, 0, 64);
	pk_icmp(p, 0, 0, 0x12340001);
	pk_payload(p, 56, 3);
}
static void reply6_in(struct pkt *p)
{
	from_vm(p);
	pk_ip6(p, VM6, CLIENT6, 64);
	pk_tcp(p, 443, 40001, TCP_ACK, 0);
	pk_payload(p, 50, 4);
}
static void reply6_out(struct pkt *p)
{
	to_client(p);
	pk_ip6(p, PUB6, CLIENT6, 64);
	pk_tcp(p, 443, 40001, TCP_ACK, 0);
	pk_payload(p, 50, 4);
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

/* east-west */
static int vm2_local(struct dp *d)
{
	return dp_vm_local(d, VM2_4, d->if_vm2, MAC_VM2, MAC_GW2, US4);
}
static int vm2_remote(struct dp *d)
{
	return dp_vm_remote_mac(d, VM2_4, HS_VM_REMOTE, HOSTB4, US4, MAC_VM2);
}
static void ew_in(struct pkt *p)
{
	from_vm(p);
	pk_ip4(p, VM4, VM2_4, DF, 64);
	pk_udp(p, 7000, 7001);
	pk_payload(p, 64, 6);
}
static void ew_local(struct pkt *p)
{
	pk_eth(p, MAC_VM2, MAC_GW2);
	pk_ip4(p, VM4, VM2_4, DF, 64);
	pk_udp(p, 7000, 7001);
	pk_payload(p, 64, 6);
}
static void ew_remote(struct pkt *p)
{
	outer(p, HOSTB4, MAC_HOSTB, vx_sport(VM4, VM2_4, 7000, 7001, 17), 0);
	pk_eth(p, MAC_VM2, MAC_VM);
	pk_ip4(p, VM4, VM2_4, DF, 64);
	pk_udp(p, 7000, 7001);
	pk_payload(p, 64, 6);
}

/* GSO-sized packets (TC): longer than the underlay MTU, cut into gso_size
 * segments only on transmission */
#define GSO_PAYLOAD 1900
static void gso_ew_in(struct pkt *p)
{
	from_vm(p);
	pk_ip4(p, VM4, VM2_4, DF, 64);
	pk_tcp(p, 7000, 7001, TCP_ACK, 0);
	pk_payload(p, GSO_PAYLOAD, 12);
}
static void gso_ew_local(struct pkt *p)
{
	pk_eth(p, MAC_VM2, MAC_GW2);
	pk_ip4(p, VM4, VM2_4, DF, 64);
	pk_tcp(p, 7000, 7001, TCP_ACK, 0);
	pk_payload(p, GSO_PAYLOAD, 12);
}
static void gso_reply_in(struct pkt *p)
{
	from_vm(p);
	pk_ip4(p, VM4, CLIENT4, DF, 64);
	pk_tcp(p, 8080, 40000, TCP_ACK, 0);
	pk_payload(p, GSO_PAYLOAD, 13);
}
static void gso_reply_snat(struct pkt *p)
{
	to_client(p);
	pk_ip4(p, PUB4, CLIENT4, DF, 64);
	pk_tcp(p, 80, 40000, TCP_ACK, 0);
	pk_payload(p, GSO_PAYLOAD, 13);
}
static void gso_reply6_in(struct pkt *p)
{
	from_vm(p);
	pk_ip6(p, VM6, CLIENT6, 64);
	pk_tcp(p, 443, 40001, TCP_ACK, 0);
	pk_payload(p, GSO_PAYLOAD, 14);
}
static void gso_reply6_snat(struct pkt *p)
{
	to_client(p);
	pk_ip6(p, PUB6, CLIENT6, 64);
	pk_tcp(p, 443, 40001, TCP_ACK, 0);
	pk_payload(p, GSO_PAYLOAD, 14);
}
static void gso_udp_ew_in(struct pkt *p)
{
	from_vm(p);
	pk_ip4(p, VM4, VM2_4, DF, 64);
	pk_udp(p, 7000, 7001);
	pk_payload(p, GSO_PAYLOAD, 15);
}
static void q_gso_udp(struct pkt *p)
{
	pk_ip4(p, VM4, VM2_4, DF, 64);
	pk_udp(p, 7000, 7001);
	pk_payload(p, GSO_PAYLOAD, 15);
}
/* the same datagram not GSO: too big, answered (outer IPv4: 1500 - 50) */
static void frag_needed_to_vm(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, VM2_4, VM4, 0, 64);
	pk_icmp(p, 3, 4, 1450);
	quote(p, q_gso_udp, 28);
}

/* spoofing and the host's business */
static void spoof_in(struct pkt *p)
{
	from_vm(p);
	pk_ip4(p, "10.77.0.66", CLIENT4, DF, 64);
	pk_tcp(p, 8080, 40000, TCP_ACK, 0);
}
static void ns_in(struct pkt *p)
{
	from_vm(p);
	pk_ip6(p, "fe80::5054:ff:fe00:10", "ff02::1:ff00:1", 255);
	pk_icmp(p, 135, 0, 0);
	pk_payload(p, 16, 7);
}
static void dhcp_in(struct pkt *p)
{
	pk_eth(p, "ff:ff:ff:ff:ff:ff", MAC_VM);
	pk_ip4(p, "0.0.0.0", "255.255.255.255", 0, 64);
	pk_udp(p, 68, 67);
	pk_payload(p, 240, 8);
}
static void arp_in(struct pkt *p)
{
	static const uint8_t arp[28] = {0, 1, 8, 0, 6, 4, 0, 1};

	pk_eth(p, "ff:ff:ff:ff:ff:ff", MAC_VM);
	pk_bytes(p, arp, sizeof(arp));
	p->d[12] = 0x08;
	p->d[13] = 0x06;
}

/* ---- east-west through vr_cache (XDP only) ---- */
static int ew_first(struct dp *d)
{
	return dp_send(d, DP_VMSIDE, ew_in, NULL);
}
static int ew_remote_marked_prep(struct dp *d)
{
	return vr_mark(d, vm2_remote, ew_in, VM2_4, 7000, 7001, IPPROTO_UDP, HS_VR_EW_ENCAP,
		       VX_RSVD1_OFF, vx_mark, 1);
}
static void ew_remote_marked(struct pkt *p)
{
	outer(p, HOSTB4, MAC_HOSTB, vx_sport(VM4, VM2_4, 7000, 7001, 17), 0x80);
	pk_eth(p, MAC_VM2, MAC_VM);
	pk_ip4(p, VM4, VM2_4, DF, 64);
	pk_udp(p, 7000, 7001);
	pk_payload(p, 64, 6);
}
/* the Ethernet destination's last byte */
static int ew_local_marked_prep(struct dp *d)
{
	static const uint8_t last[1] = {0x99};

	return vr_mark(d, vm2_local, ew_in, VM2_4, 7000, 7001, IPPROTO_UDP, HS_VR_EW_LOCAL, 5, last,
		       1);
}
static void ew_local_marked(struct pkt *p)
{
	pk_eth(p, "52:54:00:00:00:99", MAC_GW2);
	pk_ip4(p, VM4, VM2_4, DF, 64);
	pk_udp(p, 7000, 7001);
	pk_payload(p, 64, 6);
}
static int ew_then_vm2_remote(struct dp *d)
{
	return vm2_local(d) || ew_first(d) || vm2_remote(d);
}

#define N FX_NONE
static const struct fx table[] = {
	{"reply_snat_here_by_flow",
	 DP_VMSIDE,
	 false,
	 flow_us,
	 reply4_in,
	 reply4_snat,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_SNAT,
	 {N, N}},
	{"reply_snat_here_by_primary_entry",
	 DP_VMSIDE,
	 false,
	 NULL,
	 reply4_in,
	 reply4_snat,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_SNAT,
	 {N, N}},
	{"reply_encap_to_flow_front_end_v4",
	 DP_VMSIDE,
	 false,
	 flow_b4,
	 reply4_in,
	 reply4_encap_b4,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_ENCAP,
	 {N, N}},
	{"reply_encap_to_flow_front_end_v6",
	 DP_VMSIDE,
	 false,
	 flow_b6,
	 reply4_in,
	 reply4_encap_b6,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_ENCAP,
	 {N, N}},
	{"reply_encap_to_primary_without_flow",
	 DP_VMSIDE,
	 false,
	 primary_c,
	 reply4_in,
	 reply4_encap_c,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_ENCAP,
	 {N, N}},
	{"reply_without_any_front_end_passes",
	 DP_VMSIDE,
	 false,
	 no_primary,
	 reply4_in,
	 NULL,
	 XDP_PASS,
	 HS_R_PASS_NOT_OURS,
	 {N, N}},
	{"vr_cache_frame_from_slot",
	 DP_VMSIDE,
	 false,
	 vr_mark_slot,
	 reply4_in,
	 reply4_encap_c_marked,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_ENCAP,
	 {N, N},
	 .tc_skip = "the VM-side cache is the XDP program's only"},
	{"vr_cache_flow_learned_next_packet_follows",
	 DP_VMSIDE,
	 false,
	 vr_then_flow_learned,
	 reply4_in,
	 reply4_encap_b4,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_ENCAP,
	 {N, N}},
	{"vr_cache_flow_moved_next_packet_follows",
	 DP_VMSIDE,
	 false,
	 vr_then_flow_moved,
	 reply4_in,
	 reply4_encap_c,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_ENCAP,
	 {N, N}},
	{"vr_cache_flow_gone_next_packet_to_primary",
	 DP_VMSIDE,
	 false,
	 vr_then_flow_gone,
	 reply4_in,
	 reply4_encap_c,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_ENCAP,
	 {N, N}},
	{"vr_cache_primary_changed_next_packet_follows",
	 DP_VMSIDE,
	 false,
	 vr_then_primary_b,
	 reply4_in,
	 reply4_encap_b4,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_ENCAP,
	 {N, N}},
	{"vr_cache_generation_is_what_invalidates",
	 DP_VMSIDE,
	 false,
	 vr_then_primary_b_unbumped,
	 reply4_in,
	 reply4_encap_c,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_ENCAP,
	 {N, N},
	 .tc_skip = "the VM-side cache is the XDP program's only"},
	{"vr_cache_snat_frame_from_slot",
	 DP_VMSIDE,
	 false,
	 vr_mark_snat_slot,
	 reply4_in,
	 reply4_snat_marked,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_SNAT,
	 {N, N},
	 .tc_skip = "the VM-side cache is the XDP program's only"},
	{"vr_cache_snat_flow_moved_next_packet_encapsulated",
	 DP_VMSIDE,
	 false,
	 vr_snat_then_flow_moved,
	 reply4_in,
	 reply4_encap_b4,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_ENCAP,
	 {N, N}},
	{"vr_cache_snat_rbinding_repointed_next_packet_follows",
	 DP_VMSIDE,
	 false,
	 vr_snat_then_repointed,
	 reply4_in,
	 reply4_snat_repointed,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_SNAT,
	 {N, N}},
	{"reply_snat_echo_reply4",
	 DP_VMSIDE,
	 false,
	 NULL,
	 echo_reply_in,
	 echo_reply_out,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_SNAT,
	 {N, N}},
	{"reply_snat_tcp6",
	 DP_VMSIDE,
	 false,
	 NULL,
	 reply6_in,
	 reply6_out,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_SNAT,
	 {N, N}},
	{"reply_snat_icmp_error_translates_quote",
	 DP_VMSIDE,
	 false,
	 NULL,
	 unreach_in,
	 unreach_out,
	 XDP_REDIRECT,
	 HS_R_TX_REPLY_SNAT,
	 {N, N}},
	{"east_west_local",
	 DP_VMSIDE,
	 false,
	 vm2_local,
	 ew_in,
	 ew_local,
	 XDP_REDIRECT,
	 HS_R_TX_EW_LOCAL,
	 {N, N}},
	{"east_west_remote",
	 DP_VMSIDE,
	 false,
	 vm2_remote,
	 ew_in,
	 ew_remote,
	 XDP_REDIRECT,
	 HS_R_TX_EW_ENCAP,
	 {N, N}},
	{"vr_cache_ew_remote_frame_from_slot",
	 DP_VMSIDE,
	 false,
	 ew_remote_marked_prep,
	 ew_in,
	 ew_remote_marked,
	 XDP_REDIRECT,
	 HS_R_TX_EW_ENCAP,
	 {N, N},
	 .tc_skip = "the VM-side cache is the XDP program's only"},
	{"vr_cache_ew_local_frame_from_slot",
	 DP_VMSIDE,
	 false,
	 ew_local_marked_prep,
	 ew_in,
	 ew_local_marked,
	 XDP_REDIRECT,
	 HS_R_TX_EW_LOCAL,
	 {N, N},
	 .tc_skip = "the VM-side cache is the XDP program's only"},
	{"vr_cache_ew_peer_moved_next_packet_follows",
	 DP_VMSIDE,
	 false,
	 ew_then_vm2_remote,
	 ew_in,
	 ew_remote,
	 XDP_REDIRECT,
	 HS_R_TX_EW_ENCAP,
	 {N, N}},
	{"spoofed_source_dropped",
	 DP_VMSIDE,
	 false,
	 NULL,
	 spoof_in,
	 NULL,
	 XDP_DROP,
	 HS_R_DROP_SPOOF,
	 {N, N}},
	{"own_address_on_wrong_interface_dropped",
	 DP_VMSIDE,
	 false,
	 vm2_local,
	 reply4_in,
	 NULL,
	 XDP_DROP,
	 HS_R_DROP_SPOOF,
	 {N, N},
	 -1},
	{"neighbour_solicitation_passes",
	 DP_VMSIDE,
	 false,
	 NULL,
	 ns_in,
	 NULL,
	 XDP_PASS,
	 HS_R_PASS_NOT_OURS,
	 {N, N}},
	{"dhcp_discover_passes",
	 DP_VMSIDE,
	 false,
	 NULL,
	 dhcp_in,
	 NULL,
	 XDP_PASS,
	 HS_R_PASS_NOT_OURS,
	 {N, N}},
	{"arp_passes", DP_VMSIDE, false, NULL, arp_in, NULL, XDP_PASS, HS_R_PASS_NOT_IP, {N, N}},
	/* TC only: GSO */
	{"tc_gso_east_west_local_stays_whole",
	 DP_VMSIDE_TC,
	 false,
	 vm2_local,
	 gso_ew_in,
	 gso_ew_local,
	 DP_TC_ACT_REDIRECT,
	 HS_R_TX_EW_LOCAL,
	 {N, N},
	 .gso_size = 1000},
	{"tc_gso_reply_snat_stays_whole",
	 DP_VMSIDE_TC,
	 false,
	 flow_us,
	 gso_reply_in,
	 gso_reply_snat,
	 DP_TC_ACT_REDIRECT,
	 HS_R_TX_REPLY_SNAT,
	 {N, N},
	 .gso_size = 1000},
	{"tc_gso_reply_snat_tcp6_stays_whole",
	 DP_VMSIDE_TC,
	 false,
	 NULL,
	 gso_reply6_in,
	 gso_reply6_snat,
	 DP_TC_ACT_REDIRECT,
	 HS_R_TX_REPLY_SNAT,
	 {N, N},
	 .gso_size = 1200},
	/* 1480-byte UDP segments + 28 + 50 do not fit, and a datagram's size
	 * is its sender's: dropped, never answered with an error */
	{"tc_gso_udp_segments_too_big_dropped",
	 DP_VMSIDE_TC,
	 false,
	 vm2_remote,
	 gso_udp_ew_in,
	 NULL,
	 DP_TC_ACT_SHOT,
	 HS_R_DROP_TOO_BIG,
	 {N, N},
	 .gso_size = 1480},
	{"tc_same_datagram_not_gso_answered_too_big",
	 DP_VMSIDE_TC,
	 false,
	 vm2_remote,
	 gso_udp_ew_in,
	 frag_needed_to_vm,
	 DP_TC_ACT_REDIRECT,
	 HS_R_TX_ICMP_TOOBIG,
	 {N, N}},
};

FX_TABLE_MAIN("bpf/vmside", table)
