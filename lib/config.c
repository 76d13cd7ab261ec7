// SPDX-License-Identifier: GPL-2.0
/*
 * INI configuration on top of inih: the parser is the library's, this file
 * only stores what it reports and checks values on the way out.
 */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"
#include "lib/log.h"
#include "lib/parse.h"

struct cfg_entry {
	char *section;
	char *key;
	char *value;
	int line;
};

struct hs_cfg {
	char *name;
	struct cfg_entry *ents;
	size_t n, cap;
	int err;
	/* Debian's inih calls handlers without a line number: the reader
	 * below counts the lines it hands to the parser instead. */
	int line;
	FILE *file;
	const char *text;
};

static const struct cfg_entry *cfg_find(const struct hs_cfg *cfg, const char *section,
					const char *key)
{
	for (size_t i = 0; i < cfg->n; i++)
		if (!strcmp(cfg->ents[i].section, section) && !strcmp(cfg->ents[i].key, key))
			return &cfg->ents[i];
	return NULL;
}

/* inih's stream reader: one line per call, from a FILE or a string. */
static char *read_line(char *str, int num, void *stream)
{
	struct hs_cfg *cfg = stream;
	size_t n = 0;

	if (cfg->file) {
		if (!fgets(str, num, cfg->file))
			return NULL;
	} else {
		if (!*cfg->text)
			return NULL;
		while (cfg->text[n] && cfg->text[n] != '\n' && n + 2 < (size_t)num)
			n++;
		if (cfg->text[n] == '\n')
			n++;
		memcpy(str, cfg->text, n);
		str[n] = '\0';
		cfg->text += n;
	}
	cfg->line++;
	return str;
}

static int on_entry(void *user, const char *section, const char *key, const char *value)
{
	struct hs_cfg *cfg = user;
	int line = cfg->line;
	struct cfg_entry *e;

	if (!key) /* a section header alone */
		return 1;
	e = (struct cfg_entry *)cfg_find(cfg, section, key);
	if (e) {
		hs_err("%s:%d: %s.%s repeated (first set on line %d)", cfg->name, line, section,
		       key, e->line);
		cfg->err = -EINVAL;
		return 0;
	}
	if (cfg->n == cfg->cap) {
		size_t cap = cfg->cap ? cfg->cap * 2 : 16;
		struct cfg_entry *ents = realloc(cfg->ents, cap * sizeof(*ents));

		if (!ents) {
			cfg->err = -ENOMEM;
			return 0;
		}
		cfg->ents = ents;
		cfg->cap = cap;
	}
	e = &cfg->ents[cfg->n];
	e->section = strdup(section);
	e->key = strdup(key);
	e->value = strdup(value);
	e->line = line;
	if (!e->section || !e->key || !e->value) {
		free(e->section);
		free(e->key);
		free(e->value);
		cfg->err = -ENOMEM;
		return 0;
	}
	cfg->n++;
	return 1;
}

static struct hs_cfg *cfg_new(const char *name)
{
	struct hs_cfg *cfg = calloc(1, sizeof(*cfg));

	if (!cfg)
		return NULL;
	cfg->name = strdup(name);
	if (!cfg->name) {
		free(cfg);
		return NULL;
	}
	return cfg;
}

static int cfg_finish(struct hs_cfg *cfg, int rc, struct hs_cfg **out)
{
	if (cfg->err) {
		rc = cfg->err; /* the handler already said why */
	} else if (rc > 0) {
		hs_err("%s:%d: syntax error", cfg->name, rc);
		rc = -EINVAL;
	} else if (rc < 0 && !cfg->err) {
		rc = -ENOMEM;
	}
	if (rc) {
		hs_cfg_free(cfg);
		return rc;
	}
	*out = cfg;
	return 0;
}

int hs_cfg_load(const char *path, struct hs_cfg **out)
{
	struct hs_cfg *cfg;
	FILE *f;
	int rc;

	f = fopen(path, "r");
	if (!f) {
		rc = -errno;
		hs_err("cannot open config %s: %s", path, strerror(errno));
		return rc;
	}
	cfg = cfg_new(path);
	if (!cfg) {
		fclose(f);
		return -ENOMEM;
	}
	cfg->file = f;
	rc = ini_parse_stream(read_line, cfg, on_entry, cfg);
	fclose(f);
	return cfg_finish(cfg, rc, out);
}

