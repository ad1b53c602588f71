#ifndef STEPUP_CLI_COMMON_H
#define STEPUP_CLI_COMMON_H

#include "stepup-enroll.h"

struct stepup_cli;
struct stepup_policy;
struct stepup_state;
struct stepup_audit;

/* What a command that touches users needs: the policy, the audit log
   (opened with the caller's privileges) and the state store, opened as
   the state directory's owner (root switches to that user first, so every
   file it creates belongs to the auth process's user). */
struct stepup_cli_ctx {
	struct stepup_policy *policy;
	struct stepup_audit *audit;
	struct stepup_state *state;
};

enum stepup_cli_ctx_flags {
	/* the command changes nothing: no audit log (which a non-root
	   admin may not be able to open) */
	STEPUP_CLI_CTX_READ_ONLY = 0x01,
};

/* Returns STEPUP_EXIT_OK or the exit status to return. */
int stepup_cli_ctx_init(struct stepup_cli *cli, struct stepup_cli_ctx *ctx_r);
int stepup_cli_ctx_init_flags(struct stepup_cli *cli,
			      enum stepup_cli_ctx_flags flags,
			      struct stepup_cli_ctx *ctx_r);
void stepup_cli_ctx_deinit(struct stepup_cli_ctx *ctx);

/* Load the policy named by cli (errors printed): exit status. */
int stepup_cli_load_policy(struct stepup_cli *cli,
			   struct stepup_policy **policy_r);

/* A user name as given: not empty, no control characters, not huge. */
bool stepup_cli_user_valid(const char *user);

/* An audit record for an enroll/admin action (failures printed). -1 if
   it could not be written and the policy requires records
   (audit.required): the caller does not make the change, or undoes it. */
int stepup_cli_audit(struct stepup_cli_ctx *ctx, const char *event,
		     const char *user, const char *decision,
		     const char *reason);
/* Say that what was not done (or undone) for want of its audit record;
   returns the exit status. */
int stepup_cli_audit_lost(struct stepup_cli *cli, const char *what);
/* An admin change recorded before it is made (a removal is not undone
   for want of space): STEPUP_EXIT_OK, or, without its record, ctx is
   deinitialised, not_done said and the exit status returned. */
int stepup_cli_audit_before(struct stepup_cli *cli,
			    struct stepup_cli_ctx *ctx, const char *user,
			    const char *reason, const char *not_done);

/* A subcommand's options: "--name VALUE" sets *value, "--name" alone sets
   *flag (exactly one of the two is non-NULL). */
struct stepup_cli_option {
	const char *name;
	const char **value;
	bool *flag;
};

/* The stepup-approval service's admin socket (cmd-approval-decide.c):
   one request line, the reply until "\n" (multi: until ".\n"),
   bounded in time. */
#define STEPUP_CLI_APPROVAL_SOCKET "/run/dovecot/stepup-approval"
int stepup_cli_approval_exchange(const char *path, const char *line,
				 bool multi, const char **reply_r,
				 const char **error_r);

/* Parse argv[first..]: the options in opts (NULL name ends the list) and
   at most one positional argument, which must come first (*positional_r,
   left alone if there is none). -1 on anything else. */
int stepup_cli_parse_options(int argc, char *argv[], int first,
			     const struct stepup_cli_option *opts,
			     const char **positional_r);

/* The same, with any number of positional arguments anywhere among the
   options (NULL-terminated in *args_r, on the data stack). */
int stepup_cli_parse_options_args(int argc, char *argv[], int first,
				  const struct stepup_cli_option *opts,
				  const char *const **args_r);

/* "7d": 1..3650 days in seconds; -1 if not that. */
int stepup_cli_parse_days(const char *str, time_t *secs_r);

/* With enrollment.notify: the notice of a change into the user's INBOX
   through Dovecot's LMTP (bounded wait). A failure is said on stderr
   and audited; the change stands. */
void stepup_cli_notify(struct stepup_cli_ctx *ctx,
		       enum stepup_notice_kind kind, const char *user,
		       const char *detail, bool by_self);

/* --json: from init on, a command that exits non-zero without printing
   on stdout gets a JSON error there (its last stderr line); finish prints
   it. */
void stepup_cli_output_init(void);
void stepup_cli_output_finish(int exit_status);

/* libconfig text (a policy dump) as JSON appended to out. */
int stepup_cli_config_to_json(const char *text, string_t *out,
			      const char **error_r);

/* JSON string (quoted, escaped) on the data stack. */
const char *stepup_cli_json_str(const char *str);

#endif
