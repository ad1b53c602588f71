/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* The listing hooks: a `deny` folder is not listed (LIST, LSUB), a folder
   whose children are all hidden has none, and other sessions' changes to
   a hidden folder are not notified (NOTIFY). */

#include "lib.h"
#include "mail-namespace.h"
#include "mailbox-list-iter.h"
#include "stepup-plugin-private.h"

struct stepup_mailbox_list_module stepup_mailbox_list_module =
	MODULE_CONTEXT_INIT(&mailbox_list_module_register);

/* Whether LIST may have to hide folders from this user's sessions. */
static bool stepup_user_hides_folders(struct mail_user *user)
{
	struct stepup_user *suser = STEPUP_USER_CONTEXT(user);

	return suser != NULL && !suser->delivery && !suser->admin;
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
	while (!visible && (child = mailbox_list_iter_next(iter)) != NULL) {
		visible = !stepup_user_folder_is_hidden(user, child->ns,
							child->vname);
	}
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
		if (!stepup_user_folder_is_hidden(user, info->ns, info->vname))
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
		if (!stepup_user_folder_is_hidden(list->ns->user, list->ns,
					     (*rec_r)->vname) &&
		    ((*rec_r)->old_vname == NULL ||
		     !stepup_user_folder_is_hidden(list->ns->user, list->ns,
					      (*rec_r)->old_vname)))
			break;
	}
	return ret;
}

void stepup_mailbox_list_created(struct mailbox_list *list)
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
