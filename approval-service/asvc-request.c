/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "strescape.h"
#include "approval-json.h"
#include "asvc-request.h"

#include <ctype.h>

#define ASVC_RECORD_HEADER "stepup-approval-request 1"
/* a field of a request: a 4 KiB folder name, escaped, fits */
#define ASVC_FIELD_MAX (16 * 1024)

static const char *const status_names[] = {
	"pending", "approved", "denied", "expired"
};

const char *asvc_status_name(enum asvc_status status)
{
	i_assert(status < N_ELEMENTS(status_names));
	return status_names[status];
}

static bool asvc_status_parse(const char *name, enum asvc_status *status_r)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(status_names); i++) {
		if (strcmp(name, status_names[i]) == 0) {
			*status_r = i;
			return TRUE;
		}
	}
	return FALSE;
}

struct asvc_request *asvc_request_new(void)
{
	pool_t pool = pool_alloconly_create("approval request", 1024);
	struct asvc_request *req = p_new(pool, struct asvc_request, 1);

	req->pool = pool;
	req->id = req->user = req->mailbox = req->session = "";
	req->remote_ip = req->protocol = req->client = req->rule = "";
	req->auth = req->binding_code = "";
	return req;
}

void asvc_request_free(struct asvc_request **_req)
{
	struct asvc_request *req = *_req;

	*_req = NULL;
	if (req != NULL)
		pool_unref(&req->pool);
}

/* The string fields, in record order, by offset. */
static const struct {
	const char *key;
	size_t offset;
} string_fields[] = {
#define SF(name) { #name, offsetof(struct asvc_request, name) }
	SF(id), SF(user), SF(mailbox), SF(session), SF(remote_ip),
	SF(protocol), SF(client), SF(rule), SF(auth), SF(binding_code),
#undef SF
};
static const struct {
	const char *key;
	size_t offset;
} time_fields[] = {
#define TF(name) { #name, offsetof(struct asvc_request, name) }
	TF(created), TF(expires), TF(received), TF(decided),
	TF(grant_until),
#undef TF
};

#define FIELD_STR(req, i) \
	((const char **)PTR_OFFSET((req), string_fields[i].offset))
#define FIELD_TIME(req, i) \
	((time_t *)PTR_OFFSET((req), time_fields[i].offset))

struct asvc_request *asvc_request_dup(const struct asvc_request *src)
{
	struct asvc_request *req = asvc_request_new();
	pool_t pool = req->pool;
	unsigned int i;

	*req = *src;
	req->pool = pool;
	for (i = 0; i < N_ELEMENTS(string_fields); i++) {
		*FIELD_STR(req, i) = p_strdup(pool, *FIELD_STR(src, i));
	}
	req->approver = p_strdup(pool, src->approver);
	req->reason = p_strdup(pool, src->reason);
	return req;
}

static void append_field(string_t *dest, const char *key, const char *value)
{
	str_append(dest, key);
	str_append_c(dest, '\t');
	str_append_tabescaped(dest, value);
	str_append_c(dest, '\n');
}

void asvc_request_format(string_t *dest, const struct asvc_request *req)
{
	unsigned int i;

	str_append(dest, ASVC_RECORD_HEADER "\n");
	for (i = 0; i < N_ELEMENTS(string_fields); i++)
		append_field(dest, string_fields[i].key, *FIELD_STR(req, i));
	for (i = 0; i < N_ELEMENTS(time_fields); i++) {
		append_field(dest, time_fields[i].key,
			     dec2str(*FIELD_TIME(req, i)));
	}
	append_field(dest, "status", asvc_status_name(req->status));
	if (req->approver != NULL)
		append_field(dest, "approver", req->approver);
	if (req->reason != NULL)
		append_field(dest, "reason", req->reason);
	if (req->self_confirmed)
		append_field(dest, "self_confirmed", "1");
}

static int parse_time(const char *value, time_t *t_r)
{
	intmax_t n;

	if (str_to_intmax(value, &n) < 0 || n < 0)
		return -1;
	*t_r = (time_t)n;
	return 0;
}

static int
request_set_field(struct asvc_request *req, const char *key,
		  const char *value)
{
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(string_fields); i++) {
		if (strcmp(key, string_fields[i].key) == 0) {
			*FIELD_STR(req, i) = p_strdup(req->pool, value);
			return 0;
		}
	}
	for (i = 0; i < N_ELEMENTS(time_fields); i++) {
		if (strcmp(key, time_fields[i].key) == 0)
			return parse_time(value, FIELD_TIME(req, i));
	}
	if (strcmp(key, "status") == 0)
		return asvc_status_parse(value, &req->status) ? 0 : -1;
	if (strcmp(key, "approver") == 0) {
		req->approver = p_strdup(req->pool, value);
		return 0;
	}
	if (strcmp(key, "reason") == 0) {
		req->reason = p_strdup(req->pool, value);
		return 0;
	}
	if (strcmp(key, "self_confirmed") == 0) {
		req->self_confirmed = strcmp(value, "1") == 0;
		return 0;
	}
	return -1;
}

