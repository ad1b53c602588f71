/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "approval-state.h"

static const char *const state_names[] = {
	[STEPUP_APPROVAL_STATE_PENDING] = "pending",
	[STEPUP_APPROVAL_STATE_APPROVED] = "approved",
	[STEPUP_APPROVAL_STATE_DENIED] = "denied",
	[STEPUP_APPROVAL_STATE_EXPIRED] = "expired",
	[STEPUP_APPROVAL_STATE_FAILED] = "failed",
};

const char *stepup_approval_state_name(enum stepup_approval_state state)
{
	if ((unsigned int)state >= N_ELEMENTS(state_names))
		return "unknown";
	return state_names[state];
}

void stepup_approval_run_init(struct stepup_approval_run *run, pool_t pool,
			      time_t now, unsigned int wait_secs)
{
	i_zero(run);
	run->pool = pool;
	run->state = STEPUP_APPROVAL_STATE_PENDING;
	run->started = now;
	run->deadline = now + wait_secs;
	run->next_poll = now;
	run->backoff_secs = STEPUP_APPROVAL_POLL_MIN_SECS;
}

void stepup_approval_run_extend(struct stepup_approval_run *run, time_t now,
				unsigned int wait_secs)
{
	if (run->state != STEPUP_APPROVAL_STATE_PENDING)
		return;
	if (run->deadline <= now && run->exchanges > 0) {
		/* polling had stopped: start again */
		run->next_poll = now;
	}
	if (run->deadline < now + (time_t)wait_secs)
		run->deadline = now + wait_secs;
}

static void run_keep_texts(struct stepup_approval_run *run,
			   const struct stepup_approval_response *resp)
{
	if (resp->throttled)
		return;
	run->approver = p_strdup(run->pool, resp->approver);
	run->reason = p_strdup(run->pool, resp->reason);
	run->message = p_strdup(run->pool, resp->message);
	run->have_ttl = resp->have_ttl;
	run->ttl_secs = resp->ttl_secs;
}

static void run_schedule(struct stepup_approval_run *run, time_t now,
			 const struct stepup_approval_response *resp)
{
	unsigned int asked, backoff, delay;
	time_t left = run->deadline - now;

	asked = I_MAX(resp->poll_after_secs, resp->retry_after_secs);
	backoff = run->backoff_secs;
	/* one last poll a second before the deadline */
	if (left > 1 && (time_t)backoff > left - 1)
		backoff = left - 1;
	delay = I_MAX(asked, backoff);
	delay = I_MAX(delay, STEPUP_APPROVAL_POLL_MIN_SECS);
	run->next_poll = now + delay;
	if (run->backoff_secs < STEPUP_APPROVAL_BACKOFF_MAX_SECS)
		run->backoff_secs = I_MIN(run->backoff_secs * 2,
					  STEPUP_APPROVAL_BACKOFF_MAX_SECS);
}

void stepup_approval_run_response(struct stepup_approval_run *run,
				  time_t now,
				  const struct stepup_approval_response *resp)
{
	if (run->state != STEPUP_APPROVAL_STATE_PENDING)
		return;		/* a late answer changes nothing */
	run->exchanges++;
	run_keep_texts(run, resp);
	switch (resp->decision) {
	case STEPUP_APPROVAL_DECISION_PENDING:
		run_schedule(run, now, resp);
		return;
	case STEPUP_APPROVAL_DECISION_APPROVED:
		run->state = STEPUP_APPROVAL_STATE_APPROVED;
		return;
	case STEPUP_APPROVAL_DECISION_DENIED:
		run->state = STEPUP_APPROVAL_STATE_DENIED;
		return;
	case STEPUP_APPROVAL_DECISION_EXPIRED:
		run->state = STEPUP_APPROVAL_STATE_EXPIRED;
		return;
	}
	/* not a decision we know: fail closed */
	run->state = STEPUP_APPROVAL_STATE_FAILED;
	run->failure = STEPUP_APPROVAL_FAIL_INTERNAL;
}

void stepup_approval_run_failure(struct stepup_approval_run *run,
				 enum stepup_approval_failure kind)
{
	if (run->state != STEPUP_APPROVAL_STATE_PENDING)
		return;
	run->exchanges++;
	run->state = STEPUP_APPROVAL_STATE_FAILED;
	run->failure = kind == STEPUP_APPROVAL_FAIL_NONE ?
		STEPUP_APPROVAL_FAIL_INTERNAL : kind;
}

enum stepup_approval_action
stepup_approval_run_next(const struct stepup_approval_run *run, time_t now,
			 time_t *when_r)
{
	*when_r = now;
	if (run->state != STEPUP_APPROVAL_STATE_PENDING)
		return STEPUP_APPROVAL_ACTION_DONE;
	if (now >= run->deadline)
		return STEPUP_APPROVAL_ACTION_GIVE_UP;
	if (now >= run->next_poll)
		return STEPUP_APPROVAL_ACTION_POLL;
	*when_r = I_MIN(run->next_poll, run->deadline);
	return STEPUP_APPROVAL_ACTION_WAIT;
}

void stepup_approval_run_outcome(const struct stepup_approval_run *run,
				 bool failmode_open,
				 unsigned int rule_grant_secs,
				 struct stepup_approval_outcome *outcome_r)
{
	const char *kind;

	i_zero(outcome_r);
	switch (run->state) {
	case STEPUP_APPROVAL_STATE_APPROVED:
		outcome_r->allow = TRUE;
		outcome_r->grant_secs = run->have_ttl ?
			I_MIN(rule_grant_secs, run->ttl_secs) :
			rule_grant_secs;
		outcome_r->grant = outcome_r->grant_secs > 0;
		outcome_r->reason = "approved";
		return;
	case STEPUP_APPROVAL_STATE_DENIED:
		outcome_r->reason = "denied";
		outcome_r->message = run->message;
		return;
	case STEPUP_APPROVAL_STATE_EXPIRED:
		outcome_r->reason = "expired";
		outcome_r->message = run->message;
		return;
	case STEPUP_APPROVAL_STATE_FAILED:
		kind = stepup_approval_failure_name(run->failure);
		if (failmode_open) {
			outcome_r->allow = TRUE;
			outcome_r->failmode_open = TRUE;
			outcome_r->reason = p_strconcat(run->pool,
				"failmode open: ", kind, NULL);
		} else {
			outcome_r->reason = p_strconcat(run->pool,
				"failed: ", kind, NULL);
		}
		return;
	case STEPUP_APPROVAL_STATE_PENDING:
		break;
	}
	outcome_r->pending = TRUE;
	outcome_r->reason = "still pending";
}
