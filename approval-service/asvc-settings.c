/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "stepup-compat.h"
#include "approval-request.h"
#include "asvc-settings.h"

void asvc_settings_init(struct asvc_settings *set_r)
{
	i_zero(set_r);
	set_r->lifetime_secs = 15 * 60;
	set_r->keep_secs = 24 * 3600;
	set_r->session.lifetime_secs = 3600;
	set_r->session.idle_secs = 15 * 60;
	set_r->session.max_failures_user = 5;
	set_r->session.max_failures_ip = 20;
	set_r->session.window_secs = 15 * 60;
	set_r->session.max_sessions = 1000;
	set_r->auth_socket = "auth-login";
	set_r->auth_master_socket = "auth-master";
	set_r->notify_timeout_secs = 10;
}

enum setting_kind { KIND_TIME, KIND_UINT, KIND_STR };

static const struct {
	const char *key;
	enum setting_kind kind;
	size_t offset;
} keys[] = {
#define S(key, kind, field) { key, kind, offsetof(struct asvc_settings, field) }
	S("lifetime", KIND_TIME, lifetime_secs),
	S("keep", KIND_TIME, keep_secs),
	S("session_lifetime", KIND_TIME, session.lifetime_secs),
	S("session_idle", KIND_TIME, session.idle_secs),
	S("signin_failures_user", KIND_UINT, session.max_failures_user),
	S("signin_failures_ip", KIND_UINT, session.max_failures_ip),
	S("signin_window", KIND_TIME, session.window_secs),
	S("max_sessions", KIND_UINT, session.max_sessions),
	S("auth_socket", KIND_STR, auth_socket),
	S("auth_master_socket", KIND_STR, auth_master_socket),
	S("notify_command", KIND_STR, notify_command),
	S("notify_timeout", KIND_TIME, notify_timeout_secs),
	S("webhook", KIND_STR, webhook),
	S("webhook_ca_file", KIND_STR, webhook_ca_file),
#undef S
};

int asvc_settings_parse(pool_t pool, const char *const *args,
			struct asvc_settings *set, const char **error_r)
{
	bool seen[N_ELEMENTS(keys)];
	struct stepup_approval_url url;
	const char *p, *key, *value, *error;
	unsigned int i, n;
	void *field;

	memset(seen, 0, sizeof(seen));
	for (; *args != NULL; args++) {
		p = strchr(*args, '=');
		if (p == NULL || p == *args || p[1] == '\0') {
			*error_r = t_strdup_printf("%s: expected key=value",
						   *args);
			return -1;
		}
		key = t_strdup_until(*args, p);
		value = p + 1;
		for (i = 0; i < N_ELEMENTS(keys); i++) {
			if (strcmp(keys[i].key, key) == 0)
				break;
		}
		if (i == N_ELEMENTS(keys)) {
			*error_r = t_strdup_printf("unknown setting %s", key);
			return -1;
		}
		if (seen[i]) {
			*error_r = t_strdup_printf("%s given twice", key);
			return -1;
		}
		seen[i] = TRUE;
		field = PTR_OFFSET(set, keys[i].offset);
		switch (keys[i].kind) {
		case KIND_TIME:
			if (str_parse_get_interval(value, &n, &error) < 0 ||
			    n == 0) {
				*error_r = t_strdup_printf("%s: bad duration "
					"%s", key, value);
				return -1;
			}
			*(unsigned int *)field = n;
			break;
		case KIND_UINT:
			if (str_to_uint(value, &n) < 0 || n == 0) {
				*error_r = t_strdup_printf("%s: bad number %s",
							   key, value);
				return -1;
			}
			*(unsigned int *)field = n;
			break;
		case KIND_STR:
			*(const char **)field = p_strdup(pool, value);
			break;
		}
	}
	/* the approval client's rules: https://, plain http:// only to
	   127.0.0.1 and [::1] */
	if (set->webhook != NULL &&
	    stepup_approval_url_parse(pool_datastack_create(), set->webhook,
				      &url, &error) < 0) {
		*error_r = t_strdup_printf("webhook: %s", error);
		return -1;
	}
	if (set->webhook_ca_file != NULL && set->webhook_ca_file[0] != '/') {
		*error_r = "webhook_ca_file must be an absolute path";
		return -1;
	}
	if (set->notify_command != NULL && set->notify_command[0] != '/') {
		*error_r = "notify_command must be an absolute path";
		return -1;
	}
	return 0;
}
