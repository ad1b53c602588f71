#ifndef ASVC_WEB_H
#define ASVC_WEB_H

#include "array.h"

struct asvc_store;
struct asvc_sessions;
struct asvc_rules;

/* The approval page's requests and actions, independent of the HTTP
   server: sign-in (its check is the caller's: Dovecot's passdb chain),
   the list of requests, approve, deny, confirm with the binding code,
   sign-out. Every response carries the security headers; every form
   post must carry its CSRF token. */

#define ASVC_COOKIE_SESSION "__Host-stepup-approval"
#define ASVC_COOKIE_PRE "__Host-stepup-approval-pre"
/* a form body larger than this is refused */
#define ASVC_WEB_FORM_MAX 8192

struct asvc_enroll_env;

struct asvc_web_env {
	struct asvc_store *store;
	struct asvc_sessions *sessions;
	const struct asvc_rules *rules;
	/* the enrollment page (asvc-enroll.h); NULL: none, and every
	   sign-in needs a code */
	const struct asvc_enroll_env *enroll;
	/* the style sheet served at approval.css */
	const char *css;
};

struct asvc_web_request {
	const char *method;
	/* the path, without query */
	const char *path;
	const char *cookie;		/* the Cookie header or NULL */
	const char *content_type;	/* NULL if none */
	const char *body;		/* the form, "" for GET */
	const char *remote_ip;
	time_t now;
};

struct asvc_web_header {
	const char *name, *value;
};
ARRAY_DEFINE_TYPE(asvc_web_header, struct asvc_web_header);

struct asvc_signin {
	const char *user;
	/* password and code as typed, to check together; the caller wipes
	   it once used */
	char *password, *code;
};

struct asvc_web_response {
	unsigned int status;
	const char *reason, *content_type;
	string_t *body;
	ARRAY_TYPE(asvc_web_header) headers;
	/* TRUE: check this sign-in, then call asvc_web_signin_done() */
	bool signin_pending;
	struct asvc_signin signin;
	/* for the log (sanitized): what was decided, or refused */
	const char *log;
};

/* Everything allocated from the data stack. */
void asvc_web_handle(const struct asvc_web_env *env,
		     const struct asvc_web_request *req,
		     struct asvc_web_response *resp);

enum asvc_signin_result {
	ASVC_SIGNIN_FAILED = 0,
	/* the password and a one-time code verified by this sign-in */
	ASVC_SIGNIN_TOTP,
	/* the password alone (no code was given, the login level is
	   "password"): only a user who is not enrolled gets a session,
	   for the enrollment page only */
	ASVC_SIGNIN_PASSWORD,
};

/* The result of the sign-in check. */
void asvc_web_signin_done(const struct asvc_web_env *env,
			  const struct asvc_web_request *req,
			  const char *user, enum asvc_signin_result result,
			  const char *why, struct asvc_web_response *resp);

#endif
