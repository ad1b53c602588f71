#ifndef STEPUP_APPROVAL_FAILURE_H
#define STEPUP_APPROVAL_FAILURE_H

/* Why an exchange with the approval endpoint failed. Every kind is
   handled by approval.failmode; the name is what logs and audit records
   say ("failed: tls", "failmode open: tls"). Append new kinds at the end
   before _COUNT: the names are part of the audit format. */
enum stepup_approval_failure {
	STEPUP_APPROVAL_FAIL_NONE = 0,
	/* transport (approval-http.c) */
	STEPUP_APPROVAL_FAIL_TIMEOUT,		/* "timeout" */
	STEPUP_APPROVAL_FAIL_DNS,		/* "dns" */
	STEPUP_APPROVAL_FAIL_CONNECT,		/* "connect" */
	STEPUP_APPROVAL_FAIL_TLS,		/* "tls": handshake, verify */
	STEPUP_APPROVAL_FAIL_PIN,		/* "pin": public key not pinned */
	STEPUP_APPROVAL_FAIL_REDIRECT,		/* "redirect": any 3xx */
	/* the response (approval-response.c) */
	STEPUP_APPROVAL_FAIL_STATUS,		/* "status": not 200/429/503 */
	STEPUP_APPROVAL_FAIL_SIGNATURE,		/* "signature": missing, bad */
	STEPUP_APPROVAL_FAIL_UNKNOWN_KEY,	/* "unknown_key" */
	STEPUP_APPROVAL_FAIL_ECHO,		/* "echo": request_id/nonce */
	STEPUP_APPROVAL_FAIL_STALE,		/* "stale": timestamp > 300 s */
	STEPUP_APPROVAL_FAIL_JSON,		/* "json": malformed, bad field */
	STEPUP_APPROVAL_FAIL_TOO_LARGE,		/* "too_large": body > 64 KiB */
	/* ours */
	STEPUP_APPROVAL_FAIL_CONFIG,		/* "config": no key, bad URL */
	STEPUP_APPROVAL_FAIL_INTERNAL,		/* "internal": anything else */

	STEPUP_APPROVAL_FAIL_COUNT
};

/* "timeout", "tls", ...; "none" for FAIL_NONE */
const char *stepup_approval_failure_name(enum stepup_approval_failure kind);
/* The reverse (e.g. for the service's line protocol); FALSE if unknown. */
bool stepup_approval_failure_from_name(const char *name,
				       enum stepup_approval_failure *kind_r);

#endif
