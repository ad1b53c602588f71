/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The approval page without a browser: escaping, forms, cookies,
   sessions, CSRF tokens, the sign-in rate limit, and who may see and
   decide what. The browser tests (tests/integration/
   test_approval_web.py) drive the same code through Chromium. */

#include "lib.h"
#include "str.h"
#include "test-common.h"
#include "test-tmpdir.h"
#include "stepup-compat.h"
#include "stepup-state.h"
#include "stepup-policy.h"
#include "stepup-audit.h"
#include "stepup-totp.h"
#include "buffer.h"
#include "asvc-enroll.h"
#include "asvc-qr.h"
#include "asvc-html.h"
#include "asvc-session.h"
#include "asvc-store.h"
#include "asvc-decide.h"
#include "asvc-web.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#define NOW 1764590401
#define ID_ALICE "0123456789abcdef0123456789abcdef"
#define ID_BOB "ffffffffffffffffffffffffffffffff"

static char tmp_dir[] = "/tmp/stepup-asvc-web-XXXXXX";
static unsigned int dir_seq;

static void test_html(void)
{
	test_begin("approval page: escaping");
	test_assert_strcmp(asvc_html("<script>alert(\"x\")</script>&'"),
		"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;");
	/* control characters dropped, invalid UTF-8 replaced */
	test_assert_strcmp(asvc_html("a\001b\nc\x7f"), "abc");
	test_assert_strcmp(asvc_html("\xff"), "\xef\xbf\xbd");
	test_assert_strcmp(asvc_html("Sécurité"), "Sécurité");
	test_end();
}

static void test_form(void)
{
	test_begin("approval page: forms and cookies");
	test_assert_strcmp(asvc_form_get("a=1&b=x+y%21&c=", "b"), "x y!");
	test_assert_strcmp(asvc_form_get("a=1&b=2", "a"), "1");
	test_assert_strcmp(asvc_form_get("a=1&c=", "c"), "");
	test_assert(asvc_form_get("a=1", "b") == NULL);
	/* given twice, bad escapes, NUL: malformed */
	test_assert(asvc_form_get("a=1&a=2", "a") == NULL);
	test_assert(asvc_form_get("a=%zz", "a") == NULL);
	test_assert(asvc_form_get("a=%4", "a") == NULL);
	test_assert(asvc_form_get("a=%00", "a") == NULL);
	test_assert_strcmp(asvc_cookie_get("x=1; y=2", "y"), "2");
	test_assert_strcmp(asvc_cookie_get("xy=1; x=3", "x"), "3");
	test_assert(asvc_cookie_get("x=1", "y") == NULL);
	test_assert(asvc_cookie_get(NULL, "y") == NULL);
	test_end();
}

static const struct asvc_session_settings session_set = {
	.lifetime_secs = 3600, .idle_secs = 600,
	.max_failures_user = 3, .max_failures_ip = 5, .window_secs = 900,
	.max_sessions = 3,
};

static void test_sessions(void)
{
	struct asvc_sessions *sessions = asvc_sessions_init(&session_set);
	struct asvc_session *s;
	const char *token, *t2;

	test_begin("approval page: sessions");
	s = asvc_session_create(sessions, "carol", ASVC_ROLE_APPROVER, NOW,
				&token);
	test_assert(strlen(token) == ASVC_TOKEN_HEX_LEN);
	test_assert(strlen(s->csrf) == ASVC_TOKEN_HEX_LEN);
	test_assert(strcmp(s->csrf, token) != 0);
	token = t_strdup(token);
	test_assert(asvc_session_lookup(sessions, token, NOW + 599) == s);
	test_assert(asvc_session_csrf_ok(s, s->csrf));
	test_assert(!asvc_session_csrf_ok(s, NULL));
	test_assert(!asvc_session_csrf_ok(s, token));
	/* idle timeout */
	test_assert(asvc_session_lookup(sessions, token, NOW + 599 + 600) ==
		    NULL);
	/* lifetime, even when used all the time */
	s = asvc_session_create(sessions, "carol", ASVC_ROLE_APPROVER, NOW,
				&token);
	token = t_strdup(token);
	test_assert(asvc_session_lookup(sessions, token, NOW + 500) == s);
	test_assert(asvc_session_lookup(sessions, token, NOW + 1000) == s);
	test_assert(asvc_session_lookup(sessions, token, NOW + 1500) == s);
	test_assert(asvc_session_lookup(sessions, token, NOW + 2000) == s);
	test_assert(asvc_session_lookup(sessions, token, NOW + 2500) == s);
	test_assert(asvc_session_lookup(sessions, token, NOW + 3000) == s);
	test_assert(asvc_session_lookup(sessions, token, NOW + 3600) == NULL);
	/* sign-out */
	(void)asvc_session_create(sessions, "dave", ASVC_ROLE_SELF, NOW, &t2);
	t2 = t_strdup(t2);
	asvc_session_destroy(sessions, t2);
	test_assert(asvc_session_lookup(sessions, t2, NOW) == NULL);
	/* a made-up or truncated token */
	test_assert(asvc_session_lookup(sessions, "00", NOW) == NULL);
	test_assert(asvc_session_lookup(sessions, asvc_token_new(), NOW) ==
		    NULL);
	asvc_sessions_deinit(&sessions);
	test_end();
}

