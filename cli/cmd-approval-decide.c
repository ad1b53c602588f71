/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup approval approve ID [--for DURATION] [--reason TEXT]
   stepup approval deny ID [--reason TEXT]
   stepup approval list
   (each with [--socket PATH]): the approval page's decisions from a
   terminal, through the stepup-approval service's admin socket (root
   only; approval-service/asvc-admin.h), so the running service and the
   plugin's polls see them at once. */

#include "lib.h"
#include "str.h"
#include "strescape.h"
#include "str-sanitize.h"
#include "net.h"
#include "write-full.h"
#include "stepup-compat.h"
#include "stepup-cli.h"
#include "cli-common.h"

#include <stdio.h>
#include <unistd.h>
#include <poll.h>
#include <pwd.h>

#define ADMIN_TIMEOUT_MSECS (10 * 1000)
#define ADMIN_REPLY_MAX (1024 * 1024)

#define DECIDE_USAGE \
	"usage: stepup approval approve ID [--for DURATION] [--reason TEXT] " \
	"[--socket PATH]\n" \
	"       stepup approval deny ID [--reason TEXT] [--socket PATH]\n" \
	"       stepup approval list [--socket PATH]"

/* "90s", "15m", "2h", "1d" (the same on Dovecot 2.3 and 2.4) */
static int parse_duration(const char *str, unsigned int *secs_r)
{
	static const struct { char unit; unsigned int secs; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	const char *end;
	uintmax_t n;
	unsigned int i;

	if (str_parse_uintmax(str, &n, &end) < 0 || end[0] == '\0' ||
	    end[1] != '\0' || n == 0 || n > 366 * 86400)
		return -1;
	for (i = 0; i < N_ELEMENTS(units); i++) {
		if (end[0] == units[i].unit) {
			*secs_r = (unsigned int)n * units[i].secs;
			return n * units[i].secs > 366 * 86400 ? -1 : 0;
		}
	}
	return -1;
}

/* who decided: the person behind sudo, else the user running this */
static const char *terminal_approver(void)
{
	const char *name = getenv("SUDO_USER");
	struct passwd *pw;

	if (name == NULL || name[0] == '\0') {
		pw = getpwuid(getuid());
		name = pw == NULL ? dec2str(getuid()) : pw->pw_name;
	}
	return t_strconcat(name, " (terminal)", NULL);
}

int stepup_cli_approval_exchange(const char *path, const char *line,
				 bool multi, const char **reply_r,
				 const char **error_r)
{
	string_t *reply = t_str_new(256);
	struct pollfd pfd;
	char buf[4096];
	ssize_t ret;
	int fd;

	fd = net_connect_unix(path);
	if (fd == -1) {
		*error_r = t_strdup_printf("connect(%s) failed: %m (is the "
			"stepup-approval service running, with its "
			"unix_listener?)", path);
		return -1;
	}
	net_set_nonblock(fd, FALSE);
	if (write_full(fd, line, strlen(line)) < 0) {
		*error_r = t_strdup_printf("write(%s) failed: %m", path);
		i_close_fd(&fd);
		return -1;
	}
	for (;;) {
		const char *s = str_c(reply);

		if (!multi && strchr(s, '\n') != NULL)
			break;
		if (multi && (strcmp(s, ".\n") == 0 ||
			      (str_len(reply) >= 3 &&
			       strcmp(s + str_len(reply) - 3, "\n.\n") == 0) ||
			      str_begins_with(s, "FAIL\t")))
			break;
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, ADMIN_TIMEOUT_MSECS) <= 0) {
			*error_r = "the service did not answer in time";
			i_close_fd(&fd);
			return -1;
		}
		ret = read(fd, buf, sizeof(buf));
		if (ret <= 0 || str_len(reply) > ADMIN_REPLY_MAX) {
			*error_r = "the service closed the connection";
			i_close_fd(&fd);
			return -1;
		}
		str_append_data(reply, buf, ret);
	}
	i_close_fd(&fd);
	*reply_r = str_c(reply);
	return 0;
}

