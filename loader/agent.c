// SPDX-License-Identifier: GPL-2.0
/*
 * hs-loader agent: the node's configuration file applied to the pinned maps,
 * and an rtnetlink watcher (libmnl) that gives every VM port the VM-side
 * program and a local location entry. See docs/hs-loader.8, "AGENT".
 *
 * A VM port is recognised by name (its [vm] section's ifname, or the
 * [agent] vm_ifname pattern) or by MAC (the VM's own, or libvirt's tap form
 * of it, fe:xx:xx:xx:xx:xx). A port that moved here from another node
 * arrives still carrying that node's program: it is replaced atomically.
 */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <libmnl/libmnl.h>
#include <arpa/inet.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/schema.h"
#include "loader/agent.h"
#include "loader/agent_int.h"
#include "loader/attach.h"
#include "loader/state.h"

static const hs_cfg_keys known_keys = {
	"node.uplink",
	"node.underlay4",
	"node.underlay6",
	"node.vni",
	"node.port",
	"node.mtu",
	"node.peers",
	"agent.vm_ifname",
	"agent.xdp_mode",
	"agent.vmside_hook",
	"agent.log_level",
	"agent.nexthop_refresh",
	"node.name",
	"etcd.endpoints",
	"etcd.prefix",
	"etcd.cacert",
	"etcd.cert",
	"etcd.key",
	"vm *.address",
	"vm *.address6",
	"vm *.mac",
	"vm *.ifname",
	"vm *.entry",
	"vm *.id",
	NULL,
};

/* ---- configuration ---- */

struct parse_ctx {
	const struct hs_cfg *cfg;
	struct agent_conf *c;
	const char *path;
	int rc;
};

static int conf_ip(struct parse_ctx *p, const char *sec, const char *key, int want_fam,
		   struct hs_ip *ip, bool *has)
{
	const char *s;
	int fam;

	if (hs_cfg_str(p->cfg, sec, key, NULL, &s))
		return 0;
	if (hs_parse_ip(s, ip->b, &fam) || (want_fam && fam != want_fam)) {
		hs_err("%s: [%s] %s = '%s': not an %s address", p->path, sec, key, s,
		       want_fam == AF_INET6 ? "IPv6"
		       : want_fam	    ? "IPv4"
					    : "IP");
		p->rc = -EINVAL;
		return -EINVAL;
	}
	if (has)
		*has = true;
	return 0;
}

static int conf_u32(struct parse_ctx *p, const char *sec, const char *key, uint32_t min,
		    uint32_t max, uint32_t *out, bool *has)
{
	int rc = hs_cfg_u32(p->cfg, sec, key, 0, min, max, out);

	if (rc == -EINVAL)
		p->rc = rc;
	if (!rc && has)
		*has = true;
	return rc == -ENOENT ? 0 : rc;
}

static int conf_name(struct parse_ctx *p, const char *sec, const char *key, char *out, size_t size)
{
	const char *s;

	if (hs_cfg_str(p->cfg, sec, key, NULL, &s))
		return 0;
	if (!s[0] || strlen(s) >= size) {
		hs_err("%s: [%s] %s = '%s': empty or longer than %zu characters", p->path, sec, key,
		       s, size - 1);
		p->rc = -EINVAL;
		return -EINVAL;
	}
	strcpy(out, s);
	return 0;
}

static int parse_vm(const char *section, void *arg)
{
	struct parse_ctx *p = arg;
	struct agent_conf *c = p->c;
	struct vm_conf *v;
	const char *s;
	bool has_entry = false;

	if (c->nvms == AGENT_MAX_VMS) {
		hs_err("%s: more than %d [vm] sections", p->path, AGENT_MAX_VMS);
		p->rc = -EINVAL;
		return -EINVAL;
	}
	v = &c->vms[c->nvms++];
	snprintf(v->name, sizeof(v->name), "%s", section + 3);
	conf_ip(p, section, "address", AF_INET, &v->addr[0], &v->has[0]);
	conf_ip(p, section, "address6", AF_INET6, &v->addr[1], &v->has[1]);
	conf_ip(p, section, "entry", 0, &v->entry, &has_entry);
	conf_name(p, section, "ifname", v->ifname, sizeof(v->ifname));
	conf_u32(p, section, "id", 0, UINT32_MAX, &v->id, NULL);
	if (hs_cfg_str(p->cfg, section, "mac", NULL, &s) || hs_parse_mac(s, v->mac)) {
		hs_err("%s: [%s] needs mac = aa:bb:cc:dd:ee:ff (frames to the VM carry it)",
		       p->path, section);
		p->rc = -EINVAL;
	}
	if (!v->has[0] && !v->has[1]) {
		hs_err("%s: [%s] needs address and/or address6", p->path, section);
		p->rc = -EINVAL;
	}
	return 0;
}

