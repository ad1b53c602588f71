/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-file.h"

#include <fcntl.h>
#include <unistd.h>

const struct stepup_file_check stepup_file_check_config = {
	.uid = (uid_t)-1, .forbidden_mode = 0022,
	.mode_hint = "not writable by group or others is required: chmod go-w",
};

const struct stepup_file_check stepup_file_check_private = {
	.uid = (uid_t)-1, .forbidden_mode = 0077,
	.mode_hint = "must be readable by its owner only: chmod 0600",
};

const struct stepup_file_check stepup_file_check_secret = {
	.uid = (uid_t)-1, .forbidden_mode = 0027,
	.mode_hint = "must not be writable by group or readable by others: "
		"use 0600 or 0640",
};

static int
file_check(const char *name, const struct stat *st,
	   const struct stepup_file_check *check, const char **error_r)
{
	uid_t euid = geteuid();

	if (!S_ISREG(st->st_mode)) {
		*error_r = t_strdup_printf("%s is not a regular file", name);
		return -1;
	}
	if (check == NULL)
		return 0;
	if (check->uid == (uid_t)-1 ? (st->st_uid != 0 && st->st_uid != euid) :
	    st->st_uid != check->uid) {
		*error_r = check->uid == (uid_t)-1 ?
			t_strdup_printf("%s has owner %u: must be owned by "
					"root or uid %u", name,
					(unsigned int)st->st_uid,
					(unsigned int)euid) :
			t_strdup_printf("%s has owner %u: must be owned by "
					"uid %u", name,
					(unsigned int)st->st_uid,
					(unsigned int)check->uid);
		return -1;
	}
	if ((st->st_mode & check->forbidden_mode) != 0) {
		*error_r = t_strdup_printf("%s has mode %04o (%s)", name,
					   (unsigned int)(st->st_mode & 07777),
					   check->mode_hint);
		return -1;
	}
	return 0;
}

int stepup_file_open(int dir_fd, const char *path, int flags,
		     mode_t create_mode, const struct stepup_file_check *check,
		     const char *display, struct stat *st_r,
		     const char **error_r)
{
	const char *name = display != NULL ? display : path;
	struct stat st;
	int fd, open_errno;

	fd = openat(dir_fd, path, flags | O_NOFOLLOW | O_CLOEXEC, create_mode);
	if (fd == -1) {
		open_errno = errno;
		*error_r = t_strdup_printf("open(%s) failed: %m", name);
		errno = open_errno;
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*error_r = t_strdup_printf("fstat(%s) failed: %m", name);
		i_close_fd(&fd);
		errno = 0;
		return -1;
	}
	if (file_check(name, &st, check, error_r) < 0) {
		i_close_fd(&fd);
		errno = 0;
		return -1;
	}
	if (st_r != NULL)
		*st_r = st;
	return fd;
}
