// SPDX-License-Identifier: GPL-2.0
/*
 * Uplink program, packets from clients: binding DNAT with local delivery or
 * VXLAN to the VM's host, VLAN tags, ICMP errors toward a VM, fragments, and
 * everything that must pass untouched.
 */
#include <string.h>

#include "selftests/bpf/fixture.h"
#include "selftests/bpf/scen.h"

/* ---- TCP, port-mapping binding PUB4:80 -> VM4:8080 ---- */
static void tcp4_inner_pub(struct pkt *p)
{
	pk_ip4(p, CLIENT4, PUB4, DF, 64);
	pk_tcp(p, 40000, 80, TCP_ACK | TCP_PSH, 0);
	pk_payload(p, PAYLOAD, 1);
}
static void tcp4_inner_vm(struct pkt *p)
{
	pk_ip4(p, CLIENT4, VM4, DF, 64);
	pk_tcp(p, 40000, 8080, TCP_ACK | TCP_PSH, 0);
	pk_payload(p, PAYLOAD, 1);
}
static void tcp4_in(struct pkt *p)
{
	from_client(p);
	tcp4_inner_pub(p);
}
static void tcp4_local(struct pkt *p)
{
	to_vm(p);
	tcp4_inner_vm(p);
}
static bool tcp4_learned(struct dp *d)
{
	return fx_flow_is(d, CLIENT4, 40000, VM4, 8080, IPPROTO_TCP, US4);
}
static void tcp4_encap4(struct pkt *p)
{
	outer(p, HOSTB4, MAC_HOSTB, vx_sport(CLIENT4, VM4, 40000, 8080, 6), 0);
	to_vm(p);
	tcp4_inner_vm(p);
}
static int vm4_on_b6(struct dp *d)
{
	return dp_vm_remote(d, VM4, HS_VM_REMOTE, HOSTB6, US4);
}
static void tcp4_encap6(struct pkt *p)
{
	outer(p, HOSTB6, MAC_HOSTB, vx_sport(CLIENT4, VM4, 40000, 8080, 6), 0);
	to_vm(p);
	tcp4_inner_vm(p);
}
static bool no_flows(struct dp *d)
{
	int n = dp_flow_count(d);

	if (n)
		printf("    %d flow entries, expected none\n", n);
	return n == 0;
}

/* ---- UDP PUB4:53 -> VM4:5353, with and without checksum ---- */
static void udp4_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, 0, 64);
	pk_udp(p, 33333, 53);
	pk_payload(p, 60, 2);
}
static void udp4_local(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, 0, 64);
	pk_udp(p, 33333, 5353);
	pk_payload(p, 60, 2);
}
static void udp4_nocsum_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, 0, 64);
	pk_udp_nocsum(p, 33333, 53);
	pk_payload(p, 60, 2);
}
static void udp4_nocsum_local(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, 0, 64);
	pk_udp_nocsum(p, 33333, 5353);
	pk_payload(p, 60, 2);
}

/* ---- ICMP echo on the address-only binding ---- */
static void echo4_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, 0, 64);
	pk_icmp(p, 8, 0, 0x12340001);
	pk_payload(p, 56, 3);
}
static void echo4_local(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, 0, 64);
	pk_icmp(p, 8, 0, 0x12340001);
	pk_payload(p, 56, 3);
}
static bool echo4_learned(struct dp *d)
{
	return fx_flow_is(d, CLIENT4, 0x1234, VM4, 0x1234, IPPROTO_ICMP, US4);
}
static void echo6_in(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, CLIENT6, PUB6, 64);
	pk_icmp(p, 128, 0, 0x43210007);
	pk_payload(p, 56, 4);
}
static void echo6_local(struct pkt *p)
{
	to_vm(p);
	pk_ip6(p, CLIENT6, VM6, 64);
	pk_icmp(p, 128, 0, 0x43210007);
	pk_payload(p, 56, 4);
}

