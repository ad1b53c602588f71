/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The approval service's core: request records, the store (persisted in
   the state store, read back as after a restart), and protocol v1 as the
   endpoint speaks it, checked with the client side's own verifier
   (approval/approval-response.c). */

#include "lib.h"
#include "str.h"
#include "test-common.h"
#include "test-tmpdir.h"
#include "stepup-compat.h"
#include "stepup-state.h"
#include "approval-key.h"
#include "approval-sign.h"
#include "approval-response.h"
#include "asvc-request.h"
#include "asvc-store.h"
#include "asvc-proto.h"
#include "asvc-decide.h"
#include "asvc-admin.h"
#include "asvc-settings.h"

#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>

/* the worked example of doc/approvals.md (tests/unit/test-approval-proto.c) */
#define EX_KEY "0123456789abcdef0123456789abcdef"
#define EX_HOST "approvals.example.org"
#define EX_PATH "/v1/requests"
#define EX_TS "1764590400"
#define EX_NONCE "00112233445566778899aabbccddeeff"
#define EX_ID "0123456789abcdef0123456789abcdef"
#define EX_BODY \
	"{\"version\":1,\"request_id\":\"0123456789abcdef0123456789abcdef\"," \
	"\"user\":\"alice@example.org\",\"mailbox\":\"Confidentiel\"," \
	"\"session\":\"QzQkXq8bYgR/AAAB\",\"remote_ip\":\"192.0.2.10\"," \
	"\"protocol\":\"imap\",\"client\":\"Thunderbird\",\"rule\":\"hr\"," \
	"\"auth\":\"password\",\"binding_code\":\"42\"," \
	"\"created\":1764590400,\"expires\":1764591300}"
#define EX_REQUEST_SIG \
	"v1=1:e0b544bd84f8c752eeebef5a9b286b4046a72a33e4d7b80b9440e03f09638160"
#define NOW 1764590401
#define ID2 "ffffffffffffffffffffffffffffffff"

static char tmp_dir[] = "/tmp/stepup-asvc-XXXXXX";
static unsigned int dir_seq;
static struct event *test_event;

static const char *new_dir(void)
{
	const char *dir = t_strdup_printf("%s/%u", tmp_dir, ++dir_seq);

	if (mkdir(dir, 0700) < 0)
		i_fatal("mkdir(%s): %m", dir);
	return dir;
}

static struct stepup_state *open_state(const char *dir)
{
	if (test_event == NULL)
		test_event = event_create(NULL);

	struct stepup_state *state;
	const char *error;

	if (stepup_state_init_dir(dir, &state, &error) < 0)
		i_fatal("%s", error);
	return state;
}

static void test_event_deinit(void)
{
	event_unref(&test_event);
}

static struct asvc_store *open_store(struct stepup_state *state)
{
	struct asvc_store *store;
	const char *error;

	if (asvc_store_init(state, test_event, &store, &error) < 0)
		i_fatal("%s", error);
	return store;
}

static struct stepup_approval_keyring *keyring_new(void)
{
	struct stepup_approval_keyring *keyring;
	const char *error;

	keyring = stepup_approval_keyring_create();
	if (stepup_approval_keyring_add(keyring, "1", EX_KEY, strlen(EX_KEY),
					&error) < 0)
		i_fatal("%s", error);
	return keyring;
}

