/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup policy check [FILE]
   stepup policy explain [FILE] --user U --ip IP --protocol P
                         [--mailbox M --auth A --mfa-age S] [--enrolled]
   stepup policy dump [FILE] */

#include "lib.h"
#include "str.h"
#include "net.h"
#include "array.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "cli-common.h"
#include "stepup-policy.h"
#include "approval-config.h"

#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#define EXPLAIN_USAGE "usage: stepup policy explain [FILE] --user U " \
	"--ip IP --protocol P [--mailbox M --auth A --mfa-age S] [--enrolled]"

/* the protocols a rule may name (policy-schema-rule.c) */
static const char *const explain_protocols[] = {
	"imap", "pop3", "sieve", "submission", "lmtp", "doveadm", NULL
};

/* {"file":PATH,"valid":BOOL,"KEY":[LINES]} */
static void print_check_json(const char *path, bool valid, const char *key,
			     const char *const *lines)
{
	string_t *out = t_str_new(256);

	str_printfa(out, "{\"file\":%s,\"valid\":%s,\"%s\":[",
		    stepup_cli_json_str(path), valid ? "true" : "false", key);
	for (; *lines != NULL; lines++) {
		if (str_data(out)[str_len(out) - 1] != '[')
			str_append_c(out, ',');
		str_append(out, stepup_cli_json_str(*lines));
	}
	str_append(out, "]}\n");
	fputs(str_c(out), stdout);
}

/* The files the policy names, as the service that reads them would see
   them (approval keys, CA, client certificate). */
static const char *const *check_files(const struct stepup_policy *policy)
{
	ARRAY_TYPE(const_string) problems;

	t_array_init(&problems, 4);
	stepup_approval_settings_check(stepup_policy_get_approval(policy),
				       &problems);
	array_append_zero(&problems);
	return array_front(&problems);
}

/* Dovecot's auth process (its internal user) and the mail processes (the
   mail users) read the policy too: a file only its owner may read passes
   the parser as root and then refuses every login. */
static const char *policy_unreadable(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || (st.st_mode & 0044) != 0)
		return NULL;
	return t_strdup_printf("%s:0: mode %04o: only its owner can read it, "
		"but Dovecot's auth process and the mail processes (the mail "
		"users) read it too: chmod 0644 %s", path,
		(unsigned int)(st.st_mode & 07777), path);
}

static int cmd_check(struct stepup_cli *cli, const char *path)
{
	struct stepup_policy *policy;
	const char *error, *const *line, *const *problems;
	int ret = STEPUP_EXIT_OK;

	ret = stepup_policy_load(path, &policy, &error);
	if (ret == 0 && (error = policy_unreadable(path)) != NULL) {
		stepup_policy_unref(&policy);
		ret = -1;
	}
	if (ret < 0) {
		if (cli->json) {
			print_check_json(path, FALSE, "errors",
					 t_strsplit(error, "\n"));
		} else {
			printf("%s\n", error);
		}
		return STEPUP_EXIT_REFUSED;
	}
	ret = STEPUP_EXIT_OK;
	problems = check_files(policy);
	line = stepup_policy_get_unenforced(policy);
	if (*problems != NULL) {
		ret = STEPUP_EXIT_REFUSED;
		if (cli->json)
			print_check_json(path, FALSE, "errors", problems);
		else {
			for (; *problems != NULL; problems++)
				printf("%s: %s\n", path, *problems);
		}
	} else if (cli->json)
		print_check_json(path, TRUE, "warnings", line);
	else {
		printf("%s: OK\n", path);
		for (; *line != NULL; line++)
			printf("%s: warning: %s\n", path, *line);
	}
	stepup_policy_unref(&policy);
	return ret;
}

static int cmd_dump(struct stepup_cli *cli, const char *path)
{
	struct stepup_policy *policy;
	const char *error;

	if (stepup_policy_load(path, &policy, &error) < 0) {
		fprintf(stderr, "%s\n", error);
		return STEPUP_EXIT_REFUSED;
	}
	if (cli->json) {
		string_t *out = t_str_new(4096);

		/* the same canonical form, as a JSON structure */
		if (stepup_cli_config_to_json(stepup_policy_dump(policy), out,
					      &error) < 0) {
			fprintf(stderr, "stepup: policy dump: %s\n", error);
			stepup_policy_unref(&policy);
			return STEPUP_EXIT_USAGE;
		}
		printf("{\"policy\":%s}\n", str_c(out));
	} else
		fputs(stepup_policy_dump(policy), stdout);
	stepup_policy_unref(&policy);
	return STEPUP_EXIT_OK;
}

