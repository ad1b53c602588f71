/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "strnum.h"
#include "str-sanitize.h"
#include "unichar.h"
#include "approval-json.h"
#include "http-date.h"
#include "approval-sign.h"
#include "approval-response.h"

static const char *const decision_names[] = {
	[STEPUP_APPROVAL_DECISION_PENDING] = "pending",
	[STEPUP_APPROVAL_DECISION_APPROVED] = "approved",
	[STEPUP_APPROVAL_DECISION_DENIED] = "denied",
	[STEPUP_APPROVAL_DECISION_EXPIRED] = "expired",
};

const char *
stepup_approval_decision_name(enum stepup_approval_decision decision)
{
	if ((unsigned int)decision >= N_ELEMENTS(decision_names))
		return "unknown";
	return decision_names[decision];
}

static bool text_char_ok(unichar_t chr)
{
	if (chr < 0x20 || (chr >= 0x7f && chr <= 0x9f))
		return FALSE;	/* C0, DEL, C1 */
	if (chr == 0x2028 || chr == 0x2029)
		return FALSE;	/* line and paragraph separators */
	if ((chr >= 0x200e && chr <= 0x200f) ||
	    (chr >= 0x202a && chr <= 0x202e) ||
	    (chr >= 0x2066 && chr <= 0x2069))
		return FALSE;	/* bidi controls */
	return TRUE;
}

const char *stepup_approval_clean_text(pool_t pool, const char *text,
				       size_t max)
{
	string_t *str = t_str_new(64);
	size_t i, len = strlen(text);
	unichar_t chr;
	int n;

	for (i = 0; i < len; ) {
		n = uni_utf8_get_char_n(text + i, len - i, &chr);
		if (n <= 0) {
			i++;	/* invalid UTF-8: dropped */
			continue;
		}
		if (text_char_ok(chr)) {
			if (str_len(str) + n > max)
				break;
			str_append_data(str, text + i, n);
		}
		i += n;
	}
	return p_strdup(pool, str_c(str));
}

static unsigned int clamp_secs(uintmax_t secs, unsigned int max)
{
	return secs > max ? max : (unsigned int)secs;
}

static unsigned int retry_after_secs(const char *value, time_t now)
{
	uintmax_t secs;
	time_t t;

	if (value == NULL)
		return 0;
	if (str_to_uintmax(value, &secs) == 0)
		return clamp_secs(secs, STEPUP_APPROVAL_POLL_AFTER_MAX);
	if (http_date_parse((const unsigned char *)value, strlen(value), &t) &&
	    t > now)
		return clamp_secs(t - now, STEPUP_APPROVAL_POLL_AFTER_MAX);
	return 0;
}

enum response_field {
	F_DECISION, F_REQUEST_ID, F_NONCE, F_TTL, F_POLL_AFTER,
	F_APPROVER, F_REASON, F_MESSAGE,
	F_COUNT
};
static const struct {
	const char *key;
	bool number;
} response_fields[F_COUNT] = {
	[F_DECISION] = { "decision", FALSE },
	[F_REQUEST_ID] = { "request_id", FALSE },
	[F_NONCE] = { "nonce", FALSE },
	[F_TTL] = { "ttl", TRUE },
	[F_POLL_AFTER] = { "poll_after", TRUE },
	[F_APPROVER] = { "approver", FALSE },
	[F_REASON] = { "reason", FALSE },
	[F_MESSAGE] = { "message", FALSE },
};

struct parsed_fields {
	const char *value[F_COUNT];	/* NULL: absent or null */
	bool seen[F_COUNT];
};

