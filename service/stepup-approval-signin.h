#ifndef STEPUP_APPROVAL_SIGNIN_H
#define STEPUP_APPROVAL_SIGNIN_H

#include "net.h"

/* The approval page's sign-in through Dovecot's own auth: the password
   and the code go through the admin's passdb chain (stepup's stages
   included: single use, lockout, login rules) over the auth login
   socket, as imap-login does; the session facts of a successful login
   (stepup_level, stepup_mfa_time, signed with session.key_file) then
   come from the auth master socket, as they reach imap. Only a login
   at level totp whose code was verified by this very sign-in passes. */

struct stepup_approval_signin;

/* level: NULL refused (why says why), "totp" the password and a code
   this very sign-in verified, "password" the password alone (only when
   no code was given, at login level password: the caller decides) */
typedef void stepup_approval_signin_callback_t(const char *level,
					       const char *user,
					       const char *why,
					       void *context);

struct stepup_approval_signin *
stepup_approval_signin_init(const char *auth_socket,
			    const char *master_socket,
			    const buffer_t *facts_key, struct event *event);
void stepup_approval_signin_deinit(struct stepup_approval_signin **signin);

/* Check user's password and code (both wiped here; code "" for a
   sign-in with the password alone). The callback runs
   exactly once, later (also when the service shuts down first); user
   is the name Dovecot's auth settled on. */
void stepup_approval_signin_begin(struct stepup_approval_signin *signin,
			     const char *user, char *password, char *code,
			     const struct ip_addr *remote_ip,
			     const struct ip_addr *local_ip, bool secured,
			     stepup_approval_signin_callback_t *callback,
			     void *context);

#endif
