// SPDX-License-Identifier: GPL-2.0
/*
 * Uplink program, packets from clients: binding DNAT with local delivery or
 * VXLAN to the VM's host, VLAN tags, ICMP errors toward a VM, fragments,
 * everything that must pass untouched, and the front-end cache following
 * every change of state.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/uplink.skel.h"
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
/* tcp4_in DNATed and encapsulated to host (next hop mac), VXLAN reserved
 * byte rsvd1 */
static void tcp4_encap_to(struct pkt *p, const char *host, const char *mac, uint8_t rsvd1)
{
	outer(p, host, mac, vx_sport(CLIENT4, VM4, 40000, 8080, 6), rsvd1);
	to_vm(p);
	tcp4_inner_vm(p);
}
static void tcp4_encap4(struct pkt *p)
{
	tcp4_encap_to(p, HOSTB4, MAC_HOSTB, 0);
}
static int vm4_on_b6(struct dp *d)
{
	return dp_vm_remote(d, VM4, HS_VM_REMOTE, HOSTB6, US4);
}
static void tcp4_encap6(struct pkt *p)
{
	tcp4_encap_to(p, HOSTB6, MAC_HOSTB, 0);
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

/*
 * ---- the front-end cache (fe_cache) ----
 * Each prep sends the fixture's flow first, so that it is cached (the
 * harness keeps the process on one CPU), then changes the state; the
 * fixture's packet must follow the new state. fx_run() also re-runs every
 * uplink fixture with a warm cache.
 */
static int send_first(struct dp *d)
{
	int verdict;

	return dp_send(d, DP_UPLINK, fx_current->in, &verdict);
}
static bool cached(struct dp *d, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	struct hs_fe_slot s;
	uint64_t gen;

	if (dp_fe_slot_get(d, src, dst, sport, dport, IPPROTO_TCP, &s) || dp_gen_get(d, &gen))
		return false;
	if (!s.kind || s.gen != gen || ntohs(s.key.sport) != sport) {
		printf("    %s:%u -> %s:%u not cached (kind %u, slot generation %llu of %llu)\n",
		       src, sport, dst, dport, s.kind, (unsigned long long)s.gen,
		       (unsigned long long)gen);
		return false;
	}
	return true;
}
static int cache_then(struct dp *d, int (*change)(struct dp *d))
{
	if (send_first(d))
		return -1;
	if (!cached(d, CLIENT4, fx_current->in == marker_bound_in ? PUBP4 : PUB4,
		    fx_current->in == marker_bound_in ? 40004 : 40000,
		    fx_current->in == marker_bound_in ? 443 : 80))
		return -1;
	return change(d);
}
static int repoint(struct dp *d)
{
	return dp_binding(d, PUB4, 80, IPPROTO_TCP, VM4, 9090);
}
static int cached_then_repointed(struct dp *d)
{
	return cache_then(d, repoint);
}
static void tcp4_encap4_9090(struct pkt *p)
{
	outer(p, HOSTB4, MAC_HOSTB, vx_sport(CLIENT4, VM4, 40000, 9090, 6), 0);
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, DF, 64);
	pk_tcp(p, 40000, 9090, TCP_ACK | TCP_PSH, 0);
	pk_payload(p, PAYLOAD, 1);
}
static int move_to_c(struct dp *d)
{
	return dp_vm_remote(d, VM4, HS_VM_REMOTE, HOSTC4, US4);
}
static int cached_then_moved(struct dp *d)
{
	return cache_then(d, move_to_c);
}
static int cached_then_forwarded(struct dp *d)
{
	return cache_then(d, vm4_forward);
}
static int arrive(struct dp *d)
{
	return dp_vm_local(d, VM4, d->if_vm, MAC_VM, MAC_GW, US4);
}
static int cached_then_arrived(struct dp *d)
{
	return cache_then(d, arrive);
}
static int unbind(struct dp *d)
{
	return dp_binding_del(d, PUBP4, 443, IPPROTO_TCP);
}
static int cached_then_unbound(struct dp *d)
{
	return cache_then(d, unbind);
}
static int vm_gone(struct dp *d)
{
	return dp_vm_del(d, VM4);
}
static int cached_then_vm_gone(struct dp *d)
{
	return cache_then(d, vm_gone);
}
#define MAC_HOSTB_NEW "02:00:00:00:02:99"
static int new_nexthop(struct dp *d)
{
	return dp_nexthop_put(d, HOSTB4, d->if_up, MAC_HOSTB_NEW, MAC_UPLINK, ~0ULL);
}
static int cached_then_new_nexthop(struct dp *d)
{
	return cache_then(d, new_nexthop);
}
static void tcp4_encap4_new_mac(struct pkt *p)
{
	tcp4_encap_to(p, HOSTB4, MAC_HOSTB_NEW, 0);
}
/* A write turned back to the generation it followed: the stale slot is
 * valid again and the next packet takes it, so the cached path is in use
 * and the generation, not the write, is what keeps it from being used. */
