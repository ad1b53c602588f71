/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Who may enroll and the two steps of an enrollment, for an admin (stepup
   enroll) and for a user enrolling themself (stepup enroll --self, the
   enrollment page). Every refusal and every change is an audit record;
   nothing is stored before the new secret is confirmed with a code. */

#include "lib.h"
#include "randgen.h"
#include "safe-memset.h"
#include "stepup-policy.h"
#include "stepup-state.h"
#include "stepup-audit.h"
#include "stepup-totp.h"
#include "stepup-enroll.h"

#include <sys/time.h>
#include <time.h>

struct stepup_enrollment {
	char *user, *uri, *invite;
	unsigned char secret[STEPUP_TOTP_SECRET_MAX];
	size_t secret_len;
	bool reenroll;
	bool finished;
};

int stepup_enroll_audit(const struct stepup_enroll_env *env,
			const char *event, const char *user,
			const char *decision, const char *reason,
			const char **error_r)
{
	struct stepup_audit_record rec;
	struct timeval tv;

	if (env->audit == NULL)
		return 0;
	i_zero(&rec);
	rec.event = event;
	rec.user = user;
	rec.service = env->service;
	rec.ip = env->remote_ip.family == 0 ? NULL :
		net_ip2addr(&env->remote_ip);
	rec.decision = decision;
	rec.reason = reason;
	/* who acted: the user themself, or an admin at the tool */
	rec.by = env->by_self ? "self" : NULL;
	if (gettimeofday(&tv, NULL) < 0)
		i_fatal("gettimeofday() failed: %m");
	if (stepup_audit_write(env->audit, &rec, &tv, error_r) < 0) {
		if (stepup_policy_audit_required(env->policy))
			return -1;
		/* as the tool's other changes (cli-common.c) */
		i_warning("audit log: %s; audit.required = false: going on "
			  "without the record", *error_r);
	}
	return 0;
}

/* A refusal: its deny record, reason_r for the user. */
#define REENROLLED_REASON \
	"TOTP re-enrolled: the old secret, recovery codes and grants are " \
	"replaced"

static int refuse(const struct stepup_enroll_env *env, const char *user,
		  const char *reason, const char **reason_r,
		  const char **error_r)
{
	*reason_r = reason;
	if (stepup_enroll_audit(env, "enroll", user, "deny", reason,
				error_r) < 0)
		return -1;
	return 0;
}

static const char *verify_reason(const struct stepup_verify_info *info)
{
	switch (info->result) {
	case STEPUP_VERIFY_OK:
	case STEPUP_VERIFY_RECONNECT:
		break;
	case STEPUP_VERIFY_WRONG:
		return "re-enrollment: wrong code";
	case STEPUP_VERIFY_REPLAY:
		return "re-enrollment: code already used";
	case STEPUP_VERIFY_LOCKED:
		return "re-enrollment: locked out after too many wrong codes";
	case STEPUP_VERIFY_NOT_ENROLLED:
		return "re-enrollment: not enrolled";
	}
	return "re-enrollment: code not accepted";
}

/* An enrolled user proves they hold the current secret (or a recovery
   code): 1 yes, 0 refused, -1 error. */
static int check_proof(const struct stepup_enroll_env *env, const char *user,
		       const char *proof, const char **reason_r,
		       const char **error_r)
{
	struct stepup_verify_info info;

	if (!env->by_self) {
		*reason_r = "already enrolled (stepup reset first)";
		return 0;
	}
	if (proof == NULL || proof[0] == '\0') {
		*reason_r = "already enrolled: re-enrollment needs a current "
			"code or a recovery code";
		return 0;
	}
	if (stepup_state_verify_code(env->state, user,
				     stepup_policy_get_totp(env->policy),
				     proof, time(NULL), &info, error_r) < 0)
		return -1;
	if (info.result != STEPUP_VERIFY_OK) {
		*reason_r = verify_reason(&info);
		return 0;
	}
	return 1;
}

/* the user's invitation: 1 accepted (used up with redeem), 0 refused,
   -1 error */
static int invite_check(const struct stepup_enroll_env *env,
			const char *user, const char *invite, bool redeem,
			const char **reason_r, const char **error_r)
{
	enum stepup_invite_result result;

	if (invite == NULL || invite[0] == '\0') {
		*reason_r = "an invitation code is needed";
		return 0;
	}
	if (stepup_state_invite_check(env->state, user, invite, time(NULL),
				      redeem, &result, error_r) < 0)
		return -1;
	if (result != STEPUP_INVITE_OK) {
		*reason_r = stepup_invite_result_reason(result);
		return 0;
	}
	return 1;
}

/* who may enroll without an admin: 1 yes, 0 refused, -1 error */
static int check_self(const struct stepup_enroll_env *env, const char *user,
		      const char *invite, const char **reason_r,
		      const char **error_r)
{
	if (!stepup_policy_get_enrollment(env->policy)->invite)
		return 1;
	return invite_check(env, user, invite, FALSE, reason_r, error_r);
}

