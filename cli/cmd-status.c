/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup status USER: enrollment, last use, failures/lockout, app
   passwords, reconnect grants, approval grants and pending approval
   requests. Never a secret. */

#include "lib.h"
#include "str.h"
#include "array.h"
#include "str-sanitize.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "stepup-state.h"
#include "stepup-policy.h"
#include "stepup-totp.h"

#include <stdio.h>
#include <time.h>

static const char *fmt_time(time_t t)
{
	struct tm tm;
	char buf[32];

	if (t == 0)
		return "never";
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return "?";
	return t_strdup(buf);
}

static const char *json_time(time_t t)
{
	return t == 0 ? "null" : t_strdup_printf("\"%s\"", fmt_time(t));
}

static const char *json_opt(const char *s)
{
	return s == NULL ? "null" : stepup_cli_json_str(s);
}

/* when a reconnect grant ends: its lifetime or its idle time */
static time_t grant_expiry(const struct stepup_totp_settings *set,
			   const struct stepup_grant_info *g)
{
	time_t a = g->created + set->reconnect_secs;
	time_t b = g->last_used + set->reconnect_idle_secs;

	return a < b ? a : b;
}

static const char *approval_type(const struct stepup_approval_entry *a)
{
	return a->type == STEPUP_APPROVAL_ENTRY_GRANT ? "grant" : "pending";
}

static void print_json(const char *user, const struct stepup_user_status *st,
		       const struct stepup_totp_settings *set, time_t now)
{
	const struct stepup_app_password_info *app;
	const struct stepup_grant_info *g;
	const struct stepup_approval_entry *a;
	string_t *out = t_str_new(512);
	bool first = TRUE;

	str_printfa(out, "{\"user\":%s,\"enrolled\":%s",
		    stepup_cli_json_str(user), st->enrolled ? "true" : "false");
	if (st->enrolled) {
		str_printfa(out, ",\"algorithm\":\"%s\",\"digits\":%u,"
			    "\"period\":%u,\"enrolled_at\":%s,\"last_used\":%s,"
			    "\"recovery_codes_left\":%u",
			    stepup_totp_algorithm_to_str(st->algorithm),
			    st->digits, st->period, json_time(st->enrolled_at),
			    json_time(st->last_used), st->recovery_codes_left);
	}
	str_printfa(out, ",\"failures\":%u,\"locked_until\":%s,"
		    "\"app_passwords\":[", st->failures,
		    st->locked_until > now ? json_time(st->locked_until) : "null");
	array_foreach(&st->app_passwords, app) {
		str_printfa(out, "%s{\"label\":%s,\"created\":%s,"
			    "\"expires\":%s,\"last_used\":%s,\"last_ip\":%s,"
			    "\"networks\":%s,\"protocols\":%s}",
			    first ? "" : ",", stepup_cli_json_str(app->label),
			    json_time(app->created), json_time(app->expires),
			    json_time(app->last_used), json_opt(app->last_ip),
			    json_opt(app->networks), json_opt(app->protocols));
		first = FALSE;
	}
	str_append(out, "],\"reconnect_grants\":[");
	first = TRUE;
	array_foreach(&st->grants, g) {
		if (set->reconnect_secs == 0 || grant_expiry(set, g) < now)
			continue;
		str_printfa(out, "%s{\"ip\":%s,\"created\":%s,"
			    "\"last_used\":%s,\"expires\":%s}",
			    first ? "" : ",", stepup_cli_json_str(g->ip),
			    json_time(g->created), json_time(g->last_used),
			    json_time(grant_expiry(set, g)));
		first = FALSE;
	}
	str_append(out, "],\"approvals\":[");
	first = TRUE;
	array_foreach(&st->approvals, a) {
		if (a->expires <= now)
			continue;
		str_printfa(out, "%s{\"type\":\"%s\",\"mailbox\":%s,"
			    "\"scope\":\"%s\",\"scope_value\":%s,"
			    "\"request_id\":%s,\"created\":%s,\"expires\":%s,"
			    "\"approver\":%s}", first ? "" : ",",
			    approval_type(a), stepup_cli_json_str(a->mailbox),
			    a->scope, stepup_cli_json_str(a->scope_value),
			    stepup_cli_json_str(a->request_id),
			    json_time(a->created), json_time(a->expires),
			    a->approver[0] == '\0' ? "null" :
			    stepup_cli_json_str(a->approver));
		first = FALSE;
	}
	str_append(out, "]}\n");
	fputs(str_c(out), stdout);
}

