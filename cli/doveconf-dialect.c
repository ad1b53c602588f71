/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* `doveconf -n` of Dovecot 2.3 or 2.4, read alike (doveconf-dialect.h). */

#include "lib.h"
#include "doveconf-dialect.h"

bool doveconf_is_24(const struct doveconf_section *root)
{
	return doveconf_get(root, "dovecot_config_version") != NULL;
}

static bool word_in(const char *words, const char *word)
{
	const char *const *w;

	for (w = t_strsplit_spaces(words == NULL ? "" : words, " ");
	     *w != NULL; w++) {
		if (strcmp(*w, word) == 0)
			return TRUE;
	}
	return FALSE;
}

const char *doveconf_db_driver(const struct doveconf_section *root,
			       const struct doveconf_section *db)
{
	const char *driver = doveconf_get(db, "driver");

	if (driver == NULL && doveconf_is_24(root) && db->arg != NULL &&
	    db->arg[0] != '\0')
		return db->arg;
	return driver;
}

bool doveconf_passdb_is_verify(const struct doveconf_section *root,
			       const struct doveconf_section *db)
{
	const char *stage;

	if (!doveconf_is_24(root))
		return word_in(doveconf_get(db, "args"), "stage=verify");
	stage = doveconf_get(db, "stepup_stage");
	return stage != NULL && strcmp(stage, "verify") == 0;
}

const char *doveconf_passwd_file(const struct doveconf_section *root,
				 const struct doveconf_section *db)
{
	const char *const *w, *file = NULL;

	if (doveconf_is_24(root))
		return doveconf_get(db, "passwd_file_path");
	for (w = t_strsplit_spaces(doveconf_get(db, "args") == NULL ? "" :
				   doveconf_get(db, "args"), " ");
	     *w != NULL; w++) {
		if ((*w)[0] == '/')
			file = *w;
	}
	return file;
}

bool doveconf_plugin_loaded(const struct doveconf_section *root,
			    const struct doveconf_section *s,
			    const char *name)
{
	const struct doveconf_section *list;
	const char *value;

	if (!doveconf_is_24(root))
		return word_in(doveconf_get(s, "mail_plugins"), name);
	list = doveconf_find(s, "mail_plugins", NULL);
	value = list == NULL ? NULL : doveconf_get(list, name);
	return value != NULL && strcmp(value, "yes") == 0;
}

const char *doveconf_stepup_policy(const struct doveconf_section *root)
{
	const struct doveconf_section *plugin;

	if (doveconf_is_24(root))
		return doveconf_get(root, "stepup_policy");
	plugin = doveconf_find(root, "plugin", NULL);
	return plugin == NULL ? NULL : doveconf_get(plugin, "stepup_policy");
}

bool doveconf_is_internal_user(const char *value)
{
	return strcmp(value, "$default_internal_user") == 0 ||
		strcmp(value, "$SET:default_internal_user") == 0;
}

bool doveconf_is_internal_group(const char *value)
{
	return strcmp(value, "$default_internal_group") == 0 ||
		strcmp(value, "$SET:default_internal_group") == 0;
}
