/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-compat.h"
#include "str.h"
#include "hex-binary.h"
#include "sha2.h"
#include "audit.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

/* The longest line the writer looks back over to find the last hash. */
#define AUDIT_TAIL_MAX (256 * 1024)
#define AUDIT_HASH_KEY ",\"hash\":\""
#define AUDIT_HASH_HEXLEN (SHA256_RESULTLEN * 2)

struct stepup_audit {
	char *path;
	int fd;
};

int stepup_audit_open(const char *path, struct stepup_audit **audit_r,
		      const char **error_r)
{
	struct stepup_audit *audit;
	struct stat st;
	int fd;

	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		  0640);
	if (fd == -1) {
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*error_r = t_strdup_printf("fstat(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*error_r = t_strdup_printf("%s is not a regular file", path);
		i_close_fd(&fd);
		return -1;
	}
	audit = i_new(struct stepup_audit, 1);
	audit->path = i_strdup(path);
	audit->fd = fd;
	*audit_r = audit;
	return 0;
}

void stepup_audit_close(struct stepup_audit **_audit)
{
	struct stepup_audit *audit = *_audit;

	if (audit == NULL)
		return;
	*_audit = NULL;
	i_close_fd(&audit->fd);
	i_free(audit->path);
	i_free(audit);
}

static void json_add(string_t *str, const char *key, const char *value)
{
	if (str_len(str) > 1)
		str_append_c(str, ',');
	str_printfa(str, "\"%s\":", key);
	if (value == NULL)
		str_append(str, "null");
	else {
		str_append_c(str, '"');
		json_append_escaped(str, value);
		str_append_c(str, '"');
	}
}

static const char *format_ts(const struct timeval *now)
{
	struct tm *tm;
	time_t secs = now->tv_sec;
	char buf[32];

	tm = gmtime(&secs);
	if (tm == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S",
				   tm) == 0)
		i_unreached();
	return t_strdup_printf("%s.%03ldZ", buf,
			       (long)(now->tv_usec / 1000));
}

static const char *audit_hash(const char *prev, const char *body, size_t len)
{
	struct sha256_ctx ctx;
	unsigned char digest[SHA256_RESULTLEN];

	sha256_init(&ctx);
	sha256_loop(&ctx, prev, strlen(prev));
	sha256_loop(&ctx, body, len);
	sha256_result(&ctx, digest);
	return binary_to_hex(digest, sizeof(digest));
}

const char *stepup_audit_format(const struct stepup_audit_record *rec,
				const struct timeval *now, const char *prev,
				const char **hash_r)
{
	string_t *str = t_str_new(256);
	const char *hash;

	str_append_c(str, '{');
	json_add(str, "ts", format_ts(now));
	json_add(str, "event", rec->event);
	json_add(str, "user", rec->user);
	json_add(str, "session", rec->session);
	json_add(str, "service", rec->service);
	json_add(str, "ip", rec->ip);
	json_add(str, "mailbox", rec->mailbox);
	json_add(str, "rule", rec->rule);
	json_add(str, "decision", rec->decision);
	json_add(str, "reason", rec->reason);
	json_add(str, "auth", rec->auth);
	json_add(str, "prev", prev);
	str_append_c(str, '}');

	hash = audit_hash(prev, str_c(str), str_len(str));
	str_truncate(str, str_len(str) - 1);
	str_printfa(str, AUDIT_HASH_KEY "%s\"}", hash);
	*hash_r = hash;
	return str_c(str);
}

/* Find the hash of the last complete line in data. */
static const char *
audit_last_hash(const char *data, size_t size)
{
	const char *end, *start, *p;

	/* ignore a partial last line (a writer died mid-line) */
	end = data + size;
	while (end > data && end[-1] != '\n')
		end--;
	if (end == data)
		return NULL;
	end--;
	start = end;
	while (start > data && start[-1] != '\n')
		start--;
	if ((size_t)(end - start) < strlen(AUDIT_HASH_KEY) +
	    AUDIT_HASH_HEXLEN + 2)
		return NULL;
	p = end - 2 - AUDIT_HASH_HEXLEN - strlen(AUDIT_HASH_KEY);
	if (strncmp(p, AUDIT_HASH_KEY, strlen(AUDIT_HASH_KEY)) != 0)
		return NULL;
	return t_strndup(p + strlen(AUDIT_HASH_KEY), AUDIT_HASH_HEXLEN);
}

