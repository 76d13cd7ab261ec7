// SPDX-License-Identifier: GPL-2.0
/*
 * Logging: level filter, stderr or syslog sink, and a hook so tests can
 * capture what would be printed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "lib/log.h"

static const char *log_ident = "heliostat";
static enum hs_log_sink log_sink = HS_LOG_STDERR;
static enum hs_log_level log_level = HS_LOG_INFO;
static hs_log_hook_fn log_hook;
static bool log_stamps;

static const char *const level_names[] = {
	[HS_LOG_ERR] = "err",
	[HS_LOG_WARN] = "warn",
	[HS_LOG_INFO] = "info",
	[HS_LOG_DEBUG] = "debug",
};

static const int level_prio[] = {
	[HS_LOG_ERR] = LOG_ERR,
	[HS_LOG_WARN] = LOG_WARNING,
	[HS_LOG_INFO] = LOG_INFO,
	[HS_LOG_DEBUG] = LOG_DEBUG,
};

void hs_log_init(const char *ident, enum hs_log_sink sink, enum hs_log_level level)
{
	if (log_sink == HS_LOG_SYSLOG)
		closelog();
	log_ident = ident ? ident : "heliostat";
	log_sink = sink;
	log_level = level;
	if (sink == HS_LOG_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void hs_log_daemon_stamps(void)
{
	log_stamps = !getenv("JOURNAL_STREAM");
}

void hs_log_set_stamps(bool on)
{
	log_stamps = on;
}

void hs_log_set_level(enum hs_log_level level)
{
	log_level = level;
}

enum hs_log_level hs_log_get_level(void)
{
	return log_level;
}

const char *hs_log_level_name(enum hs_log_level level)
{
	if ((unsigned int)level > HS_LOG_DEBUG)
		return "?";
	return level_names[level];
}

int hs_log_parse_level(const char *s, enum hs_log_level *level)
{
	for (unsigned int i = 0; i <= HS_LOG_DEBUG; i++) {
		if (s && strcmp(s, level_names[i]) == 0) {
			*level = i;
			return 0;
		}
	}
	return -EINVAL;
}

void hs_log_set_hook(hs_log_hook_fn fn)
{
	log_hook = fn;
}

void hs_vlog(enum hs_log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	if ((unsigned int)level > HS_LOG_DEBUG)
		level = HS_LOG_ERR;
	if (level > log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	/* Callers' and libraries' messages may or may not end in '\n'. */
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';

	if (log_hook) {
		log_hook(level, line);
		return;
	}
	if (log_sink == HS_LOG_SYSLOG) {
		syslog(level_prio[level], "%s", line);
		return;
	}
	if (log_stamps) {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %s: %s: %s\n", when, ts.tv_nsec / 1000000, log_ident,
			level_names[level], line);
		return;
	}
	fprintf(stderr, "%s: %s: %s\n", log_ident, level_names[level], line);
}

void hs_log(enum hs_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hs_vlog(level, fmt, ap);
	va_end(ap);
}