static void test_rate_limit(void)
{
	struct asvc_sessions *sessions = asvc_sessions_init(&session_set);
	unsigned int i;

	test_begin("approval page: sign-in rate limit per account and address");
	for (i = 0; i < 3; i++) {
		test_assert(asvc_signin_allowed(sessions, "carol", "192.0.2.1",
						NOW));
		asvc_signin_failed(sessions, "carol", "192.0.2.1", NOW);
	}
	/* the account, from anywhere */
	test_assert(!asvc_signin_allowed(sessions, "carol", "192.0.2.1", NOW));
	test_assert(!asvc_signin_allowed(sessions, "carol", "198.51.100.7",
					 NOW + 10));
	/* another account from that address: not yet */
	test_assert(asvc_signin_allowed(sessions, "dave", "192.0.2.1", NOW));
	asvc_signin_failed(sessions, "dave", "192.0.2.1", NOW);
	asvc_signin_failed(sessions, "erin", "192.0.2.1", NOW);
	/* five failures from the address: every account */
	test_assert(!asvc_signin_allowed(sessions, "frank", "192.0.2.1", NOW));
	test_assert(asvc_signin_allowed(sessions, "frank", "192.0.2.2", NOW));
	/* the window passes */
	test_assert(asvc_signin_allowed(sessions, "carol", "192.0.2.1",
					NOW + 900));
	asvc_sessions_deinit(&sessions);
	test_end();
}

/* the policy as the tests see it: carol approves; rule "self" lets users
   confirm their own requests; rule "hr" does not */
static bool t_is_approver(void *context ATTR_UNUSED, const char *user)
{
	return strcmp(user, "carol") == 0;
}

static bool t_rule_info(void *context ATTR_UNUSED, const char *rule,
			unsigned int *grant_secs_r, bool *self_approve_r)
{
	*grant_secs_r = 1800;
	*self_approve_r = strcmp(rule, "self") == 0;
	return strcmp(rule, "hr") == 0 || strcmp(rule, "self") == 0;
}

static const struct asvc_rules rules = {
	.is_approver = t_is_approver,
	.rule_info = t_rule_info,
};

struct web_ctx {
	struct stepup_state *state;
	struct event *event;
	struct asvc_store *store;
	struct asvc_sessions *sessions;
	struct asvc_web_env env;
	/* the enrollment page (web_init_enroll) */
	struct stepup_policy *policy;
	struct stepup_audit *audit;
	struct asvc_enroll_env enroll;
	const char *dir, *audit_path;
	unsigned int notices;
	/* the browser: its cookies */
	const char *session_cookie, *pre_cookie;
};

static void add_request(struct web_ctx *ctx, const char *id, const char *user,
			const char *rule, const char *code)
{
	struct asvc_request *req = asvc_request_new();
	const char *error;

	req->id = p_strdup(req->pool, id);
	req->user = p_strdup(req->pool, user);
	req->mailbox = "<b>Confidentiel</b>";
	req->rule = p_strdup(req->pool, rule);
	req->binding_code = p_strdup(req->pool, code);
	req->remote_ip = "192.0.2.10";
	req->client = "Thunderbird";
	req->auth = "password";
	req->received = NOW - 30;
	if (asvc_store_add(ctx->store, req, &error) < 0)
		i_fatal("%s", error);
}

static void web_init(struct web_ctx *ctx)
{
	const char *dir = t_strdup_printf("%s/%u", tmp_dir, ++dir_seq);
	const char *error;

	i_zero(ctx);
	ctx->dir = dir;
	if (mkdir(dir, 0700) < 0)
		i_fatal("mkdir: %m");
	if (stepup_state_init_dir(dir, &ctx->state, &error) < 0)
		i_fatal("%s", error);
	ctx->event = event_create(NULL);
	if (asvc_store_init(ctx->state, ctx->event, &ctx->store, &error) < 0)
		i_fatal("%s", error);
	ctx->sessions = asvc_sessions_init(&session_set);
	ctx->env.store = ctx->store;
	ctx->env.sessions = ctx->sessions;
	ctx->env.rules = &rules;
	ctx->env.css = "body{}";
	add_request(ctx, ID_ALICE, "alice", "hr", "42");
	add_request(ctx, ID_BOB, "bob", "self", "17");
}

static void web_deinit(struct web_ctx *ctx)
{
	if (ctx->audit != NULL)
		stepup_audit_close(&ctx->audit);
	if (ctx->policy != NULL)
		stepup_policy_unref(&ctx->policy);
	asvc_sessions_deinit(&ctx->sessions);
	asvc_store_deinit(&ctx->store);
	stepup_state_deinit(&ctx->state);
	event_unref(&ctx->event);
}

static const char *header(const struct asvc_web_response *resp,
			  const char *name, const char *prefix)
{
	const struct asvc_web_header *h;

	array_foreach(&resp->headers, h) {
		if (strcmp(h->name, name) == 0 &&
		    (prefix == NULL || str_begins_with(h->value, prefix)))
			return h->value;
	}
	return NULL;
}

