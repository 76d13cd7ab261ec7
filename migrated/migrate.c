// SPDX-License-Identifier: GPL-2.0
/*
 * One live migration, from the source host's point of view, and the
 * destination's part at resume.
 *
 *   pending    hsctl or sched wrote migrations/<vm>; we check the VM runs
 *              here, the destination is a known host and libvirt has no job
 *   running    virDomainMigrateToURI3 (live, peer-to-peer, persistent at the
 *              destination, undefined here) runs in its own thread; the loop
 *              writes progress about once a second, sets the downtime limit,
 *              starts post-copy after N passes, cancels on request/timeout
 *   switchover libvirt's SUSPENDED(migrated|post-copy) event: this host's
 *              entries become forwarding pointers to the destination at once
 *              (before anything is written to etcd), the VM's flow entries
 *              are handed to the destination, then the record says so
 *   done       the destination's migrated writes vms/<vm> (host, epoch + 1,
 *              forward_from/until) on RESUMED, so front-ends switch to the
 *              direct path; when the call returns here we write it if it has
 *              not been written, and the record becomes done
 *   failed     the VM keeps running here: the pointers are undone, the
 *              record says why (libvirt's message)
 *
 * Every etcd write compares the record's mod_revision, so a record someone
 * else changed is never overwritten blindly. Records of ours found in
 * running/switchover at start-up (migrated was killed) are recovered from
 * libvirt: a job still running is waited for, then the domain's place
 * (here, at the destination) decides done or failed.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/parse.h"
#include "migrated/migrated.h"

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Wall-clock seconds with milliseconds, for the log lines that matter when
 * lining up a client's gap with the switchover (pause, resume). */
static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* tmpl with its one "%s" replaced by value (load_conf checked the form). */
static void fill(char *out, size_t len, const char *tmpl, const char *value)
{
	const char *p = strstr(tmpl, "%s");

	if (!p) {
		snprintf(out, len, "%s", tmpl);
		return;
	}
	snprintf(out, len, "%.*s%s%s", (int)(p - tmpl), tmpl, value, p + 2);
}

/* ---- etcd records ---- */

static int read_rec(struct hs_etcd *e, const char *key, struct hs_etcd_kv *kv)
{
	int rc = hs_etcd_get(e, key, kv, NULL);

	if (rc && rc != -ENOENT)
		hs_warn("etcd: cannot read %s: %s", key, hs_strerr(rc));
	return rc;
}

int migd_read_host(struct migd *d, const char *name, struct hs_schema_host *out)
{
	char key[HS_SCHEMA_KEY_MAX], why[256];
	struct hs_etcd_kv kv = {0};
	int rc;

	hs_schema_key_host(d->c.etcd_prefix, name, key, sizeof(key));
	rc = read_rec(d->e, key, &kv);
	if (!rc)
		rc = hs_schema_parse_host(key, kv.value, kv.value_len, out, why, sizeof(why));
	hs_etcd_kv_clear(&kv);
	return rc;
}

static int read_vm(struct hs_etcd *e, const char *prefix, const char *name,
		   struct hs_schema_vm *out, int64_t *rev)
{
	char key[HS_SCHEMA_KEY_MAX], why[256];
	struct hs_etcd_kv kv = {0};
	int rc;

	hs_schema_key_vm(prefix, name, key, sizeof(key));
	rc = read_rec(e, key, &kv);
	if (!rc)
		rc = hs_schema_parse_vm(key, kv.value, kv.value_len, out, why, sizeof(why));
	if (!rc && rev)
		*rev = kv.mod_revision;
	hs_etcd_kv_clear(&kv);
	return rc;
}

static int read_mig(struct hs_etcd *e, const char *prefix, const char *name,
		    struct hs_schema_migration *out, int64_t *rev)
{
	char key[HS_SCHEMA_KEY_MAX], why[256];
	struct hs_etcd_kv kv = {0};
	int rc;

	hs_schema_key_migration(prefix, name, key, sizeof(key));
	rc = read_rec(e, key, &kv);
	if (!rc)
		rc = hs_schema_parse_migration(key, kv.value, kv.value_len, out, why, sizeof(why));
	if (!rc && rev)
		*rev = kv.mod_revision;
	hs_etcd_kv_clear(&kv);
	return rc;
}

/*
 * Writes rec under migrations/<vm> if its mod_revision is still *rev, and/or
 * vm under vms/<vm> if its mod_revision is still vm_rev, in one transaction.
 * *rev is the new mod_revision on success. 0, -ESTALE (compare failed),
 * -errno.
 */
