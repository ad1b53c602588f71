/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "net.h"
#include "stepup-policy.h"
#include "fuzz-policy-check.h"

bool fuzz_policy_check(const unsigned char *data, size_t size)
{
	struct stepup_policy *policy, *policy2;
	struct stepup_login_query lq;
	struct stepup_login_decision ld;
	struct stepup_folder_query fq;
	struct stepup_folder_decision fd;
	struct ip_addr ip;
	const char *error, *dump, *dump2;

	if (stepup_policy_parse_buffer("fuzz", data, size, &policy,
				       &error) < 0)
		return FALSE;
	i_zero(&lq);
	lq.user = "alice";
	lq.protocol = "imap";
	if (net_addr2ip("10.1.2.3", &ip) == 0)
		lq.remote_ip = &ip;
	stepup_policy_login(policy, &lq, &ld);
	i_zero(&fq);
	fq.user = "alice";
	fq.mailbox = "INBOX/Secret";
	fq.protocol = "imap";
	fq.level = STEPUP_AUTH_TOTP;
	stepup_policy_folder(policy, &fq, &fd);
	/* what parses must dump into something that parses again */
	dump = stepup_policy_dump(policy);
	if (stepup_policy_parse_buffer("dump", dump, strlen(dump), &policy2,
				       &error) < 0)
		i_panic("dump does not parse: %s\n%s", error, dump);
	dump2 = stepup_policy_dump(policy2);
	if (strcmp(dump, dump2) != 0)
		i_panic("dump -> parse -> dump differs:\n%s\n---\n%s", dump,
			dump2);
	stepup_policy_unref(&policy2);
	stepup_policy_unref(&policy);
	return TRUE;
}
