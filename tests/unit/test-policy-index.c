/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The compiled policy: longest-prefix network sets, and indexed
   decisions compared with a plain scan of every rule over random
   policies and queries. */

#include "lib.h"
#include "str.h"
#include "net.h"
#include "test-common.h"
#include "policy-private.h"

#include <stdlib.h>

static struct policy_net net(const char *cidr)
{
	struct policy_net n;

	i_zero(&n);
	if (strchr(cidr, '/') == NULL) {
		if (net_addr2ip(cidr, &n.ip) < 0)
			i_unreached();
		n.bits = IPADDR_IS_V4(&n.ip) ? 32 : 128;
	} else if (net_parse_range(cidr, &n.ip, &n.bits) < 0) {
		i_unreached();
	}
	return n;
}

static const char *lookup(const struct policy_netset *set, const char *addr)
{
	const struct policy_net *n;
	struct ip_addr ip;

	if (net_addr2ip(addr, &ip) < 0)
		i_unreached();
	n = policy_netset_lookup(set, &ip);
	return n == NULL ? "-" :
		t_strdup_printf("%s/%u", net_ip2addr(&n->ip), n->bits);
}

static void test_netset_longest_prefix(void)
{
	static const char *const cidrs[] = {
		"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3",
		"192.0.2.77/24",	/* host bits set: still the /24 */
		"10.1.0.0/16",		/* duplicate */
		"fd00::/8", "fd00:1::/32", "2001:db8::1",
	};
	struct policy_net nets[N_ELEMENTS(cidrs)];
	struct policy_netset *set;
	struct ip_addr unset;
	pool_t pool = pool_alloconly_create("netset", 1024);
	unsigned int i;

	test_begin("policy: network sets, longest prefix, IPv4 and IPv6");
	for (i = 0; i < N_ELEMENTS(cidrs); i++)
		nets[i] = net(cidrs[i]);
	set = policy_netset_build(pool, nets, N_ELEMENTS(nets));
	test_assert_strcmp(lookup(set, "10.1.2.3"), "10.1.2.3/32");
	test_assert_strcmp(lookup(set, "10.1.2.4"), "10.1.2.0/24");
	test_assert_strcmp(lookup(set, "10.1.3.4"), "10.1.0.0/16");
	test_assert_strcmp(lookup(set, "10.200.3.4"), "10.0.0.0/8");
	test_assert_strcmp(lookup(set, "11.0.0.1"), "-");
	test_assert_strcmp(lookup(set, "9.255.255.255"), "-");
	test_assert_strcmp(lookup(set, "192.0.2.1"), "192.0.2.77/24");
	test_assert_strcmp(lookup(set, "192.0.3.1"), "-");
	test_assert_strcmp(lookup(set, "fd00:1::5"), "fd00:1::/32");
	test_assert_strcmp(lookup(set, "fd00:2::5"), "fd00::/8");
	test_assert_strcmp(lookup(set, "fe00::1"), "-");
	test_assert_strcmp(lookup(set, "2001:db8::1"), "2001:db8::1/128");
	test_assert_strcmp(lookup(set, "2001:db8::2"), "-");
	/* an IPv4 address mapped into IPv6 matches the IPv4 networks */
	test_assert_strcmp(lookup(set, "::ffff:10.1.2.9"), "10.1.2.0/24");
	test_assert_strcmp(lookup(set, "::ffff:11.1.2.9"), "-");
	/* no address never matches */
	i_zero(&unset);
	test_assert(policy_netset_lookup(set, &unset) == NULL);
	test_assert(policy_netset_lookup(set, NULL) == NULL);
	test_end();

	test_begin("policy: network sets, /0 and empty");
	nets[0] = net("0.0.0.0/0");
	set = policy_netset_build(pool, nets, 1);
	test_assert_strcmp(lookup(set, "203.0.113.1"), "0.0.0.0/0");
	test_assert_strcmp(lookup(set, "2001:db8::1"), "-");
	set = policy_netset_build(pool, nets, 0);
	test_assert_strcmp(lookup(set, "203.0.113.1"), "-");
	test_end();
	pool_unref(&pool);
}

/* Random policies over a small universe, so that rules overlap. */
static const char *const users[] = { "u0", "u1", "u2", "u3", "u4", "u5" };
static const char *const groups[] = { "g0", "g1", "g2" };
static const char *const cidrs[] = {
	"10.0.0.0/8", "10.1.0.0/16", "192.0.2.0/24", "fd00::/8", "::1",
	"127.0.0.1",
};
static const char *const addrs[] = {
	"10.1.2.3", "10.9.9.9", "192.0.2.5", "198.51.100.1", "fd00::5",
	"::1", "127.0.0.1", "::ffff:10.1.0.1",
};
static const char *const protocols[] = { "imap", "pop3", "submission" };
static const char *const mailboxes[] = {
	"INBOX", "INBOX/Sub", "A", "A/B", "A/B/C", "B", "Ab", "shared/x/A",
};

static void append_pick(string_t *s, const char *key,
			const char *const *items, unsigned int count,
			const char *prefix)
{
	unsigned int i, n = 1 + i_rand_limit(3);

	str_printfa(s, "%s = [ ", key);
	for (i = 0; i < n; i++) {
		str_printfa(s, "%s\"%s%s\"", i == 0 ? "" : ", ", prefix,
			    items[i_rand_limit(count)]);
	}
	str_append(s, " ]; ");
}

