/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "test-common.h"
#include "stepup-policy.h"

/* The folder decision -> result rules (policy-access.c): what the mail
   plugin gives, logs, records and tells the client. */

static void
decision(struct stepup_folder_decision *d, enum stepup_folder_require req,
	 bool allow)
{
	i_zero(d);
	d->require = req;
	d->allow = allow;
	d->rule = req == STEPUP_FOLDER_NONE ? NULL : "r";
	d->reason = "why";
}

static void test_access_unguarded(void)
{
	struct stepup_folder_decision d;
	struct stepup_folder_result r;

	test_begin("folder access: no rule guards the folder");
	decision(&d, STEPUP_FOLDER_NONE, TRUE);
	stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_READ, FALSE, &r);
	test_assert(r.granted && strcmp(r.decision, "allow") == 0);
	test_assert(!r.log_info && !r.record && !r.fetch_limit);
	test_assert(r.error == STEPUP_FOLDER_ERROR_NONE);
	/* "none" allows even when the session could not open a guarded
	   folder */
	decision(&d, STEPUP_FOLDER_NONE, FALSE);
	stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_READ, FALSE, &r);
	test_assert(r.granted && !r.record);
	test_end();
}

static void test_access_totp(void)
{
	struct stepup_folder_decision d;
	struct stepup_folder_result r;

	test_begin("folder access: totp rule, allowed and refused");
	decision(&d, STEPUP_FOLDER_TOTP, TRUE);
	d.fetch_limit_messages = 3;
	stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_READ, FALSE, &r);
	test_assert(r.granted && strcmp(r.decision, "allow") == 0);
	test_assert(r.log_info && strcmp(r.log_note, "") == 0);
	test_assert(r.record && r.refuse_unrecorded && r.fetch_limit);
	test_assert_strcmp(r.record_reason, "why");
	/* an allowed STATUS is not recorded, nor counted */
	stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_STATUS, FALSE,
				    &r);
	test_assert(r.granted && r.log_info && !r.record && !r.fetch_limit);

	decision(&d, STEPUP_FOLDER_TOTP, FALSE);
	stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_READ, FALSE, &r);
	test_assert(!r.granted && strcmp(r.decision, "deny") == 0);
	test_assert(r.log_info && r.record && !r.refuse_unrecorded);
	test_assert(!r.fetch_limit);
	test_assert(r.error == STEPUP_FOLDER_ERROR_NEED_TOTP);
	/* a refused STATUS is recorded */
	stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_STATUS, FALSE,
				    &r);
	test_assert(!r.granted && r.record);
	test_assert_strcmp(r.record_reason, "status: why");
	decision(&d, STEPUP_FOLDER_TOTP_OR_APPROVAL, FALSE);
	stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_READ, FALSE, &r);
	test_assert(r.error == STEPUP_FOLDER_ERROR_NEED_TOTP);
	test_end();
}

static void test_access_deny_and_approval(void)
{
	struct stepup_folder_decision d;
	struct stepup_folder_result r;

	test_begin("folder access: deny and approval rules");
	decision(&d, STEPUP_FOLDER_DENY, FALSE);
	stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_READ, FALSE, &r);
	test_assert(!r.granted && r.error == STEPUP_FOLDER_ERROR_NOT_FOUND);
	stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_CREATE, FALSE,
				    &r);
	test_assert(!r.granted &&
		    r.error == STEPUP_FOLDER_ERROR_NO_PERMISSION);
	test_assert_strcmp(r.record_reason, "create: why");
	stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_CHANGE, FALSE,
				    &r);
	test_assert(r.error == STEPUP_FOLDER_ERROR_NOT_FOUND);
	decision(&d, STEPUP_FOLDER_APPROVAL, FALSE);
	stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_SAVE, FALSE, &r);
	test_assert(!r.granted && r.error == STEPUP_FOLDER_ERROR_NEED_APPROVAL);
	test_assert_strcmp(r.record_reason, "save: why");
	decision(&d, STEPUP_FOLDER_TOTP_AND_APPROVAL, FALSE);
	stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_READ, FALSE, &r);
	test_assert(r.error == STEPUP_FOLDER_ERROR_NEED_APPROVAL);
	test_end();
}

static void test_access_audit_mode(void)
{
	struct stepup_folder_decision d;
	struct stepup_folder_result r;

	test_begin("folder access: audit mode gives and records");
	decision(&d, STEPUP_FOLDER_DENY, FALSE);
	d.audit_only = TRUE;
	d.fetch_limit_messages = 3;
	stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_READ, FALSE, &r);
	test_assert(r.granted && strcmp(r.decision, "allow") == 0);
	test_assert_strcmp(r.log_note, ", audit mode");
	test_assert(r.record && r.refuse_unrecorded && r.fetch_limit);
	test_assert_strcmp(r.record_reason,
			   "audit mode: enforce would deny: why");
	test_assert(r.error == STEPUP_FOLDER_ERROR_NONE);
	test_end();
}

static void test_access_admin(void)
{
	struct stepup_folder_decision d;
	struct stepup_folder_result r;

	test_begin("folder access: an admin is allowed and recorded");
	decision(&d, STEPUP_FOLDER_DENY, FALSE);
	d.fetch_limit_messages = 3;
	stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_STATUS, TRUE, &r);
	test_assert(r.granted && strcmp(r.decision, "allow") == 0);
	test_assert(r.log_info && strcmp(r.log_note, ", admin") == 0);
	test_assert(r.record && r.refuse_unrecorded);
	test_assert_strcmp(r.record_reason, "status: admin access: why");
	stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_READ, TRUE, &r);
	/* an admin's reads are never limited */
	test_assert(r.granted && !r.fetch_limit);
	/* unguarded folders too */
	decision(&d, STEPUP_FOLDER_NONE, TRUE);
	stepup_folder_access_result(&d, STEPUP_FOLDER_ACCESS_READ, TRUE, &r);
	test_assert(r.log_info && r.record);
	test_end();
}

int main(void)
{
	static void (*const tests[])(void) = {
		test_access_unguarded,
		test_access_totp,
		test_access_deny_and_approval,
		test_access_audit_mode,
		test_access_admin,
		NULL
	};
	return test_run(tests);
}
