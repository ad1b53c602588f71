/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The libconfig adapter: a strict schema over libconfig's tree. Every
   error is collected as "file:line: message"; one error refuses the
   file. libconfig is never shown text it would mishandle: a pre-scan
   refuses @include (libconfig 1.5 may exit() inside it) and integer
   literals it would silently wrap. */

#include "lib.h"
#include "stepup-compat.h"
#include "str.h"
#include "strnum.h"
#include "array.h"
#include "hash.h"
#include "policy-private.h"

#include <ctype.h>
#include <libconfig.h>
#include <time.h>

/* The largest integer any key takes; longer literals never reach
   libconfig, whose 1.5 parser wraps them silently. */
#define POLICY_INT_MAX_DIGITS 9

struct parse_ctx {
	const char *name;
	struct stepup_policy *policy;
	string_t *errors;
	unsigned int error_count;
};

static void ATTR_FORMAT(3, 4)
perr(struct parse_ctx *ctx, unsigned int line, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	if (ctx->error_count > 0)
		str_append_c(ctx->errors, '\n');
	str_printfa(ctx->errors, "%s:%u: ", ctx->name, line);
	str_vprintfa(ctx->errors, fmt, args);
	va_end(args);
	ctx->error_count++;
}

static unsigned int sline(const config_setting_t *s)
{
	return config_setting_source_line(s);
}

/* Skip strings and comments; refuse @include and long integers. */
static void prescan(struct parse_ctx *ctx, const char *data, size_t size)
{
	unsigned int line = 1;
	size_t i = 0, start;

	while (i < size) {
		char c = data[i];

		if (c == '\n') {
			line++; i++;
		} else if (c == '"') {
			for (i++; i < size && data[i] != '"'; i++) {
				if (data[i] == '\\')
					i++;
				else if (data[i] == '\n')
					line++;
			}
			i++;
		} else if (c == '#' ||
			   (c == '/' && i + 1 < size && data[i + 1] == '/')) {
			while (i < size && data[i] != '\n')
				i++;
		} else if (c == '/' && i + 1 < size && data[i + 1] == '*') {
			for (i += 2; i + 1 < size &&
			     !(data[i] == '*' && data[i + 1] == '/'); i++) {
				if (data[i] == '\n')
					line++;
			}
			i += 2;
		} else if (c == '@') {
			perr(ctx, line, "@include and other directives are "
			     "not allowed: keep the policy in one file");
			while (i < size && data[i] != '\n')
				i++;
		} else if (c >= '0' && c <= '9' &&
			   (i == 0 || !(i_isalnum(data[i - 1]) ||
					data[i - 1] == '_' ||
					data[i - 1] == '.'))) {
			start = i;
			while (i < size && i_isalnum(data[i]))
				i++;
			if (i - start > POLICY_INT_MAX_DIGITS) {
				perr(ctx, line, "number %s is out of range",
				     t_strndup(data + start, i - start));
			}
		} else {
			i++;
		}
	}
}

/* durations: "30s", "15m", "8h", "90d", "2h30m"; a bare number is
   seconds. */
static int parse_duration(const char *str, unsigned int *secs_r)
{
	uint64_t total = 0, n;
	const char *p = str;

	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			return -1;
		n = 0;
		while (*p >= '0' && *p <= '9') {
			n = n * 10 + (*p - '0');
			if (n > 10UL * 365 * 86400)
				return -1;
			p++;
		}
		switch (*p) {
		case 's': p++; break;
		case 'm': n *= 60; p++; break;
		case 'h': n *= 3600; p++; break;
		case 'd': n *= 86400; p++; break;
		case '\0':
			if (p != str && total != 0)
				return -1; /* "1h30": unit missing */
			break;
		default:
			return -1;
		}
		total += n;
		if (total > 10UL * 365 * 86400)
			return -1;
	}
	*secs_r = (unsigned int)total;
	return 0;
}

