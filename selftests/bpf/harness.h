/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Data-plane test harness: a private network namespace whose FIB and
 * neighbour table make bpf_fib_lookup() answer predictably, the programs
 * (uplink, VM side as XDP and as TC) loaded with maps pinned in a private
 * bpffs directory, map writers built on bpf/hs_abi.h, and one call that runs
 * a program on a packet through BPF_PROG_TEST_RUN (an skb for the TC
 * program). Addresses and MACs of the fixed scenario are below.
 */
#ifndef HS_TEST_HARNESS_H
#define HS_TEST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf/hs_abi.h"
#include "selftests/bpf/pkt.h"

/* The scenario. "US" is the node under test. */
#define US4 "192.0.2.1"
#define US6 "2001:db8:2::1"
#define HOSTB4 "192.0.2.2"
#define HOSTB6 "2001:db8:2::2"
#define HOSTC4 "192.0.2.3"
#define STRANGER4 "192.0.2.99"
#define CLIENT4 "198.51.100.2"
#define CLIENT6 "2001:db8:1::2"
#define PUB4 "203.0.113.10"
#define PUB6 "2001:db8:f::10"
#define PUBP4 "203.0.113.20" /* port bindings only */
#define VM4 "10.77.0.10"
#define VM6 "fd00:77::10"
#define VM2_4 "10.77.0.11"
#define VM2_6 "fd00:77::11"

#define MAC_UPLINK "02:00:00:00:00:01"
#define MAC_CLIENT "02:00:00:00:01:02"
#define MAC_HOSTB "02:00:00:00:02:02"
#define MAC_HOSTC "02:00:00:00:02:03"
#define MAC_GW "02:00:00:00:0a:01" /* host end of VM 1's veth */
#define MAC_GW2 "02:00:00:00:0a:02" /* host end of VM 2's veth */
#define MAC_VM "52:54:00:00:00:10"
#define MAC_VM2 "52:54:00:00:00:11"

#define VNI 42
#define MTU 1500

struct dp {
	struct uplink *up;
	struct vmside *vm;
	struct uplink_tc *up_tc;
	struct vmside_tc *tc;
	char pin[128];
	int if_up; /* uplink (ingress for uplink tests) */
	int if_vm; /* host end of VM 1's veth */
	int if_vm2; /* host end of VM 2's veth */
	uint16_t gso_size; /* TC runs: the skb's gso_size (0: not GSO) */
	bool tc_hook; /* a fixture runs on the TC hook: dp_send() sends to the TC
		       * programs, dp_fe_slot_*() use the TC uplink's fe_cache */
};

/* DP_UPLINK_TC, DP_VMSIDE_TC: the programs on the TC hook; their verdicts
 * are TC_ACT_*, the XDP ones' XDP_*. */
enum dp_prog { DP_UPLINK, DP_VMSIDE, DP_UPLINK_TC, DP_VMSIDE_TC };

static inline bool dp_is_tc(enum dp_prog p)
{
	return p == DP_UPLINK_TC || p == DP_VMSIDE_TC;
}

/* The same program on the other hook. */
static inline enum dp_prog dp_tc_of(enum dp_prog p)
{
	return p == DP_UPLINK ? DP_UPLINK_TC : DP_VMSIDE_TC;
}

#define DP_TC_ACT_OK 0
#define DP_TC_ACT_SHOT 2
#define DP_TC_ACT_REDIRECT 7

/* The TC verdict for what an XDP verdict does to the packet (XDP_TX and
 * XDP_REDIRECT both become a redirect). */
int dp_tc_verdict(int xdp_verdict);

/* Sets up the namespace (once per process), pins the process to the CPU it
 * runs on, and loads both programs. 0/-errno. */
int dp_open(struct dp *d);
void dp_close(struct dp *d);
/* Empties every map and writes the default node config. */
int dp_reset(struct dp *d);

struct hs_ip dp_ip(const char *s);
void dp_mac(const char *s, uint8_t out[6]);

/* Map writers; each bumps the generation (invalidates every fe_cache slot),
 * as loader/state.c does. */
int dp_config(struct dp *d, const struct hs_node_config *c);
void dp_default_config(struct hs_node_config *c);
int dp_binding(struct dp *d, const char *pub, uint16_t port, uint8_t proto, const char *vm,
	       uint16_t vm_port);
int dp_vm_local(struct dp *d, const char *addr, int ifindex, const char *mac, const char *gw,
		const char *entry);
int dp_vm_remote(struct dp *d, const char *addr, enum hs_vm_kind kind, const char *host,
		 const char *entry);
/* The same with the VM's MAC given. */
int dp_vm_remote_mac(struct dp *d, const char *addr, enum hs_vm_kind kind, const char *host,
		     const char *entry, const char *mac);
