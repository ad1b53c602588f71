/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* libFuzzer target: policy parser + compiler + a decision and a dump on
   whatever parses. Build: ./configure CC=clang --with-fuzzer=clang;
   run: scripts/fuzz.sh SECONDS. */

#include "lib.h"
#include "net.h"
#include "fuzzer.h"
#include "policy.h"

FUZZ_BEGIN_DATA(const uint8_t *data, size_t size)
{
	struct stepup_policy *policy, *policy2;
	struct stepup_login_query lq;
	struct stepup_login_decision ld;
	struct stepup_folder_query fq;
	struct stepup_folder_decision fd;
	struct ip_addr ip;
	const char *error, *dump;

	if (stepup_policy_parse_buffer("fuzz", data, size, &policy,
				       &error) == 0) {
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
		if (stepup_policy_parse_buffer("dump", dump, strlen(dump),
					       &policy2, &error) < 0)
			i_panic("dump does not parse: %s\n%s", error, dump);
		stepup_policy_unref(&policy2);
		stepup_policy_unref(&policy);
	}
}
FUZZ_END
