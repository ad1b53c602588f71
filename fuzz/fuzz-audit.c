/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* libFuzzer target: what the stepup-audit service reads from the mail
   processes (a compromised one may send anything) and what
   "stepup audit report" reads back from the log. Run by scripts/fuzz.sh;
   every crash goes into fuzz/corpus-audit/. */

#include "lib.h"
#include "fuzzer.h"
#include "audit-proto.h"
#include "audit-report.h"
#include "audit-verify.h"

static void check_record(const char *line)
{
	struct stepup_audit_record rec, rec2;
	const char *error;

	if (stepup_audit_proto_decode(line, &rec, &error) < 0)
		return;
	/* what decodes encodes into the same request */
	if (stepup_audit_proto_decode(stepup_audit_proto_encode(&rec), &rec2,
				      &error) < 0)
		i_panic("re-encoded record does not decode: %s", error);
	if (null_strcmp(rec.mailbox, rec2.mailbox) != 0 ||
	    null_strcmp(rec.reason, rec2.reason) != 0 ||
	    null_strcmp(rec.user, rec2.user) != 0)
		i_panic("re-encoded record differs");
}

static void check_fetch(const char *line)
{
	struct stepup_fetch_request req, req2;
	const char *error;

	if (stepup_audit_proto_decode_fetch(line, &req, &error) < 0)
		return;
	if (stepup_audit_proto_decode_fetch(
		stepup_audit_proto_encode_fetch(&req), &req2, &error) < 0)
		i_panic("re-encoded fetch does not decode: %s", error);
	if (strcmp(req.rec.mailbox, req2.rec.mailbox) != 0 ||
	    req.limit != req2.limit || req.window_secs != req2.window_secs ||
	    req.enforce != req2.enforce || req.want != req2.want)
		i_panic("re-encoded fetch differs");
}

static void check_release(const char *line)
{
	struct stepup_fetch_release rel, rel2;
	const char *error;

	if (stepup_audit_proto_decode_release(line, &rel, &error) < 0)
		return;
	if (stepup_audit_proto_decode_release(
		stepup_audit_proto_encode_release(&rel), &rel2, &error) < 0)
		i_panic("re-encoded release does not decode: %s", error);
	if (strcmp(rel.user, rel2.user) != 0 ||
	    strcmp(rel.rule, rel2.rule) != 0 || rel.count != rel2.count ||
	    rel.end != rel2.end)
		i_panic("re-encoded release differs");
}

static void check_grant(const char *line)
{
	unsigned int granted, granted2;
	time_t end, end2;

	if (stepup_audit_proto_decode_grant(line, &granted, &end) < 0 ||
	    granted == 0)
		return;
	if (stepup_audit_proto_decode_grant(
		stepup_audit_proto_encode_grant(granted, end), &granted2,
		&end2) < 0 || granted != granted2 || end != end2)
		i_panic("re-encoded grant differs");
}

static void check_hello(const char *line)
{
	const char *user, *session, *token, *user2, *session2, *token2;
	const char *error;

	if (stepup_audit_proto_decode_hello(line, &user, &session, &token,
					    &error) < 0)
		return;
	if (stepup_audit_proto_decode_hello(stepup_audit_proto_encode_hello(
			user, session, token), &user2, &session2, &token2,
			&error) < 0)
		i_panic("re-encoded hello does not decode: %s", error);
	if (strcmp(user, user2) != 0 || null_strcmp(session, session2) != 0 ||
	    strcmp(token, token2) != 0)
		i_panic("re-encoded hello differs");
}

static void check_read(const char *line)
{
	struct stepup_audit_record rec, rec2;
	const char *error;

	if (stepup_audit_proto_decode_read(line, &rec, &error) < 0)
		return;
	if (stepup_audit_proto_decode_read(stepup_audit_proto_encode_read(&rec),
					   &rec2, &error) < 0)
		i_panic("re-encoded read does not decode: %s", error);
	if (rec.uid != rec2.uid || rec.size != rec2.size ||
	    null_strcmp(rec.message_id, rec2.message_id) != 0 ||
	    null_strcmp(rec.mailbox, rec2.mailbox) != 0)
		i_panic("re-encoded read differs");
}

FUZZ_BEGIN_DATA(const uint8_t *data, size_t size)
{
	struct stepup_audit_entry entry;
	const char *line, *error;
	unsigned int records;

	/* the whole input as a log file, as verify and report read it */
	(void)stepup_audit_verify_buffer((const char *)data, size, &records,
					 &error);
	/* one line, as the service and the report see it */
	line = t_strcut(t_strndup(data, size), '\n');
	check_record(line);
	check_fetch(line);
	check_hello(line);
	check_read(line);
	check_release(line);
	check_grant(line);
	(void)stepup_audit_parse_entry(line, &entry, &error);
}
FUZZ_END
