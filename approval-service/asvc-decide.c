/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "asvc-store.h"
#include "asvc-decide.h"

unsigned int asvc_max_grant_secs(const struct asvc_rules *rules,
				 const struct asvc_request *req)
{
	unsigned int grant = 0;
	bool self_approve;

	if (rules->rule_info(rules->context, req->rule, &grant,
			     &self_approve) && grant > 0)
		return grant;
	if (req->expires > req->created)
		return (unsigned int)I_MIN(req->expires - req->created,
					   366 * 24 * 3600);
	return ASVC_DEFAULT_GRANT_SECS;
}

bool asvc_self_approve_allowed(const struct asvc_rules *rules,
			       const struct asvc_request *req)
{
	unsigned int grant;
	bool self_approve = FALSE;

	return rules->rule_info(rules->context, req->rule, &grant,
				&self_approve) && self_approve;
}

static int decide(struct asvc_store *store, struct asvc_request *req,
		  enum asvc_status status, const char *approver,
		  unsigned int secs, const char *reason, time_t now,
		  const char **error_r)
{
	struct asvc_request saved = *req;

	if (req->status != ASVC_STATUS_PENDING) {
		*error_r = t_strdup_printf("the request is already %s",
					   asvc_status_name(req->status));
		return -1;
	}
	req->status = status;
	req->decided = now;
	req->grant_until = status == ASVC_STATUS_APPROVED ? now + secs : 0;
	req->approver = p_strdup(req->pool, approver);
	req->reason = reason == NULL || reason[0] == '\0' ? NULL :
		p_strdup(req->pool, reason);
	if (asvc_store_update(store, req, error_r) < 0) {
		*req = saved;
		return -1;
	}
	return 0;
}

int asvc_approve(struct asvc_store *store, struct asvc_request *req,
		 const char *approver, unsigned int secs, const char *reason,
		 time_t now, const char **error_r)
{
	i_assert(secs > 0);
	return decide(store, req, ASVC_STATUS_APPROVED, approver, secs,
		      reason, now, error_r);
}

int asvc_deny(struct asvc_store *store, struct asvc_request *req,
	      const char *approver, const char *reason, time_t now,
	      const char **error_r)
{
	return decide(store, req, ASVC_STATUS_DENIED, approver, 0, reason,
		      now, error_r);
}
