#ifndef ASVC_PROTO_H
#define ASVC_PROTO_H

#include "asvc-request.h"

struct stepup_approval_keyring;
struct asvc_store;

/* The endpoint side of protocol version 1 (SPEC "Approval endpoint"),
   independent of the HTTP server that carries it. */

struct asvc_proto_settings {
	/* the path of approval.url without its query: POST here, GET
	   path + "/" + request_id */
	const char *path;
	/* a pending request expires this long after it arrived */
	unsigned int lifetime_secs;
	/* what pending answers tell the plugin */
	unsigned int poll_after_secs;
};

struct asvc_http_request {
	const char *method;
	/* the Host header as received; the request target as received
	   (path and query) */
	const char *host, *target;
	/* header values, NULL if absent */
	const char *timestamp, *nonce, *signature;
	const void *body;
	size_t body_size;
};

struct asvc_http_response {
	unsigned int status;
	const char *reason;
	/* the JSON body; for 200 also the signed headers */
	const char *body, *timestamp, *signature;
	/* 405: the Allow header */
	const char *allow;
	/* why a request was refused (for the log; sanitized), or NULL */
	const char *refused;
};

struct asvc_proto_env {
	const struct asvc_proto_settings *set;
	const struct stepup_approval_keyring *keyring;
	struct asvc_store *store;
};

/* Does target belong to the protocol (POST path, GET path/ID)? */
bool asvc_proto_match(const struct asvc_proto_settings *set,
		      const char *target);

/* Handle one exchange at now; the response is allocated from the data
   stack. A new request accepted by this exchange is returned in
   new_req_r (owned by the store), else NULL. */
void asvc_proto_handle(const struct asvc_proto_env *env,
		       const struct asvc_http_request *in, time_t now,
		       struct asvc_http_response *out,
		       struct asvc_request **new_req_r);

/* The decision body for req (as a GET would get it), for tests. */
const char *asvc_proto_decision_body(const struct asvc_proto_settings *set,
				     const struct asvc_request *req,
				     const char *nonce, time_t now);

#endif
