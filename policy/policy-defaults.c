/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* What a key the file leaves out means, and the policy object's life
   before and after policy_compile(). */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "policy-schema.h"

#define POLICY_DEFAULT_STATE_PATH "/var/lib/dovecot/stepup"
#define POLICY_DEFAULT_APPROVAL_TIMEOUT_SECS 5
#define POLICY_DEFAULT_APPROVAL_WAIT_SECS 30

static const struct stepup_audit_settings policy_default_audit = {
	.reads_per_session = STEPUP_AUDIT_READS_PER_SESSION,
	.anchor_interval_secs = 15 * 60,
	.anomalies = {
		.new_address_days = 30,
		.network_prefix_v4 = 32,
		.network_prefix_v6 = 64,
		.bulk_messages = 200,
		.bulk_mb = 200,
		.failed_codes_account = 5,
		.failed_codes_address = 10,
		.failed_window_secs = 60 * 60,
		.usual_hours_min_logins = 20,
		.hours_margin = 1,
	},
};

struct stepup_policy *policy_new(void)
{
	struct stepup_policy *policy;
	pool_t pool;

	pool = pool_alloconly_create("stepup policy", 4096);
	policy = p_new(pool, struct stepup_policy, 1);
	policy->pool = pool;
	policy->refcount = 1;
	stepup_totp_settings_defaults(&policy->totp);
	policy->approval.timeout_secs = POLICY_DEFAULT_APPROVAL_TIMEOUT_SECS;
	policy->approval.wait_secs = POLICY_DEFAULT_APPROVAL_WAIT_SECS;
	p_array_init(&policy->approval.keys, pool, 2);
	policy_enrollment_defaults(policy);
	policy->audit = policy_default_audit;
	hash_table_create(&policy->members, pool, 0, str_hash, strcmp);
	p_array_init(&policy->login, pool, 8);
	p_array_init(&policy->folders, pool, 8);
	return policy;
}

/* The defaults that depend on what else the file set. */
void policy_apply_defaults(struct stepup_policy *policy)
{
	if (policy->state_path == NULL && policy->state_redis == NULL)
		policy->state_path = POLICY_DEFAULT_STATE_PATH;
	if (policy->session_key_file == NULL)
		policy->session_key_file = STEPUP_DEFAULT_SESSION_KEY_FILE;
}

void policy_free(struct stepup_policy **_policy)
{
	struct stepup_policy *policy = *_policy;

	*_policy = NULL;
	policy_compile_free(policy);
	hash_table_destroy(&policy->members);
	pool_unref(&policy->pool);
}
