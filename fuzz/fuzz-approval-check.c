/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-compat.h"
#include "str.h"
#include "strnum.h"
#include "unichar.h"
#include "approval-json.h"
#include "approval-sign.h"
#include "approval-response.h"
#include "fuzz-approval-check.h"

#define FUZZ_KEY "0123456789abcdef0123456789abcdef"
#define FUZZ_OLD_KEY "old-key-old-key-old-key-old-key-old-key"

static struct stepup_approval_keyring *fuzz_keyring(void)
{
	static struct stepup_approval_keyring *keyring = NULL;
	const char *error;

	/* made once and kept (the fuzzer never returns to free it) */
	if (keyring == NULL) {
		keyring = stepup_approval_keyring_create();
		if (stepup_approval_keyring_add(keyring, "1", FUZZ_KEY,
						strlen(FUZZ_KEY), &error) < 0 ||
		    stepup_approval_keyring_add(keyring, "old", FUZZ_OLD_KEY,
						strlen(FUZZ_OLD_KEY),
						&error) < 0)
			i_panic("%s", error);
	}
	return keyring;
}

static void check_text(const char *text, size_t max)
{
	size_t i, len;
	unichar_t chr;
	int n;

	if (text == NULL)
		return;
	len = strlen(text);
	if (len > max)
		i_panic("text longer than %zu bytes", max);
	for (i = 0; i < len; i += n) {
		n = uni_utf8_get_char_n(text + i, len - i, &chr);
		if (n <= 0)
			i_panic("invalid UTF-8 in a kept text");
		if (chr < 0x20 || (chr >= 0x7f && chr <= 0x9f) ||
		    chr == 0x2028 || chr == 0x2029)
			i_panic("control character in a kept text");
	}
}

static int json_member(void *context ATTR_UNUSED, const char *key,
		       enum stepup_approval_json_type type,
		       const char *value, const char **error_r ATTR_UNUSED)
{
	if (key == NULL ||
	    ((type == STEPUP_APPROVAL_JSON_STRING ||
	      type == STEPUP_APPROVAL_JSON_NUMBER) != (value != NULL)))
		i_panic("JSON member without key or value");
	if (value != NULL && !uni_utf8_str_is_valid(value))
		i_panic("JSON value is not valid UTF-8");
	return 0;
}

/* the next line of the input, or NULL if there is no newline left */
static const char *next_line(const unsigned char **p,
			     const unsigned char *end)
{
	const unsigned char *nl = memchr(*p, '\n', end - *p);
	const char *line;

	if (nl == NULL)
		return NULL;
	line = t_strndup(*p, nl - *p);
	*p = nl + 1;
	return line;
}

static bool
response_check(const struct stepup_approval_http_response *http,
	       bool signed_by_us)
{
	const struct stepup_approval_keyring *keyring = fuzz_keyring();
	struct stepup_approval_response resp;
	enum stepup_approval_failure failure;
	const char *error = NULL;
	uintmax_t ts;
	bool fresh;

	if (stepup_approval_response_parse(pool_datastack_create(), keyring,
					   FUZZ_APPROVAL_REQUEST_ID,
					   FUZZ_APPROVAL_NONCE,
					   FUZZ_APPROVAL_NOW, http, &resp,
					   &failure, &error) < 0) {
		if (failure == STEPUP_APPROVAL_FAIL_NONE ||
		    failure >= STEPUP_APPROVAL_FAIL_COUNT || error == NULL)
			i_panic("a failure without a kind or text");
		fresh = http->timestamp != NULL &&
			str_to_uintmax(http->timestamp, &ts) == 0 &&
			ts + STEPUP_APPROVAL_MAX_SKEW_SECS >=
				FUZZ_APPROVAL_NOW &&
			ts <= FUZZ_APPROVAL_NOW + STEPUP_APPROVAL_MAX_SKEW_SECS;
		if (signed_by_us && fresh && http->status == 200 &&
		    http->body_size <= STEPUP_APPROVAL_BODY_MAX &&
		    strlen(http->signature) <= STEPUP_APPROVAL_SIG_HEADER_MAX &&
		    (failure == STEPUP_APPROVAL_FAIL_SIGNATURE ||
		     failure == STEPUP_APPROVAL_FAIL_UNKNOWN_KEY))
			i_panic("a right signature was refused: %s", error);
		return FALSE;
	}
	if ((unsigned int)resp.decision > STEPUP_APPROVAL_DECISION_EXPIRED)
		i_panic("unknown decision accepted");
	if (resp.throttled) {
		if (http->status != 429 && http->status != 503)
			i_panic("throttled without 429/503");
		if (resp.retry_after_secs > STEPUP_APPROVAL_POLL_AFTER_MAX)
			i_panic("Retry-After not bounded");
		return TRUE;
	}
	if (http->status != 200 || resp.key_id == NULL ||
	    stepup_approval_keyring_find(keyring, resp.key_id) == NULL)
		i_panic("accepted without status 200 and a known key");
	if (resp.ttl_secs > STEPUP_APPROVAL_TTL_MAX ||
	    resp.poll_after_secs > STEPUP_APPROVAL_POLL_AFTER_MAX)
		i_panic("ttl or poll_after not bounded");
	check_text(resp.approver, STEPUP_APPROVAL_APPROVER_MAX);
	check_text(resp.reason, STEPUP_APPROVAL_REASON_MAX);
	check_text(resp.message, STEPUP_APPROVAL_MESSAGE_MAX);
	return TRUE;
}

static bool fuzz_approval_check_t(const unsigned char *data, size_t size)
{
	const unsigned char *p = data, *end = data + size;
	struct stepup_approval_http_response http;
	const char *status, *ts, *sig, *retry, *key_id;
	unsigned int num;
	bool signed_by_us;

	i_zero(&http);
	status = next_line(&p, end);
	ts = next_line(&p, end);
	sig = next_line(&p, end);
	retry = next_line(&p, end);
	if (retry == NULL) {
		p = data;
		status = ts = retry = "";
		sig = "SIGN";
	}
	http.status = str_to_uint(status, &num) == 0 ? num :
		(*status == '\0' ? 200 : 0);
	http.timestamp = *ts == '\0' ? dec2str(FUZZ_APPROVAL_NOW) : ts;
	http.retry_after = *retry == '\0' ? NULL : retry;
	http.body = p;
	http.body_size = end - p;
	signed_by_us = str_begins_with(sig, "SIGN") &&
		(sig[4] == '\0' || sig[4] == ' ' || sig[4] == '\t');
	if (signed_by_us) {
		sig = t_strconcat(stepup_approval_sign_response(
			stepup_approval_keyring_signer(fuzz_keyring()),
			FUZZ_APPROVAL_NONCE, http.timestamp, http.body,
			http.body_size), sig + 4, NULL);
	}
	http.signature = *sig == '\0' ? NULL : sig;

	/* the pieces on their own */
	(void)stepup_approval_json_object(http.body, http.body_size,
					  json_member, NULL, &key_id);
	check_text(stepup_approval_clean_text(pool_datastack_create(),
		t_strndup(http.body, http.body_size), 64), 64);
	(void)stepup_approval_verify_request(fuzz_keyring(), sig, "POST",
		"a.example", "/v1", http.timestamp, FUZZ_APPROVAL_NONCE,
		http.body, http.body_size, &key_id);

	return response_check(&http, signed_by_us && http.signature != NULL);
}

bool fuzz_approval_check(const unsigned char *data, size_t size)
{
	bool ret;

	T_BEGIN {
		ret = fuzz_approval_check_t(data, size);
	} T_END;
	return ret;
}
