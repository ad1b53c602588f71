/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "ioloop.h"
#include "llist.h"
#include "str.h"
#include "str-sanitize.h"
#include "strescape.h"
#include "stepup-policy.h"
#include "stepup-state.h"
#include "approval-key.h"
#include "approval-config.h"
#include "approval-request.h"
#include "approval-response.h"
#include "approval-state.h"
#include "approval-http.h"
#include "stepup-approval.h"

/* requests the service runs at once (each holds a little memory and, while
   polling, a connection): past it, asks fail (closed) */
#define APPROVAL_MAX_REQUESTS 1000
/* of them, one user's (whatever the folders and scope values) */
#define APPROVAL_MAX_USER_REQUESTS 16
/* pending requests (in the state store: also those nobody waits on any
   more) one user may have for one folder, whatever the scope value (the
   sessions of grant_scope "session", the addresses of "ip"), and for all
   folders together: past it, a new request is refused (closed). One user
   cannot fill the table or flood the approvers. */
#define APPROVAL_MAX_FOLDER_PENDING 4
#define APPROVAL_MAX_USER_PENDING 16
/* a request not decided after this long is dropped; the next open makes
   a new one */
#define APPROVAL_PENDING_MAX_SECS (15 * 60)
/* APR-2: a connection is set up within 2 s (within timeout if shorter) */
#define APPROVAL_CONNECT_TIMEOUT_MSECS 2000

struct approval_waiter {
	struct approval_waiter *prev, *next;
	struct approval_request *req;
	struct timeout *to;
	approval_answer_callback_t *callback;
	void *context;
};

struct approval_request {
	pool_t pool;
	struct approval_service *svc;
	/* user, mailbox, scope, scope value: tab-separated, escaped */
	const char *key;
	struct stepup_approval_request_info info;
	const char *scope, *scope_value;
	unsigned int rule_grant_secs;
	/* who asked first: the records of the request */
	struct stepup_audit_record who;
	struct stepup_approval_run run;
	/* the JSON body of the POST: the same, byte for byte, every time the
	   request is POSTed (also after a restart, from the pending entry) */
	const char *body;
	/* made from a pending entry of the state store */
	bool resumed;
	/* a POST got an answer (not 429/503): from now on polls are GETs */
	bool posted;

	/* the exchange in flight (a POST or a GET) and the nonce it sent */
	struct approval_http_exchange *exchange;
	pool_t exchange_pool;
	const char *nonce;
	bool exchange_post;
	struct timeout *to_next;
	struct approval_waiter *waiters;
};

struct approval_service {
	pool_t pool;
	approval_audit_write_t *audit_write;
	/* NULL: approvals are not configured (every ask fails, closed) */
	const char *config_error;
	struct stepup_approval_url url;
	struct stepup_approval_keyring *keyring;
	unsigned int timeout_secs;
	bool failmode_open;
	const char *state_path;
	struct approval_http_settings http_set;

	struct stepup_state *state;
	struct approval_http_client *http;
	HASH_TABLE(const char *, struct approval_request *) requests;
	/* user -> how many of the requests are theirs */
	HASH_TABLE(char *, void *) user_counts;
};

static void approval_request_step(struct approval_request *req);

static void
approval_audit(struct approval_service *svc,
	       const struct stepup_audit_record *who, const char *mailbox,
	       const char *rule, const char *decision, const char *reason)
{
	struct stepup_audit_record rec = *who;
	const char *error;

	rec.event = "approval";
	rec.mailbox = mailbox;
	rec.rule = rule;
	rec.decision = decision;
	rec.reason = reason;
	if (svc->audit_write(&rec, &error) < 0) {
		i_error("stepup-audit: %s: approval %s not recorded (user %s, "
			"mailbox %s)", error, decision,
			str_sanitize(rec.user, 80), str_sanitize(mailbox, 200));
	}
}

static void
answer(approval_answer_callback_t *callback, void *context,
       enum stepup_approval_answer_type type, const char *text, bool allow,
       bool final)
{
	struct stepup_approval_answer a;

	i_zero(&a);
	a.type = type;
	a.text = text;
	a.allow = allow;
	callback(&a, final, context);
}

