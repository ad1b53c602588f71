/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-compat.h"
#include "str.h"
#include "strescape.h"
#include "stepup-names.h"
#include "audit-proto.h"

#define AUDIT_PROTO_FIELDS STEPUP_AUDIT_FIELD_COUNT
/* a mailbox name is at most 4 KiB in Dovecot; reasons are short */
#define AUDIT_PROTO_FIELD_MAX 8192

static void append_field(string_t *str, const char *value, bool first)
{
	if (!first)
		str_append_c(str, '\t');
	if (value != NULL)
		str_append_tabescaped(str, value);
}

/* the record's fields, in the order of stepup_audit_fields */
static void append_record(string_t *str, const struct stepup_audit_record *rec)
{
	unsigned int i;

	for (i = 0; i < STEPUP_AUDIT_FIELD_COUNT; i++) {
		append_field(str, stepup_audit_field_get(rec,
				&stepup_audit_fields[i]), i == 0);
	}
}

const char *stepup_audit_proto_encode(const struct stepup_audit_record *rec)
{
	string_t *str = t_str_new(256);

	append_record(str, rec);
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

static const char *null_if_empty(const char *value)
{
	return value[0] == '\0' ? NULL : value;
}

/* the record in args[0..AUDIT_PROTO_FIELDS-1]: event as expected, a user
   and a mailbox, a known auth level */
static int read_record(const char *const *args, const char *event,
		       struct stepup_audit_record *rec_r,
		       const char **error_r)
{
	enum stepup_auth_level level;
	unsigned int i;

	i_zero(rec_r);
	for (i = 0; i < STEPUP_AUDIT_FIELD_COUNT; i++) {
		*stepup_audit_field_ptr(rec_r, &stepup_audit_fields[i]) =
			null_if_empty(args[i]);
	}

	if (null_strcmp(rec_r->event, event) != 0) {
		*error_r = "only folder decisions (event open), fetch counts "
			"and approvals are accepted";
		return -1;
	}
	if (rec_r->user == NULL || rec_r->mailbox == NULL) {
		*error_r = "user and mailbox are required";
		return -1;
	}
	if (rec_r->auth != NULL &&
	    stepup_auth_level_parse_any(rec_r->auth, &level) < 0) {
		*error_r = "unknown auth level";
		return -1;
	}
	return 0;
}

int stepup_audit_proto_decode(const char *line,
			      struct stepup_audit_record *rec_r,
			      const char **error_r)
{
	static const char *const decisions[] = { "allow", "deny", NULL };
	const char *const *args;

	if (split_fields(line, AUDIT_PROTO_FIELDS, &args, error_r) < 0 ||
	    read_record(args, "open", rec_r, error_r) < 0)
		return -1;
	if (rec_r->decision == NULL ||
	    !str_array_find(decisions, rec_r->decision)) {
		*error_r = "decision must be allow or deny";
		return -1;
	}
	return 0;
}

/* a fetch request: the record's fields (event "fetch") and four more */
#define FETCH_PROTO_FIELDS (AUDIT_PROTO_FIELDS + 4)

const char *stepup_audit_proto_encode_fetch(const struct stepup_fetch_request *req)
{
	struct stepup_audit_record rec = req->rec;
	string_t *str = t_str_new(256);

	rec.event = "fetch";
	append_record(str, &rec);
	str_printfa(str, "\t%u\t%u\t%d\t%u", req->limit, req->window_secs,
		    req->enforce ? 1 : 0, I_MAX(req->want, 1U));
	return str_c(str);
}

bool stepup_audit_proto_is_fetch(const char *line)
{
	return str_begins_with(line, "fetch\t");
}

int stepup_audit_proto_decode_fetch(const char *line,
				    struct stepup_fetch_request *req_r,
				    const char **error_r)
{
	const char *const *args, *const *extra;

	i_zero(req_r);
	if (split_fields(line, FETCH_PROTO_FIELDS, &args, error_r) < 0 ||
	    read_record(args, "fetch", &req_r->rec, error_r) < 0)
		return -1;
	if (req_r->rec.rule == NULL) {
		*error_r = "fetch needs a rule";
		return -1;
	}
	/* limit, window, enforce, want */
	extra = args + AUDIT_PROTO_FIELDS;
	if (str_to_uint(extra[0], &req_r->limit) < 0 || req_r->limit == 0 ||
	    str_to_uint(extra[1], &req_r->window_secs) < 0 ||
	    req_r->window_secs == 0 ||
	    (strcmp(extra[2], "0") != 0 && strcmp(extra[2], "1") != 0) ||
	    str_to_uint(extra[3], &req_r->want) < 0 || req_r->want == 0 ||
	    req_r->want > STEPUP_FETCH_LEASE_MAX) {
		*error_r = "fetch: bad limit, window, mode or lease";
		return -1;
	}
	req_r->enforce = extra[2][0] == '1';
	return 0;
}

const char *stepup_audit_proto_encode_grant(unsigned int granted,
					    time_t end)
{
	if (granted == 0)
		return STEPUP_AUDIT_PROTO_FAIL;
	return t_strdup_printf(STEPUP_AUDIT_PROTO_OK "\t%u\t%ld", granted,
			       (long)end);
}

int stepup_audit_proto_decode_grant(const char *line,
				    unsigned int *granted_r, time_t *end_r)
{
	const char *const *args;

	*granted_r = 0;
	*end_r = 0;
	if (strcmp(line, STEPUP_AUDIT_PROTO_FAIL) == 0)
		return 0;
	args = t_strsplit_tabescaped(line);
	if (str_array_length(args) != 3 ||
	    strcmp(args[0], STEPUP_AUDIT_PROTO_OK) != 0 ||
	    str_to_uint(args[1], granted_r) < 0 || *granted_r == 0 ||
	    str_to_time(args[2], end_r) < 0) {
		*granted_r = 0;
		return -1;
	}
	return 0;
}

#define RELEASE_PROTO_FIELDS 6

const char *
stepup_audit_proto_encode_release(const struct stepup_fetch_release *rel)
{
	string_t *str = t_str_new(128);

	append_field(str, "release", TRUE);
	append_field(str, rel->user, FALSE);
	append_field(str, rel->session, FALSE);
	append_field(str, rel->rule, FALSE);
	str_printfa(str, "\t%u\t%ld", rel->count, (long)rel->end);
	return str_c(str);
}

bool stepup_audit_proto_is_release(const char *line)
{
	return str_begins_with(line, "release\t");
}

int stepup_audit_proto_decode_release(const char *line,
				      struct stepup_fetch_release *rel_r,
				      const char **error_r)
{
	const char *const *args;

	i_zero(rel_r);
	if (split_fields(line, RELEASE_PROTO_FIELDS, &args, error_r) < 0)
		return -1;
	if (strcmp(args[0], "release") != 0 || args[1][0] == '\0' ||
	    args[3][0] == '\0' || str_to_uint(args[4], &rel_r->count) < 0 ||
	    rel_r->count == 0 || rel_r->count > STEPUP_FETCH_LEASE_MAX ||
	    str_to_time(args[5], &rel_r->end) < 0) {
		*error_r = "release: bad user, rule, count or window";
		return -1;
	}
	rel_r->user = args[1];
	rel_r->session = null_if_empty(args[2]);
	rel_r->rule = args[3];
	return 0;
}

#define HELLO_PROTO_FIELDS 4

const char *stepup_audit_proto_encode_hello(const char *user,
					    const char *session,
					    const char *token)
{
	string_t *str = t_str_new(128);

	append_field(str, "hello", TRUE);
	append_field(str, user, FALSE);
	append_field(str, session, FALSE);
	append_field(str, token, FALSE);
	return str_c(str);
}

bool stepup_audit_proto_is_hello(const char *line)
{
	return str_begins_with(line, "hello\t");
}

int stepup_audit_proto_decode_hello(const char *line, const char **user_r,
				    const char **session_r,
				    const char **token_r,
				    const char **error_r)
{
	const char *const *args;

	if (split_fields(line, HELLO_PROTO_FIELDS, &args, error_r) < 0)
		return -1;
	if (args[1][0] == '\0' || args[3][0] == '\0') {
		*error_r = "hello needs a user and a token";
		return -1;
	}
	*user_r = args[1];
	*session_r = null_if_empty(args[2]);
	*token_r = args[3];
	return 0;
}

/* a read request: the record's fields (event "read") and the message:
   uid, message_id, size */
#define READ_PROTO_FIELDS (AUDIT_PROTO_FIELDS + 3)

const char *stepup_audit_proto_encode_read(const struct stepup_audit_record *rec)
{
	struct stepup_audit_record r = *rec;
	string_t *str = t_str_new(256);

	r.event = "read";
	append_record(str, &r);
	str_printfa(str, "\t%u\t", rec->uid);
	if (rec->message_id != NULL)
		str_append_tabescaped(str, rec->message_id);
	str_printfa(str, "\t%"PRIuUOFF_T, rec->size);
	return str_c(str);
}

bool stepup_audit_proto_is_read(const char *line)
{
	return str_begins_with(line, "read\t");
}

int stepup_audit_proto_decode_read(const char *line,
				   struct stepup_audit_record *rec_r,
				   const char **error_r)
{
	const char *const *args;

	if (split_fields(line, READ_PROTO_FIELDS, &args, error_r) < 0 ||
	    read_record(args, "read", rec_r, error_r) < 0)
		return -1;
	if (str_to_uint32(args[10], &rec_r->uid) < 0 || rec_r->uid == 0 ||
	    str_to_uoff(args[12], &rec_r->size) < 0) {
		*error_r = "read: bad uid or size";
		return -1;
	}
	if (strlen(args[11]) > STEPUP_AUDIT_MESSAGE_ID_MAX) {
		*error_r = "read: Message-ID too long";
		return -1;
	}
	rec_r->message_id = null_if_empty(args[11]);
	rec_r->decision = "allow";
	rec_r->count = 0;
	rec_r->uids = NULL;
	return 0;
}

/* an approval ask: the record's fields (event "approval") and five more */
#define APPROVAL_PROTO_FIELDS (AUDIT_PROTO_FIELDS + 5)

const char *stepup_approval_ask_encode(const struct stepup_approval_ask *ask)
{
	struct stepup_audit_record rec = ask->rec;
	string_t *str = t_str_new(256);

	rec.event = "approval";
	rec.decision = NULL;
	rec.reason = NULL;
	append_record(str, &rec);
	append_field(str, ask->client, FALSE);
	append_field(str, ask->scope, FALSE);
	str_printfa(str, "\t%u\t%u\t%d", ask->grant_secs, ask->wait_secs,
		    ask->create ? 1 : 0);
	return str_c(str);
}

bool stepup_audit_proto_is_approval(const char *line)
{
	return str_begins_with(line, "approval\t");
}

int stepup_approval_ask_decode(const char *line,
			       struct stepup_approval_ask *ask_r,
			       const char **error_r)
{
	static const char *const scopes[] = { "ip", "session", "user", NULL };
	const char *const *args;

	i_zero(ask_r);
	if (split_fields(line, APPROVAL_PROTO_FIELDS, &args, error_r) < 0 ||
	    read_record(args, "approval", &ask_r->rec, error_r) < 0)
		return -1;
	ask_r->client = null_if_empty(args[10]);
	ask_r->scope = args[11];
	if (ask_r->rec.rule == NULL || ask_r->rec.session == NULL ||
	    !str_array_find(scopes, ask_r->scope) ||
	    str_to_uint(args[12], &ask_r->grant_secs) < 0 ||
	    str_to_uint(args[13], &ask_r->wait_secs) < 0 ||
	    (strcmp(args[14], "0") != 0 && strcmp(args[14], "1") != 0)) {
		*error_r = "approval: bad rule, session, scope, grant, wait "
			"or create";
		return -1;
	}
	if (strcmp(ask_r->scope, "ip") == 0 && ask_r->rec.ip == NULL) {
		*error_r = "approval: scope ip needs the address";
		return -1;
	}
	ask_r->create = args[14][0] == '1';
	return 0;
}

static const char *const approval_answer_names[] = {
	"code", "approved", "denied", "pending", "failed", "none",
};

const char *
stepup_approval_answer_encode(const struct stepup_approval_answer *answer)
{
	string_t *str = t_str_new(64);

	str_append(str, approval_answer_names[answer->type]);
	append_field(str, answer->text == NULL ? "" : answer->text, FALSE);
	str_printfa(str, "\t%d", answer->allow ? 1 : 0);
	return str_c(str);
}

int stepup_approval_answer_decode(const char *line,
				  struct stepup_approval_answer *answer_r)
{
	const char *const *args = t_strsplit_tabescaped(line);
	unsigned int i;

	i_zero(answer_r);
	if (str_array_length(args) != 3 ||
	    (strcmp(args[2], "0") != 0 && strcmp(args[2], "1") != 0))
		return -1;
	for (i = 0; i < N_ELEMENTS(approval_answer_names); i++) {
		if (strcmp(args[0], approval_answer_names[i]) == 0)
			break;
	}
	if (i == N_ELEMENTS(approval_answer_names))
		return -1;
	answer_r->type = i;
	answer_r->text = args[1];
	answer_r->allow = args[2][0] == '1';
	return 0;
}
