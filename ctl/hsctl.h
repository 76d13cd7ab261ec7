/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hsctl internals shared by its command files: the run's settings and etcd
 * client, argument parsing, a consistent snapshot of the cluster state with
 * lookups and reference search, and output helpers. Every record goes
 * through lib/schema (check, encode, parse); every write is one etcd
 * transaction with compares, so hsctl never overwrites what it did not read.
 */
#ifndef HS_CTL_H
#define HS_CTL_H

#include <arpa/inet.h> /* AF_INET, INET6_ADDRSTRLEN, IPPROTO_* */
#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/etcd.h"
#include "lib/schema.h"

/* A command's result is the process exit status. */
enum ctl_exit {
	CTL_OK = 0, /* done */
	CTL_ERR = 1, /* refused by the store's state, or etcd failed */
	CTL_USAGE = 2, /* bad arguments; nothing was sent */
};

struct ctl {
	struct hs_etcd *etcd;
	const char *prefix;
	const char *endpoints; /* as given, for messages */
	bool json;
};

extern struct ctl ctl;

/* Logs "cannot <what>: etcd at <endpoints>: <error>" and returns err. */
int ctl_etcd_failed(const char *what, int err);

/* ---- arguments (args.c) ---- */

#define CTL_MAX_OPTS 16
#define CTL_MAX_POS 4

struct ctl_args {
	const char *val[CTL_MAX_OPTS]; /* by option index; "" for a flag */
	const char *pos[CTL_MAX_POS];
	int npos;
};

/*
 * Parses a subcommand's arguments: opts is a getopt_long table whose .val
 * is the option's index + 1 (at most CTL_MAX_OPTS), positional arguments
 * may come anywhere. Unknown options, missing values, an option given
 * twice and a wrong number of positional arguments are logged with the
 * usage line. 0 or -EINVAL.
 */
int ctl_parse_args(int argc, char **argv, const struct option *opts, int min_pos, int max_pos,
		   const char *usage, struct ctl_args *a);

