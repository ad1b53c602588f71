#ifndef FUZZ_POLICY_CHECK_H
#define FUZZ_POLICY_CHECK_H

/* What the policy fuzzer checks for one input, shared with the unit test
   that replays the corpus (tests/unit/test-policy-corpus.c): parse and
   compile, decide a login and a folder open, and require that a dump of
   whatever parsed parses again into the same dump. Panics on a
   violation; returns TRUE if the input parsed. */
bool fuzz_policy_check(const unsigned char *data, size_t size);

#endif