static void
print_decision(struct stepup_cli *cli, const char *kind, const char *require,
	       const char *decision, const char *rule, const char *reason,
	       bool audit)
{
	if (cli->json) {
		printf("{\"kind\":\"%s\",\"decision\":\"%s\",\"require\":\"%s\","
		       "\"rule\":%s,\"reason\":%s,\"mode\":\"%s\"}\n", kind,
		       decision, require,
		       rule == NULL ? "null" : stepup_cli_json_str(rule),
		       stepup_cli_json_str(reason),
		       audit ? "audit" : "enforce");
	} else {
		printf("%s decision: %s\nrequire:  %s\nrule:     %s\n"
		       "reason:   %s\n%s", kind, decision, require,
		       rule == NULL ? "(none)" : rule, reason,
		       audit ? "mode:     audit (nothing is refused, only "
		       "logged)\n" : "");
	}
}

static int cmd_explain(struct stepup_cli *cli, int argc, char *argv[])
{
	const char *path = cli->policy_path, *user = NULL, *ip_str = NULL;
	const char *protocol = NULL, *mailbox = NULL, *auth = NULL;
	const char *mfa_age = NULL, *error;
	struct stepup_policy *policy;
	struct ip_addr ip;
	enum stepup_auth_level level = STEPUP_AUTH_PASSWORD;
	unsigned int age = 0;
	bool enrolled = FALSE;
	const struct stepup_cli_option opts[] = {
		{ "--enrolled", NULL, &enrolled },
		{ "--user", &user, NULL },
		{ "--ip", &ip_str, NULL },
		{ "--protocol", &protocol, NULL },
		{ "--mailbox", &mailbox, NULL },
		{ "--auth", &auth, NULL },
		{ "--mfa-age", &mfa_age, NULL },
		{ NULL, NULL, NULL }
	};
	int ret;

	if (stepup_cli_parse_options(argc, argv, 2, opts, &path) < 0)
		return stepup_cli_usage_error(EXPLAIN_USAGE);
	if (user == NULL || ip_str == NULL || protocol == NULL)
		return stepup_cli_usage_error(EXPLAIN_USAGE);
	if (net_addr2ip(ip_str, &ip) < 0)
		return stepup_cli_usage_error("--ip: not an IP address: %s",
					      ip_str);
	if (auth != NULL && stepup_auth_level_parse(auth, &level) < 0)
		return stepup_cli_usage_error("--auth: password, app or totp");
	if (mfa_age != NULL && str_to_uint(mfa_age, &age) < 0)
		return stepup_cli_usage_error("--mfa-age: seconds");
	if (!str_array_find(explain_protocols, protocol)) {
		return stepup_cli_usage_error("--protocol: one of imap, pop3, "
			"sieve, submission, lmtp, doveadm (not %s)", protocol);
	}

	if (stepup_policy_load(path, &policy, &error) < 0) {
		fprintf(stderr, "%s\n", error);
		return STEPUP_EXIT_USAGE;
	}
	if (mailbox == NULL) {
		struct stepup_login_query q;
		struct stepup_login_decision d;

		i_zero(&q);
		q.user = user;
		q.remote_ip = &ip;
		q.protocol = protocol;
		q.now = time(NULL);
		q.enrolled = enrolled;
		stepup_policy_login(policy, &q, &d);
		print_decision(cli, "login",
			stepup_login_require_to_str(d.require),
			d.require == STEPUP_LOGIN_DENY ? "deny" :
			d.grace ? "password (grace: not enrolled)" :
			stepup_login_require_to_str(d.require), d.rule, d.reason,
			d.audit_only);
		/* exit 1 for a refusal, as every check */
		ret = d.require == STEPUP_LOGIN_DENY ? STEPUP_EXIT_REFUSED :
			STEPUP_EXIT_OK;
	} else {
		struct stepup_folder_query q;
		struct stepup_folder_decision d;

		i_zero(&q);
		q.user = user;
		q.remote_ip = &ip;
		q.protocol = protocol;
		q.now = time(NULL);
		q.mailbox = stepup_policy_normalize_mailbox(mailbox, '/', "",
							    TRUE);
		q.level = level;
		if (level == STEPUP_AUTH_TOTP)
			q.mfa_time = q.now - age;
		stepup_policy_folder(policy, &q, &d);
		print_decision(cli, "folder", stepup_folder_require_to_str(d.require),
			       d.allow ? "allow" : "deny", d.rule, d.reason,
			       d.audit_only);
		ret = d.allow ? STEPUP_EXIT_OK : STEPUP_EXIT_REFUSED;
	}
	stepup_policy_unref(&policy);
	return ret;
}

int cmd_policy(struct stepup_cli *cli, int argc, char *argv[])
{
	if (argc < 2)
		return stepup_cli_usage_error("policy: check, explain or dump?");
	if (strcmp(argv[1], "check") == 0 || strcmp(argv[1], "dump") == 0) {
		const char *path = argc == 3 ? argv[2] : cli->policy_path;

		if (argc > 3)
			return stepup_cli_usage_error(
				"usage: stepup policy %s [FILE]", argv[1]);
		return argv[1][0] == 'c' ? cmd_check(cli, path) :
			cmd_dump(cli, path);
	}
	if (strcmp(argv[1], "explain") == 0)
		return cmd_explain(cli, argc, argv);
	return stepup_cli_usage_error("policy: unknown subcommand '%s'",
				      argv[1]);
}