static int json_member(void *context, const char *key,
		       enum stepup_approval_json_type type, const char *value,
		       const char **error_r)
{
	struct parsed_fields *f = context;
	unsigned int i;

	for (i = 0; i < F_COUNT; i++) {
		if (strcmp(key, response_fields[i].key) == 0)
			break;
	}
	if (i == F_COUNT)
		return 0;	/* unknown: a later protocol addition */
	if (f->seen[i]) {
		*error_r = t_strdup_printf("\"%s\" appears twice", key);
		return -1;
	}
	f->seen[i] = TRUE;
	if (type == STEPUP_APPROVAL_JSON_NULL)
		return 0;
	if (type != (response_fields[i].number ? STEPUP_APPROVAL_JSON_NUMBER :
		     STEPUP_APPROVAL_JSON_STRING)) {
		*error_r = t_strdup_printf("\"%s\" must be a %s", key,
			response_fields[i].number ? "number" : "string");
		return -1;
	}
	f->value[i] = t_strdup(value);
	return 0;
}

/* The body: one JSON object. Known keys once each, with the right type
   (null = absent); unknown keys are skipped. */
static int parse_json(const void *body, size_t size, struct parsed_fields *f,
		      const char **error_r)
{
	const char *error;

	i_zero(f);
	if (stepup_approval_json_object(body, size, json_member, f,
					&error) < 0) {
		*error_r = t_strdup_printf("malformed JSON: %s", error);
		return -1;
	}
	return 0;
}

static int parse_secs(const char *key, const char *value, unsigned int max,
		      unsigned int *secs_r, const char **error_r)
{
	uintmax_t secs;

	if (str_to_uintmax(value, &secs) < 0) {
		*error_r = t_strdup_printf("\"%s\" must be a whole number of "
					   "seconds", key);
		return -1;
	}
	*secs_r = clamp_secs(secs, max);
	return 0;
}

static int parse_decision(const char *value,
			  enum stepup_approval_decision *decision_r)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(decision_names); i++) {
		if (strcmp(value, decision_names[i]) == 0) {
			*decision_r = i;
			return 0;
		}
	}
	return -1;
}

#define FAIL(kind, ...) STMT_START { \
	*failure_r = (kind); \
	*error_r = t_strdup_printf(__VA_ARGS__); \
	return -1; \
	} STMT_END

static int
response_parse(pool_t pool, const struct stepup_approval_keyring *keyring,
	       const char *request_id, const char *nonce, time_t now,
	       const struct stepup_approval_http_response *http,
	       struct stepup_approval_response *resp_r,
	       enum stepup_approval_failure *failure_r, const char **error_r)
{
	enum stepup_approval_failure kind;
	struct parsed_fields f;
	const char *key_id, *error;
	uintmax_t ts;
	intmax_t skew;

	if (http->status == 429 || http->status == 503) {
		resp_r->decision = STEPUP_APPROVAL_DECISION_PENDING;
		resp_r->throttled = TRUE;
		resp_r->retry_after_secs =
			retry_after_secs(http->retry_after, now);
		return 0;
	}
	if (http->status >= 300 && http->status < 400)
		FAIL(STEPUP_APPROVAL_FAIL_REDIRECT,
		     "the endpoint redirected (status %u); redirects are "
		     "not followed", http->status);
	if (http->status != 200)
		FAIL(STEPUP_APPROVAL_FAIL_STATUS, "unexpected status %u",
		     http->status);
	if (http->body_truncated || http->body_size > STEPUP_APPROVAL_BODY_MAX)
		FAIL(STEPUP_APPROVAL_FAIL_TOO_LARGE,
		     "response body over %u bytes", STEPUP_APPROVAL_BODY_MAX);
	if (http->signature == NULL)
		FAIL(STEPUP_APPROVAL_FAIL_SIGNATURE,
		     "no X-Stepup-Signature header");
	if (http->timestamp == NULL ||
	    str_to_uintmax(http->timestamp, &ts) < 0 ||
	    ts > (uintmax_t)INTMAX_MAX / 2)
		FAIL(STEPUP_APPROVAL_FAIL_SIGNATURE,
		     "missing or invalid X-Stepup-Timestamp header");
	kind = stepup_approval_verify_response(keyring, http->signature, nonce,
					       http->timestamp, http->body,
					       http->body_size, &key_id);
	if (kind == STEPUP_APPROVAL_FAIL_UNKNOWN_KEY)
		FAIL(kind, "the response is signed by no key we know");
	if (kind != STEPUP_APPROVAL_FAIL_NONE)
		FAIL(kind, "the response signature does not verify");
	skew = (intmax_t)ts - (intmax_t)now;
	if (skew > STEPUP_APPROVAL_MAX_SKEW_SECS ||
	    skew < -STEPUP_APPROVAL_MAX_SKEW_SECS)
		FAIL(STEPUP_APPROVAL_FAIL_STALE,
		     "response timestamp %jd s from our clock (at most %d)",
		     skew, STEPUP_APPROVAL_MAX_SKEW_SECS);

