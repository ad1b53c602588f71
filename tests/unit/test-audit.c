/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-compat.h"
#include "str.h"
#include "test-common.h"
#include "stepup-audit.h"
#include "audit-verify.h"
#include "audit-proto.h"
#include "audit-report.h"
#include "fetch-limit.h"
#include "read-aggregate.h"
#include "audit-anomalies.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <signal.h>

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
	/* what line readers split on: U+2028, U+2029, U+0085 (and the other
	   C1 controls); invalid UTF-8 becomes U+FFFD; the rest stays */
	rec.mailbox = "a\xe2\x80\xa8" "b\xe2\x80\xa9" "c\xc2\x85" "d\xc2\x9f"
		"e\xff" "f\xe2\x80" "g\xc3\xa9\xe2\x82\xac\xf0\x9f\x93\x81"
		"\xc0\xaf";
	line = stepup_audit_format(&rec, &tv, STEPUP_AUDIT_GENESIS, &hash);
	test_assert_strcmp(t_strcut(strstr(line, "\"mailbox\":"), ','),
		"\"mailbox\":\"a\\u2028b\\u2029c\\u0085d\\u009f"
		"e\\ufffdf\\ufffd\\ufffdg\xc3\xa9\xe2\x82\xac\xf0\x9f\x93\x81"
		"\\ufffd\\ufffd\"");
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
	test_assert(records == 6);	/* the start record and 5 */

	/* an edited field */
	copy = t_strdup_noconst(data);
	q = strstr(copy, "\"decision\":\"allow\"");
	q = strstr(q + 1, "\"decision\":\"allow\"");
	memcpy(q + 12, "deny\",", 6);
	test_assert(stepup_audit_verify_buffer(copy, size, &records,
					       &error) == -1);
	test_assert(records == 2);
	test_assert(strstr(error, "line 3: hash mismatch") != NULL);

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
	test_assert(records == 5);
	test_assert(strstr(error, "line 6: incomplete record") != NULL);
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
	test_assert(records == 2);
	test_assert(strstr(error, "line 3") != NULL);
	test_end();
}

/* A full filesystem, as a file size limit: the write that does not fit
   fails, leaves no partial line, and the chain goes on once there is
   room. */
static void test_audit_write_out_of_space(void)
{
	const char *path = t_strconcat(tmp_dir, "/full.jsonl", NULL);
	struct timeval tv = { .tv_sec = 1764038400 };
	const char *error, *data;
	unsigned int records;
	struct stat st;
	size_t size;
	int status;
	pid_t pid;

	test_begin("audit: a write that does not fit leaves no partial line");
	pid = fork();
	if (pid == 0) {
		struct stepup_audit *audit;
		struct rlimit rl;
		off_t before;

		if (stepup_audit_open(path, &audit, &error) < 0 ||
		    stepup_audit_write(audit, &rec_login, &tv, &error) < 0)
			_exit(1);
		if (stat(path, &st) < 0)
			_exit(2);
		before = st.st_size;
		/* room for half a record more */
		(void)signal(SIGXFSZ, SIG_IGN);
		rl.rlim_cur = rl.rlim_max = before + before / 2;
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(3);
		if (stepup_audit_write(audit, &rec_login, &tv, &error) == 0)
			_exit(4);
		if (strstr(error, "write(") == NULL)
			_exit(5);
		if (stat(path, &st) < 0 || st.st_size != before)
			_exit(6);
		_exit(0);
	}
	test_assert(waitpid(pid, &status, 0) == pid);
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* space freed: the next writer chains on */
	{
		struct stepup_audit *audit;

		test_assert(stepup_audit_open(path, &audit, &error) == 0);
		test_assert(stepup_audit_write(audit, &rec_login, &tv,
					       &error) == 0);
		stepup_audit_close(&audit);
	}
	data = read_file(path, &size);
	test_assert(stepup_audit_verify_buffer(data, size, &records,
					       &error) == 0);
	/* the start record, then both records */
	test_assert(records == 3);
	test_end();
}

/* A new file (or one emptied by copytruncate) whose first write does not
   fit: the file is cut back to its own size (empty), not the head's. */
