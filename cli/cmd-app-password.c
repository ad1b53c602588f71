/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

#include "lib.h"
#include "stepup-config.h"
#include "stepup-cli.h"

int cmd_app_password(struct stepup_cli *cli ATTR_UNUSED, int argc ATTR_UNUSED,
	   char *argv[])
{
	return stepup_cli_usage_error("'%s' is not available in this build yet",
				      argv[0]);
}