static int move_unbumped(struct dp *d)
{
	uint64_t gen;

	return dp_gen_get(d, &gen) || move_to_c(d) || dp_gen_set(d, gen);
}
static int cached_then_moved_unbumped(struct dp *d)
{
	return cache_then(d, move_unbumped);
}
/* The slot's copy of the next hop: used until its deadline, then the
 * nexthops entry (here a new MAC, written without invalidating) again. */
static int nexthop_unbumped(struct dp *d, bool expire)
{
	struct hs_fe_slot s;
	uint64_t gen;

	if (dp_gen_get(d, &gen) || new_nexthop(d) || dp_gen_set(d, gen) ||
	    dp_fe_slot_get(d, CLIENT4, PUB4, 40000, 80, IPPROTO_TCP, &s))
		return -1;
	if (expire) {
		s.expires = 1;
		s.checked -= 1000; /* due for a check against the clock */
	}
	return dp_fe_slot_put(d, CLIENT4, PUB4, 40000, 80, IPPROTO_TCP, &s);
}
static int nexthop_fresh(struct dp *d)
{
	return nexthop_unbumped(d, false);
}
static int nexthop_expired(struct dp *d)
{
	return nexthop_unbumped(d, true);
}
static int cached_nexthop_fresh(struct dp *d)
{
	return cache_then(d, nexthop_fresh);
}
static int cached_nexthop_expired(struct dp *d)
{
	return cache_then(d, nexthop_expired);
}
/* The IPv4 fast path (fe_fast4() in bpf/fecache.h) sends the frame from
 * the slot's template: a mark put there (a reserved VXLAN bit) must come
 * out, which also shows that it finds the slot by hs_fe_slot_index4(), the
 * index the full path filled it under. That the two indexes agree is
 * checked on random tuples as well. */
static int mark_template(struct dp *d)
{
	struct hs_fe_slot s;

	for (int i = 0; i < 100000; i++) {
		struct hs_ip a, b;
		uint32_t x = (uint32_t)rand() * 2654435761u ^ (uint32_t)i, y = (uint32_t)rand();
		uint16_t sp = (uint16_t)rand(), dpt = (uint16_t)rand();
		uint8_t pr = (uint8_t)rand();

		a = dp_ip("0.0.0.0");
		b = a;
		memcpy(&a.b[12], &x, 4);
		memcpy(&b.b[12], &y, 4);
		if (hs_fe_slot_index(&a, &b, sp, dpt, pr) != hs_fe_slot_index4(x, y, sp, dpt, pr)) {
			printf("    hs_fe_slot_index4 disagrees for %08x %08x %04x %04x %u\n", x, y,
			       sp, dpt, pr);
			return -1;
		}
	}
	if (dp_fe_slot_get(d, CLIENT4, PUB4, 40000, 80, IPPROTO_TCP, &s))
		return -1;
	if (!s.fast4) {
		printf("    slot of CLIENT4:40000 -> PUB4:80 has no fast-path template\n");
		return -1;
	}
	((uint8_t *)s.tmpl)[14 + 20 + 8 + 1] = 0x80;
	return dp_fe_slot_put(d, CLIENT4, PUB4, 40000, 80, IPPROTO_TCP, &s);
}
static int cached_fast4_marked(struct dp *d)
{
	return cache_then(d, mark_template);
}
static void tcp4_encap4_marked(struct pkt *p)
{
	tcp4_encap_to(p, HOSTB4, MAC_HOSTB, 0x80);
}
/* A local VM's flow takes the fast path too: it alone leaves the flow key
 * it learns from in fk_scratch, cleared after the first packet. */
