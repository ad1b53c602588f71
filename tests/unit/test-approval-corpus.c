/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Replays every file of the approval fuzzer's corpus (fuzz/corpus-approval:
   seeds and every crash ever found) through the fuzzer's checks. */

#include "lib.h"
#include "test-common.h"
#include "test-corpus.h"
#include "fuzz-approval-check.h"

static void test_approval_corpus(void)
{
	unsigned int accepted;
	int files;

	test_begin("approval: fuzz corpus replays cleanly");
	files = test_corpus_replay(STEPUP_SRCDIR "/fuzz/corpus-approval",
				   fuzz_approval_check, &accepted);
	/* the seeds include answers that verify and answers that fail */
	test_assert(files >= 10);
	test_assert(accepted >= 6 && (int)accepted < files);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_approval_corpus,
		NULL
	};

	return test_run(test_functions);
}
