/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* IMAP-only extras of the stepup plugin: untagged [ALERT] lines, the
   answers to reads that a fetch_limit refuses (NO [LIMIT], the session
   goes on); only SELECT and EXAMINE may ask for an approval, and the
   session's connection is watched while an open waits for one. */

#include "imap-common.h"
#include "stepup-compat.h"
#include "str.h"
#include "ostream.h"
#include "module-context.h"
#include "imap-url.h"
#include "imap-commands.h"
#include "imap-commands-util.h"
#include "imap-sync-private.h"
#include "stepup-config.h"
#include "stepup-facts.h"
#include "stepup-event.h"
#include "stepup-plugin.h"
#include "stepup-user-settings.h"

/* characters of a folder name shown in the approval alert */
#define ALERT_FOLDER_MAX 200

#define STEPUP_IMAP_CONTEXT(obj) \
	MODULE_CONTEXT(obj, imap_stepup_imap_module)

struct stepup_client {
	union imap_module_context module_ctx;
	/* the admin's settings, and the same with imap_fetch_failure =
	   no-after: used while a folder with a fetch_limit is selected, so
	   that a refused read ends the FETCH with a NO, not the session */
	const struct imap_settings *set;
	struct imap_settings *limit_set;
	/* fetch_limit refusals before the current step of a command */
	unsigned int refusals;
	/* the tagged answer of a command refused before it ran */
	const char *refusal;
};

static MODULE_CONTEXT_DEFINE_INIT(imap_stepup_imap_module,
				  &imap_module_register);
static command_func_t *urlfetch_func;

const char *imap_stepup_plugin_version = DOVECOT_ABI_VERSION;
const char *imap_stepup_plugin_dependencies[] = { "stepup", NULL };
const char imap_stepup_plugin_binary_dependency[] = "imap";

void imap_stepup_plugin_init(struct module *module);
void imap_stepup_plugin_deinit(void);

static imap_client_created_func_t *next_hook_client_created;

/* Only what the passdb put there, and only these characters, reaches
   the client. */
static bool is_date(const char *str)
{
	unsigned int i;

	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (str[i] != '-')
				return FALSE;
		} else if (str[i] < '0' || str[i] > '9')
			return FALSE;
	}
	return str[10] == '\0';
}

/* The folder as a quoted string: no control characters, quotes and
   backslashes escaped, bounded. */
static const char *alert_folder(const char *folder)
{
	string_t *str = t_str_new(64);
	unsigned int n;

	str_append_c(str, '"');
	for (n = 0; folder[n] != '\0' && n < ALERT_FOLDER_MAX; n++) {
		unsigned char c = folder[n];

		if (c < 0x20 || c == 0x7f)
			str_append_c(str, '?');
		else {
			if (c == '"' || c == '\\')
				str_append_c(str, '\\');
			str_append_c(str, c);
		}
	}
	if (folder[n] != '\0')
		str_append(str, "...");
	str_append_c(str, '"');
	return str_c(str);
}

static bool is_binding_code(const char *code)
{
	return code[0] >= '0' && code[0] <= '9' &&
		code[1] >= '0' && code[1] <= '9' && code[2] == '\0';
}

/* A request is pending: one untagged ALERT now, before the open waits. */
static void imap_stepup_approval_pending(void *context, const char *folder,
					 const char *code)
{
	struct client *client = context;

	if (!is_binding_code(code))
		code = "??";
	client_send_line(client, t_strdup_printf(
		"* OK [ALERT] Approval requested for %s (code %s): waiting "
		"for the decision; if asked, confirm the code %s.",
		alert_folder(folder), code, code));
	(void)o_stream_flush(client->output);
}

static bool is_asking_command(const char *name)
{
	return name != NULL && (strcasecmp(name, "SELECT") == 0 ||
				strcasecmp(name, "EXAMINE") == 0);
}

static bool stepup_cmd_refused(struct client_command_context *cmd)
{
	struct stepup_client *sclient = STEPUP_IMAP_CONTEXT(cmd->client);

	client_send_tagline(cmd, sclient->refusal);
	return TRUE;
}

/* URLFETCH reads each message as one step that Dovecot cannot fail
   cleanly (a failed read of a local URL frees the running command): the
   reads are counted before it runs, and refused as a whole. */
static void stepup_urlfetch_count(struct client_command_context *cmd,
				  struct stepup_client *sclient)
{
	struct mail_user *user = cmd->client->user;
	const struct imap_arg *args, *params;
	const char *url_text, *error;
	struct imap_url *url;
	enum mail_error code;

