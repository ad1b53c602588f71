#ifndef STEPUP_STATE_PRIVATE_H
#define STEPUP_STATE_PRIVATE_H

#include "array.h"
#include "buffer.h"
#include "stepup-state.h"

/* One user's record, decoded (data stack). */
struct state_app {
	const char *label, *hash;
	time_t created, expires, last_used;
	const char *networks, *protocols, *last_ip;	/* "" = none */
};
ARRAY_DEFINE_TYPE(state_app, struct state_app);

/* A reconnect grant: the keyed hash of a password+code string that
   passed, from one address (SPEC "Reconnects"). */
struct state_grant {
	const char *hash;	/* hex HMAC, never the string */
	const char *ip;
	time_t created, last_used;
};
ARRAY_DEFINE_TYPE(state_grant, struct state_grant);

/* The user's invitation (stepup invite): the hash of the code, never
   the code; a used one stays (used != 0) so a replay is named. */
struct state_invite {
	const char *hash;	/* hex SHA-256, "" = none */
	time_t created, expires, used;
};

struct state_record {
	const char *user;
	bool enrolled;
	enum stepup_totp_algorithm algorithm;
	unsigned int digits, period;
	buffer_t *secret;
	time_t enrolled_at;
	uint64_t last_counter;
	time_t last_used;
	unsigned int failures;
	time_t locked_until;
	const char *recovery_salt;
	ARRAY_TYPE(const_string) recovery;	/* hex hashes of unused codes */
	ARRAY_TYPE(state_app) apps;
	ARRAY_TYPE(state_grant) grants;
	struct state_invite invite;
	/* approval grants and pending requests (state-approval.c) */
	ARRAY_TYPE(stepup_approval_entry) approvals;
};

/* One "approval" line's fields after the name (state-approval.c) */
/* f: the n fields after "approval" (9, or 10 with the body) */
int state_approval_entry_parse(const char *const *f, unsigned int n,
			       struct stepup_approval_entry *entry_r);
void state_approval_entries_format(string_t *str,
				   const ARRAY_TYPE(stepup_approval_entry) *entries);

void state_record_init(struct state_record *rec, const char *user);
/* -1: corrupt, unknown version or another user's record */
int state_record_parse(const char *text, const char *user,
		       struct state_record *rec, const char **error_r);
/* The record as text; wipe it with safe_memset when done. */
string_t *state_record_format(const struct state_record *rec);
bool state_record_is_empty(const struct state_record *rec);
void state_record_wipe(struct state_record *rec);
/* zero a buffer's contents and empty it */
void state_buffer_wipe(buffer_t *buf);

/* A read-modify-write of one user's record under the user's lock
   (state.c): txn_begin() reads (an absent record is an empty one),
   txn_commit() writes (an empty record removes the file), txn_end()
   wipes and unlocks. */
struct state_txn {
	struct stepup_state *state;
	const char *user;
	int lock;
	struct state_record rec;
	bool exists;
};

/* The record as it is, without the lock (writes replace it atomically):
   1 read, 0 there is none, -1 error. Wipe it with state_record_wipe(). */
int state_record_read(struct stepup_state *state, const char *user,
		      struct state_record *rec_r, const char **error_r);

int txn_begin(struct stepup_state *state, const char *user,
	      struct state_txn *txn_r, const char **error_r);
int txn_commit(struct state_txn *txn, const char **error_r);
void txn_end(struct state_txn *txn);

/* The backend: where records live and how they are locked. The file
   backend (state-file.c) is the embedded default; a shared one (Redis)
   implements the same operations. */
struct state_backend_vfuncs {
	void (*deinit)(struct stepup_state *state);
	/* exclusive per-user lock, held across read-verify-write */
	int (*lock)(struct stepup_state *state, const char *user,
		    int *lock_r, const char **error_r);
	void (*unlock)(struct stepup_state *state, int *lock);
	/* 1 read (text_r set, data stack), 0 no record, -1 error */
	int (*read)(struct stepup_state *state, const char *user,
		    string_t **text_r, const char **error_r);
	/* atomic replace; empty text removes the record */
	int (*write)(struct stepup_state *state, const char *user,
		     const string_t *text, const char **error_r);
	/* the server-side key of reconnect grants (created on first use) */
	int (*get_key)(struct stepup_state *state, const unsigned char **key_r,
		       size_t *size_r, const char **error_r);
};

struct stepup_state {
	const struct state_backend_vfuncs *v;
	/* how long lock() waits for another process's lock */
	unsigned int lock_timeout_msecs;
};

/* Test hook: called at each step of a file write ("tmp-written",
   "tmp-synced", "renamed"); unit tests _exit() there to simulate a
   crash. */
extern void (*stepup_state_fault_hook)(const char *point);

#endif
