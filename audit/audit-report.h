#ifndef AUDIT_REPORT_H
#define AUDIT_REPORT_H

#include "stepup-audit.h"

/* Reading the audit log back: one record per line, for "stepup audit
   report" (who opened what, when, how authenticated). */

struct stepup_audit_entry {
	const char *ts;		/* as written: 2026-11-25T02:40:00.123Z */
	struct stepup_audit_record rec;
};

struct stepup_audit_filter {
	const char *since;	/* a ts; records at or after it */
	const char *user;
	const char *mailbox;	/* the folder and the folders below it */
	const char *event;	/* NULL = every event */
	/* a second event that matches too (NULL: none) */
	const char *also_event;
};

/* Parse one line of the log; strings are allocated from the data stack.
   -1 with error_r if it is not a record. */
int stepup_audit_parse_entry(const char *line,
			     struct stepup_audit_entry *entry_r,
			     const char **error_r);

/* --since: a date (2026-11-25), a UTC time (2026-11-25T08:00:00Z) or a
   duration back from now (90m, 24h, 7d) into a ts to compare with. */
int stepup_audit_parse_since(const char *value, time_t now,
			     const char **ts_r, const char **error_r);

/* seconds since the epoch of a record's ts, -1 if it is not one */
time_t stepup_audit_ts_parse(const char *ts);

bool stepup_audit_filter_match(const struct stepup_audit_filter *filter,
			       const struct stepup_audit_entry *entry);

#endif
