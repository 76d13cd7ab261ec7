// SPDX-License-Identifier: GPL-2.0
/*
 * hsctl vm: create a VM record (epoch 1), move it by hand (epoch + 1 and a
 * forwarding pointer at the old host, fenced on the record's mod_revision
 * exactly as migrated's switchover is), list, show and delete.
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

#define FORWARD_DEFAULT 30 /* seconds; what migrated uses (docs/schema.md) */
#define FORWARD_MAX (7 * 86400)

static const char add_usage[] = "vm add NAME --id N [--address ADDR] [--address6 ADDR] --mac MAC "
				"--host HOST [--entry HOST]";
static const char move_usage[] = "vm move NAME --to HOST [--forward-for SECONDS] [--force]";

static bool ip_same(const struct hs_ip *a, const struct hs_ip *b)
{
	return !ctl_ip_zero(a) && !memcmp(a, b, sizeof(*a));
}

/* The field v shares with VM record o, which must be unique; NULL if none. */
static const char *vm_shared(const struct hs_schema_vm *v, const struct hs_schema_vm *o)
{
	if (o->id == v->id)
		return "id";
	if (ip_same(&v->address, &o->address))
		return "address";
	if (ip_same(&v->address6, &o->address6))
		return "address6";
	if (!memcmp(o->mac, v->mac, sizeof(v->mac)))
		return "mac";
	return NULL;
}

/* Another VM with the same id, address, address6 or MAC; with created_before
 * > 0 only one created before that revision. An unreadable VM record counts
 * (field "?"): what it holds is unknown. */
static const struct ctl_rec *vm_clash(const struct ctl_snap *s, const struct hs_schema_vm *v,
				      int64_t created_before, const char **field)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct ctl_rec *rec = &s->recs[i];

		if (rec->kind != HS_SCHEMA_VM || !strcmp(rec->id.name, v->name))
			continue;
		if (created_before && rec->kv->create_revision >= created_before)
			continue;
		*field = rec->ok ? vm_shared(v, &rec->r.vm) : "?";
		if (*field)
			return rec;
	}
	return NULL;
}

static void clash_err(const struct ctl_rec *rec, const char *field, const char *name)
{
	if (!rec->ok)
		hs_err("vm %s: cannot check that it is unique: %s cannot be read (see above)", name,
		       rec->kv->key);
	else
		hs_err("vm %s: vm %s already has this %s", name, rec->id.name, field);
}

/*
 * etcd cannot compare "no VM with this id", so two adds with the same id
 * may both commit. After its write, each looks again: the one created
 * later takes its record back, so exactly one stays.
 */
static int vm_add_recheck(const struct hs_schema_vm *v, const char *key, int64_t revision)
{
	const struct ctl_rec *rec;
	struct ctl_txn t = {0};
	const char *field;
	struct ctl_snap s;
	bool ok;
	int rc = 0;

	if (ctl_snap_load(&s, HS_SCHEMA_VM))
		return 0; /* logged; the write stands */
	rec = vm_clash(&s, v, revision, &field);
	if (!rec) {
		ctl_snap_free(&s);
		return 0;
	}
	clash_err(rec, field, v->name);
	t.cmps[t.n_cmps++] = (struct hs_etcd_cmp){
		.key = key, .target = HS_ETCD_CMP_MOD, .op = HS_ETCD_EQUAL, .revision = revision};
	ctl_op_delete(&t, key);
	if (ctl_txn_run(&t, "take the VM record back", &ok, NULL) || !ok)
		hs_err("vm %s: could not take its record back; delete one of the two", v->name);
	else
		hs_err("vm %s: %s was written at the same time; vm %s not added", v->name,
		       rec->id.name, v->name);
	rc = -EEXIST;
	ctl_snap_free(&s);
	return rc;
}

