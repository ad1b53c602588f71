/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "test-common.h"
#include "approval-state.h"

#define T0 1764590400

static void pending(struct stepup_approval_run *run, time_t now,
		    unsigned int poll_after, unsigned int retry_after)
{
	struct stepup_approval_response resp;

	i_zero(&resp);
	resp.decision = STEPUP_APPROVAL_DECISION_PENDING;
	resp.poll_after_secs = poll_after;
	resp.retry_after_secs = retry_after;
	resp.throttled = retry_after > 0;
	stepup_approval_run_response(run, now, &resp);
}

/* Poll whenever asked until the deadline; the times of the polls. */
static unsigned int run_polls(struct stepup_approval_run *run, time_t *polls,
			      unsigned int max)
{
	enum stepup_approval_action action;
	unsigned int n = 0;
	time_t now = run->started, when;

	while (n < max) {
		action = stepup_approval_run_next(run, now, &when);
		if (action == STEPUP_APPROVAL_ACTION_WAIT) {
			i_assert(when > now);
			now = when;
		} else if (action == STEPUP_APPROVAL_ACTION_POLL) {
			polls[n++] = now;
			pending(run, now, 0, 0);
		} else {
			break;
		}
	}
	return n;
}

static void test_backoff(void)
{
	struct stepup_approval_run run;
	time_t polls[32], when;
	unsigned int n;

	test_begin("approval state: back-off to 32 s, one poll before the end");
	stepup_approval_run_init(&run, pool_datastack_create(), T0, 120);
	/* the POST is due at once */
	test_assert(stepup_approval_run_next(&run, T0, &when) ==
		    STEPUP_APPROVAL_ACTION_POLL);
	n = run_polls(&run, polls, N_ELEMENTS(polls));
	test_assert(n == 9);
	test_assert(polls[0] == T0 && polls[1] == T0 + 1 &&
		    polls[2] == T0 + 3 && polls[3] == T0 + 7 &&
		    polls[4] == T0 + 15 && polls[5] == T0 + 31 &&
		    polls[6] == T0 + 63 && polls[7] == T0 + 95 &&
		    polls[8] == T0 + 119);
	test_assert(stepup_approval_run_next(&run, T0 + 120, &when) ==
		    STEPUP_APPROVAL_ACTION_GIVE_UP);
	test_assert(run.state == STEPUP_APPROVAL_STATE_PENDING);

	/* a short wait still polls a second before its end */
	stepup_approval_run_init(&run, pool_datastack_create(), T0, 5);
	n = run_polls(&run, polls, N_ELEMENTS(polls));
	test_assert(n == 4 && polls[2] == T0 + 3 && polls[3] == T0 + 4);
	test_end();
}

static void test_endpoint_asks(void)
{
	struct stepup_approval_run run;
	time_t when;

	test_begin("approval state: poll_after and Retry-After are kept");
	stepup_approval_run_init(&run, pool_datastack_create(), T0, 25);
	pending(&run, T0, 5, 0);
	test_assert(stepup_approval_run_next(&run, T0, &when) ==
		    STEPUP_APPROVAL_ACTION_WAIT && when == T0 + 5);
	test_assert(stepup_approval_run_next(&run, T0 + 4, &when) ==
		    STEPUP_APPROVAL_ACTION_WAIT && when == T0 + 5);
	test_assert(stepup_approval_run_next(&run, T0 + 5, &when) ==
		    STEPUP_APPROVAL_ACTION_POLL);
	/* 429 Retry-After: 2 and poll_after 0: the back-off (2) */
	pending(&run, T0 + 5, 0, 2);
	test_assert(run.next_poll == T0 + 7);
	/* the larger of the two */
	pending(&run, T0 + 7, 3, 6);
	test_assert(run.next_poll == T0 + 13);
	/* what the endpoint asks is not shortened by the deadline */
	pending(&run, T0 + 13, 20, 0);
	test_assert(run.next_poll == T0 + 33);
	test_assert(stepup_approval_run_next(&run, T0 + 24, &when) ==
		    STEPUP_APPROVAL_ACTION_WAIT && when == T0 + 25);
	test_assert(stepup_approval_run_next(&run, T0 + 25, &when) ==
		    STEPUP_APPROVAL_ACTION_GIVE_UP);
	test_end();
}