/* "YYYY-MM-DD": the date is valid through its last second (UTC). */
static int parse_date(const char *str, time_t *end_r)
{
	struct tm tm;
	unsigned int y, m, d;

	if (strlen(str) != 10 || str[4] != '-' || str[7] != '-' ||
	    sscanf(str, "%4u-%2u-%2u", &y, &m, &d) != 3 ||
	    y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	i_zero(&tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	*end_r = timegm(&tm);
	if (*end_r == (time_t)-1)
		return -1;
	/* refuse 2026-02-31 rolling over into March */
	if (gmtime_r(end_r, &tm) == NULL || tm.tm_mday != (int)d)
		return -1;
	*end_r += 86400 - 1;
	return 0;
}

static bool is_type(const config_setting_t *s, int type)
{
	return config_setting_type(s) == type;
}

static const char *get_string(struct parse_ctx *ctx, const config_setting_t *s)
{
	const char *v;

	if (!is_type(s, CONFIG_TYPE_STRING)) {
		perr(ctx, sline(s), "%s must be a string",
		     config_setting_name(s));
		return NULL;
	}
	v = config_setting_get_string(s);
	if (v[0] == '\0') {
		perr(ctx, sline(s), "%s must not be empty",
		     config_setting_name(s));
		return NULL;
	}
	return p_strdup(ctx->policy->pool, v);
}

static int get_uint(struct parse_ctx *ctx, const config_setting_t *s,
		    unsigned int min, unsigned int max, unsigned int *value_r)
{
	long long v;

	if (!is_type(s, CONFIG_TYPE_INT) && !is_type(s, CONFIG_TYPE_INT64)) {
		perr(ctx, sline(s), "%s must be an integer",
		     config_setting_name(s));
		return -1;
	}
	v = config_setting_get_int64(s);
	if (v < (long long)min || v > (long long)max) {
		perr(ctx, sline(s), "%s must be between %u and %u (not %lld)",
		     config_setting_name(s), min, max, v);
		return -1;
	}
	*value_r = (unsigned int)v;
	return 0;
}

static int get_duration(struct parse_ctx *ctx, const config_setting_t *s,
			unsigned int *secs_r)
{
	const char *v = get_string(ctx, s);

	if (v == NULL)
		return -1;
	if (parse_duration(v, secs_r) < 0) {
		perr(ctx, sline(s), "%s: bad duration '%s' (e.g. 30s, 15m, "
		     "8h, 90d, 2h30m)", config_setting_name(s), v);
		return -1;
	}
	return 0;
}

static int get_bool(struct parse_ctx *ctx, const config_setting_t *s,
		    bool *value_r)
{
	if (!is_type(s, CONFIG_TYPE_BOOL)) {
		perr(ctx, sline(s), "%s must be true or false",
		     config_setting_name(s));
		return -1;
	}
	*value_r = config_setting_get_bool(s) != 0;
	return 0;
}

/* An array (or list) of non-empty strings. */
static int
get_string_array(struct parse_ctx *ctx, const config_setting_t *s,
		 ARRAY_TYPE(const_string) *dest)
{
	unsigned int i, count;
	int ret = 0;

	if (!is_type(s, CONFIG_TYPE_ARRAY) && !is_type(s, CONFIG_TYPE_LIST)) {
		perr(ctx, sline(s), "%s must be a list of strings, "
		     "e.g. [ \"a\", \"b\" ]", config_setting_name(s));
		return -1;
	}
	count = config_setting_length(s);
	p_array_init(dest, ctx->policy->pool, count + 1);
	for (i = 0; i < count; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		const char *v;

		if (!is_type(e, CONFIG_TYPE_STRING) ||
		    (v = config_setting_get_string(e))[0] == '\0') {
			perr(ctx, sline(s), "%s: element %u must be a "
			     "non-empty string", config_setting_name(s), i + 1);
			ret = -1;
			continue;
		}
		v = p_strdup(ctx->policy->pool, v);
		array_push_back(dest, &v);
	}
	return ret;
}

typedef void parse_key_func_t(struct parse_ctx *ctx,
			      const config_setting_t *s, void *context);
struct schema_key {
	const char *name;
	parse_key_func_t *func;
};

/* Walk a group, dispatching every member to its key's parser; unknown
   keys are errors. */
static void
parse_group(struct parse_ctx *ctx, const config_setting_t *group,
	    const char *what, const struct schema_key *keys, void *context)
{
	unsigned int i, j, count;

	if (!is_type(group, CONFIG_TYPE_GROUP)) {
		perr(ctx, sline(group), "%s must be a group { ... }", what);
		return;
	}
	count = config_setting_length(group);
	for (i = 0; i < count; i++) {
		const config_setting_t *s = config_setting_get_elem(group, i);
		const char *name = config_setting_name(s);

		for (j = 0; keys[j].name != NULL; j++) {
			if (strcmp(keys[j].name, name) == 0)
				break;
		}
		if (keys[j].name == NULL) {
			perr(ctx, sline(s), "unknown setting %s%s%s", what,
			     what[0] == '\0' ? "" : ".", name);
			continue;
		}
		keys[j].func(ctx, s, context);
	}
}

/* ---- top level blocks */

static void k_version(struct parse_ctx *ctx, const config_setting_t *s,
		      void *context ATTR_UNUSED)
{
	unsigned int v;

	if (get_uint(ctx, s, 1, 1, &v) == 0)
		ctx->policy->refcount = 1; /* marks "version seen" */
}

static void k_mode(struct parse_ctx *ctx, const config_setting_t *s,
		   void *context ATTR_UNUSED)
{
	const char *v = get_string(ctx, s);

	if (v == NULL)
		return;
	if (strcmp(v, "audit") == 0)
		ctx->policy->audit_mode = TRUE;
	else if (strcmp(v, "enforce") != 0)
		perr(ctx, sline(s), "mode must be \"enforce\" or \"audit\"");
}

static void t_issuer(struct parse_ctx *ctx, const config_setting_t *s,
		     void *context ATTR_UNUSED)
{
	const char *v = get_string(ctx, s);

	if (v != NULL && strchr(v, ':') != NULL)
		perr(ctx, sline(s), "totp.issuer must not contain ':'");
	else if (v != NULL)
		ctx->policy->totp.issuer = v;
}
static void t_digits(struct parse_ctx *ctx, const config_setting_t *s,
		     void *context ATTR_UNUSED)
{
	unsigned int v;

	if (get_uint(ctx, s, 6, 8, &v) < 0)
		return;
	if (v == 7)
		perr(ctx, sline(s), "totp.digits must be 6 or 8");
	else
		ctx->policy->totp.digits = v;
}
static void t_period(struct parse_ctx *ctx, const config_setting_t *s,
		     void *context ATTR_UNUSED)
{
	(void)get_uint(ctx, s, 10, 300, &ctx->policy->totp.period);
}
static void t_window(struct parse_ctx *ctx, const config_setting_t *s,
		     void *context ATTR_UNUSED)
{
	(void)get_uint(ctx, s, 0, 2, &ctx->policy->totp.window);
}
static void t_max_failures(struct parse_ctx *ctx, const config_setting_t *s,
			   void *context ATTR_UNUSED)
{
	(void)get_uint(ctx, s, 1, 100, &ctx->policy->totp.max_failures);
}
static void t_lockout(struct parse_ctx *ctx, const config_setting_t *s,
		      void *context ATTR_UNUSED)
{
	(void)get_duration(ctx, s, &ctx->policy->totp.lockout_secs);
}
static void t_reconnect(struct parse_ctx *ctx, const config_setting_t *s,
			void *context ATTR_UNUSED)
{
	(void)get_duration(ctx, s, &ctx->policy->totp.reconnect_secs);
}
static void t_reconnect_idle(struct parse_ctx *ctx, const config_setting_t *s,
			     void *context ATTR_UNUSED)
{
	(void)get_duration(ctx, s, &ctx->policy->totp.reconnect_idle_secs);
}
static void t_algorithm(struct parse_ctx *ctx, const config_setting_t *s,
			void *context ATTR_UNUSED)
{
	const char *v = get_string(ctx, s);

	if (v == NULL)
		return;
	if (strcmp(v, "SHA1") == 0)
		ctx->policy->totp.algorithm = STEPUP_TOTP_SHA1;
	else if (strcmp(v, "SHA256") == 0)
		ctx->policy->totp.algorithm = STEPUP_TOTP_SHA256;
	else if (strcmp(v, "SHA512") == 0)
		ctx->policy->totp.algorithm = STEPUP_TOTP_SHA512;
	else {
		perr(ctx, sline(s), "totp.algorithm must be \"SHA1\", "
		     "\"SHA256\" or \"SHA512\"");
	}
}

static const struct schema_key totp_keys[] = {
	{ "issuer", t_issuer }, { "digits", t_digits },
	{ "period", t_period }, { "window", t_window },
	{ "max_failures", t_max_failures }, { "lockout", t_lockout },
	{ "reconnect", t_reconnect }, { "reconnect_idle", t_reconnect_idle },
	{ "algorithm", t_algorithm },
	{ NULL, NULL }
};

static const char *get_abs_path(struct parse_ctx *ctx,
				const config_setting_t *s)
{
	const char *v = get_string(ctx, s);

	if (v != NULL && v[0] != '/') {
		perr(ctx, sline(s), "%s must be an absolute path",
		     config_setting_name(s));
		return NULL;
	}
	return v;
}

static void s_path(struct parse_ctx *ctx, const config_setting_t *s,
		   void *context ATTR_UNUSED)
{
	const char *v = get_abs_path(ctx, s);

	if (v != NULL)
		ctx->policy->state_path = v;
}
static void s_redis(struct parse_ctx *ctx, const config_setting_t *s,
		    void *context ATTR_UNUSED)
{
	const char *v = get_string(ctx, s);

	if (v != NULL)
		ctx->policy->state_redis = v;
}
static const struct schema_key state_keys[] = {
	{ "path", s_path }, { "redis", s_redis }, { NULL, NULL }
};

static void au_path(struct parse_ctx *ctx, const config_setting_t *s,
		    void *context ATTR_UNUSED)
{
	const char *v = get_abs_path(ctx, s);

	if (v != NULL)
		ctx->policy->audit_path = v;
}
static const struct schema_key audit_keys[] = {
	{ "path", au_path }, { NULL, NULL }
};

static void se_key_file(struct parse_ctx *ctx, const config_setting_t *s,
			void *context ATTR_UNUSED)
{
	const char *v = get_abs_path(ctx, s);

	if (v != NULL)
		ctx->policy->session_key_file = v;
}
static const struct schema_key session_keys[] = {
	{ "key_file", se_key_file }, { NULL, NULL }
};

static void ap_url(struct parse_ctx *ctx, const config_setting_t *s,
		   void *context ATTR_UNUSED)
{
	const char *v = get_string(ctx, s);

	if (v != NULL && !str_begins_with(v, "https://") &&
	    !str_begins_with(v, "http://127.0.0.1") &&
	    !str_begins_with(v, "http://[::1]") &&
	    !str_begins_with(v, "http://localhost")) {
		perr(ctx, sline(s), "approval.url must be https:// "
		     "(plain http only to the local host)");
		return;
	}
	ctx->policy->approval.url = v;
}
static void ap_key_file(struct parse_ctx *ctx, const config_setting_t *s,
			void *context ATTR_UNUSED)
{
	ctx->policy->approval.key_file = get_abs_path(ctx, s);
}
static void ap_ca_file(struct parse_ctx *ctx, const config_setting_t *s,
		       void *context ATTR_UNUSED)
{
	ctx->policy->approval.ca_file = get_abs_path(ctx, s);
}
static void ap_timeout(struct parse_ctx *ctx, const config_setting_t *s,
		       void *context ATTR_UNUSED)
{
	(void)get_duration(ctx, s, &ctx->policy->approval.timeout_secs);
}
static void ap_wait(struct parse_ctx *ctx, const config_setting_t *s,
		    void *context ATTR_UNUSED)
{
	(void)get_duration(ctx, s, &ctx->policy->approval.wait_secs);
}
static void ap_failmode(struct parse_ctx *ctx, const config_setting_t *s,
			void *context ATTR_UNUSED)
{
	const char *v = get_string(ctx, s);

	if (v == NULL)
		return;
	if (strcmp(v, "open") == 0)
		ctx->policy->approval.failmode_open = TRUE;
	else if (strcmp(v, "closed") != 0)
		perr(ctx, sline(s), "approval.failmode must be \"closed\" "
		     "or \"open\"");
}
static const struct schema_key approval_keys[] = {
	{ "url", ap_url }, { "key_file", ap_key_file },
	{ "ca_file", ap_ca_file }, { "timeout", ap_timeout },
	{ "wait", ap_wait }, { "failmode", ap_failmode }, { NULL, NULL }
};

static void k_totp(struct parse_ctx *ctx, const config_setting_t *s,
		   void *context ATTR_UNUSED)
{
	parse_group(ctx, s, "totp", totp_keys, NULL);
}
static void k_state(struct parse_ctx *ctx, const config_setting_t *s,
		    void *context ATTR_UNUSED)
{
	parse_group(ctx, s, "state", state_keys, NULL);
	if (ctx->policy->state_redis != NULL &&
	    ctx->policy->state_path != NULL)
		perr(ctx, sline(s), "state: path and redis exclude each other");
}
static void k_audit(struct parse_ctx *ctx, const config_setting_t *s,
		    void *context ATTR_UNUSED)
{
	parse_group(ctx, s, "audit", audit_keys, NULL);
}
static void k_session(struct parse_ctx *ctx, const config_setting_t *s,
		      void *context ATTR_UNUSED)
{
	parse_group(ctx, s, "session", session_keys, NULL);
}
static void k_approval(struct parse_ctx *ctx, const config_setting_t *s,
		       void *context ATTR_UNUSED)
{
	parse_group(ctx, s, "approval", approval_keys, NULL);
	if (ctx->policy->approval.url == NULL)
		perr(ctx, sline(s), "approval.url is missing");
	if (ctx->policy->approval.key_file == NULL)
		perr(ctx, sline(s), "approval.key_file is missing");
}

/* The named groups and networks are parsed before the rules that refer
   to them (see policy_parse_root). */
static void k_groups(struct parse_ctx *ctx, const config_setting_t *s,
		     void *context ATTR_UNUSED)
{
	unsigned int i, count;
	const char *const *member;

	if (!is_type(s, CONFIG_TYPE_GROUP)) {
		perr(ctx, sline(s), "groups must be a group { name = [ ... ]; }");
		return;
	}
	count = config_setting_length(s);
	for (i = 0; i < count; i++) {
		const config_setting_t *g = config_setting_get_elem(s, i);
		const char *gname = p_strdup(ctx->policy->pool,
					     config_setting_name(g));
		ARRAY_TYPE(const_string) members;

		if (get_string_array(ctx, g, &members) < 0)
			continue;
		/* "group\tuser" -> member; "group\t" marks the group */
		const char *gkey = p_strconcat(ctx->policy->pool, gname,
					       "\t", NULL);
		hash_table_insert(ctx->policy->members, gkey, POINTER_CAST(1));
		array_foreach(&members, member) {
			const char *key = p_strconcat(ctx->policy->pool, gname,
						      "\t", *member, NULL);
			hash_table_update(ctx->policy->members, key,
					  POINTER_CAST(1));
		}
	}
}

struct named_nets {
	pool_t pool;
	HASH_TABLE(const char *, ARRAY_TYPE(policy_net) *) names;
};

static int
parse_cidr(const char *str, struct policy_net *net_r)
{
	if (strchr(str, '/') == NULL) {
		if (net_addr2ip(str, &net_r->ip) < 0)
			return -1;
		net_r->bits = IPADDR_IS_V4(&net_r->ip) ? 32 : 128;
		return 0;
	}
	return net_parse_range(str, &net_r->ip, &net_r->bits);
}

static void k_networks(struct parse_ctx *ctx, const config_setting_t *s,
		       void *context)
{
	struct named_nets *nn = context;
	unsigned int i, count;
	const char *const *cidr;

	if (!is_type(s, CONFIG_TYPE_GROUP)) {
		perr(ctx, sline(s), "networks must be a group "
		     "{ name = [ \"10.0.0.0/8\", ... ]; }");
		return;
	}
	count = config_setting_length(s);
	for (i = 0; i < count; i++) {
		const config_setting_t *n = config_setting_get_elem(s, i);
		ARRAY_TYPE(const_string) cidrs;
		ARRAY_TYPE(policy_net) *nets;

		if (get_string_array(ctx, n, &cidrs) < 0)
			continue;
		nets = p_new(ctx->policy->pool, ARRAY_TYPE(policy_net), 1);
		p_array_init(nets, ctx->policy->pool, array_count(&cidrs) + 1);
		array_foreach(&cidrs, cidr) {
			struct policy_net net;

			if (parse_cidr(*cidr, &net) < 0) {
				perr(ctx, sline(n), "networks.%s: bad address "
				     "or CIDR '%s'", config_setting_name(n),
				     *cidr);
				continue;
			}
			array_push_back(nets, &net);
		}
		const char *nkey = p_strdup(ctx->policy->pool,
					    config_setting_name(n));
		hash_table_insert(nn->names, nkey, nets);
	}
}

/* ---- rule conditions */

struct rule_ctx {
	struct named_nets *nn;
	bool folder;
	bool have_require;
	const char *name;
	struct policy_login_rule *login;
	struct policy_folder_rule *frule;
	struct policy_cond *cond;
	unsigned int line;
};

static void c_users(struct parse_ctx *ctx, const config_setting_t *s,
		    void *context)
{
	struct rule_ctx *rc = context;
	ARRAY_TYPE(const_string) users;
	const char *const *u;

	if (get_string_array(ctx, s, &users) < 0)
		return;
	p_array_init(&rc->cond->users, ctx->policy->pool, 4);
	p_array_init(&rc->cond->groups, ctx->policy->pool, 4);
	array_foreach(&users, u) {
		if ((*u)[0] == '@') {
			const char *g = *u + 1;

			if (hash_table_lookup(ctx->policy->members,
					      t_strconcat(g, "\t", NULL)) == NULL) {
				perr(ctx, sline(s), "unknown group '%s'", g);
				continue;
			}
			array_push_back(&rc->cond->groups, &g);
		} else {
			array_push_back(&rc->cond->users, u);
		}
	}
}

static void c_networks(struct parse_ctx *ctx, const config_setting_t *s,
		       void *context)
{
	struct rule_ctx *rc = context;
	ARRAY_TYPE(const_string) names;
	ARRAY_TYPE(policy_net) *named;
	const char *const *n;
	struct policy_net net;

	if (get_string_array(ctx, s, &names) < 0)
		return;
	rc->cond->have_nets = TRUE;
	p_array_init(&rc->cond->nets, ctx->policy->pool, 4);
	array_foreach(&names, n) {
		named = hash_table_lookup(rc->nn->names, *n);
		if (named != NULL)
			array_append_array(&rc->cond->nets, named);
		else if (parse_cidr(*n, &net) == 0)
			array_push_back(&rc->cond->nets, &net);
		else if (strpbrk(*n, "./:") != NULL)
			perr(ctx, sline(s), "bad address or CIDR '%s'", *n);
		else
			perr(ctx, sline(s), "unknown network '%s'", *n);
	}
}

static void c_protocols(struct parse_ctx *ctx, const config_setting_t *s,
			void *context)
{
	static const char *const known[] = {
		"imap", "pop3", "sieve", "submission", "lmtp", "doveadm", NULL
	};
	struct rule_ctx *rc = context;
	const char *const *p;

	if (get_string_array(ctx, s, &rc->cond->protocols) < 0)
		return;
	array_foreach(&rc->cond->protocols, p) {
		if (!str_array_find(known, *p))
			perr(ctx, sline(s), "unknown protocol '%s' (imap, "
			     "pop3, sieve, submission)", *p);
	}
}

static int parse_hhmm(const char *p, unsigned int *mins_r)
{
	if (!i_isdigit(p[0]) || !i_isdigit(p[1]) || p[2] != ':' ||
	    !i_isdigit(p[3]) || !i_isdigit(p[4]))
		return -1;
	*mins_r = ((p[0] - '0') * 10 + (p[1] - '0')) * 60 +
		(p[3] - '0') * 10 + (p[4] - '0');
	return *mins_r <= 24 * 60 && (p[3] - '0') < 6 ? 0 : -1;
}

static void c_hours(struct parse_ctx *ctx, const config_setting_t *s,
		    void *context)
{
	struct rule_ctx *rc = context;
	const char *v = get_string(ctx, s);

	if (v == NULL)
		return;
	if (strlen(v) != 11 || v[5] != '-' ||
	    parse_hhmm(v, &rc->cond->hours_from) < 0 ||
	    parse_hhmm(v + 6, &rc->cond->hours_to) < 0 ||
	    rc->cond->hours_from == rc->cond->hours_to) {
		perr(ctx, sline(s), "hours must be \"HH:MM-HH:MM\" (local "
		     "time; may wrap past midnight), not '%s'", v);
		return;
	}
	rc->cond->have_hours = TRUE;
}

static void c_days(struct parse_ctx *ctx, const config_setting_t *s,
		   void *context)
{
	static const char *const names[] = {
		"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
	};
	struct rule_ctx *rc = context;
	ARRAY_TYPE(const_string) days;
	const char *const *d;
	unsigned int i;

	if (get_string_array(ctx, s, &days) < 0)
		return;
	array_foreach(&days, d) {
		for (i = 0; names[i] != NULL; i++) {
			if (strcmp(names[i], *d) == 0)
				break;
		}
		if (names[i] == NULL) {
			perr(ctx, sline(s), "unknown day '%s' (sun, mon, tue, "
			     "wed, thu, fri, sat)", *d);
		} else {
			rc->cond->days_mask |= 1U << i;
		}
	}
}

static void c_auth(struct parse_ctx *ctx, const config_setting_t *s,
		   void *context)
{
	struct rule_ctx *rc = context;
	ARRAY_TYPE(const_string) levels;
	const char *const *l;
	enum stepup_auth_level level;

	if (!rc->folder) {
		perr(ctx, sline(s), "auth is a condition of folder rules only");
		return;
	}
	if (get_string_array(ctx, s, &levels) < 0)
		return;
	array_foreach(&levels, l) {
		if (stepup_auth_level_parse(*l, &level) < 0)
			perr(ctx, sline(s), "unknown auth level '%s' "
			     "(password, app, totp)", *l);
		else
			rc->cond->auth_mask |= 1U << level;
	}
}

static void r_name(struct parse_ctx *ctx, const config_setting_t *s,
		   void *context)
{
	struct rule_ctx *rc = context;

	rc->name = get_string(ctx, s);
}

static void r_require(struct parse_ctx *ctx, const config_setting_t *s,
		      void *context)
{
	static const char *const login_req[] = {
		"password", "totp", "deny", NULL
	};
	static const char *const folder_req[] = {
		"none", "deny", "totp", "approval", "totp_or_approval",
		"totp_and_approval", NULL
	};
	struct rule_ctx *rc = context;
	const char *const *names = rc->folder ? folder_req : login_req;
	const char *v = get_string(ctx, s);
	unsigned int i;

	/* present, even if wrong: no second error for "missing" */
	rc->have_require = TRUE;
	if (v == NULL)
		return;
	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], v) == 0)
			break;
	}
	if (names[i] == NULL) {
		perr(ctx, sline(s), "require must be one of %s, not '%s'",
		     t_strarray_join(names, ", "), v);
		return;
	}
	if (rc->folder)
		rc->frule->require = (enum stepup_folder_require)i;
	else
		rc->login->require = (enum stepup_login_require)i;
}

