// SPDX-License-Identifier: GPL-2.0
/* Unit tests for lib/log: level filtering, names, newline handling, and
 * libbpf messages routed through the module. */
#include <bpf/libbpf.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* The stderr line of one message (stderr to a file); stamps 0 or 1 sets
 * them for it, -1 keeps what hs_log_daemon_stamps() chose. */
static int stderr_line(int stamps, char *out, size_t n)
{
	FILE *f = tmpfile();
	int saved = dup(2), rc = -1;

	if (!f || saved < 0 || dup2(fileno(f), 2) < 0)
		goto out;
	hs_log_set_hook(NULL);
	hs_log_init("t", HS_LOG_STDERR, HS_LOG_INFO);
	if (stamps >= 0)
		hs_log_set_stamps(stamps);
	hs_info("hello %d", 7);
	hs_log_set_stamps(false);
	fflush(stderr);
	dup2(saved, 2);
	rewind(f);
	if (fgets(out, (int)n, f))
		rc = 0;
out:
	if (saved >= 0)
		close(saved);
	if (f)
		fclose(f);
	return rc;
}

static enum hs_result daemon_stamps(void)
{
	char line[256];
	struct tm tm = {0};
	const char *rest;
	time_t now = time(NULL), then;

	ASSERT_EQ(stderr_line(0, line, sizeof(line)), 0);
	ASSERT_STR(line, "t: info: hello 7\n");
	ASSERT_EQ(stderr_line(1, line, sizeof(line)), 0);
	/* 2026-01-31T12:00:00.123Z t: info: hello 7 */
	rest = strptime(line, "%Y-%m-%dT%H:%M:%S", &tm);
	ASSERT(rest != NULL);
	ASSERT(rest[0] == '.' && isdigit((unsigned char)rest[1]) &&
	       isdigit((unsigned char)rest[2]) && isdigit((unsigned char)rest[3]));
	ASSERT_STR(rest + 4, "Z t: info: hello 7\n");
	then = timegm(&tm);
	ASSERT(then <= now + 1 && then >= now - 5);
	/* a daemon stamps its lines, except under systemd, whose journal
	 * stamps them itself */
	unsetenv("JOURNAL_STREAM");
	hs_log_daemon_stamps();
	ASSERT_EQ(stderr_line(-1, line, sizeof(line)), 0);
	ASSERT_STR(line + 25, "t: info: hello 7\n");
	ASSERT(line[4] == '-' && line[10] == 'T' && line[23] == 'Z');
	setenv("JOURNAL_STREAM", "8:1234", 1);
	hs_log_daemon_stamps();
	unsetenv("JOURNAL_STREAM");
	ASSERT_EQ(stderr_line(-1, line, sizeof(line)), 0);
	ASSERT_STR(line, "t: info: hello 7\n");
	hs_log_set_stamps(false);
	reset();
	return HS_PASS;
}

static const struct hs_test tests[] = {
	{"daemon_stamps", daemon_stamps},	  {"level_filter", level_filter},
	{"trailing_newlines", trailing_newlines}, {"parse_level", parse_level},
	{"libbpf_routed", libbpf_routed},	  {"long_line_truncated", long_line_truncated},
};
HS_TEST_MAIN("lib/log", tests)
