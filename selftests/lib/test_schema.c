// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for lib/schema: every record type round-trips through its
 * canonical JSON; every field's validation, versions, unknown fields,
 * key/record agreement, malformed and oversized input are refused with a
 * reason that names the key; keys are built and classified both ways.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "lib/log.h"
#include "lib/parse.h"
#include "lib/schema.h"
#include "selftests/test.h"

/* ---- captured log ---- */

static char logbuf[8192];
static size_t loglen;
static unsigned int nwarn, nerr;

static void capture(enum hs_log_level level, const char *line)
{
	int n;

	if (getenv("HS_TEST_VERBOSE"))
		printf("    log %s: %s\n", hs_log_level_name(level), line);
	nwarn += level == HS_LOG_WARN;
	nerr += level == HS_LOG_ERR;
	n = snprintf(logbuf + loglen, sizeof(logbuf) - loglen, "%s: %s\n", hs_log_level_name(level),
		     line);
	if (n > 0 && (size_t)n < sizeof(logbuf) - loglen)
		loglen += (size_t)n;
}

static void log_reset(void)
{
	hs_log_set_hook(capture);
	loglen = 0;
	logbuf[0] = '\0';
	nwarn = nerr = 0;
}

static bool log_has(const char *s)
{
	return strstr(logbuf, s) != NULL;
}

/* ---- one parser for any kind ---- */

static int parse_any(enum hs_schema_kind kind, const char *key, const char *json, size_t len,
		     union hs_schema_record *out, char *why, size_t whylen)
{
	switch (kind) {
	case HS_SCHEMA_SITE:
		return hs_schema_parse_site(key, json, len, &out->site, why, whylen);
	case HS_SCHEMA_HOST:
		return hs_schema_parse_host(key, json, len, &out->host, why, whylen);
	case HS_SCHEMA_VM:
		return hs_schema_parse_vm(key, json, len, &out->vm, why, whylen);
	case HS_SCHEMA_BINDING:
		return hs_schema_parse_binding(key, json, len, &out->binding, why, whylen);
	case HS_SCHEMA_IMAGE:
		return hs_schema_parse_image(key, json, len, &out->image, why, whylen);
	case HS_SCHEMA_MIGRATION:
		return hs_schema_parse_migration(key, json, len, &out->migration, why, whylen);
	case HS_SCHEMA_LEADER:
		return hs_schema_parse_leader(key, json, len, &out->leader, why, whylen);
	case HS_SCHEMA_AGENT:
		return hs_schema_parse_agent(key, json, len, &out->agent, why, whylen);
	default:
		return -ENOSYS;
	}
}

static int encode_any(enum hs_schema_kind kind, const union hs_schema_record *r, char **json)
{
	switch (kind) {
	case HS_SCHEMA_SITE:
		return hs_schema_encode_site(&r->site, json);
	case HS_SCHEMA_HOST:
		return hs_schema_encode_host(&r->host, json);
	case HS_SCHEMA_VM:
		return hs_schema_encode_vm(&r->vm, json);
	case HS_SCHEMA_BINDING:
		return hs_schema_encode_binding(&r->binding, json);
	case HS_SCHEMA_IMAGE:
		return hs_schema_encode_image(&r->image, json);
	case HS_SCHEMA_MIGRATION:
		return hs_schema_encode_migration(&r->migration, json);
	case HS_SCHEMA_LEADER:
		return hs_schema_encode_leader(&r->leader, json);
	case HS_SCHEMA_AGENT:
		return hs_schema_encode_agent(&r->agent, json);
	default:
		return -ENOSYS;
	}
}

static size_t rec_size(enum hs_schema_kind kind)
{
	static const size_t sizes[] = {
		[HS_SCHEMA_SITE] = sizeof(struct hs_schema_site),
		[HS_SCHEMA_HOST] = sizeof(struct hs_schema_host),
		[HS_SCHEMA_VM] = sizeof(struct hs_schema_vm),
		[HS_SCHEMA_BINDING] = sizeof(struct hs_schema_binding),
		[HS_SCHEMA_IMAGE] = sizeof(struct hs_schema_image),
		[HS_SCHEMA_MIGRATION] = sizeof(struct hs_schema_migration),
		[HS_SCHEMA_LEADER] = sizeof(struct hs_schema_leader),
		[HS_SCHEMA_AGENT] = sizeof(struct hs_schema_agent),
	};

	return sizes[kind];
}

/* ---- the valid example of every type (the ones docs/schema.md shows) ---- */

struct example {
	enum hs_schema_kind kind;
	const char *key;
	const char *json; /* canonical */
};

static const struct example examples[] = {
	{HS_SCHEMA_SITE, "/heliostat/sites/eu-west",
	 "{\"v\":1,\"name\":\"eu-west\",\"description\":\"Frankfurt, two racks\"}"},
	{HS_SCHEMA_HOST, "/heliostat/hosts/fra-1",
	 "{\"v\":1,\"name\":\"fra-1\",\"site\":\"eu-west\",\"underlay4\":\"192.0.2.10\","
	 "\"underlay6\":\"2001:db8:10::1\",\"vni\":42,\"port\":4789,\"mtu\":1500,"
	 "\"roles\":[\"frontend\",\"host\"]}"},
	{HS_SCHEMA_VM, "/heliostat/vms/web",
	 "{\"v\":1,\"name\":\"web\",\"id\":7,\"address\":\"10.1.0.5\",\"address6\":\"fd00:1::5\","
	 "\"mac\":\"52:54:00:12:34:56\",\"host\":\"fra-1\",\"epoch\":3,\"forward_from\":\"nyc-1\","
	 "\"forward_until\":1764000030,\"entry\":\"nyc-1\"}"},
	{HS_SCHEMA_BINDING, "/heliostat/bindings/203.0.113.1,tcp,80",
	 "{\"v\":1,\"public\":\"203.0.113.1\",\"proto\":\"tcp\",\"port\":80,\"vm\":\"web\","
	 "\"vm_port\":8080,\"frontend\":\"nyc-1\"}"},
	{HS_SCHEMA_IMAGE, "/heliostat/images/web",
	 "{\"v\":1,\"name\":\"web\",\"owner_site\":\"eu-west\",\"epoch\":2,"
	 "\"replicas\":[\"us-east\",\"ap-south\"],\"size\":10737418240}"},
	{HS_SCHEMA_MIGRATION, "/heliostat/migrations/web",
	 "{\"v\":1,\"vm\":\"web\",\"from\":\"nyc-1\",\"to\":\"fra-1\",\"state\":\"running\","
	 "\"reason\":\"sched: clients moved to eu-west\",\"started\":1764000000,"
	 "\"updated\":1764000012,\"progress\":{\"memory_total\":2147483648,"
	 "\"memory_remaining\":104857600,\"dirty_rate\":52428800,\"expected_downtime_ms\":120}}"},
	{HS_SCHEMA_LEADER, "/heliostat/sched/leader",
	 "{\"v\":1,\"holder\":\"fra-1\",\"lease\":\"694d7c4b5fb3a20b\"}"},
	{HS_SCHEMA_AGENT, "/heliostat/agents/fra-1",
	 "{\"v\":1,\"host\":\"fra-1\",\"pid\":4242,\"started\":1764000000,"
	 "\"applied_revision\":1234}"},
};

static const struct example *example(enum hs_schema_kind kind)
{
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++)
		if (examples[i].kind == kind)
			return &examples[i];
	return NULL;
}

/* base with the one occurrence of from replaced by to; NULL if from is not
 * there exactly once. */
static char *replace(const char *base, const char *from, const char *to)
{
	const char *at = strstr(base, from);
	size_t bl = strlen(base), fl = strlen(from), tl = strlen(to);
	char *s;

	if (!at || strstr(at + 1, from))
		return NULL;
	s = malloc(bl - fl + tl + 1);
	if (!s)
		return NULL;
	memcpy(s, base, (size_t)(at - base));
	memcpy(s + (at - base), to, tl);
	memcpy(s + (at - base) + tl, at + fl, bl - (size_t)(at - base) - fl + 1);
	return s;
}

/* Parses json expecting rc and a reason containing want (and the key). */
static bool expect(enum hs_schema_kind kind, const char *key, const char *json, size_t len,
		   int rc_want, const char *want, const char *label)
{
	union hs_schema_record out;
	char why[512] = "";
	int rc;

	log_reset();
	rc = parse_any(kind, key, json, len, &out, why, sizeof(why));
	if (rc != rc_want || !strstr(why, want) || (rc && key && strncmp(why, key, strlen(key))) ||
	    (rc && !log_has(why))) {
		HS_FAILF("%s: expected %d \"%s\", got %d \"%s\"", label, rc_want, want, rc, why);
		return false;
	}
	return true;
}

/* The same for a NUL-terminated record. */
static bool expect_str(enum hs_schema_kind kind, const char *key, const char *json, int rc_want,
		       const char *want, const char *label)
{
	return expect(kind, key, json, strlen(json), rc_want, want, label);
}

struct mutation {
	const char *from, *to;
	const char *why; /* substring of the reason */
};

/* Applies each mutation to the kind's example: each must be refused. */
static enum hs_result refuse_all(enum hs_schema_kind kind, const struct mutation *m, size_t n)
{
	const struct example *ex = example(kind);

	for (size_t i = 0; i < n; i++) {
		char label[256];
		char *json = replace(ex->json, m[i].from, m[i].to);

		snprintf(label, sizeof(label), "%s [%s -> %s]", hs_schema_kind_name(kind),
			 m[i].from, m[i].to);
		if (!json) {
			HS_FAILF("%s: '%s' is not in the example once", label, m[i].from);
			continue;
		}
		expect(kind, ex->key, json, strlen(json), -EINVAL, m[i].why, label);
		free(json);
	}
	hs_log_set_hook(NULL);
	return HS_PASS;
}

#define REFUSE_ALL(kind, table) refuse_all(kind, table, sizeof(table) / sizeof(table[0]))