/* ---- waiters */

static void approval_waiter_free(struct approval_waiter **_waiter)
{
	struct approval_waiter *waiter = *_waiter;

	*_waiter = NULL;
	DLLIST_REMOVE(&waiter->req->waiters, waiter);
	timeout_remove(&waiter->to);
	i_free(waiter);
}

void approval_waiter_abort(struct approval_waiter **waiter)
{
	if (*waiter != NULL)
		approval_waiter_free(waiter);
}

/* this open waited as long as it may: "still pending", the request
   goes on for the others and for the next open */
static void approval_waiter_timeout(struct approval_waiter *waiter)
{
	approval_answer_callback_t *callback = waiter->callback;
	void *context = waiter->context;

	approval_waiter_free(&waiter);
	answer(callback, context, STEPUP_APPROVAL_ANSWER_PENDING, "", FALSE,
	       TRUE);
}

static struct approval_waiter *
approval_waiter_add(struct approval_request *req, unsigned int wait_secs,
		    approval_answer_callback_t *callback, void *context)
{
	struct approval_waiter *waiter;

	waiter = i_new(struct approval_waiter, 1);
	waiter->req = req;
	waiter->callback = callback;
	waiter->context = context;
	waiter->to = timeout_add(wait_secs * 1000, approval_waiter_timeout,
				 waiter);
	DLLIST_PREPEND(&req->waiters, waiter);
	answer(callback, context, STEPUP_APPROVAL_ANSWER_CODE,
	       req->info.binding_code, FALSE, FALSE);
	return waiter;
}

/* ---- requests */

static unsigned int
user_count(struct approval_service *svc, const char *user)
{
	return POINTER_CAST_TO(hash_table_lookup(svc->user_counts, user),
			       unsigned int);
}

static void user_count_add(struct approval_service *svc, const char *user)
{
	char *key, *orig;
	void *value;

	if (hash_table_lookup_full(svc->user_counts, user, &orig, &value)) {
		hash_table_update(svc->user_counts, orig, POINTER_CAST(
			POINTER_CAST_TO(value, unsigned int) + 1));
	} else {
		key = i_strdup(user);
		hash_table_insert(svc->user_counts, key, POINTER_CAST(1));
	}
}

static void user_count_remove(struct approval_service *svc, const char *user)
{
	char *orig;
	void *value;
	unsigned int count;

	if (!hash_table_lookup_full(svc->user_counts, user, &orig, &value))
		i_unreached();
	count = POINTER_CAST_TO(value, unsigned int);
	if (count > 1) {
		hash_table_update(svc->user_counts, orig,
				  POINTER_CAST(count - 1));
	} else {
		hash_table_remove(svc->user_counts, orig);
		i_free(orig);
	}
}

/* what a request holds besides its place in the tables */
static void approval_request_destroy(struct approval_request *req)
{
	while (req->waiters != NULL) {
		struct approval_waiter *waiter = req->waiters;
		approval_waiter_free(&waiter);
	}
	approval_http_abort(&req->exchange);
	pool_unref(&req->exchange_pool);
	timeout_remove(&req->to_next);
	pool_unref(&req->pool);
}

static void approval_request_free(struct approval_request *req)
{
	struct approval_service *svc = req->svc;

	i_assert(req->waiters == NULL);
	hash_table_remove(svc->requests, req->key);
	user_count_remove(svc, req->info.user);
	approval_request_destroy(req);
}

static const char *
request_key(const char *user, const char *mailbox, const char *scope,
	    const char *scope_value)
{
	string_t *str = t_str_new(128);

	str_append_tabescaped(str, user);
	str_append_c(str, '\t');
	str_append_tabescaped(str, mailbox);
	str_printfa(str, "\t%s\t", scope);
	str_append_tabescaped(str, scope_value);
	return str_c(str);
}

static const char *scope_value(const struct stepup_approval_ask *ask)
{
	if (strcmp(ask->scope, "ip") == 0)
		return ask->rec.ip;
	if (strcmp(ask->scope, "session") == 0)
		return ask->rec.session;
	return "";
}

