/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Subcommand argument parsing for hs-loader: positional arguments plus
 * "--name value" / "--flag" options from a per-command table, so every
 * command rejects unknown options and missing values the same way.
 */
#ifndef HS_LOADER_CLI_H
#define HS_LOADER_CLI_H

#include <stdbool.h>

struct cli_opt {
	const char *name; /* without the dashes */
	bool has_arg;
	const char *val; /* set by cli_parse */
	bool set;
};

#define CLI_MAX_POS 8

struct cli {
	struct cli_opt *opts;
	const char *pos[CLI_MAX_POS];
	int npos;
};

/* Returns 0 or -EINVAL with the offending argument reported. */
int cli_parse(struct cli *c, struct cli_opt *opts, int argc, char **argv, int min_pos, int max_pos,
	      const char *usage);
struct cli_opt *cli_get(struct cli *c, const char *name);

#endif
