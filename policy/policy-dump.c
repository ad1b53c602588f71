/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING
   file */

/* The effective policy in canonical form: every key written, defaults
   made explicit, named networks expanded in the rules, group members
   sorted, durations in seconds. Parsing a dump and dumping it again gives
   the same text. */

#include "lib.h"
#include "stepup-compat.h"
#include "str.h"
#include "array.h"
#include "hash.h"
#include "policy-private.h"

#include <time.h>

/* A libconfig string literal: its scanner knows \\ \" \f \n \r \t and
   \xNN, and keeps any other backslash as it is (so Dovecot's
   str_append_escaped(), which writes \', would not round-trip). */
static void append_str(string_t *out, const char *value)
{
	const unsigned char *p;

	str_append_c(out, '"');
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		switch (*p) {
		case '"':
		case '\\':
			str_append_c(out, '\\');
			str_append_c(out, *p);
			break;
		case '\n':
			str_append(out, "\\n");
			break;
		case '\t':
			str_append(out, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				str_printfa(out, "\\x%02x", *p);
			else
				str_append_c(out, *p);
		}
	}
	str_append_c(out, '"');
}

static void append_kv(string_t *out, const char *indent, const char *key,
		      const char *value)
{
	if (value == NULL)
		return;
	str_printfa(out, "%s%s = ", indent, key);
	append_str(out, value);
	str_append(out, ";\n");
}

static void append_secs(string_t *out, const char *indent, const char *key,
			unsigned int secs)
{
	str_printfa(out, "%s%s = \"%us\";\n", indent, key, secs);
}

static int cmp_str(const char *const *a, const char *const *b)
{
	return strcmp(*a, *b);
}

static void append_list(string_t *out, const char *indent, const char *key,
			const ARRAY_TYPE(const_string) *list)
{
	const char *const *p;
	bool first = TRUE;

	str_printfa(out, "%s%s = [ ", indent, key);
	array_foreach(list, p) {
		if (!first)
			str_append(out, ", ");
		append_str(out, *p);
		first = FALSE;
	}
	str_append(out, " ];\n");
}

static void dump_groups(const struct stepup_policy *policy, string_t *out)
{
	struct hash_iterate_context *iter;
	const char *key, *tab, *group;
	void *value;
	ARRAY_TYPE(const_string) keys, members;
	const char *const *k;
	unsigned int i, count;

	t_array_init(&keys, 64);
	iter = hash_table_iterate_init(policy->members);
	while (hash_table_iterate(iter, policy->members, &key, &value))
		array_push_back(&keys, &key);
	hash_table_iterate_deinit(&iter);
	if (array_count(&keys) == 0)
		return;
	array_sort(&keys, cmp_str);
	str_append(out, "groups = {\n");
	k = array_get(&keys, &count);
	for (i = 0; i < count; ) {
		/* "group\t" first, then "group\tmember"s */
		tab = strchr(k[i], '\t');
		group = t_strdup_until(k[i], tab);
		t_array_init(&members, 16);
		for (i++; i < count && str_begins_with(k[i], t_strconcat(group, "\t", NULL)); i++) {
			const char *m = strchr(k[i], '\t') + 1;
			array_push_back(&members, &m);
		}
		append_list(out, "  ", group, &members);
	}
	str_append(out, "};\n");
}

static void append_nets(string_t *out, const char *indent,
			const ARRAY_TYPE(policy_net) *nets)
{
	ARRAY_TYPE(const_string) list;
	const struct policy_net *net;
	const char *s;

	t_array_init(&list, 8);
	array_foreach(nets, net) {
		s = t_strdup_printf("%s/%u", net_ip2addr(&net->ip), net->bits);
		array_push_back(&list, &s);
	}
	append_list(out, indent, "networks", &list);
}

static void dump_enrollment(const struct stepup_policy *policy,
			    string_t *out)
{
	const struct stepup_enrollment_settings *set = &policy->enrollment;

	str_append(out, "enrollment = {\n");
	str_printfa(out, "  invite = %s;\n", set->invite ? "true" : "false");
	if (set->have_networks)
		append_nets(out, "  ", &policy->enrollment_net_list);
	str_printfa(out, "  notify = %s;\n", set->notify ? "true" : "false");
	append_kv(out, "  ", "lmtp", set->lmtp);
	append_secs(out, "  ", "app_password_max", set->app_password_max_secs);
	str_append(out, "};\n");
}

static void dump_cond(const struct policy_cond *cond, string_t *out)
{
	ARRAY_TYPE(const_string) list;
	const char *const *p, *s;
	unsigned int i;

	if (array_is_created(&cond->users)) {
		t_array_init(&list, 8);
		array_append_array(&list, &cond->users);
		array_foreach(&cond->groups, p) {
			s = t_strconcat("@", *p, NULL);
			array_push_back(&list, &s);
		}
		append_list(out, "    ", "users", &list);
	}
	if (cond->have_nets)
		append_nets(out, "    ", &cond->nets);
	if (array_is_created(&cond->protocols))
		append_list(out, "    ", "protocols", &cond->protocols);
	if (cond->have_hours) {
		str_printfa(out, "    hours = \"%02u:%02u-%02u:%02u\";\n",
			    cond->hours_from / 60, cond->hours_from % 60,
			    cond->hours_to / 60, cond->hours_to % 60);
	}
	if (cond->days_mask != 0) {
		t_array_init(&list, 7);
		for (i = 0; i < STEPUP_DAY_COUNT; i++) {
			if ((cond->days_mask & (1U << i)) != 0) {
				s = stepup_day_to_str(i);
				array_push_back(&list, &s);
			}
		}
		append_list(out, "    ", "days", &list);
	}
	if (cond->auth_mask != 0) {
		t_array_init(&list, 3);
		for (i = STEPUP_AUTH_PASSWORD; i <= STEPUP_AUTH_TOTP; i++) {
			if ((cond->auth_mask & (1U << i)) != 0) {
				s = stepup_auth_level_to_str(i);
				array_push_back(&list, &s);
			}
		}
		append_list(out, "    ", "auth", &list);
	}
}