/* The request's identity and its POST body, for a new request_id. */
static void
approval_request_set_id(struct approval_request *req, const char *request_id,
			time_t created)
{
	string_t *body = t_str_new(512);

	req->info.request_id = p_strdup(req->pool, request_id);
	req->info.created = created;
	req->info.expires = created + req->rule_grant_secs;
	stepup_approval_request_body(body, &req->info);
	req->body = p_strdup(req->pool, str_c(body));
}

/* body: the stored body of a resumed request (NULL: a new request) */
static struct approval_request *
approval_request_create(struct approval_service *svc,
			const struct stepup_approval_ask *ask,
			const char *key, const char *request_id,
			const char *code, time_t created, const char *body)
{
	struct approval_request *req;
	struct stepup_approval_request_info *info;
	pool_t pool;

	pool = pool_alloconly_create("approval request", 2048);
	req = p_new(pool, struct approval_request, 1);
	req->pool = pool;
	req->svc = svc;
	req->key = p_strdup(pool, key);
	req->scope = p_strdup(pool, ask->scope);
	req->scope_value = p_strdup(pool, scope_value(ask));
	req->rule_grant_secs = ask->grant_secs;

	req->who.user = p_strdup(pool, ask->rec.user);
	req->who.session = p_strdup(pool, ask->rec.session);
	req->who.service = p_strdup(pool, ask->rec.service);
	req->who.ip = p_strdup(pool, ask->rec.ip);
	req->who.auth = p_strdup(pool, ask->rec.auth);

	info = &req->info;
	info->user = req->who.user;
	info->mailbox = p_strdup(pool, ask->rec.mailbox);
	info->session = req->who.session;
	info->remote_ip = req->who.ip;
	info->protocol = req->who.service;
	info->client = p_strdup(pool, ask->client);
	info->rule = p_strdup(pool, ask->rec.rule);
	info->auth = req->who.auth;
	info->binding_code = p_strdup(pool, code);
	if (body == NULL)
		approval_request_set_id(req, request_id, created);
	else {
		/* what the endpoint got the first time, whoever asks now */
		info->request_id = p_strdup(pool, request_id);
		info->created = created;
		req->body = p_strdup(pool, body);
		req->resumed = TRUE;
	}

	stepup_approval_run_init(&req->run, pool, ioloop_time, ask->wait_secs);
	hash_table_insert(svc->requests, req->key, req);
	user_count_add(svc, req->info.user);
	return req;
}

