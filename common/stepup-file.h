#ifndef STEPUP_FILE_H
#define STEPUP_FILE_H

#include <sys/types.h>
#include <sys/stat.h>

/* Who may own a file and which mode bits it must not have. */
struct stepup_file_check {
	/* the owner; (uid_t)-1: root or this process's effective uid */
	uid_t uid;
	/* mode bits that must be clear, e.g. 0022 (not writable by group
	   or others), 0077 (private) */
	mode_t forbidden_mode;
	/* what to do about a wrong mode, e.g. "chmod go-w" */
	const char *mode_hint;
};

/* Configuration (the policy, the session key): owned by root or this
   process, not writable by group or others. */
extern const struct stepup_file_check stepup_file_check_config;
/* A key only its owner (root, or this process) may read: no group or
   other bits at all. */
extern const struct stepup_file_check stepup_file_check_private;
/* A secret (a key): owned by root or this process, not writable by group,
   not readable by others (0600 or 0640). */
extern const struct stepup_file_check stepup_file_check_secret;

/* Open path (relative to dir_fd; AT_FDCWD for none) with flags plus
   O_NOFOLLOW | O_CLOEXEC: never through a symlink, only a regular file,
   and if check is not NULL, only with its owner and mode. display names
   the file in messages (NULL: path). Returns the fd, or -1 with error_r
   (errno is open()'s when the open itself failed, else 0). */
int stepup_file_open(int dir_fd, const char *path, int flags,
		     mode_t create_mode, const struct stepup_file_check *check,
		     const char *display, struct stat *st_r,
		     const char **error_r);

#endif
