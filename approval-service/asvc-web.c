/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "str-sanitize.h"
#include "stepup-compat.h"
#include "stepup-state.h"
#include "asvc-html.h"
#include "asvc-session.h"
#include "asvc-store.h"
#include "asvc-decide.h"
#include "asvc-page.h"
#include "asvc-enroll.h"
#include "asvc-apppw.h"
#include "asvc-web.h"

#define FORM_CONTENT_TYPE "application/x-www-form-urlencoded"
#define ASVC_REASON_MAX 200

static void add_header(struct asvc_web_response *resp, const char *name,
		       const char *value)
{
	struct asvc_web_header *h = array_append_space(&resp->headers);

	h->name = name;
	h->value = value;
}

static void set_cookie(struct asvc_web_response *resp, const char *name,
		       const char *value, bool remove)
{
	add_header(resp, "Set-Cookie", t_strdup_printf(
		"%s=%s; Path=/; Secure; HttpOnly; SameSite=Strict%s", name,
		value, remove ? "; Max-Age=0" : ""));
}

static void html_response(struct asvc_web_response *resp, unsigned int status,
			  const char *reason)
{
	resp->status = status;
	resp->reason = reason;
	resp->content_type = "text/html; charset=utf-8";
}

static void security_headers(struct asvc_web_response *resp)
{
	add_header(resp, "Content-Security-Policy",
		   "default-src 'none'; style-src 'self'; img-src 'self'; "
		   "form-action 'self'; frame-ancestors 'none'; "
		   "base-uri 'none'");
	add_header(resp, "X-Content-Type-Options", "nosniff");
	add_header(resp, "X-Frame-Options", "DENY");
	add_header(resp, "Referrer-Policy", "no-referrer");
	add_header(resp, "Cache-Control", "no-store");
}

static void response_init(struct asvc_web_response *resp)
{
	i_zero(resp);
	resp->body = t_str_new(4096);
	t_array_init(&resp->headers, 12);
	security_headers(resp);
}

static void page_signin(const struct asvc_web_request *req,
			struct asvc_web_response *resp, unsigned int status,
			const char *notice, bool error)
{
	const char *pre = asvc_cookie_get(req->cookie, ASVC_COOKIE_PRE);

	if (pre == NULL || strlen(pre) != ASVC_TOKEN_HEX_LEN ||
	    status != 200 || error) {
		/* a new one for every new form and after every failure */
		pre = asvc_token_new();
		set_cookie(resp, ASVC_COOKIE_PRE, pre, FALSE);
	}
	html_response(resp, status, status == 200 ? "OK" :
		      status == 403 ? "Forbidden" : "Too Many Requests");
	asvc_page_signin(resp->body, asvc_html(pre), notice, error);
}

static const char *status_reason(unsigned int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 429: return "Too Many Requests";
	}
	return "Internal Server Error";
}

static void page_enroll(const struct asvc_web_env *env,
			struct asvc_session *session,
			struct asvc_web_response *resp)
{
	struct asvc_enroll_result res;

	asvc_enroll_show(env->enroll, session, resp->body, &res);
	html_response(resp, res.status, status_reason(res.status));
	if (res.log != NULL)
		resp->log = res.log;
}

static void page_list(const struct asvc_web_env *env,
		      const struct asvc_web_request *req,
		      struct asvc_session *session,
		      struct asvc_web_response *resp, unsigned int status,
		      const char *notice, bool error)
{
	if (session->role == ASVC_ROLE_ENROLL && env->enroll != NULL) {
		/* signed in with the password alone: nothing else */
		page_enroll(env, session, resp);
		return;
	}
	html_response(resp, status, status == 200 ? "OK" :
		      status == 403 ? "Forbidden" : "Bad Request");
	asvc_page_requests(resp->body, session,
			   asvc_store_get_all(env->store), env->rules, notice,
			   error, req->now);
}

static const char *form(const struct asvc_web_request *req, const char *key)
{
	return asvc_form_get(req->body, key);
}

static bool form_is_valid(const struct asvc_web_request *req)
{
	return req->content_type != NULL &&
		strncasecmp(req->content_type, FORM_CONTENT_TYPE,
			    strlen(FORM_CONTENT_TYPE)) == 0 &&
		strlen(req->body) <= ASVC_WEB_FORM_MAX;
}

