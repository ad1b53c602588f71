/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The mailbox hooks: the folder rules checked on every path into a
   mailbox: open (SELECT, EXAMINE, APPEND/COPY target, POP3), STATUS
   answered without an open, metadata, CREATE below a guarded folder,
   RENAME and DELETE of the folder or of a parent. What a decision means
   for an access is stepup_folder_access_result() (policy/). */

#include "lib.h"
#include "ioloop.h"
#include "str-sanitize.h"
#include "mail-namespace.h"
#include "mailbox-list-iter.h"
#include "mail-index.h"
#include "mail-search.h"
#include "stepup-event.h"
#include "stepup-audit-client.h"
#include "stepup-plugin-private.h"

struct stepup_storage_module stepup_storage_module =
	MODULE_CONTEXT_INIT(&mail_storage_module_register);

static int
stepup_folder_audit(struct mailbox *box, struct stepup_user *suser,
		    const struct stepup_folder_decision *d,
		    const struct stepup_folder_result *r)
{
	struct stepup_audit_record rec;
	const char *error;

	rec = suser->who;
	rec.event = "open";
	rec.mailbox = box->vname;
	rec.rule = d->rule;
	rec.decision = r->decision;
	rec.reason = r->record_reason;
	if (stepup_audit_client_send(suser->audit, &rec, &error) < 0) {
		e_error(stepup_event_passthrough(box->event)->event(), "audit: %s: %s not recorded%s",
			error, r->decision, r->refuse_unrecorded ?
			", access refused" : "");
		return -1;
	}
	return 0;
}

void stepup_mailbox_set_fetch_limit(struct mailbox *box,
				    const struct stepup_folder_decision *d)
{
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(box);

	sbox->fetch_rule = p_strdup(box->pool, d->rule);
	sbox->fetch_limit = d->fetch_limit_messages;
	sbox->fetch_window = d->fetch_limit_window_secs;
	sbox->fetch_enforce = !d->audit_only;
}

/* Every access is a stepup_decision event (doc/events.md); those a rule
   guards are also logged at info level. */
static void
stepup_mailbox_log_decision(struct mailbox *box, struct stepup_user *suser,
			    enum stepup_folder_access access,
			    const struct stepup_folder_decision *d,
			    const struct stepup_folder_result *r)
{
	const char *access_name = stepup_folder_access_to_str(access);
	const char *auth = stepup_auth_level_to_str(suser->level);
	struct event_passthrough *e =
		stepup_event_passthrough(box->event)->
		set_name("stepup_decision")->
		add_str("kind", "folder")->
		add_str("access", access_name)->
		add_str("decision", r->decision)->
		add_str("rule", d->rule == NULL ? "" : d->rule)->
		add_str("auth", auth)->
		add_str("reason", d->reason);

	if (r->log_info) {
		e_info(e->event(), "%s %s (rule=%s, auth=%s%s): %s",
		       access_name, r->decision,
		       d->rule == NULL ? "-" : d->rule, auth, r->log_note,
		       str_sanitize(d->reason, 256));
	} else {
		e_debug(e->event(), "%s allow (flags=0x%x): %s", access_name,
			box->flags, d->reason);
	}
}

/* the opened folder's reads are recorded if a rule guards it or the
   policy says audit.reads = "all" */
static void
stepup_mailbox_set_reads(struct mailbox *box,
			 const struct stepup_policy *policy,
			 const struct stepup_folder_decision *d)
{
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(box);

	if (stepup_policy_get_audit_path(policy) == NULL ||
	    (d->require == STEPUP_FOLDER_NONE &&
	     !stepup_policy_get_audit(policy)->reads_all))
		return;
	sbox->reads_audited = TRUE;
	sbox->reads_rule = p_strdup(box->pool, d->rule);
}

/* What the approval half of a rule decided for one access. */
struct stepup_open_approval {
	bool allow;
	/* for the log and the audit record */
	const char *reason;
	/* what the client is told when refused */
	enum mail_error error;
	const char *refusal;
};

