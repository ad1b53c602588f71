/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "net.h"
#include "test-common.h"
#include "test-tmpdir.h"
#include "stepup-totp.h"
#include "stepup-state.h"
#include "state-private.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define SECRET "12345678901234567890"
#define T0 1764000000

static char tmp_dir[] = "/tmp/stepup-state-XXXXXX";
static unsigned int dir_seq;

static const char *new_dir(void)
{
	const char *path = t_strdup_printf("%s/%u", tmp_dir, dir_seq++);

	if (mkdir(path, 0700) < 0)
		i_fatal("mkdir(%s): %m", path);
	return path;
}

static struct stepup_state *open_state(const char *path)
{
	struct stepup_state *state;
	const char *error;

	if (stepup_state_init_dir(path, &state, &error) < 0)
		i_fatal("%s", error);
	return state;
}

static void set_defaults(struct stepup_totp_settings *set)
{
	stepup_totp_settings_defaults(set);
	set->max_failures = 3;
	set->lockout_secs = 60;
}

static const char *code_at(time_t t)
{
	struct stepup_totp_settings set;
	const char *error;
	char code[9];

	stepup_totp_settings_defaults(&set);
	if (stepup_totp_generate(&set, (const void *)SECRET, 20, t, code,
				 &error) < 0)
		i_fatal("%s", error);
	return t_strdup(code);
}

static const char *const *enroll(struct stepup_state *state, const char *user)
{
	struct stepup_totp_settings set;
	const char *const *codes;
	const char *error;

	set_defaults(&set);
	/* confirmed with the code of the step before T0 */
	if (stepup_state_enroll(state, user, &set, (const void *)SECRET, 20,
				T0 / 30 - 1, T0 - 30, &codes, &error) != 1)
		i_fatal("enroll failed");
	return codes;
}

static enum stepup_verify_result
verify(struct stepup_state *state, const char *user, const char *code,
       time_t now, struct stepup_verify_info *info)
{
	struct stepup_totp_settings set;
	const char *error;

	set_defaults(&set);
	if (stepup_state_verify_code(state, user, &set, code, now, info,
				     &error) < 0)
		return (enum stepup_verify_result)-1;
	return info->result;
}

static void test_state_single_use(void)
{
	struct stepup_state *state = open_state(new_dir());
	struct stepup_verify_info info;
	const char *error;

	test_begin("state: enroll, verify, replay, next step");
	test_assert(stepup_state_is_enrolled(state, "alice", &error) == 0);
	test_assert(verify(state, "alice", code_at(T0), T0, &info) ==
		    STEPUP_VERIFY_NOT_ENROLLED);
	(void)enroll(state, "alice");
	test_assert(stepup_state_is_enrolled(state, "alice", &error) == 1);
	/* the confirmation code is used up */
	test_assert(verify(state, "alice", code_at(T0 - 30), T0, &info) ==
		    STEPUP_VERIFY_REPLAY);
	test_assert(verify(state, "alice", code_at(T0), T0, &info) ==
		    STEPUP_VERIFY_OK);
	test_assert(info.counter == T0 / 30);
	test_assert(!info.clock_behind);
	test_assert(verify(state, "alice", code_at(T0), T0, &info) ==
		    STEPUP_VERIFY_REPLAY);
	test_assert(verify(state, "alice", code_at(T0), T0 + 30, &info) ==
		    STEPUP_VERIFY_REPLAY);
	test_assert(verify(state, "alice", code_at(T0 + 30), T0, &info) ==
		    STEPUP_VERIFY_OK);
	/* a clock turned back cannot bring old codes back */
	test_assert(verify(state, "alice", code_at(T0 - 60), T0 - 60, &info) ==
		    STEPUP_VERIFY_REPLAY);
	/* the clock stepped back 60 s after a code of T0 + 30 was taken:
	   the user's current code is accepted, an older one is a replay,
	   and neither counts as a failure */
	test_assert(verify(state, "alice", code_at(T0 + 60), T0 - 30, &info) ==
		    STEPUP_VERIFY_OK);
	test_assert(info.clock_behind);
	test_assert(verify(state, "alice", code_at(T0 + 60), T0 - 30, &info) ==
		    STEPUP_VERIFY_REPLAY);
	test_assert(info.clock_behind);
	test_assert(verify(state, "alice", code_at(T0 + 30), T0 - 30, &info) ==
		    STEPUP_VERIFY_REPLAY);
	test_assert(info.clock_behind && info.failures == 0);
	test_assert(verify(state, "alice", code_at(T0 + 90), T0 - 20, &info) ==
		    STEPUP_VERIFY_OK);
	test_assert(info.failures == 0);
	/* 8 digits never match a 6-digit enrollment */
	test_assert(verify(state, "alice", "94287082", T0, &info) ==
		    STEPUP_VERIFY_WRONG);
	stepup_state_deinit(&state);
	test_end();
}

