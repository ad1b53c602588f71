#ifndef ASVC_APPPW_H
#define ASVC_APPPW_H

struct asvc_enroll_env;
struct asvc_session;
struct asvc_enroll_result;

/* App passwords, self-service (the page's "App passwords"): a user
   signed in with a code lists their own app passwords, creates one
   (label, networks, protocols, an expiry within
   enrollment.app_password_max; the password is shown once) and revokes
   one. Every change is an admin record with "by":"self"; a new one is
   followed by a notice (enrollment.notify). */

/* the longest expiry offered, in days, when the policy says none */
#define ASVC_APPPW_DEFAULT_MAX_DAYS 365

/* GET app-passwords */
void asvc_apppw_show(const struct asvc_enroll_env *env,
		     struct asvc_session *session, time_t now, string_t *out,
		     struct asvc_enroll_result *res_r);
/* POST app-password-add: the form's fields as sent (protocols:
   comma-separated, NULL for any) */
void asvc_apppw_add(const struct asvc_enroll_env *env,
		    struct asvc_session *session, const char *remote_ip,
		    const char *label, const char *days, const char *networks,
		    const char *protocols, time_t now, string_t *out,
		    struct asvc_enroll_result *res_r);
/* POST app-password-revoke */
void asvc_apppw_revoke(const struct asvc_enroll_env *env,
		       struct asvc_session *session, const char *remote_ip,
		       const char *label, time_t now, string_t *out,
		       struct asvc_enroll_result *res_r);

#endif