static const char *approval_scope_value(struct stepup_user *suser,
					const char *scope)
{
	if (strcmp(scope, "ip") == 0)
		return suser->who.ip;
	if (strcmp(scope, "session") == 0)
		return suser->who.session;
	return "";
}

static void approval_code_received(const char *code, void *context)
{
	struct mailbox *box = context;
	struct stepup_user *suser =
		STEPUP_USER_CONTEXT(box->storage->user);

	if (suser->approval_pending != NULL)
		suser->approval_pending(suser->approval_context, box->vname,
					code);
}

/* The approval half of a rule whose TOTP half did not open the folder.
   Only an open that may ask (SELECT, EXAMINE, POP3's INBOX) makes a
   request; everything else is answered from a live grant. */
static void
stepup_mailbox_approval(struct mailbox *box, struct stepup_user *suser,
			const struct stepup_policy *policy,
			enum stepup_folder_access access,
			const struct stepup_folder_decision *d,
			struct stepup_open_approval *out_r)
{
	struct mail_namespace *ns = mailbox_get_namespace(box);
	/* the folder as the policy (and the endpoint, and the grants) see it */
	const char *mailbox = stepup_policy_normalize_mailbox(box->vname,
		mail_namespace_get_sep(ns), ns->prefix,
		ns->type == MAIL_NAMESPACE_TYPE_PRIVATE);
	const struct stepup_approval_settings *set =
		stepup_policy_get_approval(policy);
	struct stepup_approval_ask ask;
	struct stepup_approval_answer answer;
	const char *error;
	int ret;

	i_zero(out_r);
	out_r->error = MAIL_ERROR_PERM;
	if (d->require == STEPUP_FOLDER_TOTP_AND_APPROVAL && !d->totp_ok) {
		/* no requests from password-only sessions */
		out_r->reason = d->reason;
		out_r->refusal = MSG_NEED_TOTP_FIRST;
		return;
	}
	i_zero(&ask);
	ask.rec = suser->who;
	ask.rec.mailbox = mailbox;
	ask.rec.rule = d->rule;
	ask.client = NULL;
	ask.scope = stepup_grant_scope_name(d->grant_scope);
	ask.grant_secs = d->grant_secs;
	ask.wait_secs = set->wait_secs;
	ask.create = access == STEPUP_FOLDER_ACCESS_READ &&
		(suser->asking || strcmp(box->storage->user->service,
					 "pop3") == 0);
	if (approval_scope_value(suser, ask.scope) == NULL) {
		out_r->reason = "approval: no client address for grant_scope ip";
		out_r->refusal = MSG_NEED_APPROVAL;
		return;
	}
	if (ask.create) {
		e_debug(stepup_event_passthrough(box->event)->event(), "asking for an approval (wait %us, "
			"client fd %d)", ask.wait_secs, suser->client_fd);
		ret = stepup_audit_client_approval(suser->audit, &ask,
						   suser->client_fd,
						   approval_code_received, box,
						   &answer, &error);
	} else {
		ret = stepup_audit_client_grant(suser->audit, &ask, &answer,
						&error);
	}
	if (ret < 0) {
		out_r->reason = t_strdup_printf("approval: %s", error);
		out_r->error = MAIL_ERROR_UNAVAILABLE;
		out_r->refusal = MSG_APPROVAL_FAILED;
		return;
	}
	switch (answer.type) {
	case STEPUP_APPROVAL_ANSWER_APPROVED:
		out_r->allow = TRUE;
		out_r->reason = t_strdup_printf("rule '%s': approved%s%s",
			d->rule, answer.text[0] == '\0' ? "" : " by ",
			answer.text);
		break;
	case STEPUP_APPROVAL_ANSWER_DENIED:
		out_r->reason = t_strdup_printf("rule '%s': approval denied",
						d->rule);
		out_r->refusal = answer.text[0] == '\0' ?
			MSG_APPROVAL_DENIED "." :
			t_strdup_printf(MSG_APPROVAL_DENIED ": %s",
				str_sanitize(answer.text, APPROVAL_MESSAGE_MAX));
		break;
	case STEPUP_APPROVAL_ANSWER_PENDING:
		out_r->reason = t_strdup_printf("rule '%s': approval still "
						"pending", d->rule);
		out_r->refusal = MSG_APPROVAL_PENDING;
		break;
	case STEPUP_APPROVAL_ANSWER_FAILED:
		out_r->allow = answer.allow;
		out_r->reason = t_strdup_printf("rule '%s': %s: %s", d->rule,
			answer.allow ? "failmode open" : "approval failed",
			answer.text);
		out_r->refusal = MSG_APPROVAL_FAILED;
		if (answer.allow) {
			e_warning(stepup_event_passthrough(box->event)->event(), "approval failed (%s): "
				  "allowed by failmode open",
				  str_sanitize(answer.text, 64));
		}
		break;
	case STEPUP_APPROVAL_ANSWER_NONE:
	case STEPUP_APPROVAL_ANSWER_CODE:
		out_r->reason = t_strdup_printf("rule '%s': no live approval "
						"grant", d->rule);
		out_r->refusal = MSG_APPROVAL_ASK;
		break;
	}
}

