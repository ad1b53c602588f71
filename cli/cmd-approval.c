/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup approval revoke USER FOLDER: end the user's approval grants and
   pending requests for a folder (every scope); the next open asks again.
   The other "stepup approval" verbs talk to the reference endpoint
   (cmd-approval-decide.c). */

#include "lib.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "stepup-state.h"
#include "stepup-policy.h"

#include <stdio.h>

static int cmd_approval_revoke(struct stepup_cli *cli, const char *user,
			       const char *folder)
{
	struct stepup_cli_ctx ctx;
	const char *mailbox, *error;
	int ret;

	ret = stepup_cli_ctx_init(cli, &ctx);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	/* as the policy and the service see it: '/' and INBOX */
	mailbox = stepup_policy_normalize_mailbox(folder, '/', "", TRUE);
	/* no revoke without its record */
	ret = stepup_cli_audit_before(cli, &ctx, user, t_strdup_printf(
		"approval revoke %s: its grants and requests end", mailbox),
		t_strdup_printf("nothing revoked for %s", user));
	if (ret != STEPUP_EXIT_OK)
		return ret;
	ret = stepup_state_approval_revoke(ctx.state, user, mailbox, &error);
	if (ret < 0) {
		fprintf(stderr, "stepup: %s\n", error);
		(void)stepup_cli_audit(&ctx, "admin", user, "deny",
				       t_strconcat("approval revoke failed: ",
						   error, NULL));
		stepup_cli_ctx_deinit(&ctx);
		return STEPUP_EXIT_USAGE;
	}
	if (cli->json) {
		printf("{\"user\":%s,\"mailbox\":%s,\"revoked\":%d}\n",
		       stepup_cli_json_str(user), stepup_cli_json_str(mailbox),
		       ret);
	} else if (ret == 0) {
		printf("%s: no approval grant or request for %s\n", user,
		       mailbox);
	} else {
		printf("%s: %d approval grant(s) and request(s) for %s ended\n",
		       user, ret, mailbox);
	}
	stepup_cli_ctx_deinit(&ctx);
	return ret == 0 ? STEPUP_EXIT_REFUSED : STEPUP_EXIT_OK;
}

int cmd_approval(struct stepup_cli *cli, int argc, char *argv[])
{
	if (argc < 2 || strcmp(argv[1], "revoke") != 0)
		return cmd_approval_decide(cli, argc, argv);
	if (argc != 4 ||
	    !stepup_cli_user_valid(argv[2]) || argv[3][0] == '\0')
		return stepup_cli_usage_error(
			"usage: stepup approval revoke USER FOLDER");
	return cmd_approval_revoke(cli, argv[2], argv[3]);
}
