/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* passdb driver "stepup": placed first in the passdb chain, in front of the
   admin's own passdb. It never returns PASSDB_RESULT_OK in front of a
   passdb that still has to verify the password: an OK followed by
   "continue" marks the password as verified and every later passdb would
   skip its check. */

#include "auth-common.h"
#include "passdb.h"
#include "auth-request.h"
#include "stepup-config.h"
#include "stepup-args.h"

struct stepup_passdb_module {
	struct passdb_module module;
	struct stepup_passdb_args args;
};

static struct passdb_module *
stepup_passdb_preinit(pool_t pool, const char *args)
{
	struct stepup_passdb_module *module;
	const char *error;

	module = p_new(pool, struct stepup_passdb_module, 1);
	if (stepup_passdb_args_parse(pool, args, &module->args, &error) < 0)
		i_fatal("passdb stepup: %s", error);
	/* A password+code string must never be answered from the auth
	   cache, and the auth process must never block. */
	module->module.default_cache_key = NULL;
	module->module.blocking = FALSE;
	return &module->module;
}

static void
stepup_passdb_verify_plain(struct auth_request *request,
			   const char *password ATTR_UNUSED,
			   verify_plain_callback_t *callback)
{
	struct event_passthrough *e =
		event_create_passthrough(authdb_event(request))->
		set_name("stepup_decision")->
		add_str("stage", "login")->
		add_str("decision", "next");

	e_info(e->event(), "stepup: passing on to the next passdb");
	callback(PASSDB_RESULT_NEXT, request);
}

static struct passdb_module_interface passdb_stepup = {
	.name = "stepup",
	.preinit = stepup_passdb_preinit,
	.verify_plain = stepup_passdb_verify_plain,
};

void authdb_stepup_init(void);
void authdb_stepup_deinit(void);

void authdb_stepup_init(void)
{
	passdb_register_module(&passdb_stepup);
}

void authdb_stepup_deinit(void)
{
	passdb_unregister_module(&passdb_stepup);
}
