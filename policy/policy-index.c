/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The compiled form of a policy: networks as longest-prefix sets, and
   indexes from users, groups and mailboxes to the rules that can match
   them (doc/DESIGN.md, "Policy decisions"). */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "policy-private.h"

static void compile_cond(pool_t pool, struct policy_cond *cond)
{
	const struct policy_net *nets;
	unsigned int count;

	if (!cond->have_nets)
		return;
	nets = array_get(&cond->nets, &count);
	cond->netset = policy_netset_build(pool, nets, count);
}

static void index_init(pool_t pool, struct policy_index *idx)
{
	hash_table_create(&idx->by_user, pool, 0, str_hash, strcmp);
	hash_table_create(&idx->by_key, pool, 0, str_hash, strcmp);
	p_array_init(&idx->open, pool, 8);
}

static void
index_add(pool_t pool, HASH_TABLE_TYPE(policy_rule_lists) *map,
	  const char *key, unsigned int rule)
{
	struct policy_rule_list *list = hash_table_lookup(*map, key);
	unsigned int count;

	if (list == NULL) {
		list = p_new(pool, struct policy_rule_list, 1);
		p_array_init(&list->rules, pool, 2);
		hash_table_insert(*map, key, list);
	}
	/* a rule naming the same user twice is listed once */
	count = array_count(&list->rules);
	if (count == 0 || *array_idx(&list->rules, count - 1) != rule)
		array_push_back(&list->rules, &rule);
}

/* user -> groups, only for the groups login rules name */
static void compile_user_groups(struct stepup_policy *policy)
{
	struct hash_iterate_context *iter;
	const char *key, *tab, *group, *user;
	struct policy_group_link *link;
	void *value;

	hash_table_create(&policy->user_groups, policy->pool, 0, str_hash,
			  strcmp);
	iter = hash_table_iterate_init(policy->members);
	while (hash_table_iterate(iter, policy->members, &key, &value)) {
		tab = strchr(key, '\t');
		i_assert(tab != NULL);
		user = tab + 1;
		if (user[0] == '\0')
			continue;	/* the group's own marker */
		group = p_strndup(policy->pool, key, tab - key);
		if (hash_table_lookup(policy->login_index.by_key, group) == NULL)
			continue;
		link = p_new(policy->pool, struct policy_group_link, 1);
		link->group = group;
		link->next = hash_table_lookup(policy->user_groups, user);
		hash_table_update(policy->user_groups, user, link);
	}
	hash_table_iterate_deinit(&iter);
}

static const char *mailbox_key(pool_t pool, const char *mailbox)
{
	const char *slash = strchr(mailbox, '/');

	return slash == NULL ? mailbox : p_strdup_until(pool, mailbox, slash);
}

/* Login rules: only the auth process and the tool decide logins. A mail
   process never does, so it never pays for this (at 10k rules and a
   100k-member group, about a third of a policy load). */
void policy_compile_login(struct stepup_policy *policy)
{
	pool_t pool = policy->pool;
	struct policy_login_rule *lrule;
	const char *const *p;
	unsigned int i;

	if (policy->login_compiled)
		return;
	policy->login_compiled = TRUE;
	index_init(pool, &policy->login_index);
	array_foreach_modifiable(&policy->login, lrule) {
		i = array_foreach_idx(&policy->login, lrule);
		compile_cond(pool, &lrule->cond);
		if (!array_is_created(&lrule->cond.users)) {
			array_push_back(&policy->login_index.open, &i);
			continue;
		}
		array_foreach(&lrule->cond.users, p)
			index_add(pool, &policy->login_index.by_user, *p, i);
		array_foreach(&lrule->cond.groups, p)
			index_add(pool, &policy->login_index.by_key, *p, i);
	}
	compile_user_groups(policy);
}

void policy_compile(struct stepup_policy *policy)
{
	pool_t pool = policy->pool;
	struct policy_folder_rule *frule;
	unsigned int i;

	index_init(pool, &policy->folder_index);
	array_foreach_modifiable(&policy->folders, frule) {
		i = array_foreach_idx(&policy->folders, frule);
		compile_cond(pool, &frule->cond);
		if (strcmp(frule->mailbox, "*") == 0) {
			array_push_back(&policy->folder_index.open, &i);
			continue;
		}
		index_add(pool, &policy->folder_index.by_key,
			  mailbox_key(pool, frule->mailbox), i);
	}
}

void policy_compile_free(struct stepup_policy *policy)
{
	struct policy_index *const idxs[] = {
		&policy->login_index, &policy->folder_index
	};
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(idxs); i++) {
		if (hash_table_is_created(idxs[i]->by_user))
			hash_table_destroy(&idxs[i]->by_user);
		if (hash_table_is_created(idxs[i]->by_key))
			hash_table_destroy(&idxs[i]->by_key);
	}
	if (hash_table_is_created(policy->user_groups))
		hash_table_destroy(&policy->user_groups);
}

static void
candidates_add(struct policy_candidates *c, const ARRAY_TYPE(uint) *rules)
{
	struct policy_candidate_list *l = &c->lists[c->list_count++];

	l->v = array_get(rules, &l->count);
	l->pos = 0;
}

static void
candidates_add_key(struct policy_candidates *c,
		   HASH_TABLE_TYPE(policy_rule_lists) map,
		   const char *key)
{
	struct policy_rule_list *list = hash_table_lookup(map, key);

	if (list != NULL)
		candidates_add(c, &list->rules);
}

void policy_candidates_login(const struct stepup_policy *policy,
			     const char *user, struct policy_candidates *c_r)
{
	const struct policy_group_link *groups, *link;
	unsigned int n = 2;

	groups = hash_table_lookup(policy->user_groups, user);
	for (link = groups; link != NULL; link = link->next)
		n++;
	i_zero(c_r);
	c_r->lists = t_new(struct policy_candidate_list, n);
	candidates_add(c_r, &policy->login_index.open);
	candidates_add_key(c_r, policy->login_index.by_user, user);
	for (link = groups; link != NULL; link = link->next)
		candidates_add_key(c_r, policy->login_index.by_key, link->group);
}

void policy_candidates_folder(const struct stepup_policy *policy,
			      const char *mailbox,
			      struct policy_candidates *c_r)
{
	i_zero(c_r);
	c_r->lists = t_new(struct policy_candidate_list, 2);
	candidates_add(c_r, &policy->folder_index.open);
	candidates_add_key(c_r, policy->folder_index.by_key,
			   mailbox_key(unsafe_data_stack_pool, mailbox));
}

void policy_candidates_all(unsigned int count, struct policy_candidates *c_r)
{
	i_zero(c_r);
	c_r->scan_count = count;
}

bool policy_candidates_next(struct policy_candidates *c,
			    unsigned int *rule_r)
{
	struct policy_candidate_list *l;
	unsigned int i, min = UINT_MAX;

	if (c->lists == NULL) {
		if (c->scan_pos >= c->scan_count)
			return FALSE;
		*rule_r = c->scan_pos++;
		return TRUE;
	}
	for (i = 0; i < c->list_count; i++) {
		l = &c->lists[i];
		if (l->pos < l->count && l->v[l->pos] < min)
			min = l->v[l->pos];
	}
	if (min == UINT_MAX)
		return FALSE;
	for (i = 0; i < c->list_count; i++) {
		l = &c->lists[i];
		if (l->pos < l->count && l->v[l->pos] == min)
			l->pos++;
	}
	*rule_r = min;
	return TRUE;
}