int dp_peer(struct dp *d, const char *addr);
int dp_peer_del(struct dp *d, const char *addr);
int dp_binding_del(struct dp *d, const char *pub, uint16_t port, uint8_t proto);
int dp_vm_del(struct dp *d, const char *addr);
/* A nexthops entry on every CPU (expires: coarse-clock ns). */
int dp_nexthop_put(struct dp *d, const char *dst, int ifindex, const char *dmac, const char *smac,
		   uint64_t expires);
/* The generation alone: bump, read, write (a test may turn it back to make
 * a stale fe_cache slot valid again, proving that a hit skips the maps). */
int dp_gen_bump(struct dp *d);
int dp_gen_get(struct dp *d, uint64_t *gen);
int dp_gen_set(struct dp *d, uint64_t gen);
/* This CPU's fe_cache slot for a tuple as received: key (ports network
 * order), or addresses and host-order ports. */
int dp_fe_slot_of(struct dp *d, const struct hs_fe_key *key, struct hs_fe_slot *slot);
int dp_fe_slot_get(struct dp *d, const char *src, const char *dst, uint16_t sport, uint16_t dport,
		   uint8_t proto, struct hs_fe_slot *slot);
int dp_fe_slot_put(struct dp *d, const char *src, const char *dst, uint16_t sport, uint16_t dport,
		   uint8_t proto, const struct hs_fe_slot *slot);
/* This CPU's rp_cache slot (XDP uplink only) for an IPv4 reply as received:
 * outer source peer, inner tuple (host-order ports); read, or written. */
int dp_rp_slot_io(struct dp *d, const char *peer, const char *vm, const char *client,
		  uint16_t vm_port, uint16_t client_port, uint8_t proto, struct hs_rp_slot *slot,
		  bool write);
/* This CPU's copy of the XDP uplink's fk_scratch: the flow key its fast
 * path last learned for a local VM (read, or written). */
int dp_fk_scratch_io(struct dp *d, struct hs_flow_key *key, bool write);
/* This CPU's vr_cache slot (XDP VM side only) for an IPv4 packet a VM sends
 * (host-order ports); read, or written. */
int dp_vr_slot_io(struct dp *d, const char *vm, const char *client, uint16_t vm_port,
		  uint16_t client_port, uint8_t proto, struct hs_vr_slot *slot, bool write);
int dp_vr_slot_of(struct dp *d, __be32 vm, __be32 client, __be16 vm_port, __be16 client_port,
		  uint8_t proto, struct hs_vr_slot *slot);
/* The same, read, with the addresses and ports as in the packet. */
int dp_rp_slot_of(struct dp *d, __be32 peer, __be32 vm, __be32 client, __be16 vm_port,
		  __be16 client_port, uint8_t proto, struct hs_rp_slot *slot);
/* Like the data plane's own flow writes, these do not bump the generation. */
int dp_flow_put(struct dp *d, const char *client, uint16_t cport, const char *vm, uint16_t vport,
		uint8_t proto, const char *entry);
int dp_flow_del(struct dp *d, const char *client, uint16_t cport, const char *vm, uint16_t vport,
		uint8_t proto);
/* 0 and *entry when found, -ENOENT when not. */
int dp_flow_get(struct dp *d, const char *client, uint16_t cport, const char *vm, uint16_t vport,
		uint8_t proto, struct hs_ip *entry);
int dp_flow_count(struct dp *d);

/* Sum over CPUs of every counter. */
int dp_counters(struct dp *d, uint64_t out[HS_R_MAX]);
const char *dp_reason_name(int r);

/* Builds a packet and runs prog (its TC twin under tc_hook) on it (default
 * ingress); output dropped. */
int dp_send(struct dp *d, enum dp_prog prog, void (*build)(struct pkt *), int *verdict);

/* Runs prog on in; ingress is the ctx ingress ifindex. Output in out. */
int dp_run(struct dp *d, enum dp_prog prog, int ingress, const uint8_t *in, size_t len,
	   uint8_t *out, size_t *out_len, int *verdict);

/* The standard maps for the scenario: bindings for PUB4 (address only ->
 * VM4; tcp/80 -> VM4:8080; udp/53 -> VM4:5353), PUB6 (address only -> VM6),
 * PUBP4 (tcp/443 -> VM4:443 only, plus the marker), peers HOSTB4/HOSTB6/
 * HOSTC4, and VM4/VM6 local on if_vm (vm_local) or on host HOSTB (not). */
int dp_std_maps(struct dp *d, bool vm_local);

const char *dp_verdict_name(int v);
/* The name of verdict v of prog. */
const char *dp_act_name(enum dp_prog prog, int v);

#endif
