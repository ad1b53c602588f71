#ifndef ASVC_DECIDE_H
#define ASVC_DECIDE_H

#include "asvc-request.h"

struct asvc_store;

/* What the service needs to know of the policy. */
struct asvc_rules {
	/* named in approval.approvers (directly or through a group) */
	bool (*is_approver)(void *context, const char *user);
	/* FALSE if there is no folder rule of that name; grant_secs 0 if the
	   rule names no grant */
	bool (*rule_info)(void *context, const char *rule,
			  unsigned int *grant_secs_r, bool *self_approve_r);
	void *context;
};

/* When the rule names no grant and the request does not say either. */
#define ASVC_DEFAULT_GRANT_SECS (15 * 60)

/* The longest approval req may get: the rule's grant, else what the
   request says the grant would be (expires - created), else the
   default. */
unsigned int asvc_max_grant_secs(const struct asvc_rules *rules,
				 const struct asvc_request *req);
/* The rule of req says self_approve = true. */
bool asvc_self_approve_allowed(const struct asvc_rules *rules,
			       const struct asvc_request *req);

/* Decisions on a pending request, persisted before they return 0. On
   -1 the request is unchanged and error_r says why (not pending, not
   stored). */
int asvc_approve(struct asvc_store *store, struct asvc_request *req,
		 const char *approver, unsigned int secs, const char *reason,
		 time_t now, const char **error_r);
int asvc_deny(struct asvc_store *store, struct asvc_request *req,
	      const char *approver, const char *reason, time_t now,
	      const char **error_r);

#endif