static void test_state_lockout(void)
{
	struct stepup_state *state = open_state(new_dir());
	struct stepup_verify_info info;
	struct stepup_user_status status;
	const char *error;

	test_begin("state: failures lock out, the lockout ends");
	(void)enroll(state, "bob");
	test_assert(verify(state, "bob", "000000", T0, &info) == STEPUP_VERIFY_WRONG);
	test_assert(info.failures == 1);
	test_assert(verify(state, "bob", "000001", T0, &info) == STEPUP_VERIFY_WRONG);
	test_assert(verify(state, "bob", "000002", T0, &info) == STEPUP_VERIFY_WRONG);
	test_assert(info.locked_until == T0 + 60);
	/* the right code is refused while locked */
	test_assert(verify(state, "bob", code_at(T0), T0 + 1, &info) ==
		    STEPUP_VERIFY_LOCKED);
	test_assert(stepup_state_get_status(state, "bob", &status, &error) == 1);
	test_assert(status.locked_until == T0 + 60 && status.failures == 3);
	test_assert(verify(state, "bob", code_at(T0 + 60), T0 + 60, &info) ==
		    STEPUP_VERIFY_OK);
	test_assert(verify(state, "bob", "000000", T0 + 61, &info) ==
		    STEPUP_VERIFY_WRONG && info.failures == 1);
	/* success resets the count */
	test_assert(verify(state, "bob", code_at(T0 + 90), T0 + 90, &info) ==
		    STEPUP_VERIFY_OK);
	test_assert(stepup_state_get_status(state, "bob", &status, &error) == 1);
	test_assert(status.failures == 0);
	stepup_state_deinit(&state);
	test_end();
}

static void test_state_recovery_codes(void)
{
	struct stepup_state *state = open_state(new_dir());
	struct stepup_verify_info info;
	const char *const *codes, *const *codes2, *error;
	size_t start;
	unsigned int i;

	test_begin("state: recovery codes, each once");
	codes = enroll(state, "carol");
	for (i = 0; i < STEPUP_RECOVERY_CODES; i++) {
		test_assert_idx(strlen(codes[i]) == STEPUP_RECOVERY_CODE_LEN, i);
		test_assert_idx(stepup_recovery_code_suffix(
			t_strconcat("pw", codes[i], NULL), &start) && start == 2, i);
	}
	test_assert(codes[STEPUP_RECOVERY_CODES] == NULL);
	test_assert(strcmp(codes[0], codes[1]) != 0);
	test_assert(verify(state, "carol", codes[3], T0, &info) == STEPUP_VERIFY_OK);
	test_assert(info.recovery_code_used && info.recovery_codes_left == 9);
	test_assert(verify(state, "carol", codes[3], T0, &info) == STEPUP_VERIFY_WRONG);
	test_assert(verify(state, "carol", t_str_ucase(t_strdup(codes[4])), T0,
			   &info) == STEPUP_VERIFY_OK);
	test_assert(verify(state, "carol", "abcd-efgh-jkmn", T0, &info) ==
		    STEPUP_VERIFY_WRONG);
	test_assert(stepup_state_new_recovery_codes(state, "carol", &codes2,
						    &error) == 1);
	test_assert(verify(state, "carol", codes[5], T0, &info) == STEPUP_VERIFY_WRONG);
	test_assert(verify(state, "carol", codes2[5], T0, &info) == STEPUP_VERIFY_OK);
	test_assert(!stepup_recovery_code_suffix("abcd-efgh-jkmn", &start));
	test_assert(!stepup_recovery_code_suffix("pwabcd-efgh-jkm1", &start));
	stepup_state_deinit(&state);
	test_end();
}

