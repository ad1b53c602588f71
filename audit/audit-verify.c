/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-compat.h"
#include "istream.h"
#include "stepup-audit.h"
#include "audit-verify.h"

#include <fcntl.h>
#include <unistd.h>

#define HASH_KEY ",\"hash\":\""
#define PREV_KEY ",\"prev\":\""
#define EVENT_START_KEY ",\"event\":\"" STEPUP_AUDIT_EVENT_START "\","
#define HEXLEN 64
/* the longest record the reader accepts (the writers' records are far
   shorter: a 4 KiB folder name, escaped, and a bounded Message-ID) */
#define AUDIT_LINE_MAX (1024 * 1024)
/* how far back "anchor" looks for the last record */
#define AUDIT_TAIL_MAX (256 * 1024)

struct stepup_audit_verify {
	char prev[HEXLEN + 1];
	char *anchor, *anchor_at;
	char *expect, *expect_what;
	bool expect_found;

	char *file, *prev_file;
	unsigned int file_index, lineno, records;
	bool failed, from_genesis;
	char *error;

	/* the records a start record repeats (copytruncate) */
	unsigned int carry_left;
	enum {
		CARRY_RECORDS,	/* oldest file: they are its records */
		CARRY_SEEN,	/* the previous file has them all */
		CARRY_SEEK,	/* looking for the previous file's last */
		CARRY_NEW,	/* past it: the copy had missed these */
	} carry_mode;
	bool carry_first;
	char boundary[HEXLEN + 1], start_hash[HEXLEN + 1];
	char start_link[HEXLEN + 1];
};

struct stepup_audit_verify *stepup_audit_verify_init(const char *anchor)
{
	struct stepup_audit_verify *verify;

	verify = i_new(struct stepup_audit_verify, 1);
	i_assert(strlen(STEPUP_AUDIT_GENESIS) == HEXLEN);
	memcpy(verify->prev, STEPUP_AUDIT_GENESIS, HEXLEN + 1);
	verify->anchor = i_strdup(anchor);
	return verify;
}

void stepup_audit_verify_deinit(struct stepup_audit_verify **_verify)
{
	struct stepup_audit_verify *verify = *_verify;

	*_verify = NULL;
	i_free(verify->anchor);
	i_free(verify->anchor_at);
	i_free(verify->expect);
	i_free(verify->expect_what);
	i_free(verify->file);
	i_free(verify->prev_file);
	i_free(verify->error);
	i_free(verify);
}

void stepup_audit_verify_next_file(struct stepup_audit_verify *verify,
				   const char *name)
{
	i_free(verify->prev_file);
	verify->prev_file = verify->file;
	verify->file = i_strdup(name);
	verify->file_index++;
	verify->lineno = 0;
}

static const char *where(const struct stepup_audit_verify *verify)
{
	if (verify->file == NULL)
		return t_strdup_printf("line %u", verify->lineno);
	return t_strdup_printf("%s line %u", verify->file, verify->lineno);
}

static void verify_fail(struct stepup_audit_verify *verify, const char *what,
			const char **error_r)
{
	*error_r = t_strdup_printf("%s: %s", where(verify), what);
	if (!verify->failed) {
		verify->failed = TRUE;
		verify->error = i_strdup(*error_r);
	}
}

/* Split a line into its body (up to ,"hash":) and its hash. */
static bool split_line(const char *line, size_t len, size_t *body_len_r,
		       const char **hash_r)
{
	size_t keylen = strlen(HASH_KEY);
	const char *p;

	if (len < keylen + HEXLEN + 3 || line[len - 1] != '}' ||
	    line[len - 2] != '"')
		return FALSE;
	p = line + len - 2 - HEXLEN - keylen;
	if (memcmp(p, HASH_KEY, keylen) != 0)
		return FALSE;
	*body_len_r = p - line;
	*hash_r = p + keylen;
	return TRUE;
}

/* the record's own prev (the last field of the body) */
static const char *body_prev(const char *body, size_t len)
{
	size_t keylen = strlen(PREV_KEY);

	if (len < keylen + HEXLEN + 1 || body[len - 1] != '"' ||
	    memcmp(body + len - 1 - HEXLEN - keylen, PREV_KEY, keylen) != 0)
		return NULL;
	return body + len - 1 - HEXLEN;
}

