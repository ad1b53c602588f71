/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Decisions: first matching rule wins. */

#include "lib.h"
#include "str.h"
#include "policy-private.h"

#include <time.h>

static bool
cond_user_matches(const struct stepup_policy *policy,
		  const struct policy_cond *cond, const char *user)
{
	const char *const *p;

	if (!array_is_created(&cond->users))
		return TRUE;
	array_foreach(&cond->users, p) {
		if (strcmp(*p, user) == 0)
			return TRUE;
	}
	array_foreach(&cond->groups, p) {
		if (hash_table_lookup(policy->members,
				      t_strconcat(*p, "\t", user, NULL)) != NULL)
			return TRUE;
	}
	return FALSE;
}

static bool
cond_ip_matches(const struct policy_cond *cond, const struct ip_addr *ip)
{
	if (!cond->have_nets)
		return TRUE;
	return policy_netset_lookup(cond->netset, ip) != NULL;
}

static bool
cond_time_matches(const struct policy_cond *cond, time_t now)
{
	struct tm tm;
	unsigned int mins;

	if (!cond->have_hours && cond->days_mask == 0)
		return TRUE;
	if (localtime_r(&now, &tm) == NULL)
		return FALSE;
	if (cond->days_mask != 0 && (cond->days_mask & (1U << tm.tm_wday)) == 0)
		return FALSE;
	if (cond->have_hours) {
		mins = tm.tm_hour * 60 + tm.tm_min;
		if (cond->hours_from < cond->hours_to)
			return mins >= cond->hours_from && mins < cond->hours_to;
		/* wraps past midnight: 22:00-06:00 */
		return mins >= cond->hours_from || mins < cond->hours_to;
	}
	return TRUE;
}

/* check_user: FALSE when the index already chose the rule for the user */
static bool
cond_matches(const struct stepup_policy *policy,
	     const struct policy_cond *cond, bool check_user,
	     const char *user, const struct ip_addr *ip, const char *protocol,
	     time_t now)
{
	if (check_user && !cond_user_matches(policy, cond, user))
		return FALSE;
	if (!cond_ip_matches(cond, ip))
		return FALSE;
	if (array_is_created(&cond->protocols)) {
		const char *const *p;
		bool found = FALSE;

		array_foreach(&cond->protocols, p) {
			if (protocol != NULL && strcmp(*p, protocol) == 0)
				found = TRUE;
		}
		if (!found)
			return FALSE;
	}
	return cond_time_matches(cond, now);
}

static void
login_apply(const struct policy_login_rule *rule,
	    const struct stepup_login_query *query,
	    struct stepup_login_decision *d)
{
	d->rule = rule->name;
	d->require = rule->require;
	d->app_passwords = rule->app_passwords;
	d->enroll_by = rule->enroll_by;
	d->grace = rule->require == STEPUP_LOGIN_TOTP &&
		!query->enrolled && rule->enroll_by != 0 &&
		query->now <= rule->enroll_by;
	d->reason = t_strdup_printf("rule '%s' requires %s", rule->name,
				    stepup_login_require_to_str(rule->require));
}

void policy_login_decide(const struct stepup_policy *policy,
			 const struct stepup_login_query *query,
			 struct stepup_login_decision *d, bool indexed)
{
	const struct policy_login_rule *rules;
	struct policy_candidates c;
	unsigned int i, count;

	/* compiled on first use: the one mutation of a loaded policy (every
	   process is single-threaded) */
	policy_compile_login((struct stepup_policy *)policy);
	i_zero(d);
	d->audit_only = policy->audit_mode;
	rules = array_get(&policy->login, &count);
	if (indexed)
		policy_candidates_login(policy, query->user, &c);
	else
		policy_candidates_all(count, &c);
	while (policy_candidates_next(&c, &i)) {
		/* the index only offers rules whose users match */
		if (cond_matches(policy, &rules[i].cond, !indexed,
				 query->user, query->remote_ip,
				 query->protocol, query->now)) {
			login_apply(&rules[i], query, d);
			return;
		}
	}
	d->require = STEPUP_LOGIN_DENY;
	d->reason = "no login rule matched";
}

void stepup_policy_login(const struct stepup_policy *policy,
			 const struct stepup_login_query *query,
			 struct stepup_login_decision *d)
{
	policy_login_decide(policy, query, d, TRUE);
}

/* pattern covers name: equal, or name is below it; INBOX in any case */
static bool mailbox_matches(const char *pattern, const char *name)
{
	size_t len;

	if (strcmp(pattern, "*") == 0)
		return TRUE;
	len = strlen(pattern);
	return strncmp(pattern, name, len) == 0 &&
		(name[len] == '\0' || name[len] == '/');
}

