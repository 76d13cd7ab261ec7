/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cluster state in etcd (docs/schema.md): key layout and record formats
 * as C structs, with strict parsers, canonical encoders and key builders.
 * Every component reads and writes etcd through this module, so a record
 * means the same to all of them and a bad one is refused in one place.
 *
 * Conventions: names are [a-z0-9][a-z0-9-]{0,62} in char[HS_SCHEMA_NAME_MAX];
 * "" is an absent optional name or text. Addresses are struct hs_ip
 * (bpf/hs_abi.h: IPv4 stored IPv4-mapped), all zeros when absent. Ports here
 * are in host byte order (the maps want network order). Times are unix
 * seconds. Integers in JSON are at most 2^53 - 1, so jq and JavaScript read
 * them exactly.
 */
#ifndef HS_SCHEMA_H
#define HS_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/hs_abi.h"

#define HS_SCHEMA_PREFIX "/heliostat/" /* the default key prefix */
#define HS_SCHEMA_PREFIX_MAX 128 /* bytes, without the NUL */
#define HS_SCHEMA_KEY_MAX 256 /* a buffer this big holds every key */
#define HS_SCHEMA_NAME_MAX 64 /* 63 characters and the NUL */
#define HS_SCHEMA_TEXT_MAX 256 /* description, reason: 255 bytes of UTF-8 */
#define HS_SCHEMA_RECORD_MAX 65536 /* longest record accepted, in bytes */
#define HS_SCHEMA_MAX_REPLICAS 32
#define HS_SCHEMA_INT_MAX 9007199254740991ULL /* 2^53 - 1 */

enum hs_schema_kind {
	HS_SCHEMA_UNKNOWN,
	HS_SCHEMA_SITE, /* sites/<name> */
	HS_SCHEMA_HOST, /* hosts/<name> */
	HS_SCHEMA_VM, /* vms/<name> */
	HS_SCHEMA_BINDING, /* bindings/<public>[,<proto>,<port>] */
	HS_SCHEMA_IMAGE, /* images/<name> */
	HS_SCHEMA_MIGRATION, /* migrations/<vm> */
	HS_SCHEMA_LEADER, /* sched/leader */
	HS_SCHEMA_AGENT, /* agents/<host> */
	HS_SCHEMA_KIND_COUNT,
};

/* The highest record version this build reads (and the one it writes). */
#define HS_SCHEMA_VERSION 1

/* "site", "host", ...; "unknown" for anything else. */
const char *hs_schema_kind_name(enum hs_schema_kind kind);
/* [a-z0-9][a-z0-9-]{0,62} */
bool hs_schema_name_ok(const char *name);

/* ---- records ---- */

struct hs_schema_site {
	char name[HS_SCHEMA_NAME_MAX];
	char description[HS_SCHEMA_TEXT_MAX]; /* optional */
};

enum hs_schema_role {
	HS_SCHEMA_ROLE_FRONTEND = 1 << 0, /* owns public addresses */
	HS_SCHEMA_ROLE_HOST = 1 << 1, /* runs VMs */
};

struct hs_schema_host {
	char name[HS_SCHEMA_NAME_MAX];
	char site[HS_SCHEMA_NAME_MAX];
	struct hs_ip underlay4; /* IPv4 (mapped), or zero; at least one of the two */
	struct hs_ip underlay6; /* IPv6, or zero */
	uint32_t vni; /* 24 bits */
	uint16_t port; /* VXLAN UDP port, 1-65535; a record without one means 4789 */
	uint16_t mtu; /* underlay IP MTU: 0 (no check) or >= 1280 */
	uint32_t roles; /* HS_SCHEMA_ROLE_*, at least one */
};

struct hs_schema_vm {
	char name[HS_SCHEMA_NAME_MAX];
	uint32_t id; /* >= 1, unique among VMs */
	struct hs_ip address; /* IPv4 overlay address (mapped), or zero; at least one */
	struct hs_ip address6; /* IPv6 overlay address, or zero */
	uint8_t mac[6]; /* unicast */
	char host[HS_SCHEMA_NAME_MAX]; /* the host it runs on */
	uint32_t epoch; /* >= 1, +1 on every change of host */
	char forward_from[HS_SCHEMA_NAME_MAX]; /* optional: previous host */
	uint64_t forward_until; /* with forward_from, else 0 */
	char entry[HS_SCHEMA_NAME_MAX]; /* optional: front-end of its primary binding */
};

struct hs_schema_binding {
	struct hs_ip pub; /* public address, either family */
	uint8_t proto; /* 0 (any), IPPROTO_TCP or IPPROTO_UDP; with port */
	uint16_t port; /* 0 (any) or the public port; with proto */
	uint16_t vm_port; /* 0 (keep the port); only with port */
	char vm[HS_SCHEMA_NAME_MAX];
	char frontend[HS_SCHEMA_NAME_MAX]; /* host that owns pub */
};

