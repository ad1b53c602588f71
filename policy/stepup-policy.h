#ifndef STEPUP_POLICY_H
#define STEPUP_POLICY_H

#include "array.h"
#include "net.h"
#include "stepup-settings.h"

/* The policy file (SPEC "Policy file", doc/policy.md): parsed strictly,
   compiled once per load, immutable afterwards, refcounted. */
struct stepup_policy;

/* approval.keys: the HMAC keys shared with the endpoint, in order (the
   first signs requests, all verify responses) */
struct stepup_approval_key_file {
	const char *id, *file;
};
ARRAY_DEFINE_TYPE(stepup_approval_key_file, struct stepup_approval_key_file);

struct stepup_approval_settings {
	const char *url;	/* NULL if there is no approval block */
	/* the first key's file (the signing key) */
	const char *key_file;
	const char *ca_file;
	unsigned int timeout_secs, wait_secs;
	bool failmode_open;
	/* every key, in order; key_file = "F" is keys = ( { id = "1";
	   file = "F"; } ); never empty when url is set */
	ARRAY_TYPE(stepup_approval_key_file) keys;
	/* "sha256//BASE64;sha256//BASE64" as CURLOPT_PINNEDPUBLICKEY takes
	   it, or NULL */
	const char *pin;
	/* mutual TLS: both or neither */
	const char *client_cert, *client_key;
	/* approvers = [ "bob@example.org", "@security" ]: who may decide on
	   others' requests on the stepup-approval page; unset: nobody */
	ARRAY_TYPE(const_string) approvers;
};

/* enrollment = { ... }: self-service enrollment (doc/enrollment.md) */
struct stepup_enrollment_settings {
	/* a user enrolling themself needs a stepup invite code
	   (default TRUE) */
	bool invite;
	/* enrollment.networks is set: self-service only from there */
	bool have_networks;
	/* a notice into the user's INBOX after every change */
	bool notify;
	/* Dovecot's LMTP: a socket path or host:port */
	const char *lmtp;
	/* the longest lifetime of an app password a user creates on the
	   enrollment page (default 365 days) */
	unsigned int app_password_max_secs;
};

/* grant_scope of a folder rule: who an approval opens the folder for */
enum stepup_grant_scope {
	STEPUP_GRANT_SCOPE_IP = 0,	/* the user, from the same address */
	STEPUP_GRANT_SCOPE_SESSION,	/* the session that asked */
	STEPUP_GRANT_SCOPE_USER,	/* every session of the user */
};
/* "ip", "session", "user" */
const char *stepup_grant_scope_name(enum stepup_grant_scope scope);

/* Load, validate and compile. On error returns -1 and error_r holds every
   error, one per line, each "file:line: message"; nothing is half loaded
   and the process never exits. The file must be a regular file, not
   writable by group or others. */
int stepup_policy_load(const char *path, struct stepup_policy **policy_r,
		       const char **error_r);
/* The same from memory (tests, fuzzing); name is used in messages. */
int stepup_policy_parse_buffer(const char *name, const void *data,
			       size_t size, struct stepup_policy **policy_r,
			       const char **error_r);
void stepup_policy_unref(struct stepup_policy **policy);

bool stepup_policy_is_audit_mode(const struct stepup_policy *policy);
const struct stepup_totp_settings *
stepup_policy_get_totp(const struct stepup_policy *policy);
/* state.path (default /var/lib/dovecot/stepup); NULL if state.redis */
const char *stepup_policy_get_state_path(const struct stepup_policy *policy);
const char *stepup_policy_get_state_redis(const struct stepup_policy *policy);
const char *stepup_policy_get_audit_path(const struct stepup_policy *policy);

/* audit.anomalies (doc/audit.md "Anomalies"): what "stepup audit
   anomalies" flags */
