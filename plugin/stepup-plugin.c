/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Mail plugin "stepup": the session's login facts (set by the stepup
   passdb) and the folder rules of the policy, checked on every path into a
   mailbox: open (SELECT, EXAMINE, APPEND/COPY target, POP3), STATUS
   answered without an open, metadata, RENAME and DELETE of the folder or
   of a parent. */

#include "lib.h"
#include "ioloop.h"
#include "str.h"
#include "str-sanitize.h"
#include "buffer.h"
#include "safe-memset.h"
#include "module-context.h"
#include "mail-user.h"
#include "mail-namespace.h"
#include "mail-storage-private.h"
#include "mail-storage-hooks.h"
#include "mailbox-list-private.h"
#include "mailbox-list-iter.h"
#include "seq-range-array.h"
#include "mail-index.h"
#include "mail-search.h"
#include "stepup-compat.h"
#include "stepup-config.h"
#include "stepup-settings.h"
#include "stepup-facts.h"
#include "stepup-event.h"
#include "stepup-audit-client.h"
#include "stepup-policy.h"
#include "stepup-plugin.h"

#define STEPUP_USER_CONTEXT(obj) \
	MODULE_CONTEXT(obj, stepup_user_module)
#define STEPUP_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, stepup_storage_module)

#define MSG_NEED_TOTP \
	"This folder needs a recent two-step login: log in again with " \
	"your password followed by a one-time code."
#define MSG_NEED_APPROVAL \
	"This folder needs an approval, which is not available."
#define MSG_PROTECTED_CHILD \
	"This folder holds a protected folder: renaming or deleting it " \
	"needs the access that folder needs."
#define MSG_FETCH_LIMIT STEPUP_MSG_FETCH_LIMIT
#define MSG_NO_AUDIT \
	"This folder cannot be opened right now (audit log unavailable)."
#define MSG_NO_POLICY \
	"This folder cannot be opened right now (access policy unavailable)."

struct stepup_counted {
	const char *vname;
	ARRAY_TYPE(seq_range) uids;
};

struct stepup_user {
	union mail_user_module_context module_ctx;
	/* facts from the passdb (userdb fields stepup_*) */
	enum stepup_auth_level level;
	time_t mfa_time;
	const char *rule;
	/* deliveries, internal services (the FTS indexer) and admin tools
	   are not sessions of the user */
	bool delivery:1;
	bool admin:1;
	struct stepup_policy_cache *policy_cache;
	/* folder decisions go to the audit log through this service */
	struct stepup_audit_client *audit;
	/* the session in every record: user, session, service, ip, auth */
	struct stepup_audit_record who;
	/* message bodies counted against a fetch_limit, each once */
	ARRAY(struct stepup_counted) counted;
	/* reads refused by a fetch_limit so far (for imap_stepup) */
	unsigned int limit_refusals;
};

struct stepup_mailbox {
	union mailbox_module_context module_ctx;
	/* the fetch_limit of the rule that let the folder open: every
	   message body read from it is counted by the stepup-audit service,
	   each message once per session */
	const char *fetch_rule;
	unsigned int fetch_limit, fetch_window;
	bool fetch_enforce;
};

struct stepup_mailbox_list {
	union mailbox_list_module_context module_ctx;
};

const char *stepup_plugin_version = DOVECOT_ABI_VERSION;

static MODULE_CONTEXT_DEFINE_INIT(stepup_user_module,
				  &mail_user_module_register);
#define STEPUP_MAIL_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, stepup_mail_module)
static MODULE_CONTEXT_DEFINE_INIT(stepup_mail_module, &mail_module_register);
static MODULE_CONTEXT_DEFINE_INIT(stepup_storage_module,
				  &mail_storage_module_register);
#define STEPUP_LIST_CONTEXT(obj) \
	MODULE_CONTEXT_REQUIRE(obj, stepup_mailbox_list_module)
static MODULE_CONTEXT_DEFINE_INIT(stepup_mailbox_list_module,
				  &mailbox_list_module_register);