/* ---- TCP over IPv6, address-only binding PUB6 -> VM6 ---- */
static void tcp6_in(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, CLIENT6, PUB6, 64);
	pk_tcp(p, 40001, 443, TCP_ACK, 0);
	pk_payload(p, PAYLOAD, 5);
}
static void tcp6_inner_vm(struct pkt *p)
{
	pk_ip6(p, CLIENT6, VM6, 64);
	pk_tcp(p, 40001, 443, TCP_ACK, 0);
	pk_payload(p, PAYLOAD, 5);
}
static void tcp6_local(struct pkt *p)
{
	to_vm(p);
	tcp6_inner_vm(p);
}
static bool tcp6_learned(struct dp *d)
{
	return fx_flow_is(d, CLIENT6, 40001, VM6, 443, IPPROTO_TCP, US4);
}
static void tcp6_encap4(struct pkt *p)
{
	outer(p, HOSTB4, MAC_HOSTB, vx_sport(CLIENT6, VM6, 40001, 443, 6), 0);
	to_vm(p);
	tcp6_inner_vm(p);
}
static int vm6_on_b6(struct dp *d)
{
	return dp_vm_remote(d, VM6, HS_VM_REMOTE, HOSTB6, US4);
}
static void tcp6_encap6(struct pkt *p)
{
	outer(p, HOSTB6, MAC_HOSTB, vx_sport(CLIENT6, VM6, 40001, 443, 6), 0);
	to_vm(p);
	tcp6_inner_vm(p);
}
static int vm4_forward(struct dp *d)
{
	return dp_vm_remote(d, VM4, HS_VM_FORWARD, HOSTC4, US4);
}
static void tcp4_encap_c(struct pkt *p)
{
	outer(p, HOSTC4, MAC_HOSTC, vx_sport(CLIENT4, VM4, 40000, 8080, 6), 0);
	to_vm(p);
	tcp4_inner_vm(p);
}

/* ---- other ports of an address-only binding keep their port ---- */
static void tcp4_22_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, DF, 64);
	pk_tcp(p, 40002, 22, TCP_ACK, 0);
}
static void tcp4_22_local(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, DF, 64);
	pk_tcp(p, 40002, 22, TCP_ACK, 0);
}

/* ---- VLAN-tagged frames ---- */
static void tcp4_vlan_in(struct pkt *p)
{
	from_client(p);
	pk_vlan(p, 0x8100, 100);
	tcp4_inner_pub(p);
}
static void tcp4_qinq_in(struct pkt *p)
{
	from_client(p);
	pk_vlan(p, 0x88a8, 10);
	pk_vlan(p, 0x8100, 20);
	tcp4_inner_pub(p);
}
static void host_vlan_in(struct pkt *p)
{
	from_client(p);
	pk_vlan(p, 0x8100, 100);
	pk_ip4(p, CLIENT4, US4, DF, 64);
	pk_tcp(p, 40003, 22, TCP_ACK, 0);
}

/* ---- what must pass untouched ---- */
static void host4_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, US4, DF, 64);
	pk_tcp(p, 40003, 22, TCP_ACK, 0);
	pk_payload(p, 20, 9);
}
static void host6_in(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, CLIENT6, US6, 64);
	pk_udp(p, 5000, 4789); /* VXLAN port but from nobody, to us: not a peer */
	pk_payload(p, 20, 9);
}
static void arp_in(struct pkt *p)
{
	static const uint8_t arp[28] = {0, 1, 8, 0, 6, 4, 0, 1};

	from_client(p);
	pk_bytes(p, arp, sizeof(arp));
	p->d[12] = 0x08;
	p->d[13] = 0x06;
}
static int disable(struct dp *d)
{
	struct hs_node_config c;

	dp_default_config(&c);
	c.flags = 0;
	return dp_config(d, &c);
}
static void marker_unbound_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUBP4, DF, 64);
	pk_tcp(p, 40004, 22, TCP_SYN, 1460);
}
static void marker_bound_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUBP4, DF, 64);
	pk_tcp(p, 40004, 443, TCP_ACK, 0);
}
static void marker_bound_local(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, DF, 64);
	pk_tcp(p, 40004, 443, TCP_ACK, 0);
}
static int binding_no_vm(struct dp *d)
{
	return dp_binding(d, "203.0.113.30", 0, 0, "10.77.0.99", 0);
}
static void no_vm_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, "203.0.113.30", DF, 64);
	pk_tcp(p, 40005, 80, TCP_ACK, 0);
}

