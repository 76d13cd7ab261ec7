// SPDX-License-Identifier: GPL-2.0
/*
 * Attach, replace, detach and inspect XDP programs (see attach.h). A program
 * is "ours" when it is xdp_uplink or xdp_vmside and uses this node's pinned
 * node_config map; one of those names with other maps belongs to another
 * node (a VM port that moved here with its program still attached) and is
 * replaced; anything else is foreign and left alone unless forced.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include "bpf/uplink.skel.h"
#include "bpf/vmside.skel.h"
#include "lib/err.h"
#include "lib/log.h"
#include "loader/attach.h"
#include "loader/state.h"

static const char *const prog_names[] = {"xdp_uplink", "xdp_vmside"};

struct hs_progs {
	struct uplink *up;
	struct vmside *vm;
	uint32_t map_id; /* node_config */
};

const char *hs_role_name(int role)
{
	return role == HS_ROLE_UPLINK ? "uplink" : role == HS_ROLE_VMSIDE ? "vmside" : "-";
}

int hs_progs_load(const char *pin, struct hs_progs **out)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .pin_root_path = pin);
	struct hs_progs *p = calloc(1, sizeof(*p));
	struct hs_maps m;
	int rc;

	if (!p)
		return -ENOMEM;
	rc = hs_maps_open(pin, true, &m); /* creates the pin directory and maps */
	if (rc)
		goto fail;
	rc = hs_maps_id(&m, &p->map_id);
	hs_maps_close(&m);
	if (rc)
		goto fail;
	p->up = uplink__open_opts(&o);
	if (!p->up || (rc = uplink__load(p->up))) {
		rc = rc ? rc : hs_neg_errno();
		hs_err("cannot load the uplink program: %s", hs_strerr(rc));
		goto fail;
	}
	p->vm = vmside__open_opts(&o);
	if (!p->vm || (rc = vmside__load(p->vm))) {
		rc = rc ? rc : hs_neg_errno();
		hs_err("cannot load the VM-side program: %s", hs_strerr(rc));
		goto fail;
	}
	*out = p;
	return 0;
fail:
	hs_progs_free(p);
	return rc;
}

void hs_progs_free(struct hs_progs *p)
{
	if (!p)
		return;
	if (p->vm)
		vmside__destroy(p->vm);
	if (p->up)
		uplink__destroy(p->up);
	free(p);
}

static int role_of_name(const char *name)
{
	for (int r = 0; r < 2; r++)
		if (!strcmp(name, prog_names[r]))
			return r;
	return -1;
}

/* Does program fd use the map with id map_id? */
static bool uses_map(int fd, uint32_t map_id)
{
	struct bpf_prog_info info = {};
	uint32_t ids[64];
	__u32 len = sizeof(info);

	info.nr_map_ids = HS_ARRAY_SIZE(ids);
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return false;
	for (uint32_t i = 0; i < info.nr_map_ids && i < HS_ARRAY_SIZE(ids); i++)
		if (ids[i] == map_id)
			return true;
	return false;
}

enum owner { OWNER_NONE, OWNER_OURS, OWNER_OTHER_NODE, OWNER_FOREIGN };

static enum owner owner_of(struct xdp_program *x, uint32_t map_id, int *role)
{
	*role = role_of_name(xdp_program__name(x));
	if (*role < 0)
		return OWNER_FOREIGN;
	return uses_map(xdp_program__fd(x), map_id) ? OWNER_OURS : OWNER_OTHER_NODE;
}

static enum xdp_attach_mode xdp_mode(enum hs_xdp_mode m)
{
	return m == HS_MODE_NATIVE ? XDP_MODE_NATIVE
	       : m == HS_MODE_SKB  ? XDP_MODE_SKB
				   : XDP_MODE_UNSPEC;
}

static struct xdp_multiprog *get_mp(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);

	if (libxdp_get_error(mp))
		return NULL;
	if (!xdp_multiprog__main_prog(mp) && !xdp_multiprog__is_legacy(mp) &&
	    !xdp_multiprog__program_count(mp)) {
		xdp_multiprog__close(mp);
		return NULL;
	}
	return mp;
}