int stepup_enroll_begin(const struct stepup_enroll_env *env,
			const char *user, const char *invite,
			const char *proof, struct stepup_enrollment **enr_r,
			const char **reason_r, const char **error_r)
{
	const struct stepup_totp_settings *set =
		stepup_policy_get_totp(env->policy);
	struct stepup_enrollment *enr;
	const char *reason = NULL;
	bool enrolled;
	int ret;

	*enr_r = NULL;
	*reason_r = NULL;
	if (env->by_self &&
	    !stepup_policy_enrollment_network_allows(env->policy,
						     &env->remote_ip)) {
		return refuse(env, user, "enrollment is not allowed from this "
			      "network", reason_r, error_r);
	}
	ret = stepup_state_is_enrolled(env->state, user, error_r);
	if (ret < 0) {
		(void)refuse(env, user, "state error", reason_r, error_r);
		return -1;
	}
	enrolled = ret > 0;
	if (enrolled)
		ret = check_proof(env, user, proof, &reason, error_r);
	else if (env->by_self)
		ret = check_self(env, user, invite, &reason, error_r);
	else
		ret = 1;
	if (ret < 0) {
		const char *error = *error_r;

		(void)refuse(env, user, "state error", reason_r, error_r);
		*error_r = error;
		return -1;
	}
	if (ret == 0)
		return refuse(env, user, reason, reason_r, error_r);

	enr = i_new(struct stepup_enrollment, 1);
	enr->user = i_strdup(user);
	enr->reenroll = enrolled;
	if (!enrolled && env->by_self &&
	    stepup_policy_get_enrollment(env->policy)->invite)
		enr->invite = i_strdup(invite);
	enr->secret_len = stepup_totp_secret_size(set->algorithm);
	random_fill(enr->secret, enr->secret_len);
	enr->uri = i_strdup(stepup_totp_uri(set, user, enr->secret,
					    enr->secret_len));
	*enr_r = enr;
	return 1;
}

const char *stepup_enrollment_uri(const struct stepup_enrollment *enr)
{
	return enr->uri;
}

bool stepup_enrollment_is_reenroll(const struct stepup_enrollment *enr)
{
	return enr->reenroll;
}

static int redeem_invite(const struct stepup_enroll_env *env,
			 struct stepup_enrollment *enr,
			 const char **reason_r, const char **error_r)
{
	if (enr->invite == NULL)
		return 1;
	return invite_check(env, enr->user, enr->invite, TRUE, reason_r,
			    error_r);
}

int stepup_enroll_finish(const struct stepup_enroll_env *env,
			 struct stepup_enrollment *enr, const char *code,
			 const char *const **recovery_codes_r,
			 const char **reason_r, const char **error_r)
{
	const struct stepup_totp_settings *set =
		stepup_policy_get_totp(env->policy);
	const char *reason = NULL;
	uint64_t counter;
	time_t now = time(NULL);
	int ret;

	*reason_r = NULL;
	if (enr->finished) {
		*error_r = "enrollment already finished";
		return -1;
	}
	enr->finished = TRUE;
	ret = code == NULL ? 0 :
		stepup_totp_verify(set, enr->secret, enr->secret_len, now,
				   code, &counter, error_r);
	if (ret < 0)
		return -1;
	if (ret == 0) {
		return refuse(env, enr->user, code == NULL || code[0] == '\0' ?
			      "no confirmation code given" :
			      "wrong confirmation code", reason_r, error_r);
	}
	ret = redeem_invite(env, enr, &reason, error_r);
	if (ret <= 0) {
		if (ret == 0)
			return refuse(env, enr->user, reason, reason_r,
				      error_r);
		return -1;
	}
	if (enr->reenroll) {
		/* the old secret cannot be brought back: the record first */
		if (stepup_enroll_audit(env, "enroll", enr->user, "allow",
					REENROLLED_REASON, error_r) < 0) {
			safe_memset(enr->secret, 0, sizeof(enr->secret));
			*error_r = t_strdup_printf("%s: %s not re-enrolled "
				"(its audit record could not be written)",
				*error_r, enr->user);
			return -1;
		}
		ret = stepup_state_reenroll(env->state, enr->user, set,
					    enr->secret, enr->secret_len,
					    counter, now, recovery_codes_r,
					    error_r);
		if (ret < 0) {
			const char *audit_error;

			safe_memset(enr->secret, 0, sizeof(enr->secret));
			if (stepup_enroll_audit(env, "enroll", enr->user,
					"deny", "TOTP re-enrollment not made: "
					"the state could not be changed",
					&audit_error) < 0) {
				*error_r = t_strdup_printf("%s; and its deny "
					"record could not be written: %s",
					*error_r, audit_error);
			}
			return -1;
		}
	} else {
		ret = stepup_state_enroll(env->state, enr->user, set,
					  enr->secret, enr->secret_len,
					  counter, now, recovery_codes_r,
					  error_r);
	}
	safe_memset(enr->secret, 0, sizeof(enr->secret));
	if (ret < 0)
		return -1;
	if (ret == 0) {
		return refuse(env, enr->user, enr->reenroll ?
			      "reset meanwhile by someone else" :
			      "enrolled meanwhile by someone else",
			      reason_r, error_r);
	}
	if (enr->reenroll)
		return 1;
	if (stepup_enroll_audit(env, "enroll", enr->user, "allow",
				"TOTP enrolled", error_r) < 0) {
		const char *undo_error;

		/* no new enrollment without its record */
		if (stepup_state_reset(env->state, enr->user,
				       &undo_error) < 0) {
			*error_r = t_strdup_printf("%s; undo failed: %s",
						   *error_r, undo_error);
		} else {
			*error_r = t_strdup_printf("%s: %s not enrolled (its "
				"audit record could not be written)", *error_r,
				enr->user);
		}
		return -1;
	}
	return 1;
}

static void wipe_str(char **str)
{
	if (*str != NULL) {
		safe_memset(*str, 0, strlen(*str));
		i_free_and_null(*str);
	}
}

void stepup_enroll_free(struct stepup_enrollment **_enr)
{
	struct stepup_enrollment *enr = *_enr;

	if (enr == NULL)
		return;
	*_enr = NULL;
	safe_memset(enr->secret, 0, sizeof(enr->secret));
	wipe_str(&enr->uri);
	wipe_str(&enr->invite);
	i_free(enr->user);
	i_free(enr);
}
