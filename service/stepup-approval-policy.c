/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "ioloop.h"
#include "stepup-policy.h"
#include "approval-key.h"
#include "asvc-decide.h"
#include "stepup-approval-endpoint.h"

/* The policy as it is now (reloaded when the file changes); with no good
   policy nobody is an approver and no rule is known (fail closed). */
static const struct stepup_policy *
current_policy(struct stepup_policy_cache *cache)
{
	const struct stepup_policy *policy;
	const char *error;

	if (stepup_policy_cache_get(cache, ioloop_time, &policy, &error) < 0)
		return NULL;
	return policy;
}

static bool rules_is_approver(void *context, const char *user)
{
	const struct stepup_policy *policy = current_policy(context);

	return policy != NULL && stepup_policy_is_approver(policy, user);
}

static bool rules_rule_info(void *context, const char *rule,
			    unsigned int *grant_secs_r, bool *self_approve_r)
{
	const struct stepup_policy *policy = current_policy(context);
	struct stepup_folder_rule_info info;

	*grant_secs_r = 0;
	*self_approve_r = FALSE;
	if (policy == NULL ||
	    !stepup_policy_get_folder_rule(policy, rule, &info))
		return FALSE;
	*grant_secs_r = info.grant_secs;
	*self_approve_r = info.self_approve;
	return TRUE;
}

void stepup_approval_rules_init(struct asvc_rules *rules,
				struct stepup_policy_cache *cache)
{
	rules->is_approver = rules_is_approver;
	rules->rule_info = rules_rule_info;
	rules->context = cache;
}

int stepup_approval_load_keys(const struct stepup_policy *policy,
			      struct stepup_approval_keyring **keyring_r,
			      const char **error_r)
{
	const struct stepup_approval_settings *set =
		stepup_policy_get_approval(policy);
	const struct stepup_approval_key_file *key;
	struct stepup_approval_keyring *keyring;

	if (set->url == NULL) {
		*error_r = "the policy has no approval block";
		return -1;
	}
	/* every key verifies requests; a response is signed with the key
	   that verified its request */
	keyring = stepup_approval_keyring_create();
	array_foreach(&set->keys, key) {
		if (stepup_approval_keyring_add_file(keyring, key->id,
						     key->file, error_r) < 0) {
			stepup_approval_keyring_free(&keyring);
			return -1;
		}
	}
	*keyring_r = keyring;
	return 0;
}