enum stepup_access {
	STEPUP_ACCESS_READ,	/* open: SELECT, EXAMINE, POP3 */
	STEPUP_ACCESS_STATUS,	/* STATUS without an open, metadata */
	STEPUP_ACCESS_SAVE,	/* APPEND, COPY/MOVE target */
	STEPUP_ACCESS_CHANGE,	/* RENAME, DELETE */
	STEPUP_ACCESS_CREATE,	/* CREATE, RENAME target */
};

static const char *const access_names[] = {
	"open", "status", "save", "change", "create",
};

static int
stepup_folder_audit(struct mailbox *box, struct stepup_user *suser,
		    enum stepup_access access, const char *decision,
		    const struct stepup_folder_decision *d, bool allow)
{
	const char *reason = d->reason, *error;
	struct stepup_audit_record rec;

	if (!allow && d->audit_only)
		reason = t_strconcat("audit mode: enforce would deny: ",
				     reason, NULL);
	if (suser->admin)
		reason = t_strconcat("admin access: ", reason, NULL);
	if (access != STEPUP_ACCESS_READ)
		reason = t_strdup_printf("%s: %s", access_names[access], reason);
	rec = suser->who;
	rec.event = "open";
	rec.mailbox = box->vname;
	rec.rule = d->rule;
	rec.decision = decision;
	rec.reason = reason;
	if (stepup_audit_client_send(suser->audit, &rec, &error) < 0) {
		e_error(box->event, "stepup: audit: %s: %s not recorded%s",
			error, decision, allow || d->audit_only ?
			", access refused" : "");
		return -1;
	}
	return 0;
}

static void
stepup_mailbox_set_fetch_limit(struct mailbox *box, struct stepup_user *suser,
			       const struct stepup_folder_decision *d)
{
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(box);

	if (d->fetch_limit_messages == 0 || d->rule == NULL || suser->admin)
		return;
	sbox->fetch_rule = p_strdup(box->pool, d->rule);
	sbox->fetch_limit = d->fetch_limit_messages;
	sbox->fetch_window = d->fetch_limit_window_secs;
	sbox->fetch_enforce = !d->audit_only;
}

/* The UIDs of vname counted in this session (any namespace's view of the
   folder, any mailbox object: URLFETCH counts before it opens). */
static ARRAY_TYPE(seq_range) *
stepup_user_counted(struct mail_user *user, struct stepup_user *suser,
		    const char *vname)
{
	struct stepup_counted *c;

	array_foreach_modifiable(&suser->counted, c) {
		if (strcmp(c->vname, vname) == 0)
			return &c->uids;
	}
	c = array_append_space(&suser->counted);
	c->vname = p_strdup(user->pool, vname);
	p_array_init(&c->uids, user->pool, 16);
	return &c->uids;
}

/* A message body of box is about to be read: count it against the
   folder's fetch_limit. -1 = refused (storage error set). */
static int stepup_count_read(struct mailbox *box, uint32_t uid)
{
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(box);
	struct mail_user *user = box->storage->user;
	struct stepup_user *suser = STEPUP_USER_CONTEXT(user);
	ARRAY_TYPE(seq_range) *counted;
	struct stepup_fetch_request req;
	const char *error;
	int ret;

	if (sbox->fetch_rule == NULL || uid == 0)
		return 0;
	counted = stepup_user_counted(user, suser, box->vname);
	if (seq_range_exists(counted, uid))
		return 0;
	i_zero(&req);
	req.rec = suser->who;
	req.rec.mailbox = box->vname;
	req.rec.rule = sbox->fetch_rule;
	req.limit = sbox->fetch_limit;
	req.window_secs = sbox->fetch_window;
	req.enforce = sbox->fetch_enforce;
	ret = stepup_audit_client_fetch(suser->audit, &req, &error);
	if (ret > 0 || (ret == 0 && !sbox->fetch_enforce)) {
		seq_range_array_add(counted, uid);
		return 0;
	}
	if (ret == 0) {
		e_warning(box->event, "stepup: fetch_limit of rule '%s' "
			  "reached (%u messages per %us): read of UID %u "
			  "refused", sbox->fetch_rule, sbox->fetch_limit,
			  sbox->fetch_window, uid);
		suser->limit_refusals++;
		mail_storage_set_error(box->storage, MAIL_ERROR_LIMIT,
				       MSG_FETCH_LIMIT);
		return -1;
	}
	e_error(box->event, "stepup: audit: %s: read of UID %u not counted%s",
		error, uid, sbox->fetch_enforce ? ", refused" : "");
	if (!sbox->fetch_enforce)
		return 0;
	mail_storage_set_error(box->storage, MAIL_ERROR_UNAVAILABLE,
			       MSG_NO_AUDIT);
	return -1;
}

