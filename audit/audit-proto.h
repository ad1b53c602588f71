#ifndef AUDIT_PROTO_H
#define AUDIT_PROTO_H

#include "audit.h"

/* The line protocol between the mail processes and the stepup-audit
   service: one request per line, the record's fields tab-escaped in the
   order of struct stepup_audit_record (empty = null); the service answers
   "+" (written) or "-" (not written). Mail processes may only send
   folder decisions (event "open"). */

#define STEPUP_AUDIT_PROTO_OK "+"
#define STEPUP_AUDIT_PROTO_FAIL "-"

/* Request line for rec, without the trailing newline. */
const char *stepup_audit_proto_encode(const struct stepup_audit_record *rec);
/* Parse and check a request line; the strings live on the data stack.
   Returns -1 with error_r on anything but a well-formed folder decision. */
int stepup_audit_proto_decode(const char *line,
			      struct stepup_audit_record *rec_r,
			      const char **error_r);

#endif
