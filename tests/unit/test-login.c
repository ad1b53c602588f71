/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "net.h"
#include "str.h"
#include "test-common.h"
#include "stepup-policy.h"
#include "stepup-state.h"
#include "stepup-totp.h"
#include "stepup-login.h"
#include "stepup-audit.h"

#include <stdio.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <signal.h>

#define SECRET "12345678901234567890"
#define T0 1764000000

static const char *policy_text =
	"version = 1;\n"
	"totp = { max_failures = 2; lockout = \"1m\"; };\n"
	"networks = { office = [ \"10.0.0.0/8\" ]; };\n"
	"login = (\n"
	"  { name = \"office\"; networks = [ \"office\" ]; require = \"password\"; },\n"
	"  { name = \"nope\"; users = [ \"mallory\" ]; require = \"deny\"; },\n"
	"  { name = \"late\"; users = [ \"late\" ]; require = \"totp\"; enroll_by = \"2000-01-01\"; },\n"
	"  { name = \"default\"; require = \"totp\"; enroll_by = \"2099-12-31\"; }\n"
	");\n";

static struct stepup_login_env env;
static struct stepup_policy *policy;
static char tmp_dir[] = "/tmp/stepup-login-XXXXXX";

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

static void req_init(struct stepup_login_request *req, const char *user,
		     const char *ip)
{
	static struct ip_addr addr;

	i_zero(req);
	req->user = user;
	req->protocol = "imap";
	req->now = T0;
	if (net_addr2ip(ip, &addr) < 0)
		i_unreached();
	req->remote_ip = &addr;
}

/* Stage 1, then (as if the password passdb accepted the stripped
   password) stage 2. */
static void
login(const char *user, const char *ip, const char *password,
      struct stepup_login_result *r1, struct stepup_login_result *r2)
{
	struct stepup_login_request req;

	req_init(&req, user, ip);
	stepup_login_stage1(&env, &req, password, r1);
	i_zero(r2);
	if (r1->action == STEPUP_LOGIN_ACTION_CONTINUE) {
		req.rule = r1->rule;
		stepup_login_stage2(&env, &req, r1->pending, r2);
	}
}

static void test_login_flows(void)
{
	struct stepup_login_result r1, r2;
	const char *const *codes, *error, *c;

	test_begin("login: stage 1 and stage 2 decisions");
	/* office: password only, handed on whole */
	login("bob", "10.1.2.3", "bobpw", &r1, &r2);
	test_assert(r1.action == STEPUP_LOGIN_ACTION_CONTINUE && r1.password_len == 5);
	test_assert(r2.action == STEPUP_LOGIN_ACTION_OK && r2.level == STEPUP_AUTH_PASSWORD);

	/* deny rule: refused in stage 1, nothing said */
	login("mallory", "192.0.2.1", "pw", &r1, &r2);
	test_assert(r1.action == STEPUP_LOGIN_ACTION_FAIL && r1.client_reason == NULL);

	/* unenrolled before enroll_by: grace */
	login("bob", "192.0.2.1", "bobpw", &r1, &r2);
	test_assert(r1.action == STEPUP_LOGIN_ACTION_CONTINUE);
	test_assert_strcmp(r1.enroll_by, "2099-12-31");
	test_assert(r2.action == STEPUP_LOGIN_ACTION_OK && r2.level == STEPUP_AUTH_PASSWORD);
	/* after enroll_by: refused, said only in stage 2 */
	login("late", "192.0.2.1", "latepw", &r1, &r2);
	test_assert(r1.action == STEPUP_LOGIN_ACTION_CONTINUE && r1.client_reason == NULL);
	test_assert(r2.action == STEPUP_LOGIN_ACTION_FAIL && r2.client_reason != NULL);

	/* enrolled */
	test_assert(stepup_state_enroll(env.state, "alice",
		stepup_policy_get_totp(policy), (const void *)SECRET, 20,
		T0 / 30 - 2, T0, &codes, &error) == 1);
	login("alice", "192.0.2.1", "alicepw", &r1, &r2);
	test_assert(r1.password_len == 7);
	test_assert(r2.action == STEPUP_LOGIN_ACTION_FAIL &&
		    strstr(r2.client_reason, "needs a one-time code") != NULL);
	c = code_at(T0);
	login("alice", "192.0.2.1", t_strconcat("alicepw", c, NULL), &r1, &r2);
	test_assert(r1.action == STEPUP_LOGIN_ACTION_CONTINUE && r1.password_len == 7);
	test_assert(r2.action == STEPUP_LOGIN_ACTION_OK && r2.level == STEPUP_AUTH_TOTP &&
		    r2.mfa_time == T0);
	login("alice", "192.0.2.1", t_strconcat("alicepw", c, NULL), &r1, &r2);
	test_assert(r2.action == STEPUP_LOGIN_ACTION_FAIL &&
		    strstr(r2.client_reason, "already used") != NULL);
	/* a code under a password rule steps the session up */
	login("alice", "10.1.2.3", t_strconcat("alicepw", code_at(T0 + 30), NULL),
	      &r1, &r2);
	test_assert(r2.action == STEPUP_LOGIN_ACTION_OK && r2.level == STEPUP_AUTH_TOTP);
	/* recovery code */
	login("alice", "192.0.2.1", t_strconcat("alicepw", codes[0], NULL), &r1, &r2);
	test_assert(r1.password_len == 7);
	test_assert(r2.action == STEPUP_LOGIN_ACTION_OK && r2.level == STEPUP_AUTH_TOTP);
	/* lockout after 2 wrong codes */
	login("alice", "192.0.2.1", "alicepw000000", &r1, &r2);
	test_assert(r2.action == STEPUP_LOGIN_ACTION_FAIL &&
		    strstr(r2.client_reason, "wrong") != NULL);
	login("alice", "192.0.2.1", "alicepw000001", &r1, &r2);
	login("alice", "192.0.2.1", t_strconcat("alicepw", code_at(T0 + 60), NULL),
	      &r1, &r2);
	test_assert(r2.action == STEPUP_LOGIN_ACTION_FAIL &&
		    strstr(r2.client_reason, "Too many wrong codes") != NULL);
	test_end();
}

