/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The flow handover's wire format and its checks (handover.c speaks it;
 * kept apart, with no libvirt or libbpf, so the tests can take it alone).
 */
#ifndef HS_MIGRATED_WIRE_H
#define HS_MIGRATED_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "bpf/hs_abi.h"
#include "lib/schema.h"

/* network byte order */
#define MIGD_HO_MAGIC 0x48534648u /* "HSFH" */
#define MIGD_HO_VERSION 1u
#define MIGD_HO_MAX_FLOWS 262144u

struct migd_ho_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t reserved; /* 0 */
	uint32_t vm_id;
	uint32_t epoch; /* the VM record's epoch the source migrates from */
	uint32_t count; /* flow records that follow */
	char vm[HS_SCHEMA_NAME_MAX]; /* NUL-padded */
} __attribute__((packed));

struct migd_ho_flow {
	struct hs_flow_key key;
	struct hs_flow val;
} __attribute__((packed));

/* Checks a header read off the wire; 0 or -EINVAL with why filled. */
int migd_ho_check_hdr(const struct migd_ho_hdr *h, char *why, size_t len);
/* Checks one flow against the VM's addresses and id. */
int migd_ho_check_flow(const struct migd_ho_flow *f, const struct hs_schema_vm *vm, char *why,
		       size_t len);
#endif
