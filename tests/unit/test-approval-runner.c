/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The stepup-audit service's approvals (service/stepup-approval.c) on a
   real ioloop, with the transport replaced by an endpoint in this file:
   it answers each exchange as the test says, signed with the policy's
   key, and keeps the first body POSTed under each request_id the way the
   reference endpoint does (a later POST of the same request_id with
   another body is refused with 409). */

#include "lib.h"
#include "array.h"
#include "ioloop.h"
#include "str.h"
#include "test-common.h"
#include "test-tmpdir.h"
#include "stepup-policy.h"
#include "approval-key.h"
#include "approval-config.h"
#include "approval-sign.h"
#include "approval-request.h"
#include "approval-response.h"
#include "approval-http.h"
#include "stepup-approval.h"

#include <stdio.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#define KEY "0123456789abcdef0123456789abcdef"

static char tmp_dir[] = "/tmp/stepup-runner-XXXXXX";
static struct stepup_approval_keyring *keyring;

/* ---- the endpoint */

struct exchange_seen {
	bool post;
	const char *id, *body;
};

enum ep_answer {
	EP_PENDING,
	EP_APPROVE,
	EP_503,
	EP_409,
};

static pool_t ep_pool;
static ARRAY(struct exchange_seen) ep_seen;
/* request_id -> first body, as pairs */
static ARRAY_TYPE(const_string) ep_stored;
/* what the next exchanges get: the first ep_script_len from the script,
   then ep_default */
static enum ep_answer ep_script[8];
static unsigned int ep_script_len, ep_script_pos;
static enum ep_answer ep_default;
/* answer 409 to a POST of this request_id */
static const char *ep_conflict_id;

struct approval_http_client { int dummy; };
struct approval_http_exchange {
	struct timeout *to;
	approval_http_callback_t *callback;
	void *context;
	char *nonce, *id;
	enum ep_answer answer;
};

struct approval_http_client *
approval_http_client_init(const struct approval_http_settings *set ATTR_UNUSED)
{
	return i_new(struct approval_http_client, 1);
}

void approval_http_client_deinit(struct approval_http_client **client)
{
	i_free(*client);
}

unsigned int
approval_http_running(const struct approval_http_client *client ATTR_UNUSED)
{
	return 0;
}

static void ep_exchange_free(struct approval_http_exchange *ex)
{
	timeout_remove(&ex->to);
	i_free(ex->nonce);
	i_free(ex->id);
	i_free(ex);
}

void approval_http_abort(struct approval_http_exchange **_ex)
{
	if (*_ex != NULL)
		ep_exchange_free(*_ex);
	*_ex = NULL;
}

static void ep_answer(struct approval_http_exchange *ex)
{
	struct stepup_approval_http_response resp;
	const char *body;

	i_zero(&resp);
	switch (ex->answer) {
	case EP_503:
		resp.status = 503;
		body = "";
		break;
	case EP_409:
		resp.status = 409;
		body = "{\"error\":\"request_id names another request\"}";
		break;
	case EP_PENDING:
	case EP_APPROVE:
		resp.status = 200;
		body = t_strdup_printf("{\"decision\":\"%s\",\"request_id\":"
			"\"%s\",\"nonce\":\"%s\",\"approver\":\"boss\"}",
			ex->answer == EP_PENDING ? "pending" : "approved",
			ex->id, ex->nonce);
		resp.timestamp = dec2str(ioloop_time);
		resp.signature = stepup_approval_sign_response(
			stepup_approval_keyring_signer(keyring), ex->nonce,
			resp.timestamp, body, strlen(body));
		break;
	default:
		i_unreached();
	}
	resp.body = body;
	resp.body_size = strlen(body);
	timeout_remove(&ex->to);
	ex->callback(STEPUP_APPROVAL_FAIL_NONE, NULL, &resp, ex->context);
	ep_exchange_free(ex);
}

