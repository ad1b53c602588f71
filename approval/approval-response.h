#ifndef STEPUP_APPROVAL_RESPONSE_H
#define STEPUP_APPROVAL_RESPONSE_H

#include "approval-key.h"
#include "approval-failure.h"

/* The endpoint's answer to one exchange, verified and parsed (SPEC
   "Approval endpoint — protocol version 1"). Fail closed: anything that
   is not a well-signed, fresh, well-formed answer to this very request
   is a failure with its kind. */

#define STEPUP_APPROVAL_BODY_MAX (64 * 1024)
/* a timestamp further than this from our clock is refused */
#define STEPUP_APPROVAL_MAX_SKEW_SECS 300
/* bytes kept of the endpoint's texts (control characters removed) */
#define STEPUP_APPROVAL_MESSAGE_MAX 200
#define STEPUP_APPROVAL_APPROVER_MAX 128
#define STEPUP_APPROVAL_REASON_MAX 256
/* poll_after and Retry-After above this are taken as this */
#define STEPUP_APPROVAL_POLL_AFTER_MAX 3600
/* ttl above this is taken as this (a year) */
#define STEPUP_APPROVAL_TTL_MAX (366 * 24 * 3600)

enum stepup_approval_decision {
	STEPUP_APPROVAL_DECISION_PENDING = 0,
	STEPUP_APPROVAL_DECISION_APPROVED,
	STEPUP_APPROVAL_DECISION_DENIED,
	STEPUP_APPROVAL_DECISION_EXPIRED,
};
/* "pending", "approved", "denied", "expired" */
const char *
stepup_approval_decision_name(enum stepup_approval_decision decision);

/* What the transport received. */
struct stepup_approval_http_response {
	unsigned int status;
	/* header values as received (NULL: absent) */
	const char *timestamp, *signature, *retry_after;
	const void *body;
	size_t body_size;
	/* the transport stopped reading because the body went past
	   STEPUP_APPROVAL_BODY_MAX */
	bool body_truncated;
};

struct stepup_approval_response {
	enum stepup_approval_decision decision;
	/* 429/503: pending without a body or signature to check */
	bool throttled;
	/* the key that verified the signature (NULL if throttled) */
	const char *key_id;
	bool have_ttl;
	unsigned int ttl_secs;
	/* 0: not given */
	unsigned int poll_after_secs, retry_after_secs;
	/* NULL if not given; bounded, control characters removed */
	const char *approver, *reason, *message;
};

/* Verify and parse the answer to the exchange that sent nonce for
   request_id at now. Returns 0 with resp_r filled (strings from pool), or
   -1 with the failure kind and a log text (data stack; no secrets,
   sanitized).
   Order: status (429/503 = pending; 3xx redirect; other non-200 status),
   size, signature, timestamp, JSON, echo of request_id and nonce. */
int stepup_approval_response_parse(pool_t pool,
				   const struct stepup_approval_keyring *keyring,
				   const char *request_id, const char *nonce,
				   time_t now,
				   const struct stepup_approval_http_response *http,
				   struct stepup_approval_response *resp_r,
				   enum stepup_approval_failure *failure_r,
				   const char **error_r);

/* A text from the endpoint as it may be shown or logged: valid UTF-8 only,
   without C0/C1 control characters, DEL, line/paragraph separators and
   bidi controls, cut at a character boundary to at most max bytes. */
const char *stepup_approval_clean_text(pool_t pool, const char *text,
				       size_t max);

#endif