static void test_decisions(void)
{
	static const struct {
		enum stepup_approval_decision decision;
		enum stepup_approval_state state;
	} tests[] = {
		{ STEPUP_APPROVAL_DECISION_APPROVED, STEPUP_APPROVAL_STATE_APPROVED },
		{ STEPUP_APPROVAL_DECISION_DENIED, STEPUP_APPROVAL_STATE_DENIED },
		{ STEPUP_APPROVAL_DECISION_EXPIRED, STEPUP_APPROVAL_STATE_EXPIRED },
	};
	struct stepup_approval_response resp;
	struct stepup_approval_run run;
	unsigned int i;
	time_t when;

	test_begin("approval state: decisions end the request");
	for (i = 0; i < N_ELEMENTS(tests); i++) {
		stepup_approval_run_init(&run, pool_datastack_create(), T0, 25);
		pending(&run, T0, 0, 0);
		i_zero(&resp);
		resp.decision = tests[i].decision;
		resp.approver = "carol";
		resp.message = "no";
		stepup_approval_run_response(&run, T0 + 1, &resp);
		test_assert_idx(run.state == tests[i].state, i);
		test_assert_strcmp_idx(run.approver, "carol", i);
		test_assert_idx(stepup_approval_run_next(&run, T0 + 1, &when) ==
				STEPUP_APPROVAL_ACTION_DONE, i);
		/* nothing changes a decided request */
		resp.decision = tests[(i + 1) % N_ELEMENTS(tests)].decision;
		stepup_approval_run_response(&run, T0 + 2, &resp);
		stepup_approval_run_failure(&run, STEPUP_APPROVAL_FAIL_TLS);
		stepup_approval_run_extend(&run, T0 + 3, 25);
		test_assert_idx(run.state == tests[i].state, i);
		test_assert_idx(run.exchanges == 2, i);
	}
	/* a failure ends it too */
	stepup_approval_run_init(&run, pool_datastack_create(), T0, 25);
	stepup_approval_run_failure(&run, STEPUP_APPROVAL_FAIL_TIMEOUT);
	test_assert(run.state == STEPUP_APPROVAL_STATE_FAILED &&
		    run.failure == STEPUP_APPROVAL_FAIL_TIMEOUT);
	test_assert(stepup_approval_run_next(&run, T0, &when) ==
		    STEPUP_APPROVAL_ACTION_DONE);
	/* a failure without a kind is still a failure */
	stepup_approval_run_init(&run, pool_datastack_create(), T0, 25);
	stepup_approval_run_failure(&run, STEPUP_APPROVAL_FAIL_NONE);
	test_assert(run.state == STEPUP_APPROVAL_STATE_FAILED &&
		    run.failure == STEPUP_APPROVAL_FAIL_INTERNAL);
	/* an out-of-range decision fails closed */
	stepup_approval_run_init(&run, pool_datastack_create(), T0, 25);
	i_zero(&resp);
	resp.decision = 77;
	stepup_approval_run_response(&run, T0, &resp);
	test_assert(run.state == STEPUP_APPROVAL_STATE_FAILED);
	test_end();
}

static void test_extend(void)
{
	struct stepup_approval_run run;
	time_t when;

	test_begin("approval state: a later open picks up the request");
	stepup_approval_run_init(&run, pool_datastack_create(), T0, 10);
	pending(&run, T0, 0, 0);
	/* a second waiter with a shorter wait keeps the later deadline */
	stepup_approval_run_extend(&run, T0 + 1, 2);
	test_assert(run.deadline == T0 + 10);
	test_assert(stepup_approval_run_next(&run, T0 + 10, &when) ==
		    STEPUP_APPROVAL_ACTION_GIVE_UP);
	/* after the deadline: polls again at once, until the new one */
	stepup_approval_run_extend(&run, T0 + 100, 10);
	test_assert(run.deadline == T0 + 110);
	test_assert(stepup_approval_run_next(&run, T0 + 100, &when) ==
		    STEPUP_APPROVAL_ACTION_POLL);
	test_end();
}