/* encode(r) == the example's JSON; parse(example) == r; encode again. */
static enum hs_result round_trip(enum hs_schema_kind kind, const char *key,
				 const union hs_schema_record *r, const char *want)
{
	union hs_schema_record back;
	char why[256], *json = NULL, *again = NULL;

	log_reset();
	ASSERT_EQ(encode_any(kind, r, &json), 0);
	CHECK_STR(json, want);
	memset(&back, 0x5a, sizeof(back));
	ASSERT_EQ(parse_any(kind, key, json, strlen(json), &back, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	CHECK_MEM(&back, r, rec_size(kind));
	ASSERT_EQ(encode_any(kind, &back, &again), 0);
	CHECK_STR(again, json);
	CHECK_EQ(nwarn + nerr, 0);
	free(json);
	free(again);
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static struct hs_ip ip(const char *s)
{
	struct hs_ip a;
	int family;

	memset(&a, 0, sizeof(a));
	if (hs_parse_ip(s, a.b, &family))
		abort();
	return a;
}

static void ex_site(union hs_schema_record *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->site.name, "eu-west");
	strcpy(r->site.description, "Frankfurt, two racks");
}

static void ex_host(union hs_schema_record *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->host.name, "fra-1");
	strcpy(r->host.site, "eu-west");
	r->host.underlay4 = ip("192.0.2.10");
	r->host.underlay6 = ip("2001:db8:10::1");
	r->host.vni = 42;
	r->host.port = 4789;
	r->host.mtu = 1500;
	r->host.roles = HS_SCHEMA_ROLE_FRONTEND | HS_SCHEMA_ROLE_HOST;
}

static void ex_vm(union hs_schema_record *r)
{
	static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

	memset(r, 0, sizeof(*r));
	strcpy(r->vm.name, "web");
	r->vm.id = 7;
	r->vm.address = ip("10.1.0.5");
	r->vm.address6 = ip("fd00:1::5");
	memcpy(r->vm.mac, mac, 6);
	strcpy(r->vm.host, "fra-1");
	r->vm.epoch = 3;
	strcpy(r->vm.forward_from, "nyc-1");
	r->vm.forward_until = 1764000030;
	strcpy(r->vm.entry, "nyc-1");
}

static void ex_binding(union hs_schema_record *r)
{
	memset(r, 0, sizeof(*r));
	r->binding.pub = ip("203.0.113.1");
	r->binding.proto = IPPROTO_TCP;
	r->binding.port = 80;
	r->binding.vm_port = 8080;
	strcpy(r->binding.vm, "web");
	strcpy(r->binding.frontend, "nyc-1");
}

static void ex_image(union hs_schema_record *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->image.name, "web");
	strcpy(r->image.owner_site, "eu-west");
	r->image.epoch = 2;
	r->image.n_replicas = 2;
	strcpy(r->image.replicas[0], "us-east");
	strcpy(r->image.replicas[1], "ap-south");
	r->image.size = 10737418240ULL;
}

static void ex_migration(union hs_schema_record *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->migration.vm, "web");
	strcpy(r->migration.from, "nyc-1");
	strcpy(r->migration.to, "fra-1");
	r->migration.state = HS_SCHEMA_MIG_RUNNING;
	strcpy(r->migration.reason, "sched: clients moved to eu-west");
	r->migration.started = 1764000000;
	r->migration.updated = 1764000012;
	r->migration.has_progress = true;
	r->migration.progress.memory_total = 2147483648ULL;
	r->migration.progress.memory_remaining = 104857600;
	r->migration.progress.dirty_rate = 52428800;
	r->migration.progress.expected_downtime_ms = 120;
}

static void ex_leader(union hs_schema_record *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->leader.holder, "fra-1");
	r->leader.lease = 0x694d7c4b5fb3a20bLL;
}

static void ex_agent(union hs_schema_record *r)
{
	memset(r, 0, sizeof(*r));
	strcpy(r->agent.host, "fra-1");
	r->agent.pid = 4242;
	r->agent.started = 1764000000;
	r->agent.applied_revision = 1234;
}

static void (*const ex_fill[HS_SCHEMA_KIND_COUNT])(union hs_schema_record *r) = {
	[HS_SCHEMA_SITE] = ex_site,	[HS_SCHEMA_HOST] = ex_host,
	[HS_SCHEMA_VM] = ex_vm,		[HS_SCHEMA_BINDING] = ex_binding,
	[HS_SCHEMA_IMAGE] = ex_image,	[HS_SCHEMA_MIGRATION] = ex_migration,
	[HS_SCHEMA_LEADER] = ex_leader, [HS_SCHEMA_AGENT] = ex_agent,
};

static enum hs_result round_trip_example(enum hs_schema_kind kind)
{
	const struct example *ex = example(kind);
	union hs_schema_record r;

	ex_fill[kind](&r);
	return round_trip(kind, ex->key, &r, ex->json);
}

/* ---- round trips ---- */

static enum hs_result roundtrip_site(void)
{
	union hs_schema_record r;

	if (round_trip_example(HS_SCHEMA_SITE) != HS_PASS)
		return HS_FAIL;
	ex_site(&r);
	memset(r.site.description, 0, sizeof(r.site.description)); /* optional: left out */
	return round_trip(HS_SCHEMA_SITE, "/heliostat/sites/eu-west", &r,
			  "{\"v\":1,\"name\":\"eu-west\"}");
}

static enum hs_result roundtrip_host(void)
{
	union hs_schema_record r;

	if (round_trip_example(HS_SCHEMA_HOST) != HS_PASS)
		return HS_FAIL;
	/* one underlay, one role, checks off */
	ex_host(&r);
	memset(&r.host.underlay4, 0, sizeof(r.host.underlay4));
	r.host.roles = HS_SCHEMA_ROLE_HOST;
	r.host.mtu = 0;
	r.host.port = 8472;
	r.host.vni = 0xffffff;
	return round_trip(HS_SCHEMA_HOST, "/x/hosts/fra-1", &r,
			  "{\"v\":1,\"name\":\"fra-1\",\"site\":\"eu-west\","
			  "\"underlay6\":\"2001:db8:10::1\",\"vni\":16777215,\"port\":8472,"
			  "\"mtu\":0,\"roles\":[\"host\"]}");
}

/* Readers accept any field order, whitespace, absent defaults and
 * non-canonical address and MAC text; the encoder writes the one form. */
static enum hs_result roundtrip_host_defaults(void)
{
	static const char in[] = " {\n  \"roles\": [\"host\", \"frontend\"],\n  \"mtu\": 9000,\n"
				 "  \"vni\": 1, \"site\": \"s\", \"name\": \"h\",\n"
				 "  \"underlay6\": \"2001:DB8:10:0:0::1\", \"v\": 1\n}\n";
	struct hs_schema_host h = {.port = 0};
	char why[256], *json = NULL;

	log_reset();
	ASSERT_EQ(hs_schema_parse_host("hosts/h", in, sizeof(in) - 1, &h, why, sizeof(why)), 0);
	CHECK_EQ(h.port, 4789);
	CHECK_EQ(h.roles, HS_SCHEMA_ROLE_FRONTEND | HS_SCHEMA_ROLE_HOST);
	ASSERT_EQ(hs_schema_encode_host(&h, &json), 0);
	CHECK_STR(json, "{\"v\":1,\"name\":\"h\",\"site\":\"s\",\"underlay6\":\"2001:db8:10::1\","
			"\"vni\":1,\"port\":4789,\"mtu\":9000,\"roles\":[\"frontend\",\"host\"]}");
	free(json);
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static enum hs_result roundtrip_vm(void)
{
	union hs_schema_record r;

	if (round_trip_example(HS_SCHEMA_VM) != HS_PASS)
		return HS_FAIL;
	/* IPv4 only, no forwarding pointer, no entry */
	ex_vm(&r);
	memset(&r.vm.address6, 0, sizeof(r.vm.address6));
	memset(r.vm.forward_from, 0, sizeof(r.vm.forward_from));
	r.vm.forward_until = 0;
	memset(r.vm.entry, 0, sizeof(r.vm.entry));
	r.vm.id = UINT32_MAX;
	r.vm.epoch = 1;
	return round_trip(HS_SCHEMA_VM, "/heliostat/vms/web", &r,
			  "{\"v\":1,\"name\":\"web\",\"id\":4294967295,\"address\":\"10.1.0.5\","
			  "\"mac\":\"52:54:00:12:34:56\",\"host\":\"fra-1\",\"epoch\":1}");
}

static enum hs_result roundtrip_vm_ipv6_only(void)
{
	union hs_schema_record r;

	ex_vm(&r);
	memset(&r.vm.address, 0, sizeof(r.vm.address));
	r.vm.mac[0] = 0xfe; /* locally administered is fine */
	return round_trip(HS_SCHEMA_VM, "/heliostat/vms/web", &r,
			  "{\"v\":1,\"name\":\"web\",\"id\":7,\"address6\":\"fd00:1::5\","
			  "\"mac\":\"fe:54:00:12:34:56\",\"host\":\"fra-1\",\"epoch\":3,"
			  "\"forward_from\":\"nyc-1\",\"forward_until\":1764000030,"
			  "\"entry\":\"nyc-1\"}");
}

static enum hs_result roundtrip_binding(void)
{
	union hs_schema_record r;

	if (round_trip_example(HS_SCHEMA_BINDING) != HS_PASS)
		return HS_FAIL;
	/* address only */
	ex_binding(&r);
	r.binding.proto = 0;
	r.binding.port = 0;
	r.binding.vm_port = 0;
	if (round_trip(HS_SCHEMA_BINDING, "/heliostat/bindings/203.0.113.1", &r,
		       "{\"v\":1,\"public\":\"203.0.113.1\",\"vm\":\"web\","
		       "\"frontend\":\"nyc-1\"}") != HS_PASS)
		return HS_FAIL;
	/* IPv6, UDP, port kept */
	ex_binding(&r);
	r.binding.pub = ip("2001:db8:f::1");
	r.binding.proto = IPPROTO_UDP;
	r.binding.port = 65535;
	r.binding.vm_port = 0;
	return round_trip(HS_SCHEMA_BINDING, "/heliostat/bindings/2001:db8:f::1,udp,65535", &r,
			  "{\"v\":1,\"public\":\"2001:db8:f::1\",\"proto\":\"udp\",\"port\":65535,"
			  "\"vm\":\"web\",\"frontend\":\"nyc-1\"}");
}

static enum hs_result roundtrip_image(void)
{
	union hs_schema_record r;

