// SPDX-License-Identifier: GPL-2.0
/*
 * hsctl's argument parsing: getopt_long over a per-command table, and strict
 * parsers for the values that end up in records. Every error names the
 * option and the value, so the operator sees what to fix; nothing is sent
 * to etcd before all of a command's arguments have parsed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl/hsctl.h"
#include "lib/log.h"
#include "lib/parse.h"

int ctl_parse_args(int argc, char **argv, const struct option *opts, int min_pos, int max_pos,
		   const char *usage, struct ctl_args *a)
{
	int opt;

	memset(a, 0, sizeof(*a));
	/* argv[0] is the subcommand; optind 0 re-initializes getopt for it */
	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (opt == '?') {
			hs_err("unknown option '%s'; usage: hsctl %s", argv[optind - 1], usage);
			return -EINVAL;
		}
		if (opt == ':') {
			hs_err("option '%s' needs a value; usage: hsctl %s", argv[optind - 1],
			       usage);
			return -EINVAL;
		}
		if (opt < 1 || opt > CTL_MAX_OPTS)
			return -EINVAL; /* a bad table: a bug */
		if (a->val[opt - 1]) {
			hs_err("option '--%s' given twice", opts[opt - 1].name);
			return -EINVAL;
		}
		a->val[opt - 1] = optarg ? optarg : "";
	}
	for (int i = optind; i < argc; i++) {
		if (a->npos >= max_pos || a->npos >= CTL_MAX_POS) {
			hs_err("unexpected argument '%s'; usage: hsctl %s", argv[i], usage);
			return -EINVAL;
		}
		a->pos[a->npos++] = argv[i];
	}
	if (a->npos < min_pos) {
		hs_err("missing argument; usage: hsctl %s", usage);
		return -EINVAL;
	}
	return 0;
}

int ctl_parse_name(const char *what, const char *s, char out[HS_SCHEMA_NAME_MAX])
{
	if (!hs_schema_name_ok(s)) {
		hs_err("%s: '%s' is not a name (1-63 of a-z, 0-9 and '-', not starting with '-')",
		       what, s);
		return -EINVAL;
	}
	snprintf(out, HS_SCHEMA_NAME_MAX, "%s", s);
	return 0;
}

int ctl_parse_uint(const char *what, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (hs_parse_u64(s, &v) || v < min || v > max) {
		hs_err("%s: '%s' is not a number in %llu..%llu", what, s, (unsigned long long)min,
		       (unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int ctl_parse_ip(const char *what, const char *s, int family, struct hs_ip *out)
{
	struct hs_ip ip;
	int fam;

	if (hs_parse_ip(s, ip.b, &fam)) {
		hs_err("%s: '%s' is not an IP address", what, s);
		return -EINVAL;
	}
	if (family && fam != family) {
		hs_err("%s: '%s' is not an %s address", what, s,
		       family == AF_INET ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	/* ::ffff:a.b.c.d would be stored as the IPv4 address: say so */
	if (fam == AF_INET6 && hs_ip_is_v4(ip.b)) {
		hs_err("%s: '%s' is IPv4-mapped; give the IPv4 address", what, s);
		return -EINVAL;
	}
	*out = ip;
	return 0;
}

int ctl_parse_mac(const char *what, const char *s, uint8_t mac[6])
{
	if (hs_parse_mac(s, mac)) {
		hs_err("%s: '%s' is not a MAC address (aa:bb:cc:dd:ee:ff)", what, s);
		return -EINVAL;
	}
	return 0;
}

int ctl_parse_proto(const char *what, const char *s, uint8_t *proto)
{
	if (!strcmp(s, "tcp"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(s, "udp"))
		*proto = IPPROTO_UDP;
	else {
		hs_err("%s: '%s': expected tcp or udp", what, s);
		return -EINVAL;
	}
	return 0;
}

int ctl_parse_roles(const char *what, const char *s, uint32_t *roles)
{
	uint32_t r = 0;
	const char *p = s;

	while (*p) {
		size_t n = strcspn(p, ",");
		uint32_t bit = 0;

		if (n == 8 && !strncmp(p, "frontend", n))
			bit = HS_SCHEMA_ROLE_FRONTEND;
		else if (n == 4 && !strncmp(p, "host", n))
			bit = HS_SCHEMA_ROLE_HOST;
		if (!bit || (r & bit)) {
			hs_err("%s: '%s': expected a list of frontend and host, each at most once",
			       what, s);
			return -EINVAL;
		}
		r |= bit;
		p += n;
		if (*p == ',' && !*++p)
			break; /* trailing comma: caught below */
	}
	if (!r || s[strlen(s) - 1] == ',') {
		hs_err("%s: '%s': expected a list of frontend and host, each at most once", what,
		       s);
		return -EINVAL;
	}
	*roles = r;
	return 0;
}

const char *ctl_proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "tcp" : proto == IPPROTO_UDP ? "udp" : "any";
}

bool ctl_ip_zero(const struct hs_ip *ip)
{
	static const struct hs_ip zero;

	return !memcmp(ip, &zero, sizeof(zero));
}

const char *ctl_roles_text(uint32_t roles, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", roles & HS_SCHEMA_ROLE_FRONTEND ? "frontend" : "",
		 (roles & HS_SCHEMA_ROLE_FRONTEND) && (roles & HS_SCHEMA_ROLE_HOST) ? "," : "",
		 roles & HS_SCHEMA_ROLE_HOST ? "host" : "");
	return buf;
}
