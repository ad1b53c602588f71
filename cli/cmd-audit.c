/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup audit verify [FILE]: check the hash chain of the audit log.
   stepup audit report [FILE] [--since T] [--user U] [--mailbox M]
   [--event E | --all]: who opened what, when, how authenticated.
   FILE defaults to the policy's audit.path. */

#include "lib.h"
#include "stepup-compat.h"
#include "str.h"
#include "str-sanitize.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "policy.h"
#include "audit.h"
#include "audit-report.h"

#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int read_all(const char *path, string_t *dest, const char **error_r)
{
	char buf[8192];
	ssize_t ret;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		*error_r = t_strdup_printf("open(%s) failed: %m", path);
		return -1;
	}
	while ((ret = read(fd, buf, sizeof(buf))) > 0)
		str_append_data(dest, buf, ret);
	if (ret < 0) {
		*error_r = t_strdup_printf("read(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	i_close_fd(&fd);
	return 0;
}

static int cmd_audit_verify(struct stepup_cli *cli, const char *path)
{
	string_t *data = str_new(default_pool, 65536);
	unsigned int records;
	const char *error;
	int ret;

	if (read_all(path, data, &error) < 0) {
		str_free(&data);
		return stepup_cli_usage_error("%s", error);
	}
	ret = stepup_audit_verify_buffer(str_c(data), str_len(data),
					 &records, &error);
	str_free(&data);
	if (cli->json) {
		string_t *out = t_str_new(128);

		str_append(out, "{\"file\":\"");
		json_append_escaped(out, path);
		str_printfa(out, "\",\"intact\":%s,\"records\":%u",
			    ret == 0 ? "true" : "false", records);
		if (ret < 0) {
			str_append(out, ",\"error\":\"");
			json_append_escaped(out, error);
			str_append_c(out, '"');
		}
		str_append(out, "}\n");
		fputs(str_c(out), stdout);
	} else if (ret == 0) {
		printf("%s: %u records, chain intact\n", path, records);
	} else {
		printf("%s: %u intact records, then %s\n", path, records,
		       error);
	}
	return ret == 0 ? STEPUP_EXIT_OK : STEPUP_EXIT_REFUSED;
}

#define REPORT_USAGE "usage: stepup audit report [FILE] [--since T] " \
	"[--user U] [--mailbox M] [--event E | --all]"

/* A field as text for the terminal: the log holds what clients sent
   (folder names, user names), so control characters (escape sequences)
   become '?'; null becomes dflt. */
static const char *field(const char *value, const char *dflt)
{
	return value == NULL ? dflt : str_sanitize(value, SIZE_MAX);
}

static void report_text(const struct stepup_audit_entry *e)
{
	const struct stepup_audit_record *r = &e->rec;

	printf("%s %s %s %s%s%s (auth=%s, %s from %s, rule=%s): %s\n",
	       field(e->ts, "-"), field(r->event, "-"), field(r->user, "-"),
	       field(r->decision, "-"), r->mailbox == NULL ? "" : " ",
	       field(r->mailbox, ""), field(r->auth, "none"),
	       field(r->service, "-"), field(r->ip, "-"), field(r->rule, "-"),
	       field(r->reason, ""));
}

static void json_kv(string_t *out, const char *key, const char *value)
{
	str_printfa(out, ",\"%s\":%s", key, value == NULL ? "null" :
		    stepup_cli_json_str(value));
}

static void report_json(string_t *out, const struct stepup_audit_entry *e)
{
	const struct stepup_audit_record *r = &e->rec;

	str_printfa(out, "%s{\"ts\":%s", str_data(out)[str_len(out) - 1] ==
		    '[' ? "" : ",", stepup_cli_json_str(e->ts));
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

static int cmd_audit_report(struct stepup_cli *cli, const char *path,
			    const struct stepup_audit_filter *filter)
{
	string_t *data = str_new(default_pool, 65536), *out;
	struct stepup_audit_entry entry;
	const char *const *lines, *error, *verify_error = NULL;
	unsigned int records, lineno = 0, shown = 0;

	if (read_all(path, data, &error) < 0) {
		str_free(&data);
		return stepup_cli_usage_error("%s", error);
	}
	if (stepup_audit_verify_buffer(str_c(data), str_len(data), &records,
				       &error) < 0)
		verify_error = error;
	out = t_str_new(1024);
	str_append(out, "{\"file\":");
	str_append(out, stepup_cli_json_str(path));
	str_printfa(out, ",\"intact\":%s,\"records\":[",
		    verify_error == NULL ? "true" : "false");
	lines = t_strsplit(str_c(data), "\n");
	str_free(&data);
	for (; *lines != NULL; lines++) {
		lineno++;
		if (**lines == '\0')
			continue;
		if (stepup_audit_parse_entry(*lines, &entry, &error) < 0) {
			fprintf(stderr, "%s: line %u: %s\n", path, lineno,
				error);
			continue;
		}
		if (!stepup_audit_filter_match(filter, &entry))
			continue;
		shown++;
		if (cli->json)
			report_json(out, &entry);
		else
			report_text(&entry);
	}
	if (cli->json) {
		str_append(out, "]");
		if (verify_error != NULL)
			json_kv(out, "error", verify_error);
		str_append(out, "}\n");
		fputs(str_c(out), stdout);
	} else {
		printf("%u record%s shown\n", shown, shown == 1 ? "" : "s");
	}
	if (verify_error != NULL) {
		fprintf(stderr, "stepup: %s: the chain is broken after %u "
			"intact records, %s: what follows cannot be trusted\n",
			path, records, verify_error);
		return STEPUP_EXIT_REFUSED;
	}
	return STEPUP_EXIT_OK;
}

/* FILE, else the policy's audit.path */
static int audit_path(struct stepup_cli *cli, const char *arg,
		      const char **path_r)
{
	struct stepup_policy *policy;
	const char *path;
	int ret;

	if (arg != NULL) {
		*path_r = arg;
		return STEPUP_EXIT_OK;
	}
	ret = stepup_cli_load_policy(cli, &policy);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	path = stepup_policy_get_audit_path(policy);
	*path_r = path == NULL ? NULL : t_strdup(path);
	stepup_policy_unref(&policy);
	if (*path_r == NULL) {
		return stepup_cli_usage_error("the policy %s has no audit.path: "
			"name the audit log FILE", cli->policy_path);
	}
	return STEPUP_EXIT_OK;
}

static int cmd_report(struct stepup_cli *cli, int argc, char *argv[])
{
	struct stepup_audit_filter filter;
	const char *file = NULL, *since = NULL, *path, *error;
	bool all = FALSE;
	const struct stepup_cli_option opts[] = {
		{ "--all", NULL, &all },
		{ "--since", &since, NULL },
		{ "--user", &filter.user, NULL },
		{ "--mailbox", &filter.mailbox, NULL },
		{ "--event", &filter.event, NULL },
		{ NULL, NULL, NULL }
	};
	int ret;

	i_zero(&filter);
	filter.event = "open";
	if (stepup_cli_parse_options(argc, argv, 2, opts, &file) < 0)
		return stepup_cli_usage_error(REPORT_USAGE);
	if (all)
		filter.event = NULL;
	if (since != NULL &&
	    stepup_audit_parse_since(since, time(NULL), &filter.since,
				     &error) < 0)
		return stepup_cli_usage_error("%s", error);
	ret = audit_path(cli, file, &path);
	if (ret != STEPUP_EXIT_OK)
		return ret;
	return cmd_audit_report(cli, path, &filter);
}

int cmd_audit(struct stepup_cli *cli, int argc, char *argv[])
{
	const char *path;
	int ret;

	if (argc < 2)
		return stepup_cli_usage_error("audit: verify or report?");
	if (strcmp(argv[1], "verify") == 0) {
		if (argc > 3)
			return stepup_cli_usage_error(
				"usage: stepup audit verify [FILE]");
		ret = audit_path(cli, argc == 3 ? argv[2] : NULL, &path);
		if (ret != STEPUP_EXIT_OK)
			return ret;
		return cmd_audit_verify(cli, path);
	}
	if (strcmp(argv[1], "report") == 0)
		return cmd_report(cli, argc, argv);
	return stepup_cli_usage_error("audit: unknown subcommand '%s'",
				      argv[1]);
}
