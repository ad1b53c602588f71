#ifndef ASVC_ADMIN_H
#define ASVC_ADMIN_H

struct asvc_store;
struct asvc_rules;

/* The service's admin socket (root only): what "stepup approval approve
   ID" and "deny ID" send. One tab-separated, tab-escaped line each way:
     approve ID SECS APPROVER REASON  -> OK ID STATUS | FAIL TEXT
     deny ID APPROVER REASON          -> OK ID STATUS | FAIL TEXT
     list                             -> one "ID STATUS USER MAILBOX RULE
                                         REMOTE_IP BINDING_CODE RECEIVED"
                                         line per request, then "."
     end USER REASON                  -> OK COUNT | FAIL TEXT
                                         (stepup reset: the user's pending
                                         requests and live grants end)
   SECS 0: the longest the rule allows (and never more). */

#define ASVC_ADMIN_MAX_LINE 8192

/* Handle one request line; the reply (lines ending in "\n") is appended
   to out. */
void asvc_admin_handle(struct asvc_store *store,
		       const struct asvc_rules *rules, const char *line,
		       time_t now, string_t *out);

#endif
