// SPDX-License-Identifier: GPL-2.0
/*
 * hsctl: the operator's command for heliostat's cluster state in etcd
 * (docs/schema.md): sites, hosts, VMs and public bindings, with reference
 * checks at write time, migration requests and their progress, and which
 * node agents are alive and caught up.
 * See docs/hsctl.8. Exit status: 0 done, 1 refused or etcd failed, 2 bad
 * arguments (then nothing was sent to etcd).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/hsctl.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/parse.h"

#define DEFAULT_ENDPOINT "http://127.0.0.1:2379"
#define MAX_ENDPOINTS 16

struct ctl ctl = {.prefix = HS_SCHEMA_PREFIX};

static const char usage_text[] =
	"usage: hsctl [GLOBAL OPTIONS] COMMAND [ARGS] [--json]\n"
	"\n"
	"Sites:\n"
	"  site add NAME [--description TEXT]\n"
	"  site list | site show NAME | site del NAME [--force]\n"
	"Hosts:\n"
	"  host add NAME --site SITE [--underlay4 ADDR] [--underlay6 ADDR] --vni N\n"
	"           [--port N] --mtu N [--roles frontend,host]\n"
	"  host list | host show NAME | host del NAME [--force]\n"
	"VMs:\n"
	"  vm add NAME --id N [--address ADDR] [--address6 ADDR] --mac MAC --host HOST\n"
	"         [--entry HOST]\n"
	"  vm move NAME --to HOST [--forward-for SECONDS] [--force]\n"
	"  vm list | vm show NAME | vm del NAME [--force]\n"
	"Public bindings:\n"
	"  binding add PUBLIC --vm NAME --frontend HOST [--proto tcp|udp --port N [--vm-port N]]\n"
	"  binding list | binding show|del PUBLIC [--proto tcp|udp --port N]\n"
	"Migrations:\n"
	"  migrate VM --to HOST [--reason TEXT] [--follow] [--timeout SECONDS]\n"
	"  migration list | migration show VM | migration follow VM [--timeout SECONDS]\n"
	"  migration cancel VM\n"
	"Agents:\n"
	"  status\n"
	"\n"
	"Global options:\n"
	"  --endpoints URL[,URL...]  etcd client URLs (default $HSCTL_ENDPOINTS, else\n"
	"                            " DEFAULT_ENDPOINT ")\n"
	"  --prefix PREFIX           key prefix (default " HS_SCHEMA_PREFIX ")\n"
	"  --cacert FILE, --cert FILE, --key FILE   TLS to etcd\n"
	"  --timeout SECONDS         per request and endpoint (default 5)\n"
	"  --json                    machine-readable output\n"
	"  --log-level LEVEL         err, warn, info (default) or debug\n"
	"  --help\n"
	"\n"
	"Exit status: 0 done, 1 refused or etcd failed, 2 bad arguments (nothing sent).\n";

int ctl_etcd_failed(const char *what, int err)
{
	hs_err("cannot %s: etcd at %s: %s", what, ctl.endpoints, hs_strerr(err));
	return err;
}

/* Splits "URL,URL" into eps[]; 0 or -EINVAL. */
static int split_endpoints(char *list, const char **eps, unsigned int *n)
{
	char *save = NULL;

	*n = 0;
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (*n >= MAX_ENDPOINTS) {
			hs_err("--endpoints: more than %d URLs", MAX_ENDPOINTS);
			return -EINVAL;
		}
		eps[(*n)++] = t;
	}
	if (!*n) {
		hs_err("--endpoints: no URL given");
		return -EINVAL;
	}
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{"site", ctl_cmd_site},		  {"host", ctl_cmd_host},     {"vm", ctl_cmd_vm},
	{"binding", ctl_cmd_binding},	  {"status", ctl_cmd_status}, {"migrate", ctl_cmd_migrate},
	{"migration", ctl_cmd_migration},
};

