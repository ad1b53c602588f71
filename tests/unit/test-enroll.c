/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "buffer.h"
#include "net.h"
#include "test-common.h"
#include "test-tmpdir.h"
#include "stepup-policy.h"
#include "stepup-state.h"
#include "stepup-audit.h"
#include "stepup-totp.h"
#include "stepup-enroll.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <time.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>

static char tmp_dir[] = "/tmp/stepup-enroll-XXXXXX";
static unsigned int dir_seq;
/* the next fixture's policy says audit.required = false */
static bool fixture_audit_optional;

struct fixture {
	struct stepup_enroll_env env;
	struct stepup_policy *policy;
	const char *dir, *audit_path;
};

static void fixture_init(struct fixture *f, const char *enrollment,
			 bool by_self)
{
	const char *text, *error;

	i_zero(f);
	f->dir = t_strdup_printf("%s/%u", tmp_dir, dir_seq++);
	if (mkdir(f->dir, 0700) < 0)
		i_fatal("mkdir(%s): %m", f->dir);
	f->audit_path = t_strconcat(f->dir, "/audit.jsonl", NULL);
	text = t_strdup_printf(
		"version = 1;\n"
		"totp = { reconnect = \"8h\"; reconnect_idle = \"30m\"; };\n"
		"state = { path = \"%s\"; };\n"
		"audit = { path = \"%s\"; required = %s; };\n"
		"networks = { internal = [ \"10.0.0.0/8\" ]; };\n"
		"%s\n"
		"login = ( { name = \"default\"; require = \"totp\"; } );\n",
		f->dir, f->audit_path,
		fixture_audit_optional ? "false" : "true", enrollment);
	fixture_audit_optional = FALSE;
	if (stepup_policy_parse_buffer("test", text, strlen(text),
				       &f->policy, &error) < 0)
		i_fatal("policy: %s", error);
	f->env.policy = f->policy;
	if (stepup_state_init_dir(f->dir, &f->env.state, &error) < 0 ||
	    stepup_audit_open(f->audit_path, &f->env.audit, &error) < 0)
		i_fatal("%s", error);
	f->env.service = "test";
	f->env.by_self = by_self;
}

static void fixture_deinit(struct fixture *f)
{
	stepup_audit_close(&f->env.audit);
	stepup_state_deinit(&f->env.state);
	stepup_policy_unref(&f->policy);
}

static const char *read_file(const char *path)
{
	string_t *str = t_str_new(4096);
	char buf[4096];
	ssize_t ret;
	int fd = open(path, O_RDONLY);

	if (fd == -1)
		return "";
	while ((ret = read(fd, buf, sizeof(buf))) > 0)
		str_append_data(str, buf, ret);
	i_close_fd(&fd);
	return str_c(str);
}

static bool dir_contains(const char *dir, const char *needle)
{
	struct dirent *d;
	DIR *dirp = opendir(dir);
	bool found = FALSE;

	if (dirp == NULL)
		i_fatal("opendir(%s): %m", dir);
	while ((d = readdir(dirp)) != NULL) {
		if (strstr(read_file(t_strdup_printf("%s/%s", dir, d->d_name)),
			   needle) != NULL)
			found = TRUE;
	}
	closedir(dirp);
	return found;
}

/* the secret of an otpauth URI, decoded */
static buffer_t *uri_secret(const char *uri)
{
	const char *p = strstr(uri, "secret="), *end;
	buffer_t *buf = t_buffer_create(32);

	i_assert(p != NULL);
	p += 7;
	end = strchr(p, '&');
	if (stepup_base32_decode(t_strdup_until(p, end), buf) < 0)
		i_unreached();
	return buf;
}

static const char *code_for(const buffer_t *secret, time_t t)
{
	struct stepup_totp_settings set;
	const char *error;
	char code[9];

	stepup_totp_settings_defaults(&set);
	if (stepup_totp_generate(&set, secret->data, secret->used, t, code,
				 &error) < 0)
		i_fatal("%s", error);
	return t_strdup(code);
}

