/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "str-sanitize.h"
#include "stepup-compat.h"
#include "approval-key.h"
#include "approval-sign.h"
#include "approval-request.h"
#include "approval-response.h"
#include "asvc-store.h"
#include "asvc-proto.h"

static const char *target_path(const char *target)
{
	const char *p = strchr(target, '?');

	return p == NULL ? target : t_strdup_until(target, p);
}

/* NULL if target is not "<path>/<32 hex>" */
static const char *target_request_id(const struct asvc_proto_settings *set,
				     const char *target)
{
	const char *path = target_path(target);
	size_t len = strlen(set->path);

	if (strncmp(path, set->path, len) != 0 || path[len] != '/')
		return NULL;
	path += len + 1;
	return stepup_approval_is_hex_id(path) ? path : NULL;
}

bool asvc_proto_match(const struct asvc_proto_settings *set,
		      const char *target)
{
	return strcmp(target_path(target), set->path) == 0 ||
		target_request_id(set, target) != NULL;
}

static void json_kv_str(string_t *out, const char *key, const char *value)
{
	str_printfa(out, ",\"%s\":\"", key);
	json_append_escaped(out, value);
	str_append_c(out, '"');
}

const char *asvc_proto_decision_body(const struct asvc_proto_settings *set,
				     const struct asvc_request *req,
				     const char *nonce, time_t now)
{
	string_t *out = t_str_new(256);

	str_printfa(out, "{\"decision\":\"%s\"",
		    asvc_status_name(req->status));
	json_kv_str(out, "request_id", req->id);
	json_kv_str(out, "nonce", nonce);
	switch (req->status) {
	case ASVC_STATUS_PENDING:
		str_printfa(out, ",\"poll_after\":%u", set->poll_after_secs);
		break;
	case ASVC_STATUS_APPROVED:
		str_printfa(out, ",\"ttl\":%ld",
			    (long)(req->grant_until > now ?
				   req->grant_until - now : 0));
		break;
	case ASVC_STATUS_DENIED:
	case ASVC_STATUS_EXPIRED:
		break;
	}
	if (req->approver != NULL)
		json_kv_str(out, "approver", req->approver);
	if (req->reason != NULL && req->reason[0] != '\0') {
		json_kv_str(out, "reason", req->reason);
		if (req->status == ASVC_STATUS_DENIED)
			json_kv_str(out, "message", req->reason);
	}
	str_append_c(out, '}');
	return str_c(out);
}

static void refuse(struct asvc_http_response *out, unsigned int status,
		   const char *reason, const char *why)
{
	string_t *body = t_str_new(128);

	out->status = status;
	out->reason = reason;
	out->refused = str_sanitize(why, 200);
	str_append(body, "{\"error\":\"");
	json_append_escaped(body, out->refused);
	str_append(body, "\"}");
	out->body = str_c(body);
}

static bool parse_timestamp(const char *value, time_t *t_r)
{
	uintmax_t n;

	if (value == NULL || value[0] == '\0' || strlen(value) > 20 ||
	    str_to_uintmax(value, &n) < 0)
		return FALSE;
	*t_r = (time_t)n;
	return TRUE;
}

static void proto_answer(const struct asvc_proto_env *env,
			 const struct stepup_approval_key *key,
			 const struct asvc_request *req, const char *nonce,
			 time_t now, struct asvc_http_response *out)
{
	out->status = 200;
	out->reason = "OK";
	out->body = asvc_proto_decision_body(env->set, req, nonce, now);
	out->timestamp = dec2str(now);
	out->signature = stepup_approval_sign_response(key, nonce,
		out->timestamp, out->body, strlen(out->body));
}

static void proto_post(const struct asvc_proto_env *env,
		       const struct stepup_approval_key *key,
		       const struct asvc_http_request *in, time_t now,
		       struct asvc_http_response *out,
		       struct asvc_request **new_req_r)
{
	struct asvc_request *req, *old;
	const char *error;

