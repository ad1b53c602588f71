/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Approval grants and pending requests in the user's record, so they
   survive a restart of the stepup-audit service and are seen (and ended)
   by "stepup status", "stepup approval revoke" and "stepup reset". */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "strnum.h"
#include "strescape.h"
#include "state-private.h"

static int parse_time(const char *str, time_t *t_r)
{
	int64_t v;

	if (str_to_int64(str, &v) < 0 || v < 0)
		return -1;
	*t_r = (time_t)v;
	return 0;
}

static bool scope_is_valid(const char *scope)
{
	return strcmp(scope, "ip") == 0 || strcmp(scope, "session") == 0 ||
		strcmp(scope, "user") == 0;
}

int state_approval_entry_parse(const char *const *f, unsigned int n,
			       struct stepup_approval_entry *entry_r)
{
	i_zero(entry_r);
	if (strcmp(f[0], "grant") == 0)
		entry_r->type = STEPUP_APPROVAL_ENTRY_GRANT;
	else if (strcmp(f[0], "pending") == 0)
		entry_r->type = STEPUP_APPROVAL_ENTRY_PENDING;
	else
		return -1;
	entry_r->mailbox = f[1];
	entry_r->scope = f[2];
	entry_r->scope_value = f[3];
	entry_r->request_id = f[4];
	entry_r->binding_code = f[5];
	entry_r->approver = f[8];
	entry_r->body = n > 9 ? f[9] : "";
	if (!scope_is_valid(entry_r->scope) || entry_r->mailbox[0] == '\0' ||
	    parse_time(f[6], &entry_r->created) < 0 ||
	    parse_time(f[7], &entry_r->expires) < 0)
		return -1;
	return 0;
}

void state_approval_entries_format(string_t *str,
				   const ARRAY_TYPE(stepup_approval_entry) *entries)
{
	const struct stepup_approval_entry *e;

	array_foreach(entries, e) {
		str_printfa(str, "approval\t%s\t",
			    e->type == STEPUP_APPROVAL_ENTRY_GRANT ?
			    "grant" : "pending");
		str_append_tabescaped(str, e->mailbox);
		str_printfa(str, "\t%s\t", e->scope);
		str_append_tabescaped(str, e->scope_value);
		str_append_c(str, '\t');
		str_append_tabescaped(str, e->request_id);
		str_append_c(str, '\t');
		str_append_tabescaped(str, e->binding_code);
		str_printfa(str, "\t%ld\t%ld\t", (long)e->created,
			    (long)e->expires);
		str_append_tabescaped(str, e->approver);
		if (e->body != NULL && e->body[0] != '\0') {
			str_append_c(str, '\t');
			str_append_tabescaped(str, e->body);
		}
		str_append_c(str, '\n');
	}
}

static bool
entry_matches(const struct stepup_approval_entry *e,
	      enum stepup_approval_entry_type type, const char *mailbox,
	      const char *scope, const char *scope_value)
{
	return e->type == type && strcmp(e->mailbox, mailbox) == 0 &&
		strcmp(e->scope, scope) == 0 &&
		strcmp(e->scope_value, scope_value) == 0;
}

int stepup_state_approval_get(struct stepup_state *state, const char *user,
			      enum stepup_approval_entry_type type,
			      const char *mailbox, const char *scope,
			      const char *scope_value, time_t now,
			      struct stepup_approval_entry *entry_r,
			      const char **error_r)
{
	struct state_record rec;
	const struct stepup_approval_entry *e;
	int ret;

	if ((ret = state_record_read(state, user, &rec, error_r)) <= 0)
		return ret;
	ret = 0;
	array_foreach(&rec.approvals, e) {
		if (entry_matches(e, type, mailbox, scope, scope_value) &&
		    e->expires > now) {
			*entry_r = *e;
			ret = 1;
			break;
		}
	}
	state_record_wipe(&rec);
	return ret;
}

int stepup_state_approval_put(struct stepup_state *state, const char *user,
			      const struct stepup_approval_entry *entry,
			      time_t now, const char **error_r)
{
	struct state_txn txn;
	const struct stepup_approval_entry *e;
	unsigned int i;
	int ret;

	i_assert(scope_is_valid(entry->scope));
	if (txn_begin(state, user, &txn, error_r) < 0)
		return -1;
	for (i = 0; i < array_count(&txn.rec.approvals); ) {
		e = array_idx(&txn.rec.approvals, i);
		if (e->expires <= now ||
		    entry_matches(e, entry->type, entry->mailbox, entry->scope,
				  entry->scope_value))
			array_delete(&txn.rec.approvals, i, 1);
		else
			i++;
	}
	while (array_count(&txn.rec.approvals) >= STEPUP_APPROVAL_ENTRIES_MAX)
		array_delete(&txn.rec.approvals, 0, 1);
	array_push_back(&txn.rec.approvals, entry);
	ret = txn_commit(&txn, error_r);
	txn_end(&txn);
	return ret < 0 ? -1 : 0;
}

int stepup_state_approval_pending_count(struct stepup_state *state,
					const char *user, const char *mailbox,
					time_t now,
					unsigned int *mailbox_count_r,
					unsigned int *total_r,
					const char **error_r)
{
	struct state_record rec;
	const struct stepup_approval_entry *e;
	int ret;

	*mailbox_count_r = *total_r = 0;
	if ((ret = state_record_read(state, user, &rec, error_r)) <= 0)
		return ret;
	array_foreach(&rec.approvals, e) {
		if (e->type != STEPUP_APPROVAL_ENTRY_PENDING || e->expires <= now)
			continue;
		(*total_r)++;
		if (strcmp(e->mailbox, mailbox) == 0)
			(*mailbox_count_r)++;
	}
	state_record_wipe(&rec);
	return 0;
}

/* Remove the entries for which remove() says so; how many. */
static int
approvals_remove(struct stepup_state *state, const char *user,
		 bool (*remove)(const struct stepup_approval_entry *e,
				const char *arg),
		 const char *arg, const char **error_r)
{
	struct state_txn txn;
	unsigned int i;
	int removed = 0;

	if (txn_begin(state, user, &txn, error_r) < 0)
		return -1;
	for (i = 0; i < array_count(&txn.rec.approvals); ) {
		if (remove(array_idx(&txn.rec.approvals, i), arg)) {
			array_delete(&txn.rec.approvals, i, 1);
			removed++;
		} else {
			i++;
		}
	}
	if (removed > 0 && txn_commit(&txn, error_r) < 0)
		removed = -1;
	txn_end(&txn);
	return removed;
}

static bool is_request(const struct stepup_approval_entry *e, const char *id)
{
	return e->type == STEPUP_APPROVAL_ENTRY_PENDING &&
		strcmp(e->request_id, id) == 0;
}

static bool is_mailbox(const struct stepup_approval_entry *e,
		       const char *mailbox)
{
	return mailbox == NULL || strcmp(e->mailbox, mailbox) == 0;
}

int stepup_state_approval_end_request(struct stepup_state *state,
				      const char *user,
				      const char *request_id,
				      const char **error_r)
{
	return approvals_remove(state, user, is_request, request_id, error_r);
}

int stepup_state_approval_revoke(struct stepup_state *state, const char *user,
				 const char *mailbox, const char **error_r)
{
	return approvals_remove(state, user, is_mailbox, mailbox, error_r);
}