static void append_conds(string_t *s)
{
	if (i_rand_limit(2) == 0) {
		/* users, groups or both */
		unsigned int kind = i_rand_limit(3);
		unsigned int i, n = 1 + i_rand_limit(3);

		str_append(s, "users = [ ");
		for (i = 0; i < n; i++) {
			bool group = kind == 1 || (kind == 2 && i % 2 == 1);

			str_printfa(s, "%s\"%s%s\"", i == 0 ? "" : ", ",
				    group ? "@" : "",
				    group ? groups[i_rand_limit(N_ELEMENTS(groups))] :
				    users[i_rand_limit(N_ELEMENTS(users))]);
		}
		str_append(s, " ]; ");
	}
	if (i_rand_limit(3) == 0)
		append_pick(s, "networks", cidrs, N_ELEMENTS(cidrs), "");
	if (i_rand_limit(4) == 0)
		append_pick(s, "protocols", protocols, N_ELEMENTS(protocols), "");
}

static const char *random_policy(void)
{
	string_t *s = t_str_new(2048);
	unsigned int i, j, n;

	str_append(s, "version = 1;\ngroups = { ");
	for (i = 0; i < N_ELEMENTS(groups); i++) {
		str_printfa(s, "%s = [ \"nobody\"", groups[i]);
		for (j = 0; j < N_ELEMENTS(users); j++) {
			if (i_rand_limit(2) == 0)
				str_printfa(s, ", \"%s\"", users[j]);
		}
		str_append(s, " ]; ");
	}
	str_append(s, "};\nlogin = (\n");
	n = 1 + i_rand_limit(12);
	for (i = 0; i < n; i++) {
		str_printfa(s, "%s{ name = \"l%u\"; ", i == 0 ? "" : ",\n", i);
		append_conds(s);
		str_printfa(s, "require = \"%s\"; }",
			    i_rand_limit(2) == 0 ? "password" : "totp");
	}
	str_append(s, "\n);\nfolders = (\n");
	n = 1 + i_rand_limit(12);
	for (i = 0; i < n; i++) {
		const char *mbox = i_rand_limit(5) == 0 ? "*" :
			mailboxes[i_rand_limit(N_ELEMENTS(mailboxes))];

		str_printfa(s, "%s{ name = \"f%u\"; mailbox = \"%s\"; ",
			    i == 0 ? "" : ",\n", i, mbox);
		append_conds(s);
		str_printfa(s, "require = \"%s\"; }",
			    i_rand_limit(2) == 0 ? "none" : "deny");
	}
	str_append(s, "\n);\n");
	return str_c(s);
}

static void test_index_equals_scan(void)
{
	unsigned int round, q, mismatches = 0, decisions = 0, matched = 0;

	test_begin("policy: indexed decisions equal a scan of every rule");
	for (round = 0; round < 300; round++) T_BEGIN {
		const char *text = random_policy(), *error;
		struct stepup_policy *policy;

		if (stepup_policy_parse_buffer("r.conf", text, strlen(text),
					       &policy, &error) < 0)
			i_fatal("random policy refused: %s\n%s", error, text);
		for (q = 0; q < 40; q++) {
			struct stepup_login_query lq;
			struct stepup_login_decision ld1, ld2;
			struct stepup_folder_query fq;
			struct stepup_folder_decision fd1, fd2;
			struct ip_addr ip;

			i_zero(&lq);
			lq.user = i_rand_limit(8) == 0 ? "stranger" :
				users[i_rand_limit(N_ELEMENTS(users))];
			lq.protocol = protocols[i_rand_limit(N_ELEMENTS(protocols))];
			if (net_addr2ip(addrs[i_rand_limit(N_ELEMENTS(addrs))],
					&ip) < 0)
				i_unreached();
			lq.remote_ip = i_rand_limit(10) == 0 ? NULL : &ip;
			lq.now = 1764038400;
			policy_login_decide(policy, &lq, &ld1, TRUE);
			policy_login_decide(policy, &lq, &ld2, FALSE);
			if (null_strcmp(ld1.rule, ld2.rule) != 0 ||
			    ld1.require != ld2.require)
				mismatches++;
			if (ld1.rule != NULL)
				matched++;

			i_zero(&fq);
			fq.user = lq.user;
			fq.protocol = lq.protocol;
			fq.remote_ip = lq.remote_ip;
			fq.now = lq.now;
			fq.mailbox = mailboxes[i_rand_limit(N_ELEMENTS(mailboxes))];
			policy_folder_decide(policy, &fq, &fd1, TRUE);
			policy_folder_decide(policy, &fq, &fd2, FALSE);
			if (null_strcmp(fd1.rule, fd2.rule) != 0 ||
			    fd1.allow != fd2.allow)
				mismatches++;
			decisions += 2;
		}
		stepup_policy_unref(&policy);
	} T_END;
	test_assert(mismatches == 0);
	/* the random policies exercise both outcomes */
	test_assert(matched > decisions / 8 && matched < decisions / 2);
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_netset_longest_prefix,
		test_index_equals_scan,
		NULL
	};

	return test_run(test_functions);
}