static void test_outcome(void)
{
	struct stepup_approval_outcome out;
	struct stepup_approval_response resp;
	struct stepup_approval_run run;

	test_begin("approval state: outcome and failmode");
	/* still pending */
	stepup_approval_run_init(&run, pool_datastack_create(), T0, 10);
	stepup_approval_run_outcome(&run, TRUE, 900, &out);
	test_assert(!out.allow && out.pending && !out.grant &&
		    !out.failmode_open);
	test_assert_strcmp(out.reason, "still pending");

	/* approved: grant min(rule grant, ttl) */
	i_zero(&resp);
	resp.decision = STEPUP_APPROVAL_DECISION_APPROVED;
	stepup_approval_run_response(&run, T0 + 1, &resp);
	stepup_approval_run_outcome(&run, FALSE, 900, &out);
	test_assert(out.allow && out.grant && out.grant_secs == 900 &&
		    !out.pending);
	test_assert_strcmp(out.reason, "approved");
	stepup_approval_run_init(&run, pool_datastack_create(), T0, 10);
	resp.have_ttl = TRUE;
	resp.ttl_secs = 60;
	stepup_approval_run_response(&run, T0 + 1, &resp);
	stepup_approval_run_outcome(&run, FALSE, 900, &out);
	test_assert(out.allow && out.grant_secs == 60);
	stepup_approval_run_outcome(&run, FALSE, 30, &out);
	test_assert(out.allow && out.grant_secs == 30);
	/* ttl 0 or no grant in the rule: this open only */
	stepup_approval_run_init(&run, pool_datastack_create(), T0, 10);
	resp.ttl_secs = 0;
	stepup_approval_run_response(&run, T0 + 1, &resp);
	stepup_approval_run_outcome(&run, FALSE, 900, &out);
	test_assert(out.allow && !out.grant);

	/* denied, with the endpoint's message; failmode does not apply */
	stepup_approval_run_init(&run, pool_datastack_create(), T0, 10);
	i_zero(&resp);
	resp.decision = STEPUP_APPROVAL_DECISION_DENIED;
	resp.message = "Ask Carol";
	stepup_approval_run_response(&run, T0 + 1, &resp);
	stepup_approval_run_outcome(&run, TRUE, 900, &out);
	test_assert(!out.allow && !out.pending && !out.failmode_open);
	test_assert_strcmp(out.reason, "denied");
	test_assert_strcmp(out.message, "Ask Carol");
	stepup_approval_run_init(&run, pool_datastack_create(), T0, 10);
	resp.decision = STEPUP_APPROVAL_DECISION_EXPIRED;
	stepup_approval_run_response(&run, T0 + 1, &resp);
	stepup_approval_run_outcome(&run, TRUE, 900, &out);
	test_assert(!out.allow && !out.pending);
	test_assert_strcmp(out.reason, "expired");

	/* failed: closed denies, open allows without a grant, loudly */
	stepup_approval_run_init(&run, pool_datastack_create(), T0, 10);
	stepup_approval_run_failure(&run, STEPUP_APPROVAL_FAIL_PIN);
	stepup_approval_run_outcome(&run, FALSE, 900, &out);
	test_assert(!out.allow && !out.pending && !out.failmode_open);
	test_assert_strcmp(out.reason, "failed: pin");
	stepup_approval_run_outcome(&run, TRUE, 900, &out);
	test_assert(out.allow && !out.grant && out.failmode_open);
	test_assert_strcmp(out.reason, "failmode open: pin");
	test_assert_strcmp(stepup_approval_state_name(run.state), "failed");
	test_end();
}

int main(void)
{
	static void (*const test_functions[])(void) = {
		test_backoff,
		test_endpoint_asks,
		test_decisions,
		test_extend,
		test_outcome,
		NULL
	};
	return test_run(test_functions);
}