/* ---- ICMP errors for a binding: the quoted packet is the VM's reply ---- */
static void q_reply4_pub(struct pkt *p)
{
	pk_ip4(p, PUB4, CLIENT4, DF, 64);
	pk_tcp(p, 80, 40000, TCP_ACK, 0);
	pk_payload(p, 1400, 6);
}
static void q_reply4_vm(struct pkt *p)
{
	pk_ip4(p, VM4, CLIENT4, DF, 64);
	pk_tcp(p, 8080, 40000, TCP_ACK, 0);
	pk_payload(p, 1400, 6);
}
static void icmperr4_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, "198.51.100.254", PUB4, 0, 64);
	pk_icmp(p, 3, 4, 1400);
	quote(p, q_reply4_pub, 28);
}
static void icmperr4_local(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, "198.51.100.254", VM4, 0, 64);
	pk_icmp(p, 3, 4, 1400);
	quote(p, q_reply4_vm, 28);
}
static void q_udp4_pub(struct pkt *p)
{
	pk_ip4(p, PUB4, CLIENT4, 0, 64);
	pk_udp(p, 53, 33333);
	pk_payload(p, 100, 7);
}
static void q_udp4_vm(struct pkt *p)
{
	pk_ip4(p, VM4, CLIENT4, 0, 64);
	pk_udp(p, 5353, 33333);
	pk_payload(p, 100, 7);
}
static void icmperr4_udp_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, "198.51.100.254", PUB4, 0, 64);
	pk_icmp(p, 11, 0, 0);
	quote(p, q_udp4_pub, 28 + 40);
}
static void icmperr4_udp_local(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, "198.51.100.254", VM4, 0, 64);
	pk_icmp(p, 11, 0, 0);
	quote(p, q_udp4_vm, 28 + 40);
}
static void q_reply6_pub(struct pkt *p)
{
	pk_ip6(p, PUB6, CLIENT6, 64);
	pk_udp(p, 443, 40001);
	pk_payload(p, 1400, 8);
}
static void q_reply6_vm(struct pkt *p)
{
	pk_ip6(p, VM6, CLIENT6, 64);
	pk_udp(p, 443, 40001);
	pk_payload(p, 1400, 8);
}
static void icmperr6_in(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, "2001:db8:1::fe", PUB6, 64);
	pk_icmp(p, 2, 0, 1280);
	quote(p, q_reply6_pub, 48 + 100);
}
static void icmperr6_local(struct pkt *p)
{
	to_vm(p);
	pk_ip6(p, "2001:db8:1::fe", VM6, 64);
	pk_icmp(p, 2, 0, 1280);
	quote(p, q_reply6_vm, 48 + 100);
}

