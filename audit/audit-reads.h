#ifndef AUDIT_READS_H
#define AUDIT_READS_H

#include "audit-report.h"

/* "stepup audit report --reads": who read what, per session: its login
   (address, service, auth level, time), the folders it opened and the
   messages it read (UID, Message-ID), read back from the log once.
   Memory grows with the sessions that match the filter, not with the
   log. */

struct stepup_reads_message {
	const char *ts, *mailbox, *message_id, *how;
	uint32_t uid;		/* 0 for an aggregate */
	const char *uids;	/* an aggregate's UIDs */
	unsigned int count;	/* 1, or an aggregate's count */
	uoff_t size;
};
ARRAY_DEFINE_TYPE(stepup_reads_message, struct stepup_reads_message);

struct stepup_reads_folder {
	const char *mailbox;
	bool opened;
	unsigned int messages;
};
ARRAY_DEFINE_TYPE(stepup_reads_folder, struct stepup_reads_folder);

struct stepup_reads_session {
	const char *user, *session, *ip, *service, *auth, *login_ts;
	ARRAY_TYPE(stepup_reads_folder) folders;
	ARRAY_TYPE(stepup_reads_message) messages;
	unsigned int message_count;
	uoff_t bytes;
};

struct stepup_reads_report *
stepup_reads_report_init(const struct stepup_audit_filter *filter);
void stepup_reads_report_deinit(struct stepup_reads_report **report);

void stepup_reads_report_add(struct stepup_reads_report *report,
			     const struct stepup_audit_entry *entry);

/* The sessions that opened or read something the filter matches, in the
   order of their first such record. */
const struct stepup_reads_session *const *
stepup_reads_report_sessions(struct stepup_reads_report *report,
			     unsigned int *count_r);

#endif
