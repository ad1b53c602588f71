#ifndef STEPUP_APPROVAL_STATE_H
#define STEPUP_APPROVAL_STATE_H

#include "approval-failure.h"
#include "approval-response.h"

/* The life of one approval request, without I/O: the owner (the
   stepup-audit service) sends the POST, feeds every result in, asks what
   to do next, and maps the end state to an allow/deny for each open that
   waited on it.

     PENDING --approved--> APPROVED
             --denied----> DENIED
             --expired---> EXPIRED
             --failure---> FAILED     (any failure of any exchange)

   While pending, the next GET goes out after
     max(poll_after, Retry-After, back-off)
   where the back-off starts at 1 s and doubles with each pending answer
   up to 32 s, and is shortened so that one last poll goes out a second
   before the deadline (what the endpoint asks for is never shortened).
   Reaching the deadline is not a failure: the request stays pending, and
   a later open extends the deadline and polls again. */

#define STEPUP_APPROVAL_POLL_MIN_SECS 1
#define STEPUP_APPROVAL_BACKOFF_MAX_SECS 32

enum stepup_approval_state {
	STEPUP_APPROVAL_STATE_PENDING = 0,
	STEPUP_APPROVAL_STATE_APPROVED,
	STEPUP_APPROVAL_STATE_DENIED,
	STEPUP_APPROVAL_STATE_EXPIRED,
	STEPUP_APPROVAL_STATE_FAILED,
};
/* "pending", "approved", "denied", "expired", "failed" */
const char *stepup_approval_state_name(enum stepup_approval_state state);

struct stepup_approval_run {
	pool_t pool;	/* the owner's; the texts below live in it */
	enum stepup_approval_state state;
	enum stepup_approval_failure failure;	/* FAILED: why */
	time_t started, deadline;
	time_t next_poll;	/* PENDING: when the next GET is due */
	unsigned int backoff_secs;	/* the next back-off step */
	unsigned int exchanges;		/* results fed in */
	/* the deciding answer (and the last pending one's texts) */
	bool have_ttl;
	unsigned int ttl_secs;
	const char *approver, *reason, *message;
};

/* A new request at now; its POST is due at once. Polling stops at
   now + wait_secs. */
void stepup_approval_run_init(struct stepup_approval_run *run, pool_t pool,
			      time_t now, unsigned int wait_secs);
/* Another open waits on the request: polling goes on until at least
   now + wait_secs (a later deadline is kept). A pending request whose
   deadline had passed polls again at once. */
void stepup_approval_run_extend(struct stepup_approval_run *run, time_t now,
				unsigned int wait_secs);
/* The verified answer of an exchange (stepup_approval_response_parse). */
void stepup_approval_run_response(struct stepup_approval_run *run,
				  time_t now,
				  const struct stepup_approval_response *resp);
/* An exchange failed (transport or response). */
void stepup_approval_run_failure(struct stepup_approval_run *run,
				 enum stepup_approval_failure kind);

enum stepup_approval_action {
	/* pending: nothing to do until *when_r */
	STEPUP_APPROVAL_ACTION_WAIT,
	/* pending: send the GET now */
	STEPUP_APPROVAL_ACTION_POLL,
	/* pending and the deadline passed: stop polling, the waiters get
	   "still pending" */
	STEPUP_APPROVAL_ACTION_GIVE_UP,
	/* decided or failed */
	STEPUP_APPROVAL_ACTION_DONE,
};
enum stepup_approval_action
stepup_approval_run_next(const struct stepup_approval_run *run, time_t now,
			 time_t *when_r);

/* What an open that waited on the request gets. */
struct stepup_approval_outcome {
	bool allow;
	/* approved: keep a grant for grant_secs (0: this open only) */
	bool grant;
	unsigned int grant_secs;
	/* refused because the decision is still pending */
	bool pending;
	/* failmode open let a failure through: log at warning level */
	bool failmode_open;
	/* "approved", "denied", "expired", "still pending",
	   "failed: <kind>", "failmode open: <kind>" (static or pool) */
	const char *reason;
	/* the endpoint's text for the user (denied), or NULL */
	const char *message;
};
/* rule_grant_secs: the folder rule's grant; an approval lasts
   min(rule grant, ttl). failmode_open: approval.failmode = "open". */
void stepup_approval_run_outcome(const struct stepup_approval_run *run,
				 bool failmode_open,
				 unsigned int rule_grant_secs,
				 struct stepup_approval_outcome *outcome_r);

#endif
