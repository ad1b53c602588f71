/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup audit verify [FILE...] [--anchor HASH]: check the hash chain of
   the audit log, rotated files oldest first, as one chain.
   stepup audit anchor [FILE]: the latest hash and its time.
   stepup audit report [FILE...] [--since T] [--user U] [--mailbox M]
   [--event E | --all]: who opened what, when, how authenticated (by
   default the opens and the approvals that led to them).
   FILE defaults to the policy's audit.path. Every command reads the files
   once, line by line, in bounded memory. */

#include "lib.h"
#include "stepup-compat.h"
#include "str.h"
#include "str-sanitize.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "stepup-policy.h"
#include "stepup-audit.h"
#include "audit-verify.h"
#include "audit-report.h"
#include "cmd-audit.h"

#include <stdio.h>
#include <time.h>

int cmd_audit_paths(struct stepup_cli *cli, const char *const *args,
		    const char *const **paths_r)
{
	struct stepup_policy *policy;
	const char *path, **one;
	int ret;

	if (args[0] != NULL) {
		*paths_r = args;
		return STEPUP_EXIT_OK;
	}
	ret = stepup_cli_load_policy(cli, &policy);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	path = stepup_policy_get_audit_path(policy);
	path = path == NULL ? NULL : t_strdup(path);
	stepup_policy_unref(&policy);
	if (path == NULL) {
		return stepup_cli_usage_error("the policy %s has no audit.path: "
			"name the audit log FILE", cli->policy_path);
	}
	one = t_new(const char *, 2);
	one[0] = path;
	*paths_r = one;
	return STEPUP_EXIT_OK;
}

const char *cmd_audit_paths_json(const char *const *paths)
{
	string_t *out = t_str_new(128);

	str_append_c(out, '[');
	for (; *paths != NULL; paths++) {
		if (str_len(out) > 1)
			str_append_c(out, ',');
		str_append(out, stepup_cli_json_str(*paths));
	}
	str_append_c(out, ']');
	return str_c(out);
}

/* the chain must also reach the record the last file's head names (when
   it is the live log): records cut from its end are found that way */
static int verify_expect_head(struct stepup_audit_verify *verify,
			      const char *const *paths, const char **error_r)
{
	const char *last = paths[str_array_length(paths) - 1], *hash;
	int ret;

	ret = stepup_audit_read_head_file(last, &hash, error_r);
	if (ret > 0) {
		stepup_audit_verify_expect(verify, hash,
					   t_strconcat(last, ".head", NULL));
	}
	return ret < 0 ? -1 : 0;
}

#define VERIFY_USAGE "usage: stepup audit verify [FILE...] [--anchor HASH]"

static int cmd_verify(struct stepup_cli *cli, int argc, char *argv[])
{
	struct stepup_audit_verify *verify;
	const char *const *args, *const *paths, *anchor = NULL, *error;
	const char *anchor_at;
	const struct stepup_cli_option opts[] = {
		{ "--anchor", &anchor, NULL },
		{ NULL, NULL, NULL }
	};
	unsigned int records;
	bool from_genesis;
	int ret;

	if (stepup_cli_parse_options_args(argc, argv, 2, opts, &args) < 0)
		return stepup_cli_usage_error(VERIFY_USAGE);
	ret = cmd_audit_paths(cli, args, &paths);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	verify = stepup_audit_verify_init(anchor);
	if (verify_expect_head(verify, paths, &error) < 0 ||
	    stepup_audit_verify_files(verify, paths, NULL, NULL, &error) < 0) {
		stepup_audit_verify_deinit(&verify);
		return stepup_cli_usage_error("%s", error);
	}
	ret = stepup_audit_verify_finish(verify, &error);
	records = stepup_audit_verify_records(verify);
	from_genesis = stepup_audit_verify_from_genesis(verify);
	anchor_at = t_strdup(stepup_audit_verify_anchor_at(verify));
	if (cli->json) {
		string_t *out = t_str_new(128);

		str_printfa(out, "{\"files\":%s,\"intact\":%s,\"records\":%u,"
			    "\"from_start\":%s,\"last_hash\":\"%s\"",
			    cmd_audit_paths_json(paths), ret == 0 ? "true" : "false",
			    records, from_genesis ? "true" : "false",
			    stepup_audit_verify_last_hash(verify));
		if (anchor != NULL) {
			str_printfa(out, ",\"anchor_at\":%s", anchor_at == NULL ?
				    "null" : stepup_cli_json_str(anchor_at));
		}
		if (ret < 0)
			str_printfa(out, ",\"error\":%s", stepup_cli_json_str(error));
		str_append(out, "}\n");
		fputs(str_c(out), stdout);
	} else if (ret == 0) {
		printf("%s: %u records, chain intact%s\n",
		       t_strarray_join(paths, ", "), records, from_genesis ?
		       " from the start of the log" :
		       " (it continues an earlier file not given)");
		if (anchor_at != NULL) {
			printf("anchor %s found at %s: the log up to it is "
			       "intact\n", anchor, anchor_at);
		}
	} else {
		printf("%s: %u intact records, then %s\n",
		       t_strarray_join(paths, ", "), records, error);
	}
	stepup_audit_verify_deinit(&verify);
	return ret == 0 ? STEPUP_EXIT_OK : STEPUP_EXIT_REFUSED;
}