/* keep the cookies a response sets, as a browser does */
static void take_cookies(struct web_ctx *ctx,
			 const struct asvc_web_response *resp)
{
	const struct asvc_web_header *h;
	const char *v, *end;

	array_foreach(&resp->headers, h) {
		if (strcmp(h->name, "Set-Cookie") != 0)
			continue;
		v = strchr(h->value, '=') + 1;
		end = strchr(v, ';');
		v = t_strdup_until(v, end);
		if (str_begins_with(h->value, ASVC_COOKIE_PRE "="))
			ctx->pre_cookie = v[0] == '\0' ? NULL : v;
		else if (str_begins_with(h->value, ASVC_COOKIE_SESSION "="))
			ctx->session_cookie = v[0] == '\0' ? NULL : v;
	}
}

static void web_do(struct web_ctx *ctx, const char *method, const char *path,
		   const char *body, struct asvc_web_response *resp)
{
	struct asvc_web_request req;
	string_t *cookie = t_str_new(256);

	if (ctx->pre_cookie != NULL)
		str_printfa(cookie, ASVC_COOKIE_PRE "=%s; ", ctx->pre_cookie);
	if (ctx->session_cookie != NULL) {
		str_printfa(cookie, ASVC_COOKIE_SESSION "=%s",
			    ctx->session_cookie);
	}
	i_zero(&req);
	req.method = method;
	req.path = path;
	req.cookie = str_c(cookie);
	req.content_type = "application/x-www-form-urlencoded";
	req.body = body;
	req.remote_ip = "192.0.2.99";
	req.now = NOW;
	asvc_web_handle(&ctx->env, &req, resp);
	if (resp->signin_pending) {
		/* the service checks it through Dovecot's auth; here the
		   password is "pw" and the code "123456" */
		bool ok = strcmp(resp->signin.password, "pw") == 0 &&
			strcmp(resp->signin.code, "123456") == 0;
		/* no code: the level of the login is "password" */
		bool pw_only = strcmp(resp->signin.password, "pw") == 0 &&
			resp->signin.code[0] == '\0';

		asvc_web_signin_done(&ctx->env, &req, resp->signin.user,
				     ok ? ASVC_SIGNIN_TOTP : pw_only ?
				     ASVC_SIGNIN_PASSWORD : ASVC_SIGNIN_FAILED,
				     ok ? NULL : "wrong", resp);
	}
	take_cookies(ctx, resp);
}

/* the value of the first hidden csrf field of a page */
static const char *page_csrf(const struct asvc_web_response *resp)
{
	const char *p = strstr(str_c(resp->body), "name=\"csrf\" value=\"");

	if (p == NULL)
		return NULL;
	p += strlen("name=\"csrf\" value=\"");
	return t_strndup(p, ASVC_TOKEN_HEX_LEN);
}

static void sign_in(struct web_ctx *ctx, const char *user,
		    struct asvc_web_response *resp)
{
	web_do(ctx, "GET", "/", "", resp);
	web_do(ctx, "POST", "/signin", t_strdup_printf(
		"user=%s&password=pw&code=123456&csrf=%s", user,
		page_csrf(resp)), resp);
}

static void test_web_signin(void)
{
	struct web_ctx ctx;
	struct asvc_web_response resp;
	const char *csrf;

	test_begin("approval page: sign-in, CSRF, headers");
	web_init(&ctx);
	web_do(&ctx, "GET", "/", "", &resp);
	test_assert(resp.status == 200);
	test_assert(strstr(str_c(resp.body), "action=\"signin\"") != NULL);
	test_assert(header(&resp, "Set-Cookie", ASVC_COOKIE_PRE "=") != NULL);
	test_assert(strstr(header(&resp, "Set-Cookie", NULL),
		    "; Secure; HttpOnly; SameSite=Strict") != NULL);
	test_assert(strstr(header(&resp, "Content-Security-Policy", NULL),
			   "default-src 'none'") != NULL);
	test_assert(strstr(header(&resp, "Content-Security-Policy", NULL),
			   "script") == NULL);
	test_assert(header(&resp, "X-Frame-Options", "DENY") != NULL);
	csrf = page_csrf(&resp);
	test_assert(csrf != NULL && strcmp(csrf, ctx.pre_cookie) == 0);
	/* a sign-in posted from elsewhere: no token */
	web_do(&ctx, "POST", "/signin", "user=carol&password=pw&code=123456",
	       &resp);
	test_assert(resp.status == 403 && ctx.session_cookie == NULL);
	/* wrong code */
	csrf = page_csrf(&resp);
	web_do(&ctx, "POST", "/signin", t_strdup_printf(
		"user=carol&password=pw&code=000000&csrf=%s", csrf), &resp);
	test_assert(resp.status == 200 && ctx.session_cookie == NULL);
	test_assert(strstr(str_c(resp.body), "Sign-in failed") != NULL);
	/* right */
	sign_in(&ctx, "carol", &resp);
	test_assert(ctx.session_cookie != NULL);
	test_assert(strstr(str_c(resp.body), "carol (approver)") != NULL);
	/* nothing secret in the page, the session token least of all */
	test_assert(strstr(str_c(resp.body), ctx.session_cookie) == NULL);
	/* sign-out needs the token too */
	web_do(&ctx, "POST", "/signout", "csrf=0", &resp);
	test_assert(resp.status == 403 && ctx.session_cookie != NULL);
	web_do(&ctx, "POST", "/signout", t_strdup_printf("csrf=%s",
	       page_csrf(&resp) == NULL ? "" : ""), &resp);
	test_assert(resp.status == 403);
	web_deinit(&ctx);
	test_end();
}

