/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Loading the policy file, accessors and the reload-aware cache. */

#include "lib.h"
#include "str.h"
#include "stepup-file.h"
#include "stepup-event.h"
#include "policy-schema.h"

#include <fcntl.h>
#ifdef __GLIBC__
#  include <malloc.h>
#endif
#include <unistd.h>
#include <sys/stat.h>

/* No policy is ever this large. */
#define POLICY_MAX_SIZE (16 * 1024 * 1024)
/* files above this give the heap of their parse back (malloc_trim) */
#define POLICY_TRIM_MIN_SIZE (256 * 1024)

int stepup_policy_load(const char *path, struct stepup_policy **policy_r,
		       const char **error_r)
{
	struct stat st;
	const char *error;
	string_t *data;
	char buf[8192];
	ssize_t ret;
	int fd;

	fd = stepup_file_open(AT_FDCWD, path, O_RDONLY | O_NONBLOCK, 0,
			      &stepup_file_check_config, NULL, &st, &error);
	if (fd == -1) {
		*error_r = t_strdup_printf("%s:0: %s", path, error);
		return -1;
	}
	if (st.st_size > POLICY_MAX_SIZE) {
		*error_r = t_strdup_printf("%s:0: too large", path);
		i_close_fd(&fd);
		return -1;
	}
	data = t_str_new(st.st_size + 1);
	while ((ret = read(fd, buf, sizeof(buf))) > 0) {
		str_append_data(data, buf, ret);
		if (str_len(data) > POLICY_MAX_SIZE)
			break;
	}
	if (ret < 0) {
		*error_r = t_strdup_printf("%s:0: read() failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	i_close_fd(&fd);
	return stepup_policy_parse_buffer(path, str_data(data), str_len(data),
					  policy_r, error_r);
}

void stepup_policy_unref(struct stepup_policy **_policy)
{
	struct stepup_policy *policy = *_policy;

	if (policy == NULL)
		return;
	*_policy = NULL;
	i_assert(policy->refcount > 0);
	if (--policy->refcount > 0)
		return;
	policy_free(&policy);
}

bool stepup_policy_is_audit_mode(const struct stepup_policy *policy)
{
	return policy->audit_mode;
}

const struct stepup_totp_settings *
stepup_policy_get_totp(const struct stepup_policy *policy)
{
	return &policy->totp;
}

const char *stepup_policy_get_state_path(const struct stepup_policy *policy)
{
	return policy->state_path;
}

const char *stepup_policy_get_state_redis(const struct stepup_policy *policy)
{
	return policy->state_redis;
}

const char *stepup_policy_get_audit_path(const struct stepup_policy *policy)
{
	return policy->audit_path;
}

const struct stepup_audit_settings *
stepup_policy_get_audit(const struct stepup_policy *policy)
{
	return &policy->audit;
}

bool stepup_policy_audit_required(const struct stepup_policy *policy)
{
	return policy->audit_path != NULL && !policy->audit_optional;
}

const char *
stepup_policy_get_session_key_file(const struct stepup_policy *policy)
{
	return policy->session_key_file;
}

const struct stepup_approval_settings *
stepup_policy_get_approval(const struct stepup_policy *policy)
{
	return &policy->approval;
}

const char *const *
stepup_policy_get_unenforced(const struct stepup_policy *policy ATTR_UNUSED)
{
	static const char *const none[] = { NULL };

	/* approvals are carried out (approval/, the stepup-audit service):
	   nothing the policy can ask for is left out today */
	return none;
}

const char *stepup_grant_scope_name(enum stepup_grant_scope scope)
{
	switch (scope) {
	case STEPUP_GRANT_SCOPE_IP:
		return "ip";
	case STEPUP_GRANT_SCOPE_SESSION:
		return "session";
	case STEPUP_GRANT_SCOPE_USER:
		return "user";
	}
	return "ip";
}

/* ---- reload-aware cache */

struct stepup_policy_cache {
	char *path;
	struct event *event;
	struct stepup_policy *policy;
	time_t last_check;
	struct stat last_st;
	bool checked;
	char *last_error;
	stepup_policy_change_callback_t *callback;
	void *context;
};

struct stepup_policy_cache *
stepup_policy_cache_init(const char *path, struct event *event)
{
	struct stepup_policy_cache *cache;

	cache = i_new(struct stepup_policy_cache, 1);
	cache->path = i_strdup(path);
	cache->event = stepup_event_create(event, NULL);
	return cache;
}

void stepup_policy_cache_deinit(struct stepup_policy_cache **_cache)
{
	struct stepup_policy_cache *cache = *_cache;

	if (cache == NULL)
		return;
	*_cache = NULL;
	stepup_policy_unref(&cache->policy);
	event_unref(&cache->event);
	i_free(cache->last_error);
	i_free(cache->path);
	i_free(cache);
}

void stepup_policy_cache_set_callback(struct stepup_policy_cache *cache,
				      stepup_policy_change_callback_t *callback,
				      void *context)
{
	cache->callback = callback;
	cache->context = context;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
		a->st_size == b->st_size && a->st_mtime == b->st_mtime &&
		ST_MTIME_NSEC(*a) == ST_MTIME_NSEC(*b) &&
		a->st_ctime == b->st_ctime;
}

/* TRUE if the file was read and parsed (whether good or not) */
static bool policy_cache_reload(struct stepup_policy_cache *cache)
{
	struct stepup_policy *policy;
	const char *error;
	struct stat st;
	bool parsed = FALSE;

	if (stat(cache->path, &st) < 0) {
		error = t_strdup_printf("stat(%s) failed: %m", cache->path);
	} else if (cache->checked && same_file(&st, &cache->last_st)) {
		return FALSE;
	} else if (stepup_policy_load(cache->path, &policy, &error) == 0) {
		cache->checked = TRUE;
		cache->last_st = st;
		if (cache->policy != NULL) {
			e_info(cache->event, "policy %s reloaded",
			       cache->path);
			if (cache->callback != NULL) {
				cache->callback(cache->policy, policy, NULL,
						cache->context);
			}
		}
		stepup_policy_unref(&cache->policy);
		cache->policy = policy;
		i_free_and_null(cache->last_error);
		return TRUE;
	} else {
		cache->checked = TRUE;
		cache->last_st = st;
		parsed = TRUE;
	}
	if (cache->last_error == NULL ||
	    strcmp(cache->last_error, error) != 0) {
		const char *const *line;

		for (line = t_strsplit(error, "\n"); *line != NULL; line++)
			e_error(cache->event, "policy: %s", *line);
		if (cache->policy != NULL) {
			e_error(cache->event, "keeping the last good "
				"policy of %s", cache->path);
		}
		i_free(cache->last_error);
		cache->last_error = i_strdup(error);
		if (cache->callback != NULL)
			cache->callback(cache->policy, NULL, error, cache->context);
	}
	return parsed;
}

/* A large policy's parse (libconfig's tree, the file's text on the data
   stack) leaves megabytes of freed heap in every process that loads it:
   give them back, so that a mail process keeps only the policy itself. */
static void policy_release_heap(void)
{
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}

int stepup_policy_cache_get(struct stepup_policy_cache *cache, time_t now,
			    const struct stepup_policy **policy_r,
			    const char **error_r)
{
	bool parsed = FALSE;

	if (!cache->checked || now != cache->last_check) {
		cache->last_check = now;
		T_BEGIN {
			parsed = policy_cache_reload(cache);
		} T_END;
		if (parsed && cache->last_st.st_size > POLICY_TRIM_MIN_SIZE)
			policy_release_heap();
	}
	if (cache->policy == NULL) {
		*error_r = t_strdup_printf("no valid policy in %s%s%s",
			cache->path, cache->last_error == NULL ? "" : ": ",
			cache->last_error == NULL ? "" :
			t_strcut(cache->last_error, '\n'));
		return -1;
	}
	*policy_r = cache->policy;
	return 0;
}
