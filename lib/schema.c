// SPDX-License-Identifier: GPL-2.0
/*
 * The cluster-state schema (docs/schema.md). json-c reads and writes the
 * JSON; this file maps it to fixed-size structs and back and holds every
 * validation rule once: parsers and encoders share the check functions, so
 * what one component writes, every other one accepts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/log.h"
#include "lib/parse.h"
#include "lib/schema.h"

#define JSON_MAX_DEPTH 8 /* records nest 2 deep */
#define MSG_MAX 256
#define SHOW_MAX 48 /* a quoted bad value is cut here */
#define PID_MAX 4194304 /* PID_MAX_LIMIT on 64-bit Linux */
#define MTU_MIN 1280
#define SECTOR 512
#define VNI_MAX 0xffffff

static const char *const kind_names[HS_SCHEMA_KIND_COUNT] = {
	"unknown", "site", "host", "vm", "binding", "image", "migration", "leader", "agent",
};

/* The directory under the prefix; the leader's key is sched/leader. */
static const char *const kind_dirs[HS_SCHEMA_KIND_COUNT] = {
	NULL, "sites", "hosts", "vms", "bindings", "images", "migrations", "sched", "agents",
};

static const char *const state_names[HS_SCHEMA_MIG_STATE_COUNT] = {
	"pending", "running", "switchover", "done", "failed", "cancelled",
};

const char *hs_schema_kind_name(enum hs_schema_kind kind)
{
	return (unsigned int)kind < HS_SCHEMA_KIND_COUNT ? kind_names[kind] : kind_names[0];
}

const char *hs_schema_mig_state_name(enum hs_schema_mig_state state)
{
	return (unsigned int)state < HS_SCHEMA_MIG_STATE_COUNT ? state_names[state] : NULL;
}

bool hs_schema_mig_next_ok(enum hs_schema_mig_state a, enum hs_schema_mig_state b)
{
	if ((unsigned int)a >= HS_SCHEMA_MIG_STATE_COUNT ||
	    (unsigned int)b >= HS_SCHEMA_MIG_STATE_COUNT)
		return false;
	if (a == b)
		return true; /* an update that keeps the state (progress) */
	switch (a) {
	case HS_SCHEMA_MIG_PENDING:
		return b == HS_SCHEMA_MIG_RUNNING || b == HS_SCHEMA_MIG_FAILED ||
		       b == HS_SCHEMA_MIG_CANCELLED;
	case HS_SCHEMA_MIG_RUNNING:
		return b == HS_SCHEMA_MIG_SWITCHOVER || b == HS_SCHEMA_MIG_FAILED ||
		       b == HS_SCHEMA_MIG_CANCELLED;
	case HS_SCHEMA_MIG_SWITCHOVER: /* the VM is paused: no way back but failure */
		return b == HS_SCHEMA_MIG_DONE || b == HS_SCHEMA_MIG_FAILED;
	default: /* done, failed, cancelled are final */
		return false;
	}
}

/* ---- messages ---- */

