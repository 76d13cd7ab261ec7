// SPDX-License-Identifier: GPL-2.0
/*
 * Attach, replace, detach and inspect the programs (see attach.h). A program
 * is "ours" when it is one of xdp_uplink, xdp_vmside, tc_uplink, tc_vmside
 * and uses this node's pinned node_config map; one of those names with other maps belongs
 * to another node (a VM port that moved here with its program still
 * attached) and is replaced; anything else is foreign and left alone unless
 * forced. The TC hook is one cls_bpf filter at a fixed priority and handle
 * on the port's clsact ingress; rtnetlink dumps (libmnl) say what is there,
 * so that a query never makes the kernel log an error.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xdp/libxdp.h>

#include "bpf/uplink.skel.h"
#include "bpf/uplink_tc.skel.h"
#include "bpf/vmside.skel.h"
#include "bpf/vmside_tc.skel.h"
#include "lib/err.h"
#include "lib/log.h"
#include "loader/attach.h"
#include "loader/state.h"

static const char *const prog_names[] = {"xdp_uplink", "xdp_vmside"};
static const char *const tc_names[] = {"tc_uplink", "tc_vmside"};

struct hs_progs {
	char pin[256];
	struct uplink *up;
	struct vmside *vm;
	struct uplink_tc *up_tc;
	struct vmside_tc *vm_tc;
	uint32_t map_id; /* node_config */
};

const char *hs_role_name(int role)
{
	return role == HS_ROLE_UPLINK ? "uplink" : role == HS_ROLE_VMSIDE ? "vmside" : "-";
}

const char *hs_hook_name(enum hs_hook h)
{
	return h == HS_HOOK_TC ? "tc" : "xdp";
}

int hs_hook_parse(const char *s, enum hs_hook *h)
{
	if (!strcmp(s, "xdp"))
		*h = HS_HOOK_XDP;
	else if (!strcmp(s, "tc"))
		*h = HS_HOOK_TC;
	else
		return -EINVAL;
	return 0;
}

int hs_progs_load(const char *pin, struct hs_progs **out)
{
	struct hs_progs *p = calloc(1, sizeof(*p));
	struct hs_maps m;
	int rc;

	if (!p)
		return -ENOMEM;
	if (strlen(pin) >= sizeof(p->pin)) {
		rc = -ENAMETOOLONG;
		goto fail;
	}
	strcpy(p->pin, pin);
	rc = hs_maps_open(pin, true, &m); /* creates the pin directory and maps */
	if (rc)
		goto fail;
	rc = hs_maps_id(&m, &p->map_id);
	hs_maps_close(&m);
	if (rc)
		goto fail;
	*out = p;
	return 0;
fail:
	hs_progs_free(p);
	return rc;
}

/* The program of role on hook, loaded (verified) on first use only: a
 * command attaches one, and each load costs 80-180 ms of CPU here. */
static int prog_fd(struct hs_progs *p, enum hs_role role, enum hs_hook hook, int *fd)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .pin_root_path = p->pin);
	const char *what;
	int rc = 0;

	if (role == HS_ROLE_UPLINK && hook == HS_HOOK_XDP) {
		what = "the uplink program";
		if (!p->up && (!(p->up = uplink__open_opts(&o)) || (rc = uplink__load(p->up))))
			goto fail;
		*fd = bpf_program__fd(p->up->progs.xdp_uplink);
	} else if (role == HS_ROLE_UPLINK) {
		what = "the uplink program's TC hook";
		if (!p->up_tc &&
		    (!(p->up_tc = uplink_tc__open_opts(&o)) || (rc = uplink_tc__load(p->up_tc))))
			goto fail;
		*fd = bpf_program__fd(p->up_tc->progs.tc_uplink);
	} else if (hook == HS_HOOK_XDP) {
		what = "the VM-side program";
		if (!p->vm && (!(p->vm = vmside__open_opts(&o)) || (rc = vmside__load(p->vm))))
			goto fail;
		*fd = bpf_program__fd(p->vm->progs.xdp_vmside);
	} else {
		what = "the VM-side program's TC hook";
		if (!p->vm_tc &&
		    (!(p->vm_tc = vmside_tc__open_opts(&o)) || (rc = vmside_tc__load(p->vm_tc))))
			goto fail;
		*fd = bpf_program__fd(p->vm_tc->progs.tc_vmside);
	}
	return 0;
