/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The message reads: every body read from a folder whose rule has a
   fetch_limit is counted by the stepup-audit service, each message once
   per session; a read over an enforced limit is refused. */

#include "lib.h"
#include "mail-namespace.h"
#include "stepup-compat.h"
#include "stepup-event.h"
#include "stepup-audit-client.h"
#include "stepup-reads.h"
#include "stepup-plugin-private.h"

#include <time.h>

struct stepup_mail_module stepup_mail_module =
	MODULE_CONTEXT_INIT(&mail_module_register);

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

static struct stepup_fetch_lease *
stepup_user_lease(struct mail_user *user, struct stepup_user *suser,
		  const char *rule)
{
	struct stepup_rule_lease *l;

	array_foreach_modifiable(&suser->leases, l) {
		if (strcmp(l->rule, rule) == 0)
			return &l->lease;
	}
	l = array_append_space(&suser->leases);
	l->rule = p_strdup(user->pool, rule);
	return &l->lease;
}

/* Count one read with the service: it counts a lease (this read and
   some ahead). 1 = counted, 0 = over the limit, -1 = no answer. */
static int
stepup_mail_count_ask(struct stepup_mailbox *sbox, struct mailbox *box,
		      struct stepup_user *suser,
		      struct stepup_fetch_lease *lease, const char **error_r)
{
	struct stepup_fetch_request req;
	struct stepup_fetch_release rel;
	time_t now = time(NULL), old_end = lease->end, end;
	unsigned int granted;
	int ret;

	i_zero(&req);
	req.want = stepup_fetch_lease_want(lease, now, &rel.count);
	if (rel.count > 0) {
		/* left of other limits (a policy reload) */
		rel.user = suser->who.user;
		rel.session = suser->who.session;
		rel.rule = sbox->fetch_rule;
		rel.end = old_end;
		stepup_audit_client_release(suser->audit, &rel);
	}
	req.rec = suser->who;
	req.rec.mailbox = box->vname;
	req.rec.rule = sbox->fetch_rule;
	req.limit = sbox->fetch_limit;
	req.window_secs = sbox->fetch_window;
	req.enforce = sbox->fetch_enforce;
	ret = stepup_audit_client_fetch(suser->audit, &req, &granted, &end,
					error_r);
	if (ret > 0) {
		stepup_fetch_lease_set(lease, sbox->fetch_limit,
				       sbox->fetch_window, granted, end, now);
	}
	return ret;
}

void stepup_mail_release_leases(struct stepup_user *suser)
{
	struct stepup_rule_lease *l;
	struct stepup_fetch_release rel;
	time_t now = time(NULL);

	i_zero(&rel);
	rel.user = suser->who.user;
	rel.session = suser->who.session;
	array_foreach_modifiable(&suser->leases, l) {
		rel.rule = l->rule;
		rel.end = l->lease.end;
		rel.count = stepup_fetch_lease_unused(&l->lease, now);
		if (rel.count > 0)
			stepup_audit_client_release(suser->audit, &rel);
	}
}

/* A message body of box is about to be read: count it against the
   folder's fetch_limit, from the session's lease if it has reads left.
   -1 = refused (storage error set). */