/* ---- fragments (policy: translated on address-only bindings only) ---- */
static void frag4_first_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, 0x2000, 64);
	pk_udp(p, 33334, 9999);
	pk_payload(p, 64, 10);
}
static void frag4_first_local(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, 0x2000, 64);
	pk_udp(p, 33334, 9999);
	pk_payload(p, 64, 10);
}
static void frag4_later_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, 9, 64); /* offset 72 bytes, last fragment */
	pk_payload(p, 40, 11);
	p->d[14 + 9] = IPPROTO_UDP;
}
static void frag4_later_local(struct pkt *p)
{
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, 9, 64);
	pk_payload(p, 40, 11);
	p->d[14 + 9] = IPPROTO_UDP;
}
static void frag4_marker_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUBP4, 0x2000, 64);
	pk_tcp(p, 40006, 443, TCP_ACK, 0);
	pk_payload(p, 64, 12);
}
static void frag6_first_in(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, CLIENT6, PUB6, 64);
	pk_ip6_ext(p, 44, 0, 0, true);
	pk_udp(p, 33335, 9999);
	pk_payload(p, 64, 13);
}
static void frag6_first_local(struct pkt *p)
{
	to_vm(p);
	pk_ip6(p, CLIENT6, VM6, 64);
	pk_ip6_ext(p, 44, 0, 0, true);
	pk_udp(p, 33335, 9999);
	pk_payload(p, 64, 13);
}

/* ---- IPv6 extension headers before TCP ---- */
static void ext6_in(struct pkt *p)
{
	from_client(p);
	pk_ip6(p, CLIENT6, PUB6, 64);
	pk_ip6_ext(p, 0, 0, 0, false);
	pk_ip6_ext(p, 60, 1, 0, false);
	pk_tcp(p, 40007, 443, TCP_ACK, 0);
}
static void ext6_local(struct pkt *p)
{
	to_vm(p);
	pk_ip6(p, CLIENT6, VM6, 64);
	pk_ip6_ext(p, 0, 0, 0, false);
	pk_ip6_ext(p, 60, 1, 0, false);
	pk_tcp(p, 40007, 443, TCP_ACK, 0);
}

