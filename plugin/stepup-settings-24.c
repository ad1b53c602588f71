/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Dovecot 2.4: what the plugin's settings are (see
   stepup-dovecot-settings.h). */

#include "lib.h"
#include "settings-parser.h"
#include "stepup-config.h"
#include "stepup-dovecot-settings.h"

#undef DEF
#define DEF(type, name) \
	SETTING_DEFINE_STRUCT_##type("stepup_"#name, name, \
				     struct stepup_dovecot_settings)

static const struct setting_define stepup_setting_defines[] = {
	DEF(STR_NOVARS, policy),
	DEF(STR_NOVARS, audit_socket),
	DEF(ENUM, stage),
	SETTING_DEFINE_LIST_END
};

static const struct stepup_dovecot_settings stepup_default_settings = {
	.policy = STEPUP_DEFAULT_POLICY,
	.audit_socket = "stepup-audit",
	.stage = "login:verify",
};

static bool
stepup_settings_check(void *_set, pool_t pool ATTR_UNUSED,
		      const char **error_r)
{
	struct stepup_dovecot_settings *set = _set;

	if (set->policy[0] != '/') {
		*error_r = t_strdup_printf(
			"stepup_policy must be an absolute path: %s",
			set->policy);
		return FALSE;
	}
	if (set->audit_socket[0] == '\0') {
		*error_r = "stepup_audit_socket must not be empty";
		return FALSE;
	}
	return TRUE;
}

const struct setting_parser_info stepup_setting_parser_info = {
	.name = "stepup",
	.defines = stepup_setting_defines,
	.defaults = &stepup_default_settings,
	.struct_size = sizeof(struct stepup_dovecot_settings),
	.pool_offset1 = 1 + offsetof(struct stepup_dovecot_settings, pool),
	.check_func = stepup_settings_check,
};
