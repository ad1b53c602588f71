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

/* Every file begins with a start record: its prev is the genesis (the
   first file) or the last hash of the previous file (after a rotation),
   so records removed from the start of a file are detected too. The
   writers keep the last hash in PATH.head, the lock they all take. */
#define STEPUP_AUDIT_EVENT_START "start"

struct stepup_audit;

/* NULL members are written as JSON null. No secret may ever be passed. */
struct stepup_audit_record {
	const char *event;	/* login, open, read, fetch_limit, approval,
				   enroll, admin, policy, start */
	const char *user;
	const char *session;
	const char *service;
	const char *ip;
	const char *mailbox;
	const char *rule;
	const char *decision;	/* allow, deny, pending */
	const char *reason;
	const char *auth;	/* password, app, totp */
	/* who acted, written only when set: "self" for a user acting
	   for themself (self-service enrollment, the enrollment page's
	   app passwords); absent for the admin's tool and everything
	   else */
	const char *by;

	/* event "read" only (written only when set): one message read
	   (uid, message_id, size), or an aggregate of count reads (uids as
	   ranges "1:5,9", size the bytes of all) */
	uint32_t uid;
	const char *message_id;
	uoff_t size;
	unsigned int count;
	const char *uids;
};

/* The record's fields by name, in the order the log writes them
   (audit.c), the service protocol sends them (audit-proto.c) and the
   report reads them (audit-report.c). A new field is a member above and
   an entry in stepup_audit_fields. */
struct stepup_audit_field {
	const char *name;
	size_t offset;	/* of its const char * in the record */
};
#define STEPUP_AUDIT_FIELD_COUNT 10
extern const struct stepup_audit_field
stepup_audit_fields[STEPUP_AUDIT_FIELD_COUNT];

static inline const char *
stepup_audit_field_get(const struct stepup_audit_record *rec,
		       const struct stepup_audit_field *field)
{
	return *(const char *const *)CONST_PTR_OFFSET(rec, field->offset);
}

static inline const char **
stepup_audit_field_ptr(struct stepup_audit_record *rec,
		       const struct stepup_audit_field *field)
{
	return PTR_OFFSET(rec, field->offset);
}

/* Open (create, mode 0600: every user's decisions) the log for appending, and its head file
   PATH.head (created with the log's owner, mode 0600). Refuses symlinks
   and anything but a regular file. */
int stepup_audit_open(const char *path, struct stepup_audit **audit_r,
		      const char **error_r);
/* How long stepup_audit_write() waits for the lock another writer holds
   before it fails ("audit log locked"): the default suits the service and
   the CLI; the auth process, one loop serving every user, sets
   STEPUP_AUDIT_AUTH_LOCK_TIMEOUT_MSECS. */
#define STEPUP_AUDIT_DEFAULT_LOCK_TIMEOUT_MSECS 3000
#define STEPUP_AUDIT_AUTH_LOCK_TIMEOUT_MSECS 50
void stepup_audit_set_lock_timeout(struct stepup_audit *audit,
				   unsigned int msecs);
void stepup_audit_close(struct stepup_audit **audit);

/* Append one record, chained to the last one written, under an exclusive
   lock on the head file (several processes append to one file), waited
   for at most the handle's lock timeout. Follows
   a rotation: when the path names a new file (logrotate create) the
   record goes there; an empty file (new, or emptied by logrotate
   copytruncate) gets a start record linked to the head first. */
int stepup_audit_write(struct stepup_audit *audit,
		       const struct stepup_audit_record *rec,
		       const struct timeval *now, const char **error_r);

/* Serialise a record (without taking the file's lock): for tests and the
   verifier. Returns the full line without the trailing newline and sets
   hash_r to the record's hash. */
const char *stepup_audit_format(const struct stepup_audit_record *rec,
				const struct timeval *now, const char *prev,
				const char **hash_r);

/* hex SHA-256 of prev || body || "}", body being a record's JSON up to
   its closing brace (without the hash) */
const char *stepup_audit_hash(const char *prev, const char *body, size_t len);

#endif
