// SPDX-License-Identifier: GPL-2.0
/*
 * hsctl's view of the cluster state: one consistent read of the prefix,
 * every record parsed by lib/schema, lookups and the search for records
 * that refer to a site, host or VM; transactions built from compares on the
 * revisions that were read; and record output as JSON or field lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/hsctl.h"
#include "lib/err.h"
#include "lib/log.h"

static int rec_parse(struct ctl_rec *rec)
{
	const char *k = rec->kv->key, *v = rec->kv->value;
	size_t n = rec->kv->value_len;
	char why[16]; /* the parser logs the full reason itself */

	switch (rec->kind) {
	case HS_SCHEMA_SITE:
		return hs_schema_parse_site(k, v, n, &rec->r.site, why, sizeof(why));
	case HS_SCHEMA_HOST:
		return hs_schema_parse_host(k, v, n, &rec->r.host, why, sizeof(why));
	case HS_SCHEMA_VM:
		return hs_schema_parse_vm(k, v, n, &rec->r.vm, why, sizeof(why));
	case HS_SCHEMA_BINDING:
		return hs_schema_parse_binding(k, v, n, &rec->r.binding, why, sizeof(why));
	case HS_SCHEMA_IMAGE:
		return hs_schema_parse_image(k, v, n, &rec->r.image, why, sizeof(why));
	case HS_SCHEMA_MIGRATION:
		return hs_schema_parse_migration(k, v, n, &rec->r.migration, why, sizeof(why));
	case HS_SCHEMA_LEADER:
		return hs_schema_parse_leader(k, v, n, &rec->r.leader, why, sizeof(why));
	case HS_SCHEMA_AGENT:
		return hs_schema_parse_agent(k, v, n, &rec->r.agent, why, sizeof(why));
	default:
		return -EINVAL;
	}
}

/* Classifies and parses kv into rec: 0, -ENOENT for a key that names no
 * record (skipped), or the parser's error (logged; rec->ok false). */
static int rec_init(struct ctl_rec *rec, struct hs_etcd_kv *kv)
{
	int rc;

	memset(rec, 0, sizeof(*rec));
	rec->kind = hs_schema_key_kind(ctl.prefix, kv->key, kv->key_len, &rec->id);
	rec->kv = kv;
	if (rec->kind == HS_SCHEMA_UNKNOWN) {
		hs_debug("%s: not a heliostat record key; skipped", kv->key);
		return -ENOENT;
	}
	rc = rec_parse(rec);
	rec->ok = !rc;
	return rc;
}

int ctl_snap_load(struct ctl_snap *s, enum hs_schema_kind kind)
{
	char dir[HS_SCHEMA_KEY_MAX];
	int rc;

	memset(s, 0, sizeof(*s));
	if (kind == HS_SCHEMA_UNKNOWN)
		snprintf(dir, sizeof(dir), "%s", ctl.prefix);
	else if ((rc = hs_schema_key_dir(ctl.prefix, kind, dir, sizeof(dir))))
		return rc;
	rc = hs_etcd_get_prefix(ctl.etcd, dir, 0, &s->kvs);
	if (rc)
		return ctl_etcd_failed("read the cluster state", rc);
	s->revision = s->kvs.revision;
	s->recs = calloc(s->kvs.n ? s->kvs.n : 1, sizeof(*s->recs));
	if (!s->recs) {
		hs_etcd_kvs_free(&s->kvs);
		hs_err("cannot read the cluster state: %s", hs_strerr(-ENOMEM));
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->kvs.n; i++) {
		struct ctl_rec *r = &s->recs[s->n];

		if (rec_init(r, &s->kvs.kvs[i]) == -ENOENT)
			continue;
		s->n++;
		if (!r->ok)
			s->n_bad++;
	}
	return 0;
}

void ctl_snap_free(struct ctl_snap *s)
{
	free(s->recs);
	hs_etcd_kvs_free(&s->kvs);
	memset(s, 0, sizeof(*s));
}

const struct ctl_rec *ctl_snap_find(const struct ctl_snap *s, enum hs_schema_kind kind,
				    const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->recs[i].kind == kind && s->recs[i].ok && !strcmp(s->recs[i].id.name, name))
			return &s->recs[i];
	return NULL;
}

const struct ctl_rec *ctl_snap_key(const struct ctl_snap *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->recs[i].kv->key, key))
			return &s->recs[i];
	return NULL;
}

const struct ctl_rec *ctl_need_host(const struct ctl_snap *s, const char *what, const char *name,
				    uint32_t role)
{
	char key[HS_SCHEMA_KEY_MAX], roles[32];
	const struct ctl_rec *h = NULL;

	if (!hs_schema_key_host(ctl.prefix, name, key, sizeof(key)))
		h = ctl_snap_key(s, key);
	if (!h) {
		hs_err("%s: host '%s' does not exist (hsctl host add)", what, name);
		return NULL;
	}
	if (!h->ok) {
		hs_err("%s: host %s cannot be read (see above)", what, name);
		return NULL;
	}
	if (!(h->r.host.roles & role)) {
		hs_err("%s: host %s has roles %s, not %s", what, name,
		       ctl_roles_text(h->r.host.roles, roles, sizeof(roles)),
		       role == HS_SCHEMA_ROLE_HOST ? "host" : "frontend");
		return NULL;
	}
	return h;
}

