/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Checks across keys and rules, run at the end of the block they are
   about (policy-schema.h: struct policy_block's end). */

#include "lib.h"
#include "array.h"
#include "policy-schema.h"

#define POLICY_APPROVAL_TIMEOUT_MIN 1
#define POLICY_APPROVAL_TIMEOUT_MAX 60
#define POLICY_APPROVAL_WAIT_MAX (10 * 60)
/* approval.approvers names groups that exist */
static void policy_validate_approvers(struct policy_parser *p)
{
	const ARRAY_TYPE(const_string) *approvers =
		&p->policy->approval.approvers;
	const char *const *a;

	if (!array_is_created(approvers))
		return;
	array_foreach(approvers, a) {
		if ((*a)[0] == '@' &&
		    hash_table_lookup(p->policy->members,
				      t_strconcat(*a + 1, "\t", NULL)) == NULL) {
			policy_error(p, p->approvers_line,
				     "approval.approvers: unknown group '%s'",
				     *a + 1);
		}
	}
}

void policy_validate_root(struct policy_parser *p,
			  const struct policy_node *root,
			  void *context ATTR_UNUSED)
{
	const struct stepup_totp_settings *totp = &p->policy->totp;

	if (!p->version_seen)
		policy_error(p, 1, "version = 1; is missing");
	if (!policy_node_has(root, "login"))
		policy_error(p, 1, "login rules are missing");
	if (totp->reconnect_secs > 0 && totp->reconnect_idle_secs == 0)
		policy_error(p, 1, "totp.reconnect_idle must not be 0");
	policy_validate_approvers(p);
}

void policy_validate_state(struct policy_parser *p,
			   const struct policy_node *node,
			   void *context ATTR_UNUSED)
{
	if (p->policy->state_redis != NULL && p->policy->state_path != NULL)
		policy_error(p, policy_node_line(node),
			     "state: path and redis exclude each other");
}

void policy_validate_approval(struct policy_parser *p,
			      const struct policy_node *node,
			      void *context ATTR_UNUSED)
{
	struct stepup_approval_settings *set = &p->policy->approval;
	unsigned int line = policy_node_line(node);
	bool keys = policy_node_has(node, "keys");
	bool key_file = policy_node_has(node, "key_file");

	if (set->url == NULL && !policy_node_has(node, "url"))
		policy_error(p, line, "approval.url is missing");
	if (keys && key_file)
		policy_error(p, line, "approval: key_file and keys exclude "
			     "each other");
	else if (!keys && !key_file)
		policy_error(p, line, "approval.keys (or key_file) is missing");
	else if (keys && p->approval_keys_seen == 0)
		policy_error(p, line, "approval.keys is empty");
	if (array_count(&set->keys) > 0) {
		const struct stepup_approval_key_file *first =
			array_front(&set->keys);

		set->key_file = first->file;
	}
	if ((set->client_cert == NULL) != (set->client_key == NULL))
		policy_error(p, line, "approval: client_cert and client_key "
			     "go together");
	if (set->timeout_secs < POLICY_APPROVAL_TIMEOUT_MIN ||
	    set->timeout_secs > POLICY_APPROVAL_TIMEOUT_MAX)
		policy_error(p, line, "approval.timeout must be 1s..%us",
			     POLICY_APPROVAL_TIMEOUT_MAX);
	if (set->wait_secs > POLICY_APPROVAL_WAIT_MAX)
		policy_error(p, line, "approval.wait must be at most %um",
			     POLICY_APPROVAL_WAIT_MAX / 60);
}

void policy_validate_fetch_limit(struct policy_parser *p,
				 const struct policy_node *node,
				 void *context)
{
	struct policy_rule_ctx *rc = context;

	if (rc->frule.fetch_messages == 0 || rc->frule.fetch_window == 0)
		policy_error(p, policy_node_line(node),
			     "fetch_limit needs messages and window");
}

static void validate_folder_rule(struct policy_parser *p, unsigned int line,
				 const struct policy_folder_rule *r,
				 const char *name)
{
	if (r->mailbox == NULL)
		policy_error(p, line, "folder rule '%s' has no mailbox", name);
	if (r->require >= STEPUP_FOLDER_APPROVAL &&
	    p->policy->approval.url == NULL)
		policy_error(p, line, "folder rule '%s' requires an approval "
			     "but there is no approval block", name);
	if (r->grant != 0 && r->require < STEPUP_FOLDER_APPROVAL)
		policy_error(p, line, "grant only applies to rules that "
			     "require an approval");
	if (r->have_grant_scope && r->require < STEPUP_FOLDER_APPROVAL)
		policy_error(p, line, "grant_scope only applies to rules that "
			     "require an approval");
	if (r->self_approve && r->require < STEPUP_FOLDER_APPROVAL)
		policy_error(p, line, "self_approve only applies to rules "
			     "that require an approval");
	if (r->max_age != 0 &&
	    (r->require == STEPUP_FOLDER_NONE ||
	     r->require == STEPUP_FOLDER_DENY ||
	     r->require == STEPUP_FOLDER_APPROVAL))
		policy_error(p, line, "max_age only applies to rules that "
			     "require totp");
}

void policy_validate_rule(struct policy_parser *p,
			  const struct policy_node *node, void *context)
{
	struct policy_rule_ctx *rc = context;
	const char *what = rc->folder ? "folders" : "login";
	const char *name = rc->name == NULL ? "?" : rc->name;
	unsigned int line = policy_node_line(node);

	if (rc->name == NULL)
		policy_error(p, line, "%s rule %u has no name", what,
			     rc->number);
	else if (hash_table_lookup(*rc->names, rc->name) != NULL)
		policy_error(p, line, "duplicate %s rule name '%s'", what,
			     rc->name);
	else
		hash_table_insert(*rc->names, rc->name, POINTER_CAST(1));
	/* present even if wrong: no second error for "missing" */
	if (!policy_node_has(node, "require"))
		policy_error(p, line, "%s rule '%s' has no require", what,
			     name);
	if (rc->folder) {
		validate_folder_rule(p, line, &rc->frule, name);
		rc->frule.name = rc->name;
		array_push_back(&p->policy->folders, &rc->frule);
	} else {
		if (rc->login.enroll_by != 0 &&
		    rc->login.require != STEPUP_LOGIN_TOTP)
			policy_error(p, line, "enroll_by only applies to rules "
				     "with require = \"totp\"");
		rc->login.name = rc->name;
		array_push_back(&p->policy->login, &rc->login);
	}
}
