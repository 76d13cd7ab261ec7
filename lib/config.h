/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Configuration files: INI syntax read by inih, held as (section, key,
 * value, line) entries, read back through typed getters that check ranges
 * and name the file and line of a bad value. Unknown or repeated keys are
 * errors, so a typo never silently falls back to a default.
 */
#ifndef HS_CONFIG_H
#define HS_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

struct hs_cfg;

/* Known keys: "section.key", or "prefix *.key" for any section named
 * "prefix NAME" (e.g. "vm *.mac" accepts [vm web1] mac = ...); a
 * NULL-terminated list. */
typedef const char *const hs_cfg_keys[];

/* Returns 0 or -errno; on a syntax error logs file:line and returns -EINVAL. */
int hs_cfg_load(const char *path, struct hs_cfg **out);
int hs_cfg_load_string(const char *name, const char *text, struct hs_cfg **out);
void hs_cfg_free(struct hs_cfg *cfg);

/* Every entry must be in known; logs each offender, returns -EINVAL. */
int hs_cfg_check_keys(const struct hs_cfg *cfg, hs_cfg_keys known);

/* Getters: 0 and *out set; -ENOENT (and *out = def) when absent;
 * -EINVAL with a logged "file:line: ..." when the value is bad. */
int hs_cfg_str(const struct hs_cfg *cfg, const char *section, const char *key, const char *def,
	       const char **out);
int hs_cfg_u32(const struct hs_cfg *cfg, const char *section, const char *key, uint32_t def,
	       uint32_t min, uint32_t max, uint32_t *out);
int hs_cfg_bool(const struct hs_cfg *cfg, const char *section, const char *key, bool def,
		bool *out);

/* Calls fn once per distinct section whose name starts with prefix, in file
 * order; stops at and returns fn's first non-zero result. */
int hs_cfg_sections(const struct hs_cfg *cfg, const char *prefix,
		    int (*fn)(const char *section, void *arg), void *arg);

/* Prints "section.key = value" lines, for a daemon's --check-config. */
void hs_cfg_dump(const struct hs_cfg *cfg, void (*emit)(const char *line, void *arg), void *arg);

#endif
