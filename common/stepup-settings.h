#ifndef STEPUP_SETTINGS_H
#define STEPUP_SETTINGS_H

/* Types shared by the policy engine, the TOTP/state code and the plugins. */

/* Session authentication level, decided at login (SPEC "Authentication
   levels"). Ordered: a higher value is a stronger login. */
enum stepup_auth_level {
	STEPUP_AUTH_NONE = 0,
	STEPUP_AUTH_PASSWORD,
	STEPUP_AUTH_APP,
	STEPUP_AUTH_TOTP,
};

enum stepup_totp_algorithm {
	STEPUP_TOTP_SHA1 = 0,
	STEPUP_TOTP_SHA256,
	STEPUP_TOTP_SHA512,
};

/* policy: totp = { ... } */
struct stepup_totp_settings {
	const char *issuer;		/* default "Dovecot" */
	enum stepup_totp_algorithm algorithm; /* default SHA1 */
	unsigned int digits;		/* 6 (default) or 8 */
	unsigned int period;		/* seconds, default 30 */
	unsigned int window;		/* steps either side, 0..2, default 1 */
	unsigned int max_failures;	/* 1..100, default 10 */
	unsigned int lockout_secs;	/* default 900 (15m) */
	unsigned int reconnect_secs;	/* 0 = off (default) */
	unsigned int reconnect_idle_secs; /* default 1800 (30m) */
};

static inline void
stepup_totp_settings_defaults(struct stepup_totp_settings *set)
{
	set->issuer = "Dovecot";
	set->algorithm = STEPUP_TOTP_SHA1;
	set->digits = 6;
	set->period = 30;
	set->window = 1;
	set->max_failures = 10;
	set->lockout_secs = 15 * 60;
	set->reconnect_secs = 0;
	set->reconnect_idle_secs = 30 * 60;
}

const char *stepup_auth_level_to_str(enum stepup_auth_level level);
/* Returns -1 if str is not one of "password", "app", "totp". */
int stepup_auth_level_parse(const char *str, enum stepup_auth_level *level_r);

#endif
