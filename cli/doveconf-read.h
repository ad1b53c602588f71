#ifndef DOVECONF_READ_H
#define DOVECONF_READ_H

/* `doveconf -n` read back as sections ("passdb", "service stepup-audit",
   "protocol imap" ...) holding settings in the order doveconf prints
   them. */
struct doveconf_section {
	const char *name, *arg;		/* "service", "stepup-audit" */
	struct doveconf_section *parent;
	ARRAY_TYPE(const_string) keys, values;
	ARRAY(struct doveconf_section *) children;
};

/* Run doveconf -n (with -c config unless NULL) into output. */
int doveconf_run(const char *config, string_t *output, const char **error_r);
struct doveconf_section *doveconf_parse(pool_t pool, const char *text);

/* A setting of this section, or NULL. */
const char *doveconf_get(const struct doveconf_section *s, const char *key);
/* The first child section called name (and arg, unless NULL). */
const struct doveconf_section *
doveconf_find(const struct doveconf_section *s, const char *name,
	      const char *arg);

#endif