/* begin + finish with a right code: the recovery codes, and the secret */
static const char *const *
enroll_ok(struct fixture *f, const char *user, const char *invite,
	  const char *proof, buffer_t **secret_r)
{
	struct stepup_enrollment *enr;
	const char *const *codes = NULL, *reason, *error;
	buffer_t *secret;

	test_assert(stepup_enroll_begin(&f->env, user, invite, proof, &enr,
					&reason, &error) == 1);
	if (enr == NULL)
		return NULL;
	secret = uri_secret(stepup_enrollment_uri(enr));
	test_assert(stepup_enroll_finish(&f->env, enr,
					 code_for(secret, time(NULL)),
					 &codes, &reason, &error) == 1);
	stepup_enroll_free(&enr);
	if (secret_r != NULL)
		*secret_r = secret;
	return codes;
}

static int begin_reason(struct fixture *f, const char *user,
			const char *invite, const char *proof,
			const char **reason_r)
{
	struct stepup_enrollment *enr;
	const char *error;
	int ret;

	ret = stepup_enroll_begin(&f->env, user, invite, proof, &enr,
				  reason_r, &error);
	stepup_enroll_free(&enr);
	return ret;
}

static void test_enroll_admin(void)
{
	struct fixture f;
	struct stepup_enrollment *enr;
	const char *const *codes, *reason, *error, *audit;
	buffer_t *secret;

	test_begin("enroll: an admin enrolls, confirms, cannot re-enroll");
	fixture_init(&f, "", FALSE);
	/* a wrong confirmation stores nothing */
	test_assert(stepup_enroll_begin(&f.env, "alice", NULL, NULL, &enr,
					&reason, &error) == 1);
	secret = uri_secret(stepup_enrollment_uri(enr));
	test_assert(stepup_enroll_finish(&f.env, enr, "000000x", &codes,
					 &reason, &error) == 0);
	test_assert_strcmp(reason, "wrong confirmation code");
	test_assert(stepup_enroll_finish(&f.env, enr,
					 code_for(secret, time(NULL)),
					 &codes, &reason, &error) == -1);
	stepup_enroll_free(&enr);
	test_assert(stepup_state_is_enrolled(f.env.state, "alice",
					     &error) == 0);

	codes = enroll_ok(&f, "alice", NULL, NULL, &secret);
	test_assert(codes != NULL && str_array_length(codes) == 10);
	test_assert(stepup_state_is_enrolled(f.env.state, "alice",
					     &error) == 1);
	/* an admin does not re-enroll: reset first */
	test_assert(begin_reason(&f, "alice", NULL,
				 code_for(secret, time(NULL) + 30),
				 &reason) == 0);
	test_assert(strstr(reason, "already enrolled") != NULL);

	audit = read_file(f.audit_path);
	test_assert(strstr(audit, "\"reason\":\"TOTP enrolled\"") != NULL);
	test_assert(strstr(audit, "wrong confirmation code") != NULL);
	test_assert(strstr(audit, "\"by\":") == NULL);
	test_assert(strstr(audit, stepup_base32_encode(secret->data,
						       secret->used)) == NULL);
	fixture_deinit(&f);
	test_end();
}