	if (round_trip_example(HS_SCHEMA_IMAGE) != HS_PASS)
		return HS_FAIL;
	/* no replicas yet; the largest size */
	ex_image(&r);
	r.image.n_replicas = 0;
	memset(r.image.replicas, 0, sizeof(r.image.replicas));
	r.image.size = HS_SCHEMA_INT_MAX / 512 * 512;
	return round_trip(HS_SCHEMA_IMAGE, "/heliostat/images/web", &r,
			  "{\"v\":1,\"name\":\"web\",\"owner_site\":\"eu-west\",\"epoch\":2,"
			  "\"replicas\":[],\"size\":9007199254740480}");
}

static enum hs_result roundtrip_migration(void)
{
	union hs_schema_record r;

	if (round_trip_example(HS_SCHEMA_MIGRATION) != HS_PASS)
		return HS_FAIL;
	/* pending: no progress, no reason */
	ex_migration(&r);
	r.migration.state = HS_SCHEMA_MIG_PENDING;
	memset(r.migration.reason, 0, sizeof(r.migration.reason));
	r.migration.has_progress = false;
	memset(&r.migration.progress, 0, sizeof(r.migration.progress));
	r.migration.updated = r.migration.started;
	if (round_trip(HS_SCHEMA_MIGRATION, "/heliostat/migrations/web", &r,
		       "{\"v\":1,\"vm\":\"web\",\"from\":\"nyc-1\",\"to\":\"fra-1\","
		       "\"state\":\"pending\",\"started\":1764000000,"
		       "\"updated\":1764000000}") != HS_PASS)
		return HS_FAIL;
	/* failed, with a UTF-8 reason that needs escaping */
	ex_migration(&r);
	r.migration.state = HS_SCHEMA_MIG_FAILED;
	memset(r.migration.reason, 0, sizeof(r.migration.reason));
	strcpy(r.migration.reason, "qemu: \"migration\" aborted \xe2\x80\x94 see /var/log");
	return round_trip(HS_SCHEMA_MIGRATION, "/heliostat/migrations/web", &r,
			  "{\"v\":1,\"vm\":\"web\",\"from\":\"nyc-1\",\"to\":\"fra-1\","
			  "\"state\":\"failed\",\"reason\":\"qemu: \\\"migration\\\" aborted "
			  "\xe2\x80\x94 see /var/log\",\"started\":1764000000,"
			  "\"updated\":1764000012,\"progress\":{\"memory_total\":2147483648,"
			  "\"memory_remaining\":104857600,\"dirty_rate\":52428800,"
			  "\"expected_downtime_ms\":120}}");
}

static enum hs_result roundtrip_leader(void)
{
	union hs_schema_record r;

	if (round_trip_example(HS_SCHEMA_LEADER) != HS_PASS)
		return HS_FAIL;
	ex_leader(&r);
	r.leader.lease = 1;
	if (round_trip(HS_SCHEMA_LEADER, "/heliostat/sched/leader", &r,
		       "{\"v\":1,\"holder\":\"fra-1\",\"lease\":\"0000000000000001\"}") != HS_PASS)
		return HS_FAIL;
	r.leader.lease = INT64_MAX;
	return round_trip(HS_SCHEMA_LEADER, "/heliostat/sched/leader", &r,
			  "{\"v\":1,\"holder\":\"fra-1\",\"lease\":\"7fffffffffffffff\"}");
}

static enum hs_result roundtrip_agent(void)
{
	union hs_schema_record r;

	if (round_trip_example(HS_SCHEMA_AGENT) != HS_PASS)
		return HS_FAIL;
	ex_agent(&r);
	r.agent.applied_revision = 0;
	r.agent.pid = 4194304;
	return round_trip(HS_SCHEMA_AGENT, "/heliostat/agents/fra-1", &r,
			  "{\"v\":1,\"host\":\"fra-1\",\"pid\":4194304,\"started\":1764000000,"
			  "\"applied_revision\":0}");
}

/* The largest values every field can hold still make a record that
 * round-trips and fits HS_SCHEMA_RECORD_MAX. */
static enum hs_result roundtrip_largest(void)
{
	struct hs_schema_image img, img2;
	struct hs_schema_migration mg, mg2;
	char why[256], *json = NULL;

	log_reset();
	memset(&img, 0, sizeof(img));
	memset(img.name, 'n', HS_SCHEMA_NAME_MAX - 1);
	memset(img.owner_site, 'o', HS_SCHEMA_NAME_MAX - 1);
	img.epoch = UINT32_MAX;
	img.n_replicas = HS_SCHEMA_MAX_REPLICAS;
	for (int i = 0; i < HS_SCHEMA_MAX_REPLICAS; i++)
		snprintf(img.replicas[i], HS_SCHEMA_NAME_MAX, "%02d%061d", i, 0);
	img.size = HS_SCHEMA_INT_MAX - 511;
	ASSERT_EQ(hs_schema_encode_image(&img, &json), 0);
	CHECK(strlen(json) < HS_SCHEMA_RECORD_MAX);
	CHECK_EQ(hs_schema_parse_image(NULL, json, strlen(json), &img2, why, sizeof(why)), 0);
	CHECK_MEM(&img2, &img, sizeof(img));
	free(json);
	memset(&mg, 0, sizeof(mg));
	memset(mg.vm, 'v', HS_SCHEMA_NAME_MAX - 1);
	memset(mg.from, 'f', HS_SCHEMA_NAME_MAX - 1);
	memset(mg.to, 't', HS_SCHEMA_NAME_MAX - 1);
	mg.state = HS_SCHEMA_MIG_FAILED;
	memset(mg.reason, '"', HS_SCHEMA_TEXT_MAX - 1); /* every byte escaped */
	mg.started = mg.updated = HS_SCHEMA_INT_MAX;
	mg.has_progress = true;
	mg.progress.memory_total = mg.progress.memory_remaining = HS_SCHEMA_INT_MAX;
	mg.progress.dirty_rate = mg.progress.expected_downtime_ms = HS_SCHEMA_INT_MAX;
	ASSERT_EQ(hs_schema_encode_migration(&mg, &json), 0);
	CHECK_EQ(hs_schema_parse_migration(NULL, json, strlen(json), &mg2, why, sizeof(why)), 0);
	CHECK_MEM(&mg2, &mg, sizeof(mg));
	free(json);
	CHECK_EQ(nwarn + nerr, 0);
	hs_log_set_hook(NULL);
	return HS_PASS;
}

/* ---- every field's validation ---- */

static enum hs_result invalid_site(void)
{
	static const struct mutation m[] = {
		{"\"name\":\"eu-west\",", "", "name: missing"},
		{"\"eu-west\"", "\"Eu-West\"", "name: 'Eu-West' is not a name"},
		{"\"eu-west\"", "\"-eu\"", "is not a name"},
		{"\"eu-west\"", "\"eu_west\"", "is not a name"},
		{"\"eu-west\"", "\"\"", "name: missing"},
		{"\"eu-west\"",
		 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
		 "name: too long (64 bytes, at most 63)"},
		{"\"eu-west\"", "5", "name: not a string"},
		{"\"Frankfurt, two racks\"", "7", "description: not a string"},
		{"\"Frankfurt, two racks\"", "\"tab\\there\"", "description: not UTF-8 text"},
		{"\"Frankfurt, two racks\"", "\"esc\\u001b[2J\"", "description: not UTF-8 text"},
		{"\"Frankfurt, two racks\"", "\"c1\\u0085\"", "description: not UTF-8 text"},
		{"\"Frankfurt, two racks\"", "\"nul\\u0000x\"", "description: contains a NUL"},
	};

	return REFUSE_ALL(HS_SCHEMA_SITE, m);
}

static enum hs_result invalid_host(void)
{
	static const struct mutation m[] = {
		{"\"site\":\"eu-west\",", "", "site: missing"},
		{"\"eu-west\"", "\"eu west\"", "site: 'eu west' is not a name"},
		{"\"192.0.2.10\"", "\"2001:db8::1\"", "underlay4: 2001:db8::1 is not an IPv4"},
		{"\"192.0.2.10\"", "\"192.0.2.300\"",
		 "underlay4: '192.0.2.300' is not an IP address"},
		{"\"192.0.2.10\"", "\"\"", "underlay4: '' is not an IP address"},
		{"\"192.0.2.10\"", "\"::ffff:192.0.2.10\"",
		 "underlay4: '::ffff:192.0.2.10' is IPv4-mapped"},
		{"\"192.0.2.10\"", "\"224.0.0.1\"", "underlay4: 224.0.0.1 is a multicast address"},
		{"\"192.0.2.10\"", "\"127.0.0.1\"", "underlay4: 127.0.0.1 is a loopback address"},
		{"\"192.0.2.10\"", "\"0.0.0.0\"", "underlay4: 0.0.0.0 is in 0.0.0.0/8"},
		{"\"192.0.2.10\"", "\"255.255.255.255\"", "is in the reserved 240.0.0.0/4"},
		{"\"192.0.2.10\"", "[]", "underlay4: not a string"},
		{"\"2001:db8:10::1\"", "\"192.0.2.11\"", "underlay6: 192.0.2.11 is not an IPv6"},
		{"\"2001:db8:10::1\"", "\"::\"", "underlay6: :: is unspecified"},
		{"\"2001:db8:10::1\"", "\"::1\"", "underlay6: ::1 is a loopback address"},
		{"\"2001:db8:10::1\"", "\"ff02::1\"", "underlay6: ff02::1 is a multicast address"},
		{"\"underlay4\":\"192.0.2.10\",\"underlay6\":\"2001:db8:10::1\",", "",
		 "underlay4, underlay6: a host needs at least one"},
		{"\"vni\":42", "\"vni\":16777216", "vni: 16777216 is out of range [0, 16777215]"},
		{"\"vni\":42", "\"vni\":-1", "vni: negative"},
		{"\"vni\":42", "\"vni\":\"42\"", "vni: not an integer"},
		{"\"vni\":42", "\"vni\":42.0", "vni: not an integer"},
		{"\"vni\":42,", "", "vni: missing"},
		{"\"port\":4789", "\"port\":0", "port: 0 is out of range [1, 65535]"},
		{"\"port\":4789", "\"port\":65536", "port: 65536 is out of range (at most 65535)"},
		{"\"mtu\":1500", "\"mtu\":1279", "mtu: 1279 is below 1280"},
		{"\"mtu\":1500", "\"mtu\":65536", "mtu: 65536 is out of range"},
		{"\"mtu\":1500,", "", "mtu: missing"},
		{"[\"frontend\",\"host\"]", "[]", "roles: a host needs at least one"},
		{"[\"frontend\",\"host\"]", "[\"router\"]",
		 "roles[0]: 'router' is not frontend or host"},
		{"[\"frontend\",\"host\"]", "[\"host\",\"host\"]",
		 "roles[1]: 'host' is listed twice"},
		{"[\"frontend\",\"host\"]", "[1]", "roles[0]: not a string"},
		{"[\"frontend\",\"host\"]", "\"host\"", "roles: not an array"},
		{",\"roles\":[\"frontend\",\"host\"]", "", "roles: missing"},
	};