static void r_app_passwords(struct parse_ctx *ctx, const config_setting_t *s,
			    void *context)
{
	struct rule_ctx *rc = context;

	(void)get_bool(ctx, s, &rc->login->app_passwords);
}

static void r_enroll_by(struct parse_ctx *ctx, const config_setting_t *s,
			void *context)
{
	struct rule_ctx *rc = context;
	const char *v = get_string(ctx, s);

	if (v != NULL && parse_date(v, &rc->login->enroll_by) < 0)
		perr(ctx, sline(s), "enroll_by must be a date YYYY-MM-DD, "
		     "not '%s'", v);
}

static void r_mailbox(struct parse_ctx *ctx, const config_setting_t *s,
		      void *context)
{
	struct rule_ctx *rc = context;
	const char *v = get_string(ctx, s);

	if (v == NULL)
		return;
	if (v[0] == '/' || v[strlen(v) - 1] == '/' ||
	    strstr(v, "//") != NULL || (strchr(v, '*') != NULL &&
					strcmp(v, "*") != 0)) {
		perr(ctx, sline(s), "bad mailbox pattern '%s' (a folder name "
		     "with '/' between levels, or \"*\")", v);
		return;
	}
	rc->frule->mailbox = p_strdup(ctx->policy->pool,
		stepup_policy_normalize_mailbox(v, '/', "", TRUE));
}