static int say(char *m, size_t ml, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(char *m, size_t ml, const char *fmt, ...)
{
	va_list ap;

	if (ml) {
		va_start(ap, fmt);
		vsnprintf(m, ml, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A value from a record, fit to be quoted in a log line: cut, and anything
 * but printable ASCII replaced, so a record cannot forge log lines. */
static const char *show(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 4 < len; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (s[i] && i >= 3)
		memcpy(buf + i - 3, "...", 3);
	buf[i] = '\0';
	return buf;
}

/* ---- values ---- */

static bool name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (!first && c == '-');
}

bool hs_schema_name_ok(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strnlen(name, HS_SCHEMA_NAME_MAX);
	if (!n || n >= HS_SCHEMA_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!name_char(name[i], i == 0))
			return false;
	return true;
}

/* Well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF) without C0 or C1 control characters or DEL. */
static bool text_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t len;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += len;
	}
	return true;
}

static bool ip_zero(const struct hs_ip *ip)
{
	static const struct hs_ip zero;

	return !memcmp(ip, &zero, sizeof(zero));
}

/* NULL for a unicast address, else what it is. */
static const char *ip_not_unicast(const struct hs_ip *ip)
{
	static const uint8_t loop6[16] = {[15] = 1};

	if (hs_ip_is_v4(ip->b)) {
		uint8_t a = ip->b[12];

		if (a == 0)
			return "in 0.0.0.0/8";
		if (a == 127)
			return "a loopback address";
		if (a >= 224 && a < 240)
			return "a multicast address";
		if (a >= 240)
			return "in the reserved 240.0.0.0/4";
		return NULL;
	}
	if (ip_zero(ip))
		return "unspecified";
	if (!memcmp(ip->b, loop6, 16))
		return "a loopback address";
	if (ip->b[0] == 0xff)
		return "a multicast address";
	return NULL;
}

/* ---- checks shared by the parsers and the encoders ---- */

static int check_name(char *m, size_t ml, const char *field, const char *s, bool required)
{
	char b[SHOW_MAX];

	if (!s[0])
		return required ? say(m, ml, "%s: missing", field) : 0;
	if (!hs_schema_name_ok(s))
		return say(m, ml, "%s: '%s' is not a name ([a-z0-9][a-z0-9-]{0,62})", field,
			   show(s, b, sizeof(b)));
	return 0;
}

static int check_text(char *m, size_t ml, const char *field, const char *s)
{
	size_t n = strnlen(s, HS_SCHEMA_TEXT_MAX);

	if (n >= HS_SCHEMA_TEXT_MAX)
		return say(m, ml, "%s: longer than %d bytes", field, HS_SCHEMA_TEXT_MAX - 1);
	if (!text_ok((const unsigned char *)s, n))
		return say(m, ml, "%s: not UTF-8 text without control characters", field);
	return 0;
}

/* family: AF_INET, AF_INET6, or 0 for either. */
static int check_ip(char *m, size_t ml, const char *field, const struct hs_ip *ip, int family,
		    bool required)
{
	char a[INET6_ADDRSTRLEN];
	const char *what;

	if (ip_zero(ip))
		return required ? say(m, ml, "%s: missing", field) : 0;
	hs_format_ip(ip->b, a, sizeof(a));
	if (family == AF_INET && !hs_ip_is_v4(ip->b))
		return say(m, ml, "%s: %s is not an IPv4 address", field, a);
	if (family == AF_INET6 && hs_ip_is_v4(ip->b))
		return say(m, ml, "%s: %s is not an IPv6 address", field, a);
	what = ip_not_unicast(ip);
	if (what)
		return say(m, ml, "%s: %s is %s, not a unicast address", field, a, what);
	return 0;
}

static int check_range(char *m, size_t ml, const char *field, uint64_t v, uint64_t min,
		       uint64_t max)
{
	if (v < min || v > max)
		return say(m, ml, "%s: %" PRIu64 " is out of range [%" PRIu64 ", %" PRIu64 "]",
			   field, v, min, max);
	return 0;
}

static int check_site(const void *rec, char *m, size_t ml)
{
	const struct hs_schema_site *r = rec;
	int rc;

	if ((rc = check_name(m, ml, "name", r->name, true)) ||
	    (rc = check_text(m, ml, "description", r->description)))
		return rc;
	return 0;
}

static int check_host(const void *rec, char *m, size_t ml)
{
	const struct hs_schema_host *r = rec;
	int rc;

	if ((rc = check_name(m, ml, "name", r->name, true)) ||
	    (rc = check_name(m, ml, "site", r->site, true)) ||
	    (rc = check_ip(m, ml, "underlay4", &r->underlay4, AF_INET, false)) ||
	    (rc = check_ip(m, ml, "underlay6", &r->underlay6, AF_INET6, false)) ||
	    (rc = check_range(m, ml, "vni", r->vni, 0, VNI_MAX)) ||
	    (rc = check_range(m, ml, "port", r->port, 1, 65535)))
		return rc;
	if (ip_zero(&r->underlay4) && ip_zero(&r->underlay6))
		return say(m, ml, "underlay4, underlay6: a host needs at least one");
	if (r->mtu && r->mtu < MTU_MIN)
		return say(m, ml, "mtu: %u is below %d (0 turns the check off)", r->mtu, MTU_MIN);
	if (!r->roles)
		return say(m, ml, "roles: a host needs at least one of frontend, host");
	if (r->roles & ~(uint32_t)(HS_SCHEMA_ROLE_FRONTEND | HS_SCHEMA_ROLE_HOST))
		return say(m, ml, "roles: unknown role bits 0x%x", r->roles);
	return 0;
}

static int check_vm(const void *rec, char *m, size_t ml)
{
	static const uint8_t zero_mac[6];
	const struct hs_schema_vm *r = rec;
	int rc;

	if ((rc = check_name(m, ml, "name", r->name, true)) ||
	    (rc = check_range(m, ml, "id", r->id, 1, UINT32_MAX)) ||
	    (rc = check_ip(m, ml, "address", &r->address, AF_INET, false)) ||
	    (rc = check_ip(m, ml, "address6", &r->address6, AF_INET6, false)) ||
	    (rc = check_name(m, ml, "host", r->host, true)) ||
	    (rc = check_range(m, ml, "epoch", r->epoch, 1, UINT32_MAX)) ||
	    (rc = check_name(m, ml, "forward_from", r->forward_from, false)) ||
	    (rc = check_name(m, ml, "entry", r->entry, false)))
		return rc;
	if (ip_zero(&r->address) && ip_zero(&r->address6))
		return say(m, ml, "address, address6: a VM needs at least one");
	if (!memcmp(r->mac, zero_mac, 6))
		return say(m, ml, "mac: missing");
	if (r->mac[0] & 1)
		return say(m, ml, "mac: %02x:%02x:%02x:%02x:%02x:%02x is a multicast MAC address",
			   r->mac[0], r->mac[1], r->mac[2], r->mac[3], r->mac[4], r->mac[5]);
	if (r->forward_from[0]) {
		if (!strcmp(r->forward_from, r->host))
			return say(m, ml, "forward_from: '%s' is the VM's own host", r->host);
		if (!r->forward_until)
			return say(m, ml, "forward_until: missing (forward_from needs it)");
		return check_range(m, ml, "forward_until", r->forward_until, 1, HS_SCHEMA_INT_MAX);
	}
	if (r->forward_until)
		return say(m, ml, "forward_until: set without forward_from");
	return 0;
}

static int check_binding(const void *rec, char *m, size_t ml)
{
	const struct hs_schema_binding *r = rec;
	int rc;

	if ((rc = check_ip(m, ml, "public", &r->pub, 0, true)) ||
	    (rc = check_name(m, ml, "vm", r->vm, true)) ||
	    (rc = check_name(m, ml, "frontend", r->frontend, true)))
		return rc;
	if (r->proto && r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP)
		return say(m, ml, "proto: %u is not tcp (6) or udp (17)", r->proto);
	if (!r->proto != !r->port)
		return say(m, ml, "proto, port: a port needs a protocol and a protocol a port");
	if (r->vm_port && !r->port)
		return say(m, ml, "vm_port: only a port binding can change the port");
	return 0;
}

static int check_image(const void *rec, char *m, size_t ml)
{
	const struct hs_schema_image *r = rec;
	char f[32];
	int rc;

	if ((rc = check_name(m, ml, "name", r->name, true)) ||
	    (rc = check_name(m, ml, "owner_site", r->owner_site, true)) ||
	    (rc = check_range(m, ml, "epoch", r->epoch, 1, UINT32_MAX)) ||
	    (rc = check_range(m, ml, "replicas", r->n_replicas, 0, HS_SCHEMA_MAX_REPLICAS)) ||
	    (rc = check_range(m, ml, "size", r->size, SECTOR, HS_SCHEMA_INT_MAX)))
		return rc;
	if (r->size % SECTOR)
		return say(m, ml, "size: %" PRIu64 " is not a multiple of %d", r->size, SECTOR);
	for (unsigned int i = 0; i < r->n_replicas; i++) {
		snprintf(f, sizeof(f), "replicas[%u]", i);
		if ((rc = check_name(m, ml, f, r->replicas[i], true)))
			return rc;
		if (!strcmp(r->replicas[i], r->owner_site))
			return say(m, ml, "%s: '%s' is the owner site", f, r->owner_site);
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(r->replicas[i], r->replicas[j]))
				return say(m, ml, "%s: '%s' is listed twice", f, r->replicas[i]);
	}
	return 0;
}

static int check_migration(const void *rec, char *m, size_t ml)
{
	const struct hs_schema_migration *r = rec;
	const struct hs_schema_mig_progress *p = &r->progress;
	int rc;

	if ((rc = check_name(m, ml, "vm", r->vm, true)) ||
	    (rc = check_name(m, ml, "from", r->from, true)) ||
	    (rc = check_name(m, ml, "to", r->to, true)) ||
	    (rc = check_text(m, ml, "reason", r->reason)) ||
	    (rc = check_range(m, ml, "started", r->started, 1, HS_SCHEMA_INT_MAX)) ||
	    (rc = check_range(m, ml, "updated", r->updated, 1, HS_SCHEMA_INT_MAX)))
		return rc;
	if (!strcmp(r->from, r->to))
		return say(m, ml, "to: '%s' is also the source host", r->to);
	if ((unsigned int)r->state >= HS_SCHEMA_MIG_STATE_COUNT)
		return say(m, ml, "state: %u is not a state", (unsigned int)r->state);
	if (r->state == HS_SCHEMA_MIG_FAILED && !r->reason[0])
		return say(m, ml, "reason: missing (a failed migration says why)");
	if (r->updated < r->started)
		return say(m, ml, "updated: %" PRIu64 " is before started (%" PRIu64 ")",
			   r->updated, r->started);
	if (!r->has_progress)
		return 0;
	if ((rc = check_range(m, ml, "progress.memory_total", p->memory_total, 0,
			      HS_SCHEMA_INT_MAX)) ||
	    (rc = check_range(m, ml, "progress.memory_remaining", p->memory_remaining, 0,
			      p->memory_total)) ||
	    (rc = check_range(m, ml, "progress.dirty_rate", p->dirty_rate, 0, HS_SCHEMA_INT_MAX)) ||
	    (rc = check_range(m, ml, "progress.expected_downtime_ms", p->expected_downtime_ms, 0,
			      HS_SCHEMA_INT_MAX)))
		return rc;
	return 0;
}

static int check_leader(const void *rec, char *m, size_t ml)
{
	const struct hs_schema_leader *r = rec;
	int rc;

	if ((rc = check_name(m, ml, "holder", r->holder, true)))
		return rc;
	if (r->lease <= 0)
		return say(m, ml, "lease: %" PRId64 " is not a lease id (> 0)", r->lease);
	return 0;
}

static int check_agent(const void *rec, char *m, size_t ml)
{
	const struct hs_schema_agent *r = rec;
	int rc;

	if ((rc = check_name(m, ml, "host", r->host, true)) ||
	    (rc = check_range(m, ml, "pid", r->pid, 1, PID_MAX)) ||
	    (rc = check_range(m, ml, "started", r->started, 1, HS_SCHEMA_INT_MAX)))
		return rc;
	if (r->applied_revision < 0 || (uint64_t)r->applied_revision > HS_SCHEMA_INT_MAX)
		return say(m, ml, "applied_revision: %" PRId64 " is out of range [0, %llu]",
			   r->applied_revision, HS_SCHEMA_INT_MAX);
	return 0;
}

