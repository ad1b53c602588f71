/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup-approval: the reference approval endpoint (SPEC "Approval
   service"), a Dovecot service that speaks protocol version 1 to the
   plugin and serves the approval page to approvers and to users who
   confirm their own requests. Dovecot's HTTP server, Dovecot's TLS
   settings (ssl_cert, ssl_key) on listeners with ssl = yes, sign-in
   through Dovecot's auth.

   service stepup-approval {
     executable = stepup-approval /etc/dovecot/stepup.conf
     user = $default_internal_user
     process_limit = 1          # one store, one set of sessions
     process_min_avail = 1      # running before the first request
     inet_listener https {
       port = 8443
       ssl = yes
     }
     unix_listener stepup-approval {   # stepup approval approve ID
       mode = 0600
     }
   }

   doc/approvals.md says how to run it, also behind a reverse proxy. */

#include "lib.h"
#include "ioloop.h"
#include "buffer.h"
#include "str.h"
#include "str-sanitize.h"
#include "safe-memset.h"
#include "restrict-access.h"
#include "master-service.h"
#include "master-service-settings.h"
#include "http-server.h"
#include "http-url.h"
#include "stepup-compat.h"
#include "stepup-config.h"
#include "stepup-policy.h"
#include "stepup-state.h"
#include "stepup-facts.h"
#include "stepup-audit.h"
#include "approval-key.h"
#include "approval-request.h"
#include "approval-response.h"
#include "asvc-settings.h"
#include "asvc-store.h"
#include "asvc-proto.h"
#include "asvc-session.h"
#include "asvc-decide.h"
#include "asvc-web.h"
#include "asvc-enroll.h"
#include "approval-css.h"
#include "stepup-approval-signin.h"
#include "stepup-approval-endpoint.h"

#define EXPIRE_INTERVAL_MSECS 1000
/* the unix_listener of "stepup approval approve" (root only) */
#define ADMIN_LISTENER "stepup-approval"

struct approval_conn {
	struct http_server_connection *http_conn;
	struct ip_addr remote_ip, local_ip;
	bool secured;
};

struct approval_req {
	struct approval_conn *conn;
	struct http_server_request *sreq;
	buffer_t *payload;
	bool proto;
	/* a sign-in waiting for auth: the web request, kept */
	struct asvc_web_request web;
};

static struct event_category event_category_stepup = {
	.name = "stepup",
};

static struct event *event;
static struct http_server *http_server;
static struct asvc_settings set;
static struct asvc_proto_settings proto_set;
static struct stepup_policy_cache *policy_cache;
static struct stepup_approval_keyring *keyring;
static struct stepup_state *state;
static struct asvc_store *store;
static struct asvc_sessions *sessions;
static struct asvc_rules rules;
static struct stepup_approval_signin *signin;
static buffer_t *facts_key;
static struct timeout *to_expire;
/* the enrollment page's records (opened as the service's user, like
   the stepup-audit service; tried again while it cannot be opened) */
static struct stepup_audit *audit;
static char *audit_path;
static struct asvc_enroll_env enroll_env;

static void expire_requests(void)
{
	(void)asvc_store_expire(store, ioloop_time, set.lifetime_secs,
				set.keep_secs);
}

static void send_response(struct http_server_request *sreq,
			  unsigned int status, const char *reason,
			  const char *content_type,
			  const ARRAY_TYPE(asvc_web_header) *headers,
			  const char *body)
{
	struct http_server_response *resp;
	const struct asvc_web_header *h;

	resp = http_server_response_create(sreq, status, reason);
	if (content_type != NULL)
		http_server_response_add_header(resp, "Content-Type",
						content_type);
	if (headers != NULL) {
		array_foreach(headers, h)
			http_server_response_add_header(resp, h->name,
							h->value);
	}
	http_server_response_set_payload_data(resp,
		(const unsigned char *)body, strlen(body));
	http_server_response_submit(resp);
}

static void handle_proto(struct approval_req *ctx)
{
	const struct http_request *hreq = http_server_request_get(ctx->sreq);
	struct asvc_proto_env env = {
		.set = &proto_set,
		.keyring = keyring,
		.store = store,
	};
	struct asvc_http_request in;
	struct asvc_http_response out;
	struct asvc_request *new_req;
	struct http_server_response *resp;

	i_zero(&in);
	in.method = hreq->method;
	in.target = hreq->target_raw;
	in.host = http_request_header_get(hreq, "Host");
	in.timestamp = http_request_header_get(hreq, "X-Stepup-Timestamp");
	in.nonce = http_request_header_get(hreq, "X-Stepup-Nonce");
	in.signature = http_request_header_get(hreq, "X-Stepup-Signature");
	if (ctx->payload != NULL) {
		in.body = ctx->payload->data;
		in.body_size = ctx->payload->used;
	} else {
		in.body = "";
	}
	expire_requests();
	asvc_proto_handle(&env, &in, ioloop_time, &out, &new_req);
	if (out.refused != NULL) {
		e_warning(event, "protocol request from %s refused: %s",
			  net_ip2addr(&ctx->conn->remote_ip), out.refused);
	}
	if (new_req != NULL) {
		e_info(event, "new request %s: user %s, folder %s, rule %s, "
		       "from %s", new_req->id, str_sanitize(new_req->user, 80),
		       str_sanitize(new_req->mailbox, 200),
		       str_sanitize(new_req->rule, 80),
		       str_sanitize(new_req->remote_ip, 64));
		stepup_approval_notify(new_req);
	}
	resp = http_server_response_create(ctx->sreq, out.status, out.reason);
	http_server_response_add_header(resp, "Content-Type",
					"application/json");
	http_server_response_add_header(resp, "Cache-Control", "no-store");
	if (out.timestamp != NULL) {
		http_server_response_add_header(resp, "X-Stepup-Timestamp",
						out.timestamp);
		http_server_response_add_header(resp, "X-Stepup-Signature",
						out.signature);
	}
	if (out.allow != NULL)
		http_server_response_add_header(resp, "Allow", out.allow);
	http_server_response_set_payload_data(resp,
		(const unsigned char *)out.body, strlen(out.body));
	http_server_response_submit(resp);
}

static void audit_reopen(void)
{
	const char *error;

	if (audit != NULL || audit_path == NULL)
		return;
	if (stepup_audit_open(audit_path, &audit, &error) < 0) {
		e_error(event, "audit log: %s (enrollment refused until it "
			"can be opened)", error);
	}
}

static void notice_send(enum stepup_notice_kind kind, const char *user,
			const char *detail, void *context ATTR_UNUSED)
{
	const struct stepup_policy *policy = enroll_env.policy;

	if (policy == NULL)
		return;
	stepup_approval_notice_send(stepup_policy_get_enrollment(policy)->lmtp,
				    kind, user, detail);
}

static const struct asvc_enroll_env *enroll_env_get(void);

static void notice_failed(const char *user, const char *error)
{
	(void)asvc_enroll_audit(enroll_env_get(), "admin", user, NULL, "deny",
		t_strdup_printf("notice not delivered: %s", error));
}

/* the enrollment page's view of the policy and the stores, now */
static const struct asvc_enroll_env *enroll_env_get(void)
{
	const struct stepup_policy *policy;
	const char *error;

	if (stepup_policy_cache_get(policy_cache, ioloop_time, &policy,
				    &error) < 0)
		policy = NULL;
	audit_reopen();
	enroll_env.policy = policy;
	enroll_env.state = state;
	enroll_env.audit = audit;
	enroll_env.audit_unavailable = audit_path != NULL && audit == NULL;
	enroll_env.store = store;
	enroll_env.notify = notice_send;
	return &enroll_env;
}

static struct asvc_web_env web_env(void)
{
	struct asvc_web_env env = {
		.store = store,
		.sessions = sessions,
		.rules = &rules,
		.css = stepup_approval_css,
		.enroll = enroll_env_get(),
	};
	return env;
}

static void web_send(struct approval_req *ctx,
		     const struct asvc_web_response *resp)
{

	if (resp->log != NULL) {
		e_info(event, "%s (from %s)", resp->log,
		       net_ip2addr(&ctx->conn->remote_ip));
	}
	send_response(ctx->sreq, resp->status, resp->reason,
		      resp->content_type, &resp->headers, str_c(resp->body));
}

static void signin_done(const char *level, const char *user, const char *why,
			void *context)
{
	struct approval_req *ctx = context;
	struct asvc_web_env env = web_env();
	struct asvc_web_response resp;
	struct http_server_request *sreq;

	T_BEGIN {
		ctx->web.now = ioloop_time;
		expire_requests();
		asvc_web_signin_done(&env, &ctx->web, user,
				     level == NULL ? ASVC_SIGNIN_FAILED :
				     strcmp(level, "totp") == 0 ?
				     ASVC_SIGNIN_TOTP : ASVC_SIGNIN_PASSWORD,
				     why == NULL ? "" : why, &resp);
		if (!http_server_request_is_finished(ctx->sreq))
			web_send(ctx, &resp);
	} T_END;
	/* ctx lives in the request's pool */
	sreq = ctx->sreq;
	http_server_request_unref(&sreq);
}

static void handle_web(struct approval_req *ctx)
{
	const struct http_request *hreq = http_server_request_get(ctx->sreq);
	pool_t pool = http_server_request_get_pool(ctx->sreq);
	struct asvc_web_env env = web_env();
	struct asvc_web_response resp;
	struct asvc_web_request *req = &ctx->web;
	const char *path = hreq->target.url == NULL ? NULL :
		hreq->target.url->path;

	req->method = hreq->method;
	req->path = path == NULL ? "/" : path;
	req->cookie = http_request_header_get(hreq, "Cookie");
	req->content_type = http_request_header_get(hreq, "Content-Type");
	req->body = ctx->payload == NULL ? "" :
		p_strndup(pool, ctx->payload->data, ctx->payload->used);
	req->remote_ip = net_ip2addr(&ctx->conn->remote_ip);
	req->now = ioloop_time;

	expire_requests();
	asvc_web_handle(&env, req, &resp);
	if (resp.signin_pending) {
		/* keep what the sign-in's answer needs beyond this data
		   stack frame; the password and code are wiped by the
		   check */
		req->path = p_strdup(pool, req->path);
		req->cookie = p_strdup(pool, req->cookie);
		req->content_type = p_strdup(pool, req->content_type);
		req->remote_ip = p_strdup(pool, req->remote_ip);
		http_server_request_ref(ctx->sreq);
		stepup_approval_signin_begin(signin, resp.signin.user,
			resp.signin.password, resp.signin.code,
			&ctx->conn->remote_ip, &ctx->conn->local_ip,
			ctx->conn->secured, signin_done, ctx);
	} else {
		web_send(ctx, &resp);
	}
	/* a sign-in form's password, whatever became of it */
	if (ctx->payload != NULL) {
		safe_memset(buffer_get_modifiable_data(ctx->payload, NULL), 0,
			    ctx->payload->used);
		safe_memset((char *)req->body, 0, strlen(req->body));
	}
}

static void handle_complete(struct approval_req *ctx)
{
	T_BEGIN {
		if (ctx->proto)
			handle_proto(ctx);
		else
			handle_web(ctx);
	} T_END;
}

static void payload_done(struct approval_req *ctx)
{
	handle_complete(ctx);
}

static void handle_request(void *context, struct http_server_request *sreq)
{
	const struct http_request *hreq = http_server_request_get(sreq);
	pool_t pool = http_server_request_get_pool(sreq);
	struct approval_req *ctx;
	uoff_t size;

	ctx = p_new(pool, struct approval_req, 1);
	ctx->conn = context;
	ctx->sreq = sreq;
	ctx->proto = asvc_proto_match(&proto_set, hreq->target_raw);
	if (hreq->payload == NULL ||
	    (http_request_get_payload_size(hreq, &size) > 0 && size == 0)) {
		handle_complete(ctx);
		return;
	}
	if (!http_request_method_is(hreq, "POST")) {
		/* a body where none belongs: refused, connection closed */
		http_server_request_fail_close(sreq, 400, "Bad Request");
		return;
	}
	ctx->payload = buffer_create_dynamic(pool, 1024);
	http_server_request_buffer_payload(sreq, ctx->payload,
		ctx->proto ? STEPUP_APPROVAL_BODY_MAX : ASVC_WEB_FORM_MAX,
		payload_done, ctx);
}

static void connection_destroy(void *context, const char *reason ATTR_UNUSED)
{
	struct approval_conn *conn = context;

	i_free(conn);
	master_service_client_connection_destroyed(master_service);
}

static const struct http_server_callbacks http_callbacks = {
	.handle_request = handle_request,
	.connection_destroy = connection_destroy,
};

static void client_connected(struct master_service_connection *mconn)
{
	struct approval_conn *conn;

	if (strcmp(mconn->name, ADMIN_LISTENER) == 0) {
		stepup_approval_admin_connected(mconn);
		return;
	}
	master_service_client_connection_accept(mconn);
	conn = i_new(struct approval_conn, 1);
	conn->remote_ip = mconn->remote_ip;
	conn->local_ip = mconn->local_ip;
	/* TLS here, or a proxy that speaks the haproxy protocol (it
	   terminates TLS), or the host itself */
	conn->secured = mconn->ssl || STEPUP_CONN_HAPROXIED(mconn) ||
		(mconn->real_remote_ip.family != 0 &&
		 net_ip_compare(&mconn->real_remote_ip,
				&mconn->real_local_ip));
	conn->http_conn = http_server_connection_create(http_server,
		mconn->fd, mconn->fd, mconn->ssl, &http_callbacks, conn);
}

static void timeout_expire(void *context ATTR_UNUSED)
{
	expire_requests();
}

static void load_policy_as_root(const char *policy_path)
{
	struct stepup_policy *policy;
	const char *error, *key_file;

	if (stepup_policy_load(policy_path, &policy, &error) < 0)
		i_fatal("stepup-approval: policy: %s", error);
	if (stepup_approval_load_keys(policy, &keyring, &error) < 0)
		i_fatal("stepup-approval: %s", error);
	facts_key = buffer_create_dynamic(default_pool, 64);
	key_file = stepup_policy_get_session_key_file(policy);
	if (stepup_facts_load_key(key_file, facts_key, &error) < 0) {
		i_fatal("stepup-approval: %s: cannot check the level of "
			"sign-ins", error);
	}
	stepup_policy_unref(&policy);
}

static void open_store(const char *policy_path)
{
	struct stepup_policy *policy;
	const char *error, *path, *url;
	struct stepup_approval_url parsed;

	if (stepup_policy_load(policy_path, &policy, &error) < 0)
		i_fatal("stepup-approval: policy: %s", error);
	url = stepup_policy_get_approval(policy)->url;
	if (url == NULL)
		i_fatal("stepup-approval: %s has no approval block",
			policy_path);
	/* the plugin's own reading of it (the policy check made it) */
	if (stepup_approval_url_parse(pool_datastack_create(), url, &parsed,
				      &error) < 0)
		i_fatal("stepup-approval: approval.url: %s", error);
	proto_set.path = i_strdup(parsed.path_only[0] == '\0' ? "/" :
				  parsed.path_only);
	path = stepup_policy_get_state_path(policy);
	if (path == NULL) {
		i_fatal("stepup-approval: state.redis is not supported yet: "
			"use state.path");
	}
	if (stepup_state_init_dir(path, &state, &error) < 0)
		i_fatal("stepup-approval: state: %s", error);
	if (asvc_store_init(state, event, &store, &error) < 0)
		i_fatal("stepup-approval: approval store: %s", error);
	path = stepup_policy_get_audit_path(policy);
	if (path != NULL) {
		audit_path = i_strdup(path);
		audit_reopen();
	}
	stepup_policy_unref(&policy);
}

int main(int argc, char *argv[])
{
	struct http_server_settings http_set;
	const char *policy_path, *error;
	pool_t pool;

	/* the page's sessions live in this process: an idle one must not
	   be stopped */
	master_service = master_service_init("stepup-approval",
					     MASTER_SERVICE_FLAG_NO_IDLE_DIE,
					     &argc, &argv, "");
	if (master_getopt(master_service) > 0)
		return FATAL_DEFAULT;
	if (STEPUP_MASTER_SERVICE_SETTINGS_READ_SIMPLE(master_service,
						       &error) < 0)
		i_fatal("Error reading configuration: %s", error);
	master_service_init_log(master_service);

	policy_path = argv[optind] != NULL ? argv[optind++] :
		STEPUP_DEFAULT_POLICY;
	pool = pool_alloconly_create("stepup-approval settings", 512);
	asvc_settings_init(&set);
	if (asvc_settings_parse(pool, (const char *const *)argv + optind,
				&set, &error) < 0)
		i_fatal("stepup-approval: %s", error);
	proto_set.lifetime_secs = set.lifetime_secs;
	proto_set.poll_after_secs = 1;

	event = event_create(NULL);
	event_add_category(event, &event_category_stepup);
	event_set_append_log_prefix(event, "stepup-approval: ");

	/* as root: the keys are root's files */
	load_policy_as_root(policy_path);
	restrict_access_by_env(RESTRICT_ACCESS_FLAG_ALLOW_ROOT, NULL);
	restrict_access_allow_coredumps(TRUE);

	master_service_init_finish(master_service);
	open_store(policy_path);
	policy_cache = stepup_policy_cache_init(policy_path, event);
	stepup_approval_rules_init(&rules, policy_cache);
	sessions = asvc_sessions_init(&set.session);
	signin = stepup_approval_signin_init(set.auth_socket,
					     set.auth_master_socket,
					     facts_key, event);
	stepup_approval_admin_init(store, &rules, event);
	stepup_approval_webhook_init(set.webhook, set.webhook_ca_file,
				     set.notify_timeout_secs, keyring, event);
	stepup_approval_notify_init(set.notify_command,
				    set.notify_timeout_secs, event);
	stepup_approval_notice_init(notice_failed, event);

	http_server_settings_init(null_pool, &http_set);
	http_set.max_client_idle_time_msecs = 60 * 1000;
	http_set.max_pipelined_requests = 1;
	STEPUP_HTTP_SERVER_SET_MAX_PAYLOAD(&http_set,
					   STEPUP_APPROVAL_BODY_MAX);
	http_server = STEPUP_HTTP_SERVER_INIT(&http_set, event);
	to_expire = timeout_add(EXPIRE_INTERVAL_MSECS, timeout_expire, NULL);

	master_service_run(master_service, client_connected);

	timeout_remove(&to_expire);
	stepup_approval_signin_deinit(&signin);
	stepup_approval_admin_deinit();
	http_server_deinit(&http_server);
	stepup_approval_notify_deinit();
	stepup_approval_notice_deinit();
	stepup_approval_webhook_deinit();
	asvc_sessions_deinit(&sessions);
	asvc_store_deinit(&store);
	stepup_state_deinit(&state);
	if (audit != NULL)
		stepup_audit_close(&audit);
	i_free(audit_path);
	stepup_policy_cache_deinit(&policy_cache);
	stepup_approval_keyring_free(&keyring);
	safe_memset(buffer_get_modifiable_data(facts_key, NULL), 0,
		    facts_key->used);
	buffer_free(&facts_key);
	event_unref(&event);
	pool_unref(&pool);
	master_service_deinit(&master_service);
	return 0;
}