/* Every open waiting on the request gets the outcome; the request ends. */
static void approval_request_finish(struct approval_request *req)
{
	struct approval_service *svc = req->svc;
	struct stepup_approval_outcome outcome;
	struct stepup_approval_entry grant;
	enum stepup_approval_answer_type type;
	const char *error, *reason, *text;
	int ret;

	stepup_approval_run_outcome(&req->run, svc->failmode_open,
				    req->rule_grant_secs, &outcome);
	/* the pending entry is gone if an admin ended the request */
	ret = stepup_state_approval_end_request(svc->state, req->info.user,
						req->info.request_id, &error);
	if (ret < 0) {
		i_error("stepup-audit: approval: state: %s", error);
	} else if (ret == 0 && outcome.allow && !outcome.failmode_open) {
		outcome.allow = FALSE;
		outcome.grant = FALSE;
		outcome.reason = "request ended by an administrator";
		outcome.message = "The request was withdrawn.";
	}
	if (outcome.grant) {
		i_zero(&grant);
		grant.type = STEPUP_APPROVAL_ENTRY_GRANT;
		grant.mailbox = req->info.mailbox;
		grant.scope = req->scope;
		grant.scope_value = req->scope_value;
		grant.request_id = req->info.request_id;
		grant.binding_code = "";
		grant.created = ioloop_time;
		grant.expires = ioloop_time + outcome.grant_secs;
		grant.approver = req->run.approver == NULL ? "" :
			req->run.approver;
		if (stepup_state_approval_put(svc->state, req->info.user,
					      &grant, ioloop_time, &error) < 0) {
			i_error("stepup-audit: approval: state: %s: the grant "
				"is not kept (this open only)", error);
		}
	}

	reason = t_strdup_printf("request %s: %s%s%s%s%s", req->info.request_id,
		outcome.reason,
		req->run.approver == NULL ? "" : " by ",
		req->run.approver == NULL ? "" : req->run.approver,
		req->run.reason == NULL ? "" : ": ",
		req->run.reason == NULL ? "" : req->run.reason);
	if (outcome.grant)
		reason = t_strdup_printf("%s (grant %s, %us)", reason,
					 req->scope, outcome.grant_secs);
	if (req->run.state == STEPUP_APPROVAL_STATE_FAILED) {
		if (outcome.failmode_open)
			i_warning("stepup-audit: approval: user %s, mailbox %s: %s",
				  str_sanitize(req->info.user, 80),
				  str_sanitize(req->info.mailbox, 200), reason);
		else
			i_error("stepup-audit: approval: user %s, mailbox %s: "
				"%s: access refused",
				str_sanitize(req->info.user, 80),
				str_sanitize(req->info.mailbox, 200), reason);
	} else {
		i_info("stepup-audit: approval: user %s, mailbox %s: %s",
		       str_sanitize(req->info.user, 80),
		       str_sanitize(req->info.mailbox, 200),
		       str_sanitize(reason, 512));
	}
	approval_audit(svc, &req->who, req->info.mailbox, req->info.rule,
		       outcome.allow ? "allow" : "deny", reason);

	if (outcome.allow && !outcome.failmode_open) {
		type = STEPUP_APPROVAL_ANSWER_APPROVED;
		text = req->run.approver == NULL ? "" : req->run.approver;
	} else if (req->run.state == STEPUP_APPROVAL_STATE_FAILED) {
		type = STEPUP_APPROVAL_ANSWER_FAILED;
		text = stepup_approval_failure_name(req->run.failure);
	} else {
		type = STEPUP_APPROVAL_ANSWER_DENIED;
		text = outcome.message == NULL ?
			(req->run.state == STEPUP_APPROVAL_STATE_EXPIRED ?
			 "The request expired." : "") : outcome.message;
	}
	while (req->waiters != NULL) {
		struct approval_waiter *waiter = req->waiters;
		approval_answer_callback_t *callback = waiter->callback;
		void *context = waiter->context;

		approval_waiter_free(&waiter);
		answer(callback, context, type, text, outcome.allow, TRUE);
	}
	approval_request_free(req);
}

/* The pending entry of the request: the next open (also after a restart)
   picks it up with the same request_id and body. */
static int approval_request_store(struct approval_request *req,
				  const char **error_r)
{
	struct stepup_approval_entry pending;

	i_zero(&pending);
	pending.type = STEPUP_APPROVAL_ENTRY_PENDING;
	pending.mailbox = req->info.mailbox;
	pending.scope = req->scope;
	pending.scope_value = req->scope_value;
	pending.request_id = req->info.request_id;
	pending.binding_code = req->info.binding_code;
	pending.created = ioloop_time;
	pending.expires = ioloop_time + APPROVAL_PENDING_MAX_SECS;
	pending.approver = "";
	pending.body = req->body;
	return stepup_state_approval_put(req->svc->state, req->info.user,
					 &pending, ioloop_time, error_r);
}

static void approval_request_sent(struct approval_request *req,
				  const struct stepup_audit_record *who,
				  const char *what)
{
	i_info("stepup-audit: approval: user %s, mailbox %s: request %s sent "
	       "(rule %s, scope %s)%s", str_sanitize(req->info.user, 80),
	       str_sanitize(req->info.mailbox, 200), req->info.request_id,
	       str_sanitize(req->info.rule, 80), req->scope, what);
	approval_audit(req->svc, who, req->info.mailbox, req->info.rule,
		       "pending", t_strdup_printf("request %s sent to the "
		       "approval endpoint%s", req->info.request_id, what));
}

