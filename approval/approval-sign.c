/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-compat.h"
#include "hex-binary.h"
#include "hmac.h"
#include "sha2.h"
#include "safe-memset.h"
#include "approval-sign.h"

/* The signed message: the fields, each followed by "\n", then the body. */
struct signed_msg {
	const char *fields[5];
	unsigned int count;
	const void *body;
	size_t body_size;
};

static void msg_hmac(const struct stepup_approval_key *key,
		     const struct signed_msg *msg,
		     unsigned char digest[STATIC_ARRAY SHA256_RESULTLEN])
{
	struct hmac_context ctx;
	unsigned int i;

	hmac_init(&ctx, key->secret->data, key->secret->used,
		  &hash_method_sha256);
	for (i = 0; i < msg->count; i++) {
		i_assert(msg->fields[i] != NULL);
		hmac_update(&ctx, msg->fields[i], strlen(msg->fields[i]));
		hmac_update(&ctx, "\n", 1);
	}
	hmac_update(&ctx, msg->body, msg->body_size);
	hmac_final(&ctx, digest);
	safe_memset(&ctx, 0, sizeof(ctx));
}

static const char *msg_sign(const struct stepup_approval_key *key,
			    const struct signed_msg *msg)
{
	unsigned char digest[SHA256_RESULTLEN];

	msg_hmac(key, msg, digest);
	return t_strdup_printf("v1=%s:%s", key->id,
			       binary_to_hex(digest, sizeof(digest)));
}

/* One "v1=<id>:<hex>" value: FALSE if it is not of that form. */
static bool parse_v1(const char *value, const char **id_r,
		     unsigned char digest_r[STATIC_ARRAY SHA256_RESULTLEN])
{
	const char *colon, *hex;
	buffer_t buf;

	if (!str_begins_with(value, "v1="))
		return FALSE;
	value += 3;
	colon = strrchr(value, ':');
	if (colon == NULL)
		return FALSE;
	*id_r = t_strdup_until(value, colon);
	hex = colon + 1;
	if (!stepup_approval_key_id_is_valid(*id_r) ||
	    strlen(hex) != SHA256_RESULTLEN * 2)
		return FALSE;
	buffer_create_from_data(&buf, digest_r, SHA256_RESULTLEN);
	return hex_to_binary(hex, &buf) == 0 && buf.used == SHA256_RESULTLEN;
}

static enum stepup_approval_failure
msg_verify(const struct stepup_approval_keyring *keyring, const char *header,
	   const struct signed_msg *msg, const char **key_id_r)
{
	unsigned char got[SHA256_RESULTLEN], want[SHA256_RESULTLEN];
	const struct stepup_approval_key *key;
	const char *const *values, *id;
	unsigned int i, n = 0;
	bool known = FALSE, unknown = FALSE, ok = FALSE;

	*key_id_r = NULL;
	if (header == NULL || strlen(header) > STEPUP_APPROVAL_SIG_HEADER_MAX)
		return STEPUP_APPROVAL_FAIL_SIGNATURE;
	for (i = 0; i < msg->count; i++) {
		if (msg->fields[i] == NULL)
			return STEPUP_APPROVAL_FAIL_SIGNATURE;
	}
	values = t_strsplit_spaces(header, " \t");
	for (i = 0; values[i] != NULL && n < STEPUP_APPROVAL_SIG_MAX_VALUES;
	     i++) {
		if (!str_begins_with(values[i], "v1="))
			continue;	/* another version */
		n++;
		if (!parse_v1(values[i], &id, got))
			continue;
		key = stepup_approval_keyring_find(keyring, id);
		if (key == NULL) {
			unknown = TRUE;
			continue;
		}
		known = TRUE;
		msg_hmac(key, msg, want);
		if (mem_equals_timing_safe(got, want, sizeof(want)) && !ok) {
			ok = TRUE;
			*key_id_r = key->id;
		}
	}
	safe_memset(want, 0, sizeof(want));
	if (ok)
		return STEPUP_APPROVAL_FAIL_NONE;
	if (unknown && !known)
		return STEPUP_APPROVAL_FAIL_UNKNOWN_KEY;
	return STEPUP_APPROVAL_FAIL_SIGNATURE;
}

static void request_msg(struct signed_msg *msg, const char *method,
			const char *host, const char *path,
			const char *timestamp, const char *nonce,
			const void *body, size_t body_size)
{
	i_zero(msg);
	msg->fields[0] = method;
	msg->fields[1] = host;
	msg->fields[2] = path;
	msg->fields[3] = timestamp;
	msg->fields[4] = nonce;
	msg->count = 5;
	msg->body = body;
	msg->body_size = body_size;
}

static void response_msg(struct signed_msg *msg, const char *nonce,
			 const char *timestamp, const void *body,
			 size_t body_size)
{
	i_zero(msg);
	msg->fields[0] = "RESPONSE";
	msg->fields[1] = nonce;
	msg->fields[2] = timestamp;
	msg->count = 3;
	msg->body = body;
	msg->body_size = body_size;
}

const char *
stepup_approval_sign_request(const struct stepup_approval_key *key,
			     const char *method, const char *host,
			     const char *path, const char *timestamp,
			     const char *nonce, const void *body,
			     size_t body_size)
{
	struct signed_msg msg;

	request_msg(&msg, method, host, path, timestamp, nonce,
		    body, body_size);
	return msg_sign(key, &msg);
}

const char *
stepup_approval_sign_response(const struct stepup_approval_key *key,
			      const char *nonce, const char *timestamp,
			      const void *body, size_t body_size)
{
	struct signed_msg msg;

	response_msg(&msg, nonce, timestamp, body, body_size);
	return msg_sign(key, &msg);
}

enum stepup_approval_failure
stepup_approval_verify_response(const struct stepup_approval_keyring *keyring,
				const char *header, const char *nonce,
				const char *timestamp, const void *body,
				size_t body_size, const char **key_id_r)
{
	struct signed_msg msg;

	response_msg(&msg, nonce, timestamp, body, body_size);
	return msg_verify(keyring, header, &msg, key_id_r);
}

enum stepup_approval_failure
stepup_approval_verify_request(const struct stepup_approval_keyring *keyring,
			       const char *header, const char *method,
			       const char *host, const char *path,
			       const char *timestamp, const char *nonce,
			       const void *body, size_t body_size,
			       const char **key_id_r)
{
	struct signed_msg msg;

	request_msg(&msg, method, host, path, timestamp, nonce,
		    body, body_size);
	return msg_verify(keyring, header, &msg, key_id_r);
}