static void test_request_json(void)
{
	struct asvc_request *req;
	const char *error;
	static const char *const bad[] = {
		"{\"version\":2,\"request_id\":\"" EX_ID "\",\"user\":\"a\","
		"\"rule\":\"r\",\"binding_code\":\"42\"}",
		"{\"request_id\":\"" EX_ID "\",\"user\":\"a\",\"rule\":\"r\","
		"\"binding_code\":\"42\"}",
		"{\"version\":1,\"request_id\":\"0123\",\"user\":\"a\","
		"\"rule\":\"r\",\"binding_code\":\"42\"}",
		"{\"version\":1,\"request_id\":\"" EX_ID "\",\"user\":\"\","
		"\"rule\":\"r\",\"binding_code\":\"42\"}",
		"{\"version\":1,\"request_id\":\"" EX_ID "\",\"user\":\"a\","
		"\"rule\":\"r\",\"binding_code\":\"4x\"}",
		"{\"version\":1,\"request_id\":\"" EX_ID "\",\"user\":\"a\","
		"\"user\":\"b\",\"rule\":\"r\",\"binding_code\":\"42\"}",
		"{\"version\":1,\"request_id\":\"" EX_ID "\",\"user\":7,"
		"\"rule\":\"r\",\"binding_code\":\"42\"}",
		"{\"version\":1,\"request_id\":\"" EX_ID "\",\"user\":\"a\","
		"\"rule\":\"r\",\"binding_code\":\"42\"",
		"not json",
	};
	unsigned int i;

	test_begin("approval service: request JSON");
	test_assert(asvc_request_parse_json(EX_BODY, strlen(EX_BODY), &req,
					    &error) == 0);
	test_assert_strcmp(req->id, EX_ID);
	test_assert_strcmp(req->user, "alice@example.org");
	test_assert_strcmp(req->mailbox, "Confidentiel");
	test_assert_strcmp(req->client, "Thunderbird");
	test_assert_strcmp(req->binding_code, "42");
	test_assert(req->created == 1764590400 && req->expires == 1764591300);
	asvc_request_free(&req);
	for (i = 0; i < N_ELEMENTS(bad); i++) {
		test_assert_idx(asvc_request_parse_json(bad[i], strlen(bad[i]),
						&req, &error) < 0, i);
	}
	test_end();
}

static void test_request_record(void)
{
	struct asvc_request *req, *back;
	string_t *text = t_str_new(256);
	const char *error;

	test_begin("approval service: request record round trip");
	req = asvc_request_new();
	req->id = EX_ID;
	req->user = "al\tice";
	req->mailbox = "Sec\"ret\nline\001";
	req->rule = "hr";
	req->binding_code = "07";
	req->received = NOW;
	req->status = ASVC_STATUS_APPROVED;
	req->grant_until = NOW + 900;
	req->approver = "carol";
	req->reason = "ticket 4711";
	asvc_request_format(text, req);
	test_assert(asvc_request_parse(str_c(text), &back, &error) == 0);
	test_assert_strcmp(back->user, "al\tice");
	test_assert_strcmp(back->mailbox, "Sec\"ret\nline\001");
	test_assert(back->status == ASVC_STATUS_APPROVED);
	test_assert(back->grant_until == NOW + 900);
	test_assert_strcmp(back->approver, "carol");
	test_assert_strcmp(back->reason, "ticket 4711");
	asvc_request_free(&back);
	test_assert(asvc_request_parse("stepup-approval-request 2\n", &back,
				       &error) < 0);
	test_assert(asvc_request_parse("stepup-approval-request 1\nid\t"
				       EX_ID "\nbogus\tx\n", &back,
				       &error) < 0);
	asvc_request_free(&req);
	test_end();
}

static struct asvc_request *example_request(const char *id)
{
	struct asvc_request *req;
	const char *error;

	if (asvc_request_parse_json(EX_BODY, strlen(EX_BODY), &req,
				    &error) < 0)
		i_fatal("%s", error);
	req->id = p_strdup(req->pool, id);
	req->received = NOW;
	return req;
}