static int stepup_mail_count_read(struct mail *mail)
{
	/* a message being saved (APPEND, COPY into) is not a read */
	if (mail->saving)
		return 0;
	return stepup_count_read(mail->box, mail->uid);
}

/* Dovecot opens the message only to count its size (FETCH RFC822.SIZE on
   maildir files without ,S= / ,W=, quota): nothing of it reaches the
   client, so it is not a read. A body fetch calls get_stream outside a
   size lookup and is counted then. */
struct stepup_mail {
	union mail_module_context module_ctx;
	/* inside get_virtual_size / get_physical_size */
	bool size_lookup;
};

static int stepup_mail_get_virtual_size(struct mail *_mail, uoff_t *size_r)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct stepup_mail *smail = STEPUP_MAIL_CONTEXT(mail);
	bool old = smail->size_lookup;
	int ret;

	smail->size_lookup = TRUE;
	ret = smail->module_ctx.super.get_virtual_size(_mail, size_r);
	smail->size_lookup = old;
	return ret;
}

static int stepup_mail_get_physical_size(struct mail *_mail, uoff_t *size_r)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct stepup_mail *smail = STEPUP_MAIL_CONTEXT(mail);
	bool old = smail->size_lookup;
	int ret;

	smail->size_lookup = TRUE;
	ret = smail->module_ctx.super.get_physical_size(_mail, size_r);
	smail->size_lookup = old;
	return ret;
}

static int
stepup_mail_get_stream(struct mail *_mail, bool get_body,
		       struct message_size *hdr_size,
		       struct message_size *body_size,
		       struct istream **stream_r)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct stepup_mail *smail = STEPUP_MAIL_CONTEXT(mail);

	if (get_body && !smail->size_lookup &&
	    stepup_mail_count_read(_mail) < 0)
		return -1;
	return smail->module_ctx.super.get_stream(_mail, get_body, hdr_size,
						  body_size, stream_r);
}

static int
stepup_mail_get_binary_stream(struct mail *_mail,
			      const struct message_part *part,
			      bool include_hdr, uoff_t *size_r,
			      unsigned int *lines_r, bool *binary_r,
			      struct istream **stream_r)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct stepup_mail *smail = STEPUP_MAIL_CONTEXT(mail);

	if (stepup_mail_count_read(_mail) < 0)
		return -1;
	return smail->module_ctx.super.get_binary_stream(_mail, part,
		include_hdr, size_r, lines_r, binary_r, stream_r);
}

static void stepup_mail_allocated(struct mail *_mail)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct mail_vfuncs *v = mail->vlast;
	struct stepup_mail *smail;

	if (MODULE_CONTEXT(_mail->box, stepup_storage_module) == NULL)
		return;
	smail = p_new(mail->pool, struct stepup_mail, 1);
	smail->module_ctx.super = *v;
	mail->vlast = &smail->module_ctx.super;
	v->get_stream = stepup_mail_get_stream;
	v->get_binary_stream = stepup_mail_get_binary_stream;
	v->get_virtual_size = stepup_mail_get_virtual_size;
	v->get_physical_size = stepup_mail_get_physical_size;
	MODULE_CONTEXT_SET(mail, stepup_mail_module, smail);
}

/* The folder rule that applies to vname in ns for this session.
   -1 = no good policy (error_r). */
static int
stepup_folder_decide(struct mail_user *user, struct stepup_user *suser,
		     struct mail_namespace *ns, const char *vname,
		     struct stepup_folder_decision *d_r, const char **error_r)
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

/* A `deny` folder looks like no folder to the user's own sessions (not to
   deliveries, doveadm, or in audit mode): LIST does not show it. */
