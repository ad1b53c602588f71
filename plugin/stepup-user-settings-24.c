/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Dovecot 2.4: the declared settings (stepup-dovecot-settings.h) and the
   raw userdb reply. */

#include "lib.h"
#include "settings.h"
#include "mail-user.h"
#include "stepup-dovecot-settings.h"
#include "stepup-user-settings.h"

int stepup_user_settings_get(struct mail_user *user,
			     struct stepup_user_settings *set_r,
			     const char **error_r)
{
	const struct stepup_dovecot_settings *set;
	const char *path;

	if (settings_get(user->event, &stepup_setting_parser_info, 0,
			 &set, error_r) < 0)
		return -1;
	set_r->policy_path = p_strdup(user->pool, set->policy);
	path = set->audit_socket;
	if (path[0] != '/')
		path = t_strconcat(user->set->base_dir, "/", path, NULL);
	set_r->audit_socket_path = p_strdup(user->pool, path);
	settings_free(set);
	return 0;
}

const char *stepup_user_field(struct mail_user *user, const char *name)
{
	const char *const *field;
	size_t len = strlen(name);

	if (user->userdb_fields == NULL)
		return NULL;
	for (field = user->userdb_fields; *field != NULL; field++) {
		if (strncmp(*field, name, len) == 0 && (*field)[len] == '=')
			return *field + len + 1;
	}
	return NULL;
}
