#ifndef FUZZ_APPROVAL_CHECK_H
#define FUZZ_APPROVAL_CHECK_H

/* What the approval fuzzer checks for one input, shared with the unit test
   that replays the corpus (tests/unit/test-approval-corpus.c).

   The input is an endpoint's answer to request FUZZ_APPROVAL_REQUEST_ID
   sent with nonce FUZZ_APPROVAL_NONCE at FUZZ_APPROVAL_NOW, as four
   header lines and the body:
     status "\n" X-Stepup-Timestamp "\n" X-Stepup-Signature "\n"
     Retry-After "\n" body
   An empty line is an absent header (an empty status: 200, an empty
   timestamp: now). A signature line starting with "SIGN" has that word
   replaced by the right signature (key "1") of the body, so that inputs
   get past the signature into the JSON. Input without four newlines is
   all body, signed.

   Checks: no crash, leak or sanitizer report; a failure has a kind; an
   accepted answer has a known decision, a key that exists and clean,
   bounded texts; a correctly signed, fresh, small enough 200 is never
   refused for its signature. Panics on a violation; returns TRUE if the
   answer was accepted. */

#define FUZZ_APPROVAL_NOW 1764590401
#define FUZZ_APPROVAL_NONCE "00112233445566778899aabbccddeeff"
#define FUZZ_APPROVAL_REQUEST_ID "0123456789abcdef0123456789abcdef"

bool fuzz_approval_check(const unsigned char *data, size_t size);

#endif
