// SPDX-License-Identifier: GPL-2.0
/*
 * Subcommand argument parsing (see cli.h). Errors name the command's usage
 * line so the operator sees what was expected.
 */
#include <errno.h>
#include <string.h>

#include "lib/log.h"
#include "loader/cli.h"

struct cli_opt *cli_get(struct cli *c, const char *name)
{
	for (struct cli_opt *o = c->opts; o->name; o++)
		if (!strcmp(o->name, name))
			return o->set ? o : NULL;
	return NULL;
}

int cli_parse(struct cli *c, struct cli_opt *opts, int argc, char **argv, int min_pos, int max_pos,
	      const char *usage)
{
	memset(c, 0, sizeof(*c));
	c->opts = opts;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		struct cli_opt *o;

		if (strncmp(a, "--", 2) || !a[2]) {
			if (c->npos >= max_pos || c->npos >= CLI_MAX_POS) {
				hs_err("unexpected argument '%s'; usage: %s", a, usage);
				return -EINVAL;
			}
			c->pos[c->npos++] = a;
			continue;
		}
		for (o = opts; o->name; o++)
			if (!strcmp(o->name, a + 2))
				break;
		if (!o->name) {
			hs_err("unknown option '%s'; usage: %s", a, usage);
			return -EINVAL;
		}
		if (o->set) {
			hs_err("option '%s' given twice", a);
			return -EINVAL;
		}
		o->set = true;
		if (o->has_arg) {
			if (i + 1 >= argc) {
				hs_err("option '%s' needs a value; usage: %s", a, usage);
				return -EINVAL;
			}
			o->val = argv[++i];
		}
	}
	if (c->npos < min_pos) {
		hs_err("missing argument; usage: %s", usage);
		return -EINVAL;
	}
	return 0;
}