static void write_raw(const char *dir, const char *user, const char *text,
		      mode_t mode)
{
	struct stepup_state *state = open_state(dir);
	string_t *str = t_str_new(64);
	const char *error;
	int lock;

	str_append(str, text);
	if (state->v->lock(state, user, &lock, &error) < 0 ||
	    state->v->write(state, user, str, &error) < 0)
		i_fatal("%s", error);
	state->v->unlock(state, &lock);
	stepup_state_deinit(&state);
	if (mode != 0600) {
		DIR *d = opendir(dir);
		struct dirent *de;

		while ((de = readdir(d)) != NULL) {
			if (strlen(de->d_name) == 64 &&
			    chmod(t_strconcat(dir, "/", de->d_name, NULL), mode) < 0)
				i_fatal("chmod: %m");
		}
		closedir(d);
	}
}

static void test_state_corrupt_denies(void)
{
	static const char *const bad[] = {
		"",
		"garbage\n",
		"stepup-state\t2\nuser\tdave\n",
		"stepup-state\t1\n",
		"stepup-state\t1\nuser\tsomeone-else\n",
		"stepup-state\t1\nuser\tdave\ntotp\tSHA1\t6\t30\t\t0\n",
		"stepup-state\t1\nuser\tdave\ntotp\tSHA1\t6\t30\tMZXW6YTBOI\t0\n",
		"stepup-state\t1\nuser\tdave\ntotp\tMD5\t6\t30\tGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\t0\n",
		"stepup-state\t1\nuser\tdave\nfail\tx\t0\n",
		"stepup-state\t1\nuser\tdave\nextra\t1\n",
		"stepup-state\t1\nuser\tdave\ntotp\tSHA1\t6\t30\tGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
	};
	struct stepup_verify_info info;
	struct stepup_state *state;
	const char *dir, *error;
	unsigned int i;

	test_begin("state: corrupt, truncated, unknown-version records deny");
	for (i = 0; i < N_ELEMENTS(bad); i++) {
		dir = new_dir();
		if (bad[i][0] == '\0') {
			/* zero bytes */
			DIR *d;
			struct dirent *de;

			write_raw(dir, "dave", "x", 0600);
			d = opendir(dir);
			while ((de = readdir(d)) != NULL) {
				if (strlen(de->d_name) == 64 &&
				    truncate(t_strconcat(dir, "/", de->d_name,
							 NULL), 0) < 0)
					i_fatal("truncate: %m");
			}
			closedir(d);
		} else {
			write_raw(dir, "dave", bad[i], 0600);
		}
		state = open_state(dir);
		test_assert_idx(stepup_state_is_enrolled(state, "dave", &error) == -1, i);
		test_assert_idx(verify(state, "dave", code_at(T0), T0, &info) ==
				(enum stepup_verify_result)-1, i);
		stepup_state_deinit(&state);
	}
	test_end();
}

static void test_state_file_checks(void)
{
	struct stepup_state *state;
	const char *dir, *error, *link;
	DIR *d;
	struct dirent *de;

	test_begin("state: owner, mode and symlink checks");
	dir = new_dir();
	state = open_state(dir);
	(void)enroll(state, "erin");
	stepup_state_deinit(&state);
	write_raw(dir, "erin", "stepup-state\t1\nuser\terin\n", 0644);
	state = open_state(dir);
	test_assert(stepup_state_is_enrolled(state, "erin", &error) == -1);
	test_assert(strstr(error, "mode 0644") != NULL);
	stepup_state_deinit(&state);

	/* a record owned by someone else is refused */
	write_raw(dir, "erin", "stepup-state\t1\nuser\terin\n", 0600);
	d = opendir(dir);
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) == 64) {
			test_assert(chown(t_strconcat(dir, "/", de->d_name,
						      NULL), 65534, 65534) == 0);
		}
	}
	closedir(d);
	state = open_state(dir);
	test_assert(stepup_state_is_enrolled(state, "erin", &error) == -1);
	test_assert(strstr(error, "has owner 65534") != NULL);
	stepup_state_deinit(&state);

	/* a record replaced by a symlink is refused */
	d = opendir(dir);
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) == 64) {
			link = t_strconcat(dir, "/", de->d_name, NULL);
			test_assert(unlink(link) == 0);
			test_assert(symlink("/etc/passwd", link) == 0);
		}
	}
	closedir(d);
	state = open_state(dir);
	test_assert(stepup_state_is_enrolled(state, "erin", &error) == -1);
	stepup_state_deinit(&state);

	/* a group-writable directory is refused */
	dir = new_dir();
	test_assert(chmod(dir, 0770) == 0);
	test_assert(stepup_state_init_dir(dir, &state, &error) == -1);
	test_assert(strstr(error, "must be 0700") != NULL);
	test_end();
}