/* ---- references ---- */

struct refs {
	char *buf;
	size_t len, used;
	unsigned int n;
};

static void ref_add(struct refs *r, const struct ctl_rec *rec, const char *how)
{
	/* a key's last component names the record (a binding's is its tuple) */
	const char *id = strrchr(rec->kv->key, '/') + 1;
	int n;

	r->n++;
	if (r->used >= r->len)
		return;
	if (!rec->ok)
		n = snprintf(r->buf + r->used, r->len - r->used, "%sunreadable record %s",
			     r->n > 1 ? ", " : "", rec->kv->key);
	else
		n = snprintf(r->buf + r->used, r->len - r->used, "%s%s %s%s%s%s",
			     r->n > 1 ? ", " : "", hs_schema_kind_name(rec->kind), id,
			     how ? " (" : "", how ? how : "", how ? ")" : "");
	if (n > 0)
		r->used += (size_t)n;
}

bool ctl_mig_final(enum hs_schema_mig_state st)
{
	return st == HS_SCHEMA_MIG_DONE || st == HS_SCHEMA_MIG_FAILED ||
	       st == HS_SCHEMA_MIG_CANCELLED;
}

/* Which kinds of record may refer to a record of kind k. */
static bool may_refer(enum hs_schema_kind from, enum hs_schema_kind k)
{
	switch (k) {
	case HS_SCHEMA_SITE:
		return from == HS_SCHEMA_HOST || from == HS_SCHEMA_IMAGE;
	case HS_SCHEMA_HOST:
		return from == HS_SCHEMA_VM || from == HS_SCHEMA_BINDING ||
		       from == HS_SCHEMA_MIGRATION || from == HS_SCHEMA_AGENT;
	case HS_SCHEMA_VM:
		return from == HS_SCHEMA_BINDING || from == HS_SCHEMA_MIGRATION;
	default:
		return false;
	}
}

static void refs_of_rec(struct refs *r, const struct ctl_rec *rec, enum hs_schema_kind k,
			const char *name, uint64_t now)
{
	if (!may_refer(rec->kind, k))
		return;
	if (!rec->ok) {
		ref_add(r, rec, NULL);
		return;
	}
	switch (k) {
	case HS_SCHEMA_SITE:
		if (rec->kind == HS_SCHEMA_HOST && !strcmp(rec->r.host.site, name))
			ref_add(r, rec, NULL);
		if (rec->kind == HS_SCHEMA_IMAGE) {
			const struct hs_schema_image *im = &rec->r.image;

			if (!strcmp(im->owner_site, name))
				ref_add(r, rec, "owner");
			for (unsigned int i = 0; i < im->n_replicas; i++)
				if (!strcmp(im->replicas[i], name))
					ref_add(r, rec, "replica");
		}
		break;
	case HS_SCHEMA_HOST:
		if (rec->kind == HS_SCHEMA_VM) {
			const struct hs_schema_vm *vm = &rec->r.vm;

			if (!strcmp(vm->host, name))
				ref_add(r, rec, "runs there");
			if (!strcmp(vm->entry, name))
				ref_add(r, rec, "entry");
			/* a pointer past its time means nothing (docs/schema.md) */
			if (!strcmp(vm->forward_from, name) && vm->forward_until >= now)
				ref_add(r, rec, "forwarding pointer");
		}
		if (rec->kind == HS_SCHEMA_BINDING && !strcmp(rec->r.binding.frontend, name))
			ref_add(r, rec, "frontend");
		if (rec->kind == HS_SCHEMA_MIGRATION && !ctl_mig_final(rec->r.migration.state) &&
		    (!strcmp(rec->r.migration.from, name) || !strcmp(rec->r.migration.to, name)))
			ref_add(r, rec, hs_schema_mig_state_name(rec->r.migration.state));
		if (rec->kind == HS_SCHEMA_AGENT && !strcmp(rec->r.agent.host, name))
			ref_add(r, rec, "alive");
		break;
	case HS_SCHEMA_VM:
		if (rec->kind == HS_SCHEMA_BINDING && !strcmp(rec->r.binding.vm, name))
			ref_add(r, rec, NULL);
		/* a final migration record is history: vm del removes it */
		if (rec->kind == HS_SCHEMA_MIGRATION && !ctl_mig_final(rec->r.migration.state) &&
		    !strcmp(rec->r.migration.vm, name))
			ref_add(r, rec, hs_schema_mig_state_name(rec->r.migration.state));
		break;
	default:
		break;
	}
}

unsigned int ctl_referrers(const struct ctl_snap *s, enum hs_schema_kind kind, const char *name,
			   char *buf, size_t len)
{
	struct refs r = {.buf = buf, .len = len};
	uint64_t now = (uint64_t)time(NULL);

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < s->n; i++)
		refs_of_rec(&r, &s->recs[i], kind, name, now);
	return r.n;
}