static void test_enroll_invite(void)
{
	struct fixture f;
	struct stepup_enrollment *enr;
	const char *const *codes, *reason, *error, *code, *bob_code, *audit;
	buffer_t *secret;
	time_t now = time(NULL);

	test_begin("enroll: self-service needs the user's own invitation");
	fixture_init(&f, "", TRUE);
	test_assert(begin_reason(&f, "alice", NULL, NULL, &reason) == 0);
	test_assert_strcmp(reason, "an invitation code is needed");
	test_assert(begin_reason(&f, "alice", "abcd-efgh-jkmn-pqrs",
				 NULL, &reason) == 0);
	test_assert_strcmp(reason, "no invitation for this user");

	test_assert(stepup_state_invite_add(f.env.state, "alice", now + 3600,
					    now, &code, &error) == 0);
	code = t_strdup(code);
	test_assert(strlen(code) == STEPUP_INVITE_CODE_LEN);
	test_assert(stepup_state_invite_add(f.env.state, "bob", 0, now,
					    &bob_code, &error) == 0);
	bob_code = t_strdup(bob_code);
	/* hashed at rest */
	test_assert(!dir_contains(f.dir, code));
	test_assert(!dir_contains(f.dir, bob_code));

	/* bob's code is not alice's */
	test_assert(begin_reason(&f, "alice", bob_code, NULL, &reason) == 0);
	test_assert_strcmp(reason, "wrong invitation code");
	/* a wrong confirmation keeps the invitation */
	test_assert(stepup_enroll_begin(&f.env, "alice", code, NULL, &enr,
					&reason, &error) == 1);
	test_assert(stepup_enroll_finish(&f.env, enr, "12345", &codes,
					 &reason, &error) == 0);
	stepup_enroll_free(&enr);
	/* upper case as typed from a letter */
	codes = enroll_ok(&f, "alice", t_str_ucase(t_strdup_noconst(code)),
			  NULL, &secret);
	test_assert(codes != NULL);

	/* the used code again, after a reset */
	test_assert(stepup_state_reset(f.env.state, "alice", &error) == 1);
	test_assert(begin_reason(&f, "alice", code, NULL, &reason) == 0);
	test_assert_strcmp(reason, "invitation code already used");

	/* expired */
	test_assert(stepup_state_invite_add(f.env.state, "carol", now - 1,
					    now - 100, &code, &error) == 0);
	test_assert(begin_reason(&f, "carol", code, NULL, &reason) == 0);
	test_assert_strcmp(reason, "invitation code expired");

	/* a new invitation replaces the old one */
	test_assert(stepup_state_invite_add(f.env.state, "bob", 0, now,
					    &code, &error) == 0);
	test_assert(begin_reason(&f, "bob", bob_code, NULL, &reason) == 0);
	test_assert(enroll_ok(&f, "bob", code, NULL, NULL) != NULL);

	audit = read_file(f.audit_path);
	test_assert(strstr(audit, "\"reason\":\"wrong invitation code\","
			   "\"auth\":null,\"by\":\"self\"") != NULL);
	test_assert(strstr(audit, "\"reason\":\"invitation code already "
			   "used\"") != NULL);
	test_assert(strstr(audit, "\"reason\":\"invitation code "
			   "expired\"") != NULL);
	test_assert(strstr(audit, "\"reason\":\"TOTP enrolled\","
			   "\"auth\":null,\"by\":\"self\"") != NULL);
	test_assert(strstr(audit, code) == NULL);
	fixture_deinit(&f);
	test_end();

	test_begin("enroll: invite = false lets anyone not enrolled enroll");
	fixture_init(&f, "enrollment = { invite = false; };", TRUE);
	test_assert(enroll_ok(&f, "dave", NULL, NULL, NULL) != NULL);
	fixture_deinit(&f);
	test_end();
}

static void test_enroll_networks(void)
{
	struct fixture f;
	const char *reason;

	test_begin("enroll: enrollment.networks");
	fixture_init(&f, "enrollment = { invite = false; networks = "
		     "[ \"internal\", \"2001:db8::/32\" ]; };", TRUE);
	/* unknown address */
	test_assert(begin_reason(&f, "alice", NULL, NULL, &reason) == 0);
	test_assert_strcmp(reason, "enrollment is not allowed from this "
			   "network");
	test_assert(net_addr2ip("192.0.2.1", &f.env.remote_ip) == 0);
	test_assert(begin_reason(&f, "alice", NULL, NULL, &reason) == 0);
	test_assert(net_addr2ip("10.1.2.3", &f.env.remote_ip) == 0);
	test_assert(enroll_ok(&f, "alice", NULL, NULL, NULL) != NULL);
	test_assert(net_addr2ip("2001:db8::5", &f.env.remote_ip) == 0);
	test_assert(enroll_ok(&f, "bob", NULL, NULL, NULL) != NULL);
	test_assert(strstr(read_file(f.audit_path), "\"ip\":\"192.0.2.1\"")
		    != NULL);
	/* an admin at the terminal is not bound by it */
	f.env.by_self = FALSE;
	f.env.remote_ip.family = 0;
	test_assert(enroll_ok(&f, "carol", NULL, NULL, NULL) != NULL);
	fixture_deinit(&f);
	test_end();
}

