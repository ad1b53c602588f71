/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup: enrollment, app passwords, policy and audit tooling. */

#include "lib.h"
#include "stepup-compat.h"
#include "stepup-config.h"
#include "stepup-cli.h"

#include <stdio.h>
#include <unistd.h>

struct stepup_command {
	const char *name;
	stepup_cmd_func_t *func;
	const char *usage;
};

static const struct stepup_command commands[] = {
	{ "enroll", cmd_enroll, "enroll USER [--self [--ip IP]] [--json]" },
	{ "invite", cmd_invite, "invite USER [--expires 7d] [--json]" },
	{ "status", cmd_status, "status USER [--json]" },
	{ "reset", cmd_reset, "reset USER" },
	{ "recovery-codes", cmd_recovery_codes, "recovery-codes USER" },
	{ "app-password", cmd_app_password,
	  "app-password add USER --label L [--expires 90d] "
	  "[--networks N,...] [--protocols P,...]\n"
	  "  stepup app-password list USER | revoke USER LABEL" },
	{ "policy", cmd_policy,
	  "policy check [FILE]\n"
	  "  stepup policy explain [FILE] --user U --ip IP --protocol P "
	  "[--mailbox M --auth A --mfa-age S] [--json]\n"
	  "  stepup policy dump [FILE]" },
	{ "audit", cmd_audit,
	  "audit verify [FILE...] [--anchor HASH]\n"
	  "  stepup audit anchor [FILE]\n"
	  "  stepup audit report --reads [--user U] [--mailbox M] [--since T] [--csv]\n"
	  "  stepup audit anomalies [--since T]\n"
	  "  stepup audit report [--since T] [--user U] [--mailbox M]" },
	{ "import-oath", cmd_import_oath, "import-oath USERSFILE" },
	{ "approval", cmd_approval,
	  "approval revoke USER FOLDER\n"
	  "  stepup approval approve ID [--for DURATION] [--reason TEXT] "
	  "[--socket PATH]\n"
	  "  stepup approval deny ID [--reason TEXT] [--socket PATH]\n"
	  "  stepup approval list [--socket PATH]" },
};

int stepup_cli_usage_error(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	fprintf(stderr, "stepup: %s\n", t_strdup_vprintf(fmt, args));
	va_end(args);
	return STEPUP_EXIT_USAGE;
}

static void usage(FILE *out)
{
	unsigned int i;

	fprintf(out, "usage: stepup [--policy FILE] [--json] COMMAND ...\n\n");
	for (i = 0; i < N_ELEMENTS(commands); i++)
		fprintf(out, "  stepup %s\n", commands[i].usage);
	fprintf(out, "\nThe policy is FILE, else $STEPUP_POLICY, else %s.\n"
		"Exit status: 0 success, 1 refused or failed check, "
		"2 usage or configuration error.\n", STEPUP_DEFAULT_POLICY);
}

/* Take the global options out of argv, wherever they stand. */
static int
stepup_cli_parse_globals(struct stepup_cli *cli, int *argc, char *argv[])
{
	int i, n = 0;
	const char *env = getenv("STEPUP_POLICY");

	cli->policy_path = STEPUP_DEFAULT_POLICY;
	if (env != NULL && env[0] != '\0') {
		cli->policy_path = env;
		cli->policy_explicit = TRUE;
	}
	for (i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--policy") == 0) {
			if (i + 1 >= *argc)
				return stepup_cli_usage_error(
					"--policy needs a FILE");
			cli->policy_path = argv[++i];
			cli->policy_explicit = TRUE;
		} else if (str_begins_with(argv[i], "--policy=")) {
			cli->policy_path = argv[i] + 9;
			cli->policy_explicit = TRUE;
		} else if (strcmp(argv[i], "--json") == 0) {
			cli->json = TRUE;
		} else if (strcmp(argv[i], "--") == 0) {
			/* everything after "--" is an operand */
			while (i < *argc)
				argv[n++] = argv[i++];
			break;
		} else {
			argv[n++] = argv[i];
		}
	}
	if (cli->policy_path[0] == '\0')
		return stepup_cli_usage_error("--policy needs a FILE");
	*argc = n;
	argv[n] = NULL;
	return STEPUP_EXIT_OK;
}

int main(int argc, char *argv[])
{
	struct stepup_cli cli;
	unsigned int i;
	int ret;

	lib_init();
	i_zero(&cli);
	/* skip the program name */
	argc--; argv++;
	ret = stepup_cli_parse_globals(&cli, &argc, argv);
	if (ret != STEPUP_EXIT_OK) {
		lib_deinit();
		return ret;
	}
	if (argc == 0) {
		usage(stderr);
		lib_deinit();
		return STEPUP_EXIT_USAGE;
	}
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
	    strcmp(argv[0], "help") == 0) {
		usage(stdout);
		lib_deinit();
		return STEPUP_EXIT_OK;
	}
	if (strcmp(argv[0], "--version") == 0) {
		printf("stepup %s\n", STEPUP_VERSION);
		lib_deinit();
		return STEPUP_EXIT_OK;
	}
	ret = -1;
	for (i = 0; i < N_ELEMENTS(commands); i++) {
		if (strcmp(argv[0], commands[i].name) != 0)
			continue;
		if (argc > 1 && (strcmp(argv[1], "--help") == 0 ||
				 strcmp(argv[1], "-h") == 0)) {
			printf("usage: stepup %s\n", commands[i].usage);
			ret = STEPUP_EXIT_OK;
		} else T_BEGIN {
			ret = commands[i].func(&cli, argc, argv);
		} T_END;
		break;
	}
	if (ret < 0) {
		ret = stepup_cli_usage_error("unknown command '%s' "
					     "(see stepup --help)", argv[0]);
	}
	lib_deinit();
	return ret;
}
