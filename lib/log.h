/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One logging module for every heliostat binary. Messages go to stderr in
 * the foreground and to syslog (the journal) when running as a daemon;
 * libbpf and libxdp messages are routed here too (log_bpf.c).
 */
#ifndef HS_LOG_H
#define HS_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum hs_log_level {
	HS_LOG_ERR,
	HS_LOG_WARN,
	HS_LOG_INFO,
	HS_LOG_DEBUG,
};

enum hs_log_sink {
	HS_LOG_STDERR,
	HS_LOG_SYSLOG,
};

/* ident names the program in every line; sink picks stderr or syslog. */
void hs_log_init(const char *ident, enum hs_log_sink sink, enum hs_log_level level);
/* Daemons: stderr lines start with the UTC time to the millisecond
 * (2026-01-31T12:00:00.123Z), unless stderr is the systemd journal
 * (JOURNAL_STREAM set), which stamps them itself. */
void hs_log_daemon_stamps(void);
void hs_log_set_stamps(bool on);
void hs_log_set_level(enum hs_log_level level);
enum hs_log_level hs_log_get_level(void);
/* Parses "err", "warn", "info", "debug"; returns 0 or -EINVAL. */
int hs_log_parse_level(const char *s, enum hs_log_level *level);
const char *hs_log_level_name(enum hs_log_level level);

/* Test hook: when set, formatted lines go to this callback instead. */
typedef void (*hs_log_hook_fn)(enum hs_log_level level, const char *line);
void hs_log_set_hook(hs_log_hook_fn fn);

void hs_log(enum hs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void hs_vlog(enum hs_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define hs_err(...) hs_log(HS_LOG_ERR, __VA_ARGS__)
#define hs_warn(...) hs_log(HS_LOG_WARN, __VA_ARGS__)
#define hs_info(...) hs_log(HS_LOG_INFO, __VA_ARGS__)
#define hs_debug(...) hs_log(HS_LOG_DEBUG, __VA_ARGS__)

/* Route libbpf's and libxdp's messages through hs_log (log_bpf.c). */
void hs_log_route_libbpf(void);
void hs_log_route_libxdp(void);

#endif
