/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup unlock USER: end a lockout (and forget the failed codes); the
   enrollment stays. */

#include "lib.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "stepup-state.h"

#include <stdio.h>

int cmd_unlock(struct stepup_cli *cli, int argc, char *argv[])
{
	struct stepup_cli_ctx ctx;
	const char *error;
	int ret;

	if (argc != 2 || !stepup_cli_user_valid(argv[1]))
		return stepup_cli_usage_error("usage: stepup unlock USER");
	ret = stepup_cli_ctx_init(cli, &ctx);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	ret = stepup_cli_audit_before(cli, &ctx, argv[1],
		"unlock: lockout and failed codes cleared",
		t_strdup_printf("%s not unlocked", argv[1]));
	if (ret != STEPUP_EXIT_OK)
		return ret;
	ret = stepup_state_unlock(ctx.state, argv[1], &error);
	if (ret < 0) {
		fprintf(stderr, "stepup: %s\n", error);
		(void)stepup_cli_audit(&ctx, "admin", argv[1], "deny",
				       t_strconcat("unlock failed: ", error,
						   NULL));
		stepup_cli_ctx_deinit(&ctx);
		return STEPUP_EXIT_USAGE;
	}
	if (cli->json) {
		printf("{\"user\":%s,\"unlocked\":%s}\n",
		       stepup_cli_json_str(argv[1]), ret > 0 ? "true" : "false");
	} else {
		printf("%s: %s\n", argv[1], ret > 0 ?
		       "lockout ended, failed codes forgotten (still enrolled)" :
		       "was not locked out");
	}
	stepup_cli_ctx_deinit(&ctx);
	return STEPUP_EXIT_OK;
}