static int put_mig(struct hs_etcd *e, const char *prefix, const struct hs_schema_migration *rec,
		   int64_t *rev, const struct hs_schema_vm *vm, int64_t vm_rev)
{
	char mkey[HS_SCHEMA_KEY_MAX], vkey[HS_SCHEMA_KEY_MAX];
	char *mjson = NULL, *vjson = NULL;
	struct hs_etcd_cmp cmps[2];
	struct hs_etcd_op ops[2];
	struct hs_etcd_txn t = {.cmps = cmps, .success = ops};
	bool ok = false;
	int64_t after = 0;
	int rc;

	if (rec) {
		hs_schema_key_migration(prefix, rec->vm, mkey, sizeof(mkey));
		rc = hs_schema_encode_migration(rec, &mjson);
		if (rc)
			return rc;
		cmps[t.n_cmps++] = (struct hs_etcd_cmp){.key = mkey,
							.target = HS_ETCD_CMP_MOD,
							.op = HS_ETCD_EQUAL,
							.revision = *rev};
		ops[t.n_success++] = (struct hs_etcd_op){.type = HS_ETCD_OP_PUT,
							 .key = mkey,
							 .value = mjson,
							 .value_len = strlen(mjson)};
	}
	if (vm) {
		hs_schema_key_vm(prefix, vm->name, vkey, sizeof(vkey));
		rc = hs_schema_encode_vm(vm, &vjson);
		if (rc)
			goto out;
		cmps[t.n_cmps++] = (struct hs_etcd_cmp){.key = vkey,
							.target = HS_ETCD_CMP_MOD,
							.op = HS_ETCD_EQUAL,
							.revision = vm_rev};
		ops[t.n_success++] = (struct hs_etcd_op){.type = HS_ETCD_OP_PUT,
							 .key = vkey,
							 .value = vjson,
							 .value_len = strlen(vjson)};
	}
	rc = hs_etcd_txn(e, &t, &ok, &after);
	if (!rc && !ok)
		rc = -ESTALE;
	if (!rc && rev)
		*rev = after;
out:
	free(mjson);
	free(vjson);
	return rc;
}

/* vm as a switchover writes it: on `to`, epoch + 1, `from` holding the
 * forwarding pointer for forward_s seconds. */
static void vm_moved(struct hs_schema_vm *vm, const char *from, const char *to, uint32_t forward_s)
{
	snprintf(vm->forward_from, sizeof(vm->forward_from), "%s", from);
	vm->forward_until = (uint64_t)time(NULL) + forward_s;
	snprintf(vm->host, sizeof(vm->host), "%s", to);
	vm->epoch = vm->epoch == UINT32_MAX ? 1 : vm->epoch + 1;
}

/* A record we refuse before anything started: failed, with the reason. */
static void refuse(struct migd *d, struct hs_schema_migration rec, int64_t rev, const char *why)
{
	rec.state = HS_SCHEMA_MIG_FAILED;
	snprintf(rec.reason, sizeof(rec.reason), "%s", why);
	rec.updated = (uint64_t)time(NULL);
	if (rec.updated < rec.started)
		rec.updated = rec.started;
	hs_warn("migration %s -> %s refused: %s", rec.vm, rec.to, why);
	d->failed++;
	if (put_mig(d->e, d->c.etcd_prefix, &rec, &rev, NULL, 0))
		hs_warn("migration %s: cannot record the refusal (will retry)", rec.vm);
}

/* ---- the data plane at switchover ---- */

static void pointer_set(struct migd *d, struct migd_mig *m)
{
	char buf[64];

	if (!d->have_maps || !d->c.handover_pointer || m->pointer_set)
		return;
	for (int f = 0; f < 2; f++) {
		struct hs_vm e;

		m->has_saved[f] = false;
		if (hs_ip_is_zero(&m->addr[f]) || hs_vm_get(&d->maps, &m->addr[f], &m->saved[f]))
			continue;
		m->has_saved[f] = true;
		e = m->saved[f];
		e.kind = HS_VM_FORWARD;
		e.host = m->dest;
		e.ifindex = 0;
		if (hs_vm_put(&d->maps, &m->addr[f], &e))
			hs_err("migration %s: cannot write the forwarding pointer for %s", m->vm,
			       hs_format_ip(m->addr[f].b, buf, sizeof(buf)));
	}
	atomic_store(&m->pointer_set, true);
}

static void pointer_undo(struct migd *d, struct migd_mig *m)
{
	if (!atomic_load(&m->pointer_set))
		return;
	for (int f = 0; f < 2; f++)
		if (m->has_saved[f] && hs_vm_put(&d->maps, &m->addr[f], &m->saved[f]))
			hs_err("migration %s: cannot restore its local entry", m->vm);
	atomic_store(&m->pointer_set, false);
	hs_info("migration %s: local entries restored", m->vm);
}

static struct migd_mig *find(struct migd *d, const char *vm)
{
	for (int i = 0; i < MIGD_MAX; i++)
		if (d->migs[i].used && !strcmp(d->migs[i].vm, vm))
			return &d->migs[i];
	return NULL;
}

