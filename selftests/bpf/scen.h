/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet pieces of the test scenario, so fixture builders read like the
 * packets they make. Ports are host order; the builder writes them.
 */
#ifndef HS_TEST_SCEN_H
#define HS_TEST_SCEN_H

#include <arpa/inet.h>

#include "bpf/flowhash.h"
#include "selftests/bpf/harness.h"

#define TCP_SYN 0x02
#define TCP_ACK 0x10
#define TCP_PSH 0x08
#define DF 0x4000
#define PAYLOAD 100

/* From a client to this node's uplink. */
static inline void from_client(struct pkt *p)
{
	pk_eth(p, MAC_UPLINK, MAC_CLIENT);
}

/* What a local VM receives. */
static inline void to_vm(struct pkt *p)
{
	pk_eth(p, MAC_VM, MAC_GW);
}

/* What a VM sends (to its gateway). */
static inline void from_vm(struct pkt *p)
{
	pk_eth(p, MAC_GW, MAC_VM);
}

/* What leaves toward a client. */
static inline void to_client(struct pkt *p)
{
	pk_eth(p, MAC_CLIENT, MAC_UPLINK);
}

static inline void ip_any(struct pkt *p, const char *src, const char *dst)
{
	if (strchr(src, ':'))
		pk_ip6(p, src, dst, 64);
	else
		pk_ip4(p, src, dst, DF, 64);
}

/* Outer UDP source port the programs must pick for this inner flow. */
static inline uint16_t vx_sport(const char *src, const char *dst, uint16_t sport, uint16_t dport,
				uint8_t proto)
{
	struct hs_ip s = dp_ip(src), d = dp_ip(dst);

	return hs_vxlan_sport(hs_flow_hash(&s, &d, htons(sport), htons(dport), proto));
}

/* Outer headers from us to a host: Ethernet, IP, UDP, VXLAN. */
static inline void outer(struct pkt *p, const char *host, const char *host_mac, uint16_t sport,
			 uint8_t rsvd1)
{
	pk_eth(p, host_mac, MAC_UPLINK);
	if (strchr(host, ':')) {
		pk_ip6(p, US6, host, 64);
		pk_udp(p, sport, HS_VXLAN_PORT);
	} else {
		pk_ip4(p, US4, host, DF, 64);
		pk_udp_nocsum(p, sport, HS_VXLAN_PORT);
	}
	pk_vxlan(p, VNI, rsvd1);
}

/* Outer headers from a peer to us. */
static inline void outer_in(struct pkt *p, const char *peer, const char *peer_mac, uint32_t vni,
			    uint8_t rsvd1)
{
	pk_eth(p, MAC_UPLINK, peer_mac);
	if (strchr(peer, ':')) {
		pk_ip6(p, peer, US6, 64);
		pk_udp(p, 50000, HS_VXLAN_PORT);
	} else {
		pk_ip4(p, peer, US4, DF, 64);
		pk_udp_nocsum(p, 50000, HS_VXLAN_PORT);
	}
	pk_vxlan(p, vni, rsvd1);
}

/* First n bytes of a finished packet built by fn (an ICMP error's quote). */
static inline void quote(struct pkt *p, void (*fn)(struct pkt *), size_t n)
{
	struct pkt q;

	pk_init(&q);
	fn(&q);
	pk_finish(&q);
	pk_bytes(p, q.d, n < q.len ? n : q.len);
}

#endif