static void test_web_rate_limit(void)
{
	struct web_ctx ctx;
	struct asvc_web_response resp;
	unsigned int i;

	test_begin("approval page: repeated failures refuse sign-in");
	web_init(&ctx);
	web_do(&ctx, "GET", "/", "", &resp);
	for (i = 0; i < 3; i++) {
		web_do(&ctx, "POST", "/signin", t_strdup_printf(
			"user=carol&password=bad&code=1&csrf=%s",
			page_csrf(&resp)), &resp);
		test_assert(resp.status == 200);
	}
	/* now even the right password and code are not tried */
	web_do(&ctx, "POST", "/signin", t_strdup_printf(
		"user=carol&password=pw&code=123456&csrf=%s",
		page_csrf(&resp)), &resp);
	test_assert(resp.status == 429 && ctx.session_cookie == NULL);
	web_deinit(&ctx);
	test_end();
}

static void test_web_approver(void)
{
	struct web_ctx ctx;
	struct asvc_web_response resp;
	struct asvc_request *req;
	const char *body, *csrf;

	test_begin("approval page: an approver sees, approves, denies");
	web_init(&ctx);
	sign_in(&ctx, "carol", &resp);
	body = str_c(resp.body);
	/* both requests, every fact, escaped */
	test_assert(strstr(body, "r-" ID_ALICE) != NULL);
	test_assert(strstr(body, "r-" ID_BOB) != NULL);
	test_assert(strstr(body, "&lt;b&gt;Confidentiel&lt;/b&gt;") != NULL);
	test_assert(strstr(body, "<b>Confidentiel") == NULL);
	test_assert(strstr(body, "192.0.2.10") != NULL);
	test_assert(strstr(body, "Thunderbird") != NULL);
	test_assert(strstr(body, ">42<") != NULL);
	test_assert(strstr(body, "30 s") != NULL);
	csrf = t_strdup(page_csrf(&resp));
	/* a forged post without the token changes nothing */
	web_do(&ctx, "POST", "/approve", "id=" ID_ALICE "&minutes=30", &resp);
	test_assert(resp.status == 403);
	test_assert(asvc_store_find(ctx.store, ID_ALICE)->status ==
		    ASVC_STATUS_PENDING);
	/* longer than the rule's grant (30 min): capped */
	web_do(&ctx, "POST", "/approve", t_strdup_printf(
		"csrf=%s&id=" ID_ALICE "&minutes=600&reason=ticket+4711",
		csrf), &resp);
	test_assert(resp.status == 200);
	req = asvc_store_find(ctx.store, ID_ALICE);
	test_assert(req->status == ASVC_STATUS_APPROVED);
	test_assert(req->grant_until == NOW + 1800);
	test_assert_strcmp(req->approver, "carol");
	test_assert_strcmp(req->reason, "ticket 4711");
	/* once decided it stays so */
	web_do(&ctx, "POST", "/deny", t_strdup_printf(
		"csrf=%s&id=" ID_ALICE "&reason=x", csrf), &resp);
	test_assert(req->status == ASVC_STATUS_APPROVED);
	web_do(&ctx, "POST", "/deny", t_strdup_printf(
		"csrf=%s&id=" ID_BOB "&reason=not+now", csrf), &resp);
	req = asvc_store_find(ctx.store, ID_BOB);
	test_assert(req->status == ASVC_STATUS_DENIED);
	test_assert_strcmp(req->reason, "not now");
	test_assert(strstr(str_c(resp.body), "No pending requests") != NULL);
	web_deinit(&ctx);
	test_end();
}

