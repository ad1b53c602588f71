/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The embedded backend: one small file per user in the state directory.

   - names: hex(SHA-256(user)) (path-safe, fixed length, whatever the user
     name); the record also holds the name and is refused for another user;
   - locking: flock() on a persistent USER.lock, never removed, so a process
     that dies never leaves a lock behind; waited for at most the state's
     lock timeout (state-lock.c), then the operation fails;
   - writes: USER.tmp created with O_EXCL|O_NOFOLLOW (a stale one is
     removed first, under the lock), written, fsync()ed, renamed over the
     record, then the directory is fsync()ed: a crash at any point leaves
     the old record or the new one, never a torn one;
   - every file is opened relative to the directory's descriptor with
     O_NOFOLLOW and must be a regular file owned by the directory's owner
     (the auth process's user) with no group or other permissions; the
     directory must not be writable by group or others. */

#include "lib.h"
#include "str.h"
#include "hex-binary.h"
#include "sha2.h"
#include "randgen.h"
#include "safe-memset.h"
#include "stepup-file.h"
#include "stepup-flock.h"
#include "state-private.h"

#include <stdio.h>
#include <pwd.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#define STATE_FILE_MAX (1024 * 1024)
#define STATE_KEY_FILE "reconnect.key"
#define STATE_KEY_SIZE 32

struct state_file {
	struct stepup_state state;
	char *path;
	int dir_fd;
	uid_t uid;
	unsigned char key[STATE_KEY_SIZE];
	bool have_key;
};

void (*stepup_state_fault_hook)(const char *point) = NULL;

static void fault(const char *point)
{
	if (stepup_state_fault_hook != NULL)
		stepup_state_fault_hook(point);
}

static const char *user_file(const char *user, const char *suffix)
{
	unsigned char digest[SHA256_RESULTLEN];

	sha256_get_digest(user, strlen(user), digest);
	return t_strconcat(binary_to_hex(digest, sizeof(digest)), suffix,
			   NULL);
}

/* a file of the directory, owned by the auth user, mode 0600 */
static int
state_file_open(struct state_file *fs, const char *name, int flags,
		const char **error_r)
{
	const struct stepup_file_check check = {
		.uid = fs->uid, .forbidden_mode = 0077,
		.mode_hint = "mode 0600 is required",
	};

	return stepup_file_open(fs->dir_fd, name, flags, 0600, &check,
				t_strconcat(fs->path, "/", name, NULL), NULL,
				error_r);
}

static int
state_file_lock(struct stepup_state *state, const char *user, int *lock_r,
		const char **error_r)
{
	struct state_file *fs = (struct state_file *)state;
	const char *name = user_file(user, ".lock");
	int fd, ret;

	fd = state_file_open(fs, name, O_RDWR | O_CREAT, error_r);
	if (fd == -1)
		return -1;
	ret = stepup_flock_bounded(fd, state->lock_timeout_msecs);
	if (ret <= 0) {
		*error_r = ret < 0 ?
			t_strdup_printf("flock(%s/%s) failed: %m",
					fs->path, name) :
			t_strdup_printf("the user's state is locked by another "
					"process (%s/%s, waited %u ms)",
					fs->path, name,
					state->lock_timeout_msecs);
		i_close_fd(&fd);
		return -1;
	}
	*lock_r = fd;
	return 0;
}

static void state_file_unlock(struct stepup_state *state ATTR_UNUSED,
			      int *lock)
{
	/* closing releases the flock */
	i_close_fd(lock);
}

static int
state_file_read(struct stepup_state *state, const char *user,
		string_t **text_r, const char **error_r)
{
	struct state_file *fs = (struct state_file *)state;
	const char *name = user_file(user, "");
	string_t *text;
	char buf[4096];
	ssize_t ret;
	int fd;

	fd = state_file_open(fs, name, O_RDONLY, error_r);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	text = t_str_new(1024);
	while ((ret = read(fd, buf, sizeof(buf))) > 0) {
		str_append_data(text, buf, ret);
		if (str_len(text) > STATE_FILE_MAX) {
			*error_r = t_strdup_printf("%s/%s is too large",
						   fs->path, name);
			ret = -2;
			break;
		}
	}
	safe_memset(buf, 0, sizeof(buf));
	if (ret == -1) {
		*error_r = t_strdup_printf("read(%s/%s) failed: %m",
					   fs->path, name);
	}
	i_close_fd(&fd);
	if (ret < 0) {
		safe_memset(str_c_modifiable(text), 0, str_len(text));
		return -1;
	}
	if (str_len(text) == 0) {
		*error_r = t_strdup_printf("%s/%s is empty", fs->path, name);
		return -1;
	}
	*text_r = text;
	return 1;
}

static int
state_file_write(struct stepup_state *state, const char *user,
		 const string_t *text, const char **error_r)
{
	struct state_file *fs = (struct state_file *)state;
	const char *name = user_file(user, "");
	const char *tmp = user_file(user, ".tmp");
	ssize_t ret;
	int fd;

	if (str_len(text) == 0) {
		if (unlinkat(fs->dir_fd, name, 0) < 0 && errno != ENOENT) {
			*error_r = t_strdup_printf("unlink(%s/%s) failed: %m",
						   fs->path, name);
			return -1;
		}
		if (fsync(fs->dir_fd) < 0) {
			*error_r = t_strdup_printf("fsync(%s) failed: %m",
						   fs->path);
			return -1;
		}
		return 0;
	}
	/* we hold the user's lock: any temp file is a dead writer's */
	if (unlinkat(fs->dir_fd, tmp, 0) < 0 && errno != ENOENT) {
		*error_r = t_strdup_printf("unlink(%s/%s) failed: %m",
					   fs->path, tmp);
		return -1;
	}
	fd = openat(fs->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		*error_r = t_strdup_printf("open(%s/%s) failed: %m",
					   fs->path, tmp);
		return -1;
	}
	ret = write(fd, str_data(text), str_len(text));
	if (ret < 0 || (size_t)ret != str_len(text)) {
		*error_r = t_strdup_printf("write(%s/%s) failed: %m",
					   fs->path, tmp);
		i_close_fd(&fd);
		(void)unlinkat(fs->dir_fd, tmp, 0);
		return -1;
	}
	fault("tmp-written");
	if (fsync(fd) < 0) {
		*error_r = t_strdup_printf("fsync(%s/%s) failed: %m",
					   fs->path, tmp);
		i_close_fd(&fd);
		(void)unlinkat(fs->dir_fd, tmp, 0);
		return -1;
	}
	i_close_fd(&fd);
	fault("tmp-synced");
	if (renameat(fs->dir_fd, tmp, fs->dir_fd, name) < 0) {
		*error_r = t_strdup_printf("rename(%s/%s) failed: %m",
					   fs->path, tmp);
		(void)unlinkat(fs->dir_fd, tmp, 0);
		return -1;
	}
	fault("renamed");
	if (fsync(fs->dir_fd) < 0) {
		*error_r = t_strdup_printf("fsync(%s) failed: %m", fs->path);
		return -1;
	}
	return 0;
}

static int state_file_read_key(struct state_file *fs, const char **error_r)
{
	ssize_t ret;
	int fd;

	fd = state_file_open(fs, STATE_KEY_FILE, O_RDONLY, error_r);
	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	ret = read(fd, fs->key, sizeof(fs->key));
	i_close_fd(&fd);
	if (ret != (ssize_t)sizeof(fs->key)) {
		*error_r = t_strdup_printf("%s/%s: not a %u-byte key",
					   fs->path, STATE_KEY_FILE,
					   STATE_KEY_SIZE);
		return -1;
	}
	fs->have_key = TRUE;
	return 1;
}

/* The key of reconnect grants: made on first use, 0600, owned by the
   auth user; never leaves this directory. */
static int
state_file_get_key(struct stepup_state *state, const unsigned char **key_r,
		   size_t *size_r, const char **error_r)
{
	struct state_file *fs = (struct state_file *)state;
	unsigned char key[STATE_KEY_SIZE];
	ssize_t ret;
	int fd, r;

	if (!fs->have_key) {
		r = state_file_read_key(fs, error_r);
		if (r < 0)
			return -1;
		if (r == 0) {
			random_fill(key, sizeof(key));
			fd = openat(fs->dir_fd, STATE_KEY_FILE, O_WRONLY |
				    O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				    0600);
			if (fd == -1 && errno != EEXIST) {
				*error_r = t_strdup_printf(
					"open(%s/%s) failed: %m", fs->path,
					STATE_KEY_FILE);
				return -1;
			}
			if (fd != -1) {
				ret = write(fd, key, sizeof(key));
				if (ret != (ssize_t)sizeof(key) ||
				    fsync(fd) < 0) {
					*error_r = t_strdup_printf(
						"write(%s/%s) failed: %m",
						fs->path, STATE_KEY_FILE);
					i_close_fd(&fd);
					(void)unlinkat(fs->dir_fd,
						       STATE_KEY_FILE, 0);
					return -1;
				}
				i_close_fd(&fd);
			}
			safe_memset(key, 0, sizeof(key));
			/* ours, or the one another process made first */
			r = state_file_read_key(fs, error_r);
			if (r <= 0) {
				if (r == 0)
					*error_r = "reconnect key vanished";
				return -1;
			}
		}
	}
	*key_r = fs->key;
	*size_r = sizeof(fs->key);
	return 0;
}

static void state_file_deinit(struct stepup_state *state)
{
	struct state_file *fs = (struct state_file *)state;

	safe_memset(fs->key, 0, sizeof(fs->key));
	i_close_fd(&fs->dir_fd);
	i_free(fs->path);
	i_free(fs);
}

static const struct state_backend_vfuncs state_file_vfuncs = {
	.deinit = state_file_deinit,
	.lock = state_file_lock,
	.unlock = state_file_unlock,
	.read = state_file_read,
	.write = state_file_write,
	.get_key = state_file_get_key,
};

static const char *uid_name(uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	return pw == NULL ? t_strdup_printf("uid %u", (unsigned int)uid) :
		t_strdup(pw->pw_name);
}

int stepup_state_init_dir(const char *path, struct stepup_state **state_r,
			  const char **error_r)
{
	struct state_file *fs;
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		if (errno == EACCES && stat(path, &st) == 0 &&
		    st.st_uid != geteuid()) {
			/* say whose it is and what to run */
			*error_r = t_strdup_printf("%s (%s is owned by %s, "
				"mode %04o, not by this process's user %s: "
				"chown -R %s %s)", *error_r, path,
				uid_name(st.st_uid),
				(unsigned int)(st.st_mode & 07777),
				uid_name(geteuid()), uid_name(geteuid()), path);
		}
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		*error_r = t_strdup_printf("fstat(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		*error_r = t_strdup_printf("%s is owned by %s, not by this "
			"process's user %s (the state directory belongs to "
			"Dovecot's auth process user: chown -R %s %s)", path,
			uid_name(st.st_uid), uid_name(geteuid()),
			uid_name(geteuid()), path);
		i_close_fd(&fd);
		return -1;
	}
	if ((st.st_mode & 0077) != 0) {
		*error_r = t_strdup_printf("%s has mode %04o: must be 0700",
			path, (unsigned int)(st.st_mode & 07777));
		i_close_fd(&fd);
		return -1;
	}
	fs = i_new(struct state_file, 1);
	fs->state.v = &state_file_vfuncs;
	fs->state.lock_timeout_msecs = STEPUP_STATE_DEFAULT_LOCK_TIMEOUT_MSECS;
	fs->path = i_strdup(path);
	fs->dir_fd = fd;
	fs->uid = st.st_uid;
	*state_r = &fs->state;
	return 0;
}

void stepup_state_deinit(struct stepup_state **_state)
{
	struct stepup_state *state = *_state;

	if (state == NULL)
		return;
	*_state = NULL;
	state->v->deinit(state);
}