static void r_max_age(struct parse_ctx *ctx, const config_setting_t *s,
		      void *context)
{
	struct rule_ctx *rc = context;

	(void)get_duration(ctx, s, &rc->frule->max_age);
}

static void r_grant(struct parse_ctx *ctx, const config_setting_t *s,
		    void *context)
{
	struct rule_ctx *rc = context;

	(void)get_duration(ctx, s, &rc->frule->grant);
}

static void fl_messages(struct parse_ctx *ctx, const config_setting_t *s,
			void *context)
{
	struct rule_ctx *rc = context;

	(void)get_uint(ctx, s, 1, 1000000, &rc->frule->fetch_messages);
}
static void fl_window(struct parse_ctx *ctx, const config_setting_t *s,
		      void *context)
{
	struct rule_ctx *rc = context;

	(void)get_duration(ctx, s, &rc->frule->fetch_window);
}
static const struct schema_key fetch_limit_keys[] = {
	{ "messages", fl_messages }, { "window", fl_window }, { NULL, NULL }
};
static void r_fetch_limit(struct parse_ctx *ctx, const config_setting_t *s,
			  void *context)
{
	struct rule_ctx *rc = context;

	parse_group(ctx, s, "fetch_limit", fetch_limit_keys, context);
	if (rc->frule->fetch_messages == 0 || rc->frule->fetch_window == 0)
		perr(ctx, sline(s), "fetch_limit needs messages and window");
}