	if (asvc_request_parse_json(in->body, in->body_size, &req,
				    &error) < 0) {
		refuse(out, 400, "Bad Request", t_strconcat(
			"malformed request: ", error, NULL));
		return;
	}
	old = asvc_store_find(env->store, req->id);
	if (old != NULL) {
		/* a retried POST: the same request */
		bool same = asvc_request_same(old, req);

		asvc_request_free(&req);
		if (!same) {
			refuse(out, 409, "Conflict", "request_id already "
			       "names a different request");
			return;
		}
		proto_answer(env, key, old, in->nonce, now, out);
		return;
	}
	req->received = now;
	req->status = ASVC_STATUS_PENDING;
	if (asvc_store_add(env->store, req, &error) < 0) {
		refuse(out, 503, "Service Unavailable", t_strconcat(
			"request not stored: ", error, NULL));
		return;
	}
	*new_req_r = req;
	proto_answer(env, key, req, in->nonce, now, out);
}

void asvc_proto_handle(const struct asvc_proto_env *env,
		       const struct asvc_http_request *in, time_t now,
		       struct asvc_http_response *out,
		       struct asvc_request **new_req_r)
{
	const struct stepup_approval_key *key;
	struct asvc_request *req;
	const char *id = NULL, *key_id, *error;
	bool post;
	time_t ts;
	int ret;

	i_zero(out);
	*new_req_r = NULL;
	post = strcmp(in->method, "POST") == 0;
	if (post) {
		if (strcmp(target_path(in->target), env->set->path) != 0) {
			refuse(out, 404, "Not Found", "unknown path");
			return;
		}
	} else if (strcmp(in->method, "GET") == 0) {
		id = target_request_id(env->set, in->target);
		if (id == NULL) {
			refuse(out, 404, "Not Found", "unknown path");
			return;
		}
	} else {
		refuse(out, 405, "Method Not Allowed", "method not allowed");
		out->allow = "GET, POST";
		return;
	}
	if (!post && in->body_size > 0) {
		refuse(out, 400, "Bad Request", "a poll has no body");
		return;
	}
	if (in->host == NULL || in->nonce == NULL ||
	    !stepup_approval_is_hex_id(in->nonce) ||
	    !parse_timestamp(in->timestamp, &ts)) {
		refuse(out, 401, "Unauthorized",
		       "missing or malformed X-Stepup-* headers");
		return;
	}
	if (stepup_approval_verify_request(env->keyring, in->signature,
			in->method, t_str_lcase(in->host), in->target,
			in->timestamp, in->nonce, in->body, in->body_size,
			&key_id) != STEPUP_APPROVAL_FAIL_NONE) {
		refuse(out, 401, "Unauthorized", "bad signature");
		return;
	}
	key = stepup_approval_keyring_find(env->keyring, key_id);
	i_assert(key != NULL);
	if (ts > now + STEPUP_APPROVAL_MAX_SKEW_SECS ||
	    ts + STEPUP_APPROVAL_MAX_SKEW_SECS < now) {
		refuse(out, 401, "Unauthorized", "stale timestamp");
		return;
	}
	/* nonces live twice the window: a timestamp at either edge */
	ret = asvc_store_use_nonce(env->store, in->nonce, now,
				   2 * STEPUP_APPROVAL_MAX_SKEW_SECS + 1,
				   &error);
	if (ret < 0) {
		refuse(out, 503, "Service Unavailable", t_strconcat(
			"nonce not stored: ", error, NULL));
		return;
	}
	if (ret == 0) {
		refuse(out, 409, "Conflict", "replayed nonce");
		return;
	}
	if (post) {
		proto_post(env, key, in, now, out, new_req_r);
		return;
	}
	req = asvc_store_find(env->store, id);
	if (req == NULL) {
		refuse(out, 404, "Not Found", "unknown request_id");
		return;
	}
	proto_answer(env, key, req, in->nonce, now, out);
}