static void test_state_stale_files(void)
{
	struct stepup_state *state;
	struct stepup_verify_info info;
	const char *dir, *name;
	DIR *d;
	struct dirent *de;
	int fd;

	test_begin("state: stale lock and temp files never block");
	dir = new_dir();
	state = open_state(dir);
	(void)enroll(state, "frank");
	d = opendir(dir);
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) == 64) {
			name = t_strconcat(dir, "/", de->d_name, ".tmp", NULL);
			fd = open(name, O_CREAT | O_WRONLY, 0600);
			test_assert(fd != -1 && write(fd, "junk", 4) == 4);
			i_close_fd(&fd);
		}
	}
	closedir(d);
	test_assert(verify(state, "frank", code_at(T0), T0, &info) == STEPUP_VERIFY_OK);
	stepup_state_deinit(&state);
	test_end();
}

static const char *crash_point;
static void crash_hook(const char *point)
{
	if (strcmp(point, crash_point) == 0)
		_exit(9);
}

static void test_state_crash_between_steps(void)
{
	static const char *const points[] = {
		"tmp-written", "tmp-synced", "renamed"
	};
	struct stepup_state *state;
	struct stepup_verify_info info;
	const char *dir, *error;
	unsigned int i;
	int status;
	pid_t pid;

	test_begin("state: a crash at any write step leaves old or new record");
	for (i = 0; i < N_ELEMENTS(points); i++) {
		dir = new_dir();
		state = open_state(dir);
		(void)enroll(state, "gina");
		pid = fork();
		if (pid == 0) {
			crash_point = points[i];
			stepup_state_fault_hook = crash_hook;
			(void)verify(state, "gina", code_at(T0), T0, &info);
			_exit(0);
		}
		test_assert_idx(waitpid(pid, &status, 0) == pid, i);
		test_assert_idx(WIFEXITED(status) && WEXITSTATUS(status) == 9, i);
		/* the record is readable: old (code unused) or new (used) */
		test_assert_idx(stepup_state_is_enrolled(state, "gina", &error) == 1, i);
		switch (verify(state, "gina", code_at(T0), T0, &info)) {
		case STEPUP_VERIFY_OK:
			test_assert_idx(i < 2, i);
			break;
		case STEPUP_VERIFY_REPLAY:
			test_assert_idx(i == 2, i);
			break;
		default:
			test_assert_idx(FALSE, i);
		}
		stepup_state_deinit(&state);
	}
	test_end();
}

#define RACE_TRIALS 200
#define RACE_PROCS 8

static void test_state_fork_race(void)
{
	struct stepup_state *state;
	struct stepup_verify_info info;
	const char *dir;
	unsigned int trial, i, wins, bad_trials = 0;
	pid_t pids[RACE_PROCS];
	int status;

	test_begin("state: 8 concurrent verifiers of one code, 200 times: "
		   "one success each");
	dir = new_dir();
	state = open_state(dir);
	(void)enroll(state, "race");
	for (trial = 0; trial < RACE_TRIALS; trial++) {
		time_t now = T0 + (time_t)trial * 30;
		const char *code = code_at(now);

		for (i = 0; i < RACE_PROCS; i++) {
			pids[i] = fork();
			if (pids[i] == 0) {
				struct stepup_state *s = open_state(dir);
				enum stepup_verify_result r =
					verify(s, "race", code, now, &info);
				_exit(r == STEPUP_VERIFY_OK ? 0 :
				      r == STEPUP_VERIFY_REPLAY ? 1 : 2);
			}
		}
		wins = 0;
		for (i = 0; i < RACE_PROCS; i++) {
			if (waitpid(pids[i], &status, 0) != pids[i] ||
			    !WIFEXITED(status) || WEXITSTATUS(status) == 2)
				bad_trials++;
			else if (WEXITSTATUS(status) == 0)
				wins++;
		}
		if (wins != 1)
			bad_trials++;
	}
	test_assert(bad_trials == 0);
	stepup_state_deinit(&state);
	test_end();
}