static int check_unique(struct parse_ctx *p)
{
	const struct agent_conf *c = p->c;

	for (int i = 0; i < c->nvms; i++) {
		for (int j = 0; j < i; j++) {
			const struct vm_conf *a = &c->vms[i], *b = &c->vms[j];
			const char *what = NULL;

			if (!memcmp(a->mac, b->mac, 6))
				what = "mac";
			else if (a->ifname[0] && !strcmp(a->ifname, b->ifname))
				what = "ifname";
			for (int f = 0; f < 2 && !what; f++)
				if (a->has[f] && b->has[f] && hs_ip_eq(&a->addr[f], &b->addr[f]))
					what = f ? "address6" : "address";
			if (what) {
				hs_err("%s: [vm %s] and [vm %s] have the same %s", p->path, a->name,
				       b->name, what);
				p->rc = -EINVAL;
			}
		}
	}
	return p->rc;
}

static int parse_peers(struct parse_ctx *p)
{
	struct agent_conf *c = p->c;
	const char *s;
	char *dup, *tok, *save = NULL;
	int fam;

	if (hs_cfg_str(p->cfg, "node", "peers", NULL, &s))
		return 0;
	dup = strdup(s);
	if (!dup)
		return -ENOMEM;
	for (tok = strtok_r(dup, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		if (c->npeers == AGENT_MAX_PEERS) {
			hs_err("%s: [node] peers: more than %d", p->path, AGENT_MAX_PEERS);
			p->rc = -EINVAL;
			break;
		}
		if (hs_parse_ip(tok, c->peers[c->npeers].b, &fam)) {
			hs_err("%s: [node] peers: '%s' is not an address", p->path, tok);
			p->rc = -EINVAL;
			continue;
		}
		c->npeers++;
	}
	free(dup);
	return p->rc;
}

/* Reads and validates the whole file; nothing is applied here. */
static int conf_load(const char *path, struct agent_conf **out)
{
	struct agent_conf *c = calloc(1, sizeof(*c));
	struct parse_ctx p = {.c = c, .path = path};
	struct hs_cfg *cfg = NULL;
	const char *s;
	int rc;

	if (!c)
		return -ENOMEM;
	rc = hs_cfg_load(path, &cfg);
	if (rc)
		goto out;
	p.cfg = cfg;
	rc = hs_cfg_check_keys(cfg, known_keys);
	if (rc)
		goto out;
	conf_name(&p, "node", "uplink", c->uplink, sizeof(c->uplink));
	conf_ip(&p, "node", "underlay4", AF_INET, &c->underlay4, &c->has_u4);
	conf_ip(&p, "node", "underlay6", AF_INET6, &c->underlay6, &c->has_u6);
	conf_u32(&p, "node", "vni", 0, 0xffffff, &c->vni, &c->has_vni);
	conf_u32(&p, "node", "port", 1, 65535, &c->port, &c->has_port);
	conf_u32(&p, "node", "mtu", 0, 65535, &c->mtu, &c->has_mtu);
	if (c->has_mtu && c->mtu && c->mtu < 1280) {
		hs_err("%s: [node] mtu = %u: below 1280 (0 turns the check off)", path, c->mtu);
		p.rc = -EINVAL;
	}
	parse_peers(&p);
	conf_name(&p, "agent", "vm_ifname", c->pattern, sizeof(c->pattern));
	c->nh_refresh = 30;
	conf_u32(&p, "agent", "nexthop_refresh", 0, 86400, &c->nh_refresh, NULL);
	c->mode = HS_MODE_AUTO;
	if (!hs_cfg_str(cfg, "agent", "xdp_mode", NULL, &s)) {
		if (!strcmp(s, "native"))
			c->mode = HS_MODE_NATIVE;
		else if (!strcmp(s, "skb"))
			c->mode = HS_MODE_SKB;
		else if (strcmp(s, "auto")) {
			hs_err("%s: [agent] xdp_mode = '%s': expected auto, native or skb", path,
			       s);
			p.rc = -EINVAL;
		}
	}
	c->vmside_hook = HS_HOOK_DEFAULT;
	if (!hs_cfg_str(cfg, "agent", "vmside_hook", NULL, &s) &&
	    hs_hook_parse(s, &c->vmside_hook)) {
		hs_err("%s: [agent] vmside_hook = '%s': expected xdp or tc", path, s);
		p.rc = -EINVAL;
	}
	c->level = hs_log_get_level();
	if (!hs_cfg_str(cfg, "agent", "log_level", NULL, &s) && hs_log_parse_level(s, &c->level)) {
		hs_err("%s: [agent] log_level = '%s': expected err, warn, info or debug", path, s);
		p.rc = -EINVAL;
	}
	hs_cfg_sections(cfg, "vm ", parse_vm, &p);
	check_unique(&p);
	conf_name(&p, "node", "name", c->node_name, sizeof(c->node_name));
	conf_name(&p, "etcd", "endpoints", c->etcd_endpoints, sizeof(c->etcd_endpoints));
	snprintf(c->etcd_prefix, sizeof(c->etcd_prefix), "%s", HS_SCHEMA_PREFIX);
	conf_name(&p, "etcd", "prefix", c->etcd_prefix, sizeof(c->etcd_prefix));
	conf_name(&p, "etcd", "cacert", c->etcd_ca, sizeof(c->etcd_ca));
	conf_name(&p, "etcd", "cert", c->etcd_cert, sizeof(c->etcd_cert));
	conf_name(&p, "etcd", "key", c->etcd_key, sizeof(c->etcd_key));
	if (c->etcd_endpoints[0]) {
		if (!hs_schema_name_ok(c->node_name)) {
			hs_err("%s: [etcd] needs [node] name = this host's name in etcd "
			       "(lowercase letters, digits, '-')",
			       path);
			p.rc = -EINVAL;
		}
		if (c->nvms || c->npeers) {
			hs_err("%s: with [etcd], VMs and peers come from etcd: no [vm] sections "
			       "or [node] peers",
			       path);
			p.rc = -EINVAL;
		}
		if (c->etcd_prefix[0] != '/' || c->etcd_prefix[strlen(c->etcd_prefix) - 1] != '/') {
			hs_err("%s: [etcd] prefix = '%s': must start and end with '/'", path,
			       c->etcd_prefix);
			p.rc = -EINVAL;
		}
	}
	rc = p.rc;
out:
	hs_cfg_free(cfg);
	if (rc)
		free(c);
	else
		*out = c;
	return rc;
}

/* ---- applying it ---- */

static int apply_node(struct agent *a, int uplink_ifindex)
{
	const struct agent_conf *c = a->conf;
	struct hs_node_config nc;
	int rc = hs_config_get(&a->m, &nc);

	if (rc)
		return rc;
	if (!nc.vxlan_port)
		nc.vxlan_port = htons(HS_VXLAN_PORT);
	if (c->has_u4)
		nc.underlay4 = c->underlay4;
	if (c->has_u6)
		nc.underlay6 = c->underlay6;
	if (c->has_vni)
		nc.vni = c->vni;
	if (c->has_port)
		nc.vxlan_port = htons(c->port);
	if (c->has_mtu)
		nc.underlay_mtu = c->mtu;
	if (uplink_ifindex > 0)
		nc.uplink_ifindex = uplink_ifindex;
	if (c->has_u4 || c->has_u6)
		nc.flags |= HS_CFG_F_ENABLED;
	rc = hs_config_put(&a->m, &nc);
	if (rc)
		hs_err("agent: cannot write node_config: %s", hs_strerr(rc));
	return rc;
}

static int apply_peers(struct agent *a, const struct agent_conf *old)
{
	const struct agent_conf *c = a->conf;
	int rc = 0;

	for (int i = 0; old && i < old->npeers; i++) {
		bool keep = false;

		for (int j = 0; j < c->npeers && !keep; j++)
			keep = hs_ip_eq(&old->peers[i], &c->peers[j]);
		if (!keep)
			hs_peer_del(&a->m, &old->peers[i]);
	}
	for (int i = 0; i < c->npeers; i++) {
		struct hs_peer p = {.host_id = i + 1};
		int err = hs_peer_put(&a->m, &c->peers[i], &p);

		if (err) {
			hs_err("agent: cannot write peer #%d: %s", i + 1, hs_strerr(err));
			rc = err;
		}
	}
	return rc;
}

static const struct vm_conf *match_vm(const struct agent_conf *c, const char *name,
				      const uint8_t *mac)
{
	for (int i = 0; i < c->nvms; i++) {
		const struct vm_conf *v = &c->vms[i];

		if (v->ifname[0] && !strcmp(v->ifname, name))
			return v;
		/* the VM's own MAC (a macvtap, a veth end), or libvirt's tap
		 * form of it: first byte 0xfe, the rest the VM's */
		if (mac && (!memcmp(mac, v->mac, 6) ||
			    (mac[0] == 0xfe && !memcmp(mac + 1, v->mac + 1, 5))))
			return v;
	}
	return NULL;
}

static void write_local(struct agent *a, const struct vm_conf *vm, int ifindex,
			const uint8_t *link_mac, const char *name)
{
	for (int f = 0; f < 2; f++) {
		struct hs_vm v = {.kind = vm->incoming ? HS_VM_INCOMING : HS_VM_LOCAL,
				  .ifindex = ifindex,
				  .epoch = 1,
				  .vm_id = vm->id,
				  .entry = vm->entry},
			     old;
		char buf[64];
		int rc;

		if (!vm->has[f])
			continue;
		if (vm->incoming)
			v.host = vm->from;
		memcpy(v.mac, vm->mac, 6);
		if (link_mac)
			memcpy(v.gw_mac, link_mac, 6);
		if (!hs_vm_get(&a->m, &vm->addr[f], &old)) {
			v.epoch = old.epoch ? old.epoch : 1; /* the control plane's count */
			if (hs_ip_is_zero(&v.entry))
				v.entry = old.entry;
			if (!memcmp(&old, &v, sizeof(v)))
				continue;
		}
		rc = hs_vm_put(&a->m, &vm->addr[f], &v);
		if (rc) {
			hs_err("agent: vm %s: cannot write the location of %s: %s", vm->name,
			       hs_format_ip(vm->addr[f].b, buf, sizeof(buf)), hs_strerr(rc));
			continue;
		}
		a->st.entries_written++;
		hs_info("vm %s: %s is %s behind %s (ifindex %d)", vm->name,
			hs_format_ip(vm->addr[f].b, buf, sizeof(buf)),
			vm->incoming ? "arriving (incoming migration)" : "local", name, ifindex);
	}
}

struct del_ctx {
	int ifindex; /* -1: every LOCAL entry whose interface is gone */
	struct hs_ip keys[64];
	int n;
};

static int collect_local(const void *key, const void *value, void *arg)
{
	const struct hs_vm *v = value;
	struct del_ctx *d = arg;
	char name[IF_NAMESIZE];

	if (v->kind != HS_VM_LOCAL && v->kind != HS_VM_INCOMING)
		return 0;
	if (d->ifindex >= 0 ? (int)v->ifindex != d->ifindex
			    : if_indextoname(v->ifindex, name) != NULL)
		return 0;
	memcpy(&d->keys[d->n++], key, sizeof(struct hs_ip));
	return d->n == (int)HS_ARRAY_SIZE(d->keys);
}

/* Removes local entries of ifindex (or of every vanished interface). */
void agent_drop_local(struct agent *a, int ifindex, const char *why)
{
	struct del_ctx d;
	char buf[64];

	do {
		d.ifindex = ifindex;
		d.n = 0;
		hs_map_each(a->m.vms, sizeof(struct hs_ip), sizeof(struct hs_vm), collect_local,
			    &d);
		for (int i = 0; i < d.n; i++) {
			struct hs_vm now;

			/* the control plane may have re-pointed it since the
			 * walk (a forwarding pointer after a move): keep that */
			if (hs_vm_get(&a->m, &d.keys[i], &now) ||
			    (now.kind != HS_VM_LOCAL && now.kind != HS_VM_INCOMING) ||
			    (ifindex >= 0 && (int)now.ifindex != ifindex))
				continue;
			if (hs_vm_del(&a->m, &d.keys[i]))
				continue;
			/* etcd mode: what the VM is now (REMOTE, after a
			 * failed incoming migration) comes from the next read */
			hs_sync_mark_dirty(a);
			a->st.entries_removed++;
			hs_info("vm %s: location removed (%s)",
				hs_format_ip(d.keys[i].b, buf, sizeof(buf)), why);
		}
	} while (d.n == (int)HS_ARRAY_SIZE(d.keys));
}

/* false when the port is not usable (gone again, or a foreign program). A
 * VM port gets the VM-side program on [agent] vmside_hook; one that has it
 * on the other hook (the setting changed, or the port came from a node set
 * otherwise) is switched over. The uplink gets XDP, and keeps the TC hook
 * when an operator put it there (hs-loader attach uplink DEV --hook tc). */
static bool ensure_attached(struct agent *a, enum hs_role role, int ifindex, const char *name)
{
	enum hs_hook hook = a->conf->vmside_hook;
	struct hs_attach_info info;
	bool vmside = role == HS_ROLE_VMSIDE;
	int rc, q;

	q = hs_attach_query(a->pin, ifindex, &info);
	if (!q &&
	    (vmside ? hs_role_on(&info, role, hook)
		    : (info.ours && info.role == (int)role) || hs_role_on(&info, role, HS_HOOK_TC)))
		return true;
	if (vmside)
		rc = hs_attach_hook(a->progs, role, ifindex, hook, a->conf->mode, false);
	else
		rc = hs_attach(a->progs, role, ifindex, a->conf->mode, false);
	if (rc == -ENODEV) { /* moved on or deleted: its DELLINK follows */
		hs_debug("%s (ifindex %d) left before it could be attached", name, ifindex);
		return false;
	}
	if (rc) {
		a->st.attach_errors++;
		hs_err("agent: cannot attach %s to %s: %s", hs_role_name(role), name,
		       hs_strerr(rc));
		return false;
	}
	a->st.attached++;
	hs_info("attached %s to %s (ifindex %d%s)%s", hs_role_name(role), name, ifindex,
		vmside && hook == HS_HOOK_TC ? ", tc hook" : "",
		info.role == -2 || info.tc_role == -2 ? ", replacing another node's program" : "");
	return true;
}

/* ---- rtnetlink ---- */

struct link_attrs {
	const char *name;
	const uint8_t *mac;
};

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	struct link_attrs *l = data;

	switch (mnl_attr_get_type(attr)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
			l->name = mnl_attr_get_str(attr);
		break;
	case IFLA_ADDRESS:
		if (mnl_attr_get_payload_len(attr) == 6)
			l->mac = mnl_attr_get_payload(attr);
		break;
	}
	return MNL_CB_OK;
}

