#ifndef STEPUP_SETTINGS_H
#define STEPUP_SETTINGS_H

/* Types shared by the policy engine, the TOTP/state code and the plugins. */

#include "stepup-names.h"

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

#endif
