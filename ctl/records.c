// SPDX-License-Identifier: GPL-2.0
/*
 * What sites, hosts, VMs and bindings have in common (list, show, delete
 * with the reference check), and the site and host commands. A delete
 * compares the record's mod_revision with the snapshot its reference check
 * read, so a record changed in between is not deleted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/hsctl.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/parse.h"

static int key_of(enum hs_schema_kind kind, const char *name, char *key)
{
	switch (kind) {
	case HS_SCHEMA_SITE:
		return hs_schema_key_site(ctl.prefix, name, key, HS_SCHEMA_KEY_MAX);
	case HS_SCHEMA_HOST:
		return hs_schema_key_host(ctl.prefix, name, key, HS_SCHEMA_KEY_MAX);
	case HS_SCHEMA_VM:
		return hs_schema_key_vm(ctl.prefix, name, key, HS_SCHEMA_KEY_MAX);
	case HS_SCHEMA_MIGRATION:
		return hs_schema_key_migration(ctl.prefix, name, key, HS_SCHEMA_KEY_MAX);
	default:
		return -EINVAL;
	}
}

static const char *or_dash(const char *s)
{
	return s && s[0] ? s : "-";
}

static const char *ip_text(const struct hs_ip *ip, char *buf)
{
	return ctl_ip_zero(ip) ? "-" : hs_format_ip(ip->b, buf, INET6_ADDRSTRLEN);
}

static void print_header(enum hs_schema_kind kind)
{
	switch (kind) {
	case HS_SCHEMA_SITE:
		printf("%-20s %s\n", "NAME", "DESCRIPTION");
		break;
	case HS_SCHEMA_HOST:
		printf("%-16s %-14s %-15s %-24s %8s %5s %5s %s\n", "NAME", "SITE", "UNDERLAY4",
		       "UNDERLAY6", "VNI", "PORT", "MTU", "ROLES");
		break;
	case HS_SCHEMA_VM:
		printf("%-16s %10s %-15s %-24s %-17s %-14s %6s %s\n", "NAME", "ID", "ADDRESS",
		       "ADDRESS6", "MAC", "HOST", "EPOCH", "FORWARD/ENTRY");
		break;
	case HS_SCHEMA_BINDING:
		printf("%-24s %-5s %5s %-16s %7s %s\n", "PUBLIC", "PROTO", "PORT", "VM", "VM-PORT",
		       "FRONTEND");
		break;
	case HS_SCHEMA_MIGRATION:
		printf("%-16s %-14s %-14s %-10s %4s %-20s %s\n", "VM", "FROM", "TO", "STATE",
		       "DONE", "UPDATED", "REASON");
		break;
	default:
		break;
	}
}

static void print_row(const struct ctl_rec *rec)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], roles[32];

	switch (rec->kind) {
	case HS_SCHEMA_SITE:
		printf("%-20s %s\n", rec->r.site.name, or_dash(rec->r.site.description));
		break;
	case HS_SCHEMA_HOST: {
		const struct hs_schema_host *h = &rec->r.host;

		printf("%-16s %-14s %-15s %-24s %8u %5u %5u %s\n", h->name, h->site,
		       ip_text(&h->underlay4, a), ip_text(&h->underlay6, b), h->vni, h->port,
		       h->mtu, ctl_roles_text(h->roles, roles, sizeof(roles)));
		break;
	}
	case HS_SCHEMA_VM: {
		const struct hs_schema_vm *v = &rec->r.vm;
		const uint8_t *m = v->mac;

		printf("%-16s %10u %-15s %-24s %02x:%02x:%02x:%02x:%02x:%02x %-14s %6u ", v->name,
		       v->id, ip_text(&v->address, a), ip_text(&v->address6, b), m[0], m[1], m[2],
		       m[3], m[4], m[5], v->host, v->epoch);
		if (v->forward_from[0])
			printf("from %s until %llu", v->forward_from,
			       (unsigned long long)v->forward_until);
		if (v->entry[0])
			printf("%sentry %s", v->forward_from[0] ? ", " : "", v->entry);
		if (!v->forward_from[0] && !v->entry[0])
			putchar('-');
		putchar('\n');
		break;
	}
	case HS_SCHEMA_BINDING: {
		const struct hs_schema_binding *bd = &rec->r.binding;

		printf("%-24s %-5s ", ip_text(&bd->pub, a), ctl_proto_name(bd->proto));
		if (bd->port)
			printf("%5u ", bd->port);
		else
			printf("%5s ", "-");
		printf("%-16s ", bd->vm);
		if (bd->vm_port)
			printf("%7u ", bd->vm_port);
		else
			printf("%7s ", "-");
		printf("%s\n", bd->frontend);
		break;
	}
	case HS_SCHEMA_MIGRATION: {
		const struct hs_schema_migration *mg = &rec->r.migration;
		time_t t = (time_t)mg->updated;
		int pct = ctl_mig_percent(mg);
		char when[32] = "-";
		struct tm tm;

		if (gmtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("%-16s %-14s %-14s %-10s ", mg->vm, mg->from, mg->to,
		       hs_schema_mig_state_name(mg->state));
		if (pct >= 0)
			printf("%3d%% ", pct);
		else
			printf("%4s ", "-");
		printf("%-20s %s\n", when, or_dash(mg->reason));
		break;
	}
	default:
		break;
	}
}

int ctl_list(enum hs_schema_kind kind, int argc, char **argv, const char *usage)
{
	struct json_object *arr = NULL;
	struct ctl_args a;
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	unsigned int n_bad;
	struct ctl_snap s;

	if (ctl_parse_args(argc, argv, opts, 0, 0, usage, &a))
		return CTL_USAGE;
	if (ctl_snap_load(&s, kind))
		return CTL_ERR;
	if (ctl.json)
		arr = json_object_new_array();
	else
		print_header(kind);
	for (size_t i = 0; i < s.n; i++) {
		const struct ctl_rec *rec = &s.recs[i];

		if (rec->kind != kind || !rec->ok)
			continue;
		if (arr)
			json_object_array_add(arr, ctl_rec_json(rec));
		else
			print_row(rec);
	}
	if (arr)
		ctl_print_json(arr);
	n_bad = s.n_bad;
	ctl_snap_free(&s);
	if (n_bad) {
		hs_err("%u %s record(s) could not be read (see above)", n_bad,
		       hs_schema_kind_name(kind));
		return CTL_ERR;
	}
	return CTL_OK;
}

int ctl_show(enum hs_schema_kind kind, int argc, char **argv, const char *usage)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	char name[HS_SCHEMA_NAME_MAX], key[HS_SCHEMA_KEY_MAX];
	const char *kn = hs_schema_kind_name(kind);
	struct ctl_rec rec;
	struct ctl_args a;
	int rc;

	if (ctl_parse_args(argc, argv, opts, 1, 1, usage, &a) ||
	    ctl_parse_name(kn, a.pos[0], name) || key_of(kind, name, key))
		return CTL_USAGE;
	rc = ctl_get(kind, key, &rec);
	if (rc == -ENOENT)
		hs_err("no %s '%s'", kn, name);
	if (rc)
		return CTL_ERR;
	return ctl_print_rec(&rec);
}

int ctl_print_rec(struct ctl_rec *rec)
{
	struct json_object *o = ctl_rec_json(rec);

	ctl_rec_free(rec);
	if (!o)
		return CTL_ERR;
	if (ctl.json) {
		ctl_print_json(o);
	} else {
		ctl_print_fields(o);
		json_object_put(o);
	}
	return CTL_OK;
}

void ctl_print_deleted(const char *kind, const char *name, const char *key, int64_t revision)
{
	struct json_object *o;

	if (!ctl.json) {
		printf("%s %s deleted\n", kind, name);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "key", json_object_new_string(key));
	json_object_object_add(o, "deleted", json_object_new_boolean(true));
	json_object_object_add(o, "revision", json_object_new_int64(revision));
	ctl_print_json(o);
}

int ctl_del(enum hs_schema_kind kind, int argc, char **argv, const char *usage)
{
	enum { O_FORCE = 1 };
	static const struct option opts[] = {{"force", no_argument, NULL, O_FORCE},
					     {NULL, 0, NULL, 0}};
	char name[HS_SCHEMA_NAME_MAX], key[HS_SCHEMA_KEY_MAX], mkey[HS_SCHEMA_KEY_MAX];
	const char *kn = hs_schema_kind_name(kind);
	const struct ctl_rec *rec, *mig = NULL;
	struct ctl_txn t = {0};
	char refs[1024];
	struct ctl_snap s;
	struct ctl_args a;
	int64_t revision;
	unsigned int n;
	bool force, ok;
	int rc = CTL_ERR;

	if (ctl_parse_args(argc, argv, opts, 1, 1, usage, &a) ||
	    ctl_parse_name(kn, a.pos[0], name) || key_of(kind, name, key))
		return CTL_USAGE;
	force = a.val[O_FORCE - 1];
	if (ctl_snap_load(&s, HS_SCHEMA_UNKNOWN))
		return CTL_ERR;
	rec = ctl_snap_key(&s, key);
	if (!rec) {
		hs_err("no %s '%s'", kn, name);
		goto out;
	}
	if (!rec->ok && !force) {
		hs_err("%s: this build cannot read the record (see above); not deleted "
		       "(--force deletes it anyway)",
		       key);
		goto out;
	}
	n = ctl_referrers(&s, kind, name, refs, sizeof(refs));
	if (n && !force) {
		hs_err("%s %s is still referred to by %s; not deleted (--force deletes it anyway)",
		       kn, name, refs);
		goto out;
	}
	if (n)
		hs_warn("deleting %s %s although %s refer%s to it", kn, name, refs,
			n == 1 ? "s" : "");
	ctl_cmp_unchanged(&t, rec);
	ctl_op_delete(&t, key);
	/* a VM's final migration record is history that would outlive it */
	if (kind == HS_SCHEMA_VM && !key_of(HS_SCHEMA_MIGRATION, name, mkey))
		mig = ctl_snap_key(&s, mkey);
	if (mig && mig->ok && ctl_mig_final(mig->r.migration.state)) {
		ctl_cmp_unchanged(&t, mig);
		ctl_op_delete(&t, mkey);
	}
	if (ctl_txn_run(&t, "delete", &ok, &revision))
		goto out;
	if (!ok) {
		hs_err("%s %s changed while it was being deleted; nothing deleted, try again", kn,
		       name);
		goto out;
	}
	ctl_snap_free(&s);
	/* A referrer written after the snapshot slips past the compare (etcd
	 * cannot compare "no key in a directory"): at least say so. */
	if (!force && !ctl_snap_load(&s, HS_SCHEMA_UNKNOWN)) {
		if (ctl_referrers(&s, kind, name, refs, sizeof(refs)))
			hs_warn("%s was written meanwhile and refers to the deleted %s %s", refs,
				kn, name);
		ctl_snap_free(&s);
	}
	ctl_print_deleted(kn, name, key, revision);
	return CTL_OK;