/* 409 to the POST of a request picked up from the state store: the
   endpoint has another request under that request_id. Not a failure
   that failmode may let through: the request starts again under a new
   request_id (same binding code: the waiting clients have shown it). */
static void approval_request_conflict(struct approval_request *req)
{
	const char *old_id = t_strdup(req->info.request_id), *error;

	i_warning("stepup-audit: approval: user %s, mailbox %s: the endpoint "
		  "has another request under request_id %s (409): asking "
		  "again under a new one", str_sanitize(req->info.user, 80),
		  str_sanitize(req->info.mailbox, 200), old_id);
	req->resumed = FALSE;
	approval_request_set_id(req, stepup_approval_random_hex(),
				ioloop_time);
	if (approval_request_store(req, &error) < 0) {
		i_error("stepup-audit: approval: state: %s", error);
		stepup_approval_run_failure(&req->run,
					    STEPUP_APPROVAL_FAIL_INTERNAL);
		return;
	}
	approval_request_sent(req, &req->who, t_strdup_printf(
		" (request %s was refused as another request)", old_id));
}

static void
approval_http_done(enum stepup_approval_failure failure, const char *error,
		   const struct stepup_approval_http_response *http,
		   void *context)
{
	struct approval_request *req = context;
	struct stepup_approval_response resp;

	req->exchange = NULL;
	if (failure == STEPUP_APPROVAL_FAIL_NONE && http->status == 409 &&
	    req->exchange_post && req->resumed) {
		approval_request_conflict(req);
	} else if (failure == STEPUP_APPROVAL_FAIL_NONE &&
	    stepup_approval_response_parse(req->pool, req->svc->keyring,
					   req->info.request_id, req->nonce,
					   ioloop_time, http, &resp, &failure,
					   &error) == 0) {
		/* a POST answered 429/503 may not have been stored: the
		   next exchange POSTs again */
		if (req->exchange_post && !resp.throttled)
			req->posted = TRUE;
		stepup_approval_run_response(&req->run, ioloop_time, &resp);
	} else {
		i_error("stepup-audit: approval: request %s: %s: %s",
			req->info.request_id,
			stepup_approval_failure_name(failure),
			str_sanitize(error, 256));
		stepup_approval_run_failure(&req->run, failure);
	}
	pool_unref(&req->exchange_pool);
	approval_request_step(req);
}

static void approval_request_send(struct approval_request *req, bool post)
{
	struct approval_service *svc = req->svc;
	const struct stepup_approval_key *key =
		stepup_approval_keyring_signer(svc->keyring);
	struct stepup_approval_http_request http;

	i_assert(req->exchange == NULL);
	req->exchange_pool = pool_alloconly_create("approval exchange", 4096);
	req->exchange_post = post;
	if (post) {
		stepup_approval_http_post(req->exchange_pool, &svc->url, key,
					  req->body, ioloop_time, NULL, &http);
	} else {
		stepup_approval_http_poll(req->exchange_pool, &svc->url, key,
					  req->info.request_id, ioloop_time,
					  NULL, &http);
	}
	req->nonce = http.nonce;
	req->exchange = approval_http_start(svc->http, &svc->url, &http,
					    approval_http_done, req);
}

static void approval_request_poll_due(struct approval_request *req)
{
	timeout_remove(&req->to_next);
	approval_request_step(req);
}

/* What the state machine says is next. */
static void approval_request_step(struct approval_request *req)
{
	time_t when;

	if (req->exchange != NULL)
		return;
	timeout_remove(&req->to_next);
	switch (stepup_approval_run_next(&req->run, ioloop_time, &when)) {
	case STEPUP_APPROVAL_ACTION_WAIT:
		req->to_next = timeout_add(when <= ioloop_time ? 0 :
					   (when - ioloop_time) * 1000,
					   approval_request_poll_due, req);
		break;
	case STEPUP_APPROVAL_ACTION_POLL:
		approval_request_send(req, !req->posted);
		break;
	case STEPUP_APPROVAL_ACTION_GIVE_UP:
		/* the opens waiting now are told "still pending"; the
		   request stays in the state store, and the next open picks
		   it up from there (the same request_id and body) */
		while (req->waiters != NULL) {
			struct approval_waiter *waiter = req->waiters;
			approval_waiter_timeout(waiter);
		}
		approval_request_free(req);
		break;
	case STEPUP_APPROVAL_ACTION_DONE:
		approval_request_finish(req);
		break;
	}
}