static int link_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct agent *a = data;
	struct link_attrs l = {0};
	const struct ifinfomsg *ifi;
	const struct vm_conf *vm;
	bool pat;

	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return MNL_CB_OK;
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)) ||
	    mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, &l) < 0 || !l.name) {
		a->st.bad_msgs++;
		hs_warn("agent: malformed link message (%u bytes) ignored", nlh->nlmsg_len);
		return MNL_CB_OK;
	}
	ifi = mnl_nlmsg_get_payload(nlh);
	if (nlh->nlmsg_type == RTM_DELLINK) {
		hs_debug("link %s (ifindex %d) gone", l.name, ifi->ifi_index);
		agent_drop_local(a, ifi->ifi_index, "its port is gone");
		return MNL_CB_OK;
	}
	a->st.links++;
	if (a->conf->uplink[0] && !strcmp(l.name, a->conf->uplink)) {
		struct hs_node_config nc;

		ensure_attached(a, HS_ROLE_UPLINK, ifi->ifi_index, l.name);
		if (!hs_config_get(&a->m, &nc) && (int)nc.uplink_ifindex != ifi->ifi_index)
			apply_node(a, ifi->ifi_index);
		return MNL_CB_OK;
	}
	vm = match_vm(a->conf, l.name, l.mac);
	pat = a->conf->pattern[0] && !fnmatch(a->conf->pattern, l.name, 0);
	if (!vm && !pat)
		return MNL_CB_OK;
	hs_debug("link %s (ifindex %d) %s: %s", l.name, ifi->ifi_index,
		 ifi->ifi_flags & IFF_UP ? "up" : "down", vm ? vm->name : "pattern");
	if (ensure_attached(a, HS_ROLE_VMSIDE, ifi->ifi_index, l.name) && vm)
		write_local(a, vm, ifi->ifi_index, l.mac, l.name);
	return MNL_CB_OK;
}

