/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attaching the data-plane programs through libxdp: its multi-program
 * dispatcher where the kernel allows it, single-program attach where it
 * does not. Programs are loaded from the skeletons against the maps pinned
 * under the node's pin root, so a newer build replaces an older one in place
 * (atomically) and keeps every map entry.
 */
#ifndef HS_LOADER_ATTACH_H
#define HS_LOADER_ATTACH_H

#include <stdbool.h>
#include <stdint.h>

enum hs_role { HS_ROLE_UPLINK, HS_ROLE_VMSIDE };

enum hs_xdp_mode {
	HS_MODE_AUTO, /* native, else generic */
	HS_MODE_NATIVE,
	HS_MODE_SKB,
};

/* What is attached to one interface. */
struct hs_attach_info {
	bool attached; /* any XDP program */
	bool ours; /* one of ours, using this node's maps */
	bool dispatcher; /* libxdp dispatcher (else single program) */
	bool native; /* driver mode (else generic/skb) */
	int role; /* enum hs_role when ours; -2: a heliostat program of another
		   * node (other maps); -1: foreign or none */
	uint32_t prog_id; /* ours, or the main program */
	char prog_name[32];
	int nprogs; /* programs behind the dispatcher */
};

/* Loaded programs of both roles, sharing the maps pinned at pin. */
struct hs_progs;

int hs_progs_load(const char *pin, struct hs_progs **out);
void hs_progs_free(struct hs_progs *p);

/* Attaches role's program to ifindex. Replaces a heliostat program in place
 * (same mode, atomically), also one loaded against another node's maps (a
 * VM port that moved here); refuses a foreign program unless force. */
int hs_attach(struct hs_progs *p, enum hs_role role, int ifindex, enum hs_xdp_mode mode,
	      bool force);
/* Detaches our program from ifindex (-ENOENT when none of ours is there). */
int hs_detach(const char *pin, int ifindex);
int hs_attach_query(const char *pin, int ifindex, struct hs_attach_info *info);

const char *hs_role_name(int role);

#endif