/* ---- asks */

static void
ask_fail(struct approval_service *svc, const struct stepup_approval_ask *ask,
	 enum stepup_approval_failure kind, const char *error,
	 approval_answer_callback_t *callback, void *context)
{
	const char *name = stepup_approval_failure_name(kind);

	/* not the endpoint's failure: never let failmode open it */
	i_error("stepup-audit: approval: user %s, mailbox %s: %s: %s: "
		"access refused", str_sanitize(ask->rec.user, 80),
		str_sanitize(ask->rec.mailbox, 200), name, error);
	if (ask->create) {
		approval_audit(svc, &ask->rec, ask->rec.mailbox, ask->rec.rule,
			       "deny", t_strconcat("failed: ", name, NULL));
	}
	answer(callback, context, STEPUP_APPROVAL_ANSWER_FAILED, name, FALSE,
	       TRUE);
}

/* A live grant: 1 (answered), 0 none, -1 error (answered). */
static int
ask_grant(struct approval_service *svc, const struct stepup_approval_ask *ask,
	  approval_answer_callback_t *callback, void *context)
{
	struct stepup_approval_entry grant;
	const char *error;
	int ret;

	ret = stepup_state_approval_get(svc->state, ask->rec.user,
					STEPUP_APPROVAL_ENTRY_GRANT,
					ask->rec.mailbox, ask->scope,
					scope_value(ask), ioloop_time, &grant,
					&error);
	if (ret < 0) {
		ask_fail(svc, ask, STEPUP_APPROVAL_FAIL_INTERNAL,
			 t_strconcat("state: ", error, NULL), callback, context);
		return -1;
	}
	if (ret == 0)
		return 0;
	if (ask->create) {
		/* an open that a grant let through (STATUS and the like are
		   not recorded: clients poll them all day) */
		approval_audit(svc, &ask->rec, ask->rec.mailbox, ask->rec.rule,
			"allow", t_strdup_printf("grant of request %s (approved"
			"%s%s, scope %s), %lds left", grant.request_id,
			grant.approver[0] == '\0' ? "" : " by ",
			grant.approver, grant.scope,
			(long)(grant.expires - ioloop_time)));
	}
	answer(callback, context, STEPUP_APPROVAL_ANSWER_APPROVED,
	       grant.approver, TRUE, TRUE);
	return 1;
}

/* May the user have one more pending request for the folder? replacing:
   it replaces one of them. -1: no (answered). */
static int
ask_request_limit(struct approval_service *svc,
		  const struct stepup_approval_ask *ask, bool replacing,
		  approval_answer_callback_t *callback, void *context)
{
	unsigned int folder_count, total;
	const char *error;

	if (stepup_state_approval_pending_count(svc->state, ask->rec.user,
						ask->rec.mailbox, ioloop_time,
						&folder_count, &total,
						&error) < 0) {
		ask_fail(svc, ask, STEPUP_APPROVAL_FAIL_INTERNAL,
			 t_strconcat("state: ", error, NULL), callback, context);
		return -1;
	}
	if (replacing) {
		folder_count--;
		total--;
	}
	if (folder_count >= APPROVAL_MAX_FOLDER_PENDING) {
		ask_fail(svc, ask, STEPUP_APPROVAL_FAIL_INTERNAL, t_strdup_printf(
			"the user has %u requests for the folder pending "
			"already (at most %u, whatever the scope)",
			folder_count, APPROVAL_MAX_FOLDER_PENDING),
			callback, context);
		return -1;
	}
	if (total >= APPROVAL_MAX_USER_PENDING) {
		ask_fail(svc, ask, STEPUP_APPROVAL_FAIL_INTERNAL, t_strdup_printf(
			"the user has %u requests pending already (at most %u)",
			total, APPROVAL_MAX_USER_PENDING), callback, context);
		return -1;
	}
	return 0;
}

