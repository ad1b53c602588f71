#ifndef STEPUP_POLICY_PRIVATE_H
#define STEPUP_POLICY_PRIVATE_H

#include "array.h"
#include "hash.h"
#include "stepup-policy.h"
#include "policy-netset.h"


/* Conditions shared by login and folder rules. An unset list matches
   everything. */
struct policy_cond {
	ARRAY_TYPE(const_string) users;		/* plain names */
	ARRAY_TYPE(const_string) groups;	/* group names (@x) */
	ARRAY_TYPE(policy_net) nets;	/* named lists expanded */
	bool have_nets;
	struct policy_netset *netset;	/* nets compiled */
	ARRAY_TYPE(const_string) protocols;
	/* minutes since local midnight; from == to: unset */
	unsigned int hours_from, hours_to;
	bool have_hours;
	unsigned int days_mask;	/* bit 0 = Sunday; 0 = unset */
	unsigned int auth_mask;	/* folder rules: 1 << level; 0 = unset */
};

struct policy_login_rule {
	const char *name;
	struct policy_cond cond;
	enum stepup_login_require require;
	bool app_passwords;
	time_t enroll_by;
};

struct policy_folder_rule {
	const char *name;
	const char *mailbox;	/* normalised pattern; "*" = all */
	struct policy_cond cond;
	enum stepup_folder_require require;
	unsigned int max_age, grant, fetch_messages, fetch_window;
	enum stepup_grant_scope grant_scope;
	bool have_grant_scope;
	bool self_approve;
};

HASH_TABLE_DEFINE_TYPE(group_members, const char *, void *);

/* Rule numbers, ascending. */
struct policy_rule_list {
	ARRAY_TYPE(uint) rules;
};
HASH_TABLE_DEFINE_TYPE(policy_rule_lists, const char *,
		       struct policy_rule_list *);

/* Which rules can match at all, so a decision looks at a handful of
   rules instead of all of them. Login rules are keyed by the users and
   groups they name, folder rules by the first level of their mailbox;
   rules without such a condition are "open" and always candidates. */
struct policy_index {
	HASH_TABLE_TYPE(policy_rule_lists) by_user;
	HASH_TABLE_TYPE(policy_rule_lists) by_key;
	ARRAY_TYPE(uint) open;
};

/* user -> the groups named in login rules that the user is in */
struct policy_group_link {
	const char *group;
	struct policy_group_link *next;
};

struct stepup_policy {
	pool_t pool;
	int refcount;
	bool audit_mode;
	/* audit.required = false: decisions go on without their record */
	bool audit_optional;
	struct stepup_totp_settings totp;
	const char *state_path, *state_redis, *audit_path;
	struct stepup_audit_settings audit;
	const char *session_key_file;
	struct stepup_approval_settings approval;
	struct stepup_enrollment_settings enrollment;
	ARRAY_TYPE(policy_net) enrollment_net_list;
	struct policy_netset *enrollment_nets;
	/* group name -> set of members (hash of "group\0user") */
	HASH_TABLE(const char *, void *) members;
	ARRAY(struct policy_login_rule) login;
	ARRAY(struct policy_folder_rule) folders;

	/* compiled by policy_compile() */
	struct policy_index folder_index;
	/* compiled by policy_compile_login(), on the first login decision */
	bool login_compiled;
	struct policy_index login_index;
	HASH_TABLE(const char *, struct policy_group_link *) user_groups;
};

/* Build the compiled form (netsets, indexes) of a parsed policy's folder
   rules; policy_compile_login() that of the login rules, once. */
void policy_compile(struct stepup_policy *policy);
void policy_compile_login(struct stepup_policy *policy);
/* Free what policy_compile() made outside the pool. */
void policy_compile_free(struct stepup_policy *policy);

/* Decisions, with the index (what stepup_policy_login/folder use) or by
   scanning every rule (the reference the unit tests compare against). */
void policy_login_decide(const struct stepup_policy *policy,
			 const struct stepup_login_query *query,
			 struct stepup_login_decision *d, bool indexed);
void policy_folder_decide(const struct stepup_policy *policy,
			  const struct stepup_folder_query *query,
			  struct stepup_folder_decision *d, bool indexed);

/* The candidates of a decision: the rule numbers of several ascending
   lists, merged, each once (allocated from the data stack). */
struct policy_candidate_list {
	const unsigned int *v;
	unsigned int count, pos;
};
struct policy_candidates {
	struct policy_candidate_list *lists;
	unsigned int list_count;
	/* policy_candidates_all(): every rule, lists == NULL */
	unsigned int scan_count, scan_pos;
};
void policy_candidates_login(const struct stepup_policy *policy,
			     const char *user, struct policy_candidates *c_r);
void policy_candidates_folder(const struct stepup_policy *policy,
			      const char *mailbox,
			      struct policy_candidates *c_r);
/* Every rule number below count (the scan the tests compare with). */
void policy_candidates_all(unsigned int count, struct policy_candidates *c_r);
bool policy_candidates_next(struct policy_candidates *c,
			    unsigned int *rule_r);

#endif