static bool
stepup_folder_is_hidden(struct mail_user *user, struct mail_namespace *ns,
			const char *vname)
{
	struct stepup_user *suser = STEPUP_USER_CONTEXT(user);
	struct stepup_folder_decision d;
	const char *error;

	if (suser == NULL || suser->delivery || suser->admin)
		return FALSE;
	/* no good policy: opens are refused, names stay listed */
	if (stepup_folder_decide(user, suser, ns, vname, &d, &error) < 0)
		return FALSE;
	return d.require == STEPUP_FOLDER_DENY && !d.allow && !d.audit_only;
}

/* Whether LIST may have to hide folders from this user's sessions. */
static bool stepup_user_hides_folders(struct mail_user *user)
{
	struct stepup_user *suser = STEPUP_USER_CONTEXT(user);

	return suser != NULL && !suser->delivery && !suser->admin;
}

/* -1 = refused (storage error set), 0 = allowed */
static int
stepup_mailbox_check(struct mailbox *box, enum stepup_access access)
{
	struct mail_user *user = box->storage->user;
	struct stepup_user *suser = STEPUP_USER_CONTEXT(user);
	const struct stepup_policy *policy;
	struct stepup_folder_decision d;
	const char *error, *decision;
	bool allow;

	if (suser == NULL)
		return 0;
	/* Deliveries (LMTP, LDA, sieve fileinto) are never blocked. */
	if (suser->delivery || (box->flags & MAILBOX_FLAG_POST_SESSION) != 0)
		return 0;

	if (stepup_folder_decide(user, suser, mailbox_get_namespace(box),
				 box->vname, &d, &error) < 0 ||
	    stepup_policy_cache_get(suser->policy_cache, ioloop_time,
				    &policy, &error) < 0) {
		e_error(box->event, "stepup: %s: access refused", error);
		mail_storage_set_error(box->storage, MAIL_ERROR_PERM,
				       MSG_NO_POLICY);
		return -1;
	}

	allow = d.require == STEPUP_FOLDER_NONE || d.allow;
	if (suser->admin)
		allow = TRUE;	/* doveadm: allowed, always logged */
	decision = allow ? "allow" : (d.audit_only ? "allow" : "deny");

	{
		struct event_passthrough *e =
			event_create_passthrough(box->event)->
			set_name("stepup_decision")->
			add_category(&event_category_stepup)->
			add_str("kind", "folder")->
			add_str("access", access_names[access])->
			add_str("decision", decision)->
			add_str("rule", d.rule == NULL ? "" : d.rule)->
			add_str("auth", stepup_auth_level_to_str(suser->level))->
			add_str("reason", d.reason);
		/* every open is an event; those a rule guards are also
		   logged at info level */
		if (d.require != STEPUP_FOLDER_NONE || !allow || suser->admin) {
			e_info(e->event(), "stepup: %s %s (rule=%s, auth=%s%s): %s",
			       access_names[access], decision,
			       d.rule == NULL ? "-" : d.rule,
			       stepup_auth_level_to_str(suser->level),
			       suser->admin ? ", admin" :
			       (!allow && d.audit_only ? ", audit mode" : ""),
			       str_sanitize(d.reason, 256));
		} else {
			e_debug(e->event(), "stepup: %s allow (flags=0x%x): %s",
				access_names[access], box->flags, d.reason);
		}
	}
	/* who opened (or was refused) a guarded folder: recorded before the
	   access is given, or the access is not given. Counts and metadata
	   that a session may see (clients poll them all day) are not. */
	if ((d.require != STEPUP_FOLDER_NONE || !allow || suser->admin) &&
	    (access != STEPUP_ACCESS_STATUS || !allow || suser->admin) &&
	    stepup_policy_get_audit_path(policy) != NULL &&
	    stepup_folder_audit(box, suser, access, decision, &d, allow) < 0 &&
	    (allow || d.audit_only)) {
		mail_storage_set_error(box->storage, MAIL_ERROR_UNAVAILABLE,
				       MSG_NO_AUDIT);
		return -1;
	}
	if (allow || d.audit_only) {
		if (access == STEPUP_ACCESS_READ)
			stepup_mailbox_set_fetch_limit(box, suser, &d);
		return 0;
	}

	switch (d.require) {
	case STEPUP_FOLDER_DENY:
		/* looks like a folder that does not exist; creating it is
		   refused like a name the user may not create, before the
		   storage could say that it exists */
		if (access == STEPUP_ACCESS_CREATE) {
			mail_storage_set_error(box->storage, MAIL_ERROR_PERM,
					       MAIL_ERRSTR_NO_PERMISSION);
		} else {
			mail_storage_set_error(box->storage, MAIL_ERROR_NOTFOUND,
				T_MAIL_ERR_MAILBOX_NOT_FOUND(box->vname));
		}
		break;
	case STEPUP_FOLDER_TOTP:
	case STEPUP_FOLDER_TOTP_OR_APPROVAL:
		mail_storage_set_error(box->storage, MAIL_ERROR_PERM,
				       MSG_NEED_TOTP);
		break;
	default:
		mail_storage_set_error(box->storage, MAIL_ERROR_PERM,
				       MSG_NEED_APPROVAL);
		break;
	}
	return -1;
}