/* The request this ask joins, or a new one (resuming one that is pending
   in the state store, e.g. from before a restart). NULL: failed
   (answered). */
static struct approval_request *
ask_request(struct approval_service *svc,
	    const struct stepup_approval_ask *ask,
	    approval_answer_callback_t *callback, void *context)
{
	struct approval_request *req;
	struct stepup_approval_entry pending;
	const char *key, *error;
	int ret;

	i_zero(&pending);
	key = request_key(ask->rec.user, ask->rec.mailbox, ask->scope,
			  scope_value(ask));
	ret = stepup_state_approval_get(svc->state, ask->rec.user,
					STEPUP_APPROVAL_ENTRY_PENDING,
					ask->rec.mailbox, ask->scope,
					scope_value(ask), ioloop_time,
					&pending, &error);
	if (ret < 0) {
		ask_fail(svc, ask, STEPUP_APPROVAL_FAIL_INTERNAL,
			 t_strconcat("state: ", error, NULL), callback, context);
		return NULL;
	}
	req = hash_table_lookup(svc->requests, key);
	if (req != NULL) {
		if (ret > 0 && strcmp(pending.request_id,
				      req->info.request_id) == 0) {
			stepup_approval_run_extend(&req->run, ioloop_time,
						   ask->wait_secs);
			return req;
		}
		/* ended by revoke or reset: the next open asks again */
		while (req->waiters != NULL) {
			struct approval_waiter *waiter = req->waiters;
			approval_waiter_timeout(waiter);
		}
		approval_request_free(req);
	}
	if (hash_table_count(svc->requests) >= APPROVAL_MAX_REQUESTS) {
		ask_fail(svc, ask, STEPUP_APPROVAL_FAIL_INTERNAL, t_strdup_printf(
			"more than %u requests pending", APPROVAL_MAX_REQUESTS),
			callback, context);
		return NULL;
	}
	if (user_count(svc, ask->rec.user) >= APPROVAL_MAX_USER_REQUESTS) {
		ask_fail(svc, ask, STEPUP_APPROVAL_FAIL_INTERNAL, t_strdup_printf(
			"more than %u requests of the user running",
			APPROVAL_MAX_USER_REQUESTS), callback, context);
		return NULL;
	}
	if (ret > 0 && stepup_approval_is_hex_id(pending.request_id) &&
	    pending.body != NULL && pending.body[0] != '\0') {
		/* the same request again: the same request_id and the body
		   its first asker sent (a POST with the same request_id is
		   the same request to the endpoint) */
		return approval_request_create(svc, ask, key,
					       pending.request_id,
					       pending.binding_code,
					       pending.created, pending.body);
	}
	/* a new request (one of an older version without its body is
	   replaced: its POST could not be repeated as it was) */
	if (ask_request_limit(svc, ask, ret > 0, callback, context) < 0)
		return NULL;

	req = approval_request_create(svc, ask, key,
				      stepup_approval_random_hex(),
				      stepup_approval_binding_code(),
				      ioloop_time, NULL);
	if (approval_request_store(req, &error) < 0) {
		approval_request_free(req);
		ask_fail(svc, ask, STEPUP_APPROVAL_FAIL_INTERNAL,
			 t_strconcat("state: ", error, NULL), callback, context);
		return NULL;
	}
	approval_request_sent(req, &ask->rec, "");
	return req;
}

struct approval_waiter *
approval_service_ask(struct approval_service *svc,
		     const struct stepup_approval_ask *ask,
		     approval_answer_callback_t *callback, void *context)
{
	struct approval_request *req;
	struct approval_waiter *waiter;

	if (svc->config_error != NULL) {
		ask_fail(svc, ask, STEPUP_APPROVAL_FAIL_CONFIG,
			 svc->config_error, callback, context);
		return NULL;
	}
	if (ask_grant(svc, ask, callback, context) != 0)
		return NULL;
	if (!ask->create) {
		answer(callback, context, STEPUP_APPROVAL_ANSWER_NONE, "",
		       FALSE, TRUE);
		return NULL;
	}
	if (ask->wait_secs == 0) {
		ask_fail(svc, ask, STEPUP_APPROVAL_FAIL_CONFIG, "wait is 0",
			 callback, context);
		return NULL;
	}
	if ((req = ask_request(svc, ask, callback, context)) == NULL)
		return NULL;
	waiter = approval_waiter_add(req, ask->wait_secs, callback, context);
	approval_request_step(req);
	return waiter;
}

