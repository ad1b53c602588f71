/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-settings.h"

static const char *const level_names[] = {
	[STEPUP_AUTH_NONE] = "none",
	[STEPUP_AUTH_PASSWORD] = "password",
	[STEPUP_AUTH_APP] = "app",
	[STEPUP_AUTH_TOTP] = "totp",
};

const char *stepup_auth_level_to_str(enum stepup_auth_level level)
{
	i_assert((unsigned int)level < N_ELEMENTS(level_names));
	return level_names[level];
}

int stepup_auth_level_parse(const char *str, enum stepup_auth_level *level_r)
{
	unsigned int i;

	/* "none" is never a level a session can claim */
	for (i = STEPUP_AUTH_PASSWORD; i < N_ELEMENTS(level_names); i++) {
		if (strcmp(str, level_names[i]) == 0) {
			*level_r = i;
			return 0;
		}
	}
	return -1;
}