static void test_audit_write_out_of_space_new_file(void)
{
	const char *path = t_strconcat(tmp_dir, "/full-new.jsonl", NULL);
	const char *head_path = t_strconcat(path, ".head", NULL);
	struct timeval tv = { .tv_sec = 1764038400 };
	const char *error, *data;
	unsigned int records;
	struct stat st;
	size_t size;
	int status;
	pid_t pid;

	test_begin("audit: a new file's write that does not fit leaves it empty");
	pid = fork();
	if (pid == 0) {
		struct stepup_audit *audit;
		struct rlimit rl;

		if (stepup_audit_open(path, &audit, &error) < 0 ||
		    stepup_audit_write(audit, &rec_login, &tv, &error) < 0)
			_exit(1);
		/* emptied (copytruncate): the next write begins the file */
		if (truncate(path, 0) < 0 || stat(head_path, &st) < 0)
			_exit(2);
		(void)signal(SIGXFSZ, SIG_IGN);
		rl.rlim_cur = rl.rlim_max = st.st_size + 100;
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(3);
		if (stepup_audit_write(audit, &rec_login, &tv, &error) == 0)
			_exit(4);
		if (stat(path, &st) < 0 || st.st_size != 0)
			_exit(5);
		_exit(0);
	}
	test_assert(waitpid(pid, &status, 0) == pid);
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	{
		struct stepup_audit *audit;

		test_assert(stepup_audit_open(path, &audit, &error) == 0);
		test_assert(stepup_audit_write(audit, &rec_login, &tv,
					       &error) == 0);
		stepup_audit_close(&audit);
	}
	data = read_file(path, &size);
	test_assert(stepup_audit_verify_buffer(data, size, &records,
					       &error) == 0);
	test_end();
}

/* Anyone holding the head's lock (any lock: LOCK_SH too) delays a write
   only up to the handle's bound; then it fails closed. */
static void test_audit_write_lock_bounded(void)
{
	const char *path = t_strconcat(tmp_dir, "/locked.jsonl", NULL);
	const char *head_path = t_strconcat(path, ".head", NULL);
	struct timeval tv = { .tv_sec = 1764038400 };
	struct stepup_audit *audit;
	const char *error;
	int fds[2], status;
	struct stat st;
	char c;
	pid_t pid;

	test_begin("audit: a held lock fails the write after the bound");
	test_assert(stepup_audit_open(path, &audit, &error) == 0);
	test_assert(stat(head_path, &st) == 0 && (st.st_mode & 0777) == 0600);
	test_assert(pipe(fds) == 0);
	pid = fork();
	if (pid == 0) {
		int fd = open(head_path, O_RDONLY);

		if (fd == -1 || flock(fd, LOCK_SH) < 0)
			_exit(1);
		if (write(fds[1], "x", 1) != 1)
			_exit(2);
		/* a bounded hold: a writer that waits gets through */
		sleep(5);
		_exit(0);
	}
	i_close_fd(&fds[1]);
	test_assert(read(fds[0], &c, 1) == 1);
	i_close_fd(&fds[0]);
	stepup_audit_set_lock_timeout(audit, 50);
	test_assert(stepup_audit_write(audit, &rec_login, &tv, &error) == -1);
	test_assert(strstr(error, "audit log locked") != NULL);
	(void)kill(pid, SIGKILL);
	test_assert(waitpid(pid, &status, 0) == pid);
	/* released: the write goes through */
	test_assert(stepup_audit_write(audit, &rec_login, &tv, &error) == 0);
	stepup_audit_close(&audit);
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
	test_assert(records == 201);
	test_end();
}