/* -1 = refused (storage error set), 0 = allowed */
static int
stepup_mailbox_check(struct mailbox *box, enum stepup_folder_access access)
{
	struct mail_user *user = box->storage->user;
	struct stepup_user *suser = STEPUP_USER_CONTEXT(user);
	const struct stepup_policy *policy;
	struct stepup_folder_decision d;
	struct stepup_folder_result r;
	struct stepup_open_approval approval;
	const char *error;
	bool asked = FALSE;

	if (suser == NULL)
		return 0;
	/* Deliveries (LMTP, LDA, sieve fileinto) are never blocked. */
	if (suser->delivery || (box->flags & MAILBOX_FLAG_POST_SESSION) != 0)
		return 0;

	if (stepup_user_folder_decide(user, suser, mailbox_get_namespace(box),
				      box->vname, &d, &error) < 0 ||
	    stepup_policy_cache_get(suser->policy_cache, ioloop_time,
				    &policy, &error) < 0) {
		e_error(stepup_event_passthrough(box->event)->event(),
			"%s: access refused", error);
		mail_storage_set_error(box->storage, MAIL_ERROR_PERM,
				       MSG_NO_POLICY);
		return -1;
	}
	if (!d.allow && !suser->admin && !d.audit_only &&
	    d.require >= STEPUP_FOLDER_APPROVAL) {
		/* the approval half: from a grant, or asked for */
		stepup_mailbox_approval(box, suser, policy, access, &d,
					&approval);
		asked = TRUE;
		d.allow = approval.allow;
		d.reason = approval.reason;
	}
	stepup_folder_access_result(&d, access, suser->admin, &r);
	stepup_mailbox_log_decision(box, suser, access, &d, &r);
	if (r.record && stepup_policy_get_audit_path(policy) != NULL &&
	    stepup_folder_audit(box, suser, &d, &r) < 0 &&
	    r.refuse_unrecorded) {
		mail_storage_set_error(box->storage, MAIL_ERROR_UNAVAILABLE,
				       MSG_NO_AUDIT);
		return -1;
	}
	if (r.granted) {
		if (r.fetch_limit)
			stepup_mailbox_set_fetch_limit(box, &d);
		if (access == STEPUP_FOLDER_ACCESS_READ)
			stepup_mailbox_set_reads(box, policy, &d);
		return 0;
	}
	if (asked) {
		mail_storage_set_error(box->storage, approval.error,
			d.require != STEPUP_FOLDER_TOTP_OR_APPROVAL ?
			approval.refusal :
			t_strconcat(approval.refusal, MSG_OR_TOTP, NULL));
		return -1;
	}
	switch (r.error) {
	case STEPUP_FOLDER_ERROR_NO_PERMISSION:
		mail_storage_set_error(box->storage, MAIL_ERROR_PERM,
				       MAIL_ERRSTR_NO_PERMISSION);
		break;
	case STEPUP_FOLDER_ERROR_NOT_FOUND:
		mail_storage_set_error(box->storage, MAIL_ERROR_NOTFOUND,
			T_MAIL_ERR_MAILBOX_NOT_FOUND(box->vname));
		break;
	case STEPUP_FOLDER_ERROR_NEED_TOTP:
		if (suser->facts_unverified) {
			mail_storage_set_error(box->storage, MAIL_ERROR_TEMP,
					       MSG_NO_FACTS);
			break;
		}
		mail_storage_set_error(box->storage, MAIL_ERROR_PERM,
				       MSG_NEED_TOTP);
		break;
	case STEPUP_FOLDER_ERROR_NONE:
	case STEPUP_FOLDER_ERROR_NEED_APPROVAL:
		mail_storage_set_error(box->storage, MAIL_ERROR_PERM,
				       MSG_NEED_APPROVAL);
		break;
	}
	return -1;
}