fail:
	rc = rc ? rc : hs_neg_errno();
	hs_err("cannot load %s: %s", what, hs_strerr(rc));
	return rc;
}

void hs_progs_free(struct hs_progs *p)
{
	if (!p)
		return;
	if (p->vm_tc)
		vmside_tc__destroy(p->vm_tc);
	if (p->up_tc)
		uplink_tc__destroy(p->up_tc);
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

static int tc_role_of_name(const char *name)
{
	for (int r = 0; r < 2; r++)
		if (!strcmp(name, tc_names[r]))
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
	struct xdp_multiprog *mp;
	struct xdp_program *x, *old = NULL;
	int fd, rc, old_role;

	rc = prog_fd(p, role, HS_HOOK_XDP, &fd);
	if (rc)
		return rc;
	mp = get_mp(ifindex);

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

/* Detaches the XDP program id (legacy: the interface's one program), keeping
 * any other in a dispatcher. */
static int xdp_detach_id(struct xdp_multiprog *mp, int ifindex, uint32_t id)
{
	struct xdp_program *q;

	if (xdp_multiprog__is_legacy(mp)) {
		struct xdp_program *main = xdp_multiprog__main_prog(mp);
		LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = xdp_program__fd(main));
		__u32 flags = XDP_FLAGS_REPLACE;

		if (xdp_program__id(main) != id)
			return -ENOENT;
		flags |= xdp_multiprog__attach_mode(mp) == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE
									: XDP_FLAGS_DRV_MODE;
		return bpf_xdp_detach(ifindex, flags, &o) ? hs_neg_errno() : 0;
	}
	for (q = xdp_multiprog__next_prog(NULL, mp); q; q = xdp_multiprog__next_prog(q, mp))
		if (xdp_program__id(q) == id)
			return xdp_program__detach(q, ifindex, xdp_multiprog__attach_mode(mp), 0);
	return -ENOENT;
}

/* Detaches every XDP program of heliostat, this node's or another's (a port
 * that moved here), from ifindex. */
static int xdp_detach_heliostat(int ifindex)
{
	struct xdp_multiprog *mp = get_mp(ifindex);
	struct xdp_program *q;
	uint32_t ids[8];
	int n = 0, rc = 0;

	if (!mp)
		return 0;
	if (xdp_multiprog__is_legacy(mp)) {
		q = xdp_multiprog__main_prog(mp);
		if (q && role_of_name(xdp_program__name(q)) >= 0)
			ids[n++] = xdp_program__id(q);
	} else {
		for (q = xdp_multiprog__next_prog(NULL, mp); q && n < (int)HS_ARRAY_SIZE(ids);
		     q = xdp_multiprog__next_prog(q, mp))
			if (role_of_name(xdp_program__name(q)) >= 0)
				ids[n++] = xdp_program__id(q);
	}
	/* one at a time: a dispatcher is rebuilt by each detach */
	for (int i = 0; i < n && !rc; i++) {
		if (i) {
			xdp_multiprog__close(mp);
			mp = get_mp(ifindex);
			if (!mp)
				break;
		}
		rc = xdp_detach_id(mp, ifindex, ids[i]);
	}
	xdp_multiprog__close(mp);
	return rc;
}

/* ---- the TC hook ---- */

#define TC_PARENT_INGRESS TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)
#define TC_PARENT_EGRESS TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)

/* What a dump of one clsact hook's filters showed. */
struct tc_scan {
	int filters; /* on the hook, all kinds */
	bool found; /* a filter at HS_TC_PRIO / HS_TC_HANDLE */
	uint32_t prog_id; /* its BPF program */
};

static int tc_scan_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct tcmsg *t;
	struct tc_scan *s = data;
	struct nlattr *a, *o;

	if (nlh->nlmsg_type != RTM_NEWTFILTER || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*t)))
		return MNL_CB_OK;
	t = mnl_nlmsg_get_payload(nlh);
	if (!t->tcm_handle) /* the per-priority header, not a filter */
		return MNL_CB_OK;
	s->filters++;
	if (t->tcm_handle != HS_TC_HANDLE || TC_H_MAJ(t->tcm_info) >> 16 != HS_TC_PRIO)
		return MNL_CB_OK;
	s->found = true;
	mnl_attr_for_each(a, nlh, sizeof(*t))
	{
		if (mnl_attr_get_type(a) != TCA_OPTIONS)
			continue;
		mnl_attr_for_each_nested(o, a)
		{
			if (mnl_attr_get_type(o) == TCA_BPF_ID &&
			    mnl_attr_validate(o, MNL_TYPE_U32) >= 0)
				s->prog_id = mnl_attr_get_u32(o);
		}
	}
	return MNL_CB_OK;
}

