/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "ioloop.h"
#include "base64.h"
#include "safe-memset.h"
#include "buffer.h"
#include "hex-binary.h"
#include "str.h"
#include "str-sanitize.h"
#include "auth-client.h"
#include "stepup-compat.h"
#include STEPUP_LOGIN_INTERFACE_H
#include STEPUP_LOGIN_SERVER_AUTH_H
#include "stepup-facts.h"
#include "approval-request.h"
#include "stepup-approval-signin.h"

#include <unistd.h>

#define SIGNIN_TIMEOUT_MSECS (10 * 1000)

struct stepup_approval_signin {
	struct auth_client *client;
	struct login_server_auth *master;
	const buffer_t *facts_key;
	struct event *event;
};

struct stepup_approval_signin_check {
	struct stepup_approval_signin *signin;
	pool_t pool;
	struct auth_client_request *request;
	struct ip_addr remote_ip, local_ip;
	const char *user, *session;
	time_t started;
	stepup_approval_signin_callback_t *callback;
	void *context;
	struct timeout *to;
	/* waiting for the master socket: the check may not be freed
	   before its reply */
	bool master_pending;
	/* the sign-in gave no code */
	bool no_code;
};

struct stepup_approval_signin *
stepup_approval_signin_init(const char *auth_socket,
			    const char *master_socket,
			    const buffer_t *facts_key, struct event *event)
{
	struct stepup_approval_signin *signin;

	signin = i_new(struct stepup_approval_signin, 1);
	signin->facts_key = facts_key;
	signin->event = event;
	signin->client = auth_client_init(auth_socket, (unsigned int)getpid(),
					  FALSE);
	auth_client_set_connect_timeout(signin->client, SIGNIN_TIMEOUT_MSECS);
	auth_client_connect(signin->client);
	signin->master = login_server_auth_init(master_socket, FALSE);
	login_server_auth_set_timeout(signin->master, SIGNIN_TIMEOUT_MSECS);
	return signin;
}

void stepup_approval_signin_deinit(struct stepup_approval_signin **_signin)
{
	struct stepup_approval_signin *signin = *_signin;

	*_signin = NULL;
	login_server_auth_deinit(&signin->master);
	auth_client_deinit(&signin->client);
	i_free(signin);
}

static void check_free(struct stepup_approval_signin_check *check)
{
	timeout_remove(&check->to);
	pool_unref(&check->pool);
}

static void check_finish(struct stepup_approval_signin_check *check,
			 const char *level, const char *why)
{
	stepup_approval_signin_callback_t *callback = check->callback;

	check->callback = NULL;
	timeout_remove(&check->to);
	if (callback != NULL)
		callback(level, check->user, why, check->context);
}

/* The facts of the login, as imap would get them. */
static void
master_callback(const char *const *auth_args, const char *errormsg,
		void *context)
{
	struct stepup_approval_signin_check *check = context;
	const char *level = "", *mfa_time = "", *rule = "", *sig = NULL;
	const char *why = NULL, *granted = NULL;
	unsigned int i;
	time_t t;

	check->master_pending = FALSE;
	if (auth_args == NULL || auth_args[0] == NULL) {
		why = t_strconcat("auth master: ", errormsg == NULL ?
				  "no reply" : str_sanitize(errormsg, 200),
				  NULL);
	} else {
		for (i = 1; auth_args[i] != NULL; i++) {
			const char *a = auth_args[i];

			if (str_begins_with(a, "stepup_level="))
				level = a + 13;
			else if (str_begins_with(a, "stepup_mfa_time="))
				mfa_time = a + 16;
			else if (str_begins_with(a, "stepup_rule="))
				rule = a + 12;
			else if (str_begins_with(a, "stepup_sig="))
				sig = a + 11;
		}
		if (check->signin->facts_key->used > 0 &&
		    !stepup_facts_verify(check->signin->facts_key,
					 check->user, check->session, level,
					 mfa_time, rule, sig))
			why = "the login's facts are not signed";
		else if (check->no_code && strcmp(level, "password") == 0)
			granted = "password";
		else if (strcmp(level, "totp") != 0)
			why = t_strdup_printf("login level is %s, not totp",
				level[0] == '\0' ? "none" :
				str_sanitize(level, 20));
		else if (check->no_code || str_to_time(mfa_time, &t) < 0 ||
			 t + 1 < check->started)
			why = "the code was not verified by this sign-in";
		else
			granted = "totp";
	}
	if (granted == NULL && why == NULL)
		why = "refused";
	check_finish(check, why == NULL ? granted : NULL, why);
	check_free(check);
}

