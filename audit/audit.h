#ifndef STEPUP_AUDIT_H
#define STEPUP_AUDIT_H

/* The audit log: JSON Lines, one record per decision, chained with SHA-256
   so that any edit or deletion is detectable (SPEC "Audit log").

   Each line is the JSON object BODY (all fields including "prev", in the
   order below) with ,"hash":"H" inserted before its closing brace, where
   H = hex(SHA-256(prev || BODY)) and prev is the previous record's hash
   (64 zeros for the first record). Verification removes the
   ,"hash":"..." suffix to get BODY back. */

#define STEPUP_AUDIT_GENESIS \
	"0000000000000000000000000000000000000000000000000000000000000000"

struct stepup_audit;

/* NULL members are written as JSON null. No secret may ever be passed. */
struct stepup_audit_record {
	const char *event;	/* login, open, fetch_limit, approval, enroll,
				   admin, policy */
	const char *user;
	const char *session;
	const char *service;
	const char *ip;
	const char *mailbox;
	const char *rule;
	const char *decision;	/* allow, deny, pending */
	const char *reason;
	const char *auth;	/* password, app, totp */
};

/* Open (create, mode 0640) the log for appending. Refuses symlinks and
   anything but a regular file. */
int stepup_audit_open(const char *path, struct stepup_audit **audit_r,
		      const char **error_r);
void stepup_audit_close(struct stepup_audit **audit);

/* Append one record, chained to the last one in the file, under an
   exclusive lock (several processes append to one file). */
int stepup_audit_write(struct stepup_audit *audit,
		       const struct stepup_audit_record *rec,
		       const struct timeval *now, const char **error_r);

/* Serialise a record (without taking the file's lock): for tests and the
   verifier. Returns the full line without the trailing newline and sets
   hash_r to the record's hash. */
const char *stepup_audit_format(const struct stepup_audit_record *rec,
				const struct timeval *now, const char *prev,
				const char **hash_r);

/* Verify the chain of records in buf. Returns 0 if intact; -1 with
   error_r naming the first broken line ("line N: ..."). records_r is the
   number of intact records read. */
int stepup_audit_verify_buffer(const char *buf, size_t size,
			       unsigned int *records_r, const char **error_r);

#endif