static int stepup_mailbox_open(struct mailbox *box)
{
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(box);
	enum stepup_folder_access access =
		(box->flags & MAILBOX_FLAG_SAVEONLY) != 0 ?
		STEPUP_FOLDER_ACCESS_SAVE : STEPUP_FOLDER_ACCESS_READ;

	if (stepup_mailbox_check(box, access) < 0)
		return -1;
	return sbox->module_ctx.super.open(box);
}

static int
stepup_mailbox_get_status(struct mailbox *box,
			  enum mailbox_status_items items,
			  struct mailbox_status *status_r)
{
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(box);

	/* STATUS and LIST-STATUS may be answered from the list index
	   without an open */
	if (!box->opened && stepup_mailbox_check(box, STEPUP_FOLDER_ACCESS_STATUS) < 0)
		return -1;
	return sbox->module_ctx.super.get_status(box, items, status_r);
}

static int
stepup_mailbox_attribute_get(struct mailbox *box,
			     enum mail_attribute_type type_flags,
			     const char *key,
			     struct mail_attribute_value *value_r)
{
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(box);

	if (stepup_mailbox_check(box, STEPUP_FOLDER_ACCESS_STATUS) < 0)
		return -1;
	return sbox->module_ctx.super.attribute_get(box, type_flags, key,
						    value_r);
}

/* RENAME and DELETE act on a folder's children too: a rename of a parent
   would move a protected folder out from under its rule. The folder and
   every folder below it must be allowed; a listing that fails refuses. */
static int stepup_mailbox_check_tree(struct mailbox *box)
{
	struct mailbox_list_iterate_context *iter;
	const struct mailbox_info *info;
	struct mailbox *child;
	const char *pattern;
	char sep;
	int ret = 0;

	if (stepup_mailbox_check(box, STEPUP_FOLDER_ACCESS_CHANGE) < 0)
		return -1;
	/* '%' or '*' in the name only widens the listing */
	sep = mail_namespace_get_sep(mailbox_get_namespace(box));
	pattern = t_strdup_printf("%s%c*", box->vname, sep);
	/* RAW_LIST: every folder, also those LIST hides */
	iter = mailbox_list_iter_init(box->list, pattern,
				      MAILBOX_LIST_ITER_RAW_LIST |
				      MAILBOX_LIST_ITER_RETURN_NO_FLAGS);
	while (ret == 0 && (info = mailbox_list_iter_next(iter)) != NULL) {
		child = mailbox_alloc(box->list, info->vname, 0);
		if (stepup_mailbox_check(child, STEPUP_FOLDER_ACCESS_CHANGE) < 0) {
			mail_storage_set_error(box->storage, MAIL_ERROR_PERM,
					       MSG_PROTECTED_CHILD);
			ret = -1;
		}
		mailbox_free(&child);
	}
	if (mailbox_list_iter_deinit(&iter) < 0 && ret == 0) {
		e_error(stepup_event_passthrough(box->event)->event(), "%s: listing the folders below "
			"failed: %s: access refused",
			stepup_folder_access_to_str(STEPUP_FOLDER_ACCESS_CHANGE),
			mailbox_list_get_last_internal_error(box->list, NULL));
		mail_storage_set_internal_error(box->storage);
		ret = -1;
	}
	return ret;
}