static void
auth_callback(struct auth_client_request *request,
	      enum auth_request_status status,
	      const char *data_base64 ATTR_UNUSED,
	      const char *const *args, void *context)
{
	struct stepup_approval_signin_check *check = context;
	struct login_request req;
	const char *cookie;
	buffer_t buf;
	unsigned int i;

	if (status == AUTH_REQUEST_STATUS_CONTINUE) {
		/* PLAIN with an initial response needs no more: the abort
		   calls back with ABORT, which ends the check */
		auth_client_request_abort(&check->request, "unexpected");
		return;
	}
	check->request = NULL;
	if (status != AUTH_REQUEST_STATUS_OK) {
		check_finish(check, NULL,
			status == AUTH_REQUEST_STATUS_FAIL ?
			"wrong password or code, or refused by the login rule" :
			status == AUTH_REQUEST_STATUS_ABORT ? "aborted" :
			"internal failure in auth");
		check_free(check);
		return;
	}
	for (i = 0; args != NULL && args[i] != NULL; i++) {
		if (str_begins_with(args[i], "user="))
			check->user = p_strdup(check->pool, args[i] + 5);
	}
	i_zero(&req);
	req.auth_pid = auth_client_request_get_server_pid(request);
	req.auth_id = auth_client_request_get_id(request);
	req.client_pid = (unsigned int)getpid();
	req.local_ip = check->local_ip;
	req.remote_ip = check->remote_ip;
	cookie = auth_client_request_get_cookie(request);
	buffer_create_from_data(&buf, req.cookie, sizeof(req.cookie));
	if (cookie == NULL || strlen(cookie) != sizeof(req.cookie) * 2 ||
	    hex_to_binary(cookie, &buf) < 0) {
		check_finish(check, NULL, "auth sent no valid cookie");
		check_free(check);
		return;
	}
	check->master_pending = TRUE;
	login_server_auth_request(check->signin->master, &req,
				  master_callback, check);
}

static void check_timeout(struct stepup_approval_signin_check *check)
{
	check_finish(check, NULL, "auth did not answer in time");
	if (check->request != NULL) {
		/* calls back with ABORT, which frees the check */
		auth_client_request_abort(&check->request, "timeout");
	} else if (!check->master_pending) {
		check_free(check);
	}
	/* else the master's own (shorter) timeout calls back and frees */
}

void stepup_approval_signin_begin(struct stepup_approval_signin *signin,
			     const char *user, char *password, char *code,
			     const struct ip_addr *remote_ip,
			     const struct ip_addr *local_ip, bool secured,
			     stepup_approval_signin_callback_t *callback,
			     void *context)
{
	struct stepup_approval_signin_check *check;
	struct auth_request_info info;
	string_t *plain, *b64;
	pool_t pool;

	pool = pool_alloconly_create("approval sign-in", 512);
	check = p_new(pool, struct stepup_approval_signin_check, 1);
	check->pool = pool;
	check->signin = signin;
	check->user = p_strdup(pool, user);
	check->session = p_strdup(pool, stepup_approval_random_hex());
	check->remote_ip = *remote_ip;
	check->local_ip = *local_ip;
	check->started = ioloop_time;
	check->no_code = code[0] == '\0';
	check->callback = callback;
	check->context = context;

	/* SASL PLAIN: authzid NUL authcid NUL password+code */
	plain = t_str_new(256);
	str_append_c(plain, '\0');
	str_append(plain, user);
	str_append_c(plain, '\0');
	str_append(plain, password);
	str_append(plain, code);
	safe_memset(password, 0, strlen(password));
	safe_memset(code, 0, strlen(code));
	b64 = t_str_new(MAX_BASE64_ENCODED_SIZE(str_len(plain)) + 1);
	base64_encode(str_data(plain), str_len(plain), b64);
	safe_memset(str_c_modifiable(plain), 0, str_len(plain));

	i_zero(&info);
	info.mech = "PLAIN";
	STEPUP_AUTH_INFO_PROTOCOL(&info) = "stepup-approval";
	info.session_id = check->session;
	info.remote_ip = *remote_ip;
	info.local_ip = *local_ip;
	info.real_remote_ip = *remote_ip;
	info.real_local_ip = *local_ip;
	info.flags = secured ? AUTH_REQUEST_FLAG_CONN_SECURED : 0;
	info.initial_resp_base64 = str_c(b64);

	check->to = timeout_add(SIGNIN_TIMEOUT_MSECS + 1000, check_timeout,
				check);
	if (!auth_client_is_connected(signin->client)) {
		safe_memset(str_c_modifiable(b64), 0, str_len(b64));
		check->request = NULL;
		timeout_remove(&check->to);
		check->to = timeout_add_short(0, check_timeout, check);
		return;
	}
	check->request = auth_client_request_new(signin->client, &info,
						 auth_callback, check);
	safe_memset(str_c_modifiable(b64), 0, str_len(b64));
}