static void test_login_stage2_needs_stage1(void)
{
	struct stepup_login_request req;
	struct stepup_login_result r;

	test_begin("login: stage 2 without stage 1, or a forged marker, fails");
	req_init(&req, "bob", "192.0.2.1");
	test_expect_errors(3);
	stepup_login_stage2(&env, &req, NULL, &r);
	test_assert(r.action == STEPUP_LOGIN_ACTION_INTERNAL_FAIL);
	stepup_login_stage2(&env, &req, "0123:pw", &r);
	test_assert(r.action == STEPUP_LOGIN_ACTION_INTERNAL_FAIL);
	stepup_login_stage2(&env, &req, t_strconcat(env.nonce, "x:pw", NULL), &r);
	test_assert(r.action == STEPUP_LOGIN_ACTION_INTERNAL_FAIL);
	test_expect_no_more_errors();
	test_end();
}

/* A passdb between the stages renamed the user (user=): stage 1 chose
   the rule of the typed name (here: password only, from the office),
   stage 2 would vouch for another one. */
static void test_login_user_renamed_between_stages(void)
{
	struct stepup_login_request req;
	struct stepup_login_result r1, r2;

	test_begin("login: a user renamed between the stages is refused");
	req_init(&req, "bob", "10.1.2.3");
	stepup_login_stage1(&env, &req, "bobpw", &r1);
	test_assert(r1.action == STEPUP_LOGIN_ACTION_CONTINUE);
	req.user = "alice";
	req.rule = r1.rule;
	test_expect_error_string("the user name changed between the stepup "
				 "stages");
	stepup_login_stage2(&env, &req, r1.pending, &r2);
	test_expect_no_more_errors();
	test_assert(r2.action == STEPUP_LOGIN_ACTION_INTERNAL_FAIL);
	/* the same name: accepted */
	req.user = "bob";
	stepup_login_stage2(&env, &req, r1.pending, &r2);
	test_assert(r2.action == STEPUP_LOGIN_ACTION_OK);
	test_end();
}

static void test_login_no_policy(void)
{
	struct stepup_login_env env2 = env;
	struct stepup_login_request req;
	struct stepup_login_result r;

	test_begin("login: no policy or no state fails closed");
	req_init(&req, "bob", "10.1.2.3");
	env2.policy = NULL;
	test_expect_errors(2);
	stepup_login_stage1(&env2, &req, "bobpw", &r);
	test_assert(r.action == STEPUP_LOGIN_ACTION_INTERNAL_FAIL);
	env2 = env;
	env2.state = NULL;
	stepup_login_stage1(&env2, &req, "bobpw", &r);
	test_assert(r.action == STEPUP_LOGIN_ACTION_INTERNAL_FAIL);
	test_expect_no_more_errors();
	test_end();
}

/* A login that would go on but whose audit record cannot be written is
   refused (temporary failure); refusals stay refusals. */