static int cmd_anchor(struct stepup_cli *cli, int argc, char *argv[])
{
	const char *const *args, *const *paths, *hash, *ts, *error;
	const struct stepup_cli_option opts[] = { { NULL, NULL, NULL } };
	int ret;

	if (stepup_cli_parse_options_args(argc, argv, 2, opts, &args) < 0 ||
	    str_array_length(args) > 1)
		return stepup_cli_usage_error("usage: stepup audit anchor [FILE]");
	ret = cmd_audit_paths(cli, args, &paths);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	if (stepup_audit_last_record(paths[0], &hash, &ts, &error) < 0)
		return stepup_cli_usage_error("%s", error);
	if (cli->json) {
		printf("{\"file\":%s,\"hash\":\"%s\",\"ts\":%s}\n",
		       stepup_cli_json_str(paths[0]), hash,
		       stepup_cli_json_str(ts));
	} else {
		printf("%s %s\n", hash, str_sanitize(ts, 64));
	}
	return STEPUP_EXIT_OK;
}

#define REPORT_USAGE "usage: stepup audit report [FILE...] [--since T] " \
	"[--user U] [--mailbox M] [--event E | --all | --reads [--csv]]"

/* A field as text for the terminal: the log holds what clients sent
   (folder names, user names), so control characters (escape sequences)
   become '?'; null becomes dflt. */
const char *cmd_audit_field(const char *value, const char *dflt)
{
	return value == NULL ? dflt : str_sanitize(value, SIZE_MAX);
}

static void report_text(const struct stepup_audit_entry *e)
{
	const struct stepup_audit_record *r = &e->rec;

	printf("%s %s %s %s%s%s (auth=%s, %s from %s, rule=%s): %s\n",
	       cmd_audit_field(e->ts, "-"), cmd_audit_field(r->event, "-"), cmd_audit_field(r->user, "-"),
	       cmd_audit_field(r->decision, "-"), r->mailbox == NULL ? "" : " ",
	       cmd_audit_field(r->mailbox, ""), cmd_audit_field(r->auth, "none"),
	       cmd_audit_field(r->service, "-"), cmd_audit_field(r->ip, "-"), cmd_audit_field(r->rule, "-"),
	       cmd_audit_field(r->reason, ""));
}

static void json_kv(string_t *out, const char *key, const char *value)
{
	str_printfa(out, ",\"%s\":%s", key, value == NULL ? "null" :
		    stepup_cli_json_str(value));
}

static void report_json(string_t *out, const struct stepup_audit_entry *e)
{
	const struct stepup_audit_record *r = &e->rec;

	str_printfa(out, "{\"ts\":%s", stepup_cli_json_str(e->ts));
	json_kv(out, "event", r->event);
	json_kv(out, "user", r->user);
	json_kv(out, "session", r->session);
	json_kv(out, "service", r->service);
	json_kv(out, "ip", r->ip);
	json_kv(out, "mailbox", r->mailbox);
	json_kv(out, "rule", r->rule);
	json_kv(out, "decision", r->decision);
	json_kv(out, "reason", r->reason);
	json_kv(out, "auth", r->auth);
	str_append_c(out, '}');
}

struct report_ctx {
	struct stepup_cli *cli;
	const struct stepup_audit_filter *filter;
	unsigned int shown;
};

static int report_line(const char *line, bool intact ATTR_UNUSED,
		       const char *file ATTR_UNUSED,
		       unsigned int lineno ATTR_UNUSED, void *context)
{
	struct report_ctx *ctx = context;
	struct stepup_audit_entry entry;
	const char *error;

	if (stepup_audit_parse_entry(line, &entry, &error) < 0) {
		fprintf(stderr, "stepup: skipped a line: %s\n", error);
		return 0;
	}
	if (!stepup_audit_filter_match(ctx->filter, &entry))
		return 0;
	if (ctx->cli->json) {
		string_t *out = t_str_new(512);

		if (ctx->shown > 0)
			str_append_c(out, ',');
		report_json(out, &entry);
		fputs(str_c(out), stdout);
	} else {
		report_text(&entry);
	}
	ctx->shown++;
	return 0;
}

