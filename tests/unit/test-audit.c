/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-compat.h"
#include "str.h"
#include "test-common.h"
#include "audit.h"
#include "audit-proto.h"
#include "audit-report.h"
#include "fetch-limit.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

static const char *tmp_dir;

static const struct stepup_audit_record rec_login = {
	.event = "login", .user = "alice@example.org", .session = "sess1",
	.service = "imap", .ip = "192.0.2.7", .rule = "cabinet",
	.decision = "allow", .reason = "totp verified", .auth = "totp",
};

static const char *read_file(const char *path, size_t *size_r)
{
	string_t *str = t_str_new(1024);
	char buf[4096];
	ssize_t ret;
	int fd = open(path, O_RDONLY);

	i_assert(fd != -1);
	while ((ret = read(fd, buf, sizeof(buf))) > 0)
		str_append_data(str, buf, ret);
	i_close_fd(&fd);
	*size_r = str_len(str);
	return str_c(str);
}

static void test_audit_format(void)
{
	struct timeval tv = { .tv_sec = 1764038400, .tv_usec = 123456 };
	struct stepup_audit_record rec = rec_login;
	const char *line, *hash;

	test_begin("audit: record format and escaping");
	rec.mailbox = "Sec\"ret\\\x01\n";
	line = stepup_audit_format(&rec, &tv, STEPUP_AUDIT_GENESIS, &hash);
	test_assert(str_begins_with(line, "{\"ts\":\"2025-11-25T02:40:00.123Z\","
			       "\"event\":\"login\",\"user\":\"alice@example.org\""));
	test_assert(strstr(line, "\"mailbox\":\"Sec\\\"ret\\\\\\u0001\\n\"") != NULL);
	test_assert(strchr(line, '\n') == NULL);
	test_assert(strstr(line, "\"prev\":\"" STEPUP_AUDIT_GENESIS "\"") != NULL);
	test_assert(strstr(line, t_strdup_printf("\"hash\":\"%s\"}", hash)) != NULL);
	test_assert(strlen(hash) == 64);
	rec.mailbox = NULL;
	line = stepup_audit_format(&rec, &tv, STEPUP_AUDIT_GENESIS, &hash);
	test_assert(strstr(line, "\"mailbox\":null") != NULL);
	test_end();
}

static void test_audit_chain(void)
{
	const char *path = t_strconcat(tmp_dir, "/chain.jsonl", NULL);
	struct stepup_audit *audit;
	struct timeval tv = { .tv_sec = 1764038400 };
	const char *error, *data, *p;
	char *copy, *q;
	unsigned int i, records;
	size_t size;

	test_begin("audit: chain written, verified, tampering detected");
	test_assert(stepup_audit_open(path, &audit, &error) == 0);
	for (i = 0; i < 5; i++) {
		tv.tv_sec++;
		test_assert(stepup_audit_write(audit, &rec_login, &tv,
					       &error) == 0);
	}
	stepup_audit_close(&audit);
	data = read_file(path, &size);
	test_assert(stepup_audit_verify_buffer(data, size, &records,
					       &error) == 0);
	test_assert(records == 5);

	/* an edited field */
	copy = t_strdup_noconst(data);
	q = strstr(copy, "\"decision\":\"allow\"");
	q = strstr(q + 1, "\"decision\":\"allow\"");
	memcpy(q + 12, "deny\",", 6);
	test_assert(stepup_audit_verify_buffer(copy, size, &records,
					       &error) == -1);
	test_assert(records == 1);
	test_assert(strstr(error, "line 2") != NULL);

	/* a deleted record */
	p = strchr(data, '\n') + 1;
	p = strchr(p, '\n') + 1;	/* start of line 3 */
	data = t_strconcat(t_strdup_until(data, strchr(data, '\n') + 1),
			   p, NULL);
	test_assert(stepup_audit_verify_buffer(data, strlen(data), &records,
					       &error) == -1);
	test_assert(strstr(error, "line 2: chain broken") != NULL);

	/* a truncated last record */
	data = read_file(path, &size);
	test_assert(stepup_audit_verify_buffer(data, size - 10, &records,
					       &error) == -1);
	test_assert(records == 4);
	test_end();
}