/* ---- keys ---- */

static bool prefix_ok(const char *p)
{
	size_t n = strnlen(p, HS_SCHEMA_PREFIX_MAX + 1);

	if (!n || n > HS_SCHEMA_PREFIX_MAX || p[n - 1] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f)
			return false;
	return true;
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : NULL;
}

static int proto_parse(const char *s, size_t n, uint8_t *proto)
{
	if (n == 3 && !memcmp(s, "tcp", 3))
		*proto = IPPROTO_TCP;
	else if (n == 3 && !memcmp(s, "udp", 3))
		*proto = IPPROTO_UDP;
	else
		return -EINVAL;
	return 0;
}

/* "<address>" or "<address>,<proto>,<port>": the last key component. */
static int binding_comp(const struct hs_ip *pub, uint8_t proto, uint16_t port, char *buf,
			size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int n;

	if (ip_zero(pub) || ip_not_unicast(pub) || !proto != !port || (proto && !proto_name(proto)))
		return -EINVAL;
	hs_format_ip(pub->b, a, sizeof(a));
	if (proto)
		n = snprintf(buf, len, "%s,%s,%u", a, proto_name(proto), port);
	else
		n = snprintf(buf, len, "%s", a);
	return n < 0 ? -EINVAL : (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The inverse, accepting only what binding_comp writes. */
static int binding_comp_parse(const char *s, size_t n, struct hs_ip *pub, uint8_t *proto,
			      uint16_t *port)
{
	const char *c1 = memchr(s, ',', n), *c2 = NULL;
	char a[INET6_ADDRSTRLEN], canon[INET6_ADDRSTRLEN];
	size_t alen = c1 ? (size_t)(c1 - s) : n;
	uint32_t p = 0;
	int family;

	if (!alen || alen >= sizeof(a))
		return -EINVAL;
	memcpy(a, s, alen);
	a[alen] = '\0';
	/* One text per address: "2001:DB8::1" or "::ffff:192.0.2.1" would
	 * name the same binding under a second key. */
	if (hs_parse_ip(a, pub->b, &family) ||
	    strcmp(hs_format_ip(pub->b, canon, sizeof(canon)), a) || ip_not_unicast(pub))
		return -EINVAL;
	*proto = 0;
	*port = 0;
	if (!c1)
		return 0;
	c2 = memchr(c1 + 1, ',', n - alen - 1);
	if (!c2 || proto_parse(c1 + 1, (size_t)(c2 - c1 - 1), proto))
		return -EINVAL;
	/* decimal 1-65535 without leading zeros */
	if (c2 + 1 == s + n || c2[1] == '0')
		return -EINVAL;
	for (const char *d = c2 + 1; d < s + n; d++) {
		if (*d < '0' || *d > '9')
			return -EINVAL;
		p = p * 10 + (uint32_t)(*d - '0');
		if (p > 65535)
			return -EINVAL;
	}
	*port = (uint16_t)p;
	return 0;
}

static int key_build(const char *prefix, enum hs_schema_kind kind, const char *comp, char *buf,
		     size_t len)
{
	int n;

	if (!prefix)
		prefix = HS_SCHEMA_PREFIX;
	if (!prefix_ok(prefix) || !buf)
		return -EINVAL;
	if (kind == HS_SCHEMA_LEADER)
		n = snprintf(buf, len, "%s%s/leader", prefix, kind_dirs[kind]);
	else
		n = snprintf(buf, len, "%s%s/%s", prefix, kind_dirs[kind], comp);
	if (n < 0)
		return -EINVAL;
	return (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int key_named(const char *prefix, enum hs_schema_kind kind, const char *name, char *buf,
		     size_t len)
{
	return hs_schema_name_ok(name) ? key_build(prefix, kind, name, buf, len) : -EINVAL;
}

int hs_schema_key_site(const char *prefix, const char *name, char *buf, size_t len)
{
	return key_named(prefix, HS_SCHEMA_SITE, name, buf, len);
}

int hs_schema_key_host(const char *prefix, const char *name, char *buf, size_t len)
{
	return key_named(prefix, HS_SCHEMA_HOST, name, buf, len);
}

int hs_schema_key_vm(const char *prefix, const char *name, char *buf, size_t len)
{
	return key_named(prefix, HS_SCHEMA_VM, name, buf, len);
}

int hs_schema_key_image(const char *prefix, const char *name, char *buf, size_t len)
{
	return key_named(prefix, HS_SCHEMA_IMAGE, name, buf, len);
}

int hs_schema_key_migration(const char *prefix, const char *vm, char *buf, size_t len)
{
	return key_named(prefix, HS_SCHEMA_MIGRATION, vm, buf, len);
}

int hs_schema_key_agent(const char *prefix, const char *host, char *buf, size_t len)
{
	return key_named(prefix, HS_SCHEMA_AGENT, host, buf, len);
}

int hs_schema_key_leader(const char *prefix, char *buf, size_t len)
{
	return key_build(prefix, HS_SCHEMA_LEADER, NULL, buf, len);
}

int hs_schema_key_binding(const char *prefix, const struct hs_ip *pub, uint8_t proto, uint16_t port,
			  char *buf, size_t len)
{
	char comp[INET6_ADDRSTRLEN + 16];

	if (!pub || binding_comp(pub, proto, port, comp, sizeof(comp)))
		return -EINVAL;
	return key_build(prefix, HS_SCHEMA_BINDING, comp, buf, len);
}

int hs_schema_key_dir(const char *prefix, enum hs_schema_kind kind, char *buf, size_t len)
{
	if (kind <= HS_SCHEMA_UNKNOWN || kind >= HS_SCHEMA_KIND_COUNT)
		return -EINVAL;
	return key_build(prefix, kind, "", buf, len);
}

enum hs_schema_kind hs_schema_key_kind(const char *prefix, const char *key, size_t key_len,
				       struct hs_schema_key *out)
{
	struct hs_schema_key k = {.kind = HS_SCHEMA_UNKNOWN};
	const char *rest, *slash, *comp;
	size_t plen, dlen, clen;
	int kind;

	if (out)
		*out = k;
	if (!prefix)
		prefix = HS_SCHEMA_PREFIX;
	if (!key || !prefix_ok(prefix) || key_len > HS_SCHEMA_KEY_MAX || memchr(key, 0, key_len))
		return HS_SCHEMA_UNKNOWN;
	plen = strlen(prefix);
	if (key_len <= plen || memcmp(key, prefix, plen))
		return HS_SCHEMA_UNKNOWN;
	rest = key + plen;
	slash = memchr(rest, '/', key_len - plen);
	if (!slash)
		return HS_SCHEMA_UNKNOWN;
	dlen = (size_t)(slash - rest);
	comp = slash + 1;
	clen = key_len - plen - dlen - 1;
	if (!clen || memchr(comp, '/', clen))
		return HS_SCHEMA_UNKNOWN;
	for (kind = HS_SCHEMA_SITE; kind < HS_SCHEMA_KIND_COUNT; kind++)
		if (strlen(kind_dirs[kind]) == dlen && !memcmp(rest, kind_dirs[kind], dlen))
			break;
	switch (kind) {
	case HS_SCHEMA_KIND_COUNT:
		return HS_SCHEMA_UNKNOWN;
	case HS_SCHEMA_LEADER:
		if (clen != 6 || memcmp(comp, "leader", 6))
			return HS_SCHEMA_UNKNOWN;
		break;
	case HS_SCHEMA_BINDING:
		if (binding_comp_parse(comp, clen, &k.pub, &k.proto, &k.port))
			return HS_SCHEMA_UNKNOWN;
		break;
	default:
		if (clen >= HS_SCHEMA_NAME_MAX)
			return HS_SCHEMA_UNKNOWN;
		memcpy(k.name, comp, clen);
		k.name[clen] = '\0';
		if (!hs_schema_name_ok(k.name))
			return HS_SCHEMA_UNKNOWN;
	}
	k.kind = (enum hs_schema_kind)kind;
	if (out)
		*out = k;
	return k.kind;
}

/* ---- reading JSON ---- */

struct rd {
	json_object *obj;
	const char *path; /* "" or "progress." */
	char *m;
	size_t ml;
};

static const char *type_desc(json_type t)
{
	switch (t) {
	case json_type_int:
		return "an integer";
	case json_type_string:
		return "a string";
	case json_type_array:
		return "an array";
	case json_type_object:
		return "an object";
	default:
		return "of another type";
	}
}

/* 0 and *out NULL when an optional field is absent. */
static int rd_field(struct rd *r, const char *f, bool required, json_type t, json_object **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(r->obj, f, &v))
		return required ? say(r->m, r->ml, "%s%s: missing", r->path, f) : 0;
	if (!v)
		return say(r->m, r->ml, "%s%s: null (an absent field is left out)", r->path, f);
	if (!json_object_is_type(v, t))
		return say(r->m, r->ml, "%s%s: not %s", r->path, f, type_desc(t));
	*out = v;
	return 0;
}

/* A JSON string element into out[size]. */
static int rd_strval(struct rd *r, const char *f, json_object *v, char *out, size_t size)
{
	const char *s = json_object_get_string(v);
	size_t n = (size_t)json_object_get_string_len(v);

	if (strlen(s) != n)
		return say(r->m, r->ml, "%s%s: contains a NUL character", r->path, f);
	if (n >= size)
		return say(r->m, r->ml, "%s%s: too long (%zu bytes, at most %zu)", r->path, f, n,
			   size - 1);
	memcpy(out, s, n + 1);
	return 0;
}

static int rd_str(struct rd *r, const char *f, bool required, char *out, size_t size)
{
	json_object *v;
	int rc = rd_field(r, f, required, json_type_string, &v);

	if (rc || !v)
		return rc;
	/* "" is "absent" in the struct: one way to say it in JSON */
	if (!required && !json_object_get_string_len(v))
		return say(r->m, r->ml, "%s%s: empty (an absent field is left out)", r->path, f);
	return rd_strval(r, f, v, out, size);
}

/* A non-negative integer, at most max. */
static int rd_uint(struct rd *r, const char *f, bool required, uint64_t max, uint64_t *out,
		   bool *present)
{
	json_object *v;
	int rc = rd_field(r, f, required, json_type_int, &v);
	uint64_t u;

	if (present)
		*present = v != NULL;
	if (rc || !v)
		return rc;
	/* json-c saturates numbers beyond the 64-bit ranges, which the
	 * limits below then refuse. */
	if (json_object_get_int64(v) < 0)
		return say(r->m, r->ml, "%s%s: negative", r->path, f);
	u = json_object_get_uint64(v);
	if (u > max)
		return say(r->m, r->ml, "%s%s: %" PRIu64 " is out of range (at most %" PRIu64 ")",
			   r->path, f, u, max);
	*out = u;
	return 0;
}

static int rd_u32(struct rd *r, const char *f, bool required, uint32_t *out)
{
	uint64_t v = 0;
	bool present;
	int rc = rd_uint(r, f, required, UINT32_MAX, &v, &present);

	if (!rc && present) /* absent: *out keeps its default */
		*out = (uint32_t)v;
	return rc;
}

static int rd_u16(struct rd *r, const char *f, bool required, uint16_t *out)
{
	uint64_t v = 0;
	bool present;
	int rc = rd_uint(r, f, required, UINT16_MAX, &v, &present);

	if (!rc && present) /* absent: *out keeps its default */
		*out = (uint16_t)v;
	return rc;
}

static int rd_u64(struct rd *r, const char *f, bool required, uint64_t *out)
{
	return rd_uint(r, f, required, HS_SCHEMA_INT_MAX, out, NULL);
}

/* Family checks are check_ip's; here only the text. */
static int rd_ip(struct rd *r, const char *f, bool required, struct hs_ip *out)
{
	char s[INET6_ADDRSTRLEN], b[SHOW_MAX];
	json_object *v;
	int rc = rd_field(r, f, required, json_type_string, &v), family;

	if (rc || !v)
		return rc;
	if (rd_strval(r, f, v, s, sizeof(s)) || hs_parse_ip(s, out->b, &family))
		return say(r->m, r->ml, "%s%s: '%s' is not an IP address", r->path, f,
			   show(json_object_get_string(v), b, sizeof(b)));
	if (family == AF_INET6 && hs_ip_is_v4(out->b))
		return say(r->m, r->ml, "%s%s: '%s' is IPv4-mapped; write the IPv4 address",
			   r->path, f, s);
	/* all zeros is "absent" in the struct: "::" must not slip through as that */
	if (ip_zero(out))
		return say(r->m, r->ml, "%s%s: %s is unspecified, not a unicast address", r->path,
			   f, s);
	return 0;
}

static int rd_mac(struct rd *r, const char *f, uint8_t mac[6])
{
	char s[18], b[SHOW_MAX];
	json_object *v;
	int rc = rd_field(r, f, true, json_type_string, &v);

	if (rc)
		return rc;
	if (rd_strval(r, f, v, s, sizeof(s)) || hs_parse_mac(s, mac))
		return say(r->m, r->ml, "%s%s: '%s' is not a MAC address (aa:bb:cc:dd:ee:ff)",
			   r->path, f, show(json_object_get_string(v), b, sizeof(b)));
	return 0;
}

/* Lease ids as etcdctl prints them: 16 lowercase hex digits. */
static int rd_lease(struct rd *r, const char *f, int64_t *out)
{
	char s[17], b[SHOW_MAX];
	unsigned long long x = 0;
	json_object *v;
	size_t i;
	int rc = rd_field(r, f, true, json_type_string, &v);

	if (rc)
		return rc;
	if (rd_strval(r, f, v, s, sizeof(s)) || strlen(s) != 16)
		goto bad;
	for (i = 0; i < 16; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			goto bad;
		x = x << 4 | (unsigned long long)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	if (x > INT64_MAX)
		goto bad;
	*out = (int64_t)x;
	return 0;
bad:
	return say(r->m, r->ml, "%s%s: '%s' is not a lease id (16 lowercase hex digits)", r->path,
		   f, show(json_object_get_string(v), b, sizeof(b)));
}

static int rd_proto(struct rd *r, const char *f, uint8_t *proto)
{
	char b[SHOW_MAX];
	json_object *v;
	const char *s;
	int rc = rd_field(r, f, false, json_type_string, &v);

	*proto = 0;
	if (rc || !v)
		return rc;
	s = json_object_get_string(v);
	if (proto_parse(s, (size_t)json_object_get_string_len(v), proto))
		return say(r->m, r->ml, "%s%s: '%s' is not tcp or udp", r->path, f,
			   show(s, b, sizeof(b)));
	return 0;
}

static int rd_state(struct rd *r, const char *f, enum hs_schema_mig_state *out)
{
	char b[SHOW_MAX];
	json_object *v;
	const char *s;
	int rc = rd_field(r, f, true, json_type_string, &v);

	if (rc)
		return rc;
	s = json_object_get_string(v);
	for (unsigned int i = 0; i < HS_SCHEMA_MIG_STATE_COUNT; i++) {
		if (!strcmp(s, state_names[i]) &&
		    strlen(s) == (size_t)json_object_get_string_len(v)) {
			*out = (enum hs_schema_mig_state)i;
			return 0;
		}
	}
	return say(r->m, r->ml,
		   "%s%s: '%s' is not pending, running, switchover, done, failed or cancelled",
		   r->path, f, show(s, b, sizeof(b)));
}

static int rd_roles(struct rd *r, const char *f, uint32_t *roles)
{
	static const char *const names[] = {"frontend", "host"};
	json_object *a;
	char b[SHOW_MAX];
	size_t n;
	int rc = rd_field(r, f, true, json_type_array, &a);

	if (rc)
		return rc;
	*roles = 0;
	n = json_object_array_length(a);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		uint32_t bit = 0;

		if (!e || !json_object_is_type(e, json_type_string))
			return say(r->m, r->ml, "%s%s[%zu]: not a string", r->path, f, i);
		for (unsigned int k = 0; k < 2; k++)
			if (!strcmp(json_object_get_string(e), names[k]) &&
			    strlen(names[k]) == (size_t)json_object_get_string_len(e))
				bit = 1u << k;
		if (!bit)
			return say(r->m, r->ml, "%s%s[%zu]: '%s' is not frontend or host", r->path,
				   f, i, show(json_object_get_string(e), b, sizeof(b)));
		if (*roles & bit)
			return say(r->m, r->ml, "%s%s[%zu]: '%s' is listed twice", r->path, f, i,
				   json_object_get_string(e));
		*roles |= bit;
	}
	return 0;
}

static int rd_replicas(struct rd *r, const char *f, struct hs_schema_image *img)
{
	json_object *a;
	char ef[32];
	size_t n;
	int rc = rd_field(r, f, true, json_type_array, &a);

	if (rc)
		return rc;
	n = json_object_array_length(a);
	if (n > HS_SCHEMA_MAX_REPLICAS)
		return say(r->m, r->ml, "%s%s: %zu sites, at most %d", r->path, f, n,
			   HS_SCHEMA_MAX_REPLICAS);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);

		snprintf(ef, sizeof(ef), "%s[%zu]", f, i);
		if (!e || !json_object_is_type(e, json_type_string))
			return say(r->m, r->ml, "%s%s: not a string", r->path, ef);
		if ((rc = rd_strval(r, ef, e, img->replicas[i], HS_SCHEMA_NAME_MAX)))
			return rc;
	}
	img->n_replicas = (unsigned int)n;
	return 0;
}

/* Every field of the object must be one of known (NULL-terminated). */
static int rd_known(struct rd *r, const char *const *known)
{
	struct json_object_iterator it = json_object_iter_begin(r->obj);
	struct json_object_iterator end = json_object_iter_end(r->obj);
	char b[SHOW_MAX];

	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *k = json_object_iter_peek_name(&it);
		bool ok = false;

		for (const char *const *f = known; *f && !ok; f++)
			ok = !strcmp(*f, k);
		if (!ok)
			return say(r->m, r->ml, "%s%s: unknown field", r->path,
				   show(k, b, sizeof(b)));
	}
	return 0;
}