static void test_state_app_passwords(void)
{
	struct stepup_state *state = open_state(new_dir());
	struct stepup_user_status status;
	struct ip_addr ip_in, ip_out;
	const char *pw, *pw2, *label, *error;

	test_begin("state: app passwords");
	test_assert(net_addr2ip("10.1.2.3", &ip_in) == 0);
	test_assert(net_addr2ip("192.0.2.1", &ip_out) == 0);
	test_assert(stepup_state_app_password_add(state, "hank", "phone", 0,
		NULL, NULL, T0, &pw, &error) == 1);
	test_assert(strlen(pw) == STEPUP_APP_PASSWORD_LEN);
	test_assert(stepup_app_password_shape(pw));
	test_assert(stepup_state_app_password_add(state, "hank", "phone", 0,
		NULL, NULL, T0, &pw2, &error) == 0);
	test_assert(stepup_state_app_password_add(state, "hank", "laptop",
		T0 + 100, "10.0.0.0/8", "imap", T0, &pw2, &error) == 1);
	test_assert(stepup_state_verify_app_password(state, "hank", pw,
		&ip_out, "pop3", T0, &label, &error) == 1);
	test_assert_strcmp(label, "phone");
	test_assert(stepup_state_verify_app_password(state, "hank", pw2,
		&ip_in, "imap", T0, &label, &error) == 1);
	test_assert_strcmp(label, "laptop");
	/* outside its networks, protocols, or expired */
	test_assert(stepup_state_verify_app_password(state, "hank", pw2,
		&ip_out, "imap", T0, &label, &error) == 0);
	test_assert(stepup_state_verify_app_password(state, "hank", pw2,
		&ip_in, "pop3", T0, &label, &error) == 0);
	test_assert(stepup_state_verify_app_password(state, "hank", pw2,
		&ip_in, "imap", T0 + 100, &label, &error) == 0);
	test_assert(stepup_state_verify_app_password(state, "hank", "hankpw",
		&ip_in, "imap", T0, &label, &error) == 0);
	test_assert(stepup_state_get_status(state, "hank", &status, &error) == 1);
	test_assert(array_count(&status.app_passwords) == 2);
	{
		const struct stepup_app_password_info *first =
			array_front(&status.app_passwords);
		test_assert_strcmp(first->last_ip, "192.0.2.1");
	}
	test_assert(stepup_state_app_password_revoke(state, "hank", "phone",
						     &error) == 1);
	test_assert(stepup_state_app_password_revoke(state, "hank", "phone",
						     &error) == 0);
	test_assert(stepup_state_verify_app_password(state, "hank", pw,
		&ip_out, "pop3", T0, &label, &error) == 0);
	stepup_state_deinit(&state);
	test_end();
}

static void test_state_reset(void)
{
	struct stepup_state *state = open_state(new_dir());
	struct stepup_verify_info info;
	const char *error;

	test_begin("state: reset");
	test_assert(stepup_state_reset(state, "ivan", &error) == 0);
	(void)enroll(state, "ivan");
	test_assert(stepup_state_reset(state, "ivan", &error) == 1);
	test_assert(stepup_state_is_enrolled(state, "ivan", &error) == 0);
	test_assert(verify(state, "ivan", code_at(T0), T0, &info) ==
		    STEPUP_VERIFY_NOT_ENROLLED);
	/* a corrupt record can be reset */
	write_raw(t_strdup_printf("%s/%u", tmp_dir, dir_seq - 1), "ivan",
		  "garbage\n", 0600);
	test_assert(stepup_state_is_enrolled(state, "ivan", &error) == -1);
	test_assert(stepup_state_reset(state, "ivan", &error) == 1);
	test_assert(stepup_state_is_enrolled(state, "ivan", &error) == 0);
	stepup_state_deinit(&state);
	test_end();
}

