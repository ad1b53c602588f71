/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "approval-failure.h"

static const char *const failure_names[STEPUP_APPROVAL_FAIL_COUNT] = {
	[STEPUP_APPROVAL_FAIL_NONE] = "none",
	[STEPUP_APPROVAL_FAIL_TIMEOUT] = "timeout",
	[STEPUP_APPROVAL_FAIL_DNS] = "dns",
	[STEPUP_APPROVAL_FAIL_CONNECT] = "connect",
	[STEPUP_APPROVAL_FAIL_TLS] = "tls",
	[STEPUP_APPROVAL_FAIL_PIN] = "pin",
	[STEPUP_APPROVAL_FAIL_REDIRECT] = "redirect",
	[STEPUP_APPROVAL_FAIL_STATUS] = "status",
	[STEPUP_APPROVAL_FAIL_SIGNATURE] = "signature",
	[STEPUP_APPROVAL_FAIL_UNKNOWN_KEY] = "unknown_key",
	[STEPUP_APPROVAL_FAIL_ECHO] = "echo",
	[STEPUP_APPROVAL_FAIL_STALE] = "stale",
	[STEPUP_APPROVAL_FAIL_JSON] = "json",
	[STEPUP_APPROVAL_FAIL_TOO_LARGE] = "too_large",
	[STEPUP_APPROVAL_FAIL_CONFIG] = "config",
	[STEPUP_APPROVAL_FAIL_INTERNAL] = "internal",
};

const char *stepup_approval_failure_name(enum stepup_approval_failure kind)
{
	if ((unsigned int)kind >= STEPUP_APPROVAL_FAIL_COUNT)
		return "internal";
	return failure_names[kind];
}

bool stepup_approval_failure_from_name(const char *name,
				       enum stepup_approval_failure *kind_r)
{
	unsigned int i;

	for (i = 0; i < STEPUP_APPROVAL_FAIL_COUNT; i++) {
		if (strcmp(failure_names[i], name) == 0) {
			*kind_r = i;
			return TRUE;
		}
	}
	return FALSE;
}