static void test_store_persists(void)
{
	const char *dir = new_dir(), *error;
	struct stepup_state *state = open_state(dir);
	struct asvc_store *store = open_store(state);
	struct asvc_request *req;
	const char *id2 = "ffffffffffffffffffffffffffffffff";

	test_begin("approval service: store survives a restart");
	test_assert(asvc_store_add(store, example_request(EX_ID), &error) == 0);
	test_assert(asvc_store_add(store, example_request(id2), &error) == 0);
	req = asvc_store_find(store, id2);
	test_assert(asvc_approve(store, req, "carol", 600, "ok", NOW,
				 &error) == 0);
	test_assert(asvc_approve(store, req, "carol", 600, "ok", NOW,
				 &error) < 0);
	test_assert(asvc_store_use_nonce(store, EX_NONCE, NOW, 601,
					 &error) == 1);
	test_assert(asvc_store_use_nonce(store, EX_NONCE, NOW, 601,
					 &error) == 0);
	asvc_store_deinit(&store);
	stepup_state_deinit(&state);

	/* as after a restart */
	state = open_state(dir);
	store = open_store(state);
	test_assert(array_count(asvc_store_get_all(store)) == 2);
	req = asvc_store_find(store, EX_ID);
	test_assert(req != NULL && req->status == ASVC_STATUS_PENDING);
	req = asvc_store_find(store, id2);
	test_assert(req != NULL && req->status == ASVC_STATUS_APPROVED &&
		    req->grant_until == NOW + 600 &&
		    strcmp(req->approver, "carol") == 0);
	test_assert(asvc_store_use_nonce(store, EX_NONCE, NOW + 1, 601,
					 &error) == 0);
	/* outside the window the nonce is forgotten */
	test_assert(asvc_store_use_nonce(store, EX_NONCE, NOW + 700, 601,
					 &error) == 1);

	/* pending past the lifetime and grants past their end expire;
	   decided requests go after keep */
	test_assert(asvc_store_expire(store, NOW + 599, 900, 3600) == 0);
	test_assert(asvc_store_expire(store, NOW + 600, 900, 3600) == 1);
	test_assert(asvc_store_find(store, id2)->status ==
		    ASVC_STATUS_EXPIRED);
	test_assert(asvc_store_expire(store, NOW + 900, 900, 3600) == 1);
	test_assert(asvc_store_find(store, EX_ID)->status ==
		    ASVC_STATUS_EXPIRED);
	(void)asvc_store_expire(store, NOW + 900 + 3600, 900, 3600);
	test_assert(array_count(asvc_store_get_all(store)) == 0);
	asvc_store_deinit(&store);
	stepup_state_deinit(&state);

	state = open_state(dir);
	store = open_store(state);
	test_assert(array_count(asvc_store_get_all(store)) == 0);
	asvc_store_deinit(&store);
	stepup_state_deinit(&state);
	test_end();
}

static void test_store_bad_files(void)
{
	const char *dir = new_dir(), *error;
	struct stepup_state *state = open_state(dir);
	struct asvc_store *store = open_store(state);
	string_t *cmd = t_str_new(128);

	test_begin("approval service: store files with a wrong mode refused");
	test_assert(asvc_store_add(store, example_request(EX_ID), &error) == 0);
	asvc_store_deinit(&store);
	stepup_state_deinit(&state);
	/* every record file of the directory group-writable */
	str_printfa(cmd, "chmod 0660 %s/*", dir);
	test_assert(system(str_c(cmd)) == 0);
	state = open_state(dir);
	test_assert(asvc_store_init(state, test_event, &store, &error) < 0);
	test_assert(strstr(error, "mode") != NULL);
	stepup_state_deinit(&state);
	test_end();
}

struct proto_ctx {
	struct stepup_approval_keyring *keyring;
	struct stepup_state *state;
	struct asvc_store *store;
	struct asvc_proto_settings set;
	struct asvc_proto_env env;
};

static void proto_init(struct proto_ctx *ctx)
{
	i_zero(ctx);
	ctx->keyring = keyring_new();
	ctx->state = open_state(new_dir());
	ctx->store = open_store(ctx->state);
	ctx->set.path = EX_PATH;
	ctx->set.lifetime_secs = 900;
	ctx->set.poll_after_secs = 1;
	ctx->env.set = &ctx->set;
	ctx->env.keyring = ctx->keyring;
	ctx->env.store = ctx->store;
}

static void proto_deinit(struct proto_ctx *ctx)
{
	asvc_store_deinit(&ctx->store);
	stepup_state_deinit(&ctx->state);
	stepup_approval_keyring_free(&ctx->keyring);
}

/* a signed exchange as the plugin sends it */
static void
proto_send(struct proto_ctx *ctx, const char *method, const char *target,
	   const char *body, const char *nonce, time_t ts, time_t now,
	   struct asvc_http_response *out)
{
	struct asvc_http_request in;
	struct asvc_request *new_req;

