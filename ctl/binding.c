// SPDX-License-Identifier: GPL-2.0
/*
 * hsctl binding: public addresses (optionally protocol and port) at a
 * front-end, mapped to a VM. Beyond the record's own rules, add refuses
 * what the front-end's agent could not apply: a VM without an address of
 * the public address's family, a public address owned by two front-ends,
 * or a VM port answering as two public ports (the data plane's rbindings).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/hsctl.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/parse.h"

static const char add_usage[] = "binding add PUBLIC --vm NAME --frontend HOST "
				"[--proto tcp|udp --port N [--vm-port N]]";
static const char del_usage[] = "binding del PUBLIC [--proto tcp|udp --port N]";

static uint16_t vm_side_port(const struct hs_schema_binding *b)
{
	return b->vm_port ? b->vm_port : b->port;
}

/* "203.0.113.1" or "203.0.113.1,tcp,80", as in the key */
static const char *binding_text(const struct hs_schema_binding *b, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	hs_format_ip(b->pub.b, a, sizeof(a));
	if (b->proto)
		snprintf(buf, len, "%s,%s,%u", a, ctl_proto_name(b->proto), b->port);
	else
		snprintf(buf, len, "%s", a);
	return buf;
}

/* The rules that span bindings; false after saying which one is broken. */
static bool binding_fits(const struct ctl_snap *s, const struct hs_schema_binding *b)
{
	char t[80];

	for (size_t i = 0; i < s->n; i++) {
		const struct ctl_rec *rec = &s->recs[i];
		const struct hs_schema_binding *o = &rec->r.binding;

		if (rec->kind != HS_SCHEMA_BINDING)
			continue;
		if (!rec->ok) {
			hs_err("cannot check the binding against %s: it cannot be read (see above)",
			       rec->kv->key);
			return false;
		}
		if (!memcmp(&o->pub, &b->pub, sizeof(b->pub)) && strcmp(o->frontend, b->frontend)) {
			hs_err("binding %s says front-end %s owns this address, not %s",
			       binding_text(o, t, sizeof(t)), o->frontend, b->frontend);
			return false;
		}
		/* one answer per VM port and protocol on a front-end */
		if (!strcmp(o->frontend, b->frontend) && !strcmp(o->vm, b->vm) &&
		    o->proto == b->proto && vm_side_port(o) == vm_side_port(b) &&
		    hs_ip_is_v4(o->pub.b) == hs_ip_is_v4(b->pub.b)) {
			hs_err("vm %s already answers as %s on front-end %s (one public address "
			       "per VM port and protocol)",
			       b->vm, binding_text(o, t, sizeof(t)), b->frontend);
			return false;
		}
	}
	return true;
}

/* A readable record by name, or NULL after saying what is wrong. */
static const struct ctl_rec *need(const struct ctl_snap *s, enum hs_schema_kind kind,
				  const char *what, const char *name, const char *key)
{
	const struct ctl_rec *rec = ctl_snap_key(s, key);

	if (!rec)
		hs_err("%s: %s '%s' does not exist", what, hs_schema_kind_name(kind), name);
	else if (!rec->ok)
		hs_err("%s: %s %s cannot be read (see above)", what, hs_schema_kind_name(kind),
		       name);
	return rec && rec->ok ? rec : NULL;
}

