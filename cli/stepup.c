/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup: enrollment, app passwords, policy and audit tooling. */

#include "lib.h"
#include "stepup-compat.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "cli-common.h"

#include <stdio.h>
#include <unistd.h>

struct stepup_command {
	const char *name;
	stepup_cmd_func_t *func;
	/* "SYNOPSIS\tone-line description" lines */
	const char *usage;
};

static const struct stepup_command commands[] = {
	{ "enroll", cmd_enroll, "enroll USER [--self [--ip IP]] [--json]\t"
	  "set up TOTP: QR code, confirm with a code, recovery codes "
	  "(--self: the user, with an invitation or a current code)" },
	{ "invite", cmd_invite, "invite USER [--expires 7d] [--json]\t"
	  "a one-time invitation for the user to enroll themself" },
	{ "status", cmd_status, "status USER [--json]\t"
	  "enrollment, last use, failures and lockout, app passwords" },
	{ "unlock", cmd_unlock, "unlock USER [--json]\t"
	  "end a lockout; the enrollment stays" },
	{ "reset", cmd_reset, "reset USER [--socket PATH] [--json]\t"
	  "remove TOTP, recovery codes, lockout and grants (reconnect, "
	  "approval; also in a running stepup-approval service)" },
	{ "recovery-codes", cmd_recovery_codes, "recovery-codes USER [--json]\t"
	  "replace the recovery codes with 10 new ones" },
	{ "app-password", cmd_app_password,
	  "app-password add USER --label L [--expires 90d] "
	  "[--networks N,...] [--protocols P,...]\t"
	  "a password of its own for one device, without a code\n"
	  "app-password list USER\tthe user's app passwords (no secrets)\n"
	  "app-password revoke USER LABEL\tremove one app password" },
	{ "policy", cmd_policy,
	  "policy check [FILE]\tevery error of a policy, with file:line\n"
	  "policy explain [FILE] --user U --ip IP --protocol P "
	  "[--mailbox M --auth A --mfa-age S] [--json]\t"
	  "the decision for one login or folder, and why\n"
	  "policy dump [FILE] [--json]\tthe policy as the plugin reads it" },
	{ "audit", cmd_audit,
	  "audit verify [FILE...] [--anchor HASH]\t"
	  "check the hash chain of the audit log (rotated files as one)\n"
	  "audit anchor [FILE]\tthe latest record's hash, to keep elsewhere\n"
	  "audit report [FILE...] [--since T] [--user U] [--mailbox M] "
	  "[--event E | --all] [--json]\t"
	  "who logged in or opened what, when, how (default: folders)\n"
	  "audit report --reads [--user U] [--mailbox M] [--since T] [--csv]\t"
	  "the messages each session read (UID, Message-ID), per session\n"
	  "audit anomalies [--since T]\t"
	  "new addresses, bulk reads, code guessing, odd hours, parallel use" },
	{ "doctor", cmd_doctor, "doctor [--dovecot-config FILE] "
	  "[--mail-user USER] [--json]\t"
	  "check, as each Dovecot process's user, what it will be able to "
	  "do; the fix for each failure" },
	{ "import-oath", cmd_import_oath, "import-oath USERSFILE [--json]\t"
	  "enroll the users of a pam_oath users file" },
	{ "approval", cmd_approval,
	  "approval revoke USER FOLDER\tend a user's live approval grant and "
	  "pending request for a folder\n"
	  "approval approve ID [--for DURATION] [--reason TEXT] "
	  "[--socket PATH]\tgrant a request of the stepup-approval service\n"
	  "approval deny ID [--reason TEXT] [--socket PATH]\t"
	  "refuse a request of the stepup-approval service\n"
	  "approval list [--socket PATH]\tthe service's requests" },
};

static void print_usage_lines(FILE *out, const char *usage)
{
	const char *const *line, *tab;

	for (line = t_strsplit(usage, "\n"); *line != NULL; line++) {
		tab = strchr(*line, '\t');
		if (tab == NULL)
			fprintf(out, "  stepup %s\n", *line);
		else {
			fprintf(out, "  stepup %s\n      %s\n",
				t_strdup_until(*line, tab), tab + 1);
		}
	}
}

static bool is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

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
		print_usage_lines(out, commands[i].usage);
	fprintf(out, "\nstepup COMMAND --help shows one command.\n");
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

/* --help (or -h) anywhere among a command's arguments, before "--" */
static bool wants_help(int argc, char *argv[])
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return FALSE;
		if (is_help(argv[i]))
			return TRUE;
	}
	return FALSE;
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
	for (i = 0; i < (unsigned int)argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--json") == 0) {
			stepup_cli_output_init();
			break;
		}
	}
	ret = stepup_cli_parse_globals(&cli, &argc, argv);
	if (ret != STEPUP_EXIT_OK) {
		stepup_cli_output_finish(ret);
		lib_deinit();
		return ret;
	}
	if (argc == 0) {
		usage(stderr);
		stepup_cli_output_finish(STEPUP_EXIT_USAGE);
		lib_deinit();
		return STEPUP_EXIT_USAGE;
	}
	if (is_help(argv[0]) || strcmp(argv[0], "help") == 0) {
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
		if (wants_help(argc, argv)) {
			printf("usage:\n");
			print_usage_lines(stdout, commands[i].usage);
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
	if (cli.json)
		stepup_cli_output_finish(ret);
	lib_deinit();
	return ret;
}