static int clear_fk_scratch(struct dp *d)
{
	struct hs_flow_key k = {0};

	return dp_fk_scratch_io(d, &k, true);
}
static int cached_local_fk_cleared(struct dp *d)
{
	return cache_then(d, clear_fk_scratch);
}
static bool local_fast_taken(struct dp *d)
{
	struct hs_flow_key k;
	struct hs_ip c = dp_ip(CLIENT4), v = dp_ip(VM4);

	if (dp_fk_scratch_io(d, &k, false))
		return false;
	if (memcmp(&k.client, &c, 16) || memcmp(&k.vm, &v, 16) || ntohs(k.client_port) != 40000 ||
	    ntohs(k.vm_port) != 8080 || k.proto != IPPROTO_TCP) {
		printf("    the local packet did not take the IPv4 fast path (fk_scratch: port "
		       "%u -> %u, proto %u)\n",
		       ntohs(k.client_port), ntohs(k.vm_port), k.proto);
		return false;
	}
	return true;
}
static int forget_flows(struct dp *d)
{
	struct hs_flow_key k;
	int fd = bpf_map__fd(d->up->maps.flows);

	while (bpf_map_get_next_key(fd, NULL, &k) == 0)
		if (bpf_map_delete_elem(fd, &k))
			return -1;
	return 0;
}
static int cached_then_flows_forgotten(struct dp *d)
{
	return cache_then(d, forget_flows);
}
/* Two flows in one slot: A = tcp4_in, B = CLIENT4:collider -> PUB4:22 (the
 * address-only binding: VM4 port 22), whose slot index is A's. */
