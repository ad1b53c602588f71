/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup reset USER: remove TOTP, recovery codes, lockout, reconnect
   grants, approval grants and pending approval requests. */

#include "lib.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "stepup-enroll.h"
#include "stepup-state.h"

#include <stdio.h>

int cmd_reset(struct stepup_cli *cli, int argc, char *argv[])
{
	struct stepup_cli_ctx ctx;
	const char *error;
	int ret;

	if (argc != 2 || !stepup_cli_user_valid(argv[1]))
		return stepup_cli_usage_error("usage: stepup reset USER");
	ret = stepup_cli_ctx_init(cli, &ctx);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	ret = stepup_cli_audit_before(cli, &ctx, argv[1],
		"reset: TOTP, recovery codes, lockout and grants removed",
		t_strdup_printf("%s not reset", argv[1]));
	if (ret != STEPUP_EXIT_OK)
		return ret;
	ret = stepup_state_reset(ctx.state, argv[1], &error);
	if (ret < 0) {
		fprintf(stderr, "stepup: %s\n", error);
		(void)stepup_cli_audit(&ctx, "admin", argv[1], "deny",
				       t_strconcat("reset failed: ", error,
						   NULL));
		stepup_cli_ctx_deinit(&ctx);
		return STEPUP_EXIT_USAGE;
	}
	if (cli->json)
		printf("{\"user\":%s,\"reset\":%s}\n",
		       stepup_cli_json_str(argv[1]), ret > 0 ? "true" : "false");
	else
		printf("%s: %s\n", argv[1], ret > 0 ? "TOTP enrollment, "
		       "recovery codes, lockout and grants (reconnect, "
		       "approval) removed" :
		       "nothing to reset");
	if (ret > 0)
		stepup_cli_notify(&ctx, STEPUP_NOTICE_RESET, argv[1], NULL,
				  FALSE);
	stepup_cli_ctx_deinit(&ctx);
	return STEPUP_EXIT_OK;
}