	i_zero(&in);
	in.method = method;
	in.host = "Approvals.Example.Org";
	in.target = target;
	in.timestamp = dec2str(ts);
	in.nonce = nonce;
	in.body = body;
	in.body_size = strlen(body);
	in.signature = stepup_approval_sign_request(
		stepup_approval_keyring_signer(ctx->keyring), method, EX_HOST,
		target, in.timestamp, nonce, body, strlen(body));
	asvc_proto_handle(&ctx->env, &in, now, out, &new_req);
}

/* The client side's verdict on a response. */
static int verify(struct proto_ctx *ctx, const struct asvc_http_response *out,
		  const char *nonce, time_t now,
		  struct stepup_approval_response *resp_r)
{
	struct stepup_approval_http_response http;
	enum stepup_approval_failure failure;
	const char *error;

	i_zero(&http);
	http.status = out->status;
	http.timestamp = out->timestamp;
	http.signature = out->signature;
	http.body = out->body;
	http.body_size = strlen(out->body);
	return stepup_approval_response_parse(pool_datastack_create(),
		ctx->keyring, EX_ID, nonce, now, &http, resp_r, &failure,
		&error);
}

static const char *nonce_n(unsigned int n)
{
	return t_strdup_printf("%032x", n);
}

static void test_proto_example(void)
{
	struct proto_ctx ctx;
	struct asvc_http_request in;
	struct asvc_http_response out;
	struct stepup_approval_response resp;
	struct asvc_request *new_req;

	test_begin("approval service: the documented example is accepted");
	proto_init(&ctx);
	i_zero(&in);
	in.method = "POST";
	in.host = EX_HOST;
	in.target = EX_PATH;
	in.timestamp = EX_TS;
	in.nonce = EX_NONCE;
	in.signature = EX_REQUEST_SIG;
	in.body = EX_BODY;
	in.body_size = strlen(EX_BODY);
	asvc_proto_handle(&ctx.env, &in, NOW, &out, &new_req);
	test_assert(out.status == 200 && new_req != NULL);
	test_assert(verify(&ctx, &out, EX_NONCE, NOW, &resp) == 0);
	test_assert(resp.decision == STEPUP_APPROVAL_DECISION_PENDING);
	test_assert(resp.poll_after_secs == 1);
	/* the same bytes again: a replay */
	asvc_proto_handle(&ctx.env, &in, NOW, &out, &new_req);
	test_assert(out.status == 409 && out.signature == NULL &&
		    new_req == NULL);
	proto_deinit(&ctx);
	test_end();
}

static void test_proto_refusals(void)
{
	struct proto_ctx ctx;
	struct asvc_http_request in;
	struct asvc_http_response out;
	struct asvc_request *new_req;
	const char *other_key = "ffffffffffffffffffffffffffffffff", *error;
	struct stepup_approval_keyring *other;

	test_begin("approval service: wrongly signed, stale, malformed refused");
	proto_init(&ctx);
	/* signed with a key the service does not have */
	other = stepup_approval_keyring_create();
	test_assert(stepup_approval_keyring_add(other, "1", other_key,
			strlen(other_key), &error) == 0);
	i_zero(&in);
	in.method = "POST";
	in.host = EX_HOST;
	in.target = EX_PATH;
	in.timestamp = dec2str(NOW);
	in.nonce = nonce_n(1);
	in.body = EX_BODY;
	in.body_size = strlen(EX_BODY);
	in.signature = stepup_approval_sign_request(
		stepup_approval_keyring_signer(other), "POST", EX_HOST,
		EX_PATH, in.timestamp, in.nonce, EX_BODY, strlen(EX_BODY));
	asvc_proto_handle(&ctx.env, &in, NOW, &out, &new_req);
	test_assert(out.status == 401 && new_req == NULL);
	stepup_approval_keyring_free(&other);
	/* no signature */
	in.signature = NULL;
	asvc_proto_handle(&ctx.env, &in, NOW, &out, &new_req);
	test_assert(out.status == 401);
	/* signed for another host or path */
	in.signature = stepup_approval_sign_request(
		stepup_approval_keyring_signer(ctx.keyring), "POST",
		"evil.example.org", EX_PATH, in.timestamp, in.nonce,
		EX_BODY, strlen(EX_BODY));
	asvc_proto_handle(&ctx.env, &in, NOW, &out, &new_req);
	test_assert(out.status == 401);
	/* a body changed after signing */
	in.signature = stepup_approval_sign_request(
		stepup_approval_keyring_signer(ctx.keyring), "POST", EX_HOST,
		EX_PATH, in.timestamp, in.nonce, EX_BODY, strlen(EX_BODY));
	in.body_size--;
	asvc_proto_handle(&ctx.env, &in, NOW, &out, &new_req);
	test_assert(out.status == 401);
	/* stale: 301 s either way */
	proto_send(&ctx, "POST", EX_PATH, EX_BODY, nonce_n(2), NOW - 301,
		   NOW, &out);
	test_assert(out.status == 401);
	proto_send(&ctx, "POST", EX_PATH, EX_BODY, nonce_n(3), NOW + 301,
		   NOW, &out);
	test_assert(out.status == 401);
	/* well signed but malformed */
	proto_send(&ctx, "POST", EX_PATH, "{\"version\":1}", nonce_n(4), NOW,
		   NOW, &out);
	test_assert(out.status == 400);
	/* wrong path, method */
	proto_send(&ctx, "POST", "/v1/other", EX_BODY, nonce_n(5), NOW, NOW,
		   &out);
	test_assert(out.status == 404);
	proto_send(&ctx, "PUT", EX_PATH, EX_BODY, nonce_n(6), NOW, NOW, &out);
	test_assert(out.status == 405 && out.allow != NULL);
	/* nothing was stored */
	test_assert(array_count(asvc_store_get_all(ctx.store)) == 0);
	proto_deinit(&ctx);
	test_end();
}

