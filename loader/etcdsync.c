// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's etcd mode: the cluster state (docs/schema.md) read from etcd
 * and made true in this node's maps.
 *
 * A full read of the prefix at one revision is turned into the desired
 * state of the node (node_config from hosts/<me>; every other host a peer;
 * every VM not here a REMOTE entry, or FORWARD while this host holds its
 * forwarding pointer; the VMs that run here become the agent's VM list, so
 * their ports are matched by MAC when they appear; the bindings whose
 * front-end is this host). It is applied writes first, deletions last, so
 * no valid entry is ever missing in between. A watch from the read's
 * revision + 1 marks the state dirty on every change, and the next loop
 * turn reads and applies it whole again: simple, and correct after lost
 * watches and compactions alike (a compacted watch just resumes after the
 * next full read). Invalid records are logged, counted and skipped; a
 * host that is not in etcd leaves the maps as they are.
 *
 * After each apply the agent publishes agents/<me> (lease-bound, so it
 * vanishes when the agent dies) with the revision it applied.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/etcd.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "lib/schema.h"
#include "loader/agent_int.h"

#define SYNC_LEASE_TTL 10
#define SYNC_KEEPALIVE_S 3
#define SYNC_MAX_HOSTS 1024
#define SYNC_MAX_BINDINGS 4096

struct hs_sync {
	struct hs_etcd *e;
	struct hs_etcd_watch *w;
	bool dirty; /* read and apply again */
	int64_t applied; /* revision of the last apply, 0 = none */
	int64_t lease;
	time_t last_keepalive;
	time_t started;
	time_t expiry; /* earliest forward_until still ahead: read again then */
	uint64_t invalid; /* records skipped */
	uint64_t applies;
};

struct snapshot {
	struct hs_schema_host *hosts;
	size_t nhosts;
	struct hs_schema_vm *vms;
	size_t nvms;
	struct hs_schema_binding *bindings;
	size_t nbindings;
	struct hs_schema_migration *migs;
	size_t nmigs;
	int64_t revision;
};

static void snapshot_free(struct snapshot *s)
{
	free(s->hosts);
	free(s->vms);
	free(s->bindings);
	free(s->migs);
}