int agent_nl_dump(struct agent *a)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtgenmsg *rt;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++a->seq;
	rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	rt->rtgen_family = AF_PACKET;
	if (mnl_socket_sendto(a->nl, nlh, nlh->nlmsg_len) < 0)
		return hs_neg_errno();
	return 0;
}

/* Reads what is pending; on overflow (events lost) starts a full re-dump. */
static int nl_read(struct agent *a, bool *done)
{
	char buf[MNL_SOCKET_BUFFER_SIZE * 4];
	ssize_t n = mnl_socket_recvfrom(a->nl, buf, sizeof(buf));
	int rc;

	if (n < 0) {
		if (errno == ENOBUFS) {
			a->st.resyncs++;
			hs_warn("agent: netlink events were lost; re-reading every link");
			return agent_nl_dump(a);
		}
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		return hs_neg_errno();
	}
	/* seq 0, portid 0: notifications and dump replies alike */
	rc = mnl_cb_run(buf, n, 0, 0, link_msg_cb, a);
	if (rc == MNL_CB_ERROR && errno != EINTR) {
		a->st.bad_msgs++;
		hs_warn("agent: netlink error: %s", strerror(errno));
	} else if (rc == MNL_CB_STOP && done) {
		*done = true; /* the end of a dump */
	}
	return 0;
}