static void test_enroll_policy_errors(void)
{
	static const char *const bad[][2] = {
		{ "networks = [ \"nowhere\" ];",
		  "enrollment.networks: unknown network 'nowhere'" },
		{ "networks = [ \"10.0.0.0/33\" ];",
		  "enrollment.networks: bad address or CIDR '10.0.0.0/33'" },
		{ "lmtp = \"lmtp\";",
		  "enrollment.lmtp must be a socket path or host:port" },
		{ "lmtp = \"mail.example.org:24\";",
		  "not a host name: 'mail.example.org:24'" },
		{ "invite = \"yes\";", "invite must be true or false" },
		{ "foo = true;", "enrollment.foo" },
	};
	struct stepup_policy *policy;
	const char *text, *error, *dump;
	unsigned int i;

	test_begin("enroll: the policy's enrollment block");
	text = "version = 1;\nlogin = ( { name = \"d\"; require = "
		"\"totp\"; } );\n";
	test_assert(stepup_policy_parse_buffer("t", text, strlen(text),
					       &policy, &error) == 0);
	test_assert(stepup_policy_get_enrollment(policy)->invite);
	test_assert(!stepup_policy_get_enrollment(policy)->notify);
	test_assert_strcmp(stepup_policy_get_enrollment(policy)->lmtp,
			   "/var/run/dovecot/lmtp");
	test_assert(stepup_policy_enrollment_network_allows(policy, NULL));
	test_assert(strstr(stepup_policy_dump(policy), "enrollment = {\n"
		"  invite = true;\n  notify = false;\n"
		"  lmtp = \"/var/run/dovecot/lmtp\";\n"
		"  app_password_max = \"31536000s\";\n};\n") != NULL);
	stepup_policy_unref(&policy);

	/* the dump parses back to the same block */
	text = "version = 1;\nnetworks = { internal = [ \"10.0.0.0/8\" ]; };\n"
		"enrollment = { invite = false; networks = [ \"internal\", "
		"\"2001:db8::/32\" ]; notify = true; lmtp = \"127.0.0.1:24\"; "
		"app_password_max = \"30d\"; };\n"
		"login = ( { name = \"d\"; require = \"totp\"; } );\n";
	test_assert(stepup_policy_parse_buffer("t", text, strlen(text),
					       &policy, &error) == 0);
	dump = stepup_policy_dump(policy);
	test_assert(strstr(dump, "enrollment = {\n  invite = false;\n"
		"  networks = [ \"10.0.0.0/8\", \"2001:db8::/32\" ];\n"
		"  notify = true;\n  lmtp = \"127.0.0.1:24\";\n"
		"  app_password_max = \"2592000s\";\n};\n") != NULL);
	stepup_policy_unref(&policy);
	test_assert(stepup_policy_parse_buffer("t", dump, strlen(dump),
					       &policy, &error) == 0);
	test_assert_strcmp(stepup_policy_dump(policy), dump);
	stepup_policy_unref(&policy);
	for (i = 0; i < N_ELEMENTS(bad); i++) {
		text = t_strdup_printf("version = 1;\nnetworks = { internal "
			"= [ \"10.0.0.0/8\" ]; };\nenrollment = { %s };\n"
			"login = ( { name = \"d\"; require = \"totp\"; } );"
			"\n", bad[i][0]);
		test_assert_idx(stepup_policy_parse_buffer("t", text,
			strlen(text), &policy, &error) < 0, i);
		test_assert_idx(error != NULL &&
				strstr(error, bad[i][1]) != NULL, i);
	}
	test_end();
}

