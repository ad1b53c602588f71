#ifndef STEPUP_POLICY_SCHEMA_H
#define STEPUP_POLICY_SCHEMA_H

#include "policy-private.h"

/* The policy parser in stages (doc/DESIGN.md "Policy parser"):
   policy-prescan.c    refuses what libconfig would mishandle
   policy-parse.c      the libconfig adapter: the only file that sees
                       libconfig; walks the tree by the schema and turns
                       each setting into a struct policy_value
   policy-schema.c     the top-level blocks' key tables
   policy-schema-rule.c the login/folder rule key tables
   policy-values.c     value parsers (durations, dates, CIDRs) and the
                       generic "store by type" step
   policy-validate.c   checks across keys and rules
   policy-defaults.c   what an unset key means

   Adding a key to a block is one entry in that block's table, e.g.
	{ "timeout", POLICY_KEY_DURATION,
	  .offset = offsetof(struct stepup_policy, approval.timeout_secs) },
   plus the member it fills. */

/* A setting of the file (opaque; the adapter knows what it is). */
struct policy_node;

enum policy_key_type {
	POLICY_KEY_STRING,	/* non-empty string -> const char * */
	POLICY_KEY_PATH,	/* absolute path -> const char * */
	POLICY_KEY_UINT,	/* integer in [min, max] -> unsigned int */
	POLICY_KEY_DURATION,	/* "30s", "2h30m" -> unsigned int seconds */
	POLICY_KEY_BOOL,	/* true/false -> bool */
	POLICY_KEY_STRINGS,	/* [ "a", "b" ] -> ARRAY_TYPE(const_string) */
	POLICY_KEY_ANY,		/* not converted: .func only */
	POLICY_KEY_BLOCK,	/* { key = ...; } walked with .block */
	POLICY_KEY_MAP,		/* { name = [ "a" ]; } .func once per name */
	POLICY_KEY_RULES,	/* ( { ... }, ... ) .block once per rule */
};

/* One setting's value, converted by the adapter to what its key's type
   wants (strings are allocated from the policy's pool). */
struct policy_value {
	const char *key;	/* the setting's name, for messages */
	unsigned int line;
	const char *str;	/* STRING, PATH, DURATION */
	long long num;		/* UINT as written */
	unsigned int uint;	/* UINT, DURATION */
	bool boolean;		/* BOOL */
	ARRAY_TYPE(const_string) strings;	/* STRINGS, MAP */
};

struct policy_parser;
struct policy_block;

/* Takes the value once it has its type; without it the value is stored
   at .offset from the block's context. */
typedef void policy_key_func_t(struct policy_parser *p,
			       const struct policy_value *v, void *context);

struct policy_key {
	const char *name;
	enum policy_key_type type;
	/* where a value without .func goes */
	size_t offset;
	unsigned int min, max;			/* POLICY_KEY_UINT */
	policy_key_func_t *func;
	const struct policy_block *block;	/* BLOCK, RULES */
	/* what the error says the value must be, if not the type's
	   default ("a group { ... }") */
	const char *syntax;
};

struct policy_block {
	/* the block's name in "unknown setting NAME.key" */
	const char *name;
	/* NULL-name terminated; more_keys (may be NULL): keys shared
	   with other blocks */
	const struct policy_key *keys, *more_keys;
	/* RULES: a fresh context for rule number n (1, 2, ...) */
	void *(*begin)(struct policy_parser *p, void *context,
		       unsigned int n);
	/* after the keys (for RULES: if the rule was a group) */
	void (*end)(struct policy_parser *p, const struct policy_node *node,
		    void *context);
};

/* network name -> its addresses, while parsing */
HASH_TABLE_DEFINE_TYPE(policy_named_nets, const char *,
		       ARRAY_TYPE(policy_net) *);

struct policy_parse_error {
	unsigned int line, seq;
	const char *text;
};
ARRAY_DEFINE_TYPE(policy_parse_error, struct policy_parse_error);

HASH_TABLE_DEFINE_TYPE(policy_rule_names, const char *, void *);

struct policy_parser {
	const char *name;
	struct stepup_policy *policy;
	ARRAY_TYPE(policy_parse_error) errors;
	bool version_seen;
	HASH_TABLE_TYPE(policy_named_nets) nets;
	/* rule names seen so far, to refuse duplicates */
	HASH_TABLE_TYPE(policy_rule_names) login_names, folder_names;
	/* entries of approval.keys, good or not */
	unsigned int approval_keys_seen;
	/* where approval.approvers is, for the check of its groups */
	unsigned int approvers_line;
};

void policy_error(struct policy_parser *p, unsigned int line,
		  const char *fmt, ...) ATTR_FORMAT(3, 4);

/* policy-prescan.c */
void policy_prescan(struct policy_parser *p, const char *data, size_t size);

/* policy-parse.c: what the validation needs of a setting */
unsigned int policy_node_line(const struct policy_node *node);
bool policy_node_has(const struct policy_node *node, const char *key);

/* policy-schema.c */
extern const struct policy_block policy_root_block;
/* policy-schema-rule.c */
extern const struct policy_block policy_login_rule_block;
/* policy-enrollment.c */
extern const struct policy_block policy_enrollment_block;
void policy_enrollment_defaults(struct stepup_policy *policy);
extern const struct policy_block policy_folder_rule_block;

/* policy-values.c */
void policy_value_set(struct policy_parser *p, const struct policy_key *key,
		      struct policy_value *v, void *context);
int policy_parse_duration(const char *str, unsigned int *secs_r);
int policy_parse_date(const char *str, time_t *end_r);
int policy_parse_hhmm(const char *p, unsigned int *mins_r);
int policy_parse_cidr(const char *str, struct policy_net *net_r);

/* policy-validate.c */
struct policy_rule_ctx {
	unsigned int number;
	bool folder;
	const char *name;
	struct policy_login_rule login;
	struct policy_folder_rule frule;
	struct policy_cond *cond;
	HASH_TABLE_TYPE(policy_rule_names) *names;
};
void policy_validate_root(struct policy_parser *p,
			  const struct policy_node *root, void *context);
void policy_validate_state(struct policy_parser *p,
			   const struct policy_node *node, void *context);
void policy_validate_approval(struct policy_parser *p,
			      const struct policy_node *node, void *context);
void policy_validate_fetch_limit(struct policy_parser *p,
				 const struct policy_node *node,
				 void *context);
/* checks a rule and adds it to the policy */
void policy_validate_rule(struct policy_parser *p,
			  const struct policy_node *node, void *context);

/* policy-defaults.c */
struct stepup_policy *policy_new(void);
void policy_apply_defaults(struct stepup_policy *policy);
void policy_free(struct stepup_policy **policy);

#endif
