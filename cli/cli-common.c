/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-compat.h"
#include "array.h"
#include "str.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "stepup-policy.h"
#include "stepup-state.h"
#include "stepup-audit.h"
#include "cli-common.h"
#include "stepup-enroll.h"

#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <grp.h>
#include <pwd.h>
#include <time.h>

#define STEPUP_CLI_NOTIFY_TIMEOUT_MSECS (10 * 1000)

int stepup_cli_load_policy(struct stepup_cli *cli,
			   struct stepup_policy **policy_r)
{
	const char *error;

	if (stepup_policy_load(cli->policy_path, policy_r, &error) < 0) {
		fprintf(stderr, "%s\n", error);
		fprintf(stderr, "stepup: the policy %s is not valid\n",
			cli->policy_path);
		return STEPUP_EXIT_USAGE;
	}
	return STEPUP_EXIT_OK;
}

/* Become the state directory's owner, for good. */
static int drop_to_owner(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "stepup: state directory %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "stepup: %s is not a directory\n", path);
		return -1;
	}
	if (geteuid() != 0 && st.st_uid != geteuid()) {
		struct passwd *pw = getpwuid(st.st_uid);
		const char *owner = pw == NULL ?
			t_strdup_printf("uid %u", (unsigned int)st.st_uid) :
			t_strdup(pw->pw_name);

		fprintf(stderr, "stepup: the state directory %s belongs to "
			"%s: run stepup as root (or as %s)\n", path, owner,
			owner);
		return -1;
	}
	if (geteuid() == 0 && st.st_uid == 0) {
		fprintf(stderr, "stepup: warning: the state directory %s is "
			"owned by root: Dovecot's auth process (its "
			"default_internal_user, dovecot on Debian) cannot use "
			"it and refuses every login; chown -R dovecot:dovecot "
			"%s\n", path, path);
	}
	if (geteuid() != 0 || st.st_uid == 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setgid(st.st_gid) < 0 ||
	    setuid(st.st_uid) < 0) {
		fprintf(stderr, "stepup: cannot switch to the owner of %s: "
			"%s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

int stepup_cli_ctx_init(struct stepup_cli *cli, struct stepup_cli_ctx *ctx_r)
{
	return stepup_cli_ctx_init_flags(cli, 0, ctx_r);
}

int stepup_cli_ctx_init_flags(struct stepup_cli *cli,
			      enum stepup_cli_ctx_flags flags,
			      struct stepup_cli_ctx *ctx_r)
{
	const char *path, *error = NULL;
	int ret;

	i_zero(ctx_r);
	ret = stepup_cli_load_policy(cli, &ctx_r->policy);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	path = (flags & STEPUP_CLI_CTX_READ_ONLY) != 0 ? NULL :
		stepup_policy_get_audit_path(ctx_r->policy);
	if (path != NULL &&
	    stepup_audit_open(path, &ctx_r->audit, &error) < 0) {
		fprintf(stderr, "stepup: audit log: %s\n", error);
		stepup_cli_ctx_deinit(ctx_r);
		return STEPUP_EXIT_USAGE;
	}
	path = stepup_policy_get_state_path(ctx_r->policy);
	if (path == NULL) {
		fprintf(stderr, "stepup: this build keeps state in files only "
			"(state.path)\n");
		stepup_cli_ctx_deinit(ctx_r);
		return STEPUP_EXIT_USAGE;
	}
	if (drop_to_owner(path) < 0 ||
	    stepup_state_init_dir(path, &ctx_r->state, &error) < 0) {
		if (error != NULL)
			fprintf(stderr, "stepup: state: %s\n", error);
		stepup_cli_ctx_deinit(ctx_r);
		return STEPUP_EXIT_USAGE;
	}
	return STEPUP_EXIT_OK;
}

void stepup_cli_ctx_deinit(struct stepup_cli_ctx *ctx)
{
	stepup_state_deinit(&ctx->state);
	stepup_audit_close(&ctx->audit);
	stepup_policy_unref(&ctx->policy);
}

bool stepup_cli_user_valid(const char *user)
{
	const unsigned char *p;

	if (user[0] == '\0' || strlen(user) > 255)
		return FALSE;
	for (p = (const unsigned char *)user; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return FALSE;
	}
	return TRUE;
}

int stepup_cli_audit(struct stepup_cli_ctx *ctx, const char *event,
		     const char *user, const char *decision,
		     const char *reason)
{
	struct stepup_audit_record rec;
	struct timeval tv;
	const char *error;

	if (ctx->audit == NULL)
		return 0;
	i_zero(&rec);
	rec.event = event;
	rec.user = user;
	rec.service = "stepup";
	rec.decision = decision;
	rec.reason = reason;
	if (gettimeofday(&tv, NULL) < 0)
		i_fatal("gettimeofday() failed: %m");
	if (stepup_audit_write(ctx->audit, &rec, &tv, &error) < 0) {
		fprintf(stderr, "stepup: audit log: %s\n", error);
		if (stepup_policy_audit_required(ctx->policy))
			return -1;
		fprintf(stderr, "stepup: audit.required = false: going on "
			"without the record\n");
	}
	return 0;
}

int stepup_cli_audit_before(struct stepup_cli *cli,
			    struct stepup_cli_ctx *ctx, const char *user,
			    const char *reason, const char *not_done)
{
	if (stepup_cli_audit(ctx, "admin", user, "allow", reason) == 0)
		return STEPUP_EXIT_OK;
	stepup_cli_ctx_deinit(ctx);
	return stepup_cli_audit_lost(cli, not_done);
}

int stepup_cli_audit_lost(struct stepup_cli *cli, const char *what)
{
	fprintf(stderr, "stepup: %s: its audit record could not be written "
		"(free space or fix the audit log, then run the command "
		"again)\n", what);
	if (cli->json) {
		printf("{\"error\":%s}\n", stepup_cli_json_str(t_strdup_printf(
			"%s: its audit record could not be written", what)));
	}
	return STEPUP_EXIT_USAGE;
}

int stepup_cli_parse_days(const char *str, time_t *secs_r)
{
	unsigned int n;
	const char *end;

	if (str_parse_uint(str, &n, &end) < 0 || n == 0 || n > 3650 ||
	    strcmp(end, "d") != 0)
		return -1;
	*secs_r = (time_t)n * 86400;
	return 0;
}

void stepup_cli_notify(struct stepup_cli_ctx *ctx,
		       enum stepup_notice_kind kind, const char *user,
		       const char *detail, bool by_self)
{
	const struct stepup_enrollment_settings *set =
		stepup_policy_get_enrollment(ctx->policy);
	const char *msg, *error;
	char host[256];

	if (!set->notify)
		return;
	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	msg = stepup_notice_message(kind, user, detail, by_self, host,
				    time(NULL));
	if (stepup_lmtp_deliver(set->lmtp, user, msg,
				STEPUP_CLI_NOTIFY_TIMEOUT_MSECS, &error) < 0) {
		fprintf(stderr, "stepup: warning: the notice to %s's INBOX "
			"was not delivered: %s\n", user, error);
		stepup_cli_audit(ctx, "admin", user, "deny", t_strdup_printf(
			"notice not delivered: %s", error));
	}
}

const char *stepup_cli_json_str(const char *str)
{
	string_t *out = t_str_new(strlen(str) + 8);

	str_append_c(out, '"');
	json_append_escaped(out, str);
	str_append_c(out, '"');
	return str_c(out);
}

/* one option at argv[*i]: -1 if unknown or its value is missing */
static int parse_option(int argc, char *argv[], int *i,
			const struct stepup_cli_option *opts)
{
	const struct stepup_cli_option *opt;

	for (opt = opts; opt->name != NULL; opt++) {
		if (strcmp(argv[*i], opt->name) == 0)
			break;
	}
	if (opt->name == NULL)
		return -1;
	if (opt->flag != NULL)
		*opt->flag = TRUE;
	else if (*i + 1 < argc)
		*opt->value = argv[++*i];
	else
		return -1;
	return 0;
}

int stepup_cli_parse_options(int argc, char *argv[], int first,
			     const struct stepup_cli_option *opts,
			     const char **positional_r)
{
	int i;

	for (i = first; i < argc; i++) {
		if (argv[i][0] != '-' && i == first) {
			*positional_r = argv[i];
			continue;
		}
		if (parse_option(argc, argv, &i, opts) < 0)
			return -1;
	}
	return 0;
}

int stepup_cli_parse_options_args(int argc, char *argv[], int first,
				  const struct stepup_cli_option *opts,
				  const char *const **args_r)
{
	ARRAY_TYPE(const_string) args;
	int i;

	t_array_init(&args, 4);
	for (i = first; i < argc; i++) {
		if (argv[i][0] != '-' || argv[i][1] == '\0')
			array_push_back(&args, (const char **)&argv[i]);
		else if (parse_option(argc, argv, &i, opts) < 0)
			return -1;
	}
	array_append_zero(&args);
	*args_r = array_front(&args);
	return 0;
}