/* Destination side of RESUMED: the VM runs here now. */
static void arrived(struct migd *d, const char *name)
{
	struct hs_schema_migration rec;
	struct hs_schema_vm vm;
	int64_t mrev, vrev;
	struct hs_etcd *e = d->e2;

	if (!e || read_mig(e, d->c.etcd_prefix, name, &rec, &mrev) || strcmp(rec.to, d->c.node) ||
	    (rec.state != HS_SCHEMA_MIG_RUNNING && rec.state != HS_SCHEMA_MIG_SWITCHOVER))
		return;
	if (read_vm(e, d->c.etcd_prefix, name, &vm, &vrev))
		return;
	/* our own entries first: direct delivery, no detour via the source */
	for (int f = 0; f < 2 && d->have_maps; f++) {
		const struct hs_ip *a = f ? &vm.address6 : &vm.address;
		struct hs_vm v;

		if (!hs_ip_is_zero(a) && !hs_vm_get(&d->maps, a, &v) && v.kind == HS_VM_INCOMING) {
			v.kind = HS_VM_LOCAL;
			hs_vm_put(&d->maps, a, &v);
		}
	}
	for (int tries = 0; tries < 3; tries++) {
		/* a lost race: the record changed since it was read */
		if (tries && read_vm(e, d->c.etcd_prefix, name, &vm, &vrev))
			return;
		if (!strcmp(vm.host, d->c.node))
			return; /* written already */
		if (strcmp(vm.host, rec.from)) {
			hs_warn("migration %s: resumed here but vms/%s says host %s, not %s", name,
				name, vm.host, rec.from);
			return;
		}
		vm_moved(&vm, rec.from, d->c.node, d->c.forward_s);
		if (!put_mig(e, d->c.etcd_prefix, NULL, NULL, &vm, vrev)) {
			hs_info("migration %s: resumed here; vms/%s now says host %s, epoch %u",
				name, name, vm.host, vm.epoch);
			return;
		}
	}
	hs_warn("migration %s: resumed here but vms/%s could not be updated; the source will", name,
		name);
}

/*
 * The VM paused here for the end of its migration: the pointer first
 * (packets from now on wait at the destination), then the flows to the
 * destination. Called on QEMU's STOP (libvirt passes it on before it saves
 * its status file and queues its own SUSPENDED event, which comes a few ms
 * later and then finds the work done) or on that SUSPENDED event. qemu_at:
 * QEMU's time of the stop, 0 when not known.
 */
static void switch_over(struct migd *d, const char *name, bool postcopy, double qemu_at)
{
	struct migd_mig *m;
	double at;

	pthread_mutex_lock(&d->lock);
	m = find(d, name);
	if (!m || atomic_load(&m->phase) != MIGD_RUNNING) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	pointer_set(d, m);
	at = wall();
	struct migd_ho_job job = {.addr = {m->addr[0], m->addr[1]},
				  .dest = m->dest,
				  .vm_id = m->vmrec.id,
				  .epoch = m->vmrec.epoch};

	snprintf(job.vm, sizeof(job.vm), "%s", m->vm);
	postcopy = postcopy || m->postcopy_started;
	atomic_store(&m->phase, MIGD_SWITCHED);
	pthread_mutex_unlock(&d->lock);
	if (qemu_at > 0)
		hs_info("migration %s: paused here at %.3f (%s; QEMU stopped it %.1f ms before the "
			"pointer); forwarding to the destination",
			name, at, postcopy ? "post-copy" : "stop-and-copy", (at - qemu_at) * 1e3);
	else
		hs_info("migration %s: paused here at %.3f (%s); forwarding to the destination",
			name, at, postcopy ? "post-copy" : "stop-and-copy");
	if (d->c.handover_port) {
		int n = migd_ho_send(d, &job);

		pthread_mutex_lock(&d->lock);
		m = find(d, name);
		if (m && n >= 0)
			m->flows_sent = (uint64_t)n;
		pthread_mutex_unlock(&d->lock);
	}
	migd_notify(d);
}

/* QEMU's STOP event (libvirt-qemu): during an outgoing migration, the
 * pause for its end. A user's pause of a migrating VM looks the same: its
 * pointer is undone when the VM resumes here (migd_lifecycle). */
void migd_qemu_stop(virConnectPtr conn, virDomainPtr dom, const char *event, long long seconds,
		    unsigned int micros, const char *details, void *arg)
{
	const char *name = virDomainGetName(dom);

	(void)conn;
	(void)event;
	(void)details;
	if (name)
		switch_over(arg, name, false, seconds >= 0 ? seconds + micros / 1e6 : 0);
}