static void test_login_audit_required(void)
{
	struct stepup_login_env env2 = env;
	struct stepup_login_result r1, r2;
	const char *path, *error;
	int status;
	pid_t pid;

	test_begin("login: no audit record, no login (audit.required)");
	/* the log could not be opened */
	env2.audit = NULL;
	env2.audit_required = TRUE;
	env2.audit_error = "open(/nonexistent/audit.jsonl) failed: ENOENT";
	{
		struct stepup_login_env saved = env;

		env = env2;
		test_expect_errors(2);
		login("bob", "10.1.2.3", "bobpw", &r1, &r2);
		test_assert(r1.action == STEPUP_LOGIN_ACTION_INTERNAL_FAIL);
		test_expect_no_more_errors();
		/* a deny stays a deny (its record is lost, logged) */
		test_expect_errors(1);
		login("mallory", "192.0.2.1", "pw", &r1, &r2);
		test_assert(r1.action == STEPUP_LOGIN_ACTION_FAIL);
		test_expect_no_more_errors();
		/* audit.required = false: logins go on */
		env.audit_required = FALSE;
		login("bob", "10.1.2.3", "bobpw", &r1, &r2);
		test_assert(r2.action == STEPUP_LOGIN_ACTION_OK);
		env = saved;
	}

	/* the log is open but the filesystem is full (a file size limit,
	   in a child so the limit ends with it) */
	path = t_strconcat(tmp_dir, "/audit.jsonl", NULL);
	pid = fork();
	if (pid == 0) {
		struct rlimit rl = { 0, 0 };

		int null_fd;

		if (stepup_audit_open(path, &env.audit, &error) < 0)
			_exit(1);
		env.audit_required = TRUE;
		/* the size limit would also stop the log lines when stderr
		   is a file (make check): they go to /dev/null */
		null_fd = open("/dev/null", O_WRONLY);
		if (null_fd == -1 || dup2(null_fd, STDERR_FILENO) < 0 ||
		    dup2(null_fd, STDOUT_FILENO) < 0)
			_exit(4);
		(void)signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(2);
		test_expect_errors(2);
		login("bob", "10.1.2.3", "bobpw", &r1, &r2);
		if (r1.action != STEPUP_LOGIN_ACTION_INTERNAL_FAIL)
			_exit(3);
		_exit(0);
	}
	test_assert(waitpid(pid, &status, 0) == pid);
	test_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	test_end();
}

/* The server's clock stepped back behind the last accepted code: a code
   of that step is "already used" (no failure), and both the warning and
   the audit record name the clock. */
static void test_login_clock_behind(void)
{
	struct stepup_login_result r1, r2;
	struct stepup_login_request req;
	const char *const *codes, *error, *path;
	struct stepup_login_env saved = env;
	string_t *log = t_str_new(4096);
	char buf[4096];
	ssize_t ret;
	int fd;

	test_begin("login: a clock behind the last code is named, no failure");
	path = t_strconcat(tmp_dir, "/clock.jsonl", NULL);
	test_assert(stepup_audit_open(path, &env.audit, &error) == 0);
	test_assert(stepup_state_enroll(env.state, "clock",
		stepup_policy_get_totp(policy), (const void *)SECRET, 20,
		T0 / 30 - 2, T0, &codes, &error) == 1);
	login("clock", "192.0.2.1", t_strconcat("clockpw", code_at(T0), NULL),
	      &r1, &r2);
	test_assert(r2.action == STEPUP_LOGIN_ACTION_OK);
	/* 5 minutes back */
	req_init(&req, "clock", "192.0.2.1");
	req.now = T0 - 300;
	stepup_login_stage1(&env, &req, t_strconcat("clockpw", code_at(T0),
						    NULL), &r1);
	test_assert(r1.action == STEPUP_LOGIN_ACTION_CONTINUE);
	req.rule = r1.rule;
	test_expect_error_string("server clock behind the last accepted code");
	stepup_login_stage2(&env, &req, r1.pending, &r2);
	test_expect_no_more_errors();
	test_assert(r2.action == STEPUP_LOGIN_ACTION_FAIL &&
		    strstr(r2.client_reason, "already used") != NULL);
	stepup_audit_close(&env.audit);
	fd = open(path, O_RDONLY);
	test_assert(fd != -1);
	while ((ret = read(fd, buf, sizeof(buf))) > 0)
		str_append_data(log, buf, ret);
	i_close_fd(&fd);
	test_assert(strstr(str_c(log), "replayed code (server clock behind "
			   "the last accepted code)") != NULL);
	test_assert(strstr(str_c(log), "consecutive failures") == NULL);
	env = saved;
	test_end();
}

static void setup(void)
{
	struct stepup_state *state;
	const char *error;

	if (mkdtemp(tmp_dir) == NULL)
		i_fatal("mkdtemp: %m");
	if (stepup_policy_parse_buffer("t.conf", policy_text,
				       strlen(policy_text), &policy, &error) < 0)
		i_fatal("%s", error);
	if (stepup_state_init_dir(tmp_dir, &state, &error) < 0)
		i_fatal("%s", error);
	env.policy = policy;
	env.state = state;
	env.event = event_create(NULL);
	env.nonce = "0123456789abcdef";
}

static void teardown(void)
{
	stepup_state_deinit(&env.state);
	stepup_policy_unref(&policy);
	event_unref(&env.event);
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		setup,
		test_login_flows,
		test_login_stage2_needs_stage1,
		test_login_no_policy,
		test_login_audit_required,
		test_login_clock_behind,
		test_login_user_renamed_between_stages,
		teardown,
		NULL
	};
	char cmd[sizeof(tmp_dir) + 16];
	int ret;

	ret = test_run(test_functions);
	/* test_run() deinitialised lib */
	i_snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp_dir);
	if (system(cmd) != 0)
		ret = 1;
	return ret;
}
