/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Mail plugin "stepup": the session's login facts (set by the stepup
   passdb) and the folder rules of the policy, checked on every path into a
   mailbox. Each hook lives with the object it extends. */

#include "lib.h"
#include "mail-storage-hooks.h"
#include "stepup-plugin-private.h"

const char *stepup_plugin_version = DOVECOT_ABI_VERSION;

static struct mail_storage_hooks stepup_mail_storage_hooks = {
	.mail_user_created = stepup_mail_user_created,
	.mailbox_list_created = stepup_mailbox_list_created,
	.mailbox_allocated = stepup_mailbox_allocated,
	.mail_allocated = stepup_mail_allocated,
};

void stepup_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &stepup_mail_storage_hooks);
}

void stepup_plugin_deinit(void)
{
	mail_storage_hooks_remove(&stepup_mail_storage_hooks);
}