static void print_text(const char *user, const struct stepup_user_status *st,
		       const struct stepup_totp_settings *set, time_t now)
{
	const struct stepup_app_password_info *app;
	const struct stepup_grant_info *g;
	const struct stepup_approval_entry *a;

	printf("user:           %s\n", user);
	if (st->enrolled) {
		printf("enrolled:       yes, since %s (%s, %u digits, %us)\n",
		       fmt_time(st->enrolled_at),
		       stepup_totp_algorithm_to_str(st->algorithm), st->digits,
		       st->period);
		printf("last code:      %s\n", fmt_time(st->last_used));
		printf("recovery codes: %u left\n", st->recovery_codes_left);
	} else {
		printf("enrolled:       no\n");
	}
	printf("failures:       %u\n", st->failures);
	if (st->locked_until > now)
		printf("locked out:     until %s\n", fmt_time(st->locked_until));
	printf("app passwords:  %u\n", array_count(&st->app_passwords));
	array_foreach(&st->app_passwords, app) {
		printf("  %s: created %s, expires %s, last used %s%s%s, "
		       "networks %s, protocols %s\n", app->label,
		       fmt_time(app->created),
		       app->expires == 0 ? "never" : fmt_time(app->expires),
		       fmt_time(app->last_used),
		       app->last_ip == NULL ? "" : " from ",
		       app->last_ip == NULL ? "" : app->last_ip,
		       app->networks == NULL ? "any" : app->networks,
		       app->protocols == NULL ? "any" : app->protocols);
	}
	array_foreach(&st->grants, g) {
		if (set->reconnect_secs == 0 || grant_expiry(set, g) < now)
			continue;
		printf("reconnect:      from %s, code verified %s, last use %s, "
		       "ends %s\n", g->ip, fmt_time(g->created),
		       fmt_time(g->last_used), fmt_time(grant_expiry(set, g)));
	}
	array_foreach(&st->approvals, a) {
		if (a->expires <= now)
			continue;
		printf("approval %s: %s, scope %s%s%s, request %s, since %s, "
		       "%s %s%s%s\n", approval_type(a),
		       str_sanitize(a->mailbox, 256), a->scope,
		       a->scope_value[0] == '\0' ? "" : " ",
		       str_sanitize(a->scope_value, 256), a->request_id,
		       fmt_time(a->created),
		       a->type == STEPUP_APPROVAL_ENTRY_GRANT ? "ends" :
		       "dropped if undecided at", fmt_time(a->expires),
		       a->approver[0] == '\0' ? "" : ", approved by ",
		       str_sanitize(a->approver, 256));
	}
}

int cmd_status(struct stepup_cli *cli, int argc, char *argv[])
{
	struct stepup_cli_ctx ctx;
	struct stepup_user_status st;
	const char *error;
	int ret;

	if (argc != 2 || !stepup_cli_user_valid(argv[1]))
		return stepup_cli_usage_error("usage: stepup status USER [--json]");
	ret = stepup_cli_ctx_init_flags(cli, STEPUP_CLI_CTX_READ_ONLY, &ctx);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	ret = stepup_state_get_status(ctx.state, argv[1], &st, &error);
	if (ret < 0) {
		fprintf(stderr, "stepup: %s\n", error);
		stepup_cli_ctx_deinit(&ctx);
		return STEPUP_EXIT_USAGE;
	}
	if (cli->json)
		print_json(argv[1], &st, stepup_policy_get_totp(ctx.policy),
			   time(NULL));
	else
		print_text(argv[1], &st, stepup_policy_get_totp(ctx.policy),
			   time(NULL));
	stepup_cli_ctx_deinit(&ctx);
	return STEPUP_EXIT_OK;
}
