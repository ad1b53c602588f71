/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Policy benchmark: load time and decision cost for policies of 100, 1k
   and 10k rules with a 100k-member group and a named network of as many
   CIDRs as rules. Build without sanitizers for real numbers. Prints numbers and their ratio
   to the smallest policy; it never passes or fails (run it: make
   bench-policy && ./bench-policy). */

#include "lib.h"
#include "str.h"
#include "net.h"
#include "time-util.h"
#include "stepup-policy.h"

#include <stdio.h>
#include <sys/time.h>

#define GROUP_MEMBERS 100000
#define DECISIONS 200000

static string_t *make_policy(unsigned int rules)
{
	string_t *s = str_new(default_pool, rules * 200 + GROUP_MEMBERS * 16);
	unsigned int i;

	str_append(s, "version = 1;\ngroups = { big = [ ");
	for (i = 0; i < GROUP_MEMBERS; i++)
		str_printfa(s, "%s\"member%u@example.org\"", i == 0 ? "" : ", ", i);
	/* one named network of as many CIDRs as rules, the last one the
	   client's: the group rule's network lookup is a longest-prefix
	   search over all of them */
	str_append(s, " ]; };\nnetworks = { office = [ \"10.0.0.0/8\", \"fd00::/8\" ];\n  many = [ ");
	for (i = 0; i < rules - 1; i++)
		str_printfa(s, "\"10.%u.%u.0/%u\", ", i / 256, i % 256, 24 + i % 8);
	str_append(s, "\"203.0.113.0/24\" ]; };\nlogin = (\n");
	for (i = 0; i < rules - 2; i++) {
		str_printfa(s, "  { name = \"r%u\"; users = [ \"user%u@example.org\" ]; "
			    "networks = [ \"192.0.%u.0/24\" ]; require = \"totp\"; },\n",
			    i, i, i % 256);
	}
	str_append(s, "  { name = \"group\"; users = [ \"@big\" ]; networks = [ \"many\" ]; require = \"totp\"; },\n"
		   "  { name = \"default\"; require = \"password\"; }\n);\n"
		   "folders = (\n");
	for (i = 0; i < rules - 1; i++) {
		str_printfa(s, "  { name = \"f%u\"; mailbox = \"Folder%u\"; require = \"totp\"; },\n",
			    i, i);
	}
	str_append(s, "  { name = \"rest\"; mailbox = \"*\"; require = \"none\"; }\n);\n");
	return s;
}

static double now_usecs(void)
{
	struct timeval tv;

	if (gettimeofday(&tv, NULL) < 0)
		i_fatal("gettimeofday: %m");
	return tv.tv_sec * 1e6 + tv.tv_usec;
}

int main(void)
{
	static const unsigned int sizes[] = { 100, 1000, 10000 };
	double base_login = 0, base_folder = 0;
	unsigned int i, n;

	lib_init();
	printf("%8s %12s %16s %8s %16s %8s\n", "rules", "load (ms)",
	       "login (us/dec)", "ratio", "folder (us/dec)", "ratio");
	for (i = 0; i < N_ELEMENTS(sizes); i++) T_BEGIN {
		string_t *text = make_policy(sizes[i]);
		const char *error;
		struct stepup_policy *policy;
		struct stepup_login_query lq;
		struct stepup_login_decision ld;
		struct stepup_folder_query fq;
		struct stepup_folder_decision fd;
		struct ip_addr ip;
		double t0, load, login, folder;

		t0 = now_usecs();
		if (stepup_policy_parse_buffer("bench", str_data(text),
					       str_len(text), &policy,
					       &error) < 0)
			i_fatal("%s", error);
		str_free(&text);
		load = (now_usecs() - t0) / 1000;

		/* worst case: a member of the big group, matched by the
		   second-to-last rule, from outside */
		i_zero(&lq);
		lq.user = "member99999@example.org";
		lq.protocol = "imap";
		(void)net_addr2ip("203.0.113.9", &ip);
		lq.remote_ip = &ip;
		t0 = now_usecs();
		for (n = 0; n < DECISIONS / (sizes[i] / 100); n++)
			stepup_policy_login(policy, &lq, &ld);
		login = (now_usecs() - t0) / n;
		if (strcmp(ld.rule, "group") != 0)
			i_fatal("wrong rule %s", ld.rule);

		i_zero(&fq);
		fq.user = lq.user;
		fq.protocol = "imap";
		fq.mailbox = "Unlisted/Sub";
		fq.level = STEPUP_AUTH_TOTP;
		t0 = now_usecs();
		for (n = 0; n < DECISIONS / (sizes[i] / 100); n++)
			stepup_policy_folder(policy, &fq, &fd);
		folder = (now_usecs() - t0) / n;

		if (i == 0) {
			base_login = login;
			base_folder = folder;
		}
		printf("%8u %12.1f %16.3f %8.1f %16.3f %8.1f\n", sizes[i], load,
		       login, login / base_login, folder, folder / base_folder);
		stepup_policy_unref(&policy);
	} T_END;
	printf("target: <= 2 us per decision at 10k rules\n");
	lib_deinit();
	return 0;
}