static void test_state_approvals(void)
{
	struct stepup_state *state = open_state(new_dir());
	struct stepup_approval_entry e, got;
	struct stepup_user_status st;
	const char *error;

	test_begin("state: approval grants and pending requests");
	i_zero(&e);
	e.type = STEPUP_APPROVAL_ENTRY_GRANT;
	e.mailbox = "Odd/Quote\"d\tand\\tab";
	e.scope = "ip";
	e.scope_value = "192.0.2.1";
	e.request_id = "0123456789abcdef0123456789abcdef";
	e.binding_code = "";
	e.created = T0;
	e.expires = T0 + 60;
	e.approver = "boss@example.org";
	test_assert(stepup_state_approval_put(state, "jo", &e, T0, &error) == 0);
	e.type = STEPUP_APPROVAL_ENTRY_PENDING;
	e.mailbox = "Other";
	e.binding_code = "42";
	e.approver = "";
	/* the body of its POST, kept as it was */
	e.body = "{\"user\":\"jo\tx\\n\",\n\"b\":1}";
	test_assert(stepup_state_approval_put(state, "jo", &e, T0, &error) == 0);
	e.body = NULL;
	/* read back: the grant for its scope only, until it expires */
	test_assert(stepup_state_approval_get(state, "jo",
		STEPUP_APPROVAL_ENTRY_GRANT, "Odd/Quote\"d\tand\\tab", "ip",
		"192.0.2.1", T0 + 59, &got, &error) == 1);
	test_assert(strcmp(got.approver, "boss@example.org") == 0);
	test_assert(stepup_state_approval_get(state, "jo",
		STEPUP_APPROVAL_ENTRY_GRANT, "Odd/Quote\"d\tand\\tab", "ip",
		"192.0.2.2", T0, &got, &error) == 0);
	test_assert(stepup_state_approval_get(state, "jo",
		STEPUP_APPROVAL_ENTRY_GRANT, "Odd/Quote\"d\tand\\tab", "ip",
		"192.0.2.1", T0 + 60, &got, &error) == 0);
	test_assert(stepup_state_approval_get(state, "jo",
		STEPUP_APPROVAL_ENTRY_PENDING, "Other", "ip", "192.0.2.1", T0,
		&got, &error) == 1);
	test_assert(strcmp(got.binding_code, "42") == 0);
	test_assert(strcmp(got.body, "{\"user\":\"jo\tx\\n\",\n\"b\":1}") == 0);
	{
		unsigned int in_folder, total;

		test_assert(stepup_state_approval_pending_count(state, "jo",
			"Other", T0, &in_folder, &total, &error) == 0);
		test_assert(in_folder == 1 && total == 1);
		test_assert(stepup_state_approval_pending_count(state, "jo",
			"Odd/Quote\"d\tand\\tab", T0, &in_folder, &total,
			&error) == 0);
		test_assert(in_folder == 0 && total == 1);
	}
	/* the request ends once */
	test_assert(stepup_state_approval_end_request(state, "jo",
		e.request_id, &error) == 1);
	test_assert(stepup_state_approval_end_request(state, "jo",
		e.request_id, &error) == 0);
	test_assert(stepup_state_get_status(state, "jo", &st, &error) == 1);
	test_assert(array_count(&st.approvals) == 1);
	/* revoke by folder, reset ends all */
	test_assert(stepup_state_approval_revoke(state, "jo", "Nope",
						 &error) == 0);
	test_assert(stepup_state_approval_revoke(state, "jo",
		"Odd/Quote\"d\tand\\tab", &error) == 1);
	e.type = STEPUP_APPROVAL_ENTRY_GRANT;
	test_assert(stepup_state_approval_put(state, "jo", &e, T0, &error) == 0);
	test_assert(stepup_state_reset(state, "jo", &error) == 1);
	test_assert(stepup_state_get_status(state, "jo", &st, &error) == 0);

	/* a re-enrollment (new phone) ends them too */
	{
		struct stepup_totp_settings set;
		const char *const *codes;

		(void)enroll(state, "jo");
		test_assert(stepup_state_approval_put(state, "jo", &e, T0,
						      &error) == 0);
		set_defaults(&set);
		test_assert(stepup_state_reenroll(state, "jo", &set,
			(const void *)SECRET, 20, 1, T0, &codes, &error) == 1);
		test_assert(stepup_state_get_status(state, "jo", &st,
						    &error) == 1);
		test_assert(st.enrolled && array_count(&st.approvals) == 0);
	}
	stepup_state_deinit(&state);
	test_end();
}

static enum stepup_verify_result
verify_rc(struct stepup_state *state, const char *user, const char *code,
	  const char *hash, time_t now, struct stepup_verify_info *info)
{
	struct stepup_totp_settings set;
	struct stepup_reconnect rc = { .hash = hash, .ip = "192.0.2.1" };
	const char *error;

	set_defaults(&set);
	set.reconnect_secs = 100;
	set.reconnect_idle_secs = 40;
	if (stepup_state_verify_code_reconnect(state, user, &set, code, &rc,
					       now, info, &error) < 0)
		return (enum stepup_verify_result)-1;
	return info->result;
}

