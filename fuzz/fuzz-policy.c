/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* libFuzzer target: policy parser + compiler + a decision and a dump on
   whatever parses. Build: ./configure CC=clang --with-fuzzer=clang;
   run: scripts/fuzz.sh SECONDS. Every crash found goes into
   fuzz/corpus-policy/, which the unit tests replay. */

#include "lib.h"
#include "fuzzer.h"
#include "fuzz-policy-check.h"

FUZZ_BEGIN_DATA(const uint8_t *data, size_t size)
{
	(void)fuzz_policy_check(data, size);
}
FUZZ_END