static const char *const site_fields[] = {"v", "name", "description", NULL};

static int read_site(struct rd *r, void *out)
{
	struct hs_schema_site *s = out;
	int rc;

	if ((rc = rd_str(r, "name", true, s->name, sizeof(s->name))) ||
	    (rc = rd_str(r, "description", false, s->description, sizeof(s->description))))
		return rc;
	return 0;
}

static const char *const host_fields[] = {
	"v", "name", "site", "underlay4", "underlay6", "vni", "port", "mtu", "roles", NULL,
};

static int read_host(struct rd *r, void *out)
{
	struct hs_schema_host *h = out;
	int rc;

	h->port = HS_VXLAN_PORT;
	if ((rc = rd_str(r, "name", true, h->name, sizeof(h->name))) ||
	    (rc = rd_str(r, "site", true, h->site, sizeof(h->site))) ||
	    (rc = rd_ip(r, "underlay4", false, &h->underlay4)) ||
	    (rc = rd_ip(r, "underlay6", false, &h->underlay6)) ||
	    (rc = rd_u32(r, "vni", true, &h->vni)) || (rc = rd_u16(r, "port", false, &h->port)) ||
	    (rc = rd_u16(r, "mtu", true, &h->mtu)) || (rc = rd_roles(r, "roles", &h->roles)))
		return rc;
	return 0;
}