static const struct schema_key login_rule_keys[] = {
	{ "name", r_name }, { "users", c_users }, { "networks", c_networks },
	{ "protocols", c_protocols }, { "hours", c_hours }, { "days", c_days },
	{ "auth", c_auth }, { "require", r_require },
	{ "app_passwords", r_app_passwords }, { "enroll_by", r_enroll_by },
	{ NULL, NULL }
};

static const struct schema_key folder_rule_keys[] = {
	{ "name", r_name }, { "users", c_users }, { "networks", c_networks },
	{ "protocols", c_protocols }, { "hours", c_hours }, { "days", c_days },
	{ "auth", c_auth }, { "require", r_require },
	{ "mailbox", r_mailbox }, { "max_age", r_max_age },
	{ "grant", r_grant }, { "fetch_limit", r_fetch_limit },
	{ NULL, NULL }
};

static bool name_seen(const ARRAY_TYPE(const_string) *names, const char *name)
{
	const char *const *n;

	array_foreach(names, n) {
		if (strcmp(*n, name) == 0)
			return TRUE;
	}
	return FALSE;
}

static void
parse_rules(struct parse_ctx *ctx, const config_setting_t *s,
	    struct named_nets *nn, bool folder)
{
	const char *what = folder ? "folders" : "login";
	ARRAY_TYPE(const_string) names;
	unsigned int i, count;