int stepup_mail_count_uid(struct mailbox *box, uint32_t uid)
{
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(box);
	struct mail_user *user = box->storage->user;
	struct stepup_user *suser = STEPUP_USER_CONTEXT(user);
	ARRAY_TYPE(seq_range) *counted;
	struct stepup_fetch_lease *lease;
	const char *error;
	int ret;

	if (sbox->fetch_rule == NULL || uid == 0)
		return 0;
	counted = stepup_user_counted(user, suser, box->vname);
	if (seq_range_exists(counted, uid))
		return 0;
	lease = stepup_user_lease(user, suser, sbox->fetch_rule);
	if (stepup_fetch_lease_take(lease, sbox->fetch_limit,
				    sbox->fetch_window, time(NULL))) {
		/* counted by the service when it granted the lease */
		seq_range_array_add(counted, uid);
		return 0;
	}
	ret = stepup_mail_count_ask(sbox, box, suser, lease, &error);
	if (ret > 0 || (ret == 0 && !sbox->fetch_enforce)) {
		seq_range_array_add(counted, uid);
		return 0;
	}
	if (ret == 0) {
		e_warning(stepup_event_passthrough(box->event)->event(), "fetch_limit of rule '%s' "
			  "reached (%u messages per %us): read of UID %u "
			  "refused", sbox->fetch_rule, sbox->fetch_limit,
			  sbox->fetch_window, uid);
		suser->limit_refusals++;
		mail_storage_set_error(box->storage, MAIL_ERROR_LIMIT,
				       MSG_FETCH_LIMIT);
		return -1;
	}
	e_error(stepup_event_passthrough(box->event)->event(), "audit: %s: read of UID %u not counted%s",
		error, uid, sbox->fetch_enforce ? ", refused" : "");
	if (!sbox->fetch_enforce)
		return 0;
	mail_storage_set_error(box->storage, MAIL_ERROR_UNAVAILABLE,
			       MSG_NO_AUDIT);
	return -1;
}

int stepup_mail_record_read(struct mail *mail, const char *how)
{
	struct mailbox *box = mail->box;
	struct stepup_mailbox *sbox = STEPUP_CONTEXT(box);
	struct stepup_user *suser = STEPUP_USER_CONTEXT(box->storage->user);
	const char *error;

	if (!sbox->reads_audited || mail->saving)
		return 0;
	if (stepup_reads_record(suser->reads, suser->audit, &suser->who, mail,
				sbox->reads_rule, how, &error) == 0)
		return 0;
	e_error(stepup_event_passthrough(box->event)->event(),
		"audit: %s: read of UID %u not recorded, refused", error,
		mail->uid);
	mail_storage_set_error(box->storage, MAIL_ERROR_UNAVAILABLE,
			       MSG_NO_AUDIT);
	return -1;
}

int stepup_mail_count_read(struct mail *mail)
{
	/* a message being saved (APPEND, COPY into) is not a read */
	if (mail->saving)
		return 0;
	return stepup_mail_count_uid(mail->box, mail->uid);
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
	    ((stepup_reads_stream_is_read(mail->get_stream_reason) &&
	      stepup_mail_record_read(_mail, "body") < 0) ||
	     stepup_mail_count_read(_mail) < 0))
		return -1;
	return smail->module_ctx.super.get_stream(_mail, get_body, hdr_size,
						  body_size, stream_r);
}

static int
stepup_mail_get_binary_stream(struct mail *_mail,
			      const struct message_part *part,
			      bool include_hdr, STEPUP_BINARY_STREAM_PARAMS,
			      struct istream **stream_r)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct stepup_mail *smail = STEPUP_MAIL_CONTEXT(mail);

	if (stepup_mail_record_read(_mail, "binary") < 0 ||
	    stepup_mail_count_read(_mail) < 0)
		return -1;
	return smail->module_ctx.super.get_binary_stream(_mail, part,
		include_hdr, STEPUP_BINARY_STREAM_ARGS, stream_r);
}

void stepup_mail_allocated(struct mail *_mail)
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
	struct stepup_folder_result r;
	struct mail_namespace *ns;
	struct mailbox *box;
	const char *error;
	int ret = 0;

	if (suser == NULL || suser->admin || suser->delivery)
		return 0;
	i_zero(&r);
	ns = mail_namespace_find(user->namespaces, vname);
	box = mailbox_alloc(ns->list, vname, MAILBOX_FLAG_READONLY);
	/* folders the session may not open are refused by the open, and a
	   failed policy there as well */
	if (stepup_user_folder_decide(user, suser, ns, box->vname, &d,
				      &error) == 0) {
		stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_READ,
					    FALSE, &r);
	}
	if (r.granted) {
		if (r.fetch_limit)
			stepup_mailbox_set_fetch_limit(box, &d);
		if ((ret = stepup_mail_count_uid(box, uid)) < 0) {
			*error_r = t_strdup(mailbox_get_last_error(box,
								  error_code_r));
		}
	}
	mailbox_free(&box);
	return ret;
}