/* ---- the service */

struct approval_service *
approval_service_init(const struct stepup_policy *policy,
		      approval_audit_write_t *audit_write)
{
	const struct stepup_approval_settings *set =
		policy == NULL ? NULL : stepup_policy_get_approval(policy);
	struct approval_service *svc;
	const char *error;
	pool_t pool;

	pool = pool_alloconly_create("approval service", 1024);
	svc = p_new(pool, struct approval_service, 1);
	svc->pool = pool;
	svc->audit_write = audit_write;
	hash_table_create(&svc->requests, default_pool, 0, str_hash, strcmp);
	hash_table_create(&svc->user_counts, default_pool, 0, str_hash, strcmp);
	if (set == NULL || set->url == NULL) {
		svc->config_error = policy == NULL ? "no policy" :
			"the policy has no approval block";
		return svc;
	}
	svc->state_path = p_strdup(pool, stepup_policy_get_state_path(policy));
	svc->timeout_secs = set->timeout_secs;
	svc->failmode_open = set->failmode_open;
	svc->http_set.ca_file = p_strdup(pool, set->ca_file);
	svc->http_set.pin = p_strdup(pool, set->pin);
	svc->http_set.client_cert = p_strdup(pool, set->client_cert);
	svc->http_set.client_key = p_strdup(pool, set->client_key);
	svc->http_set.timeout_msecs = set->timeout_secs * 1000;
	svc->http_set.connect_timeout_msecs =
		I_MIN(APPROVAL_CONNECT_TIMEOUT_MSECS, svc->http_set.timeout_msecs);
	if (stepup_approval_url_parse(pool, set->url, &svc->url, &error) < 0 ||
	    stepup_approval_keyring_load(set, &svc->keyring, &error) < 0) {
		svc->config_error = p_strdup(pool, error);
		i_error("stepup-audit: approval: %s: every approval fails "
			"(closed)", error);
	} else if (svc->state_path == NULL) {
		svc->config_error = "approvals need state.path (no Redis "
			"backend for them yet)";
		i_error("stepup-audit: approval: %s", svc->config_error);
	}
	return svc;
}

void approval_service_start(struct approval_service *svc)
{
	const char *error;

	if (svc->config_error != NULL)
		return;
	if (stepup_state_init_dir(svc->state_path, &svc->state, &error) < 0) {
		svc->config_error = p_strdup(svc->pool, error);
		i_error("stepup-audit: approval: state: %s: every approval "
			"fails (closed)", error);
		return;
	}
	svc->http = approval_http_client_init(&svc->http_set);
}

void approval_service_deinit(struct approval_service **_svc)
{
	struct approval_service *svc = *_svc;
	struct hash_iterate_context *iter;
	struct approval_request *req;
	const char *key;
	char *user;
	void *count;

	*_svc = NULL;
	iter = hash_table_iterate_init(svc->requests);
	while (hash_table_iterate(iter, svc->requests, &key, &req))
		approval_request_destroy(req);
	hash_table_iterate_deinit(&iter);
	hash_table_destroy(&svc->requests);
	iter = hash_table_iterate_init(svc->user_counts);
	while (hash_table_iterate(iter, svc->user_counts, &user, &count))
		i_free(user);
	hash_table_iterate_deinit(&iter);
	hash_table_destroy(&svc->user_counts);
	approval_http_client_deinit(&svc->http);
	if (svc->state != NULL)
		stepup_state_deinit(&svc->state);
	if (svc->keyring != NULL)
		stepup_approval_keyring_free(&svc->keyring);
	pool_unref(&svc->pool);
}
