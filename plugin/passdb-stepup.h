#ifndef PASSDB_STEPUP_H
#define PASSDB_STEPUP_H

#include "stepup-args.h"

struct stepup_passdb_module {
	struct passdb_module module;
	struct stepup_passdb_args args;
};

/* A stepup passdb with these settings (passdb-stepup.c). */
struct passdb_module *
stepup_passdb_module_new(pool_t pool, const struct stepup_passdb_args *args);

/* Where the settings come from differs in kind between Dovecot versions:
   args = policy=FILE stage=verify in 2.3 (passdb-stepup-23.c), the
   passdb block's stepup_policy and stepup_stage in 2.4
   (passdb-stepup-24.c). */
#if DOVECOT_PREREQ(2, 4, 0)
int stepup_passdb_preinit(pool_t pool, struct event *event,
			  struct passdb_module **module_r,
			  const char **error_r);
#else
struct passdb_module *stepup_passdb_preinit(pool_t pool, const char *args);
#endif

#endif
