/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "buffer.h"
#include "hex-binary.h"
#include "hmac.h"
#include "sha2.h"
#include "randgen.h"
#include "safe-memset.h"
#include "stepup-file.h"
#include "stepup-facts.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

static int
facts_load_key(const char *path, const struct stepup_file_check *check,
	       buffer_t *key, const char **error_r)
{
	unsigned char buf[256];
	ssize_t ret;
	int fd;

	fd = stepup_file_open(AT_FDCWD, path, O_RDONLY, 0, check, NULL, NULL,
			      error_r);
	if (fd == -1)
		return -1;
	ret = read(fd, buf, sizeof(buf));
	i_close_fd(&fd);
	if (ret < STEPUP_FACTS_KEY_MIN) {
		*error_r = t_strdup_printf("%s: needs at least %u bytes", path,
					   STEPUP_FACTS_KEY_MIN);
		safe_memset(buf, 0, sizeof(buf));
		return -1;
	}
	buffer_set_used_size(key, 0);
	buffer_append(key, buf, ret);
	safe_memset(buf, 0, sizeof(buf));
	return 0;
}

int stepup_facts_load_key(const char *path, buffer_t *key,
			  const char **error_r)
{
	return facts_load_key(path, &stepup_file_check_config, key, error_r);
}

int stepup_facts_load_private_key(const char *path, buffer_t *key,
				  const char **error_r)
{
	return facts_load_key(path, &stepup_file_check_private, key, error_r);
}

/* The key is written to a temporary file and linked into place: two
   processes creating it at once (the auth process and the stepup-audit
   service) never see a file without its whole key. */
static int facts_create_key(const char *path, mode_t mode,
			    const char **error_r)
{
	const char *tmp_path;
	unsigned char key[32];
	ssize_t ret;
	int fd;

	if (access(path, F_OK) == 0)
		return 0;
	tmp_path = t_strdup_printf("%s.tmp.%s", path, dec2str(getpid()));
	i_unlink_if_exists(tmp_path);
	fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		  O_CLOEXEC, mode);
	if (fd == -1) {
		*error_r = t_strdup_printf("open(%s) failed: %m", tmp_path);
		return -1;
	}
	/* the mode it needs, whatever the umask (Dovecot's master runs with
	   0077) */
	if (fchmod(fd, mode) < 0) {
		*error_r = t_strdup_printf("fchmod(%s) failed: %m", tmp_path);
		i_close_fd(&fd);
		i_unlink(tmp_path);
		return -1;
	}
	random_fill(key, sizeof(key));
	ret = write(fd, key, sizeof(key));
	safe_memset(key, 0, sizeof(key));
	if (ret != (ssize_t)sizeof(key) || fsync(fd) < 0) {
		*error_r = t_strdup_printf("write(%s) failed: %m", tmp_path);
		i_close_fd(&fd);
		i_unlink(tmp_path);
		return -1;
	}
	i_close_fd(&fd);
	if (link(tmp_path, path) < 0) {
		if (errno == EEXIST) {
			/* another process made it first: theirs is used */
			i_unlink(tmp_path);
			return 0;
		}
		*error_r = t_strdup_printf("link(%s, %s) failed: %m",
					   tmp_path, path);
		i_unlink(tmp_path);
		return -1;
	}
	i_unlink(tmp_path);
	return 1;
}

int stepup_facts_create_key(const char *path, const char **error_r)
{
	/* the mode the mail processes' group needs */
	return facts_create_key(path, 0640, error_r);
}

static void add(struct hmac_context *ctx, const char *str)
{
	if (str == NULL)
		str = "";
	hmac_update(ctx, str, strlen(str) + 1);
}

const char *stepup_facts_sign(const buffer_t *key, const char *user,
			      const char *session, const char *level,
			      const char *mfa_time, const char *rule)
{
	struct hmac_context ctx;
	unsigned char digest[SHA256_RESULTLEN];

	hmac_init(&ctx, key->data, key->used, &hash_method_sha256);
	add(&ctx, user);
	add(&ctx, session);
	add(&ctx, level);
	add(&ctx, mfa_time);
	add(&ctx, rule);
	hmac_final(&ctx, digest);
	return binary_to_hex(digest, sizeof(digest));
}

bool stepup_facts_verify(const buffer_t *key, const char *user,
			 const char *session, const char *level,
			 const char *mfa_time, const char *rule,
			 const char *sig)
{
	const char *expected = stepup_facts_sign(key, user, session, level,
						 mfa_time, rule);

	return sig != NULL && strlen(sig) == strlen(expected) &&
		mem_equals_timing_safe(sig, expected, strlen(expected));
}

/* the facts' signature over a level no session has: the two kinds of
   value never stand for each other */
#define AUDIT_TOKEN_LEVEL "audit-token"

const char *stepup_facts_audit_key_path(const char *session_key_path)
{
	return t_strconcat(session_key_path, ".audit", NULL);
}

int stepup_facts_load_audit_key(const char *session_key_path, buffer_t *key,
				const char **error_r)
{
	const char *path = stepup_facts_audit_key_path(session_key_path);

	if (facts_create_key(path, 0600, error_r) < 0 ||
	    stepup_facts_load_private_key(path, key, error_r) < 0)
		return -1;
	return 0;
}

const char *stepup_facts_audit_token(const buffer_t *key, const char *user,
				     const char *session)
{
	return stepup_facts_sign(key, user, session == NULL ? "" : session,
				 AUDIT_TOKEN_LEVEL, "", "");
}

bool stepup_facts_verify_audit_token(const buffer_t *key, const char *user,
				     const char *session, const char *token)
{
	return stepup_facts_verify(key, user, session == NULL ? "" : session,
				   AUDIT_TOKEN_LEVEL, "", "", token);
}
