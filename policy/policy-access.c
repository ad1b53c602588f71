/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* What a folder decision means for one access by one session: given or
   refused, what the event and the audit record say, whether a failed
   record refuses the access, which error the client gets. The mail
   plugin only carries it out. */

#include "lib.h"
#include "stepup-policy.h"

void stepup_folder_access_result(const struct stepup_folder_decision *d,
				 enum stepup_folder_access access, bool admin,
				 struct stepup_folder_result *result_r)
{
	struct stepup_folder_result *r = result_r;
	/* the rule lets the session in; doveadm always, and always logged */
	bool allow = d->require == STEPUP_FOLDER_NONE || d->allow || admin;
	bool guarded = d->require != STEPUP_FOLDER_NONE || !allow || admin;

	i_zero(r);
	r->granted = allow || d->audit_only;
	r->decision = allow || d->audit_only ? "allow" : "deny";
	r->log_info = guarded;
	r->log_note = admin ? ", admin" :
		(!allow && d->audit_only ? ", audit mode" : "");
	/* who opened (or was refused) a guarded folder. Counts and metadata
	   that a session may see (clients poll them all day) are not. */
	r->record = guarded &&
		(access != STEPUP_FOLDER_ACCESS_STATUS || !allow || admin);
	/* recorded before the access is given, or the access is not
	   given */
	r->refuse_unrecorded = r->granted;
	r->record_reason = d->reason;
	if (!allow && d->audit_only) {
		r->record_reason = t_strconcat("audit mode: enforce would "
					       "deny: ", r->record_reason, NULL);
	}
	if (admin) {
		r->record_reason = t_strconcat("admin access: ",
					       r->record_reason, NULL);
	}
	if (access != STEPUP_FOLDER_ACCESS_READ) {
		r->record_reason = t_strdup_printf("%s: %s",
			stepup_folder_access_to_str(access), r->record_reason);
	}
	r->fetch_limit = r->granted && access == STEPUP_FOLDER_ACCESS_READ &&
		d->fetch_limit_messages != 0 && d->rule != NULL && !admin;
	if (r->granted) {
		r->error = STEPUP_FOLDER_ERROR_NONE;
		return;
	}
	switch (d->require) {
	case STEPUP_FOLDER_DENY:
		/* looks like a folder that does not exist; creating it is
		   refused like a name the user may not create */
		r->error = access == STEPUP_FOLDER_ACCESS_CREATE ?
			STEPUP_FOLDER_ERROR_NO_PERMISSION :
			STEPUP_FOLDER_ERROR_NOT_FOUND;
		break;
	case STEPUP_FOLDER_TOTP:
	case STEPUP_FOLDER_TOTP_OR_APPROVAL:
		r->error = STEPUP_FOLDER_ERROR_NEED_TOTP;
		break;
	default:
		r->error = STEPUP_FOLDER_ERROR_NEED_APPROVAL;
		break;
	}
}