static void test_proto_lifecycle(void)
{
	struct proto_ctx ctx;
	struct asvc_http_response out;
	struct stepup_approval_response resp;
	struct asvc_request *req;
	const char *poll = EX_PATH "/" EX_ID, *error, *conflict;

	test_begin("approval service: retry, poll, decision, expiry");
	proto_init(&ctx);
	proto_send(&ctx, "POST", EX_PATH, EX_BODY, nonce_n(1), NOW, NOW, &out);
	test_assert(out.status == 200);
	/* a retried POST (new nonce, same request_id): the same request */
	proto_send(&ctx, "POST", EX_PATH, EX_BODY, nonce_n(2), NOW, NOW + 1,
		   &out);
	test_assert(out.status == 200);
	test_assert(verify(&ctx, &out, nonce_n(2), NOW + 1, &resp) == 0 &&
		    resp.decision == STEPUP_APPROVAL_DECISION_PENDING);
	test_assert(array_count(asvc_store_get_all(ctx.store)) == 1);
	/* the same request_id for another request */
	conflict = t_strconcat("{\"version\":1,\"request_id\":\"" EX_ID "\","
		"\"user\":\"alice@example.org\",\"mailbox\":\"Other\","
		"\"rule\":\"hr\",\"binding_code\":\"42\"}", NULL);
	proto_send(&ctx, "POST", EX_PATH, conflict, nonce_n(3), NOW, NOW + 1,
		   &out);
	test_assert(out.status == 409);
	/* polls */
	proto_send(&ctx, "GET", poll, "", nonce_n(4), NOW + 2, NOW + 2, &out);
	test_assert(out.status == 200);
	test_assert(verify(&ctx, &out, nonce_n(4), NOW + 2, &resp) == 0 &&
		    resp.decision == STEPUP_APPROVAL_DECISION_PENDING);
	proto_send(&ctx, "GET", EX_PATH "/ffffffffffffffffffffffffffffffff",
		   "", nonce_n(5), NOW + 2, NOW + 2, &out);
	test_assert(out.status == 404);
	/* approved */
	req = asvc_store_find(ctx.store, EX_ID);
	test_assert(asvc_approve(ctx.store, req, "carol", 600, "ticket 4711",
				 NOW + 3, &error) == 0);
	proto_send(&ctx, "GET", poll, "", nonce_n(6), NOW + 4, NOW + 4, &out);
	test_assert(verify(&ctx, &out, nonce_n(6), NOW + 4, &resp) == 0);
	test_assert(resp.decision == STEPUP_APPROVAL_DECISION_APPROVED);
	test_assert(resp.have_ttl && resp.ttl_secs == 599);
	test_assert_strcmp(resp.approver, "carol");
	test_assert_strcmp(resp.reason, "ticket 4711");
	/* after the grant: expired */
	(void)asvc_store_expire(ctx.store, NOW + 603, 900, 3600);
	proto_send(&ctx, "GET", poll, "", nonce_n(7), NOW + 603, NOW + 603,
		   &out);
	test_assert(verify(&ctx, &out, nonce_n(7), NOW + 603, &resp) == 0);
	test_assert(resp.decision == STEPUP_APPROVAL_DECISION_EXPIRED);
	proto_deinit(&ctx);
	test_end();
}

