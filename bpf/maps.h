/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Map definitions shared by every heliostat BPF object. All are pinned by
 * name (LIBBPF_PIN_BY_NAME) under the loader's pin root, so the uplink and
 * VM-side objects, and re-attached newer builds, share one set of maps.
 * Contract: count() bumps one per-CPU counter and never fails.
 */
#ifndef HS_MAPS_H
#define HS_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "bpf/hs_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hs_node_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} node_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HS_BINDING_MAX);
	__type(key, struct hs_binding_key);
	__type(value, struct hs_binding);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} bindings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HS_BINDING_MAX);
	__type(key, struct hs_rbinding_key);
	__type(value, struct hs_rbinding);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} rbindings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HS_VM_MAX);
	__type(key, struct hs_ip);
	__type(value, struct hs_vm);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HS_FLOW_MAX);
	__type(key, struct hs_flow_key);
	__type(value, struct hs_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, HS_PEER_MAX);
	__type(key, struct hs_ip);
	__type(value, struct hs_peer);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} peers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, HS_NEXTHOP_MAX);
	__type(key, struct hs_ip);
	__type(value, struct hs_nexthop_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nexthops SEC(".maps");

/* Mappable so that every user-space writer can bump it atomically. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct hs_generation);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} generation SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HS_R_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

static __always_inline void count(enum hs_reason r)
{
	__u32 k = r;
	__u64 *v = bpf_map_lookup_elem(&counters, &k);

	if (v)
		*v += 1;
}

#endif