static const char *const vm_fields[] = {
	"v",	"name",	 "id",		 "address",	  "address6", "mac",
	"host", "epoch", "forward_from", "forward_until", "entry",    NULL,
};

static int read_vm(struct rd *r, void *out)
{
	struct hs_schema_vm *vm = out;
	bool has_until;
	int rc;

	if ((rc = rd_str(r, "name", true, vm->name, sizeof(vm->name))) ||
	    (rc = rd_u32(r, "id", true, &vm->id)) ||
	    (rc = rd_ip(r, "address", false, &vm->address)) ||
	    (rc = rd_ip(r, "address6", false, &vm->address6)) || (rc = rd_mac(r, "mac", vm->mac)) ||
	    (rc = rd_str(r, "host", true, vm->host, sizeof(vm->host))) ||
	    (rc = rd_u32(r, "epoch", true, &vm->epoch)) ||
	    (rc = rd_str(r, "forward_from", false, vm->forward_from, sizeof(vm->forward_from))) ||
	    (rc = rd_uint(r, "forward_until", false, HS_SCHEMA_INT_MAX, &vm->forward_until,
			  &has_until)) ||
	    (rc = rd_str(r, "entry", false, vm->entry, sizeof(vm->entry))))
		return rc;
	/* 0 stands for "absent" in the struct: say so for an explicit 0 */
	if (has_until && !vm->forward_until)
		return say(r->m, r->ml, "forward_until: 0 is not a time");
	return 0;
}

static const char *const binding_fields[] = {
	"v", "public", "proto", "port", "vm", "vm_port", "frontend", NULL,
};

static int read_binding(struct rd *r, void *out)
{
	struct hs_schema_binding *b = out;
	bool has_port, has_vm_port;
	uint64_t port = 0, vm_port = 0;
	int rc;

	if ((rc = rd_ip(r, "public", true, &b->pub)) || (rc = rd_proto(r, "proto", &b->proto)) ||
	    (rc = rd_uint(r, "port", false, UINT16_MAX, &port, &has_port)) ||
	    (rc = rd_str(r, "vm", true, b->vm, sizeof(b->vm))) ||
	    (rc = rd_uint(r, "vm_port", false, UINT16_MAX, &vm_port, &has_vm_port)) ||
	    (rc = rd_str(r, "frontend", true, b->frontend, sizeof(b->frontend))))
		return rc;
	if (has_port && !port)
		return say(r->m, r->ml, "port: 0; an address-only binding has no port field");
	if (has_vm_port && !vm_port)
		return say(r->m, r->ml, "vm_port: 0; leave it out to keep the port");
	b->port = (uint16_t)port;
	b->vm_port = (uint16_t)vm_port;
	return 0;
}

static const char *const image_fields[] = {
	"v", "name", "owner_site", "epoch", "replicas", "size", NULL,
};