static int nl_open(struct agent *a)
{
	int one = 1;

	a->nl = mnl_socket_open(NETLINK_ROUTE);
	if (!a->nl)
		return hs_neg_errno();
	if (mnl_socket_bind(a->nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0)
		return hs_neg_errno();
	/* report overflow instead of dropping silently */
	setsockopt(mnl_socket_get_fd(a->nl), SOL_NETLINK, NETLINK_BROADCAST_ERROR, &one,
		   sizeof(one));
	return 0;
}

/* ---- next hops ----
 *
 * bpf_fib_lookup() only finds a next hop whose neighbour entry is resolved;
 * XDP cannot wait for ARP/ND. For every peer the agent asks the kernel for
 * the route and installs the gateway (or the peer itself, on-link) as a
 * *managed* neighbour (NTF_EXT_MANAGED, Linux 5.16+): the kernel then keeps
 * it resolved, with no traffic needed. Checked again every nexthop_refresh
 * seconds in case routes change.
 */

static int nl_request(struct mnl_socket *nl, struct nlmsghdr *req, mnl_cb_t cb, void *arg)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int portid = mnl_socket_get_portid(nl);
	ssize_t n;
	int rc;

	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0)
		return hs_neg_errno();
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return hs_neg_errno();
		rc = mnl_cb_run(buf, n, req->nlmsg_seq, portid, cb, arg);
	} while (rc > 0);
	return rc < 0 ? hs_neg_errno() : 0;
}