int migd_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *arg)
{
	struct migd *d = arg;
	const char *name = virDomainGetName(dom);
	struct migd_mig *m;

	if (!name)
		return 0;
	hs_debug("libvirt: domain %s event %d detail %d", name, event, detail);
	if (event == VIR_DOMAIN_EVENT_RESUMED && (detail == VIR_DOMAIN_EVENT_RESUMED_MIGRATED ||
						  detail == VIR_DOMAIN_EVENT_RESUMED_POSTCOPY)) {
		pthread_mutex_lock(&d->lock);
		m = find(d, name);
		pthread_mutex_unlock(&d->lock);
		if (!m) {
			hs_info("migration %s: resumed here at %.3f", name, wall());
			if (d->c.record_on_resume)
				arrived(d, name);
			return 0;
		}
	}
	pthread_mutex_lock(&d->lock);
	m = find(d, name);
	if (!m) {
		pthread_mutex_unlock(&d->lock);
		return 0;
	}
	if (event == VIR_DOMAIN_EVENT_SUSPENDED &&
	    (detail == VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED ||
	     detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY)) {
		pthread_mutex_unlock(&d->lock);
		switch_over(d, name, detail == VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY, 0);
		return 0;
	}
	if (event == VIR_DOMAIN_EVENT_RESUMED && atomic_load(&m->phase) == MIGD_SWITCHED) {
		/* the migration failed after the pause: the VM runs here again */
		pointer_undo(d, m);
		atomic_store(&m->phase, MIGD_RUNNING);
	}
	pthread_mutex_unlock(&d->lock);
	return 0;
}

/* ---- the libvirt call ---- */

static void *mig_thread(void *arg)
{
	struct migd_mig *m = arg;
	struct migd *d = m->d;
	virTypedParameterPtr params = NULL;
	int n = 0, max = 0;
	unsigned int flags = VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER | VIR_MIGRATE_PERSIST_DEST |
			     VIR_MIGRATE_UNDEFINE_SOURCE;
	char addr[64], uri[512];
	int rc;

	hs_format_ip(m->dest.b, addr, sizeof(addr));
	if (d->c.migrate_uri[0]) {
		/* IPv6 literals need brackets in a URI */
		char host[80];

		snprintf(host, sizeof(host), strchr(addr, ':') ? "[%s]" : "%s", addr);
		fill(uri, sizeof(uri), d->c.migrate_uri, host);
		virTypedParamsAddString(&params, &n, &max, VIR_MIGRATE_PARAM_URI, uri);
	}
	if (d->c.bandwidth_mib)
		virTypedParamsAddULLong(&params, &n, &max, VIR_MIGRATE_PARAM_BANDWIDTH,
					d->c.bandwidth_mib);
	if (d->c.auto_converge)
		flags |= VIR_MIGRATE_AUTO_CONVERGE;
	if (d->c.postcopy_after)
		flags |= VIR_MIGRATE_POSTCOPY;
	m->started_ns = now_ns();
	rc = virDomainMigrateToURI3(m->dom, m->dest_uri, params, n, flags);
	virTypedParamsFree(params, n);
	if (rc < 0) {
		const char *msg = virGetLastErrorMessage();

		m->result = atomic_load(&m->cancel) ? -ECANCELED : -EIO;
		if (!atomic_load(&m->aborted)) /* else error says why we aborted */
			snprintf(m->error, sizeof(m->error), "libvirt: %s",
				 msg ? msg : "unknown error");
	} else {
		m->result = 0;
	}
	m->total_ms = (uint64_t)(now_ns() - m->started_ns) / 1000000;
	atomic_store(&m->phase, MIGD_FINISHED);
	migd_notify(d);
	return NULL;
}

static void slot_free(struct migd *d, struct migd_mig *m)
{
	pthread_mutex_lock(&d->lock);
	if (m->dom)
		virDomainFree(m->dom);
	memset(m, 0, sizeof(*m));
	pthread_mutex_unlock(&d->lock);
}

static struct migd_mig *slot_new(struct migd *d, const struct hs_schema_migration *rec, int64_t rev)
{
	struct migd_mig *m = NULL;

	pthread_mutex_lock(&d->lock);
	for (int i = 0; i < MIGD_MAX && !m; i++)
		if (!d->migs[i].used)
			m = &d->migs[i];
	if (m) {
		memset(m, 0, sizeof(*m));
		m->used = true;
		m->d = d;
		m->rec = *rec;
		m->rec_rev = rev;
		snprintf(m->vm, sizeof(m->vm), "%s", rec->vm);
	}
	pthread_mutex_unlock(&d->lock);
	return m;
}

/* The destination's libvirt URI and underlay address; 0 or a reason. */
static const char *dest_of(struct migd *d, struct migd_mig *m)
{
	struct hs_schema_host to;
	const struct hs_ip *a;
	char addr[64], host[80];

	if (!d->have_me)
		return "this host is not in etcd";
	if (migd_read_host(d, m->rec.to, &to))
		return "the destination host is not in etcd";
	if (!(to.roles & HS_SCHEMA_ROLE_HOST))
		return "the destination does not have the host role";
	a = hs_schema_host_reach(&d->me, &to);
	if (!a)
		return "the destination has no underlay address of a family this host has";
	m->dest = *a;
	hs_format_ip(a->b, addr, sizeof(addr));
	snprintf(host, sizeof(host), strchr(addr, ':') ? "[%s]" : "%s", addr);
	fill(m->dest_uri, sizeof(m->dest_uri), d->c.peer_uri, host);
	return NULL;
}

