/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "buffer.h"
#include "test-common.h"
#include "stepup-facts.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

static const char *tmp_dir;

static void test_facts_sign_verify(void)
{
	buffer_t *key = t_buffer_create(32), *other = t_buffer_create(32);
	const char *sig;

	test_begin("facts: signature covers every field");
	buffer_append(key, "0123456789abcdef0123456789abcdef", 32);
	buffer_append(other, "0123456789abcdef0123456789abcdeX", 32);
	sig = stepup_facts_sign(key, "alice", "sess", "totp", "1764038400",
				"default");
	test_assert(strlen(sig) == 64);
	test_assert(stepup_facts_verify(key, "alice", "sess", "totp",
					"1764038400", "default", sig));
	test_assert(!stepup_facts_verify(other, "alice", "sess", "totp",
					 "1764038400", "default", sig));
	test_assert(!stepup_facts_verify(key, "bob", "sess", "totp",
					 "1764038400", "default", sig));
	test_assert(!stepup_facts_verify(key, "alice", "sess2", "totp",
					 "1764038400", "default", sig));
	test_assert(!stepup_facts_verify(key, "alice", "sess", "password",
					 "1764038400", "default", sig));
	test_assert(!stepup_facts_verify(key, "alice", "sess", "totp",
					 "1764038401", "default", sig));
	test_assert(!stepup_facts_verify(key, "alice", "sess", "totp",
					 "1764038400", "", sig));
	/* fields cannot be shifted across the separator */
	test_assert(!stepup_facts_verify(key, "alicesess", "", "totp",
					 "1764038400", "default", sig));
	test_assert(!stepup_facts_verify(key, "alice", "sess", "totp",
					 "1764038400", "default", NULL));
	test_assert(!stepup_facts_verify(key, "alice", "sess", "totp",
					 "1764038400", "default", ""));
	test_assert(!stepup_facts_verify(key, "alice", "sess", "totp",
					 "1764038400", "default",
					 t_strndup(sig, 63)));
	test_end();
}

static void test_facts_key_file(void)
{
	const char *path = t_strconcat(tmp_dir, "/session.key", NULL);
	const char *link = t_strconcat(tmp_dir, "/link.key", NULL);
	buffer_t *key = t_buffer_create(64), *key2 = t_buffer_create(64);
	const char *error;
	struct stat st;
	int fd;

	test_begin("facts: key file creation and checks");
	test_assert(stepup_facts_create_key(path, &error) == 1);
	test_assert(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640 &&
		    st.st_size == 32);
	test_assert(stepup_facts_create_key(path, &error) == 0);
	/* a strict umask (Dovecot's master) still gives 0640 */
	{
		const char *path2 = t_strconcat(tmp_dir, "/umask.key", NULL);
		mode_t old = umask(0077);

		test_assert(stepup_facts_create_key(path2, &error) == 1);
		test_assert(stat(path2, &st) == 0 &&
			    (st.st_mode & 0777) == 0640);
		umask(old);
	}
	test_assert(stepup_facts_load_key(path, key, &error) == 0);
	test_assert(key->used == 32);
	/* writable by group: refused */
	test_assert(chmod(path, 0660) == 0);
	test_assert(stepup_facts_load_key(path, key2, &error) < 0);
	test_assert(strstr(error, "not writable") != NULL);
	test_assert(chmod(path, 0640) == 0);
	/* a symlink: refused */
	test_assert(symlink(path, link) == 0);
	test_assert(stepup_facts_load_key(link, key2, &error) < 0);
	/* too short: refused */
	test_assert(unlink(path) == 0);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	test_assert(fd != -1 && write(fd, "short", 5) == 5);
	i_close_fd(&fd);
	test_assert(stepup_facts_load_key(path, key2, &error) < 0);
	test_assert(strstr(error, "at least 32") != NULL);
	/* missing */
	test_assert(stepup_facts_load_key(t_strconcat(tmp_dir, "/none", NULL),
					  key2, &error) < 0);
	test_end();
}

static void test_facts_audit_token(void)
{
	buffer_t *key = t_buffer_create(32);
	const char *session_key, *token, *error;

	test_begin("facts: audit token");
	session_key = t_strconcat(tmp_dir, "/session.key", NULL);
	test_assert_strcmp(stepup_facts_audit_key_path(session_key),
			   t_strconcat(session_key, ".audit", NULL));
	/* made on first use, the same key afterwards */
	test_assert(stepup_facts_load_audit_key(session_key, key, &error) == 0);
	test_assert(key->used == 32);
	token = stepup_facts_audit_token(key, "alice", "S1");
	test_assert(stepup_facts_load_audit_key(session_key, key, &error) == 0);
	test_assert(stepup_facts_verify_audit_token(key, "alice", "S1", token));
	test_assert(!stepup_facts_verify_audit_token(key, "bob", "S1", token));
	test_assert(!stepup_facts_verify_audit_token(key, "alice", "S2", token));
	test_assert(!stepup_facts_verify_audit_token(key, "alice", NULL, token));
	test_assert(!stepup_facts_verify_audit_token(key, "alice", "S1", ""));
	/* not a signature of session facts, nor the reverse */
	test_assert(!stepup_facts_verify(key, "alice", "S1", "totp", "", "",
					 token));
	test_assert(strcmp(token, stepup_facts_sign(key, "alice", "S1", "totp",
						    "", "")) != 0);
	test_end();
}

/* The audit token key: made 0600, refused with any group or other bit. */
static void test_facts_audit_key_private(void)
{
	const char *session_key = t_strconcat(tmp_dir, "/private.key", NULL);
	const char *path = stepup_facts_audit_key_path(session_key);
	buffer_t *key = t_buffer_create(64);
	const char *error;
	struct stat st;

	test_begin("facts: the audit token key is private");
	test_assert(stepup_facts_load_audit_key(session_key, key, &error) == 0);
	test_assert(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	test_assert(chmod(path, 0640) == 0);
	test_assert(stepup_facts_load_audit_key(session_key, key, &error) < 0);
	test_assert(strstr(error, "chmod 0600") != NULL);
	test_assert(stepup_facts_load_private_key(path, key, &error) < 0);
	test_assert(chmod(path, 0604) == 0);
	test_assert(stepup_facts_load_private_key(path, key, &error) < 0);
	test_assert(chmod(path, 0600) == 0);
	test_assert(stepup_facts_load_private_key(path, key, &error) == 0);

	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_facts_sign_verify,
		test_facts_key_file,
		test_facts_audit_token,
		test_facts_audit_key_private,
		NULL
	};
	char template[] = "/tmp/stepup-facts-XXXXXX";
	char cmd[sizeof(template) + 16];
	int ret;

	if (mkdtemp(template) == NULL)
		i_fatal("mkdtemp: %m");
	tmp_dir = template;
	ret = test_run(test_functions);
	i_snprintf(cmd, sizeof(cmd), "rm -rf %s", template);
	if (system(cmd) != 0)
		ret = 1;
	return ret;
}