out:
	ctl_snap_free(&s);
	return rc;
}

/* ---- sites ---- */

static const char site_add_usage[] = "site add NAME [--description TEXT]";

void ctl_create_failed(const char *kn, const char *name, const char *key)
{
	struct hs_etcd_kv kv;

	if (!hs_etcd_get(ctl.etcd, key, &kv, NULL)) {
		hs_etcd_kv_clear(&kv);
		hs_err("%s %s already exists", kn, name);
	} else {
		hs_err("a record %s %s refers to changed meanwhile; nothing written, try again", kn,
		       name);
	}
}

void ctl_print_created(const char *kn, const char *name, const char *json)
{
	if (ctl.json) {
		struct json_object *o = json_tokener_parse(json);

		if (o)
			ctl_print_json(o);
	} else {
		printf("%s %s added\n", kn, name);
	}
}

static int site_add(int argc, char **argv)
{
	enum { O_DESC = 1 };
	static const struct option opts[] = {{"description", required_argument, NULL, O_DESC},
					     {NULL, 0, NULL, 0}};
	char key[HS_SCHEMA_KEY_MAX], why[256];
	struct hs_schema_site r = {0};
	struct ctl_txn t = {0};
	struct ctl_args a;
	char *json = NULL;
	bool ok;
	int rc = CTL_ERR;

	if (ctl_parse_args(argc, argv, opts, 1, 1, site_add_usage, &a) ||
	    ctl_parse_name("site", a.pos[0], r.name))
		return CTL_USAGE;
	if (a.val[O_DESC - 1]) {
		if (strlen(a.val[O_DESC - 1]) >= sizeof(r.description)) {
			hs_err("--description: longer than %zu bytes", sizeof(r.description) - 1);
			return CTL_USAGE;
		}
		snprintf(r.description, sizeof(r.description), "%s", a.val[O_DESC - 1]);
	}
	if (hs_schema_check_site(&r, why, sizeof(why))) {
		hs_err("site %s: %s", r.name, why);
		return CTL_USAGE;
	}
	if (hs_schema_key_site(ctl.prefix, r.name, key, sizeof(key)) ||
	    hs_schema_encode_site(&r, &json))
		return CTL_ERR;
	ctl_cmp_absent(&t, key);
	ctl_op_put(&t, key, json);
	if (ctl_txn_run(&t, "add the site", &ok, NULL))
		goto out;
	if (!ok) {
		ctl_create_failed("site", r.name, key);
		goto out;
	}
	ctl_print_created("site", r.name, json);
	rc = CTL_OK;
out:
	free(json);
	return rc;
}

