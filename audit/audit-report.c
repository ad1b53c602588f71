/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "audit-json.h"
#include "audit-report.h"

#include <time.h>

static const char **
entry_field(struct stepup_audit_entry *entry, const char *key)
{
	unsigned int i;

	if (strcmp(key, "ts") == 0)
		return &entry->ts;
	for (i = 0; i < STEPUP_AUDIT_FIELD_COUNT; i++) {
		if (strcmp(key, stepup_audit_fields[i].name) == 0) {
			return stepup_audit_field_ptr(&entry->rec,
						      &stepup_audit_fields[i]);
		}
	}
	if (strcmp(key, "message_id") == 0)
		return &entry->rec.message_id;
	if (strcmp(key, "by") == 0)
		return &entry->rec.by;
	if (strcmp(key, "uids") == 0)
		return &entry->rec.uids;
	return NULL;	/* prev, hash, and the numbers below */
}

/* the numbers of read records (uid, count, size); a value that is not
   one leaves them 0 */
static bool entry_number(struct stepup_audit_entry *entry, const char *key,
			 const char *value)
{
	struct stepup_audit_record *rec = &entry->rec;

	if (strcmp(key, "uid") == 0) {
		if (str_to_uint32(value, &rec->uid) < 0)
			rec->uid = 0;
	} else if (strcmp(key, "count") == 0) {
		if (str_to_uint(value, &rec->count) < 0)
			rec->count = 0;
	} else if (strcmp(key, "size") == 0) {
		if (str_to_uoff(value, &rec->size) < 0)
			rec->size = 0;
	} else {
		return FALSE;
	}
	return TRUE;
}

static void entry_member(void *context, const char *key, const char *value)
{
	const char **dest = entry_field(context, key);

	if (value == NULL)
		return;
	if (dest != NULL)
		*dest = t_strdup(value);
	else
		(void)entry_number(context, key, value);
}

int stepup_audit_parse_entry(const char *line,
			     struct stepup_audit_entry *entry_r,
			     const char **error_r)
{
	const char *error;
	int ret;

	i_zero(entry_r);
	ret = stepup_audit_json_members(line, entry_member, entry_r, &error);
	if (ret == -2) {
		*error_r = t_strdup_printf("not a record: %s", error);
		return -1;
	}
	if (ret < 0) {
		*error_r = "not a record: values must be strings, numbers "
			"or null";
		return -1;
	}
	if (entry_r->ts == NULL || entry_r->rec.event == NULL) {
		*error_r = "not a record: no ts or event";
		return -1;
	}
	return 0;
}

/* the writer's format, so that strings compare in time order */
static const char *format_ts(time_t t)
{
	struct tm *tm = gmtime(&t);
	char buf[32];

	if (tm == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000Z", tm) == 0)
		return NULL;
	return t_strdup(buf);
}

/* the digits of value[pos..pos+len), or -1 */
static int fixed_digits(const char *value, unsigned int pos, unsigned int len)
{
	unsigned int i;
	int n = 0;

	for (i = pos; i < pos + len; i++) {
		if (value[i] < '0' || value[i] > '9')
			return -1;
		n = n * 10 + (value[i] - '0');
	}
	return n;
}

static int parse_duration(const char *value, time_t now, const char **ts_r)
{
	size_t len = strlen(value);
	unsigned int n, mult;
	char unit = len == 0 ? '\0' : value[len - 1];

	mult = unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
	if (mult == 0 || len < 2 || len > 7 ||
	    str_to_uint(t_strndup(value, len - 1), &n) < 0 || n == 0)
		return -1;
	*ts_r = format_ts(now - (time_t)n * mult);
	return *ts_r == NULL ? -1 : 0;
}

/* -1 if not a valid date (2026-02-30) */
static time_t utc_time(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm;
	time_t t;

	i_zero(&tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = timegm(&tm);
	return tm.tm_mday != d ? (time_t)-1 : t;
}

time_t stepup_audit_ts_parse(const char *ts)
{
	int y, mo, d, h, mi, s;

	if (ts == NULL || strlen(ts) < 20 || ts[4] != '-' || ts[7] != '-' ||
	    ts[10] != 'T' || ts[13] != ':' || ts[16] != ':')
		return -1;
	y = fixed_digits(ts, 0, 4);
	mo = fixed_digits(ts, 5, 2);
	d = fixed_digits(ts, 8, 2);
	h = fixed_digits(ts, 11, 2);
	mi = fixed_digits(ts, 14, 2);
	s = fixed_digits(ts, 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 ||
	    h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60)
		return -1;
	return utc_time(y, mo, d, h, mi, s);
}

int stepup_audit_parse_since(const char *value, time_t now,
			     const char **ts_r, const char **error_r)
{
	size_t len = strlen(value);
	int y, mo, d, h = 0, mi = 0, s = 0;
	time_t t;

	if (parse_duration(value, now, ts_r) == 0)
		return 0;
	y = len >= 10 && value[4] == '-' && value[7] == '-' ?
		fixed_digits(value, 0, 4) : -1;
	mo = y < 0 ? -1 : fixed_digits(value, 5, 2);
	d = y < 0 ? -1 : fixed_digits(value, 8, 2);
	if (y >= 0 && len == 20 && value[10] == 'T' && value[13] == ':' &&
	    value[16] == ':' && value[19] == 'Z') {
		h = fixed_digits(value, 11, 2);
		mi = fixed_digits(value, 14, 2);
		s = fixed_digits(value, 17, 2);
	} else if (len != 10) {
		y = -1;
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 ||
	    h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) {
		*error_r = "--since: a date (2026-11-25), a UTC time "
			"(2026-11-25T08:00:00Z) or a duration (90m, 24h, 7d)";
		return -1;
	}
	t = utc_time(y, mo, d, h, mi, s);
	if (t == (time_t)-1) {	/* 2026-02-30 */
		*error_r = t_strdup_printf("--since: not a valid date: %s",
					   value);
		return -1;
	}
	*ts_r = format_ts(t);
	return 0;
}

bool stepup_audit_filter_match(const struct stepup_audit_filter *filter,
			       const struct stepup_audit_entry *entry)
{
	const struct stepup_audit_record *rec = &entry->rec;
	size_t len;

	if (filter->since != NULL && strcmp(entry->ts, filter->since) < 0)
		return FALSE;
	if (filter->event != NULL && null_strcmp(rec->event, filter->event) != 0 &&
	    (filter->also_event == NULL ||
	     null_strcmp(rec->event, filter->also_event) != 0))
		return FALSE;
	if (filter->user != NULL && null_strcmp(rec->user, filter->user) != 0)
		return FALSE;
	if (filter->mailbox != NULL) {
		len = strlen(filter->mailbox);
		if (rec->mailbox == NULL ||
		    strncmp(rec->mailbox, filter->mailbox, len) != 0 ||
		    (rec->mailbox[len] != '\0' && rec->mailbox[len] != '/'))
			return FALSE;
	}
	return TRUE;
}
