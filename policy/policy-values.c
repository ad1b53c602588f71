/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Value parsers, and the step that stores a value of a key without its
   own function by its type (policy-schema.h). */

#include "lib.h"
#include "policy-schema.h"

#include <ctype.h>
#include <stdio.h>
#include <time.h>

#define POLICY_DURATION_MAX (10UL * 365 * 86400)

/* durations: "30s", "15m", "8h", "90d", "2h30m"; a bare number is
   seconds. */
int policy_parse_duration(const char *str, unsigned int *secs_r)
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
			if (n > POLICY_DURATION_MAX)
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
		if (total > POLICY_DURATION_MAX)
			return -1;
	}
	*secs_r = (unsigned int)total;
	return 0;
}

/* "YYYY-MM-DD": the date is valid through its last second (UTC). */
int policy_parse_date(const char *str, time_t *end_r)
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

/* "HH:MM" -> minutes since midnight; "24:00" is the end of the day. */
int policy_parse_hhmm(const char *p, unsigned int *mins_r)
{
	if (!i_isdigit(p[0]) || !i_isdigit(p[1]) || p[2] != ':' ||
	    !i_isdigit(p[3]) || !i_isdigit(p[4]))
		return -1;
	*mins_r = ((p[0] - '0') * 10 + (p[1] - '0')) * 60 +
		(p[3] - '0') * 10 + (p[4] - '0');
	return *mins_r <= 24 * 60 && (p[3] - '0') < 6 ? 0 : -1;
}

/* "10.0.0.0/8", "2001:db8::/32" or a single address */
int policy_parse_cidr(const char *str, struct policy_net *net_r)
{
	if (strchr(str, '/') == NULL) {
		if (net_addr2ip(str, &net_r->ip) < 0)
			return -1;
		net_r->bits = IPADDR_IS_V4(&net_r->ip) ? 32 : 128;
		return 0;
	}
	return net_parse_range(str, &net_r->ip, &net_r->bits);
}

/* What the type says beyond what the adapter checked (a path is
   absolute, an integer in range, a duration well formed). */
static int
value_check(struct policy_parser *p, const struct policy_key *key,
	    struct policy_value *v)
{
	switch (key->type) {
	case POLICY_KEY_PATH:
		if (v->str[0] != '/') {
			policy_error(p, v->line, "%s must be an absolute path",
				     v->key);
			return -1;
		}
		break;
	case POLICY_KEY_UINT:
		if (v->num < (long long)key->min ||
		    v->num > (long long)key->max) {
			policy_error(p, v->line, "%s must be between %u and "
				     "%u (not %lld)", v->key, key->min,
				     key->max, v->num);
			return -1;
		}
		v->uint = (unsigned int)v->num;
		break;
	case POLICY_KEY_DURATION:
		if (policy_parse_duration(v->str, &v->uint) < 0) {
			policy_error(p, v->line, "%s: bad duration '%s' (e.g. "
				     "30s, 15m, 8h, 90d, 2h30m)", v->key,
				     v->str);
			return -1;
		}
		break;
	default:
		break;
	}
	return 0;
}

void policy_value_set(struct policy_parser *p, const struct policy_key *key,
		      struct policy_value *v, void *context)
{
	void *dest = PTR_OFFSET(context, key->offset);

	if (value_check(p, key, v) < 0)
		return;
	if (key->func != NULL) {
		key->func(p, v, context);
		return;
	}
	switch (key->type) {
	case POLICY_KEY_STRING:
	case POLICY_KEY_PATH:
		*(const char **)dest = v->str;
		break;
	case POLICY_KEY_UINT:
	case POLICY_KEY_DURATION:
		*(unsigned int *)dest = v->uint;
		break;
	case POLICY_KEY_BOOL:
		*(bool *)dest = v->boolean;
		break;
	case POLICY_KEY_STRINGS:
		*(ARRAY_TYPE(const_string) *)dest = v->strings;
		break;
	case POLICY_KEY_ANY:
	case POLICY_KEY_BLOCK:
	case POLICY_KEY_MAP:
	case POLICY_KEY_RULES:
		i_unreached();
	}
}
