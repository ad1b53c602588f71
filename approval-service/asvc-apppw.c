/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "net.h"
#include "unichar.h"
#include "safe-memset.h"
#include "str-sanitize.h"
#include "stepup-policy.h"
#include "stepup-state.h"
#include "stepup-enroll.h"
#include "asvc-session.h"
#include "asvc-enroll.h"
#include "asvc-page-apppw.h"
#include "asvc-apppw.h"

#define LABEL_MAX 64
#define NETWORKS_MAX 16

static const char *const protocols_known[] = {
	"imap", "pop3", "sieve", "submission", NULL
};

static unsigned int max_days(const struct asvc_enroll_env *env)
{
	unsigned int secs = env->policy == NULL ? 0 :
		stepup_policy_get_enrollment(env->policy)->app_password_max_secs;

	return secs == 0 ? ASVC_APPPW_DEFAULT_MAX_DAYS :
		I_MAX(secs / 86400, 1);
}

static void show(const struct asvc_enroll_env *env,
		 struct asvc_session *session, time_t now, string_t *out,
		 const char *notice, bool error, const char *label,
		 const char *password, struct asvc_enroll_result *res)
{
	struct stepup_user_status st;
	const char *state_error;
	int ret;

	ret = stepup_state_get_status(env->state, session->user, &st,
				      &state_error);
	if (ret < 0) {
		res->log = t_strdup_printf("app passwords of %s: %s",
			str_sanitize(session->user, 80), state_error);
		notice = "Your app passwords cannot be read now.";
		error = TRUE;
		res->status = 500;
	}
	if (ret <= 0)
		i_zero(&st);
	asvc_page_apppw(out, session, ret > 0 ? &st.app_passwords : NULL,
			protocols_known, max_days(env), label, password,
			notice, error, now);
}

void asvc_apppw_show(const struct asvc_enroll_env *env,
		     struct asvc_session *session, time_t now, string_t *out,
		     struct asvc_enroll_result *res_r)
{
	i_zero(res_r);
	res_r->status = 200;
	show(env, session, now, out, NULL, FALSE, NULL, NULL, res_r);
}

static bool label_is_valid(const char *label)
{
	const unsigned char *p;

	if (label == NULL || label[0] == '\0' || strlen(label) > LABEL_MAX ||
	    !uni_utf8_str_is_valid(label))
		return FALSE;
	for (p = (const unsigned char *)label; *p != '\0'; p++) {
		/* the state record's separators, control characters */
		if (*p < 0x20 || *p == 0x7f || *p == ',' || *p == '\'')
			return FALSE;
	}
	return TRUE;
}

/* "192.0.2.0/24, 2001:db8::/32" -> "192.0.2.0/24,2001:db8::/32"; NULL
   for any; FALSE if one does not parse */
static bool networks_parse(const char *text, const char **list_r)
{
	const char *const *nets;
	string_t *list;
	struct ip_addr ip;
	unsigned int bits, count = 0;

	*list_r = NULL;
	if (text == NULL)
		return TRUE;
	list = t_str_new(128);
	for (nets = t_strsplit_spaces(text, ", "); *nets != NULL; nets++) {
		if (net_parse_range(*nets, &ip, &bits) < 0 ||
		    ++count > NETWORKS_MAX)
			return FALSE;
		if (str_len(list) > 0)
			str_append_c(list, ',');
		str_append(list, *nets);
	}
	if (str_len(list) > 0)
		*list_r = str_c(list);
	return TRUE;
}

static bool protocols_valid(const char *protocols)
{
	const char *const *p;

	if (protocols == NULL)
		return TRUE;
	for (p = t_strsplit(protocols, ","); *p != NULL; p++) {
		if (!str_array_find(protocols_known, *p))
			return FALSE;
	}
	return TRUE;
}

static bool can_change(const struct asvc_enroll_env *env,
		       const struct asvc_session *session)
{
	return env->policy != NULL && !env->audit_unavailable &&
		session->role != ASVC_ROLE_ENROLL;
}

void asvc_apppw_add(const struct asvc_enroll_env *env,
		    struct asvc_session *session, const char *remote_ip,
		    const char *label, const char *days, const char *networks,
		    const char *protocols, time_t now, string_t *out,
		    struct asvc_enroll_result *res_r)
{
	const char *nets, *password, *error, *what;
	unsigned int n;
	int ret;

