#ifndef READ_AGGREGATE_H
#define READ_AGGREGATE_H

#include "stepup-audit.h"

/* Message reads (event "read"), kept by the stepup-audit service for
   every mail process on the host. The first reads_per_session reads of a
   session are records of their own (uid, message_id, size); past that a
   session's reads are aggregated per folder per minute: one record with
   count, size (bytes) and uids (ranges, "1:500,502"), so a session that
   downloads 100k messages costs a bounded number of records and still
   shows exactly which UIDs it took. */

struct stepup_read_agg;

/* Write one record; -1 with error_r if it was not written. */
typedef int stepup_read_agg_write_t(const struct stepup_audit_record *rec,
				    void *context, const char **error_r);

/* at most this many sessions counted at once: reads of a session beyond
   it are records of their own (more records, never fewer) */
#define STEPUP_READ_AGG_MAX_SESSIONS 100000
/* a session not read from for this long is forgotten */
#define STEPUP_READ_AGG_SESSION_IDLE_SECS (60 * 60)
/* an aggregate is written early once its UIDs need this many ranges, so
   every record stays short */
#define STEPUP_READ_AGG_MAX_RANGES 500

struct stepup_read_agg *
stepup_read_agg_init(unsigned int max_sessions,
		     stepup_read_agg_write_t *write, void *context);
/* Writes every aggregate still open. */
void stepup_read_agg_deinit(struct stepup_read_agg **agg);

/* One message body read (rec: event "read", uid, message_id, size),
   sent by owner (the service's connection to a mail process). Written
   now, or added to its folder's aggregate of this minute. -1 if a record
   could not be written. */
int stepup_read_agg_add(struct stepup_read_agg *agg,
			const struct stepup_audit_record *rec,
			unsigned int reads_per_session, time_t now,
			void *owner, const char **error_r);
/* owner is gone (the mail process ended): write its sessions'
   aggregates now and forget them. -1 if a record was not written. */
int stepup_read_agg_flush_owner(struct stepup_read_agg *agg, void *owner,
				const char **error_r);

/* Write the aggregates of minutes that have ended (all of them if all),
   forget idle sessions. Returns the number of sessions kept, -1 if a
   record could not be written (the others are still written). */
int stepup_read_agg_flush(struct stepup_read_agg *agg, time_t now, bool all,
			  const char **error_r);

#endif