struct hs_schema_image {
	char name[HS_SCHEMA_NAME_MAX];
	char owner_site[HS_SCHEMA_NAME_MAX]; /* the one site that accepts writes */
	uint32_t epoch; /* >= 1, +1 on every change of owner */
	unsigned int n_replicas;
	char replicas[HS_SCHEMA_MAX_REPLICAS][HS_SCHEMA_NAME_MAX]; /* other sites with a copy */
	uint64_t size; /* bytes, a multiple of 512 */
};

enum hs_schema_mig_state {
	HS_SCHEMA_MIG_PENDING,
	HS_SCHEMA_MIG_RUNNING,
	HS_SCHEMA_MIG_SWITCHOVER,
	HS_SCHEMA_MIG_DONE,
	HS_SCHEMA_MIG_FAILED,
	HS_SCHEMA_MIG_CANCELLED,
	HS_SCHEMA_MIG_STATE_COUNT,
};

struct hs_schema_mig_progress {
	uint64_t memory_total; /* bytes */
	uint64_t memory_remaining; /* bytes, <= memory_total */
	uint64_t dirty_rate; /* bytes per second */
	uint64_t expected_downtime_ms;
};

struct hs_schema_migration {
	char vm[HS_SCHEMA_NAME_MAX];
	char from[HS_SCHEMA_NAME_MAX]; /* source host */
	char to[HS_SCHEMA_NAME_MAX]; /* destination host, not from */
	enum hs_schema_mig_state state;
	char reason[HS_SCHEMA_TEXT_MAX]; /* optional; required when failed */
	uint64_t started; /* >= 1 */
	uint64_t updated; /* >= started */
	bool has_progress;
	struct hs_schema_mig_progress progress;
};

struct hs_schema_leader {
	char holder[HS_SCHEMA_NAME_MAX];
	int64_t lease; /* the etcd lease the key is attached to, > 0 */
};

struct hs_schema_agent {
	char host[HS_SCHEMA_NAME_MAX];
	uint32_t pid; /* 1 .. 4194304 */
	uint64_t started; /* >= 1 */
	int64_t applied_revision; /* >= 0 */
};

/* Any one record, by kind. */
union hs_schema_record {
	struct hs_schema_site site;
	struct hs_schema_host host;
	struct hs_schema_vm vm;
	struct hs_schema_binding binding;
	struct hs_schema_image image;
	struct hs_schema_migration migration;
	struct hs_schema_leader leader;
	struct hs_schema_agent agent;
};

/* The underlay address of host h that host me can reach: IPv4 when both
 * have one, else IPv6 when both have one, else NULL (also for h NULL). */
const struct hs_ip *hs_schema_host_reach(const struct hs_schema_host *me,
					 const struct hs_schema_host *h);

/* "pending", "running", ...; NULL when out of range. */
const char *hs_schema_mig_state_name(enum hs_schema_mig_state state);
/* Whether a migration record may go from state a to state b (docs/schema.md). */
bool hs_schema_mig_next_ok(enum hs_schema_mig_state a, enum hs_schema_mig_state b);

/*
 * Parsers. key is the etcd key the record was read under: its last two
 * components must be this type's directory and the record's name (or, for a
 * binding, its public address, protocol and port); the prefix is not
 * checked here (hs_schema_key_kind does). key NULL skips that check.
 *
 * Return 0 and fill *out; or leave *out untouched and return
 *   -EINVAL: not JSON, not an object, a field missing, unknown, null, of
 *	the wrong type or out of range, or the key disagrees;
 *   -EPROTONOSUPPORT: "v" is higher than HS_SCHEMA_VERSION (nothing else
 *	is looked at: a newer record may hold fields this build cannot know);
 *   -ENOMEM.
 * why (whylen > 0) gets "<key>: <what is wrong>" in every failure, and the
 * same line is logged at warning level, so a refused record is never
 * silent. A record of more than HS_SCHEMA_RECORD_MAX bytes is refused
 * unread.
 */
int hs_schema_parse_site(const char *key, const char *json, size_t len, struct hs_schema_site *out,
			 char *why, size_t whylen);
int hs_schema_parse_host(const char *key, const char *json, size_t len, struct hs_schema_host *out,
			 char *why, size_t whylen);
int hs_schema_parse_vm(const char *key, const char *json, size_t len, struct hs_schema_vm *out,
		       char *why, size_t whylen);
int hs_schema_parse_binding(const char *key, const char *json, size_t len,
			    struct hs_schema_binding *out, char *why, size_t whylen);
int hs_schema_parse_image(const char *key, const char *json, size_t len,
			  struct hs_schema_image *out, char *why, size_t whylen);