static int vm_add(int argc, char **argv)
{
	enum { O_ID = 1, O_ADDR, O_ADDR6, O_MAC, O_HOST, O_ENTRY };
	static const struct option opts[] = {{"id", required_argument, NULL, O_ID},
					     {"address", required_argument, NULL, O_ADDR},
					     {"address6", required_argument, NULL, O_ADDR6},
					     {"mac", required_argument, NULL, O_MAC},
					     {"host", required_argument, NULL, O_HOST},
					     {"entry", required_argument, NULL, O_ENTRY},
					     {NULL, 0, NULL, 0}};
	char key[HS_SCHEMA_KEY_MAX], why[256];
	struct hs_schema_vm r = {.epoch = 1};
	const struct ctl_rec *host, *entry = NULL, *clash;
	struct ctl_txn t = {0};
	const char *field;
	struct ctl_args a;
	struct ctl_snap s;
	char *json = NULL;
	int64_t revision;
	uint64_t v;
	bool ok;
	int rc = CTL_ERR;

	if (ctl_parse_args(argc, argv, opts, 1, 1, add_usage, &a) ||
	    ctl_parse_name("vm", a.pos[0], r.name))
		return CTL_USAGE;
	for (int i = O_ID; i <= O_HOST; i++) {
		if ((i == O_ID || i == O_MAC || i == O_HOST) && !a.val[i - 1]) {
			hs_err("vm add: --%s is required; usage: hsctl %s", opts[i - 1].name,
			       add_usage);
			return CTL_USAGE;
		}
	}
	if (ctl_parse_uint("--id", a.val[O_ID - 1], 1, UINT32_MAX, &v) ||
	    (a.val[O_ADDR - 1] &&
	     ctl_parse_ip("--address", a.val[O_ADDR - 1], AF_INET, &r.address)) ||
	    (a.val[O_ADDR6 - 1] &&
	     ctl_parse_ip("--address6", a.val[O_ADDR6 - 1], AF_INET6, &r.address6)) ||
	    ctl_parse_mac("--mac", a.val[O_MAC - 1], r.mac) ||
	    ctl_parse_name("--host", a.val[O_HOST - 1], r.host) ||
	    (a.val[O_ENTRY - 1] && ctl_parse_name("--entry", a.val[O_ENTRY - 1], r.entry)))
		return CTL_USAGE;
	r.id = (uint32_t)v;
	if (hs_schema_check_vm(&r, why, sizeof(why))) {
		hs_err("vm %s: %s", r.name, why);
		return CTL_USAGE;
	}
	if (hs_schema_key_vm(ctl.prefix, r.name, key, sizeof(key)) ||
	    hs_schema_encode_vm(&r, &json))
		return CTL_ERR;

	if (ctl_snap_load(&s, HS_SCHEMA_UNKNOWN)) {
		free(json);
		return CTL_ERR;
	}
	if (ctl_snap_key(&s, key)) {
		hs_err("vm %s already exists", r.name);
		goto out;
	}
	host = ctl_need_host(&s, "--host", r.host, HS_SCHEMA_ROLE_HOST);
	if (!host)
		goto out;
	if (r.entry[0] && !(entry = ctl_need_host(&s, "--entry", r.entry, HS_SCHEMA_ROLE_FRONTEND)))
		goto out;
	clash = vm_clash(&s, &r, 0, &field);
	if (clash) {
		clash_err(clash, field, r.name);
		goto out;
	}
	ctl_cmp_absent(&t, key);
	ctl_cmp_exists(&t, host);
	if (entry)
		ctl_cmp_exists(&t, entry);
	ctl_op_put(&t, key, json);
	if (ctl_txn_run(&t, "add the VM", &ok, &revision))
		goto out;
	if (!ok) {
		ctl_create_failed("vm", r.name, key);
		goto out;
	}
	if (vm_add_recheck(&r, key, revision))
		goto out;
	ctl_print_created("vm", r.name, json);
	rc = CTL_OK;
out:
	ctl_snap_free(&s);
	free(json);
	return rc;
}

