#ifndef STEPUP_DOVECOT_SETTINGS_H
#define STEPUP_DOVECOT_SETTINGS_H

/* Dovecot 2.4: the plugin's settings, declared to Dovecot so that doveconf
   accepts them (at top level, in protocol { } and in passdb NAME { }),
   shows them in doveconf -n and refuses a misspelt one. The config
   process finds them in MODULEDIR/settings/libstepup_settings.so
   (stepup-settings-module.c); the passdb and the mail plugin read them
   with settings_get(). */

struct stepup_dovecot_settings {
	pool_t pool;
	/* stepup_policy: the policy file (absolute) */
	const char *policy;
	/* stepup_audit_socket: the stepup-audit service's socket, relative
	   to base_dir unless absolute */
	const char *audit_socket;
	/* stepup_stage = login | verify: which stage a stepup passdb is */
	const char *stage;
};

extern const struct setting_parser_info stepup_setting_parser_info;

#endif
