/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-compat.h"
#include "str-sanitize.h"
#include "str.h"
#include "hex-binary.h"
#include "randgen.h"
#include "net.h"
#include "stepup-policy.h"
#include "stepup-state.h"
#include "stepup-totp.h"
#include "stepup-event.h"
#include "stepup-audit.h"
#include "stepup-login.h"

#include <time.h>

/* What stage 1 leaves for stage 2, after "<nonce>:<hex user>:" (the name
   stage 1 decided for) and an optional "a:" (audit mode: never refuse,
   log what enforce would have done). */
#define PENDING_PASSWORD "pw"		/* nothing left to check */
#define PENDING_CODE "code:"		/* verify this code */
#define PENDING_MISSING "missing"	/* the rule needs a code, none came */
#define PENDING_ENROLL "enroll"		/* the rule needs an enrollment */
#define PENDING_AUDIT "a:"

#define REASON_WRONG_CODE \
	"The one-time code is wrong or has expired."
/* the audit reason and warning while this server's clock is behind the
   last accepted code's step */
#define CLOCK_BEHIND "server clock behind the last accepted code"
#define REASON_REPLAY \
	"This one-time code was already used: wait for the next one."
#define REASON_MISSING \
	"This account needs a one-time code: type your password " \
	"immediately followed by the code from your authenticator app."
#define REASON_ENROLL \
	"Two-step verification is required for this account: " \
	"enroll first (ask your mail administrator)."

const char *stepup_login_new_nonce(pool_t pool)
{
	unsigned char buf[16];

	random_fill(buf, sizeof(buf));
	return p_strdup(pool, binary_to_hex(buf, sizeof(buf)));
}

static const char *ip_str(const struct ip_addr *ip)
{
	if (ip == NULL || ip->family == 0)
		return NULL;
	return net_ip2addr(ip);
}

/* One decision: a Dovecot event (stepup_decision, doc/events.md) and an
   audit record. -1 if the record is required and was not written. */
static int
login_log(const struct stepup_login_env *env,
	  const struct stepup_login_request *req, const char *stage,
	  const char *decision, enum stepup_auth_level level,
	  const char *rule, const char *reason)
{
	const char *error;
	struct event *ev;
	struct event_passthrough *e =
		event_create_passthrough(env->event)->
		set_name("stepup_decision")->
		add_category(&event_category_stepup)->
		add_str("kind", "login")->
		add_str("stage", stage)->
		add_str("decision", decision)->
		add_str("rule", rule == NULL ? "" : rule)->
		add_str("auth", stepup_auth_level_to_str(level))->
		add_str("reason", reason);

	/* every decision at info level, also without auth_verbose (which
	   sets the auth request events' minimum level to warning) */
	ev = e->event();

	event_set_min_log_level(ev, LOG_TYPE_INFO);
	e_info(ev, "login %s (stage=%s, rule=%s, auth=%s): %s",
	       decision, stage, rule == NULL ? "-" : rule,
	       stepup_auth_level_to_str(level), reason);

	if (env->audit == NULL) {
		if (!env->audit_required)
			return 0;
		e_error(env->event, "audit: no audit log open%s%s",
			env->audit_error == NULL ? "" : ": ",
			env->audit_error == NULL ? "" : env->audit_error);
		return -1;
	} else {
		struct stepup_audit_record rec = {
			.event = "login",
			.user = req->user,
			.session = req->session,
			.service = req->protocol,
			.ip = ip_str(req->remote_ip),
			.rule = rule,
			.decision = decision,
			.reason = reason,
			.auth = level == STEPUP_AUTH_NONE ? NULL :
				stepup_auth_level_to_str(level),
		};
		struct timeval tv;

		if (gettimeofday(&tv, NULL) < 0)
			i_fatal("gettimeofday() failed: %m");
		if (stepup_audit_write(env->audit, &rec, &tv, &error) < 0) {
			e_error(env->event, "audit: %s", error);
			return env->audit_required ? -1 : 0;
		}
	}
	return 0;
}