static void start(struct migd *d, const struct hs_schema_migration *rec, int64_t rev)
{
	struct migd_mig *m;
	virDomainInfo info;
	const char *why;
	char msg[HS_SCHEMA_TEXT_MAX];
	int rc;

	m = slot_new(d, rec, rev);
	if (!m) {
		refuse(d, *rec, rev, "too many migrations at once on the source host");
		return;
	}
	if (read_vm(d->e, d->c.etcd_prefix, rec->vm, &m->vmrec, NULL)) {
		refuse(d, *rec, rev, "unknown VM");
		goto drop;
	}
	if (strcmp(m->vmrec.host, d->c.node)) {
		snprintf(msg, sizeof(msg), "the VM runs on %s, not on %s", m->vmrec.host,
			 d->c.node);
		refuse(d, *rec, rev, msg);
		goto drop;
	}
	why = dest_of(d, m);
	if (why) {
		refuse(d, *rec, rev, why);
		goto drop;
	}
	if (!d->conn) {
		refuse(d, *rec, rev, "migrated has no libvirt connection");
		goto drop;
	}
	m->dom = virDomainLookupByName(d->conn, rec->vm);
	if (!m->dom || virDomainGetInfo(m->dom, &info) < 0 ||
	    (info.state != VIR_DOMAIN_RUNNING && info.state != VIR_DOMAIN_PAUSED)) {
		snprintf(msg, sizeof(msg), "no running libvirt domain '%s' on %s", rec->vm,
			 d->c.node);
		refuse(d, *rec, rev, msg);
		goto drop;
	}
	{
		virDomainJobInfo job;

		if (virDomainGetJobInfo(m->dom, &job) == 0 && job.type != VIR_DOMAIN_JOB_NONE) {
			refuse(d, *rec, rev, "the domain already has a libvirt job (migrating?)");
			goto drop;
		}
	}
	m->addr[0] = m->vmrec.address;
	m->addr[1] = m->vmrec.address6;
	m->rec.state = HS_SCHEMA_MIG_RUNNING;
	m->rec.updated = (uint64_t)time(NULL);
	if (m->rec.updated < m->rec.started)
		m->rec.updated = m->rec.started;
	rc = put_mig(d->e, d->c.etcd_prefix, &m->rec, &m->rec_rev, NULL, 0);
	if (rc) {
		hs_warn("migration %s: cannot mark it running (%s); will look again", rec->vm,
			hs_strerr(rc));
		d->dirty = true;
		goto drop;
	}
	if (d->c.downtime_ms && !virDomainMigrateSetMaxDowntime(m->dom, d->c.downtime_ms, 0))
		m->downtime_set = true;
	atomic_store(&m->phase, MIGD_RUNNING);
	if (pthread_create(&m->thread, NULL, mig_thread, m)) {
		snprintf(m->error, sizeof(m->error), "cannot start a thread");
		m->result = -ENOMEM;
		atomic_store(&m->phase, MIGD_FINISHED);
		return;
	}
	m->thread_running = true;
	d->started++;
	hs_info("migration %s: %s -> %s started (libvirt %s%s%s)", m->vm, m->rec.from, m->rec.to,
		m->dest_uri, d->c.postcopy_after ? ", post-copy allowed" : "",
		d->c.auto_converge ? ", auto-converge" : "");
	return;
drop:
	slot_free(d, m);
}

/* ---- recovery after a restart ---- */

static void recover(struct migd *d, const struct hs_schema_migration *rec, int64_t rev)
{
	struct migd_mig *m = slot_new(d, rec, rev);

	if (!m)
		return;
	if (read_vm(d->e, d->c.etcd_prefix, rec->vm, &m->vmrec, NULL) || dest_of(d, m)) {
		/* not enough left to judge: the VM record or the destination is
		 * gone; libvirt still knows where the domain runs */
		memset(&m->dest, 0, sizeof(m->dest));
	}
	m->addr[0] = m->vmrec.address;
	m->addr[1] = m->vmrec.address6;
	if (d->conn)
		m->dom = virDomainLookupByName(d->conn, rec->vm);
	atomic_store(&m->phase, MIGD_RECOVERING);
	hs_info("migration %s: found %s after a restart; asking libvirt how it went", rec->vm,
		hs_schema_mig_state_name(rec->state));
}

/* Is the domain active at the destination's libvirt? 1 yes, 0 no, -1 unknown. */
static int active_at_dest(struct migd_mig *m)
{
	virConnectPtr c;
	virDomainPtr dom;
	int r = 0;

	if (!m->dest_uri[0])
		return -1;
	c = virConnectOpen(m->dest_uri);
	if (!c)
		return -1;
	dom = virDomainLookupByName(c, m->vm);
	if (dom) {
		r = virDomainIsActive(dom) == 1;
		virDomainFree(dom);
	}
	virConnectClose(c);
	return r;
}

