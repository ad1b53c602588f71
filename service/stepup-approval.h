#ifndef STEPUP_APPROVAL_SERVICE_H
#define STEPUP_APPROVAL_SERVICE_H

#include "audit-proto.h"

struct stepup_policy;

/* The approvals of the stepup-audit service: one request per user, folder
   and scope however many opens wait on it, run on the ioloop with the
   approval transport; grants and pending requests in the state store;
   an "approval" audit record for each request, decision, failure and
   grant use. */

typedef int approval_audit_write_t(const struct stepup_audit_record *rec,
				   const char **error_r);
/* An answer for one ask: final is FALSE only for the "code" line that
   tells a waiting open a request is pending. */
typedef void approval_answer_callback_t(const struct stepup_approval_answer *answer,
					bool final, void *context);

struct approval_service;
struct approval_waiter;

/* As root: reads the approval keys (only this service reads them). A
   policy without an approval block, or with keys that cannot be read,
   gives a service that fails every ask (logged). */
struct approval_service *
approval_service_init(const struct stepup_policy *policy,
		      approval_audit_write_t *audit_write);
/* After privileges are dropped: the state store, the transport. */
void approval_service_start(struct approval_service *svc);
void approval_service_deinit(struct approval_service **svc);

/* Handle one ask. The callback gets the answer, maybe from inside this
   call; a waiter is returned (and must be aborted if the asker goes away
   first) when the final answer comes later, else NULL. */
struct approval_waiter *
approval_service_ask(struct approval_service *svc,
		     const struct stepup_approval_ask *ask,
		     approval_answer_callback_t *callback, void *context);
void approval_waiter_abort(struct approval_waiter **waiter);

#endif
