/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-config.h"
#include "stepup-args.h"

int stepup_passdb_args_parse(pool_t pool, const char *args,
			     struct stepup_passdb_args *args_r,
			     const char **error_r)
{
	const char *const *tmp;
	bool have_policy = FALSE, have_stage = FALSE;

	i_zero(args_r);
	args_r->policy_path = STEPUP_DEFAULT_POLICY;
	if (args == NULL)
		return 0;

	for (tmp = t_strsplit_spaces(args, " "); *tmp != NULL; tmp++) {
		const char *key, *value, *p = strchr(*tmp, '=');

		if (p == NULL || p[1] == '\0') {
			*error_r = t_strdup_printf(
				"Parameter needs a value: %s", *tmp);
			return -1;
		}
		key = t_strdup_until(*tmp, p);
		value = p + 1;
		if (strcmp(key, "policy") == 0) {
			if (have_policy) {
				*error_r = "Duplicate parameter: policy";
				return -1;
			}
			if (value[0] != '/') {
				*error_r = t_strdup_printf(
					"policy must be an absolute path: %s",
					value);
				return -1;
			}
			have_policy = TRUE;
			args_r->policy_path = p_strdup(pool, value);
		} else if (strcmp(key, "stage") == 0) {
			if (have_stage) {
				*error_r = "Duplicate parameter: stage";
				return -1;
			}
			have_stage = TRUE;
			if (strcmp(value, "login") == 0)
				args_r->stage = STEPUP_PASSDB_STAGE_LOGIN;
			else if (strcmp(value, "verify") == 0)
				args_r->stage = STEPUP_PASSDB_STAGE_VERIFY;
			else {
				*error_r = t_strdup_printf(
					"stage must be login or verify: %s",
					value);
				return -1;
			}
		} else {
			*error_r = t_strdup_printf("Unknown parameter: %s",
						   key);
			return -1;
		}
	}
	return 0;
}