int asvc_request_parse(const char *text, struct asvc_request **req_r,
		       const char **error_r)
{
	const char *const *lines = t_strsplit(text, "\n");
	struct asvc_request *req;
	const char *p;
	unsigned int i;

	if (lines[0] == NULL || strcmp(lines[0], ASVC_RECORD_HEADER) != 0) {
		*error_r = "not an approval request record of version 1";
		return -1;
	}
	req = asvc_request_new();
	for (i = 1; lines[i] != NULL; i++) {
		if (lines[i][0] == '\0')
			continue;
		p = strchr(lines[i], '\t');
		if (p == NULL || request_set_field(req,
				t_strdup_until(lines[i], p),
				t_str_tabunescape(p + 1)) < 0) {
			*error_r = t_strdup_printf("bad line %u", i + 1);
			asvc_request_free(&req);
			return -1;
		}
	}
	if (strlen(req->id) != 32) {
		*error_r = "no request id";
		asvc_request_free(&req);
		return -1;
	}
	*req_r = req;
	return 0;
}

static bool is_lower_hex32(const char *s)
{
	unsigned int i;

	for (i = 0; i < 32; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return FALSE;
	}
	return s[32] == '\0';
}

static bool is_binding_code(const char *s)
{
	return i_isdigit(s[0]) && i_isdigit(s[1]) && s[2] == '\0';
}

struct request_json_ctx {
	struct asvc_request *req;
	ARRAY_TYPE(const_string) seen;
	bool version_seen;
};

static int
json_set(struct asvc_request *req, const char *key,
	 enum stepup_approval_json_type type, const char *value,
	 bool *version_seen, const char **error_r)
{
	unsigned int i;

	if (strcmp(key, "version") == 0) {
		if (type != STEPUP_APPROVAL_JSON_NUMBER ||
		    strcmp(value, "1") != 0) {
			*error_r = "version is not 1";
			return -1;
		}
		*version_seen = TRUE;
		return 0;
	}
	/* the record's "id" is the protocol's "request_id" */
	if (strcmp(key, "id") == 0)
		return 0;
	if (strcmp(key, "request_id") == 0)
		key = "id";
	for (i = 0; i < N_ELEMENTS(string_fields); i++) {
		if (strcmp(key, string_fields[i].key) != 0)
			continue;
		if (type != STEPUP_APPROVAL_JSON_STRING) {
			*error_r = t_strdup_printf("%s is not a string", key);
			return -1;
		}
		if (strlen(value) > ASVC_FIELD_MAX) {
			*error_r = t_strdup_printf("%s is too long", key);
			return -1;
		}
		*FIELD_STR(req, i) = p_strdup(req->pool, value);
		return 0;
	}
	if (strcmp(key, "created") == 0 || strcmp(key, "expires") == 0) {
		time_t *t = key[0] == 'c' ? &req->created : &req->expires;

		if (type != STEPUP_APPROVAL_JSON_NUMBER ||
		    parse_time(value, t) < 0) {
			*error_r = t_strdup_printf("%s is not a time", key);
			return -1;
		}
		return 0;
	}
	/* later versions may add keys */
	return 0;
}

static int
request_json_member(void *context, const char *key,
		    enum stepup_approval_json_type type, const char *value,
		    const char **error_r)
{
	struct request_json_ctx *ctx = context;
	const char *const *k;

	array_foreach(&ctx->seen, k) {
		if (strcmp(*k, key) == 0) {
			*error_r = t_strdup_printf("duplicate key %s", key);
			return -1;
		}
	}
	key = t_strdup(key);
	array_push_back(&ctx->seen, &key);
	/* nested objects and arrays: for later versions */
	if (type == STEPUP_APPROVAL_JSON_OBJECT ||
	    type == STEPUP_APPROVAL_JSON_ARRAY)
		return 0;
	return json_set(ctx->req, key, type, value, &ctx->version_seen,
			error_r);
}

static int request_check(const struct asvc_request *req, const char **error_r)
{
	if (!is_lower_hex32(req->id)) {
		*error_r = "request_id is not 32 lowercase hex";
		return -1;
	}
	if (req->user[0] == '\0' || req->rule[0] == '\0') {
		*error_r = "user or rule is empty";
		return -1;
	}
	if (!is_binding_code(req->binding_code)) {
		*error_r = "binding_code is not two digits";
		return -1;
	}
	return 0;
}

int asvc_request_parse_json(const void *data, size_t size,
			    struct asvc_request **req_r, const char **error_r)
{
	struct request_json_ctx ctx;
	int ret;

	i_zero(&ctx);
	ctx.req = asvc_request_new();
	t_array_init(&ctx.seen, 16);
	/* the same strict reader on Dovecot 2.3 and 2.4 (approval-json.h) */
	ret = stepup_approval_json_object(data, size, request_json_member,
					  &ctx, error_r);
	if (ret == 0 && !ctx.version_seen) {
		*error_r = "no version";
		ret = -1;
	}
	if (ret == 0)
		ret = request_check(ctx.req, error_r);
	if (ret < 0) {
		asvc_request_free(&ctx.req);
		return -1;
	}
	*req_r = ctx.req;
	return 0;
}

bool asvc_request_same(const struct asvc_request *a,
		       const struct asvc_request *b)
{
	return strcmp(a->id, b->id) == 0 &&
		strcmp(a->user, b->user) == 0 &&
		strcmp(a->mailbox, b->mailbox) == 0 &&
		strcmp(a->session, b->session) == 0 &&
		strcmp(a->rule, b->rule) == 0 &&
		strcmp(a->binding_code, b->binding_code) == 0;
}