static void test_state_reconnect(void)
{
	struct stepup_state *state = open_state(new_dir());
	struct stepup_verify_info info;
	struct stepup_user_status status;
	const char *h1, *h2, *h1_other_ip, *error, *c = code_at(T0);

	test_begin("state: reconnect grants");
	(void)enroll(state, "kim");
	test_assert(stepup_state_reconnect_hash(state, "kim", "192.0.2.1",
		t_strconcat("kimpw", c, NULL), &h1, &error) == 0);
	test_assert(stepup_state_reconnect_hash(state, "kim", "192.0.2.1",
		t_strconcat("kimPW", c, NULL), &h2, &error) == 0);
	test_assert(stepup_state_reconnect_hash(state, "kim", "127.0.0.2",
		t_strconcat("kimpw", c, NULL), &h1_other_ip, &error) == 0);
	test_assert(strlen(h1) == 64 && strcmp(h1, h2) != 0 &&
		    strcmp(h1, h1_other_ip) != 0);
	/* the key is stable: same input, same hash */
	{
		const char *again;
		test_assert(stepup_state_reconnect_hash(state, "kim", "192.0.2.1",
			t_strconcat("kimpw", c, NULL), &again, &error) == 0);
		test_assert_strcmp(again, h1);
	}

	test_assert(verify_rc(state, "kim", c, h1, T0, &info) == STEPUP_VERIFY_OK);
	test_assert(info.mfa_time == T0);
	test_assert(verify_rc(state, "kim", c, h1, T0 + 30, &info) ==
		    STEPUP_VERIFY_RECONNECT && info.mfa_time == T0);
	test_assert(verify_rc(state, "kim", c, h1, T0 + 45, &info) ==
		    STEPUP_VERIFY_RECONNECT && info.mfa_time == T0);
	/* another password part or address: a replay */
	test_assert(verify_rc(state, "kim", c, h2, T0 + 45, &info) ==
		    STEPUP_VERIFY_REPLAY);
	test_assert(verify_rc(state, "kim", c, h1_other_ip, T0 + 45, &info) ==
		    STEPUP_VERIFY_REPLAY);
	/* reconnect switched off: a replay */
	test_assert(verify(state, "kim", c, T0 + 45, &info) == STEPUP_VERIFY_REPLAY);

	/* idle: last use + 40 */
	c = code_at(T0 + 120);
	test_assert(stepup_state_reconnect_hash(state, "kim", "192.0.2.1",
		t_strconcat("kimpw", c, NULL), &h1, &error) == 0);
	test_assert(verify_rc(state, "kim", c, h1, T0 + 120, &info) == STEPUP_VERIFY_OK);
	test_assert(stepup_state_get_status(state, "kim", &status, &error) == 1);
	test_assert(array_count(&status.grants) == 1);
	test_assert(verify_rc(state, "kim", c, h1, T0 + 161, &info) ==
		    STEPUP_VERIFY_REPLAY);
	/* lifetime: created + 100, even when used all the time */
	c = code_at(T0 + 240);
	test_assert(stepup_state_reconnect_hash(state, "kim", "192.0.2.1",
		t_strconcat("kimpw", c, NULL), &h1, &error) == 0);
	test_assert(verify_rc(state, "kim", c, h1, T0 + 240, &info) == STEPUP_VERIFY_OK);
	test_assert(verify_rc(state, "kim", c, h1, T0 + 270, &info) == STEPUP_VERIFY_RECONNECT);
	test_assert(verify_rc(state, "kim", c, h1, T0 + 300, &info) == STEPUP_VERIFY_RECONNECT);
	test_assert(verify_rc(state, "kim", c, h1, T0 + 341, &info) != STEPUP_VERIFY_RECONNECT);
	/* reset drops grants */
	c = code_at(T0 + 360);
	test_assert(stepup_state_reconnect_hash(state, "kim", "192.0.2.1",
		t_strconcat("kimpw", c, NULL), &h1, &error) == 0);
	test_assert(verify_rc(state, "kim", c, h1, T0 + 360, &info) == STEPUP_VERIFY_OK);
	test_assert(stepup_state_reset(state, "kim", &error) == 1);
	(void)enroll(state, "kim");
	test_assert(verify_rc(state, "kim", c, h1, T0 + 361, &info) != STEPUP_VERIFY_RECONNECT);
	stepup_state_deinit(&state);
	test_end();
}

