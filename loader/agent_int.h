/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The node agent's internals, shared by agent.c (configuration file,
 * rtnetlink, next hops) and etcdsync.c (cluster state from etcd).
 */
#ifndef HS_LOADER_AGENT_INT_H
#define HS_LOADER_AGENT_INT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/log.h"
#include "loader/attach.h"
#include "loader/state.h"

#define AGENT_MAX_VMS 256
#define AGENT_MAX_PEERS 64

struct vm_conf {
	char name[64];
	struct hs_ip addr[2]; /* IPv4 (mapped), IPv6 */
	bool has[2];
	uint8_t mac[6];
	char ifname[IF_NAMESIZE];
	struct hs_ip entry;
	uint32_t id;
	bool incoming; /* migrating here (etcd mode): INCOMING, not LOCAL */
	struct hs_ip from; /* incoming: the source host's underlay address */
};

struct agent_conf {
	/* [node]: each field applies only when set */
	char uplink[IF_NAMESIZE];
	struct hs_ip underlay4, underlay6;
	bool has_u4, has_u6, has_vni, has_port, has_mtu;
	uint32_t vni, port, mtu;
	struct hs_ip peers[AGENT_MAX_PEERS];
	int npeers;
	/* [agent] */
	char pattern[64];
	uint32_t nh_refresh; /* seconds between next-hop checks; 0 = never */
	enum hs_xdp_mode mode;
	enum hs_hook vmside_hook; /* where VM ports get the VM-side program */
	enum hs_log_level level;
	/* [etcd]: when endpoints is set the cluster state comes from etcd
	 * (etcdsync.c) and the VMs and peers below are filled from it */
	char node_name[64];
	char etcd_endpoints[512];
	char etcd_prefix[128];
	char etcd_ca[256], etcd_cert[256], etcd_key[256];
	/* [vm NAME] */
	struct vm_conf vms[AGENT_MAX_VMS];
	int nvms;
};

struct agent_stats {
	uint64_t links, attached, attach_errors, entries_written, entries_removed, bad_msgs,
		resyncs, nexthops;
};

struct hs_sync;

struct agent {
	const char *pin;
	const char *path;
	struct agent_conf *conf;
	struct hs_maps m;
	struct hs_progs *progs;
	struct mnl_socket *nl;
	unsigned int seq;
	struct agent_stats st;
	struct hs_sync *sync; /* etcd mode, else NULL */
};

/* agent.c */
int agent_nl_dump(struct agent *a); /* re-reads every link (matching VM ports) */
void agent_keep_nexthops(struct agent *a);
void agent_drop_local(struct agent *a, int ifindex, const char *why);

/* etcdsync.c: 0 or -errno */
int hs_sync_start(struct agent *a);
int hs_sync_fd(const struct agent *a);
void hs_sync_mark_dirty(struct agent *a);
void hs_sync_dispatch(struct agent *a);
void hs_sync_tick(struct agent *a);
void hs_sync_stop(struct agent *a);

#endif
