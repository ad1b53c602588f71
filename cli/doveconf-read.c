/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The output of `doveconf -n` as a tree of sections and settings, for
   stepup doctor. doveconf prints one "key = value" or "name [arg] {" or
   "}" per line, indented; comments start with '#'. */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "doveconf-read.h"

#include <stdio.h>
#include <sys/wait.h>

#define DOVECONF_MAX_OUTPUT (4 * 1024 * 1024)

static struct doveconf_section *
section_new(pool_t pool, struct doveconf_section *parent, const char *name,
	    const char *arg)
{
	struct doveconf_section *s = p_new(pool, struct doveconf_section, 1);

	s->name = p_strdup(pool, name);
	s->arg = p_strdup(pool, arg);
	s->parent = parent;
	p_array_init(&s->keys, pool, 16);
	p_array_init(&s->values, pool, 16);
	p_array_init(&s->children, pool, 4);
	if (parent != NULL)
		array_push_back(&parent->children, &s);
	return s;
}

struct doveconf_section *doveconf_parse(pool_t pool, const char *text)
{
	struct doveconf_section *root, *cur;
	const char *const *lines, *line, *p, *key, *value;
	size_t len;

	root = cur = section_new(pool, NULL, "", "");
	for (lines = t_strsplit(text, "\n"); *lines != NULL; lines++) {
		line = *lines;
		while (*line == ' ' || *line == '\t')
			line++;
		len = strlen(line);
		if (len == 0 || line[0] == '#')
			continue;
		if (strcmp(line, "}") == 0) {
			if (cur->parent != NULL)
				cur = cur->parent;
			continue;
		}
		p = strstr(line, " = ");
		if (p == NULL && len >= 1 && line[len - 1] == '=') {
			/* "key =" (empty value) */
			key = t_strcut(line, ' ');
			value = "";
		} else if (p != NULL) {
			key = t_strdup_until(line, p);
			value = p + 3;
		} else if (line[len - 1] == '{') {
			const char *head = t_strndup(line, len - 1);
			const char *const *w = t_strsplit_spaces(head, " ");

			cur = section_new(pool, cur, w[0] == NULL ? "" : w[0],
					  w[0] == NULL || w[1] == NULL ? "" :
					  w[1]);
			continue;
		} else {
			continue;
		}
		/* doveconf quotes values with leading or trailing spaces */
		len = strlen(value);
		if (len >= 2 && value[0] == '"' && value[len - 1] == '"')
			value = t_strndup(value + 1, len - 2);
		key = p_strdup(pool, key);
		value = p_strdup(pool, value);
		array_push_back(&cur->keys, &key);
		array_push_back(&cur->values, &value);
	}
	return root;
}

const char *doveconf_get(const struct doveconf_section *s, const char *key)
{
	const char *const *keys;
	unsigned int i, count;

	keys = array_get(&s->keys, &count);
	for (i = 0; i < count; i++) {
		if (strcmp(keys[i], key) == 0)
			return array_idx_elem(&s->values, i);
	}
	return NULL;
}

const struct doveconf_section *
doveconf_find(const struct doveconf_section *s, const char *name,
	      const char *arg)
{
	struct doveconf_section *const *child;

	array_foreach(&s->children, child) {
		if (strcmp((*child)->name, name) == 0 &&
		    (arg == NULL || strcmp((*child)->arg, arg) == 0))
			return *child;
	}
	return NULL;
}

int doveconf_run(const char *config, string_t *output, const char **error_r)
{
	const char *cmd;
	char buf[4096];
	size_t n;
	FILE *f;
	int status;

	/* the path is the admin's own argument: quoted for the shell */
	if (config == NULL)
		cmd = "doveconf -n 2>&1";
	else if (strchr(config, '\'') != NULL) {
		*error_r = "a configuration path with ' is not supported";
		return -1;
	} else
		cmd = t_strdup_printf("doveconf -c '%s' -n 2>&1", config);
	f = popen(cmd, "r");
	if (f == NULL) {
		*error_r = t_strdup_printf("popen(doveconf) failed: %m");
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (str_len(output) + n > DOVECONF_MAX_OUTPUT)
			break;
		str_append_data(output, buf, n);
	}
	status = pclose(f);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		*error_r = t_strdup_printf("doveconf -n failed: %s",
					   t_strcut(str_c(output), '\n'));
		return -1;
	}
	return 0;
}
