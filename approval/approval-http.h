#ifndef APPROVAL_HTTP_H
#define APPROVAL_HTTP_H

#include "approval-failure.h"
#include "approval-request.h"
#include "approval-response.h"

/* The HTTPS transport of the approval client: libcurl's multi interface
   run by the Dovecot ioloop of the process that creates the client (the
   stepup-audit service; stepup-approval's webhook), so an exchange never blocks the other users of
   that process. The only code that includes curl. What is sent (URL,
   headers, body) is built and signed by the caller (approval-request.c);
   this file only carries it, with the transport rules of SPEC "Approval
   endpoint": HTTPS only (plain http only to 127.0.0.1/::1), peer and host
   verification always on, an optional CA file, optional public key pins
   and client certificate, no redirects, no proxy from the environment,
   connect and total timeouts, a capped response body. */

struct approval_http_settings {
	/* NULL: the system's CAs */
	const char *ca_file;
	/* "sha256//BASE64;sha256//BASE64", NULL: none */
	const char *pin;
	/* both or neither */
	const char *client_cert, *client_key;
	unsigned int connect_timeout_msecs, timeout_msecs;
};

/* The exchange ended: failure is FAIL_NONE and http the response, or the
   transport's failure kind (timeout, dns, connect, tls, pin, too_large,
   config, internal) with a short text for the log (no user data) and
   http NULL. Lives only during the callback. */
typedef void
approval_http_callback_t(enum stepup_approval_failure failure,
			 const char *error,
			 const struct stepup_approval_http_response *http,
			 void *context);

struct approval_http_client *
approval_http_client_init(const struct approval_http_settings *set);
/* Aborts every exchange still running (their callbacks are not called). */
void approval_http_client_deinit(struct approval_http_client **client);

/* Start the signed exchange req to url (stepup_approval_url_parse(): its
   scheme decides between https and loopback http). The callback is
   called exactly once, from the ioloop (never from inside this call),
   unless the exchange is aborted first. */
struct approval_http_exchange *
approval_http_start(struct approval_http_client *client,
		    const struct stepup_approval_url *url,
		    const struct stepup_approval_http_request *req,
		    approval_http_callback_t *callback, void *context);
void approval_http_abort(struct approval_http_exchange **exchange);

/* Exchanges started and not yet finished */
unsigned int approval_http_running(const struct approval_http_client *client);

#endif