	i_zero(res_r);
	res_r->status = 200;
	if (!can_change(env, session)) {
		show(env, session, now, out, "App passwords cannot be created "
		     "right now. Try again later.", TRUE, NULL, NULL, res_r);
		return;
	}
	if (!label_is_valid(label)) {
		show(env, session, now, out, "Give the device a name (at most "
		     "64 characters, no commas or quotes).", TRUE, NULL, NULL,
		     res_r);
		return;
	}
	if (days == NULL || str_to_uint(days, &n) < 0 || n == 0 ||
	    n > max_days(env)) {
		show(env, session, now, out, t_strdup_printf("Choose when it "
		     "expires (at most %u days).", max_days(env)), TRUE, NULL,
		     NULL, res_r);
		return;
	}
	if (!networks_parse(networks, &nets)) {
		show(env, session, now, out, "Networks: addresses or ranges "
		     "like 192.0.2.0/24, separated by commas.", TRUE, NULL,
		     NULL, res_r);
		return;
	}
	if (!protocols_valid(protocols)) {
		show(env, session, now, out, "Unknown protocol.", TRUE, NULL,
		     NULL, res_r);
		return;
	}
	ret = stepup_state_app_password_add(env->state, session->user, label,
					    now + (time_t)n * 86400, nets,
					    protocols, now, &password, &error);
	if (ret <= 0) {
		if (ret < 0) {
			res_r->log = t_strdup_printf("app password of %s not "
				"added: %s", str_sanitize(session->user, 80),
				error);
		}
		show(env, session, now, out, ret < 0 ? "The app password "
		     "could not be created. Try again later." :
		     "You already have an app password with that name.",
		     TRUE, NULL, NULL, res_r);
		return;
	}
	what = t_strdup_printf("app password '%s' added (%u days%s%s%s%s)",
			       label, n, nets == NULL ? "" : ", networks ",
			       nets == NULL ? "" : nets,
			       protocols == NULL ? "" : ", protocols ",
			       protocols == NULL ? "" : protocols);
	if (asvc_enroll_audit(env, "admin", session->user, remote_ip,
			      "allow", what) < 0) {
		/* no app password without its record */
		if (stepup_state_app_password_revoke(env->state,
						     session->user, label,
						     &error) < 0)
			res_r->log = t_strdup_printf("undo failed: %s", error);
		safe_memset((char *)password, 0, strlen(password));
		show(env, session, now, out, "The app password could not be "
		     "created. Try again later.", TRUE, NULL, NULL, res_r);
		return;
	}
	res_r->log = t_strdup_printf("%s created app password '%s'",
		str_sanitize(session->user, 80), str_sanitize(label, 64));
	if (env->notify != NULL &&
	    stepup_policy_get_enrollment(env->policy)->notify) {
		env->notify(STEPUP_NOTICE_APP_PASSWORD, session->user, label,
			    env->notify_context);
	}
	show(env, session, now, out, NULL, FALSE, label, password, res_r);
	safe_memset((char *)password, 0, strlen(password));
}

void asvc_apppw_revoke(const struct asvc_enroll_env *env,
		       struct asvc_session *session, const char *remote_ip,
		       const char *label, time_t now, string_t *out,
		       struct asvc_enroll_result *res_r)
{
	const char *error, *what;
	int ret;

	i_zero(res_r);
	res_r->status = 200;
	if (!can_change(env, session) || label == NULL) {
		show(env, session, now, out, "Nothing was revoked.", TRUE,
		     NULL, NULL, res_r);
		return;
	}
	/* recorded before it is done (as the tool does) */
	what = t_strdup_printf("app password '%s' revoked", label);
	if (asvc_enroll_audit(env, "admin", session->user, remote_ip,
			      "allow", what) < 0) {
		show(env, session, now, out, "Nothing was revoked: try again "
		     "later.", TRUE, NULL, NULL, res_r);
		return;
	}
	ret = stepup_state_app_password_revoke(env->state, session->user,
					       label, &error);
	if (ret <= 0) {
		error = ret < 0 ? error : "no such label";
		(void)asvc_enroll_audit(env, "admin", session->user, remote_ip,
			"deny", t_strdup_printf("app password '%s' not "
						"revoked: %s", label, error));
		show(env, session, now, out, "Nothing was revoked.", TRUE,
		     NULL, NULL, res_r);
		return;
	}
	res_r->log = t_strdup_printf("%s revoked app password '%s'",
		str_sanitize(session->user, 80), str_sanitize(label, 64));
	show(env, session, now, out, t_strdup_printf("Revoked: %s.", label),
	     FALSE, NULL, NULL, res_r);
}
