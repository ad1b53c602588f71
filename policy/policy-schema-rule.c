/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The schema of login and folder rules: the conditions both share and
   what each requires. A rule is parsed into a struct policy_rule_ctx;
   policy_validate_rule() checks it and adds it to the policy. */

#include "lib.h"
#include "array.h"
#include "hash.h"
#include "policy-schema.h"

#define RULE(member) .offset = offsetof(struct policy_rule_ctx, member)

static void *login_rule_begin(struct policy_parser *p,
			      void *context ATTR_UNUSED, unsigned int n)
{
	struct policy_rule_ctx *rc = t_new(struct policy_rule_ctx, 1);

	rc->number = n;
	rc->cond = &rc->login.cond;
	rc->names = &p->login_names;
	rc->login.app_passwords = TRUE;
	return rc;
}

static void *folder_rule_begin(struct policy_parser *p,
			       void *context ATTR_UNUSED, unsigned int n)
{
	struct policy_rule_ctx *rc = t_new(struct policy_rule_ctx, 1);

	rc->number = n;
	rc->folder = TRUE;
	rc->cond = &rc->frule.cond;
	rc->names = &p->folder_names;
	return rc;
}

/* ---- conditions */

static void cond_users(struct policy_parser *p, const struct policy_value *v,
		       void *context)
{
	struct policy_rule_ctx *rc = context;
	const char *const *u;

	p_array_init(&rc->cond->users, p->policy->pool, 4);
	p_array_init(&rc->cond->groups, p->policy->pool, 4);
	array_foreach(&v->strings, u) {
		if ((*u)[0] == '@') {
			const char *g = *u + 1;

			if (hash_table_lookup(p->policy->members,
					      t_strconcat(g, "\t", NULL)) == NULL) {
				policy_error(p, v->line, "unknown group '%s'",
					     g);
				continue;
			}
			array_push_back(&rc->cond->groups, &g);
		} else {
			array_push_back(&rc->cond->users, u);
		}
	}
}

static void cond_networks(struct policy_parser *p,
			  const struct policy_value *v, void *context)
{
	struct policy_rule_ctx *rc = context;
	ARRAY_TYPE(policy_net) *named;
	const char *const *n;
	struct policy_net net;

	rc->cond->have_nets = TRUE;
	p_array_init(&rc->cond->nets, p->policy->pool, 4);
	array_foreach(&v->strings, n) {
		named = hash_table_lookup(p->nets, *n);
		if (named != NULL)
			array_append_array(&rc->cond->nets, named);
		else if (policy_parse_cidr(*n, &net) == 0)
			array_push_back(&rc->cond->nets, &net);
		else if (strpbrk(*n, "./:") != NULL)
			policy_error(p, v->line, "bad address or CIDR '%s'",
				     *n);
		else
			policy_error(p, v->line, "unknown network '%s'", *n);
	}
}

static void cond_protocols(struct policy_parser *p,
			   const struct policy_value *v, void *context)
{
	static const char *const known[] = {
		"imap", "pop3", "sieve", "submission", "lmtp", "doveadm", NULL
	};
	struct policy_rule_ctx *rc = context;
	const char *const *proto;

	rc->cond->protocols = v->strings;
	array_foreach(&rc->cond->protocols, proto) {
		if (!str_array_find(known, *proto))
			policy_error(p, v->line, "unknown protocol '%s' "
				     "(imap, pop3, sieve, submission)", *proto);
	}
}

static void cond_hours(struct policy_parser *p, const struct policy_value *v,
		       void *context)
{
	struct policy_rule_ctx *rc = context;

	if (strlen(v->str) != 11 || v->str[5] != '-' ||
	    policy_parse_hhmm(v->str, &rc->cond->hours_from) < 0 ||
	    policy_parse_hhmm(v->str + 6, &rc->cond->hours_to) < 0 ||
	    rc->cond->hours_from == rc->cond->hours_to) {
		policy_error(p, v->line, "hours must be \"HH:MM-HH:MM\" "
			     "(local time; may wrap past midnight), not '%s'",
			     v->str);
		return;
	}
	rc->cond->have_hours = TRUE;
}

static void cond_days(struct policy_parser *p, const struct policy_value *v,
		      void *context)
{
	struct policy_rule_ctx *rc = context;
	const char *const *d;
	unsigned int wday;

	array_foreach(&v->strings, d) {
		if (stepup_day_parse(*d, &wday) < 0) {
			policy_error(p, v->line, "unknown day '%s' (sun, mon, "
				     "tue, wed, thu, fri, sat)", *d);
		} else {
			rc->cond->days_mask |= 1U << wday;
		}
	}
}

static void cond_auth(struct policy_parser *p, const struct policy_value *v,
		      void *context)
{
	struct policy_rule_ctx *rc = context;
	const char *const *l;
	enum stepup_auth_level level;

	array_foreach(&v->strings, l) {
		if (stepup_auth_level_parse(*l, &level) < 0)
			policy_error(p, v->line, "unknown auth level '%s' "
				     "(password, app, totp)", *l);
		else
			rc->cond->auth_mask |= 1U << level;
	}
}

static void login_auth(struct policy_parser *p, const struct policy_value *v,
		       void *context ATTR_UNUSED)
{
	policy_error(p, v->line, "auth is a condition of folder rules only");
}

