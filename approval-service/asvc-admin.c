/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "array.h"
#include "str.h"
#include "strescape.h"
#include "str-sanitize.h"
#include "asvc-store.h"
#include "asvc-decide.h"
#include "asvc-admin.h"

static void reply_fail(string_t *out, const char *error)
{
	str_append(out, "FAIL\t");
	str_append_tabescaped(out, error);
	str_append_c(out, '\n');
}

static void admin_list(struct asvc_store *store, string_t *out)
{
	struct asvc_request *const *reqp;
	const struct asvc_request *r;

	array_foreach(asvc_store_get_all(store), reqp) {
		r = *reqp;
		str_printfa(out, "%s\t%s\t", r->id,
			    asvc_status_name(r->status));
		str_append_tabescaped(out, r->user);
		str_append_c(out, '\t');
		str_append_tabescaped(out, r->mailbox);
		str_append_c(out, '\t');
		str_append_tabescaped(out, r->rule);
		str_append_c(out, '\t');
		str_append_tabescaped(out, r->remote_ip);
		str_printfa(out, "\t%s\t%ld\n", r->binding_code,
			    (long)r->received);
	}
	str_append(out, ".\n");
}

static const char *field_text(const char *text)
{
	/* a name and a reason as the page would keep them */
	return str_sanitize(text, 200);
}

void asvc_admin_handle(struct asvc_store *store,
		       const struct asvc_rules *rules, const char *line,
		       time_t now, string_t *out)
{
	const char *const *args = t_strsplit_tabescaped(line);
	unsigned int count = str_array_length(args), secs, max_secs;
	struct asvc_request *req;
	const char *error;
	int ret;

	if (count == 1 && strcmp(args[0], "list") == 0) {
		admin_list(store, out);
		return;
	}
	if (count == 3 && strcmp(args[0], "end") == 0) {
		ret = asvc_store_end_user(store, args[1], now,
					  field_text(args[2]), &error);
		if (ret < 0)
			reply_fail(out, error);
		else
			str_printfa(out, "OK\t%d\n", ret);
		return;
	}
	if (!((count == 5 && strcmp(args[0], "approve") == 0) ||
	      (count == 4 && strcmp(args[0], "deny") == 0))) {
		reply_fail(out, "unknown command");
		return;
	}
	req = asvc_store_find(store, args[1]);
	if (req == NULL) {
		reply_fail(out, "no such request");
		return;
	}
	if (args[0][0] == 'a') {
		if (str_to_uint(args[2], &secs) < 0) {
			reply_fail(out, "bad duration");
			return;
		}
		max_secs = asvc_max_grant_secs(rules, req);
		if (secs == 0 || secs > max_secs)
			secs = max_secs;
		ret = asvc_approve(store, req, field_text(args[3]), secs,
				   field_text(args[4]), now, &error);
	} else {
		ret = asvc_deny(store, req, field_text(args[2]),
				field_text(args[3]), now, &error);
	}
	if (ret < 0) {
		reply_fail(out, error);
		return;
	}
	str_printfa(out, "OK\t%s\t%s\t%ld\n", req->id,
		    asvc_status_name(req->status),
		    (long)(req->grant_until > now ? req->grant_until - now : 0));
}
