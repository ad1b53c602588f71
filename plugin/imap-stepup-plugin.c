/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* IMAP-only extras of the stepup plugin (untagged [ALERT] lines). */

#include "imap-common.h"
#include "stepup-config.h"

const char *imap_stepup_plugin_version = DOVECOT_ABI_VERSION;
const char *imap_stepup_plugin_dependencies[] = { "stepup", NULL };
const char imap_stepup_plugin_binary_dependency[] = "imap";

void imap_stepup_plugin_init(struct module *module);
void imap_stepup_plugin_deinit(void);

static imap_client_created_func_t *next_hook_client_created;

static void imap_stepup_client_created(struct client **clientp)
{
	e_debug((*clientp)->user->event, "imap_stepup: client created");
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
