/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-compat.h"
#include "str.h"
#include "hex-binary.h"
#include "sha2.h"
#include "unichar.h"
#include "stepup-file.h"
#include "stepup-flock.h"
#include "stepup-audit.h"

#include <ctype.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

/* The longest line the writer looks back over to find the last hash. */
#define AUDIT_TAIL_MAX (256 * 1024)
#define AUDIT_TAIL_MIN (8 * 1024)
#define AUDIT_HASH_KEY ",\"hash\":\""
#define AUDIT_HASH_HEXLEN (SHA256_RESULTLEN * 2)

/* The head file (PATH.head) holds the hash of the last record written,
   whichever file it went to: it is the lock every writer takes, so it
   stays the same across a rotation, and a new (or truncated) file's first
   record links to it. */
#define AUDIT_HEAD_SUFFIX ".head"
/* The head file also keeps the last records written: a file emptied by
   logrotate copytruncate begins with them again (after its start record),
   so a record written between logrotate's copy and its truncate is not
   lost. */
#define AUDIT_CARRY_MAX (256 * 1024)
#define AUDIT_JOURNAL_MAX (1024 * 1024)

struct stepup_audit {
	char *path;
	int fd, head_fd;
	ino_t ino;
	dev_t dev;
	/* how long a write waits for another writer's lock */
	unsigned int lock_timeout_msecs;
};

/* PATH.head, created with the log's owner, mode 0600: whoever may open
   it may lock it, and a lock held by another user would stop every
   writer */
static int audit_open_head(const char *path, const struct stat *log_st,
			   const char **error_r)
{
	const char *head_path = t_strconcat(path, AUDIT_HEAD_SUFFIX, NULL);
	struct stat st;
	int fd;

	fd = stepup_file_open(AT_FDCWD, head_path, O_RDWR | O_CREAT, 0600,
			      NULL, NULL, &st, error_r);
	if (fd == -1)
		return -1;
	if (st.st_size == 0 && geteuid() == 0 &&
	    (st.st_uid != log_st->st_uid || st.st_gid != log_st->st_gid) &&
	    fchown(fd, log_st->st_uid, log_st->st_gid) < 0) {
		*error_r = t_strdup_printf("fchown(%s) failed: %m", head_path);
		i_close_fd(&fd);
		return -1;
	}
	if (st.st_size == 0 &&
	    fchmod(fd, 0600) < 0) {
		*error_r = t_strdup_printf("fchmod(%s) failed: %m", head_path);
		i_close_fd(&fd);
		return -1;
	}
	return fd;
}