static const struct policy_key rule_cond_keys[] = {
	{ "name", POLICY_KEY_STRING, RULE(name) },
	{ "users", POLICY_KEY_STRINGS, .func = cond_users },
	{ "networks", POLICY_KEY_STRINGS, .func = cond_networks },
	{ "protocols", POLICY_KEY_STRINGS, .func = cond_protocols },
	{ "hours", POLICY_KEY_STRING, .func = cond_hours },
	{ "days", POLICY_KEY_STRINGS, .func = cond_days },
	{ .name = NULL }
};

/* ---- what a rule requires */

static void require_error(struct policy_parser *p,
			  const struct policy_value *v,
			  const char *const *names)
{
	policy_error(p, v->line, "require must be one of %s, not '%s'",
		     t_strarray_join(names, ", "), v->str);
}

static void login_require(struct policy_parser *p,
			  const struct policy_value *v, void *context)
{
	struct policy_rule_ctx *rc = context;

	if (stepup_login_require_parse(v->str, &rc->login.require) < 0)
		require_error(p, v, stepup_login_require_names());
}

static void folder_require(struct policy_parser *p,
			   const struct policy_value *v, void *context)
{
	struct policy_rule_ctx *rc = context;

	if (stepup_folder_require_parse(v->str, &rc->frule.require) < 0)
		require_error(p, v, stepup_folder_require_names());
}

static void login_enroll_by(struct policy_parser *p,
			    const struct policy_value *v, void *context)
{
	struct policy_rule_ctx *rc = context;

	if (policy_parse_date(v->str, &rc->login.enroll_by) < 0)
		policy_error(p, v->line, "enroll_by must be a date "
			     "YYYY-MM-DD, not '%s'", v->str);
}

static void folder_mailbox(struct policy_parser *p,
			   const struct policy_value *v, void *context)
{
	struct policy_rule_ctx *rc = context;
	const char *m = v->str;

	if (m[0] == '/' || m[strlen(m) - 1] == '/' ||
	    strstr(m, "//") != NULL ||
	    (strchr(m, '*') != NULL && strcmp(m, "*") != 0)) {
		policy_error(p, v->line, "bad mailbox pattern '%s' (a folder "
			     "name with '/' between levels, or \"*\")", m);
		return;
	}
	rc->frule.mailbox = p_strdup(p->policy->pool,
		stepup_policy_normalize_mailbox(m, '/', "", TRUE));
}

static void folder_grant_scope(struct policy_parser *p,
			       const struct policy_value *v, void *context)
{
	struct policy_rule_ctx *rc = context;

	if (strcmp(v->str, "ip") == 0)
		rc->frule.grant_scope = STEPUP_GRANT_SCOPE_IP;
	else if (strcmp(v->str, "session") == 0)
		rc->frule.grant_scope = STEPUP_GRANT_SCOPE_SESSION;
	else if (strcmp(v->str, "user") == 0)
		rc->frule.grant_scope = STEPUP_GRANT_SCOPE_USER;
	else {
		policy_error(p, v->line, "grant_scope must be \"ip\", "
			     "\"session\" or \"user\"");
		return;
	}
	rc->frule.have_grant_scope = TRUE;
}

static const struct policy_key login_rule_keys[] = {
	{ "auth", POLICY_KEY_ANY, .func = login_auth },
	{ "require", POLICY_KEY_STRING, .func = login_require },
	{ "app_passwords", POLICY_KEY_BOOL, RULE(login.app_passwords) },
	{ "enroll_by", POLICY_KEY_STRING, .func = login_enroll_by },
	{ .name = NULL }
};

const struct policy_block policy_login_rule_block = {
	.name = "login", .keys = login_rule_keys,
	.more_keys = rule_cond_keys,
	.begin = login_rule_begin, .end = policy_validate_rule
};

static const struct policy_key fetch_limit_keys[] = {
	{ "messages", POLICY_KEY_UINT, RULE(frule.fetch_messages),
	  .min = 1, .max = 1000000 },
	{ "window", POLICY_KEY_DURATION, RULE(frule.fetch_window) },
	{ .name = NULL }
};
static const struct policy_block fetch_limit_block = {
	.name = "fetch_limit", .keys = fetch_limit_keys,
	.end = policy_validate_fetch_limit
};

static const struct policy_key folder_rule_keys[] = {
	{ "auth", POLICY_KEY_STRINGS, .func = cond_auth },
	{ "require", POLICY_KEY_STRING, .func = folder_require },
	{ "mailbox", POLICY_KEY_STRING, .func = folder_mailbox },
	{ "max_age", POLICY_KEY_DURATION, RULE(frule.max_age) },
	{ "grant", POLICY_KEY_DURATION, RULE(frule.grant) },
	{ "grant_scope", POLICY_KEY_STRING, .func = folder_grant_scope },
	{ "self_approve", POLICY_KEY_BOOL, RULE(frule.self_approve) },
	{ "fetch_limit", POLICY_KEY_BLOCK, .block = &fetch_limit_block },
	{ .name = NULL }
};

const struct policy_block policy_folder_rule_block = {
	.name = "folders", .keys = folder_rule_keys,
	.more_keys = rule_cond_keys,
	.begin = folder_rule_begin, .end = policy_validate_rule
};