/* A decision that lets the login go on: without its record (when one is
   required) the login is refused as a temporary failure instead. */
static bool
login_record(const struct stepup_login_env *env,
	     const struct stepup_login_request *req, const char *stage,
	     const char *decision, enum stepup_auth_level level,
	     const char *rule, const char *reason,
	     struct stepup_login_result *result_r)
{
	if (login_log(env, req, stage, decision, level, rule, reason) == 0)
		return TRUE;
	e_error(env->event, "login refused: its audit record could "
		"not be written (fix the audit log, or set audit.required = "
		"false in the policy to let logins through without records)");
	result_r->action = STEPUP_LOGIN_ACTION_INTERNAL_FAIL;
	result_r->client_reason = NULL;
	return FALSE;
}

static void
login_fail_internal(const struct stepup_login_env *env,
		    const struct stepup_login_request *req, const char *stage,
		    const char *rule, const char *reason,
		    struct stepup_login_result *result_r)
{
	e_error(env->event, "%s", reason);
	(void)login_log(env, req, stage, "deny", STEPUP_AUTH_NONE, rule, reason);
	result_r->action = STEPUP_LOGIN_ACTION_INTERNAL_FAIL;
}

void stepup_login_refuse_password(const struct stepup_login_env *env,
				  const struct stepup_login_request *req)
{
	login_log(env, req, "2", "deny", STEPUP_AUTH_NONE, req->rule,
		  "wrong password (or unknown user)");
}

void stepup_login_refuse_mechanism(const struct stepup_login_env *env,
				   const struct stepup_login_request *req,
				   const char *mech)
{
	const char *reason = mech == NULL || mech[0] == '\0' ?
		"credentials lookup without a password: nothing to check" :
		t_strdup_printf("mechanism %s cannot carry a one-time code: "
				"use PLAIN or LOGIN", str_sanitize(mech, 32));

	(void)login_log(env, req, "1", "deny", STEPUP_AUTH_NONE, NULL, reason);
}

/* Where a code appended to the password starts, or -1 if there is none:
   a recovery code, or exactly `digits` ASCII digits after at least one
   character of password. */
static ssize_t code_suffix_start(const char *password, unsigned int digits)
{
	size_t len = strlen(password), start;

	if (stepup_recovery_code_suffix(password, &start) && start > 0)
		return (ssize_t)start;
	if (len <= digits ||
	    !stepup_totp_code_is_valid(password + len - digits, digits))
		return -1;
	return (ssize_t)(len - digits);
}

static void
stage1_continue(const struct stepup_login_env *env,
		const struct stepup_login_request *req, bool audit,
		const char *what, size_t password_len,
		const struct stepup_login_decision *d, const char *reason,
		struct stepup_login_result *result_r)
{
	result_r->action = STEPUP_LOGIN_ACTION_CONTINUE;
	result_r->password_len = password_len;
	result_r->pending = t_strconcat(env->nonce, ":",
		binary_to_hex((const void *)req->user, strlen(req->user)), ":",
		audit ? PENDING_AUDIT : "", what, NULL);
	result_r->level = STEPUP_AUTH_PASSWORD;
	result_r->rule = d->rule;
	(void)login_record(env, req, "1", "pending", STEPUP_AUTH_PASSWORD,
			   d->rule, reason, result_r);
}

static const char *format_date(time_t t)
{
	struct tm *tm = gmtime(&t);
	char buf[16];

	if (tm == NULL || strftime(buf, sizeof(buf), "%Y-%m-%d", tm) == 0)
		return "?";
	return t_strdup(buf);
}

void stepup_login_stage1(const struct stepup_login_env *env,
			 const struct stepup_login_request *req,
			 const char *password,
			 struct stepup_login_result *result_r)
{
	struct stepup_login_query query;
	struct stepup_login_decision d;
	const struct stepup_totp_settings *set;
	const char *error, *label;
	size_t len = strlen(password);
	ssize_t code_start;
	bool audit;
	int enrolled, ret;

