#ifndef ASVC_REQUEST_H
#define ASVC_REQUEST_H

#include "array.h"

/* One approval request as the approval service keeps it: what the plugin
   sent (SPEC "Approval endpoint — protocol version 1") and what became
   of it. */

enum asvc_status {
	ASVC_STATUS_PENDING = 0,
	ASVC_STATUS_APPROVED,
	ASVC_STATUS_DENIED,
	ASVC_STATUS_EXPIRED,
};

struct asvc_request {
	pool_t pool;
	/* as sent; NULL strings are "" */
	const char *id, *user, *mailbox, *session, *remote_ip, *protocol;
	const char *client, *rule, *auth, *binding_code;
	time_t created, expires;
	/* our clock: when it arrived, when it was decided, when a grant
	   ends */
	time_t received, decided, grant_until;
	enum asvc_status status;
	/* who decided (approver name, "self" confirmations: the user) and
	   why; NULL if undecided */
	const char *approver, *reason;
	bool self_confirmed;
};

ARRAY_DEFINE_TYPE(asvc_request_p, struct asvc_request *);

/* "pending", "approved", "denied", "expired" */
const char *asvc_status_name(enum asvc_status status);

/* A new empty request with its own pool. */
struct asvc_request *asvc_request_new(void);
void asvc_request_free(struct asvc_request **req);
/* A copy into a new pool. */
struct asvc_request *asvc_request_dup(const struct asvc_request *req);

/* The persisted form: "stepup-approval-request 1" then one
   "key<TAB>value" line per field (tab-escaped). */
void asvc_request_format(string_t *dest, const struct asvc_request *req);
/* -1 if text is not a request record of this version */
int asvc_request_parse(const char *text, struct asvc_request **req_r,
		       const char **error_r);

/* The request's JSON body (protocol v1) as sent by the plugin. Unknown
   keys are ignored; version must be 1; request_id 32 lowercase hex; user
   and rule non-empty; binding_code two digits. */
int asvc_request_parse_json(const void *data, size_t size,
			    struct asvc_request **req_r, const char **error_r);

/* TRUE if both name the same request (a retried POST). */
bool asvc_request_same(const struct asvc_request *a,
		       const struct asvc_request *b);

#endif
