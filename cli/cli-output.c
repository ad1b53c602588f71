/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* --json: a command that fails prints a JSON error on stdout. Every
   command reports errors as "stepup: ..." lines on stderr; with --json,
   stdout and stderr go through counting streams, and a command that fails
   without having printed anything on stdout gets {"error": <its last
   stderr line>, "exit": N} there. stderr still gets every line. */

#define _GNU_SOURCE
#include "lib.h"
#include "stepup-compat.h"
#include "str.h"
#include "stepup-cli.h"
#include "cli-common.h"

#include <stdio.h>
#include <unistd.h>

#define LAST_ERROR_MAX 1024

static bool output_json;
static size_t stdout_bytes;
static char last_error[LAST_ERROR_MAX];
static size_t last_error_len;

static ssize_t write_all(int fd, const char *buf, size_t size)
{
	size_t done = 0;
	ssize_t ret;

	while (done < size) {
		ret = write(fd, buf + done, size - done);
		if (ret < 0) {
			if (errno == EINTR)
				continue;
			return done > 0 ? (ssize_t)done : -1;
		}
		done += ret;
	}
	return done;
}

static ssize_t out_write(void *cookie ATTR_UNUSED, const char *buf,
			 size_t size)
{
	stdout_bytes += size;
	return write_all(STDOUT_FILENO, buf, size);
}

/* keep what the command said on stderr (the first LAST_ERROR_MAX bytes) */
static void remember(const char *buf, size_t size)
{
	size_t n = I_MIN(size, sizeof(last_error) - 1 - last_error_len);

	memcpy(last_error + last_error_len, buf, n);
	last_error_len += n;
}

static ssize_t err_write(void *cookie ATTR_UNUSED, const char *buf,
			 size_t size)
{
	remember(buf, size);
	return write_all(STDERR_FILENO, buf, size);
}

void stepup_cli_output_init(void)
{
	cookie_io_functions_t out_funcs = { .write = out_write };
	cookie_io_functions_t err_funcs = { .write = err_write };
	FILE *out, *err;

	out = fopencookie(NULL, "w", out_funcs);
	err = fopencookie(NULL, "w", err_funcs);
	if (out == NULL || err == NULL)
		i_fatal("fopencookie() failed: %m");
	/* lines go out at once: enroll --json is a dialogue */
	setvbuf(out, NULL, _IOLBF, 0);
	setvbuf(err, NULL, _IOLBF, 0);
	stdout = out;
	stderr = err;
	output_json = TRUE;
}

void stepup_cli_output_finish(int exit_status)
{
	const char *msg, *const *line;
	string_t *str;

	if (!output_json)
		return;
	fflush(stdout);
	fflush(stderr);
	if (exit_status == STEPUP_EXIT_OK || stdout_bytes > 0)
		return;
	last_error[last_error_len] = '\0';
	/* its lines, without "stepup: ", joined */
	str = t_str_new(last_error_len + 16);
	for (line = t_strsplit(last_error, "\n"); *line != NULL; line++) {
		msg = *line;
		if (str_begins_with(msg, "stepup: "))
			msg += 8;
		if (msg[0] == '\0')
			continue;
		if (str_len(str) > 0)
			str_append(str, "; ");
		str_append(str, msg);
	}
	msg = str_len(str) > 0 ? str_c(str) : "failed";
	printf("{\"error\":%s,\"exit\":%d}\n", stepup_cli_json_str(msg),
	       exit_status);
	fflush(stdout);
}
