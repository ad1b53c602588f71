/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup invite USER [--expires 7d]: a single-use invitation code for a
   user to enroll themself (policy enrollment.invite). Only its hash is
   stored; the code is shown once, to be given to the user out of band
   (letter, phone, ticket). A new invitation replaces the old one. */

#include "lib.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "stepup-state.h"

#include <stdio.h>
#include <time.h>

#define INVITE_USAGE "usage: stepup invite USER [--expires 7d] [--json]"
#define INVITE_DEFAULT_SECS (7 * 86400)

int cmd_invite(struct stepup_cli *cli, int argc, char *argv[])
{
	struct stepup_cli_ctx ctx;
	const char *user = NULL, *expires_str = NULL, *code, *error;
	const struct stepup_cli_option opts[] = {
		{ "--expires", &expires_str, NULL },
		{ NULL, NULL, NULL }
	};
	time_t now = time(NULL), lifetime = INVITE_DEFAULT_SECS, expires;
	char date[64];
	struct tm tm;
	int ret;

	if (stepup_cli_parse_options(argc, argv, 1, opts, &user) < 0 ||
	    user == NULL)
		return stepup_cli_usage_error(INVITE_USAGE);
	if (!stepup_cli_user_valid(user))
		return stepup_cli_usage_error("invalid user name");
	if (expires_str != NULL &&
	    stepup_cli_parse_days(expires_str, &lifetime) < 0)
		return stepup_cli_usage_error("--expires takes days, e.g. 7d");
	expires = now + lifetime;
	ret = stepup_cli_ctx_init(cli, &ctx);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	if (gmtime_r(&expires, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		i_unreached();
	/* no invitation without its record */
	ret = stepup_cli_audit_before(cli, &ctx, user, t_strdup_printf(
		"invitation issued, valid until %s", date),
		t_strdup_printf("no invitation issued for %s", user));
	if (ret != STEPUP_EXIT_OK)
		return ret;
	if (stepup_state_invite_add(ctx.state, user, expires, now, &code,
				    &error) < 0) {
		fprintf(stderr, "stepup: %s\n", error);
		(void)stepup_cli_audit(&ctx, "admin", user, "deny",
				       t_strconcat("invitation failed: ",
						   error, NULL));
		stepup_cli_ctx_deinit(&ctx);
		return STEPUP_EXIT_USAGE;
	}
	if (cli->json) {
		printf("{\"user\":%s,\"invite\":\"%s\",\"expires\":\"%s\"}\n",
		       stepup_cli_json_str(user), code, date);
	} else {
		printf("Invitation for %s, shown only now, valid once until "
		       "%s:\n\n  %s\n\nGive it to the user out of band "
		       "(letter, phone, ticket).\n", user, date, code);
	}
	stepup_cli_ctx_deinit(&ctx);
	return STEPUP_EXIT_OK;
}