static void test_proto_denied(void)
{
	struct proto_ctx ctx;
	struct asvc_http_response out;
	struct stepup_approval_response resp;
	const char *poll = EX_PATH "/" EX_ID, *error;

	test_begin("approval service: denied with a reason; pending expires");
	proto_init(&ctx);
	proto_send(&ctx, "POST", EX_PATH, EX_BODY, nonce_n(1), NOW, NOW, &out);
	test_assert(asvc_deny(ctx.store, asvc_store_find(ctx.store, EX_ID),
			      "carol", "not during \"holidays\"", NOW + 1,
			      &error) == 0);
	proto_send(&ctx, "GET", poll, "", nonce_n(2), NOW + 2, NOW + 2, &out);
	test_assert(verify(&ctx, &out, nonce_n(2), NOW + 2, &resp) == 0);
	test_assert(resp.decision == STEPUP_APPROVAL_DECISION_DENIED);
	test_assert_strcmp(resp.reason, "not during \"holidays\"");
	test_assert_strcmp(resp.message, "not during \"holidays\"");
	proto_deinit(&ctx);

	proto_init(&ctx);
	proto_send(&ctx, "POST", EX_PATH, EX_BODY, nonce_n(1), NOW, NOW, &out);
	(void)asvc_store_expire(ctx.store, NOW + 900, 900, 3600);
	proto_send(&ctx, "GET", poll, "", nonce_n(2), NOW + 900, NOW + 900,
		   &out);
	test_assert(verify(&ctx, &out, nonce_n(2), NOW + 900, &resp) == 0);
	test_assert(resp.decision == STEPUP_APPROVAL_DECISION_EXPIRED);
	proto_deinit(&ctx);
	test_end();
}

static bool admin_is_approver(void *context ATTR_UNUSED,
			      const char *user ATTR_UNUSED)
{
	return FALSE;
}

static bool admin_rule_info(void *context ATTR_UNUSED, const char *rule,
			    unsigned int *grant_secs_r, bool *self_approve_r)
{
	*grant_secs_r = 600;
	*self_approve_r = FALSE;
	return strcmp(rule, "hr") == 0;
}