static bool
folder_rule_matches(const struct stepup_policy *policy,
		    const struct policy_folder_rule *rule,
		    const struct stepup_folder_query *query)
{
	if (!mailbox_matches(rule->mailbox, query->mailbox))
		return FALSE;
	if (rule->cond.auth_mask != 0 &&
	    (rule->cond.auth_mask & (1U << query->level)) == 0)
		return FALSE;
	return cond_matches(policy, &rule->cond, TRUE, query->user,
			    query->remote_ip, query->protocol, query->now);
}

static void
folder_apply(const struct policy_folder_rule *rule,
	     const struct stepup_folder_query *query,
	     struct stepup_folder_decision *d)
{
	bool totp_ok;

	d->rule = rule->name;
	d->require = rule->require;
	d->max_age_secs = rule->max_age;
	d->grant_secs = rule->grant;
	d->grant_scope = rule->grant_scope;
	d->fetch_limit_messages = rule->fetch_messages;
	d->fetch_limit_window_secs = rule->fetch_window;

	totp_ok = query->level == STEPUP_AUTH_TOTP &&
		query->mfa_time != 0 && query->mfa_time <= query->now &&
		(rule->max_age == 0 ||
		 query->now - query->mfa_time <= (time_t)rule->max_age);
	d->totp_ok = totp_ok;
	switch (rule->require) {
	case STEPUP_FOLDER_NONE:
		d->allow = TRUE;
		d->reason = t_strdup_printf("rule '%s': no condition",
					    rule->name);
		break;
	case STEPUP_FOLDER_DENY:
		d->reason = t_strdup_printf("rule '%s' denies access",
					    rule->name);
		break;
	case STEPUP_FOLDER_TOTP:
	case STEPUP_FOLDER_TOTP_OR_APPROVAL:
		/* the TOTP half of "or" needs no approval; the approval
		   half is decided by the approval client */
		d->allow = totp_ok;
		d->reason = totp_ok ?
			t_strdup_printf("rule '%s': two-step login "
					"verified %ld s ago", rule->name,
					(long)(query->now - query->mfa_time)) :
			query->level != STEPUP_AUTH_TOTP ?
			t_strdup_printf("rule '%s' requires a two-step "
					"login (session: %s)", rule->name,
					stepup_auth_level_to_str(query->level)) :
			t_strdup_printf("rule '%s': two-step login "
					"older than %us", rule->name,
					rule->max_age);
		break;
	default:
		d->reason = t_strdup_printf("rule '%s' requires %s",
			rule->name, stepup_folder_require_to_str(rule->require));
		break;
	}
}

void policy_folder_decide(const struct stepup_policy *policy,
			  const struct stepup_folder_query *query,
			  struct stepup_folder_decision *d, bool indexed)
{
	const struct policy_folder_rule *rules;
	struct policy_candidates c;
	unsigned int i, count;

	i_zero(d);
	d->audit_only = policy->audit_mode;
	rules = array_get(&policy->folders, &count);
	if (indexed)
		policy_candidates_folder(policy, query->mailbox, &c);
	else
		policy_candidates_all(count, &c);
	while (policy_candidates_next(&c, &i)) {
		if (folder_rule_matches(policy, &rules[i], query)) {
			folder_apply(&rules[i], query, d);
			return;
		}
	}
	d->require = STEPUP_FOLDER_NONE;
	d->allow = TRUE;
	d->reason = "no folder rule matched";
}

void stepup_policy_folder(const struct stepup_policy *policy,
			  const struct stepup_folder_query *query,
			  struct stepup_folder_decision *d)
{
	policy_folder_decide(policy, query, d, TRUE);
}

const char *stepup_policy_normalize_mailbox(const char *vname, char sep,
					    const char *ns_prefix,
					    bool private_ns)
{
	string_t *str = t_str_new(strlen(vname) + 1);
	size_t plen = ns_prefix == NULL ? 0 : strlen(ns_prefix);
	const char *p;

	if (private_ns && plen > 0 && strncmp(vname, ns_prefix, plen) == 0 &&
	    vname[plen] != '\0')
		vname += plen;
	for (p = vname; *p != '\0'; p++)
		str_append_c(str, *p == sep ? '/' : *p);
	/* INBOX is case-insensitive, as its first level */
	p = str_c(str);
	if (strncasecmp(p, "INBOX", 5) == 0 && (p[5] == '\0' || p[5] == '/'))
		memcpy(str_c_modifiable(str), "INBOX", 5);
	return str_c(str);
}