static void handle_signin(const struct asvc_web_env *env,
			  const struct asvc_web_request *req,
			  struct asvc_web_response *resp)
{
	const char *pre = asvc_cookie_get(req->cookie, ASVC_COOKIE_PRE);
	const char *user = form(req, "user"), *password = form(req, "password");
	const char *code = form(req, "code");

	if (!asvc_token_equals(pre, form(req, "csrf"))) {
		resp->log = "sign-in refused: no valid CSRF token";
		page_signin(req, resp, 403, "The form has expired. Please "
			    "sign in again.", TRUE);
		return;
	}
	if (user == NULL || password == NULL || code == NULL ||
	    user[0] == '\0' || password[0] == '\0' ||
	    (code[0] == '\0' && env->enroll == NULL) ||
	    strlen(user) > 256) {
		page_signin(req, resp, 200, "Enter your user name, password "
			    "and the code from your authenticator app.", TRUE);
		return;
	}
	if (!asvc_signin_allowed(env->sessions, user, req->remote_ip,
				 req->now)) {
		resp->log = t_strdup_printf("sign-in of %s refused: too many "
			"failures", str_sanitize(user, 80));
		page_signin(req, resp, 429, "Too many failed sign-ins. Try "
			    "again later.", TRUE);
		return;
	}
	resp->signin_pending = TRUE;
	resp->signin.user = user;
	/* the decoded form values themselves (fresh data stack strings):
	   the sign-in wipes them, no copy stays behind */
	resp->signin.password = (char *)password;
	resp->signin.code = (char *)code;
}

/* A sign-in with the password alone: a session for the enrollment page
   if the user is not enrolled. FALSE: refused (why_r). */
static bool signin_password_only(const struct asvc_web_env *env,
				 const struct asvc_web_request *req,
				 const char *user, const char **why_r)
{
	const char *error;
	int ret;

	if (env->enroll == NULL) {
		*why_r = "no code given";
		return FALSE;
	}
	ret = stepup_state_is_enrolled(env->enroll->state, user, &error);
	if (ret == 0)
		return TRUE;
	*why_r = ret < 0 ? t_strdup_printf("state: %s", error) :
		"enrolled, but no code given";
	(void)asvc_enroll_audit(env->enroll, "enroll", user, req->remote_ip,
		"deny",
		"sign-in with the password alone refused: enrolled users "
		"sign in with a code");
	return FALSE;
}

void asvc_web_signin_done(const struct asvc_web_env *env,
			  const struct asvc_web_request *req,
			  const char *user, enum asvc_signin_result result,
			  const char *why, struct asvc_web_response *resp)
{
	struct asvc_session *session;
	const char *token;
	enum asvc_role role;
	bool ok = result == ASVC_SIGNIN_TOTP;

	response_init(resp);
	if (result == ASVC_SIGNIN_PASSWORD)
		ok = signin_password_only(env, req, user, &why);
	if (!ok) {
		asvc_signin_failed(env->sessions, user, req->remote_ip,
				   req->now);
		resp->log = t_strdup_printf("sign-in of %s refused: %s",
			str_sanitize(user, 80), why);
		page_signin(req, resp, 200, "Sign-in failed: wrong user name, "
			    "password or code (a code can be used only once).",
			    TRUE);
		return;
	}
	if (result == ASVC_SIGNIN_PASSWORD)
		role = ASVC_ROLE_ENROLL;
	else if (env->rules->is_approver(env->rules->context, user))
		role = ASVC_ROLE_APPROVER;
	else
		role = ASVC_ROLE_SELF;
	session = asvc_session_create(env->sessions, user, role, req->now,
				      &token);
	set_cookie(resp, ASVC_COOKIE_SESSION, token, FALSE);
	set_cookie(resp, ASVC_COOKIE_PRE, "", TRUE);
	resp->log = t_strdup_printf("%s signed in as %s",
		str_sanitize(user, 80),
		role == ASVC_ROLE_APPROVER ? "approver" :
		role == ASVC_ROLE_ENROLL ? "user to enroll (password only)" :
		"user");
	page_list(env, req, session, resp, 200, NULL, FALSE);
}

/* The request a form names, if the session may act on it; else NULL and
   an error notice. */