static int stepup_mailbox_open(struct mailbox *box)
{
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(box);
	enum stepup_access access =
		(box->flags & MAILBOX_FLAG_SAVEONLY) != 0 ?
		STEPUP_ACCESS_SAVE : STEPUP_ACCESS_READ;

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
	if (!box->opened && stepup_mailbox_check(box, STEPUP_ACCESS_STATUS) < 0)
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

	if (stepup_mailbox_check(box, STEPUP_ACCESS_STATUS) < 0)
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

	if (stepup_mailbox_check(box, STEPUP_ACCESS_CHANGE) < 0)
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
		if (stepup_mailbox_check(child, STEPUP_ACCESS_CHANGE) < 0) {
			mail_storage_set_error(box->storage, MAIL_ERROR_PERM,
					       MSG_PROTECTED_CHILD);
			ret = -1;
		}
		mailbox_free(&child);
	}
	if (mailbox_list_iter_deinit(&iter) < 0 && ret == 0) {
		e_error(box->event, "stepup: %s: listing the folders below "
			"failed: %s: access refused", access_names[
			STEPUP_ACCESS_CHANGE], mailbox_list_get_last_internal_error(
			box->list, NULL));
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
	    stepup_folder_is_hidden(box->storage->user,
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

	if (stepup_mailbox_check(box, STEPUP_ACCESS_CREATE) < 0)
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
	if (stepup_mailbox_check(dest, STEPUP_ACCESS_CREATE) < 0) {
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
		if (stepup_count_read(box, uid) < 0) {
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
	    stepup_mail_count_read(mail) < 0) {
		mail_storage_copy_error(dest->storage, mail->box->storage);
		/* a copy that fails consumes its save context */
		mailbox_save_cancel(&ctx);
		return -1;
	}
	return sbox->module_ctx.super.copy(ctx, mail);
}

static void stepup_mailbox_allocated(struct mailbox *box)
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

/* A folder whose children are all hidden has no children to the session
   (\HasNoChildren): a hidden child hides its whole tree, so the direct
   children tell. */
static const struct mailbox_info *
stepup_list_hide_children(struct mailbox_list_iterate_context *ctx,
			  const struct mailbox_info *info)
{
	struct mail_user *user = ctx->list->ns->user;
	struct mailbox_list_iterate_context *iter;
	const struct mailbox_info *child;
	struct mailbox_info *copy;
	bool visible = FALSE;

	if ((info->flags & MAILBOX_CHILDREN) == 0)
		return info;
	iter = mailbox_list_iter_init(info->ns->list, t_strdup_printf("%s%c%%",
		info->vname, mail_namespace_get_sep(info->ns)),
		MAILBOX_LIST_ITER_RAW_LIST | MAILBOX_LIST_ITER_RETURN_NO_FLAGS);
	while (!visible && (child = mailbox_list_iter_next(iter)) != NULL)
		visible = !stepup_folder_is_hidden(user, child->ns, child->vname);
	/* a failed listing: keep what Dovecot said */
	if (mailbox_list_iter_deinit(&iter) < 0 || visible)
		return info;
	copy = p_new(ctx->pool, struct mailbox_info, 1);
	*copy = *info;
	copy->flags = (copy->flags & ENUM_NEGATE(MAILBOX_CHILDREN)) |
		MAILBOX_NOCHILDREN;
	return copy;
}

static const struct mailbox_info *
stepup_list_iter_next(struct mailbox_list_iterate_context *ctx)
{
	struct stepup_mailbox_list *slist = STEPUP_LIST_CONTEXT(ctx->list);
	struct mail_user *user = ctx->list->ns->user;
	const struct mailbox_info *info;

	while ((info = slist->module_ctx.super.iter_next(ctx)) != NULL) {
		if ((ctx->flags & MAILBOX_LIST_ITER_RAW_LIST) != 0)
			return info;
		if (!stepup_folder_is_hidden(user, info->ns, info->vname))
			break;
	}
	if (info == NULL || !stepup_user_hides_folders(user))
		return info;
	return stepup_list_hide_children(ctx, info);
}

/* NOTIFY's LIST and STATUS replies about other sessions' changes */
static int
stepup_list_notify_next(struct mailbox_list_notify *notify,
			const struct mailbox_list_notify_rec **rec_r)
{
	struct mailbox_list *list = notify->list;
	struct stepup_mailbox_list *slist = STEPUP_LIST_CONTEXT(list);
	int ret;

	while ((ret = slist->module_ctx.super.notify_next(notify, rec_r)) > 0) {
		if (!stepup_folder_is_hidden(list->ns->user, list->ns,
					     (*rec_r)->vname) &&
		    ((*rec_r)->old_vname == NULL ||
		     !stepup_folder_is_hidden(list->ns->user, list->ns,
					      (*rec_r)->old_vname)))
			break;
	}
	return ret;
}

static void stepup_mailbox_list_created(struct mailbox_list *list)
{
	struct mailbox_list_vfuncs *v = list->vlast;
	struct stepup_mailbox_list *slist;

	if (STEPUP_USER_CONTEXT(list->ns->user) == NULL)
		return;
	slist = p_new(list->pool, struct stepup_mailbox_list, 1);
	slist->module_ctx.super = *v;
	list->vlast = &slist->module_ctx.super;
	v->iter_next = stepup_list_iter_next;
	/* set by the list index after this hook; called only for a
	   notify that its notify_init made */
	v->notify_next = stepup_list_notify_next;
	MODULE_CONTEXT_SET(list, stepup_mailbox_list_module, slist);
}

static void stepup_user_deinit(struct mail_user *user)
{
	struct stepup_user *suser = STEPUP_USER_CONTEXT(user);

	stepup_policy_cache_deinit(&suser->policy_cache);
	stepup_audit_client_deinit(&suser->audit);
	suser->module_ctx.super.deinit(user);
}

/* The passdb's facts, signed with the session key. Anything missing,
   malformed or not signed by the passdb counts as no level at all. */
static void stepup_user_read_facts(struct mail_user *user,
				   struct stepup_user *suser)
{
	const char *level = mail_user_plugin_getenv(user, "stepup_level");
	const char *mfa_time = mail_user_plugin_getenv(user,
						       "stepup_mfa_time");
	const char *rule = mail_user_plugin_getenv(user, "stepup_rule");
	const char *sig = mail_user_plugin_getenv(user, "stepup_sig");
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
		e_error(user->event, "stepup: session key: %s: the session "
			"has no login level", error);
		return;
	}
	if (!stepup_facts_verify(key, user->username, user->session_id,
				 level, mfa_time == NULL ? "" : mfa_time,
				 rule == NULL ? "" : rule, sig)) {
		e_warning(user->event, "stepup: the session's login facts "
			  "are not signed by the stepup passdb (set by a "
			  "userdb?): the session has no login level");
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

static void stepup_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct stepup_user *suser;
	const char *path;

	suser = p_new(user->pool, struct stepup_user, 1);
	suser->module_ctx.super = *v;
	user->vlast = &suser->module_ctx.super;
	v->deinit = stepup_user_deinit;

	/* the indexer builds full-text indexes of every folder; searches
	   in them are guarded like reads (stepup_mailbox_search_init) */
	suser->delivery = strcmp(user->service, "lmtp") == 0 ||
		strcmp(user->service, "lda") == 0 ||
		strcmp(user->service, "indexer-worker") == 0;
	suser->admin = strcmp(user->service, "doveadm") == 0;
	path = mail_user_plugin_getenv(user, "stepup_policy");
	if (path == NULL || path[0] == '\0')
		path = STEPUP_DEFAULT_POLICY;
	suser->policy_cache = stepup_policy_cache_init(path, user->event);
	path = mail_user_plugin_getenv(user, "stepup_audit_socket");
	if (path == NULL || path[0] == '\0')
		path = "stepup-audit";
	if (path[0] != '/')
		path = t_strconcat(user->set->base_dir, "/", path, NULL);
	/* the passdb's token binds the connection to this session; doveadm
	   has none (its records are admin access) */
	suser->audit = stepup_audit_client_init(path, user->username,
		user->session_id,
		mail_user_plugin_getenv(user, "stepup_audit_token"));
	p_array_init(&suser->counted, user->pool, 4);
	stepup_user_read_facts(user, suser);
	suser->who.user = user->username;
	suser->who.session = user->session_id;
	suser->who.service = user->service;
	suser->who.ip = user->conn.remote_ip == NULL ? NULL :
		p_strdup(user->pool, net_ip2addr(user->conn.remote_ip));
	suser->who.auth = suser->level == STEPUP_AUTH_NONE ? NULL :
		stepup_auth_level_to_str(suser->level);
	MODULE_CONTEXT_SET(user, stepup_user_module, suser);

	e_debug(user->event, "stepup: session level=%s mfa_time=%ld rule=%s",
		stepup_auth_level_to_str(suser->level), (long)suser->mfa_time,
		suser->rule == NULL ? "-" : suser->rule);
}

unsigned int stepup_plugin_limit_refusals(struct mail_user *user)
{
	struct stepup_user *suser = STEPUP_USER_CONTEXT(user);

	return suser == NULL ? 0 : suser->limit_refusals;
}

bool stepup_plugin_box_counts_reads(struct mailbox *box)
{
	struct stepup_mailbox *sbox =
		MODULE_CONTEXT(box, stepup_storage_module);

	return sbox != NULL && sbox->fetch_rule != NULL && sbox->fetch_enforce;
}

int stepup_plugin_count_url_read(struct mail_user *user, const char *vname,
				 uint32_t uid, enum mail_error *error_code_r,
				 const char **error_r)
{
	struct stepup_user *suser = STEPUP_USER_CONTEXT(user);
	struct stepup_folder_decision d;
	struct mail_namespace *ns;
	struct mailbox *box;
	const char *error;
	int ret = 0;

	if (suser == NULL || suser->admin || suser->delivery)
		return 0;
	ns = mail_namespace_find(user->namespaces, vname);
	box = mailbox_alloc(ns->list, vname, MAILBOX_FLAG_READONLY);
	/* folders the session may not open are refused by the open, and a
	   failed policy there as well */
	if (stepup_folder_decide(user, suser, ns, box->vname, &d, &error) == 0 &&
	    (d.require == STEPUP_FOLDER_NONE || d.allow || d.audit_only)) {
		stepup_mailbox_set_fetch_limit(box, suser, &d);
		if ((ret = stepup_count_read(box, uid)) < 0) {
			*error_r = t_strdup(mailbox_get_last_error(box,
								  error_code_r));
		}
	}
	mailbox_free(&box);
	return ret;
}

static struct mail_storage_hooks stepup_mail_storage_hooks = {
	.mail_user_created = stepup_mail_user_created,
	.mailbox_list_created = stepup_mailbox_list_created,
	.mailbox_allocated = stepup_mailbox_allocated,
	.mail_allocated = stepup_mail_allocated,
};

void stepup_plugin_init(struct module *module)
{
	mail_storage_hooks_add(module, &stepup_mail_storage_hooks);
}

void stepup_plugin_deinit(void)
{
	mail_storage_hooks_remove(&stepup_mail_storage_hooks);
}
