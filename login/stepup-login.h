#ifndef STEPUP_LOGIN_H
#define STEPUP_LOGIN_H

#include "net.h"
#include "stepup-settings.h"

/* Login enforcement, independent of Dovecot's auth process so it can be
   unit-tested. The passdb driver runs it in two stages around the admin's
   own passdb:

   stage 1 (first passdb): applies the login rule, takes a TOTP or recovery
     code off the end of the password, checks app passwords, and tells the
     glue what to hand on; it never verifies the account password.
   stage 2 (last passdb, skip=unauthenticated): runs only once the admin's
     passdb accepted the password; verifies and consumes the code and only
     then may tell the client why it was refused (no oracle for the code
     without the password, and code failures count toward lockout only
     with the right password). */

struct stepup_policy;
struct stepup_state;
struct stepup_audit;

struct stepup_login_env {
	const struct stepup_policy *policy;	/* NULL: no good policy */
	struct stepup_state *state;		/* NULL: state unavailable */
	struct stepup_audit *audit;		/* NULL: no audit log open */
	/* audit.required: a login whose record cannot be written (or with
	   no log open) is refused with a temporary failure */
	bool audit_required;
	/* why audit is NULL, for the refusal's log line (may be NULL) */
	const char *audit_error;
	/* a stepup event (stepup_event_create()): parent of the
	   decision events, its prefix on every log line */
	struct event *event;
	/* random per-process value binding stage 2 to this stage 1 */
	const char *nonce;
};

struct stepup_login_request {
	const char *user;
	const char *protocol;		/* imap, pop3, sieve, submission ... */
	const char *session;		/* may be NULL */
	const struct ip_addr *remote_ip;/* may be NULL */
	time_t now;
	/* stage 2: the rule stage 1 applied (for logs), may be NULL */
	const char *rule;
};

enum stepup_login_action {
	/* hand the first password_len bytes on to the next passdb */
	STEPUP_LOGIN_ACTION_CONTINUE,
	/* authenticated here (app password): the chain ends */
	STEPUP_LOGIN_ACTION_OK,
	/* refused; client_reason may be shown only in stage 2 */
	STEPUP_LOGIN_ACTION_FAIL,
	/* something broke: refused (fail closed) */
	STEPUP_LOGIN_ACTION_INTERNAL_FAIL,
};

struct stepup_login_result {
	enum stepup_login_action action;
	/* stage 1 CONTINUE: bytes of the password to hand on */
	size_t password_len;
	/* stage 1 CONTINUE: what stage 2 must do (opaque, hidden field) */
	const char *pending;
	/* the session's facts for the mail side (OK, CONTINUE, stage 2 OK) */
	enum stepup_auth_level level;
	time_t mfa_time;
	const char *rule;
	const char *enroll_by;		/* grace: YYYY-MM-DD, else NULL */
	/* stage 2 FAIL: plain-language text for the client, or NULL */
	const char *client_reason;
};

void stepup_login_stage1(const struct stepup_login_env *env,
			 const struct stepup_login_request *req,
			 const char *password,
			 struct stepup_login_result *result_r);

/* pending is what stage 1 returned, or NULL if it never ran. */
void stepup_login_stage2(const struct stepup_login_env *env,
			 const struct stepup_login_request *req,
			 const char *pending,
			 struct stepup_login_result *result_r);

/* A mechanism that carries no password (CRAM-MD5, SCRAM ...) asked for
   credentials: refused for everyone, logged and audited (also in audit
   mode: the code cannot be checked, so neither can the rule). */
/* The stage-2 passdb ran (skip = never) after the password was not
   verified: a deny record. */
void stepup_login_refuse_password(const struct stepup_login_env *env,
				  const struct stepup_login_request *req);
void stepup_login_refuse_mechanism(const struct stepup_login_env *env,
				   const struct stepup_login_request *req,
				   const char *mech);

/* A fresh random nonce for env->nonce. */
const char *stepup_login_new_nonce(pool_t pool);

#endif