struct stepup_anomaly_settings {
	/* a login from an address (network of this prefix) the user did
	   not log in from in the last new_address_days */
	unsigned int new_address_days;
	unsigned int network_prefix_v4, network_prefix_v6;
	/* a session reading more than this from audited folders */
	unsigned int bulk_messages, bulk_mb;
	/* wrong codes within failed_window: per account, per address */
	unsigned int failed_codes_account, failed_codes_address;
	unsigned int failed_window_secs;
	/* a login more than hours_margin hours from every hour the user
	   logged in at, once the user has usual_hours_min_logins logins */
	unsigned int usual_hours_min_logins, hours_margin;
};

#define STEPUP_AUDIT_READS_PER_SESSION 1000
struct stepup_audit_settings {
	/* audit.reads = "all": reads in every folder, not only in those a
	   rule guards */
	bool reads_all;
	unsigned int reads_per_session;
	/* the stepup-audit service logs the latest hash this often; 0 =
	   never */
	unsigned int anchor_interval_secs;
	struct stepup_anomaly_settings anomalies;
};
const struct stepup_audit_settings *
stepup_policy_get_audit(const struct stepup_policy *policy);
/* audit.required (default true): a login or admin change whose audit
   record cannot be written is refused */
bool stepup_policy_audit_required(const struct stepup_policy *policy);
#define STEPUP_DEFAULT_SESSION_KEY_FILE "/etc/dovecot/stepup-session.key"
/* session.key_file (default STEPUP_DEFAULT_SESSION_KEY_FILE): signs the
   session facts the passdb hands to the mail processes */
const char *
stepup_policy_get_session_key_file(const struct stepup_policy *policy);
const struct stepup_approval_settings *
stepup_policy_get_approval(const struct stepup_policy *policy);
const struct stepup_enrollment_settings *
stepup_policy_get_enrollment(const struct stepup_policy *policy);
/* TRUE if enrollment.networks is unset or ip is in it (FALSE for an
   unknown address when it is set) */
bool stepup_policy_enrollment_network_allows(const struct stepup_policy *policy,
					     const struct ip_addr *ip);
/* What the policy asks for that this release parses but does not carry
   out, one sentence per rule, allocated from the data stack;
   NULL-terminated, empty if none (today always empty). */
const char *const *
stepup_policy_get_unenforced(const struct stepup_policy *policy);

/* Login rules */
struct stepup_login_query {
	const char *user;
	const struct ip_addr *remote_ip;	/* NULL/family 0: none */
	const char *protocol;
	time_t now;
	bool enrolled;
};

struct stepup_login_decision {
	enum stepup_login_require require;
	const char *rule;		/* NULL if no rule matched */
	const char *reason;
	bool app_passwords;
	/* require == TOTP, not enrolled, before enroll_by */
	bool grace;
	time_t enroll_by;		/* 0 if none */
	bool audit_only;
};

/* No matching rule: DENY ("no login rule matched"). */
void stepup_policy_login(const struct stepup_policy *policy,
			 const struct stepup_login_query *query,
			 struct stepup_login_decision *decision_r);

/* Folder rules */
struct stepup_folder_query {
	const char *user;
	/* normalised: see stepup_policy_normalize_mailbox() */
	const char *mailbox;
	const char *protocol;
	const struct ip_addr *remote_ip;
	time_t now;
	enum stepup_auth_level level;
	time_t mfa_time;		/* 0 if none */
};

struct stepup_folder_decision {
	enum stepup_folder_require require;	/* NONE if no rule matched */
	/* the TOTP part is satisfied by the session (level, max_age); never
	   TRUE for rules that need an approval */
	bool allow;
	/* the session's two-step login satisfies the rule (level, max_age):
	   what totp_and_approval needs before an approval is asked for */
	bool totp_ok;
	const char *rule, *reason;
	unsigned int max_age_secs, grant_secs;
	enum stepup_grant_scope grant_scope;
	unsigned int fetch_limit_messages, fetch_limit_window_secs;
	bool audit_only;
};