/* a start record: the event follows the ts, which holds no quote */
static bool body_is_start(const char *body, size_t len)
{
	const char *p, *end = body + len;

	if (len < 7 || memcmp(body, "{\"ts\":\"", 7) != 0)
		return FALSE;
	p = memchr(body + 7, '"', len - 7);
	if (p == NULL || p + 1 + strlen(EVENT_START_KEY) > end)
		return FALSE;
	return memcmp(p + 1, EVENT_START_KEY, strlen(EVENT_START_KEY)) == 0;
}

/* the number of records a start record repeats (its count) */
static unsigned int body_carried(const char *body, size_t len)
{
	const char *key = ",\"count\":", *p;
	unsigned int n = 0;

	p = strstr(t_strndup(body, len), key);
	if (p == NULL)
		return 0;
	for (p += strlen(key); *p >= '0' && *p <= '9' && n < 100000; p++)
		n = n * 10 + (*p - '0');
	return n;
}

static const char *first_line_problem(struct stepup_audit_verify *verify,
				      const char *rec_prev, bool start,
				      unsigned int carried)
{
	bool genesis = memcmp(rec_prev, STEPUP_AUDIT_GENESIS, HEXLEN) == 0;

	if (verify->file_index <= 1) {
		/* the oldest file given: it may continue one not given */
		if (genesis) {
			verify->from_genesis = TRUE;
			return NULL;
		}
		return start ? NULL : "the file does not begin with its start "
			"record (records were removed from its start)";
	}
	if (memcmp(rec_prev, verify->prev, HEXLEN) == 0)
		return NULL;
	if (!start) {
		return "the file does not begin with its start record "
			"(records were removed from its start)";
	}
	if (carried > 0)
		return NULL;	/* the repeated records may continue it */
	return t_strdup_printf("does not continue %s: a file between them is "
		"missing, or records were removed from the end of %s",
		verify->prev_file, verify->prev_file);
}

/* One of the records a start record repeats: 1 if the chain has it
   already, 0 if it is new to the chain, -1 (problem_r) if broken. */
static int verify_carried(struct stepup_audit_verify *verify,
			  const char *hash, const char *rec_prev,
			  const char **problem_r)
{
	int ret = 1;

	if (!verify->carry_first &&
	    memcmp(rec_prev, verify->prev, HEXLEN) != 0) {
		*problem_r = "chain broken in the records the start record "
			"repeats";
		return -1;
	}
	switch (verify->carry_mode) {
	case CARRY_RECORDS:
	case CARRY_NEW:
		ret = 0;
		break;
	case CARRY_SEEN:
		break;
	case CARRY_SEEK:
		if (verify->carry_first &&
		    memcmp(rec_prev, verify->boundary, HEXLEN) == 0) {
			verify->carry_mode = CARRY_NEW;
			ret = 0;
		} else if (memcmp(hash, verify->boundary, HEXLEN) == 0) {
			verify->carry_mode = CARRY_NEW;
		}
		break;
	}
	verify->carry_first = FALSE;
	return ret;
}

static const char *verify_carry_end(struct stepup_audit_verify *verify,
				    const char *hash)
{
	if (memcmp(hash, verify->start_link, HEXLEN) != 0)
		return "the start record does not link to the records it "
			"repeats";
	if (verify->carry_mode == CARRY_SEEK) {
		/* reported where the file begins */
		verify->lineno = 1;
		return t_strdup_printf("does not continue %s: a file between "
			"them is missing, or records were removed from the "
			"end of %s", verify->prev_file, verify->prev_file);
	}
	/* what follows links to the start record */
	memcpy(verify->prev, verify->start_hash, HEXLEN);
	return NULL;
}