static void test_web_self(void)
{
	struct web_ctx ctx;
	struct asvc_web_response resp;
	struct asvc_request *req;
	const char *body, *csrf;

	test_begin("approval page: users see only their own self_approve requests");
	web_init(&ctx);
	/* alice's rule does not allow it: she sees nothing */
	sign_in(&ctx, "alice", &resp);
	body = str_c(resp.body);
	test_assert(strstr(body, "No pending requests") != NULL);
	test_assert(strstr(body, ID_ALICE) == NULL && strstr(body, ID_BOB) == NULL);
	csrf = t_strdup(page_csrf(&resp));
	/* nor may she decide on bob's by posting its id */
	web_do(&ctx, "POST", "/approve", t_strdup_printf(
		"csrf=%s&id=" ID_BOB "&minutes=5", csrf), &resp);
	web_do(&ctx, "POST", "/confirm", t_strdup_printf(
		"csrf=%s&id=" ID_BOB "&code=17", csrf), &resp);
	web_do(&ctx, "POST", "/confirm", t_strdup_printf(
		"csrf=%s&id=" ID_ALICE "&code=42", csrf), &resp);
	test_assert(asvc_store_find(ctx.store, ID_BOB)->status ==
		    ASVC_STATUS_PENDING);
	test_assert(asvc_store_find(ctx.store, ID_ALICE)->status ==
		    ASVC_STATUS_PENDING);
	web_deinit(&ctx);

	web_init(&ctx);
	sign_in(&ctx, "bob", &resp);
	body = str_c(resp.body);
	test_assert(strstr(body, "r-" ID_BOB) != NULL);
	test_assert(strstr(body, ID_ALICE) == NULL);
	/* the binding code is what bob must type: not shown */
	test_assert(strstr(body, ">17<") == NULL);
	csrf = t_strdup(page_csrf(&resp));
	/* he cannot approve it as an approver would */
	web_do(&ctx, "POST", "/approve", t_strdup_printf(
		"csrf=%s&id=" ID_BOB "&minutes=5", csrf), &resp);
	test_assert(asvc_store_find(ctx.store, ID_BOB)->status ==
		    ASVC_STATUS_PENDING);
	web_do(&ctx, "POST", "/confirm", t_strdup_printf(
		"csrf=%s&id=" ID_BOB "&code=17", csrf), &resp);
	req = asvc_store_find(ctx.store, ID_BOB);
	test_assert(req->status == ASVC_STATUS_APPROVED);
	test_assert(req->grant_until == NOW + 1800);
	test_assert(req->self_confirmed);
	web_deinit(&ctx);

	/* a wrong binding code denies */
	web_init(&ctx);
	sign_in(&ctx, "bob", &resp);
	csrf = t_strdup(page_csrf(&resp));
	web_do(&ctx, "POST", "/confirm", t_strdup_printf(
		"csrf=%s&id=" ID_BOB "&code=18", csrf), &resp);
	req = asvc_store_find(ctx.store, ID_BOB);
	test_assert(req->status == ASVC_STATUS_DENIED);
	test_assert_strcmp(req->reason, "wrong binding code");
	web_deinit(&ctx);
	test_end();
}

/* ---- the enrollment page */

static void t_notify(enum stepup_notice_kind kind ATTR_UNUSED,
		     const char *user ATTR_UNUSED,
		     const char *detail ATTR_UNUSED, void *context)
{
	struct web_ctx *ctx = context;

	ctx->notices++;
}

static void web_init_enroll(struct web_ctx *ctx, const char *enrollment)
{
	const char *text, *error;

	web_init(ctx);
	ctx->audit_path = t_strconcat(ctx->dir, "/audit.jsonl", NULL);
	text = t_strdup_printf(
		"version = 1;\n"
		"state = { path = \"%s\"; };\n"
		"networks = { internal = [ \"192.0.2.0/24\" ]; };\n"
		"enrollment = { %s };\n"
		"login = ( { name = \"default\"; require = \"totp\"; } );\n",
		ctx->dir, enrollment);
	if (stepup_policy_parse_buffer("test", text, strlen(text),
				       &ctx->policy, &error) < 0 ||
	    stepup_audit_open(ctx->audit_path, &ctx->audit, &error) < 0)
		i_fatal("%s", error);
	ctx->enroll.policy = ctx->policy;
	ctx->enroll.state = ctx->state;
	ctx->enroll.audit = ctx->audit;
	ctx->enroll.store = ctx->store;
	ctx->enroll.notify = t_notify;
	ctx->enroll.notify_context = ctx;
	ctx->env.enroll = &ctx->enroll;
}

static const char *read_all(const char *path)
{
	string_t *str = t_str_new(4096);
	char buf[1024];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return "";
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		str_append_data(str, buf, n);
	fclose(f);
	return str_c(str);
}

/* the code of the secret in the page's otpauth URI, now */
static const char *page_code(const struct asvc_web_response *resp)
{
	struct stepup_totp_settings set;
	const char *p = strstr(str_c(resp->body), "secret="), *error;
	buffer_t *secret = t_buffer_create(64);
	char code[9];

	if (p == NULL)
		return "none";
	p += strlen("secret=");
	if (stepup_base32_decode(t_strcut(t_strcut(p, '&'), '"'), secret) < 0)
		return "none";
	i_zero(&set);
	set.algorithm = STEPUP_TOTP_SHA1;
	set.digits = 6;
	set.period = 30;
	set.window = 1;
	if (stepup_totp_generate(&set, secret->data, secret->used, time(NULL),
				 code, &error) < 0)
		i_fatal("%s", error);
	return t_strdup(code);
}

static void enroll_sign_in(struct web_ctx *ctx, const char *user,
			   const char *code, struct asvc_web_response *resp)
{
	web_do(ctx, "GET", "/", "", resp);
	web_do(ctx, "POST", "/signin", t_strdup_printf(
		"user=%s&password=pw&code=%s&csrf=%s", user, code,
		page_csrf(resp)), resp);
}