int cmd_audit_read(const char *const *paths,
		   stepup_audit_line_callback_t *callback, void *context,
		   const char **verify_error_r, unsigned int *records_r)
{
	struct stepup_audit_verify *verify;
	const char *error;

	*verify_error_r = NULL;
	verify = stepup_audit_verify_init(NULL);
	if (verify_expect_head(verify, paths, &error) < 0 ||
	    stepup_audit_verify_files(verify, paths, callback, context,
				      &error) < 0) {
		stepup_audit_verify_deinit(&verify);
		return stepup_cli_usage_error("%s", error);
	}
	if (stepup_audit_verify_finish(verify, &error) < 0)
		*verify_error_r = error;
	*records_r = stepup_audit_verify_records(verify);
	stepup_audit_verify_deinit(&verify);
	return STEPUP_EXIT_OK;
}

int cmd_audit_read_list(struct stepup_cli *cli, const char *const *paths,
			const char *list,
			stepup_audit_line_callback_t *callback, void *context,
			const char **verify_error_r, unsigned int *records_r)
{
	int ret;

	if (cli->json) {
		printf("{\"files\":%s,\"%s\":[", cmd_audit_paths_json(paths),
		       list);
	}
	ret = cmd_audit_read(paths, callback, context, verify_error_r,
			     records_r);
	if (cli->json)
		printf(ret == STEPUP_EXIT_OK ? "]" : "]}\n");
	return ret;
}

int cmd_audit_finish(bool json, const char *verify_error,
		     unsigned int records, int ok_status)
{
	if (json) {
		printf(",\"intact\":%s", verify_error == NULL ? "true" : "false");
		if (verify_error != NULL)
			printf(",\"error\":%s", stepup_cli_json_str(verify_error));
		printf("}\n");
	}
	if (verify_error == NULL)
		return ok_status;
	fprintf(stderr, "stepup: the chain is broken after %u intact records, "
		"%s: what follows cannot be trusted\n", records, verify_error);
	return STEPUP_EXIT_REFUSED;
}

static int cmd_audit_report(struct stepup_cli *cli,
			    const char *const *paths,
			    const struct stepup_audit_filter *filter)
{
	struct report_ctx ctx = { .cli = cli, .filter = filter };
	const char *verify_error;
	unsigned int records;
	int ret;

	ret = cmd_audit_read_list(cli, paths, "records", report_line, &ctx,
				  &verify_error, &records);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	if (!cli->json)
		printf("%u record%s shown\n", ctx.shown, ctx.shown == 1 ? "" : "s");
	return cmd_audit_finish(cli->json, verify_error, records,
				STEPUP_EXIT_OK);
}

static int cmd_report(struct stepup_cli *cli, int argc, char *argv[])
{
	struct stepup_audit_filter filter;
	const char *const *args, *const *paths, *since = NULL, *error;
	bool all = FALSE, reads = FALSE, csv = FALSE;
	const struct stepup_cli_option opts[] = {
		{ "--all", NULL, &all },
		{ "--reads", NULL, &reads },
		{ "--csv", NULL, &csv },
		{ "--since", &since, NULL },
		{ "--user", &filter.user, NULL },
		{ "--mailbox", &filter.mailbox, NULL },
		{ "--event", &filter.event, NULL },
		{ NULL, NULL, NULL }
	};
	int ret;

	i_zero(&filter);
	if (stepup_cli_parse_options_args(argc, argv, 2, opts, &args) < 0)
		return stepup_cli_usage_error(REPORT_USAGE);
	/* default: the folder decisions and the approvals that led to
	   them; for one user (no folder asked for, no --reads): everything
	   of theirs, logins included */
	if (!all && filter.event == NULL &&
	    (reads || filter.user == NULL || filter.mailbox != NULL)) {
		filter.event = "open";
		filter.also_event = "approval";
	}
	if (since != NULL &&
	    stepup_audit_parse_since(since, time(NULL), &filter.since,
				     &error) < 0)
		return stepup_cli_usage_error("%s", error);
	if ((csv && !reads) ||
	    (reads && (all || strcmp(filter.event, "open") != 0)))
		return stepup_cli_usage_error(REPORT_USAGE);
	ret = cmd_audit_paths(cli, args, &paths);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	if (reads)
		return cmd_audit_report_reads(cli, paths, &filter, csv);
	return cmd_audit_report(cli, paths, &filter);
}

int cmd_audit(struct stepup_cli *cli, int argc, char *argv[])
{
	if (argc < 2) {
		return stepup_cli_usage_error(
			"audit: verify, anchor, report or anomalies?");
	}
	if (strcmp(argv[1], "verify") == 0)
		return cmd_verify(cli, argc, argv);
	if (strcmp(argv[1], "anchor") == 0)
		return cmd_anchor(cli, argc, argv);
	if (strcmp(argv[1], "report") == 0)
		return cmd_report(cli, argc, argv);
	if (strcmp(argv[1], "anomalies") == 0)
		return cmd_audit_anomalies(cli, argc, argv);
	return stepup_cli_usage_error("audit: unknown subcommand '%s'",
				      argv[1]);
}