int hs_schema_parse_migration(const char *key, const char *json, size_t len,
			      struct hs_schema_migration *out, char *why, size_t whylen);
int hs_schema_parse_leader(const char *key, const char *json, size_t len,
			   struct hs_schema_leader *out, char *why, size_t whylen);
int hs_schema_parse_agent(const char *key, const char *json, size_t len,
			  struct hs_schema_agent *out, char *why, size_t whylen);

/*
 * Validation of a record built in C, the same rules the parsers apply: 0,
 * or -EINVAL with why = "<field>: <what is wrong>". Nothing is logged.
 */
int hs_schema_check_site(const struct hs_schema_site *r, char *why, size_t whylen);
int hs_schema_check_host(const struct hs_schema_host *r, char *why, size_t whylen);
int hs_schema_check_vm(const struct hs_schema_vm *r, char *why, size_t whylen);
int hs_schema_check_binding(const struct hs_schema_binding *r, char *why, size_t whylen);
int hs_schema_check_image(const struct hs_schema_image *r, char *why, size_t whylen);
int hs_schema_check_migration(const struct hs_schema_migration *r, char *why, size_t whylen);
int hs_schema_check_leader(const struct hs_schema_leader *r, char *why, size_t whylen);
int hs_schema_check_agent(const struct hs_schema_agent *r, char *why, size_t whylen);

/*
 * Encoders: the canonical JSON of a valid record (version
 * HS_SCHEMA_VERSION, fields in the documented order, absent optional fields
 * left out, no whitespace), malloc'd and NUL-terminated, in *json. 0,
 * -EINVAL (invalid record: logged with the reason, *json untouched) or
 * -ENOMEM.
 */
int hs_schema_encode_site(const struct hs_schema_site *r, char **json);
int hs_schema_encode_host(const struct hs_schema_host *r, char **json);
int hs_schema_encode_vm(const struct hs_schema_vm *r, char **json);
int hs_schema_encode_binding(const struct hs_schema_binding *r, char **json);
int hs_schema_encode_image(const struct hs_schema_image *r, char **json);
int hs_schema_encode_migration(const struct hs_schema_migration *r, char **json);
int hs_schema_encode_leader(const struct hs_schema_leader *r, char **json);
int hs_schema_encode_agent(const struct hs_schema_agent *r, char **json);

/*
 * Keys. prefix NULL means HS_SCHEMA_PREFIX; otherwise 1 to
 * HS_SCHEMA_PREFIX_MAX printable ASCII characters (no space) ending in '/'.
 * Builders return 0, -EINVAL (bad prefix, name or binding tuple) or
 * -ENAMETOOLONG (buf too small; HS_SCHEMA_KEY_MAX always suffices).
 */
int hs_schema_key_site(const char *prefix, const char *name, char *buf, size_t len);
int hs_schema_key_host(const char *prefix, const char *name, char *buf, size_t len);
int hs_schema_key_vm(const char *prefix, const char *name, char *buf, size_t len);
/* The address in canonical text (inet_ntop), then ",tcp,80" for a port binding. */
int hs_schema_key_binding(const char *prefix, const struct hs_ip *pub, uint8_t proto, uint16_t port,
			  char *buf, size_t len);
int hs_schema_key_image(const char *prefix, const char *name, char *buf, size_t len);
int hs_schema_key_migration(const char *prefix, const char *vm, char *buf, size_t len);
int hs_schema_key_leader(const char *prefix, char *buf, size_t len);
int hs_schema_key_agent(const char *prefix, const char *host, char *buf, size_t len);
/* The directory of a kind, "/heliostat/vms/", for range reads and watches;
 * for HS_SCHEMA_LEADER the key itself. */
int hs_schema_key_dir(const char *prefix, enum hs_schema_kind kind, char *buf, size_t len);

/* What a key names. */
struct hs_schema_key {
	enum hs_schema_kind kind;
	/* SITE, HOST, VM, IMAGE: its name; MIGRATION: the VM; AGENT: the host;
	 * "" for BINDING and LEADER. */
	char name[HS_SCHEMA_NAME_MAX];
	/* BINDING */
	struct hs_ip pub;
	uint8_t proto;
	uint16_t port;
};

/*
 * Which record type key (key_len bytes, as etcd gives it) is under prefix.
 * HS_SCHEMA_UNKNOWN for anything that is not exactly a valid key of one of
 * the types: outside the prefix, another directory, a bad name, a binding
 * address not in canonical form, an extra '/', a NUL byte, or a bad prefix.
 * out (optional) is zeroed and then filled.
 */
enum hs_schema_kind hs_schema_key_kind(const char *prefix, const char *key, size_t key_len,
				       struct hs_schema_key *out);

#endif