	return REFUSE_ALL(HS_SCHEMA_HOST, m);
}

static enum hs_result invalid_vm(void)
{
	static const struct mutation m[] = {
		{"\"id\":7", "\"id\":0", "id: 0 is out of range [1, 4294967295]"},
		{"\"id\":7", "\"id\":4294967296", "id: 4294967296 is out of range"},
		{"\"id\":7,", "", "id: missing"},
		{"\"10.1.0.5\"", "\"fd00:1::6\"", "address: fd00:1::6 is not an IPv4 address"},
		{"\"fd00:1::5\"", "\"10.1.0.6\"", "address6: 10.1.0.6 is not an IPv6 address"},
		{"\"address\":\"10.1.0.5\",\"address6\":\"fd00:1::5\",", "",
		 "address, address6: a VM needs at least one"},
		{"\"52:54:00:12:34:56\"", "\"52:54:00:12:34\"",
		 "mac: '52:54:00:12:34' is not a MAC"},
		{"\"52:54:00:12:34:56\"", "\"52-54-00-12-34-56\"", "is not a MAC address"},
		{"\"52:54:00:12:34:56\"", "\"01:00:5e:00:00:01\"",
		 "mac: 01:00:5e:00:00:01 is a multicast"},
		{"\"52:54:00:12:34:56\"", "\"ff:ff:ff:ff:ff:ff\"", "is a multicast MAC"},
		{"\"52:54:00:12:34:56\"", "\"00:00:00:00:00:00\"", "mac: missing"},
		{"\"mac\":\"52:54:00:12:34:56\",", "", "mac: missing"},
		{"\"host\":\"fra-1\",", "", "host: missing"},
		{"\"host\":\"fra-1\"", "\"host\":\"fra.1\"", "host: 'fra.1' is not a name"},
		{"\"epoch\":3", "\"epoch\":0", "epoch: 0 is out of range"},
		{"\"epoch\":3,", "", "epoch: missing"},
		{"\"forward_from\":\"nyc-1\"", "\"forward_from\":\"fra-1\"",
		 "forward_from: 'fra-1' is the VM's own host"},
		{"\"forward_from\":\"nyc-1\"", "\"forward_from\":\"NYC\"",
		 "forward_from: 'NYC' is not"},
		{"\"forward_until\":1764000030,", "",
		 "forward_until: missing (forward_from needs it)"},
		{"\"forward_from\":\"nyc-1\",", "", "forward_until: set without forward_from"},
		{"1764000030", "0", "forward_until: 0 is not a time"},
		{"1764000030", "9007199254740992",
		 "forward_until: 9007199254740992 is out of range"},
		{"\"entry\":\"nyc-1\"", "\"entry\":\"\"",
		 "entry: empty (an absent field is left out)"},
		{"\"entry\":\"nyc-1\"", "\"entry\":\"a/b\"", "entry: 'a/b' is not a name"},
	};

	return REFUSE_ALL(HS_SCHEMA_VM, m);
}

static enum hs_result invalid_binding(void)
{
	static const struct mutation m[] = {
		{"\"public\":\"203.0.113.1\",", "", "public: missing"},
		{"\"203.0.113.1\"", "\"203.0.113\"", "public: '203.0.113' is not an IP address"},
		{"\"203.0.113.1\"", "\"239.1.1.1\"", "public: 239.1.1.1 is a multicast address"},
		{"\"tcp\"", "\"icmp\"", "proto: 'icmp' is not tcp or udp"},
		{"\"tcp\"", "\"TCP\"", "proto: 'TCP' is not tcp or udp"},
		{"\"tcp\"", "6", "proto: not a string"},
		{"\"proto\":\"tcp\",", "", "proto, port: a port needs a protocol"},
		{"\"port\":80,", "", "proto, port: a port needs a protocol"},
		{"\"port\":80", "\"port\":0", "port: 0; an address-only binding has no port field"},
		{"\"port\":80", "\"port\":65536", "port: 65536 is out of range"},
		{"\"proto\":\"tcp\",\"port\":80,", "", "vm_port: only a port binding"},
		{"\"vm_port\":8080", "\"vm_port\":0", "vm_port: 0; leave it out"},
		{"\"vm_port\":8080", "\"vm_port\":70000", "vm_port: 70000 is out of range"},
		{"\"vm\":\"web\",", "", "vm: missing"},
		{"\"vm\":\"web\"", "\"vm\":\"Web\"", "vm: 'Web' is not a name"},
		{",\"frontend\":\"nyc-1\"", "", "frontend: missing"},
		{"\"frontend\":\"nyc-1\"", "\"frontend\":true", "frontend: not a string"},
	};

	return REFUSE_ALL(HS_SCHEMA_BINDING, m);
}

static enum hs_result invalid_image(void)
{
	static const struct mutation m[] = {
		{"\"owner_site\":\"eu-west\",", "", "owner_site: missing"},
		{"\"owner_site\":\"eu-west\"", "\"owner_site\":\"EU\"", "owner_site: 'EU' is not"},
		{"\"epoch\":2", "\"epoch\":0", "epoch: 0 is out of range"},
		{"\"epoch\":2,", "", "epoch: missing"},
		{"\"ap-south\"", "\"eu-west\"", "replicas[1]: 'eu-west' is the owner site"},
		{"\"ap-south\"", "\"us-east\"", "replicas[1]: 'us-east' is listed twice"},
		{"\"ap-south\"", "\"ap south\"", "replicas[1]: 'ap south' is not a name"},
		{"\"ap-south\"", "7", "replicas[1]: not a string"},
		{"[\"us-east\",\"ap-south\"]", "{}", "replicas: not an array"},
		{"[\"us-east\",\"ap-south\"]",
		 "[\"a0\",\"a1\",\"a2\",\"a3\",\"a4\",\"a5\",\"a6\",\"a7\",\"a8\",\"a9\",\"b0\","
		 "\"b1\",\"b2\",\"b3\",\"b4\",\"b5\",\"b6\",\"b7\",\"b8\",\"b9\",\"c0\",\"c1\","
		 "\"c2\","
		 "\"c3\",\"c4\",\"c5\",\"c6\",\"c7\",\"c8\",\"c9\",\"d0\",\"d1\",\"d2\"]",
		 "replicas: 33 sites, at most 32"},
		{"\"replicas\":[\"us-east\",\"ap-south\"],", "", "replicas: missing"},
		{"10737418240", "0", "size: 0 is out of range"},
		{"10737418240", "10737418241", "size: 10737418241 is not a multiple of 512"},
		{"10737418240", "9007199254740992", "size: 9007199254740992 is out of range"},
		{"10737418240", "18446744073709551616",
		 "size: 18446744073709551615 is out of range"},
		{",\"size\":10737418240", "", "size: missing"},
	};

	return REFUSE_ALL(HS_SCHEMA_IMAGE, m);
}

static enum hs_result invalid_migration(void)
{
	static const struct mutation m[] = {
		{"\"vm\":\"web\",", "", "vm: missing"},
		{"\"from\":\"nyc-1\",", "", "from: missing"},
		{"\"to\":\"fra-1\"", "\"to\":\"nyc-1\"", "to: 'nyc-1' is also the source host"},
		{"\"to\":\"fra-1\"", "\"to\":\"\"", "to: missing"},
		{"\"running\"", "\"paused\"", "state: 'paused' is not pending, running"},
		{"\"running\"", "\"Running\"", "is not pending"},
		{"\"state\":\"running\",", "", "state: missing"},
		{"\"state\":\"running\",\"reason\":\"sched: clients moved to eu-west\"",
		 "\"state\":\"failed\"", "reason: missing (a failed migration says why)"},
		{"\"sched: clients moved to eu-west\"", "\"line\\nbreak\"",
		 "reason: not UTF-8 text"},
		{"\"started\":1764000000", "\"started\":0", "started: 0 is out of range"},
		{"\"updated\":1764000012", "\"updated\":1763999999",
		 "updated: 1763999999 is before started (1764000000)"},
		{"\"updated\":1764000012,", "", "updated: missing"},
		{"\"memory_remaining\":104857600", "\"memory_remaining\":2147483649",
		 "progress.memory_remaining: 2147483649 is out of range [0, 2147483648]"},
		{"\"dirty_rate\":52428800,", "", "progress.dirty_rate: missing"},
		{"\"expected_downtime_ms\":120", "\"expected_downtime_ms\":-5",
		 "progress.expected_downtime_ms: negative"},
		{"\"expected_downtime_ms\":120", "\"expected_downtime_ms\":120,\"eta\":3",
		 "progress.eta: unknown field"},
		{"{\"memory_total\"", "[{\"memory_total\"", "not JSON"},
		{"{\"memory_total\":2147483648,\"memory_remaining\":104857600,\"dirty_rate\":"
		 "52428800,"
		 "\"expected_downtime_ms\":120}",
		 "7", "progress: not an object"},
	};

	return REFUSE_ALL(HS_SCHEMA_MIGRATION, m);
}

static enum hs_result invalid_leader(void)
{
	static const struct mutation m[] = {
		{"\"holder\":\"fra-1\",", "", "holder: missing"},
		{"\"fra-1\"", "\"fra 1\"", "holder: 'fra 1' is not a name"},
		{"\"694d7c4b5fb3a20b\"", "\"694D7C4B5FB3A20B\"",
		 "lease: '694D7C4B5FB3A20B' is not a lease id"},
		{"\"694d7c4b5fb3a20b\"", "\"694d7c4b5fb3a20\"", "is not a lease id"},
		{"\"694d7c4b5fb3a20b\"", "\"694d7c4b5fb3a20b0\"",
		 "lease: '694d7c4b5fb3a20b0' is not a lease id"},
		{"\"694d7c4b5fb3a20b\"", "\"8000000000000000\"", "is not a lease id"},
		{"\"694d7c4b5fb3a20b\"", "\"0000000000000000\"", "lease: 0 is not a lease id"},
		{"\"694d7c4b5fb3a20b\"", "7587862208386917131", "lease: not a string"},
		{",\"lease\":\"694d7c4b5fb3a20b\"", "", "lease: missing"},
	};