static void test_enroll_reenroll(void)
{
	struct fixture f;
	struct stepup_verify_info info;
	struct stepup_user_status status;
	struct stepup_reconnect rc;
	const struct stepup_totp_settings *set;
	const char *const *old_codes, *const *codes, *reason, *error;
	buffer_t *old_secret, *secret;
	time_t now = time(NULL);

	test_begin("enroll: re-enrollment needs a current or recovery code");
	fixture_init(&f, "enrollment = { invite = false; };", TRUE);
	set = stepup_policy_get_totp(f.env.policy);
	old_codes = enroll_ok(&f, "alice", NULL, NULL, &old_secret);
	/* a reconnect grant of the old secret */
	rc.hash = "0123456789abcdef0123456789abcdef"
		"0123456789abcdef0123456789abcdef";
	rc.ip = "192.0.2.1";
	test_assert(stepup_state_verify_code_reconnect(f.env.state, "alice",
		set, code_for(old_secret, now + 30), &rc, now, &info,
		&error) == 0 && info.result == STEPUP_VERIFY_OK);
	test_assert(stepup_state_get_status(f.env.state, "alice", &status,
					    &error) == 1 &&
		    array_count(&status.grants) == 1);

	test_assert(begin_reason(&f, "alice", NULL, NULL, &reason) == 0);
	test_assert(strstr(reason, "needs a current code") != NULL);
	test_assert(begin_reason(&f, "alice", NULL, "999999x", &reason) == 0);
	test_assert_strcmp(reason, "re-enrollment: wrong code");
	/* the code the grant used is spent */
	test_assert(begin_reason(&f, "alice", NULL,
				 code_for(old_secret, now + 30),
				 &reason) == 0);
	test_assert_strcmp(reason, "re-enrollment: code already used");

	/* a recovery code proves it (and is used up) */
	codes = enroll_ok(&f, "alice", NULL, old_codes[0], &secret);
	test_assert(codes != NULL);
	test_assert(stepup_state_get_status(f.env.state, "alice", &status,
					    &error) == 1);
	test_assert(status.enrolled && status.recovery_codes_left == 10);
	test_assert(array_count(&status.grants) == 0);
	/* the old recovery codes and the old secret no longer work */
	test_assert(stepup_state_verify_code(f.env.state, "alice", set,
		old_codes[1], now, &info, &error) == 0 &&
		info.result == STEPUP_VERIFY_WRONG);
	test_assert(stepup_state_verify_code(f.env.state, "alice", set,
		code_for(old_secret, now + 60), now + 60, &info, &error) == 0 &&
		info.result == STEPUP_VERIFY_WRONG);
	test_assert(stepup_state_verify_code(f.env.state, "alice", set,
		code_for(secret, now + 60), now + 60, &info, &error) == 0 &&
		info.result == STEPUP_VERIFY_OK);
	test_assert(strstr(read_file(f.audit_path), "\"reason\":\"TOTP "
			   "re-enrolled") != NULL);
	fixture_deinit(&f);
	test_end();
}

/* Holds the audit log's lock (another open file description: flock()
   conflicts even within one process); the writes fail at once. */
static int audit_lock_hold(struct fixture *f)
{
	int fd = open(t_strconcat(f->audit_path, ".head", NULL), O_RDONLY);

	i_assert(fd != -1);
	if (flock(fd, LOCK_SH) < 0)
		i_fatal("flock: %m");
	stepup_audit_set_lock_timeout(f->env.audit, 0);
	return fd;
}

static void test_enroll_reenroll_needs_record(void)
{
	struct fixture f;
	struct stepup_verify_info info;
	struct stepup_enrollment *enr;
	const struct stepup_totp_settings *set;
	const char *const *old_codes, *const *codes, *reason, *error;
	buffer_t *old_secret, *secret;
	time_t now = time(NULL);
	int fd;

	test_begin("enroll: no re-enrollment without its record");
	fixture_init(&f, "enrollment = { invite = false; };", TRUE);
	set = stepup_policy_get_totp(f.env.policy);
	old_codes = enroll_ok(&f, "alice", NULL, NULL, &old_secret);
	test_assert(stepup_enroll_begin(&f.env, "alice", NULL, old_codes[0],
					&enr, &reason, &error) == 1);
	secret = uri_secret(stepup_enrollment_uri(enr));
	fd = audit_lock_hold(&f);
	test_assert(stepup_enroll_finish(&f.env, enr, code_for(secret, now),
					 &codes, &reason, &error) == -1);
	test_assert(strstr(error, "not re-enrolled") != NULL);
	stepup_enroll_free(&enr);
	i_close_fd(&fd);
	/* the old secret is still the one */
	test_assert(stepup_state_verify_code(f.env.state, "alice", set,
		code_for(old_secret, now + 60), now + 60, &info, &error) == 0 &&
		info.result == STEPUP_VERIFY_OK);
	test_assert(stepup_state_verify_code(f.env.state, "alice", set,
		code_for(secret, now + 90), now + 90, &info, &error) == 0 &&
		info.result == STEPUP_VERIFY_WRONG);
	fixture_deinit(&f);
	test_end();
}