#define N FX_NONE
#define LEARN HS_R_FLOW_LEARNED
static const struct fx table[] = {
	{"dnat_local_tcp4_portmap",
	 DP_UPLINK,
	 false,
	 NULL,
	 tcp4_in,
	 tcp4_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, N},
	 0,
	 tcp4_learned},
	{"dnat_local_udp4_portmap",
	 DP_UPLINK,
	 false,
	 NULL,
	 udp4_in,
	 udp4_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, N}},
	{"dnat_local_udp4_zero_csum_stays_zero",
	 DP_UPLINK,
	 false,
	 NULL,
	 udp4_nocsum_in,
	 udp4_nocsum_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, N}},
	{"dnat_local_icmp4_echo",
	 DP_UPLINK,
	 false,
	 NULL,
	 echo4_in,
	 echo4_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, N},
	 0,
	 echo4_learned},
	{"dnat_local_icmp6_echo",
	 DP_UPLINK,
	 false,
	 NULL,
	 echo6_in,
	 echo6_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, N}},
	{"dnat_local_tcp6_address_only",
	 DP_UPLINK,
	 false,
	 NULL,
	 tcp6_in,
	 tcp6_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, N},
	 0,
	 tcp6_learned},
	{"dnat_local_tcp4_address_only_keeps_port",
	 DP_UPLINK,
	 false,
	 NULL,
	 tcp4_22_in,
	 tcp4_22_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, N}},
	{"dnat_local_ipv6_extension_headers",
	 DP_UPLINK,
	 false,
	 NULL,
	 ext6_in,
	 ext6_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, N}},
	{"dnat_encap_tcp4_over_ipv4",
	 DP_UPLINK,
	 true,
	 NULL,
	 tcp4_in,
	 tcp4_encap4,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N},
	 0,
	 no_flows},
	{"dnat_encap_tcp4_over_ipv6",
	 DP_UPLINK,
	 true,
	 vm4_on_b6,
	 tcp4_in,
	 tcp4_encap6,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N}},
	{"dnat_encap_tcp6_over_ipv4",
	 DP_UPLINK,
	 true,
	 NULL,
	 tcp6_in,
	 tcp6_encap4,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N}},
	{"dnat_encap_tcp6_over_ipv6",
	 DP_UPLINK,
	 true,
	 vm6_on_b6,
	 tcp6_in,
	 tcp6_encap6,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N}},
	{"dnat_encap_to_forwarding_pointer_target",
	 DP_UPLINK,
	 true,
	 vm4_forward,
	 tcp4_in,
	 tcp4_encap_c,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N}},
	{"vlan_tag_removed_for_local_vm",
	 DP_UPLINK,
	 false,
	 NULL,
	 tcp4_vlan_in,
	 tcp4_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, N}},
	{"qinq_tags_removed_for_encap",
	 DP_UPLINK,
	 true,
	 NULL,
	 tcp4_qinq_in,
	 tcp4_encap4,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N}},
	{"vlan_host_traffic_passes_untouched",
	 DP_UPLINK,
	 false,
	 NULL,
	 host_vlan_in,
	 NULL,
	 XDP_PASS,
	 HS_R_PASS_NO_BINDING,
	 {N, N}},
	{"host_tcp4_passes_untouched",
	 DP_UPLINK,
	 false,
	 NULL,
	 host4_in,
	 NULL,
	 XDP_PASS,
	 HS_R_PASS_NO_BINDING,
	 {N, N}},
	{"vxlan_port_from_non_peer_dropped",
	 DP_UPLINK,
	 false,
	 NULL,
	 host6_in,
	 NULL,
	 XDP_DROP,
	 HS_R_DROP_UNKNOWN_PEER,
	 {N, N}},
	{"arp_passes", DP_UPLINK, false, NULL, arp_in, NULL, XDP_PASS, HS_R_PASS_NOT_IP, {N, N}},
	{"disabled_config_passes_bindings",
	 DP_UPLINK,
	 false,
	 disable,
	 tcp4_in,
	 NULL,
	 XDP_PASS,
	 HS_R_PASS_DISABLED,
	 {N, N}},
	{"marker_address_unbound_port_passes",
	 DP_UPLINK,
	 false,
	 NULL,
	 marker_unbound_in,
	 NULL,
	 XDP_PASS,
	 HS_R_PASS_NO_BINDING,
	 {N, N}},
	{"marker_address_bound_port_dnat",
	 DP_UPLINK,
	 false,
	 NULL,
	 marker_bound_in,
	 marker_bound_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, N}},
	{"binding_without_vm_location_drops",
	 DP_UPLINK,
	 false,
	 binding_no_vm,
	 no_vm_in,
	 NULL,
	 XDP_DROP,
	 HS_R_DROP_NO_VM,
	 {N, N}},
	{"icmp4_error_to_binding_translated",
	 DP_UPLINK,
	 false,
	 NULL,
	 icmperr4_in,
	 icmperr4_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {N, N},
	 0,
	 no_flows},
	{"icmp4_error_quoting_udp_translated",
	 DP_UPLINK,
	 false,
	 NULL,
	 icmperr4_udp_in,
	 icmperr4_udp_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {N, N}},
	{"icmp6_error_to_binding_translated",
	 DP_UPLINK,
	 false,
	 NULL,
	 icmperr6_in,
	 icmperr6_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {N, N}},
	{"frag4_first_translated_on_address_binding",
	 DP_UPLINK,
	 false,
	 NULL,
	 frag4_first_in,
	 frag4_first_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {HS_R_FRAG_TRANSLATED, N},
	 0,
	 no_flows},
	{"frag4_later_translated_on_address_binding",
	 DP_UPLINK,
	 false,
	 NULL,
	 frag4_later_in,
	 frag4_later_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {HS_R_FRAG_TRANSLATED, N}},
	{"frag4_on_port_only_address_dropped",
	 DP_UPLINK,
	 false,
	 NULL,
	 frag4_marker_in,
	 NULL,
	 XDP_DROP,
	 HS_R_DROP_FRAG,
	 {N, N}},
	{"frag6_first_translated_on_address_binding",
	 DP_UPLINK,
	 false,
	 NULL,
	 frag6_first_in,
	 frag6_first_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {HS_R_FRAG_TRANSLATED, N}},
};

FX_TABLE_MAIN("bpf/ingress", table)
