/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup recovery-codes USER: replace the user's recovery codes with 10
   new ones, printed once. */

#include "lib.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "stepup-state.h"

#include <stdio.h>

int cmd_recovery_codes(struct stepup_cli *cli, int argc, char *argv[])
{
	struct stepup_cli_ctx ctx;
	const char *const *codes, *error;
	unsigned int i;
	int ret;

	if (argc != 2 || !stepup_cli_user_valid(argv[1]))
		return stepup_cli_usage_error(
			"usage: stepup recovery-codes USER");
	ret = stepup_cli_ctx_init(cli, &ctx);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	/* recorded first: the old codes cannot be brought back */
	ret = stepup_cli_audit_before(cli, &ctx, argv[1],
		"recovery codes replaced", t_strdup_printf(
			"recovery codes of %s not replaced", argv[1]));
	if (ret != STEPUP_EXIT_OK)
		return ret;
	ret = stepup_state_new_recovery_codes(ctx.state, argv[1], &codes,
					      &error);
	if (ret <= 0) {
		error = ret < 0 ? error :
			t_strdup_printf("%s is not enrolled", argv[1]);
		fprintf(stderr, "stepup: %s\n", error);
		(void)stepup_cli_audit(&ctx, "admin", argv[1], "deny",
			t_strconcat("recovery codes not replaced: ", error,
				    NULL));
		stepup_cli_ctx_deinit(&ctx);
		return ret < 0 ? STEPUP_EXIT_USAGE : STEPUP_EXIT_REFUSED;
	}
	if (cli->json) {
		printf("{\"user\":%s,\"recovery_codes\":[",
		       stepup_cli_json_str(argv[1]));
		for (i = 0; codes[i] != NULL; i++)
			printf("%s\"%s\"", i == 0 ? "" : ",", codes[i]);
		printf("]}\n");
	} else {
		printf("New recovery codes for %s (the old ones no longer "
		       "work; shown only now):\n", argv[1]);
		for (i = 0; codes[i] != NULL; i++)
			printf("  %s\n", codes[i]);
	}
	stepup_cli_ctx_deinit(&ctx);
	return STEPUP_EXIT_OK;
}