static int snapshot_read(struct agent *a, struct snapshot *s)
{
	struct hs_sync *y = a->sync;
	const char *prefix = a->conf->etcd_prefix;
	struct hs_etcd_kvs kvs = {0};
	char why[256];
	int rc;

	memset(s, 0, sizeof(*s));
	rc = hs_etcd_get_prefix(y->e, prefix, 0, &kvs);
	if (rc)
		return rc;
	s->revision = kvs.revision;
	s->hosts = calloc(kvs.n + 1, sizeof(*s->hosts));
	s->vms = calloc(kvs.n + 1, sizeof(*s->vms));
	s->bindings = calloc(kvs.n + 1, sizeof(*s->bindings));
	s->migs = calloc(kvs.n + 1, sizeof(*s->migs));
	if (!s->hosts || !s->vms || !s->bindings || !s->migs) {
		hs_etcd_kvs_free(&kvs);
		snapshot_free(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < kvs.n; i++) {
		const struct hs_etcd_kv *kv = &kvs.kvs[i];
		struct hs_schema_key ki;
		enum hs_schema_kind kind = hs_schema_key_kind(prefix, kv->key, kv->key_len, &ki);

		rc = 0;
		switch (kind) {
		case HS_SCHEMA_HOST:
			rc = hs_schema_parse_host(kv->key, kv->value, kv->value_len,
						  &s->hosts[s->nhosts], why, sizeof(why));
			s->nhosts += !rc;
			break;
		case HS_SCHEMA_VM:
			rc = hs_schema_parse_vm(kv->key, kv->value, kv->value_len, &s->vms[s->nvms],
						why, sizeof(why));
			s->nvms += !rc;
			break;
		case HS_SCHEMA_BINDING:
			rc = hs_schema_parse_binding(kv->key, kv->value, kv->value_len,
						     &s->bindings[s->nbindings], why, sizeof(why));
			s->nbindings += !rc;
			break;
		case HS_SCHEMA_MIGRATION:
			rc = hs_schema_parse_migration(kv->key, kv->value, kv->value_len,
						       &s->migs[s->nmigs], why, sizeof(why));
			s->nmigs += !rc;
			break;
		default: /* sites, images, agents...: not the data plane's */
			break;
		}
		if (rc) /* the parser logged why */
			y->invalid++;
	}
	hs_etcd_kvs_free(&kvs);
	return 0;
}

static const struct hs_schema_host *find_host(const struct snapshot *s, const char *name)
{
	for (size_t i = 0; name[0] && i < s->nhosts; i++)
		if (!strcmp(s->hosts[i].name, name))
			return &s->hosts[i];
	return NULL;
}

static const struct hs_schema_vm *find_vm(const struct snapshot *s, const char *name)
{
	for (size_t i = 0; i < s->nvms; i++)
		if (!strcmp(s->vms[i].name, name))
			return &s->vms[i];
	return NULL;
}

/* The VM's migration while it is not final and past pending, else NULL. */
static const struct hs_schema_migration *active_mig(const struct snapshot *s, const char *vm)
{
	for (size_t i = 0; i < s->nmigs; i++)
		if (!strcmp(s->migs[i].vm, vm))
			return s->migs[i].state == HS_SCHEMA_MIG_RUNNING ||
					       s->migs[i].state == HS_SCHEMA_MIG_SWITCHOVER
				       ? &s->migs[i]
				       : NULL;
	return NULL;
}

static void apply_config(struct agent *a, const struct hs_schema_host *me)
{
	struct hs_node_config nc;

	if (hs_config_get(&a->m, &nc))
		return;
	nc.underlay4 = me->underlay4;
	nc.underlay6 = me->underlay6;
	nc.vni = me->vni;
	nc.vxlan_port = htons(me->port ? me->port : HS_VXLAN_PORT);
	nc.underlay_mtu = me->mtu;
	nc.flags |= HS_CFG_F_ENABLED;
	if (hs_config_put(&a->m, &nc))
		hs_err("etcd: cannot write node_config");
}

/* A set of map keys: filled, sorted once, then searched (the desired
 * entries, against which every entry present is checked). */
struct keyset {
	void *keys;
	size_t n, cap, size;
	bool incomplete; /* an add failed: nothing may be deleted on its word */
};

static int keyset_add(struct keyset *k, const void *key)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 64;
		void *p = realloc(k->keys, cap * k->size);

		if (!p) {
			k->incomplete = true;
			return -ENOMEM;
		}
		k->keys = p;
		k->cap = cap;
	}
	memcpy((char *)k->keys + k->n++ * k->size, key, k->size);
	return 0;
}

static int key_cmp(const void *a, const void *b, void *size)
{
	return memcmp(a, b, *(size_t *)size);
}

static void keyset_sort(struct keyset *k)
{
	qsort_r(k->keys, k->n, k->size, key_cmp, &k->size);
}