static int read_image(struct rd *r, void *out)
{
	struct hs_schema_image *img = out;
	int rc;

	if ((rc = rd_str(r, "name", true, img->name, sizeof(img->name))) ||
	    (rc = rd_str(r, "owner_site", true, img->owner_site, sizeof(img->owner_site))) ||
	    (rc = rd_u32(r, "epoch", true, &img->epoch)) ||
	    (rc = rd_replicas(r, "replicas", img)) || (rc = rd_u64(r, "size", true, &img->size)))
		return rc;
	return 0;
}

static const char *const migration_fields[] = {
	"v", "vm", "from", "to", "state", "reason", "started", "updated", "progress", NULL,
};

static const char *const progress_fields[] = {
	"memory_total", "memory_remaining", "dirty_rate", "expected_downtime_ms", NULL,
};

static int read_migration(struct rd *r, void *out)
{
	struct hs_schema_migration *mg = out;
	struct hs_schema_mig_progress *p = &mg->progress;
	struct rd sub = *r;
	json_object *po;
	int rc;

	if ((rc = rd_str(r, "vm", true, mg->vm, sizeof(mg->vm))) ||
	    (rc = rd_str(r, "from", true, mg->from, sizeof(mg->from))) ||
	    (rc = rd_str(r, "to", true, mg->to, sizeof(mg->to))) ||
	    (rc = rd_state(r, "state", &mg->state)) ||
	    (rc = rd_str(r, "reason", false, mg->reason, sizeof(mg->reason))) ||
	    (rc = rd_u64(r, "started", true, &mg->started)) ||
	    (rc = rd_u64(r, "updated", true, &mg->updated)) ||
	    (rc = rd_field(r, "progress", false, json_type_object, &po)))
		return rc;
	if (!po)
		return 0;
	mg->has_progress = true;
	sub.obj = po;
	sub.path = "progress.";
	if ((rc = rd_known(&sub, progress_fields)) ||
	    (rc = rd_u64(&sub, "memory_total", true, &p->memory_total)) ||
	    (rc = rd_u64(&sub, "memory_remaining", true, &p->memory_remaining)) ||
	    (rc = rd_u64(&sub, "dirty_rate", true, &p->dirty_rate)) ||
	    (rc = rd_u64(&sub, "expected_downtime_ms", true, &p->expected_downtime_ms)))
		return rc;
	return 0;
}

static const char *const leader_fields[] = {"v", "holder", "lease", NULL};

static int read_leader(struct rd *r, void *out)
{
	struct hs_schema_leader *l = out;
	int rc;

	if ((rc = rd_str(r, "holder", true, l->holder, sizeof(l->holder))) ||
	    (rc = rd_lease(r, "lease", &l->lease)))
		return rc;
	return 0;
}

static const char *const agent_fields[] = {
	"v", "host", "pid", "started", "applied_revision", NULL,
};

static int read_agent(struct rd *r, void *out)
{
	struct hs_schema_agent *a = out;
	uint64_t rev = 0;
	int rc;

	if ((rc = rd_str(r, "host", true, a->host, sizeof(a->host))) ||
	    (rc = rd_u32(r, "pid", true, &a->pid)) ||
	    (rc = rd_u64(r, "started", true, &a->started)) ||
	    (rc = rd_u64(r, "applied_revision", true, &rev)))
		return rc;
	a->applied_revision = (int64_t)rev;
	return 0;
}

/* ---- writing JSON ---- */

struct wr {
	json_object *obj;
	bool oom;
};

static void w_add(struct wr *w, const char *k, json_object *v)
{
	if (!v || json_object_object_add(w->obj, k, v)) {
		json_object_put(v);
		w->oom = true;
	}
}

static void w_str(struct wr *w, const char *k, const char *s)
{
	w_add(w, k, json_object_new_string(s));
}

static void w_opt_str(struct wr *w, const char *k, const char *s)
{
	if (s[0])
		w_str(w, k, s);
}

static void w_int(struct wr *w, const char *k, uint64_t v)
{
	w_add(w, k, json_object_new_int64((int64_t)v)); /* checked <= 2^53 - 1 */
}

static void w_ip(struct wr *w, const char *k, const struct hs_ip *ip)
{
	char a[INET6_ADDRSTRLEN];

	if (!ip_zero(ip))
		w_str(w, k, hs_format_ip(ip->b, a, sizeof(a)));
}

static void w_strs(struct wr *w, const char *k, const char *const *s, size_t n)
{
	json_object *a = json_object_new_array_ext((int)n);

	for (size_t i = 0; a && i < n; i++) {
		json_object *e = json_object_new_string(s[i]);

		if (!e || json_object_array_add(a, e)) {
			json_object_put(e);
			w->oom = true;
		}
	}
	w_add(w, k, a);
}

static void build_site(struct wr *w, const void *rec)
{
	const struct hs_schema_site *r = rec;

	w_str(w, "name", r->name);
	w_opt_str(w, "description", r->description);
}

static void build_host(struct wr *w, const void *rec)
{
	const struct hs_schema_host *r = rec;
	const char *roles[2];
	size_t n = 0;

	if (r->roles & HS_SCHEMA_ROLE_FRONTEND)
		roles[n++] = "frontend";
	if (r->roles & HS_SCHEMA_ROLE_HOST)
		roles[n++] = "host";
	w_str(w, "name", r->name);
	w_str(w, "site", r->site);
	w_ip(w, "underlay4", &r->underlay4);
	w_ip(w, "underlay6", &r->underlay6);
	w_int(w, "vni", r->vni);
	w_int(w, "port", r->port);
	w_int(w, "mtu", r->mtu);
	w_strs(w, "roles", roles, n);
}

static void build_vm(struct wr *w, const void *rec)
{
	const struct hs_schema_vm *r = rec;
	char mac[18];

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", r->mac[0], r->mac[1], r->mac[2],
		 r->mac[3], r->mac[4], r->mac[5]);
	w_str(w, "name", r->name);
	w_int(w, "id", r->id);
	w_ip(w, "address", &r->address);
	w_ip(w, "address6", &r->address6);
	w_str(w, "mac", mac);
	w_str(w, "host", r->host);
	w_int(w, "epoch", r->epoch);
	if (r->forward_from[0]) {
		w_str(w, "forward_from", r->forward_from);
		w_int(w, "forward_until", r->forward_until);
	}
	w_opt_str(w, "entry", r->entry);
}

static void build_binding(struct wr *w, const void *rec)
{
	const struct hs_schema_binding *r = rec;

	w_ip(w, "public", &r->pub);
	if (r->proto) {
		w_str(w, "proto", proto_name(r->proto));
		w_int(w, "port", r->port);
	}
	w_str(w, "vm", r->vm);
	if (r->vm_port)
		w_int(w, "vm_port", r->vm_port);
	w_str(w, "frontend", r->frontend);
}

static void build_image(struct wr *w, const void *rec)
{
	const struct hs_schema_image *r = rec;
	const char *reps[HS_SCHEMA_MAX_REPLICAS];

	for (unsigned int i = 0; i < r->n_replicas; i++)
		reps[i] = r->replicas[i];
	w_str(w, "name", r->name);
	w_str(w, "owner_site", r->owner_site);
	w_int(w, "epoch", r->epoch);
	w_strs(w, "replicas", reps, r->n_replicas);
	w_int(w, "size", r->size);
}