/* Value parsers: log "<what>: '<s>' ..." and return -EINVAL on bad input. */
int ctl_parse_name(const char *what, const char *s, char out[HS_SCHEMA_NAME_MAX]);
int ctl_parse_uint(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* family: AF_INET, AF_INET6 or 0 for either. */
int ctl_parse_ip(const char *what, const char *s, int family, struct hs_ip *out);
int ctl_parse_mac(const char *what, const char *s, uint8_t mac[6]);
int ctl_parse_proto(const char *what, const char *s, uint8_t *proto);
/* "frontend,host" into HS_SCHEMA_ROLE_* bits. */
int ctl_parse_roles(const char *what, const char *s, uint32_t *roles);

const char *ctl_proto_name(uint8_t proto);
bool ctl_ip_zero(const struct hs_ip *ip);
/* "frontend,host" */
const char *ctl_roles_text(uint32_t roles, char *buf, size_t len);

/* ---- the cluster state (store.c) ---- */

/* One record read from etcd, with the revisions its writers compare. */
struct ctl_rec {
	enum hs_schema_kind kind;
	struct hs_schema_key id; /* what its key names */
	struct hs_etcd_kv *kv; /* key, value, revisions */
	bool ok; /* parsed; when false the parser has logged why */
	union hs_schema_record r;
};

/* Every record under one key prefix, as of one store revision. */
struct ctl_snap {
	struct hs_etcd_kvs kvs;
	struct ctl_rec *recs; /* sorted by key, like kvs; unknown keys left out */
	size_t n;
	int64_t revision;
	unsigned int n_bad; /* records that did not parse (each one logged) */
};

/* Reads everything under the prefix (kind HS_SCHEMA_UNKNOWN) or one kind's
 * directory, in one read. 0 or -errno (logged). */
int ctl_snap_load(struct ctl_snap *s, enum hs_schema_kind kind);
void ctl_snap_free(struct ctl_snap *s);
/* The readable record of that kind and name; NULL if absent or unreadable. */
const struct ctl_rec *ctl_snap_find(const struct ctl_snap *s, enum hs_schema_kind kind,
				    const char *name);
/* The record under key, readable or not; NULL if absent. */
const struct ctl_rec *ctl_snap_key(const struct ctl_snap *s, const char *key);
/* The readable record of host name, which must have role (HS_SCHEMA_ROLE_*);
 * NULL after logging why not: "<what>: host '<name>' does not exist", cannot
 * be read, or lacks the role. */
const struct ctl_rec *ctl_need_host(const struct ctl_snap *s, const char *what, const char *name,
				    uint32_t role);

/*
 * Who refers to the record kind/name (a site, a host or a VM): "host fra-1,
 * vm web (entry)" in buf, the count as the return value. Unreadable
 * records of a kind that could refer to it count too (their key is named):
 * hsctl cannot tell what they say.
 */
unsigned int ctl_referrers(const struct ctl_snap *s, enum hs_schema_kind kind, const char *name,
			   char *buf, size_t len);

/* Reads one record: 0 (free with ctl_rec_free), -ENOENT (absent, not
 * logged), -EINVAL/-EPROTONOSUPPORT (unreadable, logged) or another -errno
 * (logged). */
int ctl_get(enum hs_schema_kind kind, const char *key, struct ctl_rec *rec);
void ctl_rec_free(struct ctl_rec *rec);

/* A transaction under construction: compares, then the operations run when
 * they all hold. Keys and values must outlive ctl_txn_run. */
struct ctl_txn {
	struct hs_etcd_cmp cmps[8];
	size_t n_cmps;
	struct hs_etcd_op ops[4];
	size_t n_ops;
};

/* key is absent */
void ctl_cmp_absent(struct ctl_txn *t, const char *key);
/* rec still exists: same create revision, maybe changed since */
void ctl_cmp_exists(struct ctl_txn *t, const struct ctl_rec *rec);
/* rec is exactly as read: same mod revision */
void ctl_cmp_unchanged(struct ctl_txn *t, const struct ctl_rec *rec);
void ctl_op_put(struct ctl_txn *t, const char *key, const char *json);
void ctl_op_delete(struct ctl_txn *t, const char *key);
/* 0 with *ok (whether the compares held) and *revision set, or -errno
 * (logged, naming the endpoints). */
int ctl_txn_run(struct ctl_txn *t, const char *what, bool *ok, int64_t *revision);

/* A migration in a final state (done, failed, cancelled) is history. */
bool ctl_mig_final(enum hs_schema_mig_state state);
/* Per cent of the guest's memory copied (100 once done), or -1 without
 * numbers (migrate.c). */
int ctl_mig_percent(const struct hs_schema_migration *m);
/* "95% copied, 100.0 MiB of 2.0 GiB left, dirty 50.0 MiB/s, expected
 * downtime 120 ms", or "-" without numbers (migrate.c). */
const char *ctl_mig_progress_text(const struct hs_schema_migration *m, char *buf, size_t len);

/* ---- output (store.c, records.c) ---- */

/* The canonical JSON of a parsed record, as a json-c object (NULL on
 * failure, logged). */
struct json_object *ctl_rec_json(const struct ctl_rec *rec);
/* Prints and frees o. */
void ctl_print_json(struct json_object *o);
/* "field  value" lines, for show without --json. */
void ctl_print_fields(struct json_object *o);

/* After a create's compares failed: says whether the record exists
 * already or something it refers to changed. */
void ctl_create_failed(const char *kind, const char *name, const char *key);
/* What a create wrote: the record (--json) or "<kind> <name> added". */
void ctl_print_created(const char *kind, const char *name, const char *json);
/* What a delete did: {"key", "deleted": true, "revision"} (--json) or
 * "<kind> <name> deleted". */
void ctl_print_deleted(const char *kind, const char *name, const char *key, int64_t revision);

/* ---- commands ---- */

int ctl_cmd_site(int argc, char **argv);
int ctl_cmd_host(int argc, char **argv);
int ctl_cmd_vm(int argc, char **argv);
int ctl_cmd_binding(int argc, char **argv);
int ctl_cmd_status(int argc, char **argv);
int ctl_cmd_migrate(int argc, char **argv);
int ctl_cmd_migration(int argc, char **argv);

/* list, show, del are the same for sites, hosts and VMs (records.c); list
 * serves bindings and migrations too. */
int ctl_list(enum hs_schema_kind kind, int argc, char **argv, const char *usage);
int ctl_show(enum hs_schema_kind kind, int argc, char **argv, const char *usage);
/* Prints one record (--json or field lines) and frees it; CTL_OK/CTL_ERR. */
int ctl_print_rec(struct ctl_rec *rec);
int ctl_del(enum hs_schema_kind kind, int argc, char **argv, const char *usage);

#endif
