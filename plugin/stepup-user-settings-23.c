/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Dovecot 2.3: plugin { stepup_policy stepup_audit_socket }; userdb
   fields reach the plugin environment. */

#include "lib.h"
#include "mail-user.h"
#include "stepup-config.h"
#include "stepup-user-settings.h"

int stepup_user_settings_get(struct mail_user *user,
			     struct stepup_user_settings *set_r,
			     const char **error_r ATTR_UNUSED)
{
	const char *path;

	path = mail_user_plugin_getenv(user, "stepup_policy");
	if (path == NULL || path[0] == '\0')
		path = STEPUP_DEFAULT_POLICY;
	set_r->policy_path = p_strdup(user->pool, path);
	path = mail_user_plugin_getenv(user, "stepup_audit_socket");
	if (path == NULL || path[0] == '\0')
		path = "stepup-audit";
	if (path[0] != '/')
		path = t_strconcat(user->set->base_dir, "/", path, NULL);
	set_r->audit_socket_path = p_strdup(user->pool, path);
	return 0;
}

const char *stepup_user_field(struct mail_user *user, const char *name)
{
	return mail_user_plugin_getenv(user, name);
}
