/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The libconfig adapter: the only file that sees libconfig. It walks the
   tree by the schema (policy-schema.c), turns each setting into a
   struct policy_value of the type its key wants and collects every error
   as "file:line: message"; one error refuses the file. libconfig only
   sees what the pre-scan (policy-prescan.c) let through. */

#include "lib.h"
#include "str.h"
#include "array.h"
#include "hash.h"
#include "policy-schema.h"

#include <libconfig.h>

void policy_error(struct policy_parser *p, unsigned int line,
		  const char *fmt, ...)
{
	struct policy_parse_error *e;
	va_list args;

	va_start(args, fmt);
	e = array_append_space(&p->errors);
	e->line = line;
	e->seq = array_count(&p->errors);
	e->text = t_strdup_printf("%s:%u: %s", p->name, line,
				  t_strdup_vprintf(fmt, args));
	va_end(args);
}

static const config_setting_t *cs(const struct policy_node *node)
{
	return (const config_setting_t *)node;
}

static const struct policy_node *node(const config_setting_t *s)
{
	return (const struct policy_node *)s;
}

static unsigned int sline(const config_setting_t *s)
{
	return config_setting_source_line(s);
}

unsigned int policy_node_line(const struct policy_node *node)
{
	return sline(cs(node));
}

bool policy_node_has(const struct policy_node *node, const char *key)
{
	return config_setting_get_member(cs(node), key) != NULL;
}

static bool is_type(const config_setting_t *s, int type)
{
	return config_setting_type(s) == type;
}

static int get_string(struct policy_parser *p, const config_setting_t *s,
		      const char **str_r)
{
	const char *v;

	if (!is_type(s, CONFIG_TYPE_STRING)) {
		policy_error(p, sline(s), "%s must be a string",
			     config_setting_name(s));
		return -1;
	}
	v = config_setting_get_string(s);
	if (v[0] == '\0') {
		policy_error(p, sline(s), "%s must not be empty",
			     config_setting_name(s));
		return -1;
	}
	*str_r = p_strdup(p->policy->pool, v);
	return 0;
}

/* An array (or list) of non-empty strings. */
static int
get_strings(struct policy_parser *p, const config_setting_t *s,
	    ARRAY_TYPE(const_string) *dest)
{
	unsigned int i, count;
	int ret = 0;

	if (!is_type(s, CONFIG_TYPE_ARRAY) && !is_type(s, CONFIG_TYPE_LIST)) {
		policy_error(p, sline(s), "%s must be a list of strings, "
			     "e.g. [ \"a\", \"b\" ]", config_setting_name(s));
		return -1;
	}
	count = config_setting_length(s);
	p_array_init(dest, p->policy->pool, count + 1);
	for (i = 0; i < count; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		const char *v;

		if (!is_type(e, CONFIG_TYPE_STRING) ||
		    (v = config_setting_get_string(e))[0] == '\0') {
			policy_error(p, sline(s), "%s: element %u must be a "
				     "non-empty string",
				     config_setting_name(s), i + 1);
			ret = -1;
			continue;
		}
		v = p_strdup(p->policy->pool, v);
		array_push_back(dest, &v);
	}
	return ret;
}

/* The setting as the type of its key; FALSE (with an error) if it is
   not that. */
static bool
get_value(struct policy_parser *p, const struct policy_key *key,
	  const config_setting_t *s, struct policy_value *v_r)
{
	i_zero(v_r);
	v_r->key = config_setting_name(s);
	v_r->line = sline(s);
	switch (key->type) {
	case POLICY_KEY_STRING:
	case POLICY_KEY_PATH:
	case POLICY_KEY_DURATION:
		return get_string(p, s, &v_r->str) == 0;
	case POLICY_KEY_UINT:
		if (!is_type(s, CONFIG_TYPE_INT) &&
		    !is_type(s, CONFIG_TYPE_INT64)) {
			policy_error(p, sline(s), "%s must be an integer",
				     v_r->key);
			return FALSE;
		}
		v_r->num = config_setting_get_int64(s);
		return TRUE;
	case POLICY_KEY_BOOL:
		if (!is_type(s, CONFIG_TYPE_BOOL)) {
			policy_error(p, sline(s), "%s must be true or false",
				     v_r->key);
			return FALSE;
		}
		v_r->boolean = config_setting_get_bool(s) != 0;
		return TRUE;
	case POLICY_KEY_STRINGS:
		return get_strings(p, s, &v_r->strings) == 0;
	case POLICY_KEY_ANY:
		return TRUE;
	case POLICY_KEY_BLOCK:
	case POLICY_KEY_MAP:
	case POLICY_KEY_RULES:
		break;
	}
	i_unreached();
}

static const struct policy_key *
find_key(const struct policy_key *keys, const char *name)
{
	for (; keys != NULL && keys->name != NULL; keys++) {
		if (strcmp(keys->name, name) == 0)
			return keys;
	}
	return NULL;
}

static const struct policy_key *
block_find_key(const struct policy_block *block, const char *name)
{
	const struct policy_key *key = find_key(block->keys, name);

	return key != NULL ? key : find_key(block->more_keys, name);
}

static void walk_setting(struct policy_parser *p,
			 const struct policy_key *key,
			 const config_setting_t *s, void *context);

