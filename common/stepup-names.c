/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-names.h"

/* Each table is indexed by its enum's value and NULL-terminated. */
static const char *const auth_level_names[] = {
	[STEPUP_AUTH_NONE] = "none",
	[STEPUP_AUTH_PASSWORD] = "password",
	[STEPUP_AUTH_APP] = "app",
	[STEPUP_AUTH_TOTP] = "totp",
	NULL
};

static const char *const totp_algorithm_names[] = {
	[STEPUP_TOTP_SHA1] = "SHA1",
	[STEPUP_TOTP_SHA256] = "SHA256",
	[STEPUP_TOTP_SHA512] = "SHA512",
	NULL
};

static const char *const login_require_names[] = {
	[STEPUP_LOGIN_PASSWORD] = "password",
	[STEPUP_LOGIN_TOTP] = "totp",
	[STEPUP_LOGIN_DENY] = "deny",
	NULL
};

static const char *const folder_require_names[] = {
	[STEPUP_FOLDER_NONE] = "none",
	[STEPUP_FOLDER_DENY] = "deny",
	[STEPUP_FOLDER_TOTP] = "totp",
	[STEPUP_FOLDER_APPROVAL] = "approval",
	[STEPUP_FOLDER_TOTP_OR_APPROVAL] = "totp_or_approval",
	[STEPUP_FOLDER_TOTP_AND_APPROVAL] = "totp_and_approval",
	NULL
};

static const char *const folder_access_names[] = {
	[STEPUP_FOLDER_ACCESS_READ] = "open",
	[STEPUP_FOLDER_ACCESS_STATUS] = "status",
	[STEPUP_FOLDER_ACCESS_SAVE] = "save",
	[STEPUP_FOLDER_ACCESS_CHANGE] = "change",
	[STEPUP_FOLDER_ACCESS_CREATE] = "create",
	NULL
};

static const char *const day_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

static const char *name_of(const char *const *names, unsigned int count,
			   unsigned int value)
{
	i_assert(value < count - 1);
	return names[value];
}

/* the value of str in names[first..], or -1 */
static int value_of(const char *const *names, unsigned int first,
		    const char *str, unsigned int *value_r)
{
	unsigned int i;

	for (i = first; names[i] != NULL; i++) {
		if (strcmp(names[i], str) == 0) {
			*value_r = i;
			return 0;
		}
	}
	return -1;
}

/* stepup_NAME_to_str() and stepup_NAME_parse() over table, whose names
   from first on can be parsed */
#define STEPUP_NAME_FUNCS(name, type, table, first) \
const char *stepup_##name##_to_str(type value) \
{ \
	return name_of(table, N_ELEMENTS(table), value); \
} \
int stepup_##name##_parse(const char *str, type *value_r) \
{ \
	unsigned int v; \
\
	if (value_of(table, first, str, &v) < 0) \
		return -1; \
	*value_r = (type)v; \
	return 0; \
}

/* "none" is never a level a session can claim */
STEPUP_NAME_FUNCS(auth_level, enum stepup_auth_level, auth_level_names,
		  STEPUP_AUTH_PASSWORD)
STEPUP_NAME_FUNCS(totp_algorithm, enum stepup_totp_algorithm,
		  totp_algorithm_names, 0)
STEPUP_NAME_FUNCS(login_require, enum stepup_login_require,
		  login_require_names, 0)
STEPUP_NAME_FUNCS(folder_require, enum stepup_folder_require,
		  folder_require_names, 0)
STEPUP_NAME_FUNCS(folder_access, enum stepup_folder_access,
		  folder_access_names, 0)

int stepup_auth_level_parse_any(const char *str,
				enum stepup_auth_level *level_r)
{
	unsigned int v;

	if (value_of(auth_level_names, STEPUP_AUTH_NONE, str, &v) < 0)
		return -1;
	*level_r = v;
	return 0;
}

const char *const *stepup_login_require_names(void)
{
	return login_require_names;
}

const char *const *stepup_folder_require_names(void)
{
	return folder_require_names;
}

const char *stepup_day_to_str(unsigned int wday)
{
	return name_of(day_names, N_ELEMENTS(day_names), wday);
}

int stepup_day_parse(const char *str, unsigned int *wday_r)
{
	return value_of(day_names, 0, str, wday_r);
}
