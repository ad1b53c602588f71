/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "policy-netset.h"

#include <stdlib.h>

struct netset_entry {
	unsigned char key[16];		/* address with host bits cleared */
	const struct policy_net *net;	/* as written */
};

/* all entries of one family and prefix length */
struct netset_group {
	unsigned int bits;
	unsigned int first, count;
};

struct netset_family {
	struct netset_entry *entries;
	struct netset_group *groups;	/* longest prefix first */
	unsigned int group_count;
};

struct policy_netset {
	struct netset_family v4, v6;
};

static void
mask_key(unsigned char key[16], const unsigned char *addr, unsigned int len,
	 unsigned int bits)
{
	unsigned int i;

	memset(key, 0, 16);
	memcpy(key, addr, len);
	for (i = 0; i < len; i++) {
		if (bits >= 8)
			bits -= 8;
		else {
			key[i] &= (unsigned char)(0xff << (8 - bits));
			bits = 0;
		}
	}
}

static int entry_cmp(const struct netset_entry *a, const struct netset_entry *b)
{
	if (a->net->bits != b->net->bits)
		return a->net->bits > b->net->bits ? -1 : 1;
	return memcmp(a->key, b->key, sizeof(a->key));
}

static int entry_qsort_cmp(const void *a, const void *b)
{
	return entry_cmp(a, b);
}

static const unsigned char *
ip_bytes(const struct ip_addr *ip, unsigned int *len_r)
{
	if (ip->family == AF_INET) {
		*len_r = 4;
		return (const unsigned char *)&ip->u.ip4;
	}
	*len_r = 16;
	return (const unsigned char *)&ip->u.ip6;
}

static void
family_build(pool_t pool, struct netset_family *fam,
	     const struct policy_net *nets, unsigned int count, int family)
{
	struct netset_entry *e;
	unsigned int i, n = 0, len;
	const unsigned char *addr;

	fam->entries = p_new(pool, struct netset_entry, count + 1);
	for (i = 0; i < count; i++) {
		if (nets[i].ip.family != family)
			continue;
		e = &fam->entries[n++];
		addr = ip_bytes(&nets[i].ip, &len);
		mask_key(e->key, addr, len, nets[i].bits);
		e->net = &nets[i];
	}
	qsort(fam->entries, n, sizeof(*fam->entries), entry_qsort_cmp);
	/* drop duplicates */
	if (n > 1) {
		unsigned int j = 0;

		for (i = 1; i < n; i++) {
			if (entry_cmp(&fam->entries[j], &fam->entries[i]) != 0)
				fam->entries[++j] = fam->entries[i];
		}
		n = j + 1;
	}
	fam->groups = p_new(pool, struct netset_group, n + 1);
	for (i = 0; i < n; i++) {
		if (fam->group_count == 0 ||
		    fam->groups[fam->group_count - 1].bits !=
		    fam->entries[i].net->bits) {
			fam->groups[fam->group_count].bits =
				fam->entries[i].net->bits;
			fam->groups[fam->group_count].first = i;
			fam->group_count++;
		}
		fam->groups[fam->group_count - 1].count++;
	}
}

struct policy_netset *
policy_netset_build(pool_t pool, const struct policy_net *nets,
		    unsigned int count)
{
	struct policy_netset *set = p_new(pool, struct policy_netset, 1);

	family_build(pool, &set->v4, nets, count, AF_INET);
	family_build(pool, &set->v6, nets, count, AF_INET6);
	return set;
}

static const struct policy_net *
family_lookup(const struct netset_family *fam, const unsigned char *addr,
	      unsigned int len)
{
	unsigned char key[16];
	unsigned int g, lo, hi, mid;
	int cmp;

	for (g = 0; g < fam->group_count; g++) {
		const struct netset_group *grp = &fam->groups[g];
		const struct netset_entry *ent = fam->entries + grp->first;

		mask_key(key, addr, len, grp->bits);
		lo = 0; hi = grp->count;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			cmp = memcmp(key, ent[mid].key, sizeof(key));
			if (cmp == 0)
				return ent[mid].net;
			if (cmp < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
	}
	return NULL;
}

static const unsigned char v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

const struct policy_net *
policy_netset_lookup(const struct policy_netset *set,
		     const struct ip_addr *ip)
{
	const struct policy_net *net;
	const unsigned char *addr;
	unsigned int len;

	if (ip == NULL || (ip->family != AF_INET && ip->family != AF_INET6))
		return NULL;
	addr = ip_bytes(ip, &len);
	if (ip->family == AF_INET)
		return family_lookup(&set->v4, addr, 4);
	if (memcmp(addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0 &&
	    (net = family_lookup(&set->v4, addr + 12, 4)) != NULL)
		return net;
	return family_lookup(&set->v6, addr, 16);
}
