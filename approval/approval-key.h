#ifndef STEPUP_APPROVAL_KEY_H
#define STEPUP_APPROVAL_KEY_H

#include "array.h"
#include "buffer.h"

/* The HMAC-SHA256 keys shared with the approval endpoint (SPEC "Approval
   endpoint — protocol version 1"). A keyring holds them in policy order:
   the first signs requests, every one verifies responses (rotation). */

#define STEPUP_APPROVAL_KEY_MIN 32
#define STEPUP_APPROVAL_KEY_MAX 4096
/* a key id: 1..64 of [A-Za-z0-9._-] (it travels in a header) */
#define STEPUP_APPROVAL_KEY_ID_MAX 64

struct stepup_approval_key {
	const char *id;
	/* the secret bytes; wiped when the keyring is freed */
	buffer_t *secret;
};
ARRAY_DEFINE_TYPE(stepup_approval_key, struct stepup_approval_key);

struct stepup_approval_keyring;

bool stepup_approval_key_id_is_valid(const char *id);
/* ASCII letter or digit, whatever the locale */
static inline bool stepup_approval_is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		(c >= 'A' && c <= 'Z');
}

/* Check a key file without keeping its bytes (stepup policy check): the
   same checks as stepup_approval_keyring_add_file(). */
int stepup_approval_key_file_check(const char *path, const char **error_r);

struct stepup_approval_keyring *stepup_approval_keyring_create(void);
/* Wipes every secret. */
void stepup_approval_keyring_free(struct stepup_approval_keyring **keyring);

/* Add a key read from a file: its bytes with one trailing "\n" dropped.
   The file must be a regular file (not a symlink) owned by root or by us,
   neither writable by group or others nor readable by others, holding
   32..4096 bytes. A duplicate or invalid id is an error. */
int stepup_approval_keyring_add_file(struct stepup_approval_keyring *keyring,
				     const char *id, const char *path,
				     const char **error_r);
/* The same with the secret in memory (tests, the test endpoint). */
int stepup_approval_keyring_add(struct stepup_approval_keyring *keyring,
				const char *id, const void *secret,
				size_t size, const char **error_r);

unsigned int
stepup_approval_keyring_count(const struct stepup_approval_keyring *keyring);
/* The key that signs requests (the first one); NULL if the ring is empty. */
const struct stepup_approval_key *
stepup_approval_keyring_signer(const struct stepup_approval_keyring *keyring);
/* NULL if no key has this id. */
const struct stepup_approval_key *
stepup_approval_keyring_find(const struct stepup_approval_keyring *keyring,
			     const char *id);

#endif