static void dump_approval(const struct stepup_approval_settings *set,
			  string_t *out)
{
	const struct stepup_approval_key_file *key;
	unsigned int n = 0;

	str_append(out, "approval = {\n");
	append_kv(out, "  ", "url", set->url);
	str_append(out, "  keys = (");
	array_foreach(&set->keys, key) {
		str_append(out, n++ == 0 ? " { id = " : ", { id = ");
		append_str(out, key->id);
		str_append(out, "; file = ");
		append_str(out, key->file);
		str_append(out, "; }");
	}
	str_append(out, " );\n");
	append_kv(out, "  ", "ca_file", set->ca_file);
	append_kv(out, "  ", "pin", set->pin);
	append_kv(out, "  ", "client_cert", set->client_cert);
	append_kv(out, "  ", "client_key", set->client_key);
	append_secs(out, "  ", "timeout", set->timeout_secs);
	append_secs(out, "  ", "wait", set->wait_secs);
	str_printfa(out, "  failmode = \"%s\";\n",
		    set->failmode_open ? "open" : "closed");
	if (array_is_created(&set->approvers))
		append_list(out, "  ", "approvers", &set->approvers);
	str_append(out, "};\n");
}

const char *stepup_policy_dump(const struct stepup_policy *policy)
{
	const struct stepup_totp_settings *t = &policy->totp;
	const struct policy_login_rule *lr;
	const struct policy_folder_rule *fr;
	string_t *out = t_str_new(1024);
	unsigned int n;

	str_append(out, "version = 1;\n");
	str_printfa(out, "mode = \"%s\";\n",
		    policy->audit_mode ? "audit" : "enforce");
	str_append(out, "totp = {\n");
	append_kv(out, "  ", "issuer", t->issuer);
	str_printfa(out, "  algorithm = \"%s\";\n  digits = %u;\n"
		    "  period = %u;\n  window = %u;\n  max_failures = %u;\n",
		    stepup_totp_algorithm_to_str(t->algorithm),
		    t->digits, t->period, t->window, t->max_failures);
	append_secs(out, "  ", "lockout", t->lockout_secs);
	append_secs(out, "  ", "reconnect", t->reconnect_secs);
	append_secs(out, "  ", "reconnect_idle", t->reconnect_idle_secs);
	str_append(out, "};\nstate = {\n");
	append_kv(out, "  ", "path", policy->state_redis == NULL ?
		  policy->state_path : NULL);
	append_kv(out, "  ", "redis", policy->state_redis);
	str_append(out, "};\n");
	str_append(out, "session = {\n");
	append_kv(out, "  ", "key_file", policy->session_key_file);
	str_append(out, "};\n");
	if (policy->audit_path != NULL) {
		str_append(out, "audit = {\n");
		append_kv(out, "  ", "path", policy->audit_path);
		if (policy->audit_optional)
			str_append(out, "  required = false;\n");
		str_append(out, "};\n");
	}
	if (policy->approval.url != NULL)
		dump_approval(&policy->approval, out);
	dump_enrollment(policy, out);
	dump_groups(policy, out);

	str_append(out, "login = (\n");
	n = 0;
	array_foreach(&policy->login, lr) {
		str_printfa(out, "%s  {\n", n++ == 0 ? "" : ",\n");
		append_kv(out, "    ", "name", lr->name);
		dump_cond(&lr->cond, out);
		str_printfa(out, "    require = \"%s\";\n",
			    stepup_login_require_to_str(lr->require));
		str_printfa(out, "    app_passwords = %s;\n",
			    lr->app_passwords ? "true" : "false");
		if (lr->enroll_by != 0) {
			struct tm tm;
			time_t t0 = lr->enroll_by;
			char buf[16];

			if (gmtime_r(&t0, &tm) != NULL &&
			    strftime(buf, sizeof(buf), "%Y-%m-%d", &tm) > 0)
				str_printfa(out, "    enroll_by = \"%s\";\n", buf);
		}
		str_append(out, "  }");
	}
	str_append(out, "\n);\nfolders = (\n");
	n = 0;
	array_foreach(&policy->folders, fr) {
		str_printfa(out, "%s  {\n", n++ == 0 ? "" : ",\n");
		append_kv(out, "    ", "name", fr->name);
		append_kv(out, "    ", "mailbox", fr->mailbox);
		dump_cond(&fr->cond, out);
		str_printfa(out, "    require = \"%s\";\n",
			    stepup_folder_require_to_str(fr->require));
		if (fr->max_age != 0)
			append_secs(out, "    ", "max_age", fr->max_age);
		if (fr->grant != 0)
			append_secs(out, "    ", "grant", fr->grant);
		if (fr->have_grant_scope)
			str_printfa(out, "    grant_scope = \"%s\";\n",
				    stepup_grant_scope_name(fr->grant_scope));
		if (fr->self_approve)
			str_append(out, "    self_approve = true;\n");
		if (fr->fetch_messages != 0) {
			str_printfa(out, "    fetch_limit = { messages = %u; "
				    "window = \"%us\"; };\n",
				    fr->fetch_messages, fr->fetch_window);
		}
		str_append(out, "  }");
	}
	str_append(out, "\n);\n");
	return str_c(out);
}
