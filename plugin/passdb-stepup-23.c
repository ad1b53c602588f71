/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Dovecot 2.3: passdb { driver = stepup  args = policy=FILE stage=... } */

#include "auth-common.h"
#include "passdb.h"
#include "passdb-stepup.h"

struct passdb_module *stepup_passdb_preinit(pool_t pool, const char *args)
{
	struct stepup_passdb_args set;
	const char *error;

	if (stepup_passdb_args_parse(pool, args, &set, &error) < 0)
		i_fatal("passdb stepup: %s", error);
	return stepup_passdb_module_new(pool, &set);
}