	i_zero(result_r);
	if (env->policy == NULL) {
		login_fail_internal(env, req, "1", NULL,
			"no valid policy loaded: login refused", result_r);
		return;
	}
	if (env->state == NULL) {
		login_fail_internal(env, req, "1", NULL,
			"state store unavailable: login refused", result_r);
		return;
	}
	set = stepup_policy_get_totp(env->policy);
	enrolled = stepup_state_is_enrolled(env->state, req->user, &error);
	if (enrolled < 0) {
		login_fail_internal(env, req, "1", NULL, t_strdup_printf(
			"state of user unreadable, login refused: %s", error),
			result_r);
		return;
	}

	i_zero(&query);
	query.user = req->user;
	query.remote_ip = req->remote_ip;
	query.protocol = req->protocol;
	query.now = req->now;
	query.enrolled = enrolled > 0;
	stepup_policy_login(env->policy, &query, &d);
	audit = d.audit_only;
	result_r->rule = d.rule;

	if (d.require == STEPUP_LOGIN_DENY) {
		if (!audit) {
			(void)login_log(env, req, "1", "deny", STEPUP_AUTH_NONE,
					d.rule, d.reason);
			result_r->action = STEPUP_LOGIN_ACTION_FAIL;
			return;
		}
		if (!login_record(env, req, "1", "allow", STEPUP_AUTH_NONE,
				  d.rule, t_strdup_printf(
					"audit mode: enforce would deny: %s",
					d.reason), result_r))
			return;
	}

	/* An app password stands for the whole string. */
	if (d.require != STEPUP_LOGIN_TOTP || d.app_passwords) {
		ret = stepup_state_verify_app_password(env->state, req->user,
			password, req->remote_ip, req->protocol, req->now,
			&label, &error);
		if (ret < 0) {
			login_fail_internal(env, req, "1", d.rule,
				t_strdup_printf("app password check failed: %s",
						error), result_r);
			return;
		}
		if (ret > 0) {
			result_r->action = STEPUP_LOGIN_ACTION_OK;
			result_r->level = STEPUP_AUTH_APP;
			(void)login_record(env, req, "1", "allow",
					   STEPUP_AUTH_APP, d.rule,
					   t_strdup_printf("app password '%s'",
							   label), result_r);
			return;
		}
	}

	code_start = enrolled > 0 ? code_suffix_start(password, set->digits) :
		-1;
	if (code_start >= 0) {
		/* totp rule, or a password rule and the user steps up */
		const char *what = t_strconcat(PENDING_CODE,
					       password + code_start, NULL);

		if (set->reconnect_secs > 0) {
			/* the whole string, keyed: stage 2 may find a
			   reconnect grant for it */
			const char *hash;

			if (stepup_state_reconnect_hash(env->state, req->user,
					ip_str(req->remote_ip) == NULL ? "" :
					ip_str(req->remote_ip), password,
					&hash, &error) < 0) {
				login_fail_internal(env, req, "1", d.rule,
					t_strdup_printf("reconnect key: %s",
							error), result_r);
				return;
			}
			what = t_strconcat(what, " ", hash, NULL);
		}
		stage1_continue(env, req, audit, what, code_start, &d,
				"code to verify after the password", result_r);
		return;
	}
	if (d.require != STEPUP_LOGIN_TOTP) {
		stage1_continue(env, req, audit, PENDING_PASSWORD, len, &d,
				d.reason, result_r);
		return;
	}
	if (enrolled > 0) {
		stage1_continue(env, req, audit, PENDING_MISSING, len, &d,
				"no code given", result_r);
		return;
	}
	if (d.grace) {
		result_r->enroll_by = format_date(d.enroll_by);
		stage1_continue(env, req, audit, PENDING_PASSWORD, len, &d,
				t_strdup_printf("not enrolled, grace until %s",
						result_r->enroll_by), result_r);
		return;
	}
	stage1_continue(env, req, audit, PENDING_ENROLL, len, &d,
			"not enrolled and no grace period", result_r);
}