static struct asvc_request *
form_request(const struct asvc_web_env *env,
	     const struct asvc_web_request *req,
	     struct asvc_session *session, bool *own_r,
	     const char **error_r)
{
	const char *id = form(req, "id");
	struct asvc_request *r;

	r = id == NULL ? NULL : asvc_store_find(env->store, id);
	if (r == NULL) {
		*error_r = "No such request.";
		return NULL;
	}
	*own_r = strcmp(r->user, session->user) == 0;
	if (*own_r) {
		if (!asvc_self_approve_allowed(env->rules, r)) {
			*error_r = "You cannot decide on your own request.";
			return NULL;
		}
	} else if (session->role != ASVC_ROLE_APPROVER) {
		*error_r = "No such request.";
		return NULL;
	}
	if (r->status != ASVC_STATUS_PENDING) {
		*error_r = t_strdup_printf("The request is already %s.",
					   asvc_status_name(r->status));
		return NULL;
	}
	return r;
}

static const char *form_reason(const struct asvc_web_request *req)
{
	const char *reason = form(req, "reason");

	if (reason == NULL)
		return NULL;
	/* kept as text: no control characters, bounded */
	return str_sanitize(reason, ASVC_REASON_MAX);
}

static const char *request_what(const struct asvc_request *r)
{
	return t_strdup_printf("request %s (user %s, folder %s)", r->id,
			       str_sanitize(r->user, 80),
			       str_sanitize(r->mailbox, 200));
}

static void handle_approve(const struct asvc_web_env *env,
			   const struct asvc_web_request *req,
			   struct asvc_session *session,
			   struct asvc_request *r, bool own,
			   struct asvc_web_response *resp)
{
	unsigned int minutes, max_secs = asvc_max_grant_secs(env->rules, r);
	const char *value = form(req, "minutes"), *error;

	if (own || value == NULL || str_to_uint(value, &minutes) < 0 ||
	    minutes == 0) {
		page_list(env, req, session, resp, 400,
			  "Choose how long the approval lasts.", TRUE);
		return;
	}
	if (minutes > max_secs / 60)
		minutes = I_MAX(max_secs / 60, 1);
	if (asvc_approve(env->store, r, session->user, minutes * 60,
			 form_reason(req), req->now, &error) < 0) {
		page_list(env, req, session, resp, 200, error, TRUE);
		return;
	}
	resp->log = t_strdup_printf("%s approved %s for %u min",
		str_sanitize(session->user, 80), request_what(r), minutes);
	page_list(env, req, session, resp, 200, t_strdup_printf(
		"Approved for %s.", asvc_page_age(minutes * 60)), FALSE);
}

static void handle_deny(const struct asvc_web_env *env,
			const struct asvc_web_request *req,
			struct asvc_session *session,
			struct asvc_request *r, bool own,
			struct asvc_web_response *resp)
{
	const char *reason = form_reason(req), *error;

	if (own && (reason == NULL || reason[0] == '\0'))
		reason = "not requested by the user";
	if (asvc_deny(env->store, r, session->user, reason, req->now,
		      &error) < 0) {
		page_list(env, req, session, resp, 200, error, TRUE);
		return;
	}
	resp->log = t_strdup_printf("%s denied %s", str_sanitize(
		session->user, 80), request_what(r));
	page_list(env, req, session, resp, 200, "Denied.", FALSE);
}

static void handle_confirm(const struct asvc_web_env *env,
			   const struct asvc_web_request *req,
			   struct asvc_session *session,
			   struct asvc_request *r, bool own,
			   struct asvc_web_response *resp)
{
	const char *code = form(req, "code"), *error;
	bool match;
	int ret;

	if (!own) {
		page_list(env, req, session, resp, 400, "No such request.",
			  TRUE);
		return;
	}
	match = code != NULL && strlen(code) == 2 &&
		mem_equals_timing_safe(code, r->binding_code, 2);
	if (match) {
		ret = asvc_approve(env->store, r, session->user,
				   asvc_max_grant_secs(env->rules, r),
				   "confirmed by the user", req->now, &error);
		r->self_confirmed = ret == 0;
	} else {
		/* number matching: a wrong code ends the request */
		ret = asvc_deny(env->store, r, session->user,
				"wrong binding code", req->now, &error);
	}
	if (ret < 0) {
		page_list(env, req, session, resp, 200, error, TRUE);
		return;
	}
	resp->log = t_strdup_printf("%s %s own %s",
		str_sanitize(session->user, 80),
		match ? "confirmed" : "gave a wrong binding code for",
		request_what(r));
	page_list(env, req, session, resp, 200, match ?
		  "Confirmed: your mail program can open the folder now." :
		  "Wrong code: the request was denied. Open the folder again "
		  "to get a new code.", !match);
}

