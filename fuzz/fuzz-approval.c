/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* libFuzzer target: the approval endpoint's answers (status, timestamp,
   signature header, Retry-After, body) through the verifier and parser
   of approval/, and the JSON reader and signature header on their own.
   Run by scripts/fuzz.sh; every crash goes into fuzz/corpus-approval/,
   which the unit tests replay. */

#include "lib.h"
#include "fuzzer.h"
#include "fuzz-approval-check.h"

FUZZ_BEGIN_DATA(const uint8_t *data, size_t size)
{
	(void)fuzz_approval_check(data, size);
}
FUZZ_END