int stepup_audit_verify_line(struct stepup_audit_verify *verify,
			     const char *line, size_t len,
			     const char **error_r)
{
	const char *hash, *rec_prev, *problem = NULL;
	size_t body_len;
	unsigned int carried = 0;
	bool start = FALSE;
	int seen = 0;

	verify->lineno++;
	if (!split_line(line, len, &body_len, &hash)) {
		verify_fail(verify, "not an audit record (no hash)", error_r);
		return -1;
	}
	rec_prev = body_prev(line, body_len);
	if (rec_prev == NULL)
		problem = "not an audit record (no prev)";
	else if (verify->carry_left > 0) {
		seen = verify_carried(verify, hash, rec_prev, &problem);
	} else if (verify->lineno == 1) {
		start = body_is_start(line, body_len);
		carried = start ? body_carried(line, body_len) : 0;
		problem = first_line_problem(verify, rec_prev, start, carried);
	} else if (memcmp(rec_prev, verify->prev, HEXLEN) != 0) {
		problem = "chain broken (a record before it was removed, "
			"moved or changed)";
	}
	if (problem == NULL &&
	    memcmp(stepup_audit_hash(t_strndup(rec_prev, HEXLEN), line,
				     body_len), hash, HEXLEN) != 0)
		problem = "hash mismatch (the record was changed)";

	if (problem == NULL && carried > 0) {
		verify->carry_left = carried;
		verify->carry_first = TRUE;
		verify->carry_mode = verify->file_index <= 1 ? CARRY_RECORDS :
			memcmp(rec_prev, verify->prev, HEXLEN) == 0 ?
			CARRY_SEEN : CARRY_SEEK;
		memcpy(verify->boundary, verify->prev, HEXLEN);
		memcpy(verify->start_hash, hash, HEXLEN);
		memcpy(verify->start_link, rec_prev, HEXLEN);
	}
	/* go on from this record either way: one change, one error */
	memcpy(verify->prev, hash, HEXLEN);
	if (!start && verify->carry_left > 0 && --verify->carry_left == 0 &&
	    problem == NULL) {
		unsigned int lineno = verify->lineno;

		problem = verify_carry_end(verify, hash);
		if (problem != NULL) {
			verify_fail(verify, problem, error_r);
			verify->lineno = lineno;
			return -1;
		}
	}
	if (verify->expect != NULL && memcmp(hash, verify->expect, HEXLEN) == 0)
		verify->expect_found = TRUE;
	if (problem != NULL) {
		verify_fail(verify, problem, error_r);
		return -1;
	}
	if (verify->failed || seen > 0)
		return seen;
	verify->records++;
	if (verify->anchor != NULL && verify->anchor_at == NULL &&
	    strlen(verify->anchor) == HEXLEN &&
	    memcmp(hash, verify->anchor, HEXLEN) == 0)
		verify->anchor_at = i_strdup(where(verify));
	return 0;
}

void stepup_audit_verify_partial(struct stepup_audit_verify *verify,
				 const char **error_r)
{
	verify->lineno++;
	verify_fail(verify, "incomplete record (the file was cut, or a "
		    "writer died mid-line)", error_r);
}

void stepup_audit_verify_expect(struct stepup_audit_verify *verify,
				const char *hash, const char *what)
{
	i_free(verify->expect);
	i_free(verify->expect_what);
	verify->expect = i_strdup(hash);
	verify->expect_what = i_strdup(what);
}

int stepup_audit_verify_finish(struct stepup_audit_verify *verify,
			       const char **error_r)
{
	if (verify->failed) {
		*error_r = t_strdup(verify->error);
		return -1;
	}
	if (verify->anchor != NULL && verify->anchor_at == NULL) {
		*error_r = t_strdup_printf("anchor %s not found: the records "
			"up to it were changed or removed (or it belongs to "
			"files not given)", verify->anchor);
		return -1;
	}
	if (verify->expect != NULL && !verify->expect_found) {
		*error_r = t_strdup_printf("%s names record %s, which is not "
			"in the log: records were removed from the end of %s",
			verify->expect_what, verify->expect,
			verify->file == NULL ? "the log" : verify->file);
		return -1;
	}
	return 0;
}

unsigned int stepup_audit_verify_records(const struct stepup_audit_verify *verify)
{
	return verify->records;
}

bool stepup_audit_verify_from_genesis(const struct stepup_audit_verify *verify)
{
	return verify->from_genesis;
}

const char *stepup_audit_verify_last_hash(const struct stepup_audit_verify *verify)
{
	return verify->prev;
}

const char *stepup_audit_verify_anchor_at(const struct stepup_audit_verify *verify)
{
	return verify->anchor_at;
}