static void test_audit_partial_line_recovery(void)
{
	const char *path = t_strconcat(tmp_dir, "/partial.jsonl", NULL);
	struct stepup_audit *audit;
	struct timeval tv = { .tv_sec = 1764038400 };
	const char *error, *data;
	unsigned int records;
	size_t size;
	int fd;

	test_begin("audit: a partial line breaks the chain visibly");
	test_assert(stepup_audit_open(path, &audit, &error) == 0);
	test_assert(stepup_audit_write(audit, &rec_login, &tv, &error) == 0);
	fd = open(path, O_WRONLY | O_APPEND);
	test_assert(write(fd, "{\"ts\":", 6) == 6);
	i_close_fd(&fd);
	test_assert(stepup_audit_write(audit, &rec_login, &tv, &error) == 0);
	stepup_audit_close(&audit);
	data = read_file(path, &size);
	test_assert(stepup_audit_verify_buffer(data, size, &records,
					       &error) == -1);
	test_assert(records == 1);
	test_assert(strstr(error, "line 2") != NULL);
	test_end();
}

static void test_audit_concurrent_writers(void)
{
	const char *path = t_strconcat(tmp_dir, "/conc.jsonl", NULL);
	struct timeval tv = { .tv_sec = 1764038400 };
	const char *error, *data;
	unsigned int i, j, records;
	pid_t pids[4];
	int status;
	size_t size;

	test_begin("audit: 4 processes append 50 records each, chain intact");
	for (i = 0; i < N_ELEMENTS(pids); i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct stepup_audit *audit;

			if (stepup_audit_open(path, &audit, &error) < 0)
				_exit(1);
			for (j = 0; j < 50; j++) {
				if (stepup_audit_write(audit, &rec_login, &tv,
						       &error) < 0)
					_exit(1);
			}
			stepup_audit_close(&audit);
			_exit(0);
		}
	}
	for (i = 0; i < N_ELEMENTS(pids); i++) {
		test_assert(waitpid(pids[i], &status, 0) == pids[i]);
		test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	data = read_file(path, &size);
	test_assert(stepup_audit_verify_buffer(data, size, &records,
					       &error) == 0);
	test_assert(records == 200);
	test_end();
}

static void test_audit_refuses_symlink(void)
{
	const char *path = t_strconcat(tmp_dir, "/link.jsonl", NULL);
	struct stepup_audit *audit;
	const char *error;

	test_begin("audit: refuses a symlink");
	test_assert(symlink("/etc/passwd", path) == 0);
	test_assert(stepup_audit_open(path, &audit, &error) == -1);
	test_end();
}

static void test_audit_proto(void)
{
	static const struct stepup_audit_record rec = {
		.event = "open", .user = "alice", .session = "S1",
		.service = "imap", .ip = "::1",
		.mailbox = "Direction/a\tb\nc\\d\001", .rule = "direction",
		.decision = "deny", .reason = "rule 'direction' needs a code",
		.auth = "password",
	};
	static const char *const bad[] = {
		"",
		"open\talice",
		/* only folder decisions */
		"login\talice\tS\timap\t::1\tINBOX\tr\tallow\tx\ttotp",
		"open\talice\tS\timap\t::1\tINBOX\tr\tpending\tx\ttotp",
		"open\talice\tS\timap\t::1\tINBOX\tr\tallow\tx\troot",
		"open\t\tS\timap\t::1\tINBOX\tr\tallow\tx\ttotp",
		"open\talice\tS\timap\t::1\t\tr\tallow\tx\ttotp",
		"open\talice\tS\timap\t::1\tINBOX\tr\tallow\tx\ttotp\textra",
	};
	struct stepup_audit_record out;
	const char *line, *error;
	unsigned int i;

	test_begin("audit: service protocol");
	line = stepup_audit_proto_encode(&rec);
	test_assert(strchr(line, '\n') == NULL);
	test_assert(stepup_audit_proto_decode(line, &out, &error) == 0);
	test_assert_strcmp(out.mailbox, rec.mailbox);
	test_assert_strcmp(out.reason, rec.reason);
	test_assert_strcmp(out.auth, "password");
	test_assert_strcmp(out.session, "S1");
	/* empty fields are nulls */
	test_assert(stepup_audit_proto_decode(
		"open\talice\t\t\t\tINBOX\t\tdeny\t\t", &out, &error) == 0);
	test_assert(out.session == NULL && out.auth == NULL && out.rule == NULL);
	for (i = 0; i < N_ELEMENTS(bad); i++) {
		test_assert_idx(stepup_audit_proto_decode(bad[i], &out,
							  &error) < 0, i);
	}
	/* an overlong field */
	{
		string_t *big = t_str_new(9000);

		for (i = 0; i < 9000; i++)
			str_append_c(big, 'm');
		line = t_strdup_printf("open\talice\tS\timap\t::1\t%s\tr\tallow\tx\ttotp",
				       str_c(big));
		test_assert(stepup_audit_proto_decode(line, &out, &error) < 0);
	}
	test_end();
}

