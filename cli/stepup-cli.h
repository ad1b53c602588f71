#ifndef STEPUP_CLI_H
#define STEPUP_CLI_H

/* Exit status of every stepup command (SPEC: "The stepup tool"). */
enum stepup_exit {
	STEPUP_EXIT_OK = 0,
	STEPUP_EXIT_REFUSED = 1,	/* refused, failed check */
	STEPUP_EXIT_USAGE = 2,		/* usage or configuration error */
};

struct stepup_cli {
	/* --policy FILE, else $STEPUP_POLICY, else the built-in default */
	const char *policy_path;
	/* --policy was given explicitly (or $STEPUP_POLICY was set) */
	bool policy_explicit;
	/* --json anywhere on the command line */
	bool json;
};

/* A subcommand gets argv without the global options; argv[0] is the
   subcommand's own name. Returns an enum stepup_exit value. */
typedef int stepup_cmd_func_t(struct stepup_cli *cli, int argc, char *argv[]);

stepup_cmd_func_t cmd_enroll, cmd_status, cmd_reset, cmd_app_password,
	cmd_policy, cmd_audit, cmd_import_oath, cmd_recovery_codes,
	cmd_approval_decide, cmd_invite, cmd_approval, cmd_unlock, cmd_doctor;

/* Print "stepup: <message>" to stderr and return STEPUP_EXIT_USAGE. */
int stepup_cli_usage_error(const char *fmt, ...) ATTR_FORMAT(1, 2);

#endif
