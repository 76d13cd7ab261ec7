/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one definition of everything that crosses the kernel boundary: map
 * keys and values, the node config, and the verdict-reason counters. Included
 * by the BPF programs (after vmlinux.h) and by user space (loader, tests,
 * benchmarks). Fixed-width types, explicit padding, sizes asserted.
 *
 * Addresses are 16 bytes, network order; IPv4 is IPv4-mapped
 * (::ffff:a.b.c.d) so one key type serves both families.
 */
#ifndef HS_ABI_H
#define HS_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define HS_PIN_DIR "/sys/fs/bpf/heliostat"
#define HS_VXLAN_PORT 4789
#define HS_FLOW_MAX 262144
#define HS_BINDING_MAX 65536
#define HS_VM_MAX 65536
#define HS_PEER_MAX 4096

struct hs_ip {
	__u8 b[16];
};

/* node_config[0]: this node's identity, written by the loader. */
struct hs_node_config {
	struct hs_ip underlay4; /* outer source for IPv4 peers (mapped), or zero */
	struct hs_ip underlay6; /* outer source for IPv6 peers, or zero */
	__u32 vni; /* VXLAN network identifier, 24 bits */
	__be16 vxlan_port; /* outer UDP destination port */
	__u16 underlay_mtu; /* IP MTU of the underlay; 0 = no check */
	__u32 flags; /* HS_CFG_F_* */
	__u32 uplink_ifindex; /* where SNATed replies leave when local */
};

enum hs_cfg_flags {
	HS_CFG_F_ENABLED = 1 << 0, /* config written; until then all passes */
	HS_CFG_F_FRAG_FORWARD = 1 << 1, /* translate fragments on address-only bindings */
};

/*
 * bindings: public address (+ protocol + port) at this front-end -> VM.
 * Looked up exact first, then with proto = 0 and port = 0 (address only).
 */
struct hs_binding_key {
	struct hs_ip pub;
	__be16 port; /* 0 = any */
	__u8 proto; /* IPPROTO_TCP/UDP, 0 = any */
	__u8 pad;
};

struct hs_binding {
	struct hs_ip vm; /* overlay address of the VM; zero in a marker */
	__be16 vm_port; /* 0 = keep the port */
	__u16 flags; /* HS_BIND_F_*, on address-only entries */
	__u32 vm_id;
};

enum hs_binding_flags {
	/* The address also has port bindings: look them up. An address with
	 * only port bindings gets an address-only marker (vm zero) with this
	 * flag, so the common case costs one hash lookup. */
	HS_BIND_F_PORTS = 1 << 0,
};

/*
 * rbindings: the reverse of bindings, for SNAT of replies leaving through
 * this front-end: (vm address, proto, vm port) -> (public address, port).
 * Looked up exact, then address only. Derived by the loader from bindings.
 */