static const char *ep_stored_body(const char *id)
{
	const char *const *p;
	unsigned int i, count;

	p = array_get(&ep_stored, &count);
	for (i = 0; i < count; i += 2) {
		if (strcmp(p[i], id) == 0)
			return p[i + 1];
	}
	return NULL;
}

struct approval_http_exchange *
approval_http_start(struct approval_http_client *client ATTR_UNUSED,
		    const struct stepup_approval_url *url ATTR_UNUSED,
		    const struct stepup_approval_http_request *req,
		    approval_http_callback_t *callback, void *context)
{
	struct approval_http_exchange *ex;
	struct exchange_seen *seen;
	const char *p, *stored;

	ex = i_new(struct approval_http_exchange, 1);
	ex->callback = callback;
	ex->context = context;
	ex->nonce = i_strdup(req->nonce);
	seen = array_append_space(&ep_seen);
	seen->post = strcmp(req->method, "POST") == 0;
	if (seen->post) {
		p = strstr(req->body, "\"request_id\":\"");
		i_assert(p != NULL);
		ex->id = i_strndup(p + 14, 32);
		seen->body = p_strndup(ep_pool, req->body, req->body_size);
	} else {
		ex->id = i_strndup(strrchr(req->path, '/') + 1, 32);
		seen->body = "";
	}
	seen->id = p_strdup(ep_pool, ex->id);
	ex->answer = ep_script_pos < ep_script_len ?
		ep_script[ep_script_pos++] : ep_default;
	if (seen->post && ex->answer != EP_503) {
		stored = ep_stored_body(ex->id);
		if (stored == NULL) {
			array_push_back(&ep_stored, &seen->id);
			array_push_back(&ep_stored, &seen->body);
		} else if (strcmp(stored, seen->body) != 0) {
			ex->answer = EP_409;
		}
		if (ep_conflict_id != NULL &&
		    strcmp(ep_conflict_id, ex->id) == 0)
			ex->answer = EP_409;
	}
	ex->to = timeout_add_short(5, ep_answer, ex);
	return ex;
}

static struct ioloop *ioloop;

/* a test begins: a fresh endpoint answering answer, an ioloop, an empty
   state directory */
static void ep_reset(enum ep_answer answer)
{
	const char *cmd = t_strdup_printf("rm -rf %s/state", tmp_dir);

	if (system(cmd) != 0)
		i_fatal("%s failed", cmd);
	if (ioloop == NULL)
		ioloop = io_loop_create();
	if (ep_pool != NULL)
		pool_unref(&ep_pool);
	ep_pool = pool_alloconly_create("endpoint", 4096);
	p_array_init(&ep_seen, ep_pool, 16);
	p_array_init(&ep_stored, ep_pool, 16);
	ep_script_len = ep_script_pos = 0;
	ep_default = answer;
	ep_conflict_id = NULL;
}

static const struct exchange_seen *seen_at(unsigned int i)
{
	return array_idx(&ep_seen, i);
}

static unsigned int ep_posts(void)
{
	const struct exchange_seen *seen;
	unsigned int n = 0;

	array_foreach(&ep_seen, seen)
		n += seen->post ? 1 : 0;
	return n;
}

/* ---- the service */

static struct approval_service *svc;
static struct stepup_policy *policy;
static unsigned int outstanding;

struct answers {
	unsigned int approved, denied, pending, failed, allowed;
	const char *last_code;
};
static struct answers answers;
static unsigned int ask_wait_secs = 1;

static int
audit_write(const struct stepup_audit_record *rec ATTR_UNUSED,
	    const char **error_r ATTR_UNUSED)
{
	return 0;
}

static void
answer_cb(const struct stepup_approval_answer *a, bool final,
	  void *context ATTR_UNUSED)
{
	if (!final) {
		answers.last_code = p_strdup(ep_pool, a->text);
		return;
	}
	i_assert(outstanding > 0);
	outstanding--;
	switch (a->type) {
	case STEPUP_APPROVAL_ANSWER_APPROVED: answers.approved++; break;
	case STEPUP_APPROVAL_ANSWER_DENIED: answers.denied++; break;
	case STEPUP_APPROVAL_ANSWER_PENDING: answers.pending++; break;
	case STEPUP_APPROVAL_ANSWER_FAILED: answers.failed++; break;
	default: break;
	}
	if (a->allow)
		answers.allowed++;
	if (outstanding == 0)
		io_loop_stop(current_ioloop);
}

