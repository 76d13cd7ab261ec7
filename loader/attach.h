/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attaching the data-plane programs: XDP through libxdp (its multi-program
 * dispatcher where the kernel allows it, single-program attach where it
 * does not), and the VM-side program's TC hook as a cls_bpf filter in
 * direct-action mode at the clsact ingress of the VM's port. Programs are
 * loaded from the skeletons against the maps pinned under the node's pin
 * root, so a newer build replaces an older one in place (atomically) and
 * keeps every map entry.
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

/* Where a program runs on an interface. XDP: per frame, before the stack
 * (the default); whoever sends to the interface must send finished,
 * MTU-sized frames (no checksum offload, no TSO/GSO: a veth peer loses TSO
 * while XDP is attached). TC: on the skb, after the stack made one; GSO
 * packets and checksum offload are kept. */
enum hs_hook { HS_HOOK_XDP, HS_HOOK_TC };

/* The hook attach and the agent use unless told otherwise, and its name. */
#define HS_HOOK_DEFAULT HS_HOOK_XDP
const char *hs_hook_name(enum hs_hook h);
/* "xdp" or "tc": 0, else -EINVAL. */
int hs_hook_parse(const char *s, enum hs_hook *h);

/* The TC filter heliostat attaches: clsact ingress, this priority (first)
 * and handle. */
#define HS_TC_PRIO 1
#define HS_TC_HANDLE 0x4853

/* What is attached to one interface. */
struct hs_attach_info {
	bool attached; /* any XDP program, or our TC filter slot in use */
	bool ours; /* XDP: one of ours, using this node's maps */
	bool dispatcher; /* libxdp dispatcher (else single program) */
	bool native; /* driver mode (else generic/skb) */
	int role; /* enum hs_role when ours; -2: a heliostat program of another
		   * node (other maps); -1: foreign or none */
	uint32_t prog_id; /* ours, or the main program */
	char prog_name[32];
	int nprogs; /* programs behind the dispatcher */
	bool xdp; /* an XDP program is attached */
	/* the TC filter at HS_TC_PRIO/HS_TC_HANDLE on clsact ingress */
	bool tc; /* present */
	bool tc_ours; /* tc_uplink or tc_vmside with this node's maps */
	int tc_role; /* enum hs_role when ours; -2 another node's; -1 foreign */
	uint32_t tc_prog_id;
	char tc_prog_name[32];
};

/* The programs of both roles and hooks against the maps pinned at pin:
 * hs_progs_load() opens (makes) the pins, and each program is loaded on
 * its first attach. */
struct hs_progs;

int hs_progs_load(const char *pin, struct hs_progs **out);
void hs_progs_free(struct hs_progs *p);

/* Attaches role's XDP program to ifindex. Replaces a heliostat program in
 * place (same mode, atomically), also one loaded against another node's
 * maps (a VM port that moved here); refuses a foreign program unless force.
 * hs_attach_hook() also removes a TC hook of heliostat. */
int hs_attach(struct hs_progs *p, enum hs_role role, int ifindex, enum hs_xdp_mode mode,
	      bool force);
/* Attaches role's program to ifindex on hook, then removes heliostat's
 * program from the other hook, so that a live interface switches with
 * every packet handled by one of them (XDP runs first while both are
 * there). The TC filter of another node is replaced in place, a foreign one
 * at our slot refused unless force. mode: XDP only. */
int hs_attach_hook(struct hs_progs *p, enum hs_role role, int ifindex, enum hs_hook hook,
		   enum hs_xdp_mode mode, bool force);
/* Does info show role's program of this node on hook, and nothing of
 * heliostat's on the other? */
bool hs_role_on(const struct hs_attach_info *info, enum hs_role role, enum hs_hook hook);
/* Detaches our programs from ifindex, XDP and TC (-ENOENT when none of ours
 * is there); the clsact qdisc goes too when no filter is left on it. */
int hs_detach(const char *pin, int ifindex);
int hs_attach_query(const char *pin, int ifindex, struct hs_attach_info *info);

const char *hs_role_name(int role);

#endif
