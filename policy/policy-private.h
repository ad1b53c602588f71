#ifndef STEPUP_POLICY_PRIVATE_H
#define STEPUP_POLICY_PRIVATE_H

#include "array.h"
#include "hash.h"
#include "policy.h"

/* One network condition: CIDRs, with named lists already expanded. */
struct policy_net {
	struct ip_addr ip;
	unsigned int bits;
};
ARRAY_DEFINE_TYPE(policy_net, struct policy_net);

/* Conditions shared by login and folder rules. An unset list matches
   everything. */
struct policy_cond {
	ARRAY_TYPE(const_string) users;		/* plain names */
	ARRAY_TYPE(const_string) groups;	/* group names (@x) */
	ARRAY_TYPE(policy_net) nets;
	bool have_nets;
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
};

HASH_TABLE_DEFINE_TYPE(group_members, const char *, void *);

struct stepup_policy {
	pool_t pool;
	int refcount;
	const char *path;
	bool audit_mode;
	struct stepup_totp_settings totp;
	const char *state_path, *state_redis, *audit_path;
	const char *session_key_file;
	struct stepup_approval_settings approval;
	/* group name -> set of members (hash of "group\0user") */
	HASH_TABLE(const char *, void *) members;
	ARRAY(struct policy_login_rule) login;
	ARRAY(struct policy_folder_rule) folders;
};

#endif