static void
ask(const char *user, const char *session, const char *mailbox,
    const char *scope)
{
	struct stepup_approval_ask a;

	i_zero(&a);
	a.rec.event = "approval";
	a.rec.user = user;
	a.rec.service = "imap";
	a.rec.session = session;
	a.rec.ip = "192.0.2.7";
	a.rec.mailbox = mailbox;
	a.rec.rule = "r";
	a.rec.auth = "password";
	a.scope = scope;
	a.grant_secs = 900;
	a.wait_secs = ask_wait_secs;
	a.create = TRUE;
	outstanding++;
	(void)approval_service_ask(svc, &a, answer_cb, NULL);
}

/* until every ask has its final answer */
static void run(void)
{
	if (outstanding > 0)
		io_loop_run(current_ioloop);
}

static void service_start(const char *failmode)
{
	const char *dir, *keyf, *text, *error;
	int fd;

	dir = t_strdup_printf("%s/state", tmp_dir);
	(void)mkdir(dir, 0700);
	keyf = t_strdup_printf("%s/k.key", tmp_dir);
	fd = open(keyf, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0 || write(fd, KEY, 32) != 32)
		i_fatal("%s: %m", keyf);
	i_close_fd(&fd);
	text = t_strdup_printf(
		"version = 1;\nstate = { path = \"%s\"; };\n"
		"approval = { url = \"https://a.example/v1/requests\"; "
		"key_file = \"%s\"; wait = \"1s\"; failmode = \"%s\"; };\n"
		"login = ( { name = \"d\"; require = \"password\"; } );\n"
		"folders = ( { name = \"r\"; mailbox = \"*\"; "
		"require = \"approval\"; } );\n", dir, keyf, failmode);
	if (stepup_policy_parse_buffer("t", text, strlen(text), &policy,
				       &error) < 0)
		i_fatal("policy: %s", error);
	if (keyring == NULL &&
	    stepup_approval_keyring_load(stepup_policy_get_approval(policy),
					 &keyring, &error) < 0)
		i_fatal("%s", error);
	svc = approval_service_init(policy, audit_write);
	approval_service_start(svc);
	i_zero(&answers);
}

static void service_stop(void)
{
	approval_service_deinit(&svc);
	stepup_policy_unref(&policy);
}

/* a test ends */
static void ep_deinit(void)
{
	pool_unref(&ep_pool);
	stepup_approval_keyring_free(&keyring);
	io_loop_destroy(&ioloop);
}

/* ---- tests */

static void test_one_user_cannot_fill_the_table(void)
{
	const struct exchange_seen *seen;
	unsigned int i, posts;
	const char *first_id;

	test_begin("approval runner: one user's sessions are capped, "
		   "given-up requests are freed");
	ep_reset(EP_PENDING);
	service_start("closed");
	/* grant_scope session: 20 sessions, one folder, all give up */
	test_expect_errors(16);
	for (i = 0; i < 20; i++) T_BEGIN {
		ask("mallory", t_strdup_printf("sess%u", i), "HR", "session");
	} T_END;
	run();
	posts = ep_posts();
	test_assert(posts == 4);
	test_assert(answers.pending == 4);
	test_assert(answers.failed == 16);
	test_assert(answers.allowed == 0);
	first_id = seen_at(0)->id;

	/* another folder of the same user, and another user: not blocked */
	i_zero(&answers);
	ask("mallory", "sess0", "Other", "session");
	ask("alice", "a1", "HR", "session");
	run();
	test_assert(answers.pending == 2);
	test_assert(ep_posts() == posts + 2);

	/* the first session again: its request comes back from the state
	   store (nothing of it stayed in memory), POSTed as it was */
	i_zero(&answers);
	ask("mallory", "sess0", "HR", "session");
	run();
	test_assert(answers.pending == 1);
	seen = NULL;
	for (i = array_count(&ep_seen); i > 0; i--) {
		seen = seen_at(i - 1);
		if (strcmp(seen->id, first_id) == 0)
			break;
	}
	test_assert(seen != NULL && seen->post &&
		    strcmp(seen->id, first_id) == 0 &&
		    strcmp(seen->body, seen_at(0)->body) == 0);
	service_stop();
	ep_deinit();
	test_end();
}