int ctl_cmd_site(int argc, char **argv)
{
	static const char usage[] =
		"site add NAME [--description TEXT] | site list | site show NAME | "
		"site del NAME [--force]";
	const char *v = argc > 1 ? argv[1] : "";

	if (!strcmp(v, "add"))
		return site_add(argc - 1, argv + 1);
	if (!strcmp(v, "list"))
		return ctl_list(HS_SCHEMA_SITE, argc - 1, argv + 1, "site list");
	if (!strcmp(v, "show"))
		return ctl_show(HS_SCHEMA_SITE, argc - 1, argv + 1, "site show NAME");
	if (!strcmp(v, "del"))
		return ctl_del(HS_SCHEMA_SITE, argc - 1, argv + 1, "site del NAME [--force]");
	hs_err("usage: hsctl %s", usage);
	return CTL_USAGE;
}

/* ---- hosts ---- */

static const char host_add_usage[] =
	"host add NAME --site SITE [--underlay4 ADDR] [--underlay6 ADDR] --vni N [--port N] "
	"--mtu N [--roles frontend,host]";

/* The cross-record rules for hosts (docs/schema.md): one VNI and port in
 * the cluster, one host per underlay address. */
static bool host_fits(const struct ctl_snap *s, const struct hs_schema_host *h)
{
	char a[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < s->n; i++) {
		const struct ctl_rec *rec = &s->recs[i];
		const struct hs_schema_host *o = &rec->r.host;

		if (rec->kind != HS_SCHEMA_HOST || !rec->ok)
			continue;
		if (o->vni != h->vni || o->port != h->port) {
			hs_err("host %s has vni %u and port %u: every host must carry the same "
			       "(the data plane drops VXLAN of another VNI)",
			       o->name, o->vni, o->port);
			return false;
		}
		if (!ctl_ip_zero(&h->underlay4) &&
		    !memcmp(&o->underlay4, &h->underlay4, sizeof(h->underlay4))) {
			hs_err("host %s already has underlay address %s", o->name,
			       hs_format_ip(h->underlay4.b, a, sizeof(a)));
			return false;
		}
		if (!ctl_ip_zero(&h->underlay6) &&
		    !memcmp(&o->underlay6, &h->underlay6, sizeof(h->underlay6))) {
			hs_err("host %s already has underlay address %s", o->name,
			       hs_format_ip(h->underlay6.b, a, sizeof(a)));
			return false;
		}
	}
	return true;
}