int main(int argc, char **argv)
{
	enum { O_ENDPOINTS = 1, O_PREFIX, O_CACERT, O_CERT, O_KEY, O_TIMEOUT, O_LOG };
	static const struct option lopts[] = {{"endpoints", required_argument, NULL, O_ENDPOINTS},
					      {"prefix", required_argument, NULL, O_PREFIX},
					      {"cacert", required_argument, NULL, O_CACERT},
					      {"cert", required_argument, NULL, O_CERT},
					      {"key", required_argument, NULL, O_KEY},
					      {"timeout", required_argument, NULL, O_TIMEOUT},
					      {"log-level", required_argument, NULL, O_LOG},
					      {"json", no_argument, NULL, 'j'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	struct hs_etcd_opts eo = {0};
	const char *eps[MAX_ENDPOINTS];
	enum hs_log_level level;
	char dir[HS_SCHEMA_KEY_MAX];
	char *eplist = NULL;
	uint64_t timeout = 5;
	int opt, rc = CTL_USAGE;

	hs_log_init("hsctl", HS_LOG_STDERR, HS_LOG_INFO);
	ctl.endpoints = getenv("HSCTL_ENDPOINTS");
	if (!ctl.endpoints || !*ctl.endpoints)
		ctl.endpoints = DEFAULT_ENDPOINT;
	opterr = 0;
	/* "+": global options stop at the command, which parses the rest */
	while ((opt = getopt_long(argc, argv, "+:h", lopts, NULL)) != -1) {
		switch (opt) {
		case O_ENDPOINTS:
			ctl.endpoints = optarg;
			break;
		case O_PREFIX:
			ctl.prefix = optarg;
			break;
		case O_CACERT:
			eo.ca_file = optarg;
			break;
		case O_CERT:
			eo.cert_file = optarg;
			break;
		case O_KEY:
			eo.key_file = optarg;
			break;
		case O_TIMEOUT:
			if (ctl_parse_uint("--timeout", optarg, 1, 3600, &timeout))
				return CTL_USAGE;
			break;
		case O_LOG:
			if (hs_log_parse_level(optarg, &level)) {
				hs_err("--log-level: '%s': expected err, warn, info or debug",
				       optarg);
				return CTL_USAGE;
			}
			hs_log_set_level(level);
			break;
		case 'j':
			ctl.json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return CTL_OK;
		case ':':
			hs_err("option '%s' needs a value (hsctl --help)", argv[optind - 1]);
			return CTL_USAGE;
		default:
			hs_err("unknown option '%s' (hsctl --help)", argv[optind - 1]);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return CTL_USAGE;
	}
	/* --json and --help may also follow the command */
	for (int i = optind + 1, j = optind + 1; i <= argc; i++) {
		if (i < argc && !strcmp(argv[i], "--json")) {
			ctl.json = true;
			continue;
		}
		if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
			fputs(usage_text, stdout);
			return CTL_OK;
		}
		argv[j++] = argv[i];
		if (i == argc)
			argc = j - 1;
	}
	if (hs_schema_key_dir(ctl.prefix, HS_SCHEMA_SITE, dir, sizeof(dir))) {
		hs_err("--prefix: '%s': expected 1-%d printable characters without spaces, "
		       "ending in '/'",
		       ctl.prefix, HS_SCHEMA_PREFIX_MAX);
		return CTL_USAGE;
	}
	eplist = strdup(ctl.endpoints);
	if (!eplist)
		return CTL_ERR;
	if (split_endpoints(eplist, eps, &eo.n_endpoints))
		goto out;
	eo.endpoints = eps;
	eo.request_timeout_ms = (unsigned int)timeout * 1000;
	eo.connect_timeout_ms = timeout < 2 ? 1000 : 2000;
	/* no connection yet: this checks the URLs and the TLS files */
	ctl.etcd = hs_etcd_new(&eo);
	if (!ctl.etcd) {
		rc = errno == ENOMEM ? CTL_ERR : CTL_USAGE;
		goto out;
	}
	rc = -1;
	for (size_t i = 0; i < HS_ARRAY_SIZE(cmds); i++)
		if (!strcmp(argv[optind], cmds[i].name))
			rc = cmds[i].fn(argc - optind, argv + optind);
	if (rc < 0) {
		hs_err("unknown command '%s' (hsctl --help lists them)", argv[optind]);
		rc = CTL_USAGE;
	}
	hs_etcd_free(ctl.etcd);
out:
	free(eplist);
	return rc;
}
