/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* stepup audit verify [FILE]: check the hash chain of the audit log. */

#include "lib.h"
#include "str.h"
#include "json-parser.h"
#include "stepup-config.h"
#include "stepup-cli.h"
#include "audit.h"

#include <fcntl.h>
#include <stdio.h>
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

int cmd_audit(struct stepup_cli *cli, int argc, char *argv[])
{
	if (argc < 2)
		return stepup_cli_usage_error("audit: verify or report?");
	if (strcmp(argv[1], "verify") == 0) {
		if (argc > 3)
			return stepup_cli_usage_error(
				"usage: stepup audit verify [FILE]");
		if (argc == 3)
			return cmd_audit_verify(cli, argv[2]);
		return stepup_cli_usage_error(
			"audit verify: name the audit log FILE");
	}
	if (strcmp(argv[1], "report") == 0) {
		return stepup_cli_usage_error(
			"'audit report' is not available in this build yet");
	}
	return stepup_cli_usage_error("audit: unknown subcommand '%s'",
				      argv[1]);
}