	if (parse_json(http->body, http->body_size, &f, &error) < 0)
		FAIL(STEPUP_APPROVAL_FAIL_JSON, "%s", error);
	if (f.value[F_DECISION] == NULL)
		FAIL(STEPUP_APPROVAL_FAIL_JSON, "no \"decision\"");
	if (parse_decision(f.value[F_DECISION], &resp_r->decision) < 0)
		FAIL(STEPUP_APPROVAL_FAIL_JSON, "unknown decision \"%s\"",
		     str_sanitize(f.value[F_DECISION], 32));
	if (f.value[F_REQUEST_ID] == NULL || strcmp(f.value[F_REQUEST_ID], request_id) != 0)
		FAIL(STEPUP_APPROVAL_FAIL_ECHO,
		     "the response is not for this request_id");
	if (f.value[F_NONCE] == NULL || strcmp(f.value[F_NONCE], nonce) != 0)
		FAIL(STEPUP_APPROVAL_FAIL_ECHO,
		     "the response does not echo our nonce");
	if (f.value[F_TTL] != NULL) {
		if (parse_secs("ttl", f.value[F_TTL], STEPUP_APPROVAL_TTL_MAX,
			       &resp_r->ttl_secs, &error) < 0)
			FAIL(STEPUP_APPROVAL_FAIL_JSON, "%s", error);
		resp_r->have_ttl = TRUE;
	}
	if (f.value[F_POLL_AFTER] != NULL &&
	    parse_secs("poll_after", f.value[F_POLL_AFTER],
		       STEPUP_APPROVAL_POLL_AFTER_MAX,
		       &resp_r->poll_after_secs, &error) < 0)
		FAIL(STEPUP_APPROVAL_FAIL_JSON, "%s", error);
	resp_r->key_id = p_strdup(pool, key_id);
	if (f.value[F_APPROVER] != NULL)
		resp_r->approver = stepup_approval_clean_text(pool, f.value[F_APPROVER],
			STEPUP_APPROVAL_APPROVER_MAX);
	if (f.value[F_REASON] != NULL)
		resp_r->reason = stepup_approval_clean_text(pool, f.value[F_REASON],
			STEPUP_APPROVAL_REASON_MAX);
	if (f.value[F_MESSAGE] != NULL)
		resp_r->message = stepup_approval_clean_text(pool, f.value[F_MESSAGE],
			STEPUP_APPROVAL_MESSAGE_MAX);
	return 0;
}

int stepup_approval_response_parse(pool_t pool,
				   const struct stepup_approval_keyring *keyring,
				   const char *request_id, const char *nonce,
				   time_t now,
				   const struct stepup_approval_http_response *http,
				   struct stepup_approval_response *resp_r,
				   enum stepup_approval_failure *failure_r,
				   const char **error_r)
{
	int ret;

	i_zero(resp_r);
	*failure_r = STEPUP_APPROVAL_FAIL_NONE;
	ret = response_parse(pool, keyring, request_id, nonce, now, http,
			     resp_r, failure_r, error_r);
	if (ret < 0)
		i_zero(resp_r);
	return ret;
}
