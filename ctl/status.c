// SPDX-License-Identifier: GPL-2.0
/*
 * hsctl status: every host, whether its agent is alive (its leased
 * agents/<host> record exists) and how far the revision it has applied is
 * from the store's. Agents write their own records, which raises the
 * store revision, so "current" compares with the last change to what
 * agents apply (hosts, VMs, bindings) instead; a delete leaves no record
 * to date it by, so right after one an agent may show current too early.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/hsctl.h"
#include "lib/err.h"
#include "lib/log.h"

static bool agents_apply(enum hs_schema_kind kind)
{
	return kind == HS_SCHEMA_HOST || kind == HS_SCHEMA_VM || kind == HS_SCHEMA_BINDING;
}

static struct json_object *host_json(const struct ctl_snap *s, const struct ctl_rec *h,
				     int64_t last_change)
{
	const struct ctl_rec *ag = ctl_snap_find(s, HS_SCHEMA_AGENT, h->id.name);
	struct json_object *o = json_object_new_object(), *roles = json_object_new_array();

	json_object_object_add(o, "host", json_object_new_string(h->id.name));
	json_object_object_add(o, "site", json_object_new_string(h->r.host.site));
	if (h->r.host.roles & HS_SCHEMA_ROLE_FRONTEND)
		json_object_array_add(roles, json_object_new_string("frontend"));
	if (h->r.host.roles & HS_SCHEMA_ROLE_HOST)
		json_object_array_add(roles, json_object_new_string("host"));
	json_object_object_add(o, "roles", roles);
	json_object_object_add(o, "alive", json_object_new_boolean(ag != NULL));
	if (!ag)
		return o;
	json_object_object_add(o, "pid", json_object_new_int64(ag->r.agent.pid));
	json_object_object_add(o, "started", json_object_new_int64((int64_t)ag->r.agent.started));
	json_object_object_add(o, "applied_revision",
			       json_object_new_int64(ag->r.agent.applied_revision));
	json_object_object_add(o, "behind",
			       json_object_new_int64(s->revision - ag->r.agent.applied_revision));
	json_object_object_add(
		o, "current", json_object_new_boolean(ag->r.agent.applied_revision >= last_change));
	return o;
}

static void print_text(struct json_object *st)
{
	struct json_object *hosts = json_object_object_get(st, "hosts"), *v;

	printf("store revision %" PRId64 ", last change to hosts, vms, bindings at %" PRId64 "\n",
	       json_object_get_int64(json_object_object_get(st, "revision")),
	       json_object_get_int64(json_object_object_get(st, "last_change")));
	v = json_object_object_get(st, "leader");
	printf("scheduler leader: %s\n", v ? json_object_get_string(v) : "none");
	printf("%-16s %-14s %-14s %-6s %8s %10s %8s %s\n", "HOST", "SITE", "ROLES", "AGENT", "PID",
	       "APPLIED", "BEHIND", "CURRENT");
	for (size_t i = 0; i < json_object_array_length(hosts); i++) {
		struct json_object *h = json_object_array_get_idx(hosts, i);
		struct json_object *r = json_object_object_get(h, "roles");
		char roles[32] = "";

		for (size_t j = 0; j < json_object_array_length(r); j++)
			snprintf(roles + strlen(roles), sizeof(roles) - strlen(roles), "%s%s",
				 j ? "," : "",
				 json_object_get_string(json_object_array_get_idx(r, j)));
		printf("%-16s %-14s %-14s ",
		       json_object_get_string(json_object_object_get(h, "host")),
		       json_object_get_string(json_object_object_get(h, "site")), roles);
		if (!json_object_get_boolean(json_object_object_get(h, "alive"))) {
			printf("%-6s %8s %10s %8s %s\n", "down", "-", "-", "-", "-");
			continue;
		}
		printf("%-6s %8" PRId64 " %10" PRId64 " %8" PRId64 " %s\n", "alive",
		       json_object_get_int64(json_object_object_get(h, "pid")),
		       json_object_get_int64(json_object_object_get(h, "applied_revision")),
		       json_object_get_int64(json_object_object_get(h, "behind")),
		       json_object_get_boolean(json_object_object_get(h, "current")) ? "yes"
										     : "no");
	}
	v = json_object_object_get(st, "unknown_agents");
	for (size_t i = 0; v && i < json_object_array_length(v); i++)
		printf("agent of %s is alive, but there is no such host record\n",
		       json_object_get_string(json_object_array_get_idx(v, i)));
}

int ctl_cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	struct json_object *st, *hosts, *unknown;
	int64_t last_change = 0;
	const struct ctl_rec *leader = NULL;
	struct ctl_args a;
	struct ctl_snap s;
	unsigned int n_bad;

	if (ctl_parse_args(argc, argv, opts, 0, 0, "status", &a))
		return CTL_USAGE;
	if (ctl_snap_load(&s, HS_SCHEMA_UNKNOWN))
		return CTL_ERR;
	for (size_t i = 0; i < s.n; i++) {
		const struct ctl_rec *rec = &s.recs[i];

		if (agents_apply(rec->kind) && rec->kv->mod_revision > last_change)
			last_change = rec->kv->mod_revision;
		if (rec->kind == HS_SCHEMA_LEADER && rec->ok)
			leader = rec;
	}
	st = json_object_new_object();
	hosts = json_object_new_array();
	unknown = json_object_new_array();
	json_object_object_add(st, "revision", json_object_new_int64(s.revision));
	json_object_object_add(st, "last_change", json_object_new_int64(last_change));
	json_object_object_add(st, "leader",
			       leader ? json_object_new_string(leader->r.leader.holder) : NULL);
	for (size_t i = 0; i < s.n; i++) {
		const struct ctl_rec *rec = &s.recs[i];

		if (rec->kind == HS_SCHEMA_HOST && rec->ok)
			json_object_array_add(hosts, host_json(&s, rec, last_change));
		if (rec->kind == HS_SCHEMA_AGENT && rec->ok &&
		    !ctl_snap_find(&s, HS_SCHEMA_HOST, rec->id.name))
			json_object_array_add(unknown, json_object_new_string(rec->id.name));
	}
	json_object_object_add(st, "hosts", hosts);
	json_object_object_add(st, "unknown_agents", unknown);
	n_bad = s.n_bad;
	ctl_snap_free(&s);
	if (ctl.json) {
		ctl_print_json(st);
	} else {
		print_text(st);
		json_object_put(st);
	}
	if (n_bad) {
		hs_err("%u record(s) could not be read (see above)", n_bad);
		return CTL_ERR;
	}
	return CTL_OK;
}