static void write_file(const char *path, const char *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	i_assert(fd != -1);
	if (write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		i_fatal("write(%s): %m", path);
	i_close_fd(&fd);
}

static int verify_paths(const char *anchor, const char *expect,
			const char *const *paths, unsigned int *records_r,
			const char **error_r)
{
	struct stepup_audit_verify *v = stepup_audit_verify_init(anchor);
	int ret;

	if (expect != NULL)
		stepup_audit_verify_expect(v, expect, "the head file");
	ret = stepup_audit_verify_files(v, paths, NULL, NULL, error_r);
	if (ret == 0)
		ret = stepup_audit_verify_finish(v, error_r);
	*records_r = stepup_audit_verify_records(v);
	stepup_audit_verify_deinit(&v);
	return ret;
}

static void write_n(struct stepup_audit *audit, unsigned int n)
{
	struct timeval tv = { .tv_sec = 1764038400 };
	const char *error;

	while (n-- > 0)
		test_assert(stepup_audit_write(audit, &rec_login, &tv, &error) == 0);
}

static void test_audit_rotation(void)
{
	const char *path = t_strconcat(tmp_dir, "/rot.jsonl", NULL);
	const char *old = t_strconcat(path, ".2", NULL);
	const char *copy = t_strconcat(path, ".1", NULL);
	struct stepup_audit *a, *b;
	const char *error, *data, *hash, *ts, *head, *p;
	unsigned int records;
	size_t size;

	test_begin("audit: rotation (create, copytruncate) is one chain");
	test_assert(stepup_audit_open(path, &a, &error) == 0);
	write_n(a, 3);
	/* logrotate create: rename, then a new file; a writer that starts
	   after the rename links to the head too */
	test_assert(rename(path, old) == 0);
	write_n(a, 1);	/* no file yet: still into the rotated one */
	test_assert(stepup_audit_open(path, &b, &error) == 0);
	write_n(b, 1);
	write_n(a, 2);
	stepup_audit_close(&b);
	/* logrotate copytruncate */
	data = read_file(path, &size);
	write_file(copy, data);
	test_assert(truncate(path, 0) == 0);
	write_n(a, 2);
	stepup_audit_close(&a);

	test_assert(verify_paths(NULL, NULL, (const char *[]){ old, copy, path,
				 NULL }, &records, &error) == 0);
	test_assert(records == 5 + 4 + 3);
	/* a missing middle file is named */
	test_assert(verify_paths(NULL, NULL, (const char *[]){ old, path, NULL },
				 &records, &error) < 0);
	/* the start record of the emptied file counts: it repeats records,
	   and only after them is it clear that none continues old */
	test_assert(records == 6);
	test_assert(strstr(error, t_strdup_printf("%s line 1: does not "
		"continue %s: a file between them is missing", path, old)) != NULL);
	/* the head names the last record: records cut from the end */
	test_assert(stepup_audit_read_head_file(path, &head, &error) == 1);
	test_assert(stepup_audit_last_record(path, &hash, &ts, &error) == 0);
	test_assert_strcmp(hash, head);
	test_assert_strcmp(ts, "2025-11-25T02:40:00.000Z");
	test_assert(verify_paths(NULL, head, (const char *[]){ copy, path,
				 NULL }, &records, &error) == 0);
	data = read_file(path, &size);
	p = strchr(data, '\n');
	p = strchr(p + 1, '\n');
	write_file(path, t_strdup_until(data, p + 1));
	test_assert(verify_paths(NULL, head, (const char *[]){ copy, path,
				 NULL }, &records, &error) < 0);
	test_assert(strstr(error, "records were removed from the end") != NULL);
	/* the first record of the oldest file removed */
	data = read_file(old, &size);
	write_file(copy, strchr(data, '\n') + 1);
	test_assert(verify_paths(NULL, NULL, (const char *[]){ copy, NULL },
				 &records, &error) < 0);
	test_assert(strstr(error, "line 1: the file does not begin with its "
			   "start record") != NULL);
	test_end();
}

static int count_line(const char *line ATTR_UNUSED, bool intact,
		      const char *file ATTR_UNUSED,
		      unsigned int lineno ATTR_UNUSED, void *context)
{
	unsigned int *count = context;

	if (intact)
		(*count)++;
	return 0;
}

static void test_audit_copytruncate_window(void)
{
	const char *path = t_strconcat(tmp_dir, "/ct.jsonl", NULL);
	const char *old = t_strconcat(path, ".1", NULL);
	const char *paths[] = { old, path, NULL };
	struct stepup_audit_verify *v;
	struct stepup_audit *a;
	const char *error, *data;
	unsigned int records, lines = 0;
	size_t size;

	test_begin("audit: a record written in copytruncate's window is kept");
	test_assert(stepup_audit_open(path, &a, &error) == 0);
	write_n(a, 3);
	data = read_file(path, &size);
	write_file(old, data);		/* logrotate copies ... */
	write_n(a, 1);			/* ... a record comes ... */
	test_assert(truncate(path, 0) == 0);	/* ... and it truncates */
	write_n(a, 2);
	stepup_audit_close(&a);
	/* the new file repeats the last records: the one the copy missed
	   continues the chain, the others are skipped */
	test_assert(verify_paths(NULL, NULL, paths, &records, &error) == 0);
	test_assert(records == 4 + 4);
	v = stepup_audit_verify_init(NULL);
	test_assert(stepup_audit_verify_files(v, paths, count_line, &lines,
					      &error) == 0);
	test_assert(stepup_audit_verify_finish(v, &error) == 0);
	stepup_audit_verify_deinit(&v);
	test_assert(lines == 8);
	/* the new file alone: its repeated records are records */
	test_assert(verify_paths(NULL, NULL, paths + 1, &records, &error) == 0);
	test_assert(records == 1 + 4 + 2);
	/* a repeated record changed */
	data = read_file(path, &size);
	write_file(path, t_str_replace(data, '7', '8'));
	test_assert(verify_paths(NULL, NULL, paths, &records, &error) < 0);
	test_end();
}

static void test_audit_anchor(void)
{
	const char *path = t_strconcat(tmp_dir, "/anchor.jsonl", NULL);
	const char *paths[] = { path, NULL };
	struct stepup_audit *a;
	const char *error, *hash, *ts, *data;
	unsigned int records;
	size_t size;
	char *copy, *q;

	test_begin("audit: verify --anchor");
	test_assert(stepup_audit_open(path, &a, &error) == 0);
	write_n(a, 3);
	test_assert(stepup_audit_last_record(path, &hash, &ts, &error) == 0);
	write_n(a, 2);
	stepup_audit_close(&a);
	test_assert(verify_paths(hash, NULL, paths, &records, &error) == 0);
	test_assert(verify_paths(STEPUP_AUDIT_GENESIS, NULL, paths, &records,
				 &error) < 0);
	test_assert(strstr(error, "not found") != NULL);
	/* a record before the anchor changed */
	data = read_file(path, &size);
	copy = t_strdup_noconst(data);
	q = strstr(copy, "\"ip\":\"192.0.2.7\"");
	q[12] = '8';
	write_file(path, copy);
	test_assert(verify_paths(hash, NULL, paths, &records, &error) < 0);
	test_assert(strstr(error, "line 2: hash mismatch") != NULL);
	test_end();
}

struct agg_written {
	unsigned int single, aggregates, count;
	string_t *uids;
};

static int agg_write(const struct stepup_audit_record *rec, void *context,
		     const char **error_r ATTR_UNUSED)
{
	struct agg_written *w = context;

	if (rec->count == 0) {
		w->single++;
		return 0;
	}
	w->aggregates++;
	w->count += rec->count;
	if (str_len(w->uids) > 0)
		str_append_c(w->uids, ' ');
	str_append(w->uids, rec->uids);
	return 0;
}

static void test_audit_read_aggregate(void)
{
	struct agg_written w = { .uids = t_str_new(64) };
	struct stepup_read_agg *agg;
	struct stepup_audit_record rec = {
		.event = "read", .user = "alice", .session = "S",
		.service = "imap", .ip = "::1", .mailbox = "Box",
		.decision = "allow", .size = 10,
	};
	const char *error;
	int owner;
	uint32_t uid;

	test_begin("audit: reads past reads_per_session are aggregated");
	agg = stepup_read_agg_init(10, agg_write, &w);
	for (uid = 1; uid <= 10; uid++) {
		rec.uid = uid == 6 ? 8 : uid;	/* 8 twice: counted once */
		test_assert(stepup_read_agg_add(agg, &rec, 3, 120, &owner,
						&error) == 0);
	}
	test_assert(w.single == 3 && w.aggregates == 0);
	/* the next minute writes the last one's aggregate */
	rec.uid = 20;
	test_assert(stepup_read_agg_add(agg, &rec, 3, 185, &owner, &error) == 0);
	test_assert(w.aggregates == 1 && w.count == 7);
	test_assert_strcmp(str_c(w.uids), "4:5,7:10");
	/* another folder, then the mail process ends */
	rec.mailbox = "Other";
	rec.uid = 5;
	test_assert(stepup_read_agg_add(agg, &rec, 3, 186, &owner, &error) == 0);
	test_assert(stepup_read_agg_flush(agg, 190, FALSE, &error) == 1);
	test_assert(w.aggregates == 1);
	test_assert(stepup_read_agg_flush_owner(agg, &owner, &error) == 0);
	test_assert(w.aggregates == 3 && w.count == 9);
	test_assert_strcmp(str_c(w.uids), "4:5,7:10 20 5");
	/* no more sessions than the limit: beyond it, records of their own */
	rec.session = "T";
	for (uid = 0; uid < 10; uid++) {
		rec.session = t_strdup_printf("S%u", uid);
		test_assert(stepup_read_agg_add(agg, &rec, 0, 200, NULL,
						&error) == 0);
	}
	rec.session = "one too many";
	test_assert(stepup_read_agg_add(agg, &rec, 0, 200, NULL, &error) == 0);
	test_assert(w.single == 4);
	stepup_read_agg_deinit(&agg);
	test_assert(w.aggregates == 13);
	test_end();
}

static void test_audit_proto_read(void)
{
	struct stepup_audit_record rec = {
		.event = "read", .user = "alice", .session = "S",
		.service = "pop3", .ip = "::1", .mailbox = "INBOX",
		.rule = "rest", .reason = "body", .auth = "password",
		.uid = 42, .message_id = "<a\tb@x>", .size = 1234,
	}, back;
	const char *line, *error;

	test_begin("audit: read requests");
	line = stepup_audit_proto_encode_read(&rec);
	test_assert(stepup_audit_proto_is_read(line));
	test_assert(stepup_audit_proto_decode_read(line, &back, &error) == 0);
	test_assert(back.uid == 42 && back.size == 1234);
	test_assert_strcmp(back.message_id, "<a\tb@x>");
	test_assert_strcmp(back.decision, "allow");
	rec.uid = 0;
	test_assert(stepup_audit_proto_decode_read(
		stepup_audit_proto_encode_read(&rec), &back, &error) < 0);
	rec.uid = 1;
	rec.message_id = t_str_ucase(t_strdup_printf("%0*d", STEPUP_AUDIT_MESSAGE_ID_MAX + 1, 0));
	test_assert(stepup_audit_proto_decode_read(
		stepup_audit_proto_encode_read(&rec), &back, &error) < 0);
	/* a read is not a folder decision, nor the other way round */
	test_assert(stepup_audit_proto_decode(line, &back, &error) < 0);
	test_end();
}

struct found {
	string_t *kinds;
};

static void anomaly_cb(const struct stepup_anomaly *a, void *context)
{
	struct found *f = context;

	str_printfa(f->kinds, "%s%s:%s:%s", str_len(f->kinds) > 0 ? " " : "",
		    a->kind, a->user, a->records[0]);
}

static void add_entry(struct stepup_anomalies *an, const char *ts,
		      const char *event, const char *user, const char *session,
		      const char *ip, const char *decision,
		      const char *reason, const char *where)
{
	struct stepup_audit_entry e;

	i_zero(&e);
	e.ts = ts;
	e.rec.event = event;
	e.rec.user = user;
	e.rec.session = session;
	e.rec.ip = ip;
	e.rec.decision = decision;
	e.rec.reason = reason;
	e.rec.mailbox = "Box";
	e.rec.uid = 1;
	stepup_anomalies_add(an, &e, where);
}

static void test_audit_anomalies(void)
{
	struct stepup_anomaly_settings set = {
		.new_address_days = 30, .network_prefix_v4 = 24,
		.network_prefix_v6 = 64, .bulk_messages = 2, .bulk_mb = 100,
		.failed_codes_account = 3, .failed_codes_address = 100,
		.failed_window_secs = 600, .usual_hours_min_logins = 3,
		.hours_margin = 1,
	};
	struct found f = { .kinds = t_str_new(256) };
	struct stepup_anomalies *an;

	test_begin("audit: anomalies");
	test_assert(stepup_audit_ts_parse("2026-11-25T02:40:00.123Z") ==
		    1795574400);
	an = stepup_anomalies_init(&set, NULL, anomaly_cb, &f);
	/* habit: 10.0.0.x at 08 h; first logins have no baseline */
	add_entry(an, "2026-11-01T08:00:00.000Z", "login", "a", "s1",
		  "10.0.0.1", "allow", "ok", "L1");
	add_entry(an, "2026-11-02T08:10:00.000Z", "login", "a", "s2",
		  "10.0.0.9", "allow", "ok", "L2");	/* same /24 */
	add_entry(an, "2026-11-03T09:00:00.000Z", "login", "a", "s3",
		  "10.0.0.1", "allow", "ok", "L3");
	test_assert_strcmp(str_c(f.kinds), "");
	/* a thief: another network, at night, reads a lot */
	add_entry(an, "2026-11-04T03:00:00.000Z", "login", "a", "s4",
		  "192.0.2.1", "allow", "ok", "L4");
	add_entry(an, "2026-11-04T03:00:01.000Z", "read", "a", "s4",
		  "192.0.2.1", "allow", "body", "L5");
	add_entry(an, "2026-11-04T03:00:02.000Z", "read", "a", "s4",
		  "192.0.2.1", "allow", "body", "L6");
	add_entry(an, "2026-11-04T03:00:03.000Z", "read", "a", "s4",
		  "192.0.2.1", "allow", "body", "L7");
	/* the owner at the same time */
	add_entry(an, "2026-11-04T03:00:04.000Z", "login", "a", "s5",
		  "10.0.0.1", "allow", "ok", "L8");
	add_entry(an, "2026-11-04T03:00:05.000Z", "read", "a", "s4",
		  "192.0.2.1", "allow", "body", "L9");
	/* wrong codes: three within the window */
	add_entry(an, "2026-11-04T04:00:00.000Z", "login", "b", "t1",
		  "198.51.100.1", "deny", "wrong code (1 consecutive failures)", "W1");
	add_entry(an, "2026-11-04T04:20:00.000Z", "login", "b", "t2",
		  "198.51.100.1", "deny", "wrong code (2 consecutive failures)", "W2");
	add_entry(an, "2026-11-04T04:21:00.000Z", "login", "b", "t3",
		  "198.51.100.1", "deny", "wrong code (3 consecutive failures)", "W3");
	add_entry(an, "2026-11-04T04:22:00.000Z", "login", "b", "t4",
		  "198.51.100.1", "deny", "wrong code (4 consecutive failures)", "W4");
	stepup_anomalies_deinit(&an);
	test_assert_strcmp(str_c(f.kinds),
		"new_address:a:L4 unusual_hour:a:L4 bulk_read:a:L4 "
		"two_addresses:a:L8 failed_codes:b:W2");
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
	/* the first line of a mail process's connection */
	{
		const char *user, *session, *token;

		line = stepup_audit_proto_encode_hello("al\tice", "S1", "abc");
		test_assert(stepup_audit_proto_is_hello(line));
		test_assert(!stepup_audit_proto_is_hello("open\thello"));
		test_assert(stepup_audit_proto_decode_hello(line, &user, &session,
							    &token, &error) == 0);
		test_assert_strcmp(user, "al\tice");
		test_assert_strcmp(session, "S1");
		test_assert_strcmp(token, "abc");
		test_assert(stepup_audit_proto_decode_hello("hello\tu\t\tt", &user,
				&session, &token, &error) == 0 && session == NULL);
		test_assert(stepup_audit_proto_decode_hello("hello\t\tS\tt", &user,
				&session, &token, &error) < 0);
		test_assert(stepup_audit_proto_decode_hello("hello\tu\tS\t", &user,
				&session, &token, &error) < 0);
		test_assert(stepup_audit_proto_decode_hello("hello\tu\tS", &user,
				&session, &token, &error) < 0);
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

static void test_audit_fetch_lease(void)
{
	struct stepup_fetch_counter *c = stepup_fetch_counter_init(10);
	struct stepup_fetch_lease lease;
	struct stepup_fetch_release rel, out;
	unsigned int granted, release, i;
	time_t end;
	const char *line, *error;
	bool first;

	test_begin("audit: fetch_limit leases");
	/* a quarter of what is left at most, never more than asked */
	test_assert(stepup_fetch_grant(c, "a", "r", 100, 60, 64, 1000, &end,
				       &first) == 25);
	test_assert(end == 1060 && !first);
	test_assert(stepup_fetch_grant(c, "a", "r", 100, 60, 8, 1001, &end,
				       &first) == 8);
	/* 67 left: 16; then near the limit one at a time */
	test_assert(stepup_fetch_grant(c, "a", "r", 100, 60, 64, 1002, &end,
				       &first) == 16);
	granted = 0;
	for (i = 0; i < 100; i++) {
		unsigned int g = stepup_fetch_grant(c, "a", "r", 100, 60, 64,
						    1003, &end, &first);
		if (g == 0)
			break;
		test_assert(g <= 64);
		granted += g;
	}
	/* every read of the limit granted, none more */
	test_assert(granted == 100 - 25 - 8 - 16);
	test_assert(first);
	/* given back: granted again, within the window only */
	stepup_fetch_release(c, "a", "r", 8, 1060, 1004);
	test_assert(stepup_fetch_grant(c, "a", "r", 100, 60, 1, 1004, &end,
				       &first) == 1);
	test_assert(!first);
	stepup_fetch_release(c, "a", "r", 8, 1059, 1004); /* not this window */
	stepup_fetch_release(c, "a", "r", 8, 1060, 1060); /* it has ended */
	/* 7 left: one at a time */
	test_assert(stepup_fetch_grant(c, "a", "r", 100, 60, 64, 1005, &end,
				       &first) == 1);
	/* a new window after the old one */
	test_assert(stepup_fetch_grant(c, "a", "r", 100, 60, 64, 1060, &end,
				       &first) == 25 && end == 1120);
	/* all given back: the next read starts a new window */
	stepup_fetch_release(c, "b", "r", 1, 1060, 1000);
	test_assert(stepup_fetch_grant(c, "b", "r", 100, 60, 4, 1000, &end,
				       &first) == 4);
	stepup_fetch_release(c, "b", "r", 4, 1060, 1010);
	test_assert(stepup_fetch_grant(c, "b", "r", 100, 60, 1, 1020, &end,
				       &first) == 1 && end == 1080);
	stepup_fetch_counter_deinit(&c);

	/* the session's side: 1, 2, 4 ... reads asked for */
	i_zero(&lease);
	test_assert(!stepup_fetch_lease_take(&lease, 100, 60, 1000));
	test_assert(stepup_fetch_lease_want(&lease, 1000, &release) == 1);
	test_assert(release == 0);
	stepup_fetch_lease_set(&lease, 100, 60, 1, 1060, 1000);
	test_assert(!stepup_fetch_lease_take(&lease, 100, 60, 1000));
	test_assert(stepup_fetch_lease_want(&lease, 1000, &release) == 2);
	stepup_fetch_lease_set(&lease, 100, 60, 2, 1060, 1000);
	test_assert(stepup_fetch_lease_take(&lease, 100, 60, 1000));
	test_assert(!stepup_fetch_lease_take(&lease, 100, 60, 1000));
	for (i = 0; i < 10; i++) {
		test_assert(stepup_fetch_lease_want(&lease, 1000, &release) <=
			    STEPUP_FETCH_LEASE_WANT_MAX);
		stepup_fetch_lease_set(&lease, 100, 60, 30, 1060, 1000);
	}
	test_assert(stepup_fetch_lease_want(&lease, 1000, &release) ==
		    STEPUP_FETCH_LEASE_WANT_MAX);
	test_assert(release == 29);
	/* not after the window's end (less a second), nor for other
	   limits, nor after the clock went back */
	stepup_fetch_lease_set(&lease, 100, 60, 30, 1060, 1000);
	test_assert(!stepup_fetch_lease_take(&lease, 100, 60, 1059));
	test_assert(stepup_fetch_lease_take(&lease, 100, 60, 1058));
	test_assert(!stepup_fetch_lease_take(&lease, 50, 60, 1001));
	test_assert(!stepup_fetch_lease_take(&lease, 100, 30, 1001));
	test_assert(!stepup_fetch_lease_take(&lease, 100, 60, 999));
	test_assert(stepup_fetch_lease_unused(&lease, 1001) == 28);
	test_assert(stepup_fetch_lease_unused(&lease, 1001) == 0);
	stepup_fetch_lease_set(&lease, 100, 60, 30, 1060, 1000);
	test_assert(stepup_fetch_lease_unused(&lease, 1059) == 0);

	/* the protocol */
	line = stepup_audit_proto_encode_grant(12, 1060);
	test_assert(stepup_audit_proto_decode_grant(line, &granted, &end) == 0);
	test_assert(granted == 12 && end == 1060);
	test_assert_strcmp(stepup_audit_proto_encode_grant(0, 1060), "-");
	test_assert(stepup_audit_proto_decode_grant("-", &granted, &end) == 0);
	test_assert(granted == 0);
	test_assert(stepup_audit_proto_decode_grant("+", &granted, &end) < 0);
	test_assert(stepup_audit_proto_decode_grant("+\t0\t5", &granted,
						    &end) < 0);
	i_zero(&rel);
	rel.user = "al\tice";
	rel.session = "S1";
	rel.rule = "bulk";
	rel.count = 7;
	rel.end = 1060;
	line = stepup_audit_proto_encode_release(&rel);
	test_assert(stepup_audit_proto_is_release(line));
	test_assert(!stepup_audit_proto_is_fetch(line));
	test_assert(stepup_audit_proto_decode_release(line, &out, &error) == 0);
	test_assert_strcmp(out.user, rel.user);
	test_assert_strcmp(out.session, "S1");
	test_assert_strcmp(out.rule, "bulk");
	test_assert(out.count == 7 && out.end == 1060);
	test_assert(stepup_audit_proto_decode_release(
		"release\ta\tS\tr\t0\t1060", &out, &error) < 0);
	test_assert(stepup_audit_proto_decode_release(
		"release\ta\tS\tr\t1025\t1060", &out, &error) < 0);
	test_assert(stepup_audit_proto_decode_release(
		"release\ta\tS\t\t1\t1060", &out, &error) < 0);
	test_assert(stepup_audit_proto_decode_release(
		"release\t\tS\tr\t1\t1060", &out, &error) < 0);
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
	   limit window enforce want */
	test_assert(stepup_audit_proto_decode_fetch(
		"fetch\ta\t\t\t\tM\tr\t\t\t\t0\t60\t1\t1", &out, &error) < 0);
	test_assert(stepup_audit_proto_decode_fetch(
		"fetch\ta\t\t\t\tM\tr\t\t\t\t5\t60\t2\t1", &out, &error) < 0);
	test_assert(stepup_audit_proto_decode_fetch(
		"fetch\ta\t\t\t\tM\t\t\t\t\t5\t60\t1\t1", &out, &error) < 0);
	test_assert(stepup_audit_proto_decode_fetch(
		"fetch\ta\t\t\t\tM\tr\t\t\troot\t5\t60\t1\t1", &out, &error) < 0);
	test_assert(stepup_audit_proto_decode_fetch(
		"open\ta\t\t\t\tM\tr\t\t\t\t5\t60\t1\t1", &out, &error) < 0);
	/* a lease of 0 or more than STEPUP_FETCH_LEASE_MAX, or none */
	test_assert(stepup_audit_proto_decode_fetch(
		"fetch\ta\t\t\t\tM\tr\t\t\t\t5\t60\t1\t0", &out, &error) < 0);
	test_assert(stepup_audit_proto_decode_fetch(
		"fetch\ta\t\t\t\tM\tr\t\t\t\t5\t60\t1\t1025", &out, &error) < 0);
	test_assert(stepup_audit_proto_decode_fetch(
		"fetch\ta\t\t\t\tM\tr\t\t\t\t5\t60\t1", &out, &error) < 0);
	test_assert(stepup_audit_proto_decode_fetch(
		"fetch\ta\t\t\t\tM\tr\t\t\t\t5\t60\t0\t16", &out, &error) == 0);
	test_assert(out.want == 16);
	test_assert(!out.enforce);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_audit_format,
		test_audit_chain,
		test_audit_partial_line_recovery,
		test_audit_write_out_of_space,
		test_audit_write_out_of_space_new_file,
		test_audit_write_lock_bounded,
		test_audit_concurrent_writers,
		test_audit_rotation,
		test_audit_copytruncate_window,
		test_audit_anchor,
		test_audit_refuses_symlink,
		test_audit_proto,
		test_audit_report,
		test_audit_fetch_limit,
		test_audit_fetch_lease,
		test_audit_read_aggregate,
		test_audit_proto_read,
		test_audit_anomalies,
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
