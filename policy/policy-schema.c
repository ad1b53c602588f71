/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The schema of the policy file's top level and its blocks (doc/policy.md):
   one table per block. A key without a function is stored by its type
   at its offset in struct stepup_policy (policy-values.c); checks across
   keys are the blocks' end functions (policy-validate.c). The rules'
   tables are in policy-schema-rule.c. */

#include "lib.h"
#include "stepup-compat.h"
#include "array.h"
#include "hash.h"
#include "policy-schema.h"
#include "approval-request.h"
#include "approval-config.h"

#define POLICY(member) .offset = offsetof(struct stepup_policy, member)

static void root_version(struct policy_parser *p,
			 const struct policy_value *v ATTR_UNUSED,
			 void *context ATTR_UNUSED)
{
	p->version_seen = TRUE;
}

static void root_mode(struct policy_parser *p, const struct policy_value *v,
		      void *context ATTR_UNUSED)
{
	if (strcmp(v->str, "audit") == 0)
		p->policy->audit_mode = TRUE;
	else if (strcmp(v->str, "enforce") != 0)
		policy_error(p, v->line, "mode must be \"enforce\" or \"audit\"");
}

static void totp_issuer(struct policy_parser *p, const struct policy_value *v,
			void *context ATTR_UNUSED)
{
	if (strchr(v->str, ':') != NULL)
		policy_error(p, v->line, "totp.issuer must not contain ':'");
	else
		p->policy->totp.issuer = v->str;
}

static void totp_digits(struct policy_parser *p, const struct policy_value *v,
			void *context ATTR_UNUSED)
{
	if (v->uint == 7)
		policy_error(p, v->line, "totp.digits must be 6 or 8");
	else
		p->policy->totp.digits = v->uint;
}

static void totp_algorithm(struct policy_parser *p,
			   const struct policy_value *v,
			   void *context ATTR_UNUSED)
{
	if (stepup_totp_algorithm_parse(v->str,
					&p->policy->totp.algorithm) < 0) {
		policy_error(p, v->line, "totp.algorithm must be \"SHA1\", "
			     "\"SHA256\" or \"SHA512\"");
	}
}

static const struct policy_key totp_keys[] = {
	{ "issuer", POLICY_KEY_STRING, .func = totp_issuer },
	{ "digits", POLICY_KEY_UINT, .min = 6, .max = 8,
	  .func = totp_digits },
	{ "period", POLICY_KEY_UINT, POLICY(totp.period),
	  .min = 10, .max = 300 },
	{ "window", POLICY_KEY_UINT, POLICY(totp.window),
	  .min = 0, .max = 2 },
	{ "max_failures", POLICY_KEY_UINT, POLICY(totp.max_failures),
	  .min = 1, .max = 100 },
	{ "lockout", POLICY_KEY_DURATION, POLICY(totp.lockout_secs) },
	{ "reconnect", POLICY_KEY_DURATION, POLICY(totp.reconnect_secs) },
	{ "reconnect_idle", POLICY_KEY_DURATION,
	  POLICY(totp.reconnect_idle_secs) },
	{ "algorithm", POLICY_KEY_STRING, .func = totp_algorithm },
	{ .name = NULL }
};
static const struct policy_block totp_block = {
	.name = "totp", .keys = totp_keys
};

static const struct policy_key state_keys[] = {
	{ "path", POLICY_KEY_PATH, POLICY(state_path) },
	{ "redis", POLICY_KEY_STRING, POLICY(state_redis) },
	{ .name = NULL }
};
static const struct policy_block state_block = {
	.name = "state", .keys = state_keys, .end = policy_validate_state
};

static void audit_reads(struct policy_parser *p, const struct policy_value *v,
			void *context ATTR_UNUSED)
{
	if (strcmp(v->str, "all") == 0)
		p->policy->audit.reads_all = TRUE;
	else if (strcmp(v->str, "guarded") != 0) {
		policy_error(p, v->line, "audit.reads must be \"guarded\" or "
			     "\"all\"");
	}
}