static int binding_add(int argc, char **argv)
{
	enum { O_VM = 1, O_FRONTEND, O_PROTO, O_PORT, O_VMPORT };
	static const struct option opts[] = {{"vm", required_argument, NULL, O_VM},
					     {"frontend", required_argument, NULL, O_FRONTEND},
					     {"proto", required_argument, NULL, O_PROTO},
					     {"port", required_argument, NULL, O_PORT},
					     {"vm-port", required_argument, NULL, O_VMPORT},
					     {NULL, 0, NULL, 0}};
	char key[HS_SCHEMA_KEY_MAX], vkey[HS_SCHEMA_KEY_MAX], fkey[HS_SCHEMA_KEY_MAX];
	char why[256], t[80], roles[32];
	struct hs_schema_binding r = {0};
	const struct ctl_rec *vm, *fe;
	struct ctl_txn tx = {0};
	struct ctl_args a;
	struct ctl_snap s;
	char *json = NULL;
	uint64_t v;
	bool ok, v4;
	int rc = CTL_ERR;

	if (ctl_parse_args(argc, argv, opts, 1, 1, add_usage, &a) ||
	    ctl_parse_ip("PUBLIC", a.pos[0], 0, &r.pub))
		return CTL_USAGE;
	if (!a.val[O_VM - 1] || !a.val[O_FRONTEND - 1]) {
		hs_err("binding add: --vm and --frontend are required; usage: hsctl %s", add_usage);
		return CTL_USAGE;
	}
	if (ctl_parse_name("--vm", a.val[O_VM - 1], r.vm) ||
	    ctl_parse_name("--frontend", a.val[O_FRONTEND - 1], r.frontend) ||
	    (a.val[O_PROTO - 1] && ctl_parse_proto("--proto", a.val[O_PROTO - 1], &r.proto)))
		return CTL_USAGE;
	if (a.val[O_PORT - 1]) {
		if (ctl_parse_uint("--port", a.val[O_PORT - 1], 1, 65535, &v))
			return CTL_USAGE;
		r.port = (uint16_t)v;
	}
	if (a.val[O_VMPORT - 1]) {
		if (ctl_parse_uint("--vm-port", a.val[O_VMPORT - 1], 1, 65535, &v))
			return CTL_USAGE;
		r.vm_port = (uint16_t)v;
	}
	if (!r.proto != !r.port || (r.vm_port && !r.port)) {
		hs_err("binding add: --proto and --port go together, and --vm-port needs them; "
		       "usage: hsctl %s",
		       add_usage);
		return CTL_USAGE;
	}
	if (hs_schema_check_binding(&r, why, sizeof(why))) {
		hs_err("binding %s: %s", binding_text(&r, t, sizeof(t)), why);
		return CTL_USAGE;
	}
	if (hs_schema_key_binding(ctl.prefix, &r.pub, r.proto, r.port, key, sizeof(key)) ||
	    hs_schema_key_vm(ctl.prefix, r.vm, vkey, sizeof(vkey)) ||
	    hs_schema_key_host(ctl.prefix, r.frontend, fkey, sizeof(fkey)) ||
	    hs_schema_encode_binding(&r, &json))
		return CTL_ERR;

	if (ctl_snap_load(&s, HS_SCHEMA_UNKNOWN)) {
		free(json);
		return CTL_ERR;
	}
	if (ctl_snap_key(&s, key)) {
		hs_err("binding %s already exists", binding_text(&r, t, sizeof(t)));
		goto out;
	}
	if (!(vm = need(&s, HS_SCHEMA_VM, "--vm", r.vm, vkey)) ||
	    !(fe = need(&s, HS_SCHEMA_HOST, "--frontend", r.frontend, fkey)))
		goto out;
	if (!(fe->r.host.roles & HS_SCHEMA_ROLE_FRONTEND)) {
		hs_err("--frontend: host %s has roles %s, not frontend", r.frontend,
		       ctl_roles_text(fe->r.host.roles, roles, sizeof(roles)));
		goto out;
	}
	v4 = hs_ip_is_v4(r.pub.b);
	if (ctl_ip_zero(v4 ? &vm->r.vm.address : &vm->r.vm.address6)) {
		hs_err("--vm: vm %s has no %s address for public address %s", r.vm,
		       v4 ? "IPv4" : "IPv6", binding_text(&r, t, sizeof(t)));
		goto out;
	}
	if (!binding_fits(&s, &r))
		goto out;
	ctl_cmp_absent(&tx, key);
	ctl_cmp_exists(&tx, vm);
	ctl_cmp_exists(&tx, fe);
	ctl_op_put(&tx, key, json);
	if (ctl_txn_run(&tx, "add the binding", &ok, NULL))
		goto out;
	if (!ok) {
		ctl_create_failed("binding", binding_text(&r, t, sizeof(t)), key);
		goto out;
	}
	ctl_print_created("binding", binding_text(&r, t, sizeof(t)), json);
	rc = CTL_OK;
out:
	ctl_snap_free(&s);
	free(json);
	return rc;
}