static void test_admin(void)
{
	static const struct asvc_rules rules = {
		.is_approver = admin_is_approver,
		.rule_info = admin_rule_info,
	};
	struct stepup_state *state = open_state(new_dir());
	struct asvc_store *store = open_store(state);
	const char *id2 = "ffffffffffffffffffffffffffffffff", *error;
	string_t *out = t_str_new(256);

	test_begin("approval service: the admin socket's commands");
	test_assert(asvc_store_add(store, example_request(EX_ID), &error) == 0);
	test_assert(asvc_store_add(store, example_request(id2), &error) == 0);
	asvc_admin_handle(store, &rules, "list", NOW, out);
	test_assert(strstr(str_c(out), EX_ID "\tpending\talice@example.org"
			   "\tConfidentiel\thr\t192.0.2.10\t42\t") != NULL);
	test_assert(str_begins_with(strstr(str_c(out), id2), id2));
	test_assert(strcmp(str_c(out) + str_len(out) - 2, ".\n") == 0);
	/* more than the rule's grant: capped */
	str_truncate(out, 0);
	asvc_admin_handle(store, &rules, "approve\t" EX_ID "\t7200\troot "
			  "(terminal)\tticket", NOW, out);
	test_assert_strcmp(str_c(out), "OK\t" EX_ID "\tapproved\t600\n");
	test_assert_strcmp(asvc_store_find(store, EX_ID)->approver,
			   "root (terminal)");
	str_truncate(out, 0);
	asvc_admin_handle(store, &rules, "deny\t" EX_ID "\troot\tx", NOW, out);
	test_assert(str_begins_with(str_c(out),
				    "FAIL\tthe request is already approved"));
	str_truncate(out, 0);
	asvc_admin_handle(store, &rules, "deny\t" ID2 "\troot\tno", NOW, out);
	test_assert_strcmp(str_c(out), "OK\t" "ffffffffffffffffffffffffffffffff"
			   "\tdenied\t0\n");
	str_truncate(out, 0);
	asvc_admin_handle(store, &rules, "approve\tnope\t0\troot\t", NOW, out);
	test_assert(str_begins_with(str_c(out), "FAIL\tno such request"));
	str_truncate(out, 0);
	asvc_admin_handle(store, &rules, "delete\t" EX_ID, NOW, out);
	test_assert(str_begins_with(str_c(out), "FAIL\tunknown command"));
	/* stepup reset: the user's live grant ends (the denied one stays
	   denied), persisted */
	str_truncate(out, 0);
	asvc_admin_handle(store, &rules, "end\talice@example.org\treset",
			  NOW + 1, out);
	test_assert_strcmp(str_c(out), "OK\t1\n");
	test_assert(asvc_store_find(store, EX_ID)->status ==
		    ASVC_STATUS_EXPIRED);
	test_assert(asvc_store_find(store, EX_ID)->grant_until == NOW + 1);
	test_assert(asvc_store_find(store, ID2)->status == ASVC_STATUS_DENIED);
	str_truncate(out, 0);
	asvc_admin_handle(store, &rules, "end\talice@example.org\treset",
			  NOW + 2, out);
	test_assert_strcmp(str_c(out), "OK\t0\n");
	asvc_store_deinit(&store);
	store = open_store(state);
	test_assert(asvc_store_find(store, EX_ID)->status ==
		    ASVC_STATUS_EXPIRED);
	asvc_store_deinit(&store);
	stepup_state_deinit(&state);
	test_end();
}

static void test_settings(void)
{
	static const char *const good[] = {
		"lifetime=10m", "notify_timeout=5s", "signin_failures_user=3",
		"webhook=https://hooks.example.org/stepup",
		"webhook_ca_file=/etc/ssl/hook.pem", NULL
	};
	static const char *const bad[] = {
		"lifetime=0", "lifetime=soon", "lifetime", "colour=blue",
		/* plain http only to the host itself */
		"webhook=http://hooks.example.org/stepup",
		"webhook=http://127.0.0.1.example.org/stepup",
		"webhook=http://[::1].example.org/",
		"webhook=ftp://127.0.0.1/", "webhook_ca_file=hook.pem",
		"notify_command=notify",
	};
	struct asvc_settings set;
	const char *args[2] = { NULL, NULL }, *error;
	pool_t pool = pool_alloconly_create("test settings", 1024);
	unsigned int i;

	test_begin("approval service: settings");
	asvc_settings_init(&set);
	test_assert(asvc_settings_parse(pool, good, &set, &error) == 0);
	test_assert(set.lifetime_secs == 600);
	test_assert(set.notify_timeout_secs == 5);
	test_assert(set.session.max_failures_user == 3);
	test_assert_strcmp(set.webhook, "https://hooks.example.org/stepup");
	args[0] = "webhook=http://127.0.0.1:8080/hook";
	test_assert(asvc_settings_parse(pool, args, &set, &error) == 0);
	args[0] = "webhook=http://[::1]:8080/hook";
	test_assert(asvc_settings_parse(pool, args, &set, &error) == 0);
	for (i = 0; i < N_ELEMENTS(bad); i++) {
		asvc_settings_init(&set);
		args[0] = bad[i];
		test_assert_idx(asvc_settings_parse(pool, args, &set,
						    &error) < 0, i);
	}
	pool_unref(&pool);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_request_json,
		test_request_record,
		test_store_persists,
		test_store_bad_files,
		test_proto_example,
		test_proto_refusals,
		test_proto_lifecycle,
		test_proto_denied,
		test_admin,
		test_settings,
		test_event_deinit,
		NULL
	};
	return test_run_in_tmpdir(tmp_dir, test_functions);
}
