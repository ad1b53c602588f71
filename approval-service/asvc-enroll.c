/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "str.h"
#include "net.h"
#include "safe-memset.h"
#include "str-sanitize.h"
#include "stepup-policy.h"
#include "stepup-state.h"
#include "stepup-enroll.h"
#include "asvc-session.h"
#include "asvc-session.h"
#include "asvc-store.h"
#include "asvc-page-enroll.h"
#include "asvc-enroll.h"

#include <time.h>

#define ASVC_ENROLL_SERVICE "stepup-approval"

struct asvc_enroll_session {
	/* between begin and confirm */
	struct stepup_enrollment *enr;
	/* after confirm: the codes as text, until downloaded or the page
	   is left */
	char *recovery_text;
	char download[ASVC_TOKEN_HEX_LEN + 1];
};

static void wipe_free(char **str)
{
	if (*str == NULL)
		return;
	safe_memset(*str, 0, strlen(*str));
	i_free_and_null(*str);
}

void asvc_enroll_session_free(struct asvc_enroll_session **_es)
{
	struct asvc_enroll_session *es = *_es;

	if (es == NULL)
		return;
	*_es = NULL;
	stepup_enroll_free(&es->enr);
	wipe_free(&es->recovery_text);
	safe_memset(es->download, 0, sizeof(es->download));
	i_free(es);
}

static struct asvc_enroll_session *
enroll_session(struct asvc_session *session)
{
	if (session->enroll == NULL)
		session->enroll = i_new(struct asvc_enroll_session, 1);
	return session->enroll;
}

void asvc_enroll_forget(struct asvc_session *session)
{
	struct asvc_enroll_session *es = session->enroll;

	if (es == NULL)
		return;
	wipe_free(&es->recovery_text);
	safe_memset(es->download, 0, sizeof(es->download));
}

static const char *user_log(const struct asvc_session *session)
{
	return str_sanitize(session->user, 80);
}

/* the core's view of this user acting for themself */
static bool enroll_env(const struct asvc_enroll_env *env,
		       const char *remote_ip, struct stepup_enroll_env *core)
{
	i_zero(core);
	core->policy = env->policy;
	core->state = env->state;
	core->audit = env->audit;
	core->service = ASVC_ENROLL_SERVICE;
	core->by_self = TRUE;
	/* an address that does not parse is an unknown one: refused where
	   enrollment.networks is set */
	if (remote_ip == NULL || net_addr2ip(remote_ip, &core->remote_ip) < 0)
		i_zero(&core->remote_ip);
	return env->policy != NULL && !env->audit_unavailable;
}

/* 1 enrolled, 0 not, -1 error */
static int is_enrolled(const struct asvc_enroll_env *env,
		       const struct asvc_session *session, const char **error_r)
{
	return stepup_state_is_enrolled(env->state, session->user, error_r);
}

static void show_start(const struct asvc_enroll_env *env,
		       struct asvc_session *session, string_t *out,
		       const char *notice, bool error,
		       struct asvc_enroll_result *res)
{
	const char *state_error;
	bool invite;
	int ret;

	ret = is_enrolled(env, session, &state_error);
	if (ret < 0) {
		res->log = t_strdup_printf("enrollment page of %s: %s",
					   user_log(session), state_error);
		notice = "Your account's state cannot be read. Ask your "
			"administrator.";
		error = TRUE;
		ret = 1;
	}
	if (ret > 0 && session->role == ASVC_ROLE_ENROLL) {
		/* a password-only session never re-enrolls */
		asvc_page_enroll_signin_again(out, session, notice, error);
		return;
	}
	invite = env->policy == NULL ||
		stepup_policy_get_enrollment(env->policy)->invite;
	asvc_page_enroll_start(out, session, ret > 0, invite, notice, error);
}

void asvc_enroll_show(const struct asvc_enroll_env *env,
		      struct asvc_session *session, string_t *out,
		      struct asvc_enroll_result *res_r)
{
	struct asvc_enroll_session *es = session->enroll;

	i_zero(res_r);
	res_r->status = 200;
	asvc_enroll_forget(session);
	if (es != NULL && es->enr != NULL) {
		/* between the steps: the same secret again */
		const char *uri = stepup_enrollment_uri(es->enr);
		const char *secret = strstr(uri, "secret=") + 7;

		asvc_page_enroll_scan(out, session, uri,
				      t_strcut(secret, '&'), NULL, FALSE);
		return;
	}
	show_start(env, session, out, NULL, FALSE, res_r);
}

void asvc_enroll_begin(const struct asvc_enroll_env *env,
		       struct asvc_session *session, const char *remote_ip,
		       const char *invite, const char *proof, string_t *out,
		       struct asvc_enroll_result *res_r)
{
	struct stepup_enroll_env core;
	struct asvc_enroll_session *es;
	const char *reason, *error, *uri, *secret;
	struct stepup_enrollment *enr;
	int ret;