	if (!is_type(s, CONFIG_TYPE_LIST)) {
		perr(ctx, sline(s), "%s must be a list of rules ( { ... }, "
		     "{ ... } )", what);
		return;
	}
	count = config_setting_length(s);
	t_array_init(&names, count + 1);
	for (i = 0; i < count; i++) {
		const config_setting_t *r = config_setting_get_elem(s, i);
		struct rule_ctx rc;
		struct policy_login_rule lrule;
		struct policy_folder_rule frule;

		i_zero(&rc);
		i_zero(&lrule);
		i_zero(&frule);
		rc.nn = nn;
		rc.folder = folder;
		rc.login = &lrule;
		rc.frule = &frule;
		rc.cond = folder ? &frule.cond : &lrule.cond;
		lrule.app_passwords = TRUE;
		parse_group(ctx, r, what, folder ? folder_rule_keys :
			    login_rule_keys, &rc);
		if (!is_type(r, CONFIG_TYPE_GROUP))
			continue;
		if (rc.name == NULL) {
			perr(ctx, sline(r), "%s rule %u has no name", what,
			     i + 1);
		} else if (name_seen(&names, rc.name)) {
			perr(ctx, sline(r), "duplicate %s rule name '%s'",
			     what, rc.name);
		} else {
			array_push_back(&names, &rc.name);
		}
		if (!rc.have_require)
			perr(ctx, sline(r), "%s rule '%s' has no require", what,
			     rc.name == NULL ? "?" : rc.name);
		if (folder && frule.mailbox == NULL)
			perr(ctx, sline(r), "folder rule '%s' has no mailbox",
			     rc.name == NULL ? "?" : rc.name);
		if (!folder && lrule.enroll_by != 0 &&
		    lrule.require != STEPUP_LOGIN_TOTP)
			perr(ctx, sline(r), "enroll_by only applies to rules "
			     "with require = \"totp\"");
		if (folder && frule.require >= STEPUP_FOLDER_APPROVAL &&
		    ctx->policy->approval.url == NULL)
			perr(ctx, sline(r), "folder rule '%s' requires an "
			     "approval but there is no approval block",
			     rc.name == NULL ? "?" : rc.name);
		if (folder && frule.grant != 0 &&
		    frule.require < STEPUP_FOLDER_APPROVAL)
			perr(ctx, sline(r), "grant only applies to rules that "
			     "require an approval");
		if (folder && frule.max_age != 0 &&
		    (frule.require == STEPUP_FOLDER_NONE ||
		     frule.require == STEPUP_FOLDER_DENY ||
		     frule.require == STEPUP_FOLDER_APPROVAL))
			perr(ctx, sline(r), "max_age only applies to rules "
			     "that require totp");
		lrule.name = frule.name = rc.name;
		if (folder)
			array_push_back(&ctx->policy->folders, &frule);
		else
			array_push_back(&ctx->policy->login, &lrule);
	}
}