static void test_audit_report(void)
{
	static const struct stepup_audit_record rec = {
		.event = "open", .user = "alice", .session = "S",
		.service = "imap", .ip = "10.0.0.1",
		.mailbox = "Direction/Q\"1\"", .rule = "direction",
		.decision = "allow", .reason = "r\u00e9", .auth = "totp",
	};
	struct stepup_audit_filter filter;
	struct stepup_audit_entry e;
	struct timeval tv = { .tv_sec = 1764000000, .tv_usec = 123000 };
	const char *line, *hash, *ts, *error;

	test_begin("audit: report reads records back and filters them");
	line = stepup_audit_format(&rec, &tv, STEPUP_AUDIT_GENESIS, &hash);
	test_assert(stepup_audit_parse_entry(line, &e, &error) == 0);
	test_assert_strcmp(e.ts, "2025-11-24T16:00:00.123Z");
	test_assert_strcmp(e.rec.mailbox, rec.mailbox);
	test_assert_strcmp(e.rec.reason, rec.reason);
	test_assert_strcmp(e.rec.auth, "totp");
	test_assert(stepup_audit_parse_entry("{\"ts\":1}", &e, &error) < 0);
	test_assert(stepup_audit_parse_entry("not json", &e, &error) < 0);
	test_assert(stepup_audit_parse_entry("{\"user\":\"a\"}", &e,
					     &error) < 0);
	test_assert(stepup_audit_parse_entry(line, &e, &error) == 0);

	i_zero(&filter);
	test_assert(stepup_audit_filter_match(&filter, &e));
	filter.mailbox = "Direction";		/* covers subfolders */
	test_assert(stepup_audit_filter_match(&filter, &e));
	filter.mailbox = "Direc";
	test_assert(!stepup_audit_filter_match(&filter, &e));
	filter.mailbox = NULL;
	filter.user = "bob";
	test_assert(!stepup_audit_filter_match(&filter, &e));
	filter.user = NULL;
	filter.event = "login";
	test_assert(!stepup_audit_filter_match(&filter, &e));
	filter.event = NULL;

	/* --since */
	test_assert(stepup_audit_parse_since("2025-11-24", 0, &ts, &error) == 0);
	test_assert_strcmp(ts, "2025-11-24T00:00:00.000Z");
	filter.since = ts;
	test_assert(stepup_audit_filter_match(&filter, &e));
	test_assert(stepup_audit_parse_since("2025-11-24T16:00:01Z", 0, &ts,
					     &error) == 0);
	filter.since = ts;
	test_assert(!stepup_audit_filter_match(&filter, &e));
	test_assert(stepup_audit_parse_since("90m", 1764000000, &ts,
					     &error) == 0);
	test_assert_strcmp(ts, "2025-11-24T14:30:00.000Z");
	test_assert(stepup_audit_parse_since("7d", 1764000000, &ts,
					     &error) == 0);
	test_assert_strcmp(ts, "2025-11-17T16:00:00.000Z");
	test_assert(stepup_audit_parse_since("2026-02-30", 0, &ts, &error) < 0);
	test_assert(stepup_audit_parse_since("2026-1-01", 0, &ts, &error) < 0);
	test_assert(stepup_audit_parse_since("2026-01-01T10:00:00", 0, &ts,
					     &error) < 0);
	test_assert(stepup_audit_parse_since("0h", 0, &ts, &error) < 0);
	test_assert(stepup_audit_parse_since("-5h", 0, &ts, &error) < 0);
	test_assert(stepup_audit_parse_since("5w", 0, &ts, &error) < 0);
	test_assert(stepup_audit_parse_since("", 0, &ts, &error) < 0);
	test_end();
}

