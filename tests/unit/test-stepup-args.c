/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "test-common.h"
#include "stepup-config.h"
#include "stepup-args.h"

static void test_args_good(void)
{
	struct stepup_passdb_args args;
	const char *error;

	test_begin("passdb args: defaults and policy=");
	test_assert(stepup_passdb_args_parse(default_pool, NULL, &args,
					     &error) == 0);
	test_assert_strcmp(args.policy_path, STEPUP_DEFAULT_POLICY);
	test_assert(stepup_passdb_args_parse(default_pool, "", &args,
					     &error) == 0);
	test_assert_strcmp(args.policy_path, STEPUP_DEFAULT_POLICY);
	test_assert(stepup_passdb_args_parse(pool_datastack_create(),
		"  policy=/etc/x.conf  ", &args, &error) == 0);
	test_assert_strcmp(args.policy_path, "/etc/x.conf");
	test_assert(args.stage == STEPUP_PASSDB_STAGE_LOGIN);
	test_assert(stepup_passdb_args_parse(pool_datastack_create(),
		"stage=verify policy=/p", &args, &error) == 0);
	test_assert(args.stage == STEPUP_PASSDB_STAGE_VERIFY);
	test_assert_strcmp(args.policy_path, "/p");
	test_assert(stepup_passdb_args_parse(pool_datastack_create(),
		"stage=login", &args, &error) == 0);
	test_assert(args.stage == STEPUP_PASSDB_STAGE_LOGIN);
	test_end();
}

static void test_args_bad(void)
{
	static const char *const bad[] = {
		"policy", "policy=", "polcy=/x", "policy=/a policy=/b",
		"policy=relative.conf", "=x", "stage=first",
		"stage=verify stage=login",
	};
	struct stepup_passdb_args args;
	const char *error;
	unsigned int i;

	test_begin("passdb args: refused");
	for (i = 0; i < N_ELEMENTS(bad); i++) {
		error = NULL;
		test_assert_idx(stepup_passdb_args_parse(
			pool_datastack_create(), bad[i], &args, &error) == -1, i);
		test_assert_idx(error != NULL, i);
	}
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_args_good,
		test_args_bad,
		NULL
	};
	return test_run(test_functions);
}