	return REFUSE_ALL(HS_SCHEMA_LEADER, m);
}

static enum hs_result invalid_agent(void)
{
	static const struct mutation m[] = {
		{"\"host\":\"fra-1\",", "", "host: missing"},
		{"\"pid\":4242", "\"pid\":0", "pid: 0 is out of range [1, 4194304]"},
		{"\"pid\":4242", "\"pid\":4194305", "pid: 4194305 is out of range"},
		{"\"pid\":4242,", "", "pid: missing"},
		{"\"started\":1764000000", "\"started\":0", "started: 0 is out of range"},
		{"\"started\":1764000000", "\"started\":1.764e9", "started: not an integer"},
		{"1234", "-1", "applied_revision: negative"},
		{"1234", "9007199254740992", "applied_revision: 9007199254740992 is out of range"},
		{",\"applied_revision\":1234", "", "applied_revision: missing"},
	};

	return REFUSE_ALL(HS_SCHEMA_AGENT, m);
}

/* ---- versions, unknown and null fields ---- */

static enum hs_result version_too_new(void)
{
	for (int k = HS_SCHEMA_SITE; k < HS_SCHEMA_KIND_COUNT; k++) {
		const struct example *ex = example((enum hs_schema_kind)k);
		char *json = replace(ex->json, "{\"v\":1,", "{\"v\":2,\"new_field\":[1],");
		char want[128];

		ASSERT(json);
		snprintf(want, sizeof(want),
			 "record version 2; this build reads %s records up to version 1",
			 hs_schema_kind_name((enum hs_schema_kind)k));
		/* refused as too new, not as invalid: the unknown field is not looked at */
		CHECK(expect((enum hs_schema_kind)k, ex->key, json, strlen(json), -EPROTONOSUPPORT,
			     want, "v2"));
		CHECK(log_has("warn: ") && log_has(ex->key) && log_has("record version 2"));
		free(json);
	}
	/* saturated by json-c, still "too new" */
	CHECK(expect_str(HS_SCHEMA_SITE, "sites/a",
			 "{\"v\":99999999999999999999999,\"name\":\"a\"}", -EPROTONOSUPPORT,
			 "record version 18446744073709551615", "huge v"));
	/* version first: a too-new record need not even be a valid v1 */
	CHECK(expect_str(HS_SCHEMA_VM, "vms/a", "{\"name\":5,\"v\":3}", -EPROTONOSUPPORT,
			 "record version 3", "v3 garbage"));
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static enum hs_result version_bad(void)
{
	static const struct {
		const char *json, *why;
	} c[] = {
		{"{\"name\":\"a\"}", "v: missing"},
		{"{\"v\":0,\"name\":\"a\"}", "v: 0; versions start at 1"},
		{"{\"v\":-1,\"name\":\"a\"}", "v: negative"},
		{"{\"v\":\"1\",\"name\":\"a\"}", "v: not an integer"},
		{"{\"v\":1.0,\"name\":\"a\"}", "v: not an integer"},
		{"{\"v\":null,\"name\":\"a\"}", "v: null"},
		{"{\"v\":true,\"name\":\"a\"}", "v: not an integer"},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		CHECK(expect(HS_SCHEMA_SITE, "/heliostat/sites/a", c[i].json, strlen(c[i].json),
			     -EINVAL, c[i].why, c[i].json));
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static enum hs_result unknown_fields(void)
{
	for (int k = HS_SCHEMA_SITE; k < HS_SCHEMA_KIND_COUNT; k++) {
		const struct example *ex = example((enum hs_schema_kind)k);
		char *json = replace(ex->json, "{\"v\":1,", "{\"v\":1,\"colour\":\"red\",");

		ASSERT(json);
		CHECK(expect((enum hs_schema_kind)k, ex->key, json, strlen(json), -EINVAL,
			     "colour: unknown field", hs_schema_kind_name((enum hs_schema_kind)k)));
		free(json);
	}
	/* a typo is caught, not silently defaulted */
	CHECK(expect_str(
		HS_SCHEMA_HOST, "hosts/h",
		"{\"v\":1,\"name\":\"h\",\"site\":\"s\",\"underlay4\":\"192.0.2.1\",\"vni\":1,"
		"\"prot\":4790,\"mtu\":0,\"roles\":[\"host\"]}",
		-EINVAL, "prot: unknown field", "typo"));
	/* a field name that would forge a log line is shown defanged */
	CHECK(expect_str(HS_SCHEMA_SITE, "sites/a", "{\"v\":1,\"name\":\"a\",\"x\\ny\":1}", -EINVAL,
			 "x?y: unknown field", "newline"));
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static enum hs_result null_fields(void)
{
	CHECK(expect_str(HS_SCHEMA_SITE, "sites/a", "{\"v\":1,\"name\":\"a\",\"description\":null}",
			 -EINVAL, "description: null (an absent field is left out)",
			 "null optional"));
	CHECK(expect_str(
		HS_SCHEMA_VM, "vms/a",
		"{\"v\":1,\"name\":\"a\",\"id\":1,\"address\":\"10.0.0.1\",\"address6\":null,"
		"\"mac\":\"02:00:00:00:00:01\",\"host\":\"h\",\"epoch\":1}",
		-EINVAL, "address6: null", "null address"));
	hs_log_set_hook(NULL);
	return HS_PASS;
}

/* ---- keys against records ---- */

static enum hs_result key_name_mismatch(void)
{
	static const struct {
		enum hs_schema_kind kind;
		const char *key, *why;
	} c[] = {
		{HS_SCHEMA_SITE, "/heliostat/sites/us-east",
		 "key: names 'us-east' but the record's name is 'eu-west'"},
		{HS_SCHEMA_HOST, "/heliostat/hosts/fra-2", "but the record's name is 'fra-1'"},
		{HS_SCHEMA_VM, "/heliostat/vms/db",
		 "key: names 'db' but the record's name is 'web'"},
		{HS_SCHEMA_VM, "/heliostat/vms/web/x", "key: not a vm key (.../vms/<name>)"},
		{HS_SCHEMA_VM, "/heliostat/vms/", "key: names ''"},
		{HS_SCHEMA_IMAGE, "/heliostat/images/web2", "names 'web2'"},
		{HS_SCHEMA_MIGRATION, "/heliostat/migrations/db", "but the record's vm is 'web'"},
		{HS_SCHEMA_AGENT, "/heliostat/agents/nyc-1", "but the record's host is 'fra-1'"},
		{HS_SCHEMA_BINDING, "/heliostat/bindings/203.0.113.1,tcp,81",
		 "key: names binding '203.0.113.1,tcp,81' but the record is for "
		 "'203.0.113.1,tcp,80'"},
		{HS_SCHEMA_BINDING, "/heliostat/bindings/203.0.113.1",
		 "but the record is for '203.0.113.1,tcp,80'"},
		{HS_SCHEMA_BINDING, "/heliostat/bindings/203.0.113.2,tcp,80",
		 "names binding '203.0.113.2,tcp,80'"},
		{HS_SCHEMA_BINDING, "/heliostat/bindings/203.0.113.1,udp,80", "names binding"},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const struct example *ex = example(c[i].kind);

		CHECK(expect(c[i].kind, c[i].key, ex->json, strlen(ex->json), -EINVAL, c[i].why,
			     c[i].key));
	}
	hs_log_set_hook(NULL);
	return HS_PASS;
}

/* The right name under another type's directory, or no directory. */
static enum hs_result key_wrong_dir(void)
{
	static const struct {
		enum hs_schema_kind kind;
		const char *key, *why;
	} c[] = {
		{HS_SCHEMA_LEADER, "/heliostat/sched/leaders",
		 "key: not a leader key (.../sched/leader)"},
		{HS_SCHEMA_VM, "/heliostat/hosts/web", "key: not a vm key (.../vms/<name>)"},
		{HS_SCHEMA_SITE, "/heliostat/xsites/eu-west", "key: not a site key"},
		{HS_SCHEMA_AGENT, "fra-1", "key: not an agent key (.../agents/<name>)"},
		{HS_SCHEMA_BINDING, "/heliostat/vms/203.0.113.1,tcp,80", "key: not a binding key"},
		{HS_SCHEMA_IMAGE, "/heliostat/vms/web",
		 "key: not an image key (.../images/<name>)"},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		const struct example *ex = example(c[i].kind);

		CHECK(expect(c[i].kind, c[i].key, ex->json, strlen(ex->json), -EINVAL, c[i].why,
			     c[i].key));
	}
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static enum hs_result key_forms_accepted(void)
{
	const struct example *ex = example(HS_SCHEMA_VM);
	union hs_schema_record out;
	char why[256];

	log_reset();
	/* no key: no key check; any prefix; no prefix at all */
	CHECK_EQ(parse_any(HS_SCHEMA_VM, NULL, ex->json, strlen(ex->json), &out, why, sizeof(why)),
		 0);
	CHECK_EQ(parse_any(HS_SCHEMA_VM, "/other/prefix/vms/web", ex->json, strlen(ex->json), &out,
			   why, sizeof(why)),
		 0);
	CHECK_EQ(parse_any(HS_SCHEMA_VM, "vms/web", ex->json, strlen(ex->json), &out, why,
			   sizeof(why)),
		 0);
	/* without a key the reason names the type */
	CHECK_EQ(parse_any(HS_SCHEMA_VM, NULL, "{}", 2, &out, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "vm record: v: missing");
	/* IPv6 binding key */
	{
		static const char b6[] = "{\"v\":1,\"public\":\"2001:db8:0::1\",\"vm\":\"a\","
					 "\"frontend\":\"b\"}";

		CHECK_EQ(hs_schema_parse_binding("/h/bindings/2001:db8::1", b6, sizeof(b6) - 1,
						 &out.binding, why, sizeof(why)),
			 0);
	}
	CHECK_EQ(nwarn, 1);
	hs_log_set_hook(NULL);
	return HS_PASS;
}

/* ---- malformed and oversized input ---- */

/* A string literal and its length, NULs inside included. */
#define J(s) s, sizeof(s) - 1

static enum hs_result malformed_json(void)
{
	static const struct {
		const char *json;
		size_t len;
		const char *why;
	} c[] = {
		{J(""), "empty record"},
		{J(" \n\t"), "empty record"},
		{J("null"),
		 "not JSON: truncated"}, /* json-c cannot tell where a bare literal ends */
		{J("[]"), "not a JSON object"},
		{J("1"), "not JSON"},
		{J("\"v\""), "not a JSON object"},
		{J("{"), "not JSON: truncated"},
		{J("{\"v\":1,\"name\":\"a\""), "not JSON: truncated"},
		{J("{\"v\":1}}"), "not JSON: unexpected character at byte 7"},
		{J("{\"v\":1} {}"), "not JSON"},
		{J("{\"v\":1}\0junk"), "not JSON"},
		{J("{\"v\":1,}"), "not JSON"},
		{J("{\"v\":01}"), "not JSON"},
		{J("{v:1}"), "not JSON"},
		{J("{\"v\":1,\"name\":\"\xff\"}"), "not JSON"},
		/* json-c lets an overlong form through; the text check does not */
		{J("{\"v\":1,\"name\":\"a\",\"description\":\"\xc0\xaf\"}"),
		 "description: not UTF-8"},
		{J("{\"v\":1,\"name\":[[[[[[[[[[1]]]]]]]]]]}"), "not JSON"},
		{J("{\"v\":1,\"name\":NaN}"), "name: not a string"},
		{J("\xef\xbb\xbf{\"v\":1}"), "not JSON"},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char label[64];

		snprintf(label, sizeof(label), "malformed case %zu", i);
		CHECK(expect(HS_SCHEMA_SITE, "/heliostat/sites/a", c[i].json, c[i].len, -EINVAL,
			     c[i].why, label));
	}
	/* NULL json */
	CHECK(expect(HS_SCHEMA_SITE, "sites/a", NULL, 0, -EINVAL, "no record", "NULL"));
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static enum hs_result trailing_newline_accepted(void)
{
	static const char in[] = "{\"v\":1,\"name\":\"a\"}\r\n";
	struct hs_schema_site s;
	char why[128];

	log_reset();
	CHECK_EQ(hs_schema_parse_site("sites/a", in, sizeof(in) - 1, &s, why, sizeof(why)), 0);
	CHECK_STR(s.name, "a");
	hs_log_set_hook(NULL);
	return HS_PASS;
}

/* The buffer is not NUL-terminated: the parser must stay inside len. */
static enum hs_result unterminated_buffer(void)
{
	const struct example *ex = example(HS_SCHEMA_MIGRATION);
	size_t n = strlen(ex->json);
	char *buf = malloc(n);
	union hs_schema_record out;
	char why[128];

	ASSERT(buf);
	memcpy(buf, ex->json, n);
	log_reset();
	CHECK_EQ(parse_any(HS_SCHEMA_MIGRATION, ex->key, buf, n, &out, why, sizeof(why)), 0);
	/* cut short anywhere: refused, never read past the end */
	for (size_t cut = 0; cut < n; cut += 7)
		CHECK_EQ(parse_any(HS_SCHEMA_MIGRATION, ex->key, buf, cut, &out, why, sizeof(why)),
			 -EINVAL);
	free(buf);
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static enum hs_result huge_input(void)
{
	static const char head[] = "{\"v\":1,\"name\":\"a\",\"description\":\"";
	size_t n = HS_SCHEMA_RECORD_MAX + 1;
	char *big = malloc(n + 1);
	struct hs_schema_site s;
	char why[256];

	ASSERT(big);
	/* over the limit: refused unread */
	memset(big, ' ', n);
	memcpy(big, "{\"v\":1,\"name\":\"a\"}", 18);
	big[n] = '\0';
	CHECK(expect(HS_SCHEMA_SITE, "sites/a", big, n, -EINVAL,
		     "record of 65537 bytes; at most 65536 are read", "65537"));
	/* at the limit (trailing spaces) it is read */
	log_reset();
	CHECK_EQ(hs_schema_parse_site("sites/a", big, n - 1, &s, why, sizeof(why)), 0);
	/* a length that could not be real is not touched */
	CHECK(expect(HS_SCHEMA_SITE, "sites/a", big, SIZE_MAX, -EINVAL, "record of", "SIZE_MAX"));
	/* a huge string field */
	memset(big, 'x', n);
	memcpy(big, head, sizeof(head) - 1);
	memcpy(big + HS_SCHEMA_RECORD_MAX - 2, "\"}", 3);
	CHECK(expect(HS_SCHEMA_SITE, "sites/a", big, HS_SCHEMA_RECORD_MAX, -EINVAL,
		     "description: too long (65501 bytes, at most 255)", "long description"));
	/* a huge array */
	{
		size_t off = 0;

		off += (size_t)sprintf(big, "{\"v\":1,\"name\":\"h\",\"site\":\"s\",\"underlay4\":"
					    "\"192.0.2.1\",\"vni\":1,\"mtu\":0,\"roles\":[");
		while (off < HS_SCHEMA_RECORD_MAX - 32)
			off += (size_t)sprintf(big + off, "\"host\",");
		off += (size_t)sprintf(big + off, "\"host\"]}");
		CHECK(expect(HS_SCHEMA_HOST, "hosts/h", big, off, -EINVAL,
			     "roles[1]: 'host' is listed twice", "long roles"));
	}
	free(big);
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static enum hs_result integer_edges(void)
{
	static const struct {
		const char *v, *why;
		int rc;
	} c[] = {
		{"9007199254740991", "", 0},
		{"9007199254740992", "is out of range", -EINVAL},
		{"18446744073709551615", "18446744073709551615 is out of range", -EINVAL},
		{"1e3", "not an integer", -EINVAL},
		{"1764000000.5", "not an integer", -EINVAL},
		{"-0", "started: 0 is out of range", -EINVAL},
		{"-9223372036854775809", "negative", -EINVAL},
		{"Infinity", "not an integer", -EINVAL},
	};
	const struct example *ex = example(HS_SCHEMA_AGENT);

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *json = replace(ex->json, "\"started\":1764000000", "\"started\":PLACEHOLDER");
		char *j2 = json ? replace(json, "PLACEHOLDER", c[i].v) : NULL;

		ASSERT(j2);
		CHECK(expect(HS_SCHEMA_AGENT, ex->key, j2, strlen(j2), c[i].rc, c[i].why, c[i].v));
		free(json);
		free(j2);
	}
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static enum hs_result text_fields(void)
{
	struct hs_schema_site s;
	char why[256], json[600], desc[300];

	/* 255 bytes of multi-byte UTF-8 fit; 256 do not */
	log_reset();
	memset(desc, 0, sizeof(desc));
	for (int i = 0; i < 85; i++)
		memcpy(desc + i * 3, "\xe2\x82\xac", 3); /* euro sign, 255 bytes */
	snprintf(json, sizeof(json), "{\"v\":1,\"name\":\"a\",\"description\":\"%s\"}", desc);
	CHECK_EQ(hs_schema_parse_site("sites/a", json, strlen(json), &s, why, sizeof(why)), 0);
	CHECK_STR(s.description, desc);
	snprintf(json, sizeof(json), "{\"v\":1,\"name\":\"a\",\"description\":\"%sx\"}", desc);
	CHECK(expect(HS_SCHEMA_SITE, "sites/a", json, strlen(json), -EINVAL,
		     "description: too long (256 bytes, at most 255)", "256"));
	/* escapes decode; a lone surrogate becomes U+FFFD (json-c), which is text */
	log_reset();
	{
		static const char esc[] =
			"{\"v\":1,\"name\":\"a\",\"description\":\"\\u00e9\\ud800\"}";

		CHECK_EQ(
			hs_schema_parse_site("sites/a", esc, sizeof(esc) - 1, &s, why, sizeof(why)),
			0);
	}
	CHECK_STR(s.description, "\xc3\xa9\xef\xbf\xbd");
	/* built in C: the encoder refuses what a parser would */
	memset(&s, 0, sizeof(s));
	strcpy(s.name, "a");
	strcpy(s.description, "bell\a");
	CHECK_EQ(hs_schema_check_site(&s, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "description: not UTF-8 text without control characters");
	strcpy(s.description, "\xed\xa0\x80"); /* encoded surrogate */
	CHECK_EQ(hs_schema_check_site(&s, why, sizeof(why)), -EINVAL);
	strcpy(s.description, "\xf4\x90\x80\x80"); /* past U+10FFFF */
	CHECK_EQ(hs_schema_check_site(&s, why, sizeof(why)), -EINVAL);
	strcpy(s.description, "\xe0\x80\xaf"); /* overlong */
	CHECK_EQ(hs_schema_check_site(&s, why, sizeof(why)), -EINVAL);
	strcpy(s.description, "\xe2\x82"); /* cut short */
	CHECK_EQ(hs_schema_check_site(&s, why, sizeof(why)), -EINVAL);
	memset(s.description, 'x', sizeof(s.description)); /* no NUL */
	CHECK_EQ(hs_schema_check_site(&s, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "description: longer than 255 bytes");
	hs_log_set_hook(NULL);
	return HS_PASS;
}

/* ---- C side: check, encode, output untouched ---- */

static enum hs_result encode_refuses_invalid(void)
{
	union hs_schema_record r;
	char *json = NULL;

	log_reset();
	ex_vm(&r);
	memset(r.vm.mac, 0, 6);
	CHECK_EQ(hs_schema_encode_vm(&r.vm, &json), -EINVAL);
	CHECK(json == NULL);
	CHECK(log_has("err: cannot encode vm record: mac: missing"));
	ex_host(&r);
	r.host.port = 0; /* the JSON default is not the struct's */
	CHECK_EQ(hs_schema_encode_host(&r.host, &json), -EINVAL);
	ex_host(&r);
	r.host.roles = 4;
	CHECK_EQ(hs_schema_encode_host(&r.host, &json), -EINVAL);
	CHECK(log_has("roles: unknown role bits 0x4"));
	ex_binding(&r);
	r.binding.proto = IPPROTO_ICMP;
	CHECK_EQ(hs_schema_encode_binding(&r.binding, &json), -EINVAL);
	ex_migration(&r);
	r.migration.state = HS_SCHEMA_MIG_STATE_COUNT;
	CHECK_EQ(hs_schema_encode_migration(&r.migration, &json), -EINVAL);
	ex_image(&r);
	r.image.n_replicas = HS_SCHEMA_MAX_REPLICAS + 1;
	CHECK_EQ(hs_schema_encode_image(&r.image, &json), -EINVAL);
	ex_leader(&r);
	r.leader.lease = -1;
	CHECK_EQ(hs_schema_encode_leader(&r.leader, &json), -EINVAL);
	ex_agent(&r);
	r.agent.applied_revision = -1;
	CHECK_EQ(hs_schema_encode_agent(&r.agent, &json), -EINVAL);
	ex_site(&r);
	memset(r.site.name, 'a', sizeof(r.site.name)); /* not terminated */
	CHECK_EQ(hs_schema_encode_site(&r.site, &json), -EINVAL);
	CHECK(json == NULL);
	CHECK_EQ(nerr, 9);
	CHECK_EQ(hs_schema_encode_site(NULL, &json), -EINVAL);
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static enum hs_result check_functions(void)
{
	union hs_schema_record r;
	char why[128], tiny[8];

	log_reset();
	ex_vm(&r);
	CHECK_EQ(hs_schema_check_vm(&r.vm, why, sizeof(why)), 0);
	CHECK_STR(why, "");
	r.vm.forward_until = 0;
	CHECK_EQ(hs_schema_check_vm(&r.vm, why, sizeof(why)), -EINVAL);
	CHECK_STR(why, "forward_until: missing (forward_from needs it)");
	/* why is cut to its size, and may be absent */
	CHECK_EQ(hs_schema_check_vm(&r.vm, tiny, sizeof(tiny)), -EINVAL);
	CHECK_STR(tiny, "forward");
	CHECK_EQ(hs_schema_check_vm(&r.vm, NULL, 0), -EINVAL);
	ex_migration(&r);
	r.migration.progress.memory_remaining = r.migration.progress.memory_total + 1;
	CHECK_EQ(hs_schema_check_migration(&r.migration, why, sizeof(why)), -EINVAL);
	/* progress is only checked when present */
	r.migration.has_progress = false;
	CHECK_EQ(hs_schema_check_migration(&r.migration, why, sizeof(why)), 0);
	CHECK_EQ(nwarn + nerr, 0); /* checks never log */
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static enum hs_result parse_leaves_output(void)
{
	struct hs_schema_vm vm, before;
	char why[128];
	const char *bad = "{\"v\":1,\"name\":\"web\",\"id\":7,\"address\":\"10.1.0.5\","
			  "\"mac\":\"52:54:00:12:34:56\",\"host\":\"fra-1\",\"epoch\":0}";

	log_reset();
	memset(&vm, 0xa5, sizeof(vm));
	before = vm;
	CHECK_EQ(hs_schema_parse_vm("vms/web", bad, strlen(bad), &vm, why, sizeof(why)), -EINVAL);
	CHECK_MEM(&vm, &before, sizeof(vm));
	CHECK_STR(why, "vms/web: epoch: 0 is out of range [1, 4294967295]");
	CHECK(log_has("warn: vms/web: epoch: 0 is out of range"));
	/* no why buffer: still refused, still logged */
	CHECK_EQ(hs_schema_parse_vm("vms/web", bad, strlen(bad), &vm, NULL, 0), -EINVAL);
	CHECK_EQ(nwarn, 2);
	/* a key with control characters is logged defanged */
	CHECK_EQ(hs_schema_parse_vm("vms/\x1b[2Jweb", bad, strlen(bad), &vm, why, sizeof(why)),
		 -EINVAL);
	CHECK(strncmp(why, "vms/?[2Jweb: ", 13) == 0);
	hs_log_set_hook(NULL);
	return HS_PASS;
}

/* ---- key builders and the classifier ---- */

static enum hs_result key_builders(void)
{
	char k[HS_SCHEMA_KEY_MAX], small[16];
	struct hs_ip pub = ip("203.0.113.1"), pub6 = ip("2001:db8:f::1");

	CHECK_EQ(hs_schema_key_site(NULL, "eu-west", k, sizeof(k)), 0);
	CHECK_STR(k, "/heliostat/sites/eu-west");
	CHECK_EQ(hs_schema_key_host("/hs-test/", "fra-1", k, sizeof(k)), 0);
	CHECK_STR(k, "/hs-test/hosts/fra-1");
	CHECK_EQ(hs_schema_key_vm(NULL, "web", k, sizeof(k)), 0);
	CHECK_STR(k, "/heliostat/vms/web");
	CHECK_EQ(hs_schema_key_image(NULL, "web", k, sizeof(k)), 0);
	CHECK_STR(k, "/heliostat/images/web");
	CHECK_EQ(hs_schema_key_migration(NULL, "web", k, sizeof(k)), 0);
	CHECK_STR(k, "/heliostat/migrations/web");
	CHECK_EQ(hs_schema_key_agent(NULL, "fra-1", k, sizeof(k)), 0);
	CHECK_STR(k, "/heliostat/agents/fra-1");
	CHECK_EQ(hs_schema_key_leader(NULL, k, sizeof(k)), 0);
	CHECK_STR(k, "/heliostat/sched/leader");
	CHECK_EQ(hs_schema_key_binding(NULL, &pub, 0, 0, k, sizeof(k)), 0);
	CHECK_STR(k, "/heliostat/bindings/203.0.113.1");
	CHECK_EQ(hs_schema_key_binding(NULL, &pub, IPPROTO_TCP, 80, k, sizeof(k)), 0);
	CHECK_STR(k, "/heliostat/bindings/203.0.113.1,tcp,80");
	CHECK_EQ(hs_schema_key_binding(NULL, &pub6, IPPROTO_UDP, 53, k, sizeof(k)), 0);
	CHECK_STR(k, "/heliostat/bindings/2001:db8:f::1,udp,53");
	/* refused */
	CHECK_EQ(hs_schema_key_vm(NULL, "Web", k, sizeof(k)), -EINVAL);
	CHECK_EQ(hs_schema_key_vm(NULL, "", k, sizeof(k)), -EINVAL);
	CHECK_EQ(hs_schema_key_vm(NULL, NULL, k, sizeof(k)), -EINVAL);
	CHECK_EQ(hs_schema_key_vm("heliostat", "web", k, sizeof(k)), -EINVAL); /* no '/' */
	CHECK_EQ(hs_schema_key_vm("", "web", k, sizeof(k)), -EINVAL);
	CHECK_EQ(hs_schema_key_vm("/a b/", "web", k, sizeof(k)), -EINVAL);
	CHECK_EQ(hs_schema_key_binding(NULL, &pub, IPPROTO_TCP, 0, k, sizeof(k)), -EINVAL);
	CHECK_EQ(hs_schema_key_binding(NULL, &pub, 0, 80, k, sizeof(k)), -EINVAL);
	CHECK_EQ(hs_schema_key_binding(NULL, &pub, IPPROTO_ICMP, 80, k, sizeof(k)), -EINVAL);
	pub = ip("0.0.0.0");
	CHECK_EQ(hs_schema_key_binding(NULL, &pub, 0, 0, k, sizeof(k)), -EINVAL);
	CHECK_EQ(hs_schema_key_binding(NULL, NULL, 0, 0, k, sizeof(k)), -EINVAL);
	/* buffer too small, and the longest possible key fits HS_SCHEMA_KEY_MAX */
	CHECK_EQ(hs_schema_key_vm(NULL, "web", small, sizeof(small)), -ENAMETOOLONG);
	{
		char prefix[HS_SCHEMA_PREFIX_MAX + 2], name[HS_SCHEMA_NAME_MAX];

		memset(prefix, 'p', HS_SCHEMA_PREFIX_MAX);
		prefix[HS_SCHEMA_PREFIX_MAX - 1] = '/';
		prefix[HS_SCHEMA_PREFIX_MAX] = '\0';
		memset(name, 'n', sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		CHECK_EQ(hs_schema_key_migration(prefix, name, k, sizeof(k)), 0);
		pub6 = ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe");
		pub6.b[0] = 0xfe;
		CHECK_EQ(hs_schema_key_binding(prefix, &pub6, IPPROTO_UDP, 65535, k, sizeof(k)), 0);
		prefix[HS_SCHEMA_PREFIX_MAX] = '/';
		prefix[HS_SCHEMA_PREFIX_MAX + 1] = '\0';
		CHECK_EQ(hs_schema_key_vm(prefix, "web", k, sizeof(k)), -EINVAL);
	}
	return HS_PASS;
}

static enum hs_result key_dirs(void)
{
	static const char *const want[] = {
		NULL,
		"/heliostat/sites/",
		"/heliostat/hosts/",
		"/heliostat/vms/",
		"/heliostat/bindings/",
		"/heliostat/images/",
		"/heliostat/migrations/",
		"/heliostat/sched/leader",
		"/heliostat/agents/",
	};
	char k[HS_SCHEMA_KEY_MAX];

	for (int i = HS_SCHEMA_SITE; i < HS_SCHEMA_KIND_COUNT; i++) {
		CHECK_EQ(hs_schema_key_dir(NULL, (enum hs_schema_kind)i, k, sizeof(k)), 0);
		CHECK_STR(k, want[i]);
	}
	CHECK_EQ(hs_schema_key_dir(NULL, HS_SCHEMA_UNKNOWN, k, sizeof(k)), -EINVAL);
	CHECK_EQ(hs_schema_key_dir(NULL, HS_SCHEMA_KIND_COUNT, k, sizeof(k)), -EINVAL);
	return HS_PASS;
}

static enum hs_result key_kind_known(void)
{
	struct hs_schema_key k;
	struct hs_ip pub = ip("203.0.113.1"), pub6 = ip("2001:db8:f::1");

	/* every example key, and what it names */
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++)
		CHECK_EQ(hs_schema_key_kind(NULL, examples[i].key, strlen(examples[i].key), &k),
			 examples[i].kind);
	CHECK_EQ(hs_schema_key_kind(NULL, "/heliostat/vms/web", 18, &k), HS_SCHEMA_VM);
	CHECK_STR(k.name, "web");
	CHECK_EQ(hs_schema_key_kind(NULL, "/heliostat/migrations/db-2", 26, &k),
		 HS_SCHEMA_MIGRATION);
	CHECK_STR(k.name, "db-2");
	CHECK_EQ(hs_schema_key_kind(NULL, "/heliostat/agents/fra-1", 23, &k), HS_SCHEMA_AGENT);
	CHECK_STR(k.name, "fra-1");
	CHECK_EQ(hs_schema_key_kind(NULL, "/heliostat/sched/leader", 23, &k), HS_SCHEMA_LEADER);
	CHECK_STR(k.name, "");
	CHECK_EQ(hs_schema_key_kind(NULL, "/heliostat/bindings/203.0.113.1,tcp,80", 38, &k),
		 HS_SCHEMA_BINDING);
	CHECK_MEM(&k.pub, &pub, sizeof(pub));
	CHECK_EQ(k.proto, IPPROTO_TCP);
	CHECK_EQ(k.port, 80);
	CHECK_EQ(hs_schema_key_kind(NULL, "/heliostat/bindings/2001:db8:f::1", 33, &k),
		 HS_SCHEMA_BINDING);
	CHECK_MEM(&k.pub, &pub6, sizeof(pub6));
	CHECK_EQ(k.proto, 0);
	CHECK_EQ(k.port, 0);
	/* another prefix; out may be NULL; key_len, not the NUL, ends the key */
	CHECK_EQ(hs_schema_key_kind("/t/", "/t/sites/a", 10, NULL), HS_SCHEMA_SITE);
	CHECK_EQ(hs_schema_key_kind(NULL, "/heliostat/sites/abc", 18, &k), HS_SCHEMA_SITE);
	CHECK_STR(k.name, "a");
	/* builders and the classifier agree */
	{
		char key[HS_SCHEMA_KEY_MAX];

		CHECK_EQ(hs_schema_key_binding("/p/", &pub6, IPPROTO_UDP, 5353, key, sizeof(key)),
			 0);
		CHECK_EQ(hs_schema_key_kind("/p/", key, strlen(key), &k), HS_SCHEMA_BINDING);
		CHECK_EQ(k.port, 5353);
		CHECK_EQ(k.proto, IPPROTO_UDP);
	}
	CHECK_STR(hs_schema_kind_name(HS_SCHEMA_MIGRATION), "migration");
	CHECK_STR(hs_schema_kind_name((enum hs_schema_kind)99), "unknown");
	return HS_PASS;
}

static enum hs_result key_kind_unknown(void)
{
	static const char *const keys[] = {
		"/other/vms/web",
		"/heliostat/vm/web",
		"/heliostat/vms",
		"/heliostat/vms/",
		"/heliostat/vms/Web",
		"/heliostat/vms/web/",
		"/heliostat/vms/web/disk",
		"/heliostat//vms/web",
		"/heliostat/",
		"/heliostat",
		"heliostat/vms/web",
		"/heliostat/sched/leaderx",
		"/heliostat/sched/web",
		"/heliostat/leader",
		"/heliostat/bindings/203.0.113.01",
		"/heliostat/bindings/2001:DB8::1",
		"/heliostat/bindings/2001:db8:0::1",
		"/heliostat/bindings/::ffff:203.0.113.1",
		"/heliostat/bindings/203.0.113.1,tcp",
		"/heliostat/bindings/203.0.113.1,tcp,",
		"/heliostat/bindings/203.0.113.1,tcp,0",
		"/heliostat/bindings/203.0.113.1,tcp,080",
		"/heliostat/bindings/203.0.113.1,tcp,65536",
		"/heliostat/bindings/203.0.113.1,tcp,80,",
		"/heliostat/bindings/203.0.113.1,sctp,80",
		"/heliostat/bindings/203.0.113.1,,80",
		"/heliostat/bindings/224.0.0.1",
		"/heliostat/bindings/",
		"/heliostat/bindings/,tcp,80",
		/* a 64-character name */
		("/heliostat/agents/"
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	};
	struct hs_schema_key k;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		memset(&k, 0x5a, sizeof(k));
		if (!CHECK_EQ(hs_schema_key_kind(NULL, keys[i], strlen(keys[i]), &k),
			      HS_SCHEMA_UNKNOWN))
			printf("    key %s\n", keys[i]);
		CHECK_EQ(k.kind, HS_SCHEMA_UNKNOWN);
		CHECK_STR(k.name, "");
	}
	/* a NUL inside the key, NULL key, bad prefix, huge key */
	CHECK_EQ(hs_schema_key_kind(NULL, "/heliostat/vms/a\0b", 18, &k), HS_SCHEMA_UNKNOWN);
	CHECK_EQ(hs_schema_key_kind(NULL, NULL, 0, &k), HS_SCHEMA_UNKNOWN);
	CHECK_EQ(hs_schema_key_kind("/heliostat", "/heliostat/vms/a", 16, &k), HS_SCHEMA_UNKNOWN);
	{
		char big[HS_SCHEMA_KEY_MAX + 8];

		memset(big, 'a', sizeof(big));
		memcpy(big, "/heliostat/vms/", 15);
		CHECK_EQ(hs_schema_key_kind(NULL, big, sizeof(big), &k), HS_SCHEMA_UNKNOWN);
	}
	return HS_PASS;
}

/* ---- migration states ---- */

static enum hs_result migration_states(void)
{
	enum {
		P = HS_SCHEMA_MIG_PENDING,
		R = HS_SCHEMA_MIG_RUNNING,
		S = HS_SCHEMA_MIG_SWITCHOVER,
		D = HS_SCHEMA_MIG_DONE,
		F = HS_SCHEMA_MIG_FAILED,
		C = HS_SCHEMA_MIG_CANCELLED
	};
	/* allowed[a] is a bit set of the states b that may follow a (a == b always may) */
	static const unsigned int allowed[] = {
		[P] = 1 << R | 1 << F | 1 << C,
		[R] = 1 << S | 1 << F | 1 << C,
		[S] = 1 << D | 1 << F,
		[D] = 0,
		[F] = 0,
		[C] = 0,
	};

	for (int a = 0; a < HS_SCHEMA_MIG_STATE_COUNT; a++)
		for (int b = 0; b < HS_SCHEMA_MIG_STATE_COUNT; b++)
			if (!CHECK_EQ(hs_schema_mig_next_ok((enum hs_schema_mig_state)a,
							    (enum hs_schema_mig_state)b),
				      a == b || (allowed[a] >> b & 1)))
				printf("    %s -> %s\n",
				       hs_schema_mig_state_name((enum hs_schema_mig_state)a),
				       hs_schema_mig_state_name((enum hs_schema_mig_state)b));
	CHECK(!hs_schema_mig_next_ok(HS_SCHEMA_MIG_STATE_COUNT, HS_SCHEMA_MIG_PENDING));
	CHECK_STR(hs_schema_mig_state_name(HS_SCHEMA_MIG_SWITCHOVER), "switchover");
	CHECK(hs_schema_mig_state_name(HS_SCHEMA_MIG_STATE_COUNT) == NULL);
	/* every state name parses */
	for (int s = 0; s < HS_SCHEMA_MIG_STATE_COUNT; s++) {
		union hs_schema_record r;
		char *json = NULL;
		struct hs_schema_migration back;
		char why[128];

		log_reset();
		ex_migration(&r);
		r.migration.state = (enum hs_schema_mig_state)s;
		ASSERT_EQ(hs_schema_encode_migration(&r.migration, &json), 0);
		CHECK_EQ(hs_schema_parse_migration("migrations/web", json, strlen(json), &back, why,
						   sizeof(why)),
			 0);
		CHECK_EQ(back.state, s);
		free(json);
	}
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static enum hs_result names(void)
{
	static const char *const good[] = {
		"a",
		"0",
		"web-1",
		"9lives",
		"a-",
		"a--b",
		"abcdefghijklmnopqrstuvwxyz0123456789-abcdefghijklmnopqrstuvwxyz"};
	static const char *const bad[] = {
		"",
		"-a",
		"A",
		"a_b",
		"a.b",
		"a b",
		"a/b",
		"\xc3\xa9",
		"abcdefghijklmnopqrstuvwxyz0123456789-abcdefghijklmnopqrstuvwxyz0"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!CHECK(hs_schema_name_ok(good[i])))
			printf("    '%s'\n", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!CHECK(!hs_schema_name_ok(bad[i])))
			printf("    '%s'\n", bad[i]);
	CHECK(!hs_schema_name_ok(NULL));
	return HS_PASS;
}

static const struct hs_test tests[] = {
	{"roundtrip_site", roundtrip_site},
	{"roundtrip_host", roundtrip_host},
	{"roundtrip_host_defaults", roundtrip_host_defaults},
	{"roundtrip_vm", roundtrip_vm},
	{"roundtrip_vm_ipv6_only", roundtrip_vm_ipv6_only},
	{"roundtrip_binding", roundtrip_binding},
	{"roundtrip_image", roundtrip_image},
	{"roundtrip_migration", roundtrip_migration},
	{"roundtrip_leader", roundtrip_leader},
	{"roundtrip_agent", roundtrip_agent},
	{"roundtrip_largest", roundtrip_largest},
	{"invalid_site", invalid_site},
	{"invalid_host", invalid_host},
	{"invalid_vm", invalid_vm},
	{"invalid_binding", invalid_binding},
	{"invalid_image", invalid_image},
	{"invalid_migration", invalid_migration},
	{"invalid_leader", invalid_leader},
	{"invalid_agent", invalid_agent},
	{"version_too_new", version_too_new},
	{"version_bad", version_bad},
	{"unknown_fields", unknown_fields},
	{"null_fields", null_fields},
	{"key_name_mismatch", key_name_mismatch},
	{"key_wrong_dir", key_wrong_dir},
	{"key_forms_accepted", key_forms_accepted},
	{"malformed_json", malformed_json},
	{"trailing_newline_accepted", trailing_newline_accepted},
	{"unterminated_buffer", unterminated_buffer},
	{"huge_input", huge_input},
	{"integer_edges", integer_edges},
	{"text_fields", text_fields},
	{"encode_refuses_invalid", encode_refuses_invalid},
	{"check_functions", check_functions},
	{"parse_leaves_output", parse_leaves_output},
	{"key_builders", key_builders},
	{"key_dirs", key_dirs},
	{"key_kind_known", key_kind_known},
	{"key_kind_unknown", key_kind_unknown},
	{"migration_states", migration_states},
	{"names", names},
};
HS_TEST_MAIN("lib/schema", tests)
