/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Mail plugin "stepup": sees every mailbox a session allocates. */

#include "lib.h"
#include "module-context.h"
#include "mail-storage-private.h"
#include "mail-storage-hooks.h"
#include "stepup-config.h"
#include "stepup-plugin.h"

#define STEPUP_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, stepup_storage_module)

struct stepup_mailbox {
	union mailbox_module_context module_ctx;
};

const char *stepup_plugin_version = DOVECOT_ABI_VERSION;

static MODULE_CONTEXT_DEFINE_INIT(stepup_storage_module,
				  &mail_storage_module_register);

static int stepup_mailbox_open(struct mailbox *box)
{
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(box);
	struct event_passthrough *e =
		event_create_passthrough(box->event)->
		set_name("stepup_open")->
		add_str("service", box->storage->user->service)->
		add_int("flags", box->flags);

	e_info(e->event(), "stepup: open (flags=0x%x)", box->flags);
	return sbox->module_ctx.super.open(box);
}

static void stepup_mailbox_allocated(struct mailbox *box)
{
	struct mailbox_vfuncs *v = box->vlast;
	struct stepup_mailbox *sbox;

	sbox = p_new(box->pool, struct stepup_mailbox, 1);
	sbox->module_ctx.super = *v;
	box->vlast = &sbox->module_ctx.super;
	v->open = stepup_mailbox_open;
	MODULE_CONTEXT_SET(box, stepup_storage_module, sbox);
}

static struct mail_storage_hooks stepup_mail_storage_hooks = {
	.mailbox_allocated = stepup_mailbox_allocated,
};

void stepup_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &stepup_mail_storage_hooks);
}

void stepup_plugin_deinit(void)
{
	mail_storage_hooks_remove(&stepup_mail_storage_hooks);
}
