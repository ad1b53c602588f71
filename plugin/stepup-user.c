/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The mail user: the session's login facts (set by the stepup passdb,
   signed with the session key), its policy and audit service, and the
   folder decision for one of its folders. */

#include "lib.h"
#include "ioloop.h"
#include "buffer.h"
#include "safe-memset.h"
#include "mail-namespace.h"
#include "stepup-config.h"
#include "stepup-facts.h"
#include "stepup-event.h"
#include "stepup-audit-client.h"
#include "stepup-reads.h"
#include "stepup-user-settings.h"
#include "stepup-plugin-private.h"

struct stepup_user_module stepup_user_module =
	MODULE_CONTEXT_INIT(&mail_user_module_register);

int stepup_user_folder_decide(struct mail_user *user,
			      struct stepup_user *suser,
			      struct mail_namespace *ns, const char *vname,
			      struct stepup_folder_decision *d_r,
			      const char **error_r)
{
	const struct stepup_policy *policy;
	struct stepup_folder_query query;
	const char *name;

	if (stepup_policy_cache_get(suser->policy_cache, ioloop_time,
				    &policy, error_r) < 0)
		return -1;
	name = stepup_policy_normalize_mailbox(vname,
		mail_namespace_get_sep(ns), ns->prefix,
		ns->type == MAIL_NAMESPACE_TYPE_PRIVATE);
	i_zero(&query);
	query.user = user->username;
	query.mailbox = name;
	query.protocol = user->service;
	query.remote_ip = user->conn.remote_ip;
	query.now = ioloop_time;
	query.level = suser->level;
	query.mfa_time = suser->mfa_time;
	stepup_policy_folder(policy, &query, d_r);
	return 0;
}

/* not to deliveries, doveadm, or in audit mode: LIST does not show it */
bool stepup_user_folder_is_hidden(struct mail_user *user,
				  struct mail_namespace *ns,
				  const char *vname)
{
	struct stepup_user *suser = STEPUP_USER_CONTEXT(user);
	struct stepup_folder_decision d;
	const char *error;

	if (suser == NULL || suser->delivery || suser->admin)
		return FALSE;
	/* no good policy: opens are refused, names stay listed */
	if (stepup_user_folder_decide(user, suser, ns, vname, &d,
				      &error) < 0)
		return FALSE;
	return d.require == STEPUP_FOLDER_DENY && !d.allow && !d.audit_only;
}

static void stepup_user_deinit(struct mail_user *user)
{
	struct stepup_user *suser = STEPUP_USER_CONTEXT(user);

	/* reads counted ahead and not made */
	stepup_mail_release_leases(suser);
	stepup_policy_cache_deinit(&suser->policy_cache);
	stepup_reads_deinit(&suser->reads);
	stepup_audit_client_deinit(&suser->audit);
	event_unref(&suser->event);
	suser->module_ctx.super.deinit(user);
}

/* The passdb's facts, signed with the session key. Anything missing,
   malformed or not signed by the passdb counts as no level at all. */
static void stepup_user_read_facts(struct mail_user *user,
				   struct stepup_user *suser)
{
	const char *level = stepup_user_field(user, STEPUP_FACT_LEVEL);
	const char *mfa_time = stepup_user_field(user, STEPUP_FACT_MFA_TIME);
	const char *rule = stepup_user_field(user, STEPUP_FACT_RULE);
	const char *sig = stepup_user_field(user, STEPUP_FACT_SIG);
	const struct stepup_policy *policy;
	const char *error;
	buffer_t *key;
	time_t t;