/* The protocols ticked on the app password form: proto_imap=1 ...
   (NULL: none ticked, any protocol; "?" a malformed form) */
static const char *form_protocols(const struct asvc_web_request *req)
{
	static const char *const names[] = {
		"imap", "pop3", "sieve", "submission"
	};
	string_t *list = t_str_new(64);
	const char *value;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(names); i++) {
		value = form(req, t_strconcat("proto_", names[i], NULL));
		if (value == NULL)
			continue;
		if (strcmp(value, "1") != 0)
			return "?";
		if (str_len(list) > 0)
			str_append_c(list, ',');
		str_append(list, names[i]);
	}
	return str_len(list) == 0 ? NULL : str_c(list);
}

/* The app passwords page's forms: TRUE if req was one. */
static bool handle_apppw_post(const struct asvc_web_env *env,
			      const struct asvc_web_request *req,
			      struct asvc_session *session,
			      struct asvc_web_response *resp)
{
	struct asvc_enroll_result res;

	if (strcmp(req->path, "/app-password-add") == 0) {
		asvc_apppw_add(env->enroll, session, req->remote_ip,
			       form(req, "label"), form(req, "days"),
			       form(req, "networks"), form_protocols(req),
			       req->now, resp->body, &res);
	} else if (strcmp(req->path, "/app-password-revoke") == 0) {
		asvc_apppw_revoke(env->enroll, session, req->remote_ip,
				  form(req, "label"), req->now, resp->body,
				  &res);
	} else {
		return FALSE;
	}
	html_response(resp, res.status, status_reason(res.status));
	resp->log = res.log;
	return TRUE;
}

/* The enrollment page's forms: TRUE if req was one. */
static bool handle_enroll_post(const struct asvc_web_env *env,
			       const struct asvc_web_request *req,
			       struct asvc_session *session,
			       struct asvc_web_response *resp)
{
	struct asvc_enroll_result res;

	if (strcmp(req->path, "/enroll-begin") == 0) {
		asvc_enroll_begin(env->enroll, session, req->remote_ip,
				  form(req, "invite"), form(req, "proof"),
				  resp->body, &res);
	} else if (strcmp(req->path, "/enroll-confirm") == 0) {
		asvc_enroll_confirm(env->enroll, session, req->remote_ip,
				    form(req, "code"), resp->body, &res);
	} else {
		return FALSE;
	}
	html_response(resp, res.status, status_reason(res.status));
	resp->log = res.log;
	return TRUE;
}

static void handle_post(const struct asvc_web_env *env,
			const struct asvc_web_request *req,
			struct asvc_web_response *resp)
{
	const char *token = asvc_cookie_get(req->cookie, ASVC_COOKIE_SESSION);
	struct asvc_session *session;
	struct asvc_request *r;
	const char *error;
	bool own;

	if (!form_is_valid(req)) {
		html_response(resp, 400, "Bad Request");
		asvc_page_message(resp->body, "Bad request",
				  "The form could not be read.");
		return;
	}
	if (strcmp(req->path, "/signin") == 0) {
		handle_signin(env, req, resp);
		return;
	}
	session = asvc_session_lookup(env->sessions, token, req->now);
	if (session == NULL) {
		page_signin(req, resp, 200, "Your session has ended. Please "
			    "sign in again.", TRUE);
		return;
	}
	if (!asvc_session_csrf_ok(session, form(req, "csrf"))) {
		resp->log = t_strdup_printf("form of %s refused: no valid "
			"CSRF token", str_sanitize(session->user, 80));
		html_response(resp, 403, "Forbidden");
		asvc_page_message(resp->body, "Refused", "The form was not "
				  "sent from this page. Nothing was changed.");
		return;
	}
	if (strcmp(req->path, "/signout") == 0) {
		asvc_session_destroy(env->sessions, token);
		set_cookie(resp, ASVC_COOKIE_SESSION, "", TRUE);
		page_signin(req, resp, 200, "Signed out.", FALSE);
		return;
	}
	if (env->enroll != NULL && handle_enroll_post(env, req, session, resp))
		return;
	asvc_enroll_forget(session);
	if (session->role == ASVC_ROLE_ENROLL) {
		page_list(env, req, session, resp, 200, NULL, FALSE);
		return;
	}
	if (env->enroll != NULL && handle_apppw_post(env, req, session, resp))
		return;
	if (strcmp(req->path, "/approve") != 0 &&
	    strcmp(req->path, "/deny") != 0 &&
	    strcmp(req->path, "/confirm") != 0) {
		html_response(resp, 404, "Not Found");
		asvc_page_message(resp->body, "Not found", "No such page.");
		return;
	}
	r = form_request(env, req, session, &own, &error);
	if (r == NULL)
		page_list(env, req, session, resp, 200, error, TRUE);
	else if (strcmp(req->path, "/approve") == 0)
		handle_approve(env, req, session, r, own, resp);
	else if (strcmp(req->path, "/deny") == 0)
		handle_deny(env, req, session, r, own, resp);
	else
		handle_confirm(env, req, session, r, own, resp);
}