/* SUBSCRIBE and others ask whether a folder exists: a `deny` one does not */
static int
stepup_mailbox_exists(struct mailbox *box, bool auto_boxes,
		      enum mailbox_existence *existence_r)
{
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(box);

	if ((box->flags & MAILBOX_FLAG_POST_SESSION) == 0 &&
	    stepup_user_folder_is_hidden(box->storage->user,
				    mailbox_get_namespace(box), box->vname)) {
		*existence_r = MAILBOX_EXISTENCE_NONE;
		return 0;
	}
	return sbox->module_ctx.super.exists(box, auto_boxes, existence_r);
}

/* CREATE (and the parents it creates) below a guarded folder changes the
   protected tree: it needs that folder's access. Checked before the
   storage looks, so a `deny` folder's existence is not revealed. */
static int
stepup_mailbox_create_box(struct mailbox *box,
			  const struct mailbox_update *update, bool directory)
{
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(box);

	if (stepup_mailbox_check(box, STEPUP_FOLDER_ACCESS_CREATE) < 0)
		return -1;
	return sbox->module_ctx.super.create_box(box, update, directory);
}

static int stepup_mailbox_delete_box(struct mailbox *box)
{
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(box);

	if (stepup_mailbox_check_tree(box) < 0)
		return -1;
	return sbox->module_ctx.super.delete_box(box);
}

static int stepup_mailbox_rename_box(struct mailbox *src, struct mailbox *dest)
{
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(src);

	/* both ends: moving a protected folder out from under its rule, or
	   an unprotected one under a protected parent */
	if (stepup_mailbox_check_tree(src) < 0)
		return -1;
	if (stepup_mailbox_check(dest, STEPUP_FOLDER_ACCESS_CREATE) < 0) {
		mail_storage_copy_error(src->storage, dest->storage);
		return -1;
	}
	return sbox->module_ctx.super.rename_box(src, dest);
}

struct stepup_search {
	union mail_search_module_context module_ctx;
	/* the fetch_limit refused the search: no results, this error */
	bool refused;
	enum mail_error error;
	const char *error_text;
};

static bool
stepup_search_reads_bodies(const struct mail_search_arg *arg)
{
	for (; arg != NULL; arg = arg->next) {
		switch (arg->type) {
		case SEARCH_BODY:
		case SEARCH_TEXT:
			return TRUE;
		case SEARCH_OR:
		case SEARCH_SUB:
		case SEARCH_INTHREAD:
			if (stepup_search_reads_bodies(arg->value.subargs))
				return TRUE;
			break;
		default:
			break;
		}
	}
	return FALSE;
}

/* A search in the text of a folder with a fetch_limit reads every message
   it looks at. A full-text index answers it without reading them, so
   every message of the folder is counted as read (each once per session)
   before it runs, with or without an index; past the limit the search
   fails with the fetch_limit's error. */
static struct mail_search_context *
stepup_mailbox_search_init(struct mailbox_transaction_context *t,
			   struct mail_search_args *args,
			   const enum mail_sort_type *sort_program,
			   enum mail_fetch_field wanted_fields,
			   struct mailbox_header_lookup_ctx *wanted_headers)
{
	struct mailbox *box = t->box;
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(box);
	struct mail_search_context *ctx;
	struct stepup_search *ssearch;
	struct mailbox_status status;
	uint32_t seq, uid;

