/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* passdb driver "stepup": login enforcement, in two stages around the
   admin's own passdb (see login/stepup-login.h):

     passdb { driver = stepup  args = policy=FILE }               stage 1
     passdb { driver = passwd-file ...  result_success = continue-ok }
     passdb { driver = stepup  args = policy=FILE stage=verify
              skip = unauthenticated }                             stage 2

   (Dovecot 2.4: passdb stepup { }, passdb stepup_verify { driver = stepup
   stepup_stage = verify ... }, the policy in stepup_policy; the settings
   are read in passdb-stepup-24.c, 2.3's args in passdb-stepup-23.c.)

   Stage 1 never returns PASSDB_RESULT_OK in front of a passdb that still
   has to verify the password (only for an app password, which it verified
   itself and which ends the chain): an OK followed by "continue" marks the
   password as verified and every later passdb would skip its check. The
   chain is checked when the auth process starts; a chain that could let a
   login through without stage 2 stops Dovecot's auth with a clear error. */

#include "auth-common.h"
#include "stepup-compat.h"
#include "ioloop.h"
#include "safe-memset.h"
#include "passdb.h"
#include "auth.h"
#include "auth-request.h"
#include "stepup-config.h"
#include "stepup-args.h"
#include "stepup-facts.h"
#include "stepup-event.h"
#include "stepup-policy.h"
#include "stepup-state.h"
#include "stepup-audit.h"
#include "audit-policy.h"
#include "stepup-login.h"
#include "passdb-stepup.h"

#define PENDING_FIELD "stepup_pending"

/* Shared by both stages in this process. */
struct stepup_passdb_global {
	int refcount;
	char *policy_path;
	struct stepup_policy_cache *policy_cache;
	struct stepup_state *state;
	char *state_path;
	struct stepup_audit *audit;
	/* the path audit is open at (or failed to open: audit_error) */
	char *audit_path, *audit_error;
	char *nonce;
	struct event *event;
	/* signs the facts handed to the mail processes; empty: none */
	buffer_t *facts_key;
	/* makes the sessions' audit tokens (root only); empty: none */
	buffer_t *audit_key;
	/* the key file facts_key was (or failed to be) loaded from */
	char *facts_key_path;
	/* facts_key could not be loaded and that was logged */
	bool facts_key_failed;
};

static struct stepup_passdb_global *global;

static void stepup_policy_changed(const struct stepup_policy *old,
				  const struct stepup_policy *new_policy,
				  const char *error, void *context ATTR_UNUSED)
{
	const char *werror;

	if (global->audit != NULL &&
	    stepup_audit_policy_change(global->audit, global->policy_path,
				       "auth", old, new_policy, error,
				       &werror) < 0)
		e_error(global->event, "audit: %s: policy change not "
			"recorded", werror);
}

/* Also as root: the key file may be readable only by root and the mail
   processes' group. Made on first start if missing. */
static void stepup_global_load_facts_key(const char *path)
{
	const char *error;
	int ret;

	i_free(global->facts_key_path);
	global->facts_key_path = i_strdup(path);
	ret = stepup_facts_create_key(path, &error);
	if (ret > 0) {
		e_info(global->event, "created %s: give the mail "
		       "processes read access (e.g. chgrp vmail %s)", path,
		       path);
	}
	if (ret < 0 ||
	    stepup_facts_load_key(path, global->facts_key, &error) < 0) {
		buffer_set_used_size(global->facts_key, 0);
		global->facts_key_failed = TRUE;
		e_error(global->event, "session key: %s: sessions "
			"will have no level in the mail processes (fix it, then "
			"doveadm reload)", error);
	}
	if (stepup_facts_load_audit_key(path, global->audit_key, &error) < 0) {
		buffer_set_used_size(global->audit_key, 0);
		e_error(global->event, "audit token key: %s: mail "
			"processes will not be able to record folder "
			"decisions", error);
	}
}

/* The audit log of the policy in force, opened when first needed and
   again while it cannot be: a directory created after the start is picked
   up without a reload. */
static void stepup_global_audit(const struct stepup_policy *policy)
{
	const char *path = stepup_policy_get_audit_path(policy);
	const char *error;

	if (global->audit != NULL && path != NULL &&
	    strcmp(global->audit_path, path) == 0)
		return;
	stepup_audit_close(&global->audit);
	i_free(global->audit_path);
	i_free(global->audit_error);
	if (path == NULL)
		return;
	global->audit_path = i_strdup(path);
	if (stepup_audit_open(path, &global->audit, &error) < 0) {
		global->audit_error = i_strdup(error);
		return;
	}
	/* one event loop serves every user: never wait long for a lock */
	stepup_audit_set_lock_timeout(global->audit,
				      STEPUP_AUDIT_AUTH_LOCK_TIMEOUT_MSECS);
}

static void stepup_global_ref(const char *policy_path)
{
	const struct stepup_policy *policy;
	const char *audit_path, *error, *const *line;

	if (global != NULL) {
		if (strcmp(global->policy_path, policy_path) != 0) {
			i_fatal("passdb stepup: both stages must use the same "
				"policy (%s vs %s)", global->policy_path,
				policy_path);
		}
		global->refcount++;
		return;
	}
	global = i_new(struct stepup_passdb_global, 1);
	global->refcount = 1;
	global->policy_path = i_strdup(policy_path);
	global->nonce = i_strdup(stepup_login_new_nonce(pool_datastack_create()));
	global->event = stepup_event_create(NULL, NULL);
	global->facts_key = buffer_create_dynamic(default_pool, 64);
	global->audit_key = buffer_create_dynamic(default_pool, 64);
	global->policy_cache = stepup_policy_cache_init(policy_path,
							global->event);

	/* preinit runs as root: the audit log may live where only root can
	   create files; the descriptor stays open after privileges drop. */
	if (stepup_policy_cache_get(global->policy_cache, ioloop_time,
				    &policy, &error) < 0) {
		e_error(global->event, "%s: logins will be refused "
			"until the policy is fixed", error);
		/* still as root: the key the fixed policy will most likely
		   name (not created: the policy may name another one), so
		   that sessions get their level without a reload */
		global->facts_key_path =
			i_strdup(STEPUP_DEFAULT_SESSION_KEY_FILE);
		if (stepup_facts_load_key(global->facts_key_path,
					  global->facts_key, &error) < 0)
			buffer_set_used_size(global->facts_key, 0);
		if (stepup_facts_load_private_key(stepup_facts_audit_key_path(
				STEPUP_DEFAULT_SESSION_KEY_FILE),
				global->audit_key, &error) < 0)
			buffer_set_used_size(global->audit_key, 0);
		return;
	}
	for (line = stepup_policy_get_unenforced(policy); *line != NULL; line++)
		e_warning(global->event, "policy: %s", *line);
	audit_path = stepup_policy_get_audit_path(policy);
	stepup_global_audit(policy);
	if (global->audit_error != NULL) {
		e_error(global->event, "audit log: %s: %s",
			global->audit_error, stepup_policy_audit_required(policy) ?
			"logins will be refused until it can be written "
			"(create the directory, writable by the auth process's "
			"user; see stepup doctor)" :
			"logins go on without records (audit.required = false)");
	}
	if (audit_path == NULL) {
		e_warning(global->event, "the policy has no "
			  "audit.path: no decision is recorded");
	} else if (!stepup_policy_audit_required(policy)) {
		e_warning(global->event, "audit.required = false: "
			  "logins go on when their audit record cannot be "
			  "written");
	}
	/* the policy this process starts with, then every reload */
	stepup_policy_changed(NULL, policy, NULL, NULL);
	stepup_policy_cache_set_callback(global->policy_cache,
					 stepup_policy_changed, NULL);
	stepup_global_load_facts_key(stepup_policy_get_session_key_file(policy));
}

/* The policy in force names another key file than the one loaded at
   start (the policy was invalid then, or session.key_file changed): load
   it if this process still can, else say what to do, once. */
static void stepup_global_check_facts_key(const struct stepup_policy *policy)
{
	const char *path = stepup_policy_get_session_key_file(policy);
	const char *error;

	if (global->facts_key_path != NULL &&
	    strcmp(global->facts_key_path, path) == 0 &&
	    (global->facts_key->used > 0 || global->facts_key_failed))
		return;
	i_free(global->facts_key_path);
	global->facts_key_path = i_strdup(path);
	global->facts_key_failed = FALSE;
	if (stepup_facts_load_key(path, global->facts_key, &error) < 0) {
		buffer_set_used_size(global->facts_key, 0);
		global->facts_key_failed = TRUE;
		e_error(global->event, "session key: %s was not loaded "
			"when the auth process started (%s): sessions have no "
			"level in the mail processes until `doveadm reload`",
			path, error);
	}
	if (stepup_facts_load_private_key(stepup_facts_audit_key_path(path),
					  global->audit_key, &error) < 0) {
		buffer_set_used_size(global->audit_key, 0);
		e_error(global->event, "audit token key: %s: mail "
			"processes cannot record folder decisions until "
			"`doveadm reload`", error);
	}
}

static void stepup_global_unref(void)
{
	i_assert(global != NULL && global->refcount > 0);
	if (--global->refcount > 0)
		return;
	stepup_audit_close(&global->audit);
	i_free(global->audit_path);
	i_free(global->audit_error);
	if (global->state != NULL)
		stepup_state_deinit(&global->state);
	stepup_policy_cache_deinit(&global->policy_cache);
	event_unref(&global->event);
	if (global->facts_key->used > 0) {
		safe_memset(buffer_get_modifiable_data(global->facts_key, NULL),
			    0, global->facts_key->used);
	}
	buffer_free(&global->facts_key);
	safe_memset(buffer_get_modifiable_data(global->audit_key, NULL), 0,
		    global->audit_key->used);
	buffer_free(&global->audit_key);
	i_free(global->facts_key_path);
	i_free(global->state_path);
	i_free(global->nonce);
	i_free(global->policy_path);
	i_free(global);
}

/* The state store follows state.path of the policy in force. */
static struct stepup_state *
stepup_global_state(const struct stepup_policy *policy)
{
	const char *path = stepup_policy_get_state_path(policy);
	const char *error;

	if (path == NULL) {
		e_error(global->event, "the policy has no usable "
			"state store (state.path)");
		return NULL;
	}
	if (global->state != NULL && strcmp(global->state_path, path) == 0)
		return global->state;
	if (global->state != NULL)
		stepup_state_deinit(&global->state);
	i_free(global->state_path);
	if (stepup_state_init_dir(path, &global->state, &error) < 0) {
		e_error(global->event, "state store %s: %s", path,
			error);
		global->state = NULL;
		return NULL;
	}
	/* one event loop serves every user: never wait long for one */
	stepup_state_set_lock_timeout(global->state,
				      STEPUP_STATE_AUTH_LOCK_TIMEOUT_MSECS);
	global->state_path = i_strdup(path);
	return global->state;
}

struct passdb_module *
stepup_passdb_module_new(pool_t pool, const struct stepup_passdb_args *args)
{
	struct stepup_passdb_module *module;

	module = p_new(pool, struct stepup_passdb_module, 1);
	module->args = *args;
	/* A password+code string must never be answered from the auth
	   cache, and the auth process must never block. */
	module->module.default_cache_key = NULL;
	module->module.blocking = FALSE;
	stepup_global_ref(module->args.policy_path);
	return &module->module;
}

static const char *rule_name(enum auth_db_rule rule)
{
	switch (rule) {
	case AUTH_DB_RULE_RETURN: return "return";
	case AUTH_DB_RULE_RETURN_OK: return "return-ok";
	case AUTH_DB_RULE_RETURN_FAIL: return "return-fail";
	case AUTH_DB_RULE_CONTINUE: return "continue";
	case AUTH_DB_RULE_CONTINUE_OK: return "continue-ok";
	case AUTH_DB_RULE_CONTINUE_FAIL: return "continue-fail";
	}
	return "?";
}

static bool is_stepup(const struct auth_passdb *p, enum stepup_passdb_stage stage)
{
	const struct stepup_passdb_module *m;

	if (strcmp(p->passdb->iface.name, "stepup") != 0)
		return FALSE;
	m = (const struct stepup_passdb_module *)p->passdb;
	return m->args.stage == stage;
}

#ifdef STEPUP_DOVECOT_24
#  define CHAIN_HELP \
	" (see doc/admin-guide.md: passdb stepup { result_failure = " \
	"return-fail  result_internalfail = return-fail }, then your " \
	"passdbs with result_success = continue-ok, then passdb " \
	"stepup_verify { driver = stepup  stepup_stage = verify  skip = " \
	"never  result_failure = return-fail  " \
	"result_internalfail = return-fail }, all without use_worker)"
#  define STEPUP_PASSDB_USE_WORKER(p) ((p)->set->use_worker)
#else
#  define CHAIN_HELP \
	" (see doc/admin-guide.md: passdb { driver = stepup  args = " \
	"policy=FILE  result_failure = return-fail  result_internalfail = " \
	"return-fail }, then your passdbs with result_success = continue-ok, " \
	"then passdb { driver = stepup  args = policy=FILE stage=verify  " \
	"skip = never  result_failure = return-fail  " \
	"result_internalfail = return-fail })"
#  define STEPUP_PASSDB_USE_WORKER(p) FALSE
#endif

/* A passdb as the admin wrote it: "passdb NAME { driver = D  args = A }"
   (Dovecot gives no file:line for it). */
static const char *passdb_describe(const struct auth_passdb *p)
{
	const struct auth_passdb_settings *set = p->set;
	const char *args = STEPUP_PASSDB_SET_ARGS(set);

	return t_strdup_printf("passdb %s%s{ driver = %s%s%s }",
		set->name == NULL || set->name[0] == '\0' ? "" : set->name,
		set->name == NULL || set->name[0] == '\0' ? "" : " ",
		set->driver, args[0] == '\0' ? "" : "  args = ", args);
}

#define CHAIN_DEBIAN_HELP \
	" (on Debian, conf.d/10-auth.conf includes auth-system.conf.ext, " \
	"a PAM passdb, before conf.d/90-stepup.conf: comment out that " \
	"!include line and keep the PAM passdb between the two stepup " \
	"stages, as in doc/examples/conf.d/90-stepup.conf)"

#ifdef STEPUP_DOVECOT_24
/* 2.4 has no pass setting: its result_success = continue */
#  define MASTER_PASS_YES "result_success = continue"
#else
#  define MASTER_PASS_YES "pass = yes"
#endif

/* A master passdb with pass = no (result_success = return-ok) ends the
   login there: the stepup stages never run for the target user (no code,
   no login rule, no record). With pass = yes the regular chain runs for
   the target user after it, the stepup stages too. */
static void stepup_validate_masterdbs(const struct auth_passdb *master)
{
	for (; master != NULL; master = master->next) {
		/* pass = yes is result_success = continue */
		if (master->result_success == AUTH_DB_RULE_CONTINUE ||
		    master->result_success == AUTH_DB_RULE_CONTINUE_OK ||
		    master->result_success == AUTH_DB_RULE_CONTINUE_FAIL)
			continue;
		i_fatal("passdb stepup: %s is a master passdb with pass = no: "
			"master logins would skip the stepup stages (no "
			"one-time code, no login rule, no audit record); set "
			MASTER_PASS_YES " in it (the regular chain, the "
			"stepup stages too, then runs for the user logged in "
			"to: the master "
			"password is followed by that user's code) or remove "
			"it (doc/admin-guide.md)", passdb_describe(master));
	}
}

/* Refuse to run with a chain that could let a login through without the
   second stage, or that could skip the password. */
static void stepup_validate_chain(const struct auth_passdb *first)
{
	const struct auth_passdb *p, *last = NULL;
	unsigned int n = 0;

	if (first == NULL)
		i_fatal("passdb stepup: must be the first passdb" CHAIN_HELP);
	if (!is_stepup(first, STEPUP_PASSDB_STAGE_LOGIN)) {
		i_fatal("passdb stepup: must be the first passdb, but the "
			"first is %s%s" CHAIN_HELP, passdb_describe(first),
			strcmp(first->set->driver, "pam") == 0 ?
			CHAIN_DEBIAN_HELP : "");
	}
	if (first->result_success != AUTH_DB_RULE_RETURN_OK ||
	    first->result_failure != AUTH_DB_RULE_RETURN_FAIL ||
	    first->result_internalfail != AUTH_DB_RULE_RETURN_FAIL ||
	    first->skip != AUTH_PASSDB_SKIP_NEVER ||
	    STEPUP_PASSDB_MECHANISMS(first) != NULL ||
	    first->username_filter != NULL) {
		i_fatal("passdb stepup: needs result_success = return-ok, "
			"result_failure = return-fail, result_internalfail = "
			"return-fail and no skip, mechanisms or "
			"username_filter (has result_success = %s, "
			"result_failure = %s, result_internalfail = %s)"
			CHAIN_HELP, rule_name(first->result_success),
			rule_name(first->result_failure),
			rule_name(first->result_internalfail));
	}
	for (p = first->next; p != NULL; p = p->next) {
		if (p->next == NULL) {
			last = p;
			break;
		}
		if (strcmp(p->passdb->iface.name, "stepup") == 0)
			i_fatal("passdb stepup: stage=verify must be the last "
				"passdb" CHAIN_HELP);
		if (p->result_success != AUTH_DB_RULE_CONTINUE_OK) {
			i_fatal("passdb stepup: passdb %s between the two "
				"stepup stages needs result_success = "
				"continue-ok (has %s)" CHAIN_HELP,
				STEPUP_PASSDB_NAME(p),
				rule_name(p->result_success));
		}
		n++;
	}
	if (last == NULL || n == 0 || !is_stepup(last, STEPUP_PASSDB_STAGE_VERIFY))
		i_fatal("passdb stepup: the last passdb must be stepup with "
			"stage=verify, after at least one passdb that checks "
			"the password" CHAIN_HELP);
	if ((last->skip != AUTH_PASSDB_SKIP_UNAUTHENTICATED &&
	     last->skip != AUTH_PASSDB_SKIP_NEVER) ||
	    last->result_success != AUTH_DB_RULE_RETURN_OK ||
	    last->result_failure != AUTH_DB_RULE_RETURN_FAIL ||
	    last->result_internalfail != AUTH_DB_RULE_RETURN_FAIL ||
	    STEPUP_PASSDB_MECHANISMS(last) != NULL ||
	    last->username_filter != NULL) {
		i_fatal("passdb stepup: stage=verify needs skip = never "
			"(a wrong password is then a deny record) or "
			"unauthenticated, result_success = return-ok, "
			"result_failure = return-fail, result_internalfail = "
			"return-fail and no mechanisms or username_filter"
			CHAIN_HELP);
	}
	/* Both stages share this process's nonce and state: an auth
	   worker process would see neither. */
	if (STEPUP_PASSDB_USE_WORKER(first) || STEPUP_PASSDB_USE_WORKER(last)) {
		i_fatal("passdb stepup: the stepup passdbs cannot run in an "
			"auth worker: remove use_worker = yes from passdb %s"
			CHAIN_HELP, STEPUP_PASSDB_USE_WORKER(first) ?
			STEPUP_PASSDB_NAME(first) : STEPUP_PASSDB_NAME(last));
	}
}

static void stepup_passdb_init(struct passdb_module *_module)
{
	struct stepup_passdb_module *module =
		(struct stepup_passdb_module *)_module;
	struct auth *const *auth;

	/* every chain: the default one and each protocol's */
	if (module->args.stage == STEPUP_PASSDB_STAGE_LOGIN) {
		array_foreach(&auths, auth) {
			stepup_validate_chain((*auth)->passdbs);
			stepup_validate_masterdbs((*auth)->masterdbs);
		}
	}
}

static void stepup_passdb_deinit(struct passdb_module *_module ATTR_UNUSED)
{
	stepup_global_unref();
}

static void
stepup_request_env(struct auth_request *request,
		   struct stepup_login_env *env_r,
		   struct stepup_login_request *req_r)
{
	const struct stepup_policy *policy;
	const char *error;

	i_zero(env_r);
	env_r->event = stepup_event_create(authdb_event(request), NULL);
	env_r->nonce = global->nonce;
	if (stepup_policy_cache_get(global->policy_cache, ioloop_time,
				    &policy, &error) < 0) {
		e_error(env_r->event, "%s", error);
	} else {
		env_r->policy = policy;
		env_r->state = stepup_global_state(policy);
		stepup_global_audit(policy);
		stepup_global_check_facts_key(policy);
		env_r->audit_required = stepup_policy_audit_required(policy);
	}
	env_r->audit = global->audit;
	env_r->audit_error = global->audit_error;

	i_zero(req_r);
	req_r->user = request->fields.user;
	req_r->protocol = STEPUP_AUTH_REQUEST_PROTOCOL(request);
	req_r->session = request->fields.session_id;
	req_r->remote_ip = &request->fields.remote_ip;
	req_r->now = ioloop_time;
}

/* STEPUP_FACT_* for the mail process, if it has a value */
static void
stepup_set_fact(struct auth_request *request, const char *name,
		const char *value)
{
	if (value != NULL && value[0] != '\0') {
		auth_request_set_field(request,
				       t_strconcat("userdb_", name, NULL),
				       value, NULL);
	}
}

static void
stepup_set_facts(struct auth_request *request,
		 const struct stepup_login_result *result)
{
	const char *level = stepup_auth_level_to_str(result->level);
	const char *mfa_time = result->mfa_time == 0 ? "" :
		dec2str(result->mfa_time);
	const char *rule = result->rule == NULL ? "" : result->rule;

	/* a userdb adding an empty one breaks the signature */
	if (request->fields.userdb_reply != NULL) {
		/* drop what stage 1 may have set */
		auth_fields_remove(request->fields.userdb_reply,
				   STEPUP_FACT_RULE);
		auth_fields_remove(request->fields.userdb_reply,
				   STEPUP_FACT_MFA_TIME);
	}
	stepup_set_fact(request, STEPUP_FACT_LEVEL, level);
	stepup_set_fact(request, STEPUP_FACT_RULE, rule);
	stepup_set_fact(request, STEPUP_FACT_MFA_TIME, mfa_time);
	if (global->facts_key->used > 0) {
		stepup_set_fact(request, STEPUP_FACT_SIG,
			stepup_facts_sign(global->facts_key,
					  request->fields.user,
					  request->fields.session_id, level,
					  mfa_time, rule));
	}
	if (global->audit_key->used > 0) {
		stepup_set_fact(request, STEPUP_FACT_AUDIT_TOKEN,
			stepup_facts_audit_token(global->audit_key,
						 request->fields.user,
						 request->fields.session_id));
	}
	stepup_set_fact(request, STEPUP_FACT_ENROLL_BY, result->enroll_by);
}

static void
stepup_verify_stage1(struct auth_request *request, const char *password,
		     verify_plain_callback_t *callback)
{
	struct stepup_login_env env;
	struct stepup_login_request req;
	struct stepup_login_result result;
	size_t len;

	stepup_request_env(request, &env, &req);
	stepup_login_stage1(&env, &req, password, &result);
	event_unref(&env.event);
	switch (result.action) {
	case STEPUP_LOGIN_ACTION_CONTINUE:
		len = strlen(request->mech_password);
		if (result.password_len < len) {
			/* the next passdb verifies the password without the
			   code */
			char *stripped = p_strndup(request->pool,
						   request->mech_password,
						   result.password_len);
			safe_memset(request->mech_password, 0, len);
			request->mech_password = stripped;
		}
		auth_fields_add(request->fields.extra_fields, PENDING_FIELD,
				result.pending, AUTH_FIELD_FLAG_HIDDEN);
		stepup_set_facts(request, &result);
		callback(PASSDB_RESULT_NEXT, request);
		return;
	case STEPUP_LOGIN_ACTION_OK:
		stepup_set_facts(request, &result);
		callback(PASSDB_RESULT_OK, request);
		return;
	case STEPUP_LOGIN_ACTION_FAIL:
		callback(PASSDB_RESULT_PASSWORD_MISMATCH, request);
		return;
	case STEPUP_LOGIN_ACTION_INTERNAL_FAIL:
		callback(PASSDB_RESULT_INTERNAL_FAILURE, request);
		return;
	}
	i_unreached();
}

static void
stepup_verify_stage2(struct auth_request *request,
		     verify_plain_callback_t *callback)
{
	struct stepup_login_env env;
	struct stepup_login_request req;
	struct stepup_login_result result;
	const char *pending;

	stepup_request_env(request, &env, &req);
	pending = auth_fields_find(request->fields.extra_fields,
				   PENDING_FIELD);
	if (request->fields.userdb_reply != NULL) {
		req.rule = auth_fields_find(request->fields.userdb_reply,
					    STEPUP_FACT_RULE);
	}
	if (!request->passdb_success) {
		/* skip = never: the password was not verified by the
		   passdbs before; recorded, and refused */
		stepup_login_refuse_password(&env, &req);
		event_unref(&env.event);
		if (pending != NULL)
			auth_fields_remove(request->fields.extra_fields,
					   PENDING_FIELD);
		callback(PASSDB_RESULT_PASSWORD_MISMATCH, request);
		return;
	}
	stepup_login_stage2(&env, &req, pending, &result);
	event_unref(&env.event);
	if (pending != NULL)
		auth_fields_remove(request->fields.extra_fields,
				   PENDING_FIELD);
	switch (result.action) {
	case STEPUP_LOGIN_ACTION_OK:
		stepup_set_facts(request, &result);
		callback(PASSDB_RESULT_OK, request);
		return;
	case STEPUP_LOGIN_ACTION_FAIL:
		if (result.client_reason != NULL) {
			/* The password was right: the client may learn why.
			   Only USER_DISABLED keeps the reason field. */
			auth_request_set_field(request, "reason",
					       result.client_reason, NULL);
			callback(PASSDB_RESULT_USER_DISABLED, request);
		} else {
			callback(PASSDB_RESULT_PASSWORD_MISMATCH, request);
		}
		return;
	case STEPUP_LOGIN_ACTION_CONTINUE:
	case STEPUP_LOGIN_ACTION_INTERNAL_FAIL:
		callback(PASSDB_RESULT_INTERNAL_FAILURE, request);
		return;
	}
	i_unreached();
}

static void
stepup_passdb_verify_plain(struct auth_request *request,
			   const char *password,
			   verify_plain_callback_t *callback)
{
	struct stepup_passdb_module *module =
		(struct stepup_passdb_module *)request->passdb->passdb;

	if (module->args.stage == STEPUP_PASSDB_STAGE_LOGIN)
		stepup_verify_stage1(request, password, callback);
	else
		stepup_verify_stage2(request, callback);
}

/* Non-plaintext mechanisms (CRAM-MD5, SCRAM ...) cannot carry a code:
   refused for everyone, in both stages. */
static void
stepup_passdb_lookup_credentials(struct auth_request *request,
				 lookup_credentials_callback_t *callback)
{
	struct stepup_login_env env;
	struct stepup_login_request req;

	stepup_request_env(request, &env, &req);
	stepup_login_refuse_mechanism(&env, &req, request->fields.mech_name);
	event_unref(&env.event);
	callback(PASSDB_RESULT_SCHEME_NOT_AVAILABLE, NULL, 0, request);
}

static struct passdb_module_interface passdb_stepup = {
	.name = "stepup",
	.preinit = stepup_passdb_preinit,
	.init = stepup_passdb_init,
	.deinit = stepup_passdb_deinit,
	.verify_plain = stepup_passdb_verify_plain,
	.lookup_credentials = stepup_passdb_lookup_credentials,
};

void authdb_stepup_init(void);
void authdb_stepup_deinit(void);

void authdb_stepup_init(void)
{
	passdb_register_module(&passdb_stepup);
}

void authdb_stepup_deinit(void)
{
	passdb_unregister_module(&passdb_stepup);
}
