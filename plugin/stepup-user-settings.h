#ifndef STEPUP_USER_SETTINGS_H
#define STEPUP_USER_SETTINGS_H

/* What the mail plugins read from Dovecot about a user; one file per
   Dovecot version (stepup-user-settings-23.c: plugin { } and the userdb fields
   through mail_user_plugin_getenv(); stepup-user-settings-24.c: settings_get() and
   user->userdb_fields). */

struct mail_user;

struct stepup_user_settings {
	const char *policy_path;
	/* absolute: base_dir is prepended */
	const char *audit_socket_path;
};

/* Strings allocated from user->pool. -1 with error_r if the settings
   cannot be read. */
int stepup_user_settings_get(struct mail_user *user,
			     struct stepup_user_settings *set_r,
			     const char **error_r);

/* A field of the userdb reply (what the passdb set as userdb_NAME), or
   NULL. */
const char *stepup_user_field(struct mail_user *user, const char *name);

#endif