static const char show_usage[] = "binding show PUBLIC [--proto tcp|udp --port N]";

/* PUBLIC [--proto --port] into r and its key; CTL_USAGE on bad arguments */
static int binding_ident(int argc, char **argv, const char *usage, struct hs_schema_binding *r,
			 char *key, size_t keylen)
{
	enum { O_PROTO = 1, O_PORT };
	static const struct option opts[] = {{"proto", required_argument, NULL, O_PROTO},
					     {"port", required_argument, NULL, O_PORT},
					     {NULL, 0, NULL, 0}};
	struct ctl_args a;
	uint64_t v;

	if (ctl_parse_args(argc, argv, opts, 1, 1, usage, &a) ||
	    ctl_parse_ip("PUBLIC", a.pos[0], 0, &r->pub) ||
	    (a.val[O_PROTO - 1] && ctl_parse_proto("--proto", a.val[O_PROTO - 1], &r->proto)))
		return CTL_USAGE;
	if (a.val[O_PORT - 1]) {
		if (ctl_parse_uint("--port", a.val[O_PORT - 1], 1, 65535, &v))
			return CTL_USAGE;
		r->port = (uint16_t)v;
	}
	if (!r->proto != !r->port) {
		hs_err("--proto and --port go together; usage: hsctl %s", usage);
		return CTL_USAGE;
	}
	if (hs_schema_key_binding(ctl.prefix, &r->pub, r->proto, r->port, key, keylen))
		return CTL_USAGE;
	return CTL_OK;
}

static int binding_show(int argc, char **argv)
{
	struct hs_schema_binding r = {0};
	char key[HS_SCHEMA_KEY_MAX], t[80];
	struct ctl_rec rec;
	int rc;

	if (binding_ident(argc, argv, show_usage, &r, key, sizeof(key)))
		return CTL_USAGE;
	rc = ctl_get(HS_SCHEMA_BINDING, key, &rec);
	if (rc == -ENOENT)
		hs_err("no binding %s", binding_text(&r, t, sizeof(t)));
	if (rc)
		return CTL_ERR;
	return ctl_print_rec(&rec);
}

static int binding_del(int argc, char **argv)
{
	struct hs_schema_binding r = {0};
	char key[HS_SCHEMA_KEY_MAX], t[80];
	struct ctl_txn tx = {0};
	struct ctl_rec rec;
	int64_t revision;
	bool ok;
	int rc;

	if (binding_ident(argc, argv, del_usage, &r, key, sizeof(key)))
		return CTL_USAGE;
	binding_text(&r, t, sizeof(t));
	rc = ctl_get(HS_SCHEMA_BINDING, key, &rec);
	if (rc == -ENOENT)
		hs_err("no binding %s", t);
	else if (rc == -EINVAL || rc == -EPROTONOSUPPORT)
		hs_err("%s: this build cannot read the record (see above); not deleted", key);
	if (rc)
		return CTL_ERR;
	ctl_cmp_unchanged(&tx, &rec);
	ctl_op_delete(&tx, key);
	rc = ctl_txn_run(&tx, "delete the binding", &ok, &revision);
	ctl_rec_free(&rec);
	if (rc)
		return CTL_ERR;
	if (!ok) {
		hs_err("binding %s changed while it was being deleted; nothing deleted, try again",
		       t);
		return CTL_ERR;
	}
	ctl_print_deleted("binding", t, key, revision);
	return CTL_OK;
}

int ctl_cmd_binding(int argc, char **argv)
{
	const char *v = argc > 1 ? argv[1] : "";

	if (!strcmp(v, "add"))
		return binding_add(argc - 1, argv + 1);
	if (!strcmp(v, "list"))
		return ctl_list(HS_SCHEMA_BINDING, argc - 1, argv + 1, "binding list");
	if (!strcmp(v, "del"))
		return binding_del(argc - 1, argv + 1);
	if (!strcmp(v, "show"))
		return binding_show(argc - 1, argv + 1);
	hs_err("usage: hsctl %s | binding list | %s | %s", add_usage, show_usage, del_usage);
	return CTL_USAGE;
}
