/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-compat.h"
#include "array.h"
#include "str.h"
#include "base64.h"
#include "safe-memset.h"
#include "stepup-file.h"
#include "approval-request.h"
#include "approval-config.h"

#include <fcntl.h>
#include <unistd.h>

#define PIN_PREFIX "sha256//"
#define PIN_B64_LEN 44	/* base64 of 32 bytes */
#define PEM_FILE_MAX (1024 * 1024)

int stepup_approval_pin_check(const char *pin, const char **error_r)
{
	const char *const *values = t_strsplit(pin, ";");
	unsigned int i;

	if (*pin == '\0') {
		*error_r = "no pin";
		return -1;
	}
	for (i = 0; values[i] != NULL; i++) {
		const char *b64 = NULL;
		buffer_t *digest = t_buffer_create(33);

		if (str_begins_with(values[i], PIN_PREFIX))
			b64 = values[i] + strlen(PIN_PREFIX);
		if (b64 == NULL || strlen(b64) != PIN_B64_LEN ||
		    base64_scheme_decode(&base64_scheme, 0, b64, PIN_B64_LEN,
					 digest) < 0 ||
		    digest->used != 32) {
			*error_r = t_strdup_printf("pin value %u is not "
				"sha256// and the base64 of a SHA-256 digest "
				"(44 characters)", i + 1);
			return -1;
		}
	}
	if (i > STEPUP_APPROVAL_PINS_MAX) {
		*error_r = t_strdup_printf("at most %u pins",
					   STEPUP_APPROVAL_PINS_MAX);
		return -1;
	}
	return 0;
}

/* The file's checks, then a PEM block whose BEGIN line contains what. */
static int pem_file_check(const char *path, bool secret, const char *what,
			  const char **error_r)
{
	string_t *data = t_str_new(4096);
	unsigned char buf[4096];
	const char *begin;
	ssize_t ret;
	int fd;

	fd = stepup_file_open(AT_FDCWD, path, O_RDONLY | O_NONBLOCK, 0,
			      secret ? &stepup_file_check_secret :
			      &stepup_file_check_config, NULL, NULL, error_r);
	if (fd == -1)
		return -1;
	while (str_len(data) < PEM_FILE_MAX &&
	       (ret = read(fd, buf, sizeof(buf))) > 0)
		str_append_data(data, buf, ret);
	i_close_fd(&fd);
	begin = strstr(str_c(data), "-----BEGIN ");
	while (begin != NULL) {
		const char *end = strstr(begin + 11, "-----");

		if (end == NULL)
			break;
		if (strstr(t_strdup_until(begin + 11, end), what) != NULL)
			break;
		begin = strstr(end + 5, "-----BEGIN ");
	}
	if (secret)
		safe_memset(buffer_get_modifiable_data(data, NULL), 0,
			    str_len(data));
	if (begin == NULL) {
		*error_r = t_strdup_printf("%s holds no PEM %s", path, what);
		return -1;
	}
	return 0;
}

void stepup_approval_settings_check(const struct stepup_approval_settings *set,
				    ARRAY_TYPE(const_string) *problems)
{
	const struct stepup_approval_key_file *key;
	struct stepup_approval_url url;
	const char *error;

#define PROBLEM(...) STMT_START { \
	const char *line_ = t_strdup_printf(__VA_ARGS__); \
	array_push_back(problems, &line_); \
	} STMT_END

	if (set->url == NULL)
		return;
	if (stepup_approval_url_parse(pool_datastack_create(), set->url, &url,
				      &error) < 0)
		PROBLEM("approval.url: %s", error);
	if (array_count(&set->keys) == 0)
		PROBLEM("approval: no key");
	array_foreach(&set->keys, key) {
		if (stepup_approval_key_file_check(key->file, &error) < 0)
			PROBLEM("approval key \"%s\": %s", key->id, error);
	}
	if (set->ca_file != NULL &&
	    pem_file_check(set->ca_file, FALSE, "CERTIFICATE", &error) < 0)
		PROBLEM("approval.ca_file: %s", error);
	if (set->client_cert != NULL &&
	    pem_file_check(set->client_cert, FALSE, "CERTIFICATE", &error) < 0)
		PROBLEM("approval.client_cert: %s", error);
	if (set->client_key != NULL &&
	    pem_file_check(set->client_key, TRUE, "PRIVATE KEY", &error) < 0)
		PROBLEM("approval.client_key: %s", error);
	if (set->pin != NULL &&
	    stepup_approval_pin_check(set->pin, &error) < 0)
		PROBLEM("approval.pin: %s", error);
#undef PROBLEM
}

int stepup_approval_keyring_load(const struct stepup_approval_settings *set,
				 struct stepup_approval_keyring **keyring_r,
				 const char **error_r)
{
	struct stepup_approval_keyring *keyring;
	const struct stepup_approval_key_file *key;

	if (set->url == NULL || array_count(&set->keys) == 0) {
		*error_r = "no approval keys in the policy";
		return -1;
	}
	keyring = stepup_approval_keyring_create();
	array_foreach(&set->keys, key) {
		if (stepup_approval_keyring_add_file(keyring, key->id,
						     key->file, error_r) < 0) {
			*error_r = t_strdup_printf("approval key \"%s\": %s",
						   key->id, *error_r);
			stepup_approval_keyring_free(&keyring);
			return -1;
		}
	}
	*keyring_r = keyring;
	return 0;
}
