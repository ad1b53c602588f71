/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup reset USER [--socket PATH]: remove TOTP, recovery codes,
   lockout, reconnect grants, approval grants and pending approval
   requests; where the stepup-approval service runs (its admin socket
   exists), its own requests and grants of the user end too. */

#include "lib.h"
#include "str.h"
#include "strescape.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "stepup-enroll.h"
#include "stepup-state.h"

#include <stdio.h>
#include <unistd.h>

#define RESET_USAGE "usage: stepup reset USER [--socket PATH]"

/* The approval service's store: best effort (the plugin's side is the
   state record, already reset), a warning if it fails. */
static void reset_approval_service(const char *socket_path, const char *user)
{
	string_t *line = t_str_new(128);
	const char *reply, *error;
	const char *const *f;

	if (access(socket_path, F_OK) < 0)
		return;
	str_append(line, "end\t");
	str_append_tabescaped(line, user);
	str_append(line, "\tended by stepup reset\n");
	if (stepup_cli_approval_exchange(socket_path, str_c(line), FALSE,
					 &reply, &error) < 0) {
		fprintf(stderr, "stepup: warning: the approval service's "
			"requests of %s were not ended: %s\n", user, error);
		return;
	}
	f = t_strsplit_tabescaped(t_strcut(reply, '\n'));
	if (str_array_length(f) != 2 || strcmp(f[0], "OK") != 0) {
		fprintf(stderr, "stepup: warning: the approval service's "
			"requests of %s were not ended: %s\n", user,
			f[0] == NULL || f[1] == NULL ? "bad reply" : f[1]);
	}
}

int cmd_reset(struct stepup_cli *cli, int argc, char *argv[])
{
	struct stepup_cli_ctx ctx;
	const char *error, *user = NULL;
	const char *socket_path = STEPUP_CLI_APPROVAL_SOCKET;
	const struct stepup_cli_option opts[] = {
		{ "--socket", &socket_path, NULL },
		{ NULL, NULL, NULL }
	};
	int ret;

	if (stepup_cli_parse_options(argc, argv, 1, opts, &user) < 0 ||
	    user == NULL || !stepup_cli_user_valid(user))
		return stepup_cli_usage_error(RESET_USAGE);
	/* first, as root (the socket is root's; the state and the log are
	   then used as the state directory's owner): ending grants early
	   only ever takes access away */
	reset_approval_service(socket_path, user);
	ret = stepup_cli_ctx_init(cli, &ctx);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	ret = stepup_cli_audit_before(cli, &ctx, user,
		"reset: TOTP, recovery codes, lockout and grants removed",
		t_strdup_printf("%s not reset", user));
	if (ret != STEPUP_EXIT_OK)
		return ret;
	ret = stepup_state_reset(ctx.state, user, &error);
	if (ret < 0) {
		fprintf(stderr, "stepup: %s\n", error);
		(void)stepup_cli_audit(&ctx, "admin", user, "deny",
				       t_strconcat("reset failed: ", error,
						   NULL));
		stepup_cli_ctx_deinit(&ctx);
		return STEPUP_EXIT_USAGE;
	}
	if (cli->json)
		printf("{\"user\":%s,\"reset\":%s}\n",
		       stepup_cli_json_str(user), ret > 0 ? "true" : "false");
	else
		printf("%s: %s\n", user, ret > 0 ? "TOTP enrollment, "
		       "recovery codes, lockout and grants (reconnect, "
		       "approval) removed" :
		       "nothing to reset");
	if (ret > 0)
		stepup_cli_notify(&ctx, STEPUP_NOTICE_RESET, user, NULL,
				  FALSE);
	stepup_cli_ctx_deinit(&ctx);
	return STEPUP_EXIT_OK;
}
