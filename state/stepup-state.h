#ifndef STEPUP_STATE_H
#define STEPUP_STATE_H

#include "net.h"
#include "stepup-settings.h"

/* Per-user state: the TOTP enrollment, single use of codes, the failure
   count and lockout, recovery codes and app passwords. Every change is
   made under the user's lock and persisted before success is returned.
   A record that cannot be read or understood is an error (callers deny),
   never "not enrolled". */

#define STEPUP_RECOVERY_CODES 10
/* xxxx-xxxx-xxxx from a 31-letter alphabet: 59 bits */
#define STEPUP_RECOVERY_CODE_LEN 14
/* xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxx: 158 bits */
#define STEPUP_APP_PASSWORD_LEN 39

struct stepup_state;

int stepup_state_init_dir(const char *path, struct stepup_state **state_r,
			  const char **error_r);
void stepup_state_deinit(struct stepup_state **state);

/* How long an operation waits for a user's lock held by another process
   before it fails (-1, "locked by another process"): the callers deny, the
   auth process answers a temporary failure for that user only. The
   default suits a command-line tool; the auth process, which serves every
   user from one event loop, sets STEPUP_STATE_AUTH_LOCK_TIMEOUT_MSECS. */
#define STEPUP_STATE_DEFAULT_LOCK_TIMEOUT_MSECS 10000
#define STEPUP_STATE_AUTH_LOCK_TIMEOUT_MSECS 50
void stepup_state_set_lock_timeout(struct stepup_state *state,
				   unsigned int msecs);

/* 1 enrolled, 0 not, -1 error */
int stepup_state_is_enrolled(struct stepup_state *state, const char *user,
			     const char **error_r);

enum stepup_verify_result {
	STEPUP_VERIFY_OK,
	/* the same password+code string from the same address within
	   totp.reconnect / reconnect_idle of a verified login */
	STEPUP_VERIFY_RECONNECT,
	STEPUP_VERIFY_WRONG,
	STEPUP_VERIFY_REPLAY,
	STEPUP_VERIFY_LOCKED,
	STEPUP_VERIFY_NOT_ENROLLED,
};

struct stepup_verify_info {
	enum stepup_verify_result result;
	bool recovery_code_used;
	unsigned int recovery_codes_left;
	time_t locked_until;
	/* a lockout that was over when this check came: when it ended */
	time_t lock_ended;
	unsigned int failures;
	uint64_t counter;
	/* this server's clock is behind the step of the last accepted code
	   (stepped back): a code for that step or an older one is a replay,
	   never a failure; the caller warns */
	bool clock_behind;
	/* OK: now; RECONNECT: when the code was really verified */
	time_t mfa_time;
};

/* A login's reconnect identity (SPEC "Reconnects"). */
struct stepup_reconnect {
	/* stepup_state_reconnect_hash() of the whole password+code string */
	const char *hash;
	const char *ip;			/* shown by "stepup status" */
};

/* hex HMAC-SHA256(server key, user NUL ip NUL password+code): what a
   reconnect grant stores instead of the string. */
int stepup_state_reconnect_hash(struct stepup_state *state, const char *user,
				const char *ip, const char *password,
				const char **hash_r, const char **error_r);

/* Verify a TOTP code (exactly set->digits digits) or a recovery code.
   Accepts a TOTP code only if its time step is newer than the last
   accepted one; counts failures and locks out after set->max_failures
   for set->lockout_secs. -1 = internal error (deny). */
int stepup_state_verify_code(struct stepup_state *state, const char *user,
			     const struct stepup_totp_settings *set,
			     const char *code, time_t now,
			     struct stepup_verify_info *info_r,
			     const char **error_r);
/* The same, honouring and creating reconnect grants when
   set->reconnect_secs > 0 (rc may be NULL). Under the user's lock, so
   simultaneous logins with one fresh string see the first one's grant. */
int stepup_state_verify_code_reconnect(struct stepup_state *state,
				       const char *user,
				       const struct stepup_totp_settings *set,
				       const char *code,
				       const struct stepup_reconnect *rc,
				       time_t now,
				       struct stepup_verify_info *info_r,
				       const char **error_r);