/* ---- single reads and transactions ---- */

int ctl_get(enum hs_schema_kind kind, const char *key, struct ctl_rec *rec)
{
	struct hs_etcd_kv *kv = calloc(1, sizeof(*kv));
	int rc;

	memset(rec, 0, sizeof(*rec));
	if (!kv)
		return -ENOMEM;
	rc = hs_etcd_get(ctl.etcd, key, kv, NULL);
	if (rc) {
		free(kv);
		return rc == -ENOENT ? rc : ctl_etcd_failed("read the cluster state", rc);
	}
	rc = rec_init(rec, kv);
	if (rc == -ENOENT || (!rc && rec->kind != kind)) {
		hs_err("%s: not a %s record key", key, hs_schema_kind_name(kind));
		rc = -EINVAL;
	}
	if (rc) {
		hs_etcd_kv_clear(kv);
		free(kv);
		memset(rec, 0, sizeof(*rec));
	}
	return rc;
}

void ctl_rec_free(struct ctl_rec *rec)
{
	if (rec->kv) {
		hs_etcd_kv_clear(rec->kv);
		free(rec->kv);
	}
	memset(rec, 0, sizeof(*rec));
}

static void add_cmp(struct ctl_txn *t, const char *key, enum hs_etcd_cmp_target target,
		    int64_t revision)
{
	if (t->n_cmps >= HS_ARRAY_SIZE(t->cmps))
		abort(); /* a bug: the callers use a fixed, small number */
	t->cmps[t->n_cmps++] = (struct hs_etcd_cmp){
		.key = key, .target = target, .op = HS_ETCD_EQUAL, .revision = revision};
}

void ctl_cmp_absent(struct ctl_txn *t, const char *key)
{
	add_cmp(t, key, HS_ETCD_CMP_CREATE, 0);
}

void ctl_cmp_exists(struct ctl_txn *t, const struct ctl_rec *rec)
{
	add_cmp(t, rec->kv->key, HS_ETCD_CMP_CREATE, rec->kv->create_revision);
}

void ctl_cmp_unchanged(struct ctl_txn *t, const struct ctl_rec *rec)
{
	add_cmp(t, rec->kv->key, HS_ETCD_CMP_MOD, rec->kv->mod_revision);
}

static void add_op(struct ctl_txn *t, enum hs_etcd_op_type type, const char *key, const char *json)
{
	if (t->n_ops >= HS_ARRAY_SIZE(t->ops))
		abort();
	t->ops[t->n_ops++] = (struct hs_etcd_op){
		.type = type, .key = key, .value = json, .value_len = json ? strlen(json) : 0};
}

void ctl_op_put(struct ctl_txn *t, const char *key, const char *json)
{
	add_op(t, HS_ETCD_OP_PUT, key, json);
}

void ctl_op_delete(struct ctl_txn *t, const char *key)
{
	add_op(t, HS_ETCD_OP_DELETE, key, NULL);
}

int ctl_txn_run(struct ctl_txn *t, const char *what, bool *ok, int64_t *revision)
{
	struct hs_etcd_txn txn = {
		.cmps = t->cmps, .n_cmps = t->n_cmps, .success = t->ops, .n_success = t->n_ops};
	int rc = hs_etcd_txn(ctl.etcd, &txn, ok, revision);

	return rc ? ctl_etcd_failed(what, rc) : 0;
}

/* ---- output ---- */

struct json_object *ctl_rec_json(const struct ctl_rec *rec)
{
	struct json_object *o;
	char *s = NULL;
	int rc;

	switch (rec->kind) {
	case HS_SCHEMA_SITE:
		rc = hs_schema_encode_site(&rec->r.site, &s);
		break;
	case HS_SCHEMA_HOST:
		rc = hs_schema_encode_host(&rec->r.host, &s);
		break;
	case HS_SCHEMA_VM:
		rc = hs_schema_encode_vm(&rec->r.vm, &s);
		break;
	case HS_SCHEMA_BINDING:
		rc = hs_schema_encode_binding(&rec->r.binding, &s);
		break;
	case HS_SCHEMA_MIGRATION:
		rc = hs_schema_encode_migration(&rec->r.migration, &s);
		break;
	case HS_SCHEMA_AGENT:
		rc = hs_schema_encode_agent(&rec->r.agent, &s);
		break;
	default:
		rc = -EINVAL;
	}
	if (rc)
		return NULL;
	o = json_tokener_parse(s);
	free(s);
	if (!o)
		hs_err("%s: cannot convert the record to JSON", rec->kv->key);
	return o;
}

void ctl_print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

void ctl_print_fields(struct json_object *o)
{
	json_object_object_foreach(o, k, v)
	{
		if (!strcmp(k, "v"))
			continue;
		if (json_object_is_type(v, json_type_array)) {
			printf("%-14s", k);
			for (size_t i = 0; i < json_object_array_length(v); i++)
				printf("%s%s", i ? "," : "",
				       json_object_get_string(json_object_array_get_idx(v, i)));
			putchar('\n');
		} else {
			printf("%-14s%s\n", k, json_object_get_string(v));
		}
	}
}