	i_zero(res_r);
	res_r->status = 200;
	asvc_enroll_forget(session);
	if (!enroll_env(env, remote_ip, &core)) {
		res_r->log = t_strdup_printf("enrollment of %s refused: %s",
			user_log(session), env->policy == NULL ?
			"no good policy" : "the audit log is not open");
		show_start(env, session, out, "Enrollment is not possible "
			   "right now. Try again later.", TRUE, res_r);
		return;
	}
	if (session->role == ASVC_ROLE_ENROLL)
		proof = NULL;
	else
		invite = NULL;
	es = enroll_session(session);
	/* starting again drops a secret shown before */
	stepup_enroll_free(&es->enr);
	ret = stepup_enroll_begin(&core, session->user, invite, proof, &enr,
				  &reason, &error);
	if (ret <= 0) {
		res_r->log = t_strdup_printf("enrollment of %s refused: %s",
			user_log(session), ret < 0 ? error : reason);
		show_start(env, session, out, ret < 0 ? "Enrollment failed. "
			   "Try again later." : t_strdup_printf(
			   "Refused: %s.", reason), TRUE, res_r);
		if (ret < 0)
			res_r->status = 500;
		return;
	}
	es->enr = enr;
	uri = stepup_enrollment_uri(enr);
	secret = strstr(uri, "secret=") + 7;
	res_r->log = t_strdup_printf("%s began %s", user_log(session),
		stepup_enrollment_is_reenroll(enr) ? "a re-enrollment" :
		"an enrollment");
	asvc_page_enroll_scan(out, session, uri, t_strcut(secret, '&'),
			      NULL, FALSE);
}

static const char *recovery_text(const char *user,
				 const char *const *codes)
{
	string_t *text = t_str_new(512);

	str_append(text, "Recovery codes for ");
	str_append(text, str_sanitize(user, 256));
	str_append(text, "\r\nEach works once in place of a one-time code."
		   "\r\n\r\n");
	for (; *codes != NULL; codes++) {
		str_append(text, *codes);
		str_append(text, "\r\n");
	}
	return str_c(text);
}

void asvc_enroll_confirm(const struct asvc_enroll_env *env,
			 struct asvc_session *session, const char *remote_ip,
			 const char *code, string_t *out,
			 struct asvc_enroll_result *res_r)
{
	struct stepup_enroll_env core;
	struct asvc_enroll_session *es = session->enroll;
	const char *const *codes, *reason, *error;
	bool reenroll;
	int ret;

	i_zero(res_r);
	res_r->status = 200;
	asvc_enroll_forget(session);
	if (es == NULL || es->enr == NULL) {
		show_start(env, session, out, "Start again: no setup is in "
			   "progress.", TRUE, res_r);
		return;
	}
	if (!enroll_env(env, remote_ip, &core)) {
		stepup_enroll_free(&es->enr);
		show_start(env, session, out, "Enrollment is not possible "
			   "right now. Try again later.", TRUE, res_r);
		return;
	}
	reenroll = stepup_enrollment_is_reenroll(es->enr);
	ret = stepup_enroll_finish(&core, es->enr, code, &codes, &reason,
				   &error);
	/* a wrong code ends this try: the next one gets a new secret */
	stepup_enroll_free(&es->enr);
	if (ret <= 0) {
		res_r->log = t_strdup_printf("enrollment of %s refused: %s",
			user_log(session), ret < 0 ? error : reason);
		if (ret < 0)
			res_r->status = 500;
		show_start(env, session, out, ret < 0 ? "Enrollment failed. "
			   "Try again later." : t_strdup_printf(
			   "Refused: %s. Start again.", reason), TRUE, res_r);
		return;
	}
	res_r->log = t_strdup_printf("%s %s", user_log(session), reenroll ?
				     "re-enrolled" : "enrolled");
	if (reenroll &&
	    asvc_enroll_end_grants(env, session->user, time(NULL),
				   &error) < 0) {
		res_r->log = t_strdup_printf("%s; ending the approvals "
					     "failed: %s", res_r->log, error);
	}
	es->recovery_text = i_strdup(recovery_text(session->user, codes));
	i_strocpy(es->download, asvc_token_new(), sizeof(es->download));
	if (env->notify != NULL &&
	    stepup_policy_get_enrollment(env->policy)->notify) {
		env->notify(reenroll ? STEPUP_NOTICE_REENROLLED :
			    STEPUP_NOTICE_ENROLLED, session->user, NULL,
			    env->notify_context);
	}
	asvc_page_enroll_done(out, session, codes, es->download, reenroll);
}

const char *asvc_enroll_download(struct asvc_session *session,
				 const char *token)
{
	struct asvc_enroll_session *es = session->enroll;
	const char *text;

	if (es == NULL || es->recovery_text == NULL ||
	    !asvc_token_equals(es->download, token))
		return NULL;
	text = t_strdup(es->recovery_text);
	asvc_enroll_forget(session);
	return text;
}

int asvc_enroll_end_grants(const struct asvc_enroll_env *env,
			   const char *user, time_t now, const char **error_r)
{
	if (env->store == NULL)
		return 0;
	return asvc_store_end_user(env->store, user, now,
				   "ended by a new enrollment", error_r) < 0 ?
		-1 : 0;
}

int asvc_enroll_audit(const struct asvc_enroll_env *env, const char *event,
		      const char *user, const char *remote_ip,
		      const char *decision, const char *reason)
{
	struct stepup_enroll_env core;
	const char *error;

	if (!enroll_env(env, remote_ip, &core)) {
		i_error("stepup-approval: an audit record of %s is lost (%s): "
			"the audit log is not open", str_sanitize(user, 80),
			str_sanitize(reason, 200));
		return -1;
	}
	if (stepup_enroll_audit(&core, event, user, decision, reason,
				&error) < 0) {
		i_error("stepup-approval: an audit record of %s is lost (%s): "
			"%s", str_sanitize(user, 80), str_sanitize(reason, 200),
			error);
		return -1;
	}
	return 0;
}