/* Single-program mode: swap old for new in one netlink call, so not one
 * packet sees the interface without a program. */
static int replace_single(struct xdp_multiprog *mp, int ifindex, int new_fd)
{
	struct xdp_program *old = xdp_multiprog__main_prog(mp);
	LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = xdp_program__fd(old));
	__u32 flags = XDP_FLAGS_REPLACE;

	flags |= xdp_multiprog__attach_mode(mp) == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE
								: XDP_FLAGS_DRV_MODE;
	if (bpf_xdp_attach(ifindex, new_fd, flags, &o))
		return hs_neg_errno();
	return 0;
}

/* bpf_fib_lookup() answers "forwarding disabled" unless the node forwards:
 * every uplink attach (command or agent) turns it on. */
static void set_forwarding(void)
{
	static const char *const knobs[] = {"/proc/sys/net/ipv4/ip_forward",
					    "/proc/sys/net/ipv6/conf/all/forwarding"};

	for (size_t i = 0; i < HS_ARRAY_SIZE(knobs); i++) {
		FILE *f = fopen(knobs[i], "w");
		bool ok = f && fputs("1\n", f) >= 0;

		/* fclose flushes: its result counts too, and it runs once */
		if (f && fclose(f))
			ok = false;
		if (!ok)
			hs_warn("cannot enable %s (bpf_fib_lookup needs forwarding on): %s",
				knobs[i], strerror(errno));
	}
}

int hs_attach(struct hs_progs *p, enum hs_role role, int ifindex, enum hs_xdp_mode mode, bool force)
{
	int fd = role == HS_ROLE_UPLINK ? bpf_program__fd(p->up->progs.xdp_uplink)
					: bpf_program__fd(p->vm->progs.xdp_vmside);
	struct xdp_multiprog *mp = get_mp(ifindex);
	struct xdp_program *x, *old = NULL;
	int rc, old_role;

	if (role == HS_ROLE_UPLINK)
		set_forwarding();

	if (mp && xdp_multiprog__is_legacy(mp)) {
		struct xdp_program *main = xdp_multiprog__main_prog(mp);
		enum owner ow = owner_of(main, p->map_id, &old_role);

		if (ow == OWNER_FOREIGN && !force) {
			hs_err("interface %d already runs XDP program %s (id %u), not heliostat's; "
			       "detach it or use --force",
			       ifindex, xdp_program__name(main), xdp_program__id(main));
			rc = -EBUSY;
		} else {
			if (ow == OWNER_OTHER_NODE)
				hs_info("interface %d runs %s of another node; replacing it",
					ifindex, xdp_program__name(main));
			rc = replace_single(mp, ifindex, fd);
			if (rc)
				hs_err("cannot replace the XDP program on interface %d: %s",
				       ifindex, hs_strerr(rc));
		}
		xdp_multiprog__close(mp);
		return rc;
	}

	x = xdp_program__from_fd(fd);
	rc = libxdp_get_error(x);
	if (rc) {
		hs_err("libxdp cannot take program fd %d: %s", fd, hs_strerr(rc));
		xdp_multiprog__close(mp);
		return rc;
	}
	if (mp) {
		/* dispatcher: add the new program, then remove the old one */
		for (struct xdp_program *q = xdp_multiprog__next_prog(NULL, mp); q;
		     q = xdp_multiprog__next_prog(q, mp)) {
			if (owner_of(q, p->map_id, &old_role) != OWNER_FOREIGN &&
			    old_role == (int)role)
				old = q;
		}
	}
	rc = xdp_program__attach(x, ifindex, mp ? xdp_multiprog__attach_mode(mp) : xdp_mode(mode),
				 0);
	if (rc == -ENODEV) { /* it went away meanwhile: the caller decides */
		hs_debug("cannot attach %s to interface %d: it is gone", prog_names[role], ifindex);
	} else if (rc) {
		hs_err("cannot attach %s to interface %d: %s", prog_names[role], ifindex,
		       hs_strerr(rc));
	} else if (old) {
		rc = xdp_program__detach(old, ifindex, xdp_multiprog__attach_mode(mp), 0);
		if (rc)
			hs_err("cannot detach the older %s from interface %d: %s", prog_names[role],
			       ifindex, hs_strerr(rc));
	}
	if (!rc && !mp && !getenv("LIBXDP_SKIP_DISPATCHER")) {
		struct xdp_multiprog *now = get_mp(ifindex);

		/* probing the dispatcher again on every attach only repeats
		 * the kernel's refusal: remember it for this process */
		if (now && xdp_multiprog__is_legacy(now)) {
			hs_info("libxdp's dispatcher cannot load on this kernel; "
				"single-program attach from now on");
			setenv("LIBXDP_SKIP_DISPATCHER", "1", 1);
		}
		xdp_multiprog__close(now);
	}
	xdp_program__close(x);
	xdp_multiprog__close(mp);
	return rc;
}

