/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* IMAP-only extras of the stepup plugin: untagged [ALERT] lines. */

#include "imap-common.h"
#include "str.h"
#include "stepup-config.h"

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

static void imap_stepup_client_created(struct client **clientp)
{
	struct client *client = *clientp;
	const char *enroll_by;

	e_debug(client->user->event, "imap_stepup: client created");
	/* Grace period: the passdb let an unenrolled user in with the
	   password alone and said until when. Sent before the tagged OK of
	   the LOGIN/AUTHENTICATE. */
	enroll_by = mail_user_plugin_getenv(client->user, "stepup_enroll_by");
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
	next_hook_client_created =
		imap_client_created_hook_set(imap_stepup_client_created);
}

void imap_stepup_plugin_deinit(void)
{
	imap_client_created_hook_set(next_hook_client_created);
}
