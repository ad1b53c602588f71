/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Dovecot 2.4: passdb NAME { driver = stepup  stepup_stage = ... }, the
   policy in stepup_policy (in the block or at top level), looked up on
   the passdb's event. */

#include "auth-common.h"
#include "settings.h"
#include "passdb.h"
#include "stepup-dovecot-settings.h"
#include "passdb-stepup.h"

int stepup_passdb_preinit(pool_t pool, struct event *event,
			  struct passdb_module **module_r,
			  const char **error_r)
{
	const struct stepup_dovecot_settings *set;
	struct stepup_passdb_args args;

	if (settings_get(event, &stepup_setting_parser_info, 0, &set,
			 error_r) < 0)
		return -1;
	i_zero(&args);
	args.policy_path = p_strdup(pool, set->policy);
	args.stage = strcmp(set->stage, "verify") == 0 ?
		STEPUP_PASSDB_STAGE_VERIFY : STEPUP_PASSDB_STAGE_LOGIN;
	settings_free(set);
	*module_r = stepup_passdb_module_new(pool, &args);
	return 0;
}