#define ANOMALY(member) POLICY(audit.anomalies.member)
static const struct policy_key anomaly_keys[] = {
	{ "new_address_days", POLICY_KEY_UINT, ANOMALY(new_address_days),
	  .min = 1, .max = 3650 },
	{ "network_prefix_v4", POLICY_KEY_UINT, ANOMALY(network_prefix_v4),
	  .min = 8, .max = 32 },
	{ "network_prefix_v6", POLICY_KEY_UINT, ANOMALY(network_prefix_v6),
	  .min = 16, .max = 128 },
	{ "bulk_messages", POLICY_KEY_UINT, ANOMALY(bulk_messages),
	  .min = 1, .max = 100000000 },
	{ "bulk_mb", POLICY_KEY_UINT, ANOMALY(bulk_mb),
	  .min = 1, .max = 100000000 },
	{ "failed_codes_account", POLICY_KEY_UINT,
	  ANOMALY(failed_codes_account), .min = 1, .max = 1000000 },
	{ "failed_codes_address", POLICY_KEY_UINT,
	  ANOMALY(failed_codes_address), .min = 1, .max = 1000000 },
	{ "failed_window", POLICY_KEY_DURATION, ANOMALY(failed_window_secs) },
	{ "usual_hours_min_logins", POLICY_KEY_UINT,
	  ANOMALY(usual_hours_min_logins), .min = 1, .max = 1000000 },
	{ "hours_margin", POLICY_KEY_UINT, ANOMALY(hours_margin),
	  .min = 0, .max = 11 },
	{ .name = NULL }
};
static const struct policy_block anomaly_block = {
	.name = "audit.anomalies", .keys = anomaly_keys
};

static void audit_required(struct policy_parser *p,
			   const struct policy_value *v,
			   void *context ATTR_UNUSED)
{
	p->policy->audit_optional = !v->boolean;
}

static const struct policy_key audit_keys[] = {
	{ "path", POLICY_KEY_PATH, POLICY(audit_path) },
	{ "required", POLICY_KEY_BOOL, .func = audit_required },
	{ "reads", POLICY_KEY_STRING, .func = audit_reads },
	{ "reads_per_session", POLICY_KEY_UINT, POLICY(audit.reads_per_session),
	  .min = 1, .max = 10000000 },
	{ "anchor_interval", POLICY_KEY_DURATION,
	  POLICY(audit.anchor_interval_secs) },
	{ "anomalies", POLICY_KEY_BLOCK, .block = &anomaly_block },
	{ .name = NULL }
};
static const struct policy_block audit_block = {
	.name = "audit", .keys = audit_keys
};

static const struct policy_key session_keys[] = {
	{ "key_file", POLICY_KEY_PATH, POLICY(session_key_file) },
	{ .name = NULL }
};
static const struct policy_block session_block = {
	.name = "session", .keys = session_keys
};

static void approval_url(struct policy_parser *p, const struct policy_value *v,
			 void *context ATTR_UNUSED)
{
	struct stepup_approval_url url;
	const char *error;

	if (stepup_approval_url_parse(pool_datastack_create(), v->str, &url,
				      &error) < 0) {
		policy_error(p, v->line, "approval.url: %s", error);
		return;
	}
	p->policy->approval.url = v->str;
}

static void approval_failmode(struct policy_parser *p,
			      const struct policy_value *v,
			      void *context ATTR_UNUSED)
{
	if (strcmp(v->str, "open") == 0)
		p->policy->approval.failmode_open = TRUE;
	else if (strcmp(v->str, "closed") != 0)
		policy_error(p, v->line, "approval.failmode must be "
			     "\"closed\" or \"open\"");
}