static void build_migration(struct wr *w, const void *rec)
{
	const struct hs_schema_migration *r = rec;
	struct wr p = {.obj = NULL};

	w_str(w, "vm", r->vm);
	w_str(w, "from", r->from);
	w_str(w, "to", r->to);
	w_str(w, "state", state_names[r->state]);
	w_opt_str(w, "reason", r->reason);
	w_int(w, "started", r->started);
	w_int(w, "updated", r->updated);
	if (!r->has_progress)
		return;
	p.obj = json_object_new_object();
	if (!p.obj) {
		w->oom = true;
		return;
	}
	w_int(&p, "memory_total", r->progress.memory_total);
	w_int(&p, "memory_remaining", r->progress.memory_remaining);
	w_int(&p, "dirty_rate", r->progress.dirty_rate);
	w_int(&p, "expected_downtime_ms", r->progress.expected_downtime_ms);
	w->oom |= p.oom;
	w_add(w, "progress", p.obj);
}

static void build_leader(struct wr *w, const void *rec)
{
	const struct hs_schema_leader *r = rec;
	char lease[17];

	snprintf(lease, sizeof(lease), "%016" PRIx64, (uint64_t)r->lease);
	w_str(w, "holder", r->holder);
	w_str(w, "lease", lease);
}

static void build_agent(struct wr *w, const void *rec)
{
	const struct hs_schema_agent *r = rec;

	w_str(w, "host", r->host);
	w_int(w, "pid", r->pid);
	w_int(w, "started", r->started);
	w_int(w, "applied_revision", (uint64_t)r->applied_revision);
}

/* ---- one driver for every type ---- */

struct kind_ops {
	size_t size;
	const char *const *fields;
	int (*read)(struct rd *r, void *out);
	int (*check)(const void *rec, char *m, size_t ml);
	void (*build)(struct wr *w, const void *rec);
	/* the record's last key component: its name, or NULL (binding, leader) */
	const char *(*name)(const void *rec);
};

static const char *site_name(const void *rec)
{
	return ((const struct hs_schema_site *)rec)->name;
}

static const char *host_name(const void *rec)
{
	return ((const struct hs_schema_host *)rec)->name;
}

static const char *vm_name(const void *rec)
{
	return ((const struct hs_schema_vm *)rec)->name;
}

static const char *image_name(const void *rec)
{
	return ((const struct hs_schema_image *)rec)->name;
}

static const char *migration_name(const void *rec)
{
	return ((const struct hs_schema_migration *)rec)->vm;
}

static const char *agent_name(const void *rec)
{
	return ((const struct hs_schema_agent *)rec)->host;
}

