/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "test-common.h"
#include "stepup-names.h"

/* Every value's name parses back to the value; names the tables do not
   hold are refused. */

static void test_names_auth_level(void)
{
	enum stepup_auth_level level, back;

	test_begin("names: auth levels round-trip");
	for (level = STEPUP_AUTH_NONE; level < STEPUP_AUTH_LEVEL_COUNT;
	     level++) {
		const char *name = stepup_auth_level_to_str(level);

		test_assert_idx(stepup_auth_level_parse_any(name, &back) == 0 &&
				back == level, level);
		/* a session can never claim "none" */
		test_assert_idx((stepup_auth_level_parse(name, &back) == 0) ==
				(level != STEPUP_AUTH_NONE), level);
	}
	test_assert_strcmp(stepup_auth_level_to_str(STEPUP_AUTH_APP), "app");
	test_assert(stepup_auth_level_parse("TOTP", &back) < 0);
	test_assert(stepup_auth_level_parse_any("", &back) < 0);
	test_end();
}

static void test_names_totp_algorithm(void)
{
	enum stepup_totp_algorithm alg, back;

	test_begin("names: TOTP algorithms round-trip");
	for (alg = STEPUP_TOTP_SHA1; alg <= STEPUP_TOTP_SHA512; alg++) {
		test_assert_idx(stepup_totp_algorithm_parse(
			stepup_totp_algorithm_to_str(alg), &back) == 0 &&
			back == alg, alg);
	}
	test_assert_strcmp(stepup_totp_algorithm_to_str(STEPUP_TOTP_SHA256),
			   "SHA256");
	test_assert(stepup_totp_algorithm_parse("sha1", &back) < 0);
	test_assert(stepup_totp_algorithm_parse("MD5", &back) < 0);
	test_end();
}

static void test_names_require(void)
{
	const char *const *names;
	enum stepup_login_require lr;
	enum stepup_folder_require fr;
	unsigned int i;

	test_begin("names: login and folder require round-trip");
	names = stepup_login_require_names();
	for (i = 0; names[i] != NULL; i++) {
		test_assert_idx(stepup_login_require_parse(names[i], &lr) == 0 &&
				lr == i, i);
		test_assert_strcmp_idx(stepup_login_require_to_str(i),
				       names[i], i);
	}
	test_assert(i == STEPUP_LOGIN_DENY + 1);
	names = stepup_folder_require_names();
	for (i = 0; names[i] != NULL; i++) {
		test_assert_idx(stepup_folder_require_parse(names[i], &fr) == 0 &&
				fr == i, i);
		test_assert_strcmp_idx(stepup_folder_require_to_str(i),
				       names[i], i);
	}
	test_assert(i == STEPUP_FOLDER_TOTP_AND_APPROVAL + 1);
	test_assert_strcmp(stepup_folder_require_to_str(
		STEPUP_FOLDER_TOTP_OR_APPROVAL), "totp_or_approval");
	test_assert(stepup_login_require_parse("none", &lr) < 0);
	test_assert(stepup_folder_require_parse("password", &fr) < 0);
	test_end();
}

static void test_names_days(void)
{
	unsigned int wday, back;

	test_begin("names: days round-trip");
	for (wday = 0; wday < STEPUP_DAY_COUNT; wday++) {
		test_assert_idx(stepup_day_parse(stepup_day_to_str(wday),
						 &back) == 0 && back == wday,
				wday);
	}
	test_assert_strcmp(stepup_day_to_str(0), "sun");
	test_assert_strcmp(stepup_day_to_str(6), "sat");
	test_assert(stepup_day_parse("Mon", &back) < 0);
	test_end();
}

int main(void)
{
	static void (*const tests[])(void) = {
		test_names_auth_level,
		test_names_totp_algorithm,
		test_names_require,
		test_names_days,
		NULL
	};
	return test_run(tests);
}