	suser->level = STEPUP_AUTH_NONE;
	if (level == NULL)
		return;
	if (stepup_policy_cache_get(suser->policy_cache, ioloop_time,
				    &policy, &error) < 0)
		return;
	key = t_buffer_create(64);
	if (stepup_facts_load_key(stepup_policy_get_session_key_file(policy),
				  key, &error) < 0) {
		e_error(suser->event, "session key: %s: the session "
			"has no login level (the mail processes need read "
			"access: chgrp to the mail users' group, mode 0640; "
			"see stepup doctor)", error);
		suser->facts_unverified = TRUE;
		return;
	}
	if (!stepup_facts_verify(key, user->username, user->session_id,
				 level, mfa_time == NULL ? "" : mfa_time,
				 rule == NULL ? "" : rule, sig)) {
		suser->facts_unverified = sig == NULL;
		if (sig == NULL) {
			e_warning(suser->event, "the session's login facts "
				  "carry no signature: the auth process has no "
				  "session key (see 'stepup: session key' in "
				  "its log; fix, then doveadm reload): the "
				  "session has no login level");
		} else {
			e_warning(suser->event, "the session's login facts "
				  "do not match the session key (set by a "
				  "userdb, or %s changed since the auth process "
				  "started: doveadm reload): the session has no "
				  "login level",
				  stepup_policy_get_session_key_file(policy));
		}
		safe_memset(buffer_get_modifiable_data(key, NULL), 0, key->used);
		return;
	}
	safe_memset(buffer_get_modifiable_data(key, NULL), 0, key->used);
	if (stepup_auth_level_parse(level, &suser->level) < 0)
		suser->level = STEPUP_AUTH_NONE;
	if (suser->level == STEPUP_AUTH_TOTP) {
		if (mfa_time == NULL || str_to_time(mfa_time, &t) < 0 ||
		    t <= 0 || t > ioloop_time + 60)
			suser->level = STEPUP_AUTH_PASSWORD;
		else
			suser->mfa_time = t;
	}
	suser->rule = p_strdup(user->pool, rule);
}

void stepup_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct stepup_user *suser;
	struct stepup_user_settings set;
	const char *error;

	suser = p_new(user->pool, struct stepup_user, 1);
	suser->event = stepup_event_create(user->event, NULL);
	suser->module_ctx.super = *v;
	user->vlast = &suser->module_ctx.super;
	v->deinit = stepup_user_deinit;

	/* the indexer builds full-text indexes of every folder; searches
	   in them are guarded like reads (stepup_mailbox_search_init) */
	suser->delivery = strcmp(user->service, "lmtp") == 0 ||
		strcmp(user->service, "lda") == 0 ||
		strcmp(user->service, "indexer-worker") == 0;
	suser->admin = strcmp(user->service, "doveadm") == 0;
	if (stepup_user_settings_get(user, &set, &error) < 0) {
		/* no policy: every protected path is refused */
		e_error(suser->event, "settings: %s", error);
		set.policy_path = "";
		set.audit_socket_path = "";
	}
	suser->policy_cache = stepup_policy_cache_init(set.policy_path,
						       suser->event);
	/* the passdb's token binds the connection to this session; doveadm
	   has none (its records are admin access) */
	suser->audit = stepup_audit_client_init(set.audit_socket_path,
		user->username, user->session_id,
		stepup_user_field(user, STEPUP_FACT_AUDIT_TOKEN));
	suser->reads = stepup_reads_init();
	p_array_init(&suser->counted, user->pool, 4);
	p_array_init(&suser->leases, user->pool, 2);
	suser->client_fd = -1;
	stepup_user_read_facts(user, suser);
	suser->who.user = user->username;
	suser->who.session = user->session_id;
	suser->who.service = user->service;
	suser->who.ip = user->conn.remote_ip == NULL ? NULL :
		p_strdup(user->pool, net_ip2addr(user->conn.remote_ip));
	suser->who.auth = suser->level == STEPUP_AUTH_NONE ? NULL :
		stepup_auth_level_to_str(suser->level);
	MODULE_CONTEXT_SET(user, stepup_user_module, suser);

	e_debug(suser->event, "session level=%s mfa_time=%ld rule=%s",
		stepup_auth_level_to_str(suser->level), (long)suser->mfa_time,
		suser->rule == NULL ? "-" : suser->rule);
}

void stepup_plugin_set_asking(struct mail_user *user, bool asking)
{
	struct stepup_user *suser = STEPUP_USER_CONTEXT(user);

	if (suser != NULL)
		suser->asking = asking;
}

void stepup_plugin_set_approval_client(struct mail_user *user, int client_fd,
				       stepup_approval_pending_callback_t *callback,
				       void *context)
{
	struct stepup_user *suser = STEPUP_USER_CONTEXT(user);

	if (suser == NULL)
		return;
	suser->client_fd = client_fd;
	suser->approval_pending = callback;
	suser->approval_context = context;
}

unsigned int stepup_plugin_limit_refusals(struct mail_user *user)
{
	struct stepup_user *suser = STEPUP_USER_CONTEXT(user);

	return suser == NULL ? 0 : suser->limit_refusals;
}
