// SPDX-License-Identifier: GPL-2.0
/* Unit tests for lib/config: typed getters, ranges, unknown and repeated
 * keys, syntax errors reported with their line. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/log.h"
#include "selftests/test.h"

static char errline[1024];

static void capture(enum hs_log_level level, const char *line)
{
	if (level == HS_LOG_ERR)
		snprintf(errline, sizeof(errline), "%s", line);
}

static const char good[] = "[node]\n"
			   "name = host-a\n"
			   "mtu = 1500\n"
			   "ipv6 = yes\n"
			   "; comment\n"
			   "[log]\n"
			   "level = debug\n";

static enum hs_result typed_getters(void)
{
	struct hs_cfg *cfg;
	const char *s;
	uint32_t mtu;
	bool v6;

	ASSERT_EQ(hs_cfg_load_string("good.conf", good, &cfg), 0);
	ASSERT_EQ(hs_cfg_str(cfg, "node", "name", NULL, &s), 0);
	CHECK_STR(s, "host-a");
	ASSERT_EQ(hs_cfg_u32(cfg, "node", "mtu", 0, 576, 9000, &mtu), 0);
	CHECK_EQ(mtu, 1500);
	ASSERT_EQ(hs_cfg_bool(cfg, "node", "ipv6", false, &v6), 0);
	CHECK(v6);
	ASSERT_EQ(hs_cfg_u32(cfg, "node", "vni", 42, 0, 0xffffff, &mtu), -ENOENT);
	CHECK_EQ(mtu, 42);
	hs_cfg_free(cfg);
	return HS_PASS;
}

static enum hs_result out_of_range(void)
{
	struct hs_cfg *cfg;
	uint32_t mtu;

	hs_log_set_hook(capture);
	ASSERT_EQ(hs_cfg_load_string("r.conf", "[node]\nmtu = 100000\n", &cfg), 0);
	ASSERT_EQ(hs_cfg_u32(cfg, "node", "mtu", 1500, 576, 9000, &mtu), -EINVAL);
	CHECK_EQ(mtu, 1500);
	CHECK(strstr(errline, "r.conf:2") != NULL);
	hs_cfg_free(cfg);
	ASSERT_EQ(hs_cfg_load_string("r.conf", "[node]\nmtu = 15x0\n", &cfg), 0);
	ASSERT_EQ(hs_cfg_u32(cfg, "node", "mtu", 1500, 576, 9000, &mtu), -EINVAL);
	ASSERT_EQ(hs_cfg_load_string("r2.conf", "[node]\nmtu = -1\n", &cfg), 0);
	ASSERT_EQ(hs_cfg_u32(cfg, "node", "mtu", 1500, 0, UINT32_MAX, &mtu), -EINVAL);
	hs_cfg_free(cfg);
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static enum hs_result unknown_and_repeated_keys(void)
{
	static hs_cfg_keys known = {"node.name", "node.mtu", NULL};
	struct hs_cfg *cfg;

	hs_log_set_hook(capture);
	ASSERT_EQ(hs_cfg_load_string("u.conf", "[node]\nname=a\nmtux=1\n", &cfg), 0);
	ASSERT_EQ(hs_cfg_check_keys(cfg, known), -EINVAL);
	CHECK(strstr(errline, "u.conf:3: unknown key node.mtux") != NULL);
	hs_cfg_free(cfg);
	/* "nodes.name" must not match "node.name" by prefix. */
	ASSERT_EQ(hs_cfg_load_string("p.conf", "[nod]\ne.name=a\n", &cfg), 0);
	ASSERT_EQ(hs_cfg_check_keys(cfg, known), -EINVAL);
	hs_cfg_free(cfg);
	ASSERT_EQ(hs_cfg_load_string("d.conf", "[node]\nname=a\nname=b\n", &cfg), -EINVAL);
	CHECK(strstr(errline, "repeated") != NULL);
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static enum hs_result syntax_error(void)
{
	struct hs_cfg *cfg = NULL;

	hs_log_set_hook(capture);
	ASSERT_EQ(hs_cfg_load_string("s.conf", "[node]\nname=a\n[broken\n", &cfg), -EINVAL);
	CHECK(cfg == NULL);
	CHECK(strstr(errline, "s.conf:3: syntax error") != NULL);
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static enum hs_result from_file(void)
{
	char path[] = "/tmp/hs-test-config-XXXXXX";
	struct hs_cfg *cfg;
	const char *s;
	int fd = mkstemp(path);

	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, good, sizeof(good) - 1), (long)sizeof(good) - 1);
	close(fd);
	ASSERT_EQ(hs_cfg_load(path, &cfg), 0);
	unlink(path);
	ASSERT_EQ(hs_cfg_str(cfg, "log", "level", NULL, &s), 0);
	CHECK_STR(s, "debug");
	hs_cfg_free(cfg);
	hs_log_set_hook(capture);
	ASSERT_EQ(hs_cfg_load("/nonexistent/hs.conf", &cfg), -ENOENT);
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static int collect(const char *section, void *arg)
{
	strcat(arg, section);
	strcat(arg, ";");
	return 0;
}

static enum hs_result named_sections(void)
{
	static hs_cfg_keys known = {"node.name", "vm *.mac", "vm *.address", NULL};
	char seen[256] = "";
	struct hs_cfg *cfg;
	const char *s;

	hs_log_set_hook(capture);
	ASSERT_EQ(hs_cfg_load_string("n.conf",
				     "[node]\nname=a\n[vm web]\nmac=m1\naddress=a1\n"
				     "[vm db]\nmac=m2\n[vm web]\n",
				     &cfg),
		  0);
	ASSERT_EQ(hs_cfg_check_keys(cfg, known), 0);
	ASSERT_EQ(hs_cfg_sections(cfg, "vm ", collect, seen), 0);
	CHECK_STR(seen, "vm web;vm db;");
	ASSERT_EQ(hs_cfg_str(cfg, "vm db", "mac", NULL, &s), 0);
	CHECK_STR(s, "m2");
	hs_cfg_free(cfg);
	/* a wildcard needs a name, and only its own keys */
	ASSERT_EQ(hs_cfg_load_string("w.conf", "[vm ]\nmac=m\n[vm x]\nram=1\n", &cfg), 0);
	ASSERT_EQ(hs_cfg_check_keys(cfg, known), -EINVAL);
	CHECK(strstr(errline, "unknown key vm x.ram") != NULL);
	hs_cfg_free(cfg);
	ASSERT_EQ(hs_cfg_load_string("v.conf", "[vmx y]\nmac=m\n", &cfg), 0);
	ASSERT_EQ(hs_cfg_check_keys(cfg, known), -EINVAL);
	hs_cfg_free(cfg);
	hs_log_set_hook(NULL);
	return HS_PASS;
}

static const struct hs_test tests[] = {
	{"named_sections", named_sections},
	{"typed_getters", typed_getters},
	{"out_of_range", out_of_range},
	{"unknown_and_repeated_keys", unknown_and_repeated_keys},
	{"syntax_error", syntax_error},
	{"from_file", from_file},
};
HS_TEST_MAIN("lib/config", tests)
