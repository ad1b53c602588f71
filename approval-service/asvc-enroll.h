#ifndef ASVC_ENROLL_H
#define ASVC_ENROLL_H

#include "stepup-enroll.h"

struct stepup_policy;
struct stepup_state;
struct stepup_audit;
struct asvc_store;
struct asvc_session;

/* The enrollment page (doc/enrollment.md "Self-service"): a signed-in
   user who is not enrolled gives the invitation code (where the policy
   asks for one), sees the new secret as a QR code and an otpauth:// URI,
   confirms with a code and is shown the recovery codes once (and may
   download them once as text). An enrolled user (signed in with a code)
   re-enrolls a new phone with a current code or a recovery code. The
   decisions are the enrollment core's (enroll/enroll.c): invitation,
   networks, audit records with "by":"self". */

typedef void asvc_notify_func_t(enum stepup_notice_kind kind,
				const char *user, const char *detail,
				void *context);

struct asvc_enroll_env {
	/* the policy now; NULL: no good policy (everything is refused) */
	const struct stepup_policy *policy;
	struct stepup_state *state;
	/* NULL: the policy names no audit log */
	struct stepup_audit *audit;
	/* the policy names an audit log that could not be opened:
	   every change is refused (no change without its record) */
	bool audit_unavailable;
	/* the service's approval store: a re-enrolled user's grants and
	   pending requests end (NULL: none) */
	struct asvc_store *store;
	/* enrollment.notify: a notice for the user's INBOX (the glue
	   delivers it without blocking); NULL: none */
	asvc_notify_func_t *notify;
	void *notify_context;
};

/* What an enrollment action produced: the page (into out) and its
   status, and a line for the service's log (sanitized) or NULL. */
struct asvc_enroll_result {
	unsigned int status;
	const char *log;
};

/* Per-session state between the steps (freed with the session). */
struct asvc_enroll_session;
void asvc_enroll_session_free(struct asvc_enroll_session **es);

/* GET enroll */
void asvc_enroll_show(const struct asvc_enroll_env *env,
		      struct asvc_session *session, string_t *out,
		      struct asvc_enroll_result *res_r);
/* POST enroll/begin: invite (a user who is not enrolled) or proof (a
   current code or a recovery code, a user who is) from the form */
void asvc_enroll_begin(const struct asvc_enroll_env *env,
		       struct asvc_session *session, const char *remote_ip,
		       const char *invite, const char *proof, string_t *out,
		       struct asvc_enroll_result *res_r);
/* POST enroll/confirm: the first code of the new secret */
void asvc_enroll_confirm(const struct asvc_enroll_env *env,
			 struct asvc_session *session, const char *remote_ip,
			 const char *code, string_t *out,
			 struct asvc_enroll_result *res_r);
/* GET recovery-codes/TOKEN: the codes as text, once (NULL: no such
   download, or already taken; data stack). */
const char *asvc_enroll_download(struct asvc_session *session,
				 const char *token);
/* The recovery codes are shown once: anything else the session does
   afterwards forgets them. */
void asvc_enroll_forget(struct asvc_session *session);

/* A record ("by":"self") outside the steps: a refused sign-in with the
   password alone of an enrolled user, a notice not delivered, app
   passwords. A lost record is logged, -1. */
int asvc_enroll_audit(const struct asvc_enroll_env *env, const char *event,
		      const char *user, const char *remote_ip,
		      const char *decision, const char *reason);

/* The user's approval grants and pending requests in the service's
   store end after a re-enrollment (and an admin reset): -1 on error. */
int asvc_enroll_end_grants(const struct asvc_enroll_env *env,
			   const char *user, time_t now, const char **error_r);

#endif
