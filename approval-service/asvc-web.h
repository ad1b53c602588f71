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

struct asvc_web_env {
	struct asvc_store *store;
	struct asvc_sessions *sessions;
	const struct asvc_rules *rules;
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

/* The result of the sign-in check: ok only if the password and a fresh
   one-time code were accepted. */
void asvc_web_signin_done(const struct asvc_web_env *env,
			  const struct asvc_web_request *req,
			  const char *user, bool ok, const char *why,
			  struct asvc_web_response *resp);

#endif