#define OPS(type, namefn)                                                                  \
	{                                                                                  \
		sizeof(struct hs_schema_##type), type##_fields, read_##type, check_##type, \
			build_##type, namefn                                               \
	}

static const struct kind_ops kind_ops[HS_SCHEMA_KIND_COUNT] = {
	[HS_SCHEMA_SITE] = OPS(site, site_name),
	[HS_SCHEMA_HOST] = OPS(host, host_name),
	[HS_SCHEMA_VM] = OPS(vm, vm_name),
	[HS_SCHEMA_BINDING] = OPS(binding, NULL),
	[HS_SCHEMA_IMAGE] = OPS(image, image_name),
	[HS_SCHEMA_MIGRATION] = OPS(migration, migration_name),
	[HS_SCHEMA_LEADER] = OPS(leader, NULL),
	[HS_SCHEMA_AGENT] = OPS(agent, agent_name),
};

/* The key's last two components against the record: "<dir>/<name>". */
static int key_matches(enum hs_schema_kind kind, const char *key, const void *rec, char *m,
		       size_t ml)
{
	const char *dir = kind_dirs[kind], *comp = strrchr(key, '/'), *d;
	size_t dlen = strlen(dir);
	char b[SHOW_MAX], want[INET6_ADDRSTRLEN + 16];

	if (!comp || comp - key < (ptrdiff_t)dlen)
		goto wrong_dir;
	d = comp - dlen;
	if (memcmp(d, dir, dlen) || (d > key && d[-1] != '/'))
		goto wrong_dir;
	comp++;
	if (kind == HS_SCHEMA_LEADER) {
		if (strcmp(comp, "leader"))
			goto wrong_dir;
		return 0;
	}
	if (kind == HS_SCHEMA_BINDING) {
		const struct hs_schema_binding *r = rec;

		if (binding_comp(&r->pub, r->proto, r->port, want, sizeof(want)))
			return say(m, ml, "key: the record has no binding key");
		if (strcmp(comp, want))
			return say(m, ml, "key: names binding '%s' but the record is for '%s'",
				   show(comp, b, sizeof(b)), want);
		return 0;
	}
	if (strcmp(comp, kind_ops[kind].name(rec)))
		return say(m, ml, "key: names '%s' but the record's %s is '%s'",
			   show(comp, b, sizeof(b)),
			   kind == HS_SCHEMA_MIGRATION ? "vm"
			   : kind == HS_SCHEMA_AGENT   ? "host"
						       : "name",
			   kind_ops[kind].name(rec));
	return 0;
wrong_dir:
	return say(m, ml, "key: not a%s %s key (.../%s/%s)",
		   strchr("aeiou", kind_names[kind][0]) ? "n" : "", kind_names[kind], dir,
		   kind == HS_SCHEMA_LEADER    ? "leader"
		   : kind == HS_SCHEMA_BINDING ? "<public>[,<proto>,<port>]"
					       : "<name>");
}

/* Reads root's "v": 0, -EINVAL or -EPROTONOSUPPORT. */
static int read_version(struct rd *r, enum hs_schema_kind kind)
{
	uint64_t v = 0;
	int rc = rd_uint(r, "v", true, UINT64_MAX, &v, NULL);

	if (rc)
		return rc;
	if (!v)
		return say(r->m, r->ml, "v: 0; versions start at 1");
	if (v > HS_SCHEMA_VERSION) {
		(void)say(r->m, r->ml,
			  "record version %" PRIu64
			  "; this build reads %s records up to version %d",
			  v, kind_names[kind], HS_SCHEMA_VERSION);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

static int parse_json(const char *json, size_t len, json_object **root, char *m, size_t ml)
{
	struct json_tokener *tok;
	int rc = 0;

	*root = NULL;
	if (!json)
		return say(m, ml, "no record");
	if (len > HS_SCHEMA_RECORD_MAX)
		return say(m, ml, "record of %zu bytes; at most %d are read", len,
			   HS_SCHEMA_RECORD_MAX);
	/* `etcdctl put key < file` keeps the file's last newline */
	while (len && (json[len - 1] == '\n' || json[len - 1] == '\r' || json[len - 1] == ' ' ||
		       json[len - 1] == '\t'))
		len--;
	if (!len)
		return say(m, ml, "empty record");
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	*root = json_tokener_parse_ex(tok, json, (int)len);
	if (!*root && json_tokener_get_error(tok) == json_tokener_success) {
		rc = say(m, ml, "not a JSON object"); /* null */
	} else if (!*root) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		rc = say(m, ml, "not JSON: %s at byte %zu",
			 e == json_tokener_continue ? "truncated" : json_tokener_error_desc(e),
			 json_tokener_get_parse_end(tok));
	} else if (json_tokener_get_parse_end(tok) != len) {
		rc = say(m, ml, "not JSON: trailing bytes at byte %zu",
			 json_tokener_get_parse_end(tok));
	} else if (!json_object_is_type(*root, json_type_object)) {
		rc = say(m, ml, "not a JSON object");
	}
	json_tokener_free(tok);
	if (rc) {
		json_object_put(*root);
		*root = NULL;
	}
	return rc;
}

static int parse_record(enum hs_schema_kind kind, const char *key, const char *json, size_t len,
			void *out, char *why, size_t whylen)
{
	const struct kind_ops *ops = &kind_ops[kind];
	char m[MSG_MAX] = "", where[HS_SCHEMA_KEY_MAX];
	union hs_schema_record rec;
	json_object *root;
	struct rd r = {.path = "", .m = m, .ml = sizeof(m)};
	int rc;

	memset(&rec, 0, sizeof(rec));
	rc = parse_json(json, len, &root, m, sizeof(m));
	if (!rc) {
		r.obj = root;
		if (!(rc = read_version(&r, kind)) && !(rc = rd_known(&r, ops->fields)) &&
		    !(rc = ops->read(&r, &rec)) && !(rc = ops->check(&rec, m, sizeof(m))) && key)
			rc = key_matches(kind, key, &rec, m, sizeof(m));
		json_object_put(root);
	}
	if (!rc) {
		memcpy(out, &rec, ops->size);
		if (whylen)
			why[0] = '\0';
		return 0;
	}
	if (rc == -ENOMEM)
		snprintf(m, sizeof(m), "out of memory");
	if (key)
		show(key, where, sizeof(where));
	else
		snprintf(where, sizeof(where), "%s record", kind_names[kind]);
	if (whylen)
		snprintf(why, whylen, "%s: %s", where, m);
	hs_warn("%s: %s", where, m);
	return rc;
}

static int encode_record(enum hs_schema_kind kind, const void *rec, char **json)
{
	const struct kind_ops *ops = &kind_ops[kind];
	struct wr w = {.obj = NULL};
	char m[MSG_MAX];
	const char *s;
	char *dup;
	int rc;

	if (!rec || !json)
		return -EINVAL;
	rc = ops->check(rec, m, sizeof(m));
	if (rc) {
		hs_err("cannot encode %s record: %s", kind_names[kind], m);
		return rc;
	}
	w.obj = json_object_new_object();
	if (!w.obj)
		return -ENOMEM;
	w_int(&w, "v", HS_SCHEMA_VERSION);
	ops->build(&w, rec);
	s = w.oom ? NULL
		  : json_object_to_json_string_ext(w.obj, JSON_C_TO_STRING_PLAIN |
								  JSON_C_TO_STRING_NOSLASHESCAPE);
	dup = s ? strdup(s) : NULL;
	json_object_put(w.obj);
	if (!dup)
		return -ENOMEM;
	*json = dup;
	return 0;
}

static int check_record(enum hs_schema_kind kind, const void *rec, char *why, size_t whylen)
{
	char m[MSG_MAX];
	int rc;

	if (!rec)
		return -EINVAL;
	rc = kind_ops[kind].check(rec, m, sizeof(m));
	if (rc && whylen)
		snprintf(why, whylen, "%s", m);
	else if (whylen)
		why[0] = '\0';
	return rc;
}

/* ---- the typed entry points ---- */

int hs_schema_parse_site(const char *key, const char *json, size_t len, struct hs_schema_site *out,
			 char *why, size_t whylen)
{
	return parse_record(HS_SCHEMA_SITE, key, json, len, out, why, whylen);
}

int hs_schema_check_site(const struct hs_schema_site *r, char *why, size_t whylen)
{
	return check_record(HS_SCHEMA_SITE, r, why, whylen);
}

int hs_schema_encode_site(const struct hs_schema_site *r, char **json)
{
	return encode_record(HS_SCHEMA_SITE, r, json);
}

int hs_schema_parse_host(const char *key, const char *json, size_t len, struct hs_schema_host *out,
			 char *why, size_t whylen)
{
	return parse_record(HS_SCHEMA_HOST, key, json, len, out, why, whylen);
}

int hs_schema_check_host(const struct hs_schema_host *r, char *why, size_t whylen)
{
	return check_record(HS_SCHEMA_HOST, r, why, whylen);
}

int hs_schema_encode_host(const struct hs_schema_host *r, char **json)
{
	return encode_record(HS_SCHEMA_HOST, r, json);
}

int hs_schema_parse_vm(const char *key, const char *json, size_t len, struct hs_schema_vm *out,
		       char *why, size_t whylen)
{
	return parse_record(HS_SCHEMA_VM, key, json, len, out, why, whylen);
}

int hs_schema_check_vm(const struct hs_schema_vm *r, char *why, size_t whylen)
{
	return check_record(HS_SCHEMA_VM, r, why, whylen);
}

int hs_schema_encode_vm(const struct hs_schema_vm *r, char **json)
{
	return encode_record(HS_SCHEMA_VM, r, json);
}

int hs_schema_parse_binding(const char *key, const char *json, size_t len,
			    struct hs_schema_binding *out, char *why, size_t whylen)
{
	return parse_record(HS_SCHEMA_BINDING, key, json, len, out, why, whylen);
}

int hs_schema_check_binding(const struct hs_schema_binding *r, char *why, size_t whylen)
{
	return check_record(HS_SCHEMA_BINDING, r, why, whylen);
}

int hs_schema_encode_binding(const struct hs_schema_binding *r, char **json)
{
	return encode_record(HS_SCHEMA_BINDING, r, json);
}

int hs_schema_parse_image(const char *key, const char *json, size_t len,
			  struct hs_schema_image *out, char *why, size_t whylen)
{
	return parse_record(HS_SCHEMA_IMAGE, key, json, len, out, why, whylen);
}

int hs_schema_check_image(const struct hs_schema_image *r, char *why, size_t whylen)
{
	return check_record(HS_SCHEMA_IMAGE, r, why, whylen);
}

int hs_schema_encode_image(const struct hs_schema_image *r, char **json)
{
	return encode_record(HS_SCHEMA_IMAGE, r, json);
}

int hs_schema_parse_migration(const char *key, const char *json, size_t len,
			      struct hs_schema_migration *out, char *why, size_t whylen)
{
	return parse_record(HS_SCHEMA_MIGRATION, key, json, len, out, why, whylen);
}

int hs_schema_check_migration(const struct hs_schema_migration *r, char *why, size_t whylen)
{
	return check_record(HS_SCHEMA_MIGRATION, r, why, whylen);
}

int hs_schema_encode_migration(const struct hs_schema_migration *r, char **json)
{
	return encode_record(HS_SCHEMA_MIGRATION, r, json);
}

int hs_schema_parse_leader(const char *key, const char *json, size_t len,
			   struct hs_schema_leader *out, char *why, size_t whylen)
{
	return parse_record(HS_SCHEMA_LEADER, key, json, len, out, why, whylen);
}

int hs_schema_check_leader(const struct hs_schema_leader *r, char *why, size_t whylen)
{
	return check_record(HS_SCHEMA_LEADER, r, why, whylen);
}

int hs_schema_encode_leader(const struct hs_schema_leader *r, char **json)
{
	return encode_record(HS_SCHEMA_LEADER, r, json);
}

int hs_schema_parse_agent(const char *key, const char *json, size_t len,
			  struct hs_schema_agent *out, char *why, size_t whylen)
{
	return parse_record(HS_SCHEMA_AGENT, key, json, len, out, why, whylen);
}

int hs_schema_check_agent(const struct hs_schema_agent *r, char *why, size_t whylen)
{
	return check_record(HS_SCHEMA_AGENT, r, why, whylen);
}

int hs_schema_encode_agent(const struct hs_schema_agent *r, char **json)
{
	return encode_record(HS_SCHEMA_AGENT, r, json);
}

const struct hs_ip *hs_schema_host_reach(const struct hs_schema_host *me,
					 const struct hs_schema_host *h)
{
	if (!h)
		return NULL;
	if (!ip_zero(&me->underlay4) && !ip_zero(&h->underlay4))
		return &h->underlay4;
	if (!ip_zero(&me->underlay6) && !ip_zero(&h->underlay6))
		return &h->underlay6;
	return NULL;
}