static void test_resumed_request_is_posted_as_it_was(void)
{
	const struct exchange_seen *s;

	test_begin("approval runner: after a restart another session "
		   "POSTs the first asker's body");
	ep_reset(EP_PENDING);
	service_start("open");
	ask("alice", "sessA", "HR", "ip");
	run();
	test_assert(answers.pending == 1);
	service_stop();

	service_start("open");
	ask("alice", "sessB", "HR", "ip");
	run();
	/* the same request, not a 409 that failmode open would let
	   through */
	test_assert(answers.pending == 1);
	test_assert(answers.allowed == 0);
	test_assert(ep_posts() >= 2);
	s = seen_at(0);
	test_assert(s->post);
	array_foreach(&ep_seen, s) {
		if (s->post)
			test_assert(strcmp(s->body,
				seen_at(0)->body) == 0);
	}
	service_stop();
	ep_deinit();
	test_end();
}

static void test_conflict_on_resume_starts_again(void)
{
	const struct exchange_seen *s;
	const char *code, *first_id;
	unsigned int i, new_posts = 0;

	test_begin("approval runner: a 409 to a resumed request asks again, "
		   "failmode open does not allow it");
	ep_reset(EP_PENDING);
	service_start("open");
	ask("alice", "sessA", "HR", "ip");
	run();
	code = t_strdup(answers.last_code);
	service_stop();

	first_id = seen_at(0)->id;
	ep_conflict_id = first_id;
	ep_default = EP_APPROVE;
	service_start("open");
	test_expect_errors(1);
	ask("alice", "sessB", "HR", "ip");
	run();
	/* approved by the endpoint, under a new request_id */
	test_assert(answers.approved == 1);
	test_assert(answers.failed == 0);
	for (i = 1; i < array_count(&ep_seen); i++) {
		s = seen_at(i);
		if (s->post && strcmp(s->id, first_id) != 0) {
			new_posts++;
			test_assert(strstr(s->body, t_strdup_printf(
				"\"binding_code\":\"%s\"", code)) != NULL);
			test_assert(strstr(s->body, "\"session\":\"sessB\"") != NULL);
		}
	}
	test_assert(new_posts == 1);
	service_stop();
	ep_deinit();
	test_end();
}

static void test_throttled_post_is_posted_again(void)
{
	const struct exchange_seen *s;

	test_begin("approval runner: a POST answered 503 is POSTed again");
	ep_reset(EP_PENDING);
	ep_script[0] = EP_503;
	ep_script_len = 1;
	service_start("closed");
	/* the retry is due after 1 s: wait long enough for it */
	ask_wait_secs = 3;
	ask("bob", "s1", "HR", "ip");
	run();
	ask_wait_secs = 1;
	test_assert(answers.pending == 1);
	test_assert(array_count(&ep_seen) >= 2);
	s = seen_at(0);
	test_assert(s->post);
	s = seen_at(1);
	test_assert(s->post &&
		    strcmp(s->id, seen_at(0)->id) == 0 &&
		    strcmp(s->body, seen_at(0)->body) == 0);
	service_stop();
	ep_deinit();
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_one_user_cannot_fill_the_table,
		test_resumed_request_is_posted_as_it_was,
		test_conflict_on_resume_starts_again,
		test_throttled_post_is_posted_again,
		NULL
	};
	return test_run_in_tmpdir(tmp_dir, test_functions);
}
