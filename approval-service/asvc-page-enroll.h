#ifndef ASVC_PAGE_ENROLL_H
#define ASVC_PAGE_ENROLL_H

struct asvc_session;

/* The HTML of the enrollment page (asvc-enroll.c decides which). */

/* the first step: the invitation code (invite) for a user who is not
   enrolled, or a current code / recovery code for one who is (a new
   phone) */
void asvc_page_enroll_start(string_t *out, const struct asvc_session *session,
			    bool enrolled, bool invite, const char *notice,
			    bool error);
/* the new secret: its QR code, the URI, the secret for typing, and the
   confirmation form */
void asvc_page_enroll_scan(string_t *out, const struct asvc_session *session,
			   const char *uri, const char *secret,
			   const char *notice, bool error);
/* done: the recovery codes, shown once, and their one-time download */
void asvc_page_enroll_done(string_t *out, const struct asvc_session *session,
			   const char *const *codes, const char *download,
			   bool reenroll);
/* a session signed in with the password alone, for a user who is
   enrolled now */
void asvc_page_enroll_signin_again(string_t *out,
				   const struct asvc_session *session,
				   const char *notice, bool error);

#endif