static const char *format_time(time_t t)
{
	struct tm *tm = gmtime(&t);
	char buf[32];

	if (tm == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", tm) == 0)
		return "?";
	return t_strdup(buf);
}

/* a lockout ended (before this check) or began (with this wrong code):
   records of their own */
static void
login_lockout_log(const struct stepup_login_env *env,
		  const struct stepup_login_request *req, const char *rule,
		  const struct stepup_verify_info *info, bool started)
{
	if (!started && info->lock_ended != 0) {
		login_log(env, req, "2", "allow", STEPUP_AUTH_NONE, rule,
			  t_strdup_printf("lockout ended (it lasted until %s)",
					  format_time(info->lock_ended)));
	}
	if (started && info->result == STEPUP_VERIFY_WRONG &&
	    info->locked_until != 0) {
		login_log(env, req, "2", "deny", STEPUP_AUTH_NONE, rule,
			  t_strdup_printf("lockout started: %u wrong codes, "
					  "locked until %s", info->failures,
					  format_time(info->locked_until)));
	}
}

static void
stage2_refuse(const struct stepup_login_env *env,
	      const struct stepup_login_request *req, bool audit,
	      const char *rule, const char *client_reason,
	      const char *log_reason, struct stepup_login_result *result_r)
{
	if (audit) {
		/* let it through at password level, say what would have
		   happened */
		result_r->action = STEPUP_LOGIN_ACTION_OK;
		result_r->level = STEPUP_AUTH_PASSWORD;
		(void)login_record(env, req, "2", "allow",
				   STEPUP_AUTH_PASSWORD, rule, t_strdup_printf(
					"audit mode: enforce would deny: %s",
					log_reason), result_r);
		return;
	}
	result_r->action = STEPUP_LOGIN_ACTION_FAIL;
	result_r->client_reason = client_reason;
	(void)login_log(env, req, "2", "deny", STEPUP_AUTH_NONE, rule,
			log_reason);
}

void stepup_login_stage2(const struct stepup_login_env *env,
			 const struct stepup_login_request *req,
			 const char *pending,
			 struct stepup_login_result *result_r)
{
	struct stepup_verify_info info;
	struct stepup_reconnect rc;
	const char *what, *error, *rule = req->rule, *p;
	bool audit = FALSE;

	i_zero(result_r);
	if (pending == NULL || !str_begins_with(pending, env->nonce) ||
	    pending[strlen(env->nonce)] != ':') {
		login_fail_internal(env, req, "2", NULL,
			"stage 1 did not run for this login (is the stepup "
			"passdb first in the chain?): login refused", result_r);
		return;
	}
	what = pending + strlen(env->nonce) + 1;
	p = strchr(what, ':');
	if (p == NULL || strcmp(t_strdup_until(what, p), binary_to_hex(
		(const void *)req->user, strlen(req->user))) != 0) {
		/* a passdb between the stages set user=: stage 1 chose the
		   rule and the enrollment for another name */
		login_fail_internal(env, req, "2", rule,
			"the user name changed between the stepup stages (a "
			"passdb between them returned user=): login refused; "
			"rename before the first stage (auth_username_format)",
			result_r);
		return;
	}
	what = p + 1;
	if (str_begins_with(what, PENDING_AUDIT)) {
		audit = TRUE;
		what += strlen(PENDING_AUDIT);
	}
	if (env->policy == NULL || env->state == NULL) {
		login_fail_internal(env, req, "2", NULL,
			"no valid policy or state: login refused", result_r);
		return;
	}

	if (strcmp(what, PENDING_PASSWORD) == 0) {
		result_r->action = STEPUP_LOGIN_ACTION_OK;
		result_r->level = STEPUP_AUTH_PASSWORD;
		(void)login_record(env, req, "2", "allow",
				   STEPUP_AUTH_PASSWORD, rule,
				   "password verified", result_r);
		return;
	}
	if (strcmp(what, PENDING_MISSING) == 0) {
		stage2_refuse(env, req, audit, rule, REASON_MISSING,
			      "code required but none given", result_r);
		return;
	}
	if (strcmp(what, PENDING_ENROLL) == 0) {
		stage2_refuse(env, req, audit, rule, REASON_ENROLL,
			      "enrollment required", result_r);
		return;
	}
	if (!str_begins_with(what, PENDING_CODE)) {
		login_fail_internal(env, req, "2", NULL,
			"unknown stage 1 result: login refused", result_r);
		return;
	}
	what += strlen(PENDING_CODE);
	p = strchr(what, ' ');
	if (p != NULL) {
		rc.hash = p + 1;
		rc.ip = ip_str(req->remote_ip) == NULL ? "" :
			ip_str(req->remote_ip);
		what = t_strdup_until(what, p);
	}

	if (stepup_state_verify_code_reconnect(env->state, req->user,
				     stepup_policy_get_totp(env->policy),
				     what, p == NULL ? NULL : &rc, req->now,
				     &info, &error) < 0) {
		if (audit) {
			stage2_refuse(env, req, audit, rule, NULL, t_strdup_printf(
				"code check failed: %s", error), result_r);
			return;
		}
		login_fail_internal(env, req, "2", rule, t_strdup_printf(
			"code check failed, login refused: %s", error),
			result_r);
		return;
	}
	login_lockout_log(env, req, rule, &info, FALSE);
	if (info.clock_behind) {
		e_warning(env->event, "user %s: " CLOCK_BEHIND ": check the "
			  "server's time (NTP)", str_sanitize(req->user, 80));
	}
	switch (info.result) {
	case STEPUP_VERIFY_RECONNECT:
		/* the original verification time: folder max_age counts
		   from the real code entry */
		result_r->action = STEPUP_LOGIN_ACTION_OK;
		result_r->level = STEPUP_AUTH_TOTP;
		result_r->mfa_time = info.mfa_time;
		(void)login_record(env, req, "2", "allow", STEPUP_AUTH_TOTP,
				   rule, t_strdup_printf(
					"reconnect (code verified %ld s ago)",
					(long)(req->now - info.mfa_time)),
				   result_r);
		return;
	case STEPUP_VERIFY_OK:
		result_r->action = STEPUP_LOGIN_ACTION_OK;
		result_r->level = STEPUP_AUTH_TOTP;
		result_r->mfa_time = info.mfa_time;
		(void)login_record(env, req, "2", "allow", STEPUP_AUTH_TOTP,
				   rule, info.recovery_code_used ?
				   t_strdup_printf(
					"recovery code accepted (%u left)",
					info.recovery_codes_left) :
				   info.clock_behind ? "totp code verified ("
				   CLOCK_BEHIND ")" : "totp code verified",
				   result_r);
		return;
	case STEPUP_VERIFY_WRONG:
		stage2_refuse(env, req, audit, rule, REASON_WRONG_CODE,
			      t_strdup_printf("wrong code (%u consecutive "
					      "failures)", info.failures),
			      result_r);
		login_lockout_log(env, req, rule, &info, TRUE);
		return;
	case STEPUP_VERIFY_REPLAY:
		stage2_refuse(env, req, audit, rule, REASON_REPLAY,
			      info.clock_behind ? "replayed code ("
			      CLOCK_BEHIND ")" : "replayed code", result_r);
		return;
	case STEPUP_VERIFY_LOCKED:
		stage2_refuse(env, req, audit, rule, t_strdup_printf(
			"Too many wrong codes: try again after %s.",
			format_time(info.locked_until)),
			t_strdup_printf("locked out until %s",
					format_time(info.locked_until)),
			result_r);
		return;
	case STEPUP_VERIFY_NOT_ENROLLED:
		stage2_refuse(env, req, audit, rule, REASON_ENROLL,
			      "not enrolled (any more)", result_r);
		return;
	}
	i_unreached();
}