/* Dumps the filters of one clsact hook of ifindex (none when there is no
 * clsact qdisc). 0 or -errno. */
static int tc_scan(int ifindex, uint32_t parent, struct tc_scan *s)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct nlmsghdr *nlh;
	struct tcmsg *t;
	unsigned int seq = time(NULL), portid;
	ssize_t n;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = hs_neg_errno();
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETTFILTER;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	t = mnl_nlmsg_put_extra_header(nlh, sizeof(*t));
	t->tcm_family = AF_UNSPEC;
	t->tcm_ifindex = ifindex;
	t->tcm_parent = parent;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = hs_neg_errno();
		goto out;
	}
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		rc = mnl_cb_run(buf, n, seq, portid, tc_scan_cb, s);
		if (rc <= MNL_CB_STOP)
			break;
	}
	rc = n < 0 || rc < 0 ? hs_neg_errno() : 0;
out:
	if (nl)
		mnl_socket_close(nl);
	return rc;
}

/* The name of program id and whether it uses map_id; false when gone. */
static bool prog_of_id(uint32_t id, uint32_t map_id, char *name, size_t size, bool *uses)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return false;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return false;
	}
	snprintf(name, size, "%s", info.name);
	*uses = map_id && uses_map(fd, map_id);
	close(fd);
	return true;
}

static void tc_query(int ifindex, uint32_t map_id, struct hs_attach_info *info)
{
	struct tc_scan s;
	bool uses = false;
	int role;

	info->tc_role = -1;
	if (tc_scan(ifindex, TC_PARENT_INGRESS, &s) || !s.found)
		return;
	info->tc = true;
	info->tc_prog_id = s.prog_id;
	if (!s.prog_id ||
	    !prog_of_id(s.prog_id, map_id, info->tc_prog_name, sizeof(info->tc_prog_name), &uses))
		return;
	role = tc_role_of_name(info->tc_prog_name);
	if (role < 0)
		return;
	info->tc_ours = uses;
	info->tc_role = uses ? role : -2;
}

/* libbpf logs the kernel's answer to a request that fails: quiet for the
 * ones expected to (a clsact qdisc that is already there). */
static libbpf_print_fn_t quiet(void)
{
	return libbpf_set_print(NULL);
}

/* Puts role's TC program at our slot of ifindex's clsact ingress (made
 * when missing), replacing in place what is there. */
static int tc_attach(struct hs_progs *p, enum hs_role role, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = HS_TC_HANDLE, .priority = HS_TC_PRIO,
		    .flags = BPF_TC_F_REPLACE);
	libbpf_print_fn_t old;
	int rc = prog_fd(p, role, HS_HOOK_TC, &o.prog_fd);

	if (rc)
		return rc;
	old = quiet();
	rc = bpf_tc_hook_create(&h);
	libbpf_set_print(old);
	if (rc && rc != -EEXIST)
		return rc;
	return bpf_tc_attach(&h, &o);
}

/* Removes our slot's filter; then the clsact qdisc when nothing is left on
 * it (heliostat made it, or it is of no use to anyone). */
