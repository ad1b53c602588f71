/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "hex-binary.h"
#include "sha2.h"
#include "str.h"
#include "stepup-policy.h"
#include "audit-policy.h"

#include <fcntl.h>
#include <unistd.h>
#include <sys/time.h>

/* a policy file is small; past this it is not hashed */
#define POLICY_HASH_MAX_BYTES (64 * 1024 * 1024)

/* hex SHA-256 of the file as it is now, or why not */
static const char *file_sha256(const char *path)
{
	struct sha256_ctx ctx;
	unsigned char digest[SHA256_RESULTLEN], buf[8192];
	size_t total = 0;
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return t_strdup_printf("unreadable: %m");
	sha256_init(&ctx);
	while ((ret = read(fd, buf, sizeof(buf))) > 0 &&
	       total < POLICY_HASH_MAX_BYTES) {
		sha256_loop(&ctx, buf, ret);
		total += ret;
	}
	i_close_fd(&fd);
	if (ret < 0 || total >= POLICY_HASH_MAX_BYTES)
		return "unreadable";
	sha256_result(&ctx, digest);
	return binary_to_hex(digest, sizeof(digest));
}

static const char *mode_name(const struct stepup_policy *policy)
{
	return stepup_policy_is_audit_mode(policy) ? "audit" : "enforce";
}

int stepup_audit_policy_change(struct stepup_audit *audit, const char *path,
			       const char *service,
			       const struct stepup_policy *old,
			       const struct stepup_policy *new_policy,
			       const char *error, const char **error_r)
{
	struct stepup_audit_record rec;
	struct timeval tv;
	string_t *reason = t_str_new(256);

	if (new_policy == NULL) {
		str_printfa(reason, "reload refused (the last good policy "
			    "stays): %s", t_strcut(error, '\n'));
	} else {
		str_append(reason, old == NULL ? "loaded" : "reloaded");
		if (old != NULL && strcmp(mode_name(old),
					  mode_name(new_policy)) != 0) {
			str_printfa(reason, ", mode changed from %s to %s",
				    mode_name(old), mode_name(new_policy));
		} else if (old == NULL) {
			str_printfa(reason, ", mode %s", mode_name(new_policy));
		}
	}
	str_printfa(reason, " (sha256 %s)", file_sha256(path));

	i_zero(&rec);
	rec.event = "policy";
	rec.service = service;
	rec.mailbox = path;
	rec.decision = new_policy == NULL ? "deny" : "allow";
	rec.reason = str_c(reason);
	if (gettimeofday(&tv, NULL) < 0)
		i_fatal("gettimeofday() failed: %m");
	return stepup_audit_write(audit, &rec, &tv, error_r);
}