static void print_moved(const struct hs_schema_vm *old, const struct hs_schema_vm *r,
			const char *json)
{
	char when[32];
	time_t until = (time_t)r->forward_until;
	struct tm tm;

	if (ctl.json) {
		struct json_object *o = json_tokener_parse(json);

		if (o)
			ctl_print_json(o);
		return;
	}
	printf("vm %s moved: %s -> %s, epoch %u", r->name, old->host, r->host, r->epoch);
	if (r->forward_from[0] && gmtime_r(&until, &tm) &&
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		printf(", %s forwards until %s", r->forward_from, when);
	putchar('\n');
}

static int vm_move(int argc, char **argv)
{
	enum { O_TO = 1, O_FWD, O_FORCE };
	static const struct option opts[] = {{"to", required_argument, NULL, O_TO},
					     {"forward-for", required_argument, NULL, O_FWD},
					     {"force", no_argument, NULL, O_FORCE},
					     {NULL, 0, NULL, 0}};
	char name[HS_SCHEMA_NAME_MAX], to[HS_SCHEMA_NAME_MAX], why[256];
	char key[HS_SCHEMA_KEY_MAX], mkey[HS_SCHEMA_KEY_MAX];
	const struct ctl_rec *rec, *host, *mig;
	uint64_t fwd = FORWARD_DEFAULT;
	struct hs_schema_vm r;
	struct ctl_txn t = {0};
	struct ctl_args a;
	struct ctl_snap s;
	char *json = NULL;
	bool ok;
	int rc = CTL_ERR;

	if (ctl_parse_args(argc, argv, opts, 1, 1, move_usage, &a) ||
	    ctl_parse_name("vm", a.pos[0], name))
		return CTL_USAGE;
	if (!a.val[O_TO - 1]) {
		hs_err("vm move: --to is required; usage: hsctl %s", move_usage);
		return CTL_USAGE;
	}
	if (ctl_parse_name("--to", a.val[O_TO - 1], to) ||
	    (a.val[O_FWD - 1] &&
	     ctl_parse_uint("--forward-for", a.val[O_FWD - 1], 0, FORWARD_MAX, &fwd)) ||
	    hs_schema_key_vm(ctl.prefix, name, key, sizeof(key)) ||
	    hs_schema_key_migration(ctl.prefix, name, mkey, sizeof(mkey)))
		return CTL_USAGE;

	if (ctl_snap_load(&s, HS_SCHEMA_UNKNOWN))
		return CTL_ERR;
	rec = ctl_snap_key(&s, key);
	if (!rec) {
		hs_err("no vm '%s'", name);
		goto out;
	}
	if (!rec->ok) {
		hs_err("%s: this build cannot read the record (see above); not moved", key);
		goto out;
	}
	if (!strcmp(rec->r.vm.host, to)) {
		hs_err("vm %s already runs on %s", name, to);
		goto out;
	}
	if (rec->r.vm.epoch == UINT32_MAX) {
		hs_err("vm %s: epoch %u cannot grow", name, rec->r.vm.epoch);
		goto out;
	}
	host = ctl_need_host(&s, "--to", to, HS_SCHEMA_ROLE_HOST);
	if (!host)
		goto out;
	/* migrated owns the record while a migration runs */
	mig = ctl_snap_key(&s, mkey);
	if (mig && (!mig->ok || !ctl_mig_final(mig->r.migration.state)) && !a.val[O_FORCE - 1]) {
		hs_err("vm %s: a migration is %s (%s); not moved (--force moves it anyway)", name,
		       mig->ok ? hs_schema_mig_state_name(mig->r.migration.state) : "unreadable",
		       mkey);
		goto out;
	}

	r = rec->r.vm;
	snprintf(r.host, sizeof(r.host), "%s", to);
	r.epoch++;
	memset(r.forward_from, 0, sizeof(r.forward_from));
	r.forward_until = 0;
	if (fwd) {
		snprintf(r.forward_from, sizeof(r.forward_from), "%s", rec->r.vm.host);
		r.forward_until = (uint64_t)time(NULL) + fwd;
	}
	if (hs_schema_check_vm(&r, why, sizeof(why))) {
		hs_err("vm %s: %s; not moved", name, why);
		goto out;
	}
	if (hs_schema_encode_vm(&r, &json))
		goto out;
	ctl_cmp_unchanged(&t, rec);
	ctl_cmp_exists(&t, host);
	if (mig)
		ctl_cmp_unchanged(&t, mig);
	else
		ctl_cmp_absent(&t, mkey);
	ctl_op_put(&t, key, json);
	if (ctl_txn_run(&t, "move the VM", &ok, NULL))
		goto out;
	if (!ok) {
		hs_err("vm %s changed while it was being moved (another move?); not moved, "
		       "look again (hsctl vm show %s)",
		       name, name);
		goto out;
	}
	print_moved(&rec->r.vm, &r, json);
	rc = CTL_OK;
out:
	ctl_snap_free(&s);
	free(json);
	return rc;
}

int ctl_cmd_vm(int argc, char **argv)
{
	const char *v = argc > 1 ? argv[1] : "";

	if (!strcmp(v, "add"))
		return vm_add(argc - 1, argv + 1);
	if (!strcmp(v, "move"))
		return vm_move(argc - 1, argv + 1);
	if (!strcmp(v, "list"))
		return ctl_list(HS_SCHEMA_VM, argc - 1, argv + 1, "vm list");
	if (!strcmp(v, "show"))
		return ctl_show(HS_SCHEMA_VM, argc - 1, argv + 1, "vm show NAME");
	if (!strcmp(v, "del"))
		return ctl_del(HS_SCHEMA_VM, argc - 1, argv + 1, "vm del NAME [--force]");
	hs_err("usage: hsctl %s | %s | vm list | vm show NAME | vm del NAME [--force]", add_usage,
	       move_usage);
	return CTL_USAGE;
}