static int tc_detach(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, o, .handle = HS_TC_HANDLE, .priority = HS_TC_PRIO);
	struct tc_scan in, eg;
	int rc = bpf_tc_detach(&h, &o);

	if (rc)
		return rc;
	if (!tc_scan(ifindex, TC_PARENT_INGRESS, &in) && !in.filters &&
	    !tc_scan(ifindex, TC_PARENT_EGRESS, &eg) && !eg.filters) {
		libbpf_print_fn_t old = quiet();

		h.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		if (bpf_tc_hook_destroy(&h))
			hs_debug("interface %d: the empty clsact qdisc stays", ifindex);
		libbpf_set_print(old);
	}
	return 0;
}

bool hs_role_on(const struct hs_attach_info *info, enum hs_role role, enum hs_hook hook)
{
	bool xdp_any = info->ours || (info->xdp && info->role == -2);

	if (hook == HS_HOOK_TC)
		return info->tc_ours && info->tc_role == (int)role && !xdp_any;
	return info->ours && info->role == (int)role && !(info->tc && info->tc_role != -1);
}

int hs_attach_hook(struct hs_progs *p, enum hs_role role, int ifindex, enum hs_hook hook,
		   enum hs_xdp_mode mode, bool force)
{
	struct hs_attach_info info;
	int rc;

	if (hook == HS_HOOK_XDP) {
		rc = hs_attach(p, role, ifindex, mode, force);
		if (rc)
			return rc;
		/* XDP handles every packet now: a TC hook of heliostat can go */
		memset(&info, 0, sizeof(info));
		tc_query(ifindex, p->map_id, &info);
		if (info.tc_role != -1 && (rc = tc_detach(ifindex)))
			hs_err("cannot remove the TC hook of %s from interface %d: %s",
			       info.tc_prog_name, ifindex, hs_strerr(rc));
		return rc;
	}
	if (role == HS_ROLE_UPLINK)
		set_forwarding();
	memset(&info, 0, sizeof(info));
	tc_query(ifindex, p->map_id, &info);
	if (info.tc && info.tc_role == -1 && !force) {
		hs_err("interface %d has a TC filter of its own at heliostat's place (ingress "
		       "priority %d, handle 0x%x: %s, id %u); remove it or use --force",
		       ifindex, HS_TC_PRIO, HS_TC_HANDLE,
		       info.tc_prog_name[0] ? info.tc_prog_name : "not BPF", info.tc_prog_id);
		return -EBUSY;
	}
	if (info.tc_role == -2)
		hs_info("interface %d runs %s of another node; replacing it", ifindex,
			info.tc_prog_name);
	rc = tc_attach(p, role, ifindex);
	if (rc == -ENODEV) {
		hs_debug("cannot attach %s to interface %d: it is gone", tc_names[role], ifindex);
		return rc;
	}
	if (rc) {
		hs_err("cannot attach %s to interface %d: %s", tc_names[role], ifindex,
		       hs_strerr(rc));
		return rc;
	}
	/* the TC hook is in place: an XDP program of heliostat (this node's,
	 * or another node's) would still run first */
	rc = xdp_detach_heliostat(ifindex);
	if (rc)
		hs_err("cannot remove heliostat's XDP program from interface %d: %s", ifindex,
		       hs_strerr(rc));
	return rc;
}

int hs_detach(const char *pin, int ifindex)
{
	struct hs_attach_info info;
	struct xdp_multiprog *mp;
	int rc, rc_tc = 0;

	rc = hs_attach_query(pin, ifindex, &info);
	if (rc)
		return rc;
	if (!info.ours && !info.tc_ours)
		return -ENOENT;
	if (info.tc_ours)
		rc_tc = tc_detach(ifindex);
	if (info.ours) {
		mp = get_mp(ifindex);
		rc = mp ? xdp_detach_id(mp, ifindex, info.prog_id) : -ENOENT;
		xdp_multiprog__close(mp);
	}
	return rc ? rc : rc_tc;
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
	tc_query(ifindex, map_id, info);
	info->attached = info->tc;
	mp = get_mp(ifindex);
	if (!mp)
		return 0;
	info->attached = true;
	info->xdp = true;
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