static void test_audit_fetch_limit(void)
{
	struct stepup_fetch_counter *c = stepup_fetch_counter_init(3);
	struct stepup_fetch_request req = {
		.rec = { .user = "alice", .mailbox = "Direction/x\ty",
			 .rule = "dir", .auth = "totp" },
		.limit = 3, .window_secs = 60, .enforce = TRUE,
	}, out;
	const char *line, *error;
	bool first;
	unsigned int i;

	test_begin("audit: fetch_limit counters and requests");
	for (i = 0; i < 3; i++)
		test_assert_idx(stepup_fetch_count(c, "alice", "dir", 3, 60,
						   1000 + i, &first), i);
	test_assert(!stepup_fetch_count(c, "alice", "dir", 3, 60, 1010, &first));
	test_assert(first);
	test_assert(!stepup_fetch_count(c, "alice", "dir", 3, 60, 1011, &first));
	test_assert(!first);			/* reported once a window */
	/* other users and rules count apart */
	test_assert(stepup_fetch_count(c, "bob", "dir", 3, 60, 1011, &first));
	test_assert(stepup_fetch_count(c, "alice", "hr", 3, 60, 1011, &first));
	/* the window started with the first read, at 1000 */
	test_assert(!stepup_fetch_count(c, "alice", "dir", 3, 60, 1059, &first));
	test_assert(stepup_fetch_count(c, "alice", "dir", 3, 60, 1060, &first));
	/* full (3 windows): a fourth (user, rule) is refused, fail closed,
	   until a window ends */
	test_assert(!stepup_fetch_count(c, "carol", "dir", 3, 60, 1062, &first));
	test_assert(!first);
	test_assert(stepup_fetch_counter_expire(c, 1065) == 3);
	test_assert(stepup_fetch_counter_expire(c, 1119) == 1);
	test_assert(stepup_fetch_counter_expire(c, 1200) == 0);
	stepup_fetch_counter_deinit(&c);
	test_assert(c == NULL);

	line = stepup_audit_proto_encode_fetch(&req);
	test_assert(stepup_audit_proto_is_fetch(line));
	test_assert(stepup_audit_proto_decode_fetch(line, &out, &error) == 0);
	test_assert_strcmp(out.rec.mailbox, req.rec.mailbox);
	test_assert_strcmp(out.rec.event, "fetch");
	test_assert(out.limit == 3 && out.window_secs == 60 && out.enforce);
	test_assert(out.rec.session == NULL);
	/* a record is not a fetch, and the record decoder refuses fetches */
	test_assert(!stepup_audit_proto_is_fetch("open\tx"));
	test_assert(stepup_audit_proto_decode(line, &(struct stepup_audit_record){0},
					      &error) < 0);
	/* fetch user session service ip mailbox rule decision reason auth
	   limit window enforce */
	test_assert(stepup_audit_proto_decode_fetch(
		"fetch\ta\t\t\t\tM\tr\t\t\t\t0\t60\t1", &out, &error) < 0);
	test_assert(stepup_audit_proto_decode_fetch(
		"fetch\ta\t\t\t\tM\tr\t\t\t\t5\t60\t2", &out, &error) < 0);
	test_assert(stepup_audit_proto_decode_fetch(
		"fetch\ta\t\t\t\tM\t\t\t\t\t5\t60\t1", &out, &error) < 0);
	test_assert(stepup_audit_proto_decode_fetch(
		"fetch\ta\t\t\t\tM\tr\t\t\troot\t5\t60\t1", &out, &error) < 0);
	test_assert(stepup_audit_proto_decode_fetch(
		"open\ta\t\t\t\tM\tr\t\t\t\t5\t60\t1", &out, &error) < 0);
	test_assert(stepup_audit_proto_decode_fetch(
		"fetch\ta\t\t\t\tM\tr\t\t\t\t5\t60\t0", &out, &error) == 0);
	test_assert(!out.enforce);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_audit_format,
		test_audit_chain,
		test_audit_partial_line_recovery,
		test_audit_concurrent_writers,
		test_audit_refuses_symlink,
		test_audit_proto,
		test_audit_report,
		test_audit_fetch_limit,
		NULL
	};
	char template[] = "/tmp/stepup-audit-XXXXXX";
	int ret;

	if (mkdtemp(template) == NULL)
		i_fatal("mkdtemp: %m");
	tmp_dir = template;
	char cmd[sizeof(template) + 16];

	ret = test_run(test_functions);
	/* lib is deinitialised by now: no data stack */
	i_snprintf(cmd, sizeof(cmd), "rm -rf %s", template);
	if (system(cmd) != 0)
		ret = 1;
	return ret;
}