void stepup_policy_folder(const struct stepup_policy *policy,
			  const struct stepup_folder_query *query,
			  struct stepup_folder_decision *decision_r);

/* The approval service's view of a folder rule, by name. FALSE if the
   policy has no folder rule of that name. */
struct stepup_folder_rule_info {
	enum stepup_folder_require require;
	unsigned int grant_secs;	/* 0: not set */
	/* self_approve = true: the user may confirm their own request on
	   the approval page (binding code) */
	bool self_approve;
};
bool stepup_policy_get_folder_rule(const struct stepup_policy *policy,
				   const char *name,
				   struct stepup_folder_rule_info *info_r);
/* user is named in approval.approvers, directly or through a group */
bool stepup_policy_is_approver(const struct stepup_policy *policy,
			       const char *user);

/* What the client is told when an access is refused */
enum stepup_folder_error {
	STEPUP_FOLDER_ERROR_NONE,
	/* a deny folder looks like no folder */
	STEPUP_FOLDER_ERROR_NOT_FOUND,
	/* creating a deny folder: a name the user may not create */
	STEPUP_FOLDER_ERROR_NO_PERMISSION,
	STEPUP_FOLDER_ERROR_NEED_TOTP,
	STEPUP_FOLDER_ERROR_NEED_APPROVAL,
};

/* What a folder decision means for one access (policy-access.c). */
struct stepup_folder_result {
	/* the access is given (the rule allows it, an admin, or audit
	   mode) */
	bool granted;
	/* "allow" or "deny": the event, the log line and the record */
	const char *decision;
	/* a guarded folder, a refusal or an admin: logged at info level
	   (else debug) with log_note (", admin", ", audit mode" or "") */
	bool log_info;
	const char *log_note;
	/* an audit record is written (if the policy has an audit log),
	   with record_reason */
	bool record;
	const char *record_reason;
	/* a record that cannot be written refuses the access */
	bool refuse_unrecorded;
	/* the rule's fetch_limit counts the bodies read from the folder */
	bool fetch_limit;
	/* if !granted */
	enum stepup_folder_error error;
};

/* admin: a doveadm session (always allowed, always recorded). The
   strings are allocated from the data stack. */
void stepup_folder_access_result(const struct stepup_folder_decision *d,
				 enum stepup_folder_access access, bool admin,
				 struct stepup_folder_result *result_r);

/* A mailbox vname as the policy sees it: '/' as the separator, INBOX in
   capitals, a private namespace's prefix removed ("INBOX/Direction" with
   prefix "INBOX/" -> "Direction"), other namespaces keep theirs
   ("shared/alice/Secret"). Allocated from the data stack. */
const char *stepup_policy_normalize_mailbox(const char *vname, char sep,
					    const char *ns_prefix,
					    bool private_ns);

/* The effective policy in canonical libconfig form (data stack):
   parse(dump(p)) dumps identically. */
const char *stepup_policy_dump(const struct stepup_policy *policy);

/* Reload-aware holder, one per process: stats the file at most once a
   second, reloads when it changed, keeps the last good policy (logging
   every error of the bad one through event) and returns -1 only while no
   good policy was ever loaded (callers refuse protected access). */
struct stepup_policy_cache;

struct stepup_policy_cache *
stepup_policy_cache_init(const char *path, struct event *event);
void stepup_policy_cache_deinit(struct stepup_policy_cache **cache);
int stepup_policy_cache_get(struct stepup_policy_cache *cache, time_t now,
			    const struct stepup_policy **policy_r,
			    const char **error_r);

/* What a (re)load did, for the audit log's "policy" records: a reload
   (old is the policy before it) or a refused reload (new_policy NULL,
   error set; once per different error). */
typedef void stepup_policy_change_callback_t(const struct stepup_policy *old,
					     const struct stepup_policy *new_policy,
					     const char *error, void *context);
void stepup_policy_cache_set_callback(struct stepup_policy_cache *cache,
				      stepup_policy_change_callback_t *callback,
				      void *context);

#endif