/* Downtime and total time of the finished job, from the destination (the
 * domain is gone here). Best effort. */
static void completed_stats(struct migd_mig *m)
{
	virConnectPtr c = m->dest_uri[0] ? virConnectOpen(m->dest_uri) : NULL;
	virDomainPtr dom = c ? virDomainLookupByName(c, m->vm) : NULL;
	virTypedParameterPtr p = NULL;
	int type, n = 0;
	unsigned long long v;

	if (dom && virDomainGetJobStats(dom, &type, &p, &n, VIR_DOMAIN_JOB_STATS_COMPLETED) == 0) {
		if (virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_DOWNTIME, &v) == 1)
			m->downtime_ms = v;
		virTypedParamsFree(p, n);
	}
	if (dom)
		virDomainFree(dom);
	if (c)
		virConnectClose(c);
}

/* ---- the loop's part ---- */

static void write_progress(struct migd *d, struct migd_mig *m)
{
	virTypedParameterPtr p = NULL;
	int type, n = 0;
	unsigned long long total = 0, rem = 0, dirty = 0, page = 4096, down = 0, iter = 0;
	int rc;

	if (virDomainGetJobStats(m->dom, &type, &p, &n, 0) < 0 || type == VIR_DOMAIN_JOB_NONE) {
		virTypedParamsFree(p, n);
		return;
	}
	virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_MEMORY_TOTAL, &total);
	virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_MEMORY_REMAINING, &rem);
	virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE, &dirty);
	virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE, &page);
	virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_DOWNTIME, &down);
	virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_MEMORY_ITERATION, &iter);
	{
		unsigned long long done = 0;

		virTypedParamsGetULLong(p, n, VIR_DOMAIN_JOB_DATA_PROCESSED, &done);
		if (done != m->processed || !m->progressed_ns) {
			m->processed = done;
			m->progressed_ns = now_ns();
		}
	}
	{
		int throttle = 0;

		if (virTypedParamsGetInt(p, n, VIR_DOMAIN_JOB_AUTO_CONVERGE_THROTTLE, &throttle) ==
			    1 &&
		    throttle != m->throttle) {
			hs_info("migration %s: auto-converge throttles the guest to %d%% (pass "
				"%llu, "
				"%llu MiB left)",
				m->vm, throttle, iter, rem >> 20);
			m->throttle = throttle;
		}
	}
	virTypedParamsFree(p, n);
	if (!m->downtime_set && d->c.downtime_ms &&
	    !virDomainMigrateSetMaxDowntime(m->dom, d->c.downtime_ms, 0))
		m->downtime_set = true;
	/* iteration N runs while N - 1 passes are complete */
	if (d->c.postcopy_after && !m->postcopy_started && iter > d->c.postcopy_after &&
	    atomic_load(&m->phase) == MIGD_RUNNING) {
		if (virDomainMigrateStartPostCopy(m->dom, 0) == 0) {
			m->postcopy_started = true;
			hs_info("migration %s: post-copy started after %llu passes (%llu MiB left)",
				m->vm, iter, rem >> 20);
		}
	}
	if (rem > total)
		rem = total;
	m->rec.has_progress = true;
	m->rec.progress = (struct hs_schema_mig_progress){.memory_total = total,
							  .memory_remaining = rem,
							  .dirty_rate = dirty * page,
							  .expected_downtime_ms = down};
	m->rec.updated = (uint64_t)time(NULL);
	rc = put_mig(d->e, d->c.etcd_prefix, &m->rec, &m->rec_rev, NULL, 0);
	if (rc)
		hs_debug("migration %s: progress not written: %s", m->vm, hs_strerr(rc));
	hs_debug("migration %s: pass %llu, %llu of %llu MiB left, dirty %llu pages/s", m->vm, iter,
		 rem >> 20, total >> 20, dirty);
}

/*
 * The final records. Success: vms/<vm> gets host = destination, epoch + 1,
 * the forwarding pair (unless the destination wrote it already) and the
 * migration is done, in one transaction. Returns 0 when written (the slot
 * may go), non-zero to retry.
 */
static int finish_ok(struct migd *d, struct migd_mig *m)
{
	struct hs_schema_vm vm;
	int64_t vrev;
	int rc;

	rc = read_vm(d->e, d->c.etcd_prefix, m->vm, &vm, &vrev);
	if (rc == -ENOENT) {
		hs_warn("migration %s: vms/%s vanished during the migration", m->vm, m->vm);
	} else if (rc) {
		return rc;
	}
	m->rec.state = HS_SCHEMA_MIG_DONE;
	m->rec.updated = (uint64_t)time(NULL);
	if (!rc && strcmp(vm.host, m->rec.to)) {
		vm_moved(&vm, d->c.node, m->rec.to, d->c.forward_s);
		rc = put_mig(d->e, d->c.etcd_prefix, &m->rec, &m->rec_rev, &vm, vrev);
	} else {
		rc = put_mig(d->e, d->c.etcd_prefix, &m->rec, &m->rec_rev, NULL, 0);
	}
	if (rc == -ESTALE) {
		/* someone wrote one of the two since: read the record again */
		int64_t r;
		struct hs_schema_migration cur;

		if (!read_mig(d->e, d->c.etcd_prefix, m->vm, &cur, &r) &&
		    !strcmp(cur.from, m->rec.from) && !strcmp(cur.to, m->rec.to))
			m->rec_rev = r;
	}
	return rc;
}

