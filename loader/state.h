/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The node's data-plane state, read and written through the pinned maps:
 * bindings (with their reverse entries and port markers), VM locations,
 * peers, the node config, flows and counters. Every writer validates all of
 * its input before touching a map and undoes its earlier writes when a later
 * one fails, so a command either applies whole or not at all. Every writer
 * ends by bumping the generation, so that no program uses a result it cached
 * from the maps before the write (docs/dataplane.md, "Front-end flow cache").
 */
#ifndef HS_LOADER_STATE_H
#define HS_LOADER_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "bpf/hs_abi.h"

static inline bool hs_ip_eq(const struct hs_ip *a, const struct hs_ip *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* All zero: "no address" in every map value and record. */
static inline bool hs_ip_is_zero(const struct hs_ip *ip)
{
	static const struct hs_ip zero;

	return hs_ip_eq(ip, &zero);
}

struct hs_maps {
	int node_config;
	int bindings;
	int rbindings;
	int vms;
	int flows;
	int peers;
	int nexthops;
	int counters;
	int generation; /* -1 while no program of this build was loaded here */
	struct hs_generation *gen; /* generation mapped, or NULL */
	char pin[256];
};

/* Opens the maps pinned under pin; when they are absent and create is set,
 * loads the BPF objects once so that libbpf creates and pins them. */
int hs_maps_open(const char *pin, bool create, struct hs_maps *m);
void hs_maps_close(struct hs_maps *m);
/* Kernel id of the pinned node_config map: identifies "our" programs. */
int hs_maps_id(const struct hs_maps *m, uint32_t *id);

/* Adds one to generation[0] atomically (every process that writes the maps
 * may do so at once). The writers below call it after their map writes;
 * code that writes node_config, bindings, vms, peers or nexthops any other
 * way must call it after each write. 0, or -errno when the generation exists
 * but could not be bumped (logged). */
int hs_generation_bump(const struct hs_maps *m);

int hs_config_get(const struct hs_maps *m, struct hs_node_config *c);
int hs_config_put(const struct hs_maps *m, const struct hs_node_config *c);

struct hs_binding_spec {
	struct hs_ip pub;
	uint16_t port; /* host order; 0 = address only */
	uint8_t proto; /* IPPROTO_TCP/UDP; 0 with port 0 */
	struct hs_ip vm;
	uint16_t vm_port; /* host order; 0 = keep */
	uint32_t vm_id;
};

/* Validates a binding without touching a map (errors logged): -EINVAL. */
int hs_binding_check(const struct hs_binding_spec *b);
/* Adds or replaces a binding, its reverse and the address's port marker.
 * -EINVAL: families differ, port without proto, vm_port on an address-only
 * binding; -EEXIST: the VM already answers as another public address here. */
int hs_binding_add(const struct hs_maps *m, const struct hs_binding_spec *b);
/* Removes a binding and its reverse; drops the marker with the last port. */
int hs_binding_del(const struct hs_maps *m, const struct hs_ip *pub, uint16_t port, uint8_t proto);

int hs_vm_put(const struct hs_maps *m, const struct hs_ip *addr, const struct hs_vm *v);
int hs_vm_get(const struct hs_maps *m, const struct hs_ip *addr, struct hs_vm *v);
int hs_vm_del(const struct hs_maps *m, const struct hs_ip *addr);

int hs_peer_put(const struct hs_maps *m, const struct hs_ip *addr, const struct hs_peer *p);
int hs_peer_del(const struct hs_maps *m, const struct hs_ip *addr);

/* Sums the per-CPU counters. */
int hs_counters_read(const struct hs_maps *m, uint64_t out[HS_R_MAX]);
int hs_counters_reset(const struct hs_maps *m);
const char *hs_reason_name(int r);
const char *hs_reason_desc(int r);

/* The MAC address of interface name. 0/-errno. */
int hs_if_mac(const char *name, uint8_t mac[6]);

/* Deletes every entry of a hash map (flows, nexthops). Returns the count.
 * When fd belongs to maps opened with hs_maps_open() in this process, their
 * generation is bumped (next hops copied into the cache go too). */
int hs_map_flush(int fd, uint32_t key_size);

/* Iterates a hash map: fn(key, value, arg) for each entry; stops on non-zero. */
int hs_map_each(int fd, uint32_t key_size, uint32_t value_size,
		int (*fn)(const void *key, const void *value, void *arg), void *arg);

#endif