static uint16_t collider(void)
{
	struct hs_ip c = dp_ip(CLIENT4), pub = dp_ip(PUB4);
	uint32_t a = hs_fe_slot_index(&c, &pub, htons(40000), htons(80), IPPROTO_TCP);

	for (uint32_t port = 1024; port < 65536; port++)
		if (port != 40000 &&
		    hs_fe_slot_index(&c, &pub, htons(port), htons(22), IPPROTO_TCP) == a)
			return port;
	abort();
}
static void flow_b_in(struct pkt *p)
{
	from_client(p);
	pk_ip4(p, CLIENT4, PUB4, DF, 64);
	pk_tcp(p, collider(), 22, TCP_ACK | TCP_PSH, 0);
	pk_payload(p, PAYLOAD, 14);
}
static void flow_b_encap4(struct pkt *p)
{
	outer(p, HOSTB4, MAC_HOSTB, vx_sport(CLIENT4, VM4, collider(), 22, 6), 0);
	to_vm(p);
	pk_ip4(p, CLIENT4, VM4, DF, 64);
	pk_tcp(p, collider(), 22, TCP_ACK | TCP_PSH, 0);
	pk_payload(p, PAYLOAD, 14);
}
static int a_then_b(struct dp *d)
{
	return dp_send(d, DP_UPLINK, tcp4_in, NULL) || dp_send(d, DP_UPLINK, flow_b_in, NULL) ||
	       !cached(d, CLIENT4, PUB4, collider(), 22);
}
static int b_then_a(struct dp *d)
{
	return dp_send(d, DP_UPLINK, flow_b_in, NULL) || dp_send(d, DP_UPLINK, tcp4_in, NULL) ||
	       !cached(d, CLIENT4, PUB4, 40000, 80);
}
static bool a_cached(struct dp *d)
{
	return cached(d, CLIENT4, PUB4, 40000, 80);
}
static bool b_cached(struct dp *d)
{
	return cached(d, CLIENT4, PUB4, collider(), 22);
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
	{"cache_binding_repointed_next_packet_follows",
	 DP_UPLINK,
	 true,
	 cached_then_repointed,
	 tcp4_in,
	 tcp4_encap4_9090,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N}},
	{"cache_vm_moved_next_packet_follows",
	 DP_UPLINK,
	 true,
	 cached_then_moved,
	 tcp4_in,
	 tcp4_encap_c,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N}},
	{"cache_forwarding_pointer_set_next_packet_follows",
	 DP_UPLINK,
	 false,
	 cached_then_forwarded,
	 tcp4_in,
	 tcp4_encap_c,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N}},
	{"cache_vm_arrived_local_next_packet_follows",
	 DP_UPLINK,
	 true,
	 cached_then_arrived,
	 tcp4_in,
	 tcp4_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, N},
	 0,
	 tcp4_learned},
	{"cache_binding_deleted_next_packet_passes",
	 DP_UPLINK,
	 false,
	 cached_then_unbound,
	 marker_bound_in,
	 NULL,
	 XDP_PASS,
	 HS_R_PASS_NO_BINDING,
	 {N, N}},
	{"cache_vm_deleted_next_packet_dropped",
	 DP_UPLINK,
	 true,
	 cached_then_vm_gone,
	 tcp4_in,
	 NULL,
	 XDP_DROP,
	 HS_R_DROP_NO_VM,
	 {N, N}},
	{"cache_nexthop_written_next_packet_follows",
	 DP_UPLINK,
	 true,
	 cached_then_new_nexthop,
	 tcp4_in,
	 tcp4_encap4_new_mac,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N}},
	{"cache_generation_is_what_invalidates",
	 DP_UPLINK,
	 true,
	 cached_then_moved_unbumped,
	 tcp4_in,
	 tcp4_encap4,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N}},
	{"cache_fast4_frame_from_slot_template",
	 DP_UPLINK,
	 true,
	 cached_fast4_marked,
	 tcp4_in,
	 tcp4_encap4_marked,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N},
	 .tc_skip = "the IPv4 fast path is the XDP program's only"},
	{"cache_fast4_local_vm",
	 DP_UPLINK,
	 false,
	 cached_local_fk_cleared,
	 tcp4_in,
	 tcp4_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {N, N},
	 0,
	 local_fast_taken,
	 .tc_skip = "the IPv4 fast path is the XDP program's only"},
	{"cache_nexthop_copy_used_until_deadline",
	 DP_UPLINK,
	 true,
	 cached_nexthop_fresh,
	 tcp4_in,
	 tcp4_encap4,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N}},
	{"cache_nexthop_copy_expired_refetched",
	 DP_UPLINK,
	 true,
	 cached_nexthop_expired,
	 tcp4_in,
	 tcp4_encap4_new_mac,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N}},
	{"cache_local_hit_learns_missing_flow",
	 DP_UPLINK,
	 false,
	 cached_then_flows_forgotten,
	 tcp4_in,
	 tcp4_local,
	 XDP_REDIRECT,
	 HS_R_TX_DNAT_LOCAL,
	 {LEARN, N},
	 0,
	 tcp4_learned},
	{"cache_slot_collision_first_flow_correct",
	 DP_UPLINK,
	 true,
	 a_then_b,
	 tcp4_in,
	 tcp4_encap4,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N},
	 0,
	 a_cached},
	{"cache_slot_collision_second_flow_correct",
	 DP_UPLINK,
	 true,
	 b_then_a,
	 flow_b_in,
	 flow_b_encap4,
	 XDP_TX,
	 HS_R_TX_DNAT_ENCAP,
	 {N, N},
	 0,
	 b_cached},
};

FX_TABLE_MAIN("bpf/ingress", table)