static int
audit_read_prev(struct stepup_audit *audit, const char **prev_r,
		bool *need_newline_r, const char **error_r)
{
	struct stat st;
	size_t len;
	off_t offset;
	char *buf;
	ssize_t ret;

	*prev_r = STEPUP_AUDIT_GENESIS;
	*need_newline_r = FALSE;
	if (fstat(audit->fd, &st) < 0) {
		*error_r = t_strdup_printf("fstat(%s) failed: %m",
					   audit->path);
		return -1;
	}
	if (st.st_size == 0)
		return 0;
	len = st.st_size < AUDIT_TAIL_MAX ? (size_t)st.st_size :
		AUDIT_TAIL_MAX;
	offset = st.st_size - len;
	buf = t_malloc_no0(len);
	ret = pread(audit->fd, buf, len, offset);
	if (ret < 0 || (size_t)ret != len) {
		*error_r = t_strdup_printf("pread(%s) failed: %m",
					   audit->path);
		return -1;
	}
	*need_newline_r = buf[len - 1] != '\n';
	*prev_r = audit_last_hash(buf, len);
	if (*prev_r == NULL) {
		/* The last line is not ours: still chain, to a marker that
		   verification reports as a break at that point. */
		*prev_r = STEPUP_AUDIT_GENESIS;
	}
	return 0;
}

int stepup_audit_write(struct stepup_audit *audit,
		       const struct stepup_audit_record *rec,
		       const struct timeval *now, const char **error_r)
{
	const char *prev, *line, *hash;
	bool need_newline;
	string_t *out;
	ssize_t ret;
	int result = 0;

	if (flock(audit->fd, LOCK_EX) < 0) {
		*error_r = t_strdup_printf("flock(%s) failed: %m",
					   audit->path);
		return -1;
	}
	if (audit_read_prev(audit, &prev, &need_newline, error_r) < 0)
		result = -1;
	else {
		line = stepup_audit_format(rec, now, prev, &hash);
		out = t_str_new(strlen(line) + 2);
		if (need_newline)
			str_append_c(out, '\n');
		str_append(out, line);
		str_append_c(out, '\n');
		ret = write(audit->fd, str_data(out), str_len(out));
		if (ret < 0 || (size_t)ret != str_len(out)) {
			*error_r = t_strdup_printf("write(%s) failed: %m",
						   audit->path);
			result = -1;
		}
	}
	if (flock(audit->fd, LOCK_UN) < 0 && result == 0) {
		*error_r = t_strdup_printf("flock(%s, unlock) failed: %m",
					   audit->path);
		result = -1;
	}
	return result;
}

static bool ends_with(const char *str, const char *suffix)
{
	size_t len = strlen(str), slen = strlen(suffix);

	return len >= slen && strcmp(str + len - slen, suffix) == 0;
}

int stepup_audit_verify_buffer(const char *buf, size_t size,
			       unsigned int *records_r, const char **error_r)
{
	const char *prev = STEPUP_AUDIT_GENESIS, *line, *end, *p, *hash;
	const char *body, *prev_field;
	size_t len, keylen = strlen(AUDIT_HASH_KEY);
	unsigned int lineno = 0;

	*records_r = 0;
	for (line = buf; line < buf + size; line = end + 1) {
		lineno++;
		end = memchr(line, '\n', buf + size - line);
		if (end == NULL) {
			*error_r = t_strdup_printf(
				"line %u: incomplete record", lineno);
			return -1;
		}
		len = end - line;
		if (len < keylen + AUDIT_HASH_HEXLEN + 3 ||
		    line[len - 1] != '}' || line[len - 2] != '"') {
			*error_r = t_strdup_printf(
				"line %u: not an audit record", lineno);
			return -1;
		}
		p = line + len - 2 - AUDIT_HASH_HEXLEN - keylen;
		if (strncmp(p, AUDIT_HASH_KEY, keylen) != 0) {
			*error_r = t_strdup_printf(
				"line %u: record has no hash", lineno);
			return -1;
		}
		hash = t_strndup(p + keylen, AUDIT_HASH_HEXLEN);
		body = t_strconcat(t_strdup_until(line, p), "}", NULL);
		prev_field = t_strdup_printf(",\"prev\":\"%s\"}", prev);
		if (!ends_with(body, prev_field)) {
			*error_r = t_strdup_printf(
				"line %u: chain broken (a record before it "
				"was removed or changed)", lineno);
			return -1;
		}
		if (strcmp(audit_hash(prev, body, strlen(body)), hash) != 0) {
			*error_r = t_strdup_printf(
				"line %u: hash mismatch (the record was "
				"changed)", lineno);
			return -1;
		}
		prev = hash;
		(*records_r)++;
	}
	return 0;
}