struct route_ans {
	int oif;
	int family;
	uint8_t gw[16];
	bool has_gw;
};

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	struct route_ans *r = data;
	size_t alen = r->family == AF_INET ? 4 : 16;

	switch (mnl_attr_get_type(attr)) {
	case RTA_OIF:
		if (mnl_attr_get_payload_len(attr) == 4)
			r->oif = (int)mnl_attr_get_u32(attr);
		break;
	case RTA_GATEWAY:
		if (mnl_attr_get_payload_len(attr) == alen) {
			memcpy(r->gw, mnl_attr_get_payload(attr), alen);
			r->has_gw = true;
		}
		break;
	}
	return MNL_CB_OK;
}

static int route_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct rtmsg)))
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(struct rtmsg), route_attr_cb, data);
	return MNL_CB_OK;
}

static void keep_nexthop(struct agent *a, struct mnl_socket *nl, const struct hs_ip *peer)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], pb[64], gb[64];
	bool v4 = hs_ip_is_v4(peer->b);
	struct route_ans r = {.family = v4 ? AF_INET : AF_INET6};
	const uint8_t *dst = v4 ? peer->b + 12 : peer->b;
	size_t alen = v4 ? 4 : 16;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct ndmsg *nd;
	int rc;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK; /* the answer, then an ACK */
	nlh->nlmsg_seq = ++a->seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = r.family;
	rtm->rtm_dst_len = alen * 8;
	mnl_attr_put(nlh, RTA_DST, alen, dst);
	rc = nl_request(nl, nlh, route_msg_cb, &r);
	hs_format_ip(peer->b, pb, sizeof(pb));
	if (rc || !r.oif) {
		hs_warn("agent: no route to peer %s: %s", pb, rc ? hs_strerr(rc) : "no device");
		return;
	}
	if (!r.has_gw)
		memcpy(r.gw, dst, alen); /* on-link */

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWNEIGH;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	nlh->nlmsg_seq = ++a->seq;
	nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
	nd->ndm_family = r.family;
	nd->ndm_ifindex = r.oif;
	nd->ndm_state = NUD_NONE;
	mnl_attr_put(nlh, NDA_DST, alen, r.gw);
	mnl_attr_put_u32(nlh, NDA_FLAGS_EXT, NTF_EXT_MANAGED);
	rc = nl_request(nl, nlh, NULL, NULL);
	inet_ntop(r.family, r.gw, gb, sizeof(gb));
	if (rc) {
		hs_warn("agent: cannot install a managed neighbour %s for peer %s: %s", gb, pb,
			hs_strerr(rc));
		return;
	}
	a->st.nexthops++;
	hs_debug("peer %s: next hop %s (ifindex %d) kept resolved", pb, gb, r.oif);
}