static int host_add(int argc, char **argv)
{
	enum { O_SITE = 1, O_U4, O_U6, O_VNI, O_PORT, O_MTU, O_ROLES };
	static const struct option opts[] = {{"site", required_argument, NULL, O_SITE},
					     {"underlay4", required_argument, NULL, O_U4},
					     {"underlay6", required_argument, NULL, O_U6},
					     {"vni", required_argument, NULL, O_VNI},
					     {"port", required_argument, NULL, O_PORT},
					     {"mtu", required_argument, NULL, O_MTU},
					     {"roles", required_argument, NULL, O_ROLES},
					     {NULL, 0, NULL, 0}};
	char key[HS_SCHEMA_KEY_MAX], why[256];
	struct hs_schema_host r = {.port = HS_VXLAN_PORT, .roles = HS_SCHEMA_ROLE_HOST};
	const struct ctl_rec *site;
	struct ctl_txn t = {0};
	struct ctl_args a;
	struct ctl_snap s;
	char *json = NULL;
	uint64_t v;
	bool ok;
	int rc = CTL_ERR;

	if (ctl_parse_args(argc, argv, opts, 1, 1, host_add_usage, &a) ||
	    ctl_parse_name("host", a.pos[0], r.name))
		return CTL_USAGE;
	for (int i = O_SITE; i <= O_MTU; i++) {
		if ((i == O_SITE || i == O_VNI || i == O_MTU) && !a.val[i - 1]) {
			hs_err("host add: --%s is required; usage: hsctl %s", opts[i - 1].name,
			       host_add_usage);
			return CTL_USAGE;
		}
	}
	if (ctl_parse_name("--site", a.val[O_SITE - 1], r.site) ||
	    (a.val[O_U4 - 1] &&
	     ctl_parse_ip("--underlay4", a.val[O_U4 - 1], AF_INET, &r.underlay4)) ||
	    (a.val[O_U6 - 1] &&
	     ctl_parse_ip("--underlay6", a.val[O_U6 - 1], AF_INET6, &r.underlay6)) ||
	    ctl_parse_uint("--vni", a.val[O_VNI - 1], 0, 0xffffff, &v))
		return CTL_USAGE;
	r.vni = (uint32_t)v;
	if (a.val[O_PORT - 1]) {
		if (ctl_parse_uint("--port", a.val[O_PORT - 1], 1, 65535, &v))
			return CTL_USAGE;
		r.port = (uint16_t)v;
	}
	if (ctl_parse_uint("--mtu", a.val[O_MTU - 1], 0, 65535, &v))
		return CTL_USAGE;
	r.mtu = (uint16_t)v;
	if (a.val[O_ROLES - 1] && ctl_parse_roles("--roles", a.val[O_ROLES - 1], &r.roles))
		return CTL_USAGE;
	if (hs_schema_check_host(&r, why, sizeof(why))) {
		hs_err("host %s: %s", r.name, why);
		return CTL_USAGE;
	}
	if (hs_schema_key_host(ctl.prefix, r.name, key, sizeof(key)) ||
	    hs_schema_encode_host(&r, &json))
		return CTL_ERR;

	if (ctl_snap_load(&s, HS_SCHEMA_UNKNOWN)) {
		free(json);
		return CTL_ERR;
	}
	if (ctl_snap_key(&s, key)) {
		hs_err("host %s already exists", r.name);
		goto out;
	}
	site = ctl_snap_find(&s, HS_SCHEMA_SITE, r.site);
	if (!site) {
		hs_err("host %s: site '%s' does not exist (hsctl site add)", r.name, r.site);
		goto out;
	}
	if (!host_fits(&s, &r))
		goto out;
	ctl_cmp_absent(&t, key);
	ctl_cmp_exists(&t, site);
	ctl_op_put(&t, key, json);
	if (ctl_txn_run(&t, "add the host", &ok, NULL))
		goto out;
	if (!ok) {
		ctl_create_failed("host", r.name, key);
		goto out;
	}
	ctl_print_created("host", r.name, json);
	rc = CTL_OK;
out:
	ctl_snap_free(&s);
	free(json);
	return rc;
}

int ctl_cmd_host(int argc, char **argv)
{
	const char *v = argc > 1 ? argv[1] : "";

	if (!strcmp(v, "add"))
		return host_add(argc - 1, argv + 1);
	if (!strcmp(v, "list"))
		return ctl_list(HS_SCHEMA_HOST, argc - 1, argv + 1, "host list");
	if (!strcmp(v, "show"))
		return ctl_show(HS_SCHEMA_HOST, argc - 1, argv + 1, "host show NAME");
	if (!strcmp(v, "del"))
		return ctl_del(HS_SCHEMA_HOST, argc - 1, argv + 1, "host del NAME [--force]");
	hs_err("usage: hsctl %s | host list | host show NAME | host del NAME [--force]",
	       host_add_usage);
	return CTL_USAGE;
}
