#ifndef STEPUP_APPROVAL_REQUEST_H
#define STEPUP_APPROVAL_REQUEST_H

#include "approval-key.h"

/* What the plugin sends to the approval endpoint (SPEC "Approval endpoint
   — protocol version 1"): the URL, the JSON body, the signed headers.
   User data goes into the body only, JSON-escaped; the URL, the path and
   the headers are built from the policy and from random hex. */

/* A parsed approval.url. https:// only; plain http:// only to 127.0.0.1
   and [::1]. No user, password or fragment; printable ASCII only. */
struct stepup_approval_url {
	bool tls;
	/* the Host header and the signed host: lowercased, ":port" when the
	   URL names a port (even the default one) */
	const char *host;
	/* the signed path of a POST: path and query ("/" when empty) */
	const char *path;
	/* the same split: path without query, query with its "?" or "" */
	const char *path_only, *query;
	/* scheme://host/path?query as the transport should fetch it */
	const char *url;
};

int stepup_approval_url_parse(pool_t pool, const char *url,
			      struct stepup_approval_url *url_r,
			      const char **error_r);

/* The fields of a request body. NULL strings are sent as "". */
struct stepup_approval_request_info {
	const char *request_id;
	const char *user, *mailbox, *session, *remote_ip, *protocol;
	const char *client;	/* IMAP ID name, may be empty */
	const char *rule, *auth, *binding_code;
	time_t created, expires;
};

/* Append the exact JSON body:
   {"version":1,"request_id":"...","user":"...","mailbox":"...",
    "session":"...","remote_ip":"...","protocol":"...","client":"...",
    "rule":"...","auth":"...","binding_code":"..","created":N,"expires":N}
   Invalid UTF-8 becomes U+FFFD; control characters are \u-escaped. */
void stepup_approval_request_body(string_t *dest,
				  const struct stepup_approval_request_info *info);

/* 32 lowercase hex from the CSPRNG: request ids and nonces (data stack). */
const char *stepup_approval_random_hex(void);
/* "00".."99", uniform, from the CSPRNG (data stack). */
const char *stepup_approval_binding_code(void);

/* One signed HTTP exchange, ready for the transport. */
struct stepup_approval_http_request {
	const char *method;	/* "POST" or "GET" */
	const char *url;	/* what to fetch */
	const char *host, *path;	/* signed; send exactly this Host */
	const char *body;	/* "" for GET */
	size_t body_size;
	const char *timestamp, *nonce, *signature;
	/* "Name: value" lines, NULL-terminated: Host, Content-Type (POST),
	   X-Stepup-Timestamp, X-Stepup-Nonce, X-Stepup-Signature */
	const char *const *headers;
};

/* POST {url} with body, signed by key at now. nonce NULL: a fresh one
   (tests pass a fixed one). Allocated from pool (the exchange outlives
   the caller's data stack frame). */
void stepup_approval_http_post(pool_t pool,
			       const struct stepup_approval_url *url,
			       const struct stepup_approval_key *key,
			       const char *body, time_t now,
			       const char *nonce,
			       struct stepup_approval_http_request *req_r);
/* GET {url}/{request_id}: the URL's path without a trailing "/", then
   "/" + request_id, then the URL's query; empty body. request_id must be
   32 hex (it is ours; asserted). */
void stepup_approval_http_poll(pool_t pool,
			       const struct stepup_approval_url *url,
			       const struct stepup_approval_key *key,
			       const char *request_id, time_t now,
			       const char *nonce,
			       struct stepup_approval_http_request *req_r);

/* TRUE if s is 32 lowercase hex (a request id or nonce of ours). */
bool stepup_approval_is_hex_id(const char *s);

#endif
