#ifndef ASVC_SESSION_H
#define ASVC_SESSION_H

/* Signed-in people of the approval page: sessions behind a random cookie
   (only its SHA-256 is kept), each with its own CSRF token, a lifetime
   and an idle timeout; and the sign-in rate limit per account and per
   address. In memory: a restart signs everyone out. */

#define ASVC_TOKEN_HEX_LEN 64

enum asvc_role {
	/* named in approval.approvers: sees and decides every request */
	ASVC_ROLE_APPROVER,
	/* anyone else: sees only their own requests of self_approve
	   rules */
	ASVC_ROLE_SELF,
	/* signed in with the password alone (a user who is not enrolled):
	   only the enrollment page */
	ASVC_ROLE_ENROLL,
};

struct asvc_enroll_session;

struct asvc_session {
	const char *user;
	enum asvc_role role;
	time_t created, last_used;
	/* 64 hex: every form carries it */
	char csrf[ASVC_TOKEN_HEX_LEN + 1];
	/* the enrollment page's steps (asvc-enroll.c); NULL: none */
	struct asvc_enroll_session *enroll;
};

struct asvc_session_settings {
	unsigned int lifetime_secs, idle_secs;
	/* sign-in failures allowed within window_secs, per account and per
	   address, before sign-ins are refused until the window has
	   passed */
	unsigned int max_failures_user, max_failures_ip, window_secs;
	unsigned int max_sessions;
};

struct asvc_sessions;

struct asvc_sessions *
asvc_sessions_init(const struct asvc_session_settings *set);
void asvc_sessions_deinit(struct asvc_sessions **sessions);

/* A new session; the cookie value is returned in token_r (data stack).
   The oldest session goes when max_sessions is reached. */
struct asvc_session *
asvc_session_create(struct asvc_sessions *sessions, const char *user,
		    enum asvc_role role, time_t now, const char **token_r);
/* The live session of a cookie value (NULL: none, expired, idle); its
   idle timer restarts. */
struct asvc_session *
asvc_session_lookup(struct asvc_sessions *sessions, const char *token,
		    time_t now);
void asvc_session_destroy(struct asvc_sessions *sessions,
			  const char *token);
/* Constant time. */
bool asvc_session_csrf_ok(const struct asvc_session *session,
			  const char *csrf);

/* A random 64-hex token (data stack). */
const char *asvc_token_new(void);
/* Constant time comparison of two tokens (NULL never matches). */
bool asvc_token_equals(const char *a, const char *b);

/* May user sign in from ip now? FALSE: too many recent failures. */
bool asvc_signin_allowed(struct asvc_sessions *sessions, const char *user,
			 const char *ip, time_t now);
void asvc_signin_failed(struct asvc_sessions *sessions, const char *user,
			const char *ip, time_t now);

#endif