static const config_setting_t *
find_member(const config_setting_t *root, const char *name)
{
	return config_setting_get_member(root, name);
}

static void parse_root(struct parse_ctx *ctx, const config_setting_t *root)
{
	static const char *const order[] = {
		/* what rules refer to comes first */
		"version", "mode", "totp", "state", "audit", "approval",
		"groups", "networks", "login", "folders", "session", NULL
	};
	struct named_nets nn;
	unsigned int i, count;

	i_zero(&nn);
	hash_table_create(&nn.names, pool_datastack_create(), 0, str_hash,
			  strcmp);
	count = config_setting_length(root);
	for (i = 0; i < count; i++) {
		const config_setting_t *s = config_setting_get_elem(root, i);

		if (!str_array_find(order, config_setting_name(s)))
			perr(ctx, sline(s), "unknown setting %s",
			     config_setting_name(s));
	}
	for (i = 0; order[i] != NULL; i++) {
		const config_setting_t *s = find_member(root, order[i]);

		if (s == NULL)
			continue;
		switch (i) {
		case 0: k_version(ctx, s, NULL); break;
		case 1: k_mode(ctx, s, NULL); break;
		case 2: k_totp(ctx, s, NULL); break;
		case 3: k_state(ctx, s, NULL); break;
		case 4: k_audit(ctx, s, NULL); break;
		case 5: k_approval(ctx, s, NULL); break;
		case 6: k_groups(ctx, s, NULL); break;
		case 7: k_networks(ctx, s, &nn); break;
		case 8: parse_rules(ctx, s, &nn, FALSE); break;
		case 9: parse_rules(ctx, s, &nn, TRUE); break;
		case 10: k_session(ctx, s, NULL); break;
		}
	}
	if (ctx->policy->refcount == 0)
		perr(ctx, 1, "version = 1; is missing");
	if (find_member(root, "login") == NULL)
		perr(ctx, 1, "login rules are missing");
	if (ctx->policy->totp.reconnect_secs > 0 &&
	    ctx->policy->totp.reconnect_idle_secs == 0)
		perr(ctx, 1, "totp.reconnect_idle must not be 0");
	hash_table_destroy(&nn.names);
}

