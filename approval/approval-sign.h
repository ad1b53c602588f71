#ifndef STEPUP_APPROVAL_SIGN_H
#define STEPUP_APPROVAL_SIGN_H

#include "approval-key.h"
#include "approval-failure.h"

/* Signatures of protocol version 1 (SPEC; doc/approvals.md):
     request:  HMAC-SHA256(key, METHOD "\n" host "\n" path "\n" ts "\n"
                                nonce "\n" body)
     response: HMAC-SHA256(key, "RESPONSE\n" nonce "\n" ts "\n" body)
   carried as "v1=<key id>:<64 lowercase hex>"; a header may hold several
   such values separated by spaces (rotation), one of which must verify.
   Values of other versions ("v2=...") are ignored. */

/* at most this many values, and this long, are looked at in one header */
#define STEPUP_APPROVAL_SIG_MAX_VALUES 16
#define STEPUP_APPROVAL_SIG_HEADER_MAX 4096

/* "v1=<id>:<hex>" (data stack) */
const char *
stepup_approval_sign_request(const struct stepup_approval_key *key,
			     const char *method, const char *host,
			     const char *path, const char *timestamp,
			     const char *nonce, const void *body,
			     size_t body_size);
const char *
stepup_approval_sign_response(const struct stepup_approval_key *key,
			      const char *nonce, const char *timestamp,
			      const void *body, size_t body_size);

/* Check a signature header (NULL: missing) in constant time per value.
   Returns FAIL_NONE and the id of the key that verified, or
   FAIL_SIGNATURE (missing, malformed, no value verifies with a known key)
   or FAIL_UNKNOWN_KEY (well-formed v1 values, none with a known key id). */
enum stepup_approval_failure
stepup_approval_verify_response(const struct stepup_approval_keyring *keyring,
				const char *header, const char *nonce,
				const char *timestamp, const void *body,
				size_t body_size, const char **key_id_r);
/* The endpoint's side of a request (the reference endpoint, tests). */
enum stepup_approval_failure
stepup_approval_verify_request(const struct stepup_approval_keyring *keyring,
			       const char *header, const char *method,
			       const char *host, const char *path,
			       const char *timestamp, const char *nonce,
			       const void *body, size_t body_size,
			       const char **key_id_r);

#endif
