/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Checks across keys and rules, run at the end of the block they are
   about (policy-schema.h: struct policy_block's end). */

#include "lib.h"
#include "array.h"
#include "policy-schema.h"

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
	const struct stepup_approval_settings *set = &p->policy->approval;

	if (set->url == NULL)
		policy_error(p, policy_node_line(node),
			     "approval.url is missing");
	if (set->key_file == NULL)
		policy_error(p, policy_node_line(node),
			     "approval.key_file is missing");
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

static bool name_seen(const ARRAY_TYPE(const_string) *names, const char *name)
{
	const char *const *n;

	array_foreach(names, n) {
		if (strcmp(*n, name) == 0)
			return TRUE;
	}
	return FALSE;
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
	else if (name_seen(rc->names, rc->name))
		policy_error(p, line, "duplicate %s rule name '%s'", what,
			     rc->name);
	else
		array_push_back(rc->names, &rc->name);
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