struct hs_rbinding_key {
	struct hs_ip vm;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

struct hs_rbinding {
	struct hs_ip pub;
	__be16 pub_port; /* 0 = keep the port */
	__u16 pad;
};

/* vms: where a VM's overlay address lives, as seen from this node. */
enum hs_vm_kind {
	HS_VM_LOCAL = 1, /* on this host, behind ifindex */
	HS_VM_REMOTE = 2, /* on host `host` */
	HS_VM_FORWARD = 3, /* just moved to `host`: forward, flagged */
	HS_VM_INCOMING = 4, /* migrating here from `host`, behind ifindex: still
			     * REMOTE, but packets `host` forwards (flagged) and
			     * what the VM sends on ifindex are local */
};

struct hs_vm {
	__u32 kind; /* enum hs_vm_kind */
	__u32 ifindex; /* LOCAL: the VM's tap/veth (host side) */
	__u8 mac[6]; /* LOCAL: the VM's MAC (frames to it) */
	__u8 gw_mac[6]; /* LOCAL: source MAC of frames to the VM */
	struct hs_ip host; /* REMOTE/FORWARD: underlay address of its host */
	struct hs_ip entry; /* underlay address of the front-end of its primary
				 * binding: replies with no flow entry leave there */
	__u32 epoch;
	__u32 vm_id;
};

/* flows: on the host that runs the VM, which front-end a client flow
 * entered by, so replies leave there. LRU; learned on ingress. */
struct hs_flow_key {
	struct hs_ip client;
	struct hs_ip vm;
	__be16 client_port; /* ICMP echo: the identifier */
	__be16 vm_port;
	__u8 proto;
	__u8 pad[3];
};

struct hs_flow {
	struct hs_ip entry; /* underlay address of the front-end */
	__u32 vm_id;
	__u32 pad;
};

/* nexthops: per-CPU cache of bpf_fib_lookup() results by destination,
 * refreshed after HS_NEXTHOP_TTL_NS (a FIB lookup costs ~110 ns here, a
 * cache hit one hash lookup). Written by the programs; the agent may flush
 * it on neighbour changes. */
#define HS_NEXTHOP_MAX 65536
#define HS_NEXTHOP_TTL_NS 1000000000ULL

struct hs_nexthop_entry {
	__u64 expires; /* bpf_ktime_get_coarse_ns() deadline */
	__u32 ifindex;
	__u8 dmac[6];
	__u8 smac[6];
	__u16 pad;
	__u32 pad2;
};

/*
 * generation[0]: bumped (atomically, through a user-space mmap of the map)
 * after every control-plane write to node_config, bindings, rbindings, vms,
 * peers or nexthops. A program reads it before the lookups whose results it caches
 * and stores it with them; a cached result whose generation differs is not
 * used. See loader/state.c (hs_generation_bump) and docs/dataplane.md.
 */
struct hs_generation {
	__u64 gen;
};

/*
 * fe_cache: per-CPU direct-mapped cache of the front-end path (packets to a
 * binding on the uplink), private to each uplink object. Slot index =
 * hs_fe_slot_index() of the packet's tuple as received (before DNAT). A slot
 * holds the tuple it was filled for and everything the binding, vms and
 * nexthops lookups and the FIB gave that packet; a packet whose tuple,
 * generation and (for a remote VM) next-hop deadline match skips those
 * lookups. Fragments and ICMP errors are never cached.
 */
#define HS_FE_CACHE_BITS 12
#define HS_FE_CACHE_SLOTS (1u << HS_FE_CACHE_BITS)
/* A hit re-reads the coarse clock for a remote VM's next-hop deadline only
 * this many jiffies (25-250 ms for HZ 1000-100) after the last check. */
#define HS_FE_RECHECK_JIFFIES 25

struct hs_fe_key {
	struct hs_ip src; /* client */
	struct hs_ip dst; /* public address */
	__be16 sport; /* ICMP echo: the identifier in both */
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct hs_fe_slot {
	struct hs_fe_key key;
	__u64 gen; /* generation[0] read before the lookups that filled it */
	__u64 expires; /* REMOTE/FORWARD: the next hop's coarse-clock deadline */
	__u32 checked; /* jiffies (low 32 bits) when expires was last checked */
	__u8 kind; /* 0 empty, HS_VM_LOCAL, or HS_VM_REMOTE for any other kind */
	__u8 fast4; /* REMOTE, IPv4 tuple and host: tmpl, osum, d_ip, d_l4 valid */
	__be16 vm_port; /* binding.vm_port: 0 = keep the port */
	struct hs_ip vm; /* DNAT destination (binding.vm) */
	struct hs_ip host; /* REMOTE/FORWARD: outer destination (vm.host) */
	__u32 vm_id; /* binding.vm_id, for learned flows */
	__u32 ifindex; /* LOCAL: vm.ifindex; else the FIB egress */
	__u32 hash; /* hs_flow_hash() of the translated tuple: outer UDP sport */
	__u8 mac[6]; /* vm.mac: inner Ethernet destination */
	__u8 gw_mac[6]; /* vm.gw_mac: inner Ethernet source */
	__u8 dmac[6]; /* REMOTE/FORWARD: outer Ethernet destination (FIB) */
	__u8 smac[6]; /* REMOTE/FORWARD: outer Ethernet source (FIB) */
	__u32 pad2;
	/* fast4: the 50 bytes of outer headers (Ethernet, IPv4, UDP, VXLAN)
	 * and the 12 of inner Ethernet addresses the packet leaves with, its
	 * lengths and outer IPv4 checksum zero; the 16-bit sum of that IPv4
	 * header; the inner IPv4 and transport checksum deltas of the DNAT */
	__u64 tmpl[8];
	__u32 osum;
	__u32 d_ip;
	__u32 d_l4;
	__u32 pad3;
};

/*
 * rp_cache: per-CPU direct-mapped cache of what the XDP uplink does with
 * VXLAN from a peer, private to each XDP uplink object; IPv4 outside and
 * inside, TCP and UDP. Two kinds: a reply at the front-end (decapsulated,
 * SNATed to the public address, sent toward the client), and a packet for
 * a VM running here (decapsulated, its flow learned, delivered). Key: the
 * outer source and the inner tuple as received; slot index
 * hs_rp_slot_index4(). Filled by the full path, used by the XDP fast path;
 * the generation and next-hop deadline rules are fe_cache's.
 */
#define HS_RP_CACHE_SLOTS HS_FE_CACHE_SLOTS

enum hs_rp_kind {
	HS_RP_SNAT = 1, /* a reply: SNAT to pub, out through the FIB's egress */
	HS_RP_LOCAL = 2, /* for a local VM: to its port */
};

struct hs_rp_slot {
	__be32 peer; /* outer source: the VM's host, or the front-end */
	__be32 src; /* inner source */
	__be32 dst; /* inner destination */
	__be16 sport; /* inner source port */
	__be16 dport;
	__u8 proto;
	__u8 kind; /* 0 empty, enum hs_rp_kind */
	__be16 pub_port; /* SNAT: rbinding.pub_port, 0 = keep the port */
	__be32 pub; /* SNAT: rbinding.pub, the new source */
	__u32 checked; /* SNAT: jiffies (low 32 bits) when expires was last checked */
	__u32 ifindex; /* SNAT: FIB egress toward the client; LOCAL: the VM's port */
	__u64 gen; /* generation[0] read before the lookups that filled it */
	__u64 expires; /* SNAT: the next hop's coarse-clock deadline */
	__u32 d_ip; /* SNAT: inner IPv4 header checksum delta */
	__u32 d_l4; /* SNAT: inner TCP/UDP checksum delta (address and port) */
	__u8 dmac[6]; /* Ethernet destination: FIB (SNAT); the VM's (LOCAL) */
	__u8 smac[6]; /* Ethernet source: FIB (SNAT); its gateway's (LOCAL) */
	__u8 fwd; /* LOCAL: the forwarded flag (HS_VXLAN_RSVD_FWD) it holds for */
	__u8 learn; /* LOCAL: learn the flow (not forwarded, source not a VM) */
	__u16 pad;
	__u32 vm_id; /* LOCAL: the VM's id, for the learned flow */
	__u32 pad2;
	struct hs_ip entry; /* LOCAL: peer in the 16-byte form, the learned entry */
};

/*
 * vr_cache: per-CPU direct-mapped cache of the VM-side program's paths (a
 * VM's reply to a client, encapsulated to the flow's front-end or SNATed
 * here when that is us; a VM's packet to another VM, encapsulated to its
 * host or delivered here), private to each XDP VM-side object; IPv4 inside and outside, TCP
 * and UDP. Key: the VM's port and the tuple as sent; slot index
 * hs_fe_slot_index4(). The flows entry it was filled from is not trusted:
 * each packet still looks its flow up and must find the same answer.
 */
enum hs_vr_kind {
	HS_VR_REPLY_ENCAP = 1, /* a reply, encapsulated to the flow's front-end */
	HS_VR_REPLY_SNAT = 2, /* a reply, SNATed here (we are the front-end) */
	HS_VR_EW_ENCAP = 3, /* to a VM on another host */
	HS_VR_EW_LOCAL = 4, /* to a VM on this host */
};

struct hs_vr_slot {
	__be32 vm; /* source */
	__be32 client; /* destination (east-west: the other VM) */
	__be16 vm_port;
	__be16 client_port;
	__u8 proto;
	__u8 kind; /* 0 empty, enum hs_vr_kind */
	__u8 has_flow; /* replies: the flows entry existed (and said host) */
	__u8 pad;
	__u32 in_ifindex; /* the VM's port: where the packet must come from */
	__u32 ifindex; /* FIB egress toward host or the client; EW_LOCAL: the VM's port */
	__u32 checked; /* jiffies (low 32 bits) when expires was last checked */
	__be32 host; /* replies: the entry (the VM's own when has_flow is 0) */
	__u64 gen; /* generation[0] read before the lookups that filled it */
	__u64 expires; /* the next hop's coarse-clock deadline (not EW_LOCAL) */
	/* REPLY_ENCAP: encap_tmpl4()'s outer headers, lengths and checksum 0;
	 * EW_ENCAP: the same and the inner Ethernet addresses after them;
	 * REPLY_SNAT, EW_LOCAL: the Ethernet destination and source */
	__u64 tmpl[8];
	__u32 osum; /* *_ENCAP: 16-bit sum of the template's IPv4 header */
	__be32 pub; /* REPLY_SNAT: rbinding.pub */
	__u32 d_ip; /* REPLY_SNAT: IPv4 header checksum delta */
	__u32 d_l4; /* REPLY_SNAT: TCP/UDP checksum delta (address and port) */
	__be16 pub_port; /* REPLY_SNAT: rbinding.pub_port, 0 = keep the port */
	__u16 pad1;
	__u32 pad2;
};

/* peers: underlay addresses VXLAN is accepted from. */
struct hs_peer {
	__u32 host_id;
	__u32 flags;
};

/*
 * VXLAN flag (RFC 7348 reserved bits, first reserved byte after the flags):
 * set on packets a forwarding pointer re-encapsulated, so the destination
 * does not learn the forwarder as the flow's front-end. Ignored by other
 * VXLAN endpoints.
 */
#define HS_VXLAN_RSVD_FWD 0x01

/*
 * Verdict reasons: every pass, drop, redirect or transmit bumps exactly one
 * per-CPU counter. X(name, description). The index is the enum value.
 */
/* clang-format off */
#define HS_REASONS(X)                                                        \
	X(PASS_NOT_IP, "not IP/IPv6: passed to the stack")                  \
	X(PASS_NO_BINDING, "not for a binding or peer: passed to the stack")   \
	X(PASS_DISABLED, "node config not written yet: passed")             \
	X(PASS_NOT_OURS, "VM sent to an address heliostat does not handle")   \
	X(TX_DNAT_LOCAL, "binding: DNAT, redirected to a local VM")          \
	X(TX_DNAT_ENCAP, "binding: DNAT, encapsulated to the VM's host")      \
	X(TX_DECAP_LOCAL, "decapsulated, redirected to a local VM")           \
	X(TX_DECAP_SNAT, "decapsulated reply: SNAT, sent to the client")      \
	X(TX_FORWARD, "forwarding pointer: re-encapsulated to the new host")  \
	X(TX_REPLY_SNAT, "VM reply: SNAT, sent out locally")                 \
	X(TX_REPLY_ENCAP, "VM reply: encapsulated to its front-end")          \
	X(TX_EW_LOCAL, "VM to VM: redirected on this host")                   \
	X(TX_EW_ENCAP, "VM to VM: encapsulated to the peer's host")          \
	X(TX_ICMP_TOOBIG, "too big for the underlay: ICMP error sent back")   \
	X(FLOW_LEARNED, "flow entry created (not a verdict)")                 \
	X(MSS_CLAMPED, "TCP MSS clamped (not a verdict)")                     \
	X(FRAG_TRANSLATED, "IP fragment translated (not a verdict)")          \
	X(DROP_FRAG, "IP fragment on a port binding: dropped")               \
	X(DROP_MALFORMED_L2, "truncated Ethernet/VLAN header")               \
	X(DROP_MALFORMED_IP, "bad IPv4 header (version, IHL, length)")       \
	X(DROP_MALFORMED_IP6, "bad IPv6 header or extension chain")          \
	X(DROP_MALFORMED_L4, "truncated or bad TCP/UDP/ICMP header")         \
	X(DROP_MALFORMED_VXLAN, "bad VXLAN header or inner frame")          \
	X(DROP_UNKNOWN_PEER, "VXLAN from an underlay address not a peer")    \
	X(DROP_BAD_VNI, "VXLAN with a wrong VNI or flags")                    \
	X(DROP_NO_VM, "binding or decap target has no VM location")          \
	X(DROP_DECAP_NO_TARGET, "decapsulated packet for no local VM or binding") \
	X(DROP_SPOOF, "VM sent from an address not its own")                  \
	X(DROP_NO_ROUTE, "FIB lookup failed: no route or neighbour")          \
	X(DROP_TOO_BIG, "too big for the underlay, no ICMP error possible")   \
	X(DROP_FWD_LOOP, "forwarded packet would be forwarded again")         \
	X(DROP_ERROR, "internal error (adjust_head/tail failed)")

/* clang-format on */

enum hs_reason {
#define HS_REASON_ENUM(name, desc) HS_R_##name,
	HS_REASONS(HS_REASON_ENUM)
#undef HS_REASON_ENUM
		HS_R_MAX
};

_Static_assert(sizeof(struct hs_ip) == 16, "hs_ip");
_Static_assert(sizeof(struct hs_node_config) == 48, "hs_node_config");
_Static_assert(sizeof(struct hs_binding_key) == 20, "hs_binding_key");
_Static_assert(sizeof(struct hs_binding) == 24, "hs_binding");
_Static_assert(sizeof(struct hs_rbinding_key) == 20, "hs_rbinding_key");
_Static_assert(sizeof(struct hs_rbinding) == 20, "hs_rbinding");
_Static_assert(sizeof(struct hs_vm) == 60, "hs_vm");
_Static_assert(sizeof(struct hs_flow_key) == 40, "hs_flow_key");
_Static_assert(sizeof(struct hs_flow) == 24, "hs_flow");
_Static_assert(sizeof(struct hs_peer) == 8, "hs_peer");
_Static_assert(sizeof(struct hs_nexthop_entry) == 32, "hs_nexthop_entry");
_Static_assert(sizeof(struct hs_generation) == 8, "hs_generation");
_Static_assert(sizeof(struct hs_fe_key) == 40, "hs_fe_key");
_Static_assert(sizeof(struct hs_fe_slot) == 216, "hs_fe_slot");
_Static_assert(sizeof(struct hs_rp_slot) == 96, "hs_rp_slot");
_Static_assert(sizeof(struct hs_vr_slot) == 136, "hs_vr_slot");

#endif