/* TRUE if password ends with something shaped like a recovery code;
   start_r is where it starts. */
bool stepup_recovery_code_suffix(const char *password, size_t *start_r);
/* TRUE if the whole string is shaped like an app password. */
bool stepup_app_password_shape(const char *password);

/* 1: a valid app password of the user (label_r set, last use recorded),
   0: none matches (or expired, or outside its networks/protocols),
   -1: error. */
int stepup_state_verify_app_password(struct stepup_state *state,
				     const char *user, const char *password,
				     const struct ip_addr *remote_ip,
				     const char *protocol, time_t now,
				     const char **label_r,
				     const char **error_r);

/* Enrollment: stores secret (already confirmed by a code of time step
   confirmed_counter, which is then used up) and returns the new recovery
   codes (data stack). 0 if the user is already enrolled. */
int stepup_state_enroll(struct stepup_state *state, const char *user,
			const struct stepup_totp_settings *set,
			const unsigned char *secret, size_t secret_len,
			uint64_t confirmed_counter, time_t now,
			const char *const **recovery_codes_r,
			const char **error_r);
/* Re-enrollment (a new phone): the same for a user who is enrolled,
   replacing the secret, the recovery codes and every grant the old
   secret gave. 0 if the user is not enrolled. */
int stepup_state_reenroll(struct stepup_state *state, const char *user,
			  const struct stepup_totp_settings *set,
			  const unsigned char *secret, size_t secret_len,
			  uint64_t confirmed_counter, time_t now,
			  const char *const **recovery_codes_r,
			  const char **error_r);
/* New recovery codes replace the old ones. 0 if not enrolled. */
int stepup_state_new_recovery_codes(struct stepup_state *state,
				    const char *user,
				    const char *const **recovery_codes_r,
				    const char **error_r);
/* Remove TOTP, recovery codes, lockout and grants (app passwords stay).
   1 removed, 0 there was nothing. */
int stepup_state_reset(struct stepup_state *state, const char *user,
		       const char **error_r);

/* End a lockout and forget the failed codes; the enrollment, recovery
   codes, grants and app passwords stay. 1 there was a lockout or failures,
   0 there was nothing to end. */
int stepup_state_unlock(struct stepup_state *state, const char *user,
			const char **error_r);

struct stepup_app_password_info {
	const char *label;
	time_t created, expires, last_used;
	const char *last_ip;		/* NULL if never used */
	const char *networks;		/* comma-separated, NULL = any */
	const char *protocols;		/* comma-separated, NULL = any */
};
ARRAY_DEFINE_TYPE(stepup_app_password_info, struct stepup_app_password_info);

struct stepup_grant_info {
	const char *ip;
	time_t created, last_used;
};
ARRAY_DEFINE_TYPE(stepup_grant_info, struct stepup_grant_info);

/* Approvals (SPEC "Approval endpoint"): a grant lets a user open a
   folder within a scope until it expires; a pending entry is a request
   the endpoint has not decided yet (one per user, folder and scope). Both
   are written by the stepup-audit service only. */
enum stepup_approval_entry_type {
	STEPUP_APPROVAL_ENTRY_GRANT,
	STEPUP_APPROVAL_ENTRY_PENDING,
};

struct stepup_approval_entry {
	enum stepup_approval_entry_type type;
	const char *mailbox;
	const char *scope;		/* "ip", "session" or "user" */
	const char *scope_value;	/* the address, the session; "" */
	const char *request_id;		/* 32 hex */
	const char *binding_code;	/* "" for grants */
	time_t created, expires;
	const char *approver;		/* who decided (grants), may be "" */
	/* pending: the JSON body the request was first POSTed with (a
	   retried POST sends it again, byte for byte); "" or NULL if
	   unknown (grants, records of older versions) */
	const char *body;
};
ARRAY_DEFINE_TYPE(stepup_approval_entry, struct stepup_approval_entry);
/* entries kept per user; the oldest go first */
#define STEPUP_APPROVAL_ENTRIES_MAX 64

