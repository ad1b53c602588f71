#ifndef STEPUP_ENROLL_H
#define STEPUP_ENROLL_H

#include "net.h"

/* Enrollment (doc/enrollment.md): who may enroll, the two steps of an
   enrollment (begin: a new secret and its otpauth URI; finish: confirm
   with a code), re-enrollment and the audit record of every step. The
   same code serves an admin at the terminal (stepup enroll) and a user
   enrolling themself (stepup enroll --self, the enrollment page): for
   the latter the policy's enrollment block applies. */

struct stepup_policy;
struct stepup_state;
struct stepup_audit;

struct stepup_enroll_env {
	const struct stepup_policy *policy;
	struct stepup_state *state;
	/* NULL: no audit log configured */
	struct stepup_audit *audit;
	/* the audit record's service ("stepup", "stepup-approval") */
	const char *service;
	/* the user enrolls themself: invitation, networks and
	   re-enrollment with a current code; records have "by":"self" */
	bool by_self;
	/* where the user is (family 0: unknown, refused where
	   enrollment.networks is set) */
	struct ip_addr remote_ip;
};

/* One enrollment between begin and finish (the secret is wiped by
   stepup_enroll_free). */
struct stepup_enrollment;

/* Start enrolling user. invite: the invitation code, needed when
   by_self and enrollment.invite, for a user who is not enrolled. proof:
   a current TOTP code or a recovery code, needed when by_self for a user
   who is enrolled (it is used up). An admin cannot re-enroll (reset
   first). Returns 1 (enr_r set), 0 refused (reason_r for the user, an
   enroll deny record written), -1 error (error_r; deny). */
int stepup_enroll_begin(const struct stepup_enroll_env *env,
			const char *user, const char *invite,
			const char *proof, struct stepup_enrollment **enr_r,
			const char **reason_r, const char **error_r);
/* The otpauth:// URI of the new secret: show it only to the user. */
const char *stepup_enrollment_uri(const struct stepup_enrollment *enr);
/* TRUE if finishing replaces an existing enrollment. */
bool stepup_enrollment_is_reenroll(const struct stepup_enrollment *enr);

/* Confirm with a code of the new secret; only then is anything stored
   (the invitation is used up first). Returns 1 with the new recovery
   codes (data stack, shown once), 0 refused (reason_r; nothing stored,
   start again), -1 error. Either way enr can only be freed afterwards. */
int stepup_enroll_finish(const struct stepup_enroll_env *env,
			 struct stepup_enrollment *enr, const char *code,
			 const char *const **recovery_codes_r,
			 const char **reason_r, const char **error_r);
void stepup_enroll_free(struct stepup_enrollment **enr);

/* An enroll or admin record for env ("by":"self", or an admin's without
   "by"). -1 if it could not be written (error_r). */
int stepup_enroll_audit(const struct stepup_enroll_env *env,
			const char *event, const char *user,
			const char *decision, const char *reason,
			const char **error_r);

/* ---- notices (enrollment.notify), enroll-notice.c */

enum stepup_notice_kind {
	STEPUP_NOTICE_ENROLLED,
	STEPUP_NOTICE_REENROLLED,
	STEPUP_NOTICE_RESET,
	STEPUP_NOTICE_APP_PASSWORD,
};

/* The notice as an RFC 5322 message with CRLF line ends (data stack):
   what happened, when, by whom, and what to do if it was not the user.
   detail (an app password's label, may be NULL) and user are user data:
   they go into the body only, never unencoded into a header. No secret
   is ever passed. */
const char *stepup_notice_message(enum stepup_notice_kind kind,
				  const char *user, const char *detail,
				  bool by_self, const char *hostname,
				  time_t now);

/* Deliver message into user's INBOX through Dovecot's LMTP (lmtp: a
   socket path or host:port), every step bounded by timeout_msecs.
   -1 on any failure (error_r). enroll/lmtp-client.c */
int stepup_lmtp_deliver(const char *lmtp, const char *user,
			const char *message, unsigned int timeout_msecs,
			const char **error_r);

#endif