/* Every member of a group to its key; unknown keys are errors. */
static bool
walk_block(struct policy_parser *p, const struct policy_block *block,
	   const config_setting_t *group, void *context)
{
	unsigned int i, count;

	if (!is_type(group, CONFIG_TYPE_GROUP)) {
		policy_error(p, sline(group), "%s must be a group { ... }",
			     block->name);
		return FALSE;
	}
	count = config_setting_length(group);
	for (i = 0; i < count; i++) {
		const config_setting_t *s = config_setting_get_elem(group, i);
		const char *name = config_setting_name(s);
		const struct policy_key *key = block_find_key(block, name);

		if (key == NULL) {
			policy_error(p, sline(s), "unknown setting %s%s%s",
				     block->name,
				     block->name[0] == '\0' ? "" : ".", name);
			continue;
		}
		walk_setting(p, key, s, context);
	}
	return TRUE;
}

/* ( { rule }, { rule } ): each rule a block of its own context */
static void walk_rules(struct policy_parser *p, const struct policy_key *key,
		       const config_setting_t *s, void *context)
{
	const struct policy_block *block = key->block;
	unsigned int i, count;

	if (!is_type(s, CONFIG_TYPE_LIST)) {
		policy_error(p, sline(s), "%s must be %s", key->name,
			     key->syntax);
		return;
	}
	count = config_setting_length(s);
	for (i = 0; i < count; i++) {
		const config_setting_t *r = config_setting_get_elem(s, i);
		void *rule = block->begin(p, context, i + 1);

		if (walk_block(p, block, r, rule))
			block->end(p, node(r), rule);
	}
}

/* { name = [ "a", "b" ]; ... }: the key's func once per name */
static void walk_map(struct policy_parser *p, const struct policy_key *key,
		     const config_setting_t *s, void *context)
{
	struct policy_value v;
	unsigned int i, count;

	if (!is_type(s, CONFIG_TYPE_GROUP)) {
		policy_error(p, sline(s), "%s must be %s", key->name,
			     key->syntax);
		return;
	}
	count = config_setting_length(s);
	for (i = 0; i < count; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);

		i_zero(&v);
		v.key = config_setting_name(e);
		v.line = sline(e);
		if (get_strings(p, e, &v.strings) == 0)
			key->func(p, &v, context);
	}
}

static void walk_setting(struct policy_parser *p,
			 const struct policy_key *key,
			 const config_setting_t *s, void *context)
{
	struct policy_value v;

	switch (key->type) {
	case POLICY_KEY_BLOCK:
		(void)walk_block(p, key->block, s, context);
		if (key->block->end != NULL)
			key->block->end(p, node(s), context);
		break;
	case POLICY_KEY_RULES:
		walk_rules(p, key, s, context);
		break;
	case POLICY_KEY_MAP:
		walk_map(p, key, s, context);
		break;
	default:
		if (get_value(p, key, s, &v))
			policy_value_set(p, key, &v, context);
		break;
	}
}

/* The top level in the schema's order (what rules refer to comes
   first), not the file's. */
static void walk_root(struct policy_parser *p, const config_setting_t *root)
{
	const struct policy_block *block = &policy_root_block;
	const struct policy_key *key;
	unsigned int i, count;

	count = config_setting_length(root);
	for (i = 0; i < count; i++) {
		const config_setting_t *s = config_setting_get_elem(root, i);

		if (block_find_key(block, config_setting_name(s)) == NULL)
			policy_error(p, sline(s), "unknown setting %s",
				     config_setting_name(s));
	}
	for (key = block->keys; key->name != NULL; key++) {
		const config_setting_t *s =
			config_setting_get_member(root, key->name);

		if (s != NULL)
			walk_setting(p, key, s, p->policy);
	}
	block->end(p, node(root), p->policy);
}

static int cmp_error(const struct policy_parse_error *a,
		     const struct policy_parse_error *b)
{
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	return a->seq < b->seq ? -1 : (a->seq > b->seq ? 1 : 0);
}

/* Errors in the order of the file's lines; on one line, in the order
   they were found. */
static const char *errors_sorted(struct policy_parser *p)
{
	const struct policy_parse_error *e;
	string_t *str = t_str_new(256);

	array_sort(&p->errors, cmp_error);
	array_foreach(&p->errors, e) {
		if (str_len(str) > 0)
			str_append_c(str, '\n');
		str_append(str, e->text);
	}
	return str_c(str);
}

static void parse_config(struct policy_parser *p, const char *data,
			 size_t size)
{
	config_t config;

	config_init(&config);
	if (config_read_string(&config, t_strndup(data, size)) != CONFIG_TRUE) {
		policy_error(p, config_error_line(&config), "%s",
			     config_error_text(&config));
	} else {
		walk_root(p, config_root_setting(&config));
	}
	config_destroy(&config);
}

int stepup_policy_parse_buffer(const char *name, const void *data,
			       size_t size, struct stepup_policy **policy_r,
			       const char **error_r)
{
	struct policy_parser p;
	struct stepup_policy *policy = policy_new();

	i_zero(&p);
	p.name = name;
	p.policy = policy;
	t_array_init(&p.errors, 16);
	hash_table_create(&p.login_names, pool_datastack_create(), 0,
			  str_hash, strcmp);
	hash_table_create(&p.folder_names, pool_datastack_create(), 0,
			  str_hash, strcmp);
	hash_table_create(&p.nets, pool_datastack_create(), 0, str_hash,
			  strcmp);

	if (memchr(data, '\0', size) != NULL)
		policy_error(&p, 1, "the file contains a NUL byte");
	else
		policy_prescan(&p, data, size);
	if (array_count(&p.errors) == 0)
		parse_config(&p, data, size);
	hash_table_destroy(&p.nets);
	hash_table_destroy(&p.login_names);
	hash_table_destroy(&p.folder_names);
	policy_apply_defaults(policy);

	if (array_count(&p.errors) > 0) {
		*error_r = errors_sorted(&p);
		policy_free(&policy);
		return -1;
	}
	policy_compile(policy);
	*policy_r = policy;
	return 0;
}