static int print_decision(struct stepup_cli *cli, const char *reply)
{
	const char *const *f = t_strsplit_tabescaped(t_strcut(reply, '\n'));

	if (str_array_length(f) == 2 && strcmp(f[0], "FAIL") == 0) {
		fprintf(stderr, "stepup: %s\n", f[1]);
		return STEPUP_EXIT_REFUSED;
	}
	if (str_array_length(f) != 4 || strcmp(f[0], "OK") != 0) {
		fprintf(stderr, "stepup: unexpected answer from the service\n");
		return STEPUP_EXIT_REFUSED;
	}
	if (cli->json) {
		printf("{\"request_id\":%s,\"decision\":%s,\"ttl\":%s}\n",
		       stepup_cli_json_str(f[1]), stepup_cli_json_str(f[2]),
		       f[3]);
	} else if (strcmp(f[2], "approved") == 0) {
		printf("%s: approved for %s s\n", f[1], f[3]);
	} else {
		printf("%s: %s\n", f[1], f[2]);
	}
	return STEPUP_EXIT_OK;
}

static int print_list(struct stepup_cli *cli, const char *reply)
{
	const char *const *lines = t_strsplit(reply, "\n"), *const *f;
	unsigned int n = 0;

	if (str_begins_with(reply, "FAIL\t"))
		return print_decision(cli, reply);
	if (cli->json)
		printf("[");
	for (; *lines != NULL && strcmp(*lines, ".") != 0; lines++) {
		f = t_strsplit_tabescaped(*lines);
		if (str_array_length(f) != 8)
			continue;
		if (cli->json) {
			printf("%s{\"request_id\":%s,\"decision\":%s,"
			       "\"user\":%s,\"mailbox\":%s,\"rule\":%s,"
			       "\"remote_ip\":%s,\"binding_code\":%s,"
			       "\"received\":%s}", n == 0 ? "" : ",",
			       stepup_cli_json_str(f[0]),
			       stepup_cli_json_str(f[1]),
			       stepup_cli_json_str(f[2]),
			       stepup_cli_json_str(f[3]),
			       stepup_cli_json_str(f[4]),
			       stepup_cli_json_str(f[5]),
			       stepup_cli_json_str(f[6]), f[7]);
		} else {
			/* names are the users' data: no control characters
			   reach the terminal (the service sent them
			   escaped) */
			printf("%s %-8s %s %s (rule %s, from %s, code %s)\n",
			       f[0], f[1], str_sanitize(f[2], 80),
			       str_sanitize(f[3], 200),
			       str_sanitize(f[4], 80),
			       str_sanitize(f[5], 64), f[6]);
		}
		n++;
	}
	if (cli->json)
		printf("]\n");
	return STEPUP_EXIT_OK;
}

int cmd_approval_decide(struct stepup_cli *cli, int argc, char *argv[])
{
	const char *id = NULL, *duration = NULL, *reason = "", *socket_path =
		STEPUP_CLI_APPROVAL_SOCKET, *error, *reply;
	const struct stepup_cli_option opts[] = {
		{ "--for", &duration, NULL },
		{ "--reason", &reason, NULL },
		{ "--socket", &socket_path, NULL },
		{ NULL, NULL, NULL }
	};
	const char *verb = argc < 2 ? "" : argv[1];
	unsigned int secs = 0;
	string_t *line = t_str_new(256);
	bool list = strcmp(verb, "list") == 0;

	if (!list && strcmp(verb, "approve") != 0 && strcmp(verb, "deny") != 0)
		return stepup_cli_usage_error(DECIDE_USAGE);
	if (stepup_cli_parse_options(argc, argv, 2, opts, &id) < 0 ||
	    (list ? id != NULL || duration != NULL :
	     id == NULL || id[0] == '\0' || strchr(id, '\t') != NULL) ||
	    (strcmp(verb, "deny") == 0 && duration != NULL))
		return stepup_cli_usage_error(DECIDE_USAGE);
	if (duration != NULL && parse_duration(duration, &secs) < 0)
		return stepup_cli_usage_error("bad duration %s", duration);

	if (list) {
		str_append(line, "list\n");
	} else {
		str_append(line, verb);
		str_append_c(line, '\t');
		str_append_tabescaped(line, id);
		if (strcmp(verb, "approve") == 0)
			str_printfa(line, "\t%u", secs);
		str_append_c(line, '\t');
		str_append_tabescaped(line, terminal_approver());
		str_append_c(line, '\t');
		str_append_tabescaped(line, reason);
		str_append_c(line, '\n');
	}
	if (stepup_cli_approval_exchange(socket_path, str_c(line), list,
					 &reply, &error) < 0) {
		fprintf(stderr, "stepup: %s\n", error);
		return STEPUP_EXIT_REFUSED;
	}
	return list ? print_list(cli, reply) : print_decision(cli, reply);
}