static void test_state_reconnect_concurrent(void)
{
	struct stepup_state *state;
	struct stepup_verify_info info;
	const char *dir, *hash, *error, *c;
	unsigned int trial, i, ok, reconnects, with;
	pid_t pids[5];
	int status;

	test_begin("state: 5 simultaneous logins with one fresh string");
	for (with = 0; with < 2; with++) {
		dir = new_dir();
		state = open_state(dir);
		(void)enroll(state, "lee");
		for (trial = 0; trial < 20; trial++) {
			time_t now = T0 + (time_t)trial * 30;

			c = code_at(now);
			test_assert(stepup_state_reconnect_hash(state, "lee",
				"192.0.2.1", t_strconcat("leepw", c, NULL),
				&hash, &error) == 0);
			for (i = 0; i < N_ELEMENTS(pids); i++) {
				pids[i] = fork();
				if (pids[i] == 0) {
					struct stepup_state *s = open_state(dir);
					enum stepup_verify_result r = with == 1 ?
						verify_rc(s, "lee", c, hash, now, &info) :
						verify(s, "lee", c, now, &info);
					_exit(r == STEPUP_VERIFY_OK ? 0 :
					      r == STEPUP_VERIFY_RECONNECT ? 1 : 2);
				}
			}
			ok = reconnects = 0;
			for (i = 0; i < N_ELEMENTS(pids); i++) {
				if (waitpid(pids[i], &status, 0) == pids[i] &&
				    WIFEXITED(status)) {
					if (WEXITSTATUS(status) == 0)
						ok++;
					else if (WEXITSTATUS(status) == 1)
						reconnects++;
				}
			}
			test_assert_idx(ok == 1, trial);
			test_assert_idx(reconnects == (with == 1 ? 4 : 0), trial);
		}
		stepup_state_deinit(&state);
	}
	test_end();
}

/* Another process holds the user's lock: the operation fails after the
   bound instead of waiting (the auth process serves every user), other
   users are untouched, and once the lock is free the same code is still
   good (nothing was consumed by the refused attempt). */
static void test_state_lock_bounded(void)
{
	struct stepup_state *state, *holder;
	struct stepup_verify_info info;
	struct stepup_totp_settings set;
	const char *dir, *error;
	int lock, ret;

	test_begin("state: a held lock fails after a bound, others go on");
	dir = new_dir();
	state = open_state(dir);
	holder = open_state(dir);
	(void)enroll(state, "alice");
	(void)enroll(state, "bob");
	stepup_state_set_lock_timeout(state, 30);
	set_defaults(&set);
	test_assert(holder->v->lock(holder, "alice", &lock, &error) == 0);

	error = NULL;
	ret = stepup_state_verify_code(state, "alice", &set, code_at(T0), T0,
				       &info, &error);
	test_assert(ret == -1);
	test_assert(error != NULL &&
		    strstr(error, "locked by another process") != NULL);
	test_assert(verify(state, "bob", code_at(T0), T0, &info) ==
		    STEPUP_VERIFY_OK);
	/* a zero bound is one try */
	stepup_state_set_lock_timeout(state, 0);
	test_assert(stepup_state_verify_code(state, "alice", &set,
					     code_at(T0), T0, &info,
					     &error) == -1);

	holder->v->unlock(holder, &lock);
	test_assert(verify(state, "alice", code_at(T0), T0, &info) ==
		    STEPUP_VERIFY_OK);
	test_assert(verify(state, "alice", code_at(T0), T0, &info) ==
		    STEPUP_VERIFY_REPLAY);
	stepup_state_deinit(&holder);
	stepup_state_deinit(&state);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_state_single_use,
		test_state_lockout,
		test_state_recovery_codes,
		test_state_corrupt_denies,
		test_state_file_checks,
		test_state_stale_files,
		test_state_crash_between_steps,
		test_state_fork_race,
		test_state_app_passwords,
		test_state_reset,
		test_state_approvals,
		test_state_reconnect,
		test_state_reconnect_concurrent,
		test_state_lock_bounded,
		NULL
	};
	return test_run_in_tmpdir(tmp_dir, test_functions);
}
