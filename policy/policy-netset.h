#ifndef STEPUP_POLICY_NETSET_H
#define STEPUP_POLICY_NETSET_H

#include "net.h"

/* A set of IPv4 and IPv6 networks compiled for longest-prefix lookup:
   entries grouped by prefix length (longest first), each group sorted,
   so a lookup is one binary search per distinct prefix length. An IPv4
   address mapped into IPv6 (::ffff:a.b.c.d) is looked up as IPv4 too. */

struct policy_net {
	struct ip_addr ip;
	unsigned int bits;
};
ARRAY_DEFINE_TYPE(policy_net, struct policy_net);

struct policy_netset;

/* Compile nets (any order, duplicates allowed, host bits ignored). */
struct policy_netset *
policy_netset_build(pool_t pool, const struct policy_net *nets,
		    unsigned int count);
/* The longest listed network containing ip, or NULL (also for NULL or
   unset ip). */
const struct policy_net *
policy_netset_lookup(const struct policy_netset *set,
		     const struct ip_addr *ip);

#endif
