/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "istream.h"
#include "llist.h"
#include "stepup-compat.h"
#include "restrict-access.h"
#include "program-client.h"
#include "asvc-request.h"
#include "stepup-approval-endpoint.h"

/* notify_command (and webhook, stepup-approval-webhook.c): run for every
   new request with the request as JSON on
   stdin (never on argv: names and folders are the users' data), without
   a shell, bounded in time, never waited for. */

struct notify_run {
	struct notify_run *prev, *next;
	struct program_client *pc;
	char *id;
};

static const char *notify_command;
static unsigned int notify_timeout_secs;
static struct event *notify_event;
static struct notify_run *runs;

static void notify_run_free(struct notify_run *run)
{
	DLLIST_REMOVE(&runs, run);
	program_client_destroy(&run->pc);
	i_free(run->id);
	i_free(run);
}

static void notify_done(enum program_client_exit_status status,
			struct notify_run *run)
{
	if (status != PROGRAM_CLIENT_EXIT_STATUS_SUCCESS) {
		e_error(notify_event, "notify_command for request %s failed "
			"(status %d)", run->id, (int)status);
	}
	notify_run_free(run);
}

void stepup_approval_notify_init(const char *command,
				 unsigned int timeout_secs,
				 struct event *event)
{
	notify_command = command;
	notify_timeout_secs = timeout_secs;
	notify_event = event;
}

void stepup_approval_notify_deinit(void)
{
	while (runs != NULL)
		notify_run_free(runs);
}

static const char *notify_json(const struct asvc_request *req)
{
	string_t *body = t_str_new(512);

	/* the same fields the plugin sent, plus when it arrived */
	str_append(body, "{\"request_id\":\"");
	json_append_escaped(body, req->id);
#define F(key, value) \
	str_append(body, "\",\"" key "\":\""); \
	json_append_escaped(body, value)
	F("user", req->user);
	F("mailbox", req->mailbox);
	F("remote_ip", req->remote_ip);
	F("protocol", req->protocol);
	F("client", req->client);
	F("rule", req->rule);
	F("auth", req->auth);
	F("binding_code", req->binding_code);
#undef F
	str_printfa(body, "\",\"received\":%ld}\n", (long)req->received);
	return str_c(body);
}

void stepup_approval_notify(const struct asvc_request *req)
{
	struct program_client_parameters pset;
	struct notify_run *run;
	struct istream *input;
	const char *json;

	json = notify_json(req);
	stepup_approval_webhook(json);
	if (notify_command == NULL)
		return;
	i_zero(&pset);
	pset.client_connect_timeout_msecs = notify_timeout_secs * 1000;
	pset.input_idle_timeout_msecs = notify_timeout_secs * 1000;

	run = i_new(struct notify_run, 1);
	run->id = i_strdup(req->id);
	run->pc = STEPUP_PROGRAM_CLIENT_LOCAL_CREATE(notify_event,
						     notify_command, &pset);
	input = i_stream_create_copy_from_data(json, strlen(json));
	program_client_set_input(run->pc, input);
	i_stream_unref(&input);
	DLLIST_PREPEND(&runs, run);
	program_client_run_async(run->pc, notify_done, run);
}
