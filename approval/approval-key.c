/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "buffer.h"
#include "safe-memset.h"
#include "str-sanitize.h"
#include "stepup-file.h"
#include "approval-key.h"

#include <fcntl.h>
#include <unistd.h>

struct stepup_approval_keyring {
	pool_t pool;
	ARRAY_TYPE(stepup_approval_key) keys;
};

bool stepup_approval_key_id_is_valid(const char *id)
{
	size_t i, len = strlen(id);

	if (len == 0 || len > STEPUP_APPROVAL_KEY_ID_MAX)
		return FALSE;
	for (i = 0; i < len; i++) {
		if (!stepup_approval_is_alnum(id[i]) && id[i] != '.' &&
		    id[i] != '_' && id[i] != '-')
			return FALSE;
	}
	return TRUE;
}

/* Read the file into buf (size STEPUP_APPROVAL_KEY_MAX + 2): the caller
   wipes buf. Returns the key's length or -1. */
static ssize_t key_file_read(const char *path, unsigned char *buf,
			     size_t buf_size, const char **error_r)
{
	size_t len = 0;
	ssize_t ret;
	int fd;

	fd = stepup_file_open(AT_FDCWD, path, O_RDONLY | O_NONBLOCK, 0,
			      &stepup_file_check_secret, NULL, NULL, error_r);
	if (fd == -1)
		return -1;
	while (len < buf_size &&
	       (ret = read(fd, buf + len, buf_size - len)) != 0) {
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			*error_r = t_strdup_printf("read(%s) failed: %m", path);
			i_close_fd(&fd);
			return -1;
		}
		len += ret;
	}
	i_close_fd(&fd);
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len < STEPUP_APPROVAL_KEY_MIN) {
		*error_r = t_strdup_printf("%s: the key needs at least %u bytes "
					   "(has %zu)", path,
					   STEPUP_APPROVAL_KEY_MIN, len);
		return -1;
	}
	if (len > STEPUP_APPROVAL_KEY_MAX) {
		*error_r = t_strdup_printf("%s: the key must be at most %u "
					   "bytes", path,
					   STEPUP_APPROVAL_KEY_MAX);
		return -1;
	}
	return len;
}

int stepup_approval_key_file_check(const char *path, const char **error_r)
{
	unsigned char buf[STEPUP_APPROVAL_KEY_MAX + 2];
	ssize_t len = key_file_read(path, buf, sizeof(buf), error_r);

	safe_memset(buf, 0, sizeof(buf));
	return len < 0 ? -1 : 0;
}

struct stepup_approval_keyring *stepup_approval_keyring_create(void)
{
	struct stepup_approval_keyring *keyring;
	pool_t pool;

	pool = pool_alloconly_create("stepup approval keys", 1024);
	keyring = p_new(pool, struct stepup_approval_keyring, 1);
	keyring->pool = pool;
	p_array_init(&keyring->keys, pool, 2);
	return keyring;
}

void stepup_approval_keyring_free(struct stepup_approval_keyring **_keyring)
{
	struct stepup_approval_keyring *keyring = *_keyring;
	struct stepup_approval_key *key;

	if (keyring == NULL)
		return;
	*_keyring = NULL;
	array_foreach_modifiable(&keyring->keys, key) {
		safe_memset(buffer_get_modifiable_data(key->secret, NULL), 0,
			    key->secret->used);
		buffer_free(&key->secret);
	}
	pool_unref(&keyring->pool);
}

int stepup_approval_keyring_add(struct stepup_approval_keyring *keyring,
				const char *id, const void *secret,
				size_t size, const char **error_r)
{
	struct stepup_approval_key *key;

	if (!stepup_approval_key_id_is_valid(id)) {
		*error_r = t_strdup_printf("invalid key id \"%s\" (1..%u "
					   "letters, digits, '.', '_', '-')",
					   str_sanitize(id, STEPUP_APPROVAL_KEY_ID_MAX),
					   STEPUP_APPROVAL_KEY_ID_MAX);
		return -1;
	}
	if (stepup_approval_keyring_find(keyring, id) != NULL) {
		*error_r = t_strdup_printf("key id \"%s\" is listed twice", id);
		return -1;
	}
	if (size < STEPUP_APPROVAL_KEY_MIN || size > STEPUP_APPROVAL_KEY_MAX) {
		*error_r = t_strdup_printf("key \"%s\" must have %u..%u bytes",
					   id, STEPUP_APPROVAL_KEY_MIN,
					   STEPUP_APPROVAL_KEY_MAX);
		return -1;
	}
	key = array_append_space(&keyring->keys);
	key->id = p_strdup(keyring->pool, id);
	/* outside the pool, so that it can be wiped and freed exactly; room
	   to spare, so that it is never reallocated (leaving a copy) */
	key->secret = buffer_create_dynamic(default_pool, size + 16);
	buffer_append(key->secret, secret, size);
	return 0;
}

int stepup_approval_keyring_add_file(struct stepup_approval_keyring *keyring,
				     const char *id, const char *path,
				     const char **error_r)
{
	unsigned char buf[STEPUP_APPROVAL_KEY_MAX + 2];
	ssize_t len;
	int ret;

	len = key_file_read(path, buf, sizeof(buf), error_r);
	ret = len < 0 ? -1 :
		stepup_approval_keyring_add(keyring, id, buf, len, error_r);
	safe_memset(buf, 0, sizeof(buf));
	return ret;
}

unsigned int
stepup_approval_keyring_count(const struct stepup_approval_keyring *keyring)
{
	return array_count(&keyring->keys);
}

const struct stepup_approval_key *
stepup_approval_keyring_signer(const struct stepup_approval_keyring *keyring)
{
	if (array_count(&keyring->keys) == 0)
		return NULL;
	return array_front(&keyring->keys);
}

const struct stepup_approval_key *
stepup_approval_keyring_find(const struct stepup_approval_keyring *keyring,
			     const char *id)
{
	const struct stepup_approval_key *key;

	array_foreach(&keyring->keys, key) {
		if (strcmp(key->id, id) == 0)
			return key;
	}
	return NULL;
}