static int finish_bad(struct migd *d, struct migd_mig *m)
{
	bool cancelled = m->result == -ECANCELED && !m->switch_recorded;

	m->rec.state = cancelled ? HS_SCHEMA_MIG_CANCELLED : HS_SCHEMA_MIG_FAILED;
	snprintf(m->rec.reason, sizeof(m->rec.reason), "%s",
		 m->error[0] ? m->error : "migration failed");
	m->rec.updated = (uint64_t)time(NULL);
	return put_mig(d->e, d->c.etcd_prefix, &m->rec, &m->rec_rev, NULL, 0);
}

static void finish(struct migd *d, struct migd_mig *m)
{
	int rc;

	if (m->thread_running) {
		pthread_join(m->thread, NULL);
		m->thread_running = false;
		if (m->result == 0) {
			completed_stats(m);
			hs_info("migration %s: done in %" PRIu64 " ms, downtime %" PRIu64
				" ms (QEMU), %" PRIu64 " flow entries handed over",
				m->vm, m->total_ms, m->downtime_ms, m->flows_sent);
			d->done++;
		} else {
			/* the VM stays here: entries as they were */
			pointer_undo(d, m);
			hs_warn("migration %s: %s: %s", m->vm,
				m->result == -ECANCELED ? "cancelled" : "failed", m->error);
			if (m->result == -ECANCELED)
				d->cancelled++;
			else
				d->failed++;
		}
	}
	if (time(NULL) < m->next_retry)
		return;
	rc = m->result == 0 ? finish_ok(d, m) : finish_bad(d, m);
	if (rc) {
		hs_warn("migration %s: cannot write the final record (%s); retrying", m->vm,
			hs_strerr(rc));
		m->next_retry = time(NULL) + 1;
		return;
	}
	hs_info("migration %s: recorded %s", m->vm, hs_schema_mig_state_name(m->rec.state));
	slot_free(d, m);
}

static void recovering(struct migd *d, struct migd_mig *m)
{
	virDomainJobInfo job;
	virDomainInfo info;
	int at;

	if (time(NULL) < m->next_retry)
		return;
	m->next_retry = time(NULL) + 1;
	if (m->dom && virDomainGetJobInfo(m->dom, &job) == 0 && job.type != VIR_DOMAIN_JOB_NONE)
		return; /* libvirt still migrates it: wait */
	if (m->dom && virDomainGetInfo(m->dom, &info) == 0 && virDomainIsActive(m->dom) == 1 &&
	    info.state == VIR_DOMAIN_RUNNING) {
		m->result = -EINTR;
		snprintf(m->error, sizeof(m->error),
			 "interrupted: migrated restarted during the migration; the VM runs on %s",
			 d->c.node);
		pointer_undo(d, m);
		d->failed++;
		atomic_store(&m->phase, MIGD_FINISHED);
		return;
	}
	at = active_at_dest(m);
	if (at < 0)
		return; /* cannot tell yet */
	if (at) {
		m->result = 0;
		d->done++;
		hs_info("migration %s: it completed while migrated was away", m->vm);
	} else {
		m->result = -EIO;
		snprintf(m->error, sizeof(m->error),
			 "interrupted: the domain runs neither on %s nor on %s", d->c.node,
			 m->rec.to);
		d->failed++;
	}
	atomic_store(&m->phase, MIGD_FINISHED);
}

/* Ends a running job that is not getting anywhere: failed, with the reason. */
static void __attribute__((format(printf, 2, 3)))
abort_job(struct migd_mig *m, const char *fmt, ...)
{
	va_list ap;

	if (atomic_load(&m->aborted) || atomic_load(&m->cancel))
		return;
	va_start(ap, fmt);
	vsnprintf(m->error, sizeof(m->error), fmt, ap);
	va_end(ap);
	atomic_store(&m->aborted, true);
	hs_warn("migration %s: %s: aborting", m->vm, m->error);
	virDomainAbortJob(m->dom);
}