static unsigned int error_line(const char *name, const char *error)
{
	unsigned int line = 0;

	const char *end;

	if (str_begins_with(error, name) && error[strlen(name)] == ':' &&
	    str_parse_uint(error + strlen(name) + 1, &line, &end) < 0)
		line = 0;
	return line;
}

static const char *sort_name;
static int cmp_error_line(const char *const *a, const char *const *b)
{
	unsigned int la = error_line(sort_name, *a);
	unsigned int lb = error_line(sort_name, *b);

	/* stable enough: equal lines keep the order of the schema walk */
	return la < lb ? -1 : la > lb ? 1 : (*a < *b ? -1 : *a > *b);
}

/* Errors in the order of the file's lines. */
static const char *sort_errors(const char *name, const char *errors)
{
	ARRAY_TYPE(const_string) lines;
	const char *const *l;

	t_array_init(&lines, 16);
	for (l = t_strsplit(errors, "\n"); *l != NULL; l++)
		array_push_back(&lines, l);
	sort_name = name;
	array_sort(&lines, cmp_error_line);
	array_append_zero(&lines);
	return t_strarray_join(array_front(&lines), "\n");
}

int stepup_policy_parse_buffer(const char *name, const void *data,
			       size_t size, struct stepup_policy **policy_r,
			       const char **error_r)
{
	struct parse_ctx ctx;
	struct stepup_policy *policy;
	config_t config;
	pool_t pool;
	int ret = 0;

	pool = pool_alloconly_create("stepup policy", 4096);
	policy = p_new(pool, struct stepup_policy, 1);
	policy->pool = pool;
	policy->path = p_strdup(pool, name);
	stepup_totp_settings_defaults(&policy->totp);
	policy->state_path = NULL;
	policy->approval.timeout_secs = 5;
	policy->approval.wait_secs = 30;
	hash_table_create(&policy->members, pool, 0, str_hash, strcmp);
	p_array_init(&policy->login, pool, 8);
	p_array_init(&policy->folders, pool, 8);

	i_zero(&ctx);
	ctx.name = name;
	ctx.policy = policy;
	ctx.errors = t_str_new(256);

	if (memchr(data, '\0', size) != NULL)
		perr(&ctx, 1, "the file contains a NUL byte");
	else
		prescan(&ctx, data, size);
	if (ctx.error_count == 0) {
		config_init(&config);
		if (config_read_string(&config, t_strndup(data, size)) !=
		    CONFIG_TRUE) {
			perr(&ctx, config_error_line(&config), "%s",
			     config_error_text(&config));
		} else {
			parse_root(&ctx, config_root_setting(&config));
		}
		config_destroy(&config);
	}
	if (policy->state_path == NULL && policy->state_redis == NULL)
		policy->state_path = "/var/lib/dovecot/stepup";
	if (policy->session_key_file == NULL)
		policy->session_key_file = "/etc/dovecot/stepup-session.key";

	if (ctx.error_count > 0) {
		*error_r = sort_errors(name, str_c(ctx.errors));
		hash_table_destroy(&policy->members);
		pool_unref(&pool);
		ret = -1;
	} else {
		policy_compile(policy);
		policy->refcount = 1;
		*policy_r = policy;
	}
	return ret;
}

void stepup_policy_ref(struct stepup_policy *policy)
{
	i_assert(policy->refcount > 0);
	policy->refcount++;
}

void stepup_policy_unref(struct stepup_policy **_policy)
{
	struct stepup_policy *policy = *_policy;

	if (policy == NULL)
		return;
	*_policy = NULL;
	i_assert(policy->refcount > 0);
	if (--policy->refcount > 0)
		return;
	policy_compile_free(policy);
	hash_table_destroy(&policy->members);
	pool_unref(&policy->pool);
}
