/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Replays every file of the policy fuzzer's corpus (fuzz/corpus-policy:
   seeds and every crash ever found) through the fuzzer's checks, under
   the sanitizers of the unit-test build. */

#include "lib.h"
#include "test-common.h"
#include "test-corpus.h"
#include "fuzz-policy-check.h"

static void test_policy_corpus(void)
{
	unsigned int parsed;
	int files;

	test_begin("policy: fuzz corpus replays cleanly");
	files = test_corpus_replay(STEPUP_SRCDIR "/fuzz/corpus-policy",
				   fuzz_policy_check, &parsed);
	/* the seeds include good policies and bad ones */
	test_assert(files >= 5);
	test_assert(parsed > 0 && (int)parsed < files);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_policy_corpus,
		NULL
	};

	return test_run(test_functions);
}
