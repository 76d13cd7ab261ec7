// SPDX-License-Identifier: GPL-2.0
/* Unit tests for lib/log: level filtering, names, newline handling, and
 * libbpf messages routed through the module. */
#include <bpf/libbpf.h>
#include <errno.h>

#include "lib/log.h"
#include "selftests/test.h"

static char last[1024];
static int last_level = -1, lines;

static void capture(enum hs_log_level level, const char *line)
{
	snprintf(last, sizeof(last), "%s", line);
	last_level = level;
	lines++;
}

static void reset(void)
{
	last[0] = '\0';
	last_level = -1;
	lines = 0;
	hs_log_set_hook(capture);
}

static enum hs_result level_filter(void)
{
	reset();
	hs_log_init("t", HS_LOG_STDERR, HS_LOG_WARN);
	hs_info("not shown %d", 1);
	ASSERT_EQ(lines, 0);
	hs_warn("shown %d", 2);
	ASSERT_EQ(lines, 1);
	ASSERT_STR(last, "shown 2");
	ASSERT_EQ(last_level, HS_LOG_WARN);
	hs_log_set_level(HS_LOG_DEBUG);
	hs_debug("dbg");
	ASSERT_EQ(lines, 2);
	return HS_PASS;
}

static enum hs_result trailing_newlines(void)
{
	reset();
	hs_log_init("t", HS_LOG_STDERR, HS_LOG_INFO);
	hs_info("libbpf style\n\n");
	ASSERT_STR(last, "libbpf style");
	return HS_PASS;
}

static enum hs_result parse_level(void)
{
	enum hs_log_level l = HS_LOG_ERR;

	ASSERT_EQ(hs_log_parse_level("debug", &l), 0);
	ASSERT_EQ(l, HS_LOG_DEBUG);
	ASSERT_EQ(hs_log_parse_level("loud", &l), -EINVAL);
	ASSERT_EQ(hs_log_parse_level(NULL, &l), -EINVAL);
	ASSERT_EQ(l, HS_LOG_DEBUG);
	ASSERT_STR(hs_log_level_name(HS_LOG_WARN), "warn");
	return HS_PASS;
}

static enum hs_result libbpf_routed(void)
{
	struct bpf_object *obj;

	reset();
	hs_log_init("t", HS_LOG_STDERR, HS_LOG_DEBUG);
	hs_log_route_libbpf();
	/* Opening a missing file makes libbpf print a warning. */
	obj = bpf_object__open_file("/nonexistent/heliostat.bpf.o", NULL);
	ASSERT(libbpf_get_error(obj) != 0);
	ASSERT(lines > 0);
	ASSERT(strstr(last, "heliostat.bpf.o") != NULL || lines > 0);
	return HS_PASS;
}

static enum hs_result long_line_truncated(void)
{
	char big[4000];

	reset();
	hs_log_init("t", HS_LOG_STDERR, HS_LOG_INFO);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	hs_info("%s", big);
	ASSERT_EQ(strlen(last), 1023);
	return HS_PASS;
}

static const struct hs_test tests[] = {
	{"level_filter", level_filter},
	{"trailing_newlines", trailing_newlines},
	{"parse_level", parse_level},
	{"libbpf_routed", libbpf_routed},
	{"long_line_truncated", long_line_truncated},
};
HS_TEST_MAIN("lib/log", tests)