struct stepup_user_status {
	bool enrolled;
	enum stepup_totp_algorithm algorithm;
	unsigned int digits, period;
	time_t enrolled_at, last_used;
	unsigned int failures;
	time_t locked_until;
	unsigned int recovery_codes_left;
	ARRAY_TYPE(stepup_app_password_info) app_passwords;
	ARRAY_TYPE(stepup_grant_info) grants;	/* reconnect grants */
	/* approval grants and pending requests, expired ones included */
	ARRAY_TYPE(stepup_approval_entry) approvals;
};

/* Data stack. 0 if the user has no state at all. */
int stepup_state_get_status(struct stepup_state *state, const char *user,
			    struct stepup_user_status *status_r,
			    const char **error_r);

/* Returns the new password (data stack; shown once). 0 if the label is
   taken. networks/protocols: comma-separated or NULL. */
int stepup_state_app_password_add(struct stepup_state *state,
				  const char *user, const char *label,
				  time_t expires, const char *networks,
				  const char *protocols, time_t now,
				  const char **password_r,
				  const char **error_r);
/* 1 revoked, 0 no such label */
int stepup_state_app_password_revoke(struct stepup_state *state,
				     const char *user, const char *label,
				     const char **error_r);

/* Invitations (stepup invite): one per user, single use, stored as a
   hash bound to the user; a new one replaces the old. */
#define STEPUP_INVITE_CODE_LEN 19	/* xxxx-xxxx-xxxx-xxxx: 79 bits */
enum stepup_invite_result {
	STEPUP_INVITE_OK,
	STEPUP_INVITE_NONE,	/* the user has no invitation */
	STEPUP_INVITE_WRONG,	/* not this user's code */
	STEPUP_INVITE_USED,
	STEPUP_INVITE_EXPIRED,
};
/* expires: 0 = never. code_r (data stack) is shown once. */
int stepup_state_invite_add(struct stepup_state *state, const char *user,
			    time_t expires, time_t now, const char **code_r,
			    const char **error_r);
/* Check code against the user's invitation; with redeem an accepted
   one is used up (persisted before it returns). -1 = error (deny). */
int stepup_state_invite_check(struct stepup_state *state, const char *user,
			      const char *code, time_t now, bool redeem,
			      enum stepup_invite_result *result_r,
			      const char **error_r);
/* for audit records and messages */
const char *stepup_invite_result_reason(enum stepup_invite_result result);

/* The live entry of this type for (mailbox, scope, scope_value) at now
   (data stack): 1 found, 0 none, -1 error. */
int stepup_state_approval_get(struct stepup_state *state, const char *user,
			      enum stepup_approval_entry_type type,
			      const char *mailbox, const char *scope,
			      const char *scope_value, time_t now,
			      struct stepup_approval_entry *entry_r,
			      const char **error_r);
/* Store entry in place of the one of its type and key; expired entries
   are dropped, at most STEPUP_APPROVAL_ENTRIES_MAX kept. */
int stepup_state_approval_put(struct stepup_state *state, const char *user,
			      const struct stepup_approval_entry *entry,
			      time_t now, const char **error_r);
/* Remove the pending entry of request_id: 1 removed, 0 it was not there
   (ended by revoke or reset), -1 error. */
int stepup_state_approval_end_request(struct stepup_state *state,
				      const char *user,
				      const char *request_id,
				      const char **error_r);
/* The user's live pending entries: of mailbox, and of every folder. */
int stepup_state_approval_pending_count(struct stepup_state *state,
					const char *user, const char *mailbox,
					time_t now,
					unsigned int *mailbox_count_r,
					unsigned int *total_r,
					const char **error_r);
/* End every grant and pending request of the folder (mailbox NULL: of
   every folder). Returns how many, -1 on error. */
int stepup_state_approval_revoke(struct stepup_state *state, const char *user,
				 const char *mailbox, const char **error_r);

#endif
