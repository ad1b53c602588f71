/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "ioloop.h"
#include "approval-key.h"
#include "approval-sign.h"
#include "approval-request.h"
#include "approval-http.h"
#include "stepup-approval-endpoint.h"

/* webhook=URL: each new request is POSTed there as the same JSON the
   notify command gets, signed like a protocol response (X-Stepup-Nonce,
   X-Stepup-Timestamp, X-Stepup-Signature over "RESPONSE\n" nonce "\n"
   timestamp "\n" body with the approval key), so the receiver can tell
   it came from this service. Carried by the approval client's transport
   (approval/approval-http.c: the same on Dovecot 2.3 and 2.4, its TLS
   rules). Never waited for; failures are logged. */

#define WEBHOOK_MAX_PENDING 100

static struct approval_http_client *webhook_client;
static pool_t webhook_pool;
static struct stepup_approval_url webhook_url;
static const struct stepup_approval_key *webhook_key;
static struct event *webhook_event;
static unsigned int webhook_pending;

static void webhook_response(enum stepup_approval_failure failure,
			     const char *error,
			     const struct stepup_approval_http_response *http,
			     void *context ATTR_UNUSED)
{
	i_assert(webhook_pending > 0);
	webhook_pending--;
	if (http == NULL) {
		e_error(webhook_event, "webhook: %s: %s",
			stepup_approval_failure_name(failure), error);
	} else if (http->status / 100 != 2) {
		e_error(webhook_event, "webhook: HTTP status %u",
			http->status);
	}
}

void stepup_approval_webhook_init(const char *url, const char *ca_file,
				  unsigned int timeout_secs,
				  const struct stepup_approval_keyring *keyring,
				  struct event *event)
{
	struct approval_http_settings set;
	const char *error;

	if (url == NULL)
		return;
	webhook_pool = pool_alloconly_create("approval webhook", 512);
	/* checked by asvc_settings_parse() already */
	if (stepup_approval_url_parse(webhook_pool, url, &webhook_url,
				      &error) < 0)
		i_fatal("stepup-approval: webhook: %s", error);
	i_zero(&set);
	set.ca_file = ca_file;
	set.connect_timeout_msecs = timeout_secs * 1000;
	set.timeout_msecs = timeout_secs * 1000;
	webhook_client = approval_http_client_init(&set);
	webhook_key = stepup_approval_keyring_signer(keyring);
	webhook_event = event;
}

void stepup_approval_webhook_deinit(void)
{
	/* deliveries still running are dropped */
	approval_http_client_deinit(&webhook_client);
	pool_unref(&webhook_pool);
}

void stepup_approval_webhook(const char *json)
{
	struct stepup_approval_http_request req;
	const char *nonce, *ts, *sig;

	if (webhook_client == NULL)
		return;
	if (webhook_pending >= WEBHOOK_MAX_PENDING) {
		e_error(webhook_event, "webhook: %u deliveries pending: "
			"this one dropped", webhook_pending);
		return;
	}
	nonce = stepup_approval_random_hex();
	ts = dec2str(ioloop_time);
	sig = stepup_approval_sign_response(webhook_key, nonce, ts, json,
					    strlen(json));
	i_zero(&req);
	req.method = "POST";
	req.url = webhook_url.url;
	req.host = webhook_url.host;
	req.path = webhook_url.path;
	req.body = json;
	req.body_size = strlen(json);
	req.timestamp = ts;
	req.nonce = nonce;
	req.signature = sig;
	req.headers = t_strsplit(t_strdup_printf(
		"Host: %s\nContent-Type: application/json\n"
		"X-Stepup-Nonce: %s\nX-Stepup-Timestamp: %s\n"
		"X-Stepup-Signature: %s", webhook_url.host, nonce, ts, sig),
		"\n");
	webhook_pending++;
	/* the transport copies what it sends */
	(void)approval_http_start(webhook_client, &webhook_url, &req,
				  webhook_response, NULL);
}
