/* Copyright (c) 2026 dovecot-stepup authors, see the included COPYING file */

/* Dovecot 2.4: libstepup_settings.so, loaded by the config process from
   MODULEDIR/settings; it reads <module>_set_infos. */

#include "lib.h"
#include "settings-parser.h"
#include "stepup-dovecot-settings.h"

extern const char *stepup_settings_version;
extern const struct setting_parser_info *stepup_settings_set_infos[];

const char *stepup_settings_version = DOVECOT_ABI_VERSION;
const struct setting_parser_info *stepup_settings_set_infos[] = {
	&stepup_setting_parser_info,
	NULL
};