static void approval_pin(struct policy_parser *p, const struct policy_value *v,
			 void *context ATTR_UNUSED)
{
	const char *error;

	if (stepup_approval_pin_check(v->str, &error) < 0) {
		policy_error(p, v->line, "approval.pin: %s", error);
		return;
	}
	p->policy->approval.pin = v->str;
}

static void approval_key_file(struct policy_parser *p,
			      const struct policy_value *v,
			      void *context ATTR_UNUSED)
{
	struct stepup_approval_key_file *key;

	/* with keys too: policy_validate_approval() refuses the block */
	key = array_append_space(&p->policy->approval.keys);
	key->id = "1";
	key->file = v->str;
}

/* approval.keys = ( { id = "..."; file = "..."; }, ... ) */
struct approval_key_ctx {
	unsigned int number;
	struct stepup_approval_key_file key;
};

static void *approval_key_begin(struct policy_parser *p,
				void *context ATTR_UNUSED, unsigned int n)
{
	struct approval_key_ctx *kc = t_new(struct approval_key_ctx, 1);

	p->approval_keys_seen++;
	kc->number = n;
	return kc;
}

static void approval_key_end(struct policy_parser *p,
			     const struct policy_node *node, void *context)
{
	struct approval_key_ctx *kc = context;
	const struct stepup_approval_key_file *key;
	unsigned int line = policy_node_line(node);

	if (kc->key.id == NULL || kc->key.file == NULL) {
		policy_error(p, line, "approval.keys: key %u needs an id and "
			     "a file", kc->number);
		return;
	}
	if (!stepup_approval_key_id_is_valid(kc->key.id)) {
		policy_error(p, line, "approval.keys: key id '%s' must be 1..%u "
			     "letters, digits, '.', '_' or '-'", kc->key.id,
			     STEPUP_APPROVAL_KEY_ID_MAX);
		return;
	}
	array_foreach(&p->policy->approval.keys, key) {
		if (strcmp(key->id, kc->key.id) == 0) {
			policy_error(p, line, "approval.keys: key id '%s' is "
				     "listed twice", kc->key.id);
			return;
		}
	}
	array_push_back(&p->policy->approval.keys, &kc->key);
}

#define APPROVAL_KEY(member) \
	.offset = offsetof(struct approval_key_ctx, member)
static const struct policy_key approval_key_keys[] = {
	{ "id", POLICY_KEY_STRING, APPROVAL_KEY(key.id) },
	{ "file", POLICY_KEY_PATH, APPROVAL_KEY(key.file) },
	{ .name = NULL }
};
static const struct policy_block approval_key_block = {
	.name = "approval.keys", .keys = approval_key_keys,
	.begin = approval_key_begin, .end = approval_key_end
};

/* approvers = [ "bob@example.org", "@security" ]: the groups are checked
   once every group is known (policy_validate_root) */
static void approval_approvers(struct policy_parser *p,
			       const struct policy_value *v,
			       void *context ATTR_UNUSED)
{
	const char *const *a;

	array_foreach(&v->strings, a) {
		if ((*a)[0] == '\0' || strcmp(*a, "@") == 0) {
			policy_error(p, v->line, "approval.approvers: empty "
				     "name");
			return;
		}
	}
	p_array_init(&p->policy->approval.approvers, p->policy->pool,
		     array_count(&v->strings));
	array_append_array(&p->policy->approval.approvers, &v->strings);
	p->approvers_line = v->line;
}

