#ifndef AUDIT_PROTO_H
#define AUDIT_PROTO_H

#include "stepup-audit.h"

/* The line protocol between the mail processes and the stepup-audit
   service: one request per line, the record's fields tab-escaped in the
   order of struct stepup_audit_record (empty = null); the service answers
   "+" (written) or "-" (not written). Mail processes may only send
   folder decisions (event "open"), fetch counts (event "fetch") and
   message reads (event "read"). */

#define STEPUP_AUDIT_PROTO_OK "+"
#define STEPUP_AUDIT_PROTO_FAIL "-"

/* Request line for rec, without the trailing newline. */
const char *stepup_audit_proto_encode(const struct stepup_audit_record *rec);
/* Parse and check a request line; the strings live on the data stack.
   Returns -1 with error_r on anything but a well-formed folder decision. */
int stepup_audit_proto_decode(const char *line,
			      struct stepup_audit_record *rec_r,
			      const char **error_r);

/* A message body read from a folder whose rule has a fetch_limit: the
   service counts it for (user, rule), and up to want - 1 more the
   session may read without asking again (a lease,
   audit/fetch-limit.h). It answers "+\tN\tEND" (N reads counted, good
   until the window ends at END, a time_t) or "-" (over the limit; the
   first read over is recorded as event "fetch_limit", as a refusal if
   enforce, else as what enforce would have done). */
struct stepup_fetch_request {
	/* who read from which folder under which rule (event, decision and
	   reason are not sent) */
	struct stepup_audit_record rec;
	unsigned int limit, window_secs;
	bool enforce;
	/* reads wanted at once (0 is sent as 1) */
	unsigned int want;
};
/* the most reads one fetch request may ask for, or a release give back */
#define STEPUP_FETCH_LEASE_MAX 1024

const char *stepup_audit_proto_encode_fetch(const struct stepup_fetch_request *req);
/* TRUE if line is a fetch request (and not a record) */
bool stepup_audit_proto_is_fetch(const char *line);
int stepup_audit_proto_decode_fetch(const char *line,
				    struct stepup_fetch_request *req_r,
				    const char **error_r);

/* The answer to a fetch request: granted 0 = over the limit ("-"). */
const char *stepup_audit_proto_encode_grant(unsigned int granted, time_t end);
/* 0 with granted_r 0 for "-"; -1 = not a fetch answer */
int stepup_audit_proto_decode_grant(const char *line,
				    unsigned int *granted_r, time_t *end_r);

/* Reads a session was granted and did not make, given back when it ends
   (audit/fetch-limit.h); the service answers nothing. */
struct stepup_fetch_release {
	const char *user, *session, *rule;
	unsigned int count;
	time_t end;		/* of the window that granted them */
};
const char *
stepup_audit_proto_encode_release(const struct stepup_fetch_release *rel);
bool stepup_audit_proto_is_release(const char *line);
int stepup_audit_proto_decode_release(const char *line,
				      struct stepup_fetch_release *rel_r,
				      const char **error_r);

/* The first line a mail process sends on a connection: its session's user,
   session id and audit token (stepup_facts_audit_token(), from the
   passdb). The service binds the connection to that user and session, or
   refuses it. */
const char *stepup_audit_proto_encode_hello(const char *user,
					    const char *session,
					    const char *token);
bool stepup_audit_proto_is_hello(const char *line);
int stepup_audit_proto_decode_hello(const char *line, const char **user_r,
				    const char **session_r,
				    const char **token_r,
				    const char **error_r);

/* A message body read in a folder whose reads are audited (event "read":
   the record's fields, then uid, message_id and size). The service
   answers "+" once the read is recorded (as itself or in an aggregate,
   audit/read-aggregate.h), "-" if not. */
#define STEPUP_AUDIT_MESSAGE_ID_MAX 250
const char *stepup_audit_proto_encode_read(const struct stepup_audit_record *rec);
bool stepup_audit_proto_is_read(const char *line);
int stepup_audit_proto_decode_read(const char *line,
				   struct stepup_audit_record *rec_r,
				   const char **error_r);
/* An approval for a folder (SPEC "Approval endpoint"): the service answers
   from a live grant, or (create) joins or starts the one request for the
   user, folder and scope and answers when the endpoint decides or after
   wait_secs. The answer to a create may be preceded by one "code" line
   (a request is pending: the client is told its binding code). */
struct stepup_approval_ask {
	/* who asks for which folder under which rule (event "approval";
	   decision and reason are not sent) */
	struct stepup_audit_record rec;
	const char *client;		/* IMAP ID name, may be NULL */
	const char *scope;		/* "ip", "session" or "user" */
	unsigned int grant_secs;	/* the rule's grant */
	unsigned int wait_secs;
	bool create;			/* FALSE: a live grant or nothing */
};

const char *stepup_approval_ask_encode(const struct stepup_approval_ask *ask);
bool stepup_audit_proto_is_approval(const char *line);
int stepup_approval_ask_decode(const char *line,
			       struct stepup_approval_ask *ask_r,
			       const char **error_r);

enum stepup_approval_answer_type {
	/* not final: a request is pending, binding code in text */
	STEPUP_APPROVAL_ANSWER_CODE,
	/* a live grant or a new approval: open; text = the approver */
	STEPUP_APPROVAL_ANSWER_APPROVED,
	/* text = the endpoint's message for the user (may be empty) */
	STEPUP_APPROVAL_ANSWER_DENIED,
	/* no decision within wait: the request stays */
	STEPUP_APPROVAL_ANSWER_PENDING,
	/* the exchange failed: text = the failure kind; allow = failmode
	   open */
	STEPUP_APPROVAL_ANSWER_FAILED,
	/* no live grant (and no request was to be made) */
	STEPUP_APPROVAL_ANSWER_NONE,
};

struct stepup_approval_answer {
	enum stepup_approval_answer_type type;
	const char *text;
	bool allow;
};

/* one line, without the newline */
const char *
stepup_approval_answer_encode(const struct stepup_approval_answer *answer);
int stepup_approval_answer_decode(const char *line,
				  struct stepup_approval_answer *answer_r);

#endif