static void test_qr(void)
{
	string_t *out = t_str_new(4096);
	char long_text[4000];

	test_begin("enrollment page: QR code as inline SVG");
	test_assert(asvc_qr_svg(out, "otpauth://totp/T:a?secret=AAAA") == 0);
	test_assert(str_begins_with(str_c(out), "<svg class=\"qr\""));
	test_assert(strstr(str_c(out), "<path fill=\"#000\" d=\"M") != NULL);
	test_assert(strstr(str_c(out), "otpauth") == NULL);
	memset(long_text, 'a', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	str_truncate(out, 0);
	test_assert(asvc_qr_svg(out, long_text) < 0);
	test_end();
}

static void test_enroll_invite(void)
{
	struct web_ctx ctx;
	struct asvc_web_response resp;
	const char *invite, *csrf, *error, *body, *link, *token, *audit;
	char *download;

	test_begin("enrollment page: invitation, confirm, recovery codes once");
	web_init_enroll(&ctx, "invite = true; notify = true;");
	test_assert(stepup_state_invite_add(ctx.state, "zoe", 0, time(NULL),
					    &invite, &error) == 0);
	invite = t_strdup(invite);
	/* not enrolled: the password alone signs in, for this page only */
	enroll_sign_in(&ctx, "zoe", "", &resp);
	test_assert(ctx.session_cookie != NULL);
	body = str_c(resp.body);
	test_assert(strstr(body, "name=\"invite\"") != NULL);
	test_assert(strstr(body, "<nav>") == NULL);
	csrf = t_strdup(page_csrf(&resp));
	/* nothing else for that session */
	web_do(&ctx, "POST", "/approve", t_strdup_printf(
		"csrf=%s&id=" ID_BOB "&minutes=5", csrf), &resp);
	test_assert(asvc_store_find(ctx.store, ID_BOB)->status ==
		    ASVC_STATUS_PENDING);
	test_assert(strstr(str_c(resp.body), "name=\"invite\"") != NULL);
	/* CSRF */
	web_do(&ctx, "POST", "/enroll-begin", t_strdup_printf(
		"invite=%s", invite), &resp);
	test_assert(resp.status == 403);
	/* no invitation, a wrong one: refused, recorded */
	web_do(&ctx, "POST", "/enroll-begin", t_strdup_printf(
		"csrf=%s&invite=", csrf), &resp);
	test_assert(strstr(str_c(resp.body),
			   "Refused: an invitation code is needed") != NULL);
	web_do(&ctx, "POST", "/enroll-begin", t_strdup_printf(
		"csrf=%s&invite=abcd-efgh-jkmn-pqrs", csrf), &resp);
	test_assert(strstr(str_c(resp.body), "Refused: wrong invitation "
			   "code") != NULL);
	test_assert(strstr(str_c(resp.body), "otpauth://") == NULL);
	/* the right one: the secret, then a wrong code ends the try */
	web_do(&ctx, "POST", "/enroll-begin", t_strdup_printf(
		"csrf=%s&invite=%s", csrf, invite), &resp);
	test_assert(strstr(str_c(resp.body), "<svg class=\"qr\"") != NULL);
	test_assert(strstr(str_c(resp.body), "otpauth://totp/") != NULL);
	web_do(&ctx, "POST", "/enroll-confirm", t_strdup_printf(
		"csrf=%s&code=000000", csrf), &resp);
	test_assert(strstr(str_c(resp.body), "wrong confirmation code") !=
		    NULL);
	test_assert(stepup_state_is_enrolled(ctx.state, "zoe", &error) == 0);
	/* the invitation is still good */
	web_do(&ctx, "POST", "/enroll-begin", t_strdup_printf(
		"csrf=%s&invite=%s", csrf, invite), &resp);
	web_do(&ctx, "POST", "/enroll-confirm", t_strdup_printf(
		"csrf=%s&code=%s", csrf, page_code(&resp)), &resp);
	body = str_c(resp.body);
	test_assert(strstr(body, "id=\"recovery-codes\"") != NULL);
	test_assert(stepup_state_is_enrolled(ctx.state, "zoe", &error) == 1);
	test_assert(ctx.notices == 1);
	/* the download, once */
	link = strstr(body, "href=\"recovery-codes/");
	test_assert(link != NULL);
	if (link != NULL) {
		token = t_strndup(link + strlen("href=\"recovery-codes/"),
				  ASVC_TOKEN_HEX_LEN);
		web_do(&ctx, "GET", "/recovery-codes/0", "", &resp);
		test_assert(resp.status == 404);
		web_do(&ctx, "GET", t_strconcat("/recovery-codes/", token,
						NULL), "", &resp);
		test_assert(resp.status == 200);
		test_assert(strncmp(resp.content_type, "text/plain", 10) == 0);
		download = str_c_modifiable(resp.body);
		test_assert(strstr(download, "Recovery codes for zoe") != NULL);
		web_do(&ctx, "GET", t_strconcat("/recovery-codes/", token,
						NULL), "", &resp);
		test_assert(resp.status == 404);
	}
	/* enrolled now: the password-only session can do nothing more, a
	   new password-only sign-in is refused */
	web_do(&ctx, "GET", "/enroll", "", &resp);
	test_assert(strstr(str_c(resp.body), "Sign out, then sign in") !=
		    NULL);
	ctx.session_cookie = NULL;
	enroll_sign_in(&ctx, "zoe", "", &resp);
	test_assert(ctx.session_cookie == NULL);
	audit = read_all(ctx.audit_path);
	test_assert(strstr(audit, "\"reason\":\"wrong invitation code\","
			   "\"auth\":null,\"by\":\"self\"") != NULL);
	test_assert(strstr(audit, "\"reason\":\"TOTP enrolled\"") != NULL);
	test_assert(strstr(audit, "password alone refused") != NULL);
	test_assert(strstr(audit, invite) == NULL);
	test_assert(strstr(audit, "\"service\":\"stepup-approval\"") != NULL);
	web_deinit(&ctx);
	test_end();
}

static void test_enroll_networks_and_reenroll(void)
{
	struct web_ctx ctx;
	struct asvc_web_response resp;
	const char *csrf, *error;
	struct asvc_request *req;

	test_begin("enrollment page: networks, re-enrollment ends grants");
	/* web_do comes from 192.0.2.99 */
	web_init_enroll(&ctx, "invite = false; networks = [ \"internal\" ];");
	enroll_sign_in(&ctx, "bob", "", &resp);
	csrf = t_strdup(page_csrf(&resp));
	web_do(&ctx, "POST", "/enroll-begin", t_strdup_printf("csrf=%s", csrf),
	       &resp);
	web_do(&ctx, "POST", "/enroll-confirm", t_strdup_printf(
		"csrf=%s&code=%s", csrf, page_code(&resp)), &resp);
	test_assert(stepup_state_is_enrolled(ctx.state, "bob", &error) == 1);
	test_assert(ctx.notices == 0);
	/* bob's approved request ... */
	req = asvc_store_find(ctx.store, ID_BOB);
	test_assert(asvc_approve(ctx.store, req, "carol", 600, NULL, NOW,
				 &error) == 0);
	/* ... signed in with a code: re-enrollment needs a current one */
	ctx.session_cookie = NULL;
	sign_in(&ctx, "bob", &resp);
	test_assert(strstr(str_c(resp.body), "<nav>") != NULL);
	web_do(&ctx, "GET", "/enroll", "", &resp);
	test_assert(strstr(str_c(resp.body), "name=\"proof\"") != NULL);
	csrf = t_strdup(page_csrf(&resp));
	web_do(&ctx, "POST", "/enroll-begin", t_strdup_printf(
		"csrf=%s&proof=", csrf), &resp);
	test_assert(strstr(str_c(resp.body), "needs a current code") != NULL);
	{
		struct stepup_user_status st;
		const char *const *codes;

		/* new recovery codes: one of them is the proof */
		test_assert(stepup_state_new_recovery_codes(ctx.state, "bob",
			&codes, &error) == 1);
		web_do(&ctx, "POST", "/enroll-begin", t_strdup_printf(
			"csrf=%s&proof=%s", csrf, codes[0]), &resp);
		test_assert(strstr(str_c(resp.body), "otpauth://") != NULL);
		web_do(&ctx, "POST", "/enroll-confirm", t_strdup_printf(
			"csrf=%s&code=%s", csrf, page_code(&resp)), &resp);
		test_assert(strstr(str_c(resp.body), "moved to your new "
				   "phone") != NULL);
		test_assert(stepup_state_get_status(ctx.state, "bob", &st,
						    &error) == 1);
		test_assert(st.recovery_codes_left == 10);
	}
	req = asvc_store_find(ctx.store, ID_BOB);
	test_assert(req->status == ASVC_STATUS_EXPIRED);
	test_assert(asvc_store_find(ctx.store, ID_ALICE)->status ==
		    ASVC_STATUS_PENDING);
	web_deinit(&ctx);

	/* from outside enrollment.networks: refused */
	web_init_enroll(&ctx, "invite = false; networks = [ \"10.0.0.0/8\" ];");
	enroll_sign_in(&ctx, "dan", "", &resp);
	web_do(&ctx, "POST", "/enroll-begin", t_strdup_printf(
		"csrf=%s", page_csrf(&resp)), &resp);
	test_assert(strstr(str_c(resp.body), "not allowed from this "
			   "network") != NULL);
	test_assert(strstr(read_all(ctx.audit_path), "\"ip\":\"192.0.2.99\"") !=
		    NULL);
	web_deinit(&ctx);

	/* no audit log that can be written: no enrollment */
	web_init_enroll(&ctx, "invite = false;");
	ctx.enroll.audit_unavailable = TRUE;
	enroll_sign_in(&ctx, "dan", "", &resp);
	web_do(&ctx, "POST", "/enroll-begin", t_strdup_printf(
		"csrf=%s", page_csrf(&resp)), &resp);
	test_assert(strstr(str_c(resp.body), "not possible right now") !=
		    NULL);
	test_assert(strstr(str_c(resp.body), "otpauth://") == NULL);
	web_deinit(&ctx);
	test_end();
}

static void test_apppw(void)
{
	struct web_ctx ctx;
	struct asvc_web_response resp;
	struct stepup_user_status st;
	const char *csrf, *error, *body, *p, *password, *label;
	int ret;

	test_begin("app passwords page: create within limits, shown once, revoke");
	web_init_enroll(&ctx, "invite = false; notify = true; "
			"app_password_max = \"30d\";");
	/* a password-only session has no app passwords */
	enroll_sign_in(&ctx, "erin", "", &resp);
	csrf = t_strdup(page_csrf(&resp));
	web_do(&ctx, "POST", "/app-password-add", t_strdup_printf(
		"csrf=%s&label=x&days=7", csrf), &resp);
	test_assert(stepup_state_get_status(ctx.state, "erin", &st,
					    &error) == 0);
	web_do(&ctx, "GET", "/app-passwords", "", &resp);
	test_assert(strstr(str_c(resp.body), "app-password-add") == NULL);

	ctx.session_cookie = NULL;
	sign_in(&ctx, "erin", &resp);
	web_do(&ctx, "GET", "/app-passwords", "", &resp);
	body = str_c(resp.body);
	test_assert(strstr(body, "value=\"30\"") != NULL);
	test_assert(strstr(body, "value=\"90\"") == NULL);
	csrf = t_strdup(page_csrf(&resp));
	/* over the policy's limit, a bad network, a bad label, no CSRF */
	web_do(&ctx, "POST", "/app-password-add", t_strdup_printf(
		"csrf=%s&label=phone&days=31", csrf), &resp);
	test_assert(strstr(str_c(resp.body), "at most 30 days") != NULL);
	web_do(&ctx, "POST", "/app-password-add", t_strdup_printf(
		"csrf=%s&label=phone&days=7&networks=10.0.0.0/33", csrf), &resp);
	test_assert(strstr(str_c(resp.body), "Networks:") != NULL);
	web_do(&ctx, "POST", "/app-password-add", t_strdup_printf(
		"csrf=%s&label=a%%2Cb&days=7", csrf), &resp);
	test_assert(strstr(str_c(resp.body), "Give the device a name") !=
		    NULL);
	web_do(&ctx, "POST", "/app-password-add", "label=phone&days=7", &resp);
	test_assert(resp.status == 403);
	test_assert(stepup_state_get_status(ctx.state, "erin", &st,
					    &error) == 0);
	/* right */
	web_do(&ctx, "POST", "/app-password-add", t_strdup_printf(
		"csrf=%s&label=%%3Cb%%3Ephone&days=7&networks=192.0.2.0%%2F24"
		"&proto_imap=1&proto_pop3=1", csrf), &resp);
	body = str_c(resp.body);
	p = strstr(body, "id=\"app-password\">");
	test_assert(p != NULL);
	password = p == NULL ? "" : t_strcut(p + strlen("id=\"app-password\">"),
					     '<');
	test_assert(strlen(password) >= 16);
	test_assert(strstr(body, "<b>phone") == NULL);
	test_assert(ctx.notices == 1);
	ret = stepup_state_get_status(ctx.state, "erin", &st, &error);
	test_assert(ret == 1 && array_count(&st.app_passwords) == 1);
	if (ret == 1 && array_count(&st.app_passwords) == 1) {
		const struct stepup_app_password_info *app =
			array_front(&st.app_passwords);

		test_assert_strcmp(app->label, "<b>phone");
		test_assert_strcmp(app->networks, "192.0.2.0/24");
		test_assert_strcmp(app->protocols, "imap,pop3");
		test_assert(app->expires == NOW + 7 * 86400);
	}
	/* taken */
	web_do(&ctx, "POST", "/app-password-add", t_strdup_printf(
		"csrf=%s&label=%%3Cb%%3Ephone&days=7", csrf), &resp);
	test_assert(strstr(str_c(resp.body), "already have") != NULL);
	/* shown once */
	web_do(&ctx, "GET", "/app-passwords", "", &resp);
	test_assert(strstr(str_c(resp.body), password) == NULL);
	test_assert(strstr(str_c(resp.body), "&lt;b&gt;phone") != NULL);
	/* revoke */
	label = "%3Cb%3Ephone";
	web_do(&ctx, "POST", "/app-password-revoke", t_strdup_printf(
		"csrf=%s&label=%s", csrf, label), &resp);
	test_assert(strstr(str_c(resp.body), "Revoked") != NULL);
	/* (erin is not enrolled: no state is left at all) */
	ret = stepup_state_get_status(ctx.state, "erin", &st, &error);
	test_assert(ret == 0 ||
		    (ret == 1 && array_count(&st.app_passwords) == 0));
	web_do(&ctx, "POST", "/app-password-revoke", t_strdup_printf(
		"csrf=%s&label=%s", csrf, label), &resp);
	test_assert(strstr(str_c(resp.body), "Nothing was revoked") != NULL);
	body = read_all(ctx.audit_path);
	test_assert(strstr(body, "\"reason\":\"app password '<b>phone' added "
			   "(7 days, networks 192.0.2.0/24, protocols imap,"
			   "pop3)\",\"auth\":null,\"by\":\"self\"") != NULL);
	test_assert(strstr(body, "app password '<b>phone' revoked") != NULL);
	test_assert(strstr(body, "not revoked: no such label") != NULL);
	test_assert(strstr(body, password) == NULL);
	web_deinit(&ctx);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_html,
		test_form,
		test_sessions,
		test_rate_limit,
		test_web_signin,
		test_web_rate_limit,
		test_web_approver,
		test_web_self,
		test_qr,
		test_enroll_invite,
		test_enroll_networks_and_reenroll,
		test_apppw,
		NULL
	};
	return test_run_in_tmpdir(tmp_dir, test_functions);
}