	ctx = sbox->module_ctx.super.search_init(t, args, sort_program,
						 wanted_fields, wanted_headers);
	ssearch = p_new(ctx->args->pool, struct stepup_search, 1);
	MODULE_CONTEXT_SET(ctx, stepup_storage_module, ssearch);
	if (sbox->fetch_rule == NULL || !box->opened ||
	    !stepup_search_reads_bodies(args->args))
		return ctx;
	mailbox_get_open_status(box, STATUS_MESSAGES, &status);
	for (seq = 1; seq <= status.messages && !ssearch->refused; seq++) {
		mail_index_lookup_uid(t->view, seq, &uid);
		if (stepup_mail_count_uid(box, uid) < 0) {
			ssearch->refused = TRUE;
			ssearch->error_text = p_strdup(ctx->args->pool,
				mailbox_get_last_error(box, &ssearch->error));
		}
	}
	return ctx;
}

static bool
stepup_mailbox_search_next_nonblock(struct mail_search_context *ctx,
				    struct mail **mail_r, bool *tryagain_r)
{
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(ctx->transaction->box);
	struct stepup_search *ssearch =
		MODULE_CONTEXT_REQUIRE(ctx, stepup_storage_module);

	if (ssearch->refused) {
		*tryagain_r = FALSE;
		return FALSE;
	}
	return sbox->module_ctx.super.search_next_nonblock(ctx, mail_r,
							   tryagain_r);
}

static int stepup_mailbox_search_deinit(struct mail_search_context *ctx)
{
	struct mailbox *box = ctx->transaction->box;
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(box);
	struct stepup_search *ssearch =
		MODULE_CONTEXT_REQUIRE(ctx, stepup_storage_module);
	bool refused = ssearch->refused;
	enum mail_error error = ssearch->error;
	const char *error_text;

	if (!refused)
		return sbox->module_ctx.super.search_deinit(ctx);
	/* the args (and the text) live until the search's end */
	error_text = t_strdup(ssearch->error_text);
	(void)sbox->module_ctx.super.search_deinit(ctx);
	mail_storage_set_error(box->storage, error, error_text);
	return -1;
}

/* COPY and MOVE out of a folder with a fetch_limit read the message even
   when the storage only links the file: count it like a FETCH, or a
   session could copy a whole folder elsewhere and read it there. */
static int stepup_mailbox_copy(struct mail_save_context *ctx, struct mail *mail)
{
	struct mailbox *dest = ctx->transaction->box;
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(dest);

	if (MODULE_CONTEXT(mail->box, stepup_storage_module) != NULL &&
	    (stepup_mail_record_read(mail, t_strconcat(
		ctx->moving ? "move to " : "copy to ", dest->vname,
		NULL)) < 0 ||
	     stepup_mail_count_read(mail) < 0)) {
		mail_storage_copy_error(dest->storage, mail->box->storage);
		/* a copy that fails consumes its save context */
		mailbox_save_cancel(&ctx);
		return -1;
	}
	return sbox->module_ctx.super.copy(ctx, mail);
}

void stepup_mailbox_allocated(struct mailbox *box)
{
	struct mailbox_vfuncs *v = box->vlast;
	struct stepup_mailbox *sbox;

	if (STEPUP_USER_CONTEXT(box->storage->user) == NULL)
		return;
	sbox = p_new(box->pool, struct stepup_mailbox, 1);
	sbox->module_ctx.super = *v;
	box->vlast = &sbox->module_ctx.super;
	v->open = stepup_mailbox_open;
	v->get_status = stepup_mailbox_get_status;
	v->attribute_get = stepup_mailbox_attribute_get;
	v->exists = stepup_mailbox_exists;
	v->create_box = stepup_mailbox_create_box;
	v->delete_box = stepup_mailbox_delete_box;
	v->rename_box = stepup_mailbox_rename_box;
	v->copy = stepup_mailbox_copy;
	v->search_init = stepup_mailbox_search_init;
	v->search_next_nonblock = stepup_mailbox_search_next_nonblock;
	v->search_deinit = stepup_mailbox_search_deinit;
	MODULE_CONTEXT_SET(box, stepup_storage_module, sbox);
}
