/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup audit anomalies [FILE...] [--since T] [--json]: what looks like
   an intrusion (audit/audit-anomalies.h), with the thresholds of the
   policy's audit.anomalies. Exit status 1 when something was found. */

#include "lib.h"
#include "stepup-compat.h"
#include "str.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "stepup-policy.h"
#include "audit-anomalies.h"
#include "cmd-audit.h"

#include <stdio.h>
#include <time.h>

#define ANOMALIES_USAGE "usage: stepup audit anomalies [FILE...] [--since T]"

struct anomalies_ctx {
	struct stepup_cli *cli;
	struct stepup_anomalies *anomalies;
	unsigned int found;
};

static int anomalies_line(const char *line, bool intact ATTR_UNUSED,
			  const char *file, unsigned int lineno,
			  void *context)
{
	struct anomalies_ctx *ctx = context;
	struct stepup_audit_entry entry;
	const char *error;

	if (stepup_audit_parse_entry(line, &entry, &error) == 0) {
		stepup_anomalies_add(ctx->anomalies, &entry, t_strdup_printf(
			"%s line %u", file, lineno));
	}
	return 0;
}

static void anomaly_found(const struct stepup_anomaly *a, void *context)
{
	struct anomalies_ctx *ctx = context;
	const char *const *r;
	string_t *out = t_str_new(256);

	if (ctx->cli->json) {
		str_append(out, ctx->found == 0 ? "" : ",");
		str_printfa(out, "{\"kind\":\"%s\",\"ts\":%s,\"user\":%s,"
			    "\"ip\":%s,\"session\":%s,\"detail\":%s,"
			    "\"records\":[", a->kind, stepup_cli_json_str(a->ts),
			    stepup_cli_json_str(a->user),
			    a->ip == NULL ? "null" : stepup_cli_json_str(a->ip),
			    a->session == NULL ? "null" :
			    stepup_cli_json_str(a->session),
			    stepup_cli_json_str(a->detail));
		for (r = a->records; *r != NULL; r++) {
			str_printfa(out, "%s%s", r == a->records ? "" : ",",
				    stepup_cli_json_str(*r));
		}
		str_append(out, "]}");
	} else {
		str_printfa(out, "%s %s %s: %s (records: ", a->ts, a->kind,
			    cmd_audit_field(a->user, "-"),
			    cmd_audit_field(a->detail, ""));
		for (r = a->records; *r != NULL; r++) {
			str_printfa(out, "%s%s", r == a->records ? "" : ", ",
				    cmd_audit_field(*r, "-"));
		}
		str_append(out, ")\n");
	}
	fputs(str_c(out), stdout);
	ctx->found++;
}

int cmd_audit_anomalies(struct stepup_cli *cli, int argc, char *argv[])
{
	struct stepup_policy *policy;
	struct anomalies_ctx ctx = { .cli = cli };
	const char *const *args, *const *paths, *since = NULL, *since_ts = NULL;
	const char *error, *verify_error;
	const struct stepup_cli_option opts[] = {
		{ "--since", &since, NULL },
		{ NULL, NULL, NULL }
	};
	unsigned int records;
	int ret;

	if (stepup_cli_parse_options_args(argc, argv, 2, opts, &args) < 0)
		return stepup_cli_usage_error(ANOMALIES_USAGE);
	if (since != NULL &&
	    stepup_audit_parse_since(since, time(NULL), &since_ts, &error) < 0)
		return stepup_cli_usage_error("%s", error);
	ret = stepup_cli_load_policy(cli, &policy);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	ret = cmd_audit_paths(cli, args, &paths);
	if (ret != STEPUP_EXIT_OK) {
		stepup_policy_unref(&policy);
		return ret;
	}
	ctx.anomalies = stepup_anomalies_init(
		&stepup_policy_get_audit(policy)->anomalies, since_ts,
		anomaly_found, &ctx);
	ret = cmd_audit_read_list(cli, paths, "findings", anomalies_line,
				  &ctx, &verify_error, &records);
	stepup_anomalies_deinit(&ctx.anomalies);
	stepup_policy_unref(&policy);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	if (!cli->json)
		printf("%u finding%s\n", ctx.found, ctx.found == 1 ? "" : "s");
	return cmd_audit_finish(cli->json, verify_error, records,
				ctx.found > 0 ? STEPUP_EXIT_REFUSED :
				STEPUP_EXIT_OK);
}
