/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "policy-private.h"

/* What the approval service (stepup-approval) asks of the policy. */

bool stepup_policy_get_folder_rule(const struct stepup_policy *policy,
				   const char *name,
				   struct stepup_folder_rule_info *info_r)
{
	const struct policy_folder_rule *rule;

	i_zero(info_r);
	array_foreach(&policy->folders, rule) {
		if (strcmp(rule->name, name) == 0) {
			info_r->require = rule->require;
			info_r->grant_secs = rule->grant;
			info_r->self_approve = rule->self_approve;
			return TRUE;
		}
	}
	return FALSE;
}

bool stepup_policy_is_approver(const struct stepup_policy *policy,
			       const char *user)
{
	const char *const *p;

	if (!array_is_created(&policy->approval.approvers))
		return FALSE;
	array_foreach(&policy->approval.approvers, p) {
		if ((*p)[0] != '@') {
			if (strcmp(*p, user) == 0)
				return TRUE;
		} else if (hash_table_lookup(policy->members,
				t_strconcat(*p + 1, "\t", user, NULL)) != NULL) {
			return TRUE;
		}
	}
	return FALSE;
}