#define AUDIT_FIELD(name) \
	{ #name, offsetof(struct stepup_audit_record, name) }
const struct stepup_audit_field stepup_audit_fields[STEPUP_AUDIT_FIELD_COUNT] = {
	AUDIT_FIELD(event), AUDIT_FIELD(user), AUDIT_FIELD(session),
	AUDIT_FIELD(service), AUDIT_FIELD(ip), AUDIT_FIELD(mailbox),
	AUDIT_FIELD(rule), AUDIT_FIELD(decision), AUDIT_FIELD(reason),
	AUDIT_FIELD(auth),
};

int stepup_audit_open(const char *path, struct stepup_audit **audit_r,
		      const char **error_r)
{
	struct stepup_audit *audit;
	struct stat st;
	int fd, head_fd;

	fd = stepup_file_open(AT_FDCWD, path, O_RDWR | O_APPEND | O_CREAT,
			      0600, NULL, NULL, &st, error_r);
	if (fd == -1)
		return -1;
	head_fd = audit_open_head(path, &st, error_r);
	if (head_fd == -1) {
		i_close_fd(&fd);
		return -1;
	}
	audit = i_new(struct stepup_audit, 1);
	audit->path = i_strdup(path);
	audit->fd = fd;
	audit->head_fd = head_fd;
	audit->ino = st.st_ino;
	audit->dev = st.st_dev;
	audit->lock_timeout_msecs = STEPUP_AUDIT_DEFAULT_LOCK_TIMEOUT_MSECS;
	*audit_r = audit;
	return 0;
}

void stepup_audit_set_lock_timeout(struct stepup_audit *audit,
				   unsigned int msecs)
{
	audit->lock_timeout_msecs = msecs;
}

void stepup_audit_close(struct stepup_audit **_audit)
{
	struct stepup_audit *audit = *_audit;

	if (audit == NULL)
		return;
	*_audit = NULL;
	i_close_fd(&audit->fd);
	i_close_fd(&audit->head_fd);
	i_free(audit->path);
	i_free(audit);
}

/* A JSON string's contents that line readers cannot split: valid UTF-8
   (invalid bytes become U+FFFD), with the C1 controls (U+0085 among them)
   and the line and paragraph separators U+2028 and U+2029 escaped, as
   json_append_escaped() escapes the C0 controls. */
static void json_append_escaped_line_safe(string_t *str, const char *value)
{
	const unsigned char *p = (const unsigned char *)value;
	size_t len = strlen(value), i = 0, start = 0;
	unichar_t chr;
	int n;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		json_append_escaped_data(str, p + start, i - start);
		n = uni_utf8_get_char_n(p + i, len - i, &chr);
		if (n <= 0) {
			str_append(str, "\\ufffd");
			n = 1;
		} else if ((chr >= 0x80 && chr <= 0x9f) ||
			   chr == 0x2028 || chr == 0x2029) {
			str_printfa(str, "\\u%04x", (unsigned int)chr);
		} else {
			str_append_data(str, p + i, n);
		}
		i += n;
		start = i;
	}
	json_append_escaped_data(str, p + start, i - start);
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
		json_append_escaped_line_safe(str, value);
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

const char *stepup_audit_hash(const char *prev, const char *body, size_t len)
{
	struct sha256_ctx ctx;
	unsigned char digest[SHA256_RESULTLEN];

	/* body is the record up to (not including) its closing brace */
	sha256_init(&ctx);
	sha256_loop(&ctx, prev, strlen(prev));
	sha256_loop(&ctx, body, len);
	sha256_loop(&ctx, "}", 1);
	sha256_result(&ctx, digest);
	return binary_to_hex(digest, sizeof(digest));
}

const char *stepup_audit_format(const struct stepup_audit_record *rec,
				const struct timeval *now, const char *prev,
				const char **hash_r)
{
	string_t *str = t_str_new(256);
	const struct stepup_audit_field *field;
	const char *hash;

	str_append_c(str, '{');
	json_add(str, "ts", format_ts(now));
	for (field = stepup_audit_fields;
	     field < stepup_audit_fields + STEPUP_AUDIT_FIELD_COUNT; field++)
		json_add(str, field->name, stepup_audit_field_get(rec, field));
	if (rec->by != NULL)
		json_add(str, "by", rec->by);
	if (rec->uid != 0)
		str_printfa(str, ",\"uid\":%u", rec->uid);
	if (rec->message_id != NULL)
		json_add(str, "message_id", rec->message_id);
	if (rec->count != 0)
		str_printfa(str, ",\"count\":%u", rec->count);
	if (rec->uids != NULL)
		json_add(str, "uids", rec->uids);
	if (null_strcmp(rec->event, "read") == 0)
		str_printfa(str, ",\"size\":%"PRIuUOFF_T, rec->size);
	json_add(str, "prev", prev);

	hash = stepup_audit_hash(prev, str_c(str), str_len(str));
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

/* the hash in the head file, or the genesis if there is none */
/* The head file: the last hash (a line of 65 bytes), then a journal of
   the records written since the last new file, each as written; cut to
   its last AUDIT_CARRY_MAX bytes when it grows past AUDIT_JOURNAL_MAX. */
#define AUDIT_HEAD_HASH_SIZE (AUDIT_HASH_HEXLEN + 1)

static const char *audit_read_head(struct stepup_audit *audit)
{
	char buf[AUDIT_HEAD_HASH_SIZE];
	ssize_t ret;
	size_t i;

	ret = pread(audit->head_fd, buf, sizeof(buf), 0);
	if (ret != (ssize_t)sizeof(buf) || buf[AUDIT_HASH_HEXLEN] != '\n')
		return STEPUP_AUDIT_GENESIS;
	for (i = 0; i < AUDIT_HASH_HEXLEN; i++) {
		if (!i_isxdigit(buf[i]))
			return STEPUP_AUDIT_GENESIS;
	}
	return t_strndup(buf, AUDIT_HASH_HEXLEN);
}

/* the journal's last whole lines, at most AUDIT_CARRY_MAX bytes */
static const char *audit_read_journal(struct stepup_audit *audit,
				      off_t head_size)
{
	off_t start;
	size_t len;
	char *buf, *p;
	ssize_t ret;

	if (head_size <= AUDIT_HEAD_HASH_SIZE)
		return "";
	start = head_size - AUDIT_CARRY_MAX < AUDIT_HEAD_HASH_SIZE ?
		AUDIT_HEAD_HASH_SIZE : head_size - AUDIT_CARRY_MAX;
	len = head_size - start;
	buf = t_malloc_no0(len + 1);
	ret = pread(audit->head_fd, buf, len, start);
	if (ret < 0)
		return "";
	len = ret;
	buf[len] = '\0';
	/* from the first whole line to the last one */
	p = buf;
	if (start > AUDIT_HEAD_HASH_SIZE) {
		p = strchr(buf, '\n');
		p = p == NULL ? buf + len : p + 1;
	}
	while (len > (size_t)(p - buf) && buf[len - 1] != '\n')
		buf[--len] = '\0';
	return p;
}

/* the new last hash, and line appended to the journal (emptied first if
   reset: a new file began) */
static int audit_write_head(struct stepup_audit *audit, const char *hash,
			    const char *line, bool reset, const char **error_r)
{
	const char *hash_line = t_strconcat(hash, "\n", NULL);
	const char *data = t_strconcat(line, "\n", NULL), *tail;
	struct stat st;
	off_t size;

	if (pwrite(audit->head_fd, hash_line, AUDIT_HEAD_HASH_SIZE, 0) !=
	    AUDIT_HEAD_HASH_SIZE || fstat(audit->head_fd, &st) < 0)
		goto failed;
	size = reset || st.st_size < AUDIT_HEAD_HASH_SIZE ?
		AUDIT_HEAD_HASH_SIZE : st.st_size;
	if (size + (off_t)strlen(data) > AUDIT_JOURNAL_MAX) {
		/* keep what a copytruncate could need */
		tail = audit_read_journal(audit, size);
		data = t_strconcat(tail, data, NULL);
		size = AUDIT_HEAD_HASH_SIZE;
	}
	if (pwrite(audit->head_fd, data, strlen(data), size) !=
	    (ssize_t)strlen(data) ||
	    ftruncate(audit->head_fd, size + strlen(data)) < 0)
		goto failed;
	return 0;
failed:
	*error_r = t_strdup_printf("write(%s" AUDIT_HEAD_SUFFIX ") failed: %m",
				   audit->path);
	return -1;
}

/* Follow a rotation (logrotate create): the path names another file now.
   While there is no new file (between logrotate's rename and create), or
   it cannot be opened yet (before logrotate's chown/chmod), the record
   still goes to the rotated one, and the chain goes on through the
   head. */
static int audit_follow(struct stepup_audit *audit, bool *followed_r,
			const char **error_r)
{
	struct stat st;
	int fd;

	*followed_r = FALSE;
	if (stat(audit->path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = t_strdup_printf("stat(%s) failed: %m", audit->path);
		return -1;
	}
	if (st.st_ino == audit->ino && st.st_dev == audit->dev)
		return 0;
	fd = stepup_file_open(AT_FDCWD, audit->path,
			      O_RDWR | O_APPEND, 0, NULL, NULL,
			      &st, error_r);
	if (fd == -1) {
		/* logrotate creates the new file before it gives it its
		   owner and mode: until then the record goes to the rotated
		   file, and the chain goes on through the head */
		return 0;
	}
	i_close_fd(&audit->fd);
	audit->fd = fd;
	audit->ino = st.st_ino;
	audit->dev = st.st_dev;
	*followed_r = TRUE;
	return 0;
}

/* The hash to link to. An empty file (new, or truncated by logrotate
   copytruncate) links to the head and begins with a start record. */
static int
audit_read_prev(struct stepup_audit *audit, const char **prev_r,
		bool *need_newline_r, bool *start_r, const char **error_r)
{
	struct stat st;
	size_t len, want;
	off_t offset;
	char *buf;
	ssize_t ret;

	*prev_r = STEPUP_AUDIT_GENESIS;
	*need_newline_r = FALSE;
	*start_r = FALSE;
	if (fstat(audit->fd, &st) < 0) {
		*error_r = t_strdup_printf("fstat(%s) failed: %m",
					   audit->path);
		return -1;
	}
	if (st.st_size == 0) {
		*start_r = TRUE;
		return 0;
	}
	/* a record is short: look at the last few KiB first */
	for (want = AUDIT_TAIL_MIN;; want = AUDIT_TAIL_MAX) {
		len = st.st_size < (off_t)want ? (size_t)st.st_size : want;
		offset = st.st_size - len;
		buf = t_malloc_no0(len);
		ret = pread(audit->fd, buf, len, offset);
		if (ret < 0 || (size_t)ret != len) {
			*error_r = t_strdup_printf("pread(%s) failed: %m",
						   audit->path);
			return -1;
		}
		*prev_r = audit_last_hash(buf, len);
		if (*prev_r != NULL || want == AUDIT_TAIL_MAX ||
		    len == (size_t)st.st_size)
			break;
	}
	*need_newline_r = buf[len - 1] != '\n';
	if (*prev_r == NULL) {
		/* The last line is not ours: still chain, to a marker that
		   verification reports as a break at that point. */
		*prev_r = STEPUP_AUDIT_GENESIS;
	}
	return 0;
}

static const char *
audit_format_start(const struct timeval *now, const char *prev,
		   unsigned int carried, const char **hash_r)
{
	struct stepup_audit_record start = {
		.event = STEPUP_AUDIT_EVENT_START,
		.reason = strcmp(prev, STEPUP_AUDIT_GENESIS) == 0 ?
			"audit log started" : carried == 0 ?
			"new file: continues the previous one" :
			"new file: continues the previous one, repeats its "
			"last records",
		.count = carried,
	};

	return stepup_audit_format(&start, now, prev, hash_r);
}

static unsigned int count_lines(const char *lines)
{
	unsigned int count = 0;

	for (; *lines != '\0'; lines++) {
		if (*lines == '\n')
			count++;
	}
	return count;
}

static int
audit_write_locked(struct stepup_audit *audit,
		   const struct stepup_audit_record *rec,
		   const struct timeval *now, const char **error_r)
{
	const char *prev, *line, *hash, *carry;
	bool need_newline, start, followed;
	struct stat st;
	off_t log_size;
	string_t *out;
	ssize_t ret;

	bool retried = FALSE;

retry:
	if (audit_follow(audit, &followed, error_r) < 0 ||
	    audit_read_prev(audit, &prev, &need_newline, &start, error_r) < 0)
		return -1;
	if (fstat(audit->fd, &st) < 0) {
		*error_r = t_strdup_printf("fstat(%s) failed: %m",
					   audit->path);
		return -1;
	}
	log_size = st.st_size;
	out = t_str_new(1024);
	if (need_newline)
		str_append_c(out, '\n');
	if (start) {
		/* a new file links to the head; one this writer did not see
		   appear (copytruncate emptied it, or another writer's
		   rotation) repeats the journal, whose last records the copy
		   may have missed: verify skips those it already saw */
		prev = audit_read_head(audit);
		if (followed || fstat(audit->head_fd, &st) < 0)
			carry = "";
		else
			carry = audit_read_journal(audit, st.st_size);
		str_append(out, audit_format_start(now, prev,
						   count_lines(carry), &prev));
		str_append_c(out, '\n');
		str_append(out, carry);
	}
	line = stepup_audit_format(rec, now, prev, &hash);
	str_append(out, line);
	str_append_c(out, '\n');
	ret = write(audit->fd, str_data(out), str_len(out));
	if (ret < 0 || (size_t)ret != str_len(out)) {
		if (ret >= 0) {
			/* a short write sets no errno: it was out of space
			   (or over the file size limit) */
			errno = ENOSPC;
		}
		*error_r = t_strdup_printf("write(%s) failed: %m",
					   audit->path);
		/* no partial line: cut back to the last complete record
		   (still under the lock) */
		if (ret != 0 && ftruncate(audit->fd, log_size) < 0) {
			*error_r = t_strdup_printf("%s, and ftruncate(%s) to "
				"the last complete record failed: %m",
				*error_r, audit->path);
		}
		return -1;
	}
	if (!start && !retried &&
	    lseek(audit->fd, 0, SEEK_CUR) == (off_t)str_len(out)) {
		/* logrotate copytruncate emptied the file between our look
		   at its end and our write: ours is all it holds, so it is
		   written again as the file's beginning, with its start
		   record (the lock keeps the other writers out) */
		if (ftruncate(audit->fd, 0) < 0) {
			*error_r = t_strdup_printf("ftruncate(%s) failed: %m",
						   audit->path);
			return -1;
		}
		retried = TRUE;
		goto retry;
	}
	return audit_write_head(audit, hash, line, start, error_r);
}

int stepup_audit_write(struct stepup_audit *audit,
		       const struct stepup_audit_record *rec,
		       const struct timeval *now, const char **error_r)
{
	int result;

	result = stepup_flock_bounded(audit->head_fd,
				      audit->lock_timeout_msecs);
	if (result < 0) {
		*error_r = t_strdup_printf("flock(%s" AUDIT_HEAD_SUFFIX
					   ") failed: %m", audit->path);
		return -1;
	}
	if (result == 0) {
		*error_r = t_strdup_printf("audit log locked: another process "
			"holds the lock on %s" AUDIT_HEAD_SUFFIX " (waited %u ms)",
			audit->path, audit->lock_timeout_msecs);
		return -1;
	}
	result = audit_write_locked(audit, rec, now, error_r);
	if (flock(audit->head_fd, LOCK_UN) < 0 && result == 0) {
		*error_r = t_strdup_printf("flock(%s" AUDIT_HEAD_SUFFIX
					   ", unlock) failed: %m", audit->path);
		result = -1;
	}
	return result;
}
