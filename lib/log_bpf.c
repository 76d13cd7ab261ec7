// SPDX-License-Identifier: GPL-2.0
/*
 * Route libbpf's and libxdp's print callbacks into hs_log, so their
 * messages carry our ident, obey our level and reach syslog as a daemon.
 * Kept apart from log.c so binaries that never touch BPF do not link libbpf.
 */
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "lib/log.h"

static enum hs_log_level map_libbpf(enum libbpf_print_level l)
{
	switch (l) {
	case LIBBPF_WARN:
		return HS_LOG_WARN;
	case LIBBPF_INFO: /* chatty (skipped ELF sections...): debug */
	default:
		return HS_LOG_DEBUG;
	}
}

static int print_libbpf(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	hs_vlog(map_libbpf(l), fmt, ap);
	return 0;
}

static int print_libxdp(enum libxdp_print_level l, const char *fmt, va_list ap)
{
	enum hs_log_level lvl = l == LIBXDP_WARN   ? HS_LOG_WARN
				: l == LIBXDP_INFO ? HS_LOG_INFO
						   : HS_LOG_DEBUG;

	hs_vlog(lvl, fmt, ap);
	return 0;
}

void hs_log_route_libbpf(void)
{
	libbpf_set_print(print_libbpf);
}

void hs_log_route_libxdp(void)
{
	libxdp_set_print(print_libxdp);
}
