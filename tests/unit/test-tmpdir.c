/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "test-common.h"
#include "test-tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <limits.h>

int test_run_in_tmpdir(char *template, void (*const test_functions[])(void))
{
	const char *dir;
	char cmd[PATH_MAX + 16];
	int ret;

	if ((dir = mkdtemp(template)) == NULL)
		i_fatal("mkdtemp(%s) failed: %m", template);
	ret = test_run(test_functions);
	/* test_run() deinitialised lib: no data stack, no i_*() here */
	if (snprintf(cmd, sizeof(cmd), "rm -rf -- %s", dir) >= (int)sizeof(cmd) ||
	    system(cmd) != 0)
		ret = 1;
	return ret;
}
