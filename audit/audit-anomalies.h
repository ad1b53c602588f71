#ifndef AUDIT_ANOMALIES_H
#define AUDIT_ANOMALIES_H

#include "stepup-policy.h"
#include "audit-report.h"

/* "stepup audit anomalies": what looks like an intrusion, from the log
   alone, read once in time order (doc/audit.md "Anomalies"):
   new_address   a login from an address (network) the user did not log
                 in from in the last new_address_days (users with no
                 login before have no baseline and are not flagged)
   bulk_read     a session read more than bulk_messages messages or
                 bulk_mb MB from audited folders
   failed_codes  failed_codes_account wrong codes for one account, or
                 failed_codes_address from one address, within
                 failed_window
   unusual_hour  a login more than hours_margin hours away from every
                 hour the user logged in at before (once the user has
                 usual_hours_min_logins logins)
   two_addresses the same account active from two addresses at once
   Every finding names the records behind it ("FILE line N"). */

struct stepup_anomaly {
	const char *kind, *user, *ts, *ip, *session, *detail;
	/* "FILE line N", NULL-terminated */
	const char *const *records;
};

typedef void stepup_anomaly_callback_t(const struct stepup_anomaly *anomaly,
				       void *context);

struct stepup_anomalies *
stepup_anomalies_init(const struct stepup_anomaly_settings *set,
		      const char *since, stepup_anomaly_callback_t *callback,
		      void *context);
void stepup_anomalies_deinit(struct stepup_anomalies **anomalies);

/* One record of the log, at where ("FILE line N"). Findings (at or
   after since) go to the callback as they are found. */
void stepup_anomalies_add(struct stepup_anomalies *anomalies,
			  const struct stepup_audit_entry *entry,
			  const char *where);

#endif