static void test_enroll_audit_not_required(void)
{
	struct fixture f;
	struct stepup_enrollment *enr;
	const char *const *codes, *reason, *error;
	buffer_t *secret;
	int fd;

	test_begin("enroll: audit.required = false goes on without a record");
	fixture_audit_optional = TRUE;
	fixture_init(&f, "enrollment = { invite = false; };", FALSE);
	test_assert(stepup_enroll_begin(&f.env, "bob", NULL, NULL, &enr,
					&reason, &error) == 1);
	secret = uri_secret(stepup_enrollment_uri(enr));
	fd = audit_lock_hold(&f);
	test_expect_error_string("going on without the record");
	test_assert(stepup_enroll_finish(&f.env, enr,
					 code_for(secret, time(NULL)),
					 &codes, &reason, &error) == 1);
	stepup_enroll_free(&enr);
	i_close_fd(&fd);
	fixture_deinit(&f);
	test_end();
}

/* A target that is not IP:port fails before a socket exists: nothing is
   closed that is not the client's (fd 0 stays open). */
static void test_enroll_lmtp_bad_target(void)
{
	const char *error;
	int fd;

	test_begin("enroll: LMTP notice to a host name fails cleanly");
	fd = open("/dev/null", O_RDONLY);
	test_assert(fd != -1);
	if (fd != 0 && fcntl(0, F_GETFD) == -1) {
		/* make sure fd 0 is something to lose */
		test_assert(dup2(fd, 0) == 0);
	}
	test_assert(stepup_lmtp_deliver("mail.example.org:24", "alice", "x",
					100, &error) == -1);
	test_assert(strstr(error, "is not IP:port") != NULL);
	test_assert(fcntl(0, F_GETFD) != -1);
	if (fd != 0)
		i_close_fd(&fd);
	test_end();
}

static void test_enroll_notice(void)
{
	const char *msg, *body;

	test_begin("enroll: the notice");
	msg = stepup_notice_message(STEPUP_NOTICE_ENROLLED,
				    "alice@example.org", NULL, TRUE,
				    "mail.example.org", 1764000000);
	test_assert(strstr(msg, "To: <alice@example.org>\r\n") != NULL);
	test_assert(strstr(msg, "From: Two-step verification "
			   "<postmaster@mail.example.org>\r\n") != NULL);
	test_assert(strstr(msg, "By: you (self-service)") != NULL);
	test_assert(strstr(msg, "Mon, 24 Nov 2025") != NULL);

	/* user data never reaches a header */
	msg = stepup_notice_message(STEPUP_NOTICE_APP_PASSWORD,
				    "eve\r\nBcc: x@evil\r\n", "ph\rone\n.",
				    FALSE, "bad host\r\nX: y", 0);
	body = strstr(msg, "\r\n\r\n");
	test_assert(body != NULL);
	test_assert(strstr(t_strdup_until(msg, body), "evil") == NULL);
	test_assert(strstr(msg, "To: undisclosed-recipients:;") != NULL);
	test_assert(strstr(msg, "\nBcc:") == NULL);
	test_assert(strstr(msg, "Account: eve??Bcc: x@evil??\r\n") != NULL);
	test_assert(strstr(msg, "Device: ph?one?.\r\n") != NULL);
	test_assert(strstr(msg, "@localhost>") != NULL);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_enroll_admin,
		test_enroll_invite,
		test_enroll_networks,
		test_enroll_policy_errors,
		test_enroll_reenroll,
		test_enroll_reenroll_needs_record,
		test_enroll_audit_not_required,
		test_enroll_notice,
		test_enroll_lmtp_bad_target,
		NULL
	};
	return test_run_in_tmpdir(tmp_dir, test_functions);
}