void migd_tick(struct migd *d)
{
	time_t now = time(NULL);

	for (int i = 0; i < MIGD_MAX; i++) {
		struct migd_mig *m = &d->migs[i];
		int phase;

		if (!m->used)
			continue;
		phase = atomic_load(&m->phase);
		if (phase == MIGD_RECOVERING) {
			recovering(d, m);
			phase = atomic_load(&m->phase);
		}
		if (phase == MIGD_FINISHED) {
			finish(d, m);
			continue;
		}
		/* without the pointer (a benchmark's baseline) no switchover
		 * record either: it makes the source's agent keep a pointer */
		if (phase == MIGD_SWITCHED && !m->switch_recorded && d->c.handover_pointer) {
			m->rec.state = HS_SCHEMA_MIG_SWITCHOVER;
			m->rec.updated = (uint64_t)now;
			if (!put_mig(d->e, d->c.etcd_prefix, &m->rec, &m->rec_rev, NULL, 0))
				m->switch_recorded = true;
		}
		if (phase == MIGD_RUNNING && d->c.timeout_s && m->started_ns &&
		    (now_ns() - m->started_ns) / 1000000000LL > d->c.timeout_s)
			abort_job(m, "timed out after %u s", d->c.timeout_s);
		if (phase == MIGD_RUNNING && d->c.stall_s && m->progressed_ns &&
		    (now_ns() - m->progressed_ns) / 1000000000LL > d->c.stall_s)
			abort_job(m, "nothing sent for %u s (destination or network gone?)",
				  d->c.stall_s);
		if ((phase == MIGD_RUNNING || phase == MIGD_SWITCHED) &&
		    now_ns() / 1000000 >= m->next_progress) {
			m->next_progress = now_ns() / 1000000 + d->c.progress_ms;
			write_progress(d, m);
		}
	}
}

/* ---- the records ---- */

void migd_scan(struct migd *d)
{
	char dir[HS_SCHEMA_KEY_MAX], why[256];
	struct hs_etcd_kvs kvs = {0};
	int rc;

	if (!d->dirty)
		return;
	d->have_me = !migd_read_host(d, d->c.node, &d->me);
	hs_schema_key_dir(d->c.etcd_prefix, HS_SCHEMA_MIGRATION, dir, sizeof(dir));
	rc = hs_etcd_get_prefix(d->e, dir, 0, &kvs);
	if (rc) {
		hs_warn("etcd: cannot read %s: %s", dir, hs_strerr(rc));
		return;
	}
	d->dirty = false;
	d->applied = kvs.revision;
	for (size_t i = 0; i < kvs.n; i++) {
		struct hs_schema_migration rec;
		const struct hs_etcd_kv *kv = &kvs.kvs[i];

		if (hs_schema_parse_migration(kv->key, kv->value, kv->value_len, &rec, why,
					      sizeof(why)))
			continue; /* logged by the parser */
		if (strcmp(rec.from, d->c.node) || find(d, rec.vm))
			continue;
		if (rec.state == HS_SCHEMA_MIG_PENDING)
			start(d, &rec, kv->mod_revision);
		else if (rec.state == HS_SCHEMA_MIG_RUNNING ||
			 rec.state == HS_SCHEMA_MIG_SWITCHOVER)
			recover(d, &rec, kv->mod_revision);
	}
	hs_etcd_kvs_free(&kvs);
}

int migd_cancel(struct migd *d, const char *vm, char *msg, size_t len)
{
	struct migd_mig *m;
	int rc = 0;

	pthread_mutex_lock(&d->lock);
	m = find(d, vm);
	if (!m) {
		snprintf(msg, len, "no migration of %s runs on this host", vm);
		rc = -ENOENT;
	} else if (atomic_load(&m->phase) != MIGD_RUNNING || m->postcopy_started) {
		snprintf(msg, len, "%s is past the point of no return (switchover or post-copy)",
			 vm);
		rc = -EBUSY;
	} else {
		atomic_store(&m->cancel, true);
		snprintf(m->error, sizeof(m->error), "cancelled by operator");
		if (virDomainAbortJob(m->dom) < 0) {
			snprintf(msg, len, "libvirt refused: %s", virGetLastErrorMessage());
			rc = -EIO;
		} else {
			snprintf(msg, len, "cancelling %s", vm);
		}
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

void migd_status(struct migd *d, char *buf, size_t len)
{
	static const char *const names[] = {"starting", "running", "switchover", "finishing",
					    "recovering"};
	size_t off = 0;

	off += (size_t)snprintf(buf + off, len - off,
				"node %s: started %" PRIu64 " done %" PRIu64 " failed %" PRIu64
				" cancelled %" PRIu64 " handovers-in %" PRIu64 " refused %" PRIu64
				" flows-in %" PRIu64 " bad-requests %" PRIu64 "\n",
				d->c.node, d->started, d->done, d->failed, d->cancelled,
				d->handovers_in, d->handovers_refused, d->flows_in,
				d->bad_requests);
	pthread_mutex_lock(&d->lock);
	for (int i = 0; i < MIGD_MAX && off < len; i++) {
		const struct migd_mig *m = &d->migs[i];

		if (m->used)
			off += (size_t)snprintf(buf + off, len - off, "%s -> %s %s\n", m->vm,
						m->rec.to, names[atomic_load(&m->phase)]);
	}
	pthread_mutex_unlock(&d->lock);
}