/* k must be sorted */
static bool keyset_has(const struct keyset *k, const void *key)
{
	size_t lo = 0, hi = k->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp((const char *)k->keys + mid * k->size, key, k->size);

		if (!c)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Entries present but not wanted; none when the wanted set is incomplete. */
static bool unwanted(const struct keyset *want, const void *key)
{
	return !want->incomplete && !keyset_has(want, key);
}

static int collect_key(const void *key, const void *value, void *arg)
{
	return keyset_add(arg, key);
}

/* peers: every other host; then the ones no longer there go */
static void apply_peers(struct agent *a, const struct snapshot *s, const struct hs_schema_host *me)
{
	struct agent_conf *c = a->conf;
	struct keyset want = {.size = sizeof(struct hs_ip)};
	struct keyset have = {.size = sizeof(struct hs_ip)};

	c->npeers = 0;
	for (size_t i = 0; i < s->nhosts; i++) {
		const struct hs_schema_host *h = &s->hosts[i];
		const struct hs_ip *addr[2] = {&h->underlay4, &h->underlay6};

		if (h == me)
			continue;
		for (int f = 0; f < 2; f++) {
			struct hs_peer p = {.host_id = i + 1};

			if (hs_ip_is_zero(addr[f]))
				continue;
			if (hs_peer_put(&a->m, addr[f], &p) == 0)
				keyset_add(&want, addr[f]);
			if (c->npeers < AGENT_MAX_PEERS)
				c->peers[c->npeers++] = *addr[f];
		}
	}
	keyset_sort(&want);
	hs_map_each(a->m.peers, sizeof(struct hs_ip), sizeof(struct hs_peer), collect_key, &have);
	for (size_t i = 0; i < have.n; i++) {
		const struct hs_ip *k = (const struct hs_ip *)have.keys + i;

		if (unwanted(&want, k))
			hs_peer_del(&a->m, k);
	}
	free(want.keys);
	free(have.keys);
}

/* VMs: the ones here become the agent's list (their ports make them
 * local); every other one points at its host. */
static void apply_vms(struct agent *a, const struct snapshot *s, const struct hs_schema_host *me)
{
	struct agent_conf *c = a->conf;
	struct keyset want = {.size = sizeof(struct hs_ip)};
	struct keyset have = {.size = sizeof(struct hs_ip)};
	time_t now = time(NULL);
	char buf[64];

	c->nvms = 0;
	a->sync->expiry = 0;
	for (size_t i = 0; i < s->nvms; i++) {
		const struct hs_schema_vm *v = &s->vms[i];
		const struct hs_ip *addr[2] = {&v->address, &v->address6};
		const struct hs_ip *host = hs_schema_host_reach(me, find_host(s, v->host));
		const struct hs_ip *entry = hs_schema_host_reach(me, find_host(s, v->entry));
		const struct hs_schema_migration *mig = active_mig(s, v->name);
		bool here = !strcmp(v->host, me->name);
		bool fwd = !here && !strcmp(v->forward_from, me->name) &&
			   (uint64_t)now < v->forward_until;

		/* the pointer becomes a plain REMOTE entry when it expires */
		if (fwd && (!a->sync->expiry || (time_t)v->forward_until < a->sync->expiry))
			a->sync->expiry = (time_t)v->forward_until;
		/* migrating here: its port (the paused destination QEMU's tap)
		 * is found by MAC and becomes INCOMING until the record says
		 * the VM runs here */
		bool incoming =
			!here && mig && !strcmp(mig->to, me->name) && !strcmp(mig->from, v->host);
		const struct hs_ip *to =
			mig ? hs_schema_host_reach(me, find_host(s, mig->to)) : NULL;

		/* paused here at switchover: migrated already wrote the
		 * pointer; keep it whatever happens to the port */
		if (here && mig && mig->state == HS_SCHEMA_MIG_SWITCHOVER &&
		    !strcmp(mig->from, me->name) && to) {
			here = false;
			fwd = true;
			host = to;
		}

		for (int f = 0; f < 2; f++)
			if (!hs_ip_is_zero(addr[f]))
				keyset_add(&want, addr[f]);
		if (here || (incoming && host)) {
			struct vm_conf *vc;

			if (c->nvms == AGENT_MAX_VMS) {
				hs_warn("etcd: more than %d VMs on this host; %s ignored",
					AGENT_MAX_VMS, v->name);
				continue;
			}
			vc = &c->vms[c->nvms++];
			memset(vc, 0, sizeof(*vc));
			snprintf(vc->name, sizeof(vc->name), "%s", v->name);
			vc->addr[0] = v->address;
			vc->addr[1] = v->address6;
			vc->has[0] = !hs_ip_is_zero(&v->address);
			vc->has[1] = !hs_ip_is_zero(&v->address6);
			memcpy(vc->mac, v->mac, 6);
			if (entry)
				vc->entry = *entry;
			vc->id = v->id;
			if (!incoming)
				continue; /* local once its port is seen */
			/* INCOMING once its port is seen; REMOTE to the
			 * source until then */
			vc->incoming = true;
			vc->from = *host;
		}
		if (!host) {
			hs_warn("etcd: vm %s: host '%s' unknown or unreachable from here", v->name,
				v->host);
			continue;
		}
		for (int f = 0; f < 2; f++) {
			struct hs_vm e = {.kind = fwd ? HS_VM_FORWARD : HS_VM_REMOTE,
					  .host = *host,
					  .epoch = v->epoch,
					  .vm_id = v->id};
			struct hs_vm old;

			if (hs_ip_is_zero(addr[f]))
				continue;
			if (incoming && !hs_vm_get(&a->m, addr[f], &old) &&
			    old.kind == HS_VM_INCOMING && hs_ip_eq(&old.host, host))
				continue; /* its port is here already */
			memcpy(e.mac, v->mac, 6);
			if (entry)
				e.entry = *entry;
			if (!hs_vm_get(&a->m, addr[f], &old) && !memcmp(&old, &e, sizeof(e)))
				continue;
			if (hs_vm_put(&a->m, addr[f], &e))
				hs_err("etcd: vm %s: cannot write %s", v->name,
				       hs_format_ip(addr[f]->b, buf, sizeof(buf)));
		}
	}
	/* entries of VMs etcd no longer knows */
	keyset_sort(&want);
	hs_map_each(a->m.vms, sizeof(struct hs_ip), sizeof(struct hs_vm), collect_key, &have);
	for (size_t i = 0; i < have.n; i++) {
		const struct hs_ip *k = (const struct hs_ip *)have.keys + i;

		if (unwanted(&want, k) && !hs_vm_del(&a->m, k))
			hs_info("etcd: vm %s removed", hs_format_ip(k->b, buf, sizeof(buf)));
	}
	free(want.keys);
	free(have.keys);
}

static int collect_binding(const void *key, const void *value, void *arg)
{
	const struct hs_binding *b = value;

	return !hs_ip_is_zero(&b->vm) ? keyset_add(arg, key) : 0; /* markers follow */
}

static void apply_bindings(struct agent *a, const struct snapshot *s,
			   const struct hs_schema_host *me)
{
	struct keyset want = {.size = sizeof(struct hs_binding_key)};
	struct keyset have = {.size = sizeof(struct hs_binding_key)};
	char buf[64];

	for (size_t i = 0; i < s->nbindings; i++) {
		const struct hs_schema_binding *b = &s->bindings[i];
		const struct hs_schema_vm *v = find_vm(s, b->vm);
		bool v4 = hs_ip_is_v4(b->pub.b);
		struct hs_binding_spec spec = {
			.pub = b->pub, .port = b->port, .proto = b->proto, .vm_port = b->vm_port};
		struct hs_binding_key k = {
			.pub = b->pub, .port = htons(b->port), .proto = b->proto};

		if (strcmp(b->frontend, me->name))
			continue;
		if (!v || hs_ip_is_zero(v4 ? &v->address : &v->address6)) {
			hs_warn("etcd: binding %s: VM '%s' unknown or without an IPv%d address",
				hs_format_ip(b->pub.b, buf, sizeof(buf)), b->vm, v4 ? 4 : 6);
			a->sync->invalid++;
			continue;
		}
		spec.vm = v4 ? v->address : v->address6;
		spec.vm_id = v->id;
		if (hs_binding_add(&a->m, &spec) == 0)
			keyset_add(&want, &k);
		else /* conflicting with another binding of the VM: logged */
			a->sync->invalid++;
	}
	keyset_sort(&want);
	hs_map_each(a->m.bindings, sizeof(struct hs_binding_key), sizeof(struct hs_binding),
		    collect_binding, &have);
	for (size_t i = 0; i < have.n; i++) {
		const struct hs_binding_key *k = (const struct hs_binding_key *)have.keys + i;

		if (unwanted(&want, k))
			hs_binding_del(&a->m, &k->pub, ntohs(k->port), k->proto);
	}
	free(want.keys);
	free(have.keys);
}

static void publish(struct agent *a)
{
	struct hs_sync *y = a->sync;
	struct hs_schema_agent rec = {.pid = (uint32_t)getpid(),
				      .started = (uint64_t)y->started,
				      .applied_revision = y->applied};
	char key[HS_SCHEMA_KEY_MAX];
	char *json = NULL;

	snprintf(rec.host, sizeof(rec.host), "%s", a->conf->node_name);
	if (!y->lease && hs_etcd_lease_grant(y->e, SYNC_LEASE_TTL, &y->lease, NULL))
		return;
	if (hs_schema_key_agent(a->conf->etcd_prefix, rec.host, key, sizeof(key)) ||
	    hs_schema_encode_agent(&rec, &json))
		return;
	hs_etcd_put(y->e, key, json, strlen(json), y->lease, NULL);
	free(json);
}

/* One full read and apply. */
static int resync(struct agent *a)
{
	struct hs_sync *y = a->sync;
	const struct hs_schema_host *me;
	struct snapshot s;
	int rc = snapshot_read(a, &s);

	if (rc)
		return rc;
	me = find_host(&s, a->conf->node_name);
	if (!me) {
		hs_warn("etcd: no host '%s' under %shosts/: the maps stay as they are",
			a->conf->node_name, a->conf->etcd_prefix);
	} else {
		struct agent_conf *c = a->conf;
		struct hs_ip old_peers[AGENT_MAX_PEERS];
		int old_npeers = c->npeers, old_nvms = c->nvms;
		struct vm_conf *old_vms = malloc(sizeof(c->vms));

		memcpy(old_peers, c->peers, sizeof(old_peers));
		if (old_vms)
			memcpy(old_vms, c->vms, sizeof(c->vms));
		apply_config(a, me);
		apply_peers(a, &s, me);
		apply_vms(a, &s, me);
		apply_bindings(a, &s, me);
		/* the link dump and the route queries only when their inputs
		 * changed: most changes are other VMs' moves */
		if (!old_vms || c->nvms != old_nvms ||
		    memcmp(old_vms, c->vms, c->nvms * sizeof(c->vms[0])))
			agent_nl_dump(a); /* ports of VMs that just became ours */
		if (c->npeers != old_npeers ||
		    memcmp(old_peers, c->peers, c->npeers * sizeof(old_peers[0])))
			agent_keep_nexthops(a);
		free(old_vms);
	}
	y->applied = s.revision;
	y->applies++;
	y->dirty = false;
	hs_info("etcd: applied revision %lld (%zu hosts, %zu VMs, %zu bindings; %llu invalid "
		"records skipped so far)",
		(long long)s.revision, s.nhosts, s.nvms, s.nbindings,
		(unsigned long long)y->invalid);
	snapshot_free(&s);
	publish(a);
	return 0;
}

/* Only the two hosts of a migration act on its record (INCOMING at `to`, the
 * pointer at `from`): every other agent ignores its progress writes. A
 * deletion or a record that cannot be read is read again in full. */
static bool migration_concerns(const struct agent *a, const struct hs_etcd_watch_event *ev)
{
	struct hs_schema_migration m;
	char why[256];

	if (ev->type != HS_ETCD_WATCH_PUT ||
	    hs_schema_parse_migration(ev->kv->key, ev->kv->value, ev->kv->value_len, &m, why,
				      sizeof(why)))
		return true;
	return !strcmp(m.from, a->conf->node_name) || !strcmp(m.to, a->conf->node_name);
}

static void on_event(struct hs_etcd_watch *w, const struct hs_etcd_watch_event *ev, void *arg)
{
	struct agent *a = arg;
	struct hs_schema_key ki;

	if (ev->type == HS_ETCD_WATCH_COMPACTED) {
		hs_warn("etcd: watch history compacted (from %lld): reading everything again",
			(long long)ev->compact_revision);
		a->sync->dirty = true;
		return;
	}
	/* agents/ changes are other agents' heartbeats: nothing to apply */
	switch (hs_schema_key_kind(a->conf->etcd_prefix, ev->kv->key, ev->kv->key_len, &ki)) {
	case HS_SCHEMA_HOST:
	case HS_SCHEMA_VM:
	case HS_SCHEMA_BINDING:
		a->sync->dirty = true;
		break;
	case HS_SCHEMA_MIGRATION: /* incoming VMs, pointers at switchover */
		a->sync->dirty |= migration_concerns(a, ev);
		break;
	default:
		break;
	}
}

static int start_watch(struct agent *a)
{
	struct hs_etcd_watch_opts o = {.key = a->conf->etcd_prefix,
				       .prefix = true,
				       .start_revision = a->sync->applied + 1,
				       .fn = on_event,
				       .arg = a};

	if (a->sync->w)
		return hs_etcd_watch_resume(a->sync->w, a->sync->applied + 1);
	return hs_etcd_watch_new(a->sync->e, &o, &a->sync->w);
}

int hs_sync_start(struct agent *a)
{
	const struct agent_conf *c = a->conf;
	struct hs_etcd_opts o = {0};
	struct hs_sync *y = calloc(1, sizeof(*y));

	if (!y)
		return -ENOMEM;
	o.ca_file = c->etcd_ca[0] ? c->etcd_ca : NULL;
	o.cert_file = c->etcd_cert[0] ? c->etcd_cert : NULL;
	o.key_file = c->etcd_key[0] ? c->etcd_key : NULL;
	y->started = time(NULL);
	y->dirty = true;
	a->sync = y;
	y->e = hs_etcd_new_list(c->etcd_endpoints, &o);
	if (!y->e) {
		hs_err("etcd: cannot set up a client for '%s'", c->etcd_endpoints);
		hs_sync_stop(a);
		return -EINVAL;
	}
	hs_info("etcd: node '%s', endpoints %s, prefix %s", c->node_name, c->etcd_endpoints,
		c->etcd_prefix);
	hs_sync_tick(a); /* first read now; retried every second until it works */
	return 0;
}

void hs_sync_mark_dirty(struct agent *a)
{
	if (a->sync)
		a->sync->dirty = true;
}

int hs_sync_fd(const struct agent *a)
{
	return a->sync && a->sync->w ? hs_etcd_watch_fd(a->sync->w) : -1;
}

void hs_sync_dispatch(struct agent *a)
{
	int rc;

	if (!a->sync || !a->sync->w)
		return;
	rc = hs_etcd_watch_dispatch(a->sync->w);
	if (rc) { /* stopped (compacted, refused): read everything, resume */
		hs_warn("etcd: watch stopped (%s); resyncing", hs_strerr(rc));
		a->sync->dirty = true;
	}
	if (a->sync->dirty)
		hs_sync_tick(a);
}

void hs_sync_tick(struct agent *a)
{
	struct hs_sync *y = a->sync;
	time_t now = time(NULL);

	if (!y)
		return;
	if (y->expiry && now >= y->expiry) {
		y->expiry = 0;
		y->dirty = true; /* a forwarding pointer expired */
	}
	/* after a read, watch from the revision after it; a watch that still
	 * runs (-EBUSY) goes on by itself and its events mark us dirty again */
	if (y->dirty && resync(a) == 0) {
		int rc = start_watch(a);

		if (rc && rc != -EBUSY)
			hs_warn("etcd: cannot watch %s: %s", a->conf->etcd_prefix, hs_strerr(rc));
	}
	if (y->lease && now - y->last_keepalive >= SYNC_KEEPALIVE_S) {
		int64_t ttl;

		y->last_keepalive = now;
		if (hs_etcd_lease_keepalive(y->e, y->lease, &ttl) == -ENOENT) {
			hs_warn("etcd: our lease is gone; publishing again");
			y->lease = 0;
			publish(a);
		}
	}
}

void hs_sync_stop(struct agent *a)
{
	struct hs_sync *y = a->sync;

	if (!y)
		return;
	if (y->lease)
		hs_etcd_lease_revoke(y->e, y->lease); /* agents/<me> goes with it */
	hs_etcd_watch_free(y->w);
	hs_etcd_free(y->e);
	hs_info("etcd: %llu applies, last revision %lld, %llu invalid records skipped",
		(unsigned long long)y->applies, (long long)y->applied,
		(unsigned long long)y->invalid);
	free(y);
	a->sync = NULL;
}