static int
verify_stream(struct stepup_audit_verify *verify, struct istream *input,
	      stepup_audit_line_callback_t *callback, void *context,
	      const char *path, const char **error_r)
{
	const char *line, *error;
	int ret = 0;

	while (ret == 0 && (line = i_stream_read_next_line(input)) != NULL) {
		T_BEGIN {
			int lret = stepup_audit_verify_line(
				verify, line, strlen(line), &error);
			bool intact = lret >= 0;

			if (callback != NULL && lret != 1) {
				ret = callback(line, intact, path,
					       verify->lineno, context);
			}
		} T_END;
	}
	if (ret < 0)
		return 0;
	if (input->stream_errno != 0) {
		*error_r = t_strdup_printf("read(%s) failed: %s", path,
					   i_stream_get_error(input));
		return -1;
	}
	if (!input->eof) {
		/* a line longer than any record: nothing after it can be
		   read as records */
		verify->lineno++;
		verify_fail(verify, t_strdup_printf("longer than %u bytes: "
			"not an audit record", AUDIT_LINE_MAX), &error);
	} else if (i_stream_get_data_size(input) > 0) {
		stepup_audit_verify_partial(verify, &error);
	}
	return 0;
}

int stepup_audit_verify_files(struct stepup_audit_verify *verify,
			      const char *const *paths,
			      stepup_audit_line_callback_t *callback,
			      void *context, const char **error_r)
{
	struct istream *input;
	int fd, ret = 0;

	for (; ret == 0 && *paths != NULL; paths++) {
		fd = open(*paths, O_RDONLY | O_CLOEXEC);
		if (fd == -1) {
			*error_r = t_strdup_printf("open(%s) failed: %m",
						   *paths);
			return -1;
		}
		stepup_audit_verify_next_file(verify, *paths);
		input = i_stream_create_fd_autoclose(&fd, AUDIT_LINE_MAX);
		ret = verify_stream(verify, input, callback, context, *paths,
				    error_r);
		i_stream_unref(&input);
	}
	return ret;
}

int stepup_audit_verify_buffer(const char *buf, size_t size,
			       unsigned int *records_r, const char **error_r)
{
	struct stepup_audit_verify *verify = stepup_audit_verify_init(NULL);
	struct istream *input;
	int ret;

	verify->file_index = 1;
	input = i_stream_create_from_data(buf, size);
	i_stream_set_max_buffer_size(input, AUDIT_LINE_MAX);
	ret = verify_stream(verify, input, NULL, NULL, "buffer", error_r);
	i_stream_unref(&input);
	if (ret == 0)
		ret = stepup_audit_verify_finish(verify, error_r);
	*records_r = verify->records;
	stepup_audit_verify_deinit(&verify);
	return ret;
}

int stepup_audit_last_record(const char *path, const char **hash_r,
			     const char **ts_r, const char **error_r)
{
	char *buf;
	const char *end, *start, *hash;
	size_t len, body_len;
	off_t size;
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	size = lseek(fd, 0, SEEK_END);
	len = size < AUDIT_TAIL_MAX ? (size_t)size : AUDIT_TAIL_MAX;
	buf = t_malloc_no0(len + 1);
	ret = size < 0 ? -1 : pread(fd, buf, len, size - len);
	i_close_fd(&fd);
	if (ret < 0 || (size_t)ret != len) {
		*error_r = t_strdup_printf("read(%s) failed: %m", path);
		return -1;
	}
	/* the last complete line */
	end = buf + len;
	while (end > buf && end[-1] != '\n')
		end--;
	if (end == buf) {
		*error_r = t_strdup_printf("%s holds no complete record", path);
		return -1;
	}
	end--;
	for (start = end; start > buf && start[-1] != '\n'; start--) ;
	if (!split_line(start, end - start, &body_len, &hash) ||
	    !str_begins_with(t_strdup_until(start, end), "{\"ts\":\"") ||
	    memchr(start + 7, '"', end - start - 7) == NULL) {
		*error_r = t_strdup_printf("%s: its last line is not an audit "
					   "record", path);
		return -1;
	}
	*hash_r = t_strndup(hash, HEXLEN);
	*ts_r = t_strdup_until(start + 7, memchr(start + 7, '"',
						 end - start - 7));
	return 0;
}

int stepup_audit_read_head_file(const char *log_path, const char **hash_r,
				const char **error_r)
{
	const char *path = t_strconcat(log_path, ".head", NULL);
	char buf[HEXLEN + 1];
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	ret = read(fd, buf, sizeof(buf));
	i_close_fd(&fd);
	if (ret == 0)
		return 0;
	if (ret != (ssize_t)sizeof(buf) || buf[HEXLEN] != '\n') {
		*error_r = t_strdup_printf("%s: not a head file", path);
		return -1;
	}
	*hash_r = t_strndup(buf, HEXLEN);
	return 1;
}