static const struct policy_key approval_keys[] = {
	{ "url", POLICY_KEY_STRING, .func = approval_url },
	{ "keys", POLICY_KEY_RULES, .block = &approval_key_block,
	  .syntax = "a list of keys ( { id = \"...\"; file = \"...\"; } )" },
	{ "key_file", POLICY_KEY_PATH, .func = approval_key_file },
	{ "ca_file", POLICY_KEY_PATH, POLICY(approval.ca_file) },
	{ "pin", POLICY_KEY_STRING, .func = approval_pin },
	{ "client_cert", POLICY_KEY_PATH, POLICY(approval.client_cert) },
	{ "client_key", POLICY_KEY_PATH, POLICY(approval.client_key) },
	{ "timeout", POLICY_KEY_DURATION, POLICY(approval.timeout_secs) },
	{ "wait", POLICY_KEY_DURATION, POLICY(approval.wait_secs) },
	{ "failmode", POLICY_KEY_STRING, .func = approval_failmode },
	{ "approvers", POLICY_KEY_STRINGS, .func = approval_approvers },
	{ .name = NULL }
};
static const struct policy_block approval_block = {
	.name = "approval", .keys = approval_keys,
	.end = policy_validate_approval
};

/* groups { name = [ "user", ... ]; }: "group\tuser" -> member;
   "group\t" marks the group */
static void groups_entry(struct policy_parser *p, const struct policy_value *v,
			 void *context ATTR_UNUSED)
{
	pool_t pool = p->policy->pool;
	const char *gname = p_strdup(pool, v->key);
	const char *gkey = p_strconcat(pool, gname, "\t", NULL);
	const char *const *member;

	hash_table_insert(p->policy->members, gkey, POINTER_CAST(1));
	array_foreach(&v->strings, member) {
		const char *key = p_strconcat(pool, gname, "\t", *member,
					      NULL);
		hash_table_update(p->policy->members, key, POINTER_CAST(1));
	}
}

/* networks { name = [ "10.0.0.0/8", ... ]; }: names the rules' networks
   condition may use */
static void networks_entry(struct policy_parser *p,
			   const struct policy_value *v,
			   void *context ATTR_UNUSED)
{
	pool_t pool = p->policy->pool;
	const char *nkey = p_strdup(pool, v->key);
	ARRAY_TYPE(policy_net) *nets;
	const char *const *cidr;

	nets = p_new(pool, ARRAY_TYPE(policy_net), 1);
	p_array_init(nets, pool, array_count(&v->strings) + 1);
	array_foreach(&v->strings, cidr) {
		struct policy_net net;

		if (policy_parse_cidr(*cidr, &net) < 0) {
			policy_error(p, v->line, "networks.%s: bad address "
				     "or CIDR '%s'", v->key, *cidr);
			continue;
		}
		array_push_back(nets, &net);
	}
	hash_table_insert(p->nets, nkey, nets);
}

#define RULES_SYNTAX "a list of rules ( { ... }, { ... } )"

/* In the order they are parsed: what rules refer to comes first. */
static const struct policy_key root_keys[] = {
	{ "version", POLICY_KEY_UINT, .min = 1, .max = 1,
	  .func = root_version },
	{ "mode", POLICY_KEY_STRING, .func = root_mode },
	{ "totp", POLICY_KEY_BLOCK, .block = &totp_block },
	{ "state", POLICY_KEY_BLOCK, .block = &state_block },
	{ "audit", POLICY_KEY_BLOCK, .block = &audit_block },
	{ "approval", POLICY_KEY_BLOCK, .block = &approval_block },
	{ "groups", POLICY_KEY_MAP, .func = groups_entry,
	  .syntax = "a group { name = [ ... ]; }" },
	{ "networks", POLICY_KEY_MAP, .func = networks_entry,
	  .syntax = "a group { name = [ \"10.0.0.0/8\", ... ]; }" },
	{ "enrollment", POLICY_KEY_BLOCK, .block = &policy_enrollment_block },
	{ "login", POLICY_KEY_RULES, .block = &policy_login_rule_block,
	  .syntax = RULES_SYNTAX },
	{ "folders", POLICY_KEY_RULES, .block = &policy_folder_rule_block,
	  .syntax = RULES_SYNTAX },
	{ "session", POLICY_KEY_BLOCK, .block = &session_block },
	{ .name = NULL }
};

const struct policy_block policy_root_block = {
	.name = "", .keys = root_keys, .end = policy_validate_root
};
