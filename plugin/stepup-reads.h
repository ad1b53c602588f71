#ifndef STEPUP_READS_H
#define STEPUP_READS_H

#include "stepup-audit.h"

struct mail;
struct stepup_audit_client;

/* Message reads of one session (SPEC "Audit log", event "read"): every
   message body read in a folder whose reads are audited goes to the
   stepup-audit service, once per message per session; the service writes
   it or aggregates it (audit/read-aggregate.h). */
struct stepup_reads *stepup_reads_init(void);
void stepup_reads_deinit(struct stepup_reads **reads);

/* Whether a message stream opened for reason (Dovecot's
   get_stream_reason) gives its body to someone: FALSE only for what the
   storage computes for itself (sizes, MIME parts, BODYSTRUCTURE,
   snippets, search), so a header-only FETCH that makes Dovecot parse a
   message is not a read. Anything else (FETCH BODY[], RFC822, POP3
   RETR/TOP, doveadm fetch) is. */
bool stepup_reads_stream_is_read(const char *reason);

/* A body of mail is about to be read (how: "body", "binary",
   "copy to INBOX" ...) from a folder of rule (NULL for audit.reads =
   "all" in a folder without one). who is the session's identity.
   0 = recorded (or already recorded in this session), -1 = not recorded
   (error_r): the read must be refused. */
int stepup_reads_record(struct stepup_reads *reads,
			struct stepup_audit_client *client,
			const struct stepup_audit_record *who,
			struct mail *mail, const char *rule, const char *how,
			const char **error_r);

#endif