void agent_keep_nexthops(struct agent *a)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct timeval tv = {.tv_sec = 1}; /* never hang the agent on an answer */

	if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		hs_warn("agent: cannot open rtnetlink for next hops: %s", strerror(errno));
		if (nl)
			mnl_socket_close(nl);
		return;
	}
	for (int i = 0; i < a->conf->npeers; i++)
		keep_nexthop(a, nl, &a->conf->peers[i]);
	mnl_socket_close(nl);
}

/* ---- main loop ---- */

static int apply_all(struct agent *a, const struct agent_conf *old)
{
	int uplink = a->conf->uplink[0] ? (int)if_nametoindex(a->conf->uplink) : 0;
	int rc;

	hs_log_set_level(a->conf->level);
	if (a->conf->uplink[0] && !uplink)
		hs_warn("agent: uplink %s is not here yet; attaching when it appears",
			a->conf->uplink);
	rc = apply_node(a, uplink);
	if (!rc)
		rc = apply_peers(a, old);
	if (!rc)
		agent_keep_nexthops(a);
	if (!rc) /* netlink replies drive the attaching and the entries */
		rc = agent_nl_dump(a);
	return rc;
}

static void reload(struct agent *a)
{
	struct agent_conf *c, *old = a->conf;

	hs_info("agent: SIGHUP: reloading %s", a->path);
	if (conf_load(a->path, &c)) {
		hs_err("agent: %s is invalid; keeping the running configuration", a->path);
		return;
	}
	if (old->etcd_endpoints[0] && c->etcd_endpoints[0]) {
		/* keep what etcd said until the new session has read it again */
		memcpy(c->vms, old->vms, sizeof(c->vms));
		c->nvms = old->nvms;
		memcpy(c->peers, old->peers, sizeof(c->peers));
		c->npeers = old->npeers;
	}
	hs_sync_stop(a);
	a->conf = c;
	if (apply_all(a, old))
		hs_err("agent: reload applied partly; see the errors above");
	if (c->etcd_endpoints[0] && hs_sync_start(a))
		hs_err("agent: cannot start the etcd session after the reload");
	free(old);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int agent_run(struct agent *a)
{
	int64_t next_nh;
	struct pollfd pfd[3];
	sigset_t set;
	int sfd, rc;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		return hs_neg_errno();
	rc = nl_open(a);
	if (rc) {
		hs_err("agent: cannot open rtnetlink: %s", hs_strerr(rc));
		goto out;
	}
	agent_drop_local(a, -1, "its port vanished while the agent was away");
	rc = apply_all(a, NULL);
	/* take in every existing link before saying we run */
	for (bool done = false; !rc && !done;)
		rc = nl_read(a, &done);
	if (rc)
		goto out;
	hs_info("agent: running (pin %s, %d VMs, pattern '%s', uplink %s)", a->pin, a->conf->nvms,
		a->conf->pattern, a->conf->uplink[0] ? a->conf->uplink : "-");
	next_nh = now_ms() + a->conf->nh_refresh * 1000LL;
	if (a->conf->etcd_endpoints[0]) {
		rc = hs_sync_start(a);
		if (rc)
			goto out;
	}
	pfd[0] = (struct pollfd){.fd = mnl_socket_get_fd(a->nl), .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
	for (;;) {
		struct signalfd_siginfo si;
		int64_t left = next_nh - now_ms();
		int timeout = !a->conf->nh_refresh ? -1 : left > 0 ? (int)left : 0;
		int n;

		pfd[2] = (struct pollfd){.fd = hs_sync_fd(a), .events = POLLIN};
		if (a->sync && (timeout < 0 || timeout > 1000))
			timeout = 1000; /* lease keep-alive, retries */
		n = poll(pfd, pfd[2].fd >= 0 ? 3 : 2, timeout);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = hs_neg_errno();
			break;
		}
		if (a->conf->nh_refresh && now_ms() >= next_nh) {
			agent_keep_nexthops(a);
			next_nh = now_ms() + a->conf->nh_refresh * 1000LL;
		}
		if (a->sync)
			hs_sync_tick(a);
		if (n == 0)
			continue;
		if (pfd[2].fd >= 0 && (pfd[2].revents & POLLIN))
			hs_sync_dispatch(a);
		if (pfd[1].revents & POLLIN) {
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGHUP) {
				reload(a);
				continue;
			}
			hs_info("agent: %s: stopping; programs stay attached, maps stay pinned",
				strsignal(si.ssi_signo));
			rc = 0;
			break;
		}
		if (pfd[0].revents & (POLLIN | POLLERR)) {
			rc = nl_read(a, NULL);
			if (rc) {
				hs_err("agent: netlink: %s", hs_strerr(rc));
				break;
			}
		}
	}
out:
	hs_info("agent: %llu link events, %llu attaches (%llu failed), %llu entries written, "
		"%llu removed, %llu bad messages, %llu resyncs, %llu next-hop updates",
		(unsigned long long)a->st.links, (unsigned long long)a->st.attached,
		(unsigned long long)a->st.attach_errors, (unsigned long long)a->st.entries_written,
		(unsigned long long)a->st.entries_removed, (unsigned long long)a->st.bad_msgs,
		(unsigned long long)a->st.resyncs, (unsigned long long)a->st.nexthops);
	hs_sync_stop(a);
	if (a->nl)
		mnl_socket_close(a->nl);
	close(sfd);
	return rc;
}

