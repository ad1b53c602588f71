/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "strescape.h"
#include "audit-proto.h"

#define AUDIT_PROTO_FIELDS 10
/* a mailbox name is at most 4 KiB in Dovecot; reasons are short */
#define AUDIT_PROTO_FIELD_MAX 8192

static void append_field(string_t *str, const char *value, bool first)
{
	if (!first)
		str_append_c(str, '\t');
	if (value != NULL)
		str_append_tabescaped(str, value);
}

const char *stepup_audit_proto_encode(const struct stepup_audit_record *rec)
{
	string_t *str = t_str_new(256);

	append_field(str, rec->event, TRUE);
	append_field(str, rec->user, FALSE);
	append_field(str, rec->session, FALSE);
	append_field(str, rec->service, FALSE);
	append_field(str, rec->ip, FALSE);
	append_field(str, rec->mailbox, FALSE);
	append_field(str, rec->rule, FALSE);
	append_field(str, rec->decision, FALSE);
	append_field(str, rec->reason, FALSE);
	append_field(str, rec->auth, FALSE);
	return str_c(str);
}

/* the fields of a request line, exactly count of them, none too long */
static int split_fields(const char *line, unsigned int count,
			const char *const **args_r, const char **error_r)
{
	const char *const *args = t_strsplit_tabescaped(line);
	unsigned int i;

	if (str_array_length(args) != count) {
		*error_r = t_strdup_printf("%u fields instead of %u",
					   str_array_length(args), count);
		return -1;
	}
	for (i = 0; i < count; i++) {
		if (strlen(args[i]) > AUDIT_PROTO_FIELD_MAX) {
			*error_r = t_strdup_printf("field %u too long", i + 1);
			return -1;
		}
	}
	*args_r = args;
	return 0;
}

static bool str_in(const char *value, const char *const *set)
{
	return value != NULL && str_array_find(set, value);
}

int stepup_audit_proto_decode(const char *line,
			      struct stepup_audit_record *rec_r,
			      const char **error_r)
{
	static const char *const decisions[] = { "allow", "deny", NULL };
	static const char *const levels[] = {
		"none", "password", "app", "totp", NULL
	};
	const char *const *args, *fields[AUDIT_PROTO_FIELDS];
	unsigned int i;

	if (split_fields(line, AUDIT_PROTO_FIELDS, &args, error_r) < 0)
		return -1;
	for (i = 0; i < AUDIT_PROTO_FIELDS; i++)
		fields[i] = args[i][0] == '\0' ? NULL : args[i];
	i_zero(rec_r);
	rec_r->event = fields[0];
	rec_r->user = fields[1];
	rec_r->session = fields[2];
	rec_r->service = fields[3];
	rec_r->ip = fields[4];
	rec_r->mailbox = fields[5];
	rec_r->rule = fields[6];
	rec_r->decision = fields[7];
	rec_r->reason = fields[8];
	rec_r->auth = fields[9];

	if (null_strcmp(rec_r->event, "open") != 0) {
		*error_r = "only folder decisions (event open) are accepted";
		return -1;
	}
	if (rec_r->user == NULL || rec_r->mailbox == NULL) {
		*error_r = "user and mailbox are required";
		return -1;
	}
	if (!str_in(rec_r->decision, decisions)) {
		*error_r = "decision must be allow or deny";
		return -1;
	}
	if (rec_r->auth != NULL && !str_in(rec_r->auth, levels)) {
		*error_r = "unknown auth level";
		return -1;
	}
	return 0;
}

#define FETCH_PROTO_FIELDS 11

const char *stepup_audit_proto_encode_fetch(const struct stepup_fetch_request *req)
{
	string_t *str = t_str_new(256);

	append_field(str, "fetch", TRUE);
	append_field(str, req->user, FALSE);
	append_field(str, req->session, FALSE);
	append_field(str, req->service, FALSE);
	append_field(str, req->ip, FALSE);
	append_field(str, req->mailbox, FALSE);
	append_field(str, req->rule, FALSE);
	str_printfa(str, "\t%u\t%u\t%d", req->limit, req->window_secs,
		    req->enforce ? 1 : 0);
	append_field(str, req->auth, FALSE);
	return str_c(str);
}

bool stepup_audit_proto_is_fetch(const char *line)
{
	return str_begins(line, "fetch\t");
}

int stepup_audit_proto_decode_fetch(const char *line,
				    struct stepup_fetch_request *req_r,
				    const char **error_r)
{
	const char *const *args;

	if (split_fields(line, FETCH_PROTO_FIELDS, &args, error_r) < 0)
		return -1;
	i_zero(req_r);
	req_r->user = args[1];
	req_r->session = args[2][0] == '\0' ? NULL : args[2];
	req_r->service = args[3][0] == '\0' ? NULL : args[3];
	req_r->ip = args[4][0] == '\0' ? NULL : args[4];
	req_r->mailbox = args[5];
	req_r->rule = args[6];
	req_r->auth = args[10][0] == '\0' ? NULL : args[10];
	if (strcmp(args[0], "fetch") != 0 || req_r->user[0] == '\0' ||
	    req_r->mailbox[0] == '\0' || req_r->rule[0] == '\0') {
		*error_r = "fetch needs a user, a mailbox and a rule";
		return -1;
	}
	if (str_to_uint(args[7], &req_r->limit) < 0 || req_r->limit == 0 ||
	    str_to_uint(args[8], &req_r->window_secs) < 0 ||
	    req_r->window_secs == 0 ||
	    (strcmp(args[9], "0") != 0 && strcmp(args[9], "1") != 0)) {
		*error_r = "fetch: bad limit, window or mode";
		return -1;
	}
	req_r->enforce = args[9][0] == '1';
	return 0;
}