int hs_detach(const char *pin, int ifindex)
{
	struct xdp_multiprog *mp = get_mp(ifindex);
	struct hs_attach_info info;
	struct xdp_program *q;
	int rc;

	if (!mp)
		return -ENOENT;
	rc = hs_attach_query(pin, ifindex, &info);
	if (rc || !info.ours) {
		xdp_multiprog__close(mp);
		return rc ? rc : -ENOENT;
	}
	if (xdp_multiprog__is_legacy(mp)) {
		struct xdp_program *main = xdp_multiprog__main_prog(mp);
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = xdp_program__fd(main));
		__u32 flags = XDP_FLAGS_REPLACE;

		flags |= xdp_multiprog__attach_mode(mp) == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE
									: XDP_FLAGS_DRV_MODE;
		rc = bpf_xdp_detach(ifindex, flags, &o) ? hs_neg_errno() : 0;
	} else {
		rc = -ENOENT;
		for (q = xdp_multiprog__next_prog(NULL, mp); q; q = xdp_multiprog__next_prog(q, mp))
			if (role_of_name(xdp_program__name(q)) >= 0 &&
			    (int)info.prog_id == (int)xdp_program__id(q)) {
				rc = xdp_program__detach(q, ifindex, xdp_multiprog__attach_mode(mp),
							 0);
				break;
			}
	}
	xdp_multiprog__close(mp);
	return rc;
}

int hs_attach_query(const char *pin, int ifindex, struct hs_attach_info *info)
{
	struct xdp_multiprog *mp;
	struct xdp_program *main, *q;
	struct hs_maps m;
	uint32_t map_id = 0;
	int role;

	memset(info, 0, sizeof(*info));
	info->role = -1;
	if (!hs_maps_open(pin, false, &m)) {
		hs_maps_id(&m, &map_id);
		hs_maps_close(&m);
	}
	mp = get_mp(ifindex);
	if (!mp)
		return 0;
	info->attached = true;
	info->dispatcher = !xdp_multiprog__is_legacy(mp);
	info->native = xdp_multiprog__attach_mode(mp) == XDP_MODE_NATIVE;
	info->nprogs = xdp_multiprog__program_count(mp);
	main = xdp_multiprog__main_prog(mp);
	if (main) {
		info->prog_id = xdp_program__id(main);
		snprintf(info->prog_name, sizeof(info->prog_name), "%s", xdp_program__name(main));
	}
	if (info->dispatcher) {
		for (q = xdp_multiprog__next_prog(NULL, mp); q; q = xdp_multiprog__next_prog(q, mp))
			if (map_id && owner_of(q, map_id, &role) == OWNER_OURS) {
				info->ours = true;
				info->role = role;
				info->prog_id = xdp_program__id(q);
				snprintf(info->prog_name, sizeof(info->prog_name), "%s",
					 xdp_program__name(q));
			}
	} else if (main && map_id && owner_of(main, map_id, &role) == OWNER_OURS) {
		info->ours = true;
		info->role = role;
	} else if (main) {
		info->role = role_of_name(xdp_program__name(main)) >= 0 ? -2 : -1;
	}
	xdp_multiprog__close(mp);
	return 0;
}