#define DOWNLOAD_PREFIX "/recovery-codes/"

/* GET enroll and the recovery codes' download: TRUE if req was one. */
static bool handle_enroll_get(const struct asvc_web_env *env,
			      const struct asvc_web_request *req,
			      struct asvc_web_response *resp)
{
	struct asvc_session *session;
	const char *text;
	bool download = str_begins_with(req->path, DOWNLOAD_PREFIX);

	bool apppw = strcmp(req->path, "/app-passwords") == 0;

	if (strcmp(req->path, "/enroll") != 0 && !download && !apppw)
		return FALSE;
	session = asvc_session_lookup(env->sessions,
		asvc_cookie_get(req->cookie, ASVC_COOKIE_SESSION), req->now);
	if (session == NULL) {
		page_signin(req, resp, 200, NULL, FALSE);
		return TRUE;
	}
	if (apppw) {
		struct asvc_enroll_result res;

		asvc_enroll_forget(session);
		if (session->role == ASVC_ROLE_ENROLL) {
			page_enroll(env, session, resp);
			return TRUE;
		}
		asvc_apppw_show(env->enroll, session, req->now, resp->body,
				&res);
		html_response(resp, res.status, status_reason(res.status));
		resp->log = res.log;
		return TRUE;
	}
	if (!download) {
		page_enroll(env, session, resp);
		return TRUE;
	}
	text = asvc_enroll_download(session,
				    req->path + strlen(DOWNLOAD_PREFIX));
	if (text == NULL) {
		html_response(resp, 404, "Not Found");
		asvc_page_message(resp->body, "Not found", "The recovery "
				  "codes can be downloaded once, right after "
				  "they are shown.");
		return TRUE;
	}
	resp->status = 200;
	resp->reason = "OK";
	resp->content_type = "text/plain; charset=utf-8";
	add_header(resp, "Content-Disposition",
		   "attachment; filename=\"recovery-codes.txt\"");
	str_append(resp->body, text);
	resp->log = t_strdup_printf("%s downloaded the recovery codes",
				    str_sanitize(session->user, 80));
	return TRUE;
}

void asvc_web_handle(const struct asvc_web_env *env,
		     const struct asvc_web_request *req,
		     struct asvc_web_response *resp)
{
	struct asvc_session *session;

	response_init(resp);
	if (strcmp(req->method, "POST") == 0) {
		handle_post(env, req, resp);
		return;
	}
	if (strcmp(req->method, "GET") != 0 &&
	    strcmp(req->method, "HEAD") != 0) {
		html_response(resp, 405, "Method Not Allowed");
		add_header(resp, "Allow", "GET, HEAD, POST");
		asvc_page_message(resp->body, "Not allowed",
				  "This method is not allowed.");
		return;
	}
	if (strcmp(req->path, "/approval.css") == 0) {
		resp->status = 200;
		resp->reason = "OK";
		resp->content_type = "text/css; charset=utf-8";
		str_append(resp->body, env->css);
		return;
	}
	if (env->enroll != NULL && handle_enroll_get(env, req, resp))
		return;
	if (strcmp(req->path, "/") != 0) {
		html_response(resp, 404, "Not Found");
		asvc_page_message(resp->body, "Not found", "No such page.");
		return;
	}
	session = asvc_session_lookup(env->sessions,
		asvc_cookie_get(req->cookie, ASVC_COOKIE_SESSION), req->now);
	if (session == NULL)
		page_signin(req, resp, 200, NULL, FALSE);
	else {
		asvc_enroll_forget(session);
		page_list(env, req, session, resp, 200, NULL, FALSE);
	}
}