int hs_agent_main(const char *pin, int argc, char **argv)
{
	static const struct option lopts[] = {{"config", required_argument, NULL, 'c'},
					      {"check-config", no_argument, NULL, 'k'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	struct agent a = {.pin = pin};
	bool check = false;
	int opt, rc;

	optind = 0; /* argv[0] is the first agent argument */
	while ((opt = getopt_long(argc + 1, argv - 1, "", lopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			a.path = optarg;
			break;
		case 'k':
			check = true;
			break;
		case 'h':
			printf("usage: hs-loader [--pin DIR] [--log-level LEVEL] agent --config "
			       "FILE "
			       "[--check-config]\n"
			       "Applies FILE to the node's pinned maps, attaches the uplink "
			       "program\n"
			       "and gives VM ports the VM-side program as they appear. SIGHUP\n"
			       "re-reads FILE; SIGTERM stops (programs stay attached). See\n"
			       "hs-loader(8), AGENT.\n");
			return 0;
		default:
			hs_err("agent: usage: agent --config FILE [--check-config]");
			return -EINVAL;
		}
	}
	if (optind != argc + 1 || !a.path) {
		hs_err("agent: needs --config FILE and takes no other arguments");
		return -EINVAL;
	}
	rc = conf_load(a.path, &a.conf);
	if (rc)
		return rc == -ENOENT ? -ENOENT : -EINVAL;
	if (check) {
		printf("%s: valid (%d VMs, %d peers)\n", a.path, a.conf->nvms, a.conf->npeers);
		free(a.conf);
		return 0;
	}
	hs_log_daemon_stamps();
	rc = hs_maps_open(pin, true, &a.m);
	if (rc) {
		hs_err("agent: cannot open the maps under %s: %s", pin, hs_strerr(rc));
		goto out;
	}
	rc = hs_progs_load(pin, &a.progs);
	if (rc) {
		hs_err("agent: cannot load the programs: %s", hs_strerr(rc));
		goto out_maps;
	}
	rc = agent_run(&a);
	hs_progs_free(a.progs);
out_maps:
	hs_maps_close(&a.m);
out:
	free(a.conf);
	return rc;
}
