#ifndef STEPUP_FACTS_H
#define STEPUP_FACTS_H

#include "buffer.h"
#include "stepup-settings.h"

/* The session facts the passdb hands to the mail process (userdb fields
   stepup_level, stepup_mfa_time, stepup_rule) are signed with a key that
   the auth process and the mail processes read from session.key_file
   (policy), so a userdb (LDAP attributes, passwd-file extras) cannot
   forge them: the mail plugin treats unsigned or wrongly signed facts as
   no login level at all. */

#define STEPUP_FACTS_KEY_MIN 32

/* The userdb fields (passdb-stepup.c sets them, the mail plugins read
   them). None is ever set empty: an empty value would reach the mail
   process as "yes"; a fact without a value is left out (and signed as
   ""). */
#define STEPUP_FACT_LEVEL "stepup_level"
#define STEPUP_FACT_MFA_TIME "stepup_mfa_time"
#define STEPUP_FACT_RULE "stepup_rule"
#define STEPUP_FACT_SIG "stepup_sig"
#define STEPUP_FACT_AUDIT_TOKEN "stepup_audit_token"
#define STEPUP_FACT_ENROLL_BY "stepup_enroll_by"

/* Read the key: a regular file owned by root (or by us), not writable by
   group or others, at least 32 bytes. */
int stepup_facts_load_key(const char *path, buffer_t *key,
			  const char **error_r);
/* The same for a key only its owner may read (the audit token key): no
   group or other mode bits at all. */
int stepup_facts_load_private_key(const char *path, buffer_t *key,
				  const char **error_r);
/* Create a new random key file (mode 0640) if none exists: 1 created,
   0 existed, -1 error. */
int stepup_facts_create_key(const char *path, const char **error_r);

/* hex HMAC-SHA256(key, user NUL session NUL level NUL mfa_time NUL rule) */
const char *stepup_facts_sign(const buffer_t *key, const char *user,
			      const char *session, const char *level,
			      const char *mfa_time, const char *rule);
/* Constant-time check of a signature. */
bool stepup_facts_verify(const buffer_t *key, const char *user,
			 const char *session, const char *level,
			 const char *mfa_time, const char *rule,
			 const char *sig);

/* The audit token binds a mail process's connection to the stepup-audit
   service to its session's user: hex HMAC-SHA256 over the user and the
   session id, with a key that only root reads (the auth process and the
   service load it before they drop privileges; the mail processes, which
   can read the session key, cannot read this one). The key file is the
   session key's path with ".audit" appended, made on first start. */
const char *stepup_facts_audit_key_path(const char *session_key_path);
/* Create the key if missing (as root, mode 0600), then load it (only
   with no group or other mode bits). */
int stepup_facts_load_audit_key(const char *session_key_path, buffer_t *key,
				const char **error_r);
const char *stepup_facts_audit_token(const buffer_t *key, const char *user,
				     const char *session);
bool stepup_facts_verify_audit_token(const buffer_t *key, const char *user,
				     const char *session, const char *token);

#endif
