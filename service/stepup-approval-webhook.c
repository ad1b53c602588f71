/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "ioloop.h"
#include "str.h"
#include "iostream-ssl.h"
#include "http-client.h"
#include "approval-key.h"
#include "approval-sign.h"
#include "approval-request.h"
#include "stepup-approval-endpoint.h"

/* webhook=URL: each new request is POSTed there as the same JSON the
   notify command gets, signed like a protocol response (X-Stepup-Nonce,
   X-Stepup-Timestamp, X-Stepup-Signature over "RESPONSE\n" nonce "\n"
   timestamp "\n" body with the approval key), so the receiver can tell
   it came from this service. Never waited for; failures are logged. */

#define WEBHOOK_MAX_PENDING 100

static struct http_client *webhook_client;
static const char *webhook_url;
static const struct stepup_approval_key *webhook_key;
static struct event *webhook_event;
static unsigned int webhook_pending;

static void webhook_response(const struct http_response *resp,
			     void *context ATTR_UNUSED)
{
	i_assert(webhook_pending > 0);
	webhook_pending--;
	if (resp->status / 100 != 2) {
		e_error(webhook_event, "webhook: %u %s", resp->status,
			resp->reason == NULL ? "" : resp->reason);
	}
}

void stepup_approval_webhook_init(const char *url, const char *ca_file,
				  unsigned int timeout_secs,
				  const struct stepup_approval_keyring *keyring,
				  struct event *event)
{
	struct ssl_iostream_settings ssl_set;
	struct http_client_settings set;

	if (url == NULL)
		return;
	i_zero(&ssl_set);
	ssl_set.ca_file = ca_file;
	ssl_set.ca_dir = ca_file == NULL ? "/etc/ssl/certs" : NULL;
	ssl_set.verify_remote_cert = TRUE;
	i_zero(&set);
	set.ssl = &ssl_set;
	set.dns_client_socket_path = "dns-client";
	set.max_attempts = 1;
	set.max_redirects = 0;
	set.request_absolute_timeout_msecs = timeout_secs * 1000;
	set.request_timeout_msecs = timeout_secs * 1000;
	set.connect_timeout_msecs = timeout_secs * 1000;
	set.event_parent = event;
	webhook_client = http_client_init(&set);
	webhook_url = url;
	webhook_key = stepup_approval_keyring_signer(keyring);
	webhook_event = event;
}

void stepup_approval_webhook_deinit(void)
{
	if (webhook_client != NULL)
		http_client_deinit(&webhook_client);
}

void stepup_approval_webhook(const char *json)
{
	struct http_client_request *req;
	const char *nonce, *ts;

	if (webhook_client == NULL)
		return;
	if (webhook_pending >= WEBHOOK_MAX_PENDING) {
		e_error(webhook_event, "webhook: %u deliveries pending: "
			"this one dropped", webhook_pending);
		return;
	}
	nonce = stepup_approval_random_hex();
	ts = dec2str(ioloop_time);
	req = http_client_request_url_str(webhook_client, "POST", webhook_url,
					  webhook_response, NULL);
	http_client_request_add_header(req, "Content-Type",
				       "application/json");
	http_client_request_add_header(req, "X-Stepup-Nonce", nonce);
	http_client_request_add_header(req, "X-Stepup-Timestamp", ts);
	http_client_request_add_header(req, "X-Stepup-Signature",
		stepup_approval_sign_response(webhook_key, nonce, ts, json,
					      strlen(json)));
	http_client_request_set_payload_data(req, (const unsigned char *)json,
					     strlen(json));
	webhook_pending++;
	http_client_request_submit(req);
}
