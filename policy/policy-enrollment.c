/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The policy's enrollment block (doc/enrollment.md "Self-service"):
   who may enroll without an admin, and whether a notice is delivered
   after every change of a user's second factor.

     enrollment = { invite = true; networks = [ "internal" ];
                    notify = true; lmtp = "/var/run/dovecot/lmtp"; };
*/

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "net.h"
#include "policy-schema.h"

#define POLICY_DEFAULT_LMTP "/var/run/dovecot/lmtp"
#define ENROLLMENT(member) \
	.offset = offsetof(struct stepup_policy, enrollment.member)

static void enrollment_networks(struct policy_parser *p,
				const struct policy_value *v,
				void *context ATTR_UNUSED)
{
	struct stepup_policy *policy = p->policy;
	ARRAY_TYPE(policy_net) *named;
	const char *const *n;
	struct policy_net net;

	p_array_init(&policy->enrollment_net_list, policy->pool, 8);
	array_foreach(&v->strings, n) {
		named = hash_table_lookup(p->nets, *n);
		if (named != NULL)
			array_append_array(&policy->enrollment_net_list, named);
		else if (policy_parse_cidr(*n, &net) == 0)
			array_push_back(&policy->enrollment_net_list, &net);
		else if (strpbrk(*n, "./:") != NULL) {
			policy_error(p, v->line, "enrollment.networks: bad "
				     "address or CIDR '%s'", *n);
		} else {
			policy_error(p, v->line, "enrollment.networks: "
				     "unknown network '%s'", *n);
		}
	}
	policy->enrollment.have_networks = TRUE;
	/* an empty list: nobody enrolls themself */
	policy->enrollment_nets = policy_netset_build(policy->pool,
		array_count(&policy->enrollment_net_list) == 0 ? NULL :
		array_front(&policy->enrollment_net_list),
		array_count(&policy->enrollment_net_list));
}

/* "/path/to/socket" or "IP:port" (127.0.0.1:24, [::1]:24): no host name,
   which the notice (sent with a deadline) would have to resolve
   without one */
static void enrollment_lmtp(struct policy_parser *p,
			    const struct policy_value *v,
			    void *context ATTR_UNUSED)
{
	struct ip_addr ip;
	in_port_t port;
	const char *host;

	if (v->str[0] != '/' && strrchr(v->str, ':') == NULL) {
		policy_error(p, v->line, "enrollment.lmtp must be a socket "
			     "path or host:port");
		return;
	}
	if (v->str[0] != '/' &&
	    (net_str2hostport(v->str, 24, &host, &port) < 0 ||
	     net_addr2ip(host, &ip) < 0)) {
		policy_error(p, v->line, "enrollment.lmtp must be a socket "
			     "path or an IP address and port (127.0.0.1:24), "
			     "not a host name: '%s'", v->str);
		return;
	}
	p->policy->enrollment.lmtp = v->str;
}

static const struct policy_key enrollment_keys[] = {
	{ "invite", POLICY_KEY_BOOL, ENROLLMENT(invite) },
	{ "networks", POLICY_KEY_STRINGS, .func = enrollment_networks },
	{ "notify", POLICY_KEY_BOOL, ENROLLMENT(notify) },
	{ "lmtp", POLICY_KEY_STRING, .func = enrollment_lmtp },
	{ "app_password_max", POLICY_KEY_DURATION,
	  ENROLLMENT(app_password_max_secs) },
	{ .name = NULL }
};
const struct policy_block policy_enrollment_block = {
	.name = "enrollment", .keys = enrollment_keys
};

void policy_enrollment_defaults(struct stepup_policy *policy)
{
	policy->enrollment.invite = TRUE;
	policy->enrollment.lmtp = POLICY_DEFAULT_LMTP;
	policy->enrollment.app_password_max_secs = 365 * 86400;
}

const struct stepup_enrollment_settings *
stepup_policy_get_enrollment(const struct stepup_policy *policy)
{
	return &policy->enrollment;
}

bool stepup_policy_enrollment_network_allows(const struct stepup_policy *policy,
					     const struct ip_addr *ip)
{
	if (!policy->enrollment.have_networks)
		return TRUE;
	return policy_netset_lookup(policy->enrollment_nets, ip) != NULL;
}