int hs_cfg_load_string(const char *name, const char *text, struct hs_cfg **out)
{
	struct hs_cfg *cfg = cfg_new(name);

	if (!cfg)
		return -ENOMEM;
	cfg->text = text;
	return cfg_finish(cfg, ini_parse_stream(read_line, cfg, on_entry, cfg), out);
}

void hs_cfg_free(struct hs_cfg *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n; i++) {
		free(cfg->ents[i].section);
		free(cfg->ents[i].key);
		free(cfg->ents[i].value);
	}
	free(cfg->ents);
	free(cfg->name);
	free(cfg);
}

int hs_cfg_check_keys(const struct hs_cfg *cfg, hs_cfg_keys known)
{
	int rc = 0;

	for (size_t i = 0; i < cfg->n; i++) {
		const struct cfg_entry *e = &cfg->ents[i];
		size_t sl = strlen(e->section);
		bool found = false;

		for (const char *const *k = known; *k && !found; k++) {
			const char *star = strstr(*k, " *.");

			if (star) /* "vm *.key": any section "vm NAME" */
				found = !strncmp(*k, e->section, star - *k + 1) &&
					sl > (size_t)(star - *k + 1) && !strcmp(star + 3, e->key);
			else
				found = !strncmp(*k, e->section, sl) && (*k)[sl] == '.' &&
					!strcmp(*k + sl + 1, e->key);
		}
		if (!found) {
			hs_err("%s:%d: unknown key %s.%s", cfg->name, e->line, e->section, e->key);
			rc = -EINVAL;
		}
	}
	return rc;
}

int hs_cfg_str(const struct hs_cfg *cfg, const char *section, const char *key, const char *def,
	       const char **out)
{
	const struct cfg_entry *e = cfg_find(cfg, section, key);

	*out = e ? e->value : def;
	return e ? 0 : -ENOENT;
}

int hs_cfg_u32(const struct hs_cfg *cfg, const char *section, const char *key, uint32_t def,
	       uint32_t min, uint32_t max, uint32_t *out)
{
	const struct cfg_entry *e = cfg_find(cfg, section, key);
	uint32_t v;

	*out = def;
	if (!e)
		return -ENOENT;
	if (hs_parse_u32(e->value, &v) || v < min || v > max) {
		hs_err("%s:%d: %s.%s = '%s': want an integer in [%u, %u]", cfg->name, e->line,
		       section, key, e->value, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int hs_cfg_bool(const struct hs_cfg *cfg, const char *section, const char *key, bool def, bool *out)
{
	const struct cfg_entry *e = cfg_find(cfg, section, key);

	*out = def;
	if (!e)
		return -ENOENT;
	if (hs_parse_bool(e->value, out)) {
		hs_err("%s:%d: %s.%s = '%s': want yes/no, true/false, on/off or 1/0", cfg->name,
		       e->line, section, key, e->value);
		*out = def;
		return -EINVAL;
	}
	return 0;
}

int hs_cfg_sections(const struct hs_cfg *cfg, const char *prefix,
		    int (*fn)(const char *section, void *arg), void *arg)
{
	size_t pl = strlen(prefix);

	for (size_t i = 0; i < cfg->n; i++) {
		const char *sec = cfg->ents[i].section;
		bool seen = false;
		int rc;

		if (strncmp(sec, prefix, pl))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(cfg->ents[j].section, sec);
		if (seen)
			continue;
		rc = fn(sec, arg);
		if (rc)
			return rc;
	}
	return 0;
}

void hs_cfg_dump(const struct hs_cfg *cfg, void (*emit)(const char *line, void *arg), void *arg)
{
	char buf[1024];

	for (size_t i = 0; i < cfg->n; i++) {
		snprintf(buf, sizeof(buf), "%s.%s = %s", cfg->ents[i].section, cfg->ents[i].key,
			 cfg->ents[i].value);
		emit(buf, arg);
	}
}