	/* not all there yet, or bad: URLFETCH itself answers */
	if (imap_parser_read_args(cmd->parser, 0, 0, &args) < 0)
		return;
	for (; !IMAP_ARG_IS_EOL(args); args++) {
		if (!imap_arg_get_list(args, &params))
			params = args;
		if (!imap_arg_get_astring(params, &url_text) ||
		    imap_url_parse(url_text, NULL, IMAP_URL_PARSE_ALLOW_URLAUTH,
				   &url, &error) < 0)
			continue;
		/* other users' URLs are read by the imap-urlauth service */
		if (url->mailbox == NULL || url->uid == 0 ||
		    url->userid == NULL ||
		    strcmp(url->userid, user->username) != 0)
			continue;
		if (stepup_plugin_count_url_read(user, url->mailbox, url->uid,
						 &code, &error) < 0) {
			sclient->refusal = p_strdup(cmd->pool,
				STEPUP_IMAP_ERROR_STRING(cmd, error, code));
			cmd->func = stepup_cmd_refused;
			return;
		}
	}
}

static void stepup_cmd_pre(struct client_command_context *cmd)
{
	struct client *client = cmd->client;
	struct stepup_client *sclient = STEPUP_IMAP_CONTEXT(client);

	if (sclient == NULL)
		return;
	stepup_plugin_set_asking(client->user, is_asking_command(cmd->name));
	sclient->refusals = stepup_plugin_limit_refusals(client->user);
	if (client->mailbox != NULL &&
	    stepup_plugin_box_counts_reads(client->mailbox))
		client->set = sclient->limit_set;
	if (cmd->func == urlfetch_func && urlfetch_func != NULL)
		stepup_urlfetch_count(cmd, sclient);
}

static void stepup_cmd_post(struct client_command_context *cmd)
{
	struct client *client = cmd->client;
	struct stepup_client *sclient = STEPUP_IMAP_CONTEXT(client);
	const char *tagline;

	if (sclient == NULL)
		return;
	stepup_plugin_set_asking(client->user, FALSE);
	client->set = sclient->set;
	if (stepup_plugin_limit_refusals(client->user) == sclient->refusals)
		return;
	/* FETCH (and others that read) answer a failed read as a server
	   bug: it is the fetch_limit, and the client may try again later.
	   The UIDs are not kept as failed (a FETCH of them again would end
	   the session). */
	if (cmd->sync == NULL || cmd->sync->tagline == NULL ||
	    strcmp(cmd->sync->tagline, "NO [SERVERBUG] "
		   STEPUP_MSG_FETCH_LIMIT) != 0)
		return;
	tagline = p_strdup(cmd->pool, STEPUP_IMAP_ERROR_STRING(cmd,
		STEPUP_MSG_FETCH_LIMIT, MAIL_ERROR_LIMIT));
	cmd->sync->tagline = tagline;
	cmd->tagline_reply = tagline;
	if (array_is_created(&client->fetch_failed_uids))
		array_clear(&client->fetch_failed_uids);
}

static void imap_stepup_client_created(struct client **clientp)
{
	struct client *client = *clientp;
	struct stepup_client *sclient;
	const char *enroll_by;

	sclient = p_new(client->pool, struct stepup_client, 1);
	sclient->module_ctx.super = client->v;
	sclient->set = client->set;
	sclient->limit_set = p_new(client->pool, struct imap_settings, 1);
	*sclient->limit_set = *client->set;
	sclient->limit_set->parsed_fetch_failure =
		IMAP_CLIENT_FETCH_FAILURE_NO_AFTER;
	MODULE_CONTEXT_SET(client, imap_stepup_imap_module, sclient);

	e_debug(event_create_passthrough(client->user->event)->
		add_category(&event_category_stepup)->
		append_log_prefix("imap_stepup: ")->event(), "client created");
	stepup_plugin_set_approval_client(client->user, client->fd_in,
					  imap_stepup_approval_pending, client);
	/* Grace period: the passdb let an unenrolled user in with the
	   password alone and said until when. Sent before the tagged OK of
	   the LOGIN/AUTHENTICATE. */
	enroll_by = stepup_user_field(client->user, STEPUP_FACT_ENROLL_BY);
	if (enroll_by != NULL && is_date(enroll_by)) {
		client_send_line(client, t_strdup_printf(
			"* OK [ALERT] Two-step verification becomes mandatory "
			"for your account on %s: enroll before then "
			"(see your mail administrator's instructions).",
			enroll_by));
	}
	if (next_hook_client_created != NULL)
		next_hook_client_created(clientp);
}

void imap_stepup_plugin_init(struct module *module ATTR_UNUSED)
{
	const struct command *urlfetch = command_find("URLFETCH");

	urlfetch_func = urlfetch == NULL ? NULL : urlfetch->func;
	command_hook_register(stepup_cmd_pre, stepup_cmd_post);
	next_hook_client_created =
		imap_client_created_hook_set(imap_stepup_client_created);
}

void imap_stepup_plugin_deinit(void)
{
	command_hook_unregister(stepup_cmd_pre, stepup_cmd_post);
	imap_client_created_hook_set(next_hook_client_created);
}
