/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup app-password add USER --label L [--expires 90d] [--networks N,..]
                                [--protocols P,..]
   stepup app-password list USER
   stepup app-password revoke USER LABEL */

#include "lib.h"
#include "net.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "stepup-enroll.h"
#include "stepup-state.h"

#include <stdio.h>
#include <time.h>

#define ADD_USAGE "usage: stepup app-password add USER --label L " \
	"[--expires 90d] [--networks CIDR,...] [--protocols imap,pop3,...]"

static bool valid_networks(const char *list)
{
	const char *const *p;
	struct ip_addr ip;
	unsigned int bits;

	for (p = t_strsplit(list, ","); *p != NULL; p++) {
		if (net_parse_range(*p, &ip, &bits) < 0)
			return FALSE;
	}
	return TRUE;
}

static bool valid_protocols(const char *list)
{
	static const char *const known[] = {
		"imap", "pop3", "sieve", "submission", NULL
	};
	const char *const *p;

	for (p = t_strsplit(list, ","); *p != NULL; p++) {
		if (!str_array_find(known, *p))
			return FALSE;
	}
	return TRUE;
}

static int cmd_add(struct stepup_cli *cli, int argc, char *argv[])
{
	const char *user = argv[2], *label = NULL, *nets = NULL;
	const char *protos = NULL, *password, *error;
	struct stepup_cli_ctx ctx;
	time_t expires = 0, lifetime;
	int i, ret;

	for (i = 3; i < argc; i++) {
		if (i + 1 >= argc)
			return stepup_cli_usage_error(ADD_USAGE);
		if (strcmp(argv[i], "--label") == 0)
			label = argv[++i];
		else if (strcmp(argv[i], "--expires") == 0) {
			if (stepup_cli_parse_days(argv[++i], &lifetime) < 0)
				return stepup_cli_usage_error(
					"--expires takes days, e.g. 90d");
			expires = time(NULL) + lifetime;
		} else if (strcmp(argv[i], "--networks") == 0) {
			nets = argv[++i];
			if (!valid_networks(nets))
				return stepup_cli_usage_error(
					"--networks: bad CIDR in '%s'", nets);
		} else if (strcmp(argv[i], "--protocols") == 0) {
			protos = argv[++i];
			if (!valid_protocols(protos))
				return stepup_cli_usage_error(
					"--protocols: imap, pop3, sieve, "
					"submission");
		} else
			return stepup_cli_usage_error(ADD_USAGE);
	}
	if (label == NULL || !stepup_cli_user_valid(label) ||
	    strchr(label, ',') != NULL)
		return stepup_cli_usage_error(ADD_USAGE);
	ret = stepup_cli_ctx_init(cli, &ctx);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	ret = stepup_state_app_password_add(ctx.state, user, label, expires,
					    nets, protos, time(NULL),
					    &password, &error);
	if (ret <= 0) {
		fprintf(stderr, "stepup: %s\n", ret < 0 ? error :
			t_strdup_printf("%s already has an app password "
					"labelled '%s'", user, label));
		stepup_cli_ctx_deinit(&ctx);
		return ret < 0 ? STEPUP_EXIT_USAGE : STEPUP_EXIT_REFUSED;
	}
	if (stepup_cli_audit(&ctx, "admin", user, "allow", t_strdup_printf(
		"app password '%s' added", label)) < 0) {
		/* undo: no app password without its record */
		if (stepup_state_app_password_revoke(ctx.state, user, label,
						     &error) < 0)
			fprintf(stderr, "stepup: undo failed: %s\n", error);
		stepup_cli_ctx_deinit(&ctx);
		return stepup_cli_audit_lost(cli, t_strdup_printf(
			"app password '%s' for %s not added", label, user));
	}
	/* shown before the notice: whatever happens to its delivery, the
	   password that is now valid is not lost */
	if (cli->json) {
		printf("{\"user\":%s,\"label\":%s,\"password\":\"%s\"}\n",
		       stepup_cli_json_str(user), stepup_cli_json_str(label),
		       password);
	} else {
		printf("App password for %s (%s), shown only now:\n\n  %s\n\n"
		       "Use it in place of the account password on that "
		       "device.\n", user, label, password);
	}
	fflush(stdout);
	stepup_cli_notify(&ctx, STEPUP_NOTICE_APP_PASSWORD, user, label,
			  FALSE);
	stepup_cli_ctx_deinit(&ctx);
	return STEPUP_EXIT_OK;
}

static int cmd_revoke(struct stepup_cli *cli, int argc, char *argv[])
{
	struct stepup_cli_ctx ctx;
	const char *error;
	int ret;

	if (argc != 4)
		return stepup_cli_usage_error(
			"usage: stepup app-password revoke USER LABEL");
	ret = stepup_cli_ctx_init(cli, &ctx);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	ret = stepup_cli_audit_before(cli, &ctx, argv[2], t_strdup_printf(
			"app password '%s' revoked", argv[3]), t_strdup_printf(
			"app password '%s' of %s not revoked", argv[3],
			argv[2]));
	if (ret != STEPUP_EXIT_OK)
		return ret;
	ret = stepup_state_app_password_revoke(ctx.state, argv[2], argv[3],
					       &error);
	if (ret <= 0) {
		error = ret < 0 ? error : t_strdup_printf(
			"%s has no app password labelled '%s'", argv[2],
			argv[3]);
		fprintf(stderr, "stepup: %s\n", error);
		(void)stepup_cli_audit(&ctx, "admin", argv[2], "deny",
			t_strdup_printf("app password '%s' not revoked: %s",
					argv[3], error));
	} else {
		if (cli->json)
			printf("{\"revoked\":true}\n");
		else
			printf("revoked\n");
	}
	stepup_cli_ctx_deinit(&ctx);
	return ret < 0 ? STEPUP_EXIT_USAGE : ret == 0 ? STEPUP_EXIT_REFUSED :
		STEPUP_EXIT_OK;
}

int cmd_app_password(struct stepup_cli *cli, int argc, char *argv[])
{
	if (argc < 3 || !stepup_cli_user_valid(argv[2]))
		return stepup_cli_usage_error(ADD_USAGE);
	if (strcmp(argv[1], "add") == 0)
		return cmd_add(cli, argc, argv);
	if (strcmp(argv[1], "revoke") == 0)
		return cmd_revoke(cli, argc, argv);
	if (strcmp(argv[1], "list") == 0 && argc == 3) {
		/* the list is part of the status */
		char *status_argv[] = { (char *)"status", argv[2], NULL };
		return cmd_status(cli, 2, status_argv);
	}
	return stepup_cli_usage_error(ADD_USAGE);
}
